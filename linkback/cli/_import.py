"""``linkback import`` (exports into claims), ``linkback claims`` (the report that lists them) and
``linkback imports`` (the files imported)."""

import contextlib
import json
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from linkback.cli import _table
from linkback.cli._app import app
from linkback.cli._output import Report, WideOption, fail, report_command, writable_store
from linkback.cli._reports import TargetArg
from linkback.errors import LinkbackError
from linkback.imports import (
    CHOICES,
    CLAIM_COLUMNS,
    CLAIM_SORTS,
    LEVELS,
    VIAS,
    claims,
    import_files,
)
from linkback.imports._report import IMPORT_COLUMNS, imports
from linkback.store import Store

err = Console(stderr=True, highlight=False)

#: Refused rows quoted under the summary, per file.
SHOWN_REJECTS = 3
#: Kinds of reason counted under the summary when more rows were refused than are quoted.
SHOWN_REASONS = 5

if TYPE_CHECKING:

    class _Choice(str, Enum):
        pass

    FileFormat = _Choice
    Via = _Choice
    Level = _Choice
    ClaimSort = _Choice
else:

    def _choices(name: str, values: Any) -> type[Enum]:
        return Enum(name, {v: v for v in values}, type=str)

    FileFormat = _choices("FileFormat", CHOICES)
    Via = _choices("Via", VIAS)
    Level = _choices("Level", LEVELS)
    ClaimSort = _choices("ClaimSort", CLAIM_SORTS)


@app.command("import")
def import_command(
    paths: Annotated[list[Path], typer.Argument(metavar="FILE", help="Export files (CSV or TSV, any encoding).")],
    site: Annotated[
        str | None,
        typer.Option(
            "--site",
            metavar="SITE",
            help="The domain or host the exports are about, for those that do not say: Search Console's, "
            "referring domains, anchors, lists of URLs.",
        ),
    ] = None,
    file_format: Annotated[
        FileFormat,
        typer.Option(
            "--file-format",
            metavar="FORMAT",
            help=f"auto (by header: the default); a tool ({', '.join(VIAS)}) for any of its formats; "
            f"or one format ({', '.join(c for c in CHOICES if c != 'auto' and c not in VIAS)}).",
        ),
    ] = FileFormat("auto"),
    db: Annotated[
        Path | None,
        typer.Option("--db", help="Database file (default: $LINKBACK_DB or ./linkback.duckdb)."),
    ] = None,
    output: Annotated[str, typer.Option("--format", help="Summary as 'table' or 'json'.")] = "table",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
    wide: WideOption = False,
) -> None:
    """Import backlink exports as claims: Search Console links (top linking sites, top linked
    pages, latest links, more sample links), Bing Webmaster Tools, Ahrefs (backlinks, referring
    domains, anchors), Semrush, Majestic, Moz, a list of URLs, or a sheet of links you track
    (URL FROM, EXPECTED LANDING PAGE URL, EXPECTED FOLLOW, EXPECTED ANCHOR, NOTES, TAGS).

    Each file is recognised by its header and encoding. Claims stay unverified until linkback
    checks them; the tool's own metrics are kept beside them ('linkback claims'). A row that
    cannot be read is refused with its line number and the rest imported; importing a file
    again adds nothing, and a newer export updates what changed.

    Example: linkback import ahrefs-backlinks.csv latest-links.csv --site example.com
    """
    # The files are this command's: read here, one at a time, so a server gets their bytes, not
    # a path, and only one file's bytes are held at once.
    with contextlib.ExitStack() as stack:

        def opened() -> Store:  # only once a file could be read: a list of refusals makes no store
            return stack.enter_context(writable_store(db))

        try:
            if quiet or not err.is_terminal:
                result = import_files(opened, paths, site=site, file_format=file_format.value)
            else:
                result = _import_with_progress(opened, paths, site, file_format.value)
        except (LinkbackError, ValueError) as exc:  # a bad --site, before any store is opened
            fail(str(exc))
    if output == "json":
        json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        _print_summary(result["files"], wide=wide)
    if any(f["status"] == "failed" for f in result["files"]):
        raise typer.Exit(1)


