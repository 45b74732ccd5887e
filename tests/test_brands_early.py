"""Brand terms and the ranges the ``linkback ingest`` command starts before it opens the store
(``linkback._workers.start_early``): the command reads the terms first, so that work is kept,
not thrown away and done again; started with terms the store no longer has, it is dropped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from linkback import _workers, quality
from linkback.brands import BrandTerms
from linkback.brands._store import read_terms
from linkback.ingest import ingest
from linkback.store import Store

SAMPLE = Path(__file__).parent / "data" / "warc" / "real-pages" / "sample.warc.gz"
BRANDS = {"youtube.com": "YouTube", "wikipedia.org": "Wikipedia"}
QUERY = "SELECT url, term, site, snippet, linked, first_seen, last_seen FROM brand_mentions ORDER BY ALL"


@pytest.fixture(autouse=True)
def no_early_work_left() -> Iterator[None]:
    yield
    _workers.drop_early()


@pytest.fixture
def cuts(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The archives cut into ranges (by the early start, or by ingest when it starts afresh)."""
    seen: list[Path] = []
    ranges = _workers.ranges

    def counted(path: Path) -> Iterator[tuple[int, int, bool]]:
        seen.append(path)
        return ranges(path)

    monkeypatch.setattr(_workers, "ranges", counted)
    return seen


def _profiles(db: Path, brands: dict[str, str]) -> None:
    with Store(str(db)) as store:
        for site, brand in brands.items():
            quality.set_profile(store, site, brands=[brand])


def _one_process(tmp_path: Path, brands: dict[str, str]) -> list[tuple[object, ...]]:
    db = tmp_path / "one.duckdb"
    _profiles(db, brands)
    with Store(str(db)) as store:
        ingest([SAMPLE], store=store, workers=1)
        return store.con.execute(QUERY).fetchall()


def test_ranges_started_early_with_the_stores_terms_are_kept(tmp_path: Path, cuts: list[Path]) -> None:
    expected = _one_process(tmp_path, BRANDS)
    assert len(expected) > 20
    db = tmp_path / "two.duckdb"
    _profiles(db, BRANDS)
    _workers.start_early([str(SAMPLE)], 2, brands=lambda: read_terms(str(db)))
    assert _workers._early is not None and _workers._early.work.brands is not None
    with Store(str(db)) as store:
        ingest([SAMPLE], store=store, workers=2)
        assert store.con.execute(QUERY).fetchall() == expected
    assert cuts == [SAMPLE]  # the early ranges went on: the file was not cut again


def test_ranges_started_early_with_other_terms_are_dropped(tmp_path: Path, cuts: list[Path]) -> None:
    expected = _one_process(tmp_path, BRANDS)
    db = tmp_path / "two.duckdb"
    _profiles(db, {"youtube.com": "YouTube"})
    _workers.start_early([str(SAMPLE)], 2, brands=lambda: read_terms(str(db)))
    _profiles(db, BRANDS)  # a brand added after the command line read the terms
    with Store(str(db)) as store:
        ingest([SAMPLE], store=store, workers=2)
        assert store.con.execute(QUERY).fetchall() == expected
    assert cuts == [SAMPLE, SAMPLE]


def test_terms_are_read_from_a_closed_database_and_not_from_anything_else(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    _profiles(db, BRANDS)
    assert read_terms(str(db)) == BrandTerms((("Wikipedia", "wikipedia.org"), ("YouTube", "youtube.com")))
    assert read_terms(str(tmp_path / "none.duckdb")) is None
    assert not (tmp_path / "none.duckdb").exists()
    (tmp_path / "junk.duckdb").write_text("not a database")
    assert read_terms(str(tmp_path / "junk.duckdb")) is None
    with Store(str(db)):  # open here for writing: it cannot be opened read-only beside it
        assert read_terms(str(db)) is None
