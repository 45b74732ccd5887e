"""The "Links to this post" widget in headless Chromium, fed mentions full of XSS payloads.

Spec §9 receiver 8 (output safety) and the issue's display test: payloads in author names,
URLs, photos, titles, summaries and content (text and HTML), stored as they are (as if the
verifier had missed them), must render as inert text in the widget script (embedded from
another origin with one script tag) and in the server-rendered ``/widget`` snippet, and
``/api/mentions`` must carry no ``javascript:`` URL. A positive control shows the page would
notice a payload that ran. Needs Debian's chromium and playwright; skips, saying why, without.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from browserkit import chromium
from linkrows import insert, link, ts
from serverkit import Page, PageServer, start_linkback

from linkback import mentions
from linkback.conformance import browser_links as bl
from linkback.mentions import Outcome, Receipt
from linkback.mentions._render import PROPERTY_OF_TYPE

pytestmark = pytest.mark.browser

TARGET = "http://blog.test/xss"
NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
JS_URL = "javascript:window.__xss=1"
SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=1">'
SVG = '"><svg onload=window.__xss=1>'
HTML = f'<p>Hello {SCRIPT}{IMG}<svg onload=window.__xss=1></svg><a href="{JS_URL}">x</a> <b>bold</b></p>'
#: (source, type, columns): seven mentions, one backlink in the index => eight items.
MENTIONS = [
    ("http://a.test/1", "like", {"author_name": SCRIPT, "author_url": JS_URL, "author_photo": JS_URL}),
    ("http://b.test/2", "like", {"author_name": IMG, "author_photo": "http://photos.test/b.png"}),
    ("http://c.test/3", "repost", {"author_name": SVG, "url": JS_URL}),
    (
        "http://d.test/4",
        "reply",
        {
            "author_name": f"{SVG} Dave",
            "author_url": JS_URL,
            "author_photo": " javascript:window.__xss=1",
            "url": JS_URL,
            "name": SCRIPT,
            "summary": IMG,
            "content_html": HTML,
            "content_text": f"Hello {SCRIPT} {IMG}",
        },
    ),
    ("http://e.test/5", "reply", {"author_name": "Erin", "summary": f"{SVG} summary", "content_html": IMG}),
    ("http://f.test/6", "mention", {"author_name": "Frank", "name": SVG, "url": JS_URL}),
    ("http://g.test/7", "rsvp", {"author_name": "Gina", "rsvp": SCRIPT}),
]
NAMES = [SCRIPT, IMG, SVG, f"{SVG} Dave", "Erin", "Frank", "Gina"]
ITEMS = len(MENTIONS) + 1

# Run inside the page: every way a payload could have become live markup or a live URL.
AUDIT = """() => {
  const widget = document.querySelector('.lb-widget');
  const inside = widget ? [widget, ...widget.querySelectorAll('*')] : [];
  return {
    xss: typeof window.__xss,
    state: widget && widget.getAttribute('data-lb-state'),
    items: widget ? widget.querySelectorAll('.lb-item').length : -1,
    jsLinks: document.querySelectorAll('[href^="javascript:" i], [src^="javascript:" i]').length,
    onAttrs: inside.flatMap(e => [...e.attributes].map(a => a.name)).filter(n => n.startsWith('on')),
    liveTags: inside.filter(e => ['SCRIPT', 'SVG', 'IFRAME', 'OBJECT', 'EMBED', 'STYLE']
                                   .includes(e.tagName.toUpperCase())).length,
    hrefs: [...(widget ? widget.querySelectorAll('[href], [src]') : [])]
             .map(e => e.getAttribute('href') || e.getAttribute('src')),
    rels: [...(widget ? widget.querySelectorAll('a') : [])].map(a => a.getAttribute('rel')),
    text: widget ? widget.textContent : '',
    titles: [...(widget ? widget.querySelectorAll('[title]') : [])].map(e => e.getAttribute('title')),
    authors: [...(widget ? widget.querySelectorAll('.lb-author') : [])].map(e => e.textContent),
  };
}"""


@pytest.fixture(scope="module", autouse=True)
def _need_browser() -> None:
    why = bl.browser_missing()
    if why:
        pytest.skip(why)


def fill(store) -> None:
    con = store.con
    for n, (source, kind, columns) in enumerate(MENTIONS):
        at = NOW - timedelta(hours=len(MENTIONS) - n)
        ((mid, _),) = mentions.receive_many(con, [Receipt("webmention", source, TARGET, "blog.test")], at)
        content = {"type": kind, "wm_property": PROPERTY_OF_TYPE[kind], **columns}
        mentions.record_outcome(con, mid, Outcome("verified", content=content, decision="approved"), at)
    insert(store, "links", [link("http://ext.test/a", TARGET, anchor=IMG, first_seen=ts("2024-02-01"))])


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    # The mentions are stored verified: no job to wait for, so the runner polls at its default
    # pace, not start_linkback's 20 Hz (~0.2 CPU-seconds a second while the browser works).
    srv = start_linkback(tmp_path_factory.mktemp("widget"), prepare=fill, poll_seconds=1.0)
    with PageServer() as pages:
        pages.pages["/post"] = Page(
            "<!doctype html><html><head><meta charset=utf-8><title>A post</title></head><body>"
            "<article><h1>A post</h1><p>Text.</p></article>"
            f'<script src="{srv.url}/widget.js" data-target="{TARGET}" data-backlinks="1" async></script>'
            "</body></html>"
        )
        pages.pages["/canonical"] = Page(
            "<!doctype html><html><head><meta charset=utf-8>"
            f'<link rel="canonical" href="{TARGET}#top"></head><body><div id="here"></div>'
            f'<script src="{srv.url}/widget.js" data-container="#here" data-css="0" data-heading="Replies &amp; likes"'
            " async></script></body></html>"
        )
        pages.pages["/control"] = Page("<!doctype html><html><body><p>control</p></body></html>")
        yield srv.url, pages
    srv.stop()


@pytest.fixture
def browser():
    # Only 127.0.0.1 is reachable (author photos fail fast); images stay on, so an injected
    # <img onerror> would fire. The process's shared Chromium: this test's contexts close after it.
    with chromium() as shared:
        yield shared


def audit(page) -> dict:
    page.wait_for_selector('.lb-widget[data-lb-state="ready"]', timeout=10_000)
    page.wait_for_load_state("networkidle", timeout=10_000)  # images tried, their error events fired
    return page.evaluate(AUDIT)


def check(result: dict) -> None:
    assert result["xss"] == "undefined"
    assert result["state"] == "ready"
    assert result["items"] == ITEMS
    assert result["jsLinks"] == 0
    assert result["onAttrs"] == []
    assert result["liveTags"] == 0
    assert all(h.startswith(("http://", "https://")) for h in result["hrefs"]), result["hrefs"]
    assert set(result["rels"]) == {"nofollow ugc noopener"}
    # Names are shown as the literal text they are: as the face's title, or as the author.
    shown = set(result["titles"]) | set(result["authors"])
    assert set(NAMES) <= shown, set(NAMES) - shown


def test_payloads_stay_inert_in_the_widget_script_and_the_snippet(servers, browser):
    base, pages = servers
    context = browser.new_context()
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        # Positive control: the same page does notice a payload that gets parsed as markup.
        page.goto(pages.url("/control"))
        page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=\"window.__ctl=1\">')")
        page.wait_for_function("window.__ctl === 1", timeout=5_000)

        # The script tag, embedded in a page of another origin.
        page.goto(pages.url("/post"))
        result = audit(page)
        check(result)
        assert errors == []
        assert "Links to this post" in result["text"]
        assert f"Hello {SCRIPT} {IMG}" in result["text"]  # a reply's content, as literal text
        assert "Likes" in result["text"] and "Replies" in result["text"] and "Also linked from" in result["text"]
        reply = page.locator(".lb-reply").first
        assert reply.locator(".lb-content").inner_text().startswith(f"Hello {SCRIPT}")
        assert reply.locator(".lb-date").get_attribute("href") == "http://d.test/4"  # javascript: url → source
        assert page.locator(".lb-rsvp .lb-rsvp-value").inner_text() == "RSVP"  # not a valid RSVP value

        # The server-rendered snippet, opened directly (its CSP would stop scripts; the DOM must
        # be clean regardless, because people paste it into their own pages).
        page.goto(f"{base}/widget?target={TARGET}&backlinks=1")
        check(audit(page))
        assert page.locator(".lb-reply .lb-content b").first.inner_text() == "bold"  # sanitised HTML kept
        assert errors == []
    finally:
        context.close()

    # The JSON the widget read.
    api = httpx.get(f"{base}/api/mentions", params={"target": TARGET, "per-page": 100}).text
    assert "javascript:" not in api.lower()
    assert "<" not in api


def test_widget_does_not_trust_the_json(servers, browser):
    """The script re-checks what the API guarantees: answers from an older or a compromised
    server, with script URLs and markup everywhere, still render as inert text."""
    import json

    base, pages = servers
    bad_urls = [JS_URL, " JaVaScRiPt:window.__xss=1", "data:text/html,<script>window.__xss=1</script>", "x"]
    children = [
        {
            "type": "entry",
            "author": {"type": "card", "name": IMG, "url": bad, "photo": bad},
            "url": bad,
            "wm-source": bad,
            "wm-property": prop,
            "name": SVG,
            "summary": "",
            "published": "<script>",
            "rsvp": IMG,
            "content": {"html": IMG + SCRIPT, "text": ""},
        }
        for bad, prop in zip(bad_urls, ["like-of", "in-reply-to", "<script>", "rsvp"])
    ]
    feed = {"type": "feed", "children": children, "total": len(children)}
    backlinks = {"links": [{"source_url": JS_URL, "anchor": IMG}, {"source_url": "http://ok.test/", "anchor": IMG}]}

    def answer(body: dict):
        def handler(route) -> None:
            route.fulfill(
                status=200,
                content_type="application/json",
                headers={"Access-Control-Allow-Origin": "*"},
                body=json.dumps(body),
            )

        return handler

    context = browser.new_context()
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.route(f"{base}/api/mentions?*", answer(feed))
        page.route(f"{base}/api/backlinks?*", answer(backlinks))
        page.goto(pages.url("/post"))
        result = audit(page)
        assert errors == []
        assert result["xss"] == "undefined"
        assert result["items"] == len(children) + 1  # the javascript: backlink is left out
        assert result["jsLinks"] == 0 and result["onAttrs"] == [] and result["liveTags"] == 0
        assert result["hrefs"] and all(h.startswith(("http://", "https://")) for h in result["hrefs"])
        assert page.locator('.lb-widget [src^="data:"], .lb-widget [href^="data:"]').count() == 0
        assert IMG in result["titles"] and IMG in result["authors"]
        assert SVG in result["text"]  # the entry name, as text
    finally:
        context.close()


def test_widget_options(servers, browser):
    """No data-target: the canonical URL (fragment dropped); data-container, data-heading,
    data-css="0"; no data-backlinks: mentions only."""
    _, pages = servers
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(pages.url("/canonical"))
        result = audit(page)
        assert result["xss"] == "undefined"
        assert result["items"] == len(MENTIONS)
        assert page.locator("#here.lb-widget .lb-heading").inner_text() == "Replies & likes"
        assert page.locator("link[data-lb-css]").count() == 0
        assert page.locator(".lb-backlink").count() == 0
    finally:
        context.close()
