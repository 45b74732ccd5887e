"""Beyond your own links (issue 16): competitors side by side (``/compare``), the link intersect
(``/intersect``) and referral traffic as a channel → source → referring page drill-down
(``/traffic``).

Each page calls the registered functions with the parameters the CLI takes (``linkback compare``,
``compare --by``, ``intersect``, ``traffic``, ``traffic-trend``) and shows the command that prints
the same rows. The charts are drawn by ``static/lines.js`` from JSON the page carries; a table
beside each chart holds the same numbers without script.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from linkback.errors import LinkbackError
from linkback.quality._anchors import ANCHOR_CLASSES
from linkback.reports import DR_BUCKETS, GROWTH_PERIODS
from linkback.reports._compare import compare, compare_trend
from linkback.reports._cursor import next_cursor
from linkback.reports._intersect import INTERSECT_SORTS, intersect
from linkback.reports._periods import PRESETS
from linkback.server._app import state_of
from linkback.server.web._overview import bars, script_json
from linkback.server.web._render import page
from linkback.server.web._session import current
from linkback.traffic import CHANNELS, traffic, traffic_trend

#: Targets a compare or intersect form takes (the functions take more; a chart of ten lines is full).
MAX_TARGETS = 10
#: Rows an intersect page shows unless asked for another number, and at most.
PAGE_ROWS, MAX_ROWS = 100, 1000
#: Referring domains the traffic page's chart draws a line for.
TREND_DOMAINS = 5
#: The compare table's rows: (column of compare, label); counts unless the column says otherwise.
COMPARE_METRICS: tuple[tuple[str, str], ...] = (
    ("referring_domains", "Referring domains"),
    ("dofollow_referring_domains", "Dofollow referring domains"),
    ("backlinks", "Backlinks"),
    ("dofollow", "Dofollow backlinks"),
    ("dofollow_share", "Dofollow share"),
    ("new_referring_domains", "New referring domains"),
    ("lost_referring_domains", "Lost referring domains"),
    ("dr", "Domain Rating"),
    ("trust", "TrustRank"),
    *((f"anchors_{c}", f"Anchors: {c.replace('_', ' ')}") for c in ANCHOR_CLASSES),
    *((f"refdomains_dr_{low}_{high}", f"Referring domains DR {low}–{high}") for low, high in DR_BUCKETS),
)


def _words(*words: Any) -> str:
    return " ".join(shlex.quote(str(w)) for w in words)


def read_targets(params: Any, name: str = "targets") -> list[str]:
    """The targets of a form: repeated fields, or one field with commas or spaces; at most
    :data:`MAX_TARGETS` (ValueError saying so)."""
    found = [t for value in params.getlist(name) for t in re.split(r"[\s,]+", value) if t]
    found = list(dict.fromkeys(found))
    if len(found) > MAX_TARGETS:
        raise ValueError(f"{name}: {len(found)} given; this page compares at most {MAX_TARGETS}")
    return found


def _whole(params: Any, name: str, default: int, low: int, high: int) -> int:
    text = (params.get(name) or "").strip()
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, not {text[:40]!r}")
    return int(text)


def _one_of(params: Any, name: str, choices: Sequence[str], default: str | None) -> str | None:
    value = (params.get(name) or "").strip() or default
    if value is not None and value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value[:40]!r}")
    return value


def _day(params: Any, name: str) -> str | None:
    return (params.get(name) or "").strip() or None


# --- compare ---------------------------------------------------------------------------------------


def side_by_side(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per metric, its values in the targets' order; ratings and DR bands only after a rank run."""
    ranked = any(r["as_of"] is not None for r in rows)
    return [
        {"column": column, "label": label, "shown": [r[column] for r in rows]}
        for column, label in COMPARE_METRICS
        if ranked or not (column in ("dr", "trust") or column.startswith("refdomains_dr_"))
    ]


def lines_data(periods: list[str], series: dict[str, list[Any]], label: str, step: str) -> dict[str, Any]:
    """What lines.js draws: a day per period and a line per name, in order; ``step`` is the
    period (``day``, ``week``, ``month``), the room either side of a chart of one period."""
    return {"x": periods, "label": label, "step": step,
            "series": [{"label": k, "values": v} for k, v in series.items()]}  # fmt: skip


