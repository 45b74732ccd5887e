"""Competitors side by side: :func:`compare` gives one row per target (its links, ranks, new and lost
referring domains, anchor classes and DR bands), :func:`compare_trend` their referring domains
over time, for one chart.

Both count as :func:`~linkback.reports.trend` does, point in time by UTC day: a link counts at the
end of day D when it was first seen on or before D and not lost by the end of D. So for each
target, compare's numbers are trend's for the same period (``referring_domains``, ``backlinks``,
the new and lost referring domains, DR and TrustRank) and compare_trend's rows are growth's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from linkback.faces import report
from linkback.quality._anchors import ANCHOR_CLASSES
from linkback.reports._changes import _columns, _domain_events
from linkback.reports._domains import require_links
from linkback.reports._overview import _DR_BAND
from linkback.reports._periods import (
    MAX_PERIODS,
    Period,
    count_cut,
    cut_start,
    day_number,
    day_sql,
    from_number,
    parse_day,
    resolve,
    today,
)
from linkback.reports._ranks import DR_BUCKETS, _string_literal
from linkback.reports._select import DOFOLLOW, as_target, check_limit, link_where, target_clauses
from linkback.reports._trend import _run_at, _runs, growth
from linkback.store import Store
from linkback.urls import Target

#: The most targets one call takes: each costs a few statements over its links.
MAX_TARGETS = 100

COMPARE_COLUMNS = (
    "target",
    "target_kind",
    "since",
    "until",
    "referring_domains",
    "dofollow_referring_domains",
    "backlinks",
    "dofollow",
    "dofollow_share",
    "new_referring_domains",
    "lost_referring_domains",
    "dr",
    "trust",
    "as_of",
    *(f"anchors_{cls}" for cls in ANCHOR_CLASSES),
    *(f"refdomains_dr_{low}_{high}" for low, high in DR_BUCKETS),
)
COMPARE_TREND_COLUMNS = ("target", "since", "until", "referring_domains", "new", "lost")


def parse_targets(targets: str | Sequence[str | Target], *, name: str = "targets") -> list[Target]:
    """The distinct targets of ``targets`` in the order given (a target given twice, in any
    spelling that reads the same, counts once); a clear error for none or too many."""
    given = [targets] if isinstance(targets, (str, Target)) else list(targets or ())
    distinct: dict[tuple[str, str], Target] = {}
    for text in given:
        tgt = as_target(text)
        distinct.setdefault((tgt.kind, tgt.value), tgt)
    if not distinct and name == "targets":
        raise ValueError("targets: give at least one domain, host or URL prefix")
    if len(distinct) > MAX_TARGETS:
        raise ValueError(f"{name}: {len(distinct)} given, at most {MAX_TARGETS} at once")
    return list(distinct.values())


def require_each(store: Store, tgts: list[Target]) -> None:
    """:func:`~linkback.reports._domains.require_links` for each target: whether each has a link
    at all is asked in one statement (a LIMIT 1 over its range each), and the error, with the
    close matches, is raised for the first that has none."""
    probes, params = [], []
    for i, tgt in enumerate(tgts):
        clauses, p = target_clauses(tgt)
        probes.append(f"(SELECT {i} AS t FROM links WHERE {' AND '.join(clauses)} LIMIT 1)")
        params += p
    found = {t for (t,) in store.con.execute(" UNION ALL ".join(probes), params).fetchall()} if probes else set()
    for i, tgt in enumerate(tgts):
        if i not in found:
            require_links(store, tgt)


def _end_of(day: date) -> datetime:
    """The first instant after ``day`` (UTC): a link counts at the end of ``day`` when it was
    first seen before this and not lost before it."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=timezone.utc)


def _at_end(where: str) -> str:
    """``where`` narrowed to the links counted at the end of a day (two parameters: its end)."""
    return f"{where} AND first_seen < ? AND (lost_at IS NULL OR lost_at >= ?)"


