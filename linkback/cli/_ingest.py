"""``linkback ingest``: archives into the index, with a progress bar and a summary."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from linkback.cli._app import app
from linkback.cli._output import writable_store
from linkback.ingest import IngestSummary, default_workers, ingest
from linkback.ingest import Progress as IngestProgress
from linkback.store import Store

err = Console(stderr=True)


@app.command("ingest")
def ingest_command(
    paths: Annotated[list[str], typer.Argument(help="WARC/ARC files (gzipped or not), directories or globs.")],
    workers: Annotated[int, typer.Option("--workers", "-w", help="Extraction processes (default: all cores).")] = 0,
    db: Annotated[
        Path | None, typer.Option("--db", help="Database file (default: $LINKBACK_DB or ./linkback.duckdb).")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="Summary as 'table' or 'json'.")] = "table",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Read web archives and add their pages and links to the index.

    Re-ingesting a file adds nothing; Ctrl-C keeps every batch that was committed.

    Example: linkback ingest crawl/*.warc.gz --workers 2
    """
    n_workers = workers or default_workers()
    started = time.perf_counter()
    with writable_store(db) as store:
        if quiet or not err.is_terminal and output == "json":
            summary = ingest(paths, store=store, workers=n_workers)
        else:
            summary = _ingest_with_bar(paths, store, n_workers)
    elapsed = time.perf_counter() - started
    if output == "json":
        json.dump(_summary_dict(summary, elapsed, n_workers), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_summary(summary, elapsed, n_workers)
    if summary.interrupted:
        raise typer.Exit(130)
    if any(f.status == "failed" for f in summary.files):
        raise typer.Exit(1)


def _ingest_with_bar(paths: list[str], store: Store, workers: int) -> IngestSummary:
    columns = (
        TextColumn("[bold]ingest"),
        BarColumn(),
        TaskProgressColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[records]:>8,} records {task.fields[pages]:>8,} pages {task.fields[links]:>10,} links"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task("ingest", total=None, records=0, pages=0, links=0, rate="")
        t0 = time.perf_counter()

        def update(p: IngestProgress) -> None:
            dt = max(time.perf_counter() - t0, 1e-9)
            rate = f"{p.pages / dt:,.0f} pages/s {p.done_bytes / dt / 2**20:,.1f} MB/s"
            bar.update(
                task,
                total=p.total_bytes,
                completed=p.done_bytes,
                records=p.records,
                pages=p.pages,
                links=p.links,
                rate=rate,
            )

        return ingest(paths, store=store, workers=workers, on_progress=update)


def _summary_dict(summary: IngestSummary, elapsed: float, workers: int) -> dict:
    return {
        "files": [
            {
                "path": f.path,
                "status": f.status,
                "records": f.records,
                "responses": f.responses,
                "pages": f.pages,
                "html_pages": f.html_pages,
                "duplicates": f.duplicates,
                "links": f.links,
                "skipped": dict(sorted(f.skipped.items())),
                "errors": f.errors,
                "note": f.note,
            }
            for f in summary.files
        ],
        "records": summary.total("records"),
        "pages": summary.total("pages"),
        "html_pages": summary.total("html_pages"),
        "links": summary.total("links"),
        "skipped": dict(sorted(summary.skipped.items())),
        "interrupted": summary.interrupted,
        "seconds": round(elapsed, 3),
        "workers": workers,
    }


def _print_summary(summary: IngestSummary, elapsed: float, workers: int) -> None:
    out = Console()
    files = Table(title=f"Ingested {len(summary.files)} file(s) in {elapsed:.1f} s with {workers} worker(s)")
    for col in ("file", "status", "records", "pages", "HTML", "links", "skipped"):
        files.add_column(col, justify="left" if col in ("file", "status") else "right")
    for f in summary.files:
        files.add_row(
            f.path,
            f.status + (f" ({f.note})" if f.note else ""),
            f"{f.records:,}",
            f"{f.pages:,}",
            f"{f.html_pages:,}",
            f"{f.links:,}",
            f"{sum(f.skipped.values()):,}",
        )
    files.add_section()
    files.add_row(
        "total",
        "",
        f"{summary.total('records'):,}",
        f"{summary.total('pages'):,}",
        f"{summary.total('html_pages'):,}",
        f"{summary.total('links'):,}",
        f"{sum(summary.skipped.values()):,}",
    )
    out.print(files)
    if summary.skipped:
        reasons = Table(title="Skipped, by reason")
        reasons.add_column("reason")
        reasons.add_column("count", justify="right")
        for reason, count in sorted(summary.skipped.items(), key=lambda kv: (-kv[1], kv[0])):
            reasons.add_row(reason, f"{count:,}")
        out.print(reasons)
    for line in summary.errors:
        err.print(f"[yellow]warning:[/yellow] {line}")
    if summary.interrupted:
        err.print("[yellow]interrupted:[/yellow] the committed batches are kept; run the same command again to finish")
