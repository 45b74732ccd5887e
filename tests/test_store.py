"""The store: migrations, atomic batches, and link state derived from observations."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from linkback import schema
from linkback.errors import SchemaTooNew
from linkback.records import Link, PageFacts
from linkback.store import Store
from linkback.store import _write as write
from linkback.store._arrow import first_links, to_batches

SRC = "https://blog.example.org/post"


def day(n: int) -> datetime:
    return datetime(2024, 1, n, tzinfo=UTC)


def facts(url: str = SRC, *, at: datetime, status: int = 200, noindex: bool = False) -> PageFacts:
    return PageFacts(
        url=url,
        status=status,
        fetched_at=at,
        host="blog.example.org",
        domain="example.org",
        rhost="org.example.blog",
        noindex=noindex,
    )


def link(target: str = "https://target.com/", anchor: str = "a target", **kw: object) -> Link:
    return Link(
        target_url=target,
        target_host="target.com",
        target_domain="target.com",
        target_rhost="com.target",
        anchor=anchor,
        **kw,  # type: ignore[arg-type]
    )


def observe(store: Store, *pages: tuple[PageFacts, list[Link]], archive: str = "a.warc") -> tuple[int, int, int]:
    archive_id = write.begin_archive(store, path=archive, size=1, fingerprint=archive)
    obs, links = to_batches([p for p, _ in pages], [ls for _, ls in pages])
    return write.add_batch(store, archive_id=archive_id, observations=obs, links=links)


def state(store: Store) -> list[tuple]:
    return store.con.execute(
        "SELECT target_url, anchor, first_seen, last_seen, lost_at, lost_reason FROM links ORDER BY ALL"
    ).fetchall()


@pytest.fixture
def store() -> Store:
    with Store(":memory:") as s:
        yield s


def test_new_store_has_every_table_of_the_schema(store: Store) -> None:
    tables = {r[0] for r in store.con.execute("SHOW TABLES").fetchall()}
    assert set(schema.TABLES) <= tables
    for name, arrow_schema in schema.TABLES.items():
        cols = [r[0] for r in store.con.execute(f"DESCRIBE {name}").fetchall()]
        assert cols == arrow_schema.names


def test_a_file_from_a_newer_linkback_is_refused(tmp_path) -> None:
    path = tmp_path / "x.duckdb"
    Store(path).close()
    con = duckdb.connect(str(path))
    con.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(SchemaTooNew, match="schema version 999"):
        Store(path)


def test_a_link_seen_twice_spans_first_to_last_seen(store: Store) -> None:
    observe(store, (facts(at=day(1)), [link()]))
    observe(store, (facts(at=day(5)), [link()]))
    write.cluster_links(store)
    assert state(store) == [("https://target.com/", "a target", day(1), day(5), None, None)]


def test_a_link_missing_from_a_newer_observation_is_lost_as_removed(store: Store) -> None:
    observe(store, (facts(at=day(1)), [link(), link("https://other.com/", "other")]))
    observe(store, (facts(at=day(3)), [link()]))
    write.cluster_links(store)
    rows = {r[0]: r for r in state(store)}
    assert rows["https://other.com/"][4:] == (day(3), "removed")
    assert rows["https://target.com/"][4:] == (None, None)


@pytest.mark.parametrize(
    ("status", "reason"), [(404, "page_gone"), (410, "page_gone"), (301, "redirected"), (302, "redirected")]
)
def test_lost_reason_follows_the_status_of_the_next_observation(store: Store, status: int, reason: str) -> None:
    observe(store, (facts(at=day(1)), [link()]))
    observe(store, (facts(at=day(2), status=status), []))
    write.cluster_links(store)
    assert state(store)[0][4:] == (day(2), reason)


def flags(store: Store) -> list[tuple]:
    return store.con.execute(
        "SELECT target_url, first_seen, last_seen, lost_at, lost_reason, noindex FROM links ORDER BY ALL"
    ).fetchall()


def test_a_page_that_becomes_noindex_keeps_its_links_live_flagged_noindex(store: Store) -> None:
    observe(store, (facts(at=day(1)), [link(), link("https://other.com/", "other")]))
    observe(store, (facts(at=day(2), noindex=True), [link()]))
    write.cluster_links(store)
    assert flags(store) == [
        ("https://other.com/", day(1), day(1), day(2), "removed", False),  # not on the noindex page
        ("https://target.com/", day(1), day(2), None, None, True),
    ]


def test_a_page_that_drops_noindex_again_clears_the_flag(store: Store) -> None:
    observe(store, (facts(at=day(1), noindex=True), [link()]))
    observe(store, (facts(at=day(2)), [link()]))
    assert flags(store) == [("https://target.com/", day(1), day(2), None, None, False)]
    # A 5xx answer says nothing about the page: the flag stays as the page last showed it.
    observe(store, (facts(at=day(3), noindex=True), [link()]), (facts(at=day(4), status=503), []))
    assert flags(store) == [("https://target.com/", day(1), day(3), None, None, True)]


def test_links_only_ever_on_a_noindex_page_are_live_links_flagged_noindex(store: Store) -> None:
    observe(store, (facts(at=day(1), noindex=True), [link()]))
    write.cluster_links(store)
    assert flags(store) == [("https://target.com/", day(1), day(1), None, None, True)]


def test_first_seen_rows_built_by_workers_flag_noindex_pages_as_the_store_derives_them() -> None:
    pages = [
        (facts(at=day(1), noindex=True), [link(), link("https://other.com/", "other")]),
        (facts("https://blog.example.org/plain", at=day(1)), [link()]),
    ]
    with Store(":memory:") as derived, Store(":memory:") as first_seen:
        observe(derived, *pages)
        archive_id = write.begin_archive(first_seen, path="a.warc", size=1, fingerprint="a.warc")
        obs, links = to_batches([p for p, _ in pages], [ls for _, ls in pages])
        rows = first_links([p for p, _ in pages], [ls for _, ls in pages])
        write.add_batch(first_seen, archive_id=archive_id, observations=obs, links=links, first_seen_links=rows)
        assert rows.column("noindex").to_pylist() == [True, True, False]
        everything = f"SELECT {', '.join(schema.LINKS.names)} FROM links ORDER BY ALL"
        assert first_seen.con.execute(everything).fetchall() == derived.con.execute(everything).fetchall()


def test_server_errors_do_not_mark_links_lost(store: Store) -> None:
    observe(store, (facts(at=day(1)), [link()]))
    observe(store, (facts(at=day(2), status=503), []))
    write.cluster_links(store)
    assert state(store)[0][4:] == (None, None)


def test_archives_ingested_out_of_order_give_the_same_state(store: Store) -> None:
    with Store(":memory:") as in_order:
        observe(in_order, (facts(at=day(1)), [link()]))
        observe(in_order, (facts(at=day(2)), []))
        write.cluster_links(in_order)
        expected = state(in_order)
    observe(store, (facts(at=day(2)), []))
    write.cluster_links(store)
    observe(store, (facts(at=day(1)), [link()]))
    write.cluster_links(store)
    assert state(store) == expected == [("https://target.com/", "a target", day(1), day(1), day(2), "removed")]


def test_a_link_that_comes_back_is_live_again(store: Store) -> None:
    observe(store, (facts(at=day(1)), [link()]), (facts(at=day(2)), []))
    observe(store, (facts(at=day(3)), [link()]))
    write.cluster_links(store)
    assert state(store)[0][2:] == (day(1), day(3), None, None)


def test_the_same_capture_is_stored_once(store: Store) -> None:
    assert observe(store, (facts(at=day(1)), [link()])) == (1, 0, 1)
    assert observe(store, (facts(at=day(1)), [link()]), archive="copy.warc") == (0, 1, 0)
    assert observe(store, (facts(at=day(1)), [link()]), (facts(at=day(1)), [link()])) == (0, 2, 0)
    assert store.con.execute("SELECT count(*) FROM link_observations").fetchone() == (1,)


def test_a_failed_batch_leaves_the_store_as_it_was(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    observe(store, (facts(at=day(1)), [link()]))
    before = store.con.execute("SELECT count(*) FROM observations").fetchone()
    con = store.con
    original = con.execute

    class Boom(Exception):
        pass

    def failing_execute(sql: str, *args: object):
        if sql.startswith("INSERT INTO link_observations"):
            raise Boom("disk full")
        return original(sql, *args)

    monkeypatch.setattr(store, "con", _Proxy(con, failing_execute))
    with pytest.raises(Boom):
        observe(store, (facts(at=day(2)), [link()]))
    monkeypatch.undo()
    assert store.con.execute("SELECT count(*) FROM observations").fetchone() == before


def test_a_batch_is_appended_on_one_thread_and_the_setting_is_set_back(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.con.execute("SET threads = 3")
    con = store.con
    original = con.execute
    seen: list[str] = []

    def execute(sql: str, *args: object):
        if sql.startswith("INSERT INTO link"):
            seen.append(original("SELECT current_setting('threads')").fetchone()[0])
        if sql.startswith("INSERT INTO link_observations") and len(seen) > 2:
            raise RuntimeError("disk full")
        return original(sql, *args)

    monkeypatch.setattr(store, "con", _Proxy(con, execute))
    observe(store, (facts(at=day(1)), [link()]), (facts(at=day(1)), [link(anchor="b")]))
    assert seen == [1, 1]  # link_observations, then the links derived in SQL
    assert original("SELECT current_setting('threads')").fetchone() == (3,)
    with pytest.raises(RuntimeError):  # a failed batch sets it back too
        observe(store, (facts(at=day(2)), [link()]), (facts(at=day(3)), [link()]))
    assert original("SELECT current_setting('threads')").fetchone() == (3,)


class _Proxy:
    """A connection whose execute() is replaced, everything else passed through."""

    def __init__(self, con: duckdb.DuckDBPyConnection, execute) -> None:
        self._con = con
        self.execute = execute

    def __getattr__(self, name: str):
        return getattr(self._con, name)


def test_pages_keep_the_newest_observation_and_count_them(store: Store) -> None:
    observe(store, (facts(at=day(1)), [link()]))
    observe(store, (facts(at=day(4), status=404), []))
    write.cluster_links(store)
    assert store.con.execute("SELECT url, status, first_seen, last_seen, observations FROM pages").fetchall() == [
        (SRC, 404, day(1), day(4), 2)
    ]


def test_links_stay_sorted_by_target_after_many_refreshes(store: Store) -> None:
    for i, target in enumerate(["zz.com", "aa.com", "mm.com", "bb.com"], start=1):
        url = f"https://src{i}.net/"
        page = PageFacts(
            url=url, status=200, fetched_at=day(i), host=f"src{i}.net", domain=f"src{i}.net", rhost=f"net.src{i}"
        )
        lk = Link(
            target_url=f"https://{target}/",
            target_host=target,
            target_domain=target,
            target_rhost=".".join(reversed(target.split("."))),
        )
        observe(store, (page, [lk]))
        write.cluster_links(store, resort_fraction=0.2, min_rows=1)
    rhosts = [r[0] for r in store.con.execute("SELECT target_rhost FROM links").fetchall()]
    assert rhosts == sorted(rhosts)


def _text_compression(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, set[str]]:
    """Column -> the compression of its stored text segments (after a checkpoint)."""
    con.execute("CHECKPOINT")
    rows = con.execute(
        f"SELECT column_name, compression FROM pragma_storage_info('{table}') WHERE segment_type = 'VARCHAR'"
    ).fetchall()
    found: dict[str, set[str]] = {}
    for name, compression in rows:
        found.setdefault(name, set()).add(compression)
    return found


def _observe_some(store: Store, pages: int = 3) -> None:
    for i in range(1, pages + 1):
        page = facts(f"https://src{i}.net/", at=day(i))
        observe(store, (page, [link(f"https://t{i}.com/p{k}", anchor=f"anchor {i} {k}") for k in range(5)]))


@pytest.mark.parametrize(("storage", "zstd"), [("v1.2.0", True), ("v1.0.0", False)])
def test_link_text_is_kept_with_zstd_where_the_files_storage_version_has_it(tmp_path, storage: str, zstd: bool) -> None:
    """Also after the links are sorted again. v1.2 is the storage zstd text needs (DuckDB 2's
    default for a new file); an older file (DuckDB 1.x makes v1.0) keeps DuckDB's default."""
    path = tmp_path / "s.duckdb"
    duckdb.connect(str(path), config={"storage_compatibility_version": storage}).close()
    with Store(path) as store:
        _observe_some(store)
        assert write.cluster_links(store, resort_fraction=0.0, min_rows=1)
        assert store.con.execute("SELECT count(*) FROM links").fetchall() == [(15,)]
        found_in = {table: _text_compression(store.con, table) for table in ("links", "link_observations")}
    for table, found in found_in.items():
        for name in schema.ZSTD_COLUMNS[table]:
            assert found[name] == {"ZSTD"} if zstd else "ZSTD" not in found[name], (table, name, found[name])
        assert "ZSTD" not in found["target_host"]


