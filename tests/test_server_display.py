"""Public display of mentions: the jf2 API, counts, the Atom feed, index backlinks and the HTML
snippet, httpx against ``linkback serve`` on 127.0.0.1 (spec §6.1, §7 Display, §9 receiver 8-9).

The mentions are written straight into the store (received, then a verification outcome), so
these tests do not depend on live verification, and the stored values can hold payloads that
the verifier would have cleaned: what is displayed must be safe whatever is at rest.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import httpx
import pytest
from linkrows import insert, link, ts
from serverkit import start_linkback

from linkback import mentions
from linkback.mentions import Outcome, Receipt
from linkback.mentions._render import PROPERTY_OF_TYPE
from linkback.store import Store

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
POST = "http://blog.test/post"
POST_S = "https://blog.test/post"
ATOM = "{http://www.w3.org/2005/Atom}"
SCRIPT = "<script>window.__xss=1</script>"
NAME_XSS = f'{SCRIPT} & "Bob"'
HTML_XSS = (
    '<p>Hi <b>there</b><script>window.__xss=1</script><img src=x onerror="window.__xss=1">'
    '<a href="javascript:window.__xss=1">click</a><a href="http://ok.test/">ok</a></p>'
)


def put(
    store: Store,
    source: str,
    target: str,
    *,
    at: datetime,
    state: str = "approved",
    status: str = "verified",
    site: str = "blog.test",
    **content: object,
) -> int:
    """One mention as the server would have stored it: received at ``at``, then (unless
    ``queued``) verified a minute later with ``content`` and moderated to ``state``."""
    con = store.con
    queued = status == "queued"
    ((mid, _),) = mentions.receive_many(con, [Receipt("webmention", source, target, site, delay=1e6 * queued)], at)
    if queued:
        return mid
    if status == "rejected":
        mentions.record_outcome(con, mid, Outcome("rejected", "no_link_found"), at + timedelta(minutes=1))
        return mid
    kind = str(content.setdefault("type", "mention"))
    content.setdefault("wm_property", PROPERTY_OF_TYPE[kind])
    decision = state if state in ("approved", "pending", "spam") else "approved"
    mentions.record_outcome(
        con, mid, Outcome("verified", content=dict(content), decision=decision), at + timedelta(minutes=1)
    )
    if status == "deleted":  # verified once, then the source dropped the link
        mentions.record_outcome(con, mid, Outcome("deleted", "no_link_found"), at + timedelta(minutes=2))
    elif state == "deleted":  # deleted by a moderator
        mentions.set_state(con, [mid], "deleted", at + timedelta(minutes=2))
    return mid


def day(n: float) -> datetime:
    return NOW - timedelta(days=n)


def fill(store: Store) -> None:
    put(
        store,
        "http://a.test/1",
        POST,
        at=day(5),
        type="like",
        author_name="Alice",
        author_url="http://a.test/",
        author_photo="http://a.test/me.jpg",
        published=day(10),
    )
    put(
        store,
        "http://b.test/2",
        POST,
        at=day(4),
        type="reply",
        author_name=NAME_XSS,
        author_url="javascript:window.__xss=1",
        author_photo="javascript:window.__xss=1",
        url="javascript:window.__xss=1",
        published=day(0.5),
        name="A reply",
        content_html=HTML_XSS,
        content_text="Hi there <img src=x onerror=window.__xss=1>",
        summary="Hi there",
    )
    put(store, "http://c.test/3", POST_S, at=day(3), type="repost", author_name="Carol")
    put(store, "http://d.test/4", "http://blog.test/other", at=day(2), name="Links of the week", author_name="Dan")
    put(store, "http://e.test/5", POST, at=day(1), type="rsvp", rsvp="yes", author_name="Eve")
    put(store, "http://f.test/6", "http://news.test/x", at=day(0), type="like", site="news.test")
    # Never shown: not approved, or not (or no longer) verified.
    put(store, "http://hidden.test/pending", POST, at=day(1), state="pending")
    put(store, "http://hidden.test/spam", POST, at=day(1), state="spam")
    put(store, "http://hidden.test/moderated", POST, at=day(1), state="deleted")
    put(store, "http://hidden.test/gone", POST, at=day(1), status="deleted")
    put(store, "http://hidden.test/rejected", POST, at=day(1), status="rejected")
    put(store, "http://hidden.test/queued", POST, at=day(1), status="queued")
    insert(
        store,
        "links",
        [
            link("http://ext.test/a", POST, anchor="Great <b>post</b>", first_seen=ts("2024-02-01")),
            link("http://ext.test/a", POST, anchor="", first_seen=ts("2024-02-03")),  # same page twice
            link("http://ext2.test/c", POST_S, anchor="https one", first_seen=ts("2024-03-01")),
            link("http://ext.test/b", "http://blog.test/post-2", anchor="look-alike"),
            link("http://blog.test/home", POST, anchor="internal"),
            link("http://ext.test/lost", POST, anchor="lost", lost_at=ts("2024-02-15"), lost_reason="gone"),
        ],
    )


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    srv = start_linkback(tmp_path_factory.mktemp("display"), ["blog.test", "news.test"], prepare=fill)
    yield srv.url
    srv.stop()


@pytest.fixture(scope="module")
def client(base):
    with httpx.Client(base_url=base, timeout=10) as c:
        yield c


def feed(client: httpx.Client, **params: object) -> dict:
    r = client.get("/api/mentions", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == "*"
    body = r.json()
    assert body["type"] == "feed"
    assert body["total"] >= len(body["children"])
    return body


def sources(body: dict) -> list[str]:
    return [e["wm-source"] for e in body["children"]]


def test_only_verified_and_approved_mentions_are_served(client):
    body = feed(client, target=POST, **{"per-page": 100})
    assert sorted(sources(body)) == ["http://a.test/1", "http://b.test/2", "http://e.test/5"]
    assert body["total"] == 3
    site = feed(client, site="blog.test", **{"per-page": 100})
    assert site["total"] == 5
    assert not [s for s in sources(site) if "hidden" in s]
    assert feed(client, site="news.test")["total"] == 1


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"target": POST}, 3),
        ({"target": POST_S}, 1),
        ({"target": "//blog.test/post"}, 4),  # protocol-relative: both schemes
        ({"target": [POST, POST_S]}, 4),
        ({"target[]": [POST, POST_S]}, 4),  # webmention.io's spelling
        ({"target": "HTTP://Blog.TEST:80/post#comments"}, 3),  # normalised, fragment dropped
        ({"target": ["//blog.test/post", "http://blog.test/other"]}, 5),
        ({"target": "http://blog.test/nothing"}, 0),
    ],
)
def test_target_aliases(client, params, expected):
    assert feed(client, **params)["total"] == expected


def test_sort_page_and_total(client):
    order = ["e.test", "d.test", "c.test", "b.test", "a.test"]
    down = feed(client, site="blog.test")
    assert [s.split("/")[2] for s in sources(down)] == order
    up = feed(client, site="blog.test", **{"sort-dir": "up"})
    assert sources(up) == sources(down)[::-1]
    updated = feed(client, site="blog.test", **{"sort-by": "updated"})
    assert sources(updated) == sources(down)
    # published, else received: a 10 days, c 3, d 2, e 1, b half a day ago.
    published = feed(client, site="blog.test", **{"sort-by": "published", "sort-dir": "up"})
    assert [s.split("/")[2] for s in sources(published)] == ["a.test", "c.test", "d.test", "e.test", "b.test"]
    pages = [feed(client, site="blog.test", page=n, **{"per-page": 2}) for n in range(4)]
    assert [sources(p) for p in pages] == [sources(down)[0:2], sources(down)[2:4], sources(down)[4:], []]
    assert {(p["total"], p["per-page"]) for p in pages} == {(5, 2)}
    assert [p["page"] for p in pages] == [0, 1, 2, 3]
    assert feed(client, site="blog.test", **{"per-page": 1000})["per-page"] == 100
    for bad in ({"sort-by": "rsvp"}, {"sort-dir": "sideways"}):
        r = client.get("/api/mentions", params={"site": "blog.test", **bad})
        assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_since(client):
    after = (NOW - timedelta(days=2, hours=12)).isoformat()
    assert [s.split("/")[2] for s in sources(feed(client, site="blog.test", since=after))] == ["e.test", "d.test"]
    assert feed(client, site="blog.test", since="2024-04-29")["total"] == 2  # a date: its midnight UTC
    assert feed(client, site="blog.test", since="2024-04-29T00:00:00Z")["total"] == 2
    # "+" unencoded in a hand-written query arrives as a space
    r = client.get("/api/mentions?site=blog.test&since=2024-04-29T02:00:00+02:00")
    assert r.status_code == 200 and r.json()["total"] == 2
    assert feed(client, site="blog.test", since=NOW.isoformat())["total"] == 0
    r = client.get("/api/mentions", params={"site": "blog.test", "since": "last tuesday"})
    assert r.status_code == 400


def test_type_filters(client):
    both = "//blog.test/post"
    assert sources(feed(client, target=both, type="like")) == ["http://a.test/1"]
    assert sources(feed(client, target=both, **{"wm-property": "in-reply-to"})) == ["http://b.test/2"]
    likes_reposts = feed(client, target=both, **{"wm-property[]": ["like-of", "repost-of"]})
    assert sorted(sources(likes_reposts)) == ["http://a.test/1", "http://c.test/3"]
    assert sorted(sources(feed(client, target=both, type=["like", "rsvp"]))) == ["http://a.test/1", "http://e.test/5"]
    assert sources(feed(client, site="blog.test", type="like")) == ["http://a.test/1"]
    assert feed(client, site="blog.test", type="mention")["total"] == 1
    for bad in ({"type": "comment"}, {"wm-property": "like"}):
        assert client.get("/api/mentions", params={"target": both, **bad}).status_code == 400


def test_jf2_entries(client):
    entries = {e["wm-source"]: e for e in feed(client, target="//blog.test/post")["children"]}
    like = entries["http://a.test/1"]
    assert like["type"] == "entry"
    assert like["author"] == {"type": "card", "name": "Alice", "photo": "http://a.test/me.jpg", "url": "http://a.test/"}
    assert like["wm-property"] == "like-of" and like["like-of"] == POST and like["wm-target"] == POST
    assert like["url"] == "http://a.test/1"  # no h-entry url: the source
    assert like["published"] == "2024-04-21T12:00:00Z"
    assert like["wm-received"] == "2024-04-26T12:00:00Z"
    assert like["wm-protocol"] == "webmention" and like["wm-private"] is False
    assert isinstance(like["wm-id"], int)
    assert entries["http://c.test/3"]["repost-of"] == POST_S
    rsvp = entries["http://e.test/5"]
    assert rsvp["wm-property"] == "rsvp" and rsvp["rsvp"] == "yes" and rsvp["in-reply-to"] == POST
    reply = entries["http://b.test/2"]
    assert reply["wm-property"] == "in-reply-to" and reply["in-reply-to"] == POST
    assert reply["name"] == "A reply" and reply["summary"] == "Hi there"


def test_json_is_safe_whatever_is_stored(client):
    r = client.get("/api/mentions", params={"target": POST, "type": "reply"})
    raw = r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "<" not in raw and ">" not in raw and "\\u003c" in raw  # inert even inside a <script>
    (reply,) = r.json()["children"]
    # Text stays text (the consumer escapes it); every URL is http(s) or empty.
    assert reply["author"]["name"] == NAME_XSS
    assert reply["author"]["url"] == reply["author"]["photo"] == ""
    assert reply["url"] == "http://b.test/2"  # the javascript: url gives way to the source
    html = reply["content"]["html"]
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html
    assert '<a href="http://ok.test/" rel="nofollow ugc noopener">ok</a>' in html
    assert "<b>there</b>" in html
    assert "javascript:" not in json.dumps([reply["url"], reply["author"], reply["wm-source"], html])


def test_bad_requests_and_no_jsonp(client):
    for params in ({}, {"target": "not a url"}, {"target": "javascript:alert(1)"}, {"site": "bad site!"}):
        r = client.get("/api/mentions", params=params)
        assert r.status_code == 400, params
        assert r.json()["error"] == "invalid_request"
    for name in ("jsonp", "callback"):
        r = client.get("/api/mentions", params={"target": POST, name: "alert"})
        assert r.status_code == 400 and "JSONP" in r.json()["error_description"]
        assert not r.text.startswith("alert")


def test_count(client):
    r = client.get("/api/count", params={"target": "//blog.test/post"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
    assert r.json() == {"count": 4, "type": {"like": 1, "reply": 1, "repost": 1, "rsvp": 1}}
    assert client.get("/api/count", params={"target": "http://blog.test/nothing"}).json() == {"count": 0, "type": {}}
    assert client.get("/api/count").status_code == 400


def test_atom_feed(client):
    r = client.get("/api/feed.atom", params={"site": "blog.test"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(r.content)  # well-formed
    assert root.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{tag}").text
    assert root.find(f"{ATOM}link[@rel='self']").get("href").endswith("/api/feed.atom?site=blog.test")
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 5
    ids = [e.find(f"{ATOM}id").text for e in entries]
    assert len(set(ids)) == 5 and all(i.startswith("tag:blog.test,2024-04-") for i in ids)
    for e in entries:
        assert e.find(f"{ATOM}title").text
        assert e.find(f"{ATOM}author/{ATOM}name").text
        assert e.find(f"{ATOM}updated").text and e.find(f"{ATOM}published").text
        assert e.find(f"{ATOM}link[@rel='alternate']").get("href").startswith("http://")
    by_link = {e.find(f"{ATOM}link[@rel='alternate']").get("href"): e for e in entries}
    like = by_link["http://a.test/1"]
    assert like.find(f"{ATOM}title").text == f"Alice liked {POST}"
    assert like.find(f"{ATOM}author/{ATOM}uri").text == "http://a.test/"
    assert like.find(f"{ATOM}published").text == "2024-04-21T12:00:00Z"
    reply = by_link["http://b.test/2"]
    # The payload name is text in the XML (escaped in the bytes), the content sanitised HTML.
    assert reply.find(f"{ATOM}author/{ATOM}name").text == NAME_XSS
    assert reply.find(f"{ATOM}author/{ATOM}uri") is None
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in r.text
    content = reply.find(f"{ATOM}content")
    assert content.get("type") == "html"
    assert "<b>there</b>" in content.text
    assert "<script" not in content.text and "onerror" not in content.text and "javascript:" not in content.text
    assert "javascript:" not in r.text
    assert "hidden.test" not in r.text
    assert client.get("/api/feed.atom", params={"site": "unknown.test"}).status_code == 404


def test_index_backlinks(client):
    r = client.get("/api/backlinks", params={"target": POST})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
    body = r.json()
    assert body["target"] == [POST]
    # one row per linking page (the earliest sighting), no look-alike URL, no internal or lost link
    assert body["links"] == [
        {"source_url": "http://ext.test/a", "anchor": "Great post", "first_seen": "2024-02-01T00:00:00Z"}
    ]
    both = client.get("/api/backlinks", params={"target": "//blog.test/post"}).json()["links"]
    assert [b["source_url"] for b in both] == ["http://ext2.test/c", "http://ext.test/a"]  # newest first
    assert len(client.get("/api/backlinks", params={"target": "//blog.test/post", "limit": 1}).json()["links"]) == 1
    assert client.get("/api/backlinks", params={"target": "http://elsewhere.test/post"}).status_code == 404
    assert client.get("/api/backlinks", params={"target": "javascript:x"}).status_code == 400


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_widget_snippet(client):
    r = client.get("/widget", params={"target": "//blog.test/post", "backlinks": "1"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "script-src 'none'" in csp and "default-src 'none'" in csp
    html = r.text
    assert "Links to this post" in html
    assert html.count('class="lb-item ') == 6  # 4 mentions and 2 index backlinks
    parser = _Tags()
    parser.feed(html)
    assert not [t for t, _ in parser.tags if t in ("script", "iframe", "object", "embed", "svg", "style")]
    for tag, attrs in parser.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        for name in ("href", "src"):
            if name in attrs:
                assert attrs[name].startswith(("http://", "https://")), (tag, attrs)
        if tag == "a":
            assert attrs["rel"] == "nofollow ugc noopener"
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt; &amp; &#34;Bob&#34;" in html
    assert "<b>there</b>" in html  # replies keep the sanitised HTML here
    assert "Great post" in html and "https one" in html
    assert "hidden.test" not in html
    plain = client.get("/widget", params={"target": POST, "css": "0"}).text
    assert "lb-backlink" not in plain and "<link" not in plain
    assert 'class="lb-empty"' in client.get("/widget", params={"target": "http://blog.test/nothing"}).text


def test_widget_script_is_served_and_never_parses_markup(client):
    r = client.get("/widget.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    code = r.text
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function(", "DOMParser"):
        assert sink not in code.split("*/", 1)[1], sink  # the header comment may name them
    css = client.get("/widget.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    rules = [line for line in css.text.splitlines() if line and line[0] not in " /}"]
    assert rules and all(line.startswith(".lb-widget") for line in rules)


def test_bidi_overrides_in_a_mention_text_are_dropped() -> None:
    # "\u202egnp.exe" shows as "exe.png", and the override ran on into the date beside it.
    from linkback.mentions._render import _text  # noqa: PLC0415

    assert _text("\u202egnp.exe") == "gnp.exe"
    assert _text("a\u2066b\u2069c\u202ad\u202ce") == "abcde"
    assert _text("שלום Alice") == "שלום Alice"  # right-to-left letters need no control
