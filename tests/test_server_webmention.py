"""The Webmention receiver end to end: httpx against ``linkback serve``'s app on 127.0.0.1,
sources served by a local page server (specs/linkback-protocols.md §9, "Webmention receiver")."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json

import httpx
import pytest
from serverkit import ADMIN, Page, PageServer, start_linkback, wait_for

from linkback.fetch import GuardPolicy, address_refusal
from linkback.server._limits import Rate


@pytest.fixture
def pages():
    with PageServer() as server:
        yield server


@pytest.fixture
def server(tmp_path, pages):
    srv = start_linkback(tmp_path)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def shared_pages():
    with PageServer() as server:
        yield server


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory, shared_pages):
    """One server for the tests that only read what they send (distinct sources each)."""
    srv = start_linkback(tmp_path_factory.mktemp("shared"))
    yield srv
    srv.stop()


def reply_page(target: str, extra: str = "") -> str:
    return (
        "<!doctype html><html><head><title>A reply</title></head><body>"
        '<article class="h-entry"><a class="p-author h-card" href="http://alice.test/">Alice</a>'
        f'<a class="u-in-reply-to" href="{target}">in reply</a>'
        '<div class="e-content">Great post, thanks.</div>'
        '<time class="dt-published" datetime="2026-11-01T10:00:00Z">1 Nov</time>'
        f"{extra}</article></body></html>"
    )


def send(srv, source: str, target: str) -> httpx.Response:
    return httpx.post(srv.url + "/webmention", data={"source": source, "target": target})


def final_status(response: httpx.Response) -> dict:
    location = response.headers["location"]
    return wait_for(lambda: (s := httpx.get(location).json())["status"] != "queued" and s)


def stored_reason(srv, response: httpx.Response) -> str:
    """The reason the store keeps (the status page gives the sender only the error name)."""
    token = response.headers["location"].rsplit("/", 1)[1]
    cur = srv.state.store.con.cursor()
    try:
        return cur.execute("SELECT reason FROM mentions WHERE status_token = ?", [token]).fetchall()[0][0]
    finally:
        cur.close()


# --- synchronous checks: 400 for each sender error (WM §3.2.1, §3.2.3) ---------------------------


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"target": "http://blog.test/post"}, "invalid_request"),
        ({"source": "http://alice.test/reply"}, "invalid_request"),
        ({"source": "not a url", "target": "http://blog.test/post"}, "invalid_source"),
        ({"source": "mailto:alice@alice.test", "target": "http://blog.test/post"}, "invalid_source"),
        ({"source": "http://alice.test/reply", "target": "ftp://blog.test/post"}, "invalid_target"),
        ({"source": "http://blog.test/post", "target": "http://blog.test/post#comments"}, "invalid_request"),
        ({"source": "http://alice.test/reply", "target": "http://elsewhere.test/post"}, "target_not_supported"),
        # webmention.rocks receiver test 2: three garbage pairs
        ({"source": "http://alice.test/", "target": "https://example.com/"}, "target_not_supported"),
        ({"source": "", "target": ""}, "invalid_request"),
        ({"source": "http://alice.test/reply", "target": "blog.test/post"}, "invalid_target"),
    ],
)
def test_sender_errors_are_400_with_a_reason(shared_server, data, error) -> None:
    response = httpx.post(shared_server.url + "/webmention", data=data)
    assert response.status_code == 400
    assert response.json()["error"] == error


def test_a_post_that_is_not_a_form_is_400(shared_server) -> None:
    response = httpx.post(
        shared_server.url + "/webmention", json={"source": "http://alice.test/r", "target": "http://blog.test/p"}
    )
    assert response.status_code == 400


def test_a_valid_webmention_is_201_with_a_status_page_and_verified(server, pages) -> None:
    target = "http://blog.test/post"
    pages.pages["/reply"] = Page(reply_page(target))
    source = pages.url("/reply", "alice.test")
    response = send(server, source, target + "#comment-3")  # the target's fragment is ignored
    assert response.status_code == 201
    assert response.headers["location"].startswith(server.url + "/webmention/status/")
    assert response.json()["status"] == "queued"
    status = final_status(response)
    assert status == status | {"status": "verified", "moderation": "approved"}
    feed = httpx.get(server.url + "/api/mentions", params={"target": target}).json()
    (entry,) = feed["children"]
    assert entry["wm-property"] == "in-reply-to" and entry["author"]["name"] == "Alice"
    assert entry["content"]["text"] == "Great post, thanks." and entry["published"].startswith("2026-11-01")
    # Every verified mention is also a link in the backlink index.
    with _reader(server) as con:
        rows = con.execute(
            "SELECT via, kind FROM links WHERE source_url = ? AND target_url = ?", [source, target]
        ).fetchall()
    assert rows == [("webmention", "text")]


class _reader:
    """A cursor on the running server's database (one process owns the file)."""

    def __init__(self, server) -> None:
        self.cur = server.state.store.con.cursor()

    def __enter__(self):
        return self.cur

    def __exit__(self, *exc: object) -> None:
        self.cur.close()


