"""``linkback crawl``: a polite crawl into WARC files the user keeps, then ingested."""

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
from linkback.cli._output import fail, writable_store
from linkback.crawl import CrawlError, CrawlSummary, run_crawl

err = Console(stderr=True, highlight=False)
out = Console(highlight=False, width=min(Console().width, 80))


class ScopeChoice(str, Enum):
    site = "site"
    hosts = "hosts"
    list = "list"


@app.command("crawl")
def crawl_command(
    seeds: Annotated[list[str], typer.Argument(help="Start URLs (http or https).")],
    scope: Annotated[
        ScopeChoice,
        typer.Option("--scope", help="Follow links within the seeds' sites, their hosts only, or fetch the list."),
    ] = ScopeChoice.site,
    depth: Annotated[int, typer.Option("--depth", min=0, help="Links to follow away from a seed.")] = 3,
    max_pages: Annotated[int, typer.Option("--max-pages", min=1, help="Pages to fetch at most.")] = 1000,
    delay: Annotated[
        float, typer.Option("--delay", min=0.0, help="Seconds between requests to one host (jittered ±50 %).")
    ] = 1.0,
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for the WARC files (kept).")] = Path("crawl"),
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
    ingest: Annotated[bool, typer.Option("--ingest/--no-ingest", help="Index the WARC files after the crawl.")] = True,
    db: Annotated[
        Path | None, typer.Option("--db", help="Database file (default: $LINKBACK_DB or ./linkback.duckdb).")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="Summary as 'table' or 'json'.")] = "table",
) -> None:
    """Crawl from the seeds politely, keep the pages as WARC files, and index their links.

    Obeys robots.txt and its Crawl-delay, one connection per host, waits --delay between requests
    (and what Retry-After asks on 429/503), caps responses at 10 MB, and refuses loopback, private
    and metadata addresses. One crawl per process.

    Example: linkback crawl https://example.com/ --contact https://example.com/about --out crawl/
    """
    allow = allow_private or os.environ.get("LINKBACK_ALLOW_PRIVATE", "").strip().lower() in {"1", "true", "yes"}
    quiet = output == "json" or not err.is_terminal

    def on_page(stats: dict[str, Any]) -> None:
        pages, size = stats.get("crawl/pages", 0), stats.get("downloader/response_bytes", 0)
        status.update(f"crawling: {pages:,} pages, {size:,} bytes")

    try:
        with err.status("crawling: starting", spinner="dots") as status:
            summary = run_crawl(
                seeds,
                out=out_dir.resolve(),
                scope=scope.value,
                depth=depth,
                max_pages=max_pages,
                delay=delay,
                contact=contact,
                agent=agent or None,
                allow_private=allow,
                on_page=None if quiet else on_page,
            )
    except CrawlError as exc:
        fail(str(exc))
    ingested: dict[str, Any] | None = None
    if ingest and summary.warc_files:
        from linkback.jobs import ingest_files  # noqa: PLC0415

        with writable_store(db) as store:
            ingested = ingest_files(store, paths=summary.warc_files)
    if output == "json":
        json.dump({**summary.as_dict(), "ingest": ingested}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_summary(summary, ingested)
    if summary.pages == 0:
        raise typer.Exit(1)


def _print_summary(summary: CrawlSummary, ingested: dict[str, Any] | None) -> None:
    table = Table(title="Crawl", show_header=False, box=None, pad_edge=False, title_justify="left")
    table.add_column("what", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    statuses = ", ".join(f"{code}: {n:,}" for code, n in summary.statuses.items()) or "none"
    table.add_row("pages fetched", f"{summary.pages:,}")
    table.add_row("responses", f"{statuses} (robots.txt and redirects included)")
    table.add_row("bytes", f"{summary.bytes:,}")
    table.add_row("robots.txt denied", f"{summary.robots_denied:,}")
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
    table.add_row("WARC files", f"{len(summary.warc_files):,}")
    for path in summary.warc_files:
        table.add_row("", path)
    if ingested is not None:
        files = ingested.get("files", [])
        pages = sum(f.get("pages", 0) for f in files)
        links = sum(f.get("links", 0) for f in files)
        table.add_row("ingested", f"{pages:,} pages, {links:,} links; the index holds {ingested['index_links']:,}")
    out.print(table)
