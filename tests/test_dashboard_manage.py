"""The dashboard's Sends and Sites pages (issue 14): forms that queue sends and change sites and
mention rules, each calling the same function as the CLI, with CSRF, and bad input shown on the
page. In-process tests use Starlette's TestClient; one headless Chromium test (Debian's) works the
Sites page with the keyboard alone and writes screenshots to ``build/screenshots``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from browserkit import chromium, screenshot
from fastapi.testclient import TestClient
from linkrows import insert, ts
from serverkit import Page, PageServer, loopback_resolver, wait_for
from test_dashboard import AUDIT, TOKEN, sign_in
from test_send import Endpoint, post_page

from linkback import mentions
from linkback.conformance import browser_links as bl
from linkback.server import ServerThread, Settings, create_app
from linkback.server._jobs import list_jobs, read_job
from linkback.server.web import _manage
from linkback.store import Store

HOSTILE = '<script>window.__xss=1</script>'


def _app(settings: Settings):
    app = create_app(settings)
    # Until the package registers these pages itself.
    if not any(getattr(route, "path", "") == "/sites" for route in app.routes):
        _manage.register(app)
    return app


def _db(tmp_path: Path, *, sends: list[dict] = ()) -> str:
    db = str(tmp_path / "manage.duckdb")
    with Store(db) as store:
        mentions.add_site(store.con, "blog.example.com", policy="moderate")
        insert(store, "sends", list(sends))
    return db


def _settings(db: str, **more) -> Settings:
    return Settings(db=db, admin_token=TOKEN, resolver=loopback_resolver, poll_seconds=0.25, **more)


@pytest.fixture
def client(tmp_path: Path):
    with TestClient(_app(_settings(_db(tmp_path)))) as c:
        yield c


def _server(client):
    return client.app.state.linkback


def _error(html: str) -> str:
    found = re.search(r'<p class="error" role="alert">(.*?)</p>', html, re.S)
    return found.group(1) if found else ""


# --- Sends ----------------------------------------------------------------------------------------


def test_the_send_form_queues_a_send_job_with_its_fields_and_never_allow_private(client) -> None:
    csrf = sign_in(client)
    form = {"csrf": csrf, "url": "https://blog.example.com/feed.xml", "kind": "feed", "all_links": "yes",
            "dry_run": "yes", "blog_name": "My blog", "allow_private": "yes"}  # fmt: skip
    r = client.post("/do/send", data=form, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/jobs")
    (job,) = list_jobs(_server(client).reader())
    params = read_job(_server(client).reader(), job["job_id"], params=True)["params"]
    assert params == {"feeds": ["https://blog.example.com/feed.xml"], "all_links": True, "dry_run": True,
                      "blog_name": "My blog", "budget": 600.0}  # fmt: skip
    assert job["kind"] == "send"


def test_the_send_form_gives_the_job_its_time_budget_and_shows_it_as_the_cli_option(client) -> None:
    csrf = sign_in(client)
    form = {"csrf": csrf, "url": "https://blog.example.com/a-post", "kind": "post", "budget": "45"}
    assert client.post("/do/send", data=form, follow_redirects=False).status_code == 303
    (job,) = list_jobs(_server(client).reader())
    assert read_job(_server(client).reader(), job["job_id"], params=True)["params"]["budget"] == 45.0
    # A form refused for another field still shows the CLI line with the budget asked for.
    refused = client.post("/do/send", data={**form, "url": ""}, follow_redirects=False)
    assert refused.status_code == 400 and "linkback send URL --budget 45</code>" in refused.text
    assert 'name="budget" type="number" step="any" value="45"' in refused.text
    assert 'name="budget" type="number" step="any" value="600"' in client.get("/sends").text
    # A refused budget stays in the field to be corrected; the CLI line keeps the default.
    typo = client.post("/do/send", data={**form, "budget": "soon"}, follow_redirects=False)
    assert typo.status_code == 400 and 'step="any" value="soon"' in typo.text
    assert "linkback send https://blog.example.com/a-post</code>" in typo.text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("kind", "everything", "kind must be one of post, feed, sitemap, not 'everything'"),
        ("url", "", "url: give the URL of your post"),
        ("url", "javascript:window.__xss=1", "url: "),
        ("url", "ftp://blog.example.com/a", "url: ftp: URL, only http and https URLs are accepted"),
        ("url", "https://exa mple.com/<script>", "url: "),
        ("budget", "0", "budget must be a number of seconds above 0, not 0.0"),
        ("budget", "-30", "budget must be a number of seconds above 0, not -30.0"),
        ("budget", "nan", "budget must be a number of seconds above 0, not nan"),
        ("budget", "soon", "budget: give a number of seconds, not 'soon'"),
    ],
)
def test_the_send_form_refuses_bad_input_on_the_page_and_queues_nothing(client, field, value, message) -> None:
    csrf = sign_in(client)
    form = {"csrf": csrf, "url": "https://blog.example.com/a-post", "kind": "post", field: value}
    r = client.post("/do/send", data=form, follow_redirects=False)
    assert r.status_code == 400, r.text[:300]
    error = _error(r.text)
    assert error and message.replace("'", "&#39;") in error, error
    assert "<script>" not in r.text.split("<main", 1)[1]
    assert list_jobs(_server(client).reader()) == []


def test_a_send_from_the_page_runs_and_its_history_shows_per_post(tmp_path: Path) -> None:
    """The whole way: the form queues the job, the server sends (its guard allows loopback
    here because it was started so), and the history lists the post's notifications."""
    endpoint = Endpoint(202)
    with PageServer() as web:
        web.pages["/post"] = post_page(web.url("/target", "them.test"))
        web.pages["/other"] = post_page(web.url("/target", "them.test"))
        web.pages["/target"] = Page('<html><head><link rel="webmention" href="/wm"></head><body>hi</body></html>')
        web.pages["/wm"] = endpoint
        post, other = web.url("/post", "me.test"), web.url("/other", "me.test")
        with TestClient(_app(_settings(_db(tmp_path), allow_private=True))) as client:
            csrf = sign_in(client)
            for url in (post, other):
                r = client.post("/do/send", data={"csrf": csrf, "url": url, "kind": "post"}, follow_redirects=False)
                assert r.status_code == 303
            reader = _server(client).reader
            wait_for(lambda: all(j["state"] in ("done", "failed") for j in list_jobs(reader())))
            assert [j["state"] for j in list_jobs(reader())] == ["done", "done"], list_jobs(reader())
            everything = client.get("/sends").text
            one = client.get("/sends", params={"url": post})
    assert len(endpoint.calls) == 2
    assert everything.count(f">{post}</a>") == 1 and everything.count(f">{other}</a>") == 1
    assert one.status_code == 200
    assert f">{post}</a>" in one.text and f">{other}</a>" not in one.text
    assert "webmention" in one.text and ">sent<" in one.text
    assert f"linkback sent {post}" in one.text and "linkback send URL" in one.text


