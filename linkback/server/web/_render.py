"""Rendering dashboard pages: one Jinja environment, escaping everything, and the cells' formats."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from linkback.protocols._sanitize import safe_url
from linkback.server.web._session import SECURITY_HEADERS, Session

TEMPLATES = Path(__file__).parent / "templates"
#: 0–100 ratings, shown with one decimal.
RATINGS = ("dr", "ur", "hr", "trust", "anti_trust")
#: Columns that hold a URL: a link when it is http(s), else text (a list of them: a link each).
URL_COLUMNS = ("source_url", "target_url", "url", "source", "target", "author_url", "webhook_url", "endpoint",
               "final_url", "redirect_url", "contact_pages", "own_pages")  # fmt: skip


def cell(value: Any, column: str) -> Markup:
    """A value as a table shows it; third-party text escaped, URLs links only when http(s)."""
    return Markup(_html(value, column))


def _html(value: Any, column: str) -> str:
    """:func:`cell`'s HTML as a str: every piece of it escaped or made of digits and constants.

    f-strings, not Markup.format, and one Markup per cell at most: a table page calls this for
    every cell, and building Markup objects was most of its rendering time.
    """
    if type(value) is str:  # most cells
        return _text(value, column)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, datetime):
        return f'<span class="nw">{_day(value)}</span>'
    if isinstance(value, date):
        return f'<span class="nw">{value.isoformat()}</span>'
    # Numbers as digits, signs, separators, "e", "inf" or "nan": nothing to escape.
    if isinstance(value, float):
        if column.endswith("share"):
            return f"{value:.1%}"
        if column in RATINGS or any(column.endswith("_" + r) for r in RATINGS):
            return f"{value:.1f}"
        return f"{value:g}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (list, tuple)):
        if column in URL_COLUMNS:  # a list of pages: one link (or text) a line
            return "<br>".join(_text(str(v), column) for v in value)
        if column.startswith("top_"):  # top anchors or domains: spaces inside them would blur where one ends
            return "<br>".join(escape(str(v)) for v in value)
        return escape(" ".join(map(str, value)))
    return _text(str(value), column)


def _day(value: datetime) -> str:
    """The UTC day of a timestamp, as :func:`~linkback.faces.iso` has it (digits and dashes)."""
    if value.tzinfo is not None and value.tzinfo is not timezone.utc:
        value = value.astimezone(timezone.utc)
    return f"{value:%Y-%m-%d}"


def _text(text: str, column: str) -> str:
    """A text cell: a link for an http(s) URL in a URL column, else escaped text."""
    if column in URL_COLUMNS:
        # Stored URLs are already normalised http(s) hrefs: only others need parsing to be sure.
        if text.startswith(("http://", "https://")) and text.isprintable():
            shown = escape(text)
            return f'<a href="{shown}" rel="nofollow noopener noreferrer" class="url">{shown}</a>'
        href = safe_url(text)
        if href:
            return f'<a href="{escape(href)}" rel="nofollow noopener noreferrer" class="url">{escape(text)}</a>'
    if column == "anchor" and text == "":
        return '<span class="dim">(none)</span>'
    return escape(text)


def numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def row_link(links: Mapping[str, tuple[str, str]], column: str, value: str) -> str:
    """After a cell's text, a link to the dashboard page about its value: ``links[column]`` is
    the link's words and the page's path up to the value (``"/reports/backlinks?target="``)."""
    if column not in links or not value:
        return ""
    label, path = links[column]
    return (f'<br><a class="rowlink" href="{escape(path + quote(value, safe=""))}">{escape(label)}'
            f'<span class="sr-only"> of {escape(value)}</span></a>')  # fmt: skip


def table_rows(
    rows: list[dict[str, Any]], columns: list[str], links: Mapping[str, tuple[str, str]] | None = None
) -> Markup:
    """The ``<tr>`` rows of a report table, each cell as :func:`cell` shows it: one call per
    table, where the template's loop made a filter and a test call per cell. ``links``: see
    :func:`row_link`."""
    out = []
    for row in rows:
        out.append("<tr>")
        for column in columns:
            value = row.get(column)
            if type(value) is str:  # most cells
                out.append(f"<td>{_text(value, column)}{row_link(links, column, value) if links else ''}</td>")
            elif numeric(value):
                out.append(f'<td class="num">{_html(value, column)}</td>')
            else:
                out.append(f"<td>{_html(value, column)}</td>")
        out.append("</tr>\n")
    return Markup("".join(out))


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = cell
    env.tests["numeric"] = numeric
    env.globals["table_rows"] = table_rows
    return env


def page(
    request: Request, template: str, session: Session | None, *, http_status: int = 200, **context: Any
) -> HTMLResponse:
    html = environment().get_template(template).render(request=request, session=session, **context)
    return HTMLResponse(html, status_code=http_status, headers=SECURITY_HEADERS)
