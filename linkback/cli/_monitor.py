"""``linkback monitor``: the link ledger — add links, fill it from what linkback knows, check them
on the live web, list them, show one link's timeline, pause and resume checks. Each command
calls one function of :mod:`linkback.monitor` (its faces), so the same call runs in a server
that owns the database."""

import json
import math
import re
import sys
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from linkback.cli._app import app
from linkback.cli._output import PrivateHostOption, Report, report_command, writable_store
from linkback.monitor import (
    LEDGER_COLUMNS,
    ORIGINS,
    REASONS,
    TIMELINE_COLUMNS,
    VERDICTS,
    ledger,
    link_timeline,
    monitor,
    monitor_add,
    monitor_pause,
    monitor_sync,
)
from linkback.monitor._run import RENDER_MODES
from linkback.monitor._verdict import DEFAULT_CONFIRM_AFTER
from linkback.store import Store

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, width=min(Console().width, 80))

if TYPE_CHECKING:

    class _Choice(str, Enum):
        pass

    Verdict = _Choice
    Reason = _Choice
    Origin = _Choice
    RenderMode = _Choice
else:

    def _choices(name: str, values: Any) -> type[Enum]:
        return Enum(name, {v: v for v in values}, type=str)

    Verdict = _choices("Verdict", VERDICTS)
    Reason = _choices("Reason", REASONS)
    Origin = _choices("Origin", ORIGINS)
    RenderMode = _choices("RenderMode", RENDER_MODES)

WriteDb = Annotated[
    Path | None,
    typer.Option("--db", help="Database file (default: $LINKBACK_DB or ./linkback.duckdb)."),
]
OutputOption = Annotated[str, typer.Option("--format", help="Summary as 'table' or 'json'.")]

monitor_app = typer.Typer(
    help="The link ledger: your backlinks, re-checked on the live web (live, changed, lost or unknown, "
    "with the evidence of every check).\n\nExample: linkback monitor add https://blog.example.org/post "
    "https://example.com/ --anchor Example",
    no_args_is_help=True,
)
app.add_typer(monitor_app, name="monitor")


_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", re.IGNORECASE)


def parse_duration(text: str, option: str) -> float:
    """Seconds of a duration as typed: a number and a unit, ``s``, ``m``, ``h`` or ``d`` (``90s``,
    ``30m``, ``1h``, ``2d``; a bare number is seconds). A usage error naming ``option`` otherwise."""
    match = _DURATION.fullmatch(text)
    seconds = float(match[1]) * _UNITS[match[2].lower()] if match else math.nan
    if not math.isfinite(seconds):
        raise typer.BadParameter(f"{text!r} is no duration: give e.g. 0, 90s, 30m, 1h or 2d", param_hint=option)
    return seconds


def _duration(seconds: float) -> str:
    """Seconds the way ``--confirm-after`` takes them (3600 -> 1h)."""
    for unit in ("d", "h", "m"):
        if seconds and seconds % _UNITS[unit] == 0:
            return f"{seconds / _UNITS[unit]:g}{unit}"
    return f"{seconds:g}s"


