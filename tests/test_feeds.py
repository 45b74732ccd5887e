"""linkback.sources.feeds: RSS/Atom/RDF feeds and XML sitemaps into post URLs.

The fixtures under tests/data/feeds are described in its README.md.
"""

from __future__ import annotations

import gzip
import hashlib
import socket
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from linkback.errors import SourceError
from linkback.sources import feeds
from linkback.sources.feeds import Feed, FeedEntry, parse_feed

DATA = Path(__file__).resolve().parent / "data" / "feeds"


def load(name: str) -> bytes:
    return (DATA / name).read_bytes()


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def rss(items: str, head: str = "", channel: str = "<title>t</title>") -> bytes:
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {head}><channel>{channel}{items}</channel></rss>'.encode()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a socket fails the test: the parser must never fetch."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the feed parser opened a network connection")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


# --- the fixtures -------------------------------------------------------------------------------


def test_rss2_wordpress() -> None:
    body = load("rss2-wordpress.xml")
    assert body.startswith(b"\n<?xml")  # whitespace before the declaration, as WordPress plugins leave
    feed = parse_feed(body, "https://jane.example/feed/")
    assert feed.kind == "rss"
    assert feed.title == "Jane\u2019s Notes"  # the channel's, not the <image>'s
    assert feed.sitemaps == ()
    assert [(e.url, e.updated, e.title) for e in feed.entries] == [
        (
            "https://jane.example/2024/05/06/replying-to-bob/",  # fragment dropped
            utc(2024, 5, 6, 9, 12, 44),
            "Replying to Bob about Webmention",
        ),
        # relative <link> resolved against the feed URL; PDT is -07:00; the title's
        # whitespace collapsed
        ("https://jane.example/2024/04/30/relative/", utc(2024, 5, 1, 0, 0), "Relative link and a US zone"),
        # no <link>: a <guid> without isPermaLink that is an absolute URL; dc:date
        ("https://jane.example/2024/04/01/guid-only/", utc(2024, 4, 1, 6, 30), "Only a permalink guid"),
        # FeedBurner's origLink before the redirecting <link>
        ("https://jane.example/2024/03/15/feedburner/", utc(2024, 3, 15, 12), "FeedBurner item"),
        ("https://jane.example/2024/03/01/junk-date/", None, "Junk date"),
        # a 2-digit year, -0500
        ("https://jane.example/1999/12/31/party/", utc(2000, 1, 1, 4, 59, 59), "Two-digit year"),
    ]
    # Left out: the duplicate of the first post (the first is kept), a mailto: link, an item
    # whose only guid is isPermaLink="false".
    first, relative, guid_only = feed.entries[:3]
    # content:encoded as given (CDATA, so the character reference stays as written)
    assert first.content_hash == sha(
        '<p>In reply to <a href="https://bob.example/2024/05/webmention">Bob&#8217;s post</a>: yes.</p>'
    )
    assert relative.content_hash == sha("Escaped <b>markup</b> in the description")  # description
    assert guid_only.content_hash == ""


def test_atom_xml_base_and_relative_links() -> None:
    feed = parse_feed(load("atom-xmlbase.xml"), "https://blog.example/atom.xml")
    assert feed.kind == "atom"
    assert feed.title == "Bob <3 the & web"  # type="html": markup stripped, entities decoded
    assert [(e.url, e.updated, e.title) for e in feed.entries] == [
        # rel="alternate" chosen over edit/replies; relative to the feed's xml:base; updated
        # (not published), with its fraction and zone
        (
            "https://blog.example/archives/2024/webmention",
            datetime(2024, 5, 6, 13, 30, 0, 250000, tzinfo=UTC),
            "Webmention, again",
        ),
        # no rel; relative to the entry's own xml:base; published when there is no updated
        ("https://other.example/base/moved.html", utc(2024, 4, 20, 12), "An xhtml title"),
        # the IANA IRI for alternate; the link's own xml:base (relative to the feed's); a
        # date-only updated
        ("https://blog.example/notes/three", utc(2024, 4, 10), "Link with its own xml:base"),
    ]  # the entry with only an enclosure link is left out
    webmention, xhtml, out_of_line = feed.entries
    assert webmention.content_hash == sha('<p>Links to <a href="https://jane.example/">Jane</a>.</p>')
    assert xhtml.content_hash not in ("", sha(""))  # xhtml content: its serialised markup
    assert out_of_line.content_hash == sha("Summary used when the content is out of line")