def _import_with_progress(
    store: Callable[[], Store], paths: list[Path], site: str | None, file_format: str
) -> dict[str, Any]:
    columns = (SpinnerColumn(), TextColumn("[bold]import[/bold] {task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("", total=None)

        def update(counters: dict[str, Any]) -> None:
            rows = counters.get("rows") or 0
            where = f"{counters.get('done', 0) + 1}/{counters.get('total', 0)}"
            bar.update(task, description=f"{where} {counters.get('stage', '')}" + (f" {rows:,} rows" if rows else ""))

        return import_files(store, paths, site=site, file_format=file_format, progress=update)


_COUNTS = (("rows", "rows"), ("new", "added"), ("updated", "changed"), ("same", "unchanged"), ("refused", "rejected"))


def _print_summary(files: list[dict[str, Any]], *, wide: bool = False) -> None:
    """A row per file (its format, rows, claims new, updated, unchanged and rows refused), then
    the first refusals of each file and why each failed file failed."""
    columns = [
        _table.Column("file", _table.MIDDLE, [Text(f["name"]) for f in files]),
        _table.Column("format", _table.FIXED, [Text(f.get("format") or f["status"]) for f in files]),
        *(
            _table.Column(label, _table.FIXED, [Text(f"{f.get(key, 0):,}") for f in files], right=True)
            for label, key in _COUNTS
        ),
    ]
    added = sum(f.get("added", 0) for f in files)
    changed = sum(f.get("changed", 0) for f in files)
    n = len(files)
    title = f"Imported {n} file{'s' * (n != 1)}: {added:,} new claims, {changed:,} updated"
    table = _table.build(title, columns, wide=wide)
    _table.console_for(table).print(table)
    out = Console(highlight=False, soft_wrap=wide, width=None if wide else _table.terminal_width())
    for f in files:
        if f["status"] == "failed":
            err.print(f"[red]failed:[/red] {escape(f['name'])}: {escape(f.get('error') or '')}", soft_wrap=True)
            continue
        for reject in f.get("rejects", [])[:SHOWN_REJECTS]:
            out.print(Text(f"{f['name']}: line {reject['line']}: {reject['reason']}", style="yellow"))
        more = f.get("rejected", 0) - min(len(f.get("rejects", [])), SHOWN_REJECTS)
        if more > 0:
            rows = "row" if more == 1 else "rows"
            listed = f"'--format json' lists the first {len(f.get('rejects', [])):,}"
            out.print(Text(f"{f['name']}: {more:,} more {rows} refused, not shown ({listed})", style="dim"))
            _print_reasons(out, f["name"], f.get("reasons") or {})
    if any(f["status"] == "imported" for f in files):
        out.print(Text("claims stay unverified until checked: 'linkback claims SITE' lists them", style="dim"))


def _print_reasons(out: Console, name: str, reasons: dict[str, int]) -> None:
    """How many rows were refused for each kind of reason, the most frequent first."""
    for reason, count in list(reasons.items())[:SHOWN_REASONS]:
        out.print(Text(f"{name}: {count:,} refused: {reason}", style="dim"))
    others = len(reasons) - SHOWN_REASONS
    if others > 0:
        rest = sum(list(reasons.values())[SHOWN_REASONS:])
        kinds = "kind" if others == 1 else "kinds"
        out.print(Text(f"{name}: {rest:,} refused for {others} other {kinds} of reason, not shown", style="dim"))


@app.command("claims")
@report_command
def claims_cmd(
    target: TargetArg,
    via: Annotated[list[Via] | None, typer.Option("--via", help="Only claims from this tool (repeatable).")] = None,
    level: Annotated[
        list[Level] | None,
        typer.Option("--level", help="Only link, domain, page or anchor claims (repeatable)."),
    ] = None,
    verified: Annotated[
        bool | None,
        typer.Option("--verified/--unverified", help="Only claims linkback has checked / has not.", show_default=False),
    ] = None,
    sort: Annotated[ClaimSort, typer.Option("--sort", help="source A-Z; dates newest first.")] = ClaimSort("source"),
    *,
    store: Store,
    limit: int | None,
) -> Report:
    """The backlinks tools claim for TARGET (imported with 'linkback import'): source, target,
    anchor, rel, the tool's dates and metrics, whether linkback has verified each, and whether its
    own index holds a matching live link.

    Example: linkback claims example.com --via ahrefs --unverified --limit 20
    """
    rows = claims(
        store,
        target,
        via=[v.value for v in via] if via else None,
        level=[v.value for v in level] if level else None,
        verified=verified,
        sort=sort.value,
        limit=limit,
    )
    shown = ["via", "source", "target", "anchor", "status", "indexed"]
    return Report(rows, f"claims for {target}", CLAIM_COLUMNS, shown)


@app.command("imports")
@report_command
def imports_cmd(
    via: Annotated[list[Via] | None, typer.Option("--via", help="Only files from this tool (repeatable).")] = None,
    *,
    store: Store,
    limit: int | None,
) -> Report:
    """The export files imported, newest first: the format each was read as, rows read, claims
    new, updated and unchanged at its latest import, and rows refused ('--format json' gives the
    first refusals with their lines). A file imported again is still one row.

    Example: linkback imports --via gsc --limit 10
    """
    rows = imports(store, via=[v.value for v in via] if via else None, limit=limit)
    shown = ["name", "format", "target", "rows", "added", "changed", "rejected", "imported_at"]
    return Report(rows, "imported files", IMPORT_COLUMNS, shown)
