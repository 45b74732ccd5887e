"""extract(): literal expectations on small in-memory pages, one rule per test."""

from __future__ import annotations

import pickle
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkback.extract import DEFAULT_LIMITS, ExtractLimits, ParsedPage, _nesting, extract
from linkback.records import FetchedPage, Link, PageFacts

WHEN = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
HTML = (("Content-Type", "text/html"),)


def page(
    body: bytes | str,
    url: str = "https://example.com/post",
    *,
    status: int = 200,
    headers: tuple[tuple[str, str], ...] = HTML,
    **kw: object,
) -> FetchedPage:
    if isinstance(body, str):
        body = body.encode()
    return FetchedPage(url=url, status=status, headers=headers, body=body, fetched_at=WHEN, **kw)


def links_of(body: bytes | str, **kw: object) -> list[Link]:
    return extract(page(body, **kw))[1]


def test_the_records_docstring_example() -> None:
    [link] = links_of('<a href="/x" rel="nofollow ugc">Read <b>more</b></a>')
    assert link == Link(
        target_url="https://example.com/x",
        target_host="example.com",
        target_domain="example.com",
        target_rhost="com.example",
        anchor="Read more",
        rel=("nofollow", "ugc"),
        nofollow=True,
        ugc=True,
        kind="text",
        section="content",
        context="Read more",
        internal=True,
    )


def test_page_facts_of_a_plain_page() -> None:
    facts, links = extract(
        page(
            '<html lang="en-GB"><head><title>  Hello\n world </title></head><body>'
            '<a href="https://other.org/">o</a><a href="//sub.example.com/a">s</a></body></html>',
            url="HTTPS://Example.COM:443/post#top",
            record_id="<urn:x>",
            source="a.warc",
            offset=42,
        )
    )
    assert facts == PageFacts(
        url="https://example.com/post",
        status=200,
        fetched_at=WHEN,
        host="example.com",
        domain="example.com",
        rhost="com.example",
        title="Hello world",
        lang="en-gb",
        charset="utf-8",
        content_type="text/html",
        n_internal=1,
        n_external=1,
        record_id="<urn:x>",
        source="a.warc",
        offset=42,
    )
    assert [(x.target_url, x.internal) for x in links] == [
        ("https://other.org/", False),
        ("https://sub.example.com/a", True),
    ]


def test_svg_links_are_not_page_links() -> None:
    # Lexbor's a[href] matches SVG <a xlink:href>; a browser's document.links does not list it.
    body = '<svg><a xlink:href="/svg-target"><text>t</text></a></svg><a href="/html">h</a><a href>e</a>'
    assert [x.target_url for x in links_of(body)] == ["https://example.com/html", "https://example.com/post"]


def test_lang_falls_back_to_content_language() -> None:
    facts, _ = extract(page("<p>x", headers=HTML + (("Content-Language", "de-DE, en"),)))
    assert facts.lang == "de-de"


# --- resolution -----------------------------------------------------------------------------


def test_first_base_href_wins_and_is_resolved_against_the_page_url() -> None:
    body = '<a href="a">1</a><base href="/dir/"><base href="https://else.org/">'
    assert [x.target_url for x in links_of(body)] == ["https://example.com/dir/a"]


def test_base_without_href_is_ignored() -> None:
    assert (
        links_of('<base target="_blank"><base href="/d/"><a href="x">x</a>')[0].target_url == "https://example.com/d/x"
    )


def test_final_url_is_the_base_when_the_source_followed_redirects() -> None:
    facts, links = extract(
        page('<a href="x">x</a>', url="http://example.com/old", final_url="https://www.example.com/new/")
    )
    assert facts.url == "http://example.com/old"
    assert facts.final_url == "https://www.example.com/new/"
    assert links[0].target_url == "https://www.example.com/new/x"


