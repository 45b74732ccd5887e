"""A disavow file for a site, from its toxic referring domains and the deny list."""

from __future__ import annotations

from datetime import datetime, timezone

from linkback.faces import report
from linkback.quality._disavow import write_disavow
from linkback.quality._lists import entry_kind, list_entries
from linkback.quality._toxicity import toxic_domains
from linkback.reports._select import as_target
from linkback.store import Store
from linkback.urls import Target

#: Referring domains scoring at least this go into a disavow file by default.
DISAVOW_MIN_SCORE = 50


@report()
def disavow(store: Store, target: str | Target, *, min_score: int = DISAVOW_MIN_SCORE) -> str:
    """Google disavow-file text for ``target``: a ``domain:`` line for each referring domain whose
    toxicity is at least ``min_score`` (its signals as the comment above it), then every deny-list
    entry (domains and hosts as ``domain:`` lines, URLs as they are). The comment gives the signals with
    the evidence behind each (``toxic_domains``' reasons). Allow-listed domains score 0,
    so they never appear. Raises :class:`~linkback.quality.DisavowError` past Google's limits."""
    tgt = as_target(target)
    toxic = [
        (row["domain"], f"toxicity {row['toxicity']}: {row['reasons']}")
        for row in toxic_domains(store, tgt, min_score=min_score)
        if "denied" not in row["signals"]
    ]
    denied = list_entries(store, "deny")
    domains = toxic + [
        (e["entry"], "deny list" + (f": {e['note']}" if e["note"] else "")) for e in denied if e["kind"] != "url"
    ]
    urls = [
        (e["entry"], "deny list" + (f": {e['note']}" if e["note"] else ""))
        for e in denied
        if entry_kind(e["entry"]) == "url"
    ]
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = [
        f"disavow file for {tgt.value} written by linkback on {now}",
        f"referring domains with toxicity >= {min_score}, and the deny list",
    ]
    return write_disavow(domains, urls, header=header)
