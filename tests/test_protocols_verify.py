"""Webmention source verification (spec §1.2 Verification, §9 receiver 3 and 6): find_link."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from linkback.errors import URLError
from linkback.extract import extract
from linkback.protocols._verify import LinkCheck, decode_body, find_link
from linkback.records import FetchedPage

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)

DATA = Path(__file__).resolve().parent / "data" / "mentions"
TARGET = "http://example.com/target/entry"
HTML = "text/html; charset=utf-8"


def source(name: str) -> str:
    return f"http://source.example.org/{name}"


def check(name: str, target: str = TARGET, content_type: str = HTML) -> LinkCheck:
    return find_link((DATA / f"{name}.html").read_bytes(), content_type, source(name), target)


# --- the WM-IR HTML cases ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "element"),
    [("verify-a", "a"), ("verify-img", "img"), ("verify-video", "video"), ("verify-audio", "audio")],
)
def test_target_in_a_real_element_is_accepted(name: str, element: str) -> None:
    got = check(name)
    assert got.found and got.reason == ""
    assert got.element == element
    assert got.count == 1


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("verify-text-only", "no_link_found"),
        ("verify-comment-only", "only_in_comment"),
        ("verify-escaped", "no_link_found"),
        ("verify-script", "no_link_found"),
        ("verify-absent", "no_link_found"),
    ],
)
def test_target_not_in_an_element_is_rejected(name: str, reason: str) -> None:
    got = check(name)
    assert not got.found
    assert got.reason == reason
    assert got.count == 0 and got.element == ""


def test_relative_href_resolving_to_the_target() -> None:
    got = find_link((DATA / "verify-relative.html").read_bytes(), HTML, "http://example.com/notes/1", TARGET)
    assert got.found and got.anchor == "the target"
    # The same page fetched from another site links somewhere else.
    assert not check("verify-relative").found


def test_base_href_is_respected() -> None:
    got = check("verify-base")
    assert got.found and got.element == "a"
    # Only the first <base> counts, as in browsers.
    page = '<base href="http://other.example/"><base href="http://example.com/target/"><a href="entry">x</a>'
    assert not find_link(page, HTML, source("x"), TARGET).found


@pytest.mark.parametrize(
    "target",
    [
        "https://example.com/target/entry",  # http vs https (WMIO#4)
        "http://example.com/target/entry/",  # trailing slash
        "http://www.example.com/target/entry",
        "http://example.com/target/Entry",
    ],
)
def test_variants_of_the_target_are_other_targets(target: str) -> None:
    got = check("verify-a", target=target)
    assert not got.found and got.reason == "no_link_found"


def test_same_url_in_other_spellings_matches() -> None:
    for href in ("HTTP://EXAMPLE.COM:80/target/./entry", "http://example.com/target/x/../entry"):
        assert find_link(f'<a href="{href}">x</a>', HTML, source("x"), TARGET).found


def test_fragments_are_ignored() -> None:
    assert check("verify-a", target=TARGET + "#comments").found
    got = find_link(f'<p><a href="{TARGET}#reply-3">see</a></p>', HTML, source("x"), TARGET)
    assert got.found and got.anchor == "see"


def test_other_link_elements() -> None:
    cases = {
        f'<map><area href="{TARGET}" alt="region"></map>': ("area", "region"),
        f'<video poster="{TARGET}"></video>': ("video", ""),
        f'<video><source src="{TARGET}"></video>': ("source", ""),
        f'<iframe src="{TARGET}" title="embedded"></iframe>': ("iframe", "embedded"),
    }
    for page, (element, anchor) in cases.items():
        got = find_link(page, HTML, source("x"), TARGET)
        assert got.found, page
        assert (got.element, got.anchor) == (element, anchor)
    # Not links: head metadata, srcset candidates, form actions, quotation sources, SVG xlink.
    for page in (
        f'<link rel="canonical" href="{TARGET}">',
        f'<img srcset="{TARGET} 2x" src="/x.png">',
        f'<form action="{TARGET}"><button>go</button></form>',
        f'<blockquote cite="{TARGET}">quoted</blockquote>',
        f'<svg><a xlink:href="{TARGET}"><text>x</text></a></svg>',
        f'<a data-href="{TARGET}">x</a>',
    ):
        assert not find_link(page, HTML, source("x"), TARGET).found, page


def test_noscript_and_template_content_is_not_a_link() -> None:
    # With scripting on (as the browsers that show the page) <noscript> holds text, not markup.
    assert not find_link(f'<noscript><a href="{TARGET}">x</a></noscript>', HTML, source("x"), TARGET).found


# --- JSON, text, other types -------------------------------------------------------------------


def test_json_nested_property_equality() -> None:
    doc = {
        "type": "entry",
        "author": {"name": "A", "url": "http://source.example.org/"},
        "refs": [{"kind": "like", "urls": ["http://example.org/x", TARGET]}],
    }
    got = find_link(json.dumps(doc).encode(), "application/json", source("x"), TARGET)
    assert got.found and got.element == "json" and got.count == 1
    assert 0.0 <= got.position <= 1.0
    for ctype in ("application/ld+json; charset=utf-8", "application/activity+json", "application/jf2feed+json"):
        assert find_link(json.dumps(doc), ctype, source("x"), TARGET).found
    # A normalised spelling of the same URL is equal; fragments are ignored.
    assert find_link(json.dumps({"u": "HTTP://Example.com/target/entry#x"}), "application/json", "", TARGET).found


def test_json_near_misses_are_not_equal() -> None:
    for value in (
        {"content": f"I liked {TARGET} a lot"},  # a substring of a longer string
        {"u": TARGET + "/"},
        {"u": "https" + TARGET[4:]},
        {TARGET: "a key, not a value"},
    ):
        got = find_link(json.dumps(value), "application/json", source("x"), TARGET)
        assert not got.found and got.reason == "no_link_found", value
    assert find_link(b"{not json", "application/json", source("x"), TARGET).reason == "no_link_found"
    deep = "[" * 100_000 + "]" * 100_000
    assert not find_link(deep, "application/json", source("x"), TARGET).found


def test_plain_text_substring() -> None:
    text = f"Some notes.\nRead {TARGET}/comments and also {TARGET} today.\n"
    got = find_link(text.encode(), "text/plain", source("x"), TARGET)
    assert got.found and got.element == "text" and got.count == 2
    assert TARGET in got.excerpt and got.excerpt.startswith("Some notes.")
    assert 0.0 < got.position < 1.0
    assert not find_link("nothing here", "text/plain", source("x"), TARGET).found


@pytest.mark.parametrize("ctype", ["image/png", "application/octet-stream", "application/pdf", "text/css"])
def test_unsupported_types(ctype: str) -> None:
    got = find_link(b"\x89PNG\r\n\x1a\n" + TARGET.encode(), ctype, source("x"), TARGET)
    assert not got.found and got.reason == "unsupported_type"


def test_empty_body_and_missing_type() -> None:
    assert find_link(b"", HTML, source("x"), TARGET).reason == "empty"
    assert find_link(b"   \n", HTML, source("x"), TARGET).reason == "empty"
    # No Content-Type: markup is read as HTML, anything else is refused.
    assert find_link(f'<a href="{TARGET}">x</a>'.encode(), "", source("x"), TARGET).found
    assert find_link(TARGET.encode(), "", source("x"), TARGET).reason == "unsupported_type"


def test_invalid_target_raises() -> None:
    with pytest.raises(URLError):
        find_link(b"<p>x</p>", HTML, source("x"), "mailto:me@example.com")


# --- deletes ---------------------------------------------------------------------------------


def test_meta_410_is_detected() -> None:
    got = check("verify-meta-410")
    assert got.meta_gone and not got.found and got.title == "Deleted"
    assert not check("verify-a").meta_gone
    page = f'<meta http-equiv="status" content=" 410 gone"><a href="{TARGET}">x</a>'
    got = find_link(page, HTML, source("x"), TARGET)
    assert got.found and got.meta_gone


# --- where the link sits ---------------------------------------------------------------------


def test_realistic_page() -> None:
    got = check("verify-realistic")
    assert got.found and got.element == "a"
    assert got.count == 3  # article, blogroll, comment; the one in <script> is no link
    assert got.section == "content"
    assert got.anchor == "Verifying Webmentions the hard way"
    assert got.title == "Notes on linkbacks | Example Blog"
    assert 0.2 < got.position < 0.8
    assert "Verifying Webmentions the hard way" in got.excerpt
    before, after = got.excerpt.split("Verifying Webmentions the hard way")
    assert before.endswith("how receivers verify mentions, ")
    assert after.startswith(", which covers comments")
    assert 50 <= len(before) <= 101 and 50 <= len(after) <= 101
    assert "<" not in got.excerpt and "  " not in got.excerpt


@pytest.mark.parametrize(
    ("wrapper", "section"),
    [
        ("<nav>{}</nav>", "nav"),
        ('<div class="sidebar">{}</div>', "aside"),
        ("<footer>{}</footer>", "footer"),
        ('<header role="banner">{}</header>', "header"),
        ('<ol class="commentlist"><li>{}</li></ol>', "comment"),
        ("<article><p>{}</p></article>", "content"),
    ],
)
def test_section_of_the_first_link(wrapper: str, section: str) -> None:
    page = "<body>" + wrapper.format(f'<a href="{TARGET}">x</a>') + "</body>"
    assert find_link(page, HTML, source("x"), TARGET).section == section


def test_position_runs_from_start_to_end() -> None:
    filler = "<p>filler</p>" * 50
    top = find_link(f'<a href="{TARGET}">x</a>{filler}', HTML, source("x"), TARGET).position
    bottom = find_link(f'{filler}<a href="{TARGET}">x</a>', HTML, source("x"), TARGET).position
    assert 0.0 <= top < 0.1 and 0.9 < bottom <= 1.0


def test_anchor_is_normalised_and_capped() -> None:
    got = find_link(f'<a href="{TARGET}">  many\n\n  words   {"w" * 500}</a>', HTML, source("x"), TARGET)
    assert got.anchor.startswith("many words w") and len(got.anchor) == 200
    got = find_link(f'<a href="{TARGET}"><img src="/i.png" alt=" An  image "></a>', HTML, source("x"), TARGET)
    assert got.anchor == "An image" and got.excerpt == "An image"
    got = find_link(f'<p>See <img src="{TARGET}" alt="pic"> here</p>', HTML, source("x"), TARGET)
    assert (got.element, got.anchor, got.excerpt) == ("img", "pic", "See pic here")


# --- encodings and robustness ----------------------------------------------------------------


def test_iso_8859_1_page() -> None:
    body = (DATA / "latin1.html").read_bytes()
    got = find_link(body, "text/html", source("latin1"), TARGET)  # charset from <meta>
    assert got.found and got.count == 1
    assert got.title == "Café crème à la française"
    assert got.anchor == "l'entrée ciblée"
    # The query of a link in a Latin-1 page is percent-encoded in Latin-1, as browsers send it.
    got = find_link(body, "text/html", source("latin1"), TARGET + "?q=caf%E9")
    assert got.found and got.anchor == "l'article sur le café"
    assert not find_link(body, "text/html", source("latin1"), TARGET + "?q=caf%C3%A9").found


def test_charset_param_and_argument() -> None:
    page = f'<title>Ñandú</title><a href="{TARGET}">año</a>'
    body = page.encode("cp1252")
    assert find_link(body, "text/html; charset=ISO-8859-1", source("x"), TARGET).anchor == "año"
    assert find_link(body, "text/html", source("x"), TARGET, charset="latin1").title == "Ñandú"
    # Without any declaration the bytes are read as the extractor reads them (detected: a guess on
    # so short a page, but the same guess), and still checked.
    got = find_link(body, "text/html", source("x"), TARGET)
    facts, links = extract(
        FetchedPage(url=source("x"), status=200, headers=(("Content-Type", "text/html"),), body=body, fetched_at=EPOCH)
    )
    assert got.found and (got.anchor, got.title) == (links[0].anchor, facts.title)
    utf16 = "\ufeff" + page
    assert find_link(utf16.encode("utf-16-le"), "text/html", source("x"), TARGET).anchor == "año"
    sjis = f'<meta charset="shift_jis"><a href="{TARGET}">日本語</a>'.encode("shift_jis")
    assert find_link(sjis, "text/html", source("x"), TARGET).anchor == "日本語"


@pytest.mark.parametrize(
    "page",
    [
        "<<<>>><a href='" + TARGET + "'>x",
        "<div>" * 3_000 + f'<a href="{TARGET}">deep</a>',
        "\x00\x01\x02" + f'<a href="{TARGET}">x</a>',
        f'<a href="{TARGET}">\udc80lone surrogate</a>',
        '<a href="http://[::1">bad</a>' + f'<a href="{"x" * 20_000}">long</a>' + f'<a href="{TARGET}">ok</a>',
        "<table><tr><td><a href=" + TARGET + ">in a table</td></table>",
    ],
)
def test_broken_html_does_not_crash(page: str) -> None:
    got = find_link(page, HTML, source("x"), TARGET)
    assert isinstance(got, LinkCheck)
    assert got.found  # lenient parsing still finds the link, as a browser would


def test_tag_cut_by_the_end_of_the_page_is_no_link() -> None:
    # The HTML parser drops a tag still open at end of file, as every browser does.
    got = find_link("<p>see <a href=" + TARGET, HTML, source("x"), TARGET)
    assert not got.found and got.reason == "no_link_found"


def test_decode_body_reads_what_find_link_reads() -> None:
    body = (DATA / "latin1.html").read_bytes()
    text = decode_body(body, "text/html")
    assert "Café crème" in text and "\ufffd" not in text
    assert decode_body(body, "text/html; charset=utf-8").count("\ufffd") > 5  # the header wins
    assert decode_body("already text", "text/html") == "already text"
    assert decode_body(b"", "text/html") == ""


def test_deep_nesting_is_flattened_not_slow() -> None:
    # Parsing time grows with the square of the depth; beyond Chromium's 512 the tags go, the
    # links stay. 100,000 unclosed <div> took Lexbor ~30 s before.
    page = "<div>" * 100_000 + f'<p>deep <a href="{TARGET}">down</a> here</p>' + "</div>" * 100_000
    page += "<footer><a href='/x'>x</a></footer>"
    got = find_link(page.encode(), HTML, source("x"), TARGET)  # timed in bench/bench_hostile.py
    assert got.found and got.anchor == "down" and got.excerpt == "deep down here"
    page = "<b>" * 50_000 + f'<a href="{TARGET}">bold</a>'
    got = find_link(page, HTML, source("x"), TARGET)
    assert got.found and got.anchor == "bold"


def test_random_bytes_do_not_crash() -> None:
    import random

    rng = random.Random(514)
    for _ in range(20):
        body = bytes(rng.randrange(256) for _ in range(2000))
        got = find_link(body, HTML, source("x"), TARGET)
        assert not got.found and got.reason in ("no_link_found", "empty")


def test_huge_page_is_fast_enough() -> None:
    para = '<p>Lorem ipsum <a href="/x/{}">dolor</a> sit amet, <em>consectetur</em> adipiscing.</p>\n'
    page = "<html><body>" + "".join(para.format(i) for i in range(15_000))
    page += f'<footer><a href="{TARGET}">last</a></footer></body></html>'
    got = find_link(page.encode(), HTML, source("x"), TARGET)  # timed in bench/bench_hostile.py
    assert len(page) > 1_000_000
    assert got.found and got.section == "footer" and got.position > 0.99
