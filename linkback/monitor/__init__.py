"""The link monitor (``linkback monitor``): the ledger of a site's backlinks, re-checked on the live web.

Every known backlink of the user's sites — imported claims, received mentions, the index's live
links, links added by hand — is a row of ``ledger`` (:mod:`._ledger`). A check fetches its
source page through the SSRF-safe fetcher, politely and concurrently (:mod:`._run`,
:mod:`._check`), keeps each response in a WARC file (:mod:`._warc`), and records its evidence in
``link_checks``; the verdict (live, changed, lost or unknown, with a reason) is a pure function
of the link's previous state and the new observations (:mod:`._verdict`). The server's job runner
checks the links that are due; ``linkback monitor run`` checks them now.

Example::

    from linkback.monitor import ledger, monitor, monitor_add
    from linkback.store import Store

    with Store("linkback.duckdb") as store:
        monitor_add(store, "https://blog.example.org/post", "https://example.com/", anchor="Example")
        summary = monitor(store)
        rows = ledger(store, "example.com", verdict="lost")
"""

from linkback.monitor._faces import (
    LEDGER_COLUMNS,
    REASONS,
    TIMELINE_COLUMNS,
    ledger,
    link_timeline,
    monitor,
    monitor_add,
    monitor_pause,
    monitor_sync,
)
from linkback.monitor._ledger import ORIGINS, NoSuchLink, any_due, link_key
from linkback.monitor._verdict import LOST_REASONS, UNKNOWN_REASONS, VERDICTS, LinkState, Observation, decide, step

__all__ = [
    "LEDGER_COLUMNS",
    "LOST_REASONS",
    "ORIGINS",
    "REASONS",
    "TIMELINE_COLUMNS",
    "UNKNOWN_REASONS",
    "VERDICTS",
    "LinkState",
    "NoSuchLink",
    "Observation",
    "any_due",
    "decide",
    "ledger",
    "link_key",
    "link_timeline",
    "monitor",
    "monitor_add",
    "monitor_pause",
    "monitor_sync",
    "step",
]
