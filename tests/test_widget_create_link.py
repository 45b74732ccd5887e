""""Links to this post", as Blogger shows it (issue 14): the "Create a link" prompt of a post
without links, the reader's form sent as a Webmention, and the owner's "Remove link".

In-process (Starlette's TestClient, the job runner live against a local page server) for what
the server answers and stores; one Chromium session for the script widget on a page of another
origin, the reader's form and the owner's preview, both by keyboard, with screenshots.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from browserkit import AUDIT, CLEAN, chromium, screenshot, sign_in, watched_page
from fastapi.testclient import TestClient
from linkrows import insert, link
from serverkit import Page, PageServer, loopback_resolver, start_linkback, wait_for
from test_dashboard_a11y import AXE, _axe, preload_axe

from linkback import mentions
from linkback.mentions import Outcome, Receipt
from linkback.server import Settings, create_app
from linkback.server._limits import Rate
from linkback.store import Store

TOKEN = "widget-token"
SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=1">'
SVG = '"><svg onload=window.__xss=1>'
JS_URL = "javascript:window.__xss=1"
#: A post of an auto-approving site with no link yet, whose title in the index is hostile.
EMPTY = "http://blog.test/empty"
TITLE = f"{SCRIPT} & \"Bob's\" {SVG}"
#: A post with one approved mention (hostile author) and one pending one.
LINKED = "http://blog.test/linked"
#: A post with only a pending mention: still no link readers see.
PENDING = "http://blog.test/pending"
#: A post of a moderated site.
HELD = "http://held.test/post"
#: A page of a site this server does not receive for; the index knows its title.
FOREIGN = "http://other.test/page"
FORM = "/webmention/form"
#: The columns a Webmention's row holds that depend on its pair or the moment it came.
PER_PAIR = {"mention_id", "source", "target", "status_token", "received_at", "updated_at", "next_attempt_at"}


def fill(store: Store) -> None:
    con = store.con
    mentions.add_site(con, "blog.test", policy="auto")
    mentions.add_site(con, "held.test", policy="moderate")
    mentions.add_rule(con, "block", "spam.test")
    when = datetime(2024, 5, 1, tzinfo=UTC)
    insert(store, "pages", [
        {"url": EMPTY, "host": "blog.test", "domain": "blog.test", "title": TITLE, "status": 200},
        {"url": FOREIGN, "host": "other.test", "domain": "other.test", "title": "Not yours to see", "status": 200},
    ])  # fmt: skip
    insert(store, "links", [link("http://ext.test/a", "http://blog.test/indexed", anchor=IMG)])
    for source, target, decision, content in (
        ("http://a.test/1", LINKED, "approved", {"author_name": SVG, "author_url": JS_URL, "author_photo": "http://a.test/me.png",
                                                  "name": SCRIPT, "url": JS_URL}),
        ("http://b.test/2", LINKED, "approved", {"author_name": "Bea", "type": "like", "wm_property": "like-of"}),
        ("http://c.test/3", LINKED, "pending", {"author_name": "Cy"}),
        ("http://d.test/4", PENDING, "pending", {"author_name": "Di"}),
    ):  # fmt: skip
        site = "blog.test"
        ((mid, _),) = mentions.receive_many(con, [Receipt("webmention", source, target, site)], when)
        content = {"type": "mention", "wm_property": "mention-of", **content}
        mentions.record_outcome(con, mid, Outcome("verified", content=content, decision=decision), when)


def settings(db: str, **more: Any) -> Settings:
    options: dict[str, Any] = {
        "db": db, "admin_token": TOKEN, "allow_private": True, "resolver": loopback_resolver,
        "poll_seconds": 0.25, "pair_rate": Rate(0, 1.0), "host_rate": Rate(0, 1.0),
    }  # fmt: skip
    return Settings(**{**options, **more})


def new_db(tmp_path: Path) -> str:
    db = str(tmp_path / "widget.duckdb")
    with Store(db) as store:
        fill(store)
    return db


@pytest.fixture(scope="module")
def pages() -> Iterator[PageServer]:
    with PageServer() as server:
        yield server


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings(new_db(tmp_path)))) as c:
        yield c


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One server for the tests that change no approved link (and never sign in)."""
    with TestClient(create_app(settings(new_db(tmp_path_factory.mktemp("reader"))))) as c:
        yield c


