"""Referral traffic commands: ``visits`` (read access logs and analytics exports), ``traffic``
(channels → sources → referring pages), ``traffic-trend`` (visits over time per referring
domain), ``silent-backlinks`` and ``visit-imports``. Each report calls the
:mod:`linkback.traffic` function of the same name with the same parameter names."""

import json
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from linkback import csvcells
from linkback import traffic as tr
from linkback.cli import _table
from linkback.cli._app import app
from linkback.cli._output import (
    Format,
    FormatOption,
    Report,
    WideOption,
    fail,
    plain,
    report_command,
    terminal_safe,
    writable_store,
)
from linkback.errors import LinkbackError
from linkback.reports import GROWTH_PERIODS, PRESETS
from linkback.store import Store
from linkback.traffic._read import iter_traffic_paths

err = Console(stderr=True, highlight=False)

if TYPE_CHECKING:

    class _Choice(str, Enum):
        pass

    Group = _Choice
    Channel = _Choice
    Preset = _Choice
    Bucket = _Choice
else:
    Group = Enum("Group", {v: v for v in tr.TRAFFIC_GROUPS}, type=str)
    Channel = Enum("Channel", {v: v for v in tr.CHANNELS}, type=str)
    Preset = Enum("Preset", {v: v for v in PRESETS}, type=str)
    Bucket = Enum("Bucket", {v: v for v in GROWTH_PERIODS}, type=str)

TargetArg = Annotated[
    str,
    typer.Argument(
        metavar="TARGET",
        help="A domain (example.com: all its hosts), a host (www.example.com) or a URL prefix (https://example.com/blog/).",
        show_default=False,
    ),
]
Since = Annotated[str | None, typer.Option("--since", metavar="YYYY-MM-DD", help="First day (UTC).")]
Until = Annotated[
    str | None,
    typer.Option("--until", metavar="YYYY-MM-DD", help="Last day (UTC); default: the day of the latest visit."),
]
PeriodOpt = Annotated[
    Preset | None, typer.Option("--period", help="A period ending on --until: 7d, 30d, 90d, 12m or all.")
]
ChannelOpt = Annotated[
    Channel | None, typer.Option("--channel", help="Only this channel (quote it: 'Organic Search').")
]


@app.command("visits")
def visits_cmd(
    paths: Annotated[
        list[str],
        typer.Argument(
            metavar="LOG...",
            help="Access logs (combined, vhost_combined, Caddy JSON, CloudFront, W3C; gzip ok) or Plausible/GA4 CSV "
            "exports: files, directories, globs.",
        ),
    ],
    host: Annotated[
        str | None,
        typer.Option(
            "--host", help="The site the files are for (a domain covers its hosts); needed when lines name no host."
        ),
    ] = None,
    scheme: Annotated[
        str, typer.Option("--scheme", help="Scheme of the logged pages when a line does not tell.")
    ] = "https",
    output_format: FormatOption = Format.table,
    wide: WideOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
    db: Annotated[
        Path | None,
        typer.Option("--db", help="Database file (default: $LINKBACK_DB or ./linkback.duckdb)."),
    ] = None,
) -> None:
    """Read referral traffic from access logs and analytics exports: each page view by a person
    from outside the site becomes a visit with its source and channel (Organic Search, Referral,
    AI Assistants...). Crawlers, sub-resources, moves between the site's own pages and referrer
    spam are counted, not kept. A line that cannot be read is counted with its line number and
    the rest read; reading a file again adds nothing.

    Example: linkback visits /var/log/nginx/access.log* --host example.com
    """
    try:  # inputs that name nothing are refused before the store is opened (or made)
        iter_traffic_paths(paths)  # the visits' reader expands them again, as it reads
    except (LinkbackError, ValueError) as exc:
        fail(str(exc))
    with writable_store(db) as store:
        try:
            if quiet or not err.is_terminal:
                results = tr.read_visits(store, paths, host=host, scheme=scheme)
            else:
                results = _with_progress(store, paths, host, scheme)
        except (LinkbackError, ValueError) as exc:
            fail(str(exc))
    rows = [plain(vars(r)) for r in results]
    if output_format is Format.json:
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    elif output_format is Format.jsonl:
        sys.stdout.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    elif output_format is Format.csv:
        writer = csvcells.Writer(sys.stdout)
        writer.writerow(rows[0] if rows else ["name"])
        for row in rows:
            writer.writerow(json.dumps(v) if isinstance(v, (dict, list)) else v for v in row.values())
    else:
        _print_summary(results, wide=wide)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


