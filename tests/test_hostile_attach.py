"""``linkback attach DIR`` and the reports on it, when the directory is odd or changes: a name
DuckDB would read as a glob pattern, a symlink loop, a file replaced by one of other columns
after it was checked, files every user can write, a manifest nested past Python's recursion
limit. Each answers from the files it checked, or fails with one line naming the file.

The index is written by ``linkback export --parquet`` from the real Common Crawl excerpt in
tests/data/warc/resiliparse (the layout ``spark extract`` writes)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import REPO_DATA
from typer.testing import CliRunner

from linkback.cli import app
from linkback.ingest import ingest
from linkback.spark import _layout
from linkback.store import Store
from linkback.store._attach import ParquetIndexError, attach

WARC = REPO_DATA / "warc" / "resiliparse" / "warcfile.warc.gz"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str]:
    """(the index directory, its links, a domain it has backlinks to)."""
    tmp = tmp_path_factory.mktemp("hostile-attach")
    with Store(tmp / "ingest.duckdb") as store:
        ingest([str(WARC)], store=store, workers=1)
        (links,) = store.con.execute("SELECT count(*) FROM links").fetchall()[0]
        (target,) = store.con.execute(
            "SELECT target_domain FROM links WHERE NOT internal GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        ).fetchall()[0]
    result = CliRunner().invoke(app, ["export", "--parquet", str(tmp / "index"), "--db", str(tmp / "ingest.duckdb")])
    assert result.exit_code == 0, result.output
    return tmp / "index", int(links), str(target)


def _copy(index: tuple[Path, int, str], to: Path) -> Path:
    shutil.copytree(index[0], to)
    return to


def _links(directory: Path) -> int:
    with Store(directory) as store:
        return int(store.con.execute("SELECT count(*) FROM links").fetchall()[0][0])


def test_a_directory_named_like_a_pattern_reads_only_its_own_files(
    index: tuple[Path, int, str], tmp_path: Path
) -> None:
    # DuckDB reads '*', '?' and '[...]' in read_parquet's path as a pattern: idx* would read idxA's
    # files too, which nothing checked; idx[1] would read idx1's, or fail when there is none.
    starred, other = _copy(index, tmp_path / "idx*"), _copy(index, tmp_path / "idxA")
    assert _links(starred) == index[1]
    assert _links(_copy(index, tmp_path / "idx[1]")) == index[1]
    assert _links(other) == index[1]


def test_a_symlink_loop_is_one_line_naming_the_folder(index: tuple[Path, int, str], tmp_path: Path) -> None:
    copy = _copy(index, tmp_path / "copy")
    shutil.rmtree(copy / "links")
    os.symlink(copy / "links", copy / "links")
    with pytest.raises(ParquetIndexError, match=f"^{copy / 'links'}: cannot read"):
        Store(copy)
    run = CliRunner().invoke(app, ["attach", str(copy)])
    assert run.exit_code == 2 and run.output.startswith(f"error: {copy / 'links'}: cannot read")
    assert len(run.output.strip().splitlines()) == 1


def test_a_file_replaced_by_other_columns_after_the_attach_is_named_by_every_report(
    index: tuple[Path, int, str], tmp_path: Path
) -> None:
    copy = _copy(index, tmp_path / "copy")
    assert CliRunner().invoke(app, ["attach", str(copy)]).exit_code == 0
    links = copy / "links" / "part-00000.parquet"
    shutil.copyfile(copy / "pages" / "part-00000.parquet", links)  # DuckDB binds each query afresh
    for report in (["backlinks", index[2]], ["refdomains", index[2]], ["domains"]):
        run = CliRunner().invoke(app, [*report, "--db", str(copy), "--format", "json"])
        assert run.exit_code == 2, (report, run.output, run.exception)
        assert run.output.startswith(
            f"error: {copy}: changed since it was attached: {links}: not the schema's links: missing source_url"
        )
        assert len(run.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "what", ["links/part-00000.parquet", "links", _layout.MANIFEST, ".", "linkback.duckdb"]
)  # fmt: skip
def test_what_every_user_can_write_is_refused_naming_it(
    index: tuple[Path, int, str], tmp_path: Path, what: str
) -> None:
    copy = _copy(index, tmp_path / "copy")
    if what == "linkback.duckdb":
        Store(copy).close()  # the catalog, made by the first opening
    path = (copy / what).resolve()
    path.chmod(path.stat().st_mode | 0o002)
    run = CliRunner().invoke(app, ["attach", str(copy)], env={"COLUMNS": "300"})
    assert run.exit_code == 2
    assert run.output.startswith(f"error: {path}: every user of this machine can write it (")
    assert f"'chmod o-w {path}'" in run.output and len(run.output.strip().splitlines()) == 1
    path.chmod(path.stat().st_mode & ~0o002)
    with Store(copy) as store:
        assert attach(store)["rows"]["links"] == index[1]


def test_a_manifest_nested_past_the_recursion_limit_is_not_json(index: tuple[Path, int, str], tmp_path: Path) -> None:
    copy = _copy(index, tmp_path / "copy")
    (copy / _layout.MANIFEST).write_text("[" * 100_000)
    with pytest.raises(ParquetIndexError, match=f"^{copy / _layout.MANIFEST}: not JSON"):
        Store(copy)