def test_link_fields_are_the_link_columns_in_order() -> None:
    # to_batches transposes Link tuples straight into the link columns.
    assert Link._fields == tuple(schema.LINK_OBSERVATIONS.names[1:])


# -- stores derived before links on noindex pages were kept live (schema 4) ------------------------

#: The link state schema 4 derived (the rule before links.noindex): a noindex observation did not
#: show its links, and the first decisive observation after the last one that did lost them.
_SCHEMA_4_RULES = """
WITH seen AS (
  SELECT o.url AS source_url, lo.target_url, lo.kind, lo.anchor,
         min(o.fetched_at) AS first_seen, max(o.fetched_at) AS last_seen
  FROM link_observations lo JOIN observations o USING (obs_id)
  WHERE NOT coalesce(o.noindex, false)
  GROUP BY ALL
), decisive AS (
  SELECT url, fetched_at, status, noindex FROM observations
  WHERE status BETWEEN 200 AND 399 OR status IN (404, 410, 451)
)
SELECT s.*, d.fetched_at AS lost_at,
  CASE WHEN d.status IS NULL THEN NULL WHEN d.status BETWEEN 300 AND 399 THEN 'redirected'
       WHEN d.status >= 400 THEN 'page_gone' WHEN d.noindex THEN 'noindex' ELSE 'removed' END AS lost_reason
FROM seen s ASOF LEFT JOIN decisive d ON s.source_url = d.url AND d.fetched_at > s.last_seen
"""

