"""linkback.protocols._discovery: Webmention endpoint discovery (spec §1.1, §9 sender 1–3, 9).

Every webmention.rocks discovery test is reproduced as a fixture: the response headers and the
page markup exactly as the suite serves them, and the endpoint a conforming sender must find.
Sources (aaronpk/webmention.rocks):

* tests 1–22: the headers and markup are ``lib/Rocks/DiscoveryTestData.php`` (@00f607ce, the
  version with test 22), ``link_header``/``link_header_name`` sent by
  ``controllers/DiscoveryTestController.php::view``; ``link_tag`` goes in the ``<head>`` of
  ``views/layout.php`` and ``description`` in the ``e-content`` of ``views/discovery-test.php``.
* test 23: ``controllers/DiscoveryTestController.php`` (@df48134) ``redirect23`` (``GET
  /test/23/page`` -> ``302 Location: page/<key>``) and ``page23`` (a ``Link`` header and an
  ``<a rel=webmention>``, both relative to the page reached), routes in ``public/index.php``.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import httpx
import pytest

from linkback.extract import extract
from linkback.extract._charset import codec
from linkback.protocols._discovery import (
    MAX_PARSE_BYTES,
    Endpoints,
    parse_link_header,
    sender_endpoints,
    webmention_endpoint,
)
from linkback.protocols._trackback import rdf_block
from linkback.records import FetchedPage
from linkback.urls import resolve

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)

ROCKS = "https://webmention.rocks/"  # Config::$base
HTML = "text/html; charset=UTF-8"


def rocks_page(num: int, link_tag: str, description: str) -> bytes:
    """A discovery test page as views/layout.php + views/discovery-test.php render it (the
    responses partial left out: it is empty for a fresh test)."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta http-equiv="X-UA-Compatible" content="IE=edge,chrome=1" />
  <meta name="viewport" content="width=device-width, initial-scale=1.0, maximum-scale=1.0">

  <title>Webmention Rocks!</title>
  <link href="/assets/semantic.min.css" rel="stylesheet">
  <link href="/assets/style.css" rel="stylesheet">
  <link href="/assets/test.css" rel="stylesheet">

  <script src="/assets/jquery-1.11.3.min.js"></script>

  {link_tag}

</head>
<body>

<div class="post-container h-entry">
  <div class="post-main ">
    <div class="left p-author h-card">
      <a href="/">
        <img src="/assets/webmention-rocks-icon.png" width="80" class="u-photo" alt="Webmention Rocks!">
      </a>
    </div>
    <div class="right">
      <h1 class="p-name"><a href="/test/{num}">Discovery Test #{num}</a></h1>
      <div class="e-content">{description}</div>
      <div class="meta">
        <a href="/test/{num}" class="u-url">
          Published:
          <time class="dt-published" datetime="2016-04-09T21:25:31-07:00">
            Saturday April 9, 2016 9:25pm -07:00
          </time>
        </a>
      </div>
    </div>
  </div>
  <div class="post-responses">
    <div id="debug"></div>
  </div>
  <div class="post-footer">
    <p>Responses are stored for 48 hours and may be deleted after that time.</p>
  </div>
</div>

<div id="test-num" data-num="{num}"></div>
<script src="/assets/streaming.js"></script>

