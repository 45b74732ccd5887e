"""Public display of approved mentions (issue "Receive linkbacks", Display; spec §6.1, §7, §9 r8-9).

Routes, all public, read-only, answering only ``verified`` + ``approved`` mentions:

* ``GET /api/mentions`` — a jf2 feed as webmention.io serves it (``target=`` repeatable,
  ``//host/path`` for both schemes, ``site=``, ``since=``, ``wm-property=``/``type=``,
  ``sort-by``/``sort-dir``, ``page``/``per-page``, with ``total``).
* ``GET /api/count`` — ``{count, type: {like: n, ...}}`` for ``target=``.
* ``GET /api/feed.atom?site=HOST`` — Atom 1.0, the site's newest 50 mentions.
* ``GET /api/backlinks?target=URL`` — live links to that URL found by the index (not mentions).
* ``GET /widget.js`` (+ ``/widget.css``) — the "Links to this post" widget, one script tag.
* ``GET /widget?target=URL`` — the same as a server-rendered HTML snippet.
* ``GET /api/create-link`` and ``POST /webmention/form`` — the "Create a link" prompt a post
  without links shows, and its form (:mod:`linkback.server._create_link`).

Safety (third-party strings everywhere): JSON escapes ``<``, ``>``, ``&`` and U+2028/9 so it
is inert even pasted into a ``<script>``; every URL is re-checked to be http(s)
(:func:`~linkback.mentions._render.jf2_entry`), ``content.html`` is re-sanitised; the snippet is
jinja2 with autoescape and is served with a CSP that runs no script at all; the widget script
builds its DOM with ``textContent``/``setAttribute`` only (see ``static/widget.js``).
JSONP is not offered: a ``callback`` parameter turns a data API into a script any page can
run with attacker-influenced content, so ``jsonp=``/``callback=`` answer 400; use CORS (``*``).
"""

from __future__ import annotations

import hashlib
import html
import json
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from linkback import mentions, reports
from linkback.errors import URLError
from linkback.mentions._render import (
    FACE_TYPES,
    PROPERTY_OF_TYPE,
    TYPE_OF_PROPERTY,
    atom_feed,
    author_label,
    group_entries,
    host_label,
    jf2_entry,
)
from linkback.mentions._store import SORTS, TYPES, approved_counts
from linkback.protocols._sanitize import safe_url, strip_markup, truncate
from linkback.server._app import ServerState, state_of
from linkback.server._webmention import FORM_PATH
from linkback.urls import host_of, normalize, public_url

MAX_PER_PAGE = 100
FEED_SIZE = 50
MAX_BACKLINKS = 100
#: Mentions the server-rendered snippet shows (oldest first), and the widget fetches at most.
SNIPPET_SIZE = 200
HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
PUBLIC = {
    "Access-Control-Allow-Origin": "*",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "public, max-age=30",
    "Vary": "Host",  # some answers hold URLs of this server (public_base)
}
#: The snippet may show images and our stylesheet, and nothing may run in it; its one form (a
#: reader's "Create a link") posts to this server.
SNIPPET_CSP = (
    "default-src 'none'; script-src 'none'; object-src 'none'; img-src http: https:; style-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors *"
)
# In JSON these only occur inside strings, so \u escapes keep the value and make the text inert
# in HTML (a "</script>" in a name) and in pre-2019 JavaScript (line separators).
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_JSON_TABLE = str.maketrans(_JSON_ESCAPES)


class SafeJSONResponse(JSONResponse):
    """JSON with ``<``, ``>``, ``&``, U+2028 and U+2029 written as ``\\u`` escapes."""

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.translate(_JSON_TABLE).encode("utf-8")


def _error(description: str, status: int = 400, error: str = "invalid_request") -> Response:
    return SafeJSONResponse({"error": error, "error_description": description}, status_code=status, headers=PUBLIC)