def _with_progress(store: Store, paths: list[str], host: str | None, scheme: str) -> list[tr.FileResult]:
    columns = (SpinnerColumn(), TextColumn("[bold]visits[/bold] {task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("", total=None)

        def update(counters: dict[str, Any]) -> None:
            rows = counters.get("rows") or 0
            bar.update(task, description=f"{counters.get('stage', '')}" + (f" {rows:,} visits" if rows else ""))

        return tr.read_visits(store, paths, host=host, scheme=scheme, progress=update)


_COUNTS = (("lines", "lines"), ("visits", "visits"), ("new", "added"), ("refused", "skipped"))


def _print_summary(results: list[tr.FileResult], *, wide: bool = False) -> None:
    read = [r for r in results if r.status != "skipped"]
    columns = [
        _table.Column("file", _table.MIDDLE, [Text(terminal_safe(r.name)) for r in read]),
        _table.Column("format", _table.FIXED, [Text(r.format or r.status) for r in read]),
        *(
            _table.Column(label, _table.FIXED, [Text(f"{getattr(r, key):,}") for r in read], right=True)
            for label, key in _COUNTS
        ),
    ]
    added = sum(r.added for r in read)
    table = _table.build(f"Read {len(read)} file{'s' * (len(read) != 1)}: {added:,} new visits", columns, wide=wide)
    _table.console_for(table).print(table)
    out = Console(highlight=False, soft_wrap=wide, width=None if wide else _table.terminal_width())
    # A file's name, its refused lines and an export's own channel names are anyone's text: what
    # would steer the terminal (ESC, bidi marks) is shown as escapes.
    for r in results:
        name, error = terminal_safe(r.name), terminal_safe(r.error)
        if r.status == "already":
            out.print(Text(f"{name}: read before: nothing to add", style="dim"))
        elif r.status in ("failed", "skipped"):
            err.print(f"[red]{r.status}:[/red] {escape(name)}: {escape(error)}", soft_wrap=True)
        else:
            if r.error:
                err.print(f"[yellow]{escape(name)}:[/yellow] {escape(error)}", soft_wrap=True)
            for e in r.errors[:3]:
                out.print(Text(terminal_safe(f"{name}: line {e['line']}: {e['reason']}"), style="yellow"))
            dropped = ", ".join(f"{n:,} {why}" for why, n in sorted(r.dropped.items(), key=lambda kv: -kv[1]))
            if dropped:
                out.print(Text(f"{name}: not visits: {dropped}", style="dim"))
            if r.channels:
                out.print(Text(terminal_safe(f"{name}: " + ", ".join(f"{ch} {n:,}" for ch, n in r.channels.items()))))


@app.command("traffic")
@report_command
def traffic_cmd(
    target: TargetArg,
    by: Annotated[Group, typer.Option("--by", help="channel, source (within channel) or referrer (page).")] = Group(
        "channel"
    ),
    channel: ChannelOpt = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Only this source (as the source column shows it).")
    ] = None,
    since: Since = None,
    until: Until = None,
    period: PeriodOpt = None,
    *,
    store: Store,
    limit: int | None,
) -> Report:
    """The visits that landed on TARGET by channel, source or referring page (with the live
    backlinks on that page), most first, from what 'linkback visits' read.

    Example: linkback traffic example.com --by referrer --channel Referral --period 30d
    """
    rows = tr.traffic(
        store,
        target,
        by=by.value,
        channel=channel.value if channel else None,
        source=source,
        since=since,
        until=until,
        period=period.value if period else None,
        limit=limit,
    )
    shown = {"channel": ["channel", "visits", "share"], "source": ["channel", "source", "visits", "share"]}.get(
        by.value, ["source", "referrer", "visits", "backlinks"]
    )
    return Report(rows, f"{by.value}s sending visits to {target}", tr.TRAFFIC_COLUMNS, shown)


@app.command("traffic-trend")
@report_command(limit=False)
def traffic_trend_cmd(
    target: TargetArg,
    by: Annotated[Bucket, typer.Option("--by", help="Days, weeks (from Monday) or calendar months.")] = Bucket("day"),
    domains: Annotated[
        int, typer.Option("--domains", min=0, help="The most visiting referring domains (0: all).")
    ] = 10,
    channel: ChannelOpt = None,
    since: Since = None,
    until: Until = None,
    period: PeriodOpt = None,
    *,
    store: Store,
    limit: int | None,
) -> Report:
    """Visits to TARGET over time from each of its most visiting referring domains.

    Example: linkback traffic-trend example.com --by week --domains 5
    """
    rows = tr.traffic_trend(
        store,
        target,
        by=by.value,
        channel=channel.value if channel else None,
        since=since,
        until=until,
        period=period.value if period else None,
        limit=domains or None,
    )
    return Report(rows, f"periods of visits to {target} by referring domain", tr.TREND_COLUMNS)


@app.command("silent-backlinks")
@report_command
def silent_backlinks_cmd(
    target: TargetArg,
    days: Annotated[int, typer.Option("--days", min=1, help="The window, in days, ending on --until.")] = 90,
    until: Until = None,
    *,
    store: Store,
    limit: int | None,
) -> Report:
    """TARGET's live backlinks that sent no visit in the last DAYS days the logs cover.

    Example: linkback silent-backlinks example.com --days 90
    """
    rows = tr.silent_backlinks(store, target, days=days, until=until, limit=limit)
    what = f"backlinks to {target} that sent no visit" + (f" {rows[0]['since']}..{rows[0]['until']}" if rows else "")
    return Report(rows, what, tr.SILENT_COLUMNS, ["source_url", "target_url", "last_visit"])


@app.command("visit-imports")
@report_command
def visit_imports_cmd(*, store: Store, limit: int | None) -> Report:
    """The traffic files 'linkback visits' read, newest first: lines, visits kept and new, lines
    refused and requests dropped by reason.

    Example: linkback visit-imports --limit 10
    """
    rows = tr.visit_imports(store, limit=limit)
    shown = ["name", "format", "lines", "visits", "added", "skipped", "read_at"]
    return Report(rows, "traffic files read", tr.VISIT_IMPORT_COLUMNS, shown)