def test_fragments_are_dropped_and_bad_hrefs_counted() -> None:
    facts, links = extract(
        page(
            '<a href="#top">t</a><a href="javascript:void(0)">j</a><a href="mailto:a@b.c">m</a>'
            '<a href="http://[bad/">b</a><a href=" /ok#x ">ok</a><a href="tel:1">t</a>'
        )
    )
    assert [x.target_url for x in links] == ["https://example.com/post", "https://example.com/ok"]
    assert facts.skipped_links == (("invalid_url", 1), ("non_http_scheme", 3))


def test_query_is_encoded_in_the_document_encoding() -> None:
    body = '<meta charset="shift_jis"><a href="/s?q=日本">日本</a>'.encode("shift_jis")
    facts, [link] = extract(page(body))
    assert facts.charset == "shift_jis"
    assert link.target_url == "https://example.com/s?q=%93%FA%96{"  # 0x7B is "{", not escaped in a query
    assert link.anchor == "日本"


# --- rel and robots -------------------------------------------------------------------------


def test_rel_tokens_are_lowercased_deduplicated_and_flagged() -> None:
    [link] = links_of('<a href="/x" rel=" NoFollow  UGC nofollow Sponsored external">x</a>')
    assert link.rel == ("nofollow", "ugc", "sponsored", "external")
    assert (link.nofollow, link.ugc, link.sponsored) == (True, True, True)


@pytest.mark.parametrize(
    "meta, noindex, nofollow",
    [
        ('<meta name="robots" content="noindex, nofollow">', True, True),
        ('<meta name="ROBOTS" content="NOFOLLOW">', False, True),
        ('<meta name="googlebot" content="noindex">', True, False),
        ('<meta name="robots" content="none">', True, True),
        ('<meta name="bingbot" content="nofollow">', False, False),
        ('<meta name="robots" content="index, follow">', False, False),
    ],
)
def test_meta_robots(meta: str, noindex: bool, nofollow: bool) -> None:
    facts, [link] = extract(page(meta + '<a href="/x">x</a>'))
    assert (facts.noindex, facts.nofollow) == (noindex, nofollow)
    assert link.nofollow is nofollow and link.rel == ()


@pytest.mark.parametrize(
    "values, noindex, nofollow",
    [
        (["nofollow"], False, True),
        (["none"], True, True),
        (["googlebot: noindex, nofollow"], True, True),
        (["bingbot: noindex, nofollow"], False, False),
        (["bingbot: noindex", "nofollow"], False, True),
        (["unavailable_after: 25 Jun 2010 15:00:00 PST, noindex"], True, False),
    ],
)
def test_x_robots_tag(values: list[str], noindex: bool, nofollow: bool) -> None:
    headers = HTML + tuple(("X-Robots-Tag", v) for v in values)
    facts, [link] = extract(page('<a href="/x">x</a>', headers=headers))
    assert (facts.noindex, facts.nofollow) == (noindex, nofollow)
    assert link.nofollow is nofollow


# --- kinds ----------------------------------------------------------------------------------


def test_image_link_takes_the_alt_as_anchor() -> None:
    image, text, area = links_of(
        '<a href="/i"><img src="l.png" alt="  Our\n logo "></a>'
        '<a href="/t"><img src="i.png" alt="icon"> Read</a>'
        '<map><area href="/m" alt="Map area" shape="rect"></map>'
    )
    assert (image.kind, image.anchor, image.alt) == ("image", "Our logo", "Our logo")
    assert (text.kind, text.anchor, text.alt) == ("text", "Read", "icon")
    assert (area.kind, area.anchor, area.alt) == ("text", "Map area", "Map area")


