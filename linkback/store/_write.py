"""Writing observations and deriving link state (DESIGN §1.4, §2).

Ingest only ever *appends* observations: :func:`add_batch` writes one batch of pages and their
links in one transaction, so an interrupted ingest leaves exactly the batches that committed.
The pages touched are remembered in ``dirty_pages``; :func:`refresh` then re-derives the
``links`` and ``pages`` rows of those pages from *all* their observations, in one transaction.
Because the derived state is a function of the observations alone, ingesting archives in any
order, twice, or after a crash gives the same result.

A link's identity is (source_url, target_url, kind, anchor). For each link:

* ``first_seen`` / ``last_seen``: the first and last observation of its source page that had it;
  its other columns come from the last of those.
* ``lost_at`` / ``lost_reason``: the first *decisive* observation of the source page after
  ``last_seen``. Decisive means the page answered 2xx (its content without the link: ``removed``;
  or marked noindex by meta robots / X-Robots-Tag: ``noindex``), 3xx (``redirected``) or
  404/410/451 (``page_gone``). Other answers (5xx, 403, 429...) say nothing about the link and
  are not used.

As search engines and the commercial indexes do, a page observed as noindex does not count as
showing its links: they are not "seen" in that observation (a link only ever on a noindex page
is kept in ``link_observations`` but has no row in ``links``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from linkback import schema
from linkback.store._db import Store

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
    existing = archive_by_fingerprint(store, fingerprint)
    if existing is not None:
        return existing[0]
    con = store.con
    (next_id,) = con.execute("SELECT coalesce(max(archive_id), 0) + 1 FROM archives").fetchall()[0]
    con.execute(
        "INSERT INTO archives (archive_id, path, size, fingerprint, started_at) VALUES (?, ?, ?, ?, ?)",
        [next_id, path, size, fingerprint, datetime.now(UTC)],
    )
    return next_id


def finish_archive(
    store: Store, archive_id: int, *, records: int, pages: int, links: int, skipped: dict[str, int]
) -> None:
    store.con.execute(
        "UPDATE archives SET completed_at = ?, records = ?, pages = ?, links = ?, skipped = ? WHERE archive_id = ?",
        [datetime.now(UTC), records, pages, links, json.dumps(skipped, sort_keys=True), archive_id],
    )


def next_obs_id(store: Store) -> int:
    (value,) = store.con.execute("SELECT coalesce(max(obs_id), 0) + 1 FROM observations").fetchall()[0]
    return int(value)


def add_batch(
    store: Store, *, archive_id: int, first_obs_id: int, observations: pa.RecordBatch, links: pa.RecordBatch
) -> tuple[int, int, int]:
    """Append one batch in one transaction; (pages added, duplicates skipped, links added).

    ``observations`` has the observation columns but ``obs_id`` and ``archive_id``; ``links`` has
    ``page_idx`` (the row in ``observations`` it belongs to) and the link columns. A capture already
    stored (same ``obs_key``: URL and fetch time), here or from another archive, is skipped with its
    links, which is what makes re-ingesting a file add nothing.
    """
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
    keep = pc.invert(pc.is_in(keys, value_set=seen)) if len(seen) else pa.array([True] * n)
    # The same capture twice inside one batch counts once too.
    first_occurrence = pa.array(_first_occurrence_mask(keys.to_pylist()))
    keep = pc.and_(keep, first_occurrence)
    kept_idx = pc.indices_nonzero(keep)
    n_kept = len(kept_idx)
    if n_kept == 0:
        return 0, n, 0

    obs_ids = pa.array(range(first_obs_id, first_obs_id + n_kept), pa.int64())
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

    con.register("_obs", obs_table)
    con.register("_links", link_table)
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("INSERT INTO observations SELECT * FROM _obs")
            con.execute("INSERT INTO link_observations SELECT * FROM _links")
            con.execute("INSERT INTO dirty_pages SELECT DISTINCT url FROM _obs")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.unregister("_obs")
        con.unregister("_links")
    return n_kept, n - n_kept, link_table.num_rows


def _first_occurrence_mask(keys: list[int]) -> list[bool]:
    seen: set[int] = set()
    mask = []
    for key in keys:
        mask.append(key not in seen)
        seen.add(key)
    return mask


def dirty_count(store: Store) -> int:
    (n,) = store.con.execute("SELECT count(*) FROM dirty_pages").fetchall()[0]
    return int(n)


_LINK_ATTRS = [c for c in schema.LINK_OBSERVATIONS.names if c not in ("obs_id", "target_url", "kind", "anchor")]


def refresh(store: Store, *, resort_fraction: float = 0.2) -> int:
    """Re-derive ``links`` and ``pages`` for the pages ingested since the last refresh.

    Returns the number of pages refreshed. One transaction: on failure nothing changes. When the
    rows appended since the table was last sorted exceed ``resort_fraction`` of it, ``links`` is
    rewritten sorted by target reversed host, which keeps "backlinks of X" a narrow scan.
    """
    con = store.con
    n_dirty = dirty_count(store)
    if n_dirty == 0:
        return 0
    attrs = ",\n      ".join(f"arg_max(lo.{c}, o.fetched_at) AS {c}" for c in _LINK_ATTRS)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _dirty AS SELECT DISTINCT url FROM dirty_pages")
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _obs AS SELECT o.* FROM observations o SEMI JOIN _dirty d ON o.url = d.url"
        )
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _derived AS
            WITH seen AS (
              SELECT o.url AS source_url, lo.target_url, lo.kind, lo.anchor,
                min(o.fetched_at) AS first_seen, max(o.fetched_at) AS last_seen,
                arg_max(o.via, o.fetched_at) AS via,
                arg_max(o.host, o.fetched_at) AS source_host,
                arg_max(o.domain, o.fetched_at) AS source_domain,
                {attrs}
              FROM link_observations lo JOIN _obs o ON lo.obs_id = o.obs_id
              WHERE NOT coalesce(o.noindex, false)
              GROUP BY ALL
            ),
            decisive AS (SELECT url, fetched_at, status, noindex FROM _obs o WHERE {_DECISIVE})
            SELECT s.*, d.fetched_at AS lost_at,
              CASE WHEN d.status IS NULL THEN NULL
                   WHEN d.status BETWEEN 300 AND 399 THEN 'redirected'
                   WHEN d.status >= 400 THEN 'page_gone'
                   WHEN d.noindex THEN 'noindex'
                   ELSE 'removed' END AS lost_reason
            FROM seen s ASOF LEFT JOIN decisive d
              ON s.source_url = d.url AND d.fetched_at > s.last_seen
            """
        )
        con.execute("DELETE FROM links WHERE source_url IN (SELECT url FROM _dirty)")
        cols = ", ".join(schema.LINKS.names)
        con.execute(f"INSERT INTO links SELECT {cols} FROM _derived ORDER BY target_rhost, target_url")
        (added,) = con.execute("SELECT count(*) FROM _derived").fetchall()[0]

        page_cols = [c for c in schema.PAGES.names if c not in ("url", "first_seen", "last_seen", "observations")]
        page_attrs = ", ".join(f"arg_max({c}, fetched_at) AS {c}" for c in page_cols)
        con.execute("DELETE FROM pages WHERE url IN (SELECT url FROM _dirty)")
        con.execute(
            f"INSERT INTO pages SELECT {', '.join(schema.PAGES.names)} FROM ("
            f"  SELECT url, {page_attrs}, min(fetched_at) AS first_seen, max(fetched_at) AS last_seen,"
            f"  count(*)::INTEGER AS observations FROM _obs GROUP BY url)"
        )
        con.execute("DELETE FROM dirty_pages")
        _note_unsorted(store, int(added), resort_fraction)
        for tmp in ("_dirty", "_obs", "_derived"):
            con.execute(f"DROP TABLE IF EXISTS {tmp}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return n_dirty


def _note_unsorted(store: Store, appended: int, resort_fraction: float) -> None:
    con = store.con
    rows = con.execute("SELECT value FROM meta WHERE key = 'links_unsorted_rows'").fetchall()
    unsorted = (int(rows[0][0]) if rows else 0) + appended
    (total,) = con.execute("SELECT count(*) FROM links").fetchall()[0]
    if total and unsorted > resort_fraction * total and unsorted != total:
        cols = ", ".join(schema.LINKS.names)
        con.execute(f"CREATE OR REPLACE TABLE links AS SELECT {cols} FROM links ORDER BY target_rhost, target_url")
        unsorted = 0
    elif unsorted == total:
        # The whole table was written in one sorted insert.
        unsorted = 0
    con.execute("INSERT OR REPLACE INTO meta VALUES ('links_unsorted_rows', ?)", [str(unsorted)])