def rows(client: TestClient, where: str = "1 = 1", params: list | None = None) -> list[dict]:
    cur = client.app.state.linkback.store.con.cursor()
    try:
        result = cur.execute(f"SELECT * FROM mentions WHERE {where} ORDER BY mention_id", params or [])
        names = [d[0] for d in result.description]
        return [dict(zip(names, row)) for row in result.fetchall()]
    finally:
        cur.close()


def mention_of(client: TestClient, source: str, target: str) -> dict:
    (row,) = rows(client, "source = ? AND target = ?", [source, target])
    return row


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of textareas (as a browser reads them)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.textareas: list[str] = []
        self._in_textarea = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag == "textarea":
            self._in_textarea = True
            self.textareas.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._in_textarea = False

    def handle_data(self, data: str) -> None:
        if self._in_textarea:
            self.textareas[-1] += data

    def named(self, tag: str) -> list[dict[str, str]]:
        return [attrs for t, attrs in self.tags if t == tag]


def assert_inert(html: str) -> None:
    """No element or attribute a payload could have become; links only to http(s) or this server."""
    tags = Tags(html)
    assert not [t for t, _ in tags.tags if t in ("script", "iframe", "object", "embed", "style")]
    assert not [attrs for tag, attrs in tags.tags if tag == "svg" and attrs.get("aria-hidden") != "true"]
    for tag, attrs in tags.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        for name in ("href", "src", "action"):
            if name in attrs:
                assert attrs[name].startswith(("http://", "https://", "/")) or attrs[name] == "data:,", (tag, attrs)
                assert not attrs[name].startswith("//"), (tag, attrs)


# --- the prompt ----------------------------------------------------------------------------------


def test_the_prompt_shows_only_while_a_post_has_no_approved_link(reader: TestClient) -> None:
    empty = reader.get("/widget", params={"target": EMPTY})
    assert empty.status_code == 200 and "form-action 'self'" in empty.headers["content-security-policy"]
    tags = Tags(empty.text)
    assert 'class="lb-empty"' in empty.text and "Create a link" in empty.text
    # The post's link as HTML to copy: the index's title, escaped in it; shown as text.
    escaped = "&lt;script&gt;window.__xss=1&lt;/script&gt; &amp; &quot;Bob&#x27;s&quot; &quot;&gt;&lt;svg onload=window.__xss=1&gt;"
    assert tags.textareas == [f'<a href="{EMPTY}">{escaped}</a>']
    (form,) = tags.named("form")
    assert form == {"class": "lb-form", "method": "post", "action": "http://testserver" + FORM}
    fields = {a["name"]: a for a in tags.named("input")}
    assert fields["target"] == {"type": "hidden", "name": "target", "value": EMPTY}
    assert fields["source"]["type"] == "url" and "required" in fields["source"]
    labels = {a["for"] for a in tags.named("label")}
    assert {fields["source"]["id"], tags.named("textarea")[0]["id"]} <= labels

    # Approved links: the widget shows them and asks for nothing.
    linked = reader.get("/widget", params={"target": LINKED}).text
    assert "lb-create" not in linked and "lb-form" not in linked and "lb-empty" not in linked
    assert "Bea" in linked and "Cy" not in linked  # the pending one is not a link readers see
    # Only a pending mention: still no link readers see, so the prompt.
    assert "Create a link" in reader.get("/widget", params={"target": PENDING}).text
    # The index's own backlinks count as links where the widget shows them.
    assert "Create a link" in reader.get("/widget", params={"target": "http://blog.test/indexed"}).text
    assert "Create a link" not in reader.get("/widget", params={"target": "http://blog.test/indexed", "backlinks": 1}).text

    # The same for the script widget, as JSON; "//host/path" picks the scheme the index knows.
    info = reader.get("/api/create-link", params={"target": "//blog.test/empty"})
    assert info.headers["access-control-allow-origin"] == "*" and "<" not in info.text
    assert info.json() == {"url": EMPTY, "title": TITLE, "html": f'<a href="{EMPTY}">{escaped}</a>',
                           "form": "http://testserver" + FORM}  # fmt: skip
    unknown = reader.get("/api/create-link", params={"target": "https://blog.test/new"}).json()
    assert unknown["title"] == unknown["url"] == "https://blog.test/new"
    # Not a post this server receives for: no form, and the index's title is not told.
    foreign = reader.get("/api/create-link", params={"target": FOREIGN}).json()
    assert foreign == {"url": FOREIGN, "title": FOREIGN, "html": f'<a href="{FOREIGN}">{FOREIGN}</a>', "form": ""}
    snippet = reader.get("/widget", params={"target": FOREIGN}).text
    assert "Create a link" in snippet and "<form" not in snippet and "Not yours" not in snippet
    assert reader.get("/api/create-link", params={"target": JS_URL}).status_code == 400
    assert reader.get("/api/create-link", params={"target": EMPTY, "callback": "x"}).status_code == 400