@pytest.mark.parametrize(
    ("body", "content_type", "ok"),
    [
        ('<a href="{t}">x</a>', "text/html", True),
        ('<img src="{t}" alt="">', "text/html", True),
        ('<video src="{t}"></video>', "text/html", True),
        ('<audio src="{t}"></audio>', "text/html", True),
        ("<p>see {t}</p>", "text/html", False),
        ('<!-- <a href="{t}">x</a> -->', "text/html", False),
        ("<p>nothing here</p>", "text/html", False),
        ('{{"like-of": "{t}"}}', "application/json", True),
        ('{{"text": "see {t} now"}}', "application/json", False),
        ("plain text mentioning {t} here", "text/plain", True),
    ],
)
def test_verification_needs_an_exact_link_of_the_right_kind(
    shared_server, shared_pages, body, content_type, ok
) -> None:
    target = "http://blog.test/post"
    path = f"/src-{hashlib.sha1(body.encode()).hexdigest()[:8]}"
    shared_pages.pages[path] = Page(body.format(t=target), headers={"Content-Type": content_type})
    status = final_status(send(shared_server, shared_pages.url(path, "alice.test"), target))
    assert status["status"] == ("verified" if ok else "rejected")
    if not ok:
        assert status["error"] == "no_link_found"


def test_the_target_under_another_url_is_no_mention_of_itself(server, pages) -> None:
    """/post?v=1, /%70ost: one page, however many URLs reach it. Refused at once when the URLs
    are the same page by RFC 3986; rejected at verification when the source ends at the target
    or names it as canonical (a stranger could otherwise make a post mention itself N times)."""
    target = pages.url("/post", "blog.test")
    post = f'<html><head><link rel="canonical" href="{target}"></head><body><a href="{target}">permalink</a></body></html>'
    pages.pages["/post"] = Page(post)
    for same in (pages.url("/%70ost", "blog.test"), target + "?", target + "#top"):
        refused = send(server, same, target)
        assert refused.status_code == 400 and "the same page" in refused.text, same
    variant = send(server, target + "?v=1", target)
    assert variant.status_code == 201
    assert final_status(variant) == final_status(variant) | {"status": "rejected", "error": "invalid_source"}
    assert stored_reason(server, variant) == "source_is_target"
    assert httpx.get(server.url + "/api/mentions", params={"target": target}).json()["total"] == 0


def test_a_missing_source_is_rejected_and_shown_nowhere(server, pages) -> None:
    status = final_status(send(server, pages.url("/gone-already", "alice.test"), "http://blog.test/post"))
    assert status == status | {"status": "rejected", "error": "source_not_found"}
    assert httpx.get(server.url + "/api/mentions", params={"target": "http://blog.test/post"}).json()["total"] == 0


def test_a_link_after_the_first_megabyte_does_not_count(server, pages) -> None:
    target = "http://blog.test/post"
    pages.pages["/huge"] = Page("<p>" + "x" * 1_100_000 + f'</p><a href="{target}">late</a>')
    assert final_status(send(server, pages.url("/huge", "alice.test"), target))["status"] == "rejected"


def test_redirect_loops_are_rejected(server, pages) -> None:
    pages.pages["/loop"] = Page(b"", 302, {"Location": "/loop"})
    response = send(server, pages.url("/loop", "alice.test"), "http://blog.test/post")
    assert final_status(response) == final_status(response) | {"status": "rejected", "error": "source_not_found"}
    assert "redirect" in stored_reason(server, response)


# --- updates and deletes (WM §3.2.4) -------------------------------------------------------------