def test_the_history_escapes_what_third_parties_sent_back_and_refuses_a_bad_filter(tmp_path: Path) -> None:
    row = {"send_id": 1, "source": "https://blog.example.com/p", "target": "javascript:window.__xss=1",
           "protocol": "pingback", "status": "failed", "reason": HOSTILE, "attempts": 1, "linked": True,
           "sent_at": ts("2024-05-01")}  # fmt: skip
    with TestClient(_app(_settings(_db(tmp_path, sends=[row])))) as client:
        sign_in(client)
        html = client.get("/sends").text
        assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html and HOSTILE not in html
        assert 'href="javascript:' not in html.lower() and "javascript:window.__xss=1" in html
        for query, message in (({"url": "http://exa mple.com/"}, "exa mple.com"), ({"limit": "0"}, "limit must be")):
            bad = client.get("/sends", params=query)
            assert bad.status_code == 400 and message in _error(bad.text), (query, bad.text[:500])


# --- Sites and rules ------------------------------------------------------------------------------


def test_a_site_with_a_webhook_gets_a_secret_shown_once(client) -> None:
    csrf = sign_in(client)
    assert "new.example.org" not in _server(client).sites()  # cached now: the change must reload it
    r = client.post("/do/site", data={"csrf": csrf, "site": "New.Example.org", "policy": "allowlist",
                                      "webhook_url": "https://hooks.example.net/in", "webhook_secret": ""})  # fmt: skip
    assert r.status_code == 200
    secret = re.search(r'<code id="webhook-secret">([^<]+)</code>', r.text).group(1)
    assert len(secret) >= 32 and "shown once" in r.text
    (stored,) = [s for s in mentions.list_sites(_server(client).reader()) if s.site == "new.example.org"]
    assert (stored.policy, stored.webhook_url) == ("allowlist", "https://hooks.example.net/in")
    assert stored.webhook_secret == secret
    assert "new.example.org" in _server(client).sites()
    later = client.get("/sites").text
    assert secret not in later and "https://hooks.example.net/in" in later and "allowlist" in later


