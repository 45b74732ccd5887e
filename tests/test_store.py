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
from linkback.store._arrow import to_batches

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


def test_a_page_that_becomes_noindex_loses_its_links_as_noindex(store: Store) -> None:
    observe(store, (facts(at=day(1)), [link()]))
    observe(store, (facts(at=day(2), noindex=True), [link()]))
    write.cluster_links(store)
    assert state(store) == [("https://target.com/", "a target", day(1), day(1), day(2), "noindex")]


def test_links_only_ever_on_a_noindex_page_are_kept_as_history_not_as_links(store: Store) -> None:
    observe(store, (facts(at=day(1), noindex=True), [link()]))
    write.cluster_links(store)
    assert state(store) == []
    assert store.con.execute("SELECT count(*) FROM link_observations").fetchall() == [(1,)]


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


def test_link_fields_are_the_link_columns_in_order() -> None:
    # to_batches transposes Link tuples straight into the link columns.
    assert Link._fields == tuple(schema.LINK_OBSERVATIONS.names[1:])
