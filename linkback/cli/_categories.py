"""Category commands: ``categorize`` (classify the store's domains by topic), ``categories`` (the
mix of a target's referring domains) and ``category`` (one domain). Each calls the
:mod:`linkback.categories` function with the same parameter names."""

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from linkback import categories as cat
from linkback.cli import _table
from linkback.cli._app import app
from linkback.cli._output import Report, WideOption, fail, report_command, writable_store
from linkback.cli._reports import TargetArg
from linkback.errors import LinkbackError
from linkback.store import Store

err = Console(stderr=True, highlight=False)

_CREDIT_NOTE = "Categories: IAB Tech Lab Content Taxonomy 3.1, CC BY 3.0."


@app.command("categorize")
def categorize_cmd(
    domains: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[DOMAIN]...", help="Only these domains (or hosts); default: every domain in the store."
        ),
    ] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Read every domain again, not only the new and changed ones.")
    ] = False,
    db: Annotated[
        Path | None,
        typer.Option("--db", help="Database file (default: $LINKBACK_DB or ./linkback.duckdb)."),
    ] = None,
    output: Annotated[str, typer.Option("--format", help="Summary as 'table' or 'json'.")] = "table",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    wide: WideOption = False,
) -> None:
    """Classify the domains of the store by topic, offline: each gets a category of the IAB
    Content Taxonomy 3.1 (Tier 1 and 2) with a confidence and the words that decided it, read
    from its pages' titles and URLs, the text around its links, its menus and the anchors of the
    links to it. Only new domains and those with newer pages are read again, unless --all.
    'linkback categories TARGET' then shows the mix of a site's referring domains.

    Example: linkback categorize
    """
    with writable_store(db, create=False) as store:
        try:
            if quiet or not err.is_terminal:
                result = cat.categorize(store, domains=domains or None, everything=everything)
            else:
                result = _with_bar(store, domains or None, everything)
        except (LinkbackError, ValueError) as exc:
            fail(str(exc))
    if output == "json":
        json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    _print_summary(result, wide=wide)


def _with_bar(store: Store, domains: list[str] | None, everything: bool) -> dict[str, Any]:
    columns = (TextColumn("[bold]categorize"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("", total=None)

        def update(counters: dict[str, Any]) -> None:
            bar.update(task, completed=counters.get("done", 0), total=counters.get("total") or None)

        return cat.categorize(store, domains=domains, everything=everything, progress=update)


def _print_summary(result: dict[str, Any], *, wide: bool = False) -> None:
    counts = result["categories"]
    total = max(result["categorized"], 1)
    names = list(counts)
    columns = [
        _table.Column("category", _table.END, [Text(n) for n in names]),
        _table.Column("domains", _table.FIXED, [Text(f"{counts[n]:,}") for n in names], right=True),
        _table.Column("share", _table.FIXED, [Text(f"{counts[n] / total:.1%}") for n in names], right=True),
    ]
    out = Console(highlight=False, width=None if wide else _table.terminal_width())
    # Title and credit as lines of their own: the table is as narrow as its columns.
    out.print(
        f"Categorized {result['domains']:,} domains: {result['categorized']:,} with a category, "
        f"{result['unknown']:,} unknown"
    )
    if names:
        table = _table.build("", columns, wide=wide)
        _table.console_for(table).print(table)
    out.print(Text(_CREDIT_NOTE, style="dim"))


TierOption = Annotated[
    int, typer.Option("--tier", min=1, max=2, help="1: Tier-1 categories (Sports); 2: Tier 2 (Sports > Soccer).")
]
MinConfidence = Annotated[
    float,
    typer.Option(
        "--min-confidence",
        min=0.0,
        max=1.0,
        help="Count domains whose category is less sure than this (0-1) as (unknown).",
    ),
]


@app.command("categories")
@report_command
def categories_cmd(
    target: TargetArg,
    tier: TierOption = 1,
    min_confidence: MinConfidence = 0.0,
    *,
    store: Store,
    limit: int | None,
) -> Report:
    """The mix of TARGET's referring domains by topic: one row per category (IAB Content Taxonomy
    3.1) with its domains, their share and links, the mean confidence and example domains.
    '(not categorized)' counts domains 'linkback categorize' has not read yet. Categories: IAB Tech
    Lab Content Taxonomy 3.1, CC BY 3.0.

    Example: linkback categories example.com --tier 2 --limit 20
    """
    rows = cat.categories(store, target, tier=tier, min_confidence=min_confidence, limit=limit)
    shown = ["category", "domains", "share", "links", "confidence", "examples"]
    return Report(rows, f"categories of the domains linking to {target}", cat.CATEGORY_COLUMNS, shown)


@app.command("category")
@report_command(limit=False)
def category_cmd(
    domain: Annotated[str, typer.Argument(metavar="DOMAIN", help="A domain, host or URL.", show_default=False)],
    *,
    store: Store,
    limit: int | None,
) -> Report:
    """The category of one domain (IAB Content Taxonomy 3.1): Tier 1 and 2, confidence, the words
    that decided it and the next best categories. A domain 'linkback categorize' has not read is
    worked out now, and not kept.

    Example: linkback category example.com
    """
    row = cat.domain_category(store, domain)
    return Report(row, f"category of {row['domain']}", cat.DOMAIN_CATEGORY_COLUMNS)
