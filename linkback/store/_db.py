"""Opening the database file, its schema version and migrations."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from linkback import schema
from linkback.errors import LinkbackError, SchemaTooNew, SchemaTooOld, StoreError, StoreLocked

DEFAULT_DB = "linkback.duckdb"

log = logging.getLogger("linkback.store")

T = TypeVar("T")

#: How a store hands a write to its owner's single writer: ``(fn, transaction) -> fn's result``.
WriteHandler = Callable[[Callable[["Store"], Any], bool], Any]


def private_files() -> None:
    """Files this process creates from now on (the database, its WAL, the server's advert) are
    readable by their owner only, whatever the umask said."""
    os.umask(os.umask(0o077) | 0o077)


def refuse_question_mark(path: str) -> None:
    """Raise StoreError for a database path DuckDB would misplace the files of.

    DuckDB names a database's write-ahead log and temporary directory by inserting ``.wal`` or
    ``.tmp`` before the first ``?`` of its path, made absolute with symbolic links resolved (what
    follows is taken for connection parameters, ``file.db?param=value``), and nothing quotes a
    ``?`` (``Path::AddSuffixToPath``, DuckDB 1.x and 2.0). With ``what?.duckdb`` the log is
    ``what.wal?.duckdb``, which another database may be (it is overwritten, then deleted at the
    checkpoint), and which a copy of ``what?.duckdb*`` leaves behind; with a ``?`` in a directory
    (the working directory's too, or a linked one's) it goes to another directory, or nowhere and
    the first write fails."""
    if path == ":memory:":
        return
    full = os.path.realpath(path)
    if "?" not in full or full.startswith("\\\\?\\"):  # a Windows long path's prefix is not split
        return
    cut = full.index("?")
    wal = full[:cut] + ".wal" + full[cut:]
    where = f"character {cut + 1}" + ("" if full == path else f" of {full}")
    message = (
        f"{path}: a database path cannot hold '?' ({where}): DuckDB takes what follows it for connection "
        f"parameters and would keep the write-ahead log at {wal}, not {full}.wal, over any file of that name; "
        "rename the file or directory"
    )
    if os.path.lexists(wal):
        message += (
            f" ({wal} exists: unless it is a database of its own it holds this one's last writes, and is renamed"
            " with it: NEW.duckdb and NEW.duckdb.wal)"
        )
    raise StoreError(message)


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


#: Sequences and indexes each schema version added, made once more by a new file's one step.
_SEQUENCES_SINCE: dict[int, tuple[str, ...]] = {
    1: ("obs_id_seq",),
    3: ("mention_id_seq", "delivery_id_seq", "send_id_seq", "send_request_id_seq"),
    5: ("archive_id_seq", "run_id_seq", "job_id_seq"),
    6: ("claim_id_seq", "claim_import_id_seq"),
    7: ("link_id_seq", "check_id_seq", "rule_id_seq", "alert_id_seq"),
    8: ("visit_import_id_seq",),
}
_INDEXES_SINCE: dict[int, tuple[str, ...]] = {
    # The server looks mentions up by (source, target) and by id on every request.
    3: (
        "CREATE UNIQUE INDEX IF NOT EXISTS mentions_pair ON mentions (source, target)",
        "CREATE UNIQUE INDEX IF NOT EXISTS mentions_id ON mentions (mention_id)",
    ),
    # A sender's status page looks its mention up by the token in its URL.
    5: (
        "CREATE UNIQUE INDEX IF NOT EXISTS jobs_id ON jobs (job_id)",
        "CREATE INDEX IF NOT EXISTS mentions_status_token ON mentions (status_token)",
    ),
    # categorize replaces a domain's row: looked up by domain.
    9: ("CREATE UNIQUE INDEX IF NOT EXISTS domain_categories_domain ON domain_categories (domain)",),
    # A capture found again (re-ingest, rescan) updates its page's row for the term.
    10: ("CREATE UNIQUE INDEX IF NOT EXISTS brand_mentions_key ON brand_mentions (url, site, term)",),
    7: (
        "CREATE UNIQUE INDEX IF NOT EXISTS ledger_key ON ledger (link_key)",
        "CREATE INDEX IF NOT EXISTS link_checks_link ON link_checks (link_id)",
        "CREATE UNIQUE INDEX IF NOT EXISTS alerts_key ON alerts (alert_key)",
        # crawl_frontier has none: it is a log, appended to (linkback.crawl._frontier).
    ),
}


def _tables_of(version: int) -> list[str]:
    if version == 1:
        later = {name for names in schema.TABLES_SINCE.values() for name in names}
        return [name for name in schema.TABLES if name not in later]
    return list(schema.TABLES_SINCE.get(version, ()))


def zstd_strings(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the connection's database file can store text with zstd (:data:`schema.ZSTD_COLUMNS`):
    its storage version is 1.2 or later. A file made by an older DuckDB, or with an older
    ``storage_compatibility_version``, keeps DuckDB's default compression for those columns."""
    try:
        rows = con.execute("SELECT tags FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
        version = str((rows[0][0] or {}).get("storage_version", "")) if rows else ""
    except duckdb.Error:  # a DuckDB without the tags column: older than any storage that has it
        return False
    digits = [int(part) for part in version.lstrip("v").rstrip("+").split(".")[:2] if part.isdigit()]
    return len(digits) == 2 and tuple(digits) >= (1, 2)


def _step(con: duckdb.DuckDBPyConnection, version: int) -> None:
    """What version ``version`` added: its tables (as declared now), sequences and indexes."""
    names = _tables_of(version)
    # Asked of the file only by the step that makes the tables it concerns (version 1).
    zstd = any(name in schema.ZSTD_COLUMNS for name in names) and zstd_strings(con)
    for name in names:
        con.execute(schema.create_table_sql(name, zstd=zstd))
    for seq in _SEQUENCES_SINCE.get(version, ()):
        con.execute(f"CREATE SEQUENCE IF NOT EXISTS {seq} START 1")
    for index in _INDEXES_SINCE.get(version, ()):
        con.execute(index)


def create_fresh(con: duckdb.DuckDBPyConnection) -> None:
    """A new database at the current version in one step: every table as declared now (so no
    column is added later), every sequence at 1, every index. It equals an old file migrated step
    by step (tests/test_store.py checks the two catalogs agree); the data steps of the
    migrations have nothing to do on empty tables."""
    for version in range(1, schema.SCHEMA_VERSION + 1):
        _step(con, version)


@migration(1)
def _create_tables(con: duckdb.DuckDBPyConnection) -> None:
    _step(con, 1)


@migration(2)
def _rank_tables(con: duckdb.DuckDBPyConnection) -> None:
    _step(con, 2)


@migration(3)
def _mention_tables(con: duckdb.DuckDBPyConnection) -> None:
    _step(con, 3)


@migration(4)
def _send_columns(con: duckdb.DuckDBPyConnection) -> None:
    _step(con, 4)
    # A store created by this version (migration 3 made the tables) has them already.
    _add_columns(con, 4)


@migration(5)
def _jobs_and_sequences(con: duckdb.DuckDBPyConnection) -> None:
    """Jobs, status tokens, noindex links; every id from a sequence; the admin token hashed."""
    for name in _tables_of(5):
        con.execute(schema.create_table_sql(name))
    _add_columns(con, 5)
    for index in _INDEXES_SINCE[5]:
        con.execute(index)
    # Ids came from max(id) + 1 before: each sequence starts after the largest id stored.
    for seq, table, column in (
        ("obs_id_seq", "observations", "obs_id"),
        ("archive_id_seq", "archives", "archive_id"),
        ("run_id_seq", "rank_runs", "run_id"),
        ("job_id_seq", "jobs", "job_id"),
    ):
        (start,) = con.execute(f"SELECT coalesce(max({column}), 0) + 1 FROM {table}").fetchall()[0]
        con.execute(f"CREATE OR REPLACE SEQUENCE {seq} START {int(start)}")
    # The admin token was kept in plain text, in a file others could often read: it is dropped,
    # not hashed, so the next `linkback serve` makes a new one and prints it.
    con.execute("DELETE FROM meta WHERE key = 'admin_token'")
    import linkback.store._write  # noqa: F401, PLC0415 - registers its step (links on noindex pages)

    for fn in _AFTER_5:
        fn(con)


#: More steps of migration 5, registered by the modules whose derived state it changes.
_AFTER_5: list[Callable[[duckdb.DuckDBPyConnection], None]] = []


@migration(6)
def _claims(con: duckdb.DuckDBPyConnection) -> None:
    """Claims: backlinks a tool says exist (imported exports), and the files they came from."""
    _step(con, 6)


@migration(7)
def _ledger(con: duckdb.DuckDBPyConnection) -> None:
    """The link ledger and its checks, alerts and their rules, the crawl frontier."""
    _step(con, 7)


@migration(8)
def _visits(con: duckdb.DuckDBPyConnection) -> None:
    """Referral traffic: visits read from access logs and analytics exports, and their files."""
    _step(con, 8)


@migration(9)
def _domain_categories(con: duckdb.DuckDBPyConnection) -> None:
    """The categories of referring domains (IAB Content Taxonomy), made by ``linkback categorize``."""
    _step(con, 9)


@migration(10)
def _brand_mentions(con: duckdb.DuckDBPyConnection) -> None:
    """Pages that name a site's brand terms (``linkback unlinked``), found at ingest or by ``rescan``."""
    _step(con, 10)


@migration(11)
def _cc_web_graph(con: duckdb.DuckDBPyConnection) -> None:
    """Common Crawl web graph ranks and the referring hosts/domains of the user's domains (``linkback cc graph``)."""
    _step(con, 11)


@migration(12)
def _frontier_reasons(con: duckdb.DuckDBPyConnection) -> None:
    """Why a crawl's URL ended without a page (``crawl_frontier.reason``); older rows have none."""
    _add_columns(con, 12)


@migration(13)
def _truncated_captures(con: duckdb.DuckDBPyConnection) -> None:
    """Captures known to hold part of their page (``observations.truncated``, ``pages.truncated``).
    Every capture stored before counts as whole, as it did: the links derived from them stay as
    they are."""
    _add_columns(con, 13)


@migration(14)
def _site_keys_in_stored_form(con: duckdb.DuckDBPyConnection) -> None:
    """Every site and list key in its one stored form. Stores written before it hold profile
    sites, list entries and the sites of brand mentions as typed (``bücher.de``), and alert
    rules' sites with a trailing dot (``example.com.``): only the profile code matched those.
    The keys of one site merge as the live code merges them; a key its check refuses (an older
    one let it in) is left as it is, and named in a warning."""
    left = _rekey_sites(con)
    if left:
        named = "; ".join(f"{where}: {len(keys)} ({', '.join(map(repr, keys[:5]))})" for where, keys in left.items())
        log.warning("schema 14: keys left as they were (not a domain, host or URL): %s", named)


def _rekey_sites(con: duckdb.DuckDBPyConnection) -> dict[str, list[str | None]]:
    """Migration 14's data step; returns the keys left as they were, by ``table.column``."""
    from linkback.alerts._rules import rule_site  # noqa: PLC0415 - the stores' forms of today
    from linkback.quality._lists import normalize_entry  # noqa: PLC0415

    left: dict[str, list[str | None]] = {}
    _merge_profiles(con, _stored_forms(con, "site_profiles", "site", normalize_entry, left))
    _merge_list_entries(con, _stored_forms(con, "quality_lists", "entry", normalize_entry, left))
    _rekey_brand_mentions(con, _stored_forms(con, "brand_mentions", "site", normalize_entry, left))
    alert_sites = _stored_forms(con, "alert_rules", "site", rule_site, left)
    _rekey_alert_sites(con, alert_sites | _stored_forms(con, "alerts", "site", rule_site, left))
    return left


def _stored_forms(
    con: duckdb.DuckDBPyConnection,
    table: str,
    column: str,
    form: Callable[[str], str],
    left: dict[str, list[str | None]],
) -> dict[str, str]:
    """``{key: its stored form}`` for the keys of ``table.column`` not in it; those ``form``
    refuses (a ValueError) are added to ``left``."""
    renamed: dict[str, str] = {}
    for (key,) in con.execute(f"SELECT DISTINCT {column} FROM {table} ORDER BY {column}").fetchall():
        try:
            stored = form(key) if isinstance(key, str) else None
        except ValueError:
            stored = None
        if stored is None:
            left.setdefault(f"{table}.{column}", []).append(key)
        elif stored != key:
            renamed[key] = stored
    return renamed


def _spellings_by_form(renamed: dict[str, str]) -> dict[str, list[str]]:
    """``{stored form: [the stored form (a key or not), then its other spellings in code-point order]}``."""
    groups: dict[str, list[str]] = {}
    for spelling, stored in sorted(renamed.items()):
        groups.setdefault(stored, [stored]).append(spelling)
    return groups


def _merge_profiles(con: duckdb.DuckDBPyConnection, renamed: dict[str, str]) -> None:
    """One profile per site. Of several, the one under the stored form wins (the one toxicity and
    the anchors read), else the one under the spelling first in code-point order (the one
    ``get_profile``, ``unlinked`` and ingest's terms read): profiles have no date to prefer the
    newest by."""
    for site, keys in _spellings_by_form(renamed).items():
        rows = con.execute(
            "SELECT site, brands, keywords FROM site_profiles WHERE list_contains(?, site)", [keys]
        ).fetchall()
        _, brands, keywords = min(rows, key=lambda row: (row[0] != site, row[0]))
        con.execute("DELETE FROM site_profiles WHERE list_contains(?, site)", [keys])
        con.execute("INSERT INTO site_profiles VALUES (?, ?, ?)", [site, brands, keywords])


def _merge_list_entries(con: duckdb.DuckDBPyConnection, renamed: dict[str, str]) -> None:
    """One row per entry, on one list, as ``add_to_list`` keeps them: the newest row of the
    entry's spellings on either list wins; of two as new, the one in stored form, then the deny
    one (an entry on both lists reads as denied: ``linkback.quality._signals``)."""
    for entry, keys in _spellings_by_form(renamed).items():
        (row,) = con.execute(
            "SELECT list, note, added_at FROM quality_lists WHERE list_contains(?, entry) "
            "ORDER BY added_at DESC NULLS LAST, entry = ? DESC, list = 'deny' DESC, entry, note LIMIT 1",
            [keys, entry],
        ).fetchall()
        con.execute("DELETE FROM quality_lists WHERE list_contains(?, entry)", [keys])
        con.execute("INSERT INTO quality_lists VALUES (?, ?, ?, ?)", [row[0], entry, row[1], row[2]])


def _rekey_brand_mentions(con: duckdb.DuckDBPyConnection, renamed: dict[str, str]) -> None:
    """Each hit under its site's stored form. A page with a hit for one term under several
    spellings keeps the one under the stored form, else the first spelling's (code-point order),
    as setting the profile again kept them (one row per page, site and term)."""
    for spelling, site in sorted(renamed.items()):
        con.execute(
            "INSERT INTO brand_mentions SELECT * REPLACE (? AS site) FROM brand_mentions WHERE site = ? "
            "ON CONFLICT DO NOTHING",
            [site, spelling],
        )
        con.execute("DELETE FROM brand_mentions WHERE site = ?", [spelling])


def _rekey_alert_sites(con: duckdb.DuckDBPyConnection, renamed: dict[str, str]) -> None:
    """Alert rules and their alerts under their site's stored form. An atom rule moved to a site
    with a feed of its own takes that feed's token: the feed's address (the token of the site's
    first atom rule) stays the one its reader has."""
    for spelling, site in sorted(renamed.items()):
        token = con.execute(
            "SELECT secret FROM alert_rules WHERE site = ? AND channel = 'atom' AND coalesce(secret, '') <> '' "
            "ORDER BY rule_id LIMIT 1",
            [site],
        ).fetchall()
        if token:
            con.execute(
                "UPDATE alert_rules SET secret = ? WHERE site = ? AND channel = 'atom'", [token[0][0], spelling]
            )
        con.execute("UPDATE alert_rules SET site = ? WHERE site = ?", [site, spelling])
        con.execute("UPDATE alerts SET site = ? WHERE site = ?", [site, spelling])


def _add_columns(con: duckdb.DuckDBPyConnection, version: int) -> None:
    for table, column in schema.COLUMNS_SINCE[version]:
        _add_column(con, table, column)


def add_later_columns(con: duckdb.DuckDBPyConnection, *, after: int, tables: tuple[str, ...]) -> None:
    """The columns the versions after ``after`` add to ``tables``, made ahead of their
    migrations (which then find them made): for a data step of migration ``after`` that runs
    today's code on those tables."""
    for version in range(after + 1, schema.SCHEMA_VERSION + 1):
        for table, column in schema.COLUMNS_SINCE.get(version, ()):
            if table in tables:
                _add_column(con, table, column)


def _add_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> None:
    have = con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE table_name = ? AND column_name = ?", [table, column]
    ).fetchall()[0][0]
    if have:
        return
    typ = schema.duckdb_type(schema.TABLES[table].field(column).type)
    fill = schema.COLUMN_FILLS.get((table, column))
    if fill is None:
        con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {typ}")
        return
    # A default fills the rows there are as the column is made (no UPDATE rewriting them); it is
    # dropped after, so the table is declared as a new file declares it.
    con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {typ} DEFAULT {fill}")
    con.execute(f"ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT")


class WriteGeneration:
    """How many writes to one database have ended in this process: a cache of what was read from
    it keys on this number, so any write makes what was read before it stale.

    Every :class:`Store` over the same file shares one (the server's own store, its writer
    thread, its job runner and the stores it lends requests are all stores over one file), and
    the number moves only after a write has committed: a reader that saw the old number may
    have read the new data, never the reverse.
    """

    def __init__(self) -> None:
        self._value = 0
        self._lock = threading.Lock()

    @property
    def value(self) -> int:
        return self._value

    def bump(self) -> None:
        with self._lock:
            self._value += 1


_GENERATIONS: dict[str, WriteGeneration] = {}
_GENERATIONS_LOCK = threading.Lock()


def write_generation(path: str) -> WriteGeneration:
    """The :class:`WriteGeneration` of the database at ``path``. In-memory databases share one:
    a write to any of them moves it, which costs a cache some misses but never a stale answer."""
    key = path if path == ":memory:" else os.path.realpath(path)
    with _GENERATIONS_LOCK:
        generation = _GENERATIONS.get(key)
        if generation is None:
            generation = _GENERATIONS[key] = WriteGeneration()
        return generation


class _EmptyStore:
    """A new store's file: a copy of an empty one this process made once.

    A fresh database at the current version takes 57 statements (~30 ms of DuckDB's catalog
    work, as long as the rest of opening it); a copy of its bytes takes well under one. A process
    that makes many (the test suite makes hundreds) makes an empty store once, when it asks for
    its second new store, and keeps its bytes; a command, which makes one store at most, makes it
    as before and pays nothing for an empty store it would never copy (40–60 ms of CPU). The copy
    appears whole or not at all (written beside, then linked to its name), so no other process
    opens half a file, and never replaces a file that appeared meanwhile.
    """

    _lock = threading.RLock()  # making the first runs Store(), which asks again (and is told no)
    _bytes: bytes | None = None  # b"": it could not be made here; new stores are made as before
    _making = False
    _asked = False  # has this process asked for a new store before?

    @classmethod
    def copy_to(cls, path: str) -> None:
        """Make the absent ``path`` an empty store's copy; on any OSError (no such directory,
        no room) leave it absent, for DuckDB to create or to say what is wrong."""
        with cls._lock:
            if cls._making:
                return  # the empty store itself being made
            if not cls._asked:
                cls._asked = True
                return  # the process's first new store: made as before
            if cls._bytes is None:
                try:
                    cls._bytes = cls._make()
                except (OSError, duckdb.Error, LinkbackError):
                    cls._bytes = b""  # no usable temporary directory, say
            data = cls._bytes
        if not data:
            return
        beside = f"{path}.{os.getpid()}.{threading.get_ident()}.new"
        try:
            with open(os.open(beside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
                out.write(data)
            try:
                os.link(beside, path)  # fails if the name exists: what is there stays
            except FileExistsError:
                pass
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                os.unlink(beside)

    @classmethod
    def _make(cls) -> bytes:
        import tempfile  # noqa: PLC0415

        cls._making = True
        try:
            with tempfile.TemporaryDirectory(prefix="linkback-empty-") as tmp:
                path = os.path.join(tmp, "empty.duckdb")
                Store(path).close()
                if os.path.exists(path + ".wal"):  # closing checkpoints: a log left means no clean copy
                    raise StoreError("the empty store left a write-ahead log")
                return Path(path).read_bytes()
        finally:
            cls._making = False


class Store:
    """An open linkback database.

    ``Store(path)`` opens (creating if needed) and migrates the file; ``Store(":memory:")`` is a
    throw-away store for tests. ``con`` is the DuckDB connection; reports read through it.
    """

    #: Where a store lent by the server fetches live pages (its fetcher and guard); None elsewhere.
    fetcher: Any = None
    #: A store the server lends to work for an API client: it reads no file it is not meant to
    #: and quotes nothing of what it refuses.
    for_client: bool = False
    #: True for a store over a connection it does not own (see borrowing): close leaves it open.
    _borrowed: bool = False

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, read_only: bool = False, create: bool = True
    ) -> None:
        self.path = str(path if path is not None else default_db_path())
        if self.path != ":memory:" and os.path.isdir(self.path):
            # A directory is a Parquet index (spark extract's): what opens is its catalog, made on
            # first use, whose index tables are views over the files (linkback.store._attach).
            from linkback.store._attach import catalog_for  # noqa: PLC0415

            self.path = catalog_for(self.path)
        refuse_question_mark(self.path)  # before any file is made or changed
        self.read_only = read_only
        self._generation = write_generation(self.path)
        self._writer: WriteHandler | None = None
        self._in_transaction = self._doomed = False
        # Read-only, or not to be made (a command on what a store holds): a missing file is an error.
        if (read_only or not create) and self.path != ":memory:" and not Path(self.path).exists():
            raise StoreError(f"{self.path}: no such database; run 'linkback ingest' first")
        if not read_only and self.path != ":memory:":
            private_files()
            for existing in (Path(self.path), Path(self.path + ".wal")):
                if existing.exists() and existing.stat().st_mode & 0o077 and existing.stat().st_uid == os.getuid():
                    existing.chmod(existing.stat().st_mode & 0o700)
            if not os.path.lexists(self.path) and not os.path.lexists(self.path + ".wal"):
                _EmptyStore.copy_to(self.path)
        try:
            self.con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreLocked(f"{self.path} is in use by another process ({exc})") from exc
            raise StoreError(f"{self.path}: cannot open ({exc})") from exc
        # Timestamps are stored as TIMESTAMPTZ and always shown in UTC, whatever the machine's zone.
        self.con.execute("SET TimeZone = 'UTC'")
        # An attached Parquet index's views read the files' footers on every query otherwise: kept,
        # the per-target reports on 20M links answer 5-27 % sooner (bench/README.md). DuckDB
        # checks each file's modification time before it uses what it kept.
        self.con.execute("SET parquet_metadata_cache = true")
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
        # A new file is made at the current version in one step; an older one takes each step in
        # a transaction of its own, so a failing step keeps the ones before it.
        steps: list[tuple[int, Callable[[duckdb.DuckDBPyConnection], None]]] = (
            [(schema.SCHEMA_VERSION, create_fresh)]
            if version == 0
            else [(target, _MIGRATIONS[target]) for target in range(version + 1, schema.SCHEMA_VERSION + 1)]
        )
        for target, step in steps:
            con.execute("BEGIN TRANSACTION")
            try:
                step(con)
                con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(target)])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    @classmethod
    def borrowing(
        cls,
        con: duckdb.DuckDBPyConnection,
        path: str,
        *,
        read_only: bool = False,
        writer: WriteHandler | None = None,
    ) -> Store:
        """A Store over a connection someone else owns (the server's); ``close`` leaves it open.

        With ``writer``, its :meth:`write` calls go there (the server's single writer thread)
        and ``con`` (a cursor) is only read from.
        """
        store = cls.__new__(cls)
        store.path = path
        store.read_only = read_only
        store._generation = write_generation(path)
        store.con = con
        store._borrowed = True
        store._writer = writer
        store._in_transaction = store._doomed = False
        return store

    # --- the one write path ------------------------------------------------------------------------

    def write(self, fn: Callable[[Store], T], *, transaction: bool = True) -> T:
        """Run ``fn(store)`` as one write: in one transaction (committed, or rolled back whole).

        This is the only way anything is written. In the server the store a job or a request
        holds hands ``fn`` to the server's single writer thread and waits for its result, so
        writes are ordered and never interleave; elsewhere it runs here. ``transaction=False``
        is for work that manages its own transactions or cannot run in one (CHECKPOINT).
        """
        if self.read_only and self._writer is None:
            raise StoreError(f"{self.path} is open read-only")
        try:
            if self._writer is not None:
                return self._writer(fn, transaction)
            if not transaction:
                return fn(self)
            with self.transaction():
                return fn(self)
        finally:
            # After the commit (or the rollback: a harmless extra step), never before it.
            self._generation.bump()

    @property
    def generation(self) -> int:
        """The database's write generation (:class:`WriteGeneration`): it moves with every
        write through any store over the same file in this process."""
        return self._generation.value

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """BEGIN ... COMMIT on this store's connection, ROLLBACK on any exception; nested calls
        join the open transaction. Only for code already running as a :meth:`write`."""
        if self._in_transaction:
            try:
                yield self
            except BaseException:
                # DuckDB has no savepoints: what the inner write did cannot be undone alone, so
                # the whole transaction is rolled back even if the outer code goes on.
                self._doomed = True
                raise
            return
        self.con.execute("BEGIN TRANSACTION")
        self._in_transaction, self._doomed = True, False
        try:
            yield self
            if self._doomed:
                raise StoreError("a write inside this transaction failed: nothing of it was stored")
            self.con.execute("COMMIT")
            self._generation.bump()  # the server's writer commits through here, not write()
        except BaseException:
            try:
                self.con.execute("ROLLBACK")
            except duckdb.Error:
                pass  # a COMMIT that failed has already rolled the transaction back
            raise
        finally:
            self._in_transaction = False

    def next_ids(self, sequence: str, n: int) -> list[int]:
        """``n`` fresh ids from ``sequence`` (inside a write): unique whoever else takes some."""
        if n <= 0:
            return []
        rows = self.con.execute(f"SELECT nextval('{sequence}') FROM range(?)", [n]).fetchall()
        return [int(r[0]) for r in rows]

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
