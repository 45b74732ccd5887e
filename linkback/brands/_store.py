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
import pyarrow.compute as pc

from linkback.brands._scan import BrandTerms, Hit
from linkback.store._arrow import column

if TYPE_CHECKING:
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
    terms: list[tuple[str, str]] = []
    for site, brands in rows:
        terms.extend((name, site) for name in (t.strip() for t in (brands or "").splitlines()) if name)
    return BrandTerms(tuple(terms)) if terms else None


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


_UPSERT = """
INSERT INTO brand_mentions (url, host, domain, term, site, snippet, linked, first_seen, last_seen, obs_id)
SELECT o.url, o.host, o.domain, h.term, h.site,
  arg_max(h.snippet, o.fetched_at), arg_max(h.linked, o.fetched_at),
  min(o.fetched_at), max(o.fetched_at), arg_max(o.obs_id, o.fetched_at)
FROM _brand_hits h JOIN observations o ON o.obs_key = h.obs_key {only_new}
GROUP BY o.url, o.host, o.domain, h.term, h.site
ON CONFLICT (url, site, term) DO UPDATE SET
  snippet = CASE WHEN excluded.last_seen >= brand_mentions.last_seen THEN excluded.snippet ELSE brand_mentions.snippet END,
  linked = CASE WHEN excluded.last_seen >= brand_mentions.last_seen THEN excluded.linked ELSE brand_mentions.linked END,
  obs_id = CASE WHEN excluded.last_seen >= brand_mentions.last_seen THEN excluded.obs_id ELSE brand_mentions.obs_id END,
  host = excluded.host, domain = excluded.domain,
  first_seen = least(brand_mentions.first_seen, excluded.first_seen),
  last_seen = greatest(brand_mentions.last_seen, excluded.last_seen)
"""


def store_hits(store: Store, observations: pa.RecordBatch, hits: pa.RecordBatch, *, new: int | None = None) -> int:
    """Keep ``hits`` (indexing the rows of ``observations``) in ``brand_mentions``; run inside the
    write that stored those observations. Hits of captures the store does not hold are dropped.
    ``new``: the write has just added that many observations (ingest), and only those are
    looked at: the last ids of ``obs_id_seq``, a range the table's zone maps find without reading
    the rest of it. Returns the hits given."""
    given = hits.num_rows
    if given == 0:
        return 0
    if new is not None:
        hits = _on_stored_copies(observations, hits)
    keys = observations.column("obs_key").take(hits.column("page_idx"))
    table = pa.table({"obs_key": keys, **{n: hits.column(n) for n in ("term", "site", "snippet", "linked")}})
    con = store.con
    only_new, params = "", []
    if new is not None:
        (last,) = con.execute("SELECT currval('obs_id_seq')").fetchall()[0]
        only_new, params = "AND o.obs_id BETWEEN ? AND ?", [int(last) - new + 1, int(last)]
    con.register("_brand_hits", table)
    try:
        con.execute(_UPSERT.format(only_new=only_new), params)
    finally:
        con.unregister("_brand_hits")
    return given


def _on_stored_copies(
    observations: pa.RecordBatch | pa.Table, hits: pa.RecordBatch | pa.Table
) -> pa.RecordBatch | pa.Table:
    """The hits on the first row of each capture (``obs_key``) in ``observations``: the copy
    :func:`~linkback.store._write.add_batch` stores. A capture met twice (same URL and fetch
    time, the second copy's text maybe not the same) then has the mentions of the copy stored,
    whether both copies came in one write or in two, as its links do; without this, one write
    would join the second copy's hits to the first's observation, two writes would drop them,
    and what is stored would depend on how the pages were cut into batches."""
    keys = observations.column("obs_key")
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.combine_chunks()
    unique = pc.unique(keys)  # in order of first occurrence
    if len(unique) == len(keys):
        return hits  # the common case: every capture once
    first_rows = pc.index_in(unique, value_set=keys)  # the first row of each
    return hits.filter(pc.is_in(hits.column("page_idx"), value_set=first_rows.cast(pa.int32())))
