"""A Parquet index answered in place: ``linkback attach DIR`` (or ``--db DIR``).

``DIR`` is what ``linkback spark extract`` writes (:mod:`linkback.spark._layout`). Its catalog is
a small DuckDB file (``DIR/linkback.duckdb`` unless named) made at the current schema version in
which the tables the Parquet holds are views over its files::

    CREATE VIEW links AS SELECT * FROM read_parquet('/abs/DIR/links/part-*.parquet')

and everything the index does not hold (ranks, sites, profiles, jobs...) stays a real table. So
every report runs the store's SQL unchanged, ``linkback rank`` stores its runs in the catalog,
and nothing is copied: DuckDB reads only the row groups a filter leaves (the files are sorted on
the key each report filters on).

The catalog remembers the directory and a digest of its manifest (``meta``): opening ``--db DIR``
again after another extract into the same directory re-makes the views, once. Each opening also
compares the catalog's views with those this module makes (re-making them if they differ) and
refuses a catalog holding macros or other views: SQL that every report would run. The Parquet
tables are read-only here: the store's writers of observations and archives refuse with
:class:`ParquetIndexReadOnly` (:func:`refuse_writes`), before anything is fetched or written.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import stat
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from linkback import schema
from linkback.errors import LinkbackError, StoreError, StoreLocked
from linkback.faces import action
from linkback.spark import _layout

#: The catalog's file name inside the directory, unless another is named.
CATALOG = "linkback.duckdb"
#: The tables the Parquet holds, which the catalog shows as views (the edges too).
PARQUET_TABLES = ("observations", "link_observations", "links", "pages", "archives")
EDGE_TABLES = ("host_edges", "domain_edges")
_META_DIR = "parquet_dir"
_META_MANIFEST = "parquet_manifest"


class ParquetIndexError(StoreError, ValueError):
    """A directory that is not a complete, readable Parquet index of this schema."""


class ParquetIndexReadOnly(StoreError):
    """A write that would change the Parquet tables of an attached index."""


# --- the manifest and the files --------------------------------------------------------------


def read_manifest(directory: str | Path) -> tuple[dict[str, Any], str]:
    """The manifest of ``directory`` and its digest; a clear error if it is missing or foreign."""
    directory = Path(directory)
    _no_backslash(directory, "an index")
    path = directory / _layout.MANIFEST
    for own in (directory, path):
        _only_you_can_write(own)
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise ParquetIndexError(
            f"{directory}: no {_layout.MANIFEST}: not a complete 'linkback spark extract' output "
            "(the manifest is written last; a run that stopped early has none)"
        ) from None
    except OSError as exc:
        raise ParquetIndexError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        doc = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ParquetIndexError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("format") != _layout.FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise ParquetIndexError(f"{path}: format is {found!r}, not {_layout.FORMAT!r}")
    if doc.get("format_version") != _layout.FORMAT_VERSION:
        raise ParquetIndexError(
            f"{path}: format_version {doc.get('format_version')!r}; this linkback reads {_layout.FORMAT_VERSION}"
        )
    tables = doc.get("tables")
    missing = [t for t in _layout.TABLES if not isinstance(tables, dict) or not isinstance(tables.get(t), dict)]
    if missing:
        raise ParquetIndexError(f"{path}: names no {', '.join(missing)}")
    return doc, hashlib.sha256(text).hexdigest()


def _no_backslash(path: Path, what: str) -> None:
    """Refuse a path with a backslash (POSIX): DuckDB opens a database file with each ``\\`` taken
    for ``/``, and its glob finds no file under such a folder, so it would read other files than
    these, or none."""
    if os.sep == "/" and "\\" in str(path):
        raise ParquetIndexError(
            f"{path}: a backslash in the path of {what}: DuckDB reads '\\' in a file path as '/' (or, in "
            "a pattern, as an escape), so it would open other files than these; rename it, or link it from "
            "a path without one (ln -s)"
        )


def _only_you_can_write(path: Path) -> None:
    """Refuse a file or folder of the index (or the catalog) that another user can change after
    it was checked: one owned by another user than you or root, or writable by every user, or by
    a group that is not your own private group. (As ssh with its keys: a folder someone else can
    write lets them add or replace files too.) One missing or unreadable is left to the reading
    that follows, which says so."""
    try:
        st = path.stat()
    except (OSError, RuntimeError):
        return
    if os.name == "posix" and st.st_uid not in (os.geteuid(), 0):
        you, owner = _user_name(os.geteuid()), _user_name(st.st_uid)
        nor_root = "" if os.geteuid() == 0 else " or root"
        raise ParquetIndexError(
            f"{path}: owned by {owner}, not by you ({you}){nor_root}, so {owner} could change what the reports say; "
            f"'chown {you} {path}' (as root), or copy the index (cp -r) so that the copy is yours"
        )
    if st.st_mode & stat.S_IWOTH:
        raise ParquetIndexError(
            f"{path}: every user of this machine can write it ({stat.filemode(st.st_mode)}), so anyone could change "
            f"what the reports say; 'chmod o-w {path}', or copy the index where only you can write"
        )
    if os.name == "posix" and st.st_mode & stat.S_IWGRP and not _your_private_group(st.st_gid):
        raise ParquetIndexError(
            f"{path}: the group {_group_name(st.st_gid)} can write it ({stat.filemode(st.st_mode)}), so its other "
            f"members could change what the reports say; 'chmod g-w {path}', or copy the index where only you can write"
        )


@functools.cache
def _your_private_group(gid: int) -> bool:
    """True for your own group of one (a user private group: Debian, Ubuntu and Fedora make one
    per user and a umask of 002, so every file they write is group-writable): your primary group,
    of your name, that lists no other member."""
    import grp  # noqa: PLC0415 - POSIX only
    import pwd  # noqa: PLC0415

    try:
        you, group = pwd.getpwuid(os.geteuid()), grp.getgrgid(gid)
    except KeyError:
        return False
    return gid == you.pw_gid and group.gr_name == you.pw_name and set(group.gr_mem) <= {you.pw_name}


def _user_name(uid: int) -> str:
    import pwd  # noqa: PLC0415 - POSIX only

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"user {uid}"


def _group_name(gid: int) -> str:
    import grp  # noqa: PLC0415 - POSIX only

    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


#: What DuckDB's glob reads as a pattern in a path: ``idx*`` would read ``idxA/`` too.
_GLOB_CHARS = re.compile(r"([*?\[])")


def _folder(directory: Path, manifest: Mapping[str, Any], table: str) -> Path:
    """The folder of ``table``, symbolic links resolved, after checking it is inside ``directory``:
    a manifest path that is absolute or climbs out with ``..``, or a folder linked to another
    place, would have the reports read files nobody checked as this index's."""
    named = str(manifest["tables"][table].get("path") or table)
    folder = directory / named
    try:
        inside, resolved = directory.resolve(), folder.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Path.resolve, Python < 3.13)
        raise ParquetIndexError(f"{folder}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    if resolved == inside or not resolved.is_relative_to(inside):
        if named != table:
            where, how = directory / _layout.MANIFEST, f"its path in the manifest is {named!r}"
            fix = f"put its files in {directory / table} and its path in the manifest back to {table!r}"
        else:
            where, how, fix = folder, "a symbolic link", "put the files themselves in place of the link"
        raise ParquetIndexError(
            f"{where}: table {table} is read from {resolved}, outside {directory} ({how}): an index reads only "
            f"files in its own directory; {fix}"
        )
    _no_backslash(resolved, "a table's folder")
    return resolved


def _glob(directory: Path, manifest: Mapping[str, Any], table: str) -> tuple[str, list[Path]]:
    """The read_parquet glob of one table (absolute; the folder's own ``*``, ``?`` and ``[`` stand
    for themselves, as ``[*]``...) and the files it matches now, after checking that the folder
    and each file are inside the directory and that only you can write them."""
    folder = _folder(directory, manifest, table)
    _only_you_can_write(folder)
    try:
        files = sorted(folder.glob("part-*.parquet"))
    except OSError as exc:
        raise ParquetIndexError(f"{folder}: cannot read ({exc.strerror or exc})") from None
    for file in files:
        if file.is_symlink() and not _resolved(file).is_relative_to(folder):
            raise ParquetIndexError(
                f"{file}: a symbolic link to {_resolved(file)}, outside {folder}: an index reads only its own files; "
                "put the file itself there"
            )
        _only_you_can_write(file)
    return _GLOB_CHARS.sub(r"[\1]", str(folder)) + "/part-*.parquet", files


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError) as exc:
        raise ParquetIndexError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


