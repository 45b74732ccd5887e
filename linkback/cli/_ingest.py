"""``linkback ingest``: archives into the index, with a progress bar and a summary."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from linkback.cli import _table
from linkback.cli._app import app
from linkback.cli._output import WideOption, fail, writable_store
from linkback.errors import LinkbackError
from linkback.ingest import FileSummary, IngestSummary, default_workers
from linkback.ingest import Progress as IngestProgress
from linkback.jobs import ingest_files
from linkback.sources import wat
from linkback.sources.warc import iter_paths
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
    wide: WideOption = False,
) -> None:
    """Read web archives and add their pages and links to the index.

    Re-ingesting a file adds nothing; Ctrl-C keeps every batch that was committed.

    Example: linkback ingest crawl/*.warc.gz --workers 2
    """
    n_workers = workers or default_workers()
    started = time.perf_counter()
    # Globs and directories are this command's, resolved here (a server reads only the files
    # named), and before the store is opened: a path that names nothing leaves no new empty store.
    try:
        files = [os.path.abspath(p) for p in iter_paths(paths)]
    except (LinkbackError, ValueError) as exc:
        fail(str(exc))
    with writable_store(db) as store:
        if quiet or not err.is_terminal and output == "json":
            result = ingest_files(store, paths=files, workers=workers)
        else:
            result = _ingest_with_bar(files, store, workers)
    summary = IngestSummary.from_dict(result)
    for refused in result.get("refused", []):
        summary.files.append(FileSummary(refused["path"], "failed", errors=[f"{refused['path']}: {refused['reason']}"]))
    elapsed = time.perf_counter() - started
    if output == "json":
        json.dump(_summary_dict(summary, elapsed, n_workers), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_summary(summary, elapsed, n_workers, wide=wide, index_links=result.get("index_links"))
        if any(f.note == wat.LITE_NOTE for f in summary.files):  # what a WAT could not say
            Console(highlight=False).print("WAT lite ingest: what a WAT cannot tell\n  " + "\n  ".join(wat.CANNOT_KNOW))
    if summary.interrupted:
        raise typer.Exit(130)
    if any(f.status in ("failed", "partial") for f in summary.files):
        raise typer.Exit(1)


def _ingest_with_bar(paths: list[str], store: Store, workers: int) -> dict:
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

        def update(counters: dict) -> None:
            p = IngestProgress(**counters)
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

        return ingest_files(store, paths=paths, workers=workers, progress=update)


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


#: What each kind of skip is, as the summary names it: ingest counts them as ``kind/reason``.
SKIP_KINDS = {
    "record": "records that hold no page",
    "page": "pages stored, their links not read",
    "link": "hrefs not stored as links",
}
#: A word on the reasons whose names say least.
SKIP_NOTES = {"non_http_scheme": "mailto:, javascript:, tel:...", "invalid_url": "not a valid URL"}

#: The legend under the files table: what each count is, and why "links found" is more than the
#: links the index holds. Each line fits in 80 columns, so a terminal never wraps one mid-phrase.
SUMMARY_LEGEND = (
    "records: WARC/ARC records read; not pages: records with no page in them",
    "pages: captures stored; HTML: pages whose links were read",
    "links found: each time a link appears (in a page twice, or in two captures:",
    "  twice); the index keeps each distinct link once ('linkback export links')",
    "hrefs dropped: non-http(s) hrefs (mailto:, javascript:) and invalid URLs",
)


def _skipped(counts: dict[str, int], kind: str) -> int:
    return sum(n for reason, n in counts.items() if reason.split("/", 1)[0] == kind)


def _print_skips(skipped: dict[str, int], *, wide: bool) -> None:
    """Skips by kind (records, pages, hrefs) with their totals, each kind's reasons below it."""
    names: list[Text] = []
    counts: list[Text] = []
    for kind, what in SKIP_KINDS.items():
        reasons = {r.split("/", 1)[1]: c for r, c in skipped.items() if r.split("/", 1)[0] == kind}
        if not reasons:
            continue
        names.append(Text(what, style="bold"))
        counts.append(Text(f"{sum(reasons.values()):,}", style="bold"))
        for reason, count in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
            note = f" ({SKIP_NOTES[reason]})" if reason in SKIP_NOTES else ""
            names.append(Text(f"  {reason}{note}"))
            counts.append(Text(f"{count:,}"))
    columns = [
        _table.Column("skipped", _table.END, names),
        _table.Column("count", _table.FIXED, counts, right=True),
    ]
    table = _table.build("Skipped, by reason", columns, wide=wide)
    _table.console_for(table).print(table)


def _print_summary(
    summary: IngestSummary,
    elapsed: float,
    workers: int,
    *,
    wide: bool = False,
    index_links: int | None = None,
    title: str | None = None,
) -> None:
    """The files table and the legend of its counts, the skips by reason, warnings on stderr.

    ``index_links``, when given, is how many distinct live links the index holds afterwards;
    ``title`` replaces the table's (``linkback spark extract`` prints the same table)."""
    rows = [
        (f.path, f.status + (f" ({f.note})" if f.note else ""), f.records, f.skipped, f.pages, f.html_pages, f.links)
        for f in summary.files
    ]
    totals = [summary.total(a) for a in ("records", "pages", "html_pages", "links")]
    rows.append(("total", "", totals[0], summary.skipped, totals[1], totals[2], totals[3]))
    numbers = {
        "records": [r[2] for r in rows],
        "not pages": [_skipped(r[3], "record") for r in rows],
        "pages": [r[4] for r in rows],
        "HTML": [r[5] for r in rows],
        "links found": [r[6] for r in rows],
        "hrefs dropped": [_skipped(r[3], "link") for r in rows],
    }
    columns = [
        _table.Column("file", _table.MIDDLE, [Text(r[0]) for r in rows]),
        _table.Column("status", _table.END, [Text(r[1]) for r in rows]),
        *(_table.Column(name, _table.FIXED, [Text(f"{n:,}") for n in ns], right=True) for name, ns in numbers.items()),
    ]
    n = len(summary.files)
    title = title or f"Ingested {n} file{'s' * (n != 1)} in {elapsed:.1f} s with {workers} worker{'s' * (workers != 1)}"
    table = _table.build(title, columns, wide=wide, total_row=True)
    _table.console_for(table).print(table)
    out = Console(highlight=False, width=None if wide else _table.terminal_width())
    for line in SUMMARY_LEGEND:
        out.print(Text(line, style="dim"))
    if index_links is not None:
        out.print(f"the index now holds {index_links:,} distinct live links")
    if summary.skipped:
        _print_skips(summary.skipped, wide=wide)
    for line in summary.errors:
        err.print(f"[yellow]warning:[/yellow] {line}")
    if summary.interrupted:
        err.print("[yellow]interrupted:[/yellow] the committed batches are kept; run the same command again to finish")