# --- the reader's form: one intake with POST /webmention ---------------------------------------


def test_a_clients_host_header_never_names_the_server_in_a_cached_widget(reader: TestClient, monkeypatch) -> None:
    """The widget is public and cached: the URLs it writes come from LINKBACK_PUBLIC_URL when it is
    set, whatever Host a client sends; without it they are the request's, and the answer says it
    varies by Host, so no shared cache serves one client's Host to others."""
    forged = reader.get("/widget", params={"target": EMPTY}, headers={"Host": "evil.example"})
    assert "Host" in forged.headers["vary"] and "http://evil.example" + FORM in forged.text
    monkeypatch.setenv("LINKBACK_PUBLIC_URL", "https://links.example.org/")
    for path in ("/widget", "/api/create-link"):
        got = reader.get(path, params={"target": EMPTY}, headers={"Host": "evil.example"})
        assert "evil.example" not in got.text and "https://links.example.org" + FORM in got.text, path


def test_the_form_takes_a_webmention_in_exactly_as_post_webmention_does(tmp_path: Path) -> None:
    with TestClient(create_app(settings(new_db(tmp_path)))) as client:
        client.app.state.linkback.runner.stop()  # keep both queued, as the intake left them
        by_form = client.post(FORM, data={"source": "http://alice.test/a", "target": EMPTY + "#comments"})
        by_api = client.post("/webmention", data={"source": "http://alice.test/b", "target": HELD})
        assert by_form.status_code == by_api.status_code == 201
        assert by_form.headers["content-type"].startswith("text/html")
        assert "Link received" in by_form.text and f'href="{EMPTY}"' in by_form.text
        assert "default-src 'none'" in by_form.headers["content-security-policy"]
        location = by_form.headers["location"]
        assert location.startswith("http://testserver/webmention/status/")
        assert client.get(location).json()["status"] == "queued"
        form_row = mention_of(client, "http://alice.test/a", EMPTY)
        api_row = mention_of(client, "http://alice.test/b", HELD)
        assert form_row["status"] == "queued" and form_row["state"] == "pending" and form_row["status_token"]
        same = {k: v for k, v in form_row.items() if k not in PER_PAIR | {"site"}}
        assert same == {k: v for k, v in api_row.items() if k not in PER_PAIR | {"site"}}
        assert (form_row["site"], api_row["site"]) == ("blog.test", "held.test")
        # Sent again, the pair is one row that keeps its status page, as a re-sent Webmention.
        again = client.post(FORM, data={"source": "http://alice.test/a", "target": EMPTY},
                            headers={"Accept": "application/json"})  # fmt: skip
        assert again.status_code == 201 and again.headers["access-control-allow-origin"] == "*"
        assert again.json()["location"] == location and again.json()["status"] == "queued"
        assert "received" in again.json()["message"]
        assert len(rows(client, "source = 'http://alice.test/a'")) == 1


