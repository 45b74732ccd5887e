"""Is the link still on the page? A check reads the page as ingest reads it (``extract()``, hrefs
resolved by :mod:`linkback.urls`) and compares with the ledger's target, stored by the same URL
layer; so the link is found exactly when the index would store the same ``target_url`` — plus one
leniency: the same page by http or https, or with or without the slash ending its path."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from linkback.extract import extract
from linkback.monitor._check import find_link
from linkback.monitor._ledger import split_target
from linkback.records import FetchedPage, Link

TARGET = "https://example.com/path"
SOURCE = "https://blog.example.org/dir/post"
TWO_PARAMS = "https://example.com/path?a=1&b=2"
IDN, PUNYCODE = "https://bücher.example/path", "https://xn--bcher-kva.example/path"
LATIN = '<meta charset="windows-1252">'

# (ledger target, href as written in the page, page URL, <head> extra, what the check must say):
# "stored" — ingest stores the same target_url; "same page" — another scheme or path slash;
# "other" — another URL, so the link is not there.
SPELLINGS = [
    pytest.param(TARGET, "https://Example.COM:443/path", SOURCE, "", "stored", id="host case, default port"),
    pytest.param(TARGET, "https://example.com/path#pricing", SOURCE, "", "stored", id="fragment"),
    pytest.param(TARGET, "//example.com/path", SOURCE, "", "stored", id="scheme-relative"),
    pytest.param(TARGET, "/path", "https://example.com/blog/post", "", "stored", id="root-relative"),
    pytest.param(TARGET, "../path", "https://example.com/blog/post", "", "stored", id="dot-relative"),
    pytest.param(TARGET, "path", SOURCE, '<base href="https://example.com/">', "stored", id="base href"),
    pytest.param(TARGET, "https://example.com/a/./../path", SOURCE, "", "stored", id="dot segments"),
    pytest.param(TARGET, "https:\\\\example.com\\path", SOURCE, "", "stored", id="backslashes"),
    pytest.param(TARGET, " https://exa\tmple.com/pa\nth ", SOURCE, "", "stored", id="spaces, tab, newline"),
    pytest.param(TWO_PARAMS, "https://example.com/path?a=1&amp;b=2", SOURCE, "", "stored", id="&amp;"),
    pytest.param(TWO_PARAMS, "https://example.com/path?a=1&#38;b=2", SOURCE, "", "stored", id="&#38;"),
    pytest.param(TWO_PARAMS, "https://example.com/path?a=1&amp;amp;b=2", SOURCE, "", "other", id="&amp;amp;"),
    pytest.param(IDN, "https://xn--bcher-kva.example/path", SOURCE, "", "stored", id="IDN target, punycode href"),
    pytest.param(PUNYCODE, "https://BÜCHER.example/path", SOURCE, "", "stored", id="punycode target, IDN href"),
    # The query of a link in a windows-1252 page is sent, and stored, in windows-1252.
    pytest.param(TARGET + "?q=caf%E9", TARGET + "?q=café", SOURCE, LATIN, "stored", id="query in windows-1252"),
    pytest.param(TARGET + "?q=caf%C3%A9", TARGET + "?q=café", SOURCE, LATIN, "other", id="query not in UTF-8"),
    pytest.param("https://example.com/a%20b", "https://example.com/a b", SOURCE, "", "stored", id="a space"),
    pytest.param(TARGET, "HTTP://example.com/path#frag", SOURCE, "", "same page", id="http, fragment"),
    pytest.param(TARGET, "http://example.com:80/path", SOURCE, "", "same page", id="http, default port"),
    pytest.param(TARGET, "https://example.com/path/", SOURCE, "", "same page", id="path slash"),
    pytest.param(TARGET + "/?q=1", TARGET + "?q=1", SOURCE, "", "same page", id="path slash before a query"),
    # WHATWG, and so the index, keep an empty query and percent-encoded letters as written (RFC
    # 3986 §6.2.3 does not call "?" empty equivalent either): another target_url, another link.
    pytest.param(TARGET, "https://Example.com:443/path?", SOURCE, "", "other", id="empty query"),
    pytest.param(TARGET, "https://example.com/%70ath", SOURCE, "", "other", id="percent-encoded letter"),
    pytest.param(TARGET, "https://example.com/Path", SOURCE, "", "other", id="path case"),
    pytest.param(TARGET, "https://www.example.com/path", SOURCE, "", "other", id="www"),
    pytest.param(TARGET, "https://example.com./path", SOURCE, "", "other", id="host dot"),
    pytest.param(TARGET, "https://example.com:8443/path", SOURCE, "", "other", id="another port"),
    pytest.param(TARGET, "https://user@example.com/path", SOURCE, "", "other", id="userinfo"),
    pytest.param(TARGET, "https://example.com/path?a", SOURCE, "", "other", id="a query"),
    pytest.param(TARGET, "https://example.com/path?utm_source=x", SOURCE, "", "other", id="tracking query"),
    pytest.param(TARGET, "https://example.com/path/more", SOURCE, "", "other", id="deeper path"),
    pytest.param(TARGET, "path", SOURCE, "", "other", id="relative to the source"),
    pytest.param(TARGET + "?next=", TARGET + "?next=/", SOURCE, "", "other", id="slash ending a query"),
    pytest.param("https://example.com/?q=", "https://example.com/?q=/", SOURCE, "", "other", id="slash after q="),
]


def links_of(href: str, page_url: str, head: str = "") -> list[Link]:
    charset = "windows-1252" if head == LATIN else "utf-8"
    html = f'<!doctype html><html><head>{head}</head><body><main><a href="{href}">Pricing</a></main></body></html>'
    page = FetchedPage(
        url=page_url, final_url=page_url, status=200, headers=(("Content-Type", f"text/html; charset={charset}"),),
        body=html.encode(charset), fetched_at=datetime.now(UTC), via="monitor",
    )  # fmt: skip
    return extract(page)[1]


@pytest.mark.parametrize(("target", "href", "page_url", "head", "expected"), SPELLINGS)
def test_a_link_is_found_when_ingest_would_store_the_same_target(
    target: str, href: str, page_url: str, head: str, expected: str
) -> None:
    target_url, target_host, target_domain, _ = split_target(target)  # as `monitor add` stores it
    assert target_url is not None
    links = links_of(href, page_url, head)
    found = find_link(links, target_url, target_host, target_domain)
    assert (found is not None) == (expected != "other"), [lk.target_url for lk in links]
    stored = [lk.target_url for lk in links if lk.kind == "text"]
    assert (stored == [target_url]) == (expected == "stored"), stored