def test_anchor_leaves_out_scripts_and_styles_as_a_browser_shows_it() -> None:
    # Seen on real pages: a template of <picture> markup in a <script>, document.write(), an
    # SVG's <style>. A reader sees none of it; the page itself is left as it was.
    body = (
        '<a href="/story"><script type="text/template">&lt;source srcset="x.jpg"&gt;</script>'
        '<img src="s.jpg" alt="photo"> Real headline</a>'
        '<a href="/logo"><script>window.respimage && respimage()</script><img src="l.png" alt="Logo">'
        "<script>if (x) {}</script><img src='m.png' alt='Second'></a>"
        '<a href="/c">© Copyright <script>document.write(new Date().getFullYear());</script> Hearst</a>'
        '<a href="/svg"><svg><style>.cls-1{fill:#ba181d}</style></svg>bondyblog</a>'
        '<p>Before <a href="/in-context">linked <script>var junk = 1;</script>words</a> after.</p>'
    )
    story, logo, copyright_, svg, in_context = links_of(body)
    assert (story.kind, story.anchor, story.alt) == ("text", "Real headline", "photo")
    assert (logo.kind, logo.anchor, logo.alt) == ("image", "Logo", "Logo")
    assert copyright_.anchor == "© Copyright Hearst"
    assert svg.anchor == "bondyblog"
    assert in_context.anchor == "linked words"
    assert in_context.context == "Before linked words after."
    # In an SVG, a <style> or <script> holds elements, links too: nothing of it renders.
    assert links_of('<svg><style><a href="http://evil.example/">styled</a></style></svg><a href="/ok">ok</a>') == [
        links_of('<a href="/ok">ok</a>')[0]
    ]
    # A tree shared with other readers loses those elements, and reads the same again.
    parsed = ParsedPage(page(body))
    assert extract(parsed)[1] == [story, logo, copyright_, svg, in_context]
    assert parsed.tree.css("body script, body style") == []
    assert extract(parsed)[1] == [story, logo, copyright_, svg, in_context]


def test_image_without_alt_is_an_image_link_with_empty_anchor() -> None:
    [link] = links_of('<a href="/i"><img src="l.png"></a>')
    assert (link.kind, link.anchor, link.alt) == ("image", "", "")


def test_head_links_canonical_alternate_feed() -> None:
    facts, links = extract(
        page(
            '<link rel="canonical" href="/c"><link rel="canonical" href="/c2">'
            '<link rel="alternate" hreflang="de" href="/de/">'
            '<link rel="alternate" type="application/rss+xml" href="/feed">'
            '<link rel="alternate" type="Application/Atom+XML" href="/atom">'
            '<link rel="alternate stylesheet" href="/s.css"><link rel="stylesheet" href="/t.css">'
        )
    )
    assert facts.canonical == "https://example.com/c"
    assert [(x.kind, x.target_url, x.rel) for x in links] == [
        ("canonical", "https://example.com/c", ("canonical",)),
        ("canonical", "https://example.com/c2", ("canonical",)),
        ("alternate", "https://example.com/de/", ("alternate",)),
        ("feed", "https://example.com/feed", ("alternate",)),
        ("feed", "https://example.com/atom", ("alternate",)),
    ]
    assert (facts.n_internal, facts.n_external) == (0, 0)


def test_frames_forms_and_meta_refresh() -> None:
    links = links_of(
        '<meta http-equiv="Refresh" content="5; URL=\'/moved\'"><meta http-equiv="refresh" content="3">'
        '<iframe src="https://video.example.net/e/1"></iframe><frameset><frame src="/f"></frameset>'
        '<form action="/search"></form><form action=""></form><form></form>'
    )
    assert [(x.kind, x.target_url) for x in links] == [
        ("frame", "https://video.example.net/e/1"),
        ("form", "https://example.com/search"),
        ("redirect", "https://example.com/moved"),
    ]


def test_redirect_status_gives_one_link_whatever_the_body() -> None:
    facts, links = extract(
        page('<a href="/body-link">x</a>', status=301, headers=(("Location", "/new"), ("Content-Type", "text/html")))
    )
    assert facts.skipped == "redirect"
    assert [(x.kind, x.target_url, x.internal) for x in links] == [("redirect", "https://example.com/new", True)]


def test_redirect_to_a_bad_location_is_counted() -> None:
    facts, links = extract(page("", status=302, headers=(("Location", "javascript:x"),)))
    assert (facts.skipped, facts.skipped_links, links) == ("redirect", (("non_http_scheme", 1),), [])


