"""Sending linkbacks end to end on 127.0.0.1: discovery on real pages, the three protocols,
updates and deletes with one-time endpoints, retries, the guard, and our own receiver
(specs/linkback-protocols.md §9, "Webmention sender", Pingback and TrackBack)."""

from __future__ import annotations

import xmlrpc.client
from urllib.parse import parse_qs

import httpx
import pytest
from serverkit import Hit, Page, PageServer, loopback_resolver, start_linkback, wait_for

from linkback.fetch import Fetcher, GuardPolicy
from linkback.send import Sender, SendOptions, history
from linkback.store import Store


@pytest.fixture
def web():
    with PageServer() as server:
        yield server


@pytest.fixture
def store():
    with Store(":memory:") as s:
        yield s


def make_sender(store: Store, *, allow_private: bool = True, **options) -> Sender:
    fetcher = Fetcher(policy=GuardPolicy(allow_private=allow_private), resolver=loopback_resolver)
    return Sender(
        fetcher,
        read=lambda fn: fn(store.con),
        write=lambda fn: fn(store.con),
        options=SendOptions(backoff=0.01, **options),
    )


def post_page(*targets: str, footer: str = "") -> Page:
    links = " ".join(f'<a href="{t}">a link</a>' for t in targets)
    return Page(
        f'<html><head><title>My post</title></head><body><nav><a href="/">home</a></nav>'
        f'<article class="h-entry"><h1 class="p-name">My post</h1><div class="e-content"><p>Text {links}</p></div>'
        f"</article><footer>{footer}</footer></body></html>"
    )


class Endpoint:
    """A Webmention endpoint that records what it receives and answers ``status``."""

    def __init__(self, status: int = 202, headers: dict | None = None) -> None:
        self.calls: list[Hit] = []
        self.status = status
        self.headers = headers or {}

    def __call__(self, hit: Hit) -> Page:
        self.calls.append(hit)
        status = self.status(len(self.calls)) if callable(self.status) else self.status
        return Page(b"accepted", status, {"Content-Type": "text/plain", **self.headers})

    def forms(self) -> list[dict]:
        return [{k: v[0] for k, v in parse_qs(c.body.decode()).items()} for c in self.calls]


# --- Webmention discovery and notification ------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "endpoint_path"),
    [
        (
            Page("<p>hi</p>", headers={"Content-Type": "text/html", "Link": '</wm/a?x=1>; rel="webmention"'}),
            "/wm/a?x=1",
        ),
        (Page("<p>hi</p>", headers={"Content-Type": "text/html", "LinK": "</wm/b>; rel=webmention"}), "/wm/b"),
        (Page('<html><head><link rel="webmention" href="/wm/c"></head></html>'), "/wm/c"),
        (Page('<p><a rel="nofollow webmention" href="wm/d">endpoint</a></p>'), "/target/wm/d"),
        (
            Page('<!-- <link rel="webmention" href="/wm/bad"> --><link rel="webmention" href="/wm/e">'),
            "/wm/e",
        ),
        (Page('<link rel="webmention"><a rel="webmention" href="/wm/f">x</a>'), "/wm/f"),
    ],
)
def test_webmention_is_discovered_and_posted_as_a_form(web, store, page, endpoint_path) -> None:
    endpoint = Endpoint()
    web.pages["/target/page"] = page
    web.pages[endpoint_path.split("?")[0]] = endpoint
    target = web.url("/target/page", "them.test")
    web.pages["/post"] = post_page(target)
    source = web.url("/post", "me.test")
    result = make_sender(store).send_post(source)
    (record,) = result.records
    assert (record.protocol, record.status) == ("webmention", "sent")
    assert record.endpoint == web.url(endpoint_path, "them.test")
    (call,) = endpoint.calls
    assert call.method == "POST" and call.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert endpoint.forms() == [{"source": source, "target": target}]
    assert call.path == endpoint_path  # the endpoint's query string stays in the URL, not the body
    assert "webmention" in call.headers["user-agent"].lower()


def test_a_redirected_target_resolves_its_relative_endpoint_against_the_final_url(web, store) -> None:
    endpoint = Endpoint()
    web.pages["/old"] = Page(b"", 301, {"Location": "/new/page"})
    web.pages["/new/page"] = Page('<link rel="webmention" href="wm">')
    web.pages["/new/wm"] = endpoint
    web.pages["/post"] = post_page(web.url("/old", "them.test"))
    make_sender(store).send_post(web.url("/post", "me.test"))
    assert len(endpoint.calls) == 1


