"""What every report command shares: ``--format``, ``--limit``, ``--db``, ``--wide``, and how errors end.

A report command is a function that takes ``store`` and ``limit`` (plus its own arguments) and
returns a :class:`Report`; :func:`report_command` turns it into a Typer command with the shared
options, opens the store read-only, and prints the rows as a Rich table (for people, fitted to
the terminal by :mod:`._table`) or as JSON, JSON lines or CSV (for machines, every value whole):

    @app.command("backlinks")
    @report_command
    def backlinks_cmd(target: TargetArg, *, store: Store, limit: int | None) -> Report:
        return Report(reports.backlinks(store, target, limit=limit), f"backlinks to {target}", ...)
"""

import functools
import inspect
import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from linkback import csvcells
from linkback.cli import _table
from linkback.errors import LinkbackError, SchemaTooOld, StoreLocked
from linkback.faces import iso, plain
from linkback.store import Store, default_db_path

#: 0–100 ratings, shown with one decimal in tables (JSON and CSV keep every digit), under these
#: names or ending in them: ``source_dr``, ``min_dr``, ``avg_ur``, ``source_trust``...
RATING_COLUMNS = frozenset({"dr", "ur", "hr", "trust", "anti_trust"})


def is_rating(column: str) -> bool:
    """Is ``column`` a 0–100 rating (``dr``, ``source_dr``, ``max_ur``, ``anti_trust``...)?"""
    return column in RATING_COLUMNS or any(column.endswith("_" + name) for name in RATING_COLUMNS)


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
WideOption = Annotated[
    bool,
    typer.Option(
        "--wide",
        help="Tables: every column and whole values, however wide (default: fit the terminal, or 80 columns).",
    ),
]
#: ``--allow-private-host``, the same on every command that fetches (crawl, send, monitor run,
#: alerts run, cc fetch, serve).
PrivateHostOption = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-private-host",
        metavar="ENTRY",
        help=(
            "Allow this private host, address or network only (wiki.internal, 10.0.0.5:8080, 10.0.0.0/8), "
            "on ports 80, 443, 8080 and 8443 unless one is given (wiki.internal:3000); repeatable. "
            "Also LINKBACK_ALLOW_PRIVATE_HOSTS (comma-separated)."
        ),
        show_default=False,
    ),
]


def private_host_entries(given: Sequence[str] | None) -> list[str]:
    """The ``--allow-private-host`` entries given, then those of ``LINKBACK_ALLOW_PRIVATE_HOSTS``."""
    from linkback.fetch import allow_private_hosts_from_env  # noqa: PLC0415 - httpx: only for a command that fetches

    return [*(given or []), *allow_private_hosts_from_env()]


def allow_private_env() -> bool:
    """Whether ``LINKBACK_ALLOW_PRIVATE`` switches the SSRF guard off, read as every command and
    the crawler read it (:func:`linkback.fetch.allow_private_from_env`)."""
    from linkback.fetch import allow_private_from_env  # noqa: PLC0415 - httpx: only for a command that fetches

    return allow_private_from_env()


