"""What changed on each day for one target, all time: its referring domains (all, and those with
a dofollow link, and those a rank run scored toxic) and its backlinks, read in one statement.

Point in time, by UTC day: a link counts on day D when it was first seen on or before D and not
lost by the end of D; a referring domain counts while one of its links does. A domain is *new*
on the day it goes from no counted link to one and *lost* on the day it goes back to none.
"""

from __future__ import annotations

import bisect
import itertools
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from linkback.reports._periods import Period, day_number, day_sql, from_number
from linkback.reports._select import DOFOLLOW, link_where
from linkback.store import Store
from linkback.urls import Target

#: A referring domain is toxic from this toxicity on (the "medium" and "high" bands).
TOXIC_MIN_SCORE = 30
#: Toxicity bands of referring domains: (name, lowest score, one past the highest).
TOXICITY_BANDS = (("clean", 0, 1), ("low", 1, 30), ("medium", 30, 60), ("high", 60, 101))


class _Running:
    """Running totals of what came and went, by day number."""

    def __init__(self, days: list[int], came: list[int], went: list[int]) -> None:
        self.days = days
        self.came = list(itertools.accumulate(came))
        self.went = list(itertools.accumulate(went))

    def upto(self, day: date) -> tuple[int, int]:
        i = bisect.bisect_right(self.days, day_number(day))
        return (self.came[i - 1], self.went[i - 1]) if i else (0, 0)


@dataclass(frozen=True)
class DayChanges:
    """What changed on each day that changed anything, for one target, all time: its referring
    domains (all, and those with a dofollow link) and its backlinks."""

    days: list[int]  # day numbers (days since 1970-01-01), ascending
    domains: _Running
    dofollow: _Running
    links: _Running
    #: The referring domains each rank run (by id) scored toxic.
    toxic: dict[int, _Running]

    @property
    def first(self) -> date | None:
        return from_number(self.days[0]) if self.days else None

    def level(self, day: date, of: str = "domains") -> int:
        """Referring domains (or ``dofollow`` ones, or ``links``) at the end of ``day``."""
        came, went = getattr(self, of).upto(day)
        return came - went

    def toxic_level(self, day: date, run_id: int) -> int:
        """Referring domains at the end of ``day`` that rank run ``run_id`` scored toxic."""
        came, went = self.toxic[run_id].upto(day)
        return came - went

    def between(self, period: Period) -> tuple[int, int]:
        """(new, lost) referring domains in ``period``."""
        g1, l1 = self.domains.upto(period.until)
        g0, l0 = self.domains.upto(period.since - timedelta(days=1))
        return g1 - g0, l1 - l0


def _columns(where: str) -> str:
    """SQL: the links ``where`` selects, each as its domain's hash ``d``, its first day ``f``, the
    day it was lost ``l`` (NULL while live; never before ``f``) and whether it is dofollow ``fo``."""
    first, lost = day_sql("first_seen"), day_sql("lost_at")
    return f"""SELECT hash(source_domain) AS d, {first} AS f,
         CASE WHEN lost_at IS NOT NULL THEN greatest({lost}, {first}) END AS l, {DOFOLLOW} AS fo
  FROM links WHERE {where} AND first_seen IS NOT NULL"""


def _domain_events(
    where: str, tag: str, *, only: str = "true", cols: str = "all", within: str = "true"
) -> str:
    """SQL: the days each referring domain (of those whose links ``only`` selects, and whose hash
    ``d`` is ``within``) came and went, as rows (day, came, went) of the CTE ``events_{tag}``,
    from its aggregates in ``dom`` (``f_{cols}``: its first day, ``last_f_{cols}``,
    ``first_l_{cols}``, ``l_{cols}``: its last loss when every link was lost). A domain whose
    losses all come after its last new link (most of them) is live on one stretch of days, from
    its first link to its last loss; the others, whose links came and went in turns, are swept
    day by day with a window (their links read again: reading ``dom``'s input twice would make
    DuckDB keep all of it)."""
    f, last_f, first_l, last_l = (f"{name}_{cols}" for name in ("f", "last_f", "first_l", "l"))
    stretch = f"{f} IS NOT NULL AND ({first_l} IS NULL OR {first_l} >= {last_f}) AND {within}"
    return f"""turns_{tag} AS (
  SELECT * FROM ({_columns(where)})
  WHERE {only} AND d IN (SELECT d FROM dom WHERE {first_l} < {last_f} AND {within})
), steps_{tag} AS (
  SELECT d, day, sum(delta)::INTEGER AS delta
  FROM (SELECT d, f AS day, 1 AS delta FROM turns_{tag}
        UNION ALL SELECT d, l, -1 FROM turns_{tag} WHERE l IS NOT NULL)
  GROUP BY d, day
), swept_{tag} AS (
  SELECT day, delta, sum(delta) OVER (PARTITION BY d ORDER BY day ROWS UNBOUNDED PRECEDING) AS live
  FROM steps_{tag}
), events_{tag} AS (
  SELECT {f} AS day, 1 AS came, 0 AS went FROM dom WHERE {stretch} AND ({last_l} IS NULL OR {last_l} > {f})
  UNION ALL SELECT {last_l}, 0, 1 FROM dom WHERE {stretch} AND {last_l} > {f}
  UNION ALL SELECT day, (live > 0 AND live = delta)::INTEGER, (live = 0 AND delta < 0)::INTEGER FROM swept_{tag}
)"""


