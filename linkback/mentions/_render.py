"""Mentions as the outside world reads them: jf2 entries (as webmention.io serves them).

Everything here is already safe at rest (the verifier sanitised the HTML and kept only http(s)
URLs); what renders HTML still escapes every field, because stored data may predate a fix.
"""

from __future__ import annotations

from datetime import datetime

from linkback.protocols._sanitize import safe_url

#: wm-property for each mention type (jf2).
PROPERTY_OF_TYPE = {
    "reply": "in-reply-to",
    "like": "like-of",
    "repost": "repost-of",
    "bookmark": "bookmark-of",
    "rsvp": "rsvp",
    "mention": "mention-of",
}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def jf2_entry(row: dict) -> dict:
    """One mention row as a jf2 ``entry`` (type, author, url, published, content, wm-* fields)."""
    prop = row.get("wm_property") or PROPERTY_OF_TYPE.get(row.get("type") or "mention", "mention-of")
    entry: dict = {
        "type": "entry",
        "author": {
            "type": "card",
            "name": row.get("author_name") or "",
            "photo": safe_url(row.get("author_photo") or ""),
            "url": safe_url(row.get("author_url") or ""),
        },
        "url": safe_url(row.get("url") or row.get("source") or ""),
        "published": _iso(row.get("published")),
        "wm-received": _iso(row.get("verified_at") or row.get("received_at")),
        "wm-id": row.get("mention_id"),
        "wm-source": row.get("source"),
        "wm-target": row.get("target"),
        "wm-protocol": row.get("protocol"),
        "wm-property": prop,
        "wm-private": False,
        "name": row.get("name") or "",
        "summary": row.get("summary") or "",
        "content": {"html": row.get("content_html") or "", "text": row.get("content_text") or ""},
        prop: row.get("target"),
    }
    if prop == "rsvp":
        entry["rsvp"] = row.get("rsvp") or ""
        entry["in-reply-to"] = row.get("target")
    return entry