def test_a_typed_secret_is_kept_and_never_shown_and_a_change_redirects(client) -> None:
    csrf = sign_in(client)
    r = client.post("/do/site", data={"csrf": csrf, "site": "blog.example.com", "policy": "auto",
                                      "webhook_url": "https://hooks.example.net/b", "webhook_secret": "typed-secret"},
                    follow_redirects=False)  # fmt: skip
    assert (r.status_code, r.headers["location"]) == (303, "/sites")
    (stored,) = mentions.list_sites(_server(client).reader())
    assert (stored.policy, stored.webhook_secret) == ("auto", "typed-secret")
    assert "typed-secret" not in client.get("/sites").text


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"site": "blog.example.com", "policy": "everyone"}, "policy must be one of auto, moderate, allowlist"),
        ({"site": "com", "policy": "auto"}, "is a public suffix"),
        ({"site": "", "policy": "auto"}, "not a host or domain"),
        ({"site": "b.example.com", "policy": "auto", "webhook_url": "ftp://hooks.example.net/"},
         "webhook_url: ftp: URL, only http and https URLs are accepted"),
    ],
)
def test_a_bad_site_is_refused_on_the_page_and_changes_nothing(client, form, message) -> None:
    csrf = sign_in(client)
    r = client.post("/do/site", data={"csrf": csrf, **form})
    assert r.status_code == 400 and message in _error(r.text).replace("&#39;", "'"), r.text[:500]
    sites = [(s.site, s.policy) for s in mentions.list_sites(_server(client).reader())]
    assert sites == [("blog.example.com", "moderate")]
    assert "secret" not in _error(r.text)


def test_removing_a_site_from_its_row(client) -> None:
    csrf = sign_in(client)
    assert _server(client).sites() == ["blog.example.com"]
    page = client.get("/sites").text
    assert 'aria-label="Remove site blog.example.com"' in page
    r = client.post("/do/site/remove", data={"csrf": csrf, "site": "blog.example.com"}, follow_redirects=False)
    assert r.status_code == 303
    assert mentions.list_sites(_server(client).reader()) == [] and _server(client).sites() == []
    again = client.post("/do/site/remove", data={"csrf": csrf, "site": "blog.example.com"})
    assert again.status_code == 404 and "is not a site" in _error(again.text)


def test_rules_are_added_and_removed_and_the_cached_rules_follow(client) -> None:
    csrf = sign_in(client)
    assert _server(client).rules() == []
    entries = "Spam.Example, https://x.example.net/p#f"
    r = client.post("/do/rules", data={"csrf": csrf, "rule": "block", "entries": entries, "site": "", "note": HOSTILE},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    r = client.post("/do/rules", data={"csrf": csrf, "rule": "word", "entries": "cheap  Pills",
                                       "site": "blog.example.com", "note": ""}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert sorted(_server(client).rules()) == [
        ("*", "block", "https://x.example.net/p"), ("*", "block", "spam.example"),
        ("blog.example.com", "word", "cheap pills"),
    ]  # fmt: skip
    page = client.get("/sites").text
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in page and HOSTILE not in page
    assert "linkback mentions block ENTRY" in page and "linkback mentions spam-word ENTRY" in page
    removal = {"csrf": csrf, "site": "*", "entries": "spam.example"}
    r = client.post("/do/rules/remove", data=removal, follow_redirects=False)
    assert r.status_code == 303
    assert sorted(_server(client).rules()) == [("*", "block", "https://x.example.net/p"),
                                               ("blog.example.com", "word", "cheap pills")]  # fmt: skip
    gone = client.post("/do/rules/remove", data=removal)
    assert gone.status_code == 404 and "no rule" in _error(gone.text)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"rule": "deny", "entries": "spam.example"}, "rule must be one of allow, block, word"),
        ({"rule": "block", "entries": " , "}, "entries: give at least one"),
        ({"rule": "block", "entries": "javascript:alert(1)"}, "javascript:alert(1)"),
        ({"rule": "allow", "entries": "friend.example", "site": "exa mple.com<b>"}, "not a host or domain"),
        ({"rule": "word", "entries": "x" * 101}, "a spam word is 1 to 100 characters"),
    ],
)
def test_bad_rules_are_refused_on_the_page_and_none_is_added(client, form, message) -> None:
    csrf = sign_in(client)
    r = client.post("/do/rules", data={"csrf": csrf, **form})
    assert r.status_code == 400, r.text[:500]
    error = _error(r.text)
    assert error and message in error.replace("&#39;", "'"), error
    assert "<b>" not in error
    assert mentions.list_rules(_server(client).reader()) == []


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/do/send", {"url": "https://blog.example.com/a-post", "kind": "post"}),
        ("/do/site", {"site": "evil.example", "policy": "auto"}),
        ("/do/site/remove", {"site": "blog.example.com"}),
        ("/do/rules", {"rule": "allow", "entries": "evil.example"}),
        ("/do/rules/remove", {"entries": "spam.example", "site": "*"}),
    ],
)
def test_every_form_needs_the_csrf_token_and_changes_nothing_without_it(client, path, form) -> None:
    csrf = sign_in(client)
    client.post("/do/rules", data={"csrf": csrf, "rule": "block", "entries": "spam.example"})
    server = _server(client)
    before = (mentions.list_sites(server.reader()), mentions.list_rules(server.reader()), list_jobs(server.reader()))
    for forged in ({}, {"csrf": "forged"}, {"csrf": csrf[:-1]}):
        assert client.post(path, data={**form, **forged}).status_code == 403
    after = (mentions.list_sites(server.reader()), mentions.list_rules(server.reader()), list_jobs(server.reader()))
    assert after == before


