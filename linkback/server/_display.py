"""Public display of approved mentions: the jf2 API (as webmention.io serves it)."""

from __future__ import annotations

from datetime import datetime

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response

from linkback import mentions
from linkback.errors import URLError
from linkback.mentions._render import PROPERTY_OF_TYPE, jf2_entry
from linkback.server._app import state_of
from linkback.urls import normalize

MAX_PER_PAGE = 100


def target_aliases(target: str) -> list[str]:
    """A ``target=`` value as stored targets: ``//host/path`` (protocol-relative) means both schemes."""
    raw = target.strip()
    if raw.startswith("//"):
        return [normalize("http:" + raw).split("#", 1)[0], normalize("https:" + raw).split("#", 1)[0]]
    return [normalize(raw).split("#", 1)[0]]


def register(app: FastAPI) -> None:
    @app.get("/api/mentions", tags=["display"])
    def api_mentions(
        request: Request,
        target: list[str] = Query(default=[], description="page URL; repeat for several; //host/path for both schemes"),
        site: str | None = Query(default=None, description="every approved mention of one site"),
        since: datetime | None = Query(default=None, description="only mentions received after this ISO time"),
        wm_property: list[str] = Query(default=[], alias="wm-property"),
        type_: list[str] = Query(default=[], alias="type"),
        sort_by: str = Query(default="created", alias="sort-by"),
        sort_dir: str = Query(default="down", alias="sort-dir"),
        page: int = Query(default=0, ge=0),
        per_page: int = Query(default=20, ge=1, le=MAX_PER_PAGE, alias="per-page"),
    ) -> Response:
        """Approved mentions as a jf2 feed, newest first, with the total count."""
        if not target and not site:
            return JSONResponse(
                {"error": "invalid_request", "error_description": "give target or site"}, status_code=400
            )
        try:
            targets = [alias for t in target for alias in target_aliases(t)]
            site_n = mentions.normalize_site(site) if site else None
        except (URLError, ValueError) as exc:
            return JSONResponse({"error": "invalid_request", "error_description": str(exc)}, status_code=400)
        types = list(type_)
        by_property = {v: k for k, v in PROPERTY_OF_TYPE.items()}
        types += [by_property[p] for p in wm_property if p in by_property]
        if sort_by not in mentions._store.SORTS or sort_dir not in ("up", "down"):
            return JSONResponse({"error": "invalid_request", "error_description": "bad sort"}, status_code=400)
        rows, total = mentions.approved(
            state_of(request).reader(),
            targets=targets,
            site=site_n,
            since=since,
            types=types,
            sort=sort_by,
            descending=sort_dir == "down",
            page=page,
            per_page=per_page,
        )
        return JSONResponse(
            {
                "type": "feed",
                "name": "Webmentions",
                "children": [jf2_entry(row) for row in rows],
                "total": total,
                "page": page,
                "per-page": per_page,
            },
            headers={"Access-Control-Allow-Origin": "*"},
        )
