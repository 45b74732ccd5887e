"""Rendering dashboard pages: one Jinja environment, escaping everything, and the cells' formats."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from linkback.faces import iso
from linkback.protocols._sanitize import safe_url
from linkback.server.web._session import SECURITY_HEADERS, Session

TEMPLATES = Path(__file__).parent / "templates"
#: 0–100 ratings, shown with one decimal.
RATINGS = ("dr", "ur", "hr", "trust", "anti_trust")
#: Columns that hold a URL: a link when it is http(s), else text.
URL_COLUMNS = ("source_url", "target_url", "url", "source", "target", "author_url", "webhook_url", "endpoint")


def cell(value: Any, column: str) -> Markup:
    """A value as a table shows it; third-party text escaped, URLs links only when http(s)."""
    if value is None:
        return Markup("")
    if isinstance(value, bool):
        return Markup("yes" if value else "")
    # f-strings, not Markup.format: a table page calls this for every cell (a third of its time).
    if isinstance(value, datetime):
        return Markup(f'<span class="nw">{iso(value)[:10]}</span>')  # digits and dashes only
    if isinstance(value, date):
        return Markup(f'<span class="nw">{value.isoformat()}</span>')
    if isinstance(value, float):
        if column.endswith("share"):
            return escape(f"{value:.1%}")
        if column in RATINGS or any(column.endswith("_" + r) for r in RATINGS):
            return escape(f"{value:.1f}")
        return escape(f"{value:g}")
    if isinstance(value, int):
        return escape(f"{value:,}")
    if isinstance(value, (list, tuple)):
        return escape(" ".join(map(str, value)))
    text = str(value)
    if column in URL_COLUMNS:
        # Stored URLs are already normalised http(s) hrefs: only others need parsing to be sure.
        href = text if text.startswith(("http://", "https://")) and text.isprintable() else safe_url(text)
        if href:
            return Markup(f'<a href="{escape(href)}" rel="nofollow noopener noreferrer" class="url">{escape(text)}</a>')
    if column == "anchor" and text == "":
        return Markup('<span class="dim">(none)</span>')
    return escape(text)


def numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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
    return env


def page(
    request: Request, template: str, session: Session | None, *, http_status: int = 200, **context: Any
) -> HTMLResponse:
    html = environment().get_template(template).render(request=request, session=session, **context)
    return HTMLResponse(html, status_code=http_status, headers=SECURITY_HEADERS)
