"""The webmention.rocks discovery suite (tests 1–23) served for real on 127.0.0.1 and sent to by
``linkback send``'s Sender: each test page with its headers and markup, the endpoint recording
the POST (specs/linkback-protocols.md §2, §9 "Webmention sender" 1–5)."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from serverkit import Hit, Page, PageServer, loopback_resolver
from test_protocols_discovery import (
    KEY_ENDPOINT,
    KEY_PAGE,
    PAGE23_BODY,
    PAGE23_LINK,
    ROCKS,
    ROCKS_TESTS,
    rocks_page,
)

from linkback.fetch import Fetcher, GuardPolicy
from linkback.send import Sender, SendOptions
from linkback.store import Store


@pytest.fixture(scope="module")
def rocks():
    with PageServer() as server:
        yield server


def _sender(store: Store) -> Sender:
    return Sender(
        Fetcher(policy=GuardPolicy(allow_private=True), resolver=loopback_resolver),
        read=lambda fn: fn(store.con),
        write=lambda fn: fn(store.con),
        options=SendOptions(backoff=0.01),
    )


def _endpoint(received: list[Hit]):
    def answer(hit: Hit) -> Page:
        received.append(hit)
        return Page(b"", 202)

    return answer


def _send_to(rocks: PageServer, target: str) -> list:
    rocks.pages["/post"] = Page(
        f'<article class="h-entry"><div class="e-content"><a href="{target}">x</a></div></article>'
    )
    with Store(":memory:") as store:
        return _sender(store).send_post(rocks.url("/post", "me.test")).records


@pytest.mark.parametrize(("num", "links", "header_name", "link_tag", "description", "expected"), ROCKS_TESTS)
def test_rocks_discovery_test_sends_to_the_right_endpoint(
    rocks, num, links, header_name, link_tag, description, expected
):
    base = rocks.url("/", "rocks.test")

    def local(text: str) -> str:
        return text.replace(ROCKS, base)

    received: list[Hit] = []
    headers = {"Content-Type": "text/html; charset=UTF-8"}
    if links:
        # One header field per value: the test pages that send several Link fields (18) do so.
        headers = [("Content-Type", "text/html; charset=UTF-8"), *((header_name, local(v)) for v in links)]
    page_path = f"/test/{num}"
    endpoint_path = local(expected)[len(base) - 1 :]
    body = local(rocks_page(num, link_tag, description).decode())
    page = _multi_header_page(body, headers)
    record_post = _endpoint(received)
    rocks.pages[page_path] = page
    # Test 15's endpoint is the page itself (href=""): GET gives the page, POST is the notification.
    rocks.pages[endpoint_path.split("?")[0]] = lambda hit: record_post(hit) if hit.method == "POST" else page
    (record,) = _send_to(rocks, rocks.url(page_path, "rocks.test"))
    assert (record.protocol, record.status, record.endpoint) == ("webmention", "sent", local(expected))
    (hit,) = received
    assert hit.method == "POST" and hit.path == endpoint_path  # the query string stays in the URL
    assert parse_qs(hit.body.decode()) == {"source": [rocks.url("/post", "me.test")], "target": [record.target]}


def test_rocks_23_a_redirect_then_a_relative_one_time_endpoint(rocks) -> None:
    received: list[Hit] = []
    rocks.pages["/test/23/page"] = Page(b"", 302, {"Location": f"page/{KEY_PAGE}"})
    rocks.pages[f"/test/23/page/{KEY_PAGE}"] = Page(
        PAGE23_BODY, 200, {"Content-Type": "text/html", "Link": PAGE23_LINK}
    )
    rocks.pages[f"/test/23/page/webmention-endpoint/{KEY_ENDPOINT}"] = _endpoint(received)
    (record,) = _send_to(rocks, rocks.url("/test/23/page", "rocks.test"))
    assert record.status == "sent" and len(received) == 1
    # The page with the one-time key was fetched once: no HEAD-then-GET.
    assert sum(1 for h in rocks.hits if h.path == f"/test/23/page/{KEY_PAGE}") == 1


class _multi_header_page:
    """A Page whose headers may repeat (several Link fields)."""

    def __new__(cls, body: str, headers):  # noqa: ANN001
        if isinstance(headers, dict):
            return Page(body, 200, headers)
        return _RepeatedHeaders(body, headers)


class _RepeatedHeaders(Page):
    def __init__(self, body: str, pairs: list[tuple[str, str]]) -> None:
        super().__init__(body, 200, _Pairs(pairs))


class _Pairs(dict):
    """Header pairs that PageServer's handler iterates with .items(), repeats kept."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__()
        self._pairs = pairs

    def items(self):  # noqa: ANN201
        return list(self._pairs)