#: Type names as DESCRIBE spells them, where the schema's DDL spells them otherwise.
_DESCRIBED = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}


def _expected(table: str, without: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    return [
        (f.name, _DESCRIBED.get(t, t))
        for f in _layout.TABLES[table][0]
        if f.name not in without
        for t in [schema.duckdb_type(f.type)]
    ]


def _filled(manifest: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Per table, the columns added since the schema version the index was written at that its
    files lack: the views give them the value a migration gives older rows (``schema.COLUMN_FILLS``),
    so an index keeps answering after an upgrade, as a store file does."""
    written = manifest.get("schema_version")
    if not isinstance(written, int) or isinstance(written, bool):
        return {}
    filled: dict[str, tuple[str, ...]] = {}
    for version in range(written + 1, schema.SCHEMA_VERSION + 1):
        for table, column in schema.COLUMNS_SINCE.get(version, ()):
            if table in _layout.TABLES and (table, column) in schema.COLUMN_FILLS:
                filled[table] = (*filled.get(table, ()), column)
    return filled


def _difference(want: list[tuple[str, str]], have: list[tuple[str, str]]) -> str:
    """What differs between two column lists, in words."""
    want_types, have_types = dict(want), dict(have)
    parts = []
    if missing := [n for n in want_types if n not in have_types]:
        parts.append("missing " + ", ".join(missing))
    if extra := [n for n in have_types if n not in want_types]:
        parts.append("unexpected " + ", ".join(extra))
    parts += [f"{n} is {have_types[n]} (schema: {t})" for n, t in want if n in have_types and have_types[n] != t]
    if not parts:
        parts.append("columns in another order than the schema's")
    return "; ".join(parts)


def check_tables(con: duckdb.DuckDBPyConnection, directory: Path, manifest: Mapping[str, Any]) -> dict[str, str]:
    """The glob of each table, after checking every file has exactly the schema's columns and
    types (each file's footer: a file written by something else fails here, not in a report),
    and no timestamp its footer's statistics put outside what Python can hold (:func:`check_data`
    reads every value); an index written at an older schema version has the columns of that
    version (:func:`_filled`)."""
    globs = {}
    filled = _filled(manifest)
    for table in _layout.TABLES:
        pattern, files = _glob(directory, manifest, table)
        if not files:
            raise ParquetIndexError(f"{_folder(directory, manifest, table)}: no part-*.parquet files for table {table}")
        want = _expected(table, filled.get(table, ()))
        for file in files:
            try:
                rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_sql_text(str(file))})").fetchall()
            except duckdb.Error as exc:
                raise ParquetIndexError(f"{file}: not readable Parquet ({str(exc).splitlines()[0]})") from exc
            have = [(str(r[0]), str(r[1])) for r in rows]
            if have != want:
                raise ParquetIndexError(f"{file}: not the schema's {table}: {_difference(want, have)}")
        _statistics_in_range(con, files, table, _timestamps(want))
        globs[table] = pattern
    return globs


#: The timestamps Python's datetime can hold: DuckDB hands Python one outside them as a str,
#: which the reports' formatting (and any date arithmetic) fails on.
_EARLIEST = "TIMESTAMPTZ '0001-01-01 00:00:00+00'"
_LATEST = "TIMESTAMPTZ '9999-12-31 23:59:59.999999+00'"


def _timestamps(columns: list[tuple[str, str]]) -> list[str]:
    return [name for name, kind in columns if kind.startswith("TIMESTAMP")]


def _out_of_range(file: Path, table: str, column: str, where: str, value: str) -> ParquetIndexError:
    return ParquetIndexError(
        f"{file}: table {table}, column {column}, row group {where}: {value} is outside the years 1 to 9999 "
        "that Python's datetime, and so the reports, can show; write the index again with timestamps in that range"
    )


def _statistics_in_range(con: duckdb.DuckDBPyConnection, files: list[Path], table: str, columns: list[str]) -> None:
    """Refuse a file whose footer's min/max statistics show a timestamp out of range (one
    without them is left to :func:`check_data`); the footers of a table's files in one query."""
    if not columns:
        return
    found = con.execute(
        "SELECT file_name, path_in_schema, row_group_id, stats_min, stats_max FROM parquet_metadata(?) "
        f"WHERE list_contains(?, path_in_schema) AND (TRY_CAST(stats_min AS TIMESTAMPTZ) < {_EARLIEST} "
        f"OR TRY_CAST(stats_max AS TIMESTAMPTZ) > {_LATEST}) ORDER BY file_name, row_group_id, column_id LIMIT 1",
        [[str(f) for f in files], columns],
    ).fetchall()
    if found:
        file, column, group, low, high = found[0]
        where = f"{group} (its statistics: min {low}, max {high})"
        raise _out_of_range(Path(file), table, column, where, "a timestamp")


def check_data(con: duckdb.DuckDBPyConnection, directory: Path, manifest: Mapping[str, Any]) -> None:
    """Decode every value of every file, which the footers say nothing of: a data page damaged
    on disk or in a copy fails here, naming its file and table, not in a report later; and a
    timestamp Python cannot hold, naming its column and row group. It reads all of the data
    (about 2 s per 20 million links on two cores), so only ``linkback attach`` runs it, not each
    opening of ``--db DIR``."""
    filled = _filled(manifest)
    for table in _layout.TABLES:
        _pattern, files = _glob(directory, manifest, table)
        stamps = _timestamps(_expected(table, filled.get(table, ())))
        # min and max cost little beside the hash of every value; the row is looked for only then
        outside = "".join(f", min({c}) < {_EARLIEST} OR max({c}) > {_LATEST}" for c in stamps)
        for file in files:
            try:
                found = con.execute(
                    f"SELECT min(hash(COLUMNS(*))){outside} FROM read_parquet(?)", [str(file)]
                ).fetchall()
            except duckdb.Error as exc:
                what = _first_line(exc).replace(f'Failed to read file "{file}": ', "")
                raise ParquetIndexError(
                    f"{file}: damaged Parquet data in table {table} ({what}); write the index again or restore the file"
                ) from exc
            flags = found[0][len(found[0]) - len(stamps) :]
            for column in (c for c, out in zip(stamps, flags, strict=True) if out):
                raise _out_of_range(file, table, column, *_row_at(con, file, column))


def _row_at(con: duckdb.DuckDBPyConnection, file: Path, column: str) -> tuple[str, str]:
    """The row group of the first row of ``file`` whose ``column`` is out of range (with that
    row, both counted from 0) and its value."""
    row, value = con.execute(
        f"SELECT file_row_number, CAST({column} AS VARCHAR) FROM read_parquet(?, file_row_number = true) "
        f"WHERE {column} NOT BETWEEN {_EARLIEST} AND {_LATEST} ORDER BY file_row_number LIMIT 1",
        [str(file)],
    ).fetchall()[0]
    (group,) = con.execute(
        "SELECT row_group_id FROM (SELECT row_group_id, sum(row_group_num_rows) OVER (ORDER BY row_group_id) AS ends "
        "FROM (SELECT DISTINCT row_group_id, row_group_num_rows FROM parquet_metadata(?))) "
        "WHERE ? < ends ORDER BY row_group_id LIMIT 1",
        [str(file), row],
    ).fetchall()[0]
    return f"{group} (row {row} of the file, from 0)", str(value)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


#: Errors of the query itself, or of the session, not of reading the files.
_NOT_READS = (
    duckdb.CatalogException,
    duckdb.BinderException,
    duckdb.ParserException,
    duckdb.InterruptException,
    duckdb.TransactionException,
    duckdb.ConstraintException,
    duckdb.OutOfMemoryException,
)


_FAILED_FILE = re.compile(r'Failed to read file "([^"]+)"')
#: Words of DuckDB's errors that come from reading Parquet (Thrift page headers, decompression).
_READ_WORDS = re.compile(r"parquet|thrift|TProtocol|decompress|don't know what type|corrupt", re.IGNORECASE)


def read_error(con: Any, exc: BaseException) -> ParquetIndexError | None:
    """The one-line error for ``exc``, raised by a query on a store that is an attached Parquet
    index when its files cannot be read (damaged, cut, changed or gone since they were checked),
    naming the directory, and the file and its table when DuckDB said which; None for any other
    error (a store that is not attached, an error in the query itself), to be raised as it is.

    Reports reach the files through the views, where nothing of this module runs: their caller
    maps errors with this (``raise err from exc``)."""
    if isinstance(exc, duckdb.BinderException):
        return _changed_files(con)
    if not isinstance(exc, duckdb.Error) or isinstance(exc, _NOT_READS):
        return None
    message = _first_line(exc)
    if not isinstance(exc, duckdb.IOException) and type(exc) is not duckdb.Error and not _READ_WORDS.search(message):
        return None
    try:
        directory = parquet_dir(con)
    except duckdb.Error:  # the connection's transaction is aborted: the error cannot be placed
        return None
    if directory is None:
        return None
    file = _FAILED_FILE.search(str(exc))
    where = "its Parquet files"
    if file is not None:
        path = Path(file.group(1))
        where = f"its table {path.parent.name} ({path})" if path.parent.name in _layout.TABLES else str(path)
        message = message.replace(f'Failed to read file "{path}": ', "")
    return ParquetIndexError(
        f"{directory}: cannot read {where} ({message}); 'linkback attach {directory}' checks every file"
    )


def _changed_files(con: Any) -> ParquetIndexError | None:
    """A query that no longer binds on an attached index, because a file was replaced by one of
    other columns since the views were made (DuckDB binds a view to the files it finds at each
    query): the footers checked again name the file. None when they are all the schema's (the
    query itself is wrong) or the store is no attached index."""
    try:
        directory = parquet_dir(con)
        if directory is None:
            return None
        manifest, _digest = read_manifest(directory)
        check_tables(con, Path(directory), manifest)
    except ParquetIndexError as found:
        return ParquetIndexError(
            f"{directory}: changed since it was attached: {found}; 'linkback attach {directory}' checks every file"
        )
    except duckdb.Error:  # the connection's transaction is aborted: the error cannot be placed
        return None
    return None


# --- the catalog -------------------------------------------------------------------------------


def parquet_dir(con: duckdb.DuckDBPyConnection) -> str | None:
    """The directory whose Parquet files this store's index tables are, or None (a DuckDB store)."""
    try:
        rows = con.execute("SELECT value FROM meta WHERE key = ?", [_META_DIR]).fetchall()
    except duckdb.CatalogException:
        return None
    return str(rows[0][0]) if rows else None


def refuse_writes(store: Any) -> None:
    """Raise :class:`ParquetIndexReadOnly` if ``store`` is an attached Parquet index: called by
    the store's writers of observations and archives, which every way pages come in goes through."""
    directory = parquet_dir(store.con)
    if directory is not None:
        raise ParquetIndexReadOnly(
            f"{directory} is a read-only Parquet index made by spark extract; ingest into a DuckDB file"
        )


def _objects(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Name -> 'table' or 'view' of the main schema's tables and views."""
    rows = con.execute(
        "SELECT table_name, 'table' FROM duckdb_tables() WHERE NOT temporary AND schema_name = 'main' "
        "UNION ALL SELECT view_name, 'view' FROM duckdb_views() WHERE NOT temporary AND NOT internal "
        "AND schema_name = 'main'"
    ).fetchall()
    return {str(name): str(kind) for name, kind in rows}


def _view_sql(table: str, pattern: str, filled: tuple[str, ...]) -> str:
    """The query of ``table``'s view over the files ``pattern`` matches."""
    fills = "".join(
        f", CAST({schema.COLUMN_FILLS[table, c]} AS {schema.duckdb_type(schema.TABLES[table].field(c).type)}) AS {c}"
        for c in filled
    )
    return f"SELECT *{fills} FROM read_parquet({_sql_text(pattern)}, hive_partitioning = false)"


def _views(directory: Path, manifest: Mapping[str, Any], globs: Mapping[str, str] | None = None) -> dict[str, str]:
    """Table -> the query of its view (the folders and files checked by :func:`_glob`, the
    footers only when ``globs`` comes from :func:`check_tables`)."""
    filled = _filled(manifest)
    if globs is None:
        globs = {table: _glob(directory, manifest, table)[0] for table in _layout.TABLES}
    return {table: _view_sql(table, pattern, filled.get(table, ())) for table, pattern in globs.items()}


def make_views(con: duckdb.DuckDBPyConnection, directory: Path, manifest: Mapping[str, Any], digest: str) -> None:
    """Replace the index tables by views over ``directory``'s files (inside a write)."""
    views = _views(directory, manifest, check_tables(con, directory, manifest))
    have = _objects(con)
    for table, query in views.items():
        if table in have:
            con.execute(f"DROP {have[table].upper()} {table}")
        con.execute(f"CREATE VIEW {table} AS {query}")
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [_META_DIR, str(directory)])
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [_META_MANIFEST, digest])


