"""Read-only share links (issue 14): a secret URL that shows one site's reports and nothing else,
until the admin revokes it.

In-process tests use Starlette's TestClient (an admin client and a visitor's, on one app); the
browser test opens a link in headless Chromium (Debian's) and checks that the overview renders
cleanly and that the menu offers nothing the link cannot open.
"""

from __future__ import annotations

import hashlib
import re

import pytest
from browserkit import chromium, screenshot
from fastapi.testclient import TestClient
from serverkit import ServerThread, Settings
from test_dashboard import AUDIT, TOKEN, _fill, sign_in

from linkback import shares
from linkback.conformance import browser_links as bl
from linkback.server import create_app
from linkback.server._jobs import list_jobs
from linkback.server.web._session import COOKIE, Sessions
from linkback.store import Store

#: What a link for example.com opens: the overview and every link report, of the site or inside it.
ALLOWED = [
    "/overview?target=example.com",
    "/overview?target=www.example.com",
    "/overview?target=https://example.com/xss",
    "/overview?target=example.com/blog",
    "/reports/overview?target=example.com",
    "/reports/backlinks?target=example.com&follow=yes&kind=text",
    "/reports/backlinks?target=example.com&internal=yes",
    "/reports/refdomains?target=example.com&sort=dr",
    "/reports/anchors?target=example.com",
    "/reports/pages?domain=example.com",
    "/reports/tlds?target=example.com",
    "/reports/history?target=example.com&by=month",
    "/reports/toxic_domains?target=example.com",
    "/reports/toxic_links?target=example.com",
    "/reports/domain_history?domain=example.com",
    "/reports/backlinks.csv?target=example.com",
    "/reports/refdomains.json?target=https://example.com/",
    "/static/app.css",
]
#: What it does not: other targets (however dressed up), admin pages, the API.
REFUSED = [
    "/",
    "/overview?target=evil.example",
    "/overview?target=notexample.com",
    "/overview?target=example.com.evil.example",
    "/overview?target=https://example.com@evil.example/",
    "/overview?target=https://evil.example/example.com",
    "/reports/backlinks?target=example.com&target=evil.example",
    "/reports/backlinks?target=evil.example",
    "/reports/backlinks.csv?target=evil.example",
    "/reports/pages?domain=evil.example",
    "/reports/domain_history?domain=evil.example",
    "/reports/domains",
    "/reports/sites",
    "/reports/rules",
    "/reports/list_entries",
    "/reports/sent",
    "/reports/disavow?target=example.com",
    "/mentions",
    "/jobs",
    "/sites",
    "/sends",
    "/shares",
    "/disavow?target=example.com",
    "/disavow.txt?target=example.com",
    "/api/v1/reports/backlinks?target=example.com",
    "/docs",
]
#: Forms a share session's own CSRF token does not open.
POSTS = [
    ("/do/rank", {}),
    ("/do/moderate", {"action": "approve", "id": "1"}),
    ("/do/shares/create", {"site": "evil.example"}),
    ("/do/site", {"site": "evil.example"}),
    ("/do/send", {"kind": "post", "url": "https://example.com/"}),
    ("/do/disavow/deny", {"entries": "evil.example"}),
    ("/do/logout/../rank", {}),
]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("share") / "share.duckdb")
    _fill(path)
    return path


@pytest.fixture
def clients(db: str):
    """The admin's client (signed in) and a visitor's, on one server."""
    app = create_app(Settings(db=db, admin_token=TOKEN))
    with TestClient(app) as admin:
        sign_in(admin)
        yield admin, TestClient(app)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def make_link(admin: TestClient, site: str) -> str:
    """The secret of a new link for ``site``, from the page that shows it once."""
    made = admin.post("/do/shares/create", data={"csrf": csrf_of(admin.get("/shares").text), "site": site})
    assert made.status_code == 200, made.text[:500]
    return re.search(r"/share/([A-Za-z0-9_-]+)</code>", made.text).group(1)