REPLY = '<!doctype html><title>Re</title><article class="h-entry"><a class="p-author h-card" href="/">{name}</a><p class="e-content">About <a href="{target}">your post</a>.</p></article>'


def test_verified_links_show_in_the_widget_as_the_site_policy_says(tmp_path: Path, pages: PageServer) -> None:
    pages.pages["/auto"] = Page(REPLY.format(name="Alice", target=EMPTY))
    pages.pages["/held"] = Page(REPLY.format(name="Hal", target=HELD))
    with TestClient(create_app(settings(new_db(tmp_path)))) as client:
        auto, held = pages.url("/auto", "alice.test"), pages.url("/held", "hal.test")
        assert client.post(FORM, data={"source": auto, "target": EMPTY}).status_code == 201
        assert client.post(FORM, data={"source": held, "target": HELD}).status_code == 201
        wait_for(lambda: all(r["status"] == "verified" for r in rows(client, "source IN (?, ?)", [auto, held])))
        assert mention_of(client, auto, EMPTY)["state"] == "approved"  # blog.test: auto
        assert mention_of(client, held, HELD)["state"] == "pending"  # held.test: moderate
        widget = client.get("/widget", params={"target": EMPTY}).text
        assert "Alice" in widget and "Create a link" not in widget
        assert client.get("/api/mentions", params={"target": EMPTY}).json()["total"] == 1
        assert "Create a link" in client.get("/widget", params={"target": HELD}).text
        client.post("/do/login", data={"token": TOKEN})
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/mentions").text).group(1)
        mid = mention_of(client, held, HELD)["mention_id"]
        client.post("/do/moderate", data={"csrf": csrf, "action": "approve", "id": str(mid)})
        widget = client.get("/widget", params={"target": HELD}).text
        assert "Hal" in widget and "Create a link" not in widget


@pytest.mark.parametrize(
    ("data", "status", "says"),
    [
        ({"source": "ftp://alice.test/post", "target": EMPTY}, 400, "starting with http:// or https://"),
        ({"source": "not a url", "target": EMPTY}, 400, "starting with http:// or https://"),
        ({"source": "http://me:secret@alice.test/", "target": EMPTY}, 400, "starting with http:// or https://"),
        ({"source": "", "target": EMPTY}, 400, "Give the address (URL) of your post"),
        ({"source": EMPTY + "#top", "target": EMPTY}, 400, "That is the address of this post"),
        ({"source": "http://alice.test/p", "target": "http://elsewhere.test/post"}, 400,
         "not one this server receives links for"),
        ({"source": "http://alice.test/p", "target": FOREIGN}, 400, "not one this server receives links for"),
        ({"source": "http://www.spam.test/p", "target": EMPTY}, 400, "Links from that site are not accepted"),
        ({"source": ["http://a.test/1", "http://a.test/2"], "target": EMPTY}, 400, "could not be read"),
        # Found by probing: it was stored, and linked back to, looking like a post of evil.test.
        ({"source": "http://alice.test/p", "target": "http://evil.test@blog.test/empty"}, 400,
         "not one this server receives links for"),
    ],
)  # fmt: skip
def test_the_form_says_what_is_wrong_and_stores_nothing(reader: TestClient, data: dict, status: int, says: str) -> None:
    before = rows(reader)
    answer = reader.post(FORM, data=data)
    assert answer.status_code == status and says in answer.text, answer.text
    assert "Your link was not sent" in answer.text and 'role="alert"' in answer.text
    back = Tags(answer.text).named("a")
    # A link back only to a post this server receives for: never to a URL a crafted form names
    # (nor when the form could not be read at all).
    readable = isinstance(data["source"], str)
    assert [a["href"] for a in back] == ([EMPTY] if data["target"] == EMPTY and readable else [])
    assert rows(reader) == before
    as_json = reader.post(FORM, data=data, headers={"Accept": "application/json"})
    assert as_json.status_code == status and says in as_json.json()["message"]
    assert as_json.headers["access-control-allow-origin"] == "*"