def _refuse_foreign_sql(con: duckdb.DuckDBPyConnection, catalog: Path) -> None:
    """Refuse a catalog holding macros, or views other than the index tables': SQL that every
    report would run (a macro named like a function DuckDB has, ``lower``, replaces it), which
    linkback never makes there, so someone else did."""
    found = con.execute(
        "SELECT function_name FROM duckdb_functions() WHERE NOT internal "
        "UNION SELECT view_name FROM duckdb_views() WHERE NOT internal AND NOT temporary "
        "AND (schema_name <> 'main' OR NOT list_contains(?, view_name)) ORDER BY 1",
        [list(_layout.TABLES)],
    ).fetchall()
    if found:
        names = ", ".join(str(r[0]) for r in found)
        raise ParquetIndexError(
            f"{catalog}: holds SQL linkback does not make: {names} (macros or views, which the reports would run); "
            f"someone edited it: delete it (it is made again; runs of 'linkback rank' stored in it are lost) "
            "or drop them with the duckdb shell"
        )


def _views_as_made(con: duckdb.DuckDBPyConnection, views: Mapping[str, str]) -> bool:
    """True when the catalog's views are exactly ``views``. DuckDB keeps a view as its parsed
    query and shows it printed again (``SELECT * FROM read_parquet('...', (hive_partitioning =
    false))``), so each expected query is compared as DuckDB prints it, parsed but not bound:
    no file is read."""
    have = dict(
        con.execute(
            "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal AND NOT temporary AND schema_name = 'main'"
        ).fetchall()
    )
    try:
        printed = dict(
            con.execute(
                "SELECT q, json_deserialize_sql(json_serialize_sql(q)) FROM unnest(?::VARCHAR[]) AS t(q)",
                [list(views.values())],
            ).fetchall()
        )
    except (duckdb.CatalogException, duckdb.IOException):  # no json extension: made again at each opening
        return False
    return all(have.get(table) == f"CREATE VIEW {table} AS {printed[query]};" for table, query in views.items())


