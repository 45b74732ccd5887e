"""Unlinked brand mentions in the dashboard (issue 16): ``/unlinked?site=SITE``.

The page calls the registered functions with the parameters the CLI takes: ``unlinked`` (the
table, ``linkback unlinked SITE``), ``get_profile`` and ``set_profile`` (the brand terms,
``linkback profile SITE --brand NAME``) and queues the ``rescan`` job through the server's job
runner (``linkback rescan``). Its forms POST under ``/do/unlinked/`` with the session's CSRF token.
The downloads are the report pages' own (``/reports/unlinked.csv``).

A snippet is text a third party wrote: it is cut at the brand terms found in it, each piece
escaped, and only then are the terms marked (never a search inside escaped HTML, where a term
such as ``amp`` would match inside ``&amp;``). Bidirectional controls are dropped from it and it
is shown isolated (``<bdi>``), so a snippet cannot reorder the text around it.
"""

from __future__ import annotations

import re
import shlex
import unicodedata
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup, escape

from linkback.brands import unlinked
from linkback.brands._scan import _wordy
from linkback.brands._store import load_terms
from linkback.brands._terms import split_terms
from linkback.errors import LinkbackError
from linkback.mentions import _actions
from linkback.quality import get_profile, set_profile
from linkback.server._app import state_of
from linkback.server._jobs import queue_job
from linkback.server.web._jobview import job_view
from linkback.server.web._render import page
from linkback.server.web._session import Session, current, posted

#: Rows the page shows unless asked for another number, and at most (the downloads have them all).
PAGE_ROWS, MAX_ROWS = 100, 1000
#: The columns the table shows, in order (the report's own).
COLUMNS = ("url", "domain", "dr", "terms", "snippet", "first_seen", "last_seen")
#: Characters that change the direction of the text after them: a snippet's would reach past it.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


# --- the snippet ----------------------------------------------------------------------------------