def _events_sql(where: str, toxic_runs: tuple[int, ...] = ()) -> str:
    """Per day: the referring domains that came and went, the same for dofollow links only, the
    backlinks that came and went, and for each rank run of ``toxic_runs`` the referring domains
    it scored toxic that came and went (over the links ``where`` selects, lost ones included).
    The links are grouped by domain once for all the kinds of domain; the backlinks' days need no
    domain (nor its hash), so they are counted from a scan of their own."""
    follow = "FILTER (WHERE fo)"
    first, lost = day_sql("first_seen"), day_sql("lost_at")
    # Run ids are ints (inlined as such); each run's toxic domains by hash, and their events.
    toxic = [f"tox_{int(run)}" for run in toxic_runs]
    toxic_sets = "".join(
        f"{tag}_set AS (SELECT hash(domain) AS d FROM domain_ranks"
        f" WHERE run_id = {int(run)} AND toxicity >= {TOXIC_MIN_SCORE}),\n"
        for tag, run in zip(toxic, toxic_runs)
    )
    toxic_events = "".join(f", {_domain_events(where, tag, within=f'd IN (SELECT d FROM {tag}_set)')}" for tag in toxic)
    columns = ["came", "went", "fo_came", "fo_went", "links_came", "links_went"]
    columns += [f"{tag}_{side}" for tag in toxic for side in ("came", "went")]

    def row(values: dict[str, str]) -> str:
        return ", ".join(f"{values.get(c, '0')} AS {c}" for c in columns)

    parts = [
        f"SELECT day, {row({'came': 'came', 'went': 'went'})} FROM events_all",
        f"SELECT day, {row({'fo_came': 'came', 'fo_went': 'went'})} FROM events_fo",
        f"SELECT f AS day, {row({'links_came': 'count(*)'})} FROM link_days GROUP BY f",
        f"SELECT l AS day, {row({'links_went': 'count(*)'})} FROM link_days WHERE l IS NOT NULL GROUP BY l",
        *(f"SELECT day, {row({f'{tag}_came': 'came', f'{tag}_went': 'went'})} FROM events_{tag}" for tag in toxic),
    ]
    return f"""
WITH {toxic_sets}dom AS (
  SELECT d, min(f) AS f_all, max(f) AS last_f_all, min(l) AS first_l_all,
         CASE WHEN count(l) = count(*) THEN max(l) END AS l_all,
         min(f) {follow} AS f_fo, max(f) {follow} AS last_f_fo, min(l) {follow} AS first_l_fo,
         CASE WHEN count(l) {follow} = count(*) {follow} THEN max(l) {follow} END AS l_fo
  FROM ({_columns(where)}) GROUP BY d
), {_domain_events(where, "all")}, {_domain_events(where, "fo", only="fo", cols="fo")}{toxic_events},
link_days AS (
  SELECT {first} AS f, CASE WHEN lost_at IS NOT NULL THEN greatest({lost}, {first}) END AS l
  FROM links WHERE {where} AND first_seen IS NOT NULL
), all_days AS (
  {" UNION ALL ".join(parts)}
)
SELECT day, {", ".join(f"sum({c})::BIGINT" for c in columns)}
FROM all_days GROUP BY day ORDER BY day"""


# Reports a page calls together (trend, then growth) need the same changes: within
# shared_reads(store) they are read once. Keyed by the store object, so nothing outlives it.
_SHARED: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], Any]] = weakref.WeakKeyDictionary()


@contextmanager
def shared_reads(store: Store) -> Iterator[None]:
    """Within the block, the reports here read each target's changes from ``store`` once, not
    once per call (a write through the store in between reads them again)."""
    _SHARED[store] = {}
    try:
        yield
    finally:
        _SHARED.pop(store, None)


def day_changes(
    store: Store, target: Target, *, internal: bool = False, toxic_runs: tuple[int, ...] = ()
) -> DayChanges:
    """The :class:`DayChanges` of ``target`` (external links, or internal with ``internal``),
    with the toxic referring domains of each rank run of ``toxic_runs``."""
    memo = _SHARED.get(store)
    key = (target.kind, target.value, internal, store.generation)
    if memo is not None and key in memo and set(toxic_runs) <= set(memo[key].toxic):
        return memo[key]
    where, params = link_where(target, internal=internal, include_lost=True)
    sql = _events_sql(where, toxic_runs)
    rows = store.con.execute(sql, params * sql.count(where)).fetchall()  # each reading of the links
    days = [int(r[0]) for r in rows]

    def running(i: int) -> _Running:
        return _Running(days, [int(r[i]) for r in rows], [int(r[i + 1]) for r in rows])

    toxic = {run: running(7 + 2 * k) for k, run in enumerate(toxic_runs)}
    changes = DayChanges(days, running(1), running(3), running(5), toxic)
    if memo is not None:
        memo[key] = changes
    return changes