def test_rss1_rdf() -> None:
    feed = parse_feed(load("rss1-rdf.xml"), "http://news.example/index.rdf")
    assert feed.kind == "rdf"
    assert feed.title == "Caf\u00e9 News"
    assert [(e.url, e.updated, e.title) for e in feed.entries] == [
        # <link> normalised: host case, default port, dot segment; +09:00
        ("http://news.example/2024/05/first.html", utc(2024, 5, 2, 9, 30), "First story"),
        # no <link>: rdf:about; ISO-8859-1 text; a date-only dc:date
        ("http://news.example/2024/05/second.html", utc(2024, 5, 3), "Second story, caf\u00e9"),
    ]
    assert feed.entries[0].content_hash == sha("The first story")
    assert feed.entries[1].content_hash == sha("<p>The <em>second</em> story</p>")  # content:encoded first


def test_rss091_with_the_netscape_doctype(no_network: None) -> None:
    """A bare DOCTYPE is allowed and its external DTD is not read; the HTML entities it
    defines are known anyway."""
    feed = parse_feed(load("rss091-netscape.xml"), "http://old.example/rss.xml")
    assert feed.kind == "rss"
    assert feed.title == "Old News \u00e9dition"
    assert feed.entries == (
        FeedEntry("http://old.example/1999/premiere.html", None, "Premi\u00e8re", sha("Caf\u00e9 & cr\u00e8me")),
    )


def test_sitemap_urlset() -> None:
    feed = parse_feed(load("sitemap.xml"), "https://shop.example/sitemap.xml")
    assert feed.kind == "sitemap"
    assert feed.title == "" and feed.sitemaps == ()
    assert [(e.url, e.updated) for e in feed.entries] == [
        ("https://shop.example/", utc(2024, 5, 6, 8)),  # whitespace around <loc> trimmed
        ("https://shop.example/blog/launch?utm=1&ref=sitemap", utc(2024, 4, 30)),  # date-only
        ("https://shop.example/blog/%E2%98%83-snow", datetime(2024, 4, 1, 10, 20, 30, 123456, tzinfo=UTC)),
        ("https://shop.example/no-lastmod", None),
        ("https://shop.example/bad-lastmod", None),
    ]  # the ftp: URL is left out; image:loc and xhtml:link are not pages
    assert all(e.title == "" and e.content_hash == "" for e in feed.entries)


def test_sitemap_index_children() -> None:
    feed = parse_feed(load("sitemap-index.xml"), "https://shop.example/sitemap_index.xml")
    assert feed == Feed(
        "sitemapindex",
        "",
        (),
        (
            "https://shop.example/sitemap-posts.xml.gz",
            "https://shop.example/sitemap-pages.xml",
            "https://shop.example/sitemap-products.xml",  # relative <loc> resolved
        ),  # the repeated child kept once
    )


@pytest.mark.parametrize("url", ["https://shop.example/sitemap-posts.xml.gz", "https://shop.example/sitemap.xml"])
def test_gzipped_sitemap(url: str) -> None:
    """gzip is told by the magic bytes, whatever the URL says."""
    body = load("sitemap-posts.xml.gz")
    assert body[:2] == b"\x1f\x8b"
    feed = parse_feed(body, url)
    assert feed.kind == "sitemap"
    assert [(e.url, e.updated) for e in feed.entries] == [
        ("https://shop.example/posts/1", utc(2024, 5, 1)),
        ("https://shop.example/posts/2", utc(2024, 5, 2, 12)),
        ("https://shop.example/posts/3", utc(2024, 5, 3, 19)),
    ]