def test_the_form_has_the_body_limit_and_the_content_type_of_post_webmention(reader: TestClient) -> None:
    huge = reader.post(FORM, data={"source": "http://alice.test/" + "x" * 20_000, "target": EMPTY})
    assert huge.status_code == 413 and huge.headers["content-type"].startswith("text/html")
    multipart = reader.post(FORM, files={"source": ("s", b"http://alice.test/p")}, data={"target": EMPTY})
    assert multipart.status_code == 400 and "could not be read" in multipart.text


def test_the_form_and_post_webmention_share_their_rate_limits(tmp_path: Path) -> None:
    with TestClient(create_app(settings(new_db(tmp_path), pair_rate=Rate(2, 60.0)))) as client:
        pair = {"source": "http://alice.test/r", "target": EMPTY}
        assert client.post("/webmention", data=pair).status_code == 201
        assert client.post(FORM, data=pair).status_code == 201
        third = client.post(FORM, data=pair)
        assert third.status_code == 429 and third.headers["retry-after"] == "60"
        assert "try again in 60 seconds" in third.text
        assert client.post("/webmention", data=pair).status_code == 429
        as_json = client.post(FORM, data=pair, headers={"Accept": "application/json"})
        assert as_json.status_code == 429 and as_json.json()["error"] == "rate_limit_exceeded"


def test_private_addresses_are_refused_as_post_webmention_refuses_them(tmp_path: Path, pages: PageServer) -> None:
    pages.pages["/private"] = Page(REPLY.format(name="Mallory", target=EMPTY))
    before = len(pages.hits)
    with TestClient(create_app(settings(new_db(tmp_path), allow_private=False))) as client:
        sources = {
            FORM: f"http://127.0.0.1:{pages.port}/private",
            "/webmention": f"http://alice.test:{pages.port}/private",  # a name resolving to loopback
        }
        for path, source in sources.items():
            answer = client.post(path, data={"source": source, "target": EMPTY})
            assert answer.status_code == 201  # taken in, like any Webmention; refused by the guard
        for source in ("http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[::1]/"):
            client.post(FORM, data={"source": source, "target": EMPTY})
        wait_for(lambda: all(r["status"] == "rejected" for r in rows(client, "target = ?", [EMPTY])))
        refused = rows(client, "target = ?", [EMPTY])
        assert len(refused) == 5 and all("blocked_address" in r["reason"] for r in refused)
        assert mention_of(client, sources[FORM], EMPTY)["reason"] == mention_of(client, sources["/webmention"], EMPTY)["reason"]
    assert len(pages.hits) == before  # nothing was ever fetched from the private addresses


# --- the owner's preview and "Remove link" ----------------------------------------------------


def sign_in_client(client: TestClient) -> str:
    client.post("/do/login", data={"token": TOKEN})
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/widget-preview").text).group(1)


