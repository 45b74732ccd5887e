"""Mentions as the outside world reads them: jf2 entries (as webmention.io serves them) and Atom.

The verifier stores mentions safe at rest (sanitised HTML, http(s)-only URLs, text stripped of
markup), but stored data may predate a fix, or come from a path that skipped the verifier, so
everything leaving here is made safe again at render time:

* every URL field goes through :func:`~linkback.protocols._sanitize.safe_url` (http(s) or "");
* ``content.html`` is sanitised again (:func:`~linkback.protocols._sanitize.sanitize_html` is
  idempotent on its own output), so a consumer may insert it as HTML;
* the text fields (``name``, ``summary``, ``content.text``, ``author.name``) are *text*: control
  characters are dropped, nothing else; whoever renders them must escape them (``textContent``,
  jinja2 autoescape, ElementTree), which is what the widget, the snippet and the feed here do.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from linkback.protocols._sanitize import safe_url, sanitize_html

__all__ = [
    "FACE_TYPES",
    "GROUPS",
    "PROPERTY_OF_TYPE",
    "TYPE_OF_PROPERTY",
    "atom_feed",
    "author_label",
    "group_entries",
    "host_label",
    "jf2_entry",
]

#: wm-property for each mention type (jf2).
PROPERTY_OF_TYPE = {
    "reply": "in-reply-to",
    "like": "like-of",
    "repost": "repost-of",
    "bookmark": "bookmark-of",
    "rsvp": "rsvp",
    "mention": "mention-of",
}
TYPE_OF_PROPERTY = {v: k for k, v in PROPERTY_OF_TYPE.items()}
RSVP_VALUES = ("yes", "no", "maybe", "interested")
#: Verbs for a feed entry's title: "Alice liked https://blog.example/post".
VERB_OF_TYPE = {
    "reply": "replied to",
    "like": "liked",
    "repost": "reposted",
    "bookmark": "bookmarked",
    "rsvp": "RSVPed to",
    "mention": "mentioned",
}
#: Characters no mention's text keeps: C0/C1 controls (tab and newline kept), line separators,
#: the BOM, and the bidi overrides, embeddings and isolates (U+202A-202E, U+2066-2069). An author named "\u202egnp.exe" reads
#: "exe.png", and the override ran on into the date and title beside it. Right-to-left names need
#: none of them: the bidi algorithm orders their letters.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\u202a-\u202e\u2066-\u2069]")
_ATOM = "http://www.w3.org/2005/Atom"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _text(value: object) -> str:
    return _CONTROL.sub("", value) if isinstance(value, str) else ""


def _type_of(row: dict) -> str:
    kind = row.get("type") or TYPE_OF_PROPERTY.get(row.get("wm_property") or "", "mention")
    return kind if kind in PROPERTY_OF_TYPE else "mention"


def jf2_entry(row: dict) -> dict:
    """One mention row as a jf2 ``entry`` (type, author, url, published, content, wm-* fields).

    The fields and their names follow webmention.io's jf2 output; see the module docstring for
    what is safe to insert as HTML (``content.html``) and what must be escaped (the text fields).
    """
    kind = _type_of(row)
    prop = PROPERTY_OF_TYPE[kind]
    # The source was checked (http(s), normalised) on receipt: kept as stored, for matching.
    source = row.get("source") or ""
    source = source if safe_url(source) else ""
    url = safe_url(row.get("url") or "") or source
    entry: dict = {
        "type": "entry",
        "author": {
            "type": "card",
            "name": _text(row.get("author_name")),
            "photo": safe_url(row.get("author_photo") or ""),
            "url": safe_url(row.get("author_url") or ""),
        },
        "url": url,
        "published": _iso(row.get("published")),
        # First receipt, as webmention.io: what since= and sort-by=created read.
        "wm-received": _iso(row.get("received_at")),
        "wm-id": row.get("mention_id"),
        "wm-source": source,
        "wm-target": row.get("target"),
        "wm-protocol": row.get("protocol"),
        "wm-property": prop,
        "wm-private": False,
        "name": _text(row.get("name")),
        "summary": _text(row.get("summary")),
        "content": {
            "html": sanitize_html(row.get("content_html") or "", base_url=url),
            "text": _text(row.get("content_text")),
        },
        prop: row.get("target"),
    }
    if prop == "rsvp":
        rsvp = (row.get("rsvp") or "").lower()
        entry["rsvp"] = rsvp if rsvp in RSVP_VALUES else ""
        entry["in-reply-to"] = row.get("target")
    return entry


def host_label(url: str) -> str:
    """The host of an http(s) URL, without ``www.``, for a link with no better text."""
    rest = url.split("://", 1)[-1]
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1]
    return host.removeprefix("www.")


def author_label(entry: dict) -> str:
    """What to call a jf2 entry's author: the name, else the host of their URL or of the source."""
    author = entry.get("author") or {}
    return (
        (author.get("name") or "").strip()
        or host_label(author.get("url") or "")
        or host_label(entry.get("url") or entry.get("wm-source") or "")
        or "someone"
    )