def test_the_pages_need_a_session(client) -> None:
    for path in ("/sends", "/sites"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}"
    r = client.post("/do/site", data={"site": "evil.example"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert [s.site for s in mentions.list_sites(_server(client).reader())] == ["blog.example.com"]


# --- in headless Chromium ---------------------------------------------------------------------------


def _tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until ``selector`` has the focus (as a person moving through the page would)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


@pytest.mark.browser
def test_in_chromium_a_site_and_a_rule_are_added_with_the_keyboard_alone(tmp_path: Path) -> None:
    why = bl.browser_missing()
    if why:
        pytest.skip(why)
    # No job to wait for here: the runner polls at its default pace (at 20 Hz it cost ~0.2 CPU-s a second).
    server = ServerThread(replace(_settings(_db(tmp_path)), poll_seconds=1.0))
    if not any(getattr(route, "path", "") == "/sites" for route in server.app.routes):
        _manage.register(server.app)
    with server as url, chromium() as browser:
        for width, site in ((1280, "wide.example.org"), (390, "narrow.example.org")):
            page = browser.new_page(viewport={"width": width, "height": 900})
            problems: list[str] = []
            page.on("console", lambda m, problems=problems: problems.append(m.text) if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e, problems=problems: problems.append(str(e)))
            local = (url, "data:")
            page.on("request", lambda r, local=local, problems=problems: None if r.url.startswith(local) else problems.append("foreign: " + r.url))
            page.goto(url + "/sites")
            page.wait_for_selector("#token:focus")  # autofocus lands after the first paint
            page.keyboard.type(TOKEN)
            page.keyboard.press("Enter")
            page.wait_for_url(url + "/sites")
            # A site with a webhook: its secret is shown once.
            _tab_to(page, "#site-site")
            page.keyboard.type(site)
            page.keyboard.press("Tab")  # the policy: a select, changed with the arrow keys
            page.keyboard.press("ArrowDown")
            page.keyboard.press("Tab")
            page.keyboard.type(f"https://hooks.{site}/in")
            page.keyboard.press("Enter")
            page.wait_for_selector("#webhook-secret")
            assert page.evaluate(AUDIT)["scripts"] == 0
            secret = page.text_content("#webhook-secret")
            screenshot(page, f"sites-secret-{width}")
            # A block rule for every site.
            _tab_to(page, "#rule-entries")
            page.keyboard.type(f"spam.{site}, https://{site}/spam#x")
            page.keyboard.press("Tab")
            page.keyboard.press("Tab")
            page.keyboard.type("keyboard")
            page.keyboard.press("Enter")
            page.wait_for_url(url + "/sites")
            text = page.text_content("main")
            assert site in text and f"https://hooks.{site}/in" in text and "moderate" in text
            assert f"spam.{site}" in text and f"https://{site}/spam" in text and "keyboard" in text
            assert "spam#x" not in text and secret not in text
            screenshot(page, f"sites-{width}")
            page.goto(url + "/sends")
            page.wait_for_load_state("networkidle")
            screenshot(page, f"sends-{width}")
            audit = page.evaluate(AUDIT)
            assert audit == {"xss": "undefined", "jsLinks": 0, "onAttrs": 0, "scripts": 0}, audit
            assert problems == [], problems
            page.close()
        stored = {s.site: s for s in mentions.list_sites(server.state.reader())}
        assert stored["wide.example.org"].policy == "moderate" and stored["narrow.example.org"].webhook_secret