_HISTORY = [
    # turns noindex and keeps one link, drops the other
    (facts(at=day(1)), [link(), link("https://other.com/", "other")]),
    (facts(at=day(2), noindex=True), [link()]),
    # only ever noindex: schema 4 kept no row
    (facts("https://blog.example.org/hidden", at=day(1), noindex=True), [link("https://hidden.com/", "h")]),
    # noindex for a while, then indexed again: live all along
    (facts("https://blog.example.org/back", at=day(1)), [link("https://back.com/", "b")]),
    (facts("https://blog.example.org/back", at=day(2), noindex=True), [link("https://back.com/", "b")]),
    (facts("https://blog.example.org/back", at=day(3)), [link("https://back.com/", "b")]),
    # never noindex, lost for another reason
    (facts("https://blog.example.org/plain", at=day(1)), [link("https://plain.com/", "p")]),
    (facts("https://blog.example.org/plain", at=day(2), status=404), []),
]


def _schema_4_store(path: str) -> None:
    """A store file as schema 4 left it: its links derived by the old rule, no links.noindex."""
    with Store(path) as s:
        observe(s, *_HISTORY)
        con = s.con
        con.execute(f"CREATE TEMP TABLE old AS {_SCHEMA_4_RULES}")
        key = "(source_url, target_url, kind, anchor)"
        con.execute(f"DELETE FROM links WHERE {key} NOT IN (SELECT {key} FROM old)")
        con.execute(
            "UPDATE links SET first_seen = old.first_seen, last_seen = old.last_seen, lost_at = old.lost_at,"
            " lost_reason = old.lost_reason FROM old WHERE links.source_url = old.source_url"
            " AND links.target_url = old.target_url AND links.kind = old.kind AND links.anchor = old.anchor"
        )
        # A link lost for noindex that no observation explains (written by hand, or by a bench).
        plain = con.execute("SELECT * FROM links WHERE target_url = 'https://plain.com/'").fetchone()
        row = dict(zip(schema.LINKS.names, plain, strict=True))
        row.update(source_url="https://elsewhere.example/x", lost_at=day(9), lost_reason="noindex")
        con.execute(f"INSERT INTO links VALUES ({', '.join('?' for _ in row)})", list(row.values()))
        con.execute("ALTER TABLE links DROP COLUMN noindex")
        # Nor the columns of later versions the derivation reads (migration 5 re-derives with today's code).
        con.execute("ALTER TABLE observations DROP COLUMN truncated")
        con.execute("ALTER TABLE pages DROP COLUMN truncated")
        con.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")