def _catalog_state(catalog: Path, views: Mapping[str, str]) -> tuple[int, str | None, str | None, bool] | None:
    """(schema version, directory, manifest digest, whether its views are ``views``) of an
    existing catalog, after refusing one with SQL of someone else's (:func:`_refuse_foreign_sql`);
    None when there is none, or when another process holds it (its opener will say so)."""
    if not catalog.exists():
        return (0, None, None, False)
    try:
        con = duckdb.connect(str(catalog), read_only=True)
    except duckdb.Error:
        return None
    try:
        _refuse_foreign_sql(con, catalog)
        try:
            rows = dict(con.execute("SELECT key, value FROM meta").fetchall())
        except duckdb.Error:
            rows = {}
        as_made = _views_as_made(con, views)
    finally:
        con.close()
    return int(rows.get("schema_version") or 0), rows.get(_META_DIR), rows.get(_META_MANIFEST), as_made


def _holds_pages(catalog: Path) -> bool:
    """True when ``catalog`` is a store with observations of its own (making views would drop them)."""
    con = duckdb.connect(str(catalog), read_only=True)
    try:
        have = _objects(con)
        return any(
            con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1)").fetchall()[0][0]
            for table in PARQUET_TABLES
            if have.get(table) == "table"
        )
    finally:
        con.close()


