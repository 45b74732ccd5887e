"""The dashboard (issue 14, first part): sign-in, CSRF, CSP, and pages that show what the CLI shows.

In-process tests use Starlette's TestClient; the browser tests (headless Chromium, Debian's) sign
in, open every page and check that nothing third parties control ever runs, that no request
leaves the server's origin, and that the console stays clean. They write screenshots to
``build/screenshots``.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from browserkit import AUDIT, CLEAN, chromium, screenshot, watched_page
from fastapi.testclient import TestClient
from linkrows import insert, link, ts
from serverkit import ServerThread, Settings
from test_reports import build_store
from typer.testing import CliRunner

from linkback import mentions
from linkback.cli import app as cli
from linkback.mentions import Outcome, Receipt
from linkback.rank import rank

TOKEN = "dash-token"
SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=1">'
SVG = '"><svg onload=window.__xss=1>'
JS_URL = "javascript:window.__xss=1"


def _fill(path: str) -> None:
    with build_store(path) as store:
        insert(
            store,
            "links",
            [
                link("http://evil.example/p", "https://example.com/xss", anchor=SCRIPT, first_seen=ts("2024-03-01")),
                link("http://evil.example/q", "https://example.com/xss", anchor=IMG, first_seen=ts("2024-03-02")),
                link("http://evil.example/r", "https://example.com/xss", anchor=SVG, first_seen=ts("2024-03-03")),
            ],
        )
        insert(store, "pages", [{"url": "http://evil.example/p", "host": "evil.example", "domain": "evil.example",
                                 "title": SCRIPT, "status": 200}])  # fmt: skip
        rank(store)
        mentions.add_site(store.con, "example.com", policy="moderate")
        ((mid, _),) = mentions.receive_many(
            store.con, [Receipt("webmention", "http://evil.example/m", "https://example.com/xss", "example.com")],
            ts("2024-04-01"),
        )  # fmt: skip
        content = {"type": "reply", "wm_property": "in-reply-to", "author_name": SVG, "author_url": JS_URL,
                   "summary": IMG, "content_text": SCRIPT, "name": SCRIPT}  # fmt: skip
        mentions.record_outcome(
            store.con, mid, Outcome("verified", content=content, decision="pending"), ts("2024-04-01")
        )


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("dash") / "dash.duckdb")
    _fill(path)
    return path


@pytest.fixture
def client(db: str):
    from linkback.server import create_app

    with TestClient(create_app(Settings(db=db, admin_token=TOKEN))) as c:
        yield c


def sign_in(client) -> str:
    r = client.post("/do/login", data={"token": TOKEN, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/jobs").text).group(1)


PAGES = [
    "/",
    "/overview?target=example.com",
    "/reports/backlinks?target=example.com&follow=yes&kind=text",
    "/reports/refdomains?target=example.com&sort=dr",
    "/reports/anchors?target=example.com",
    "/reports/pages?domain=example.com",
    "/reports/tlds?target=example.com",
    "/reports/history?target=example.com&by=month",
    "/reports/churn?target=example.com",
    "/reports/trend?target=example.com",
    "/reports/growth?target=example.com",
    "/reports/toxic_domains?target=example.com",
    "/reports/toxic_links?target=example.com",
    "/reports/domain_history?domain=example.com",
    "/reports/domains",
    "/reports/list_entries",
    "/reports/sites",
    "/reports/rules",
    "/reports/sent",
    "/mentions?state=&status=",
    "/jobs",
    "/widget-preview?target=https://example.com/xss",
    "/disavow?target=example.com&min_score=1",
    "/sends",
    "/sites",
    "/monitor",
    "/alerts",
    "/reports/broken?target=example.com",
    "/reports/prospects_broken",
    "/compare?targets=example.com",
    "/intersect?targets=example.com",
    "/traffic?target=example.com",
    "/reports/categories?target=example.com",
    "/reports/linked_domains?domain=evil.example",
]


def test_every_page_needs_a_session_and_sends_its_security_headers(client) -> None:
    r = client.get("/reports/backlinks?target=example.com", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert client.post("/do/login", data={"token": "nope"}).status_code == 401
    assert client.get("/reports/backlinks.csv?target=example.com").status_code == 401
    signed = client.post("/do/login", data={"token": TOKEN, "next": "/"}, follow_redirects=False)
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200, (path, page.text[:500])
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'self'" in csp


def test_pages_and_scripts_go_out_compressed(client) -> None:
    sign_in(client)
    for path in ("/overview?target=example.com", "/static/app.css", "/static/vendor/htmx-2.0.11.min.js"):
        r = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200 and r.headers.get("content-encoding") == "gzip", path
    plain_page = client.get("/overview?target=example.com", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain_page.headers


def test_forms_that_change_something_need_the_csrf_token(client) -> None:
    csrf = sign_in(client)
    assert client.post("/do/rank", data={"csrf": "forged"}).status_code == 403
    assert client.post("/do/moderate", data={"action": "approve", "id": "1"}).status_code == 403
    assert client.post("/do/logout", data={}).status_code == 403
    assert client.post("/do/rank", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert "rank" in client.get("/jobs").text


def test_sign_in_goes_back_only_to_this_server(client) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        r = client.post("/do/login", data={"token": TOKEN, "next": target}, follow_redirects=False)
        assert r.headers["location"] == "/"


def test_a_table_page_and_its_download_give_the_rows_the_cli_gives(db: str) -> None:
    result = CliRunner().invoke(
        cli, ["backlinks", "example.com", "--follow", "--kind", "text", "--kind", "image", "--sort", "source_domain",
              "--format", "csv", "--limit", "0", "--db", db],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    from linkback.server import create_app

    with TestClient(create_app(Settings(db=db, admin_token=TOKEN))) as client:
        sign_in(client)
        query = "target=example.com&follow=yes&kind=text&kind=image&sort=source_domain"
        page = client.get(f"/reports/backlinks?{query}").text
        download = client.get(f"/reports/backlinks.csv?{query}").text
    assert "linkback backlinks example.com --follow --kind text --kind image --sort source_domain" in page
    ours = list(csv.DictReader(io.StringIO(download)))
    theirs = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [{k: r[k] for k in theirs[0]} for r in ours] == theirs and len(theirs) > 3
    # Every row the page shows links its source (escaped, http(s) only).
    assert page.count('rel="nofollow noopener noreferrer"') >= 2 * min(len(theirs), 100) - 1


def test_hostile_text_is_escaped_on_every_page(client) -> None:
    csrf = sign_in(client)
    assert csrf
    for path in ["/reports/backlinks?target=example.com&include_lost=on", "/reports/anchors?target=example.com",
                 "/overview?target=example.com", "/mentions?state=&status="]:  # fmt: skip
        html = client.get(path).text
        assert "<script>window.__xss" not in html and "<img src=x" not in html and "<svg onload" not in html, path
        assert 'href="javascript:' not in html.lower(), path
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in client.get("/reports/anchors?target=example.com").text


def test_moderation_from_the_inbox(client, db: str) -> None:
    csrf = sign_in(client)
    inbox = client.get("/mentions").text
    (mention_id,) = re.findall(r'name="id" value="(\d+)"', inbox)
    r = client.post("/do/moderate", data={"csrf": csrf, "action": "approve", "id": mention_id}, follow_redirects=False)
    assert r.status_code == 303
    approved = client.get("/mentions?state=approved&status=").text
    assert f'value="{mention_id}"' in approved


# --- in headless Chromium ------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])  # one test a width, so that test workers share them out
def test_in_chromium_every_page_renders_cleanly_and_nothing_hostile_runs(db: str, width: int) -> None:
    with ServerThread(Settings(db=db, admin_token=TOKEN)) as url, chromium() as browser:
        problems: list[str] = []
        page = watched_page(browser, url, problems, width)
        page.goto(url + "/reports/backlinks")
        page.fill("#token", TOKEN)  # redirected to sign in, and back
        page.keyboard.press("Enter")
        page.wait_for_url(url + "/reports/backlinks")
        for path in PAGES:
            page.goto(url + path)
            page.wait_for_load_state("load")  # scripts ran and images tried: their events fired
            audit = page.evaluate(AUDIT)
            assert audit == CLEAN, (path, audit)
            if path.startswith("/overview"):  # the chart was drawn (by the one script)
                assert page.evaluate("document.querySelector('#chart canvas') !== null"), path
            name = re.sub(r"[^a-z0-9]+", "-", path.split("?")[0]).strip("-") or "home"
            if path in ("/", "/overview?target=example.com", "/mentions?state=&status=") or "backlinks" in path:
                screenshot(page, f"{name}-{width}")
        assert problems == [], problems


def test_a_strangers_post_is_answered_before_its_body_is_read(client) -> None:
    """An upload may be 64 MB: without a session, the dashboard refuses it before reading a byte
    (a few slow strangers would otherwise hold 60 MB each)."""

    reads: list[int] = []
    sent: list[dict] = []

    async def receive() -> dict:
        reads.append(1)
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    async def send(message: dict) -> None:
        sent.append(message)

    for path in ("/do/import", "/disavow/check", "/do/moderate"):
        reads.clear()
        sent.clear()
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
            "headers": [(b"host", b"testserver"), (b"content-length", b"62914560"),
                        (b"content-type", b"multipart/form-data; boundary=x")],
            "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
        }  # fmt: skip
        client.portal.call(client.app, scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        assert start["status"] == 303 and dict(start["headers"])[b"location"] == b"/login", path
        assert reads == [], path
    # Signing in is the one POST a stranger may send.
    assert client.post("/do/login", data={"token": "nope"}).status_code == 401


def test_ids_that_are_not_plain_digits_are_left_out_not_a_crash(client) -> None:
    csrf = sign_in(client)
    for path in ("/do/moderate", "/do/widget/remove"):
        r = client.post(path, data={"csrf": csrf, "action": "approve", "id": ["²", "9" * 5000], "target": ""},
                        follow_redirects=False)  # fmt: skip
        assert r.status_code in (303, 400), (path, r.status_code, r.text[:200])


def test_a_page_following_a_job_reloads_each_second_while_young_then_less_often_then_not() -> None:
    from datetime import UTC, datetime, timedelta
    from types import SimpleNamespace

    from linkback.server.web._jobview import QUICK_RELOAD_FOR, RELOAD_SECONDS, reload_seconds
    from linkback.server.web._render import environment

    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    young = {"state": "running", "created_at": now - timedelta(seconds=2)}
    old = {"state": "queued", "created_at": now - QUICK_RELOAD_FOR - timedelta(seconds=1)}
    done = {"state": "done", "created_at": now}
    assert [reload_seconds(row, now) for row in (young, old, done)] == [1, RELOAD_SECONDS, None]
    jobs = environment().get_template("jobs.html")

    def meta(rows: list[dict]) -> list[str]:
        html = jobs.render(session=SimpleNamespace(csrf="c", site=None), jobs=[{**row, "reload": reload_seconds(row, now), "job_id": 1, "kind": "rank",
                                  "progress": {}, "error": None} for row in rows])  # fmt: skip
        return re.findall(r'<meta http-equiv="refresh" content="(\d+)">', html)

    assert meta([done, old, young]) == ["1"] and meta([old, done]) == [str(RELOAD_SECONDS)] and meta([done]) == []
