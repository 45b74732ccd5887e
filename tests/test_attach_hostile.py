"""``linkback attach DIR`` against an index or a catalog someone prepared: timestamps Python
cannot hold, a path with a backslash, a catalog whose views or macros were edited, files other
users can write or own, and a manifest whose table paths lead out of DIR. Each is refused in
one line naming the file and the fix, or (the index's own views) made again before a report runs.

The index is written here with pyarrow, in the layout ``spark extract`` writes: few rows, so
each case fits in a fraction of a second."""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from linkback import schema
from linkback.cli import app
from linkback.spark import _layout
from linkback.store import Store
from linkback.store._attach import CATALOG, ParquetIndexError, attach

#: 2024-03-01 in microseconds since 1970, and the first microsecond Python's datetime cannot hold.
MARCH_2024 = 1_709_251_200_000_000
AFTER_9999 = 253_402_300_800_000_000
LINKS = 5


def _column(field: pa.Field, rows: int, stamps: list[int]) -> pa.Array:
    if pa.types.is_timestamp(field.type):
        return pa.array(stamps, type=field.type)
    if pa.types.is_boolean(field.type):
        return pa.array([False] * rows, type=field.type)
    if pa.types.is_integer(field.type):
        return pa.array(range(1, rows + 1), type=field.type)
    return pa.array([f"{field.name}-{i}" for i in range(rows)], type=field.type)


def write_index(directory: Path, *, first_seen: list[int] | None = None, statistics: bool = True) -> Path:
    """An index of ``LINKS`` links (row groups of 2) and empty other tables; ``first_seen`` the
    links' first_seen in microseconds."""
    stamps = first_seen or [MARCH_2024] * LINKS
    for table, (arrow_schema, _keys) in _layout.TABLES.items():
        rows = LINKS if table == "links" else 0
        columns = [
            _column(f, rows, stamps if f.name == "first_seen" and rows else [MARCH_2024] * rows) for f in arrow_schema
        ]
        (directory / table).mkdir(parents=True)
        pq.write_table(
            pa.Table.from_arrays(columns, schema=arrow_schema),
            directory / table / "part-00000.parquet",
            row_group_size=2,
            write_statistics=statistics,
        )
    manifest = {
        "format": _layout.FORMAT,
        "format_version": _layout.FORMAT_VERSION,
        "schema_version": schema.SCHEMA_VERSION,
        "tables": {t: {"path": t, "sorted_by": list(keys), "rows": 0} for t, (_s, keys) in _layout.TABLES.items()},
        "files": [],
    }
    (directory / _layout.MANIFEST).write_text(json.dumps(manifest))
    for path in (directory, *directory.rglob("*")):  # whatever the umask: only the owner writes
        path.chmod(path.stat().st_mode & ~0o022)
    return directory


def _attach_cli(*args: str) -> tuple[int, str]:
    run = CliRunner().invoke(app, ["attach", *args], env={"COLUMNS": "400"})
    return run.exit_code, run.output


# --- timestamps outside Python's datetime (#5) --------------------------------------------------


@pytest.mark.parametrize("micros", [AFTER_9999, -62_135_596_800_000_001])  # 10000-01-01; a µs before 0001-01-01
def test_attach_refuses_a_timestamp_python_cannot_hold_naming_file_column_and_row_group(
    tmp_path: Path, micros: int
) -> None:
    # No statistics in the footer: only the reading of every value finds it (the reports would
    # fail on the str DuckDB hands Python for it).
    directory = write_index(tmp_path / "idx", first_seen=[MARCH_2024] * 3 + [micros] * 2, statistics=False)
    with Store(directory) as store, pytest.raises(ParquetIndexError) as info:
        attach(store)
    links = directory / "links" / "part-00000.parquet"
    assert str(info.value).startswith(
        f"{links}: table links, column first_seen, row group 1 (row 3 of the file, from 0): "
    )
    assert "outside the years 1 to 9999" in str(info.value) and "\n" not in str(info.value)
    code, output = _attach_cli(str(directory))
    assert code == 2 and output.startswith(f"error: {links}: table links, column first_seen, row group 1")


def test_a_timestamp_the_footer_shows_out_of_range_is_refused_before_any_report(tmp_path: Path) -> None:
    directory = write_index(tmp_path / "idx", first_seen=[MARCH_2024] * 4 + [AFTER_9999])
    links = directory / "links" / "part-00000.parquet"
    with pytest.raises(ParquetIndexError, match=f"^{links}: table links, column first_seen, row group 2 "):
        Store(directory)
    run = CliRunner().invoke(app, ["backlinks", "example.com", "--db", str(directory)], env={"COLUMNS": "400"})
    assert run.exit_code == 2 and "Traceback" not in run.output and "column first_seen, row group 2" in run.output


# --- a backslash in a path (#10) -----------------------------------------------------------------


def test_a_directory_with_a_backslash_is_refused_saying_why(tmp_path: Path) -> None:
    directory = write_index(tmp_path / "back\\slash")
    for args in ([str(directory), "--db", str(tmp_path / "catalog.duckdb")], [str(directory)]):
        code, output = _attach_cli(*args)
        assert code == 2 and len(output.strip().splitlines()) == 1, output
        assert output.startswith(f"error: {directory}: a backslash in the path of an index: DuckDB reads")
        assert "make the catalog where you can write" not in output
    clean = write_index(tmp_path / "clean")
    catalog = tmp_path / "cat\\alog.duckdb"
    code, output = _attach_cli(str(clean), "--db", str(catalog))
    assert code == 2 and output.startswith(f"error: {catalog}: a backslash in the path of a catalog: DuckDB reads")


# --- a catalog someone edited (#11) --------------------------------------------------------------


