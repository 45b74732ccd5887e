"""Writing observations and deriving link state (DESIGN §1.4, §2).

Ingest only ever *appends* observations. :func:`add_batch` writes one batch of pages and their
links and, in the same transaction, re-derives the ``links`` and ``pages`` rows of those pages
from *all* their observations. So an interrupted ingest leaves exactly the batches that
committed, each complete; and because the derived state is a function of the observations alone,
ingesting archives in any order, twice, or after a crash gives the same result.
:func:`cluster_links` re-sorts ``links`` by target once enough rows were appended out of order.

A link's identity is (source_url, target_url, kind, anchor). For each link:

* ``first_seen`` / ``last_seen``: the first and last observation of its source page that had it;
  its other columns come from the last of those.
* ``lost_at`` / ``lost_reason``: the first *decisive* observation of the source page after
  ``last_seen``. Decisive means the page answered 2xx (its content without the link: ``removed``),
  3xx (``redirected``) or 404/410/451 (``page_gone``). Other answers (5xx, 403, 429...) say
  nothing about the link and are not used.
* A 2xx capture known to hold only part of the page (``observations.truncated``: its body was
  cut at a size limit, or marked ``WARC-Truncated``) shows the links it has, which count as seen
  in it like any other's, but says nothing of the links it lacks (they may be in the part that
  is missing): it is not decisive, so it never makes a link ``removed`` and ends no link. A
  truncated redirect or 404 is decisive all the same: its status says it, not its body.
* ``noindex``: the source page was marked noindex (meta robots / X-Robots-Tag) in the newest
  observation that had the link.

A page marked noindex still shows its links to the people who read it, and they click them: its
links are live like any other, flagged ``noindex``, and pass no authority (like nofollow; see
:data:`linkback.graph._from_store.PASSES`). Stores derived before that rule (where a page turning
noindex lost its links with the reason ``noindex``) are re-derived by :func:`relink_noindex_pages`,
a step of schema migration 5.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from linkback import schema
from linkback.store._arrow import column, scalar
from linkback.store._attach import refuse_writes
from linkback.store._db import _AFTER_5, Store, add_later_columns, zstd_strings

# Captures that say the page content was actually seen whole (or is really gone, or elsewhere).
# Plain SQL over an observation ``o``: the Spark aggregation (linkback.spark._derive) runs it too.
_DECISIVE = (
    "((o.status BETWEEN 200 AND 299 AND NOT coalesce(o.truncated, false))"
    " OR o.status BETWEEN 300 AND 399 OR o.status IN (404, 410, 451))"
)


def archive_by_fingerprint(store: Store, fingerprint: str) -> tuple[int, str, datetime | None] | None:
    """(archive_id, path, completed_at) of the newest archive with these bytes, if any."""
    rows = store.con.execute(
        "SELECT archive_id, path, completed_at FROM archives WHERE fingerprint = ? "
        "ORDER BY completed_at DESC NULLS LAST LIMIT 1",
        [fingerprint],
    ).fetchall()
    return rows[0] if rows else None


def begin_archive(store: Store, *, path: str, size: int, fingerprint: str) -> int:
    """Register an archive about to be ingested (or resume an interrupted one); its id."""
    refuse_writes(store)  # every way pages come in starts here: a Parquet index takes none

    def begin(store: Store) -> int:
        existing = archive_by_fingerprint(store, fingerprint)
        if existing is not None:
            return existing[0]
        (archive_id,) = store.next_ids("archive_id_seq", 1)
        store.con.execute(
            "INSERT INTO archives (archive_id, path, size, fingerprint, started_at) VALUES (?, ?, ?, ?, ?)",
            [archive_id, path, size, fingerprint, datetime.now(UTC)],
        )
        return archive_id

    return store.write(begin)


def finish_archive(
    store: Store,
    archive_id: int,
    *,
    records: int,
    pages: int,
    links: int,
    skipped: dict[str, int],
    complete: bool = True,
) -> None:
    """Store what reading an archive gave; ``complete=False`` (it could not be read to its end)
    keeps ``completed_at`` empty, so the next run reads the file again.

    ``pages`` and ``links`` are what this reading added; the archive's row gets what the store
    holds for it, which is more when an earlier run of the same file was interrupted (its
    committed batches are the resumed run's duplicates): true after any number of resumes."""

    def finish(store: Store) -> None:
        held_pages, held_links = _held_by_archive(store.con, archive_id, pages, links)
        store.con.execute(
            "UPDATE archives SET completed_at = ?, records = ?, pages = ?, links = ?, skipped = ? WHERE archive_id = ?",
            [datetime.now(UTC) if complete else None, records, held_pages, held_links,
             json.dumps(skipped, sort_keys=True), archive_id],
        )  # fmt: skip

    store.write(finish)


def _held_by_archive(con: duckdb.DuckDBPyConnection, archive_id: int, pages: int, links: int) -> tuple[int, int]:
    """(observations, link observations) the store holds for the archive. When it holds no more
    observations than this run added (``pages``), they are all this run's and so are their links
    (a batch's links commit with its pages): ``links`` is the count, without scanning for it."""
    held, low, high = con.execute(
        "SELECT count(*), min(obs_id), max(obs_id) FROM observations WHERE archive_id = ?", [archive_id]
    ).fetchall()[0]
    if held == pages:
        return pages, links
    if not held:
        return 0, 0
    # The id range first: it lets DuckDB skip the row groups of other archives' links.
    (held_links,) = con.execute(
        "SELECT count(*) FROM link_observations l WHERE l.obs_id BETWEEN ? AND ? "
        "AND l.obs_id IN (SELECT obs_id FROM observations WHERE archive_id = ?)",
        [low, high, archive_id],
    ).fetchall()[0]
    return int(held), int(held_links)


def add_batch(
    store: Store,
    *,
    archive_id: int,
    observations: pa.RecordBatch | pa.Table,
    links: pa.RecordBatch | pa.Table,
    first_seen_links: pa.RecordBatch | pa.Table | None = None,
    mentions: pa.RecordBatch | pa.Table | None = None,
) -> tuple[int, int, int]:
    """Append one batch in one transaction; (pages added, duplicates skipped, links added).

    ``observations`` has the observation columns but ``obs_id`` and ``archive_id``; ``links`` has
    ``page_idx`` (the row in ``observations`` it belongs to) and the link columns. A capture already
    stored (same ``obs_key``: URL and fetch time), here or from another archive, is skipped with its
    links, which is what makes re-ingesting a file add nothing.

    ``first_seen_links`` (from :func:`~linkback.store._arrow.first_links`) are the link-state
    rows of the batch's pages if each is observed for the first time: the pages for which that
    holds get them as they are, the others their state derived from all their observations in
    SQL (:func:`_derive_state`). ``mentions``: the brand terms found on the pages
    (:data:`linkback.brands._store.HIT_SCHEMA`, ``page_idx`` as in ``links``), kept in
    ``brand_mentions`` (:func:`_add_mentions`). The whole of it is one
    :meth:`~linkback.store.Store.write`; observation ids come from ``obs_id_seq``.
    """
    if observations.num_rows == 0:
        return 0, 0, 0
    refuse_writes(store)

    def add(store: Store) -> tuple[int, int, int]:
        with one_thread(store.con):
            return _add_batch(store, archive_id, observations, links, first_seen_links, mentions)

    return store.write(add)


def _add_batch(
    store: Store,
    archive_id: int,
    observations: pa.RecordBatch | pa.Table,
    links: pa.RecordBatch | pa.Table,
    first_seen_links: pa.RecordBatch | pa.Table | None,
    mentions: pa.RecordBatch | pa.Table | None,
) -> tuple[int, int, int]:
    con = store.con
    n = observations.num_rows
    keys = observations.column("obs_key")
    con.register("_batch_keys", pa.table({"obs_key": keys}))
    try:
        stored = con.execute(
            "SELECT o.obs_key FROM observations o SEMI JOIN _batch_keys b ON o.obs_key = b.obs_key"
        ).fetchall()
    finally:
        con.unregister("_batch_keys")
    # A capture stored before, or twice in this batch, is kept once.
    seen = {key for (key,) in stored}
    kept: list[int] = []
    for idx, key in enumerate(keys.to_pylist()):
        if key not in seen:
            seen.add(key)
            kept.append(idx)
    n_kept = len(kept)
    if n_kept == 0:
        return 0, n, 0

    ids = store.next_ids("obs_id_seq", n_kept)
    obs_id_of_page = [-1] * n  # page_idx -> obs_id for kept pages, -1 for dropped ones
    for idx, new_id in zip(kept, ids, strict=True):
        obs_id_of_page[idx] = new_id
    every = n_kept == n  # the common case: no row to leave out, no column copied
    kept_obs = observations if every else observations.take(column(kept, pa.int64()))
    obs_table = pa.table(
        {
            "obs_id": column(ids, pa.int64()),
            "archive_id": column([archive_id] * n_kept, pa.int32()),
            **{name: kept_obs.column(name) for name in kept_obs.schema.names},
        }
    ).select(schema.OBSERVATIONS.names)
    link_obs_ids = pc.take(column(obs_id_of_page, pa.int64()), links.column("page_idx"))
    link_table = pa.table(
        {"obs_id": link_obs_ids, **{name: links.column(name) for name in schema.LINK_OBSERVATIONS.names[1:]}}
    )
    if not every:
        link_table = link_table.filter(pc.greater_equal(link_obs_ids, scalar(0, pa.int64())))

    con.register("_obs", obs_table)
    con.register("_links", link_table)
    try:
        con.execute("INSERT INTO observations SELECT * FROM _obs")
        con.execute("INSERT INTO link_observations SELECT * FROM _links")
        added, derived = _derive_state(store, obs_table, first_seen_links, None if every else obs_id_of_page)
        _count_unsorted(con, added)
        if mentions is not None and mentions.num_rows:
            _add_mentions(con, observations, mentions, obs_id_of_page, derived)
    finally:
        for name in ("_obs", "_links", "_current", "_first_obs", "_derive_urls", "_mentions"):
            try:
                con.unregister(name)
            except duckdb.Error:
                pass  # never registered, or the transaction failed: Store.write rolls it back
    return n_kept, n - n_kept, link_table.num_rows


@contextlib.contextmanager
def one_thread(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB on one thread for the appends of a batch of pages (set back after it).

    On more threads, an append of rows in their order (``preserve_insertion_order``) has each
    thread write row groups of its own, which are then merged and their strings compressed
    again. The 1,169 real pages in one batch, write and checkpoint, median of 5 interleaved:
    1.11 CPU-s on one thread, 1.56 on two; the file ~2 % smaller, the log 1 MB instead of 7.
    The rows stored are the same (only those the batch derives in SQL, from pages seen twice,
    may come in another order, as a GROUP BY's do); the derivation queries of a batch are small.
    """
    (threads,) = con.execute("SELECT current_setting('threads')").fetchall()[0]
    if int(threads) <= 1:
        yield
        return
    con.execute("SET threads = 1")
    try:
        yield
    finally:
        con.execute(f"SET threads = {int(threads)}")


def _derive_state(
    store: Store,
    obs_table: pa.Table,
    first_seen_links: pa.RecordBatch | pa.Table | None,
    obs_id_of_page: list[int] | None,
) -> tuple[int, pa.Array]:
    """The ``links`` and ``pages`` rows of the batch's pages (``_obs``, just written): (links
    added, the URLs derived in SQL: pages seen before or twice in the batch).
    ``obs_id_of_page``: -1 for the batch's pages left out (captures stored before), None if none.

    A page observed for the first time, once in the batch, gets the rows the workers built
    (``first_seen_links``) as they are; every other page (seen before, or twice in the batch)
    is derived in SQL from all its observations. A page's rows depend on its own observations
    only, so the two parts are independent: one page seen before no longer sends the batch's
    other hundreds through the aggregation.
    """
    con = store.con
    urls = obs_table.column("url")
    known = con.execute("SELECT p.url FROM pages p SEMI JOIN (SELECT url FROM _obs) b ON p.url = b.url").fetchall()
    if first_seen_links is None:
        derived = pc.unique(urls)
    else:
        counts = pc.value_counts(urls)
        repeated = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), scalar(1, pa.int64())))
        derived = pc.unique(pa.concat_arrays([column([url for (url,) in known], pa.string()), repeated]))
    added = 0
    if first_seen_links is not None and len(derived) < len(urls):
        rows = first_seen_links if isinstance(first_seen_links, pa.Table) else pa.Table.from_batches([first_seen_links])
        first_obs = obs_table
        keep_rows = None
        if obs_id_of_page is not None:  # the rows of kept pages: their page_idx has an obs_id
            row_obs = pc.take(column(obs_id_of_page, pa.int64()), rows.column("page_idx"))
            keep_rows = pc.greater_equal(row_obs, scalar(0, pa.int64()))
        if len(derived):
            first_rows = pc.invert(pc.is_in(rows.column("source_url"), value_set=derived))
            keep_rows = first_rows if keep_rows is None else pc.and_(keep_rows, first_rows)
            first_obs = obs_table.filter(pc.invert(pc.is_in(urls, value_set=derived)))
        con.register("_current", (rows if keep_rows is None else rows.filter(keep_rows)).drop_columns(["page_idx"]))
        con.register("_first_obs", first_obs)
        added += _insert_first_seen(store)
    if len(derived):
        con.register("_derive_urls", pa.table({"url": derived}))
        con.execute("CREATE OR REPLACE TEMP TABLE _batch_urls AS SELECT url FROM _derive_urls")
        # Pages seen before need their old rows replaced; new pages only add rows, which spares a
        # scan of the whole links table.
        added += _derive_pages(con, replace=bool(known))
    return added, derived


def _insert_first_seen(store: Store) -> int:
    """Link state and pages of first observations (``_first_obs``): the rows the workers built
    (``_current``); links added."""
    con = store.con
    con.execute(f"INSERT INTO links SELECT {', '.join(schema.LINKS.names)} FROM _current")
    first = {"first_seen": "fetched_at", "last_seen": "fetched_at", "observations": "1::INTEGER"}
    page_cols = ", ".join(f"{first.get(c, c)} AS {c}" for c in schema.PAGES.names)
    con.execute(f"INSERT INTO pages SELECT {page_cols} FROM _first_obs")
    (added,) = con.execute("SELECT count(*) FROM _current").fetchall()[0]
    return int(added)


#: Brand mentions of a page met again: one row per page, site and term, with its first and newest
#: capture; the snippet, ``linked`` and ``obs_id`` of the newest (``excluded``: the row offered).
_MENTIONS_ON_CONFLICT = """
ON CONFLICT (url, site, term) DO UPDATE SET
  snippet = CASE WHEN excluded.last_seen >= brand_mentions.last_seen THEN excluded.snippet ELSE brand_mentions.snippet END,
  linked = CASE WHEN excluded.last_seen >= brand_mentions.last_seen THEN excluded.linked ELSE brand_mentions.linked END,
  obs_id = CASE WHEN excluded.last_seen >= brand_mentions.last_seen THEN excluded.obs_id ELSE brand_mentions.obs_id END,
  host = excluded.host, domain = excluded.domain,
  first_seen = least(brand_mentions.first_seen, excluded.first_seen),
  last_seen = greatest(brand_mentions.last_seen, excluded.last_seen)
"""


def _add_mentions(
    con: duckdb.DuckDBPyConnection,
    observations: pa.RecordBatch | pa.Table,
    hits: pa.RecordBatch | pa.Table,
    obs_id_of_page: list[int],
    derived: pa.Array,
) -> None:
    """Keep the brand ``hits`` of the batch's pages stored by this write in ``brand_mentions``.

    Hits on captures left out (stored before, or a second copy in the batch) are dropped, as
    their links are. A page observed for the first time, once in the batch, can have no row
    yet (a mention is only ever kept for a stored capture): its hits are appended as they are.
    The others (``derived``: pages seen before or twice) are merged per page, site and term.
    Nearly every page of an ingest is new, and an append costs a fraction of the merge.
    """
    obs_ids = pc.take(column(obs_id_of_page, pa.int64()), hits.column("page_idx"))
    stored = pc.greater_equal(obs_ids, scalar(0, pa.int64()))
    page_idx = pc.filter(hits.column("page_idx"), stored)
    fetched = pc.take(observations.column("fetched_at"), page_idx)
    urls = pc.take(observations.column("url"), page_idx)
    rows = pa.table(
        {
            "url": urls,
            "host": pc.take(observations.column("host"), page_idx),
            "domain": pc.take(observations.column("domain"), page_idx),
            **{name: pc.filter(hits.column(name), stored) for name in ("term", "site", "snippet", "linked")},
            "first_seen": fetched,
            "last_seen": fetched,
            "obs_id": pc.filter(obs_ids, stored),
        }
    )
    again = pc.is_in(urls, value_set=derived) if len(derived) else None
    columns = ", ".join(schema.BRAND_MENTIONS.names)
    con.register("_mentions", rows if again is None else rows.filter(pc.invert(again)))
    con.execute(f"INSERT INTO brand_mentions ({columns}) SELECT {columns} FROM _mentions")
    if again is not None and pc.any(again).as_py():
        con.register("_mentions", rows.filter(again))
        merge_mentions(con, "_mentions")


def merge_mentions(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Merge ``source`` (a relation of ``brand_mentions``' columns, a row per capture and term)
    into ``brand_mentions``: one row per page, site and term, as :data:`_MENTIONS_ON_CONFLICT` keeps it."""
    con.execute(
        f"""INSERT INTO brand_mentions ({", ".join(schema.BRAND_MENTIONS.names)})
        SELECT url, host, domain, term, site, arg_max(snippet, last_seen), arg_max(linked, last_seen),
          min(first_seen), max(last_seen), arg_max(obs_id, last_seen)
        FROM {source} GROUP BY url, host, domain, term, site {_MENTIONS_ON_CONFLICT}"""
    )


def _count_unsorted(con: duckdb.DuckDBPyConnection, appended: int) -> None:
    rows = con.execute("SELECT value FROM meta WHERE key = 'links_unsorted_rows'").fetchall()
    unsorted = (int(rows[0][0]) if rows else 0) + appended
    con.execute("INSERT OR REPLACE INTO meta VALUES ('links_unsorted_rows', ?)", [str(unsorted)])


_LINK_ATTRS = [c for c in schema.LINK_OBSERVATIONS.names if c not in ("obs_id", "target_url", "kind", "anchor")]
_PAGE_ATTRS = [c for c in schema.PAGES.names if c not in ("url", "first_seen", "last_seen", "observations")]


def _derive_pages(con: duckdb.DuckDBPyConnection, *, replace: bool) -> int:
    """Derive the ``links`` and ``pages`` rows of the pages in TEMP ``_batch_urls(url)`` from all
    their observations; ``replace`` deletes their old rows first. Links added."""
    attrs = ",\n      ".join(f"arg_max(lo.{c}, o.fetched_at) AS {c}" for c in _LINK_ATTRS)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _page_obs AS "
        "SELECT o.* FROM observations o SEMI JOIN _batch_urls b ON o.url = b.url"
    )
    (min_obs,) = con.execute("SELECT min(obs_id) FROM _page_obs").fetchall()[0]
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _derived AS
        WITH seen AS (
          SELECT o.url AS source_url, lo.target_url, lo.kind, lo.anchor,
            min(o.fetched_at) AS first_seen, max(o.fetched_at) AS last_seen,
            arg_max(o.via, o.fetched_at) AS via,
            arg_max(o.host, o.fetched_at) AS source_host,
            arg_max(o.domain, o.fetched_at) AS source_domain,
            arg_max(coalesce(o.noindex, false), o.fetched_at) AS noindex,
            {attrs}
          FROM link_observations lo JOIN _page_obs o ON lo.obs_id = o.obs_id
          WHERE lo.obs_id >= $min_obs  -- a constant bound lets zone maps skip older row groups
          GROUP BY ALL
        ),
        decisive AS (SELECT url, fetched_at, status FROM _page_obs o WHERE {_DECISIVE})
        SELECT s.*, d.fetched_at AS lost_at,
          CASE WHEN d.status IS NULL THEN NULL
               WHEN d.status BETWEEN 300 AND 399 THEN 'redirected'
               WHEN d.status >= 400 THEN 'page_gone'
               ELSE 'removed' END AS lost_reason
        FROM seen s ASOF LEFT JOIN decisive d
          ON s.source_url = d.url AND d.fetched_at > s.last_seen
        """,
        {"min_obs": min_obs},
    )
    if replace:
        con.execute("DELETE FROM links WHERE source_url IN (SELECT url FROM _batch_urls)")
        con.execute("DELETE FROM pages WHERE url IN (SELECT url FROM _batch_urls)")
    cols = ", ".join(schema.LINKS.names)
    con.execute(f"INSERT INTO links SELECT {cols} FROM _derived")
    (added,) = con.execute("SELECT count(*) FROM _derived").fetchall()[0]
    page_attrs = ", ".join(f"arg_max({c}, fetched_at) AS {c}" for c in _PAGE_ATTRS)
    con.execute(
        f"INSERT INTO pages SELECT {', '.join(schema.PAGES.names)} FROM ("
        f"  SELECT url, {page_attrs}, min(fetched_at) AS first_seen, max(fetched_at) AS last_seen,"
        f"  count(*)::INTEGER AS observations FROM _page_obs GROUP BY url)"
    )
    for tmp in ("_batch_urls", "_page_obs", "_derived"):
        con.execute(f"DROP TABLE IF EXISTS {tmp}")
    return int(added)


def relink_noindex_pages(con: duckdb.DuckDBPyConnection) -> None:
    """Migration 5's step for links on noindex pages: derive them by today's rule.

    Before it, a noindex observation did not count as showing its links, and a page turning
    noindex lost them with the reason ``noindex``. Every page observed as noindex at least once
    is derived again from its observations (its links live, flagged ``noindex``, their last seen
    moved on, the ones it really dropped ``removed``); a link still lost for ``noindex`` after
    that has no observation to derive it from (written by other means) and is live again, flagged
    as its page is. Every other link was on no noindex page: ``noindex`` false.
    """
    # Today's derivation reads and writes today's columns of observations and pages.
    add_later_columns(con, after=5, tables=("observations", "pages"))
    con.execute("CREATE OR REPLACE TEMP TABLE _batch_urls AS SELECT DISTINCT url FROM observations WHERE noindex")
    (pages,) = con.execute("SELECT count(*) FROM _batch_urls").fetchall()[0]
    if pages:
        _count_unsorted(con, _derive_pages(con, replace=True))
    else:
        con.execute("DROP TABLE _batch_urls")
    con.execute(
        """UPDATE links SET lost_at = NULL, lost_reason = NULL,
             noindex = coalesce((SELECT p.noindex FROM pages p WHERE p.url = links.source_url), true)
           WHERE lost_reason = 'noindex'"""
    )
    con.execute("UPDATE links SET noindex = false WHERE noindex IS NULL")


def cluster_links(store: Store, *, resort_fraction: float = 0.2, min_rows: int = 1_000_000) -> bool:
    """Rewrite ``links`` sorted by target reversed host if enough rows were appended unsorted.

    Keeps "backlinks of X" a narrow scan (DuckDB zone maps). Tables under ``min_rows`` are left
    as they are: scanning all of them takes milliseconds. True when it rewrote the table. One
    transaction: on failure the table is as it was.
    """

    def cluster(store: Store) -> bool:
        con = store.con
        rows = con.execute("SELECT value FROM meta WHERE key = 'links_unsorted_rows'").fetchall()
        unsorted = int(rows[0][0]) if rows else 0
        (total,) = con.execute("SELECT count(*) FROM links").fetchall()[0]
        if total < min_rows or unsorted <= resort_fraction * total:
            return False
        cols = ", ".join(schema.LINKS.names)
        # Made from its declaration (CREATE TABLE AS would drop its columns' compression).
        con.execute("DROP TABLE IF EXISTS _links_sorted")
        con.execute(schema.create_table_sql("links", zstd=zstd_strings(con), as_name="_links_sorted"))
        con.execute(f"INSERT INTO _links_sorted SELECT {cols} FROM links ORDER BY target_rhost, target_url")
        con.execute("DROP TABLE links")
        con.execute("ALTER TABLE _links_sorted RENAME TO links")
        con.execute("INSERT OR REPLACE INTO meta VALUES ('links_unsorted_rows', '0')")
        return True

    return store.write(cluster)


# Migration 5 re-derives the links of noindex pages (see relink_noindex_pages).
if relink_noindex_pages not in _AFTER_5:
    _AFTER_5.append(relink_noindex_pages)