def test_gzip_damage_and_bombs(monkeypatch: pytest.MonkeyPatch) -> None:
    body = load("sitemap-posts.xml.gz")
    with pytest.raises(SourceError, match="truncated") as e:
        parse_feed(body[:-12], "https://shop.example/s.xml.gz")
    assert e.value.path == "https://shop.example/s.xml.gz"
    with pytest.raises(SourceError, match="gzip"):
        parse_feed(b"\x1f\x8b\x08\x00" + bytes(range(200)), "https://shop.example/s.xml.gz")
    monkeypatch.setattr(feeds, "MAX_XML_BYTES", 1 << 20)
    for bomb in (b" " * (4 << 20), b"<urlset>" + b" " * (4 << 20) + b"</urlset>"):
        with pytest.raises(SourceError, match="larger than 1,048,576 bytes"):
            parse_feed(gzip.compress(bomb), "https://shop.example/bomb.xml.gz")


def test_truncated_feed_names_the_url_and_position() -> None:
    with pytest.raises(SourceError) as e:
        parse_feed(load("truncated.xml"), "https://cut.example/feed.xml")
    assert e.value.path == "https://cut.example/feed.xml"
    assert str(e.value).startswith("https://cut.example/feed.xml: broken XML")
    assert "line 11, column 0" in str(e.value)
    with pytest.raises(SourceError, match=r"https://cut\.example/x: broken XML: mismatched tag at line 1, column 16"):
        parse_feed(b"<rss><channel></rss>", "https://cut.example/x")


@pytest.mark.parametrize(
    ("name", "entity"), [("billion-laughs.xml", "lol"), ("xxe.xml", "secret"), ("xxe-parameter.xml", "remote")]
)
def test_hostile_xml_refused_without_expansion(name: str, entity: str, no_network: None) -> None:
    with pytest.raises(SourceError) as e:  # refused at the declaration, nothing expanded
        parse_feed(load(name), f"https://evil.example/{name}")
    message = str(e.value)
    assert message.startswith(f"https://evil.example/{name}: refused: the XML declares the entity '{entity}'")
    assert e.value.path == f"https://evil.example/{name}"
    assert "root:" not in message and "lollol" not in message


def test_entity_free_doctype_subset_and_undefined_entities() -> None:
    ok = b"<!DOCTYPE rss [<!ELEMENT rss ANY>]><rss><channel><title>t</title></channel></rss>"
    assert parse_feed(ok, "https://e.example/f").title == "t"
    # Without the RSS 0.91 DOCTYPE an HTML entity is an error, as XML says.
    with pytest.raises(SourceError, match="undefined entity at line 1"):
        parse_feed(b"<rss><channel><title>&nbsp;</title></channel></rss>", "https://e.example/f")


# --- content hashes -----------------------------------------------------------------------------


def test_changed_content_changes_only_that_hash() -> None:
    before = parse_feed(load("rss2-wordpress.xml"), "https://jane.example/feed/")
    edited = load("rss2-wordpress.xml").replace(b": yes.</p>", b": yes, and thanks.</p>")
    after = parse_feed(edited, "https://jane.example/feed/")
    assert after.entries[0].url == before.entries[0].url
    assert after.entries[0].updated == before.entries[0].updated  # the date did not change ...
    assert after.entries[0].content_hash != before.entries[0].content_hash  # ... the hash did
    assert after.entries[1:] == before.entries[1:]


def test_cdata_and_escaped_markup_hash_alike() -> None:
    cdata = parse_feed(
        rss("<item><link>https://a.example/1</link><description><![CDATA[<p>x & y</p>]]></description></item>"), "u"
    )
    escaped = parse_feed(
        rss("<item><link>https://a.example/1</link><description>&lt;p&gt;x &amp; y&lt;/p&gt;</description></item>"), "u"
    )
    assert cdata.entries[0].content_hash == escaped.entries[0].content_hash == sha("<p>x & y</p>")
    blank = parse_feed(rss("<item><link>https://a.example/1</link><description>  </description></item>"), "u")
    assert blank.entries[0].content_hash == ""
    fallback = parse_feed(
        rss(
            "<item><link>https://a.example/1</link><content:encoded> </content:encoded><description>d</description></item>",
            head='xmlns:content="http://purl.org/rss/1.0/modules/content/"',
        ),
        "u",
    )
    assert fallback.entries[0].content_hash == sha("d")  # a blank content:encoded is no content