def test_only_the_posts_content_links_are_notified_unless_all_links(web, store) -> None:
    endpoint = Endpoint()
    for name in ("a", "b"):
        web.pages[f"/{name}"] = Page('<link rel="webmention" href="/wm">')
    web.pages["/wm"] = endpoint
    web.pages["/post"] = post_page(web.url("/a", "them.test"), footer=f'<a href="{web.url("/b", "them.test")}">b</a>')
    result = make_sender(store).send_post(web.url("/post", "me.test"))
    assert [r.target for r in result.records] == [web.url("/a", "them.test")]
    result = make_sender(store, all_links=True).send_post(web.url("/post", "me.test"))
    assert {r.target for r in result.records} >= {web.url("/a", "them.test"), web.url("/b", "them.test")}


def test_answers_are_judged_and_201_locations_kept_and_3xx_not_followed(web, store) -> None:
    created = Endpoint(201, {"Location": "https://them.test/status/9"})
    moved = Endpoint(302, {"Location": "/elsewhere"})
    refused = Endpoint(400)
    for name, endpoint in (("created", created), ("moved", moved), ("refused", refused)):
        web.pages[f"/{name}"] = Page(f'<link rel="webmention" href="/wm-{name}">')
        web.pages[f"/wm-{name}"] = endpoint
    elsewhere = Endpoint()
    web.pages["/elsewhere"] = elsewhere
    web.pages["/post"] = post_page(*(web.url(f"/{n}", "them.test") for n in ("created", "moved", "refused")))
    records = {r.target.rsplit("/", 1)[1]: r for r in make_sender(store).send_post(web.url("/post", "me.test")).records}
    assert (records["created"].status, records["created"].location) == ("sent", "https://them.test/status/9")
    assert records["moved"].status == "failed" and records["moved"].http_status == 302
    assert elsewhere.calls == []
    assert (records["refused"].status, records["refused"].http_status) == ("failed", 400)


def test_5xx_answers_are_retried_with_backoff(web, store) -> None:
    flaky = Endpoint(lambda n: 503 if n == 1 else 202)
    web.pages["/t"] = Page('<link rel="webmention" href="/wm">')
    web.pages["/wm"] = flaky
    web.pages["/post"] = post_page(web.url("/t", "them.test"))
    (record,) = make_sender(store).send_post(web.url("/post", "me.test")).records
    assert (record.status, record.attempts, len(flaky.calls)) == ("sent", 2, 2)


def test_each_target_is_fetched_once_per_run(web, store) -> None:
    web.pages["/t"] = Page('<link rel="webmention" href="/wm">')
    web.pages["/wm"] = Endpoint()
    web.pages["/p1"] = post_page(web.url("/t", "them.test"))
    web.pages["/p2"] = post_page(web.url("/t", "them.test"))
    sender = make_sender(store)
    sender.send_post(web.url("/p1", "me.test"))
    sender.send_post(web.url("/p2", "me.test"))
    assert sum(1 for h in web.hits if h.path == "/t") == 1


def test_private_endpoints_are_refused_with_the_guard_on(web, store) -> None:
    # The target is on a "public" name in this test; its endpoint points at a private address.
    web.pages["/t"] = Page('<link rel="webmention" href="http://10.0.0.7/wm">')
    web.pages["/post"] = post_page(web.url("/t", "them.test"))
    policy = GuardPolicy(
        allow_private=False, ports=None, refuse_address=lambda ip: None if str(ip) == "127.0.0.1" else "private"
    )
    sender = Sender(
        Fetcher(policy=policy, resolver=loopback_resolver),
        read=lambda fn: fn(store.con),
        write=lambda fn: fn(store.con),
    )
    (record,) = sender.send_post(web.url("/post", "me.test")).records
    assert record.status == "refused" and "private" in record.reason


def test_dry_run_discovers_but_sends_and_stores_nothing(web, store) -> None:
    endpoint = Endpoint()
    web.pages["/t"] = Page('<link rel="webmention" href="/wm">')
    web.pages["/wm"] = endpoint
    web.pages["/post"] = post_page(web.url("/t", "them.test"))
    (record,) = make_sender(store, dry_run=True).send_post(web.url("/post", "me.test")).records
    assert record.status == "dry_run" and record.endpoint == web.url("/wm", "them.test")
    assert endpoint.calls == [] and history(store.con) == []


# --- updates and deletes (one-time endpoints force re-discovery) ---------------------------------