def test_a_resent_mention_updates_the_same_entry_and_a_dropped_link_deletes_it(server, pages) -> None:
    target = "http://blog.test/post"
    pages.pages["/reply"] = Page(reply_page(target))
    source = pages.url("/reply", "alice.test")
    first = send(server, source, target)
    assert final_status(first)["status"] == "verified"
    pages.pages["/reply"] = Page(reply_page(target).replace("Great post", "Edited: great post"))
    second = send(server, source, target)
    assert second.headers["location"] == first.headers["location"]  # one entry, updated
    wait_for(lambda: "Edited" in _only_entry(server, target)["content"]["text"])
    pages.pages["/reply"] = Page("<p>I changed my mind.</p>")
    send(server, source, target)
    wait_for(lambda: httpx.get(first.headers["location"]).json()["status"] == "deleted")
    assert httpx.get(server.url + "/api/mentions", params={"target": target}).json()["total"] == 0


def _only_entry(server, target: str) -> dict:
    feed = httpx.get(server.url + "/api/mentions", params={"target": target}).json()
    assert feed["total"] == 1
    return feed["children"][0]


@pytest.mark.parametrize(
    "gone",
    [
        Page(b"Deleted", 410),
        Page('<html><head><meta http-equiv="Status" content="410 Gone"></head><body>Deleted</body></html>'),
    ],
)
def test_a_source_that_answers_410_deletes_the_mention(server, pages, gone) -> None:
    target = "http://blog.test/post"
    pages.pages["/reply"] = Page(reply_page(target))
    source = pages.url("/reply", "alice.test")
    first = send(server, source, target)
    assert final_status(first)["status"] == "verified"
    pages.pages["/reply"] = gone
    send(server, source, target)
    wait_for(lambda: httpx.get(first.headers["location"]).json()["status"] == "deleted")


# --- SSRF with the guard on ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "http://127.0.0.1:{port}/reply",
        "http://[::1]:{port}/reply",
        "http://alice.test:{port}/reply",  # a name that resolves to a loopback address
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/reply",
        "http://[fd00::1]/reply",
        "http://[::ffff:127.0.0.1]:{port}/reply",
        "http://169.254.1.1/reply",  # link-local, not only the metadata address
        "http://[fe80::1]/reply",
    ],
)
def test_with_the_guard_on_private_sources_are_never_fetched(tmp_path, pages, source) -> None:
    srv = start_linkback(tmp_path, allow_private=False)
    try:
        pages.pages["/reply"] = Page(reply_page("http://blog.test/post"))
        before = len(pages.hits)
        response = send(srv, source.format(port=pages.port), "http://blog.test/post")
        # The sender learns only that the source could not be used, not what the guard saw there.
        assert final_status(response)["error"] == "source_not_found"
        assert "blocked_address" in stored_reason(srv, response)
        assert len(pages.hits) == before
    finally:
        srv.stop()


def _only_127_0_0_1_is_public(ip):
    return None if ip == ipaddress.ip_address("127.0.0.1") else address_refusal(ip)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_with_the_guard_on_a_redirect_to_a_private_address_is_never_followed(tmp_path, pages, status) -> None:
    """As in test_fetch: 127.0.0.1 plays a public host, so the first hop is really fetched; the
    redirect points at a real server on 127.0.0.2 (private), which must never be reached."""
    srv = start_linkback(tmp_path, allow_private=False)
    with PageServer(host="127.0.0.2") as private:
        try:
            # The server's own fetcher (the one its job runner uses), with the test's address table.
            srv.state.fetcher.policy = GuardPolicy(ports=None, refuse_address=_only_127_0_0_1_is_public)
            target = "http://blog.test/post"
            private.pages["/reply"] = Page(reply_page(target))
            pages.pages["/public"] = Page(reply_page(target))
            pages.pages["/hop"] = Page(b"", status, {"Location": private.url("/reply", "127.0.0.2")})
            # The control: the public-looking source itself is fetched and verified.
            assert final_status(send(srv, pages.url("/public", "public.test"), target))["status"] == "verified"
            response = send(srv, pages.url("/hop", "public.test"), target)
            assert final_status(response)["status"] == "rejected"
            assert "blocked_address" in stored_reason(srv, response)
            assert [h.path for h in pages.hits if h.path == "/hop"] == ["/hop"]  # the first hop was fetched
            assert private.hits == []
        finally:
            srv.stop()


