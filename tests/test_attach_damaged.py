"""An attached Parquet index whose data pages are damaged (footers intact): ``attach`` refuses it
naming the file, and a report that meets the damage maps to one line naming the directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import REPO_DATA
from typer.testing import CliRunner

from linkback import reports
from linkback.cli import app
from linkback.ingest import ingest
from linkback.store import Store
from linkback.store._attach import ParquetIndexError, attach, read_error

WARC = REPO_DATA / "warc"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("damaged")
    db = tmp / "ingest.duckdb"
    with Store(db) as store:
        ingest([str(WARC / "real-pages"), str(WARC / "jwarc")], store=store, workers=1)
    result = CliRunner().invoke(app, ["export", "--parquet", str(tmp / "index"), "--db", str(db)])
    assert result.exit_code == 0, result.output
    return tmp / "index"


def damaged_copy(index: Path, target: Path) -> Path:
    """A copy whose links file has every 7th byte of its data flipped, its footer left whole
    (the tester's damage: the footers, all the attach checked before, still read)."""
    shutil.copytree(index, target)
    (catalog := target / "linkback.duckdb").unlink(missing_ok=True)
    assert not catalog.exists()
    part = target / "links" / "part-00000.parquet"
    data = bytearray(part.read_bytes())
    footer = int.from_bytes(data[-8:-4], "little") + 8
    for i in range(1000, len(data) - footer, 7):
        data[i] ^= 0xFF
    part.write_bytes(bytes(data))
    return part


def test_attach_decodes_the_data_and_names_the_damaged_file(index: Path, tmp_path: Path) -> None:
    part = damaged_copy(index, tmp_path / "copy")
    with Store(tmp_path / "copy") as store:  # the footers are whole: the catalog is made
        with pytest.raises(ParquetIndexError) as info:
            attach(store)
    assert str(info.value).startswith(f"{part}: damaged Parquet data in table links (")
    assert "\n" not in str(info.value)
    result = CliRunner().invoke(app, ["attach", str(tmp_path / "copy")])
    assert result.exit_code != 0
    assert "damaged Parquet data in table links" in result.output and "Traceback" not in result.output


def test_a_good_index_still_attaches(index: Path, tmp_path: Path) -> None:
    shutil.copytree(index, tmp_path / "good")
    with Store(tmp_path / "good") as store:
        assert attach(store)["rows"]["links"] > 1000


def test_a_report_that_meets_the_damage_maps_to_one_line_naming_the_directory(index: Path, tmp_path: Path) -> None:
    directory = tmp_path / "copy"
    damaged_copy(index, directory)
    whole = str(index / "links" / "part-00000.parquet")
    sql = "SELECT target_domain FROM read_parquet(?) GROUP BY 1 ORDER BY count(*) DESC LIMIT 20"
    targets = [t for (t,) in duckdb.execute(sql, [whole]).fetchall()]
    with Store(directory) as store:
        errors = []
        for query in ("SELECT * FROM links", "SELECT source_url, anchor FROM links"):
            with pytest.raises(duckdb.Error) as info:
                store.con.execute(query).fetchall()
            errors.append(info.value)
        for target in targets:  # the reports that read the damaged pages: mapped by their face
            try:
                reports.backlinks(store, target)
            except ParquetIndexError as exc:
                assert isinstance(exc.__cause__, duckdb.Error)
                errors.append(exc.__cause__)
        assert len(errors) > 2
        for exc in errors:
            mapped = read_error(store.con, exc)
            assert isinstance(mapped, ParquetIndexError), exc
            text = str(mapped)
            assert text.startswith(f"{directory.resolve()}: cannot read ") and "\n" not in text
            assert text.endswith(f"'linkback attach {directory.resolve()}' checks every file")
            if "Failed to read file" in str(exc):
                assert f"its table links ({directory.resolve() / 'links' / 'part-00000.parquet'})" in text
        # errors that are not reading the files stay what they are
        with pytest.raises(duckdb.CatalogException) as info:
            store.con.execute("SELECT * FROM no_such_table").fetchall()
        assert read_error(store.con, info.value) is None
        assert read_error(store.con, ValueError("x")) is None


def test_errors_of_a_duckdb_store_are_not_mapped(tmp_path: Path) -> None:
    with Store(tmp_path / "db.duckdb") as store:
        with pytest.raises(duckdb.Error) as info:
            store.con.execute(f"SELECT * FROM read_parquet('{tmp_path / 'missing.parquet'}')").fetchall()
        assert read_error(store.con, info.value) is None


def test_every_face_of_a_report_says_so_in_one_line(index: Path, tmp_path: Path) -> None:
    # The registered report function (what the CLI, the API and the dashboard call) maps the
    # error itself: no traceback from deep in a view reaches anyone.
    directory = tmp_path / "copy"
    damaged_copy(index, directory)
    whole = str(index / "links" / "part-00000.parquet")
    sql = "SELECT target_domain FROM read_parquet(?) GROUP BY 1 ORDER BY count(*) DESC LIMIT 20"
    targets = [t for (t,) in duckdb.execute(sql, [whole]).fetchall()]
    with Store(directory) as store:
        refused = 0
        for target in targets:
            try:
                reports.backlinks(store, target)
            except ParquetIndexError as exc:
                refused += 1
                assert str(exc).startswith(f"{directory.resolve()}: cannot read ")
        assert refused > 0
    runner = CliRunner()
    for target in targets:
        result = runner.invoke(app, ["backlinks", target, "--db", str(directory), "--format", "json"])
        if result.exit_code:
            assert "cannot read" in result.output and "Traceback" not in result.output
            break
    else:
        pytest.fail("no report met the damage")