def _secret(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET")
    return secret


def test_an_edited_view_in_the_catalog_is_made_again_before_a_report_reads(tmp_path: Path) -> None:
    directory = write_index(tmp_path / "idx")
    assert _attach_cli(str(directory))[0] == 0
    catalog = directory / CATALOG
    con = duckdb.connect(str(catalog))
    (original,) = con.execute("SELECT sql FROM duckdb_views() WHERE view_name = 'links'").fetchone() or ("",)
    columns = [r[0] for r in con.execute("DESCRIBE links").fetchall()]
    swapped = ", ".join(
        f"(SELECT content FROM read_text('{_secret(tmp_path)}')) AS {c}" if c == "anchor" else c for c in columns
    )
    con.execute("DROP VIEW links")
    con.execute(f"CREATE VIEW links AS SELECT {swapped} FROM read_parquet('{directory}/links/part-*.parquet')")
    con.close()
    with Store(directory) as store:
        anchors = {r[0] for r in store.con.execute("SELECT anchor FROM links").fetchall()}
        assert anchors == {f"anchor-{i}" for i in range(LINKS)}
        assert store.con.execute("SELECT sql FROM duckdb_views() WHERE view_name = 'links'").fetchone() == (original,)
    # Views as attach makes them are not made again at each opening (no write, same file).
    before = catalog.stat().st_mtime_ns, catalog.read_bytes()
    Store(directory, read_only=True).close()
    assert (catalog.stat().st_mtime_ns, catalog.read_bytes()) == before


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE MACRO lower(x) AS (SELECT content FROM read_text('{secret}'))",
        "CREATE MACRO read_json_auto(x) AS TABLE SELECT content FROM read_text('{secret}')",
        "CREATE VIEW ranks_of_elsewhere AS SELECT content FROM read_text('{secret}')",
    ],
)
def test_a_macro_or_view_linkback_does_not_make_is_refused_naming_it(tmp_path: Path, sql: str) -> None:
    directory = write_index(tmp_path / "idx")
    assert _attach_cli(str(directory))[0] == 0
    con = duckdb.connect(str(directory / CATALOG))
    con.execute(sql.format(secret=_secret(tmp_path)))
    con.close()
    name = sql.split()[2].split("(")[0]
    with pytest.raises(ParquetIndexError, match=f"^{directory / CATALOG}: holds SQL linkback does not make: {name}"):
        Store(directory)
    code, output = _attach_cli(str(directory))
    assert code == 2 and "SECRET" not in output and len(output.strip().splitlines()) == 1


# --- who can write the files, and where the manifest points (#12) -------------------------------


def _other_group() -> grp.struct_group | None:
    """A group of this user's that is not the user's own private group (chgrp needs membership)."""
    user = pwd.getpwuid(os.geteuid())
    for group in grp.getgrall():
        if group.gr_gid != user.pw_gid and (os.geteuid() == 0 or user.pw_name in group.gr_mem):
            return group
    return None


@pytest.mark.parametrize("what", ["links/part-00000.parquet", "links", ".", _layout.MANIFEST])
def test_what_a_group_can_write_is_refused_unless_the_group_is_only_you(tmp_path: Path, what: str) -> None:
    group = _other_group()
    if group is None:
        pytest.skip("this user is in no group but its own: chgrp cannot make a file another group's")
    directory = write_index(tmp_path / "idx")
    path = (directory / what).resolve()
    os.chown(path, -1, group.gr_gid)
    path.chmod(path.stat().st_mode | 0o020)
    code, output = _attach_cli(str(directory))
    assert code == 2 and len(output.strip().splitlines()) == 1, output
    assert output.startswith(f"error: {path}: the group {group.gr_name} can write it (")
    assert f"'chmod g-w {path}'" in output
    # The user's private group (umask 002 on Debian, Ubuntu, Fedora) is the user alone: accepted.
    user = pwd.getpwuid(os.geteuid())
    own = grp.getgrgid(user.pw_gid)
    if own.gr_name == user.pw_name and set(own.gr_mem) <= {user.pw_name}:
        os.chown(path, -1, user.pw_gid)
        assert _attach_cli(str(directory))[0] == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user (os.chown)")
@pytest.mark.parametrize("what", ["pages/part-00000.parquet", "pages", _layout.MANIFEST])
def test_what_another_user_owns_is_refused_naming_the_owner(tmp_path: Path, what: str) -> None:
    directory = write_index(tmp_path / "idx")
    path = directory / what
    nobody = pwd.getpwnam("nobody")
    os.chown(path, nobody.pw_uid, -1)
    code, output = _attach_cli(str(directory))
    assert code == 2 and len(output.strip().splitlines()) == 1, output
    assert output.startswith(f"error: {path}: owned by nobody, not by you (root), so nobody could change")
    assert f"'chown root {path}'" in output


@pytest.mark.parametrize("where", ["absolute", "parent", "symlink"])
def test_a_table_path_that_leaves_the_directory_is_refused(tmp_path: Path, where: str) -> None:
    elsewhere = write_index(tmp_path / "elsewhere")
    directory = write_index(tmp_path / "idx")
    manifest = json.loads((directory / _layout.MANIFEST).read_text())
    shutil.rmtree(directory / "links")
    if where == "symlink":
        (directory / "links").symlink_to(elsewhere / "links")
    else:
        named = str(elsewhere / "links") if where == "absolute" else "../elsewhere/links"
        manifest["tables"]["links"]["path"] = named
        (directory / _layout.MANIFEST).write_text(json.dumps(manifest))
    code, output = _attach_cli(str(directory))
    assert code == 2 and len(output.strip().splitlines()) == 1, output
    named = directory / ("links" if where == "symlink" else _layout.MANIFEST)
    assert output.startswith(f"error: {named}: table links is read from {elsewhere / 'links'}, outside {directory}")