def test_http_errors_record_facts_but_no_links() -> None:
    facts, links = extract(page('<a href="/x">x</a>', status=404))
    assert (facts.skipped, facts.status, facts.content_type, links) == ("http_error", 404, "text/html", [])


@pytest.mark.parametrize(
    "content_type, body, skipped",
    [
        ("application/pdf", b"%PDF-1.4 <a href='/x'>", "not_html"),
        ("text/plain", b"<html><a href='/x'>x</a>", "not_html"),
        ("", b"  <!DOCTYPE html><a href='/x'>x</a>", ""),
        ("", b"\xef\xbb\xbf<html><a href='/x'>x</a>", ""),
        ("", b"GIF89a<a href='/x'>", "not_html"),
        ("application/xhtml+xml; charset=utf-8", b"<?xml version='1.0'?><html><a href='/x'>x</a>", ""),
    ],
)
def test_only_html_is_parsed(content_type: str, body: bytes, skipped: str) -> None:
    headers = (("Content-Type", content_type),) if content_type else ()
    facts, links = extract(page(body, headers=headers))
    assert facts.skipped == skipped
    assert len(links) == (0 if skipped else 1)


def test_unusable_page_url() -> None:
    facts, links = extract(page('<a href="/x">x</a>', url="not a url"))
    assert (facts.skipped, facts.url, facts.host, links) == ("invalid_url", "not a url", "", [])


# --- sections and context -------------------------------------------------------------------


SECTIONED = """<body class="single comments-open">
<header><a href="/h">h</a><nav><a href="/n">n</a></nav></header>
<div role="navigation"><a href="/rn">rn</a></div>
<ul class="main-menu"><li><a href="/m">m</a></li></ul>
<main><p>Read <a href="/c">this</a> now.</p>
<aside><a href="/as">as</a></aside>
<div id="comments" class="comments-area"><article class="comment-body"><footer class="comment-meta">
<a href="https://commenter.example.org/" rel="external nofollow ugc">Bob</a></footer></article></div>
<div class="p-comment h-entry"><a href="/mf">mf</a></div>
</main>
<div id="sidebar"><a href="/sb">sb</a></div>
<div role="complementary"><a href="/rc">rc</a></div>
<footer><a href="/f">f</a></footer><div role="contentinfo"><a href="/rf">rf</a></div>
<div class="site-footer"><a href="/cf">cf</a></div><div id="masthead"><a href="/mh">mh</a></div>
<div id="disqus_thread"><a href="/d">d</a></div><div role="banner"><a href="/rb">rb</a></div>
</body>"""


def test_sections() -> None:
    got = {x.target_url.rsplit("/", 1)[1] or x.target_host: x.section for x in links_of(SECTIONED)}
    assert got == {
        "h": "header",
        "n": "nav",
        "rn": "nav",
        "m": "nav",
        "c": "content",
        "as": "aside",
        "commenter.example.org": "comment",
        "mf": "comment",
        "sb": "aside",
        "rc": "aside",
        "f": "footer",
        "rf": "footer",
        "cf": "footer",
        "mh": "header",
        "d": "comment",
        "rb": "header",
    }


def test_context_is_the_text_around_the_link() -> None:
    words = " ".join(f"w{i}" for i in range(60))
    body = f"<p>{words} <em><a href='/x'>the link</a></em> {words}</p><ul><li><a href='/y'>y</a></li></ul>"
    x, y = links_of(body)
    assert "w59 the link w0" in x.context and len(x.context) <= 100
    assert x.context.split()[0].startswith("w") and x.context.split()[-1].startswith("w")
    assert y.context == "y"


