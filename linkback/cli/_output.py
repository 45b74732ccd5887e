"""What every report command shares: ``--format``, ``--limit``, ``--db``, and how errors end.

A report command is a function that takes ``store`` and ``limit`` (plus its own arguments) and
returns a :class:`Report`; :func:`report_command` turns it into a Typer command with the shared
options, opens the store read-only, and prints the rows as a Rich table (for people) or as
JSON, JSON lines or CSV (for machines):

    @app.command("backlinks")
    @report_command
    def backlinks_cmd(target: TargetArg, *, store: Store, limit: int | None) -> Report:
        return Report(reports.backlinks(store, target, limit=limit), f"backlinks to {target}", ...)
"""

import csv
import functools
import inspect
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from linkback.cli._handoff import SERVER_STORE, hand_off
from linkback.errors import LinkbackError, SchemaTooOld, StoreLocked
from linkback.store import Store, default_db_path

#: 0–100 ratings, shown with one decimal in tables (JSON and CSV keep every digit).
RATING_COLUMNS = frozenset({"dr", "ur", "hr", "trust", "anti_trust"})

#: Rows a table shows when no ``--limit`` is given.
TABLE_LIMIT = 50


class Format(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


@dataclass
class Report:
    """What a report command hands back for printing.

    ``rows`` is a report function's result (a list of row dicts, or one dict for a summary);
    ``what`` names it for the table title ("backlinks to example.com"); ``columns`` are the
    JSON keys / CSV header in order; ``table_columns`` the narrower set a table shows.
    """

    rows: list[dict[str, Any]] | dict[str, Any]
    what: str
    columns: Sequence[str]
    table_columns: Sequence[str] | None = None


DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="Database file, opened read-only (default $LINKBACK_DB, else ./linkback.duckdb).",
        show_default=False,
        dir_okay=False,
    ),
]
LimitOption = Annotated[
    int | None,
    typer.Option(
        "--limit",
        min=0,
        help=f"Most rows to print (default {TABLE_LIMIT} for a table, all otherwise); 0 for all.",
        show_default=False,
    ),
]
FormatOption = Annotated[
    Format,
    typer.Option("--format", "-f", help="table for people; json (one array), jsonl or csv for machines."),
]