def test_atom_content_changes_hash_and_summary_is_fallback() -> None:
    def atom(entry: str) -> bytes:
        return f'<feed xmlns="http://www.w3.org/2005/Atom"><entry><link href="https://a.example/p"/>{entry}</entry></feed>'.encode()

    one = parse_feed(atom("<content>one</content><summary>s</summary>"), "u").entries[0]
    two = parse_feed(atom("<content>two</content><summary>s</summary>"), "u").entries[0]
    summary = parse_feed(atom("<summary>s</summary>"), "u").entries[0]
    assert one.content_hash == sha("one") and two.content_hash == sha("two")
    assert summary.content_hash == sha("s")
    assert parse_feed(atom(""), "u").entries[0].content_hash == ""


# --- namespaces, encodings, limits --------------------------------------------------------------


def test_namespace_prefixes_do_not_matter() -> None:
    prefixed = load("atom-xmlbase.xml")
    default = prefixed.replace(b"<a:", b"<").replace(b"</a:", b"</").replace(b"xmlns:a=", b"xmlns=")
    assert b"a:entry" not in default
    assert parse_feed(default, "https://blog.example/atom.xml") == parse_feed(prefixed, "https://blog.example/atom.xml")
    odd = rss(
        "<item><link>https://a.example/1</link><purl:date>2024-05-06T07:08:09Z</purl:date>"
        "<c:encoded>body</c:encoded><description>not this</description></item>",
        head='xmlns:purl="http://purl.org/dc/elements/1.1/" xmlns:c="http://purl.org/rss/1.0/modules/content/"',
    )
    (entry,) = parse_feed(odd, "u").entries
    assert entry.updated == utc(2024, 5, 6, 7, 8, 9) and entry.content_hash == sha("body")


@pytest.mark.parametrize(
    ("encoding", "title"),
    [
        ("Shift_JIS", "\u65e5\u672c\u8a9e\u306e\u30d6\u30ed\u30b0"),
        ("GB2312", "\u4e2d\u6587\u535a\u5ba2"),
        ("windows-1252", "\u20ac caf\u00e9 \u2018quoted\u2019"),
        ("utf-16", "\u65e5\u672c caf\u00e9"),
        ("utf8", "caf\u00e9"),  # a name expat does not know for an encoding it does
    ],
)
def test_declared_encodings(encoding: str, title: str) -> None:
    body = rss(f"<item><title>{title}</title><link>/{title}</link></item>", channel=f"<title>{title}</title>")
    body = body.decode().replace('encoding="utf-8"', f'encoding="{encoding}"').encode(encoding)
    feed = parse_feed(body, "https://i18n.example/feed")
    assert feed.title == title
    (entry,) = feed.entries
    assert entry.title == title
    assert entry.url == "https://i18n.example/" + quote(title)  # the path percent-encoded as UTF-8


def test_max_entries_bounds_the_work() -> None:
    items = "".join(f"<item><link>https://a.example/{i}</link></item>" for i in range(5000))
    feed = parse_feed(rss(items + "<item><broken"), "https://a.example/feed", max_entries=10)
    # parsing stopped at the tenth entry, before the broken end
    assert [e.url for e in feed.entries] == [f"https://a.example/{i}" for i in range(10)]
    children = "".join(f"<sitemap><loc>https://a.example/s{i}.xml</loc></sitemap>" for i in range(50))
    index = parse_feed(f"<sitemapindex>{children}</sitemapindex>".encode(), "https://a.example/", max_entries=3)
    assert index.sitemaps == ("https://a.example/s0.xml", "https://a.example/s1.xml", "https://a.example/s2.xml")
    with pytest.raises(ValueError, match="max_entries"):
        parse_feed(rss(""), "u", max_entries=0)


def test_deep_nesting_refused() -> None:
    body = rss("<item>" + "<x>" * 1000 + "</x>" * 1000 + "</item>")
    with pytest.raises(SourceError, match="nested deeper than 256"):
        parse_feed(body, "https://deep.example/feed")