def _print_json(value: Any) -> None:
    from linkback.faces import plain  # noqa: PLC0415

    json.dump(plain(value), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def _pairs(title: str, rows: list[tuple[str, str]]) -> None:
    table = Table(title=title, show_header=False, box=None, pad_edge=False, title_justify="left")
    table.add_column("what", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for what, value in rows:
        table.add_row(what, value)
    out.print(table)


@monitor_app.command("add")
def add_cmd(
    source_url: Annotated[str, typer.Argument(metavar="SOURCE_URL", help="The page that links to you.")],
    target_url: Annotated[
        str,
        typer.Argument(metavar="TARGET_URL", help="The page it links to; a bare domain or host for any of its pages."),
    ],
    anchor: Annotated[str | None, typer.Option("--anchor", help="The anchor text you expect.")] = None,
    follow: Annotated[
        bool | None,
        typer.Option("--follow/--nofollow", help="You expect a followed (or a nofollow) link.", show_default=False),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="A note of yours on the link.")] = None,
    tags: Annotated[str | None, typer.Option("--tags", help="Tags, separated by spaces or commas.")] = None,
    output: OutputOption = "table",
    db: WriteDb = None,
) -> None:
    """Put a link in the ledger, to be checked from now on (a link already there gets the values
    given and is resumed).

    Example: linkback monitor add https://blog.example.org/post https://example.com/pricing --anchor "Example" --follow
    """
    with writable_store(db) as store:
        row = monitor_add(store, source_url, target_url, anchor=anchor, follow=follow, note=note, tags=tags)
    if output == "json":
        _print_json(row)
        return
    target = row["target_url"] or f"any page of {row['target_host']}"
    said = "added" if row["added"] else "already in the ledger (updated)"
    err.print(f"link {row['link_id']} {said}: {escape(row['source_url'])} -> {escape(target)}")


@monitor_app.command("sync")
def sync_cmd(
    site: Annotated[
        str | None,
        typer.Argument(
            metavar="SITE", help="A domain, host or URL prefix (default: every site of 'linkback site list')."
        ),
    ] = None,
    output: OutputOption = "table",
    db: WriteDb = None,
) -> None:
    """Fill the ledger from what linkback knows: imported claims of single links ('linkback
    import'), verified or approved mentions, and the index's live links to SITE (or, without
    SITE, to every site of 'linkback site list'). Each link enters once.

    Example: linkback monitor sync example.com
    """
    with writable_store(db, create=False) as store:
        result = monitor_sync(store, site)
    if output == "json":
        _print_json(result)
        return
    rows = [
        (origin, f"{result['found'][origin]:,} found, {result['added'][origin]:,} new")
        for origin in ("claim", "mention", "index")
    ]
    rows.append(("sites", ", ".join(result["sites"]) or "none (give SITE, or add one with 'linkback site add')"))
    if result["refused"]["sites"]:
        rows.append(("not sites", ", ".join(result["refused"]["sites"])))
    rows.append(("ledger", f"{result['ledger']:,} links"))
    _pairs(f"Ledger sync: {result['total_added']:,} new links", rows)


@monitor_app.command("run")
def run_cmd(
    ids: Annotated[
        list[int] | None, typer.Argument(metavar="ID", help="Check these links now (see 'monitor list').")
    ] = None,
    all_links: Annotated[bool, typer.Option("--all", help="Check every unpaused link, due or not.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Check at most this many links.")] = None,
    render: Annotated[
        RenderMode,
        typer.Option("--render", help="auto: render a page in Chromium when the raw HTML lacks a link; always; never."),
    ] = RenderMode("auto"),
    confirm_after: Annotated[
        str,
        typer.Option(
            "--confirm-after",
            metavar="DURATION",
            help="A loss seen once (removed, page gone, redirected) is re-checked by a run this long after "
            "(e.g. 90s, 30m, 2d), so an outage shorter than that is no loss; 0 confirms it in this run.",
        ),
    ] = _duration(DEFAULT_CONFIRM_AFTER),
    allow_private: Annotated[
        bool,
        typer.Option(
            "--allow-private", help="Allow loopback/private addresses and any port (also LINKBACK_ALLOW_PRIVATE=1)."
        ),
    ] = False,
    allow_private_hosts: PrivateHostOption = None,
    output: OutputOption = "table",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
    db: WriteDb = None,
) -> None:
    """Check the ledger's due links on the live web now (a running server checks them on its own
    schedule): robots.txt obeyed, one connection per host, 32 at once, every response kept in
    WARC files beside the database; a page whose raw HTML lacks the link is rendered in headless
    Chromium first. A loss (removed, page gone, redirected) is reported only once a second fetch
    agrees: one made by a run at least --confirm-after later (an hour by default), so a site down
    or mid-deploy for less than that is no loss and sends no alert; --confirm-after 0 makes that
    fetch in this run, seconds later.

    Example: linkback monitor run --all --limit 100
    """
    seconds = parse_duration(confirm_after, "--confirm-after")
    with writable_store(db, create=False) as store:
        kwargs: dict[str, Any] = dict(
            ids=ids or [],
            all_links=all_links,
            limit=limit,
            render=render.value,
            confirm_after=seconds,
            allow_private=allow_private,
            allow_private_hosts=allow_private_hosts or [],
        )
        if quiet or output == "json" or not err.is_terminal:
            result = monitor(store, **kwargs)
        else:
            with err.status("checking links", spinner="dots") as status:

                def update(counters: dict[str, Any]) -> None:
                    status.update(f"checking links: {counters.get('done', 0):,} of {counters.get('total', 0):,}")

                result = monitor(store, progress=update, **kwargs)
    if output == "json":
        _print_json(result)
        return
    _print_run(result)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k or 'none'}: {v:,}" for k, v in counts.items()) or "none"