def term_spans(text: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    """Where ``terms`` occur in ``text`` as whole words (case-insensitive, any whitespace between
    their words), as the scan found them; overlapping spans merged, in order."""
    spans: list[tuple[int, int]] = []
    for term in terms:
        words = unicodedata.normalize("NFC", term).split()
        if not words:
            continue
        pattern = re.compile(r"\s+".join(map(re.escape, words)), re.IGNORECASE)
        for m in pattern.finditer(text):
            a, b = m.span()
            # A term beginning or ending with a word character must not continue a longer word.
            if a > 0 and _wordy(m.group()[0]) and _wordy(text[a - 1]):
                continue
            if b < len(text) and _wordy(m.group()[-1]) and _wordy(text[b]):
                continue
            spans.append((a, b))
    merged: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def marked_snippet(snippet: str | None, terms: Sequence[str]) -> Markup:
    """``snippet`` as HTML: every piece escaped, the terms in ``<mark>``, the whole in ``<bdi>``."""
    text = snippet or ""

    def shown(piece: str) -> str:
        return str(escape(BIDI_CONTROLS.sub("", piece)))

    out: list[str] = ["<bdi>"]
    at = 0
    # The terms are found in the text as the scan read it (a control between words still parts them).
    for a, b in term_spans(text, terms):
        out += [shown(text[at:a]), "<mark>", shown(text[a:b]), "</mark>"]
        at = b
    out += [shown(text[at:]), "</bdi>"]
    return Markup("".join(out))


# --- reading the forms ----------------------------------------------------------------------------


def read_limit(text: str) -> int:
    if not text:
        return PAGE_ROWS
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_ROWS:
        raise ValueError(f"limit must be a whole number from 1 to {MAX_ROWS}, not {text[:40]!r}")
    return int(text)


def _words(*words: Any) -> str:
    return " ".join(shlex.quote(str(w)) for w in words)


def profile_command(site: str, brands: Sequence[str], keywords: Sequence[str]) -> str:
    """``linkback profile`` replaces both lists: the command names the keywords kept as well."""
    return _words("linkback", "profile", site or "SITE", *(w for b in brands or ["NAME"] for w in ("--brand", b)),
                  *(w for k in keywords for w in ("--keyword", k)))  # fmt: skip


# --- the routes -----------------------------------------------------------------------------------


def register(app: FastAPI) -> None:
    @app.get("/unlinked", include_in_schema=False)
    def unlinked_page(request: Request, site: str = "", limit: str = "", job: str = "", saved: str = "") -> Response:
        session = current(request)
        if session is None:
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse("/login?" + urlencode({"next": here}), status_code=303)
        return _page(request, session, site=site.strip(), limit=limit.strip(), job=_job_view(request, job),
                     saved=saved == "1")  # fmt: skip

    @app.post("/do/unlinked/brands", include_in_schema=False)
    async def save_brands(request: Request) -> Response:
        session, form = await posted(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        site, typed = form.get("site", "").strip(), form.get("brands", "")
        try:
            if not site:
                raise ValueError("site: give the site whose brand terms these are")
            terms = split_terms(typed)
            store = state_of(request).request_store()
            # set_profile replaces the keywords too: the ones in force are given back unchanged.
            kept = get_profile(store, site)["keywords"]
            saved = set_profile(store, site, brands=terms, keywords=kept)
        except (LinkbackError, ValueError) as exc:
            return _page(request, session, site=site, typed=typed, error=str(exc), http_status=400)
        return RedirectResponse("/unlinked?" + urlencode({"site": saved["site"], "saved": "1"}), status_code=303)

    @app.post("/do/unlinked/rescan", include_in_schema=False)
    async def queue_rescan(request: Request) -> Response:
        session, form = await posted(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        server = state_of(request)
        job_id = queue_job(server.request_store(), "rescan", {})
        server.jobs.wake()
        site = form.get("site", "").strip()
        query = urlencode({**({"site": site} if site else {}), "job": str(job_id)})
        return RedirectResponse(f"/unlinked?{query}", status_code=303)


def _job_view(request: Request, job: str) -> dict[str, Any] | None:
    return job_view(request, job, "rescan", "rescan")


def _known_sites(store: Any) -> list[dict[str, Any]]:
    """The sites the picker offers: those with brand terms (and their terms), then the sites
    that accept linkbacks."""
    terms = load_terms(store.con)
    branded: dict[str, list[str]] = {}
    for term, site in terms.terms if terms else ():
        branded.setdefault(site, []).append(term)
    found = [{"site": site, "brands": names} for site, names in branded.items()]
    found += [{"site": s["site"], "brands": []} for s in _actions.sites(store) if s["site"] not in branded]
    return found


def _page(
    request: Request,
    session: Session,
    *,
    site: str,
    limit: str = "",
    typed: str | None = None,
    job: dict[str, Any] | None = None,
    saved: bool = False,
    error: str = "",
    http_status: int = 200,
) -> Response:
    store = state_of(request).request_store()
    context: dict[str, Any] = {"site": site, "limit": PAGE_ROWS, "rows": [], "profile": None, "more": False}
    try:
        context["limit"] = count = read_limit(limit)
        if site:
            profile = get_profile(store, site)
            context.update(profile=profile, site=profile["site"])
            if profile["brands"]:
                rows = unlinked(store, profile["site"], limit=count + 1)  # one more: whether there are more
                context.update(rows=rows[:count], more=len(rows) > count)
    except (LinkbackError, ValueError) as exc:
        error, http_status = error or str(exc), max(http_status, 400)
    profile = context["profile"] or {"brands": [], "keywords": []}
    for row in context["rows"]:
        row["snippet_html"] = marked_snippet(row["snippet"], row["terms"])
    shown = context["site"]
    return page(
        request,
        "unlinked.html",
        session,
        **context,
        known=_known_sites(store),
        typed="\n".join(profile["brands"]) if typed is None else typed,
        columns=COLUMNS,
        job=job,
        saved=saved,
        error=error,
        cli=_words("linkback", "unlinked", shown or "SITE", *(["--limit", context["limit"]] if shown else [])),
        cli_profile=profile_command(shown, profile["brands"], profile["keywords"]),
        download=urlencode({"site": shown}),
        http_status=http_status,
    )