def open_link(visitor: TestClient, secret: str) -> None:
    r = visitor.get(f"/share/{secret}", follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    assert "httponly" in r.headers["set-cookie"].lower() and "samesite=strict" in r.headers["set-cookie"].lower()


def header(html: str) -> str:
    return html[html.index('<header class="top">') : html.index("</header>")]


def test_a_link_opens_its_sites_reports_and_nothing_else(clients) -> None:
    admin, visitor = clients
    secret = make_link(admin, "Example.COM")
    landing = visitor.get(f"/share/{secret}", follow_redirects=False)
    assert landing.headers["location"] == "/overview?target=example.com"
    for path in ALLOWED:
        r = visitor.get(path)
        assert r.status_code == 200, (path, r.text[:300])
    for path in REFUSED:
        r = visitor.get(path, follow_redirects=False)
        assert r.status_code == 403, (path, r.status_code)
        if not path.startswith("/api/"):
            assert "Not open to this link" in r.text and "content-security-policy" in r.headers, path
    # A report asked for without its TARGET opens on the site (the menu's links have none).
    r = visitor.get("/reports/refdomains?sort=dr", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/reports/refdomains?target=example.com&sort=dr"
    # The menu offers only what the link opens: no search box, no admin pages, no other reports.
    page = visitor.get("/reports/backlinks?target=example.com").text
    assert "Shared view of example.com" in header(page) and 'role="search"' not in header(page)
    assert set(re.findall(r'href="(/[a-z/]*)', header(page))) == {"/overview", "/reports/backlinks"}
    side = re.findall(r'<a href="/reports/([a-z_]+)"', page)
    assert side and "domains" not in side and "sites" not in side and "sent" not in side
    # The admin keeps every page.
    assert admin.get("/mentions").status_code == 200 and admin.get("/reports/domains").status_code == 200


def test_a_link_changes_nothing(clients) -> None:
    admin, visitor = clients
    open_link(visitor, make_link(admin, "example.com"))
    token = csrf_of(visitor.get("/overview?target=example.com").text)
    jobs_before = len(list_jobs(admin.app.state.linkback.reader(), 100))
    for path, fields in POSTS:
        r = visitor.post(path, data={"csrf": token, **fields}, follow_redirects=False)
        assert r.status_code == 403, (path, r.status_code)
    assert len(list_jobs(admin.app.state.linkback.reader(), 100)) == jobs_before
    links = admin.get("/shares").text
    assert "evil.example" not in links.split('id="links-h"')[1].split("<h3>")[0]
    assert "evil.example" not in admin.get("/sites").text.split('id="sites-h"')[1].split("<h3>")[0]


def test_the_admin_token_opens_the_api_beside_a_share_sessions_cookie(clients) -> None:
    """A browser that once opened a share link keeps its cookie; the admin's token, sent with it
    (trying the API in /docs), is the admin's. The cookie alone opens nothing of the API."""
    admin, visitor = clients
    open_link(visitor, make_link(admin, "example.com"))
    assert visitor.get("/api/v1/reports/sites").status_code in (401, 403)
    assert visitor.get("/api/v1/reports/sites", headers={"Authorization": "Bearer wrong"}).status_code in (401, 403)
    with_token = visitor.get("/api/v1/reports/sites", headers={"Authorization": f"Bearer {TOKEN}"})
    assert with_token.status_code == 200, with_token.text[:300]
    assert visitor.get("/reports/backlinks?target=evil.example").status_code == 403  # the pages stay the link's


def test_an_alerts_feed_opens_with_its_token_beside_a_share_sessions_cookie(clients) -> None:
    """A feed reader in the browser that once opened a share link sends that cookie with the
    feed's URL: the feed's own token opens it; the cookie alone, or a wrong token, opens nothing."""
    admin, visitor = clients
    added = admin.post(
        "/api/v1/actions/alert_rule_add",
        json={"site": "example.com", "event": "new_link", "channel": "atom"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    feed = added.json()["feed"]
    open_link(visitor, make_link(admin, "example.com"))
    opened = visitor.get(feed)
    assert opened.status_code == 200 and opened.headers["content-type"].startswith("application/atom+xml")
    assert visitor.get(feed.split("?")[0]).status_code == 403  # the share's gate: not one of its pages
    assert visitor.get(feed.split("?")[0] + "?token=wrong").status_code == 404


def test_the_admin_opening_a_link_stays_signed_in(clients) -> None:
    """A link followed from anywhere (a page can send the admin's browser to one) must not sign
    the admin out: the admin lands on its overview, with every page still theirs."""
    admin, _visitor = clients
    secret = make_link(admin, "example.com")
    opened = admin.get(f"/share/{secret}", follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/overview?target=example.com"
    assert "set-cookie" not in opened.headers
    assert admin.get("/shares").status_code == 200 and admin.get("/jobs").status_code == 200  # not a share's pages


def test_revoking_a_link_ends_its_sessions(clients) -> None:
    admin, visitor = clients
    secret = make_link(admin, "example.com")
    open_link(visitor, secret)
    cookie = visitor.cookies.get(COOKIE)
    assert visitor.get("/overview?target=example.com").status_code == 200
    digest = hashlib.sha256(secret.encode()).hexdigest()
    assert digest in admin.get("/shares").text
    r = admin.post("/do/shares/revoke", data={"csrf": csrf_of(admin.get("/shares").text), "share": digest},
                   follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert digest not in admin.get("/shares").text
    assert visitor.cookies.get(COOKIE) == cookie  # the same cookie, now opening nothing
    r = visitor.get("/overview?target=example.com", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert visitor.get("/reports/backlinks.csv?target=example.com").status_code == 401
    assert visitor.get(f"/share/{secret}").status_code == 404
    again = admin.post("/do/shares/revoke", data={"csrf": csrf_of(admin.get("/shares").text), "share": digest})
    assert again.status_code == 404


def test_an_unknown_link_is_not_found_and_opens_no_session(clients) -> None:
    admin, visitor = clients
    for secret in ("nope", "A" * 43, "x" * 500):
        r = visitor.get(f"/share/{secret}", follow_redirects=False)
        assert r.status_code == 404 and "set-cookie" not in r.headers, secret
    assert visitor.get("/overview?target=example.com", follow_redirects=False).status_code == 303  # to sign in


def test_a_host_link_covers_that_host_only(clients) -> None:
    admin, visitor = clients
    open_link(visitor, make_link(admin, "www.example.com"))
    assert visitor.get("/overview?target=www.example.com").status_code == 200
    inside = visitor.get("/reports/backlinks?target=https://www.example.com/a")  # no such links: 400, not 403
    assert inside.status_code == 400 and "no backlinks to" in inside.text
    for path in ("/overview?target=example.com", "/overview?target=blog.example.com",
                 "/reports/domain_history?domain=example.com",
                 "/reports/domain_history?domain=www.example.com"):  # fmt: skip
        assert visitor.get(path).status_code == 403, path


def test_making_links_needs_the_admin_and_a_real_site(clients, db: str) -> None:
    admin, visitor = clients
    assert visitor.get("/shares", follow_redirects=False).headers["location"].startswith("/login")
    assert visitor.post("/do/shares/create", data={"site": "example.com"}, follow_redirects=False).status_code == 303
    assert admin.post("/do/shares/create", data={"csrf": "forged", "site": "example.com"}).status_code == 403
    listed = admin.get("/shares").text.count('action="/do/shares/revoke"')
    token = csrf_of(admin.get("/shares").text)
    for site, why in (("", "empty TARGET"), ("co.uk", "public suffix"), ("https://example.com/blog", "URL prefix"),
                      ("exa mple.com", "whitespace")):  # fmt: skip
        r = admin.post("/do/shares/create", data={"csrf": token, "site": site})
        assert r.status_code == 400 and why in r.text and "/share/" not in r.text, site
    assert admin.get("/shares").text.count('action="/do/shares/revoke"') == listed


def test_the_secret_is_never_stored(clients, db: str) -> None:
    admin, visitor = clients
    secret = make_link(admin, "example.com")
    open_link(visitor, secret)  # it works, from its hash alone
    rows = admin.app.state.linkback.reader().execute("SELECT key, value FROM meta").fetchall()
    assert ("share:" + hashlib.sha256(secret.encode()).hexdigest()) in [k for k, _ in rows]
    assert not any(secret in k or secret in v for k, v in rows)
    assert secret not in admin.get("/shares").text  # the list shows it no more


def test_leaving_ends_a_share_session(clients) -> None:
    admin, visitor = clients
    open_link(visitor, make_link(admin, "example.com"))
    token = csrf_of(visitor.get("/overview?target=example.com").text)
    assert visitor.post("/do/logout", data={"csrf": token}, follow_redirects=False).status_code == 303
    assert visitor.get("/overview?target=example.com", follow_redirects=False).status_code == 303


def test_a_visit_racing_a_revocation_gets_no_session() -> None:
    sessions = Sessions()
    made = sessions.create_shared("example.com", "ab" * 32)
    assert made is not None
    assert sessions.end_share("ab" * 32) == 1 and sessions.get(made[0]) is None
    # Looked the link up before it was revoked, asks for a session after: none.
    assert sessions.create_shared("example.com", "ab" * 32) is None
    assert sessions.create() is not None


# --- in headless Chromium ------------------------------------------------------------------------------


@pytest.mark.browser
def test_in_chromium_a_link_opens_the_overview_with_only_its_menu(db: str) -> None:
    why = bl.browser_missing()
    if why:
        pytest.skip(why)
    with Store(db) as store:
        secret = shares.create_share(store, "example.com")["path"].removeprefix(shares.PATH)
    with ServerThread(Settings(db=db, admin_token=TOKEN)) as url, chromium() as browser:
        for width in (1280, 390):
            page = browser.new_page(viewport={"width": width, "height": 900})
            problems: list[str] = []
            page.on(
                "console",
                lambda m, problems=problems: problems.append(m.text) if m.type in ("error", "warning") else None,
            )
            page.on("pageerror", lambda e, problems=problems: problems.append(str(e)))
            page.on(
                "request",
                lambda r, problems=problems: None if r.url.startswith((url, "data:")) else problems.append(r.url),
            )
            page.goto(f"{url}/share/{secret}")
            page.wait_for_url(url + "/overview?target=example.com")
            page.wait_for_load_state("networkidle")
            assert page.evaluate(AUDIT) == {"xss": "undefined", "jsLinks": 0, "onAttrs": 0, "scripts": 0}
            assert page.evaluate("document.querySelector('#chart canvas') !== null")
            menu = page.eval_on_selector_all("header a", "as => as.map(a => new URL(a.href).pathname)")
            assert set(menu) == {"/overview", "/reports/backlinks"}, menu
            assert page.locator("header input[type=search]").count() == 0
            screenshot(page, f"share-overview-{width}")
            # The reports' menu opens on the site, by keyboard as by mouse.
            page.get_by_role("link", name="Reports").click()
            page.wait_for_load_state("networkidle")
            page.locator('nav.side a[href="/reports/refdomains"]').focus()
            page.keyboard.press("Enter")
            page.wait_for_url(url + "/reports/refdomains?target=example.com")
            assert page.locator("table.data tbody tr").count() > 0
            answer = page.goto(url + "/mentions")
            assert answer is not None and answer.status == 403
            assert page.get_by_role("heading", name="Not open to this link").is_visible()
            assert problems == [m for m in problems if "403" in m], problems  # the refusal logs itself only
            page.close()


#: What any visitor may use (the widget, the public mention APIs, the linkback endpoints): a
#: browser holding a share session uses them as a stranger does.
PUBLIC = [
    ("GET", "/widget.js", {}),
    ("GET", "/widget.css", {}),
    ("GET", "/widget?target=https://example.com/post", {}),
    ("GET", "/api/mentions?target=https://example.com/post", {}),
    ("GET", "/api/count?target=https://example.com/post", {}),
    ("GET", "/api/feed.atom?site=example.com", {}),
    ("GET", "/webmention", {}),
    ("GET", "/webmention/status/nope", {}),
    ("POST", "/webmention", {"data": {"source": "https://a.example/x", "target": "https://example.com/post"}}),
    ("POST", "/xmlrpc", {"content": b"<methodCall><methodName>pingback.ping</methodName></methodCall>"}),
    ("POST", "/trackback/nope", {"data": {"url": "https://a.example/x"}}),
]


def test_a_share_session_uses_the_public_endpoints_as_anyone(clients) -> None:
    admin, visitor = clients
    open_link(visitor, make_link(admin, "example.com"))
    stranger = TestClient(admin.app)
    for method, path, body in PUBLIC:
        answer = visitor.request(method, path, **body)
        assert answer.status_code != 403, (path, answer.text[:200])
        assert answer.status_code == stranger.request(method, path, **body).status_code, path
    assert visitor.get("/docs").status_code == 403  # public to strangers, but no display or linkback route


def test_a_link_followed_from_another_site_is_opened_by_a_click_here(clients) -> None:
    """From another site the browser sends no SameSite=Strict cookie, nor on the redirect after:
    the link answers a page of ours whose button opens it again, from this site."""
    admin, visitor = clients
    secret = make_link(admin, "example.com")
    for client in (admin, visitor):
        landing = client.get(f"/share/{secret}", headers={"Sec-Fetch-Site": "cross-site"}, follow_redirects=False)
        assert landing.status_code == 200 and "set-cookie" not in landing.headers
        assert landing.headers["content-security-policy"] and landing.headers["x-frame-options"] == "DENY"
        assert f'href="/share/{secret}">Open the report</a>' in landing.text
    assert admin.get("/shares").status_code == 200  # still the admin
    # The click: a same-origin request, which carries (and may set) the cookie.
    open_link(visitor, secret)
    assert visitor.get("/overview?target=example.com").status_code == 200
    bookmarked = TestClient(admin.app).get(f"/share/{secret}", headers={"Sec-Fetch-Site": "none"},
                                           follow_redirects=False)  # fmt: skip
    assert bookmarked.status_code == 303 and "set-cookie" in bookmarked.headers
    unknown = visitor.get("/share/nope", headers={"Sec-Fetch-Site": "cross-site"}, follow_redirects=False)
    assert unknown.status_code == 404