def _views_to_tables(catalog: Path) -> None:
    """Before a schema migration: the index views become empty tables of the current shape, so
    the migrations (ALTER TABLE, data steps) run on tables; the views are made again after."""
    con = duckdb.connect(str(catalog))
    try:
        have = _objects(con)
        for table in (*PARQUET_TABLES, *EDGE_TABLES):
            if have.get(table) == "view":
                con.execute(f"DROP VIEW {table}")
                if table in schema.TABLES:
                    con.execute(schema.create_table_sql(table))
    finally:
        con.close()


def catalog_for(directory: str | Path, catalog: str | Path | None = None) -> str:
    """The catalog of the Parquet index ``directory``, made (or its views re-made) if it does not
    answer from the directory's current manifest yet, or if its views are not the ones
    :func:`make_views` makes (someone edited them): checked at each opening, as the views are SQL
    that every report runs. ``Store(DIR)`` opens what this returns."""
    from linkback.store._db import Store  # noqa: PLC0415 - _db imports this module

    directory = Path(directory).resolve()
    manifest, digest = read_manifest(directory)
    path = Path(catalog) if catalog is not None else directory / CATALOG
    _no_backslash(path, "a catalog")
    for own in (path, Path(f"{path}.wal")):
        _only_you_can_write(own)  # its views are SQL that every report runs
    state = _catalog_state(path, _views(directory, manifest))
    if state is None or state == (schema.SCHEMA_VERSION, str(directory), digest, True):
        return str(path)
    if state[0] > 0 and state[1] is None and _holds_pages(path):
        raise ParquetIndexError(f"{path} is a linkback store with pages of its own, not a catalog: name a new file")
    if 0 < state[0] < schema.SCHEMA_VERSION:
        _views_to_tables(path)
    try:
        with Store(path) as store:
            store.write(lambda s: make_views(s.con, directory, manifest, digest))
    except (ParquetIndexError, StoreLocked):
        raise
    except StoreError as exc:
        raise StoreError(f"{exc}; make the catalog where you can write: linkback attach {directory} --db FILE") from exc
    return str(path)


