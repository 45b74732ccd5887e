"""The terms to look for (from ``site_profiles``) and the hits kept (``brand_mentions``).

Hits travel from the workers as an Arrow batch of :data:`HIT_SCHEMA` rows, one per page, term
and site, that index the pages of their extracted batch (``page_idx``). They are written in the
transaction that writes those pages: each hit is joined with its capture by ``obs_key`` (so a
capture the store already had, met again by a re-ingest or a rescan, updates its row), and one row
per page, site and term is kept with its first and newest capture.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pyarrow as pa

from linkback.brands._scan import BrandTerms, Hit
from linkback.brands._terms import split_terms
from linkback.store._arrow import column
from linkback.store._write import merge_mentions

if TYPE_CHECKING:
    import duckdb

    from linkback.store import Store

#: A batch of hits as workers hand them over.
HIT_SCHEMA = pa.schema(
    [
        ("page_idx", pa.int32()),
        ("term", pa.string()),
        ("site", pa.string()),
        ("snippet", pa.string()),
        ("linked", pa.bool_()),
    ]
)


def hit_batch(hits: list[tuple[int, Hit]]) -> pa.RecordBatch:
    """``(page_idx, hit)`` pairs as one :data:`HIT_SCHEMA` batch."""
    # column(), not pa.array(list): that imports pandas, 0.45 s of CPU in each worker.
    return pa.record_batch(
        [
            column([i for i, _ in hits], pa.int32()),
            column([h.term for _, h in hits], pa.string()),
            column([h.site for _, h in hits], pa.string()),
            column([h.snippet for _, h in hits], pa.string()),
            column([h.linked for _, h in hits], pa.bool_()),
        ],
        schema=HIT_SCHEMA,
    )


def load_terms(con: object) -> BrandTerms | None:
    """Every site profile's brand terms, or None when no profile has any (ingest then scans
    nothing). Each site's domain is left to the scanner (:class:`BrandTerms`)."""
    rows = con.execute("SELECT site, brands FROM site_profiles ORDER BY site").fetchall()  # type: ignore[attr-defined]
    terms = [(name, site) for site, brands in rows for name in split_terms(brands)]
    return BrandTerms(tuple(terms)) if terms else None


def drop_stale_mentions(con: duckdb.DuckDBPyConnection) -> int:
    """Delete the hits of terms no longer in their site's profile (a brand replaced or removed,
    a profile deleted; hits an ingest that ran with the earlier terms stored): the hits are
    derived from the profiles, and ``unlinked`` reads only the current terms' anyway. Returns
    how many were deleted. Call it inside a write."""
    rows = con.execute("SELECT site, brands FROM site_profiles").fetchall()
    current = [(site, term) for site, brands in rows for term in split_terms(brands)]
    table = pa.table(
        {"site": column([k for k, _ in current], pa.string()), "term": column([t for _, t in current], pa.string())}
    )
    con.register("_profile_terms", table)
    try:
        (deleted,) = con.execute(
            "DELETE FROM brand_mentions b WHERE NOT EXISTS "
            "(SELECT 1 FROM _profile_terms t WHERE t.site = b.site AND t.term = b.term)"
        ).fetchall()[0]
    finally:
        con.unregister("_profile_terms")
    return int(deleted)


def read_terms(path: str) -> BrandTerms | None:
    """:func:`load_terms` of the database file at ``path``, opened read-only and closed again:
    for ingest's command line, which starts the first ranges before it opens the store
    (:func:`linkback._workers.start_early`). None too when it cannot be read (no such file, in
    use by another process, not migrated yet): ingest reads the terms again and drops the early
    work if they differ."""
    import duckdb  # noqa: PLC0415 - the caller imports DuckDB for the store next anyway

    if not os.path.isfile(path):
        return None
    try:
        con = duckdb.connect(path, read_only=True)
    except duckdb.Error:
        return None
    try:
        return load_terms(con)
    except duckdb.Error:
        return None
    finally:
        con.close()


# A rescan's hits with the captures they are on (the store's rows): one row per capture and term.
_HITS_ON_CAPTURES = """(
SELECT o.url, o.host, o.domain, h.term, h.site, h.snippet, h.linked,
  o.fetched_at AS first_seen, o.fetched_at AS last_seen, o.obs_id
FROM _brand_hits h JOIN observations o ON o.obs_key = h.obs_key)"""


def store_hits(store: Store, observations: pa.RecordBatch, hits: pa.RecordBatch) -> int:
    """Keep ``hits`` (indexing the rows of ``observations``) in ``brand_mentions``: a rescan's,
    of captures the store holds already (ingest keeps the hits of the pages it adds in their
    own write: :func:`linkback.store._write.add_batch`). Hits of captures the store does not
    hold are dropped. Returns the hits given."""
    given = hits.num_rows
    if given == 0:
        return 0
    keys = observations.column("obs_key").take(hits.column("page_idx"))
    table = pa.table({"obs_key": keys, **{n: hits.column(n) for n in ("term", "site", "snippet", "linked")}})
    con = store.con
    con.register("_brand_hits", table)
    try:
        merge_mentions(con, _HITS_ON_CAPTURES)
    finally:
        con.unregister("_brand_hits")
    return given