def test_schema_4_store_derived_the_old_way(tmp_path) -> None:
    # The fixture really is what schema 4 derived: links lost as noindex, the hidden page's missing.
    path = str(tmp_path / "v4.duckdb")
    _schema_4_store(path)
    con = duckdb.connect(path)
    rows = con.execute("SELECT source_url, target_url, lost_reason FROM links ORDER BY ALL").fetchall()
    con.close()
    assert rows == [
        ("https://blog.example.org/back", "https://back.com/", None),
        ("https://blog.example.org/plain", "https://plain.com/", "page_gone"),
        (SRC, "https://other.com/", "noindex"),
        (SRC, "https://target.com/", "noindex"),
        ("https://elsewhere.example/x", "https://plain.com/", "noindex"),
    ]


def test_migration_5_rederives_links_on_noindex_pages_as_a_new_store_would(tmp_path) -> None:
    path = str(tmp_path / "v4.duckdb")
    _schema_4_store(path)
    with Store(path) as migrated, Store(":memory:") as fresh:
        assert migrated.schema_version == schema.SCHEMA_VERSION
        observe(fresh, *_HISTORY)
        everything = f"SELECT {', '.join(schema.LINKS.names)} FROM links WHERE source_url <> ? ORDER BY ALL"
        hand = "https://elsewhere.example/x"
        assert migrated.con.execute(everything, [hand]).fetchall() == fresh.con.execute(everything, [hand]).fetchall()
        assert [r for r in flags(migrated) if r[0] in ("https://other.com/", "https://target.com/")] == [
            ("https://other.com/", day(1), day(1), day(2), "removed", False),
            ("https://target.com/", day(1), day(2), None, None, True),
        ]
        # Lost only for noindex, with no observation to derive it from: live again, flagged (its
        # page has no row to say otherwise, and noindex is what the old rule saw).
        assert migrated.con.execute(
            "SELECT lost_at, lost_reason, noindex FROM links WHERE source_url = ?", [hand]
        ).fetchall() == [(None, None, True)]
        assert migrated.con.execute("SELECT count(*) FROM links WHERE noindex IS NULL").fetchone() == (0,)


