"""linkback.protocols._trackback: form pings and charsets, XML answers, RDF autodiscovery."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkback.errors import ProtocolError
from linkback.protocols._trackback import (
    BLOG_NAME_MAX,
    EXCERPT_MAX,
    TITLE_MAX,
    TrackbackPing,
    discover_ping_url,
    parse_ping,
    parse_response,
    ping_body,
    rdf_block,
    response_error,
    response_ok,
)

FORM = "application/x-www-form-urlencoded"
URL = "http://sender.example/2024/05/post/"
JA_TITLE = "日本語のタイトル"
JA_EXCERPT = "トラックバックのテストです。漢字とかなを含む。"


def _form(encoding: str, **fields: str) -> bytes:
    return urlencode(fields, encoding=encoding).encode("ascii")


# --- parse_ping ---------------------------------------------------------------------------------


def test_spec_example():
    ping = parse_ping(b"title=Foo+Bar&url=http://www.bar.com/&excerpt=My+Excerpt&blog_name=Foo", FORM)
    assert ping == TrackbackPing("http://www.bar.com/", "Foo Bar", "My Excerpt", "Foo", "utf-8")


@pytest.mark.parametrize(
    "content_type",
    [
        f"{FORM}; charset=utf-8",
        f"{FORM}; charset=UTF-8",
        f'{FORM};charset="utf-8"',
        f"{FORM.upper()}; Charset=utf8",
        None,
        FORM,
    ],
)
def test_utf8(content_type):
    body = _form("utf-8", title="Café — naïve", url=URL, excerpt="Ünïcødé ☺", blog_name="Blög")
    ping = parse_ping(body, content_type)
    assert (ping.title, ping.excerpt, ping.blog_name, ping.charset) == ("Café — naïve", "Ünïcødé ☺", "Blög", "utf-8")


@pytest.mark.parametrize("content_type", [f"{FORM}; charset=ISO-8859-1", f"{FORM}; charset=latin1", None, FORM])
def test_latin1_declared_and_detected(content_type):
    body = b"title=caf%E9&url=" + URL.encode() + b"&blog_name=M%E4dchen+Blog&excerpt=%AB+quoted+%BB"
    ping = parse_ping(body, content_type)
    assert (ping.title, ping.blog_name, ping.excerpt) == ("café", "Mädchen Blog", "« quoted »")
    assert ping.charset == "windows-1252"  # WHATWG: ISO-8859-1 labels decode as windows-1252


def test_windows1252_punctuation():
    ping = parse_ping(b"title=%93quoted%94+%96+dash&url=http://a.example/", f"{FORM}; charset=iso-8859-1")
    assert ping.title == "\u201cquoted\u201d \u2013 dash"


@pytest.mark.parametrize(
    "encoding, label",
    [
        ("shift_jis", "Shift_JIS"),
        ("shift_jis", "SJIS"),
        ("cp932", "Windows-31J"),
        ("euc_jp", "EUC-JP"),
        ("iso2022_jp", "ISO-2022-JP"),
        ("iso2022_jp", "JIS"),
    ],
)
def test_japanese_declared(encoding, label):
    body = _form(encoding, title=JA_TITLE, url=URL, excerpt=JA_EXCERPT, blog_name="ブログ")
    for ping in (parse_ping(body, f"{FORM}; charset={label}"), parse_ping(body + f"&charset={label}".encode(), FORM)):
        assert (ping.title, ping.excerpt, ping.blog_name) == (JA_TITLE, JA_EXCERPT, "ブログ")


@pytest.mark.parametrize(
    "encoding, name", [("shift_jis", "shift_jis"), ("euc_jp", "euc-jp"), ("iso2022_jp", "iso-2022-jp")]
)
def test_japanese_detected(encoding, name):
    ping = parse_ping(_form(encoding, title=JA_TITLE, url=URL, blog_name="ブログ"), FORM)
    assert (ping.title, ping.blog_name, ping.charset) == (JA_TITLE, "ブログ", name)


def test_raw_unescaped_bytes_in_body():
    # Old senders put raw bytes in the body instead of percent-escapes.
    ping = parse_ping(f"title={JA_TITLE}&url={URL}".encode("shift_jis"), None)
    assert ping.title == JA_TITLE and ping.charset == "shift_jis"


def test_content_type_charset_beats_field_and_detection():
    body = _form("utf-8", title="café", url=URL) + b"&charset=ISO-8859-1"
    assert parse_ping(body, f"{FORM}; charset=utf-8").title == "café"
    assert parse_ping(body, FORM).title == "cafÃ©"  # the field is believed when the header is silent


def test_invalid_bytes_replaced_not_refused():
    ping = parse_ping(b"title=bad%FF%FEutf8&url=http://a.example/", f"{FORM}; charset=utf-8")
    assert ping.title == "bad\ufffd\ufffdutf8"


@pytest.mark.parametrize(
    "label", ["utf-7", "UTF-7", "UTF7", "utf7", "unicode-1-1-utf-7", "csUnicode11UTF7", " Utf-7 ", "UTF-7-IMAP"]
)
def test_utf7_refused(label):
    body = b"title=%2BADw-script%2BAD4-&url=http://a.example/"
    with pytest.raises(ProtocolError) as e:
        parse_ping(body, f"{FORM}; charset={label}")
    assert e.value.code == "charset"
    with pytest.raises(ProtocolError) as e:
        parse_ping(body + f"&charset={label}".encode(), FORM)
    assert e.value.code == "charset"
    with pytest.raises(ProtocolError) as e:  # even when the header names another charset
        parse_ping(body + f"&charset={label}".encode(), f"{FORM}; charset=utf-8")
    assert e.value.code == "charset"


@pytest.mark.parametrize("label", ["klingon", "x-unknown", "iso-2022-kr", "base64", "rot13", "unicode_escape"])
def test_unknown_charset(label):
    with pytest.raises(ProtocolError) as e:
        parse_ping(b"title=x&url=http://a.example/", f"{FORM}; charset={label}")
    assert e.value.code == "unknown_charset"


@pytest.mark.parametrize("body", [b"title=Foo&excerpt=bar&blog_name=Baz", b"url=&title=Foo", b"url=+++&title=Foo", b""])
def test_missing_url(body):
    with pytest.raises(ProtocolError) as e:
        parse_ping(body, FORM)
    assert e.value.code == "missing_url" and str(e.value) == "No URL was given"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://files.example/x",
        "mailto:a@b.example",
        "/relative/path",
        "www.example.com/post",
        "http://",
        "data:text/html,x",
    ],
)
def test_url_must_be_absolute_http(url):
    with pytest.raises(ProtocolError) as e:
        parse_ping(_form("utf-8", url=url, title="x"), FORM)
    assert e.value.code == "invalid_url"


def test_url_kept_as_sent_and_title_optional():
    ping = parse_ping(_form("utf-8", url="  HTTPS://Sender.Example/a?b=1&c=2  "), FORM)
    assert ping == TrackbackPing("HTTPS://Sender.Example/a?b=1&c=2", "", "", "", "utf-8")


@pytest.mark.parametrize(
    "content_type", ["multipart/form-data; boundary=x", "application/json", "text/plain", "text/xml"]
)
def test_wrong_content_type(content_type):
    with pytest.raises(ProtocolError) as e:
        parse_ping(_form("utf-8", url=URL), content_type)
    assert e.value.code == "content_type"


def test_too_large():
    body = _form("utf-8", url=URL, excerpt="x" * 70_000)
    with pytest.raises(ProtocolError) as e:
        parse_ping(body, FORM)
    assert e.value.code == "too_large"
    assert parse_ping(body, FORM, max_bytes=len(body)).excerpt.endswith("…")


def test_text_fields_cleaned():
    ping = parse_ping(
        _form(
            "utf-8",
            url=URL,
            title="  <b>Bold</b>\n\ttitle &amp; more  ",
            excerpt="<p>Para<script>alert('x')</script> one</p><!-- hidden --><style>p{}</style>  a < b &lt;tag&gt;",
            blog_name="Blog\x00\x07 <i>name</i>",
        ),
        FORM,
    )
    assert ping.title == "Bold title & more"
    assert ping.excerpt == "Para one a < b <tag>"  # plain text: the renderer escapes it
    assert ping.blog_name == "Blog name"


def test_crop_lengths():
    word = "abcdefghi "
    ping = parse_ping(_form("utf-8", url=URL, title=word * 40, excerpt=word * 40, blog_name=word * 40), FORM)
    assert len(ping.title) == TITLE_MAX == 250 and len(ping.blog_name) == BLOG_NAME_MAX == 250
    assert len(ping.excerpt) <= EXCERPT_MAX == 252
    for text in (ping.title, ping.excerpt, ping.blog_name):
        assert text.endswith("…") and not text[:-1].endswith(" ")
    exact = parse_ping(_form("utf-8", url=URL, title="x" * 250, excerpt="y" * 252), FORM)
    assert exact.title == "x" * 250 and exact.excerpt == "y" * 252  # at the limit: untouched
    ja = parse_ping(_form("shift_jis", url=URL, title="あ" * 300), f"{FORM}; charset=sjis")
    assert ja.title == "あ" * 249 + "…"  # characters, not bytes


@pytest.mark.parametrize("junk", ["<script ", "<style>", "<!--", "<b ", "&amp;"])
def test_hostile_markup_stays_fast(junk):
    body = _form("utf-8", url=URL, excerpt=junk * (60_000 // len(junk)))
    assert parse_ping(body, FORM, max_bytes=len(body)).url == URL  # timed in bench/bench_hostile.py


def test_duplicate_fields_last_wins():
    assert parse_ping(b"url=http://first.example/&url=http://second.example/", FORM).url == "http://second.example/"


# --- answers ------------------------------------------------------------------------------------


def test_response_ok():
    body = response_ok()
    assert body == b'<?xml version="1.0" encoding="utf-8"?>\n<response>\n<error>0</error>\n</response>'
    root = ET.fromstring(body)
    assert root.tag == "response" and root.findtext("error") == "0" and root.find("message") is None
    assert parse_response(body) == (True, "")


def test_response_error_escapes():
    message = "<script>alert('x')</script> & \"friends\" \x00"
    body = response_error(message)
    assert b"<script>" not in body and b"&lt;script&gt;" in body and b"&amp;" in body
    root = ET.fromstring(body)
    assert root.findtext("error") == "1"
    assert root.findtext("message") == message.replace("\x00", "\ufffd")
    assert parse_response(body) == (False, message.replace("\x00", "\ufffd"))
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')


# --- RDF autodiscovery --------------------------------------------------------------------------

PAGE = "https://blog.example/2024/05/hello-world/"
PING = "https://blog.example/2024/05/hello-world/trackback/"


def test_rdf_block_round_trip():
    title = 'Fish & "chips" <b>--> -- end'
    block = rdf_block(PAGE + "?a=1&b=2", PING, title)
    assert block.startswith("<!--\n<rdf:RDF") and block.endswith("</rdf:RDF>\n-->")
    inner = block[len("<!--") : -len("-->")]
    assert "-->" not in inner and "--" not in inner  # nothing closes or breaks the comment
    desc = ET.fromstring(inner.strip())[0]
    ns_dc = "{http://purl.org/dc/elements/1.1/}"
    assert desc.get(ns_dc + "identifier") == PAGE + "?a=1&b=2"
    assert desc.get(ns_dc + "title") == title
    assert desc.get("{http://madskills.com/public/xml/rss/module/trackback/}ping") == PING
    page = f"<html><head><title>x</title></head><body><p>post</p>\n{block}\n</body></html>"
    assert discover_ping_url(page, PAGE + "?a=1&b=2") == PING
    assert discover_ping_url(page, PAGE) is None


WORDPRESS = """<!--
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
			xmlns:dc="http://purl.org/dc/elements/1.1/"
			xmlns:trackback="http://madskills.com/public/xml/rss/module/trackback/">
		<rdf:Description rdf:about="https://blog.example/?p=12&#038;lang=en"
    dc:identifier="https://blog.example/?p=12&#038;lang=en"
    dc:title="Hello &#8211; world &#x2d;&#x2d; again"
    trackback:ping="https://blog.example/wp-trackback.php?p=12" />