def fail(message: str) -> NoReturn:
    """One red line on stderr, then exit code 2."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(code=2)


@contextmanager
def open_store(db: Path | None) -> Iterator[Store]:
    """The store at ``db`` (default: ``$LINKBACK_DB``, else ``./linkback.duckdb``), read-only —
    or, while a ``linkback serve`` owns the file, a :class:`~linkback.faces.RemoteStore` whose
    report functions run in that server. Any :class:`~linkback.errors.LinkbackError` or
    ``ValueError`` inside ends the command through :func:`fail`."""
    with _store(db, read_only=True) as store:
        yield store


@contextmanager
def writable_store(db: Path | None, *, create: bool = True) -> Iterator[Store]:
    """The store at ``db`` opened for writing, or the owning server's (see :func:`open_store`).
    ``create=False``: a command that works on what a store holds (rank, a list) fails when there
    is none, as a report does, rather than make an empty one at a mistyped ``--db`` path."""
    with _store(db, read_only=False, create=create) as store:
        yield store


@contextmanager
def _store(db: Path | None, *, read_only: bool, create: bool = True) -> Iterator[Any]:
    from linkback.client import connect  # noqa: PLC0415

    path = db if db is not None else default_db_path()
    try:
        store: Any = connect(path)
        if store is None:
            store = _open_file(path, read_only=read_only, create=create)
            # DuckDB would draw its progress bar on stdout, in the middle of the output.
            store.con.execute("SET enable_progress_bar = false")
    except StoreLocked as exc:
        fail(f"{exc}; if that is a linkback server, it did not say so in {path}.server.json")
    except (LinkbackError, ValueError) as exc:
        fail(str(exc))
    try:
        yield store
    except (LinkbackError, ValueError) as exc:
        fail(str(exc))
    finally:
        store.close()


def _open_file(path: Path, *, read_only: bool, create: bool = True) -> Store:
    if not read_only:
        return Store(path, create=create)
    try:
        return Store(path, read_only=True)
    except SchemaTooOld:
        # Written by an older linkback: migrate once (a short write transaction), then read.
        Store(path).close()
        return Store(path, read_only=True)


def as_of(store: Store) -> str:
    """`` (ranks as of 2024-05-01 12:00 UTC, run 3)`` for a table title, or ``""`` before the first rank run."""
    from linkback.reports import latest_rank_run  # noqa: PLC0415 - the reports import this module's neighbours

    run = latest_rank_run(store)
    if run is None:
        return ""
    return f" (ranks as of {run['as_of']:%Y-%m-%d %H:%M} UTC, run {run['run_id']})"


def _plain(value: Any) -> Any:
    """A value as JSON and CSV carry it: the API's form (:func:`linkback.faces.plain`), so the
    CLI's machine output and the API's rows are the same."""
    return plain(value)


#: Between the items of a list in one CSV cell.
LIST_SEPARATOR = "; "


def csv_value(value: Any) -> Any:
    """A value as a CSV cell carries it, the same in the CLI's ``--format csv`` and the dashboard's
    downloads: the API's form (:func:`linkback.faces.plain`), None as an empty cell, a list of
    plain values as its items joined by ``"; "`` (not by spaces: ``['Acme', 'Acme Corp']`` would
    read as three terms), and anything nested (a dict, a list of them) as its JSON text, never
    Python's ``repr``.

    >>> [csv_value(v) for v in (None, 3, ["Victim Corp"], ["Acme", "Acme Corp"], [], {"links": 2})]
    ['', 3, 'Victim Corp', 'Acme; Acme Corp', '', '{"links": 2}']
    """
    if value is None:
        return ""
    value = plain(value)
    if isinstance(value, list) and not any(isinstance(v, (list, dict)) for v in value):
        return LIST_SEPARATOR.join("" if v is None else str(v) for v in value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return value


#: What each cell of a report's ``cells`` (one per target: ``intersect``) gives the CSV: a column
#: per target and part, ``links:a.com``, ``source_url:a.com``, ``target_url:a.com``.
CELL_PARTS = ("links", "source_url", "target_url")


def cell_columns(columns: Sequence[str], targets: Sequence[str]) -> list[str]:
    """``columns`` as CSV has them: ``cells`` replaced by a column per target and part, in the
    targets' order (see :data:`CELL_PARTS`).

    >>> cell_columns(["source", "links", "cells"], ["a.com"])
    ['source', 'links', 'links:a.com', 'source_url:a.com', 'target_url:a.com']
    """
    parts = [f"{part}:{name}" for name in targets for part in CELL_PARTS]
    return [c for c in columns if c != "cells"] + parts


def flat_cells(row: dict[str, Any]) -> dict[str, Any]:
    """A row with ``cells`` as CSV carries it: a key per target and part (:func:`cell_columns`)."""
    out = {k: v for k, v in row.items() if k != "cells"}
    for cell in row.get("cells") or ():
        for part in CELL_PARTS:
            out[f"{part}:{cell['target']}"] = cell.get(part)
    return out


# Terminal control characters (ESC, BEL, backspace...) and the marks that reorder text on screen
# (bidi overrides and isolates): an anchor or a title is anyone's text, and a table prints it to a
# terminal, where ESC sequences could retitle the window, clear the screen or fake a line. They
# are shown as escapes (\x1b), the rest of the text as it is. JSON keeps the text whole; CSV shows
# control characters as U+FFFD and quotes a formula (linkback.csvcells).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    r"""``text`` with what would steer a terminal shown as escapes.

    >>> terminal_safe("ok\x1b[2J\u202eevil")
    'ok\\x1b[2J\\u202eevil'
    """
    return _UNSAFE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 256 else f"\\u{ord(m[0]):04x}", text)


def _cell(column: str, value: Any) -> Text:
    """A value as a table shows it: one line, ratings with one decimal, dates as days."""
    if value is None:
        return Text("")
    if isinstance(value, bool):
        return Text("yes" if value else "")
    if isinstance(value, datetime):
        return Text(iso(value)[:10])
    if isinstance(value, date):
        return Text(value.isoformat())
    if isinstance(value, float):
        if column.endswith("share"):
            return Text(f"{value:.1%}")
        return Text(f"{value:.1f}" if is_rating(column) else f"{value:g}")
    if isinstance(value, (list, tuple)):
        value = " ".join(map(str, value))
    if column == "anchor" and value == "":
        return Text("(none)", style="dim")
    return Text(terminal_safe(" ".join(str(value).split()) if isinstance(value, str) else str(value)))


#: Text columns whose values are URLs, hosts, domains or paths: shortened in the middle.
_MIDDLE_COLUMNS = frozenset({"source", "target", "domain", "host", "site", "entry", "file", "path"})


def _kind(column: str, values: list[Any]) -> str:
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, (int, float, date)):  # bool and datetime included
        return _table.FIXED
    if column in _MIDDLE_COLUMNS or column.endswith(("url", "_domain", "_host")):
        return _table.MIDDLE
    return _table.END


def _numeric(values: list[Any]) -> bool:
    sample = next((v for v in values if v is not None), None)
    return isinstance(sample, (int, float)) and not isinstance(sample, bool)


def render(report: Report, fmt: Format, limit: int | None, *, wide: bool = False) -> None:
    """Print ``report`` to stdout in ``fmt``; a table fits the terminal unless ``wide``."""
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
        writer = csvcells.Writer(out)
        writer.writerow(report.columns)
        for row in records:
            writer.writerow(csv_value(row[k]) for k in report.columns)
        return
    if isinstance(rows, dict):
        title = report.what[:1].upper() + report.what[1:]
        columns = [
            _table.Column("metric", _table.FIXED, [Text(k) for k in report.columns]),
            _table.Column("value", _table.MIDDLE, [_cell(k, rows[k]) for k in report.columns], right=True),
        ]
        notes: list[str] = []
    else:
        names = report.table_columns or report.columns
        title = f"{len(rows)} {report.what}"
        columns = []
        for k in names:
            values = [row[k] for row in rows]
            columns.append(_table.Column(k, _kind(k, values), [_cell(k, v) for v in values], right=_numeric(values)))
        more = limit is not None and len(rows) == limit
        notes = [f"first {limit}; more may exist: --limit 0 shows all"] if more else []
    table = _table.build(title, columns, wide=wide, notes=notes)
    _table.console_for(table).print(table)


def report_command(fn: Callable[..., Report] | None = None, *, limit: bool = True):
    """Give a report command the shared ``--format``, ``--limit`` and ``--db`` options.

    ``fn`` takes its own CLI parameters plus ``store`` (opened here, read-only) and ``limit``
    (``--limit``; None for all) and returns a :class:`Report`. Errors a report raises on purpose
    (a bad TARGET, a missing database, a bad option value) end as one red line and exit code 2.
    ``@report_command(limit=False)`` leaves out ``--limit`` for a one-row summary. ``--wide``
    shows a table's every column and whole values instead of fitting it to the terminal.
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
        inspect.Parameter("wide", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=WideOption),
    ]
    if with_limit:
        shared.insert(
            0, inspect.Parameter("limit", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=LimitOption)
        )

    @functools.wraps(fn)
    def command(
        *, output_format: Format, db: Path | None, limit: int | None = None, wide: bool = False, **kwargs: Any
    ) -> None:
        if limit is None:
            limit = TABLE_LIMIT if output_format is Format.table and with_limit else None
        elif limit == 0:
            limit = None
        with open_store(db) as store:
            report = fn(store=store, limit=limit, **kwargs)
        render(report, output_format, limit, wide=wide)

    params = own + shared
    command.__signature__ = inspect.Signature(params, return_annotation=None)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    del command.__wrapped__  # type: ignore[attr-defined]
    return command
