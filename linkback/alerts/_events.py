"""Finding the changes a rule is about, between its last look and now.

Each finder reads one kind of change from the store and returns :class:`Event`\\ s, the best
first (highest DR), at most :data:`CAP` of them, with how many there were in all:

* ``new_link``: links to the site whose first sighting is an observation stored since the last
  look (``links.first_seen``). "Since" counts in observation numbers, not fetch times, so an
  archive of last year's crawl ingested today is news today.
* ``lost_link``: links whose loss (``links.lost_at`` and ``lost_reason``) was observed since the
  last look, for links the monitor does not keep; and the ledger's links whose checks since the
  last look turned ``lost`` (the monitor confirms a loss before it says so, so for the links it
  keeps its word is the one used).
* ``changed``: ledger checks since the last look that found the anchor, rel or section changed.
* ``broken_target``: pages of the site observed since the last look answering 4xx or 5xx (not
  429) that live links point at.
* ``toxic_domain``: referring domains whose toxicity in the newest rank run reaches the disavow
  threshold (:data:`~linkback.quality.DISAVOW_MIN_SCORE`) and are news: the domain began to link
  since the last look, or a new rank run finds it toxic where the run looked at last did not.
  Allow-listed domains never are.

A rule's ``min_dr`` keeps events from referring domains with at least that Domain Rating in the
newest rank run (a domain no run has rated has none, so it is left out); ``follow_only`` keeps
followed links (for a lost link: followed before it was lost; for a change: before or after).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import duckdb

from linkback.reports._select import fetch_rows
from linkback.urls import Target

#: Most events one rule records in one look; the rest are counted in one more alert.
CAP = 200
#: Longest title, in characters.
TITLE_CHARS = 300
_UNFOLLOWED = frozenset({"nofollow", "ugc", "sponsored"})
#: What a check's ``changes`` may say changed about the link itself (besides its verdict and reason).
LINK_FIELDS = ("anchor", "rel", "section")


@dataclass(frozen=True)
class Look:
    """One rule's look: what it watches, and the stretch of history it has not seen yet."""

    rule: dict[str, Any]
    target: Target
    #: Observation numbers (seen, newest]; link check numbers likewise.
    obs: tuple[int, int]
    checks: tuple[int, int]
    #: The rank run looked at last, and the newest now (None before any).
    runs: tuple[int | None, int | None]

    @property
    def site(self) -> str:
        return str(self.rule["site"])

    @property
    def min_dr(self) -> float | None:
        value = self.rule["min_dr"]
        return None if value is None else float(value)

    @property
    def follow_only(self) -> bool:
        return bool(self.rule["follow_only"])


@dataclass
class Event:
    """One change, as an alert will say it."""

    key: tuple[Any, ...]
    title: str
    evidence: str
    source_url: str | None = None
    target_url: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


Finder = Callable[[duckdb.DuckDBPyConnection, Look], tuple[list[Event], int]]


def clean_line(text: object, limit: int = TITLE_CHARS) -> str:
    """``text`` as one line a person reads: control and format characters dropped (a line break
    in a hostile anchor cannot start a header or a fake line), whitespace collapsed, cut at ``limit``."""
    kept = "".join(" " if c.isspace() else c for c in str(text) if unicodedata.category(c)[0] != "C" or c.isspace())
    line = " ".join(kept.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def quoted(text: object, limit: int = 80) -> str:
    return "“" + clean_line(text, limit) + "”"


def backlinks_path(target: str, **params: str) -> str:
    """The dashboard's backlinks report for ``target``, filtered."""
    return "/reports/backlinks?" + urlencode({"target": target, **params})


def dr_text(dr: float | None) -> str:
    return "" if dr is None else f" (DR {dr:.0f})"


def passes(look: Look, dr: float | None, followed: bool) -> bool:
    if look.min_dr is not None and (dr is None or dr < look.min_dr):
        return False
    return followed or not look.follow_only


def unfollowed(rel: str | None, nofollow: bool | None) -> bool:
    return bool(nofollow) or bool(_UNFOLLOWED & set((rel or "").lower().split()))


def query_rows(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[Any], utc: tuple[str, ...]
) -> list[dict[str, Any]]:
    return fetch_rows(con, sql, params, utc_columns=utc)


# --- links: new and lost --------------------------------------------------------------------------


def total(rows: list[dict[str, Any]]) -> int:
    return int(rows[0]["total"]) if rows else 0


#: How the alert that counts the events past :data:`CAP` names them.
PLURALS = {
    "new_link": "new links",
    "lost_link": "lost links",
    "changed": "changed links",
    "broken_target": "broken pages",
    "toxic_domain": "new toxic referring domains",
}


def overflow(look: Look, shown: int, total: int, marker: tuple[Any, ...]) -> Event:
    """The one alert that stands for the events one look found past :data:`CAP`."""
    event = str(look.rule["event"])
    params = {"include_lost": "true"} if event == "lost_link" else {}
    return Event(
        key=("more", *marker),
        title=clean_line(
            f"{total - shown:,} more {PLURALS[event]} for {look.site} (only the first {shown} are listed)"
        ),
        evidence=backlinks_path(look.site, **params),
        detail={"shown": shown, "total": total},
    )