</rdf:RDF>
-->"""

MOVABLE_TYPE_ARCHIVE = """<html><body>
<h2>First</h2>
<!--
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:trackback="http://madskills.com/public/xml/rss/module/trackback/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
<rdf:Description
    rdf:about="http://mt.example/archives/2004_08.html#000101"
    trackback:ping="http://mt.example/cgi-bin/mt-tb.cgi/101"
    dc:title="First entry"
    dc:identifier="http://mt.example/archives/2004_08.html#000101"
    dc:subject="Misc"
    dc:description="..."
    dc:creator="me"
    dc:date="2004-08-20T16:52:11-08:00" />
</rdf:RDF>
-->
<h2>Second</h2>
<!--
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:trackback="http://madskills.com/public/xml/rss/module/trackback/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
<rdf:Description
    rdf:about="http://mt.example/archives/2004_08.html#000102"
    trackback:ping="http://mt.example/cgi-bin/mt-tb.cgi/102"
    dc:title="Second entry"
    dc:identifier="http://mt.example/archives/2004_08.html#000102" />
</rdf:RDF>
-->
</body></html>"""


def test_wordpress_block():
    assert (
        discover_ping_url(WORDPRESS, "https://blog.example/?p=12&lang=en")
        == "https://blog.example/wp-trackback.php?p=12"
    )


def test_picks_the_block_for_the_page():
    assert discover_ping_url(MOVABLE_TYPE_ARCHIVE, "http://mt.example/archives/2004_08.html#000102") == (
        "http://mt.example/cgi-bin/mt-tb.cgi/102"
    )
    assert discover_ping_url(MOVABLE_TYPE_ARCHIVE, "http://mt.example/archives/2004_08.html#000101") == (
        "http://mt.example/cgi-bin/mt-tb.cgi/101"
    )
    # Without the fragment both match once the fragment is ignored: the first in the page wins.
    assert discover_ping_url(MOVABLE_TYPE_ARCHIVE, "http://mt.example/archives/2004_08.html") == (
        "http://mt.example/cgi-bin/mt-tb.cgi/101"
    )
    assert discover_ping_url(MOVABLE_TYPE_ARCHIVE, "http://mt.example/archives/other.html") is None


def test_index_page_with_many_blocks():
    blocks = "\n".join(
        rdf_block(f"https://b.example/post-{i}/", f"https://b.example/tb/{i}", f"Post {i}") for i in range(20)
    )
    page = f"<html><body>{blocks}</body></html>"
    for i in (0, 7, 19):
        assert discover_ping_url(page, f"https://b.example/post-{i}/") == f"https://b.example/tb/{i}"
    assert discover_ping_url(page, "https://b.example/") is None


@pytest.mark.parametrize(
    "description",
    [
        # attribute order, single quotes, spacing
        """<rdf:Description trackback:ping='http://x.example/tb/1' dc:identifier='http://x.example/p/1' rdf:about='http://x.example/p/1'/>""",
        """<rdf:Description\n dc:identifier = "http://x.example/p/1"\n trackback:ping = 'http://x.example/tb/1' >\n</rdf:Description>""",
        # other prefixes, declared
        """<r:Description xmlns:r="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:d="http://purl.org/dc/elements/1.1/"
             xmlns:tb="http://madskills.com/public/xml/rss/module/trackback/" d:identifier="http://x.example/p/1"
             tb:ping="http://x.example/tb/1"/>""",
        # no dc:identifier: rdf:about stands in
        """<rdf:Description rdf:about="http://x.example/p/1" trackback:ping="http://x.example/tb/1" />""",
        # relative ping URL, ">" inside a quoted value, entity-escaped ampersand
        """<rdf:Description dc:title="a > b" dc:identifier="http://x.example/p/1" trackback:ping="/tb/1" />""",
        # scheme, www. and trailing slash differences are tolerated as a last resort
        """<rdf:Description dc:identifier="https://www.x.example/p/1/" trackback:ping="http://x.example/tb/1" />""",
    ],
)
def test_attribute_variations(description):
    rdf = (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:trackback="http://madskills.com/public/xml/rss/module/trackback/">' + description + "</rdf:RDF>"
    )
    for page in (f"<html><!--\n{rdf}\n--></html>", f"<html>{rdf}</html>"):
        assert discover_ping_url(page, "http://x.example/p/1") == "http://x.example/tb/1"


def test_prefixes_resolved_through_declarations():
    # "dc" bound to another namespace here: its identifier is not a Dublin Core identifier.
    rdf = (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dc="urn:not-dublin-core" '
        'xmlns:trackback="http://madskills.com/public/xml/rss/module/trackback/">'
        '<rdf:Description rdf:about="http://x.example/other" dc:identifier="http://x.example/p/1" '
        'trackback:ping="http://x.example/tb/1"/></rdf:RDF>'
    )
    assert discover_ping_url(rdf, "http://x.example/p/1") is None
    # ...so the block has no dc:identifier, and its rdf:about stands in.
    assert discover_ping_url(rdf, "http://x.example/other") == "http://x.example/tb/1"


@pytest.mark.parametrize(
    "html",
    [
        "",
        "<html><body>no rdf</body></html>",
        '<rdf:Description dc:identifier="http://x.example/p/1" />',  # no ping
        '<rdf:Description dc:identifier="http://x.example/p/1" trackback:ping="javascript:alert(1)" />',
        '&lt;rdf:Description dc:identifier="http://x.example/p/1" trackback:ping="http://x.example/tb/1" /&gt;',
        "<rdf:RDF " + "<rdf:Description " * 2000,
    ],
)
def test_no_ping_url(html):
    assert discover_ping_url(html, "http://x.example/p/1") is None


@pytest.mark.parametrize("junk", ["<rdf:Description ", "<rdf:RDF ", '<rdf:Description a="', "<rdf:Description a='x' "])
def test_hostile_page_stays_fast(junk):
    page = junk * (300_000 // len(junk))
    assert discover_ping_url(page, "http://x.example/p/1") is None  # timed in bench/bench_hostile.py


def test_bad_page_url():
    assert discover_ping_url(WORDPRESS, "not a url") is None


# --- sending ------------------------------------------------------------------------------------


def test_ping_body():
    body, content_type = ping_body(
        url="http://me.example/p?a=1&b=2", title="Café & co", excerpt="x=y+z", blog_name="Mé"
    )
    assert content_type == "application/x-www-form-urlencoded; charset=utf-8"
    assert body.isascii()
    assert body.startswith(b"title=Caf%C3%A9+%26+co&url=http%3A%2F%2Fme.example%2Fp%3Fa%3D1%26b%3D2&")
    ping = parse_ping(body, content_type)
    assert ping == TrackbackPing("http://me.example/p?a=1&b=2", "Café & co", "x=y+z", "Mé", "utf-8")
    # WordPress ignores a ping without a title, so the URL stands in.
    assert (
        parse_ping(*ping_body(url="http://me.example/", title="", excerpt="", blog_name="")).title
        == "http://me.example/"
    )


_text = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp"), blacklist_characters="<>&"), max_size=40
)


@settings(max_examples=150, deadline=None)
@given(title=_text, excerpt=_text, blog_name=_text)
def test_ping_body_round_trip(title, excerpt, blog_name):
    ping = parse_ping(*ping_body(url=URL, title=title, excerpt=excerpt, blog_name=blog_name))
    assert (ping.excerpt, ping.blog_name) == (excerpt.strip(), blog_name.strip())
    assert ping.title == (title.strip() or URL)


@pytest.mark.parametrize(
    "body, expected",
    [
        (b'<?xml version="1.0" encoding="utf-8"?>\n<response>\n<error>0</error>\n</response>', (True, "")),
        (
            b"<response><error>1</error><message>Sorry, trackbacks are closed for this item.</message></response>",
            (False, "Sorry, trackbacks are closed for this item."),
        ),
        (
            b'\n\n<?xml version="1.0"?><response><error> 0 </error><message>thanks</message></response>',
            (True, "thanks"),
        ),
        # WordPress's unescaped message: not XML, still read
        (
            b'<?xml version="1.0" encoding="utf-8"?>\n<response>\n<error>1</error>\n<message>Duplicate & <strong>spam</strong></message>\n</response>',
            (False, "Duplicate & spam"),
        ),
    ],
)
def test_parse_response(body, expected):
    assert parse_response(body) == expected


def test_parse_response_unclosed_messages_fast():
    assert parse_response(b"<response><error>1</error>" + b"<message>" * 30_000) == (False, "")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html><body>Internal Server Error</body></html",
        b"<html><body>ok</body></html>",
        b"<response><message>no error element</message></response>",
        b"<response><error>yes</error></response>",
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "y">]><response><error>&x;</error></response>',
    ],
)
def test_parse_response_malformed(body):
    ok, message = parse_response(body)
    assert not ok and message.startswith("malformed response")