class OneTimeTarget:
    """A target page whose endpoint URL changes after every use, as webmention.rocks's update tests do."""

    def __init__(self, web: PageServer, name: str) -> None:
        self.name = name
        self.key = 0
        self.received: list[dict] = []
        web.pages[f"/{name}"] = lambda hit: Page(f'<link rel="webmention" href="/{name}/wm/{self.key}">')
        for k in range(10):
            web.pages[f"/{name}/wm/{k}"] = self._endpoint(k)

    def _endpoint(self, k: int):
        def answer(hit: Hit) -> Page:
            if k != self.key:
                return Page(b"stale endpoint", 400, {"Content-Type": "text/plain"})
            self.key += 1
            self.received.append({key: v[0] for key, v in parse_qs(hit.body.decode()).items()})
            return Page(b"", 202)

        return answer


def test_an_updated_post_notifies_new_links_and_removed_ones_and_a_deleted_post_all(web, store) -> None:
    a, b, c = (OneTimeTarget(web, n) for n in "abc")
    url = {t.name: web.url(f"/{t.name}", "them.test") for t in (a, b, c)}
    source = web.url("/post", "me.test")
    web.pages["/post"] = post_page(url["a"], url["b"])
    make_sender(store).send_post(source)
    assert (len(a.received), len(b.received), len(c.received)) == (1, 1, 0)
    web.pages["/post"] = post_page(url["a"], url["c"])  # b removed, c added
    records = make_sender(store).send_post(source).records
    assert {(r.target, r.linked, r.status) for r in records} == {
        (url["a"], True, "sent"),
        (url["c"], True, "sent"),
        (url["b"], False, "sent"),
    }
    assert (len(a.received), len(b.received), len(c.received)) == (2, 2, 1)  # re-discovered every time
    web.pages["/post"] = Page("<p>Deleted</p>", 410)
    result = make_sender(store).send_post(source)
    assert result.status == "gone"
    assert (len(a.received), len(b.received), len(c.received)) == (3, 3, 2)
    assert all(not r.linked for r in result.records)
    assert len(history(store.con, source)) == 2 + 3 + 3


def test_a_meta_410_counts_as_deleted(web, store) -> None:
    a = OneTimeTarget(web, "a")
    source = web.url("/post", "me.test")
    web.pages["/post"] = post_page(web.url("/a", "them.test"))
    make_sender(store).send_post(source)
    web.pages["/post"] = Page(
        '<html><head><meta http-equiv="Status" content="410 Gone"></head><body>gone</body></html>'
    )
    assert make_sender(store).send_post(source).status == "gone" and len(a.received) == 2


# --- Pingback and TrackBack ----------------------------------------------------------------------


def pingback_server(faults: dict[str, int]):
    """An XML-RPC endpoint answering each target's configured fault (or success)."""
    calls = []

    def answer(hit: Hit) -> Page:
        (source, target), method = xmlrpc.client.loads(hit.body)
        calls.append((method, source, target))
        code = next((c for path, c in faults.items() if target.endswith(path)), None)
        if code is None:
            body = xmlrpc.client.dumps(("Pingback registered",), methodresponse=True)
        else:
            body = xmlrpc.client.dumps(xmlrpc.client.Fault(code, f"fault {code}"))
        return Page(body, 200, {"Content-Type": "text/xml"})

    return answer, calls


FAULT_CASES = {"ok": None, "dup": 48, "f0": 0, "f16": 16, "f17": 17, "f32": 32, "f33": 33, "f49": 49, "f50": 50}


def test_pingback_is_used_when_there_is_no_webmention_endpoint_and_every_fault_is_recorded(web, store) -> None:
    answer, calls = pingback_server({f"/{name}": code for name, code in FAULT_CASES.items() if code is not None})
    web.pages["/xmlrpc"] = answer
    for name in FAULT_CASES:
        web.pages[f"/{name}"] = Page(
            f'<link rel="pingback" href="{web.url("/xmlrpc", "them.test")}">', headers={"Content-Type": "text/html"}
        )
    web.pages["/hdr"] = Page(
        "<p>x</p>", headers={"Content-Type": "text/html", "X-Pingback": web.url("/xmlrpc", "them.test")}
    )
    web.pages["/post"] = post_page(*(web.url(f"/{n}", "them.test") for n in [*FAULT_CASES, "hdr"]))
    records = {r.target.rsplit("/", 1)[1]: r for r in make_sender(store).send_post(web.url("/post", "me.test")).records}
    assert {k: r.protocol for k, r in records.items()} == dict.fromkeys([*FAULT_CASES, "hdr"], "pingback")
    done = {"ok", "dup", "hdr"}  # success, and "already registered" counts as done
    assert {k for k, r in records.items() if r.status == "sent"} == done
    for name, code in FAULT_CASES.items():
        if name not in done:
            assert records[name].status == "failed" and records[name].reason.startswith(f"fault {code}:")
    assert all(method == "pingback.ping" for method, _, _ in calls)


