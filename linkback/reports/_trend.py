"""A target over time: its stats for a period against a comparison period (:func:`trend`), its
referring domains per day, week or month (:func:`growth`) and the domains gained or lost in a
date range (:func:`churn`).

Point in time, by UTC day: a link counts on day D when it was first seen on or before D and not
lost by the end of D; a referring domain counts while one of its links does. A domain is *new*
on the day it goes from no counted link to one and *lost* on the day it goes back to none, so a
domain may come and go more than once, and the count at the end of a period is the count at its
start plus the new minus the lost: the bars of new and lost domains, the line of the count and
the lists behind a bar all agree.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from linkback.reports._changes import DayChanges, day_changes
from linkback.reports._domains import require_links
from linkback.reports._periods import (
    EPOCH,
    Period,
    buckets,
    compared,
    day_number,
    day_sql,
    from_number,
    parse_day,
    resolve,
    today,
)
from linkback.reports._ranks import domain_ranks_of, latest_run
from linkback.reports._select import as_target, check_choice, check_limit, link_where
from linkback.store import Store
from linkback.urls import Target

#: ``change`` choices of :func:`churn`.
CHANGES = ("new", "lost")

#: The stats :func:`trend` gives, one row each, in this order.
TREND_METRICS = (
    "referring_domains",
    "dofollow_referring_domains",
    "backlinks",
    "new_referring_domains",
    "lost_referring_domains",
    "dr",
    "trust",
    "toxic_share",
)
TREND_COLUMNS = (
    "metric",
    "value",
    "compare_value",
    "change",
    "change_share",
    "since",
    "until",
    "compare_since",
    "compare_until",
    "as_of",
    "compare_as_of",
)
GROWTH_COLUMNS = (
    "since",
    "until",
    "referring_domains",
    "new",
    "lost",
    "compare_since",
    "compare_until",
    "compare_referring_domains",
    "compare_new",
    "compare_lost",
)
CHURN_COLUMNS = ("domain", "change", "date", "links", "dr")

# --- trend -----------------------------------------------------------------------------------------


def _runs(store: Store) -> list[tuple[int, datetime]]:
    """(run_id, completed_at) of the completed rank runs, oldest first."""
    rows = store.con.execute(
        "SELECT run_id, completed_at::TIMESTAMP FROM rank_runs WHERE completed_at IS NOT NULL ORDER BY run_id"
    ).fetchall()
    return [(int(r), at.replace(tzinfo=timezone.utc)) for r, at in rows]


def _run_at(runs: list[tuple[int, datetime]], day: date) -> tuple[int, datetime] | None:
    """The newest run completed by the end of ``day``."""
    done = [run for run in runs if run[1].date() <= day]
    return done[-1] if done else None


def _change(value: Any, before: Any) -> tuple[Any, float | None]:
    if value is None or before is None:
        return None, None
    change = value - before
    return change, (change / before if before else None)


def _stats(
    changes: DayChanges, period: Period, run: tuple[int, datetime] | None, history: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    """The :data:`TREND_METRICS` of one period, the ranks from ``run`` (``history``: the target
    domain's row of each run)."""
    new, lost = changes.between(period)
    referring = changes.level(period.until)
    ranked = history.get(run[0]) if run else None
    return {
        "referring_domains": referring,
        "dofollow_referring_domains": changes.level(period.until, "dofollow"),
        "backlinks": changes.level(period.until, "links"),
        "new_referring_domains": new,
        "lost_referring_domains": lost,
        "dr": ranked["dr"] if ranked else None,
        "trust": ranked["trust"] if ranked else None,
        "toxic_share": changes.toxic_level(period.until, run[0]) / referring if run and referring else None,
        "as_of": run[1] if run else None,
    }


def trend(
    store: Store,
    target: str | Target,
    *,
    since: str | None = None,
    until: str | None = None,
    compare: str = "previous",
    internal: bool = False,
) -> list[dict[str, Any]]:
    """The stats of ``target`` for the days ``since``..``until`` (YYYY-MM-DD, both included;
    ``until`` defaults to today, UTC, ``since`` to the target's first link) against a
    comparison period: ``previous`` (as long, just before), ``year`` (a year earlier) or ``none``.

    One row per metric of :data:`TREND_METRICS`, with :data:`TREND_COLUMNS`: ``value`` for the
    period and ``compare_value`` for the comparison one, their ``change`` and ``change_share``
    (the change over the comparison value). ``referring_domains`` (all and dofollow) and
    ``backlinks`` count at the end of the period (point in time: see the module); the new and
    lost referring domains count within it. ``dr`` and ``trust`` (TrustRank) are the target
    domain's in the newest rank run completed by the period's end (``as_of``), and
    ``toxic_share`` the share of the referring domains at the end that run scored with a
    toxicity of :data:`TOXIC_MIN_SCORE` or more (a domain it does not know counts as not toxic);
    None without such a run.
    """
    from linkback.reports import domain_history  # noqa: PLC0415 - the registered function

    tgt = as_target(target)
    # The runs the periods end with are known before the links are read, so their toxic domains
    # are counted in the same statement. (Without ``since``, the first link's day is not known
    # yet: a "previous" period then ends before it, where no domain is there to be toxic.)
    end = parse_day("until", until) or today()
    bounds = resolve(since, end, end)
    other_end = compared(bounds, compare)
    runs = _runs(store)
    wanted = [_run_at(runs, day) for day in [end] + ([other_end.until] if other_end else [])]
    toxic_runs = tuple(sorted({run[0] for run in wanted if run is not None}))
    changes = day_changes(store, tgt, internal=internal, toxic_runs=toxic_runs)
    period = resolve(since, until, changes.first)
    other = compared(period, compare)
    periods = [period] + ([other] if other else [])
    run_of = [_run_at(runs, p.until) for p in periods]
    if not changes.days:
        require_links(store, tgt)
    history = {row["run_id"]: row for row in domain_history(store, tgt.domain)} if runs else {}
    stats = [_stats(changes, p, run, history) for p, run in zip(periods, run_of)]
    now, before = stats[0], stats[1] if other else None
    rows = []
    for metric in TREND_METRICS:
        rank_based = metric in ("dr", "trust", "toxic_share")
        value = now[metric]
        compare_value = before[metric] if before else None
        change, share = _change(value, compare_value)
        rows.append(
            {
                "metric": metric,
                "value": value,
                "compare_value": compare_value,
                "change": change,
                "change_share": share,
                "since": period.since,
                "until": period.until,
                "compare_since": other.since if other else None,
                "compare_until": other.until if other else None,
                "as_of": now["as_of"] if rank_based else None,
                "compare_as_of": before["as_of"] if rank_based and before else None,
            }
        )
    return rows


#: The metrics that are shares (shown as percentages) and ratings (one decimal).
_SHARES = ("toxic_share",)
_RATINGS = ("dr", "trust")


def _sign(value: float) -> str:
    return "+" if value > 0 else "\u2212" if value < 0 else ""  # a minus sign, not a hyphen


def shown_value(metric: str, value: Any, *, signed: bool = False) -> str:
    """A :func:`trend` value as people read it: counts with thousands separators, ratings with
    one decimal, shares as percentages (a change of a share in points); "" for None."""
    if value is None:
        return ""
    sign, size = (_sign(value), abs(value)) if signed else ("", value)
    if metric in _SHARES:
        return f"{sign}{size * 100:.1f}{' pts' if signed else '%'}"
    if metric in _RATINGS:
        return f"{sign}{size:.1f}"
    return f"{sign}{size:,}"


def shown_change(row: dict[str, Any]) -> str:
    """``+12 (+4.1%)``, ``\u22123``, ``0``: a :func:`trend` row's change and its share of the
    comparison value; "" when there is nothing to compare."""
    if row["change"] is None:
        return ""
    text = shown_value(row["metric"], row["change"], signed=True) or "0"
    share = row["change_share"]
    if share is not None and row["metric"] not in _SHARES:
        text += f" ({_sign(share)}{abs(share):.1%})"
    return text


# --- growth --------------------------------------------------------------------------------------


def growth(
    store: Store,
    target: str | Target,
    *,
    since: str | None = None,
    until: str | None = None,
    by: str = "day",
    compare: str = "none",
    internal: bool = False,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The referring domains of ``target`` per day, week or month of ``since``..``until``
    (defaults as :func:`trend`), oldest first, with :data:`GROWTH_COLUMNS`; ``limit`` keeps the
    latest periods.

    Each row is one ``by`` period (weeks start on Monday; the first and last are cut at the
    ends): ``since``..``until``, the ``referring_domains`` at its end and the ``new`` and
    ``lost`` ones in it (non-cumulative). With ``compare`` (``previous`` or ``year``, as for
    :func:`trend`), the ``compare_*`` columns give the same for the days at the same offset in
    the comparison period, for a line beside this one; None where that period is shorter.
    """
    tgt = as_target(target)
    changes = day_changes(store, tgt, internal=internal)
    period = resolve(since, until, changes.first)
    other = compared(period, compare)
    check_limit(limit)
    if not changes.days:
        require_links(store, tgt)
    rows = []
    cut = buckets(period, by, last=limit)
    for bucket in cut[max(len(cut) - limit, 0) :] if limit is not None else cut:
        new, lost = changes.between(bucket)
        row: dict[str, Any] = {
            "since": bucket.since,
            "until": bucket.until,
            "referring_domains": changes.level(bucket.until),
            "new": new,
            "lost": lost,
            **dict.fromkeys(GROWTH_COLUMNS[5:]),
        }
        if other is not None:
            start = other.since + (bucket.since - period.since)
            end = min(other.since + (bucket.until - period.since), other.until)
            if start <= end:
                twin = Period(start, end)
                row["compare_since"], row["compare_until"] = start, end
                row["compare_referring_domains"] = changes.level(end)
                row["compare_new"], row["compare_lost"] = changes.between(twin)
        rows.append(row)
    return rows


# --- churn ---------------------------------------------------------------------------------------


def churn(
    store: Store,
    target: str | Target,
    *,
    since: str | None = None,
    until: str | None = None,
    change: str | None = None,
    internal: bool = False,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The referring domains ``target`` gained or lost on the days ``since``..``until`` (defaults
    as :func:`trend`), newest first, with :data:`CHURN_COLUMNS`: ``change`` is ``new`` or
    ``lost`` (only those with ``change``), ``date`` the day, ``links`` how many of its links
    counted at the end of that day (new) or the day before (lost), and ``dr`` its Domain Rating
    in the newest rank run. A domain that came and went twice is listed twice. These are the
    domains behind the ``new`` and ``lost`` counts of :func:`growth`."""
    tgt = as_target(target)
    if change is not None:
        check_choice("change", change, CHANGES)
    limit_sql, limit_params = check_limit(limit)
    period = resolve(since, until, EPOCH)  # no since: all time
    low, high = day_number(period.since), day_number(period.until)
    first, lost = day_sql("first_seen"), day_sql("lost_at")
    where, params = link_where(tgt, internal=internal, include_lost=True)
    wanted = {None: "", "new": "AND live > 0", "lost": "AND live = 0"}[change]
    # Only the domains with a link that came or went in the range need sweeping (every link of
    # theirs, to know the count before the range).
    sql = f"""
WITH sel AS (
  SELECT source_domain AS d, {first} AS f,
         CASE WHEN lost_at IS NOT NULL THEN greatest({lost}, {first}) END AS l
  FROM links WHERE {where} AND first_seen IS NOT NULL
), steps AS (
  SELECT d, day, sum(delta)::INTEGER AS delta
  FROM (SELECT d, f AS day, 1 AS delta FROM sel UNION ALL SELECT d, l, -1 FROM sel WHERE l IS NOT NULL)
  WHERE d IN (SELECT d FROM sel WHERE f BETWEEN {low} AND {high} OR l BETWEEN {low} AND {high})
  GROUP BY d, day
), swept AS (
  SELECT d, day, delta, sum(delta) OVER (PARTITION BY d ORDER BY day ROWS UNBOUNDED PRECEDING) AS live FROM steps
)
SELECT d AS domain, CASE WHEN live > 0 THEN 'new' ELSE 'lost' END AS change, day,
       CASE WHEN live > 0 THEN live ELSE -delta END AS links
FROM swept
WHERE day BETWEEN {low} AND {high} AND ((live > 0 AND live = delta) OR (live = 0 AND delta < 0)) {wanted}
ORDER BY day DESC, change DESC, links DESC, domain{limit_sql}"""
    rows = store.con.execute(sql, params + limit_params).fetchall()
    if not rows:
        require_links(store, tgt)
    run = latest_run(store.con)
    ranks = domain_ranks_of(store.con, run[0] if run else None, (r[0] for r in rows))
    return [
        {"domain": d, "change": c, "date": from_number(day), "links": int(n), "dr": ranks.get(d, (None, None))[0]}
        for d, c, day, n in rows
    ]