# --- dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pub_date", "expected"),
    [
        ("Mon, 06 May 2024 09:12:44 +0000", utc(2024, 5, 6, 9, 12, 44)),
        ("Mon, 06 May 2024 09:12:44 GMT", utc(2024, 5, 6, 9, 12, 44)),
        ("6 May 2024 09:12 EDT", utc(2024, 5, 6, 13, 12)),  # no weekday, no seconds
        ("Mon, 06 May 2024 09:12:44 +0530", utc(2024, 5, 6, 3, 42, 44)),
        ("Mon, 06 May 2024 09:12:44 -0000", utc(2024, 5, 6, 9, 12, 44)),
        ("Mon, 06 May 2024 09:12:44 CEST", utc(2024, 5, 6, 9, 12, 44)),  # unknown zone: UTC
        ("2024-05-06T09:12:44+02:00", utc(2024, 5, 6, 7, 12, 44)),  # ISO in pubDate
        ("Mon, 32 May 2024 09:12:44 GMT", None),
        ("last Tuesday", None),
        ("", None),
    ],
)
def test_rss_pub_dates(pub_date: str, expected: datetime | None) -> None:
    (entry,) = parse_feed(
        rss(f"<item><link>https://a.example/</link><pubDate>{pub_date}</pubDate></item>"), "u"
    ).entries
    assert entry.updated == expected
    assert expected is None or entry.updated.tzinfo is UTC


@pytest.mark.parametrize(
    ("lastmod", "expected"),
    [
        ("2024", utc(2024, 1, 1)),
        ("2024-05", utc(2024, 5, 1)),
        ("2024-05-06", utc(2024, 5, 6)),
        ("2024-05-06T09:12+02:00", utc(2024, 5, 6, 7, 12)),
        ("2024-05-06T09:12:44.5Z", datetime(2024, 5, 6, 9, 12, 44, 500000, tzinfo=UTC)),
        ("2024-05-06T09:12:44", utc(2024, 5, 6, 9, 12, 44)),  # no zone: UTC
        ("2024-05-06t09:12:44-0100", utc(2024, 5, 6, 10, 12, 44)),
        (" 2024-05-06 ", utc(2024, 5, 6)),
        ("2024-13-01", None),
        ("2024-05-06T25:00Z", None),
        ("0001-01-01T00:00:00+01:00", None),  # before year 1 in UTC
        ("May 6, 2024", None),
    ],
)
def test_sitemap_lastmod(lastmod: str, expected: datetime | None) -> None:
    body = f"<urlset><url><loc>https://a.example/</loc><lastmod>{lastmod}</lastmod></url></urlset>".encode()
    assert parse_feed(body, "u").entries[0].updated == expected


# --- what is not a feed -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty body"),
        (b" \n\t", "empty body"),
        (b"<!DOCTYPE html>\n<html><head><link rel=alternate></head>", "an HTML page"),
        (b"<!-- hi --><HTML lang=en><body>", "an HTML page"),
        (b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head/></html>', "an HTML page"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', "JSON"),
        (b"<?xml version='1.0'?><opml version='2.0'><body/></opml>", "root element is <opml>"),
        (b"<entry xmlns='http://www.w3.org/2005/Atom'/>", "root element is <entry> in namespace"),
        (b"Hello, this is text\nhttps://a.example/", "line 1 is not an absolute http(s) URL"),
        (b"\xff\xd8\xff\xe0 a JPEG", "not UTF-8"),
        (b"<rss>\x00</rss>", "broken XML"),
        (b"<?xml version='1.0' encoding='x-no-such'?><rss/>", "unknown encoding"),
    ],
)
def test_not_a_feed_names_the_url(body: bytes, message: str) -> None:
    with pytest.raises(SourceError) as e:
        parse_feed(body, "https://not.example/feed")
    assert e.value.path == "https://not.example/feed"
    assert str(e.value).startswith("https://not.example/feed: ")
    assert message in str(e.value)


def test_text_sitemap() -> None:
    body = b"\xef\xbb\xbfhttps://a.example/1\r\n\r\nhttps://a.example/2#top\nnot a url\nhttps://a.example/1\n"
    feed = parse_feed(body, "https://a.example/sitemap.txt")
    assert feed.kind == "sitemap"
    assert [e.url for e in feed.entries] == ["https://a.example/1", "https://a.example/2"]


def test_entry_and_feed_are_frozen() -> None:
    (entry,) = parse_feed(rss("<item><link>https://a.example/</link></item>"), "u").entries
    with pytest.raises(AttributeError):
        entry.url = "https://b.example/"  # type: ignore[misc]
    assert not hasattr(entry, "__dict__")  # slots