</body>
</html>
""".encode()


# (num, Link header value(s), header name, link_tag, description, expected endpoint)
# Quoted from lib/Rocks/DiscoveryTestData.php; $params is "" (a GET request).
ROCKS_TESTS = [
    (
        1,
        ["</test/1/webmention>; rel=webmention"],
        "Link",
        "",
        "This post advertises its Webmention endpoint with an HTTP <code>Link</code> header. The URL is "
        "relative, so this will also test whether your discovery code properly resolves the relative URL.",
        ROCKS + "test/1/webmention",
    ),
    (
        2,
        [f"<{ROCKS}test/2/webmention>; rel=webmention"],
        "Link",
        "",
        "This post advertises its Webmention endpoint with an HTTP <code>Link</code> header. The Webmention "
        "endpoint is listed as an absolute URL.",
        ROCKS + "test/2/webmention",
    ),
    (
        3,
        [],
        "Link",
        '<link rel="webmention" href="/test/3/webmention">',
        "This post advertises its Webmention endpoint with an HTML <code>&lt;link&gt;</code> tag in the "
        "document. The URL is relative, so this will also test whether your discovery code properly "
        "resolves the relative URL.",
        ROCKS + "test/3/webmention",
    ),
    (
        4,
        [],
        "Link",
        f'<link href="{ROCKS}test/4/webmention" rel="webmention">',
        "This post advertises its Webmention endpoint with an HTML <code>&lt;link&gt;</code> tag in the "
        "document. The Webmention endpoint is listed as an absolute URL.",
        ROCKS + "test/4/webmention",
    ),
    (
        5,
        [],
        "Link",
        "",
        'This post advertises its <a rel="webmention" href="/test/5/webmention">Webmention endpoint</a> with '
        "an HTML <code>&lt;a&gt;</code> tag in the body. The URL is relative, so this will also test whether "
        "your discovery code properly resolves the relative URL.",
        ROCKS + "test/5/webmention",
    ),
    (
        6,
        [],
        "Link",
        "",
        f'This post advertises its <a href="{ROCKS}test/6/webmention" rel="webmention">Webmention endpoint</a> '
        "with an HTML <code>&lt;a&gt;</code> tag in the body. The Webmention endpoint is listed as an "
        "absolute URL.",
        ROCKS + "test/6/webmention",
    ),
    (
        7,
        [f"<{ROCKS}test/7/webmention>; rel=webmention"],
        "LinK",
        "",
        "This post advertises its Webmention endpoint with an HTTP header with intentionally unusual casing, "
        '"<code>LinK</code>". This helps you test whether you are handling HTTP header names in a case '
        "insensitive way.",
        ROCKS + "test/7/webmention",
    ),
    (
        8,
        [f'<{ROCKS}test/8/webmention>; rel="webmention"'],
        "Link",
        "",
        "This post advertises its Webmention endpoint with an HTTP <code>Link</code> header. Unlike tests #1 "
        'and #2, the rel value is quoted, since HTTP allows both <code>rel="webmention"</code> and '
        "<code>rel=webmention</code> for the Link header.",
        ROCKS + "test/8/webmention",
    ),
    (
        9,
        [],
        "Link",
        f'<link rel="webmention somethingelse" href="{ROCKS}test/9/webmention">',
        "This post has a &lt;link&gt; tag with multiple rel values.",
        ROCKS + "test/9/webmention",
    ),
    (
        10,
        [f'<{ROCKS}test/10/webmention>; rel="webmention somethingelse"'],
        "Link",
        "",
        "This post has an HTTP Link header with multiple rel values.",
        ROCKS + "test/10/webmention",
    ),
    (
        11,
        ['</test/11/webmention>; rel="webmention"'],
        "Link",
        '<link rel="webmention" href="/test/11/webmention/error">',
        "This post advertises its Webmention endpoint in the HTTP Link header, HTML &lt;link&gt; tag, as well "
        'as an <a href="/test/11/webmention/error" rel="webmention">&lt;a&gt; tag</a>. Your Webmention client '
        "must only send a Webmention to the one in the Link header.",
        ROCKS + "test/11/webmention",
    ),
    (
        12,
        [],
        "Link",
        '<link rel="not-webmention" href="/test/12/webmention/error">',
        'This post contains a link tag with a rel value of "not-webmention", just to make sure you aren\'t '
        'using naïve string matching to find the endpoint. There is also a <a href="/test/12/webmention" '
        'rel="webmention">correct endpoint</a> defined, so if your comment appears below, it means you '
        "successfully ignored the false endpoint.",
        ROCKS + "test/12/webmention",
    ),
    (
        13,
        [],
        "Link",
        "",
        'This post contains an HTML comment <!-- <a href="/test/13/webmention/error" rel="webmention"></a> --> '
        "that contains a rel=webmention element, which should not receive a Webmention since it's inside an "
        'HTML comment. There is also a <a href="/test/13/webmention" rel="webmention">correct endpoint</a> '
        "defined, so if your comment appears below, it means you successfully ignored the false endpoint.",
        ROCKS + "test/13/webmention",
    ),
    (
        14,
        [],
        "Link",
        "",
        "This post contains sample code with escaped HTML which should not be discovered by the Webmention "
        'client. <code>&lt;a href="/test/14/webmention/error" rel="webmention"&gt;&lt;/a&gt;</code> There is '
        'also a <a href="/test/14/webmention" rel="webmention">correct endpoint</a> defined, so if your '
        "comment appears below, it means you successfully ignored the false endpoint.",
        ROCKS + "test/14/webmention",
    ),
    (
        15,
        [],
        "Link",
        '<link rel="webmention" href="">',
        "This post has a &lt;link&gt; tag where the href value is an empty string, meaning the page is its "
        "own Webmention endpoint. This tests the relative URL resolver of the sender to ensure an empty "
        "string is resolved to the page's URL.",
        ROCKS + "test/15",
    ),
    (
        16,
        [],
        "Link",
        "",
        'This post advertises its Webmention endpoint in an HTML <a href="/test/16/webmention" '
        'rel="webmention">&lt;a&gt; tag</a>, followed by a later definition in a &lt;link&gt; tag. Your '
        "Webmention client must only send a Webmention to the one in the &lt;a&gt; tag since it appears "
        'first in the document. <link rel="webmention" href="/test/16/webmention/error">',
        ROCKS + "test/16/webmention",
    ),
    (
        17,
        [],
        "Link",
        "",
        'This post advertises its Webmention endpoint in an HTML &lt;link&gt; tag <link rel="webmention" '
        'href="/test/17/webmention"> followed by a later definition in an <a href="/test/17/webmention/error" '
        'rel="webmention">&lt;a&gt; tag</a>. Your Webmention client must only send a Webmention to the one '
        "in the &lt;link&gt; tag since it appears first in the document.",
        ROCKS + "test/17/webmention",
    ),
    (
        18,
        [f'<{ROCKS}test/18/webmention/error>; rel="other"', f'<{ROCKS}test/18/webmention>; rel="webmention"'],
        "Link",
        "",
        "This post returns two HTTP Link headers, the first with a different rel value. This ensures your "
        "code correcly parses the HTTP response when multiple Link headers are returned.",
        ROCKS + "test/18/webmention",
    ),
    (
        19,
        [f'<{ROCKS}test/19/webmention/error>; rel="other", <{ROCKS}test/19/webmention>; rel="webmention"'],
        "Link",
        "",
        "This post returns one HTTP Link header with multiple values separated by a comma. This ensures your "
        "code correcly parses the HTTP headers.",
        ROCKS + "test/19/webmention",
    ),
    (
        20,
        [],
        "Link",
        "",
        'This post has a &lt;link&gt; tag <link rel="webmention"> which has no href attribute. Your '
        "Webmention client should not find this link tag, and should send the webmention to <a "
        'href="/test/20/webmention" rel="webmention">this endpoint</a> instead.',
        ROCKS + "test/20/webmention",
    ),
    (
        21,
        [],
        "Link",
        '<link rel="webmention" href="/test/21/webmention?query=yes">',
        "This post's Webmention endpoint has query string parameters. Your Webmention client must preserve "
        "the query string parameters, and not send them in the post body.",
        ROCKS + "test/21/webmention?query=yes",
    ),
    (
        22,
        [],
        "Link",
        '<link rel="webmention" href="22/webmention">',
        "This post's Webmention endpoint is relative to the page rather than relative to the host.",
        ROCKS + "test/22/webmention",
    ),
]

# Test 23 (controllers/DiscoveryTestController.php page23): keys are one-time codes.
KEY_PAGE = "ksGubrIxAHlJfuhVnjk6"
KEY_ENDPOINT = "K3fVsQtckketRtqymAm2"
PAGE23_BODY = (
    '<div class="h-entry"><h2 class="p-name">Discovery Test #23</h2><p><a href="/test/23/page" '
    'class="u-url">permalink</a> <a href="/" class="p-author h-card"><img '
    'src="/assets/webmention-rocks-icon.png" alt="Webmention Rocks!"></a></p><p><a rel="webmention" '
    f'href="webmention-endpoint/{KEY_ENDPOINT}">webmention endpoint</a></p></div>'
).encode()
PAGE23_LINK = f"<webmention-endpoint/{KEY_ENDPOINT}>; rel=webmention"
TARGET23 = ROCKS + "test/23/page"
FINAL23 = ROCKS + f"test/23/page/{KEY_PAGE}"
ENDPOINT23 = ROCKS + f"test/23/page/webmention-endpoint/{KEY_ENDPOINT}"


def _headers(values: list[str], name: str = "Link") -> list[tuple[str, str]]:
    return [("Content-Type", HTML), *((name, v) for v in values)]


# --- webmention.rocks discovery tests 1-23 ---------------------------------------------------


@pytest.mark.parametrize(
    ("num", "links", "name", "link_tag", "description", "expected"),
    ROCKS_TESTS,
    ids=[f"rocks{t[0]}" for t in ROCKS_TESTS],
)
def test_webmention_rocks(num, links, name, link_tag, description, expected):
    body = rocks_page(num, link_tag, description)
    url = f"{ROCKS}test/{num}"
    assert webmention_endpoint(_headers(links, name), body, url) == expected
    # The same with the page decoded already and the type passed in.
    assert webmention_endpoint([(name, v) for v in links], body.decode(), url, content_type=HTML) == expected


def test_webmention_rocks_covers_every_test():
    assert [t[0] for t in ROCKS_TESTS] == list(range(1, 23))  # 23 has its own tests below


def test_rocks_23_redirect_then_relative_endpoint():
    # GET /test/23/page answers 302 "Location: page/<key>", relative to the URL asked for.
    final, reason = resolve(f"page/{KEY_PAGE}", TARGET23)
    assert (final, reason) == (FINAL23, "")
    headers = [("Content-Type", "text/html; charset=UTF-8"), ("Link", PAGE23_LINK)]
    assert webmention_endpoint(headers, PAGE23_BODY, final) == ENDPOINT23
    # Resolving against the URL first asked for gives the wrong endpoint.
    assert webmention_endpoint(headers, PAGE23_BODY, TARGET23) != ENDPOINT23


def test_rocks_23_html_alone_resolves_against_final_url():
    headers = [("Content-Type", "text/html")]
    assert webmention_endpoint(headers, PAGE23_BODY, FINAL23) == ENDPOINT23
    # PHP's default type; the body is a bare <div>, so sniffing also finds it.
    assert webmention_endpoint([], PAGE23_BODY, FINAL23) == ENDPOINT23


def test_rocks_head_request_query_kept():
    # In HEAD mode the suite appends ?head=true to header endpoints ($params in _testData).
    headers = [("Link", "</test/1/webmention?head=true>; rel=webmention")]
    assert webmention_endpoint(headers, None, ROCKS + "test/1") == ROCKS + "test/1/webmention?head=true"


# --- precedence and rel tokens -----------------------------------------------------------------

PAGE = "https://target.example/blog/post"
ORIGIN = "https://target.example"


def _page(head: str = "", body: str = "") -> bytes:
    return f"<!doctype html><html><head><title>t</title>{head}</head><body><p>hi</p>{body}</body></html>".encode()


def wm(body, headers=(), url=PAGE, **kw):
    return webmention_endpoint(list(headers), body, url, **kw)


def test_other_rel_link_header_does_not_stop_html_discovery():
    # webmention.rocks#27: aaronparecki.com sends a Link header without rel=webmention.
    headers = [("Link", '<https://target.example/other>; rel="other"'), ("Content-Type", "text/html")]
    body = _page('<link rel="webmention" href="/wm">')
    assert wm(body, headers) == ORIGIN + "/wm"
    headers = [("Link", "<https://target.example/hub>; rel=hub, </me>; rel=me"), ("Content-Type", "text/html")]
    assert wm(body, headers) == ORIGIN + "/wm"


def test_link_header_wins_over_html():
    headers = [("Link", "</from-header>; rel=webmention")]
    body = _page('<link rel="webmention" href="/from-link">', '<a rel="webmention" href="/from-a">x</a>')
    assert wm(body, headers, content_type="text/html") == ORIGIN + "/from-header"


def test_first_element_in_document_order():
    body = _page("", '<a rel="webmention" href="/first">a</a><link rel="webmention" href="/second">')
    assert wm(body) == ORIGIN + "/first"
    body = _page('<link rel="webmention" href="/first">', '<a rel="webmention" href="/second">a</a>')
    assert wm(body) == ORIGIN + "/first"


def test_non_hyperlink_elements_ignored():
    body = _page("", '<b rel="webmention" href="/wrong">b</b><a rel="webmention" href="/right"></a>')
    assert wm(body) == ORIGIN + "/right"
    for tag in ("b", "area", "img", "div", "form", "base", "span"):
        assert wm(_page("", f'<{tag} rel="webmention" href="/wrong"></{tag}>')) is None, tag


def test_rel_must_be_an_exact_token():
    for rel in ("not-webmention", "webmentions", "webmention-endpoint", "xwebmention", "web mention", "webmention."):
        assert wm(_page(f'<link rel="{rel}" href="/wrong">')) is None, rel
        assert wm(None, [("Link", f'</wrong>; rel="{rel}"')]) is None, rel
    # Only ASCII whitespace separates tokens: a no-break space does not.
    assert wm(_page('<link rel="webmention\u00a0x" href="/wrong">')) is None


def test_rel_token_lists_and_case():
    for rel in ("webmention", "WebMention", "me webmention", "\twebmention\n", "WEBMENTION nofollow"):
        assert wm(_page(f'<link rel="{rel}" href="/wm">')) == ORIGIN + "/wm", rel
        assert wm(None, [("Link", f'</wm>; rel="{rel}"')]) == ORIGIN + "/wm", rel


def test_legacy_webmention_org_rel():
    assert wm(_page('<link rel="http://webmention.org/" href="/old">')) == ORIGIN + "/old"
    assert wm(_page('<link rel="webmention http://webmention.org/" href="/both">')) == ORIGIN + "/both"
    assert wm(None, [("Link", '</old>; rel="http://webmention.org/"')]) == ORIGIN + "/old"


def test_link_without_href_skipped_then_a():
    body = _page('<link rel="webmention">', '<a rel="webmention">no href</a><a rel="webmention" href="/a">x</a>')
    assert wm(body) == ORIGIN + "/a"
    assert wm(_page('<link rel="webmention">')) is None


def test_empty_href_is_the_page():
    assert wm(_page('<link rel="webmention" href="">')) == PAGE
    assert wm(_page('<a rel="webmention" href="   ">x</a>')) == PAGE
    assert wm(_page('<link rel="webmention" href="">'), url=PAGE + "?p=1#c") == PAGE + "?p=1"


def test_ignored_places():
    wrong = '<a rel="webmention" href="/wrong">x</a>'
    for body in (
        f"<!-- {wrong} -->",
        f"<script>document.write('{wrong}')</script>",
        f'<script type="text/template">{wrong}</script>',
        f"<template>{wrong}<link rel=webmention href=/wrong></template>",
        f"<textarea>{wrong}</textarea>",
        f"<noscript>{wrong}</noscript>",
        f"<style>{wrong}</style>",
        f"<title>{wrong}</title>",
        f"<xmp>{wrong}</xmp>",
        "<code>&lt;a rel=webmention href=/wrong&gt;</code>",
        f"<svg>{wrong}<link rel=webmention href=/wrong /></svg>",
        f"<math>{wrong}</math>",
        f"<p data-x='{wrong}'>attribute text</p>",
    ):
        assert wm(_page("", body + '<a rel="webmention" href="/right">r</a>')) == ORIGIN + "/right", body


def test_html_inside_svg_integration_point_counts():
    body = _page("", '<svg><foreignObject><a rel="webmention" href="/fo">x</a></foreignObject></svg>')
    assert wm(body) == ORIGIN + "/fo"


def test_unclosed_comment_hides_the_rest():
    assert wm(_page("", '<!-- <a rel="webmention" href="/wrong">')) is None


# --- headers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Link", "link", "LINK", "LinK", " Link"])
def test_header_name_any_case(name):
    assert wm(None, [(name, "</wm>; rel=webmention")]) == ORIGIN + "/wm"


def test_multiple_link_fields_and_comma_lists():
    headers = [
        ("Link", '<https://target.example/a>; rel="preload", </b>; rel=prev'),
        ("Link", "<https://cdn.example/c.css>; rel=stylesheet"),
        ("link", '</d,e>; title="one, two; three"; rel="webmention", </f>; rel=webmention'),
    ]
    assert wm(None, headers) == ORIGIN + "/d,e"


def test_first_webmention_link_value_wins():
    headers = [("Link", "</one>; rel=webmention, </two>; rel=webmention"), ("Link", "</three>; rel=webmention")]
    assert wm(None, headers) == ORIGIN + "/one"


def test_non_http_candidates_skipped():
    headers = [
        ("Link", "<mailto:me@target.example>; rel=webmention, <http://[bad>; rel=webmention, </ok>; rel=webmention")
    ]
    assert wm(None, headers) == ORIGIN + "/ok"
    body = _page('<link rel="webmention" href="javascript:alert(1)">', '<a rel="webmention" href="/ok2">x</a>')
    assert wm(body) == ORIGIN + "/ok2"
    assert wm(None, [("Link", "<ftp://target.example/wm>; rel=webmention")]) is None


def test_headers_as_httpx_headers_and_mapping():
    h = httpx.Headers([("Link", "</a>; rel=other"), ("Link", "</wm>; rel=webmention")])
    assert webmention_endpoint(h, None, PAGE) == ORIGIN + "/wm"
    assert webmention_endpoint({"LINK": "</wm2>; rel=webmention"}, None, PAGE) == ORIGIN + "/wm2"
    assert webmention_endpoint([(b"Link", b"</wm3>; rel=webmention")], None, PAGE) == ORIGIN + "/wm3"
    h = httpx.Headers([("Content-Type", "text/html")])
    assert webmention_endpoint(h, _page('<link rel=webmention href="/x">'), PAGE) == ORIGIN + "/x"


# --- resolution ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("22/webmention", "https://target.example/blog/22/webmention"),  # path-relative (rocks 22)
        ("webmention", "https://target.example/blog/webmention"),
        ("./wm", "https://target.example/blog/wm"),
        ("../wm", "https://target.example/wm"),
        ("/wm", "https://target.example/wm"),  # absolute path
        ("//other.example/wm", "https://other.example/wm"),  # protocol-relative: the page's scheme
        ("?wm=1", "https://target.example/blog/post?wm=1"),
        ("HTTPS://Other.Example:443/W M", "https://other.example/W%20M"),
        ("http://other.example/wm", "http://other.example/wm"),
    ],
)
def test_relative_endpoints(href, expected):
    assert wm(_page(f'<link rel="webmention" href="{href}">')) == expected
    assert wm(None, [("Link", f"<{href}>; rel=webmention")]) == expected


def test_query_kept_exactly_fragment_dropped():
    for query in ("?query=yes", "?a=1&b=2&a=3", "?q=a%20b+c&x=%2F", "?token=AbC-_.~123&empty=", "?"):
        expected = ORIGIN + "/wm" + query
        assert wm(None, [("Link", f"</wm{query}>; rel=webmention")]) == expected, query
        assert wm(_page(f'<link rel="webmention" href="/wm{query}">')) == expected, query
    assert wm(_page('<link rel="webmention" href="/wm?x=1#frag">')) == ORIGIN + "/wm?x=1"
    assert wm(None, [("Link", "</wm#frag>; rel=webmention")]) == ORIGIN + "/wm"


def test_html_entities_in_href_decoded_by_the_parser():
    body = _page('<link rel="webmention" href="/wm?a=1&amp;b=2&#38;c=3&ampd=4">')
    assert wm(body) == ORIGIN + "/wm?a=1&b=2&c=3&ampd=4"
    # A header is not HTML: nothing to decode.
    assert wm(None, [("Link", "</wm?a=1&amp;b=2>; rel=webmention")]) == ORIGIN + "/wm?a=1&amp;b=2"
    # An entity in rel is decoded too.
    assert wm(_page('<link rel="&#119;ebmention" href="/e">')) == ORIGIN + "/e"


def test_base_href_for_html_not_for_header():
    head = '<base href="https://cdn.example/dir/"><link rel="webmention" href="wm">'
    assert wm(_page(head)) == "https://cdn.example/dir/wm"
    # A relative <base> resolves against the page; only the first <base href> counts.
    head = '<base href="/other/"><base href="https://ignored.example/"><link rel="webmention" href="wm">'
    assert wm(_page(head)) == ORIGIN + "/other/wm"
    # A <base> after the element still sets the document's base URL.
    assert wm(_page("", '<a rel="webmention" href="wm">x</a><base href="/late/">')) == ORIGIN + "/late/wm"
    # A <base> without href, or one that gives no http(s) URL, is ignored.
    assert wm(_page('<base target="_blank"><base href="javascript:x"><link rel="webmention" href="wm">')) == (
        ORIGIN + "/blog/wm"
    )
    # The Link header resolves against the final URL whatever the body says (RFC 8288 §3.2).
    headers = [("Link", "<wm>; rel=webmention"), ("Content-Type", "text/html")]
    assert wm(_page('<base href="https://cdn.example/dir/">'), headers) == ORIGIN + "/blog/wm"


def test_invalid_final_url_gives_none():
    assert webmention_endpoint([("Link", "</wm>; rel=webmention")], None, "not a url") is None
    assert webmention_endpoint([], _page('<link rel="webmention" href="/wm">'), "") is None
    # An absolute endpoint needs no base.
    assert webmention_endpoint([("Link", "<https://x.example/wm>; rel=webmention")], None, "") == "https://x.example/wm"


# --- media types and bodies ----------------------------------------------------------------


def test_non_html_body_header_only():
    body = b"\x89PNG\r\n\x1a\n" + b'<link rel="webmention" href="/wrong">' * 3
    assert wm(body, [("Content-Type", "image/png")]) is None
    assert wm(body, [("Content-Type", "image/png"), ("Link", "</img-wm>; rel=webmention")]) == ORIGIN + "/img-wm"
    html = _page('<link rel="webmention" href="/wrong">')
    for ctype in ("text/plain", "application/json", "image/svg+xml", "application/octet-stream"):
        assert wm(html, content_type=ctype) is None, ctype


def test_html_types_and_sniffing():
    html = _page('<link rel="webmention" href="/wm">')
    for ctype in ("text/html", "TEXT/HTML; charset=utf-8", "application/xhtml+xml", "", "*/*", "unknown/unknown"):
        assert wm(html, content_type=ctype) == ORIGIN + "/wm", ctype
    # Sniffed from the body when no type is known: must start with "<".
    assert wm(b"\xef\xbb\xbf  \n" + html) == ORIGIN + "/wm"
    assert wm(b"hello " + html) is None
    # The content_type argument wins over the header; the header is used when it is not given.
    assert wm(html, [("Content-Type", "text/plain")]) is None
    assert wm(html, [("Content-Type", "text/plain")], content_type="text/html") == ORIGIN + "/wm"


def test_no_body():
    for body in (None, b"", ""):
        assert wm(body, [("Content-Type", "text/html")]) is None
        assert wm(body, [("Link", "</wm>; rel=webmention")]) == ORIGIN + "/wm"


def test_latin1_bytes():
    markup = '<link rel="webmention" href="/wm/é?q=é&r=ü">'
    body = _page(markup).decode().encode("iso-8859-1")
    # WHATWG: the path is UTF-8 percent-encoded, the query in the page's encoding.
    expected = ORIGIN + "/wm/%C3%A9?q=%E9&r=%FC"
    assert wm(body, content_type="text/html; charset=ISO-8859-1") == expected
    assert wm(body, content_type="text/html", charset="latin1") == expected
    meta = b'<!doctype html><html><head><meta charset="iso-8859-1">' + markup.encode("iso-8859-1")
    assert wm(meta, content_type="text/html") == expected
    # Undeclared, not UTF-8: detected as the extractor detects it (a guess on so short a page),
    # so the endpoint is the URL the index stores for the same element.
    facts, _ = extract(
        FetchedPage(url=PAGE, status=200, headers=(("Content-Type", "text/html"),), body=body, fetched_at=EPOCH)
    )
    href = body.decode(codec(facts.charset), "replace").split('href="')[1].split('"')[0]
    assert wm(body, content_type="text/html") == resolve(href, PAGE, facts.charset)[0]
    # A UTF-8 page gives UTF-8 everywhere.
    assert wm(_page(markup), content_type="text/html; charset=utf-8") == ORIGIN + "/wm/%C3%A9?q=%C3%A9&r=%C3%BC"


def test_broken_and_hostile_html_does_not_crash():
    cases = [
        b"<",
        b"<<<>>><a rel=webmention",
        b'<a rel="webmention href="/x">',
        b"<html><head><link rel=webmention href=/wm",  # cut off inside the tag: no element
        b"\x00\x01<html>\x00<a rel=webmention href=/nul>\x00</a>",
        b"<a rel=webmention href='/x\x00y'>",
        b"\xff\xfe<\x00a\x00",  # a UTF-16LE BOM and half a tag
        bytes(range(256)) * 50,
        b"<table><a rel=webmention href=/foster>x</a><tr><td>",
    ]
    for body in cases:
        webmention_endpoint([("Content-Type", "text/html")], body, PAGE)
        sender_endpoints([("Content-Type", "text/html")], body, PAGE)
    assert wm(b"<table><a rel=webmention href=/foster>x</a><tr><td>") == ORIGIN + "/foster"
    assert wm(b"<a rel=webmention href='/x\x00y'>") == ORIGIN + "/x%EF%BF%BDy"
    assert wm("<a rel=webmention href=/s>\ud800</a>") == ORIGIN + "/s"  # lone surrogate in a str body


def test_deep_and_huge_pages_stay_fast():
    deep = b"<div>" * 100_000 + b'<a rel="webmention" href="/deep">x</a>'
    assert wm(deep, content_type="text/html") == ORIGIN + "/deep"
    huge = _page('<link rel="webmention" href="/head">', "<p>filler text</p>" * 200_000)
    assert len(huge) > MAX_PARSE_BYTES
    assert wm(huge, content_type="text/html") == ORIGIN + "/head"
    # Only the first MAX_PARSE_BYTES are read: an endpoint after them is not found.
    late = b"<!doctype html><p>" + b"x" * MAX_PARSE_BYTES + b'<a rel="webmention" href="/late">x</a>'
    assert wm(late, content_type="text/html") is None
    # No ">" anywhere: a regex scanning "[^>]*" from every "<" would take minutes here.
    for garbage in (b"<a " * 300_000 + b"<<" * 300_000, b"<b " * 600_000, b'<div title="<">' * 100_000):
        assert wm(garbage + b'<a rel="webmention" href="/g">x</a>', content_type="text/html") is None
        sender_endpoints([("Content-Type", "text/html")], garbage, PAGE)
    # Deep but with ordinary tags: flattened, and the endpoint is still found.
    mixed = b'<link rel="webmention" href="/m">' + b"<div><span><p class=x>" * 50_000
    assert wm(mixed, content_type="text/html") == ORIGIN + "/m"  # all timed in bench/bench_hostile.py


# --- parse_link_header --------------------------------------------------------------------------


def _rels(values):
    return [(uri, sorted(rels)) for uri, rels in parse_link_header(values)]


def test_parse_link_header_basics():
    assert _rels(["</a>; rel=webmention"]) == [("/a", ["webmention"])]
    assert _rels(['<https://x/a>; rel="webmention"']) == [("https://x/a", ["webmention"])]
    assert _rels(['</a>; rel="Webmention  Other\tthird"']) == [("/a", ["other", "third", "webmention"])]
    assert _rels(["</a>;rel=webmention"]) == [("/a", ["webmention"])]
    assert _rels(["</a> ; REL = webmention ; title=x"]) == [("/a", ["webmention"])]
    assert _rels(["</a>; title=x; rel=webmention"]) == [("/a", ["webmention"])]
    assert _rels(["</a>"]) == [("/a", [])]
    assert _rels(["</a>; crossorigin; rel=next"]) == [("/a", ["next"])]
    assert _rels([""]) == []
    assert _rels([]) == []


def test_parse_link_header_fields_and_lists_in_order():
    values = ['</1>; rel="a", </2>; rel=b', "</3>; rel=c", ",, </4>; rel=d ,"]
    assert [uri for uri, _ in parse_link_header(values)] == ["/1", "/2", "/3", "/4"]
    assert parse_link_header("</only>; rel=x") == [("/only", frozenset({"x"}))]  # a lone string


def test_parse_link_header_commas_and_semicolons_inside():
    values = ['<https://x/p?page=2,3;x>; title="a, b; rel=wrong"; rel="next last", </q>; rel=prev']
    assert _rels(values) == [("https://x/p?page=2,3;x", ["last", "next"]), ("/q", ["prev"])]
    assert _rels(['</a>; title="say \\"hi\\", ok"; rel=webmention']) == [("/a", ["webmention"])]


def test_parse_link_header_first_rel_wins():
    assert _rels(["</a>; rel=next; rel=webmention"]) == [("/a", ["next"])]
    assert _rels(["</a>; rel*=UTF-8''webmention"]) == [("/a", [])]


def test_parse_link_header_recovers_from_junk():
    values = ['junk, "quoted, junk", </ok>; rel=webmention']
    assert _rels(values) == [("/ok", ["webmention"])]
    assert _rels(['</a>; rel="x"garbage; title=y, </b>; rel=z']) == [("/a", ["x"]), ("/b", ["z"])]
    assert _rels(['</a>; rel="unterminated, </b>; rel=z']) == [("/a", ["</b>;", "rel=z", "unterminated,"])]
    assert _rels(["</a; rel=webmention"]) == []
    assert _rels([b"</bytes>; rel=webmention"]) == [("/bytes", ["webmention"])]


# --- sender_endpoints ---------------------------------------------------------------------------


def test_sender_endpoints_all_three():
    page_url = "https://blog.example/2024/01/hello/"
    body = (
        "<!doctype html><html><head>"
        '<link rel="pingback" href="https://blog.example/xmlrpc.php">'
        '<link rel="webmention" href="/wp-json/webmention/endpoint">'
        "</head><body><article>hi</article>"
        + rdf_block(page_url, "https://blog.example/2024/01/hello/trackback/", "Hello")
        + "</body></html>"
    ).encode()
    headers = [("Content-Type", "text/html; charset=UTF-8"), ("X-Pingback", "https://blog.example/xmlrpc.php")]
    got = sender_endpoints(headers, body, page_url)
    assert got == Endpoints(
        webmention="https://blog.example/wp-json/webmention/endpoint",
        pingback="https://blog.example/xmlrpc.php",
        trackback="https://blog.example/2024/01/hello/trackback/",
    )
    assert got.preferred == ("webmention", "https://blog.example/wp-json/webmention/endpoint")
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.webmention = None  # type: ignore[misc]


def test_sender_endpoints_pingback_and_trackback_without_webmention():
    page_url = "https://old.example/archives/42.html"
    body = (
        '<html><head><link rel="pingback" href="https://old.example/mt-xmlrpc.cgi?a=1&amp;b=2" /></head><body>'
        + rdf_block(page_url, "https://old.example/mt-tb.cgi/42", "Post")
        + "</body></html>"
    ).encode()
    got = sender_endpoints([("Content-Type", "text/html")], body, page_url)
    assert got == Endpoints(None, "https://old.example/mt-xmlrpc.cgi?a=1&b=2", "https://old.example/mt-tb.cgi/42")
    assert got.preferred == ("pingback", "https://old.example/mt-xmlrpc.cgi?a=1&b=2")
    only_tb = sender_endpoints([], rdf_block(page_url, "/mt-tb.cgi/42", "Post").encode(), page_url)
    assert only_tb.preferred == ("trackback", "https://old.example/mt-tb.cgi/42")
    assert sender_endpoints([], b"<p>nothing</p>", page_url).preferred is None


def test_sender_endpoints_header_only_for_non_html():
    body = b'<link rel="pingback" href="https://x.example/xmlrpc">' + rdf_block(PAGE, "/tb", "t").encode()
    got = sender_endpoints([("Content-Type", "image/png"), ("X-Pingback", "https://x.example/rpc")], body, PAGE)
    assert got == Endpoints(None, "https://x.example/rpc", None)


def test_sender_endpoints_pingback_must_be_http():
    got = sender_endpoints([("X-Pingback", "javascript:alert(1)")], None, PAGE)
    assert got.pingback is None
    got = sender_endpoints([("x-pingback", "/xmlrpc.php")], None, PAGE)
    assert got.pingback == ORIGIN + "/xmlrpc.php"


def test_sender_endpoints_matches_webmention_endpoint_on_rocks():
    for num, links, name, link_tag, description, expected in ROCKS_TESTS:
        got = sender_endpoints(_headers(links, name), rocks_page(num, link_tag, description), f"{ROCKS}test/{num}")
        assert got == Endpoints(expected, None, None), num
