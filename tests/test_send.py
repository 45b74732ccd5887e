"""Sending linkbacks end to end on 127.0.0.1: discovery on real pages, the three protocols,
updates and deletes with one-time endpoints, retries, the guard, and our own receiver
(specs/linkback-protocols.md §9, "Webmention sender", Pingback and TrackBack)."""

from __future__ import annotations

import threading
import xmlrpc.client
from urllib.parse import parse_qs

import httpx
import pytest
from serverkit import Hit, Page, PageServer, loopback_resolver, start_linkback, wait_for

from linkback import schema
from linkback.fetch import Fetcher, FetchLimits, GuardPolicy
from linkback.send import Sender, SendOptions, history, send_feed
from linkback.send._sender import transient_failure
from linkback.store import Store


@pytest.fixture
def web():
    with PageServer() as server:
        yield server


@pytest.fixture
def store():
    with Store(":memory:") as s:
        yield s


def make_sender(store: Store, *, allow_private: bool = True, timeout: float | None = None, **options) -> Sender:
    limits = FetchLimits(timeout=timeout, connect_timeout=timeout) if timeout else FetchLimits()
    fetcher = Fetcher(policy=GuardPolicy(allow_private=allow_private), resolver=loopback_resolver, limits=limits)
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


class Stall:
    """A handler that hangs (until the test ends) on the calls ``stall(n)`` says, else answers ``page``."""

    def __init__(self, stall, page: Page | Endpoint) -> None:
        self.stall = stall
        self.page = page
        self.calls = 0
        self.release = threading.Event()

    def __call__(self, hit: Hit) -> Page:
        self.calls += 1
        if self.stall(self.calls):
            self.release.wait(30)
            return Page(b"too late", 200, {"Content-Type": "text/plain"})
        return self.page(hit) if callable(self.page) else self.page


@pytest.fixture
def stalls():
    made: list[Stall] = []
    yield lambda stall, page: made.append(Stall(stall, page)) or made[-1]
    for s in made:
        s.release.set()


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


def test_a_relative_201_location_is_resolved_against_the_endpoint(web, store) -> None:
    web.pages["/t"] = Page('<link rel="webmention" href="/hooks/wm">')
    web.pages["/hooks/wm"] = Endpoint(201, {"Location": "status/9"})
    web.pages["/post"] = post_page(web.url("/t", "them.test"))
    (record,) = make_sender(store).send_post(web.url("/post", "me.test")).records
    assert (record.status, record.location) == ("sent", web.url("/hooks/status/9", "them.test"))
    assert history(store.con)[0]["location"] == web.url("/hooks/status/9", "them.test")


def test_a_timed_out_post_to_the_endpoint_is_retried(web, store, stalls) -> None:
    endpoint = Endpoint()
    slow = stalls(lambda n: n == 1, endpoint)  # the first POST hangs past the timeout
    web.pages["/t"] = Page('<link rel="webmention" href="/wm">')
    web.pages["/wm"] = slow
    web.pages["/post"] = post_page(web.url("/t", "them.test"))
    (record,) = make_sender(store, timeout=1.0).send_post(web.url("/post", "me.test")).records
    assert (record.status, record.attempts, slow.calls, len(endpoint.calls)) == ("sent", 2, 2, 1)


def test_a_trackback_that_timed_out_is_not_sent_twice(web, store, stalls) -> None:
    """A TrackBack is no pair a receiver keeps once: one that timed out may have been taken."""
    endpoint = Endpoint()
    slow = stalls(lambda n: n == 1, endpoint)
    target = web.url("/t", "them.test")
    web.pages["/t"] = Page(trackback_rdf(target, web.url("/tb", "them.test")))
    web.pages["/tb"] = slow
    web.pages["/post"] = post_page(target)
    (record,) = make_sender(store, timeout=1.0).send_post(web.url("/post", "me.test")).records
    assert (record.protocol, record.status, record.attempts, slow.calls) == ("trackback", "failed", 1, 1)