def _union(tgts: list[Target], select: str, end: datetime) -> tuple[str, list[Any]]:
    """``select`` (with ``{t}`` for the target's number and ``{where}``) over each target's
    external links counted at ``end``, as one UNION ALL."""
    parts, params = [], []
    for i, tgt in enumerate(tgts):
        where, p = link_where(tgt, include_lost=True)
        parts.append(select.format(t=i, where=_at_end(where)))
        params += [*p, end, end]
    return " UNION ALL ".join(parts), params


# --- compare ---------------------------------------------------------------------------------------


@report(columns=COMPARE_COLUMNS)
def compare(
    store: Store, targets: list[str], *, since: str | None = None, until: str | None = None
) -> list[dict[str, Any]]:
    """Each of ``targets`` (domains, hosts or URL prefixes; any number up to :data:`MAX_TARGETS`,
    one row each in the order given, a repeated one once) side by side, with
    :data:`COMPARE_COLUMNS`, for the days ``since``..``until`` (YYYY-MM-DD; ``until`` defaults to
    today, UTC, ``since`` to each target's first link).

    At the end of the period: ``referring_domains`` (and ``dofollow_referring_domains``, those
    with a followed link), ``backlinks``, the ``dofollow`` ones and their ``dofollow_share``;
    the ``anchors_<class>`` columns count those backlinks by anchor class (as
    :func:`~linkback.reports.anchors` classes them, with each target's brand and keywords) and
    the ``refdomains_dr_<low>_<high>`` columns the referring domains by DR band. In the period:
    ``new_referring_domains`` and ``lost_referring_domains``. ``dr`` and ``trust`` (TrustRank)
    are the target domain's, from the newest rank run completed by the period's end (``as_of``),
    which also rates the referring domains; None, and no DR bands, without such a run. Each
    target's numbers are :func:`~linkback.reports.trend`'s for the same period.
    """
    tgts = parse_targets(targets)
    end = parse_day("until", until) or today()
    start = parse_day("since", since)
    resolve(start, end, None)  # since after until: the error trend gives
    require_each(store, tgts)  # a typo is an error before any work
    run = _run_at(_runs(store), end)
    ranks = _target_ranks(store, tgts, run[0] if run else None)
    links = _backlinks(store, tgts, _end_of(end))
    domains = _domains(store, tgts, start, end, run[0] if run else None)
    rows = []
    for i, tgt in enumerate(tgts):
        referring = domains[i]
        new, lost = referring.pop("new"), referring.pop("lost")
        period = resolve(start, end, referring.pop("first"))  # (no first day: only internal links)
        counted = links[i]
        dr, trust = ranks.get(tgt.domain, (None, None))
        rows.append(
            {
                "target": tgt.value,
                "target_kind": tgt.kind,
                "since": period.since,
                "until": period.until,
                **referring,
                "backlinks": counted["backlinks"],
                "dofollow": counted["dofollow"],
                "dofollow_share": counted["dofollow"] / counted["backlinks"] if counted["backlinks"] else None,
                "new_referring_domains": new,
                "lost_referring_domains": lost,
                "dr": dr,
                "trust": trust,
                "as_of": run[1] if run else None,
                **{f"anchors_{cls}": counted["classes"][cls] for cls in ANCHOR_CLASSES},
            }
        )
    return [{k: row[k] for k in COMPARE_COLUMNS} for row in rows]


def _target_ranks(store: Store, tgts: list[Target], run_id: int | None) -> dict[str, tuple[float, float]]:
    """(dr, trust) of the targets' domains in run ``run_id``: an IN list of literals, which DuckDB
    answers from the run's index (see linkback.reports._ranks)."""
    if run_id is None:
        return {}
    keys = ", ".join(_string_literal(d) for d in sorted({t.domain for t in tgts}))
    rows = store.con.execute(
        f"SELECT domain, dr, trust FROM domain_ranks WHERE domain IN ({keys}) AND run_id = ?", [run_id]
    ).fetchall()
    return {domain: (dr, trust) for domain, dr, trust in rows}


