"""How long one run of ``linkback send`` may take, on 127.0.0.1 with short timeouts: a host that
timed out (or could not be reached) after its retries is skipped for the rest of the run, and one
post notifies at most ``MAX_TARGETS`` targets."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from serverkit import Hit, Page, PageServer, loopback_resolver

from linkback.fetch import Fetcher, FetchLimits, GuardPolicy
from linkback.send import Sender, SendOptions
from linkback.send import _sender as sender_module
from linkback.send._sender import MAX_TARGETS, transient_failure
from linkback.store import Store

TIMEOUT = 0.5


class Hang:
    """A handler that answers nothing until the test ends (a tarpit)."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = threading.Event()

    def __call__(self, hit: Hit) -> Page:
        self.calls += 1
        self.release.wait(30)
        return Page(b"too late", 200, {"Content-Type": "text/plain"})


@pytest.fixture
def web():
    with PageServer() as server:
        yield server


@pytest.fixture
def hang():
    h = Hang()
    yield h
    h.release.set()


@pytest.fixture
def store():
    with Store(":memory:") as s:
        yield s


def make_sender(store: Store, **options) -> Sender:
    fetcher = Fetcher(
        policy=GuardPolicy(allow_private=True),
        resolver=loopback_resolver,
        limits=FetchLimits(timeout=TIMEOUT, connect_timeout=TIMEOUT),
    )
    return Sender(
        fetcher,
        read=lambda fn: fn(store.con),
        write=lambda fn: fn(store.con),
        options=SendOptions(backoff=0.01, attempts=2, **options),
    )


def post_page(*targets: str) -> Page:
    links = " ".join(f'<a href="{t}">a link</a>' for t in targets)
    return Page(
        f'<html><body><article class="h-entry"><div class="e-content"><p>{links}</p></div></article></body></html>'
    )


def by_path(result) -> dict:
    return {r.target.rsplit("/", 1)[1]: r for r in result.records}


def hits_on(web: PageServer, host: str) -> int:
    return sum(1 for h in web.hits if h.headers.get("host", "").split(":")[0] == host)


def test_the_second_target_on_a_hanging_host_fails_at_once_with_the_reason(web, store, hang) -> None:
    web.pages["/a"] = web.pages["/b"] = hang
    web.pages["/c"] = Page('<link rel="webmention" href="/wm">')
    web.pages["/wm"] = Page(b"ok", 202, {"Content-Type": "text/plain"})
    web.pages["/post"] = post_page(web.url("/a", "tarpit.test"), web.url("/b", "tarpit.test"), web.url("/c", "ok.test"))
    started = time.monotonic()
    result = make_sender(store).send_post(web.url("/post", "me.test"))
    elapsed = time.monotonic() - started
    records = by_path(result)
    assert records["a"].status == "failed" and records["a"].reason.startswith("discovery: timeout")
    assert (records["b"].status, records["b"].reason, records["b"].attempts) == (
        "failed", "skipped: tarpit.test timed out earlier in this run", 0,
    )  # fmt: skip
    assert records["c"].status == "sent"  # other hosts are asked as ever
    assert hang.calls == 2 and hits_on(web, "tarpit.test") == 2  # the first target's two tries, no more
    assert elapsed < 2 * TIMEOUT + 1.5  # not 2 × 2 timeouts
    assert transient_failure(records["b"]) and result.retry  # tried again by the next run, as a timeout is
    stored = store.con.execute("SELECT status, reason FROM sends WHERE target LIKE '%/b'").fetchall()
    assert stored == [("failed", "skipped: tarpit.test timed out earlier in this run")]


def test_a_hanging_endpoint_closes_its_host_for_the_other_endpoints_and_targets_and_posts(web, store, hang) -> None:
    web.pages["/t1"] = web.pages["/t2"] = Page(f'<link rel="webmention" href="{web.url("/wm", "tarpit.test")}">')
    web.pages["/wm"] = hang
    web.pages["/t3"] = Page("<p>a page on the tarpit's host</p>")
    web.pages["/post"] = post_page(web.url("/t1", "blog.test"), web.url("/t2", "blog.test"))
    web.pages["/post2"] = post_page(web.url("/t3", "tarpit.test"))
    sender = make_sender(store)
    records = by_path(sender.send_post(web.url("/post", "me.test")))
    assert records["t1"].reason.startswith("timeout") and records["t1"].attempts == 2
    skipped = "skipped: tarpit.test timed out earlier in this run"
    assert (records["t2"].protocol, records["t2"].status, records["t2"].reason) == ("webmention", "failed", skipped)
    assert hang.calls == 2
    # The same run, another post: a target on that host is not fetched either.
    (later,) = sender.send_post(web.url("/post2", "me.test")).records
    assert (later.status, later.reason) == ("failed", skipped) and hits_on(web, "tarpit.test") == 2
    # The next run asks the host again.
    make_sender(store).send_post(web.url("/post2", "me.test"))
    assert hits_on(web, "tarpit.test") == 3


def test_a_host_that_cannot_be_reached_is_skipped_for_the_rest_of_the_run(web, store) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    web.pages["/post"] = post_page(f"http://down.test:{port}/a", f"http://down.test:{port}/b")
    records = by_path(make_sender(store).send_post(web.url("/post", "me.test")))
    assert records["a"].reason.startswith("discovery: connect")
    assert records["b"].reason == "skipped: down.test could not be reached earlier in this run"
    assert transient_failure(records["b"])


def test_a_post_notifies_at_most_max_targets_and_says_how_many_were_left(web, store, monkeypatch) -> None:
    monkeypatch.setattr(sender_module, "MAX_TARGETS", 5)
    targets = [web.url(f"/n{i:02}", "them.test") for i in range(12)]
    for i in range(12):
        web.pages[f"/n{i:02}"] = Page("<p>no endpoint</p>")
    web.pages["/post"] = post_page(*targets)
    result = make_sender(store).send_post(web.url("/post", "me.test"))
    assert [r.target for r in result.records] == targets[:5]
    assert {r.status for r in result.records} == {"no_endpoint"}
    assert hits_on(web, "them.test") == 5 and result.skipped == 7 and not result.retry
    assert result.warnings == ["links to 12 targets: only the first 5 were notified, 7 were skipped"]
    assert store.con.execute("SELECT count(*) FROM sends").fetchone()[0] == 5


def test_the_cap_holds_at_its_real_value(web, store) -> None:
    """A post of 1 MB can hold some 22,000 links; no real post links to 1,000 pages."""
    assert MAX_TARGETS == 1000
    n = MAX_TARGETS + 30
    web.pages["/post"] = post_page(*(web.url(f"/t/{i:04}", "them.test") for i in range(n)))
    result = make_sender(store, dry_run=True).send_post(web.url("/post", "me.test"))
    assert len(result.records) == MAX_TARGETS and result.skipped == 30
    assert result.warnings == ["links to 1,030 targets: only the first 1,000 were notified, 30 were skipped"]


def test_the_targets_left_out_are_a_warning_of_the_send_job() -> None:
    from linkback.jobs import _post_messages  # noqa: PLC0415
    from linkback.send._sender import PostResult  # noqa: PLC0415

    post = PostResult(
        "https://blog.example/p",
        "sent",
        skipped=5,
        warnings=["links to 1,005 targets: only the first 1,000 were notified, 5 were skipped"],
    )
    messages: list[dict[str, str]] = []
    assert _post_messages(post, messages) == 0
    assert messages == [{"level": "warning", "url": "https://blog.example/p", "text": post.warnings[0]}]