@action()
def attach(store: Any) -> dict[str, Any]:
    """Check the store's Parquet index again (manifest, every file's columns and types, every
    value of its data: :func:`check_data`) and point its views at the directory's files as they
    are now; what it holds, table by table."""
    directory = parquet_dir(store.con)
    if directory is None:
        raise LinkbackError(f"{store.path} is not an attached Parquet index: 'linkback attach DIR' makes one")
    manifest, digest = read_manifest(directory)
    check_tables(store.con, Path(directory), manifest)  # the footers first: the clearer errors
    check_data(store.con, Path(directory), manifest)
    store.write(lambda s: make_views(s.con, Path(directory), manifest, digest))
    rows = {t: int(store.con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]) for t in _layout.TABLES}
    return {
        "directory": directory,
        "catalog": store.path,
        "schema_version": manifest.get("schema_version"),
        "completed_at": manifest.get("completed_at"),
        "files": len(manifest.get("files") or []),
        "rows": rows,
    }


# --- writing the layout from a DuckDB store (linkback export --parquet) -------------------------


def _edges_sql(table: str) -> str:
    from linkback.spark import _derive  # noqa: PLC0415 - its SQL is plain SQL; no pyspark import

    return {"host_edges": _derive.HOST_EDGES, "domain_edges": _derive.DOMAIN_EDGES}[table]


