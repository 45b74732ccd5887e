"""Pingback and TrackBack end to end: Python's xmlrpc.client and raw form posts against the
server on 127.0.0.1 (specs/linkback-protocols.md §3, §4, §9)."""

from __future__ import annotations

import socket
import xmlrpc.client

import httpx
import pytest
from serverkit import ADMIN, Page, PageServer, start_linkback, wait_for

from linkback.server import trackback_key
from linkback.server._limits import Rate

TARGET = "http://blog.test/post/1"


@pytest.fixture(scope="module")
def pages():
    with PageServer() as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory, pages):
    srv = start_linkback(tmp_path_factory.mktemp("pb"))
    yield srv
    srv.stop()


def linking_page(target: str = TARGET) -> str:
    return (
        "<html><head><title>Bob's blog: on posts</title></head><body><p>Some words before. "
        f'I liked <a href="{target}">this post about things</a> a lot, and some words after.</p></body></html>'
    )


def ping(server, source: str, target: str = TARGET):
    with xmlrpc.client.ServerProxy(server.url + "/xmlrpc") as proxy:
        return proxy.pingback.ping(source, target)


def fault_code(server, source: str, target: str = TARGET) -> int:
    with pytest.raises(xmlrpc.client.Fault) as info:
        ping(server, source, target)
    return info.value.faultCode


def index_rows(server, source: str, target: str) -> list[tuple]:
    cur = server.state.store.con.cursor()
    try:
        return cur.execute(
            "SELECT via, kind FROM links WHERE source_url = ? AND target_url = ?", [source, target]
        ).fetchall()
    finally:
        cur.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


# --- Pingback ------------------------------------------------------------------------------------


def test_a_pingback_is_verified_while_the_sender_waits(server, pages) -> None:
    pages.pages["/pb-ok"] = Page(linking_page())
    source = pages.url("/pb-ok", "bob.test")
    answer = ping(server, source)
    assert "registered" in answer
    feed = httpx.get(server.url + "/api/mentions", params={"target": TARGET}).json()
    entry = next(e for e in feed["children"] if e["wm-source"] == source)
    assert entry["wm-protocol"] == "pingback" and entry["name"] == "Bob's blog: on posts"
    assert "this post about things" in entry["summary"]  # the excerpt around the link
    # Verified, it is a link in the backlink index too, by way of pingback (before the answer).
    assert index_rows(server, source, TARGET) == [("pingback", "text")]
    assert fault_code(server, source) == 0x30  # already registered


@pytest.mark.parametrize(
    ("path", "page", "code"),
    [
        ("/pb-nolink", Page("<html><body><p>No link to you, http://blog.test/post/1 as text.</p></body></html>"), 0x11),
        ("/pb-comment", Page('<html><body><!-- <a href="http://blog.test/post/1">x</a> --></body></html>'), 0x11),
        ("/pb-missing", None, 0x10),
        ("/pb-gone", Page(b"gone", 410), 0x10),
    ],
)
def test_pingback_faults_say_what_is_wrong_with_the_source(server, pages, path, page, code) -> None:
    if page is not None:
        pages.pages[path] = page
    assert fault_code(server, pages.url(path, "bob.test")) == code


def test_pingback_faults_for_targets_and_requests(server, pages) -> None:
    pages.pages["/pb-x"] = Page(linking_page())
    source = pages.url("/pb-x", "bob.test")
    assert fault_code(server, source, "http://not-ours.test/post") == 0x21
    assert fault_code(server, "not a url", TARGET) == 0x10
    assert fault_code(server, TARGET, TARGET) == 0


