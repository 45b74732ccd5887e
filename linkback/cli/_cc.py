"""``linkback cc``: Common Crawl directly — ``fetch`` a host's captures by range request, ``graph
import`` a web graph release, and the ``ranks`` and ``refdomains`` it gives. Each calls the
:mod:`linkback.cc` function with the same parameter names (a running server's, when it owns the
database: the two imports are then its jobs)."""

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from linkback import cc
from linkback.cc._fetch import DEFAULT_CONCURRENCY, DEFAULT_DATA_URL, DEFAULT_INDEX_URL
from linkback.cc._http import DEFAULT_TIMEOUT
from linkback.cli._app import app
from linkback.cli._output import PrivateHostOption, Report, fail, report_command, terminal_safe, writable_store
from linkback.errors import LinkbackError
from linkback.store import Store

err = Console(stderr=True, highlight=False)
out = Console(highlight=False, width=min(Console().width, 80))

cc_app = typer.Typer(
    help="Common Crawl directly: fetch a host's captures from the URL index, import the web graph's ranks and links."
    "\n\nExample: linkback cc fetch --host example.com --crawl CC-MAIN-2024-10 --limit 100",
    no_args_is_help=True,
)
graph_app = typer.Typer(help="Common Crawl's host- and domain-level web graph releases.", no_args_is_help=True)
cc_app.add_typer(graph_app, name="graph")
app.add_typer(cc_app, name="cc")


class MatchType(str, Enum):
    host = "host"
    domain = "domain"
    prefix = "prefix"
    exact = "exact"


class Level(str, Enum):
    host = "host"
    domain = "domain"


DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="Database file (default: $LINKBACK_DB or ./linkback.duckdb).", dir_okay=False),
]
FormatOption = Annotated[str, typer.Option("--format", help="Summary as 'table' or 'json'.")]


