"""Backlink reports over a :class:`~linkback.store.Store` (DESIGN §6: the CLI and API mirror these).

Each report takes the store and a TARGET: a registrable domain (``example.com``: all its hosts),
a host (``www.example.com``) or a URL prefix (``https://example.com/blog/``), as read by
:func:`linkback.urls.parse_target`. Reports return a list of row dicts (``overview`` one dict);
the keys, in the order of each report's ``*_COLUMNS``, are the JSON keys and CSV header. By
default they count live links from other sites; ``internal=True`` looks inside the target's own
site and ``include_lost=True`` adds lost links. A TARGET the index has no link to at all (a typo)
raises :class:`~linkback.errors.TargetNotFound`, naming the domains it holds with close names;
:func:`domains` lists the domains it holds.

Example (over an index made by ``linkback ingest``)::

    from linkback.reports import backlinks
    from linkback.store import Store

    rows = backlinks(Store("linkback.duckdb", read_only=True), "example.com", follow=True, limit=10)
"""

from linkback.reports._changes import TOXIC_MIN_SCORE, TOXICITY_BANDS, shared_reads
from linkback.reports._countries import country_of
from linkback.reports._cursor import PAGED_REPORTS, CursorError, next_cursor
from linkback.reports._domains import (
    DOMAIN_COLUMNS,
    DOMAIN_GROUPS,
    DOMAIN_SORTS,
    HOST_COLUMNS,
    close_domains,
    domains,
    require_links,
)
from linkback.reports._export import EXPORT_FORMATS, EXPORT_SOURCES, EXPORT_TABLES
from linkback.reports._export import export as _export_file
from linkback.reports._groups import (
    ANCHOR_COLUMNS,
    ANCHOR_SORTS,
    PAGE_COLUMNS,
    PAGE_SORTS,
    REFDOMAIN_COLUMNS,
    REFDOMAIN_SORTS,
    TLD_COLUMNS,
    LinkFilters,
    anchors,
    pages,
    refdomains,
    tlds,
)
from linkback.reports._history import HISTORY_COLUMNS, LOST_REASONS, PERIODS, history
from linkback.reports._links import BACKLINK_COLUMNS, BACKLINK_SORTS, backlinks, backlinks_query
from linkback.reports._overview import OVERVIEW_COLUMNS, overview
from linkback.reports._periods import COMPARES, GROWTH_PERIODS, PRESETS
from linkback.reports._ranks import DOMAIN_HISTORY_COLUMNS, DR_BUCKETS, domain_history, latest_run
from linkback.reports._select import link_where
from linkback.reports._trend import (
    CHANGES,
    CHURN_COLUMNS,
    GROWTH_COLUMNS,
    TREND_COLUMNS,
    TREND_METRICS,
    churn,
    growth,
    shown_change,
    shown_value,
    trend,
)

__all__ = [
    "ANCHOR_COLUMNS",
    "ANCHOR_SORTS",
    "CursorError",
    "PAGED_REPORTS",
    "BACKLINK_COLUMNS",
    "BACKLINK_SORTS",
    "CHANGES",
    "CHURN_COLUMNS",
    "COMPARES",
    "DOMAIN_COLUMNS",
    "DOMAIN_GROUPS",
    "DOMAIN_SORTS",
    "DOMAIN_HISTORY_COLUMNS",
    "DR_BUCKETS",
    "EXPORT_FORMATS",
    "EXPORT_SOURCES",
    "EXPORT_TABLES",
    "GROWTH_COLUMNS",
    "GROWTH_PERIODS",
    "HISTORY_COLUMNS",
    "HOST_COLUMNS",
    "LOST_REASONS",
    "LinkFilters",
    "OVERVIEW_COLUMNS",
    "PAGE_COLUMNS",
    "PAGE_SORTS",
    "PERIODS",
    "PRESETS",
    "REFDOMAIN_COLUMNS",
    "REFDOMAIN_SORTS",
    "TLD_COLUMNS",
    "TOXICITY_BANDS",
    "TOXIC_MIN_SCORE",
    "TREND_COLUMNS",
    "TREND_METRICS",
    "anchors",
    "backlinks",
    "backlinks_query",
    "churn",
    "close_domains",
    "country_of",
    "domain_history",
    "domains",
    "export",
    "growth",
    "history",
    "latest_run",
    "link_where",
    "next_cursor",
    "overview",
    "pages",
    "refdomains",
    "require_links",
    "shared_reads",
    "shown_change",
    "shown_value",
    "tlds",
    "trend",
]

# One function, three faces: the CLI, the /api/v1 routes and the dashboard call these by name
# (linkback.faces); a RemoteStore sends the call to the server that owns the database.
from typing import Any, BinaryIO  # noqa: E402

from linkback.faces import report as _report  # noqa: E402
from linkback.reports._broken import BROKEN_COLUMNS, broken  # noqa: E402, F401 - registered where defined
from linkback.reports._compare import COMPARE_COLUMNS, COMPARE_TREND_COLUMNS, compare, compare_trend  # noqa: E402, F401
from linkback.reports._intersect import INTERSECT_COLUMNS, intersect, linked_domains  # noqa: E402, F401
from linkback.reports._prospects import PROSPECT_COLUMNS, prospects_broken  # noqa: E402, F401
from linkback.store import Store  # noqa: E402

overview = _report(columns=OVERVIEW_COLUMNS, one=True)(overview)
backlinks = _report(columns=BACKLINK_COLUMNS)(backlinks)
refdomains = _report(columns=REFDOMAIN_COLUMNS)(refdomains)
anchors = _report(columns=ANCHOR_COLUMNS)(anchors)
pages = _report(columns=PAGE_COLUMNS)(pages)
tlds = _report(columns=TLD_COLUMNS)(tlds)
history = _report(columns=HISTORY_COLUMNS)(history)
domain_history = _report(columns=DOMAIN_HISTORY_COLUMNS)(domain_history)
domains = _report(columns=tuple(dict.fromkeys((*DOMAIN_COLUMNS, *HOST_COLUMNS))))(domains)  # by domain or host
trend = _report(columns=TREND_COLUMNS)(trend)
growth = _report(columns=GROWTH_COLUMNS)(growth)
churn = _report(columns=CHURN_COLUMNS)(churn)


@_report(columns=("run_id", "as_of"), one=True)
def latest_rank_run(store: Store) -> dict[str, Any] | None:
    """The newest completed rank run: ``{"run_id", "as_of"}``, or None before the first."""
    run = latest_run(store.con)
    return None if run is None else {"run_id": run[0], "as_of": run[1]}


def export(store: Store, what: str, fmt: str, out: BinaryIO, **kwargs: Any) -> int | None:
    """:func:`linkback.reports._export.export`; from a server's store, streamed over its API."""
    remote = getattr(store, "remote", None)
    if remote is not None:
        return remote.export(what, fmt, out)
    return _export_file(store, what, fmt, out, **kwargs)
