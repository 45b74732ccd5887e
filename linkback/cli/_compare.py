"""Competitor commands: ``compare`` (targets side by side, or their referring domains over time),
``intersect`` (the sources that link to several targets but not to yours) and ``linked-domains``
(where a domain links out). Each calls the :mod:`linkback.reports` function of the same name with
the same parameter names."""

from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from linkback import reports
from linkback.cli._app import app
from linkback.cli._output import Format, Report, as_of, cell_columns, flat_cells, report_command
from linkback.cli._reports import After, Follow, _next_page_hint
from linkback.reports._compare import COMPARE_COLUMNS, COMPARE_TREND_COLUMNS, parse_targets
from linkback.reports._intersect import INTERSECT_COLUMNS, INTERSECT_SORTS, LINKED_DOMAIN_COLUMNS, LINKED_DOMAIN_SORTS
from linkback.store import Store

if TYPE_CHECKING:

    class _Choice(str, Enum):
        pass

    By = _Choice
    IntersectSort = _Choice
    LinkedSort = _Choice
else:
    By = Enum("By", {v: v for v in reports.GROWTH_PERIODS}, type=str)
    IntersectSort = Enum("IntersectSort", {v: v for v in INTERSECT_SORTS}, type=str)
    LinkedSort = Enum("LinkedSort", {v: v for v in LINKED_DOMAIN_SORTS}, type=str)

TargetsArg = Annotated[
    list[str],
    typer.Argument(
        metavar="TARGET",
        help="Domains (example.com: all its hosts), hosts (www.example.com) or URL prefixes "
        "(https://example.com/blog/); one given twice counts once.",
        show_default=False,
    ),
]
Since = Annotated[
    str | None,
    typer.Option("--since", metavar="YYYY-MM-DD", help="First day (UTC); default: each target's first link."),
]
Until = Annotated[str | None, typer.Option("--until", metavar="YYYY-MM-DD", help="Last day (UTC); default: today.")]


def _format(ctx: typer.Context) -> str:
    value = ctx.params.get("output_format", Format.table)
    return value.value if isinstance(value, Enum) else str(value)


def _letters(n: int) -> str:
    """The spreadsheet name of column ``n`` (0: A, 25: Z, 26: AA): a short header for a target."""
    name = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


# --- compare ---------------------------------------------------------------------------------------

#: Compare columns the side-by-side table shows as percentages, and as ratings with one decimal.
_SHARES = ("dofollow_share",)
_RATINGS = ("dr", "trust")


def _shown(column: str, value: Any, total: int | None = None) -> Any:
    """A compare value as the side-by-side table shows it: counts as they are (a share of the
    backlinks for an anchor class), ratings with one decimal, shares as percentages."""
    if value is None:
        return None
    if column in _RATINGS:
        return f"{value:.1f}"
    if column in _SHARES:
        return f"{value:.1%}"
    if column.startswith("anchors_"):
        return f"{value / total:.1%}" if total else "-"
    return value