def _with_bar(label: str, call: Any, quiet: bool) -> Any:
    """``call(progress)`` with a progress bar on stderr (none when quiet or not a terminal)."""
    if quiet or not err.is_terminal:
        return call(None)
    columns = (TextColumn(f"[bold]{label}[/bold] {{task.description}}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task("", total=None)

        def update(counters: dict[str, Any]) -> None:
            bar.update(task, description=str(counters.get("stage", "")), completed=counters.get("done", 0),
                       total=counters.get("total") or None)  # fmt: skip

        return call(update)


@cc_app.command("fetch")
def fetch_command(
    hosts: Annotated[list[str], typer.Option("--host", help="A host to fetch the captures of (repeatable).")],
    crawl: Annotated[str, typer.Option("--crawl", help="The crawl, as Common Crawl names it: CC-MAIN-2024-10.")],
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Fetch at most this many captures.")] = None,
    match_type: Annotated[
        MatchType, typer.Option("--match-type", help="host, domain (with subdomains), prefix (a URL path) or exact.")
    ] = MatchType.host,
    index_url: Annotated[
        str, typer.Option("--index-url", envvar=cc.INDEX_URL_ENV, help="The URL index server.")
    ] = DEFAULT_INDEX_URL,
    data_url: Annotated[
        str, typer.Option("--data-url", envvar=cc.DATA_URL_ENV, help="Where the WARC files are.")
    ] = DEFAULT_DATA_URL,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=16, help="Requests in flight at once.")
    ] = DEFAULT_CONCURRENCY,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", help="Seconds one request may take in all, a slow answer's body included (at most 3600)."
        ),
    ] = DEFAULT_TIMEOUT,
    allow_private: Annotated[
        bool, typer.Option("--allow-private", help="Allow loopback/private addresses (a local mirror; tests).")
    ] = False,
    allow_private_hosts: PrivateHostOption = None,
    db: DbOption = None,
    output: FormatOption = "table",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Fetch a host's pages from Common Crawl and index them: the status-200 HTML captures in the
    crawl's URL index, each WARC record fetched alone by HTTP range request from the data server
    and ingested like any archived page, while the index is read. A few requests at a time, retried
    with backoff when Common Crawl throttles (503, 429); a request that takes longer than --timeout
    is tried once more, and after 10 records in a row the data server did not answer the rest are
    not fetched. Prints captures found, fetched, pages stored, and what was skipped and why.

    Example: linkback cc fetch --host example.com --crawl CC-MAIN-2024-10 --limit 100
    """
    params: dict[str, Any] = {
        "hosts": hosts, "crawl": crawl, "limit": limit, "match_type": match_type.value, "index_url": index_url,
        "data_url": data_url, "concurrency": concurrency, "timeout": timeout, "allow_private": allow_private,
        "allow_private_hosts": allow_private_hosts or [],
    }  # fmt: skip
    with writable_store(db) as store:
        try:
            result = _with_bar("cc fetch", lambda progress: cc.cc_fetch(store, **params, progress=progress), quiet)
        except LinkbackError as exc:
            fail(str(exc))
    if output == "json":
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_fetch(result)
    if result["captures"] and not result["fetched"]:
        raise typer.Exit(1)


def _print_fetch(result: dict[str, Any]) -> None:
    table = Table(title=_text(f"Common Crawl {result['crawl']}"), show_header=False, box=None, title_justify="left")
    table.add_column("what", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    index = result["index"]
    table.add_row("index", f"{index['pages']:,} pages, {index['lines']:,} lines")
    for key, n in sorted(index["skipped"].items()):
        table.add_row("", f"not fetched: {key} {n:,}")
    table.add_row("captures found", f"{result['captures']:,}")
    table.add_row("fetched", f"{result['fetched']:,}")
    table.add_row("ingested", f"{result['pages']:,} pages ({result['duplicates']:,} stored before), "
                  f"{result['links']:,} links")  # fmt: skip
    for key, n in sorted(result["skipped"].items()):
        table.add_row("skipped", f"{key}: {n:,}")
    if result["retries"]:
        table.add_row("retried", ", ".join(f"{k}: {n:,}" for k, n in sorted(result["retries"].items())))
    for line in result["errors"][:10]:
        table.add_row("error", _text(line))
    out.print(table)


def _text(value: str) -> Text:
    """What a server or a file said, as a table shows it: never read as markup (``[/x]`` in a URL
    would end the print), with what would steer the terminal shown as escapes."""
    return Text(terminal_safe(value))


@graph_app.command("import")
def graph_import_command(
    vertices: Annotated[
        Path, typer.Argument(metavar="VERTICES", help="The vertices file (.txt.gz), or a folder of its parts.")
    ],
    edges: Annotated[Path, typer.Argument(metavar="EDGES", help="The edges file (.txt.gz), or a folder of its parts.")],
    ranks: Annotated[
        Path | None, typer.Argument(metavar="[RANKS]", help="The ranks file (.txt.gz); without it no ranks.")
    ] = None,
    level: Annotated[
        Level | None,
        typer.Option("--level", help="Which graph the files are of (default: what their names and columns say)."),
    ] = None,
    domains: Annotated[
        list[str] | None,
        typer.Option("--for", help="Keep the links to this domain (repeatable); default: the store's sites."),
    ] = None,
    release: Annotated[str, typer.Option("--release", help="The release's name, if the file names lack it.")] = "",
    db: DbOption = None,
    output: FormatOption = "table",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Import a Common Crawl web graph release: the harmonic-centrality and PageRank ranks of every
    host or domain on the web (from RANKS), and the hosts or domains linking to your domains (a
    filtered pass over EDGES). The files are streamed, never loaded: a release of many GB needs
    little memory. Lines that do not parse are skipped and reported with their line numbers; a
    file cut short (a truncated gzip) is an error, and nothing is imported.

    The level (host or domain) is what the files say: their names (-host-, -domain-) and columns
    (the domain level's vertices count each domain's hosts); --level that they contradict is an
    error. Values that are no ranks or names (a position below 1, "<script>") are skipped and
    reported with their lines; of a name or vertex id given twice the first line wins.

    A re-import of the same release and level replaces only what it brings: the ranks if RANKS is
    given (else the stored ranks stay), and the referring hosts/domains of the --for domains (those
    of other domains stay). Each release is kept apart; the reports read the latest imported one,
    or --release.

    Example: linkback cc graph import cc-main-2024-feb-apr-may-domain-vertices.txt.gz
    cc-main-2024-feb-apr-may-domain-edges.txt.gz cc-main-2024-feb-apr-may-domain-ranks.txt.gz --level domain
    """
    try:
        params: dict[str, Any] = {
            "vertices": cc.expand([vertices]), "edges": cc.expand([edges]),
            "ranks": cc.expand([ranks]) if ranks is not None else [], "level": level.value if level else None,
            "domains": list(domains or []), "release": release,
        }  # fmt: skip
    except LinkbackError as exc:
        fail(str(exc))
    with writable_store(db) as store:
        try:
            result = _with_bar(
                "cc graph import", lambda progress: cc.cc_graph_import(store, **params, progress=progress), quiet
            )
        except LinkbackError as exc:
            fail(str(exc))
    if output == "json":
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    table = Table(title=_text(f"{result['release']} ({result['level']} level)"), show_header=False, box=None,
                  title_justify="left")  # fmt: skip
    table.add_column("what", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for what, value in _import_rows(result):
        table.add_row(what, _text(value))
    bad = ", ".join(f"{kind} {n:,}" for kind, n in result["bad_lines"].items())
    table.add_row("bad lines", bad or "none")
    for line in result["errors"][:10]:
        table.add_row("", _text(line))
    out.print(table)


def _import_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    """The summary of ``cc graph import``: what came, what it replaced of the release, what it kept."""
    replaced, kept, level = result["replaced"], result["kept"], result["level"]
    if result["ranks"] or replaced["ranks"]:
        ranks = f"{result['ranks']:,}" + (f" (replacing the {replaced['ranks']:,} stored)" if replaced["ranks"] else "")
    elif kept["ranks"]:
        ranks = f"no ranks file: the {kept['ranks']:,} stored kept"
    else:
        ranks = "no ranks file: none stored"
    refs = f"{result['refdomains']:,} {level}s (internal left out: {result['internal']:,})"
    if replaced["refdomains"]:
        refs += f", replacing the {replaced['refdomains']:,} stored"
    rows = [
        ("ranks", ranks),
        ("for", ", ".join(result["domains"])),
        ("edges to them", f"{result['edges']:,} ({result['target_vertices']:,} vertices)"),
        ("referring", refs),
    ]
    if result.get("unknown_sources"):
        rows.append(("not in vertices", f"{result['unknown_sources']:,} source ids of the edges: skipped"))
    if kept["refdomains_of"]:
        rows.append(("kept", f"the referring {level}s of {', '.join(kept['refdomains_of'])}"))
    if result["other_releases"]:
        rows.append(("other releases", f"{', '.join(result['other_releases'])} (kept; the reports read the "
                     "latest imported, or --release)"))  # fmt: skip
    return rows


LevelOption = Annotated[Level | None, typer.Option("--level", help="Only this level (default: both).")]
ReleaseOption = Annotated[str | None, typer.Option("--release", help="A release (default: the latest imported).")]


@cc_app.command("ranks")
@report_command(limit=False)
def ranks_cmd(
    domains: Annotated[list[str], typer.Argument(metavar="DOMAIN...", help="Domains, hosts or URLs.")],
    level: LevelOption = None,
    release: ReleaseOption = None,
    *,
    store: Store,
    limit: int | None,
) -> Report:
    """The Common Crawl web graph ranks of each DOMAIN: position and value by harmonic centrality
    and by PageRank, at domain and host level ('linkback cc graph import' first).

    Example: linkback cc ranks example.com news.example
    """
    rows = cc.cc_ranks(store, domains, level=level.value if level else None, release=release)
    return Report(rows, "Common Crawl ranks", cc.CC_RANK_COLUMNS, ["name", "level", "hc_pos", "pr_pos", "n_hosts"])


class Sort(str, Enum):
    hc_pos = "hc_pos"
    pr_pos = "pr_pos"
    source = "source"


@cc_app.command("refdomains")
@report_command
def refdomains_cmd(
    target: Annotated[str, typer.Argument(metavar="TARGET", help="One of your domains.")],
    level: LevelOption = None,
    release: ReleaseOption = None,
    sort: Annotated[Sort, typer.Option("--sort", help="Most central first (hc_pos), by PageRank, or by name.")] = (
        Sort.hc_pos
    ),
    *,
    store: Store,
    limit: int | None,
) -> Report:
    """The hosts or domains linking to TARGET in the Common Crawl web graph, with their own ranks
    there (domain level, unless only the host level was imported or --level says), from the
    release last imported for TARGET (or --release).

    Example: linkback cc refdomains example.com --limit 20
    """
    rows = cc.cc_refdomains(
        store, target, level=level.value if level else None, release=release, sort=sort.value, limit=limit
    )
    shown = ["source", "linked", "hc_pos", "pr_pos"]
    what = f"referring domains of {target} in Common Crawl"
    if rows:
        what = f"referring {rows[0]['level']}s of {target} in {rows[0]['release']}"
    return Report(rows, what, cc.CC_REFDOMAIN_COLUMNS, shown)