def test_context_window_is_centred_and_trimmed_to_words() -> None:
    body = "<p>" + "alpha " * 30 + "<a href='/x'>target</a>" + " omega" * 30 + "</p>"
    [x] = links_of(body)
    left, _, right = x.context.partition("target")
    assert set(left.split()) == {"alpha"} and set(right.split()) == {"omega"}
    assert abs(len(left) - len(right)) <= 8 and len(x.context) <= 100


# --- limits ---------------------------------------------------------------------------------


def test_anchor_whitespace_and_cap() -> None:
    [link] = links_of("<a href='/x'>\n  a\u00a0b\t" + "c" * 500 + "</a>")
    assert link.anchor == "a b " + "c" * 252


def test_limits_cap_links_and_bytes() -> None:
    body = "".join(f"<a href='/{i}'>{i}</a>" for i in range(50))
    facts, links = extract(page(body), limits=ExtractLimits(max_links=10, max_anchor_chars=1))
    assert len(links) == 10 and links[9].anchor == "9"
    assert facts.skipped_links == (("too_many_links", 40),)
    facts, links = extract(page(body), limits=ExtractLimits(max_parse_bytes=len("<a href='/0'>0</a>") * 3))
    assert [x.anchor for x in links] == ["0", "1", "2"]
    assert facts.skipped_links == (("page_truncated", 1),)


def test_default_limits() -> None:
    assert DEFAULT_LIMITS == ExtractLimits(
        max_parse_bytes=5 * 2**20, max_links=20_000, max_anchor_chars=256, max_context_chars=100
    )
    with pytest.raises(TypeError):
        ExtractLimits(10)  # type: ignore[misc]  # keyword-only


# --- charsets -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, headers, charset, anchor",
    [
        (
            "<a href='/x'>café</a>".encode("cp1252"),
            (("Content-Type", "text/html; charset=ISO-8859-1"),),
            "windows-1252",
            "café",
        ),
        (
            "<meta charset='windows-1252'><a href='/x'>naïve – “q”</a>".encode("cp1252"),
            HTML,
            "windows-1252",
            "naïve – “q”",
        ),
        (
            '<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS"><a href="/x">日本語</a>'.encode(
                "shift_jis"
            ),
            HTML,
            "shift_jis",
            "日本語",
        ),
        (
            "<a href='/x'>日本語</a>".encode("shift_jis"),
            (("Content-Type", 'text/html; charset="sjis"'),),
            "shift_jis",
            "日本語",
        ),
        (
            b"\xef\xbb\xbf<meta charset=windows-1252><a href='/x'>caf\xc3\xa9</a>",
            (("Content-Type", "text/html; charset=latin1"),),
            "utf-8",
            "café",
        ),
        (b"\xff\xfe" + "<a href='/x'>ünï</a>".encode("utf-16-le"), HTML, "utf-16le", "ünï"),
        ("<a href='/x'>ünï</a>".encode(), HTML, "utf-8", "ünï"),
        ("<meta charset='utf-16'><a href='/x'>ünï</a>".encode(), HTML, "utf-8", "ünï"),
        (b"<a href='/x'>caf\xc3\xa9 \xff</a>", (("Content-Type", "text/html; charset=utf-8"),), "utf-8", "café \ufffd"),
    ],
)
def test_charset(body: bytes, headers: tuple[tuple[str, str], ...], charset: str, anchor: str) -> None:
    facts, [link] = extract(page(body, headers=headers))
    assert (facts.charset, link.anchor) == (charset, anchor)


def test_charset_is_detected_when_undeclared_and_not_utf8() -> None:
    text = (
        "Die Größe der Bäume überrascht täglich viele Besucher, die früh über die Brücke "
        "gehen. Später äußern sie sich über die schöne Aussicht. "
    ) * 20
    facts, [link] = extract(page(f"<p>{text}<a href='/x'>Grüße</a></p>".encode("cp1252")))
    assert facts.charset in ("windows-1252", "iso-8859-15", "windows-1250")
    assert link.anchor == "Grüße"


# --- robustness -----------------------------------------------------------------------------


