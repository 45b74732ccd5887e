"""An archive's counts after an interrupted ingest is resumed: what the store holds for it."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO_DATA

from linkback.ingest import ingest
from linkback.store import Store
from linkback.store import _write as write

CRAWL = REPO_DATA / "warc" / "aut" / "example.warc.gz"  # 261 responses


def archive_row(store: Store) -> tuple:
    (row,) = store.con.execute("SELECT records, pages, links, completed_at IS NOT NULL FROM archives").fetchall()
    return row


def held(store: Store) -> tuple[int, int]:
    return store.con.execute(
        "SELECT (SELECT count(*) FROM observations), (SELECT count(*) FROM link_observations)"
    ).fetchall()[0]


def interrupt_at(call: int):
    calls = {"n": 0}

    def progress(_progress) -> None:
        calls["n"] += 1
        if calls["n"] == call:
            raise KeyboardInterrupt  # as a kill would: the batches before it are committed

    return progress


@pytest.mark.parametrize("interruptions", [1, 2])
def test_counts_after_resumed_ingests_are_the_archives_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interruptions: int
) -> None:
    monkeypatch.setattr("linkback.ingest.BATCH_PAGES", 40)
    monkeypatch.setattr("linkback.ingest.WRITE_PAGES", 40)
    with Store(tmp_path / "clean.duckdb") as clean:
        ingest([CRAWL], store=clean, workers=1)
        expected = archive_row(clean)
        assert expected[1:] == (*held(clean), True) and expected[1] == 261

    with Store(tmp_path / "db.duckdb") as store:
        committed = 0
        for n in range(interruptions):
            assert ingest([CRAWL], store=store, workers=1, on_progress=interrupt_at(2 + 2 * n)).interrupted
            now = held(store)[0]
            assert committed < now < 261
            committed = now
        (rerun,) = ingest([CRAWL], store=store, workers=1).files
        assert rerun.status == "ingested" and rerun.duplicates == committed and rerun.pages == 261 - committed
        assert archive_row(store) == expected
        assert archive_row(store)[1:3] == held(store)


def test_finish_archive_counts_what_the_store_holds(tmp_path: Path) -> None:
    with Store(tmp_path / "db.duckdb") as store:
        ingest([CRAWL], store=store, workers=1)
        (archive_id,) = store.con.execute("SELECT archive_id FROM archives").fetchall()[0]
        pages, links = held(store)
        # a later reading that added nothing (all duplicates) keeps the archive's counts
        write.finish_archive(store, archive_id, records=1, pages=0, links=0, skipped={})
        assert archive_row(store) == (1, pages, links, True)
        # one that added everything: the counts given are the store's, no scan needed
        write.finish_archive(store, archive_id, records=2, pages=pages, links=links, skipped={}, complete=False)
        assert archive_row(store) == (2, pages, links, False)