def compare_context(store: Any, params: Any) -> dict[str, Any]:
    """The targets side by side (``compare``) and their referring domains per period (``compare_trend``)."""
    targets = read_targets(params)
    since, until = _day(params, "since"), _day(params, "until")
    by = _one_of(params, "by", GROWTH_PERIODS, "week") or "week"
    context: dict[str, Any] = {"targets": targets, "since": since, "until": until, "by": by, "bys": GROWTH_PERIODS}
    if not targets:
        return context
    rows = compare(store, targets, since=since, until=until)
    trend = compare_trend(store, targets, since=since, until=until, by=by)
    names = [r["target"] for r in rows]
    periods = list(dict.fromkeys(r["until"].isoformat() for r in trend))
    series: dict[str, list[Any]] = {name: [] for name in names}
    for r in trend:
        series[r["target"]].append(r["referring_domains"])
    period = [w for name, v in (("--since", since), ("--until", until)) if v for w in (name, v)]
    context.update(
        rows=rows,
        names=names,
        metrics=side_by_side(rows),
        periods=periods,
        series=series,
        chart=script_json(lines_data(periods, series, "Referring domains at the end of the " + by, by)),
        cli=_words("linkback", "compare", *names, *period),
        cli_trend=_words("linkback", "compare", *names, *period, "--by", by),
    )
    return context


# --- intersect -------------------------------------------------------------------------------------


def intersect_context(store: Any, params: Any) -> dict[str, Any]:
    """A page of ``intersect``'s rows (one more asked for: whether a next page exists) and its pager."""
    targets = read_targets(params)
    exclude = read_targets(params, "exclude")
    min_targets = _whole(params, "min_targets", 1 if len(targets) == 1 else 2, 1, MAX_TARGETS)
    pages = (params.get("pages") or "") in ("yes", "on", "true", "1")
    follow = True if (params.get("follow") or "") in ("yes", "on", "true", "1") else None  # the CLI has --follow only
    sort = _one_of(params, "sort", tuple(INTERSECT_SORTS), "targets") or "targets"
    limit = _whole(params, "limit", PAGE_ROWS, 1, MAX_ROWS)
    after = (params.get("after") or "").strip() or None
    start = _whole(params, "start", 0, 0, 10**12) if after else 1
    context: dict[str, Any] = {
        "targets": targets, "exclude": exclude, "min_targets": min_targets, "pages": pages, "follow": follow,
        "sort": sort, "sorts": tuple(INTERSECT_SORTS), "limit": limit, "start": start, "first_href": "",
        "next_href": "",
    }  # fmt: skip
    if not targets:
        return context
    rows = intersect(store, targets, exclude=exclude or None, min_targets=min_targets, pages=pages, follow=follow,
                     sort=sort, limit=limit + 1, after=after)  # fmt: skip
    more, rows = len(rows) > limit, rows[:limit]
    kept = [(k, v) for k, v in params.multi_items() if k not in ("after", "start")]
    if after:
        context["first_href"] = "?" + urlencode(kept)
    if more:
        cursor = next_cursor("intersect", sort, rows[-1])
        context["next_href"] = "?" + urlencode(
            [*kept, ("after", cursor), *([("start", start + limit)] if start else [])]
        )
    words: list[Any] = ["linkback", "intersect", *targets, *(w for t in exclude for w in ("--not", t))]
    words += ["--min", min_targets] + (["--pages"] if pages else [])
    words += ["--follow"] if follow else []
    words += ["--sort", sort] if sort != "targets" else []
    context.update(rows=rows, names=[c["target"] for c in rows[0]["cells"]] if rows else targets,
                   cli=_words(*words, "--limit", limit))  # fmt: skip
    return context


def backlinks_href(target: str, domain: str | None, page: str | None = None, follow: bool | None = None) -> str:
    """The backlinks page of ``target`` from ``domain``'s pages, or from the one ``page``: the
    links behind an intersect cell (the followed ones only with ``follow``, as the cell counts)."""
    source = {"from_url": page} if page else {"from_domain": domain or ""}
    return "/reports/backlinks?" + urlencode({"target": target, **source, **({"follow": "yes"} if follow else {})})


# --- traffic ---------------------------------------------------------------------------------------

#: The period choices of the traffic page, as its select offers them.
TRAFFIC_PERIODS = {"all": "All time", **{p: f"Last {p[:-1]} {'days' if p.endswith('d') else 'months'}"
                                         for p in PRESETS if p != "all"}}  # fmt: skip


def visits_lines(trend: list[dict[str, Any]]) -> tuple[list[str], dict[str, list[int]]]:
    """traffic_trend's rows as a chart's: the periods with visits, and a line per referring domain
    (0 where it sent none), the most visiting first."""
    periods = sorted({r["period"].isoformat() for r in trend})
    where = {p: i for i, p in enumerate(periods)}
    series: dict[str, list[int]] = {}
    for r in sorted(trend, key=lambda r: r["period"]):
        series.setdefault(r["domain"], [0] * len(periods))[where[r["period"].isoformat()]] = r["visits"]
    order = sorted(series, key=lambda d: (-sum(series[d]), d))
    return periods, {d: series[d] for d in order}