def test_deeply_nested_html_is_flattened_not_parsed_quadratically() -> None:
    body = "<div>" * 100_000 + "<a href='/deep'>deep</a>" + "</div>" * 10
    facts, [link] = extract(page(body))
    assert (link.target_url, link.anchor, link.section) == ("https://example.com/deep", "deep", "content")
    assert ("deep_nesting", 1) in facts.skipped_links


def test_deep_lists_too() -> None:
    body = "<ul><li><a href='/a'>a</a>" * 20_000
    facts, links = extract(page(body))
    assert len(links) == 20_000 and ("deep_nesting", 1) in facts.skipped_links


def _full_estimate(body: bytes) -> int:
    """The nesting estimate computed tag by tag, as the module docstring defines it."""
    depth = total = 0
    for i in range(len(body) - 1):
        if body[i] == 0x3C:
            nxt = body[i + 1] | 0x20
            if 0x61 <= nxt <= 0x7A:
                depth += 1
                total += depth
            elif body[i + 1] == 0x2F:
                depth = max(depth - 1, 0)
    return total


@pytest.mark.parametrize("opens", [6000, 6324, 6325, 6400, 7000])
def test_the_quick_tag_count_never_changes_the_nesting_answer(opens: int) -> None:
    # Around n(n+1)/2 = MAX_COST (n = 6,324): the count decides only where it may, and a page of
    # nothing but start tags just past it is still found deep.
    body = b"<div>" * opens + b"x" * _nesting.SMALL
    assert _nesting.too_deep(body) == (_full_estimate(body) > _nesting.MAX_COST) == (opens > 6324)
    closed = b"<p>x</p>" * opens * 2  # many tags, shallow
    assert not _nesting.too_deep(closed) and _full_estimate(closed) <= _nesting.MAX_COST


def test_a_50_mb_page_is_cut_at_the_parse_limit() -> None:
    chunk = b"<p>filler text <a href='/x'>x</a></p>\n"
    body = chunk * (50 * 2**20 // len(chunk))
    facts, links = extract(page(body))
    assert ("page_truncated", 1) in facts.skipped_links
    assert 0 < len(links) <= DEFAULT_LIMITS.max_parse_bytes // len(chunk) + 1


def test_binary_garbage_declared_as_html() -> None:
    import random

    rng = random.Random(7)
    body = bytes(rng.randrange(256) for _ in range(200_000))
    facts, links = extract(page(body))
    assert facts.skipped == "" and isinstance(links, list)


def test_output_pickles() -> None:
    out = extract(page(SECTIONED))
    assert pickle.loads(pickle.dumps(out)) == out
    assert pickle.loads(pickle.dumps(page(SECTIONED))) == page(SECTIONED)


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=4000),
    content_type=st.sampled_from(
        ["text/html", "", "text/html; charset=shift_jis", "text/html; charset=utf-16", "application/octet-stream"]
    ),
    status=st.sampled_from([200, 301, 404]),
)
def test_extract_never_raises(body: bytes, content_type: str, status: int) -> None:
    headers = (("Content-Type", content_type), ("Location", body[:40].decode("latin-1")))
    facts, links = extract(page(body, headers=headers, status=status))
    assert isinstance(facts, PageFacts) and all(isinstance(x, Link) for x in links)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "<a href='/x'>",
                "</a>",
                "<img alt='i'>",
                "<div>",
                "</div>",
                "<nav>",
                "<p>",
                "<table><td>",
                "<base href='//h.example/'>",
                "<meta name=robots content=nofollow>",
                "text",
                "<li>",
                "<!--",
                "<form action='/f'>",
                "<iframe src='/i'>",
                "<script>",
                "&amp;",
                "<area href=x>",
            ]
        ),
        max_size=60,
    )
)
def test_extract_never_raises_on_tag_soup(parts: list[str]) -> None:
    facts, links = extract(page("".join(parts)))
    assert facts.skipped == ""
    for link in links:
        assert link.kind in ("text", "image", "form", "frame") and link.target_url.startswith("http")