def write_parquet(store: Any, out: str | Path) -> dict[str, int]:
    """Write ``store``'s index tables to ``out`` in the layout ``spark extract`` writes (same
    columns, types, sort keys, zstd, TIMESTAMP micros UTC; the edges aggregated by the same SQL),
    the manifest last. ``out`` must not hold files yet. Rows per table."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ParquetIndexError(f"{out}: already exists and is not empty")
    started = datetime.now(UTC)
    con = store.con
    con.execute("CREATE OR REPLACE TEMP VIEW _lb_derived AS SELECT * FROM links")
    rows: dict[str, int] = {}
    try:
        for table, (arrow_schema, keys) in _layout.TABLES.items():
            source = f"SELECT * FROM {table}" if table in schema.TABLES else _edges_sql(table)
            cols = ", ".join(f"CAST({f.name} AS {schema.duckdb_type(f.type)}) AS {f.name}" for f in arrow_schema)
            (out / table).mkdir(parents=True, exist_ok=True)
            target = _sql_text(str(out / table / "part-00000.parquet"))
            con.execute(
                f"COPY (SELECT {cols} FROM ({source}) ORDER BY {', '.join(keys)}) TO {target} "
                "(FORMAT parquet, COMPRESSION zstd)"
            )
            rows[table] = int(con.execute(f"SELECT count(*) FROM read_parquet({target})").fetchall()[0][0])
        archives = con.execute("SELECT path, completed_at IS NOT NULL FROM archives ORDER BY archive_id").fetchall()
    finally:
        con.execute("DROP VIEW IF EXISTS _lb_derived")
    doc = {
        "format": _layout.FORMAT,
        "format_version": _layout.FORMAT_VERSION,
        "schema_version": schema.SCHEMA_VERSION,
        "written_by": "linkback export --parquet",
        "started_at": started.isoformat(),
        "completed_at": datetime.now(UTC).isoformat(),
        "tables": {
            name: {"path": name, "sorted_by": list(keys), "rows": rows[name]}
            for name, (_schema, keys) in _layout.TABLES.items()
        },
        "files": [{"path": path, "status": "ingested" if done else "partial"} for path, done in archives],
    }
    part = out / (_layout.MANIFEST + ".part")
    part.write_text(json.dumps(doc, indent=2))
    part.replace(out / _layout.MANIFEST)  # last, and whole: its presence says the layout is complete
    return rows


# --- rank's graphs from the aggregated edges -----------------------------------------------------


def has_edges(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the store is an attached index with its host_edges and domain_edges."""
    return parquet_dir(con) is not None and all(_objects(con).get(t) == "view" for t in EDGE_TABLES)
