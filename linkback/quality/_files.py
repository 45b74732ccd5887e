"""A disavow file for a site, from its toxic referring domains and the deny list."""

from __future__ import annotations

from datetime import datetime, timezone

from linkback.faces import report
from linkback.quality._disavow import write_disavow
from linkback.quality._lists import entry_kind, list_entries
from linkback.quality._toxicity import toxic_domains
from linkback.reports._select import as_target, link_where
from linkback.store import Store
from linkback.urls import Target, is_ip_host

#: Referring domains scoring at least this go into a disavow file by default.
DISAVOW_MIN_SCORE = 50

#: Said of a referrer that is an IP address, whose pages are listed instead of a ``domain:`` line.
_BY_URL = "an IP address, so its linking pages (domain: takes only domain names)"


@report()
def disavow(store: Store, target: str | Target, *, min_score: int = DISAVOW_MIN_SCORE) -> str:
    """Google disavow-file text for ``target``: a ``domain:`` line for each referring domain whose
    toxicity is at least ``min_score`` (its signals as the comment above it), then every deny-list
    entry (domains and hosts as ``domain:`` lines, URLs as they are). The comment gives the signals with
    the evidence behind each (``toxic_domains``' reasons). Allow-listed domains score 0,
    so they never appear.

    A referrer that is an IP address (``192.0.2.1``, ``[2001:db8::1]``) is written as the URLs of
    its pages linking to ``target``: Google's ``domain:`` lines take domain names, and says links
    cannot be disavowed by IP address. A referrer or entry that still cannot be written (a stored
    host that is no host name) is left out with a counted note under the header, so one odd
    referrer never stops the file. Raises :class:`~linkback.quality.DisavowError` past Google's
    limits."""
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
    addresses = [(host, reason) for host, reason in domains if is_ip_host(host)]
    domains = [(host, reason) for host, reason in domains if not is_ip_host(host)]
    for host, reason in addresses:
        urls += [(url, f"{reason}; {_BY_URL}") for url in _linking_pages(store, tgt, host)]
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = [
        f"disavow file for {tgt.value} written by linkback on {now}",
        f"referring domains with toxicity >= {min_score}, and the deny list",
    ]
    return write_disavow(domains, urls, header=header, skip_unusable=True)




def _linking_pages(store: Store, target: Target, host: str) -> list[str]:
    """The pages of the referrer ``host`` with a live external link to ``target``: the links its
    toxicity was scored on, which a ``domain:`` line would have covered."""
    where, params = link_where(target, from_domain=host)
    rows = store.con.execute(f"SELECT DISTINCT source_url FROM links WHERE {where} ORDER BY source_url", params)
    return [url for (url,) in rows.fetchall()]
