"""A report's form and its CLI twin, both derived from the registered function (linkback.faces).

The page's filters are the function's parameters, named as the function, the API and the CLI
name them; what a person picks is read back into the same values, and shown as the CLI command
that gives the same rows.
"""

from __future__ import annotations

import inspect
import math
import shlex
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from linkback import reports
from linkback.faces import Face
from linkback.records import LINK_KINDS, SECTIONS
from linkback.reports._cursor import PAGED_REPORTS, next_cursor
from linkback.reports._domains import DOMAIN_GROUPS, DOMAIN_SORTS
from linkback.reports._select import check_choice
from linkback.server.api._types import exposed, sort_asked

#: Each sortable report's ``sort`` choices and their ORDER BY (which says the direction).
ORDERS: dict[str, dict[str, str]] = {
    "backlinks": reports.BACKLINK_SORTS,
    "refdomains": reports.REFDOMAIN_SORTS,
    "anchors": reports.ANCHOR_SORTS,
    "pages": reports.PAGE_SORTS,
    "domains": DOMAIN_SORTS,
}
#: The choices of parameters whose values are a fixed set.
SORTS: dict[str, tuple[str, ...]] = {name: tuple(orders) for name, orders in ORDERS.items()}
#: Query parameters that say where a page of a table starts: a new sort or filter drops them.
#: ``start`` (the first row's number) is only for the page's "Rows 101–200" line.
PAGE_PLACE = ("after", "start")
CHOICES: dict[str, tuple[str, ...]] = {"kind": LINK_KINDS, "section": SECTIONS}
#: Parameters that take one of a fixed set (a select; "any" too when they may be left out).
ONE_OF: dict[str, tuple[str, ...]] = {"compare": reports.COMPARES, "change": reports.CHANGES}
BY = {"history": tuple(reports.PERIODS), "domains": DOMAIN_GROUPS, "growth": reports.GROWTH_PERIODS}

#: The CLI command that calls each report, and the options it spells differently.
CLI: dict[str, str] = {
    "domain_history": "dr",
    "toxic_domains": "toxic",
    "toxic_links": "toxic --links",
    "list_entries": "lists",
    "sites": "site list",
    "mentions": "mentions list",
    "rules": "mentions rules",
    "shares": "share list",
    "prospects_broken": "prospects broken",
    "linked_domains": "linked-domains",
    "silent_backlinks": "silent-backlinks",
}
CLI_OPTIONS = {"from_domain": "--from"}
#: Parameters the CLI takes as arguments, not options.
POSITIONAL = ("target", "domain", "url")


@dataclass
class Control:
    """One form control: its parameter's name, what it takes, its value now."""

    name: str
    kind: str  # text, number, tristate, checkbox, select, multi
    value: Any
    choices: tuple[str, ...] = ()
    required: bool = False
    #: A select that may be left at "any" (its parameter defaults to None).
    optional: bool = False


def _base(wire: Any) -> tuple[Any, bool]:
    args = [a for a in typing.get_args(wire) if a is not type(None)]
    inner = args[0] if args and typing.get_origin(wire) in (typing.Union, types.UnionType) else wire
    if typing.get_origin(inner) is list:
        return typing.get_args(inner)[0], True
    return inner, False


def controls(face: Face, values: dict[str, Any]) -> list[Control]:
    out = []
    for param, wire in exposed(face):
        typ, listed = _base(wire)
        name = param.name
        if name == "after":
            continue  # where a page starts is the pager's, not a filter: the form starts again
        required = param.default is inspect.Parameter.empty
        value = values.get(name)
        if name == "sort" and face.name in SORTS:
            out.append(Control(name, "select", value or param.default, SORTS[face.name]))
        elif name == "by" and face.name in BY:
            out.append(Control(name, "select", value or param.default, BY[face.name]))
        elif name in CHOICES:
            out.append(Control(name, "multi", value or [], CHOICES[name]))
        elif name in ONE_OF:
            optional = param.default is None
            out.append(Control(name, "select", value or param.default, ONE_OF[name], optional=optional))
        elif typ is bool:
            out.append(Control(name, "tristate" if param.default is None else "checkbox", value))
        elif typ in (int, float):
            out.append(Control(name, "number", value, required=required))
        elif listed:
            out.append(Control(name, "text", ", ".join(value or []), required=required))
        else:
            out.append(Control(name, "text", value, required=required))
    return out


def read(face: Face, query: Any) -> dict[str, Any]:
    """The function's arguments from a query string (what the page's form sends)."""
    values: dict[str, Any] = {}
    for param, wire in exposed(face):
        typ, listed = _base(wire)
        name = param.name
        raw = [v.strip() for v in query.getlist(name) if v.strip()]
        if not raw:
            continue
        if listed:
            items = [x.strip() for v in raw for x in v.split(",") if x.strip()]
            values[name] = [_number(name, typ, x) for x in items] if typ in (int, float) else items
        elif typ is bool:
            values[name] = raw[-1] in ("yes", "on", "true", "1")
        elif typ in (int, float):
            values[name] = _number(name, typ, raw[-1])
        else:
            values[name] = raw[-1]
    if face.name in SORTS and "sort" in values:  # a hand-edited URL: the page's 400 says which sorts there are
        check_choice("sort", values["sort"], SORTS[face.name])
    return values