def test_a_write_is_one_transaction_and_a_failed_inner_write_undoes_it_all() -> None:
    with Store(":memory:") as store:
        store.write(lambda s: s.con.execute("CREATE TABLE t (x INTEGER)"))

        def outer(s: Store) -> None:
            s.con.execute("INSERT INTO t VALUES (1)")
            try:
                s.write(lambda s: (s.con.execute("INSERT INTO t VALUES (2)"), 1 / 0))
            except ZeroDivisionError:
                pass  # the outer code goes on, but what the inner write did cannot be kept alone

        with pytest.raises(Exception, match="a write inside this transaction failed"):
            store.write(outer)
        assert store.con.execute("SELECT count(*) FROM t").fetchall() == [(0,)]
        assert store.next_ids("obs_id_seq", 3) == [1, 2, 3] and store.next_ids("obs_id_seq", 1) == [4]
        read_only_copy = Store.borrowing(store.con, ":memory:", read_only=True)
        with pytest.raises(Exception, match="read-only"):
            read_only_copy.write(lambda s: None)


def _catalog(con: duckdb.DuckDBPyConnection) -> dict[str, list]:
    return {
        "columns": con.execute(
            "SELECT table_name, column_index, column_name, data_type FROM duckdb_columns() "
            "WHERE NOT internal ORDER BY ALL"
        ).fetchall(),
        # The declarations as DuckDB keeps them: the columns' compression included.
        "tables": con.execute("SELECT table_name, sql FROM duckdb_tables() WHERE NOT internal ORDER BY ALL").fetchall(),
        "sequences": con.execute(
            "SELECT sequence_name, start_value, increment_by FROM duckdb_sequences() ORDER BY ALL"
        ).fetchall(),
        "indexes": con.execute("SELECT index_name, table_name, sql FROM duckdb_indexes() ORDER BY ALL").fetchall(),
    }


def test_a_new_file_made_in_one_step_equals_one_migrated_step_by_step(tmp_path) -> None:
    from linkback.store import _db

    stepwise = duckdb.connect(str(tmp_path / "steps.duckdb"))
    stepwise.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    for version in range(1, schema.SCHEMA_VERSION + 1):
        _db._MIGRATIONS[version](stepwise)
    with Store(tmp_path / "fresh.duckdb") as fresh:
        assert fresh.schema_version == schema.SCHEMA_VERSION
        made = _catalog(fresh.con)
    assert made == _catalog(stepwise)
    assert {name for name, *_ in made["columns"]} == set(schema.TABLES) | {"meta"}
    assert {name for name, *_ in made["sequences"]} >= {"obs_id_seq", "job_id_seq", "link_id_seq", "claim_id_seq"}
    assert {name for name, *_ in made["indexes"]} >= {"mentions_pair", "jobs_id", "ledger_key"}


