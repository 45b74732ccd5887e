"""The overview of a target (a period against a comparison period, cached until the next write),
the mentions inbox and the jobs page."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from linkback import reports
from linkback.categories import NOT_CATEGORIZED
from linkback.categories._reports import categories_of
from linkback.errors import LinkbackError
from linkback.faces import FACES
from linkback.mentions import _actions
from linkback.records import LINK_KINDS, SECTIONS
from linkback.reports import _periods as periods
from linkback.reports._groups import anchor_mix, tlds_of
from linkback.reports._overview import overview_breakdown, refdomain_table
from linkback.server._app import state_of
from linkback.server._jobs import list_jobs, queue_job
from linkback.server.web._jobview import with_live_progress
from linkback.server.web._render import page
from linkback.server.web._session import current, form_ids, posted_lists
from linkback.server.web._share import viewer

#: The overview's choices as its form offers them (the values are the URL's).
PERIOD_LABELS = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "12m": "Last 12 months",
    "all": "All time",
    "custom": "Custom dates",
}
COMPARE_LABELS = {"previous": "Previous period", "year": "Same period a year earlier", "none": "No comparison"}
BY_LABELS = {"day": "Day", "week": "Week", "month": "Month"}
#: The bars' period when the URL names none: about 7 to 90 bars.
DEFAULT_BY = {"7d": "day", "30d": "day", "90d": "week", "12m": "week", "all": "month", "custom": "week"}
DEFAULT_PERIOD = "12m"
#: The top stats' names, and those whose rise is bad news (coloured as such; the text says up or down).
STAT_LABELS = {
    "referring_domains": "Referring domains",
    "dofollow_referring_domains": "Dofollow referring domains",
    "backlinks": "Backlinks",
    "new_referring_domains": "New referring domains",
    "lost_referring_domains": "Lost referring domains",
    "dr": "Domain Rating",
    "trust": "TrustRank",
    "toxic_share": "Toxic referring domains",
}
WORSE_UP = ("lost_referring_domains", "toxic_share")


@dataclass(frozen=True)
class View:
    """What an overview shows: the URL's parameters, the period resolved to dates."""

    target: str
    period: str
    since: date | None  # None: all time
    until: date
    compare: str
    by: str

    @property
    def arguments(self) -> dict[str, Any]:
        """The report functions' period arguments."""
        return {"since": self.since.isoformat() if self.since else None, "until": self.until.isoformat()}


def read_view(params: Any, target: str) -> View:
    """The :class:`View` a query string asks for; ValueError naming a bad value."""
    since = periods.parse_day("since", params.get("since"))
    until = periods.parse_day("until", params.get("until"))
    period = params.get("period") or ("custom" if since or until else DEFAULT_PERIOD)
    if period not in PERIOD_LABELS:
        raise ValueError(f"unknown period {period!r}; choose from {', '.join(PERIOD_LABELS)}")
    if period != "custom":
        until = periods.today()
        since = periods.preset_since(period, until)
    until = until or periods.today()
    if since and since > until:
        raise ValueError(f"since {since} is after until {until}")
    compare = params.get("compare") or "previous"
    if compare not in COMPARE_LABELS:
        raise ValueError(f"unknown compare {compare!r}; choose from {', '.join(COMPARE_LABELS)}")
    by = params.get("by") or DEFAULT_BY[period]
    if by not in BY_LABELS:
        raise ValueError(f"unknown by {by!r}; choose from {', '.join(BY_LABELS)}")
    if since is not None:  # a period typed in: the chart draws its days (and their comparison)
        periods.check_cut(periods.Period(since, until), "day")
    return View(target, period, since, until, compare, by)