def _number(name: str, typ: type, text: str) -> int | float:
    """``text`` as the number a form field asks for; a ValueError that names the field otherwise."""
    try:
        value = typ(text)
    except ValueError:
        value = None
    if value is None or (typ is float and not math.isfinite(value)) or (typ is int and not -(2**63) <= value < 2**63):
        what = "a whole number" if typ is int else "a number"
        raise ValueError(f"{name}: {text[:40]!r} is not {what}")
    return value


def cli_command(face: Face, values: dict[str, Any]) -> str:
    """``linkback backlinks example.com --follow --kind text``: the same rows from the terminal."""
    words = ["linkback", *CLI.get(face.name, face.name).split()]
    for name in POSITIONAL:
        if values.get(name):
            words.append(str(values[name]))
    for name, value in values.items():
        if name in POSITIONAL or value is None:
            continue
        option = CLI_OPTIONS.get(name, "--" + name.replace("_", "-"))
        if value is True:
            words.append(option)
        elif value is False:
            if name == "noindex":
                words.append("--no-noindex")
        elif isinstance(value, list):
            for item in value:
                words += [option, str(item)]
        else:
            words += [option, str(value)]
    return " ".join(shlex.quote(w) for w in words)


# --- sorting and paging a table ----------------------------------------------------------------


Query = Sequence[tuple[str, str]]


def with_query(query: Query, drop: Sequence[str] = (), **values: Any) -> str:
    """``query`` (the page's parameters, in order) without ``drop``, with ``values`` set."""
    gone = set(drop) | set(values)
    kept = [(k, v) for k, v in query if k not in gone]
    return urlencode(kept + [(k, str(v)) for k, v in values.items() if v is not None])


def sort_of(face: Face, values: dict[str, Any]) -> str | None:
    """The sort the table is in: the one asked for, else the function's default."""
    return sort_asked(face, values) if face.name in ORDERS else None


def _descending(face: Face, sort: str) -> bool:
    return " DESC" in ORDERS[face.name][sort].split(",")[0].upper()


@dataclass
class Header:
    """A column's header: a link sorting by it when it is a sort, ``aria_sort`` on the current one."""

    column: str
    href: str = ""
    aria_sort: str = ""
    arrow: str = ""


def headers(face: Face, columns: Sequence[str], values: dict[str, Any], query: Query) -> list[Header]:
    current = sort_of(face, values)
    out = []
    for column in columns:
        if column not in SORTS.get(face.name, ()):
            out.append(Header(column))
            continue
        header = Header(column, href="?" + with_query(query, drop=PAGE_PLACE, sort=column))
        if column == current:
            down = _descending(face, column)
            header.aria_sort, header.arrow = ("descending", "↓") if down else ("ascending", "↑")
        out.append(header)
    return out


def sort_words(face: Face, values: dict[str, Any]) -> str:
    """``first_seen, descending``: how the table is sorted, for its rows line."""
    sort = sort_of(face, values)
    if sort is None:
        return ""
    return f"{sort}, {'descending' if _descending(face, sort) else 'ascending'}"


def paged(face: Face) -> bool:
    """Does the report page with a cursor (``after``)?"""
    paging = face.name in PAGED_REPORTS
    return paging and any(p.name == "after" for p, _ in exposed(face))


@dataclass
class Pager:
    """Where a page of a paged table is: its first row's number (0 when unknown) and the links
    to the next page and back to the first."""

    first_row: int
    next_href: str = ""
    first_href: str = ""


def pager(face: Face, values: dict[str, Any], rows: list[dict[str, Any]], more: bool, query: Query) -> Pager:
    """The pager of a page of ``rows`` (``more``: rows follow them)."""
    start = 1
    if values.get("after"):
        given = dict(query).get("start", "")
        start = int(given) if given.isdigit() and int(given) > 0 else 0
    out = Pager(start)
    if values.get("after"):
        out.first_href = "?" + with_query(query, drop=PAGE_PLACE)
    if more and rows:
        cursor = next_cursor(face.name, sort_of(face, values) or "", rows[-1])
        out.next_href = "?" + with_query(
            query, drop=PAGE_PLACE, after=cursor, start=start + len(rows) if start else None
        )
    return out


def download_query(face: Face, query: Query) -> str:
    """A download's query: every row the filters select, from the first (a paged table's
    ``limit`` is its page size, so it goes too)."""
    return with_query(query, drop=(*PAGE_PLACE, "limit") if paged(face) else PAGE_PLACE)
