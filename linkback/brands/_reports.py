"""``unlinked`` (the report: pages that name a site's brand but do not link to it) and ``rescan``
(the job: look for the brand terms again in the archives already ingested)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from linkback.errors import LinkbackError
from linkback.faces import ProgressFn, job, report

if TYPE_CHECKING:
    from linkback.store import Store

#: Columns of :func:`unlinked`, in order (the JSON keys and CSV header).
UNLINKED_COLUMNS = ("url", "domain", "dr", "terms", "snippet", "first_seen", "last_seen")

#: Pages read by :func:`rescan` before their hits are written (one transaction each).
RESCAN_WRITE_PAGES = 1000


@report(columns=UNLINKED_COLUMNS)
def unlinked(store: Store, site: str, *, limit: int | None = None) -> list[dict[str, Any]]:
    """The pages that name ``site``'s brand terms (its profile: ``linkback profile SITE --brand``)
    in their text but do not link to its registrable domain, best first: by the DR of the page's
    domain in the newest rank run (pages of unranked domains last), then URL.

    One row per page: the ``terms`` found, a ``snippet`` of text around one of them, and when the
    page was first and last found with them. Only a page's newest capture counts (a mention since
    removed, or a link since added, drops the page); the site's own pages are left out.
    """
    from linkback.brands._scan import site_domain  # noqa: PLC0415
    from linkback.quality._lists import read_profile  # noqa: PLC0415
    from linkback.reports._ranks import latest_run  # noqa: PLC0415
    from linkback.reports._select import check_limit, fetch_rows  # noqa: PLC0415

    profile = read_profile(store.con, site)
    site = profile["site"]
    if not profile["brands"]:
        raise LinkbackError(f"{site} has no brand terms: add them with 'linkback profile {site} --brand NAME'")
    run = latest_run(store.con)
    limit_sql, limit_params = check_limit(limit)
    # Only the profile's terms as they are now: hits of a term since removed may still be stored
    # (found by an ingest that ran with the earlier terms) until the next rescan drops them.
    sql = f"""
        WITH m AS (
          SELECT b.url, any_value(b.domain) AS domain, list(DISTINCT b.term ORDER BY b.term) AS terms,
            arg_min(b.snippet, b.term) AS snippet, min(b.first_seen) AS first_seen, max(b.last_seen) AS last_seen
          FROM brand_mentions b JOIN pages p ON p.url = b.url AND b.last_seen >= p.last_seen
          WHERE b.site = ? AND list_contains(?, b.term) AND b.domain <> ?
          GROUP BY b.url
          HAVING NOT bool_or(b.linked)
        )
        SELECT m.url, m.domain, round(d.dr, 1) AS dr, m.terms, m.snippet, m.first_seen, m.last_seen
        FROM m LEFT JOIN (SELECT domain, dr FROM domain_ranks WHERE run_id = ?) d USING (domain)
        ORDER BY d.dr DESC NULLS LAST, m.url{limit_sql}
    """
    params = [site, profile["brands"], site_domain(site), run[0] if run else -1, *limit_params]
    return fetch_rows(store.con, sql, params, utc_columns=("first_seen", "last_seen"))


@job("rescan")
def rescan(store: Store, *, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Look for the site profiles' brand terms again in every archive already ingested (their
    paths in ``archives``), so that a brand added after ingest is found: only the text is read
    again, nothing else of the index changes. Files no longer there are skipped and named. The
    hits of terms no longer in a profile are deleted first (``set_profile`` deletes them too; a
    store from before it did, or an ingest that ran with the earlier terms, may hold some).

    The result has ``archives`` (read), ``pages`` (HTML pages scanned), ``hits`` (page, term
    and site found), ``missing`` (the paths not found), ``terms`` and ``dropped`` (the hits of
    terms no longer in a profile).
    """
    from linkback.batches import extract_batch  # noqa: PLC0415
    from linkback.brands._store import drop_stale_mentions, load_terms  # noqa: PLC0415
    from linkback.sources.warc import ReadStats, iter_archive  # noqa: PLC0415

    dropped = store.write(lambda store: drop_stale_mentions(store.con))
    brands = load_terms(store.con)
    rows = store.con.execute(
        "SELECT path FROM archives WHERE path NOT LIKE 'live:%' GROUP BY path ORDER BY min(archive_id)"
    ).fetchall()
    paths = [r[0] for r in rows]
    result: dict[str, Any] = {
        "archives": 0,
        "pages": 0,
        "hits": 0,
        "missing": [],
        "terms": len(brands.terms) if brands else 0,
        "dropped": dropped,
    }
    if not brands:
        return result
    for n, path in enumerate(paths):
        if progress is not None:
            progress({"done": n, "total": len(paths), "unit": "archives", "stage": "rescan"})
        if not Path(path).is_file():
            result["missing"].append(path)
            continue
        pending: list[tuple[pa.RecordBatch, pa.RecordBatch]] = []
        chunk: list[Any] = []
        pages = 0
        for page in iter_archive(path, stats=ReadStats()):
            chunk.append(page)
            if len(chunk) >= 64:
                pages += _scan_chunk(extract_batch(chunk, brands), pending, result)
                chunk = []
                if pages >= RESCAN_WRITE_PAGES:
                    _write(store, pending, result)
                    pages = 0
        if chunk:
            _scan_chunk(extract_batch(chunk, brands), pending, result)
        _write(store, pending, result)
        result["archives"] += 1
    if progress is not None:
        progress({"done": len(paths), "total": len(paths), "unit": "archives", "stage": "rescan"})
    return result


def _scan_chunk(batch: Any, pending: list[tuple[pa.RecordBatch, pa.RecordBatch]], result: dict[str, Any]) -> int:
    result["pages"] += batch.html_pages
    if batch.mentions is not None and batch.mentions.num_rows:
        pending.append((batch.observations, batch.mentions))
    return batch.observations.num_rows


def _write(store: Store, pending: list[tuple[pa.RecordBatch, pa.RecordBatch]], result: dict[str, Any]) -> None:
    from linkback.brands._store import store_hits  # noqa: PLC0415

    if not pending:
        return
    batches = list(pending)
    pending.clear()

    def write(store: Store) -> int:
        return sum(store_hits(store, observations, hits) for observations, hits in batches)

    result["hits"] += store.write(write)