def script_json(value: Any) -> Markup:
    """JSON to carry in a ``<script type="application/json">``: no ``<``, ``>`` or ``&`` in it, so
    no third-party text can close the element (its content is not entity-decoded, so it is not
    escaped the HTML way)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def bars(counts: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """Rows of a distribution drawn as CSS bars: label, count, share of the largest (0–100)."""
    top = max((n for _, n in counts), default=0) or 1
    total = sum(n for _, n in counts) or 1
    return [{"label": label, "count": n, "width": round(100 * n / top), "share": n / total} for label, n in counts]


def stat_cards(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The top stats as cards: the value, and its change told in words as well as colour."""
    cards = []
    for row in rows:
        metric, change = row["metric"], row["change"]
        direction = None if change is None else "up" if change > 0 else "down" if change < 0 else "same"
        tone = "" if direction in (None, "same") else "good" if (direction == "up") != (metric in WORSE_UP) else "bad"
        cards.append(
            {
                "metric": metric,
                "label": STAT_LABELS[metric],
                "value": reports.shown_value(metric, row["value"]) or "–",
                "before": reports.shown_value(metric, row["compare_value"]),
                "change": reports.shown_change(row),
                "direction": direction,
                "tone": tone,
                "note": f"no rank run by {row['until']}" if row["value"] is None and row["as_of"] is None else "",
            }
        )
    return cards


def category_mix(target: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The widget of the Tier-1 categories of ``target``'s referring domains (``categories``' rows):
    a bar each for the largest, one for the rest, then those unknown and not read yet; each with
    its share of all the referring domains and the table page it comes from. Empty bars when no
    domain has been read by ``categorize`` yet (``uncategorized``: how many wait for it)."""
    every = "/reports/categories?" + urlencode({"target": target})
    cli = f"linkback categories {shlex.quote(target)}"
    named = [r for r in rows if r["tier1"] is not None]
    rest = [r for r in rows if r["tier1"] is None]
    waiting = sum(r["domains"] for r in rest if r["category"] == NOT_CATEGORIZED)
    if not any(r["category"] != NOT_CATEGORIZED for r in rows):
        return {"category_bars": [], "uncategorized": waiting, "categories_href": every, "categories_cli": cli}
    shown = [(r["category"], r["domains"], r["share"]) for r in named[:CATEGORY_BARS]]
    if len(named) > CATEGORY_BARS:
        others = named[CATEGORY_BARS:]
        shown.append((f"{len(others)} other categories", sum(r["domains"] for r in others),
                      sum(r["share"] for r in others)))  # fmt: skip
    shown += [(r["category"], r["domains"], r["share"]) for r in rest]
    drawn = bars([(label, n) for label, n, _ in shown])
    # The share shown is the report's own (of every referring domain), not worked out again. A
    # category's bar opens its Tier-2 rows; the rest open the Tier-1 table.
    tiered = {r["category"] for r in named}
    for bar, (label, _, share) in zip(drawn, shown, strict=True):
        bar["share"] = share
        bar["href"] = every + ("&tier=2" if label in tiered else "")
    return {"category_bars": drawn, "uncategorized": waiting, "categories_href": every, "categories_cli": cli}


def _chart_data(view: View, line: list[dict[str, Any]], periods: list[dict[str, Any]]) -> dict[str, Any]:
    """What app.js draws: the daily line (days follow each other: only the first is sent) and
    the comparison's beside it, then the new and lost domains per period of the bars."""
    first = line[0] if line else None
    return {
        "target": view.target,
        "since": first["since"].isoformat() if first else None,
        "now": [r["referring_domains"] for r in line],
        "compareSince": first["compare_since"].isoformat() if first and first["compare_since"] else None,
        "before": [r["compare_referring_domains"] for r in line] if first and first["compare_since"] else [],
        "periods": [[p["since"].isoformat(), p["until"].isoformat(), p["new"], p["lost"]] for p in periods],
    }


CHOICES = {"period": PERIOD_LABELS, "compare": COMPARE_LABELS, "by": BY_LABELS}


def commands(view: View) -> dict[str, str]:
    """The CLI commands that print what each part of the overview shows."""
    from linkback.server.web._forms import cli_command  # noqa: PLC0415 - the forms import the reports

    period = {"target": view.target, **{k: v for k, v in view.arguments.items() if v}}
    return {
        "trend": cli_command(FACES["trend"], {**period, "compare": view.compare}),
        "line": cli_command(FACES["growth"], {**period, "compare": view.compare}),
        "bars": cli_command(FACES["growth"], {**period, "by": view.by}),
        "churn": cli_command(FACES["churn"], period),
    }