def _side_by_side(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per metric and a column per target: how a table compares them. The first column
    is the metric, under an empty header (no target is called "")."""
    names = [c for c in COMPARE_COLUMNS if c not in ("target", "target_kind", "since", "until", "as_of")]
    if all(r["as_of"] is None for r in rows):  # no rank run: no ratings, no DR bands to show
        names = [c for c in names if c not in _RATINGS and not c.startswith("refdomains_dr_")]
    table = []
    for name in names:
        label = name.replace("anchors_", "anchors: ").replace("refdomains_dr_", "refdomains DR ")
        if name.startswith("refdomains_dr_"):
            label = label.replace("_", "–")
        table.append({"": label, **{r["target"]: _shown(name, r[name], r["backlinks"]) for r in rows}})
    return table


@app.command("compare")
@report_command
def compare_cmd(
    targets: TargetsArg,
    since: Since = None,
    until: Until = None,
    by: Annotated[
        By | None,
        typer.Option(
            "--by", help="Instead: each target's referring domains per day, week or month (--limit: the latest)."
        ),
    ] = None,
    *,
    ctx: typer.Context,
    store: Store,
    limit: int | None,
) -> Report:
    """TARGETs side by side: referring domains (all and dofollow), backlinks and dofollow share at
    the end of the period, new and lost referring domains in it, Domain Rating and TrustRank,
    backlinks by anchor class and referring domains by DR band. With --by, their referring
    domains over time instead, the same periods for all (the data of one chart).

    Example: linkback compare example.com rival.com other.org --since 2026-09-01
    """
    if by is not None:
        return _compare_trend(ctx, store, targets, since, until, by.value, limit)
    rows = reports.compare(store, targets, since=since, until=until)
    first = rows[0]
    if _format(ctx) != Format.table.value:
        return Report(rows, "targets compared", COMPARE_COLUMNS)
    same = len({(r["since"], r["until"]) for r in rows}) == 1
    span = f"{first['since']}..{first['until']}" if same else f"each from its first link to {first['until']}"
    ranked = f" (ranks as of {first['as_of']:%Y-%m-%d %H:%M} UTC)" if first["as_of"] else ""
    what = f"metrics of {len(rows)} targets, {span}{ranked}"
    return Report(_side_by_side(rows), what, ["", *(r["target"] for r in rows)])


def _compare_trend(
    ctx: typer.Context,
    store: Store,
    targets: list[str],
    since: str | None,
    until: str | None,
    by: str,
    limit: int | None,
) -> Report:
    """``compare --by``: the rows of compare_trend, or for a table one row per period with the
    referring domains of each target side by side."""
    rows = reports.compare_trend(store, targets, since=since, until=until, by=by, limit=limit)
    if _format(ctx) != Format.table.value:
        return Report(rows, f"{by}s of referring domains", COMPARE_TREND_COLUMNS)
    names = list(dict.fromkeys(r["target"] for r in rows))
    periods: dict[tuple[Any, Any], dict[str, Any]] = {}
    for row in rows:
        period = periods.setdefault((row["since"], row["until"]), {"since": row["since"], "until": row["until"]})
        period[row["target"]] = row["referring_domains"]
    return Report(
        list(periods.values()), f"{by}s of referring domains of {len(names)} targets", ["since", "until", *names]
    )


# --- intersect -------------------------------------------------------------------------------------


@app.command("intersect")
@report_command
def intersect_cmd(
    targets: TargetsArg,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--not",
            "--exclude",
            metavar="TARGET",
            help="Leave out the sources that link to this (your site; repeatable).",
            show_default=False,
        ),
    ] = None,
    min_targets: Annotated[
        int, typer.Option("--min", min=1, help="Sources linking to at least this many of the TARGETs.")
    ] = 2,
    pages: Annotated[bool, typer.Option("--pages", help="Referring pages instead of referring domains.")] = False,
    follow: Follow = None,
    sort: Annotated[
        IntersectSort,
        typer.Option("--sort", help="targets: how many TARGETs, then DR, then links; dr; links (descending)."),
    ] = IntersectSort("targets"),
    after: After = None,
    *,
    ctx: typer.Context,
    store: Store,
    limit: int | None,
) -> Report:
    """The referring domains (or pages, --pages) that link to at least --min of the TARGETs but
    not to --not (your site): the link intersect, or backlink gap. Each row says how many links
    go to each TARGET (columns A, B, C ... as the title names them); JSON carries one example
    link per TARGET, CSV a column each.

    Example: linkback intersect rival.com other.org third.net --not example.com --min 2
    """
    rows = reports.intersect(
        store,
        targets,
        exclude=exclude,
        min_targets=min_targets,
        pages=pages,
        follow=follow,
        sort=sort.value,
        limit=limit,
        after=after,
    )
    _next_page_hint(ctx, "intersect", sort.value, rows, limit)
    fmt = _format(ctx)
    noun = "referring pages" if pages else "referring domains"
    names = [t.value for t in parse_targets(targets)]  # as the cells name them, in their order
    if fmt == Format.csv.value:
        # A column per target and part of its cell: the dashboard's download has the same.
        return Report([flat_cells(r) for r in rows], noun, cell_columns(INTERSECT_COLUMNS, names))
    if fmt != Format.table.value:
        return Report(rows, noun, INTERSECT_COLUMNS)
    letters = [_letters(i) for i in range(len(names))]
    table = [
        {"source": r["source"], "dr": r["dr"], "targets": r["targets"], "links": r["links"],
         **{letter: (cell["links"] or None) for letter, cell in zip(letters, r["cells"])}}
        for r in rows
    ]  # fmt: skip
    excluded = f", not to {', '.join(t.value for t in parse_targets(exclude or [], name='exclude'))}" if exclude else ""
    legend = "".join(f"\n{letter}  {name}" for letter, name in zip(letters, names))
    what = f"{noun} linking to {min_targets}+ of {len(names)} targets{excluded}{as_of(store)}:{legend}"
    return Report(table, what, ["source", "dr", "targets", "links", *letters])


# --- linked-domains --------------------------------------------------------------------------------


@app.command("linked-domains")
@report_command
def linked_domains_cmd(
    domain: Annotated[
        str,
        typer.Argument(
            metavar="DOMAIN", help="A domain, a host or a URL prefix whose pages link out.", show_default=False
        ),
    ],
    follow: Follow = None,
    sort: Annotated[
        LinkedSort, typer.Option("--sort", help="Counts, DR and dates descending; domain A-Z.")
    ] = LinkedSort("links"),
    after: After = None,
    *,
    ctx: typer.Context,
    store: Store,
    limit: int | None,
) -> Report:
    """Where DOMAIN links out: the other domains its pages link to, with links, dofollow links,
    its pages that link, first and last seen, and their Domain Rating (for judging a prospect).

    Example: linkback linked-domains blog.example.org --follow --sort dr
    """
    rows = reports.linked_domains(store, domain, follow=follow, sort=sort.value, limit=limit, after=after)
    _next_page_hint(ctx, "linked_domains", sort.value, rows, limit)
    return Report(rows, f"domains {domain} links to{as_of(store)}", LINKED_DOMAIN_COLUMNS)
