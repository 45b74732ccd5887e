"""Authority and quality commands: ``rank``, ``dr``, ``toxic``, ``disavow``, ``allow``/``deny``/``lists``
and ``profile`` — each a thin layer over the Python function of the same name."""

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from linkback import quality, reports
from linkback.cli import _table
from linkback.cli._app import app
from linkback.cli._output import (
    DbOption,
    Format,
    FormatOption,
    Report,
    WideOption,
    as_of,
    fail,
    render,
    report_command,
    writable_store,
)
from linkback.cli._reports import TargetArg
from linkback.errors import LinkbackError
from linkback.jobs import rank_run
from linkback.rank import STAGES, RankSummary, read_seeds
from linkback.store import Store

err = Console(stderr=True)

WriteDb = Annotated[
    Path | None,
    typer.Option("--db", help="Database file (default: $LINKBACK_DB or ./linkback.duckdb)."),
]


_writable = writable_store


@app.command("rank")
def rank_cmd(
    seeds: Annotated[
        Path | None,
        typer.Option(
            "--seeds", help="TrustRank seed file, one domain per line (default: the bundled list).", dir_okay=False
        ),
    ] = None,
    spam_seeds: Annotated[
        Path | None,
        typer.Option(
            "--spam-seeds", help="Anti-trust seed file (the deny list's domains are always seeds).", dir_okay=False
        ),
    ] = None,
    damping: Annotated[float, typer.Option("--damping", min=0.01, max=0.99, help="PageRank damping factor.")] = 0.85,
    db: WriteDb = None,
    output: Annotated[str, typer.Option("--format", help="Summary as 'table' or 'json'.")] = "table",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    wide: WideOption = False,
) -> None:
    """Rank every page, host and domain (URL Rating, Domain Rating, TrustRank, anti-trust, harmonic
    centrality) and score toxicity; stores the run with its time and parameters.

    Example: linkback rank --seeds trusted.txt
    """
    try:
        # Seed files are this command's: read here, so a server gets the domains, not a path.
        trust = read_seeds(seeds) if seeds is not None else None
        spam = read_seeds(spam_seeds) if spam_seeds is not None else None
    except (LinkbackError, ValueError, OSError) as exc:
        fail(str(exc))
    with _writable(db, create=False) as store:
        if quiet or output == "json" and not err.is_terminal:
            summary = RankSummary(**rank_run(store, seeds=trust, spam_seeds=spam, damping=damping))
        else:
            summary = _rank_with_bar(store, trust, spam, damping)
    if output == "json":
        json.dump(summary.as_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    _print_rank_summary(summary, wide=wide)


def _rank_with_bar(store: Store, seeds: list[str] | None, spam_seeds: list[str] | None, damping: float) -> RankSummary:
    columns = (
        TextColumn("[bold]rank"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err) as bar:
        task = bar.add_task("", total=len(STAGES))

        def update(counters: dict) -> None:
            bar.update(task, completed=counters.get("done", 0), description=counters.get("stage", ""))

        summary = RankSummary(**rank_run(store, seeds=seeds, spam_seeds=spam_seeds, damping=damping, progress=update))
        bar.update(task, completed=len(STAGES), description="done")
    return summary


def _print_rank_summary(summary: RankSummary, *, wide: bool = False) -> None:
    its = summary.iterations
    graphs = [
        ("pages (URL Rating)", summary.pages, summary.page_edges, its.get("page")),
        ("hosts", summary.hosts, summary.host_edges, its.get("host")),
        ("domains (Domain Rating)", summary.domains, summary.domain_edges, its.get("domain")),
    ]
    columns = [_table.Column("graph", _table.END, [Text(g[0]) for g in graphs])]
    for k, name in enumerate(("nodes", "edges", "iterations"), start=1):
        cells = [Text("" if g[k] is None else f"{g[k]:,}") for g in graphs]
        columns.append(_table.Column(name, _table.FIXED, cells, right=True))
    table = _table.build(f"Rank run {summary.run_id} in {summary.seconds:.1f} s", columns, wide=wide)
    _table.console_for(table).print(table)
    p = summary.params
    Console(highlight=False).print(
        f"TrustRank seeds found: {p['trust_seeds_found']} of {p['trust_seeds']}; "
        f"anti-trust seeds found: {p['spam_seeds_found']} of {p['spam_seeds']}; harmonic centrality: {p['harmonic']}"
    )


@app.command("dr")
@report_command
def dr_cmd(
    domain: Annotated[
        str, typer.Argument(metavar="DOMAIN", help="A registrable domain (a host or URL is reduced to it).")
    ],
    *,
    store: Store,
    limit: int | None,
) -> Report:
    """The Domain Rating history of DOMAIN: one row per rank run with its DR, raw rank, trust,
    anti-trust, referring domains, backlinks and toxicity.

    Example: linkback dr example.com
    """
    rows = reports.domain_history(store, domain, limit=limit)
    shown = ["run_id", "as_of", "dr", "trust", "anti_trust", "refdomains", "backlinks", "toxicity", "signals"]
    return Report(rows, f"rank runs for {domain}", reports.DOMAIN_HISTORY_COLUMNS, shown)


@app.command("toxic")
@report_command
def toxic_cmd(
    target: TargetArg,
    links: Annotated[
        bool, typer.Option("--links", help="One row per backlink instead of per referring domain.")
    ] = False,
    min_score: Annotated[int, typer.Option("--min-score", min=0, max=100, help="Only rows scoring at least this.")] = 0,
    *,
    store: Store,
    limit: int | None,
) -> Report:
    """The referring domains (or, with --links, the backlinks) of TARGET, most toxic first, with
    the signals that fired. Needs a 'linkback rank' run.

    Example: linkback toxic example.com --min-score 50
    """
    fn = quality.toxic_links if links else quality.toxic_domains
    rows = fn(store, target, min_score=min_score, limit=limit)
    for row in rows:
        row["signals"] = " ".join(row["signals"])
    if links:
        columns = [
            "toxicity", "signals", "source_url", "target_url", "anchor", "kind", "section", "dofollow", "dr", "reasons"
        ]  # fmt: skip
        shown = ["toxicity", "reasons", "source_url", "anchor", "section", "dr"]
        return Report(rows, f"backlinks of {target} by toxicity{as_of(store)}", columns, shown)
    columns = ["toxicity", "signals", "domain", "dr", "links", "reasons"]
    shown = ["toxicity", "reasons", "domain", "dr", "links"]  # the reasons: the signals with their evidence
    return Report(rows, f"referring domains of {target} by toxicity{as_of(store)}", columns, shown)


@app.command("disavow")
def disavow_cmd(
    target: Annotated[
        str | None,
        typer.Argument(metavar="[TARGET]", help="The site to write a disavow file for.", show_default=False),
    ] = None,
    check: Annotated[
        Path | None,
        typer.Option("--check", metavar="FILE", help="Validate an existing disavow file instead.", dir_okay=False),
    ] = None,
    min_score: Annotated[
        int, typer.Option("--min-score", min=1, max=100, help="Disavow referring domains scoring at least this.")
    ] = quality.DISAVOW_MIN_SCORE,
    db: DbOption = None,
) -> None:
    """Write a disavow file in Google's syntax for TARGET from its toxic referring domains and the
    deny list, or check one with --check FILE (exit 1 when it breaks a rule).

    Example: linkback disavow example.com --min-score 60 > disavow.txt
    """
    if check is not None:
        _check_disavow(check)
        return
    if target is None:
        fail("give a TARGET to write a disavow file for, or --check FILE")
    from linkback.cli._output import open_store

    with open_store(db) as store:
        text = quality.disavow(store, target, min_score=min_score)
    sys.stdout.write(text)


def _check_disavow(path: Path) -> None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        fail(f"{path}: cannot read ({exc.strerror or exc})")
    problems = quality.check_disavow(data, filename=str(path))
    out = Console(highlight=False, soft_wrap=True)
    errors = [p for p in problems if p.severity == "error"]
    for p in problems:
        where = f"{path}:{p.line}" if p.line else str(path)
        colour = "red" if p.severity == "error" else "yellow"
        out.print(f"{escape(where)}: [{colour}]{p.severity}[/{colour}] {p.rule}: {escape(p.message)}")
    out.print(f"{escape(str(path))}: {len(errors)} error(s), {len(problems) - len(errors)} warning(s)")
    if errors:
        raise typer.Exit(1)


def _list_cmd(which: str):
    def command(
        entries: Annotated[list[str], typer.Argument(metavar="ENTRY...", help="Domains, hosts or URLs.")],
        note: Annotated[str, typer.Option("--note", help="Why (kept with the entry).")] = "",
        remove: Annotated[bool, typer.Option("--remove", help="Take the entries off the list instead.")] = False,
        db: WriteDb = None,
    ) -> None:
        with _writable(db) as store:
            if remove:
                n = quality.remove_from_list(store, which, entries)
                typer.echo(f"removed {n} entr{'y' if n == 1 else 'ies'} from the {which} list", err=True)
                return
            added = quality.add_to_list(store, which, entries, note=note)
        typer.echo(f"{which} list: added {', '.join(added)}", err=True)

    return command


_LIST_HELP = {
    "allow": """Put domains, hosts or URLs on the allow list: their links score 0 for toxicity, whatever
    their signals, and never go into a disavow file.

    Example: linkback allow partner.example --note "our sister site"
    """,
    "deny": """Put domains, hosts or URLs on the deny list: their links score 100 for toxicity, go into
    every disavow file, and denied domains seed the anti-trust rank.

    Example: linkback deny spam-links.example casino-seo.example
    """,
}
for _which in ("allow", "deny"):
    app.command(_which, help=_LIST_HELP[_which])(_list_cmd(_which))


@app.command("lists")
@report_command
def lists_cmd(*, store: Store, limit: int | None) -> Report:
    """The allow and deny lists, oldest entry first.

    Example: linkback lists --format csv
    """
    rows = quality.list_entries(store)
    rows = rows if limit is None else rows[:limit]
    return Report(rows, "list entries", ["list", "entry", "kind", "note", "added_at"])


@app.command("profile")
def profile_cmd(
    site: Annotated[str, typer.Argument(metavar="SITE", help="The domain or host the terms are for.")],
    brand: Annotated[list[str] | None, typer.Option("--brand", help="A brand term (repeatable).")] = None,
    keyword: Annotated[list[str] | None, typer.Option("--keyword", help="A money keyword (repeatable).")] = None,
    db: WriteDb = None,
    fmt: FormatOption = Format.table,
    wide: WideOption = False,
) -> None:
    """Show or set the brand terms and keywords of SITE, which the anchor classes and the
    exact-match anchor signal use (default brand: the domain's name).

    Example: linkback profile example.com --brand "Example Corp" --keyword "blue widgets"
    """
    with _writable(db) as store:
        try:
            if brand is None and keyword is None:
                row = quality.get_profile(store, site)
            else:
                row = quality.set_profile(store, site, brands=brand or (), keywords=keyword or ())
        except (LinkbackError, ValueError) as exc:
            fail(str(exc))
    shown = {"site": row["site"], "brands": ", ".join(row["brands"]), "keywords": ", ".join(row["keywords"])}
    if fmt is Format.table:
        render(Report(shown, f"profile of {row['site']}", ["site", "brands", "keywords"]), fmt, None, wide=wide)
    else:
        render(Report(row, f"profile of {row['site']}", ["site", "brands", "keywords"]), fmt, None)
