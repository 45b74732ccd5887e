"""The widget preview: "Links to this post" as readers see it, and the owner's "Remove link".

``/widget-preview?target=URL`` renders the widget with the very function ``/widget`` serves it
with (:func:`linkback.server._display.render_widget`), with two differences a dashboard page
needs: author photos are not loaded (they live on other sites, and no dashboard request leaves
the origin), and each mention has a "Remove link" button. The button is a form POST with the
session's CSRF token to ``/do/widget/remove``, which deletes the mention with the same
moderation function as the inbox (:func:`linkback.mentions._actions.moderate`, ``delete``);
it is gone from ``/widget``, ``/api/mentions`` and the preview at once. The page also shows the
"Create a link" prompt a post without links offers its readers.
"""

from __future__ import annotations

import html
import shlex
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from linkback.mentions import _actions
from linkback.server._app import state_of
from linkback.server._display import BadRequest, public_base, render_widget, target_aliases
from linkback.server.web._overview import apply_moderation
from linkback.server.web._render import page
from linkback.server.web._session import Session, current, posted_lists

#: Where the "Remove link" buttons post.
REMOVE_PATH = "/do/widget/remove"
#: Posts the page offers when no target is given: those of the newest mentions.
RECENT = 200


def register(app: FastAPI) -> None:
    @app.get("/widget-preview", include_in_schema=False)
    def widget_preview(request: Request, target: str = "") -> Response:
        session = current(request)
        if session is None:
            return RedirectResponse("/login?" + urlencode({"next": _here(target)}), status_code=303)
        return _preview(request, session, target.strip())

    @app.post(REMOVE_PATH, include_in_schema=False)
    async def widget_remove(request: Request) -> Response:
        session, form = await posted_lists(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        target = (form.get("target") or [""])[-1].strip()
        error = apply_moderation(request, "delete", form.get("id", []))
        if error:
            return _preview(request, session, target, error=error, http_status=400)
        return RedirectResponse(_here(target), status_code=303)


def _here(target: str) -> str:
    """The preview's own path (never another site: only ``target`` varies, as a query value)."""
    return "/widget-preview" + ("?" + urlencode({"target": target}) if target else "")


def _preview(
    request: Request, session: Session, target: str, *, error: str = "", http_status: int = 200
) -> Response:
    # "post", not "target": the page's header would take a target for its overview search.
    context: dict[str, Any] = {"post": target, "error": error, "posts": [], "widget": "", "prompt": ""}
    if not target:
        rows = _actions.mentions(state_of(request).request_store(), state="approved", limit=RECENT)
        context["posts"] = list(dict.fromkeys(row["target"] for row in rows))
        return page(request, "widget_preview.html", session, **context, http_status=http_status)
    try:
        targets = target_aliases(target)
    except BadRequest as exc:
        context["error"] = error or str(exc)
        return page(request, "widget_preview.html", session, **context, http_status=400)
    remove = {"action": REMOVE_PATH, "csrf": session.csrf, "target": target}
    base = public_base(request)
    context.update(
        # render_widget escapes every third-party value itself (autoescape); its HTML is kept.
        widget=Markup(render_widget(request, targets, css=False, photos=False, remove=remove, uid="now")),
        prompt=Markup(render_widget(request, targets, css=False, photos=False, empty=True, uid="empty")),
        script_tag=f'<script src="{base}/widget.js" data-target="{html.escape(target)}" async></script>',
        snippet_url=f"{base}/widget?" + urlencode({"target": target}),
        cli=f"linkback mentions list --target {shlex.quote(targets[0])} --state approved",
    )
    return page(request, "widget_preview.html", session, **context, http_status=http_status)
