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
again after another extract into the same directory re-makes the views, once. The Parquet tables
are read-only here: the store's writers of observations and archives refuse with
:class:`ParquetIndexReadOnly` (:func:`refuse_writes`), before anything is fetched or written.
"""

from __future__ import annotations

import hashlib
import json
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
    path = directory / _layout.MANIFEST
    for own in (directory, path):
        _not_world_writable(own)
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


def _not_world_writable(path: Path) -> None:
    """Refuse a file or folder of the index that every user of the machine can write: anyone could
    change (or, in a folder, add) what the reports read, after it was checked. One missing or
    unreadable is left to the reading that follows, which says so."""
    try:
        mode = path.stat().st_mode
    except (OSError, RuntimeError):
        return
    if mode & stat.S_IWOTH:
        raise ParquetIndexError(
            f"{path}: every user of this machine can write it ({stat.filemode(mode)}), so anyone could change what "
            f"the reports say; 'chmod o-w {path}', or copy the index where only you can write"
        )


#: What DuckDB's glob reads as a pattern in a path: ``idx*`` would read ``idxA/`` too.
_GLOB_CHARS = re.compile(r"([*?\[])")


def _folder(directory: Path, manifest: Mapping[str, Any], table: str) -> Path:
    return directory / str(manifest["tables"][table].get("path") or table)


def _glob(directory: Path, manifest: Mapping[str, Any], table: str) -> tuple[str, list[Path]]:
    """The read_parquet glob of one table (absolute; the folder's own ``*``, ``?`` and ``[`` stand
    for themselves, as ``[*]``...) and the files it matches now."""
    folder = _folder(directory, manifest, table)
    try:
        resolved = folder.resolve()
        files = sorted(folder.glob("part-*.parquet"))
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Path.resolve, Python < 3.13)
        raise ParquetIndexError(f"{folder}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    return _GLOB_CHARS.sub(r"[\1]", str(resolved)) + "/part-*.parquet", files


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
    types (each file's footer: a file written by something else fails here, not in a report);
    an index written at an older schema version has the columns of that version (:func:`_filled`)."""
    globs = {}
    filled = _filled(manifest)
    for table in _layout.TABLES:
        pattern, files = _glob(directory, manifest, table)
        folder = _folder(directory, manifest, table)
        if not files:
            raise ParquetIndexError(f"{folder.resolve()}: no part-*.parquet files for table {table}")
        want = _expected(table, filled.get(table, ()))
        _not_world_writable(folder)
        for file in files:
            _not_world_writable(file)
            try:
                rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_sql_text(str(file))})").fetchall()
            except duckdb.Error as exc:
                raise ParquetIndexError(f"{file}: not readable Parquet ({str(exc).splitlines()[0]})") from exc
            have = [(str(r[0]), str(r[1])) for r in rows]
            if have != want:
                raise ParquetIndexError(f"{file}: not the schema's {table}: {_difference(want, have)}")
        globs[table] = pattern
    return globs


def check_data(con: duckdb.DuckDBPyConnection, directory: Path, manifest: Mapping[str, Any]) -> None:
    """Decode every value of every file, which the footers say nothing of: a data page damaged
    on disk or in a copy fails here, naming its file and table, not in a report later. It reads
    all of the data (about 2 s per 20 million links on two cores), so only ``linkback attach``
    runs it, not each opening of ``--db DIR``."""
    for table in _layout.TABLES:
        _pattern, files = _glob(directory, manifest, table)
        for file in files:
            try:
                con.execute(f"SELECT min(hash(COLUMNS(*))) FROM read_parquet({_sql_text(str(file))})").fetchall()
            except duckdb.Error as exc:
                what = _first_line(exc).replace(f'Failed to read file "{file}": ', "")
                raise ParquetIndexError(
                    f"{file}: damaged Parquet data in table {table} ({what}); write the index again or restore the file"
                ) from exc


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


def make_views(con: duckdb.DuckDBPyConnection, directory: Path, manifest: Mapping[str, Any], digest: str) -> None:
    """Replace the index tables by views over ``directory``'s files (inside a write)."""
    globs = check_tables(con, directory, manifest)
    filled = _filled(manifest)
    have = _objects(con)
    for table, pattern in globs.items():
        if table in have:
            con.execute(f"DROP {have[table].upper()} {table}")
        fills = "".join(
            f", CAST({schema.COLUMN_FILLS[table, c]} AS {schema.duckdb_type(schema.TABLES[table].field(c).type)}) AS {c}"
            for c in filled.get(table, ())
        )
        con.execute(
            f"CREATE VIEW {table} AS SELECT *{fills} FROM read_parquet({_sql_text(pattern)}, hive_partitioning = false)"
        )
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [_META_DIR, str(directory)])
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [_META_MANIFEST, digest])


def _catalog_state(catalog: Path) -> tuple[int, str | None, str | None] | None:
    """(schema version, directory, manifest digest) of an existing catalog; None when there is
    none, or when another process holds it (its opener will say so)."""
    if not catalog.exists():
        return (0, None, None)
    try:
        con = duckdb.connect(str(catalog), read_only=True)
    except duckdb.Error:
        return None
    try:
        rows = dict(con.execute("SELECT key, value FROM meta").fetchall())
    except duckdb.Error:
        rows = {}
    finally:
        con.close()
    return int(rows.get("schema_version") or 0), rows.get(_META_DIR), rows.get(_META_MANIFEST)


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
    answer from the directory's current manifest yet. ``Store(DIR)`` opens what this returns."""
    from linkback.store._db import Store  # noqa: PLC0415 - _db imports this module

    directory = Path(directory).resolve()
    manifest, digest = read_manifest(directory)
    path = Path(catalog) if catalog is not None else directory / CATALOG
    _not_world_writable(path)  # its views are SQL that every report runs
    state = _catalog_state(path)
    if state is None or state == (schema.SCHEMA_VERSION, str(directory), digest):
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
