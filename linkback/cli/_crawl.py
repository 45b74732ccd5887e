"""``linkback crawl``: a polite crawl into WARC files the user keeps, ingested as it goes."""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from linkback.cli._app import app
from linkback.cli._output import PrivateHostOption, fail, private_host_entries
from linkback.crawl import CrawlSummary, run_crawl
from linkback.errors import LinkbackError
from linkback.store import default_db_path

err = Console(stderr=True, highlight=False)
out = Console(highlight=False, width=min(Console().width, 80))


class ScopeChoice(str, Enum):
    site = "site"
    hosts = "hosts"
    list = "list"


@app.command("crawl")
def crawl_command(
    seeds: Annotated[
        list[str] | None, typer.Argument(help="Start URLs (http or https); none with --resume.", show_default=False)
    ] = None,
    scope: Annotated[
        ScopeChoice,
        typer.Option("--scope", help="Follow links within the seeds' sites, their hosts only, or fetch the list."),
    ] = ScopeChoice.site,
    depth: Annotated[int, typer.Option("--depth", min=0, help="Links to follow away from a seed.")] = 3,
    max_pages: Annotated[int, typer.Option("--max-pages", min=1, help="Pages to fetch at most.")] = 1000,
    delay: Annotated[
        float, typer.Option("--delay", min=0.0, help="Seconds between requests to one host (jittered ±50 %).")
    ] = 1.0,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Directory for the WARC files (kept); also names the crawl to resume.")
    ] = Path("crawl"),
    contact: Annotated[
        str, typer.Option("--contact", help="A URL or address for site owners, put in the User-Agent.")
    ] = "",
    agent: Annotated[str, typer.Option("--user-agent", help="The whole User-Agent, instead of linkback's.")] = "",
    allow_private: Annotated[
        bool,
        typer.Option(
            "--allow-private", help="Allow loopback/private addresses and any port (also LINKBACK_ALLOW_PRIVATE=1)."
        ),
    ] = False,
    allow_private_hosts: PrivateHostOption = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Go on with the stopped crawl of --out (also done by itself).")
    ] = False,
    render: Annotated[
        bool, typer.Option("--render", help="Render every HTML page in headless Chromium and follow its links.")
    ] = False,
    ingest: Annotated[bool, typer.Option("--ingest/--no-ingest", help="Index the pages as they are fetched.")] = True,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Extraction processes.")] = 1,
    db: Annotated[
        Path | None, typer.Option("--db", help="Database file (default: $LINKBACK_DB or ./linkback.duckdb).")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="Summary as 'table' or 'json'.")] = "table",
) -> None:
    """Crawl from the seeds politely, keep the pages as WARC files, and index their links as it goes.

    Obeys robots.txt and its Crawl-delay, one connection per host, waits --delay between requests
    (and what Retry-After asks on 429/503), caps responses at 10 MB, and refuses loopback, private
    and metadata addresses (--allow-private-host opens them for one host, --allow-private for all).
    Unchanged pages are archived as revisit records. The frontier is kept in the database: a crawl
    stopped by Ctrl-C, a crash or kill -9 goes on where it stopped when run again with the same --out. With a server running on the database, the crawl is its job. The summary
    counts the URLs not fetched by reason; --format json lists them.

    Example: linkback crawl https://example.com/ --contact https://example.com/about --out crawl/
    """
    from linkback.client import connect  # noqa: PLC0415

    allow = allow_private or os.environ.get("LINKBACK_ALLOW_PRIVATE", "").strip().lower() in {"1", "true", "yes"}
    quiet = output == "json" or not err.is_terminal
    path = db if db is not None else default_db_path()
    params: dict[str, Any] = {
        "seeds": list(seeds or []), "out": str(out_dir.resolve()), "scope": scope.value, "depth": depth,
        "max_pages": max_pages, "delay": delay, "contact": contact, "agent": agent, "allow_private": allow,
        "allow_private_hosts": private_host_entries(allow_private_hosts), "resume": resume, "render": render,
    }  # fmt: skip
    try:
        remote = connect(path)
    except LinkbackError as exc:
        fail(str(exc))
    try:
        with err.status("crawling: starting", spinner="dots") as status:

            def on_page(stats: dict[str, Any]) -> None:
                pages, size = stats.get("crawl/pages", stats.get("pages", 0)), stats.get("downloader/response_bytes", 0)
                status.update(f"crawling: {pages:,} pages, {size:,} bytes")

            if remote is not None:
                from linkback.jobs import crawl  # noqa: PLC0415

                with remote:
                    result = crawl(remote, **params, progress=None if quiet else on_page)
                summary = CrawlSummary(**{k: v for k, v in result.items() if k in CrawlSummary.__dataclass_fields__})
            else:
                params["agent"] = agent or None
                summary = run_crawl(
                    params.pop("seeds"), **params, db=path, ingest=ingest, workers=workers,
                    on_page=None if quiet else on_page,
                )  # fmt: skip
    except (LinkbackError, ValueError) as exc:
        fail(str(exc))
    if output == "json":
        json.dump(summary.as_dict(), sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        _print_summary(summary)
    if summary.pages == 0:
        raise typer.Exit(1)


def _print_summary(summary: CrawlSummary) -> None:
    table = Table(title="Crawl", show_header=False, box=None, pad_edge=False, title_justify="left")
    table.add_column("what", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    statuses = ", ".join(f"{code}: {n:,}" for code, n in summary.statuses.items()) or "none"
    table.add_row("pages fetched", f"{summary.pages:,}")
    table.add_row("responses", f"{statuses} (robots.txt and redirects included)")
    table.add_row("bytes", f"{summary.bytes:,}")
    table.add_row("robots.txt denied", f"{summary.robots_denied:,}")
    table.add_row("robots.txt unavailable", f"{summary.robots_unavailable:,} (5xx, 429 or no answer: host skipped)")
    for host, seconds in summary.crawl_delays.items():
        table.add_row("Crawl-delay", f"{host}: {seconds:g} s")
    if summary.retry_after_waits:
        table.add_row("Retry-After waits", f"{summary.retry_after_waits:,}")
    refused = ", ".join(f"{reason}: {n:,}" for reason, n in summary.refused.items()) or "0"
    table.add_row("refused (SSRF guard)", refused)
    for refusal in summary.refused_hosts:
        table.add_row("", f"{refusal['url']}: {refusal['detail']}")
    for kind, n in summary.errors.items():
        table.add_row("errors", f"{kind}: {n:,}")
    if summary.unfetched:
        reasons = ", ".join(f"{reason}: {n:,}" for reason, n in summary.unfetched.items())
        table.add_row("not fetched", f"{reasons} (the URLs: --format json)")
    table.add_row("WARC files", f"{len(summary.warc_files):,}")
    for path in summary.warc_files:
        table.add_row("", path)
    if summary.revisits:
        table.add_row("revisit records", f"{summary.revisits:,} (payload unchanged since the last fetch)")
    if summary.rendered or summary.render_failed:
        failed = ", ".join(f"{why}: {n:,}" for why, n in summary.render_failed.items()) or "0"
        table.add_row("rendered", f"{summary.rendered:,}; not rendered: {failed}")
    if summary.resumed:
        table.add_row("resumed", f"run {summary.run} of {summary.crawl_id}")
    for caught in summary.caught_up:
        table.add_row("caught up", f"{caught['path']}: {caught['pages']:,} pages ({caught['status']})")
    if summary.ingest is not None:
        stored = summary.ingest
        table.add_row("ingested", f"{stored['pages']:,} pages, {stored['links']:,} links, as they came")
    for problem in summary.problems:
        table.add_row("problem", problem)
    out.print(table)