# --- moderation, rules, rate limits, admin -------------------------------------------------------


def test_a_moderated_site_holds_verified_mentions_until_approved(tmp_path, pages) -> None:
    srv = start_linkback(tmp_path, {"blog.test": "moderate"})
    try:
        target = "http://blog.test/post"
        pages.pages["/reply"] = Page(reply_page(target))
        response = send(srv, pages.url("/reply", "alice.test"), target)
        assert final_status(response)["status"] == "verified"
        assert httpx.get(srv.url + "/api/mentions", params={"target": target}).json()["total"] == 0
        pending = httpx.get(srv.url + "/api/v1/reports/mentions", params={"state": "pending"}, headers=ADMIN).json()
        assert [m["source"] for m in pending] == [pages.url("/reply", "alice.test")]
        ok = httpx.post(
            srv.url + "/api/v1/actions/moderate", json={"action": "approve", "ids": [pending[0]["mention_id"]]}, headers=ADMIN
        )
        assert ok.json()["changed"] == 1
        assert httpx.get(srv.url + "/api/mentions", params={"target": target}).json()["total"] == 1
        httpx.post(srv.url + "/api/v1/actions/moderate", json={"action": "spam", "ids": [pending[0]["mention_id"]]}, headers=ADMIN)
        assert httpx.get(srv.url + "/api/mentions", params={"target": target}).json()["total"] == 0
    finally:
        srv.stop()


def test_allowlisted_sources_are_approved_and_blocked_ones_refused(tmp_path, pages) -> None:
    srv = start_linkback(tmp_path, {"blog.test": "moderate"})
    try:
        target = "http://blog.test/post"
        pages.pages["/reply"] = Page(reply_page(target))
        r = httpx.post(srv.url + "/api/v1/actions/add_rules", json={"rule": "allow", "entries": ["alice.test"]}, headers=ADMIN)
        assert r.status_code == 200
        send(srv, pages.url("/reply", "alice.test"), target)
        wait_for(lambda: httpx.get(srv.url + "/api/mentions", params={"target": target}).json()["total"] == 1)
        httpx.post(srv.url + "/api/v1/actions/add_rules", json={"rule": "block", "entries": ["spam.test"]}, headers=ADMIN)
        refused = send(srv, pages.url("/reply", "www.spam.test"), target)
        assert refused.status_code == 400 and refused.json()["error"] == "blocked"
    finally:
        srv.stop()


def test_deleting_by_domain_deletes_and_blocks_it(server, pages) -> None:
    target = "http://blog.test/post"
    pages.pages["/reply"] = Page(reply_page(target))
    assert final_status(send(server, pages.url("/reply", "bob.test"), target))["status"] == "verified"
    r = httpx.post(server.url + "/api/v1/actions/moderate", json={"action": "delete", "domain": "bob.test"}, headers=ADMIN)
    assert r.json()["changed"] == 1
    assert httpx.get(server.url + "/api/mentions", params={"target": target}).json()["total"] == 0
    assert send(server, pages.url("/other", "bob.test"), target).json()["error"] == "blocked"