def _domains(store: Store, tgts: list[Target], since: date | None, until: date, run_id: int | None) -> list[dict]:
    """Per target, from one reading of its links (live and lost) grouped by referring domain:
    the day of its first external link (``first``), its new and lost referring domains in
    ``since``..``until`` by trend's own events (linkback.reports._changes; for all referring
    domains only, a third of the aggregates trend computes), and the referring domains at the end
    of ``until``, those with a followed link, and how many run ``run_id`` rates in each DR band
    (None without a run). All targets in one statement; domains by their 64-bit hash, as trend
    counts them."""
    low = day_number(since) if since is not None else -(2**31)
    high = day_number(until)
    live = f"f <= {high} AND (l IS NULL OR l > {high})"  # counted at the end of ``until``
    parts, params = [], []
    for i, tgt in enumerate(tgts):
        where, p = link_where(tgt, include_lost=True)
        part = f"""(
WITH dom AS (
  SELECT d, min(f) AS f_all, max(f) AS last_f_all, min(l) AS first_l_all,
         CASE WHEN count(l) = count(*) THEN max(l) END AS l_all,
         bool_or({live}) AS live, bool_or(fo AND {live}) AS live_fo
  FROM ({_columns(where)}) GROUP BY d
), {_domain_events(where, "all")}
SELECT {i} AS t, NULL::UBIGINT AS d, NULL::BOOLEAN AS fo, (SELECT min(f_all) FROM dom) AS first,
       coalesce(sum(came) FILTER (WHERE day BETWEEN {low} AND {high}), 0)::BIGINT AS new,
       coalesce(sum(went) FILTER (WHERE day BETWEEN {low} AND {high}), 0)::BIGINT AS lost
FROM events_all
UNION ALL SELECT {i}, d, live_fo, NULL, NULL, NULL FROM dom WHERE live)"""
        parts.append(part)
        params += p * part.count(where)  # each reading of the links takes its parameters
    band, ranks = "NULL::INTEGER", "(SELECT NULL::UBIGINT AS d, NULL::DOUBLE AS dr WHERE false)"
    if run_id is not None:
        band, ranks = _DR_BAND, f"(SELECT hash(domain) AS d, dr FROM domain_ranks WHERE run_id = {int(run_id)})"
    # The events' row of each target (no d), and its referring domains at the end by DR band.
    sql = f"""
SELECT t, d IS NULL AS events, any_value(first), sum(new)::BIGINT, sum(lost)::BIGINT, {band} AS band,
       count(d), count(d) FILTER (WHERE fo)
FROM ({" UNION ALL ".join(parts)}) s LEFT JOIN {ranks} r USING (d)
GROUP BY ALL"""
    bands = [f"refdomains_dr_{low}_{high}" for low, high in DR_BUCKETS]
    out: list[dict[str, Any]] = [
        {"referring_domains": 0, "dofollow_referring_domains": 0, **dict.fromkeys(bands, None if run_id is None else 0)}
        for _ in tgts
    ]
    for t, events, first, new, lost, rated, n, fo in store.con.execute(sql, params).fetchall():
        row = out[t]
        if events:
            row.update(first=from_number(first) if first is not None else None, new=int(new), lost=int(lost))
            continue
        row["referring_domains"] += n
        row["dofollow_referring_domains"] += fo
        if rated is not None:
            row[bands[rated]] += n
    return out


