"""``/docs`` (Swagger UI) and ``/redoc`` that work offline (DESIGN §6: docs assets bundled).

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so without a network they were blank.
The scripts and styles come from the ``fastapi-offline`` package instead (MIT; it ships the
upstream bundles and is kept up to date), served by this server under :data:`ASSETS`. Two
things still reached out: Swagger UI's validator badge (off: ``validatorUrl`` null) and ReDoc's
"API docs by Redocly" logo, an image from redoc.ly. ReDoc's page says ``img-src 'self' data:``,
so the browser never asks (it hides the logo when it fails to load) and a reader's visit is not
announced to a third party.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse

#: Where the bundled Swagger UI and ReDoc files are served.
ASSETS = "/docs-assets"
REDOC_CSP = "img-src 'self' data:"


def app_arguments() -> dict[str, Any]:
    """Arguments for ``fastapi_offline.FastAPIOffline`` (a ``FastAPI`` that serves /docs offline)."""
    return {"static_url": ASSETS, "redoc_url": None, "swagger_ui_parameters": {"validatorUrl": None}}


def register(app: FastAPI) -> None:
    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = REDOC_CSP
        return page