def public_base(request: Request) -> str:
    """Where people reach this server, for the absolute URLs it writes into what it serves (the
    widget's stylesheet and form, share links, feeds): ``LINKBACK_PUBLIC_URL`` when set, else
    the URL the request came to. That one is built from the request's Host header, which a
    client chooses: behind a shared cache, set LINKBACK_PUBLIC_URL (public answers built from it
    also say ``Vary: Host``)."""
    return public_url() or str(request.base_url).rstrip("/")


class BadRequest(ValueError):
    pass


def target_aliases(target: str) -> list[str]:
    """A ``target=`` value as stored targets: ``//host/path`` (protocol-relative) means both schemes.

    Targets are stored normalised with the fragment dropped, so the query value is too.
    """
    raw = target.strip()
    candidates = ["http:" + raw, "https:" + raw] if raw.startswith("//") else [raw]
    out = []
    for url in candidates:
        try:
            stored = normalize(url).split("#", 1)[0]
        except (URLError, ValueError) as exc:
            raise BadRequest(f"target is not a URL: {raw[:200]!r} ({exc})") from None
        if not stored.startswith(("http://", "https://")):
            raise BadRequest(f"target must be an http(s) URL: {raw[:200]!r}")
        if stored not in out:
            out.append(stored)
    return out


def _list_param(request: Request, name: str) -> list[str]:
    """``name=a&name=b`` and webmention.io's ``name[]=a&name[]=b``, empty values ignored."""
    q = request.query_params
    return [v for v in (*q.getlist(name), *q.getlist(name + "[]")) if v.strip()]


def _targets(request: Request) -> list[str]:
    return [alias for t in _list_param(request, "target") for alias in target_aliases(t)]


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    text = text.strip()
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        try:  # an unencoded "+01:00" arrives as " 01:00"
            when = datetime.fromisoformat(text.replace(" ", "+"))
        except ValueError:
            raise BadRequest(f"since must be an ISO 8601 date or time, not {text[:60]!r}") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _types(request: Request) -> list[str]:
    types = []
    for t in _list_param(request, "type"):
        if t not in TYPES:
            raise BadRequest(f"type must be one of {', '.join(TYPES)}, not {t[:40]!r}")
        types.append(t)
    for p in _list_param(request, "wm-property"):
        if p not in TYPE_OF_PROPERTY:
            raise BadRequest(f"wm-property must be one of {', '.join(PROPERTY_OF_TYPE.values())}, not {p[:40]!r}")
        types.append(TYPE_OF_PROPERTY[p])
    return list(dict.fromkeys(types))


def _refuse_jsonp(request: Request) -> None:
    if "jsonp" in request.query_params or "callback" in request.query_params:
        raise BadRequest("JSONP is not supported (it runs the answer as script); read the JSON with CORS")


def _site_of_targets(state: ServerState, targets: list[str]) -> str | None:
    for url in targets:
        site = mentions.site_of(host_of(url), state.sites())
        if site:
            return site
    return None


def index_backlinks(con: Any, urls: list[str], limit: int) -> list[dict]:
    """Live external links to exactly these URLs in the index, one per source page, newest first.

    The selection is :func:`linkback.reports.link_where` for the URL (the reports' own rules for
    live, external links, pushed into the ``links`` scan) narrowed to the exact URL.
    """
    parts, params = [], []
    for url in urls:
        where, p = reports.link_where(url)
        parts.append(f"({where} AND target_url = ?)")
        params += [*p, url]
    if not parts:
        return []
    rows = con.execute(
        f"""SELECT source_url, max(anchor) AS anchor, min(first_seen)::TIMESTAMP AS seen
        FROM links WHERE {" OR ".join(parts)}
        GROUP BY source_url ORDER BY seen DESC NULLS LAST, source_url LIMIT ?""",
        [*params, int(limit)],
    ).fetchall()
    out = []
    for source_url, anchor, seen in rows:
        url = safe_url(source_url or "")
        if url:
            out.append(
                {
                    "source_url": url,
                    "anchor": truncate(strip_markup(anchor or ""), 200),
                    "first_seen": seen.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z") if seen else None,
                }
            )
    return out