def _print_run(result: dict[str, Any]) -> None:
    rows = [
        ("links checked", f"{result['checked']:,} of {result['links']:,} ({result['pages']:,} pages)"),
        ("verdicts", _counts(result["verdicts"])),
        ("reasons", _counts(result["reasons"])),
        ("with changes", f"{result['with_changes']:,}"),
        ("fetches", f"{result['fetches']:,} (robots.txt and confirmations included)"),
        ("errors", _counts(result["errors"])),
        ("rendered", f"{result['rendered']:,}" + (f" ({result['render_note']})" if result["render_note"] else "")),
        ("seconds", f"{result['seconds']:.1f}"),
    ]
    if result.get("pending"):
        rows.append(("unconfirmed", _pending_note(result)))
    if result.get("deferred"):
        rows.append(("left for later", _counts(result["deferred"]) + " pages (their host asked to wait, Retry-After)"))
    rows += [("WARC file", path) for path in result["warc_files"]]
    _pairs("Monitor run", rows)
    if result["links"] == 0:
        err.print("nothing was due: 'linkback monitor run --all' checks every link now")


def _pending_note(result: dict[str, Any]) -> str:
    """What the run left to confirm: "3 losses seen once: re-checked from 15:40 UTC (...)"."""
    n = result["pending"]
    note = f"{n:,} loss{'es' if n != 1 else ''} seen once"
    due = result.get("pending_from")
    if isinstance(due, str):  # a summary that came as JSON, through a server
        due = datetime.fromisoformat(due.replace("Z", "+00:00"))
    if isinstance(due, datetime):
        due = due.astimezone(UTC)
        when = due.strftime("%H:%M UTC" if due.date() == datetime.now(UTC).date() else "%Y-%m-%d %H:%M UTC")
        note += f": re-checked from {when}"
    if result.get("confirm_after"):
        note += " (--confirm-after 0 confirms a loss in the run that sees it)"
    return note


@monitor_app.command("list")
@report_command
def list_cmd(
    target: Annotated[
        str | None, typer.Argument(metavar="TARGET", help="Only links to this domain, host or URL prefix.")
    ] = None,
    verdict: Annotated[
        list[Verdict] | None, typer.Option("--verdict", help="live, changed, lost or unknown (repeatable).")
    ] = None,
    reason: Annotated[list[Reason] | None, typer.Option("--reason", help="Why lost or unknown (repeatable).")] = None,
    origin: Annotated[
        list[Origin] | None, typer.Option("--origin", help="added, claim, mention or index (repeatable).")
    ] = None,
    unchecked: Annotated[
        bool | None,
        typer.Option("--unchecked/--checked", help="Only links never checked / checked.", show_default=False),
    ] = None,
    after: Annotated[
        int | None, typer.Option("--after", metavar="ID", help="Start past this link id (the next page).")
    ] = None,
    *,
    store: Store,
    limit: int | None,
) -> Report:
    """The ledger: each link with its verdict and reason, where it was found, and when it is
    checked next.

    Example: linkback monitor list example.com --verdict lost --reason removed
    """
    rows = ledger(
        store,
        target,
        verdict=[v.value for v in verdict] if verdict else None,
        reason=[v.value for v in reason] if reason else None,
        origin=[v.value for v in origin] if origin else None,
        unchecked=unchecked,
        limit=limit,
        after=after,
    )
    shown = ["link_id", "source", "target", "verdict", "reason", "anchor", "checked_at", "next_check_at"]
    return Report(rows, "ledger links" + (f" to {target}" if target else ""), LEDGER_COLUMNS, shown)


@monitor_app.command("show")
@report_command
def show_cmd(
    link_id: Annotated[int, typer.Argument(metavar="ID", help="The ledger link (see 'monitor list').")],
    *,
    store: Store,
    limit: int | None,
) -> Report:
    """One link's timeline: every check, oldest first, with its evidence (status, redirects,
    final URL, address, whether and where the link was found, anchor, rel, section, the WARC
    record) and the verdict after it, with what changed.

    Example: linkback monitor show 12 --format json
    """
    rows = link_timeline(store, link_id, limit=limit)
    shown = ["check_id", "checked_at", "status", "found_in", "anchor", "verdict", "reason", "error"]
    return Report(rows, f"checks of ledger link {link_id}", TIMELINE_COLUMNS, shown)


IdsArg = Annotated[list[int], typer.Argument(metavar="ID", help="Ledger link ids (see 'monitor list').")]


@monitor_app.command("pause")
def pause_cmd(ids: IdsArg, db: WriteDb = None) -> None:
    """Stop checking these links (they keep their verdict and timeline).

    Example: linkback monitor pause 12 13
    """
    with writable_store(db, create=False) as store:
        result = monitor_pause(store, ids, paused=True)
    err.print(f"paused: {result['changed']} changed")


@monitor_app.command("resume")
def resume_cmd(ids: IdsArg, db: WriteDb = None) -> None:
    """Check these paused links again, on their schedule.

    Example: linkback monitor resume 12 13
    """
    with writable_store(db, create=False) as store:
        result = monitor_pause(store, ids, paused=False)
    err.print(f"resumed: {result['changed']} changed")
