"""Opening the database file, its schema version and migrations."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import duckdb

from linkback import schema
from linkback.errors import SchemaTooNew, SchemaTooOld, StoreError, StoreLocked

DEFAULT_DB = "linkback.duckdb"


def default_db_path() -> Path:
    """``$LINKBACK_DB``, else ``./linkback.duckdb``."""
    return Path(os.environ.get("LINKBACK_DB") or DEFAULT_DB)


# Each migration takes the store from version N-1 to N inside one transaction.
_MIGRATIONS: dict[int, Callable[[duckdb.DuckDBPyConnection], None]] = {}


def migration(version: int):
    def register(fn: Callable[[duckdb.DuckDBPyConnection], None]):
        _MIGRATIONS[version] = fn
        return fn

    return register


@migration(1)
def _create_tables(con: duckdb.DuckDBPyConnection) -> None:
    later = {name for names in schema.TABLES_SINCE.values() for name in names}
    for name in schema.TABLES:
        if name not in later:
            con.execute(schema.create_table_sql(name))
    con.execute("CREATE SEQUENCE IF NOT EXISTS obs_id_seq START 1")


@migration(2)
def _rank_tables(con: duckdb.DuckDBPyConnection) -> None:
    for name in schema.TABLES_SINCE[2]:
        con.execute(schema.create_table_sql(name))


@migration(3)
def _mention_tables(con: duckdb.DuckDBPyConnection) -> None:
    for name in schema.TABLES_SINCE[3]:
        con.execute(schema.create_table_sql(name))
    # The server looks mentions up by (source, target) and by id on every request.
    con.execute("CREATE UNIQUE INDEX IF NOT EXISTS mentions_pair ON mentions (source, target)")
    con.execute("CREATE UNIQUE INDEX IF NOT EXISTS mentions_id ON mentions (mention_id)")
    con.execute("CREATE SEQUENCE IF NOT EXISTS mention_id_seq START 1")
    con.execute("CREATE SEQUENCE IF NOT EXISTS delivery_id_seq START 1")
    con.execute("CREATE SEQUENCE IF NOT EXISTS send_id_seq START 1")
    con.execute("CREATE SEQUENCE IF NOT EXISTS send_request_id_seq START 1")


@migration(4)
def _send_columns(con: duckdb.DuckDBPyConnection) -> None:
    for name in schema.TABLES_SINCE[4]:
        con.execute(schema.create_table_sql(name))
    for table, column in schema.COLUMNS_SINCE[4]:
        # A store created by this version (migration 3 made the tables) has them already.
        have = con.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = ? AND column_name = ?", [table, column]
        ).fetchall()[0][0]
        if not have:
            typ = schema.duckdb_type(schema.TABLES[table].field(column).type)
            con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {typ}")


class Store:
    """An open linkback database.

    ``Store(path)`` opens (creating if needed) and migrates the file; ``Store(":memory:")`` is a
    throw-away store for tests. ``con`` is the DuckDB connection; reports read through it.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, read_only: bool = False) -> None:
        self.path = str(path if path is not None else default_db_path())
        self.read_only = read_only
        if read_only and self.path != ":memory:" and not Path(self.path).exists():
            raise StoreError(f"{self.path}: no such database; run 'linkback ingest' first")
        try:
            self.con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreLocked(f"{self.path} is in use by another process ({exc})") from exc
            raise StoreError(f"{self.path}: cannot open ({exc})") from exc
        # Timestamps are stored as TIMESTAMPTZ and always shown in UTC, whatever the machine's zone.
        self.con.execute("SET TimeZone = 'UTC'")
        self._migrate()

    def _migrate(self) -> None:
        con = self.con
        if not self.read_only:
            con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        try:
            rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        except duckdb.CatalogException:
            rows = []
        version = int(rows[0][0]) if rows else 0
        if version > schema.SCHEMA_VERSION:
            raise SchemaTooNew(
                f"{self.path} has schema version {version}; this linkback reads up to "
                f"{schema.SCHEMA_VERSION}. Upgrade linkback."
            )
        if version == schema.SCHEMA_VERSION:
            return
        if self.read_only:
            self.con.close()
            raise SchemaTooOld(f"{self.path} needs a schema upgrade; open it once without read_only")
        for target in range(version + 1, schema.SCHEMA_VERSION + 1):
            con.execute("BEGIN TRANSACTION")
            try:
                _MIGRATIONS[target](con)
                con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(target)])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    @classmethod
    def borrowing(cls, con: duckdb.DuckDBPyConnection, path: str, *, read_only: bool = False) -> Store:
        """A Store over a connection someone else owns (the server's); ``close`` leaves it open."""
        store = cls.__new__(cls)
        store.path = path
        store.read_only = read_only
        store.con = con
        store._borrowed = True
        return store

    @property
    def schema_version(self) -> int:
        (value,) = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()[0]
        return int(value)

    def close(self) -> None:
        if not getattr(self, "_borrowed", False):
            self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