@lru_cache(maxsize=8)
def _static(name: str) -> bytes:
    return (STATIC / name).read_bytes()


@lru_cache(maxsize=1)
def _templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(author_label=author_label, host_label=host_label, face_types=FACE_TYPES)
    env.filters["date"] = lambda iso: (iso or "")[:10]
    return env


def _snippet_entry(entry: dict) -> dict:
    """A jf2 entry plus what the template shows: the sanitised HTML, marked safe only here."""
    body = entry["content"]["html"]
    return {
        **entry,
        "label": author_label(entry),
        # jf2_entry ran sanitize_html on this just now; nothing else is ever marked safe.
        "html": Markup(body) if body else None,
        "text": truncate(entry["content"]["text"] or entry["summary"] or entry["name"], 600),
        "when": entry["published"] or entry["wm-received"],
    }


def page_titles(con: Any, urls: list[str]) -> dict[str, str]:
    """The index's titles of these pages (from ``pages``), where it has one."""
    if not urls:
        return {}
    marks = ", ".join("?" for _ in urls)
    rows = con.execute(f"SELECT url, title FROM pages WHERE url IN ({marks}) AND title <> ''", urls).fetchall()
    return {url: truncate(" ".join(title.split()), 200) for url, title in rows if title and title.strip()}


def create_link(state: ServerState, targets: list[str], base: str) -> dict[str, str]:
    """The "Create a link" prompt of a post: its URL, its title (the index's, else the URL), the
    HTML of a link to it for a reader to copy, and the form's address ("" when this server does
    not receive for the post: the form could only be refused).

    The title is told only for this server's sites: the index may hold other people's pages.
    """
    receives = _site_of_targets(state, targets) is not None
    titles = page_titles(state.reader(), targets) if receives else {}
    url = next((t for t in targets if t in titles), None) or next(
        (t for t in targets if t.startswith("https://")), targets[0]
    )
    title = titles.get(url) or url
    return {
        "url": url,
        "title": title,
        "html": f'<a href="{html.escape(url)}">{html.escape(title)}</a>',
        "form": base + FORM_PATH if receives else "",
    }


def render_widget(
    request: Request,
    targets: list[str],
    *,
    backlinks: bool = False,
    heading: str = "Links to this post",
    css: bool = True,
    empty: bool = False,
    photos: bool = True,
    remove: dict[str, str] | None = None,
    uid: str = "",
) -> str:
    """The widget as HTML (``widget.html``): the approved mentions of ``targets`` (and the index's
    backlinks), or, when there are none, the "Create a link" prompt.

    ``/widget`` serves it; the dashboard's preview renders it too, with ``empty`` (the prompt
    whatever the post has), ``photos=False`` (no image from another origin on its pages) and
    ``remove`` (``action`` and ``csrf``: a "Remove link" form per mention). ``uid`` keeps the
    form's element ids apart when a page holds several widgets.
    """
    state = state_of(request)
    entries: list[dict] = []
    total = 0
    if not empty:
        rows, total = mentions.approved(state.reader(), targets=targets, descending=False, per_page=SNIPPET_SIZE)
        entries = [_snippet_entry(jf2_entry(row)) for row in rows]
    index: list[dict] = []
    if backlinks and not empty and _site_of_targets(state, targets):
        seen = {e["wm-source"] for e in entries} | {e["url"] for e in entries}
        index = [b for b in index_backlinks(state.reader(), targets, 20) if b["source_url"] not in seen]
        for b in index:
            b["label"] = b["anchor"] or host_label(b["source_url"])
            b["host"] = host_label(b["source_url"])
    base = public_base(request)
    # Only a post without links asks for one: the title lookup costs a scan of ``pages``.
    prompt = create_link(state, targets, base) if not entries and not index else None
    return (
        _templates()
        .get_template("widget.html")
        .render(
            groups=group_entries(entries),
            total=total,
            shown=len(entries),
            backlinks=index,
            heading=heading,
            css_url=f"{base}/widget.css" if css else None,
            rel="nofollow ugc noopener",
            prompt=prompt,
            photos=photos,
            remove=remove,
            uid=uid or hashlib.sha256(" ".join(targets).encode()).hexdigest()[:8],
        )
    )