def test_the_admin_api_needs_the_token(server) -> None:
    assert httpx.get(server.url + "/api/v1/reports/mentions").status_code == 401
    assert httpx.get(server.url + "/api/v1/reports/mentions", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_rate_limits_answer_429(tmp_path, pages) -> None:
    srv = start_linkback(tmp_path, pair_rate=Rate(2, 60.0))
    try:
        answers = [send(srv, pages.url("/r", "alice.test"), "http://blog.test/post") for _ in range(3)]
        assert [a.status_code for a in answers] == [201, 201, 429]
        assert answers[-1].headers["retry-after"] == "60"
    finally:
        srv.stop()


def test_the_per_source_host_rate_limit_answers_429(tmp_path, pages) -> None:
    srv = start_linkback(tmp_path, host_rate=Rate(2, 60.0))  # the pair limit stays off
    try:
        # One source host (any port, any path), a different target each time.
        codes = [
            send(srv, pages.url(f"/r{i}", "alice.test"), f"http://blog.test/post/{i}").status_code for i in range(3)
        ]
        assert codes == [201, 201, 429]
        refused = send(srv, "http://alice.test/elsewhere", "http://blog.test/post/9")
        assert refused.status_code == 429 and refused.json()["error"] == "rate_limit_exceeded"
        # Its subdomains share its bucket (wildcard DNS gives a stranger as many as he likes).
        assert send(srv, pages.url("/r", "s1.alice.test"), "http://blog.test/post/8").status_code == 429
        assert refused.headers["retry-after"] == "60"  # the host limit's wait, not the (off) pair limit's
        # Another host has its own bucket.
        assert send(srv, pages.url("/r0", "bob.test"), "http://blog.test/post/0").status_code == 201
    finally:
        srv.stop()


# --- webhooks ------------------------------------------------------------------------------------


def test_webhooks_are_signed_and_retried(tmp_path, pages) -> None:
    calls: list = []

    def hook(hit):
        calls.append(hit)
        return Page(b"", 500 if len(calls) == 1 else 204)

    pages.pages["/hook"] = hook
    srv = start_linkback(tmp_path, webhook=(pages.url("/hook"), "s3cret"), webhook_retry_seconds=0.2)
    try:
        target = "http://blog.test/post"
        pages.pages["/reply"] = Page(reply_page(target))
        final_status(send(srv, pages.url("/reply", "alice.test"), target))
        wait_for(lambda: len(calls) >= 3)  # new (failed once, then delivered) and approved
        for hit in calls:
            expected = "sha256=" + hmac.new(b"s3cret", hit.body, hashlib.sha256).hexdigest()
            assert hit.headers["x-linkback-signature"] == expected
        events = [json.loads(hit.body)["event"] for hit in calls]
        assert events.count("new") == 2 and "approved" in events
        assert json.loads(calls[0].body)["post"]["wm-property"] == "in-reply-to"
        # Deleting the approved mention sends a signed "deleted" event.
        mention_id = json.loads(calls[-1].body)["id"]
        r = httpx.post(srv.url + "/api/v1/actions/moderate", json={"action": "delete", "ids": [mention_id]}, headers=ADMIN)
        assert r.json()["changed"] == 1
        deleted = wait_for(lambda: next((h for h in calls if json.loads(h.body)["event"] == "deleted"), None))
        assert deleted.headers["x-linkback-signature"] == (
            "sha256=" + hmac.new(b"s3cret", deleted.body, hashlib.sha256).hexdigest()
        )
        assert deleted.headers["x-linkback-event"] == "deleted"
        payload = json.loads(deleted.body)
        assert payload == payload | {"id": mention_id, "deleted": True, "source": pages.url("/reply", "alice.test")}
    finally:
        srv.stop()


def test_an_author_url_is_followed_to_the_author_page(server, pages) -> None:
    target = "http://blog.test/post"
    author = pages.url("/about", "carol.test")
    pages.pages["/about"] = Page(
        f'<div class="h-card"><a class="u-url u-uid p-name" href="{author}">Carol C.</a>'
        f'<img class="u-photo" src="{pages.url("/carol.jpg", "carol.test")}" alt=""></div>'
    )
    pages.pages["/like"] = Page(
        f'<div class="h-entry"><a class="u-author" href="{author}"></a>'
        f'<a class="u-like-of" href="{target}">liked</a></div>'
    )
    assert final_status(send(server, pages.url("/like", "carol.test"), target))["status"] == "verified"
    entry = _only_entry(server, target)
    assert entry["wm-property"] == "like-of"
    assert entry["author"] == entry["author"] | {"name": "Carol C.", "url": author}
    assert entry["author"]["photo"].endswith("/carol.jpg")


def test_a_sites_spam_words_count_in_the_score(server, pages) -> None:
    target = "http://blog.test/post"
    r = httpx.post(server.url + "/api/v1/actions/add_rules", json={"rule": "word", "entries": ["Miracle Pills"]}, headers=ADMIN)
    assert r.status_code == 200
    pages.pages["/pills"] = Page(reply_page(target, extra="<p>Buy miracle pills now</p>"))
    assert final_status(send(server, pages.url("/pills", "pills.test"), target))["status"] == "verified"
    (row,) = httpx.get(server.url + "/api/v1/reports/mentions", params={"target": target}, headers=ADMIN).json()
    assert "spam_words" in row["spam_reasons"].split() and row["spam_score"] >= 60 and row["state"] != "approved"
