"""Referral traffic: who sends visitors, through which channel, and which backlinks bring them.

``linkback visits LOG... --host HOST`` reads access logs (Apache/nginx combined and vhost_combined,
Caddy JSON, CloudFront, W3C extended; plain or compressed) and Plausible's and GA4's CSV exports,
each told by its content (:mod:`._read`, :mod:`._formats`, :mod:`._exports`). Each request that
is a visit (:mod:`._visits`: a page view, by no crawler, from outside the site, not referrer
spam) gets a source and a channel by GA4's default channel group rules (:mod:`._channels`), with
search engines, social networks and AI assistants from Matomo's lists (:mod:`._lists`), and is
stored once however often its file is read (:mod:`._store`). The reports (:mod:`._reports`):
``traffic`` (channels → sources → referring pages), ``traffic_trend`` (visits over time per
referring domain), ``silent_backlinks`` (backlinks that sent no visit in 90 days) and
``visit_imports``; the ``backlinks`` and ``refdomains`` reports carry a ``visits`` column.

Example::

    from linkback.store import Store
    from linkback.traffic import read_visits, traffic

    with Store("linkback.duckdb") as store:
        read_visits(store, ["/var/log/nginx/access.log*"], host="example.com")
        rows = traffic(store, "example.com", by="source", limit=10)
"""

from linkback.traffic._channels import CHANNELS, channel
from linkback.traffic._import import FileResult, read_visits
from linkback.traffic._reports import (
    SILENT_COLUMNS,
    TRAFFIC_COLUMNS,
    TRAFFIC_GROUPS,
    TREND_COLUMNS,
    VISIT_IMPORT_COLUMNS,
    link_visits,
    refdomain_visits,
    silent_backlinks,
    traffic,
    traffic_trend,
    visit_imports,
)
from linkback.traffic._store import begin_visit_import, finish_visit_import, record_visits

__all__ = [
    "CHANNELS",
    "SILENT_COLUMNS",
    "TRAFFIC_COLUMNS",
    "TRAFFIC_GROUPS",
    "TREND_COLUMNS",
    "VISIT_IMPORT_COLUMNS",
    "FileResult",
    "begin_visit_import",
    "channel",
    "finish_visit_import",
    "link_visits",
    "read_visits",
    "record_visits",
    "refdomain_visits",
    "silent_backlinks",
    "traffic",
    "traffic_trend",
    "visit_imports",
]
