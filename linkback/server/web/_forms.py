"""A report's form and its CLI twin, both derived from the registered function (linkback.faces).

The page's filters are the function's parameters, named as the function, the API and the CLI
name them; what a person picks is read back into the same values, and shown as the CLI command
that gives the same rows.
"""

from __future__ import annotations

import inspect
import shlex
import types
import typing
from dataclasses import dataclass
from typing import Any

from linkback import reports
from linkback.faces import Face
from linkback.records import LINK_KINDS, SECTIONS
from linkback.reports._domains import DOMAIN_GROUPS, DOMAIN_SORTS
from linkback.server.api._types import exposed

#: The choices of parameters whose values are a fixed set.
SORTS: dict[str, tuple[str, ...]] = {
    "backlinks": tuple(reports.BACKLINK_SORTS),
    "refdomains": tuple(reports.REFDOMAIN_SORTS),
    "anchors": tuple(reports.ANCHOR_SORTS),
    "pages": tuple(reports.PAGE_SORTS),
    "domains": tuple(DOMAIN_SORTS),
}
CHOICES: dict[str, tuple[str, ...]] = {"kind": LINK_KINDS, "section": SECTIONS}
BY = {"history": tuple(reports.PERIODS), "domains": DOMAIN_GROUPS}

#: The CLI command that calls each report, and the options it spells differently.
CLI: dict[str, str] = {
    "domain_history": "dr",
    "toxic_domains": "toxic",
    "toxic_links": "toxic --links",
    "list_entries": "lists",
    "sites": "site list",
    "mentions": "mentions list",
    "rules": "mentions rules",
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
        required = param.default is inspect.Parameter.empty
        value = values.get(name)
        if name == "sort" and face.name in SORTS:
            out.append(Control(name, "select", value or param.default, SORTS[face.name]))
        elif name == "by" and face.name in BY:
            out.append(Control(name, "select", value or param.default, BY[face.name]))
        elif name in CHOICES:
            out.append(Control(name, "multi", value or [], CHOICES[name]))
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
            values[name] = [typ(x) for x in items] if typ in (int, float) else items
        elif typ is bool:
            values[name] = raw[-1] in ("yes", "on", "true", "1")
        elif typ is int:
            values[name] = int(raw[-1])
        elif typ is float:
            values[name] = float(raw[-1])
        else:
            values[name] = raw[-1]
    return values


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