#: The overview's report calls run in two lanes side by side, each on a cursor of its own: on a
#: domain with millions of links each call is a scan of up to a second, and the server's DuckDB
#: gives a query one thread. A cold page may use both cores; several at once queue here.
_LANES = ThreadPoolExecutor(max_workers=2, thread_name_prefix="linkback-overview")
#: Which calls share a lane, in order: fixed groups of about equal work on the most linked domain
#: of the bench index (2.2 M links), where handing each call to whichever lane was free left one
#: lane a whole call longer than the other. "refdomains" reads the target's referring domains once
#: (:func:`refdomain_table`) and counts the breakdown, categories and TLDs from them; by CPU time
#: there (2026-12-06, load ≈ 3, ±0.2 s): refdomains 1.65 s (the table 1.1, then breakdown 0.15,
#: categories 0.07, TLDs 0.3) + anchors 0.2 against changes 1.0 + pages 0.85.
_LANE_CALLS = (("refdomains", "anchors"), ("changes", "pages"))
#: Tier-1 categories the overview's widget draws a bar for; the rest are one "other" bar.
CATEGORY_BARS = 8


def _changes(store: Any, view: View) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The trend and the two charts' rows: they read the target's changes once."""
    target, period = view.target, view.arguments
    with reports.shared_reads(store):
        trend = reports.trend(store, target, **period, compare=view.compare)
        line = reports.growth(store, target, **period, by="day", compare=view.compare)
        per = line if view.by == "day" else reports.growth(store, target, **period, by=view.by)
    return trend, line, per


def _by_refdomain(store: Any, target: str) -> dict[str, Any]:
    """The parts counted per referring domain, from the target's referring domains read once: the
    breakdown (overview() but its distinct referring pages and hosts, which the page does not
    show), the categories and the top ten TLDs; each what its report gives."""
    table = refdomain_table(store, target)
    return {
        "overview": overview_breakdown(store, target, refdomains=table),
        "categories": categories_of(store, table),
        "tlds": tlds_of(store, table, limit=10),
    }


def overview_context(open_store: Callable[[], Any], view: View) -> dict[str, Any]:
    """Everything the overview page shows, from the registered report functions: the calls of
    each lane of :data:`_LANE_CALLS` one after the other, on a store from ``open_store`` (closed
    after)."""
    target = view.target
    calls: dict[str, Callable[[Any], Any]] = {
        "refdomains": lambda store: _by_refdomain(store, target),
        "changes": lambda store: _changes(store, view),
        "pages": lambda store: reports.pages(store, target, limit=10),
        # The top ten anchors and the links per class: anchors() grouped by anchor alone.
        "anchors": lambda store: anchor_mix(store, target),
    }

    def run(names: tuple[str, ...]) -> dict[str, Any]:
        store = open_store()
        try:
            return {name: calls[name](store) for name in names}
        finally:
            store.close()

    pending = [_LANES.submit(run, names) for names in _LANE_CALLS]
    # Both lanes end before the page answers, even when one fails (a target with no links): a
    # lane still querying after the response would hold its cursor past the request (and the
    # server's shutdown would find the connection busy).
    wait(pending)
    got = {name: value for future in pending for name, value in future.result().items()}
    got.update(got.pop("refdomains"))
    row, (trend, line, per), mix = got["overview"], got["changes"], got["anchors"]
    kinds = [(k, row[f"kind_{k}"]) for k in LINK_KINDS if row.get(f"kind_{k}")]
    sections = [(s, row[f"section_{s}"]) for s in SECTIONS] + [("none", row["section_other"])]
    attributes = [(a, row[a]) for a in ("dofollow", "nofollow", "ugc", "sponsored", "noindex")]
    dr_bands = [(f"{low}–{high}", row[f"refdomains_dr_{low}_{high}"] or 0) for low, high in reports.DR_BUCKETS]
    toxic = [(name, row[f"refdomains_toxicity_{name}"] or 0) for name, _, _ in reports.TOXICITY_BANDS]
    first = trend[0]
    return {
        "target": row["target"],
        "stats": row,
        "cards": stat_cards(trend),
        "since": first["since"],
        "until": first["until"],
        "compare_since": first["compare_since"],
        "compare_until": first["compare_until"],
        "ranked_at": row["ranked_at"],
        "dr_bands": bars(dr_bands) if row["ranked_at"] is not None else [],
        "toxic_bands": bars(toxic) if row["ranked_at"] is not None else [],
        "kinds": bars(kinds),
        "sections": bars([(s, n) for s, n in sections if n or s != "none"]),
        "attributes": bars(attributes),
        "anchor_classes": bars(mix["classes"]),
        "anchors": mix["top"],
        "tlds": got["tlds"],
        **category_mix(target, got["categories"]),
        "pages": got["pages"],
        "periods": [p for p in per if p["new"] or p["lost"]],
        "chart": script_json(_chart_data(view, line, per)),
    }


def register(app: FastAPI) -> None:
    @app.get("/overview", include_in_schema=False)
    def overview_page(request: Request, target: str = "") -> Response:
        session = viewer(request)  # the admin, or a share link of a site that holds ``target``
        if session is None:  # back to this target's overview once signed in
            here = "/overview" + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse("/login?" + urlencode({"next": here}), status_code=303)
        if not target.strip():
            return RedirectResponse("/", status_code=303)
        server = state_of(request)
        try:
            view = read_view(request.query_params, target.strip())
        except ValueError as exc:
            return page(request, "overview.html", session, target=target, error=str(exc), http_status=400)
        try:
            # Cached until the next write: the period is in the key as dates, so "the last 30
            # days" is read again the next day.
            context = server.page_cache.get(("overview", view), lambda: overview_context(server.job_store, view))
        except (LinkbackError, ValueError) as exc:
            return page(request, "overview.html", session, target=target, error=str(exc), http_status=404)
        return page(
            request, "overview.html", session, error="", view=view, choices=CHOICES, cli=commands(view), **context
        )

    @app.get("/mentions", include_in_schema=False)
    def inbox(request: Request, state: str = "pending", status: str = "verified") -> Response:
        session = current(request)
        if session is None:
            return RedirectResponse("/login?next=/mentions", status_code=303)
        store = state_of(request).request_store()
        try:
            rows = _actions.mentions(store, state=state or None, status=status or None, limit=200)
        except (LinkbackError, ValueError) as exc:  # a hand-edited URL: an unknown state or status
            return page(request, "mentions.html", session, rows=[], state="", status="", error=str(exc), http_status=400)
        return page(request, "mentions.html", session, rows=rows, state=state, status=status)

    @app.post("/do/moderate", include_in_schema=False)
    async def moderate(request: Request) -> Response:
        session, form = await posted_lists(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        error = apply_moderation(request, (form.get("action") or [""])[-1], form.get("id", []))
        if error:
            return page(request, "mentions.html", session, rows=[], state="", status="", error=error, http_status=400)
        return RedirectResponse("/mentions", status_code=303)

    @app.get("/jobs", include_in_schema=False)
    def jobs_page(request: Request) -> Response:
        session = current(request)
        if session is None:
            return RedirectResponse("/login?next=/jobs", status_code=303)
        server = state_of(request)
        jobs = list_jobs(server.reader(), 50)
        for job in jobs:
            with_live_progress(server, job)
        return page(request, "jobs.html", session, jobs=jobs)

    # The jobs a button starts with no parameters: /do/rank (the jobs page), /do/categorize (the overview).
    for kind in ("rank", "categorize"):
        app.post(f"/do/{kind}", include_in_schema=False, name=f"start_{kind}")(_starter(kind))


def _starter(kind: str) -> Any:
    """The handler of ``/do/KIND``: queue a ``kind`` job, then show the jobs page."""

    async def start(request: Request) -> Response:
        session, _form = await posted_lists(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        server = state_of(request)
        queue_job(server.request_store(), kind, {})
        server.jobs.wake()
        return RedirectResponse("/jobs", status_code=303)

    return start


def apply_moderation(request: Request, action: str, ids: list[str]) -> str:
    """One moderation from a dashboard form (the inbox, the widget preview's Remove link): why it
    was refused, or "". The server's cached sites and rules are reloaded and its runner woken
    either way (webhooks for the change)."""
    server = state_of(request)
    try:
        _actions.moderate(server.request_store(), action, ids=form_ids(ids))
    except (LinkbackError, ValueError) as exc:
        return str(exc)
    finally:
        server.invalidate()
        server.runner.wake()
    return ""