def test_the_preview_shows_the_widget_with_a_remove_link_per_mention_and_the_prompt(client: TestClient) -> None:
    assert client.get("/widget-preview", params={"target": LINKED}, follow_redirects=False).headers[
        "location"
    ] == "/login?next=" + quote(f"/widget-preview?target={quote(LINKED, safe='')}", safe="")
    csrf = sign_in_client(client)
    listing = client.get("/widget-preview").text  # the posts with approved links, to pick from
    assert 'href="/widget-preview?target=http%3A//blog.test/linked"' in listing and PENDING not in listing
    preview = client.get("/widget-preview", params={"target": LINKED})
    assert preview.status_code == 200 and "script-src 'self'" in preview.headers["content-security-policy"]
    html = preview.text
    assert_inert(html)
    tags = Tags(html)
    assert not tags.named("img")  # author photos live on other sites: not loaded on a dashboard page
    removes = [f for f in tags.named("form") if f.get("class") == "lb-remove"]
    assert len(removes) == 2 and all(f["action"] == "/do/widget/remove" for f in removes)
    approved = [r["mention_id"] for r in rows(client, "target = ? AND state = 'approved'", [LINKED])]
    ids = [int(a["value"]) for a in tags.named("input") if a.get("name") == "id"]
    assert sorted(ids) == sorted(approved)
    assert 'aria-label="Remove link from &#34;&gt;&lt;svg onload=window.__xss=1&gt;"' in html
    # The same widget readers get (less the buttons and photos), and the empty state's prompt.
    public = client.get("/widget", params={"target": LINKED, "css": 0}).text
    for item in re.findall(r'<li class="lb-item[^"]*">', public):
        assert item in html
    assert "Create a link" in html and html.count('class="lb-form"') == 1
    assert len({a["id"] for a in tags.named("input") if a.get("id")}) == len([a for a in tags.named("input") if a.get("id")])
    assert csrf in html
    assert client.get("/widget-preview", params={"target": JS_URL}).status_code == 400