def test_a_source_that_fails_for_now_is_fault_0x32_and_stays_queued(server, pages) -> None:
    cur = server.state.store.con.cursor()
    pages.pages["/pb-busy"] = Page(b"busy, come back later", 503)
    source = pages.url("/pb-busy", "frank.test")
    assert fault_code(server, source) == 0x32
    # Still queued for the job runner's next attempt: the sender may never ping again.
    rows = cur.execute("SELECT status, reason, attempts, next_attempt_at FROM mentions WHERE source = ?", [source])
    ((status, reason, attempts, next_attempt_at),) = rows.fetchall()
    assert (status, reason, attempts) == ("queued", "source_status_503", 1) and next_attempt_at is not None
    feed = httpx.get(server.url + "/api/mentions", params={"target": TARGET}).json()
    assert all(e["wm-source"] != source for e in feed["children"])  # not shown while unverified
    # The sender tries again later, as 0x32 asks, and the same entry is verified then.
    pages.pages["/pb-busy"] = Page(linking_page())
    assert "registered" in ping(server, source)
    rows = cur.execute("SELECT status FROM mentions WHERE source = ?", [source]).fetchall()
    assert rows == [("verified",)]
    # Nothing listening on the source's port: connection refused is temporary as well.
    refused = f"http://frank.test:{closed_port()}/post"
    assert fault_code(server, refused) == 0x32
    assert cur.execute("SELECT status FROM mentions WHERE source = ?", [refused]).fetchall() == [("queued",)]


def test_blocked_and_rate_limited_sources_are_fault_0x31(tmp_path, pages) -> None:
    srv = start_linkback(tmp_path, pair_rate=Rate(1, 60.0))
    try:
        r = httpx.post(srv.url + "/api/v1/actions/add_rules", json={"rule": "block", "entries": ["spam.test"]}, headers=ADMIN)
        assert r.status_code == 200
        blocked_url = pages.url("/pb-blocked-url", "grace.test")
        r = httpx.post(srv.url + "/api/v1/actions/add_rules", json={"rule": "block", "entries": [blocked_url]}, headers=ADMIN)
        assert r.status_code == 200
        pages.pages["/pb-spam"] = Page(linking_page())
        pages.pages["/pb-blocked-url"] = Page(linking_page())
        before = len(pages.hits)
        assert fault_code(srv, pages.url("/pb-spam", "www.spam.test")) == 0x31  # a blocked domain
        assert fault_code(srv, blocked_url) == 0x31  # a blocked source URL
        assert len(pages.hits) == before  # refused before any fetch
        # The pair rate limit: the second ping of the same pair within the minute is refused.
        missing = pages.url("/pb-rate-missing", "grace.test")
        assert fault_code(srv, missing) == 0x10
        assert fault_code(srv, missing) == 0x31
    finally:
        srv.stop()


def test_a_target_the_index_saw_gone_is_fault_0x20(server, pages) -> None:
    gone = "http://blog.test/post/deleted"
    cur = server.state.store.con.cursor()
    cur.execute("INSERT INTO pages (url, host, domain, status) VALUES (?, 'blog.test', 'blog.test', 410)", [gone])
    pages.pages["/pb-to-gone"] = Page(linking_page(gone))
    assert fault_code(server, pages.url("/pb-to-gone", "bob.test"), gone) == 0x20


def test_malformed_xml_rpc_is_a_fault_not_a_crash(server) -> None:
    for body in (
        b"<methodCall><methodName>pingback.ping",
        b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>",
    ):
        response = httpx.post(server.url + "/xmlrpc", content=body, headers={"Content-Type": "text/xml"})
        assert response.status_code == 200
        with pytest.raises(xmlrpc.client.Fault):
            xmlrpc.client.loads(response.content)
    with xmlrpc.client.ServerProxy(server.url + "/xmlrpc") as proxy, pytest.raises(xmlrpc.client.Fault) as info:
        proxy.system.listMethods()
    assert info.value.faultCode == -32601


def test_system_multicall_answers_each_ping(server, pages) -> None:
    pages.pages["/mc-ok"] = Page(linking_page("http://blog.test/post/2"))
    with xmlrpc.client.ServerProxy(server.url + "/xmlrpc") as proxy:
        multi = xmlrpc.client.MultiCall(proxy)
        multi.pingback.ping(pages.url("/mc-ok", "carol.test"), "http://blog.test/post/2")
        multi.pingback.ping(pages.url("/mc-none", "carol.test"), "http://blog.test/post/2")
        results = multi()
    assert "registered" in results[0]
    with pytest.raises(xmlrpc.client.Fault) as info:
        results[1]
    assert info.value.faultCode == 0x10