def register(app: FastAPI) -> None:
    @app.get("/api/mentions", tags=["display"])
    def api_mentions(
        request: Request,
        target: list[str] = Query(default=[], description="page URL; repeat for several; //host/path: both schemes"),
        site: str | None = Query(default=None, description="every approved mention of one site"),
        since: str | None = Query(default=None, description="only mentions received after this ISO 8601 time"),
        wm_property: list[str] = Query(default=[], alias="wm-property", description="in-reply-to, like-of, ..."),
        type_: list[str] = Query(default=[], alias="type", description="reply, like, repost, bookmark, rsvp, mention"),
        sort_by: str = Query(default="created", alias="sort-by", description="created, updated or published"),
        sort_dir: str = Query(default="down", alias="sort-dir", description="down (newest first) or up"),
        page: int = Query(default=0, ge=0, description="0-based"),
        per_page: int = Query(default=20, ge=1, alias="per-page", description=f"at most {MAX_PER_PAGE}"),
    ) -> Response:
        """Approved mentions as a jf2 feed, with ``total``, ``page`` and ``per-page``.

        As webmention.io's ``/api/mentions.jf2`` (``target[]=`` and ``wm-property[]=`` work too),
        but only verified *and approved* mentions. ``content.html`` is sanitised HTML; ``name``,
        ``summary``, ``content.text`` and ``author.name`` are plain text to be escaped by whoever
        renders them; every URL is http(s) or empty. CORS is open (``*``): the data is public.
        **JSONP is not supported** (``jsonp=``/``callback=`` answer 400): it would run the answer
        as a script in the caller's page, a standing XSS vector.
        """
        try:
            _refuse_jsonp(request)
            targets = _targets(request)
            site_n = mentions.normalize_site(site) if site else None
            since_at = _since(since)
            types = _types(request)
        except (BadRequest, URLError) as exc:
            return _error(str(exc))
        if not targets and not site_n:
            return _error("give target (or target[]) or site")
        if sort_by not in SORTS or sort_dir not in ("up", "down"):
            return _error(f"sort-by is one of {', '.join(SORTS)}; sort-dir is down or up")
        per_page = min(per_page, MAX_PER_PAGE)
        rows, total = mentions.approved(
            state_of(request).reader(),
            targets=targets,
            site=site_n,
            since=since_at,
            types=types,
            sort=sort_by,
            descending=sort_dir == "down",
            page=page,
            per_page=per_page,
        )
        return SafeJSONResponse(
            {
                "type": "feed",
                "name": "Webmentions",
                "children": [jf2_entry(row) for row in rows],
                "total": total,
                "page": page,
                "per-page": per_page,
            },
            headers=PUBLIC,
        )

    @app.get("/api/count", tags=["display"])
    def api_count(
        request: Request,
        target: list[str] = Query(default=[], description="page URL; repeat for several; //host/path: both schemes"),
    ) -> Response:
        """``{"count": n, "type": {"like": 2, "reply": 1, ...}}`` for approved mentions of ``target``."""
        try:
            _refuse_jsonp(request)
            targets = _targets(request)
        except BadRequest as exc:
            return _error(str(exc))
        if not targets:
            return _error("give target (or target[])")
        # One grouped query, not one per type: this is the route every page with a widget calls.
        total, by_type = approved_counts(state_of(request).reader(), targets=targets)
        return SafeJSONResponse({"count": total, "type": by_type}, headers=PUBLIC)

    @app.get("/api/feed.atom", tags=["display"])
    def api_feed_atom(request: Request, site: str = Query(description="a site this server receives for")) -> Response:
        """Atom 1.0 feed of the site's newest 50 approved mentions (by time received)."""
        try:
            site_n = mentions.normalize_site(site)
        except URLError as exc:
            return _error(str(exc))
        state = state_of(request)
        if site_n not in state.sites():
            return _error(f"{site_n} is not a site of this server", 404, "not_found")
        rows, _ = mentions.approved(state.reader(), site=site_n, per_page=FEED_SIZE)
        feed_url = str(request.url_for("api_feed_atom").include_query_params(site=site_n))
        body = atom_feed(rows, site=site_n, feed_url=feed_url)
        return Response(body, media_type="application/atom+xml; charset=utf-8", headers=PUBLIC)

    @app.get("/api/backlinks", tags=["display"])
    def api_backlinks(
        request: Request,
        target: str = Query(description="a page URL on one of this server's sites; //host/path: both schemes"),
        limit: int = Query(default=20, ge=1, description=f"at most {MAX_BACKLINKS}"),
    ) -> Response:
        """Live links to ``target`` from other sites that the index found (crawls, WARCs), newest first.

        ``{"target": [...], "links": [{"source_url", "anchor", "first_seen"}]}``, one per linking
        page. Only URLs on this server's sites: the index may hold other people's links.
        """
        try:
            _refuse_jsonp(request)
            targets = target_aliases(target)
        except BadRequest as exc:
            return _error(str(exc))
        state = state_of(request)
        if not _site_of_targets(state, targets):
            return _error("target is not on a site of this server", 404, "not_found")
        links = index_backlinks(state.reader(), targets, min(limit, MAX_BACKLINKS))
        return SafeJSONResponse({"target": targets, "links": links}, headers=PUBLIC)

    @app.get("/widget.js", tags=["display"])
    def widget_js() -> Response:
        """The "Links to this post" widget: ``<script src=".../widget.js" async></script>``.

        ``data-target`` (default: the page's canonical URL, else its address without the
        fragment), ``data-backlinks="1"`` to add the index's backlinks, ``data-container`` (a CSS
        selector; default: right after the script), ``data-css="0"`` to skip ``widget.css``,
        ``data-heading`` for the heading text. Third-party strings become text, never markup.
        """
        return Response(
            _static("widget.js"),
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    @app.get("/widget.css", tags=["display"])
    def widget_css() -> Response:
        """The widget's stylesheet (every rule under ``.lb-widget``; class prefix ``lb-``)."""
        return Response(
            _static("widget.css"),
            media_type="text/css; charset=utf-8",
            headers={
                "Cache-Control": "public, max-age=3600",
                "X-Content-Type-Options": "nosniff",
                "Access-Control-Allow-Origin": "*",
            },
        )

    @app.get("/widget", tags=["display"])
    def widget_html(
        request: Request,
        target: list[str] = Query(default=[], description="page URL; repeat for several; //host/path: both schemes"),
        backlinks: bool = Query(default=False, description="also list the index's backlinks"),
        css: bool = Query(default=True, description="start with a <link> to widget.css"),
        heading: str = Query(default="Links to this post", max_length=200),
    ) -> Response:
        """The widget as an HTML fragment, for server-side includes or an ``<iframe>``.

        Rendered with jinja2 autoescape; replies show the sanitised HTML content. Served with a
        Content-Security-Policy that lets no script run (``script-src 'none'``). A post without
        links shows the "Create a link" prompt, whose form works without any script.
        """
        try:
            targets = _targets(request)
        except BadRequest as exc:
            return _error(str(exc))
        if not targets:
            return _error("give target")
        body = render_widget(request, targets, backlinks=backlinks, heading=heading, css=css)
        return Response(
            body,
            media_type="text/html; charset=utf-8",
            headers={
                "Content-Security-Policy": SNIPPET_CSP,
                "X-Content-Type-Options": "nosniff",
                "Access-Control-Allow-Origin": "*",
                "Cache-Control": "public, max-age=30",
                "Vary": "Host",  # its stylesheet and form URLs are this server's (public_base)
            },
        )

    from linkback.server import _create_link  # noqa: PLC0415 - it builds on this module

    _create_link.register(app)