def test_remove_link_from_the_preview_needs_the_session_and_its_csrf_token(client: TestClient) -> None:
    (victim,) = [r for r in rows(client, "target = ? AND author_name = 'Bea'", [LINKED])]
    form = {"id": str(victim["mention_id"]), "target": LINKED}
    # A cross-site form post carries no session (SameSite=Strict): it removes nothing.
    foreign = client.post("/do/widget/remove", data={**form, "csrf": "guess"},
                          headers={"Origin": "http://evil.test"}, follow_redirects=False)  # fmt: skip
    assert foreign.status_code == 303 and foreign.headers["location"] == "/login"
    csrf = sign_in_client(client)
    assert client.post("/do/widget/remove", data=form).status_code == 403
    assert client.post("/do/widget/remove", data={**form, "csrf": csrf + "x"}).status_code == 403
    assert mention_of(client, "http://b.test/2", LINKED)["state"] == "approved"

    done = client.post("/do/widget/remove", data={**form, "csrf": csrf}, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == "/widget-preview?target=" + quote(LINKED, safe="")
    assert mention_of(client, "http://b.test/2", LINKED)["state"] == "deleted"
    assert "Bea" not in client.get("/widget", params={"target": LINKED}).text
    feed = client.get("/api/mentions", params={"target": LINKED}).json()
    assert feed["total"] == 1 and [e["wm-source"] for e in feed["children"]] == ["http://a.test/1"]
    assert "Bea" not in client.get(done.headers["location"]).text
    # The last one: the widget asks for a link again.
    (last,) = [r["mention_id"] for r in rows(client, "source = 'http://a.test/1'")]
    client.post("/do/widget/remove", data={"id": str(last), "target": LINKED, "csrf": csrf})
    assert "Create a link" in client.get("/widget", params={"target": LINKED}).text
    bad = client.post("/do/widget/remove", data={"id": "999999", "target": LINKED, "csrf": csrf})
    assert bad.status_code == 400 and 'role="alert"' in bad.text


def test_the_inbox_removes_one_link_from_its_row(client: TestClient) -> None:
    csrf = sign_in_client(client)
    inbox = client.get("/mentions", params={"state": "", "status": ""}).text
    assert 'href="/widget-preview"' in inbox
    pending = mention_of(client, "http://c.test/3", LINKED)["mention_id"]
    (button,) = [b for b in Tags(inbox).named("button") if b.get("form") == f"rm{pending}"]
    assert button["aria-label"] == "Remove link from http://c.test/3" and "Remove link" in inbox
    # The row's own form, as the browser submits it for that button: only this mention goes.
    own = re.search(rf'<form id="rm{pending}"[^>]*>(.*?)</form>', inbox, re.S)
    assert own is not None and 'action="/do/moderate"' in own.group(0)
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', own.group(1)))
    fields[button["name"]] = button["value"]
    assert fields == {"csrf": csrf, "action": "delete", "id": str(pending)}
    others = {r["mention_id"]: r["state"] for r in rows(client) if r["mention_id"] != pending}
    assert client.post("/do/moderate", data=fields, follow_redirects=False).status_code == 303
    assert mention_of(client, "http://c.test/3", LINKED)["state"] == "deleted"
    assert {r["mention_id"]: r["state"] for r in rows(client) if r["mention_id"] != pending} == others


def test_hostile_text_stays_text_in_the_prompt_snippet_and_answer(reader: TestClient) -> None:
    for params in ({"target": EMPTY}, {"target": LINKED, "backlinks": 1}, {"target": "http://blog.test/indexed", "backlinks": 1}):
        assert_inert(reader.get("/widget", params=params).text)
    hostile = 'http://alice.test/"><script>window.__xss=1</script>'
    answer = reader.post(FORM, data={"source": hostile, "target": EMPTY})
    assert answer.status_code == 201
    assert_inert(answer.text)
    assert "%3Cscript%3E" in answer.text  # the normalised URL, as text
    refused = reader.post(FORM, data={"source": f"{JS_URL}<script>", "target": SVG})
    assert refused.status_code == 400
    assert_inert(refused.text)
    assert "&lt;script&gt;" in refused.text


# --- in Chromium: the script widget on another origin, the reader and the owner by keyboard ------


def _tab_to(page: Any, selector: str, limit: int = 60) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


@pytest.mark.browser
def test_in_chromium_a_reader_creates_a_link_and_the_owner_removes_one_by_keyboard(tmp_path: Path, pages: PageServer) -> None:
    pages.pages["/reply"] = Page(REPLY.format(name="Kay Board", target=EMPTY))
    # A Webmention wakes the job runner, so it polls at its default pace, not start_linkback's
    # 20 Hz (~0.2 CPU-seconds a second while the browser works).
    srv = start_linkback(tmp_path, prepare=_prepare, poll_seconds=1.0)
    try:
        pages.pages["/post"] = Page(
            "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content='width=device-width'>"
            "<link rel=icon href='data:,'><title>A post</title></head><body><main><h1>A post</h1><p>Text.</p>"
            f'<script src="{srv.url}/widget.js" data-target="{EMPTY}" async></script></main></body></html>'
        )
        snippet = Tags(httpx.get(srv.url + "/widget", params={"target": EMPTY}).text).textareas
        with chromium() as browser:
            for width in (1280, 390):
                page = browser.new_page(viewport={"width": width, "height": 800})
                errors: list[str] = []
                page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
                page.goto(pages.url("/post"))
                page.wait_for_selector('.lb-widget[data-lb-state="ready"] .lb-form')
                assert page.evaluate(AUDIT) == CLEAN
                assert page.locator(".lb-copy").input_value() == snippet[0]  # as the snippet has it
                screenshot(page, f"widget-create-link-{width}")
                if width == 1280:
                    # The snippet, where no script runs (its CSP): a plain form POST, and a page answers.
                    # (A browser asks the server for /favicon.ico, which it does not serve: not an error here.)
                    page.route(srv.url + "/favicon.ico", lambda route: route.fulfill(status=204))
                    page.goto(srv.url + "/widget?target=" + quote(EMPTY, safe=""))
                    _tab_to(page, ".lb-source")
                    page.keyboard.type(pages.url("/elsewhere", "kay.test"))
                    with page.expect_navigation():
                        page.keyboard.press("Enter")
                    assert page.url == srv.url + "/webmention/form"
                    assert page.locator("h1").inner_text() == "Link received"
                    assert page.locator("a.lb-back").get_attribute("href") == EMPTY
                    assert page.evaluate(AUDIT) == CLEAN
                    screenshot(page, f"widget-create-link-answer-{width}")
                if width == 390:
                    # The reader, by keyboard: to the URL field, type, Enter; the answer shows inline.
                    _tab_to(page, ".lb-source")
                    page.keyboard.type(pages.url("/reply", "kay.test"))
                    page.keyboard.press("Enter")
                    page.wait_for_selector(".lb-status.lb-ok")
                    assert "received" in page.locator(".lb-status").inner_text()
                    assert page.locator(".lb-source").input_value() == ""
                    assert page.evaluate(AUDIT) == CLEAN
                    screenshot(page, f"widget-create-link-sent-{width}")
                    # Verified (blog.test approves by itself), then the post shows the link.
                    wait_for(lambda: httpx.get(srv.url + "/api/mentions", params={"target": EMPTY}).json()["total"])
                    # A new visitor (the API's answers may be cached for 30 s by the first one).
                    later = browser.new_page(viewport={"width": width, "height": 800})
                    later.goto(pages.url("/post"))
                    later.wait_for_selector('.lb-widget[data-lb-state="ready"] .lb-item')
                    assert "Kay Board" in later.locator(".lb-widget").inner_text()
                    assert later.locator(".lb-create").count() == 0
                    later.close()
                assert errors == []
                page.close()

            # The owner, by keyboard: the preview of the post, then "Remove link" on Kay's link.
            problems: list[str] = []
            for width in (1280, 390):
                page = watched_page(browser, srv.url, problems, width=width)
                sign_in(page, srv.url, "test-token", then="/widget-preview?target=" + quote(EMPTY, safe=""))
                assert page.evaluate(AUDIT) == CLEAN
                screenshot(page, f"widget-preview-{width}")
                if width == 390:
                    _tab_to(page, ".lb-trash")
                    with page.expect_navigation():
                        page.keyboard.press("Enter")
                    page.wait_for_selector("#wp-now-h")
                    assert page.locator(".lb-trash").count() == 0
                    assert page.locator(".lb-preview .lb-create").count() == 2  # now the post asks again
                    assert page.evaluate(AUDIT) == CLEAN
                page.close()
            assert problems == []

            # axe-core: the prompt on the reader's page and the preview (colours: the dark theme).
            found: list[str] = []
            for scheme, width in (("dark", 390),):  # the light theme: in test_dashboard_a11y
                context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme,
                                              bypass_csp=True)  # axe is injected as an inline script
                preload_axe(context, AXE.read_text(encoding="utf-8"))
                try:
                    page = context.new_page()
                    page.goto(pages.url("/post"))
                    page.wait_for_selector('.lb-widget[data-lb-state="ready"] .lb-form')
                    found += _axe(page, AXE.read_text(encoding="utf-8"), f"widget {width}px {scheme}")
                    sign_in(page, srv.url, "test-token", then="/widget-preview?target=" + quote(EMPTY, safe=""))
                    found += _axe(page, AXE.read_text(encoding="utf-8"), f"preview {width}px {scheme}")
                finally:
                    context.close()
            assert found == [], "\n".join(found)
        assert httpx.get(srv.url + "/api/mentions", params={"target": EMPTY}).json()["total"] == 0
        assert "Create a link" in httpx.get(srv.url + "/widget", params={"target": EMPTY}).text
    finally:
        srv.stop()


def _prepare(store: Store) -> None:
    """fill() less the sites start_linkback adds itself (blog.test, auto)."""
    con = store.con
    mentions.add_site(con, "held.test", policy="moderate")
    insert(store, "pages", [{"url": EMPTY, "host": "blog.test", "domain": "blog.test", "title": TITLE, "status": 200}])
