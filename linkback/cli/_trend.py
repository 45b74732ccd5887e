"""Commands over time: ``trend`` (a period against a comparison period), ``growth`` (referring
domains per day, week or month) and ``churn`` (the domains gained or lost in a date range).
Each calls the :mod:`linkback.reports` function of the same name with the same parameter names."""

from enum import Enum
from typing import TYPE_CHECKING, Annotated

import typer

from linkback import reports
from linkback.cli._app import app
from linkback.cli._output import Report, as_of, report_command
from linkback.store import Store

if TYPE_CHECKING:

    class _Choice(str, Enum):
        pass

    Compare = _Choice
    By = _Choice
    Change = _Choice
else:
    Compare = Enum("Compare", {v: v for v in reports.COMPARES}, type=str)
    By = Enum("By", {v: v for v in reports.GROWTH_PERIODS}, type=str)
    Change = Enum("Change", {v: v for v in reports.CHANGES}, type=str)

TargetArg = Annotated[
    str,
    typer.Argument(
        metavar="TARGET",
        help="A domain (example.com: all its hosts), a host (www.example.com) or a URL prefix "
        "(https://example.com/blog/).",
        show_default=False,
    ),
]
Since = Annotated[
    str | None,
    typer.Option("--since", metavar="YYYY-MM-DD", help="First day (UTC); default: the target's first link."),
]
Until = Annotated[str | None, typer.Option("--until", metavar="YYYY-MM-DD", help="Last day (UTC); default: today.")]
Internal = Annotated[
    bool, typer.Option("--internal", help="Links inside the target's own site instead of from other sites.")
]

@app.command("trend")
@report_command(limit=False)
def trend_cmd(
    target: TargetArg,
    since: Since = None,
    until: Until = None,
    compare: Annotated[
        Compare,
        typer.Option("--compare", help="previous: as long, just before; year: the same dates a year earlier."),
    ] = Compare("previous"),
    internal: Internal = False,
    *,
    store: Store,
    limit: int | None,
) -> Report:
    """TARGET's referring domains (all and dofollow) and backlinks at the end of a period, new and
    lost referring domains in it, Domain Rating, TrustRank and share of toxic referring domains,
    each against a comparison period.

    Example: linkback trend example.com --since 2026-09-01 --until 2026-11-30 --compare year
    """
    rows = reports.trend(store, target, since=since, until=until, compare=compare.value, internal=internal)
    first = rows[0]
    against = f" against {first['compare_since']}..{first['compare_until']}" if first["compare_since"] else ""
    for row in rows:  # what the table shows; JSON and CSV carry the values themselves
        row["now"] = reports.shown_value(row["metric"], row["value"])
        row["before"] = reports.shown_value(row["metric"], row["compare_value"])
        row["changed"] = reports.shown_change(row)
    return Report(
        rows,
        f"stats of {target}: {first['since']}..{first['until']}{against}",
        reports.TREND_COLUMNS,
        ["metric", "now", "before", "changed"],
    )


@app.command("growth")
@report_command
def growth_cmd(
    target: TargetArg,
    since: Since = None,
    until: Until = None,
    by: Annotated[By, typer.Option("--by", help="Days, weeks (from Monday) or calendar months.")] = By("day"),
    compare: Annotated[
        Compare, typer.Option("--compare", help="Add the same columns for a comparison period.")
    ] = Compare("none"),
    internal: Internal = False,
    *,
    store: Store,
    limit: int | None,
) -> Report:
    """TARGET's referring domains per day, week or month: the count at the end of each, and the new
    and lost ones in it. --limit keeps the latest periods.

    Example: linkback growth example.com --since 2026-01-01 --by month
    """
    rows = reports.growth(
        store, target, since=since, until=until, by=by.value, compare=compare.value, internal=internal, limit=limit
    )
    shown_columns = list(reports.GROWTH_COLUMNS[:5])
    if compare.value != "none":  # the comparison's days are in JSON and CSV; a table has no room
        shown_columns += ["compare_referring_domains", "compare_new", "compare_lost"]
    return Report(rows, f"{by.value}s of referring domains of {target}", reports.GROWTH_COLUMNS, shown_columns)


@app.command("churn")
@report_command
def churn_cmd(
    target: TargetArg,
    since: Since = None,
    until: Until = None,
    change: Annotated[Change | None, typer.Option("--change", help="Only new or only lost domains.")] = None,
    internal: Internal = False,
    *,
    store: Store,
    limit: int | None,
) -> Report:
    """The referring domains TARGET gained or lost between two days, newest first: the day, its
    links then, and its Domain Rating. The domains behind growth's new and lost counts.

    Example: linkback churn example.com --since 2026-11-02 --until 2026-11-08 --change lost
    """
    rows = reports.churn(
        store,
        target,
        since=since,
        until=until,
        change=change.value if change else None,
        internal=internal,
        limit=limit,
    )
    return Report(rows, f"referring domains of {target} gained or lost{as_of(store)}", reports.CHURN_COLUMNS)