def fail(message: str) -> NoReturn:
    """One red line on stderr, then exit code 2."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(code=2)


@contextmanager
def open_store(db: Path | None) -> Iterator[Store]:
    """The store at ``db`` (default: ``$LINKBACK_DB``, else ``./linkback.duckdb``), read-only;
    any :class:`~linkback.errors.LinkbackError` or ``ValueError`` inside ends the command
    through :func:`fail`."""
    path = db if db is not None else default_db_path()
    store = SERVER_STORE.get()
    try:
        if store is None:
            try:
                store = Store(path, read_only=True)
            except SchemaTooOld:
                # Written by an older linkback: migrate once (a short write transaction), then read.
                Store(path).close()
                store = Store(path, read_only=True)
    except StoreLocked as exc:
        hand_off(path)
        fail(str(exc))
    except LinkbackError as exc:
        fail(str(exc))
    # DuckDB would draw its progress bar on stdout, in the middle of the output.
    store.con.execute("SET enable_progress_bar = false")
    try:
        yield store
    except (LinkbackError, ValueError) as exc:
        fail(str(exc))
    finally:
        store.close()


@contextmanager
def writable_store(db: Path | None) -> Iterator[Store]:
    """The store at ``db`` opened for writing (or the server's, when a server runs the command);
    errors end the command through :func:`fail`, and a database owned by a running server hands
    the whole command to it."""
    path = db if db is not None else default_db_path()
    store = SERVER_STORE.get()
    try:
        if store is None:
            store = Store(path)
    except StoreLocked as exc:
        hand_off(path)
        fail(str(exc))
    except LinkbackError as exc:
        fail(str(exc))
    store.con.execute("SET enable_progress_bar = false")
    try:
        yield store
    except (LinkbackError, ValueError) as exc:
        fail(str(exc))
    finally:
        store.close()


def as_of(store: Store) -> str:
    """`` (ranks as of 2024-05-01 12:00 UTC, run 3)`` for a table title, or ``""`` before the first rank run."""
    from linkback.reports import latest_run  # the reports package imports this module's neighbours

    run = latest_run(store.con)
    if run is None:
        return ""
    return f" (ranks as of {run[1]:%Y-%m-%d %H:%M} UTC, run {run[0]})"


def iso(value: datetime) -> str:
    """A timestamp as JSON and CSV show it: ISO 8601 in UTC, ``2024-05-01T12:00:00Z``."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, datetime):
        return iso(value)[:10]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        if column.endswith("share"):
            return f"{value:.1%}"
        return f"{value:.1f}" if column in RATING_COLUMNS else f"{value:g}"
    if isinstance(value, (list, tuple)):
        return escape(" ".join(map(str, value)))
    if column == "anchor" and value == "":
        return "[dim](none)[/dim]"
    return escape(str(value))


def render(report: Report, fmt: Format, limit: int | None) -> None:
    """Print ``report`` to stdout in ``fmt``."""
    rows = report.rows
    out = sys.stdout
    if fmt is Format.json:
        plain = (
            {k: _plain(v) for k, v in rows.items()}
            if isinstance(rows, dict)
            else [{k: _plain(row[k]) for k in report.columns} for row in rows]
        )
        out.write(json.dumps(plain, ensure_ascii=False, indent=2) + "\n")
        return
    records = [rows] if isinstance(rows, dict) else rows
    if fmt is Format.jsonl:
        for row in records:
            out.write(json.dumps({k: _plain(row[k]) for k in report.columns}, ensure_ascii=False) + "\n")
        return
    if fmt is Format.csv:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(report.columns)
        for row in records:
            writer.writerow(["" if row[k] is None else _plain(row[k]) for k in report.columns])
        return
    console = Console(highlight=False)
    if isinstance(rows, dict):
        table = Table(title=report.what[:1].upper() + report.what[1:], title_justify="left")
        table.add_column("metric")
        table.add_column("value", justify="right", overflow="fold")
        for k in report.columns:
            table.add_row(k, _cell(k, rows[k]))
        console.print(table)
        return
    columns = report.table_columns or report.columns
    title = f"{len(rows)} {report.what}"
    table = Table(title=title, title_justify="left", caption=None)
    if limit is not None and len(rows) == limit:
        table.caption = f"first {limit}; more may exist: --limit 0 shows all"
    for k in columns:
        numeric = bool(rows) and isinstance(rows[0].get(k), (int, float)) and not isinstance(rows[0].get(k), bool)
        table.add_column(k, justify="right" if numeric else "left", overflow="fold")
    for row in rows:
        table.add_row(*(_cell(k, row[k]) for k in columns))
    console.print(table)


def report_command(fn: Callable[..., Report] | None = None, *, limit: bool = True):
    """Give a report command the shared ``--format``, ``--limit`` and ``--db`` options.

    ``fn`` takes its own CLI parameters plus ``store`` (opened here, read-only) and ``limit``
    (``--limit``; None for all) and returns a :class:`Report`. Errors a report raises on purpose
    (a bad TARGET, a missing database, a bad option value) end as one red line and exit code 2.
    ``@report_command(limit=False)`` leaves out ``--limit`` for a one-row summary.
    """
    if fn is None:
        return functools.partial(report_command, limit=limit)
    with_limit = limit
    own = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in inspect.signature(fn).parameters.values()
        if p.name not in ("store", "limit")
    ]
    shared = [
        inspect.Parameter(
            "output_format", inspect.Parameter.KEYWORD_ONLY, default=Format.table, annotation=FormatOption
        ),
        inspect.Parameter("db", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=DbOption),
    ]
    if with_limit:
        shared.insert(
            0, inspect.Parameter("limit", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=LimitOption)
        )

    @functools.wraps(fn)
    def command(*, output_format: Format, db: Path | None, limit: int | None = None, **kwargs: Any) -> None:
        if limit is None:
            limit = TABLE_LIMIT if output_format is Format.table and with_limit else None
        elif limit == 0:
            limit = None
        with open_store(db) as store:
            report = fn(store=store, limit=limit, **kwargs)
        render(report, output_format, limit)

    params = own + shared
    command.__signature__ = inspect.Signature(params, return_annotation=None)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    del command.__wrapped__  # type: ignore[attr-defined]
    return command
