"""Referral-traffic reports over ``visits`` (one function, three faces each).

Each takes a TARGET as the backlink reports do (a domain with all its hosts, a host, or a URL
prefix): the visits that landed on it. Periods are UTC days: ``since``/``until`` (YYYY-MM-DD,
both included) or a ``period`` preset (``7d``, ``30d``, ``90d``, ``12m``, ``all``) ending on
``until`` — by default the day of the target's latest visit, so an old log reads as it was.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from linkback.faces import report
from linkback.reports._periods import GROWTH_PERIODS, PRESETS, parse_day, preset_since
from linkback.reports._select import as_target, check_choice, check_limit, fetch_rows, link_where, target_clauses
from linkback.traffic._channels import CHANNELS

if TYPE_CHECKING:
    from linkback.store import Store

__all__ = [
    "SILENT_COLUMNS",
    "TRAFFIC_COLUMNS",
    "TRAFFIC_GROUPS",
    "TREND_COLUMNS",
    "VISIT_IMPORT_COLUMNS",
    "link_visits",
    "refdomain_visits",
    "silent_backlinks",
    "traffic",
    "traffic_trend",
    "visit_imports",
]

#: Columns of :func:`traffic`.
TRAFFIC_COLUMNS = ("channel", "source", "referrer", "domain", "visits", "share", "backlinks")
#: ``by`` choices of :func:`traffic`: channels, then sources, then referring pages.
TRAFFIC_GROUPS = ("channel", "source", "referrer")
#: Columns of :func:`traffic_trend`.
TREND_COLUMNS = ("period", "domain", "visits")
#: Columns of :func:`silent_backlinks`.
SILENT_COLUMNS = ("source_url", "target_url", "anchor", "source_domain", "first_seen", "last_visit", "since", "until")
#: Columns of :func:`visit_imports`.
VISIT_IMPORT_COLUMNS = (
    "import_id", "name", "format", "site", "lines", "parsed", "visits", "added", "skipped", "dropped", "errors",
    "first_visit", "last_visit", "first_read_at", "read_at",
)  # fmt: skip


def _us(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _window(
    store: Store, clauses: list[str], params: list[Any], since: str | None, until: str | None, period: str | None
) -> tuple[date | None, date | None]:
    """The days a report covers: ``since``..``until``, or ``period`` ending on ``until`` (default:
    the day of the latest visit that matches ``clauses``). (None, None) is all time."""
    end = parse_day("until", until)
    start = parse_day("since", since)
    if period is not None and period != "all":
        check_choice("period", period, PRESETS)
        if end is None:
            (last,) = store.con.execute(
                f"SELECT max(visited_at) FROM visits WHERE {' AND '.join(clauses)}", params
            ).fetchall()[0]
            end = last.astimezone(UTC).date() if last is not None else datetime.now(UTC).date()
        start = preset_since(period, end)
    if start is not None and end is not None and start > end:
        raise ValueError(f"since {start} is after until {end}")
    return start, end


def _time_clauses(start: date | None, end: date | None) -> tuple[list[str], list[Any]]:
    clauses, params = [], []
    if start is not None:
        clauses.append("visited_at >= ?")
        params.append(_us(start))
    if end is not None:
        clauses.append("visited_at < ?")
        params.append(_us(end + timedelta(days=1)))
    return clauses, params


@report(columns=TRAFFIC_COLUMNS)
def traffic(
    store: Store,
    target: str,
    *,
    by: str = "channel",
    channel: str | None = None,
    source: str | None = None,
    since: str | None = None,
    until: str | None = None,
    period: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The visits that landed on ``target``, most first, by channel (``by="channel"``), by source
    within its channel (``"source"``), or by referring page (``"referrer"``: the referrer as the
    browser sent it, often only the site's origin) — Plausible's channels → sources → referrers.
    ``channel`` and ``source`` keep one channel or source (the drill-down). ``share`` is the
    row's fraction of the visits selected (before ``limit``); ``domain`` the referring domain
    (the most common one of a source); ``backlinks`` (by referrer) the live links from that page
    to the target in the index, tying the visits to the backlinks that sent them."""
    check_choice("by", by, TRAFFIC_GROUPS)
    if channel is not None:
        check_choice("channel", channel, CHANNELS)
    tgt = as_target(target)
    clauses, params = target_clauses(tgt)
    start, end = _window(store, clauses, params, since, until, period)
    more, more_params = _time_clauses(start, end)
    clauses, params = clauses + more, params + more_params
    for column, value in (("channel", channel), ("source", source)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    keys = {"channel": ["channel"], "source": ["channel", "source"], "referrer": ["channel", "source", "source_url"]}[
        by
    ]
    domain = "mode(source_domain)" if by != "referrer" else "any_value(source_domain)"
    limit_sql, limit_params = check_limit(limit)
    sql = f"""
        SELECT {", ".join(keys)}, {domain} AS domain, sum(visits)::BIGINT AS visits,
               sum(visits) / sum(sum(visits)) OVER () AS share
        FROM visits WHERE {" AND ".join(clauses)}
        GROUP BY {", ".join(keys)}
        ORDER BY visits DESC, {", ".join(f"{k} NULLS LAST" for k in keys)}{limit_sql}"""
    rows = fetch_rows(store.con, sql, params + limit_params)
    counts = _links_from(store, tgt, [r["source_url"] for r in rows if r.get("source_url")]) if by == "referrer" else {}
    out = []
    for r in rows:
        ref = r.get("source_url")
        out.append({
            "channel": r["channel"],
            "source": r.get("source") if by != "channel" else None,
            "referrer": ref,
            "domain": r["domain"] if by != "channel" else None,
            "visits": r["visits"],
            "share": r["share"],
            "backlinks": counts.get(ref, 0) if by == "referrer" and ref else None,
        })  # fmt: skip
    return out


def _links_from(store: Store, target: Any, pages: list[str]) -> dict[str, int]:
    """Live external links from each of ``pages`` to ``target`` in the index."""
    if not pages:
        return {}
    where, params = link_where(target)
    rows = store.con.execute(
        f"SELECT source_url, count(*) FROM links WHERE {where} AND source_url IN (SELECT unnest(?::VARCHAR[])) "
        "GROUP BY source_url",
        [*params, pages],
    ).fetchall()
    return {url: int(n) for url, n in rows}


@report(columns=TREND_COLUMNS)
def traffic_trend(
    store: Store,
    target: str,
    *,
    by: str = "day",
    channel: str | None = None,
    since: str | None = None,
    until: str | None = None,
    period: str | None = None,
    limit: int | None = 10,
) -> list[dict[str, Any]]:
    """Visits to ``target`` over time from each of its ``limit`` most visiting referring domains
    (``None``: all): one row per period (``by`` day, week from Monday, or month; ``period`` is its
    first day) and domain with visits in it, in time order. ``channel`` keeps one channel."""
    check_choice("by", by, GROWTH_PERIODS)
    if channel is not None:
        check_choice("channel", channel, CHANNELS)
    tgt = as_target(target)
    clauses, params = target_clauses(tgt)
    start, end = _window(store, clauses, params, since, until, period)
    more, more_params = _time_clauses(start, end)
    clauses, params = clauses + more + ["source_domain IS NOT NULL"], params + more_params
    if channel is not None:
        clauses.append("channel = ?")
        params.append(channel)
    where = " AND ".join(clauses)
    limit_sql, limit_params = check_limit(limit)
    bucket = {"day": "day", "week": "week", "month": "month"}[by]
    sql = f"""
        WITH v AS (SELECT visited_at, source_domain, visits FROM visits WHERE {where}),
        top AS (SELECT source_domain FROM v GROUP BY source_domain
                ORDER BY sum(visits) DESC, source_domain{limit_sql})
        SELECT date_trunc('{bucket}', (visited_at AT TIME ZONE 'UTC'))::DATE AS period, source_domain AS domain,
               sum(visits)::BIGINT AS visits
        FROM v SEMI JOIN top USING (source_domain)
        GROUP BY ALL ORDER BY period, visits DESC, domain"""
    return fetch_rows(store.con, sql, params + limit_params)


@report(columns=SILENT_COLUMNS)
def silent_backlinks(
    store: Store, target: str, *, days: int = 90, until: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """The live backlinks to ``target`` that sent no visit in the ``days`` days up to ``until``
    (default: the day of the target's latest visit, so the window is one the logs cover).

    A backlink sent a visit when a visit that landed on the target came from its page; a visit
    whose referrer is only a site's origin (``https://blog.example.org/``, what browsers send
    across sites by default) may have come from any page of that host, so no backlink on that
    host is called silent. ``last_visit`` is the page's latest visit at any time (None: never).
    Raises ValueError when no visit to the target is stored: without logs nothing is silent.
    """
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 36_500:
        raise ValueError(f"days must be a whole number from 1 to 36500 (a century), not {days!r}")
    tgt = as_target(target)
    clauses, params = target_clauses(tgt)
    v_where = " AND ".join(clauses)
    end = parse_day("until", until)
    if end is None:
        (last,) = store.con.execute(f"SELECT max(visited_at) FROM visits WHERE {v_where}", params).fetchall()[0]
        if last is None:
            raise ValueError(f"no visits to {tgt.value} are stored: read its access logs with 'linkback visits' first")
        end = last.astimezone(UTC).date()
    start = end - timedelta(days=days - 1)
    l_where, l_params = link_where(tgt)
    limit_sql, limit_params = check_limit(limit)
    sql = f"""
        WITH v AS (SELECT source_url, source_host, visited_at FROM visits
                   WHERE {v_where} AND source_url IS NOT NULL),
        recent AS (SELECT * FROM v WHERE visited_at >= ? AND visited_at < ?),
        pages AS (SELECT DISTINCT source_url FROM recent),
        origins AS (SELECT DISTINCT source_host FROM recent
                    WHERE source_url IN ('http://' || source_host || '/', 'https://' || source_host || '/')),
        last AS (SELECT source_url, max(visited_at) AS last_visit FROM v GROUP BY source_url)
        SELECT l.source_url, l.target_url, l.anchor, l.source_domain, l.first_seen, last.last_visit,
               ?::DATE AS since, ?::DATE AS until
        FROM links l LEFT JOIN last USING (source_url)
        WHERE {l_where}
          AND l.source_url NOT IN (SELECT source_url FROM pages)
          AND l.source_host NOT IN (SELECT source_host FROM origins)
        ORDER BY l.source_domain, l.source_url, l.target_url, l.anchor{limit_sql}"""
    args = [*params, _us(start), _us(end + timedelta(days=1)), start, end, *l_params, *limit_params]
    return fetch_rows(store.con, sql, args, utc_columns=("first_seen", "last_visit"))


@report(columns=VISIT_IMPORT_COLUMNS)
def visit_imports(store: Store, *, limit: int | None = None) -> list[dict[str, Any]]:
    """The traffic files read (``linkback visits``), newest first: format, lines, visits kept and
    new at the latest read, lines refused, requests dropped by reason (``dropped``, JSON) and the
    first refused lines (``errors``, JSON list of ``{line, reason}``; of a file read only up to
    damage, the first entry is the damage, after its last line read, marked ``rest_unread``)."""
    limit_sql, limit_params = check_limit(limit)
    return fetch_rows(
        store.con,
        f"SELECT {', '.join(VISIT_IMPORT_COLUMNS)} FROM visit_imports WHERE read_at IS NOT NULL "
        f"ORDER BY read_at DESC, import_id DESC{limit_sql}",
        limit_params,
        utc_columns=("first_visit", "last_visit", "first_read_at", "read_at"),
    )


# --------------------------------------------------------------------------- for the link reports


def _has_visits(store: Store) -> bool:
    return bool(store.con.execute("SELECT 1 FROM visits LIMIT 1").fetchall())


def link_visits(store: Store, target: Any, rows: list[dict[str, Any]]) -> list[int]:
    """For each backlink row (``source_url``, ``target_url``), the visits that came from its page
    and landed on its target (the same URL up to http/https and ``www.``)."""
    if not rows or not _has_visits(store):
        return [0] * len(rows)
    clauses, params = target_clauses(as_target(target))
    pages = sorted({r["source_url"] for r in rows})
    found = store.con.execute(
        f"SELECT source_url, regexp_replace(target_url, '^https?://(www\\.)?', '') AS landing, sum(visits)::BIGINT "
        f"FROM visits WHERE {' AND '.join(clauses)} AND source_url IN (SELECT unnest(?::VARCHAR[])) GROUP BY ALL",
        [*params, pages],
    ).fetchall()
    counts = {(src, landing): int(n) for src, landing, n in found}
    return [counts.get((r["source_url"], _landing(r["target_url"])), 0) for r in rows]


def _landing(url: str | None) -> str:
    if not url:
        return ""
    rest = url.split("://", 1)[-1]
    return rest[4:] if rest.startswith("www.") else rest


def refdomain_visits(store: Store, target: Any, domains: list[str]) -> dict[str, int]:
    """Visits to ``target`` from each referring domain in ``domains`` (any of its pages, origin-only
    referrers included)."""
    if not domains or not _has_visits(store):
        return {}
    clauses, params = target_clauses(as_target(target))
    found = store.con.execute(
        f"SELECT source_domain, sum(visits)::BIGINT FROM visits WHERE {' AND '.join(clauses)} "
        "AND source_domain IN (SELECT unnest(?::VARCHAR[])) GROUP BY source_domain",
        [*params, sorted(set(domains))],
    ).fetchall()
    return {d: int(n) for d, n in found}
