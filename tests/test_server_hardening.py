"""The public linkback endpoints under hostile use (issue 13, items 5, 6, 7 and 10): bodies
limited while they stream, slow Pingback sources that cannot hold the server, status pages that
tell a sender only its own Webmention's state, credentials in a source URL, and API docs whose
assets come from the server itself."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import xmlrpc.client
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from serverkit import Page, PageServer, loopback_resolver, start_linkback, wait_for

from linkback.fetch import Fetcher, GuardPolicy
from linkback.mentions._verification import Known, verify
from linkback.server import Settings, create_app, trackback_key
from linkback.server._bodylimit import BodyLimit, LimitBodies

TARGET = "http://blog.test/post/1"


@pytest.fixture(scope="module")
def pages():
    with PageServer() as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory, pages):
    srv = start_linkback(tmp_path_factory.mktemp("hardening"), {"blog.test": "auto", "held.test": "moderate"})
    yield srv
    srv.stop()


def linking_page(target: str = TARGET) -> str:
    return f'<html><head><title>A post</title></head><body><p>See <a href="{target}">this</a>.</p></body></html>'


def final_status(response: httpx.Response) -> dict:
    """The status page of a Webmention once it is no longer queued."""
    location = response.headers["location"]
    answer = wait_for(lambda: (s := httpx.get(location).json())["status"] != "queued" and s)
    assert isinstance(answer, dict)
    return answer


def mention_rows(server, source: str) -> list[tuple]:
    cur = server.state.store.con.cursor()
    try:
        return cur.execute(
            "SELECT status, reason, next_attempt_at, coalesce(status_token, '') FROM mentions WHERE source = ?",
            [source],
        ).fetchall()
    finally:
        cur.close()


# --- item 5: bodies limited while they stream ---------------------------------------------------


def _answer_before_the_body(url: str, path: str, *, chunked: bool, content_type: str, sent_bytes: int) -> bytes:
    """POST headers announcing 512 MB, then only ``sent_bytes`` of body; what the server answers.

    The body is never finished, so an answer can only come from a server that stops reading.
    """
    host, port = urlsplit(url).hostname, urlsplit(url).port
    with socket.create_connection((host, port), timeout=15) as sock:
        framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {512 * 1024 * 1024}"
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n{framing}\r\n\r\n".encode()
        )
        chunk = b"a" * 8192
        for _ in range(sent_bytes // len(chunk)):
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            assert data, f"connection closed without an answer: {answer!r}"
            answer += data
        return answer


LIMITED = [
    ("/webmention", "application/x-www-form-urlencoded", 16_384),
    ("/xmlrpc", "text/xml", 100_000),
    ("/trackback/" + trackback_key(TARGET), "application/x-www-form-urlencoded", 65_536),
]


@pytest.mark.parametrize(("path", "content_type", "limit"), LIMITED)
def test_a_declared_body_over_the_limit_is_413_before_any_of_it_is_sent(server, path, content_type, limit) -> None:
    answer = _answer_before_the_body(server.url, path, chunked=False, content_type=content_type, sent_bytes=0)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"connection: close" in answer.lower()


@pytest.mark.parametrize(("path", "content_type", "limit"), LIMITED)
def test_a_chunked_body_is_413_as_soon_as_it_passes_the_limit(server, path, content_type, limit) -> None:
    answer = _answer_before_the_body(server.url, path, chunked=True, content_type=content_type, sent_bytes=limit + 16_384)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]


def test_a_form_up_to_the_limit_goes_through_and_one_byte_more_is_413_unread(server, pages) -> None:
    pages.pages["/within"] = Page(linking_page())
    # 16,384 bytes of form: the Webmention limit, padded with a field the route ignores.
    data = {"source": pages.url("/within", "near.test"), "target": TARGET, "pad": ""}
    data["pad"] = "x" * (16_384 - len(httpx.QueryParams(data).__str__()))
    assert httpx.post(server.url + "/webmention", data=data).status_code == 201
    host, port = urlsplit(server.url).hostname, urlsplit(server.url).port
    with socket.create_connection((host, port), timeout=15) as sock:
        sock.sendall(
            f"POST /webmention HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: 16385\r\n\r\n".encode()
        )
        assert sock.recv(65536).startswith(b"HTTP/1.1 413 ")


# --- item 6: a slow Pingback source holds no request thread ------------------------------------


def test_a_slow_pingback_source_is_fault_0x32_by_the_deadline_and_stays_queued(server, pages) -> None:
    release = threading.Event()

    def slow(_hit):  # noqa: ANN001, ANN202 - answers only once the test lets it
        release.wait(20)
        return Page(linking_page())

    pages.pages["/slow"] = slow
    source = pages.url("/slow", "slow.test")
    server.state.pingback_pool.deadline = 0.3
    try:
        with xmlrpc.client.ServerProxy(server.url + "/xmlrpc") as proxy, pytest.raises(xmlrpc.client.Fault) as info:
            proxy.pingback.ping(source, TARGET)
        assert not release.is_set()  # answered while the source had not answered
        assert info.value.faultCode == 0x32
        # Queued, and no outcome stored yet: the answer did not wait for the fetch to end.
        ((status, reason, _next, _token),) = mention_rows(server, source)
        assert (status, reason) == ("queued", "")
    finally:
        server.state.pingback_pool.deadline = 3.0
        release.set()
    # The fetch went on in the Pingback pool and stored its outcome: verified, no ping needed.
    wait_for(lambda: mention_rows(server, source)[0][0] == "verified")


def test_a_pingback_that_finds_its_source_host_busy_is_left_to_the_job_runner(server, pages) -> None:
    release = threading.Event()

    def slow(_hit):  # noqa: ANN001, ANN202
        release.wait(20)
        return Page(linking_page())

    pages.pages["/busy-host"] = slow
    pool = server.state.pingback_pool
    pool.deadline = 0.2
    sources = [pages.url(f"/busy-host?{i}", "busy.test") for i in range(pool.per_host + 1)]
    try:
        for source in sources:
            with xmlrpc.client.ServerProxy(server.url + "/xmlrpc") as proxy, pytest.raises(xmlrpc.client.Fault) as info:
                proxy.pingback.ping(source, TARGET)
            assert info.value.faultCode == 0x32
        assert not release.is_set()
        # The first ones are being fetched under their lease; the last found the host's slots
        # taken, was not fetched by the request at all and is due for the job runner now.
        leases = [mention_rows(server, s)[0][2] for s in sources]
        now = datetime.now(UTC)
        assert all(lease > now for lease in leases[: pool.per_host])
        assert leases[-1] <= now
    finally:
        pool.deadline = 3.0
        release.set()
    wait_for(lambda: all(mention_rows(server, s)[0][0] == "verified" for s in sources), timeout=20)


# --- item 7: status pages only for Webmentions, at unguessable URLs, saying only the state -----


def test_a_webmention_status_url_is_a_random_token_and_numeric_ids_are_404(server, pages) -> None:
    pages.pages["/status-a"] = Page(linking_page())
    pages.pages["/status-b"] = Page(linking_page())
    first = httpx.post(server.url + "/webmention", data={"source": pages.url("/status-a", "a.test"), "target": TARGET})
    second = httpx.post(server.url + "/webmention", data={"source": pages.url("/status-b", "b.test"), "target": TARGET})
    tokens = [r.headers["location"].rsplit("/", 1)[1] for r in (first, second)]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", t) for t in tokens) and tokens[0] != tokens[1]
    assert first.json()["location"] == first.headers["location"]
    ((_status, _reason, _next, stored),) = mention_rows(server, pages.url("/status-a", "a.test"))
    assert stored == tokens[0]
    cur = server.state.store.con.cursor()
    ids = [r[0] for r in cur.execute("SELECT mention_id FROM mentions ORDER BY mention_id").fetchall()]
    cur.close()
    for mention_id in ids:
        assert httpx.get(f"{server.url}/webmention/status/{mention_id}").status_code == 404
    status = final_status(first)
    assert status["status"] == "verified" and status["moderation"] == "approved"
    assert not {"source", "target", "content", "name", "id", "reason"} & set(status)

    # Only a Webmention, a notification someone sent and may follow, gets one.
    pages.pages["/pb-status"] = Page(linking_page())
    pingback_source = pages.url("/pb-status", "pb-status.test")
    with xmlrpc.client.ServerProxy(server.url + "/xmlrpc") as proxy:
        proxy.pingback.ping(pingback_source, TARGET)
    trackback_source = pages.url("/tb-status", "tb-status.test")
    httpx.post(server.url + "/trackback/" + trackback_key(TARGET), data={"url": trackback_source})
    assert mention_rows(server, pingback_source)[0][3] == mention_rows(server, trackback_source)[0][3] == ""


def test_a_pair_keeps_its_first_status_token_and_is_new_once_per_batch() -> None:
    from linkback.mentions import Receipt, receive_many
    from linkback.mentions._store import status_token_of
    from linkback.store import Store

    now = datetime(2026, 1, 1, tzinfo=UTC)
    with Store(":memory:") as store:
        con = store.con
        pingback = Receipt("pingback", "https://a.test/1", "https://blog.test/p", "blog.test")
        first = Receipt("webmention", "https://a.test/1", "https://blog.test/p", "blog.test", status_token="t" * 22)
        again = Receipt("webmention", "https://a.test/1", "https://blog.test/p", "blog.test", status_token="u" * 22)
        [(mention_id, new)] = receive_many(con, [pingback], now)
        assert new and status_token_of(con, mention_id) == ""  # a Pingback has no status page
        # A Webmention for a pair stored before gives it its token; a later one keeps it.
        later = now + timedelta(seconds=1)
        assert receive_many(con, [first, again], later) == [(mention_id, False), (mention_id, False)]
        assert status_token_of(con, mention_id) == "t" * 22
        # Two Webmentions for a new pair in one batch: the first is new and its token is kept.
        second = Receipt("webmention", "https://b.test/2", "https://blog.test/p", "blog.test", status_token="v" * 22)
        rows = receive_many(con, [second, replace(second, status_token="w" * 22)], later)
        assert [new for _, new in rows] == [True, False]
        assert status_token_of(con, rows[0][0]) == "v" * 22


def test_pending_spam_and_rejected_webmentions_show_their_state_and_nothing_else(server, pages) -> None:
    held_target = "http://held.test/post"
    pages.pages["/held"] = Page(linking_page(held_target))
    pages.pages["/spammy"] = Page(linking_page(held_target))
    held = httpx.post(server.url + "/webmention", data={"source": pages.url("/held", "c.test"), "target": held_target})
    spam = httpx.post(server.url + "/webmention", data={"source": pages.url("/spammy", "d.test"), "target": held_target})
    gone = httpx.post(server.url + "/webmention", data={"source": pages.url("/nothing-here", "e.test"), "target": TARGET})
    for response in (held, spam):
        status = final_status(response)
        assert status["status"] == "verified" and status["moderation"] == "pending"
    server.state.writer.submit(
        lambda store: store.con.execute(
            "UPDATE mentions SET state = 'spam' WHERE source = ?", [pages.url("/spammy", "d.test")]
        )
    ).result()
    body = httpx.get(spam.headers["location"]).text
    assert "spammy" not in body and "held.test" not in body and "spam" not in body  # pending, as far as it knows
    assert httpx.get(spam.headers["location"]).json()["moderation"] == "pending"
    rejected = final_status(gone)
    assert rejected["status"] == "rejected" and rejected["error"] == "source_not_found"
    assert "nothing-here" not in httpx.get(gone.headers["location"]).text


# --- item 10: credentials in a source URL are a bad request -----------------------------------


CREDENTIALED = "http://user:secret@alice.test/post"


def test_a_source_with_user_and_password_is_refused_by_every_protocol(server) -> None:
    response = httpx.post(server.url + "/webmention", data={"source": CREDENTIALED, "target": TARGET})
    assert response.status_code == 400 and response.json()["error"] == "invalid_source"
    with xmlrpc.client.ServerProxy(server.url + "/xmlrpc") as proxy, pytest.raises(xmlrpc.client.Fault) as info:
        proxy.pingback.ping(CREDENTIALED, TARGET)
    assert info.value.faultCode == 0x10
    answer = httpx.post(server.url + "/trackback/" + trackback_key(TARGET), data={"url": CREDENTIALED})
    assert b"<error>1</error>" in answer.content and b"password" in answer.content
    assert mention_rows(server, CREDENTIALED) == []


def test_a_stored_source_with_credentials_is_rejected_not_retried() -> None:
    # A refback read from a log, or a mention stored before the check: never fetched, no retry.
    row = {"source": CREDENTIALED, "target": TARGET, "protocol": "refback"}
    with Fetcher(policy=GuardPolicy(allow_private=True), resolver=loopback_resolver) as fetcher:
        outcome, page = verify(row, fetcher, Known())
    assert (outcome.status, outcome.reason, page) == ("rejected", "source_url", None)


# --- item 10: /docs and /redoc work offline ------------------------------------------------------


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)


async def _docs_assets(app, page: str) -> list[tuple[str, int]]:
    """(URL, status) of the page and of every asset it loads, in-process (httpx's ASGI transport)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://linkback.test") as client:
        response = await client.get(page)
        parser = _Assets()
        parser.feed(response.text)
        # The page's own script names its scripts and styles too (Swagger UI's bundle).
        urls = parser.urls + re.findall(r"""["']((?:https?:)?//[^"']+|/[^"'\s]+\.(?:js|css|png))["']""", response.text)
        assert any(u.endswith(".js") for u in urls), urls
        assert "validator.swagger.io" not in response.text and "fonts.googleapis" not in response.text
        if page == "/redoc":  # ReDoc's "by Redocly" logo is a remote image: the browser must not ask
            assert "img-src 'self'" in response.headers["content-security-policy"]
        seen = [(page, response.status_code)]
        for url in urls:
            absolute = urljoin(str(response.url), url)
            assert urlsplit(absolute).netloc == "linkback.test", f"{page} loads {url} from elsewhere"
            seen.append((url, (await client.get(absolute)).status_code))
        return seen


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_api_docs_load_every_asset_from_the_server_itself(tmp_path, page) -> None:
    app = create_app(Settings(db=str(tmp_path / "docs.duckdb")))  # the docs need no database: no lifespan
    seen = asyncio.run(_docs_assets(app, page))
    assert all(status == 200 for _, status in seen), seen


# --- a body that does not come --------------------------------------------------------------------


def _through_limit(limit: BodyLimit, messages: list[dict], then_wait: bool) -> tuple[list[dict], list[bytes]]:
    """What LimitBodies sends, and the bodies the app got, for a request whose body comes as
    ``messages`` and then (``then_wait``) never ends."""
    sent: list[dict] = []
    got: list[bytes] = []
    queue = list(messages)

    async def receive() -> dict:
        if queue:
            return queue.pop(0)
        if then_wait:
            await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    async def app(scope, receive, send) -> None:  # noqa: ANN001
        got.append((await receive())["body"])

    scope = {"type": "http", "path": limit.path, "headers": [(b"content-length", b"100")]}
    asyncio.run(LimitBodies(app, [limit])(scope, receive, send))
    return sent, got


def test_a_body_that_stops_coming_is_408_and_the_connection_closed() -> None:
    limit = BodyLimit("/webmention", 100, lambda n: (b"too large", "text/plain"), max_seconds=0.2)
    sent, got = _through_limit(limit, [{"type": "http.request", "body": b"source=", "more_body": True}], then_wait=True)
    assert got == [] and sent[0]["status"] == 408 and (b"connection", b"close") in sent[0]["headers"]
    # In time, the same body reaches the route whole.
    whole = [{"type": "http.request", "body": b"source=", "more_body": True}, {"type": "http.request", "body": b"x"}]
    sent, got = _through_limit(limit, whole, then_wait=False)
    assert got == [b"source=x"] and sent == []
    # Every limit has a deadline: ~10 s for the public endpoints' few kilobytes.
    assert 10 < BodyLimit("/webmention", 16_384, limit.answer).seconds < 12