def _backlinks(store: Store, tgts: list[Target], end: datetime) -> list[dict[str, Any]]:
    """Per target: its backlinks at ``end``, the dofollow ones, and how many have each anchor
    class. Anchors are grouped as :func:`~linkback.reports.anchors` groups them (an anchor is an
    image's when every link with it is an image link); each distinct anchor text is classified
    once here (see :class:`_Classifier`), and the links are counted by class in SQL."""
    union, params = _union(
        tgts,
        f"SELECT {{t}} AS t, coalesce(anchor, '') AS anchor, kind = 'image' AS image, {DOFOLLOW} AS fo "
        "FROM links WHERE {where}",
        end,
    )
    grouped = store.con.sql(
        f"""SELECT t, anchor, bool_and(image) AS image, count(*) AS n, count(*) FILTER (WHERE fo) AS fo
        FROM ({union}) GROUP BY t, anchor""",
        params=params,
    ).to_arrow_table()
    texts = pc.unique(grouped.column("anchor")).to_pylist()
    classes, overrides = _Classifier(store, tgts).tables(texts)  # noqa: F841 - read by the SQL below
    # A blank anchor's class is the link's: an image's (all its links are images) or empty.
    rows = store.con.execute(
        """SELECT g.t, CASE WHEN o.cls IS NOT NULL THEN o.cls
                            WHEN c.cls = 'empty' AND g.image THEN 'image' ELSE c.cls END AS cls,
                  sum(g.n)::BIGINT, sum(g.fo)::BIGINT
        FROM grouped g JOIN classes c USING (anchor) LEFT JOIN overrides o USING (t, anchor)
        GROUP BY ALL"""
    ).fetchall()
    out = [{"backlinks": 0, "dofollow": 0, "classes": dict.fromkeys(ANCHOR_CLASSES, 0)} for _ in tgts]
    for t, cls, n, fo in rows:
        out[t]["backlinks"] += n
        out[t]["dofollow"] += fo
        out[t]["classes"][cls] += n
    return out


class _Classifier:
    """The anchor classes of many targets' anchors, as anchors() gives them with each target's
    brand and keywords, classifying each distinct text once where the target does not matter.

    Targets' anchors are mostly the same strings ("click here", the same phrases), so each text
    is classified once with no site's terms. A target's terms only decide branded, exact_match
    and partial_match, tried after naked_url and before generic; so a text that then reads
    generic or other is classified again for a target only if its words spell one of the
    target's brand terms (any text, for a target with keywords). The target's host matters only
    to a host-like text (naked_url when it is the target's own host under an unknown suffix):
    those, with a dot or a slash, are looked up per target."""

    def __init__(self, store: Store, tgts: list[Target]) -> None:
        from linkback.quality._anchors import AnchorProfile, _words, classify_anchor  # noqa: PLC0415
        from linkback.quality._toxicity import _profile  # noqa: PLC0415 - quality reads reports: import late

        self.words, self.classify = _words, classify_anchor
        self.neutral = AnchorProfile()
        self.profiles = [_profile(store.con, tgt) for tgt in tgts]
        self.brands = [tuple(b.replace(" ", "") for b in p.brands) for p in self.profiles]
        self.urls = [tgt.value if "://" in tgt.value else f"https://{tgt.value}" for tgt in tgts]

    def tables(self, texts: list[str]) -> tuple[pa.Table, pa.Table]:
        """(anchor, cls) of each text with no site's terms (``empty`` for a blank one), and the
        (t, anchor, cls) where target ``t`` gives a text another class."""
        classify, neutral, urls = self.classify, self.neutral, self.urls
        base = [classify(text, kind="text", target_url=urls[0], profile=neutral) for text in texts]
        every_brand = {term for terms in self.brands for term in terms}
        keywords = any(p.keywords for p in self.profiles)
        over_t, over_text, over_cls = [], [], []
        for text, cls in zip(texts, base, strict=True):
            hostlike = "." in text or "/" in text
            if not hostlike:  # most texts: no target can change their class
                if cls not in ("generic", "other"):
                    continue
                if not keywords:
                    compact = "".join(self.words(text))
                    if not any(term in compact for term in every_brand):
                        continue
            for t, mine in enumerate(self._per_target(text, cls, hostlike)):
                if mine != cls:
                    over_t.append(t)
                    over_text.append(text)
                    over_cls.append(mine)
        classes = pa.table({"anchor": pa.array(texts, pa.string()), "cls": pa.array(base, pa.string())})
        overrides = pa.table(
            {
                "t": pa.array(over_t, pa.int32()),
                "anchor": pa.array(over_text, pa.string()),
                "cls": pa.array(over_cls, pa.string()),
            }
        )
        return classes, overrides

    def _per_target(self, text: str, cls: str, hostlike: bool) -> list[str]:
        """The class of ``text`` for each target (``cls``: its class with no site's terms)."""
        out = []
        compact = None
        for t, profile in enumerate(self.profiles):
            url = self.urls[t]
            mine = self.classify(text, kind="text", target_url=url, profile=self.neutral) if hostlike and t else cls
            if mine in ("generic", "other"):
                if not profile.keywords:
                    compact = compact if compact is not None else "".join(self.words(text))
                    if not any(term in compact for term in self.brands[t]):
                        out.append(mine)
                        continue
                mine = self.classify(text, kind="text", target_url=url, profile=profile)
            out.append(mine)
        return out


