"""Backlink reports over a :class:`~linkback.store.Store` (DESIGN §6: the CLI and API mirror these).

Each report takes the store and a TARGET: a registrable domain (``example.com``: all its hosts),
a host (``www.example.com``) or a URL prefix (``https://example.com/blog/``), as read by
:func:`linkback.urls.parse_target`. Reports return a list of row dicts (``overview`` one dict);
the keys, in the order of each report's ``*_COLUMNS``, are the JSON keys and CSV header. By
default they count live links from other sites; ``internal=True`` looks inside the target's own
site and ``include_lost=True`` adds lost links.

    >>> from linkback.store import Store
    >>> from linkback.reports import backlinks
    >>> rows = backlinks(Store("linkback.duckdb", read_only=True), "example.com", follow=True, limit=10)
"""

from linkback.reports._countries import country_of
from linkback.reports._export import EXPORT_FORMATS, EXPORT_SOURCES, EXPORT_TABLES, export
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
from linkback.reports._links import (
    BACKLINK_COLUMNS,
    BACKLINK_SORTS,
    OVERVIEW_COLUMNS,
    backlinks,
    backlinks_query,
    overview,
)
from linkback.reports._ranks import DOMAIN_HISTORY_COLUMNS, DR_BUCKETS, domain_history, latest_run
from linkback.reports._select import link_where

__all__ = [
    "ANCHOR_COLUMNS",
    "ANCHOR_SORTS",
    "BACKLINK_COLUMNS",
    "BACKLINK_SORTS",
    "DOMAIN_HISTORY_COLUMNS",
    "DR_BUCKETS",
    "EXPORT_FORMATS",
    "EXPORT_SOURCES",
    "EXPORT_TABLES",
    "HISTORY_COLUMNS",
    "LOST_REASONS",
    "LinkFilters",
    "OVERVIEW_COLUMNS",
    "PAGE_COLUMNS",
    "PAGE_SORTS",
    "PERIODS",
    "REFDOMAIN_COLUMNS",
    "REFDOMAIN_SORTS",
    "TLD_COLUMNS",
    "anchors",
    "backlinks",
    "backlinks_query",
    "country_of",
    "domain_history",
    "export",
    "history",
    "latest_run",
    "link_where",
    "overview",
    "pages",
    "refdomains",
    "tlds",
]