def test_new_files_are_private_separate_copies_of_one_empty_store(tmp_path) -> None:
    """A new file is a copy of the empty store this process made once (linkback.store._db._EmptyStore):
    the same catalog as a store made statement by statement, readable by its owner alone, its
    own sequences; a directory that is missing still gets DuckDB's error, and a file that
    appeared is never replaced."""
    import os
    import threading

    from linkback.errors import StoreError
    from linkback.store import _db

    by_statements = duckdb.connect(str(tmp_path / "statements.duckdb"))
    by_statements.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    _db.create_fresh(by_statements)
    for warm in ("warm-1.duckdb", "warm-2.duckdb"):  # by the second new store, the empty one exists
        Store(tmp_path / warm).close()
    assert _db._EmptyStore._bytes is not None
    with Store(tmp_path / "a.duckdb") as a, Store(tmp_path / "b.duckdb") as b:
        assert _catalog(a.con) == _catalog(by_statements) and a.schema_version == schema.SCHEMA_VERSION
        assert a.next_ids("obs_id_seq", 2) == [1, 2] and b.next_ids("obs_id_seq", 1) == [1]
        a.con.execute("INSERT INTO meta VALUES ('only', 'a')")
        assert b.con.execute("SELECT count(*) FROM meta WHERE key = 'only'").fetchall() == [(0,)]
    by_statements.close()
    assert (tmp_path / "a.duckdb").stat().st_mode & 0o777 == 0o600
    with pytest.raises(StoreError, match="cannot open"):
        Store(tmp_path / "missing" / "c.duckdb")
    assert not (tmp_path / "missing").exists()
    # Ten threads make the same new file at once: one copy is linked to the name, all open it.
    errors: list[BaseException] = []

    def make() -> None:
        try:
            with Store(tmp_path / "raced.duckdb") as store:
                store.con.execute("SELECT count(*) FROM observations").fetchall()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=make) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sorted(os.listdir(tmp_path)) == sorted(
        ["statements.duckdb", "warm-1.duckdb", "warm-2.duckdb", "a.duckdb", "b.duckdb", "raced.duckdb"]
    )


def test_where_no_empty_store_can_be_made_new_files_are_made_as_before(tmp_path, monkeypatch) -> None:
    from linkback.store import _db

    def no_room() -> bytes:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_db._EmptyStore, "_bytes", None)
    monkeypatch.setattr(_db._EmptyStore, "_asked", True)
    monkeypatch.setattr(_db._EmptyStore, "_make", staticmethod(no_room))
    with Store(tmp_path / "made.duckdb") as store:
        assert store.schema_version == schema.SCHEMA_VERSION and store.next_ids("obs_id_seq", 1) == [1]
    assert _db._EmptyStore._bytes == b"" and sorted(p.name for p in tmp_path.iterdir()) == ["made.duckdb"]


def test_a_process_making_one_new_store_makes_no_empty_one(tmp_path, monkeypatch) -> None:
    """A command makes one store at most: the empty store to copy is made only when a process
    asks for its second new store, and opening an existing file never asks."""
    from linkback.store import _db

    made: list[int] = []
    real_make = _db._EmptyStore._make

    def counted() -> bytes:
        made.append(1)
        return real_make()

    monkeypatch.setattr(_db._EmptyStore, "_bytes", None)
    monkeypatch.setattr(_db._EmptyStore, "_asked", False)
    monkeypatch.setattr(_db._EmptyStore, "_make", staticmethod(counted))
    Store(tmp_path / "first.duckdb").close()
    Store(tmp_path / "first.duckdb").close()  # it exists now: opened, not made
    assert made == [] and _db._EmptyStore._bytes is None
    with Store(tmp_path / "second.duckdb") as second, Store(tmp_path / "first.duckdb") as first:
        assert made == [1] and _db._EmptyStore._bytes
        assert _catalog(second.con) == _catalog(first.con)  # made as before, or copied: the same store
        assert second.schema_version == schema.SCHEMA_VERSION and second.next_ids("obs_id_seq", 1) == [1]