# --- compare_trend ---------------------------------------------------------------------------------


@report(columns=COMPARE_TREND_COLUMNS)
def compare_trend(
    store: Store,
    targets: list[str],
    *,
    since: str | None = None,
    until: str | None = None,
    by: str = "day",
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The referring domains of each of ``targets`` per day, week or month of ``since``..``until``
    (``until`` defaults to today, UTC, ``since`` to the first link of any of them, so every
    target has the same periods), with :data:`COMPARE_TREND_COLUMNS`: the target, the period, its
    referring domains at the period's end and the new and lost ones in it. Each target's rows are
    :func:`~linkback.reports.growth`'s, in the order the targets were given, oldest period
    first; ``limit`` keeps the latest periods of each. More than
    :data:`~linkback.reports._periods.MAX_PERIODS` rows in all (targets × periods) is a clear
    error, given before their links are read."""
    tgts = parse_targets(targets)
    check_limit(limit)
    if since is None:
        firsts = [day for day in (_first_day(store, tgt) for tgt in tgts) if day is not None]
        start = min(firsts) if firsts else None
    else:
        start = parse_day("since", since)
    _check_rows(len(tgts), resolve(start, until, None), by, limit)
    rows = []
    for tgt in tgts:
        for row in growth(store, tgt, since=start.isoformat() if start else None, until=until, by=by, limit=limit):
            rows.append({"target": tgt.value, **{k: row[k] for k in COMPARE_TREND_COLUMNS[1:]}})
    return rows


def _check_rows(targets: int, period: Period, by: str, limit: int | None) -> None:
    """ValueError, before any target's growth is read, when the targets' periods together come to
    more than :data:`~linkback.reports._periods.MAX_PERIODS` rows: growth's cap holds for one
    target, and a hundred of them by day since 1970 would be millions of rows."""
    each = count_cut(period, by, limit)
    each = min(each, limit) if limit is not None else each
    if targets * each > MAX_PERIODS:
        raise ValueError(
            f"by {by} from {cut_start(period, by, limit)} to {period.until} for {targets} targets makes "
            f"{targets * each:,} rows ({each:,} periods each), more than {MAX_PERIODS:,} periods in all: "
            "choose a later since, longer periods (week, month), fewer targets, or a limit"
        )


def _first_day(store: Store, tgt: Target) -> date | None:
    """The day of the target's first external link (live or lost): where its growth starts."""
    where, params = link_where(tgt, include_lost=True)
    (first,) = store.con.execute(f"SELECT min({day_sql('first_seen')}) FROM links WHERE {where}", params).fetchall()[0]
    return from_number(first) if first is not None else None