def traffic_context(store: Any, params: Any) -> dict[str, Any]:
    """The drill-down: channels; a channel's sources; a source's referring pages (with the
    backlinks on each); and the visits over time from the top referring domains."""
    target = (params.get("target") or "").strip()
    channel = _one_of(params, "channel", CHANNELS, None)
    source = (params.get("source") or "").strip() or None if channel else None
    period = _one_of(params, "period", tuple(TRAFFIC_PERIODS), "all") or "all"
    by = "referrer" if source else "source" if channel else "channel"
    context: dict[str, Any] = {"target": target, "channel": channel, "source": source, "period": period,
                               "periods": TRAFFIC_PERIODS, "by": by}  # fmt: skip
    if not target:
        return context
    asked = {"channel": channel, "source": source, "period": None if period == "all" else period}
    rows = traffic(store, target, by=by, **asked)
    step = "week" if period in ("all", "12m") else "day"
    periods, series = visits_lines(
        traffic_trend(store, target, by=step, channel=channel, period=asked["period"], limit=TREND_DOMAINS)
    )
    base = {"target": target, **({"period": period} if period != "all" else {})}
    shown = (
        bars([(r["source"] if by != "channel" else r["channel"], r["visits"]) for r in rows])
        if by != "referrer"
        else []
    )
    for bar, row in zip(shown, rows, strict=False):
        deeper = {"channel": row["channel"]} if by == "channel" else {"channel": channel, "source": row["source"]}
        bar["href"] = "/traffic?" + urlencode({**base, **deeper})
    options = [w for k, v in asked.items() if v for w in (f"--{k}", v)]
    context.update(
        rows=rows,
        bars=shown,
        referrers=bars([(r["referrer"] or "(none)", r["visits"]) for r in rows]) if by == "referrer" else [],
        base=base,
        channel_href="/traffic?" + urlencode({**base, "channel": channel}) if channel else "",
        all_href="/traffic?" + urlencode(base),
        series=series,
        trend_periods=periods,
        chart=script_json(lines_data(periods, series, f"Visits per {step}", step)),
        cli=_words("linkback", "traffic", target, "--by", by, *options),
        cli_trend=_words("linkback", "traffic-trend", target, "--domains", TREND_DOMAINS,
                         *(["--by", step] if step != "day" else []),
                         *(["--channel", channel] if channel else []), *(["--period", period] if period != "all" else [])),
    )  # fmt: skip
    return context


# --- the routes ------------------------------------------------------------------------------------


def _show(request: Request, template: str, build: Any) -> Response:
    session = current(request)
    if session is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?" + urlencode({"next": here}), 303)
    store = state_of(request).request_store()
    try:
        context, error, status = build(store, request.query_params), "", 200
    except (LinkbackError, ValueError) as exc:
        # The form again, as it was filled, and what was wrong with it.
        context, error, status = _form_only(request.query_params), str(exc), 400
    return page(request, template, session, error=error, http_status=status, backlinks_href=backlinks_href,
                **context)  # fmt: skip


def _form_only(params: Any) -> dict[str, Any]:
    """What a page's form shows when its call failed: the values given, no rows."""
    targets = [t for v in params.getlist("targets") for t in re.split(r"[\s,]+", v) if t]
    exclude = [t for v in params.getlist("exclude") for t in re.split(r"[\s,]+", v) if t]
    return {
        "targets": targets, "exclude": exclude, "since": _day(params, "since"), "until": _day(params, "until"),
        "by": params.get("by") or "week", "bys": GROWTH_PERIODS, "min_targets": params.get("min_targets") or 2,
        "pages": bool(params.get("pages")), "follow": bool(params.get("follow")),
        "sort": params.get("sort") or "targets", "sorts": tuple(INTERSECT_SORTS), "limit": PAGE_ROWS,
        "target": (params.get("target") or "").strip(), "channel": None, "source": None, "period": "all",
        "periods": TRAFFIC_PERIODS,
    }  # fmt: skip


def register(app: FastAPI) -> None:
    @app.get("/compare", include_in_schema=False)
    def compare_page(request: Request) -> Response:
        return _show(request, "compare.html", compare_context)

    @app.get("/intersect", include_in_schema=False)
    def intersect_page(request: Request) -> Response:
        return _show(request, "intersect.html", intersect_context)

    @app.get("/traffic", include_in_schema=False)
    def traffic_page(request: Request) -> Response:
        return _show(request, "traffic.html", traffic_context)
