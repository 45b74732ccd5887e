"""``linkback --help``: the commands in panels by what they are for, each on one line.

Each command's own ``--help`` keeps its whole docstring; the list a new user reads first shows
the ~50 commands grouped as the README's sections are, in the order a first session uses them
(get links, read the reports, rank and judge, look beyond your own links, linkbacks, watch), with
one line each rather than each docstring's first paragraph (eight lines for some). A command
missing from :data:`PANELS` is a test failure (tests/test_cli_help.py), so a new one is placed.
"""

from __future__ import annotations

from typing import Any

#: Panel -> command -> its line in the list (at most :data:`LINE_CHARS` characters).
PANELS: dict[str, dict[str, str]] = {
    "Get links": {
        "ingest": "Read web archives (WARC, ARC, WAT) into the index",
        "crawl": "Crawl sites politely, keep WARC files, index the links",
        "import": "Import backlink exports (Search Console, Ahrefs...)",
        "imports": "The export files imported and what each added",
        "claims": "The backlinks other tools claim, and whether seen",
        "visits": "Read referral visits from access logs and exports",
        "visit-imports": "The log and export files 'visits' read",
        "cc": "Common Crawl: fetch a host's captures, its web graph",
        "spark": "Extract archives at web scale on Apache Spark",
        "attach": "Answer every report from a Parquet index in place",
    },
    "Reports": {
        "overview": "Summary of the links to a target",
        "backlinks": "The links to a target, one row each",
        "refdomains": "The referring domains of a target, with their DR",
        "anchors": "The anchor texts of the links to a target",
        "pages": "A domain's pages, best by links",
        "tlds": "TLDs and countries of the domains linking to a target",
        "domains": "The domains the index holds links to, most linked",
        "history": "New and lost links per day, week or month",
        "trend": "A target's numbers at the end of a period and before",
        "growth": "Referring domains per day, week or month",
        "churn": "Referring domains gained or lost between two days",
        "broken": "A target's broken pages that other sites link to",
        "traffic": "Referral visits by channel, source or referrer",
        "traffic-trend": "Visits over time from the top referring domains",
        "silent-backlinks": "Live backlinks that sent no visit lately",
        "categories": "The topics of a target's referring domains",
        "category": "The topic of one domain, and why",
        "export": "A whole table as JSONL, CSV or Parquet, streamed",
        "share": "Read-only links to one site's reports",
    },
    "Rank and judge": {
        "rank": "Rank pages, hosts and domains (UR, DR, TrustRank)",
        "dr": "A domain's Domain Rating, run by run",
        "toxic": "A target's most toxic referring domains, and why",
        "disavow": "Write or check a disavow file for Google",
        "allow": "Put domains, hosts or URLs on the allow list",
        "deny": "Put domains, hosts or URLs on the deny list",
        "lists": "The allow and deny lists",
        "profile": "A site's brand terms and keywords",
        "categorize": "Classify the store's domains by topic, offline",
    },
    "Beyond your own links": {
        "compare": "Targets side by side: domains, DR, new and lost",
        "intersect": "Domains that link to your rivals but not to you",
        "linked-domains": "Where a domain links out",
        "unlinked": "Pages that name your brand but do not link to you",
        "rescan": "Look for new brand terms in the archives again",
        "prospects": "Link building prospects",
    },
    "Linkbacks and the server": {
        "serve": "Run the server: dashboard, API, linkback endpoints",
        "site": "The sites whose pages accept linkbacks",
        "mentions": "Received linkbacks: list and moderate them",
        "refbacks": "Queue referers from access logs as Refbacks",
        "send": "Send Webmentions, Pingbacks, TrackBacks for posts",
        "sent": "The notifications sent for your posts",
    },
    "Watch": {
        "monitor": "Re-check your backlinks on the live web",
        "alerts": "Alerts on new, lost and broken links, by hook or mail",
    },
}
#: The longest line: what fits beside the longest command name in an 80-column help.
LINE_CHARS = 55


def _name(info: Any) -> str:
    if info.name:
        return str(info.name)
    instance = getattr(info, "typer_instance", None)
    if instance is not None and instance.info.name:
        return str(instance.info.name)
    return str(info.callback.__name__).replace("_", "-")


def arrange(app: Any) -> None:
    """Give each command and group of ``app`` its panel and line, commands in panel order."""
    place = {name: (panel, line) for panel, lines in PANELS.items() for name, line in lines.items()}
    order = {name: i for i, name in enumerate(place)}
    for info in [*app.registered_commands, *app.registered_groups]:
        found = place.get(_name(info))
        if found is not None:
            info.rich_help_panel, info.short_help = found
    # Typer lists commands in registration order, a group's after every command: both by panel.
    app.registered_commands.sort(key=lambda info: order.get(_name(info), len(order)))
    app.registered_groups.sort(key=lambda info: order.get(_name(info), len(order)))
