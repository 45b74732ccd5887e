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
* ``noindex``: the source page was marked noindex (meta robots / X-Robots-Tag) in the newest
  observation that had the link.

A page marked noindex still shows its links to the people who read it, and they click them: its
links are live like any other, flagged ``noindex``, and pass no authority (like nofollow; see
:data:`linkback.graph._from_store.PASSES`). Stores derived before that rule (where a page turning
noindex lost its links with the reason ``noindex``) are re-derived by :func:`relink_noindex_pages`,
a step of schema migration 5.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from linkback import schema
from linkback.store._db import _AFTER_5, Store

# Statuses that say the page content was actually seen (or is really gone).
_DECISIVE = "(o.status BETWEEN 200 AND 399 OR o.status IN (404, 410, 451))"


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
    keeps ``completed_at`` empty, so the next run reads the file again."""
    store.write(
        lambda store: store.con.execute(
            "UPDATE archives SET completed_at = ?, records = ?, pages = ?, links = ?, skipped = ? WHERE archive_id = ?",
            [datetime.now(UTC) if complete else None, records, pages, links, json.dumps(skipped, sort_keys=True),
             archive_id],
        )
    )  # fmt: skip


def add_batch(
    store: Store,
    *,
    archive_id: int,
    observations: pa.RecordBatch,
    links: pa.RecordBatch,
    first_seen_links: pa.RecordBatch | None = None,
) -> tuple[int, int, int]:
    """Append one batch in one transaction; (pages added, duplicates skipped, links added).

    ``observations`` has the observation columns but ``obs_id`` and ``archive_id``; ``links`` has
    ``page_idx`` (the row in ``observations`` it belongs to) and the link columns. A capture already
    stored (same ``obs_key``: URL and fetch time), here or from another archive, is skipped with its
    links, which is what makes re-ingesting a file add nothing.

    ``first_seen_links`` (from :func:`~linkback.store._arrow.first_links`) are the link-state
    rows of the batch's pages if each is observed for the first time; when that holds they are
    stored as they are, otherwise the state is derived from all observations in SQL. The whole of
    it is one :meth:`~linkback.store.Store.write`; observation ids come from ``obs_id_seq``.
    """
    if observations.num_rows == 0:
        return 0, 0, 0
    return store.write(lambda store: _add_batch(store, archive_id, observations, links, first_seen_links))


def _add_batch(
    store: Store,
    archive_id: int,
    observations: pa.RecordBatch,
    links: pa.RecordBatch,
    first_seen_links: pa.RecordBatch | None,
) -> tuple[int, int, int]:
    con = store.con
    n = observations.num_rows
    keys = observations.column("obs_key")
    batch_keys = pa.table({"obs_key": keys})
    con.register("_batch_keys", batch_keys)
    try:
        seen = (
            con.sql("SELECT o.obs_key FROM observations o SEMI JOIN _batch_keys b ON o.obs_key = b.obs_key")
            .to_arrow_table()
            .column(0)
        )
    finally:
        con.unregister("_batch_keys")
    keep = pc.invert(pc.is_in(keys, value_set=seen)) if len(seen) else pa.array([True] * n, pa.bool_())
    # The same capture twice inside one batch counts once too.
    first_occurrence = pa.array(_first_occurrence_mask(keys.to_pylist()), pa.bool_())
    keep = pc.and_(keep, first_occurrence)
    kept_idx = pc.indices_nonzero(keep)
    n_kept = len(kept_idx)
    if n_kept == 0:
        return 0, n, 0

    obs_ids = pa.array(store.next_ids("obs_id_seq", n_kept), pa.int64())
    kept_obs = observations.take(kept_idx)
    obs_table = pa.table(
        {
            "obs_id": obs_ids,
            "archive_id": pa.array([archive_id] * n_kept, pa.int32()),
            **{name: kept_obs.column(name) for name in kept_obs.schema.names},
        }
    ).select(schema.OBSERVATIONS.names)

    # page_idx -> obs_id for kept pages, -1 for dropped ones.
    obs_id_of_page = [-1] * n
    for new_id, idx in zip(obs_ids.to_pylist(), kept_idx.to_pylist(), strict=True):
        obs_id_of_page[idx] = new_id
    link_obs_ids = pc.take(pa.array(obs_id_of_page, pa.int64()), links.column("page_idx"))
    link_table = pa.table(
        {"obs_id": link_obs_ids, **{name: links.column(name) for name in schema.LINK_OBSERVATIONS.names[1:]}}
    ).filter(pc.greater_equal(link_obs_ids, 0))

    current = None
    if first_seen_links is not None:
        urls = obs_table.column("url")
        if len(pc.unique(urls)) == n_kept:
            kept_pages = pc.greater_equal(
                pc.take(pa.array(obs_id_of_page, pa.int64()), first_seen_links.column("page_idx")), 0
            )
            current = pa.Table.from_batches([first_seen_links]).filter(kept_pages).drop_columns(["page_idx"])

    con.register("_obs", obs_table)
    con.register("_links", link_table)
    if current is not None:
        con.register("_current", current)
    try:
        con.execute("INSERT INTO observations SELECT * FROM _obs")
        con.execute("INSERT INTO link_observations SELECT * FROM _links")
        if current is not None and not _any_known(store):
            _insert_first_seen(store)
        else:
            _derive(store)
    finally:
        for name in ("_obs", "_links", "_current"):
            try:
                con.unregister(name)
            except duckdb.Error:
                pass  # the transaction failed: Store.write rolls it back, views and all
    return n_kept, n - n_kept, link_table.num_rows


def _any_known(store: Store) -> bool:
    """Has any page of the batch (``_obs``) been observed before it?"""
    (known,) = store.con.execute(
        "SELECT count(*) FROM pages p SEMI JOIN (SELECT url FROM _obs) b ON p.url = b.url"
    ).fetchall()[0]
    return bool(known)


def _insert_first_seen(store: Store) -> None:
    """Link state and pages of a batch of first observations: rows as the workers built them."""
    con = store.con
    con.execute(f"INSERT INTO links SELECT {', '.join(schema.LINKS.names)} FROM _current")
    page_cols = [
        "url",
        *_PAGE_ATTRS,
        "fetched_at AS first_seen",
        "fetched_at AS last_seen",
        "1::INTEGER AS observations",
    ]
    con.execute(f"INSERT INTO pages SELECT {', '.join(page_cols)} FROM _obs")
    (added,) = con.execute("SELECT count(*) FROM _current").fetchall()[0]
    _count_unsorted(store.con, int(added))


def _count_unsorted(con: duckdb.DuckDBPyConnection, appended: int) -> None:
    rows = con.execute("SELECT value FROM meta WHERE key = 'links_unsorted_rows'").fetchall()
    unsorted = (int(rows[0][0]) if rows else 0) + appended
    con.execute("INSERT OR REPLACE INTO meta VALUES ('links_unsorted_rows', ?)", [str(unsorted)])


def _first_occurrence_mask(keys: list[int]) -> list[bool]:
    seen: set[int] = set()
    mask = []
    for key in keys:
        mask.append(key not in seen)
        seen.add(key)
    return mask


_LINK_ATTRS = [c for c in schema.LINK_OBSERVATIONS.names if c not in ("obs_id", "target_url", "kind", "anchor")]
_PAGE_ATTRS = [c for c in schema.PAGES.names if c not in ("url", "first_seen", "last_seen", "observations")]


def _derive(store: Store) -> None:
    """Re-derive links and pages of the pages in ``_obs`` (the batch being written).

    Runs inside :func:`add_batch`'s transaction.
    """
    con = store.con
    con.execute("CREATE OR REPLACE TEMP TABLE _batch_urls AS SELECT DISTINCT url FROM _obs")
    # Pages seen before need their old rows replaced; new pages only add rows, which spares a
    # scan of the whole links table.
    _derive_pages(con, replace=_any_known(store))


def _derive_pages(con: duckdb.DuckDBPyConnection, *, replace: bool) -> None:
    """Derive the ``links`` and ``pages`` rows of the pages in TEMP ``_batch_urls(url)`` from all
    their observations; ``replace`` deletes their old rows first."""
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
    _count_unsorted(con, int(added))
    for tmp in ("_batch_urls", "_page_obs", "_derived"):
        con.execute(f"DROP TABLE IF EXISTS {tmp}")


def relink_noindex_pages(con: duckdb.DuckDBPyConnection) -> None:
    """Migration 5's step for links on noindex pages: derive them by today's rule.

    Before it, a noindex observation did not count as showing its links, and a page turning
    noindex lost them with the reason ``noindex``. Every page observed as noindex at least once
    is derived again from its observations (its links live, flagged ``noindex``, their last seen
    moved on, the ones it really dropped ``removed``); a link still lost for ``noindex`` after
    that has no observation to derive it from (written by other means) and is live again, flagged
    as its page is. Every other link was on no noindex page: ``noindex`` false.
    """
    con.execute("CREATE OR REPLACE TEMP TABLE _batch_urls AS SELECT DISTINCT url FROM observations WHERE noindex")
    (pages,) = con.execute("SELECT count(*) FROM _batch_urls").fetchall()[0]
    if pages:
        _derive_pages(con, replace=True)
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
        con.execute(f"CREATE OR REPLACE TABLE links AS SELECT {cols} FROM links ORDER BY target_rhost, target_url")
        con.execute("INSERT OR REPLACE INTO meta VALUES ('links_unsorted_rows', '0')")
        return True

    return store.write(cluster)


# Migration 5 re-derives the links of noindex pages (see relink_noindex_pages).
if relink_noindex_pages not in _AFTER_5:
    _AFTER_5.append(relink_noindex_pages)