def test_a_refused_connection_to_the_endpoint_is_retried_then_failed(web, store) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    web.pages["/t"] = Page(f'<link rel="webmention" href="http://127.0.0.1:{port}/wm">')
    web.pages["/post"] = post_page(web.url("/t", "them.test"))
    result = make_sender(store, attempts=2).send_post(web.url("/post", "me.test"))
    (record,) = result.records
    assert (record.status, record.attempts) == ("failed", 2) and record.reason.startswith("connect")
    assert result.retry


def test_a_target_answering_5xx_at_discovery_is_retried(web, store) -> None:
    endpoint = Endpoint()
    flaky = Endpoint(lambda n: 503 if n == 1 else 200)
    web.pages["/flaky"] = lambda hit: (
        Page('<link rel="webmention" href="/wm">') if flaky(hit).status == 200 else Page(b"busy", 503)
    )
    web.pages["/down"] = Page('<link rel="webmention" href="/wm">', 503)  # an endpoint, but a 503 page
    web.pages["/wm"] = endpoint
    web.pages["/post"] = post_page(web.url("/flaky", "them.test"), web.url("/down", "them.test"))
    result = make_sender(store).send_post(web.url("/post", "me.test"))
    records = {r.target.rsplit("/", 1)[1]: r for r in result.records}
    assert records["flaky"].status == "sent" and len(flaky.calls) == 2
    assert (records["down"].status, records["down"].reason) == ("failed", "discovery: HTTP 503")
    assert sum(1 for h in web.hits if h.path == "/down") == 3  # the POST's number of tries
    assert len(endpoint.calls) == 1 and result.retry
    assert {h["status"] for h in history(store.con)} == {"sent", "failed"}


def test_a_target_timing_out_at_discovery_is_retried_then_failed(web, store, stalls) -> None:
    endpoint = Endpoint()
    web.pages["/once"] = stalls(lambda n: n == 1, Page('<link rel="webmention" href="/wm">'))
    web.pages["/never"] = never = stalls(lambda n: True, Page('<link rel="webmention" href="/wm">'))
    web.pages["/wm"] = endpoint
    # Another host: one that timed out after its retries is skipped for the rest of the run
    # (tests/test_send_bounds.py).
    web.pages["/post"] = post_page(web.url("/once", "them.test"), web.url("/never", "slow.test"))
    result = make_sender(store, timeout=1.0, attempts=2).send_post(web.url("/post", "me.test"))
    records = {r.target.rsplit("/", 1)[1]: r for r in result.records}
    assert records["once"].status == "sent" and len(endpoint.calls) == 1
    assert records["never"].status == "failed" and records["never"].reason.startswith("discovery: timeout")
    assert never.calls == 2 and result.retry


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


class SplitFetcher:
    """Discovery (GET) through a fetcher that lets the loopback test server in; notifications
    (POST) through ``guarded``, a fetcher with the private-address guard on."""

    def __init__(self, guarded: Fetcher) -> None:
        self.open = Fetcher(policy=GuardPolicy(allow_private=True), resolver=loopback_resolver)
        self.guarded = guarded
        self.limits = guarded.limits  # what the sender cuts to the time left of its budget

    def fetch(self, url: str, *, method: str = "GET", **kwargs):  # noqa: ANN201
        return (self.guarded if method == "POST" else self.open).fetch(url, method=method, **kwargs)


def intranet_resolver(host: str, port: int) -> list[str]:
    return ["10.0.0.1"] if host == "intranet.test" else loopback_resolver(host, port)


@pytest.mark.parametrize(
    ("endpoint", "reason"),
    [
        ("http://127.0.0.1:{port}/wm", "loopback"),
        ("http://[::1]/wm", "loopback"),
        ("http://intranet.test:{port}/wm", "private"),  # a name resolving to 10.0.0.1
    ],
)
def test_private_endpoints_are_refused_and_never_contacted(web, store, endpoint, reason) -> None:
    received = Endpoint()
    web.pages["/wm"] = received
    web.pages["/t"] = Page(f'<link rel="webmention" href="{endpoint.format(port=web.port)}">')
    web.pages["/post"] = post_page(web.url("/t", "them.test"))
    guarded = Fetcher(policy=GuardPolicy(allow_private=False, ports=None), resolver=intranet_resolver)
    sender = Sender(SplitFetcher(guarded), read=lambda fn: fn(store.con), write=lambda fn: fn(store.con))
    (record,) = sender.send_post(web.url("/post", "me.test")).records
    assert (record.status, record.protocol) == ("refused", "webmention")
    assert reason in record.reason and received.calls == []
    # The same endpoint with the guard relaxed explicitly is notified (the loopback one is ours).
    if "127.0.0.1" in endpoint:
        relaxed = Sender(SplitFetcher(Fetcher(policy=GuardPolicy(allow_private=True))),
                         read=lambda fn: fn(store.con), write=lambda fn: fn(store.con))  # fmt: skip
        assert [r.status for r in relaxed.send_post(web.url("/post", "me.test")).records] == ["sent"]
        assert len(received.calls) == 1


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


