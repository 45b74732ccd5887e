"""A site's alerts as an Atom feed (RFC 4287): an id, a title, when it was updated, and one entry
per alert linking to its evidence.

Built with :mod:`xml.etree.ElementTree`, which escapes what it writes; characters XML 1.0
cannot carry at all (control characters in a hostile anchor text) are dropped first, so the
feed always parses.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from linkback.faces import iso

ATOM = "http://www.w3.org/2005/Atom"
# Characters outside XML 1.0's Char production.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: object) -> str:
    return _NOT_XML.sub("", str(value))


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def stable_id(*parts: object) -> str:
    """A permanent ``urn:uuid:`` made from ``parts`` (the same parts, the same id)."""
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, "linkback:" + json.dumps([str(p) for p in parts])))


def _content(alert: dict[str, Any]) -> str:
    """The entry's text: its title, then the facts of its detail, one per line."""
    try:
        detail = json.loads(alert.get("detail") or "{}")
    except ValueError:
        detail = {}
    lines = [str(alert["title"])]
    if isinstance(detail, dict):
        lines += [f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in sorted(detail.items())]
    return "\n".join(lines)


def atom_feed(
    site: str,
    alerts: list[dict[str, Any]],
    *,
    feed_id: str,
    self_url: str,
    base_url: str,
    now: datetime,
) -> bytes:
    """The feed of ``alerts`` (newest first) for ``site``. ``base_url`` makes each evidence path
    a link; ``self_url`` is where the feed was read."""
    feed = ET.Element("feed", {"xmlns": ATOM})
    _sub(feed, "id", feed_id)
    _sub(feed, "title", f"linkback alerts for {site}")
    _sub(feed, "subtitle", f"Changes to the links of {site}: new, lost and changed links, broken pages, toxic domains")
    newest = max((a["created_at"] for a in alerts), default=now)
    _sub(feed, "updated", iso(newest))
    _sub(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    author = _sub(feed, "author")
    _sub(author, "name", "linkback")
    _sub(feed, "generator", "linkback")
    for alert in alerts:
        entry = _sub(feed, "entry")
        _sub(entry, "id", stable_id(feed_id, alert["alert_id"], alert["alert_key"]))
        _sub(entry, "title", alert["title"])
        _sub(entry, "updated", iso(alert["created_at"]))
        _sub(entry, "published", iso(alert["created_at"]))
        evidence = str(alert.get("evidence") or "")
        _sub(entry, "link", rel="alternate", type="text/html", href=base_url + evidence if evidence else base_url + "/")
        _sub(entry, "category", term=str(alert["event"]))
        _sub(entry, "content", _content(alert), type="text")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8", xml_declaration=False)