#: How the widget and the snippet group mentions: faces, then replies, RSVPs and mentions.
GROUPS = (
    ("like", "Likes"),
    ("repost", "Reposts"),
    ("bookmark", "Bookmarks"),
    ("reply", "Replies"),
    ("rsvp", "RSVPs"),
    ("mention", "Mentions"),
)
FACE_TYPES = ("like", "repost", "bookmark")


def group_entries(entries: Iterable[dict]) -> list[tuple[str, str, list[dict]]]:
    """jf2 entries as (type, heading, entries) in :data:`GROUPS` order, empty groups left out."""
    by_type: dict[str, list[dict]] = {kind: [] for kind, _ in GROUPS}
    for entry in entries:
        by_type[TYPE_OF_PROPERTY.get(entry.get("wm-property") or "", "mention")].append(entry)
    return [(kind, heading, by_type[kind]) for kind, heading in GROUPS if by_type[kind]]


def _tag_uri(site: str, when: datetime | None, specific: str) -> str:
    day = (when or datetime(2000, 1, 1, tzinfo=UTC)).strftime("%Y-%m-%d")
    return f"tag:{site},{day}:{specific}"


def atom_feed(rows: Sequence[dict], *, site: str, feed_url: str, title: str = "", now: datetime | None = None) -> bytes:
    """Mention rows as an Atom 1.0 feed (RFC 4287), UTF-8 bytes with the XML declaration.

    Each entry: a tag URI ``id`` (site, day received, mention number: stable), a ``title``
    ("Alice liked https://site/post", or the source's title for replies and mentions), the
    author, ``link rel=alternate`` to the source and ``rel=related`` to the target,
    ``published``/``updated`` and the sanitised content as ``type="html"`` (ElementTree escapes
    it, and every other text, for XML).
    """
    ET.register_namespace("", _ATOM)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        # XML 1.0 has no control characters: sanitised HTML may still hold some.
        el = ET.SubElement(parent, f"{{{_ATOM}}}{tag}", {k: _CONTROL.sub("", v) for k, v in attrs.items()})
        if text is not None:
            el.text = _CONTROL.sub("", text)
        return el

    now = now or datetime.now(UTC)
    feed = ET.Element(f"{{{_ATOM}}}feed")
    sub(feed, "id", feed_url)
    sub(feed, "title", title or f"Mentions of {site}")
    updated = [r["updated_at"] for r in rows if r.get("updated_at") is not None]
    sub(feed, "updated", _iso(max(updated) if updated else now))
    sub(feed, "link", rel="self", type="application/atom+xml", href=feed_url)
    sub(sub(feed, "author"), "name", site)
    sub(feed, "generator", "linkback")
    for row in rows:
        entry = jf2_entry(row)
        kind = _type_of(row)
        el = sub(feed, "entry")
        sub(el, "id", _tag_uri(row.get("site") or site, row.get("received_at"), f"mention-{row.get('mention_id')}"))
        who = author_label(entry)
        name = entry["name"].strip()
        verb = VERB_OF_TYPE[kind]
        if kind == "rsvp" and entry.get("rsvp"):
            verb = f"RSVPed {entry['rsvp']} to"
        headline = f"{who} {verb} {row.get('target') or ''}".strip()
        sub(el, "title", f"{headline}: {name}" if name and kind in ("reply", "mention") else headline)
        author = sub(el, "author")
        sub(author, "name", who)
        if entry["author"]["url"]:
            sub(author, "uri", entry["author"]["url"])
        if entry["url"]:
            sub(el, "link", rel="alternate", type="text/html", href=entry["url"])
        target = safe_url(row.get("target") or "")
        if target:
            sub(el, "link", rel="related", href=target)
        published = row.get("published") or row.get("received_at")
        if published is not None:
            sub(el, "published", _iso(published))
        sub(el, "updated", _iso(row.get("updated_at") or row.get("received_at") or now))
        html = entry["content"]["html"]
        if html:
            sub(el, "content", html, type="html")
        elif entry["content"]["text"] or entry["summary"]:
            sub(el, "content", entry["content"]["text"] or entry["summary"], type="text")
        if entry["summary"] and html:
            sub(el, "summary", entry["summary"], type="text")
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