def test_generic_faults_hide_everything_but_already_registered(tmp_path, pages) -> None:
    srv = start_linkback(tmp_path, generic_pingback_faults=True)
    try:
        assert fault_code(srv, pages.url("/pb-missing-2", "bob.test")) == 0
        pages.pages["/pb-busy-g"] = Page(b"busy", 503)
        assert fault_code(srv, pages.url("/pb-busy-g", "bob.test")) == 0  # 0x32 hidden too
        httpx.post(srv.url + "/api/v1/actions/add_rules", json={"rule": "block", "entries": ["spam.test"]}, headers=ADMIN)
        pages.pages["/pb-spam-g"] = Page(linking_page())
        assert fault_code(srv, pages.url("/pb-spam-g", "www.spam.test")) == 0  # and 0x31
        pages.pages["/pb-g"] = Page(linking_page())
        ping(srv, pages.url("/pb-g", "bob.test"))
        assert fault_code(srv, pages.url("/pb-g", "bob.test")) == 0x30
    finally:
        srv.stop()


def test_a_site_learns_how_to_advertise_its_endpoints(server) -> None:
    info = httpx.get(server.url + "/api/advertise", params={"target": TARGET}).json()
    assert info["headers"]["X-Pingback"] == server.url + "/xmlrpc"
    assert f'<link rel="pingback" href="{server.url}/xmlrpc">' in info["html"]
    assert 'rel="webmention"' in info["html"]
    assert info["trackback_ping_url"] == f"{server.url}/trackback/{trackback_key(TARGET)}"
    assert f'dc:identifier="{TARGET}"' in info["trackback_rdf"]


# --- TrackBack -----------------------------------------------------------------------------------


def trackback(server, target: str, body: bytes, content_type: str) -> str:
    response = httpx.post(
        f"{server.url}/trackback/{trackback_key(target)}", content=body, headers={"Content-Type": content_type}
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/xml")
    return response.text


def test_a_trackback_is_acknowledged_then_verified(server, pages) -> None:
    target = "http://blog.test/post/3"
    pages.pages["/tb-ok"] = Page(linking_page(target))
    source = pages.url("/tb-ok", "dave.test")
    body = f"title=Caf%E9+notes&url={source}&excerpt=An+excerpt&blog_name=Dave%27s".encode()
    answer = trackback(server, target, body, "application/x-www-form-urlencoded; charset=ISO-8859-1")
    assert "<error>0</error>" in answer
    entry = wait_for(
        lambda: next(
            (e for e in httpx.get(server.url + "/api/mentions", params={"target": target}).json()["children"]), None
        )
    )
    assert entry["wm-protocol"] == "trackback" and entry["wm-source"] == source
    assert index_rows(server, source, target) == [("trackback", "text")]
    again = trackback(server, target, body, "application/x-www-form-urlencoded; charset=ISO-8859-1")
    assert "<error>1</error>" in again and "already" in again


def test_trackback_errors_are_xml_with_an_escaped_message(server, pages) -> None:
    answer = trackback(server, "http://blog.test/post/4", b"title=x&excerpt=y", "application/x-www-form-urlencoded")
    assert "<error>1</error>" in answer and "<message>" in answer
    closed = trackback(
        server, "http://elsewhere.test/post", b"url=http://dave.test/x&title=t", "application/x-www-form-urlencoded"
    )
    assert "closed" in closed
    utf7 = trackback(
        server,
        "http://blog.test/post/4",
        b"url=http://dave.test/x&title=+ADw-script+AD4-",
        "application/x-www-form-urlencoded; charset=UTF-7",
    )
    assert "<error>1</error>" in utf7 and "<script" not in utf7


def test_a_trackback_whose_source_does_not_link_is_never_shown(server, pages) -> None:
    target = "http://blog.test/post/5"
    pages.pages["/tb-liar"] = Page("<html><body>I never linked.</body></html>")
    source = pages.url("/tb-liar", "eve.test")
    assert "<error>0</error>" in trackback(
        server, target, f"url={source}&title=Spam".encode(), "application/x-www-form-urlencoded"
    )
    cur = server.state.store.con.cursor()
    wait_for(
        lambda: cur.execute("SELECT status FROM mentions WHERE source = ?", [source]).fetchall() == [("rejected",)]
    )
    assert httpx.get(server.url + "/api/mentions", params={"target": target}).json()["total"] == 0