def test_trackback_is_the_last_resort_and_found_through_rdf(web, store) -> None:
    received: list[bytes] = []

    def tb(hit: Hit) -> Page:
        received.append(hit.body)
        return Page(
            '<?xml version="1.0" encoding="utf-8"?><response><error>0</error></response>',
            200,
            {"Content-Type": "text/xml"},
        )

    target = web.url("/t", "them.test")
    web.pages["/t"] = Page(
        "<html><body><!--\n"
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:trackback="http://madskills.com/public/xml/rss/module/trackback/">'
        f'<rdf:Description rdf:about="{target}" dc:identifier="{target}" dc:title="T" '
        f'trackback:ping="{web.url("/tb/1", "them.test")}" /></rdf:RDF>\n--></body></html>'
    )
    web.pages["/tb/1"] = tb
    web.pages["/post"] = post_page(target)
    (record,) = make_sender(store, blog_name="Me").send_post(web.url("/post", "me.test")).records
    assert (record.protocol, record.status) == ("trackback", "sent")
    form = parse_qs(received[0].decode())
    assert form["url"] == [web.url("/post", "me.test")] and form["title"] == ["My post"] and form["blog_name"] == ["Me"]


def test_no_endpoint_is_recorded_as_such(web, store) -> None:
    web.pages["/t"] = Page("<p>nothing to see</p>")
    web.pages["/post"] = post_page(web.url("/t", "them.test"))
    (record,) = make_sender(store).send_post(web.url("/post", "me.test")).records
    assert record.status == "no_endpoint" and history(store.con)[0]["status"] == "no_endpoint"


# --- end to end with our own receiver ------------------------------------------------------------


def test_send_receive_verify_approve_and_show_in_the_widget(tmp_path, web, store) -> None:
    receiver = start_linkback(tmp_path, {"blog.test": "moderate"})
    try:
        target = web.url("/article", "blog.test")
        web.pages["/article"] = Page(
            f'<html><head><link rel="webmention" href="{receiver.url}/webmention"></head></html>'
        )
        web.pages["/post"] = post_page(target)
        source = web.url("/post", "me.test")
        (record,) = make_sender(store).send_post(source).records
        assert (record.status, record.http_status) == ("sent", 201) and record.location.startswith(receiver.url)
        wait_for(lambda: httpx.get(record.location).json()["status"] == "verified")
        admin = {"Authorization": "Bearer test-token"}
        pending = httpx.get(receiver.url + "/api/admin/mentions", params={"state": "pending"}, headers=admin).json()
        assert [m["source"] for m in pending] == [source]
        httpx.post(
            receiver.url + "/api/admin/mentions/approve", json={"ids": [pending[0]["mention_id"]]}, headers=admin
        )
        widget = httpx.get(receiver.url + "/widget", params={"target": target}).text
        assert source in widget and "My post" in widget
    finally:
        receiver.stop()


def test_the_server_sends_for_a_cms_hook(tmp_path, web) -> None:
    server = start_linkback(tmp_path)
    try:
        endpoint = Endpoint()
        web.pages["/t"] = Page('<link rel="webmention" href="/wm">')
        web.pages["/wm"] = endpoint
        web.pages["/post"] = post_page(web.url("/t", "them.test"))
        admin = {"Authorization": "Bearer test-token"}
        assert httpx.post(server.url + "/api/send", json={"url": web.url("/post", "me.test")}).status_code == 401
        queued = httpx.post(server.url + "/api/send", json={"url": web.url("/post", "me.test")}, headers=admin)
        assert queued.status_code == 202
        done = wait_for(
            lambda: (s := httpx.get(queued.headers["location"], headers=admin).json())["status"] == "done" and s
        )
        assert [s["status"] for s in done["sends"]] == ["sent"] and len(endpoint.calls) == 1
    finally:
        server.stop()


# --- feeds and sitemaps --------------------------------------------------------------------------