def trackback_rdf(target: str, ping: str, head: str = "") -> str:
    return (
        f"<html><head>{head}</head><body><!--\n"
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:trackback="http://madskills.com/public/xml/rss/module/trackback/">'
        f'<rdf:Description rdf:about="{target}" dc:identifier="{target}" dc:title="T" '
        f'trackback:ping="{ping}" /></rdf:RDF>\n--></body></html>'
    )


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
    # Only 0x32 ("upstream": the receiver could not fetch the source for now) is worth a later retry.
    assert [k for k, r in records.items() if transient_failure(r)] == ["f50"]
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


def test_a_trackback_error_answer_is_a_failure_with_its_message(web, store) -> None:
    target = web.url("/t", "them.test")
    web.pages["/t"] = Page(trackback_rdf(target, web.url("/tb", "them.test")))
    web.pages["/tb"] = Page(
        '<?xml version="1.0" encoding="utf-8"?><response><error>1</error><message>Spam, go away</message></response>',
        200,
        {"Content-Type": "text/xml"},
    )
    web.pages["/post"] = post_page(target)
    (record,) = make_sender(store).send_post(web.url("/post", "me.test")).records
    assert (record.protocol, record.status, record.reason) == ("trackback", "failed", "Spam, go away")


def test_the_preferred_protocol_is_used_when_a_target_offers_several(web, store) -> None:
    answer, calls = pingback_server({})
    web.pages["/xmlrpc"] = answer
    webmention = Endpoint()
    web.pages["/wm"] = webmention
    trackback: list[bytes] = []
    web.pages["/tb"] = lambda hit: (
        trackback.append(hit.body) or Page("<response><error>0</error></response>", 200, {"Content-Type": "text/xml"})
    )
    wm_pb = web.url("/wm-pb", "them.test")
    pb_tb = web.url("/pb-tb", "them.test")
    web.pages["/wm-pb"] = Page(
        '<link rel="pingback" href="/xmlrpc"><link rel="webmention" href="/wm">',
        headers={"Content-Type": "text/html", "X-Pingback": web.url("/xmlrpc", "them.test")},
    )
    web.pages["/pb-tb"] = Page(
        trackback_rdf(
            pb_tb, web.url("/tb", "them.test"), head=f'<link rel="pingback" href="{web.url("/xmlrpc", "them.test")}">'
        )
    )
    web.pages["/post"] = post_page(wm_pb, pb_tb)
    records = {r.target: r for r in make_sender(store).send_post(web.url("/post", "me.test")).records}
    assert (records[wm_pb].protocol, records[wm_pb].status) == ("webmention", "sent")
    assert (records[pb_tb].protocol, records[pb_tb].status) == ("pingback", "sent")
    assert len(webmention.calls) == 1 and [c[2] for c in calls] == [pb_tb] and trackback == []


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
        pending = httpx.get(receiver.url + "/api/v1/reports/mentions", params={"state": "pending"}, headers=admin).json()
        assert [m["source"] for m in pending] == [source]
        httpx.post(
            receiver.url + "/api/v1/actions/moderate", json={"action": "approve", "ids": [pending[0]["mention_id"]]}, headers=admin
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
        job = {"posts": [web.url("/post", "me.test")]}
        assert httpx.post(server.url + "/api/v1/jobs/send", json=job).status_code == 401
        queued = httpx.post(server.url + "/api/v1/jobs/send", json=job, headers=admin)
        assert queued.status_code == 202
        done = wait_for(
            lambda: (s := httpx.get(queued.headers["location"], headers=admin).json())["state"] == "done" and s
        )
        assert [s["status"] for s in done["result"]["sends"]] == ["sent"] and len(endpoint.calls) == 1
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


def conditional(state: dict, content_type: str = "application/rss+xml"):
    """A feed (or page) served with an ETag, answering 304 to a matching If-None-Match."""

    def serve(hit: Hit) -> Page:
        if hit.headers.get("if-none-match") == state["etag"]:
            return Page(b"", 304, {"ETag": state["etag"]})
        return Page(state["body"], 200, {"Content-Type": content_type, "ETag": state["etag"]})

    return serve


def test_a_feed_run_with_failed_sends_is_not_cached_and_the_failed_post_is_sent_again(web, store) -> None:
    down = Endpoint(lambda n: 503 if n <= 3 else 202)  # 503 for the whole first run (3 tries)
    refusing = Endpoint(400)  # a definitive answer: not retried by later runs
    ok = Endpoint()
    for name, endpoint in (("down", down), ("refusing", refusing), ("ok", ok)):
        web.pages[f"/{name}"] = Page(f'<link rel="webmention" href="/wm-{name}">')
        web.pages[f"/wm-{name}"] = endpoint
        web.pages[f"/p-{name}"] = post_page(web.url(f"/{name}", "them.test"))
    posts = {name: web.url(f"/p-{name}", "me.test") for name in ("down", "refusing", "ok")}
    date = "Mon, 02 Nov 2026 10:00:00 GMT"
    feed = {"etag": '"v1"', "body": rss(*((url, name, date) for name, url in posts.items()))}
    web.pages["/feed.xml"] = conditional(feed)
    feed_url = web.url("/feed.xml", "me.test")
    first = send_feed(make_sender(store), feed_url)
    assert first.retry == 1 and (len(down.calls), len(refusing.calls), len(ok.calls)) == (3, 1, 1)
    second = send_feed(make_sender(store), feed_url)  # the feed did not change, but the run failed
    assert not second.not_modified and second.retry == 0
    assert [p.url for p in second.posts] == [posts["down"]] and second.unchanged == 2
    assert (len(down.calls), len(refusing.calls), len(ok.calls)) == (4, 1, 1)
    assert send_feed(make_sender(store), feed_url).not_modified  # now cached
    assert len(down.calls) == 4


def test_a_sitemap_index_is_not_cached_while_a_child_sitemap_has_a_failed_send(web, store) -> None:
    down = Endpoint(lambda n: 503 if n <= 3 else 202)
    web.pages["/t"] = Page('<link rel="webmention" href="/wm">')
    web.pages["/wm"] = down
    web.pages["/p1"] = post_page(web.url("/t", "them.test"))
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
    index = {"etag": '"i1"', "body": f'<?xml version="1.0"?><sitemapindex {ns}><sitemap><loc>{web.url("/posts.xml", "me.test")}</loc></sitemap></sitemapindex>'}  # fmt: skip
    child = {"etag": '"c1"', "body": f'<?xml version="1.0"?><urlset {ns}><url><loc>{web.url("/p1", "me.test")}</loc><lastmod>2026-11-02</lastmod></url></urlset>'}  # fmt: skip
    web.pages["/sitemap.xml"] = conditional(index, "application/xml")
    web.pages["/posts.xml"] = conditional(child, "application/xml")
    sitemap = web.url("/sitemap.xml", "me.test")
    assert send_feed(make_sender(store), sitemap, kind="sitemap").retry == 1
    again = send_feed(make_sender(store), sitemap, kind="sitemap")
    assert [p.status for p in again.posts] == ["sent"] and again.retry == 0 and len(down.calls) == 4
    assert send_feed(make_sender(store), sitemap, kind="sitemap").not_modified


def sitemap(*urls: tuple[str, str | None]) -> Page:
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
    body = "".join(f"<url><loc>{u}</loc>{f'<lastmod>{d}</lastmod>' if d else ''}</url>" for u, d in urls)
    return Page(f'<?xml version="1.0"?><urlset {ns}>{body}</urlset>', headers={"Content-Type": "application/xml"})


def test_an_entry_without_a_date_is_sent_again_only_when_its_post_changed(web, store) -> None:
    endpoint = Endpoint()
    web.pages["/t"] = Page('<link rel="webmention" href="/wm">')
    web.pages["/wm"] = endpoint
    web.pages["/t2"] = Page('<link rel="webmention" href="/wm">')
    web.pages["/p1"] = post_page(web.url("/t", "them.test"))
    p1 = web.url("/p1", "me.test")
    web.pages["/sitemap.xml"] = sitemap((p1, None))
    url = web.url("/sitemap.xml", "me.test")

    def post_fetches() -> int:
        return sum(1 for h in web.hits if h.path == "/p1")

    first = send_feed(make_sender(store), url, kind="sitemap")
    assert [p.url for p in first.posts] == [p1] and len(endpoint.calls) == 1 and post_fetches() == 1
    unchanged = send_feed(make_sender(store), url, kind="sitemap")  # same page: same content hash
    assert (unchanged.posts, unchanged.unchanged, len(endpoint.calls)) == ([], 1, 1)
    assert post_fetches() == 2
    web.pages["/p1"] = post_page(web.url("/t", "them.test"), web.url("/t2", "them.test"))  # edited
    changed = send_feed(make_sender(store), url, kind="sitemap")
    assert [p.url for p in changed.posts] == [p1] and len(endpoint.calls) == 3  # /t and /t2
    assert post_fetches() == 3  # the change check's fetch is the one the send uses
    state = store.con.execute("SELECT page_hash FROM send_sources WHERE url = ?", [p1]).fetchall()
    assert len(state[0][0]) == 64


def test_a_feed_item_without_date_or_content_is_checked_by_its_posts_etag(web, store) -> None:
    endpoint = Endpoint()
    web.pages["/t"] = Page('<link rel="webmention" href="/wm">')
    web.pages["/wm"] = endpoint
    page = {"etag": '"p1"', "body": post_page(web.url("/t", "them.test")).body}
    web.pages["/p1"] = conditional(page, "text/html; charset=utf-8")
    p1 = web.url("/p1", "me.test")
    web.pages["/feed.xml"] = Page(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Me</title><item><link>{p1}</link></item></channel></rss>',
        headers={"Content-Type": "application/rss+xml"},
    )
    url = web.url("/feed.xml", "me.test")
    assert len(send_feed(make_sender(store), url).posts) == 1
    assert send_feed(make_sender(store), url).posts == []  # 304 for the post's ETag
    assert [h.headers.get("if-none-match") for h in web.hits if h.path == "/p1"] == [None, '"p1"']
    # A new ETag on the same bytes (a static site rebuilt) is not a change: the content hash decides.
    page["etag"] = '"p2"'
    assert send_feed(make_sender(store), url).posts == []
    page["etag"], page["body"] = '"p3"', post_page(web.url("/t", "them.test"), footer="edited").body
    assert [p.url for p in send_feed(make_sender(store), url).posts] == [p1]
    assert [h.headers.get("if-none-match") for h in web.hits if h.path == "/p1"][-1] == '"p2"'
    assert len(endpoint.calls) == 2


def test_a_changed_sitemap_lastmod_sends_again(web, store) -> None:
    endpoint = Endpoint()
    web.pages["/t"] = Page('<link rel="webmention" href="/wm">')
    web.pages["/wm"] = endpoint
    web.pages["/p1"] = post_page(web.url("/t", "them.test"))
    web.pages["/p2"] = post_page(web.url("/t", "them.test"))
    p1, p2 = web.url("/p1", "me.test"), web.url("/p2", "me.test")
    web.pages["/sitemap.xml"] = sitemap((p1, "2026-11-02"), (p2, "2026-11-02"))
    url = web.url("/sitemap.xml", "me.test")
    assert len(send_feed(make_sender(store), url, kind="sitemap").posts) == 2
    assert send_feed(make_sender(store), url, kind="sitemap").posts == []
    web.pages["/sitemap.xml"] = sitemap((p1, "2026-11-05"), (p2, "2026-11-02"))
    assert [p.url for p in send_feed(make_sender(store), url, kind="sitemap").posts] == [p1]
    assert len(endpoint.calls) == 3


def test_a_version_3_store_gets_the_new_send_columns(tmp_path) -> None:
    import duckdb

    path = str(tmp_path / "v3.duckdb")
    Store(path).close()
    con = duckdb.connect(path)  # make it a version 3 file: the tables without the columns version 4 adds
    for table, column in schema.COLUMNS_SINCE[4]:
        old = ", ".join(f"{f.name} {schema.duckdb_type(f.type)}" for f in schema.TABLES[table] if f.name != column)
        con.execute(f"DROP TABLE {table}")
        con.execute(f"CREATE TABLE {table} ({old})")
    con.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    con.close()
    with Store(path) as s:
        assert s.schema_version == schema.SCHEMA_VERSION
        s.con.execute("INSERT INTO send_sources (url, kind, page_hash) VALUES ('https://a.example/', 'post', 'x')")
        s.con.execute(
            "INSERT INTO send_requests (request_id, kind, url, blog_name) VALUES (1, 'post', 'https://a.example/', 'B')"
        )


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


# --- the discovery cache across runs (WM §5.3: respect HTTP cache headers on discovery) -----------


def discovery_target(web: PageServer, path: str, headers: dict[str, str], etag: str | None = None, href: str = "/wm"):
    """A target advertising ``href``; with ``etag`` it answers a matching If-None-Match with 304.
    Returns the list of (If-None-Match sent, status answered) of each fetch."""
    fetches: list[tuple[str | None, int]] = []

    def answer(hit: Hit) -> Page:
        tag = hit.headers.get("if-none-match")
        extra = {"ETag": etag} if etag else {}
        if etag and tag == etag:
            fetches.append((tag, 304))
            return Page(b"", 304, {**headers, **extra})
        fetches.append((tag, 200))
        return Page(f'<link rel="webmention" href="{href}">', 200, {"Content-Type": "text/html", **headers, **extra})

    web.pages[path] = answer
    return fetches


def two_runs(web, store, target_path: str) -> tuple[list, list]:
    """Send the same post twice, each time by a new Sender (a new run); the records of each."""
    web.pages["/post"] = post_page(web.url(target_path, "them.test"))
    source = web.url("/post", "me.test")
    return make_sender(store).send_post(source).records, make_sender(store).send_post(source).records


def test_a_target_with_max_age_is_fetched_once_across_runs(web, store) -> None:
    endpoint = Endpoint()
    web.pages["/wm"] = endpoint
    fetches = discovery_target(web, "/t", {"Cache-Control": "public, max-age=600, s-maxage=0"})
    first, second = two_runs(web, store, "/t")
    assert [r.status for r in first + second] == ["sent", "sent"]
    assert second[0].endpoint == web.url("/wm", "them.test")
    assert fetches == [(None, 200)] and len(endpoint.calls) == 2
    (row,) = store.con.execute("SELECT webmention, expires_at > fetched_at FROM discovery_cache").fetchall()
    assert row == (web.url("/wm", "them.test"), True)


def test_a_target_with_an_etag_and_no_max_age_is_revalidated_and_a_304_reuses_its_endpoint(web, store) -> None:
    endpoint = Endpoint()
    web.pages["/wm"] = endpoint
    fetches = discovery_target(web, "/t", {}, etag='"e1"')
    first, second = two_runs(web, store, "/t")
    third = make_sender(store).send_post(web.url("/post", "me.test")).records
    assert [r.status for r in first + second + third] == ["sent"] * 3
    assert {r.endpoint for r in first + second + third} == {web.url("/wm", "them.test")}
    assert fetches == [(None, 200), ('"e1"', 304), ('"e1"', 304)] and len(endpoint.calls) == 3


def test_last_modified_is_sent_as_if_modified_since(web, store) -> None:
    web.pages["/wm"] = Endpoint()
    stamp = "Mon, 02 Nov 2026 10:00:00 GMT"
    web.pages["/t"] = lambda hit: (
        Page(b"", 304)
        if hit.headers.get("if-modified-since") == stamp
        else Page('<link rel="webmention" href="/wm">', headers={"Content-Type": "text/html", "Last-Modified": stamp})
    )
    first, second = two_runs(web, store, "/t")
    assert [r.status for r in first + second] == ["sent", "sent"]
    assert [h.headers.get("if-modified-since") for h in web.hits if h.path == "/t"] == [None, stamp]


@pytest.mark.parametrize(
    "headers",
    [
        {"Cache-Control": "no-store, max-age=600"},
        {"Cache-Control": "no-cache, max-age=600"},
        {"Cache-Control": "max-age=0"},
        {},  # no explicit freshness: no heuristic freshness either
        {"Expires": "Thu, 01 Jan 1970 00:00:00 GMT"},
    ],
)
def test_a_target_without_freshness_is_fetched_every_run(web, store, headers) -> None:
    web.pages["/wm"] = Endpoint()
    fetches = discovery_target(web, "/t", headers)
    first, second = two_runs(web, store, "/t")
    assert [r.status for r in first + second] == ["sent", "sent"]
    assert fetches == [(None, 200), (None, 200)]
    assert store.con.execute("SELECT count(*) FROM discovery_cache").fetchall()[0][0] == 0


def test_no_store_drops_an_entry_and_an_expired_entry_is_fetched_again(web, store) -> None:
    web.pages["/wm"] = Endpoint()
    headers = {"Cache-Control": "max-age=600"}
    fetches = discovery_target(web, "/t", headers)
    two_runs(web, store, "/t")
    assert len(fetches) == 1
    store.con.execute("UPDATE discovery_cache SET expires_at = fetched_at - INTERVAL 1 MINUTE")
    make_sender(store).send_post(web.url("/post", "me.test"))
    assert len(fetches) == 2  # expired: fetched again, and fresh again for the next run
    make_sender(store).send_post(web.url("/post", "me.test"))
    assert len(fetches) == 2
    store.con.execute("UPDATE discovery_cache SET expires_at = NULL")
    headers["Cache-Control"] = "no-store"
    make_sender(store).send_post(web.url("/post", "me.test"))
    assert len(fetches) == 3 and store.con.execute("SELECT count(*) FROM discovery_cache").fetchall()[0][0] == 0


def test_expires_is_counted_from_the_targets_date(web, store) -> None:
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    web.pages["/wm"] = Endpoint()
    # The test server sends its Date (now); an Expires an hour after it keeps the answer an hour.
    expires = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    fetches = discovery_target(web, "/t", {"Expires": expires})
    two_runs(web, store, "/t")
    assert len(fetches) == 1
    (seconds,) = store.con.execute("SELECT epoch(expires_at) - epoch(fetched_at) FROM discovery_cache").fetchall()[0]
    assert 3500 < seconds <= 3600


def test_a_404_target_is_not_cached(web, store) -> None:
    web.pages["/wm"] = Endpoint()
    web.pages["/t"] = Page('<link rel="webmention" href="/wm">', 404, {"Cache-Control": "max-age=600"})
    two_runs(web, store, "/t")
    assert sum(1 for h in web.hits if h.path == "/t") == 2
    assert store.con.execute("SELECT count(*) FROM discovery_cache").fetchall()[0][0] == 0


def test_a_redirected_target_is_stored_with_its_resolved_endpoint_and_revalidated(web, store) -> None:
    endpoint = Endpoint()
    web.pages["/old"] = Page(b"", 301, {"Location": "/new/page"})
    web.pages["/new/wm"] = endpoint
    fetches = discovery_target(web, "/new/page", {"Cache-Control": "max-age=600"}, etag='"n1"', href="wm")
    first, second = two_runs(web, store, "/old")
    assert [r.status for r in first + second] == ["sent", "sent"]
    assert fetches == [(None, 200), ('"n1"', 304)]  # the redirect's own freshness is unknown: asked again
    (row,) = store.con.execute("SELECT target, final_url, webmention FROM discovery_cache").fetchall()
    assert row == (web.url("/old", "them.test"), web.url("/new/page", "them.test"), web.url("/new/wm", "them.test"))
    assert len(endpoint.calls) == 2


def test_a_stored_endpoint_that_fails_is_discovered_again(web, store) -> None:
    target = OneTimeTarget(web, "a")
    page = web.pages["/a"]
    web.pages["/a"] = lambda hit: Page(
        page(hit).body, 200, {"Content-Type": "text/html", "Cache-Control": "max-age=600"}
    )
    first, second = two_runs(web, store, "/a")
    # The stored endpoint /a/wm/0 was used up; the 400 makes the sender ask the target again.
    assert [(r.status, r.endpoint.rsplit("/", 1)[1]) for r in first + second] == [("sent", "0"), ("sent", "1")]
    assert len(target.received) == 2 and sum(1 for h in web.hits if h.path == "/a") == 2
    assert store.con.execute("SELECT webmention FROM discovery_cache").fetchall() == [
        (web.url("/a/wm/1", "them.test"),)
    ]


def test_a_stored_private_endpoint_is_still_refused(web, store) -> None:
    received = Endpoint()
    web.pages["/wm"] = received
    web.pages["/t"] = Page("<p>no endpoint here now</p>")
    web.pages["/post"] = post_page(web.url("/t", "them.test"))
    # As if an earlier run (or a tampered file) had stored a loopback endpoint for the target.
    store.con.execute(
        "INSERT INTO discovery_cache VALUES (?, ?, ?, '', '', '', '', now(), now() + INTERVAL 1 HOUR)",
        [web.url("/t", "them.test"), web.url("/t", "them.test"), f"http://127.0.0.1:{web.port}/wm"],
    )
    guarded = Fetcher(policy=GuardPolicy(allow_private=False, ports=None), resolver=intranet_resolver)
    sender = Sender(SplitFetcher(guarded), read=lambda fn: fn(store.con), write=lambda fn: fn(store.con))
    (record,) = sender.send_post(web.url("/post", "me.test")).records
    assert (record.status, record.endpoint) == ("refused", f"http://127.0.0.1:{web.port}/wm")
    assert "loopback" in record.reason and received.calls == []
    assert not any(h.path == "/t" for h in web.hits)  # the endpoint came from the store


def test_a_dry_run_reads_the_discovery_cache_but_stores_nothing(web, store) -> None:
    web.pages["/wm"] = Endpoint()
    fetches = discovery_target(web, "/t", {"Cache-Control": "max-age=600"})
    web.pages["/post"] = post_page(web.url("/t", "them.test"))
    source = web.url("/post", "me.test")
    make_sender(store, dry_run=True).send_post(source)
    assert store.con.execute("SELECT count(*) FROM discovery_cache").fetchall()[0][0] == 0
    make_sender(store).send_post(source)
    (record,) = make_sender(store, dry_run=True).send_post(source).records
    assert record.status == "dry_run" and record.endpoint == web.url("/wm", "them.test")
    assert len(fetches) == 2  # the dry run's and the real run's; the last dry run used the store


def test_a_version_3_store_gets_the_discovery_cache(tmp_path) -> None:
    import duckdb

    path = str(tmp_path / "v3.duckdb")
    Store(path).close()
    con = duckdb.connect(path)
    for name in schema.TABLES_SINCE[4]:
        con.execute(f"DROP TABLE {name}")
    con.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    con.close()
    with Store(path) as s:
        assert s.schema_version == schema.SCHEMA_VERSION
        names = [r[0] for r in s.con.execute("DESCRIBE discovery_cache").fetchall()]
        assert names == schema.column_names("discovery_cache")
    with Store(str(tmp_path / "fresh.duckdb")) as s:
        assert [r[0] for r in s.con.execute("DESCRIBE discovery_cache").fetchall()] == names


def test_a_post_larger_than_a_fetch_reads_says_its_later_links_were_not_seen(web, store) -> None:
    from linkback.jobs import _post_messages

    early, late = web.url("/early", "them.test"), web.url("/late", "them.test")
    padding = "<p>" + "x" * 1_100_000 + "</p>"  # past the fetcher's 1 MB
    web.pages["/post"] = Page(
        f'<html><body><article class="h-entry"><div class="e-content"><a href="{early}">a</a>{padding}'
        f'<a href="{late}">b</a></div></article></body></html>'
    )
    result = make_sender(store, dry_run=True).send_post(web.url("/post", "me.test"))
    assert [r.target for r in result.records] == [early] and result.cut_at == 1_000_000
    messages: list[dict[str, str]] = []
    assert _post_messages(result, messages) == 0
    assert messages == [{"level": "warning", "url": result.url,
                         "text": "is larger than a fetch reads: links after its first 1,000,000 bytes were not seen"}]  # fmt: skip