def rss(*items: tuple[str, str, str]) -> str:
    body = "".join(
        f"<item><title>{title}</title><link>{link}</link><pubDate>{date}</pubDate></item>"
        for link, title, date in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Me</title>{body}</channel></rss>'


def test_a_feed_sends_for_new_and_changed_entries_only(web, store) -> None:
    from linkback.send import send_feed

    endpoint = Endpoint()
    web.pages["/t"] = Page('<link rel="webmention" href="/wm">')
    web.pages["/wm"] = endpoint
    web.pages["/p1"] = post_page(web.url("/t", "them.test"))
    web.pages["/p2"] = post_page(web.url("/t", "them.test"))
    feed = {"etag": '"v1"', "xml": rss((web.url("/p1", "me.test"), "One", "Mon, 02 Nov 2026 10:00:00 GMT"))}

    def serve_feed(hit: Hit) -> Page:
        if hit.headers.get("if-none-match") == feed["etag"]:
            return Page(b"", 304, {"ETag": feed["etag"]})
        return Page(feed["xml"], 200, {"Content-Type": "application/rss+xml", "ETag": feed["etag"]})

    web.pages["/feed.xml"] = serve_feed
    feed_url = web.url("/feed.xml", "me.test")
    first = send_feed(make_sender(store), feed_url)
    assert (first.entries, len(first.posts), len(endpoint.calls)) == (1, 1, 1)
    assert send_feed(make_sender(store), feed_url).not_modified  # conditional GET: nothing sent
    feed["etag"] = '"v2"'
    feed["xml"] = rss(
        (web.url("/p1", "me.test"), "One", "Mon, 02 Nov 2026 10:00:00 GMT"),
        (web.url("/p2", "me.test"), "Two", "Tue, 03 Nov 2026 10:00:00 GMT"),
    )
    second = send_feed(make_sender(store), feed_url)
    assert (second.entries, second.unchanged, [p.url for p in second.posts]) == (2, 1, [web.url("/p2", "me.test")])
    feed["etag"] = '"v3"'
    feed["xml"] = rss(
        (web.url("/p1", "me.test"), "One", "Wed, 04 Nov 2026 10:00:00 GMT"),  # updated
        (web.url("/p2", "me.test"), "Two", "Tue, 03 Nov 2026 10:00:00 GMT"),
    )
    third = send_feed(make_sender(store), feed_url)
    assert [p.url for p in third.posts] == [web.url("/p1", "me.test")]


def test_a_sitemap_index_is_followed_to_its_sitemaps(web, store) -> None:
    from linkback.send import send_feed

    endpoint = Endpoint()
    web.pages["/t"] = Page('<link rel="webmention" href="/wm">')
    web.pages["/wm"] = endpoint
    web.pages["/p1"] = post_page(web.url("/t", "them.test"))
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
    web.pages["/sitemap.xml"] = Page(
        f'<?xml version="1.0"?><sitemapindex {ns}><sitemap><loc>{web.url("/posts.xml", "me.test")}</loc></sitemap></sitemapindex>',
        headers={"Content-Type": "application/xml"},
    )
    web.pages["/posts.xml"] = Page(
        f'<?xml version="1.0"?><urlset {ns}><url><loc>{web.url("/p1", "me.test")}</loc><lastmod>2026-11-02</lastmod></url></urlset>',
        headers={"Content-Type": "application/xml"},
    )
    result = send_feed(make_sender(store), web.url("/sitemap.xml", "me.test"), kind="sitemap")
    assert [p.url for p in result.posts] == [web.url("/p1", "me.test")] and len(endpoint.calls) == 1


def test_the_cli_sends_and_shows_the_history(tmp_path, web, monkeypatch) -> None:
    import json

    from typer.testing import CliRunner

    from linkback.cli import app

    endpoint = Endpoint()
    web.pages["/t"] = Page('<link rel="webmention" href="/wm">')
    web.pages["/wm"] = endpoint
    web.pages["/post"] = post_page(web.url("/t"))
    db = str(tmp_path / "lb.duckdb")
    runner = CliRunner()
    refused = runner.invoke(app, ["send", web.url("/post"), "--db", db, "--format", "json"])
    assert refused.exit_code == 1 and json.loads(refused.stdout) == []  # the guard refuses the loopback post
    assert "cannot fetch the post" in refused.stderr and "not allowed" in refused.stderr
    result = runner.invoke(app, ["send", web.url("/post"), "--allow-private", "--db", db, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert [(r["protocol"], r["status"]) for r in json.loads(result.stdout)] == [("webmention", "sent")]
    sent = runner.invoke(app, ["sent", web.url("/post"), "--db", db, "--format", "json"])
    assert [r["target"] for r in json.loads(sent.stdout)] == [web.url("/t")]
    assert runner.invoke(app, ["send", "--db", db]).exit_code == 2
