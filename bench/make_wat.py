"""Make a Common Crawl-style WAT file from a WARC file: the input of the WAT lite ingest's tests
and of bench/bench_wat.py.

Each record of the WARC gets one ``metadata`` record of JSON, as ia-web-commons (Common Crawl's WAT
generator, ``ExtractingParseObserver``) writes it: ``Envelope`` → ``WARC-Header-Metadata`` and,
for an HTTP response, ``Payload-Metadata`` → ``HTTP-Response-Metadata`` (``Response-Message``,
``Headers``) and, for HTML, ``HTML-Metadata``: ``Head`` (``Title``, ``Base``, ``Metas``, ``Link``)
and ``Links``. The links are the raw attribute values as found in the HTML (not resolved), with
the anchor text (and the title) whitespace-collapsed and cut at 100 characters, and an image inside a link listed
before the link (ia-web-commons writes an image when it opens and a link when it closes).

The HTML is parsed here with selectolax directly, never with linkback's extract(): the WAT
ingest is compared with WARC ingest of the same pages, and that comparison must not be circular.

    python bench/make_wat.py IN.warc.gz OUT.warc.wat.gz
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastwarc.warc import ArchiveIterator, WarcRecordType
from selectolax.lexbor import LexborHTMLParser

#: Characters of anchor text a WAT keeps.
TEXT_CHARS = 100
_SELECT = "html,base,title,meta,link,a,area,img,iframe,frame,form"
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_ANCHOR_ATTRS = ("target", "alt", "title", "rel", "hreflang", "type")
_META_ATTRS = ("name", "rel", "content", "http-equiv", "property")


def wat_record(headers: dict[str, str], body: bytes) -> bytes:
    """One WARC record, gzipped as its own member (as Common Crawl's files are)."""
    head = "WARC/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head += f"Content-Length: {len(body)}\r\n\r\n"
    return gzip.compress(head.encode() + body + b"\r\n\r\n", compresslevel=6)


def metadata_record(target: str, date: str, refers_to: str, doc: dict | bytes) -> bytes:
    body = doc if isinstance(doc, bytes) else json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {
        "WARC-Type": "metadata",
        "WARC-Target-URI": target,
        "WARC-Date": date,
        "WARC-Record-ID": f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, refers_to + target)}>",
        "WARC-Refers-To": refers_to,
        "Content-Type": "application/json",
    }
    return wat_record(headers, body)


def _decode(body: bytes, content_type: str) -> str:
    m = re.search(r"charset=([\w.:-]+)", content_type, re.I)
    names = [m.group(1)] if m else []
    meta = _CHARSET.search(body[:4096])
    if meta:
        names.append(meta.group(1).decode("ascii"))
    for name in [*names, "utf-8"]:
        try:
            return body.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("cp1252", "replace")


def _attrs(node: Any, names: tuple[str, ...]) -> dict[str, str]:
    attrs = node.attributes
    return {name: attrs[name] for name in names if attrs.get(name) is not None}


def html_metadata(html: str) -> dict:
    """``HTML-Metadata`` of one page, as ia-web-commons gives it."""
    tree = LexborHTMLParser(html)
    head: dict[str, Any] = {}
    metas: list[dict] = []
    head_links: list[dict] = []
    links: list[dict] = []
    done: set[int] = set()  # images already written before the link they are in
    for node in tree.css(_SELECT):
        tag, attrs = node.tag, node.attributes
        if tag == "html" and attrs.get("lang") is not None:
            metas.append({"name": "HTML@/lang", "content": attrs["lang"]})
        elif tag == "base" and "Base" not in head and attrs.get("href") is not None:
            head["Base"] = attrs["href"]
        elif tag == "title" and "Title" not in head:
            head["Title"] = " ".join(node.text().split())[:TEXT_CHARS]  # cut like anchors
        elif tag == "meta" and any(attrs.get(a) is not None for a in _META_ATTRS):
            metas.append(_attrs(node, _META_ATTRS))
        elif tag == "link" and attrs.get("href") is not None:
            head_links.append({"path": "LINK@/href", "url": attrs["href"], **_attrs(node, ("rel", "type"))})
        elif tag == "a" and attrs.get("href") is not None:
            for img in node.css("img"):
                if img.attributes.get("src") is not None:
                    done.add(img.mem_id)
                    links.append(_image(img))
            entry = {"path": "A@/href", "url": attrs["href"], **_attrs(node, _ANCHOR_ATTRS)}
            text = " ".join(node.text().split())[:TEXT_CHARS]
            if text:
                entry["text"] = text
            links.append(entry)
        elif tag == "area" and attrs.get("href") is not None:
            links.append({"path": "AREA@/href", "url": attrs["href"], **_attrs(node, ("rel",))})
        elif tag == "img" and attrs.get("src") is not None and node.mem_id not in done:
            links.append(_image(node))
        elif tag in ("iframe", "frame") and attrs.get("src") is not None:
            links.append({"path": f"{tag.upper()}@/src", "url": attrs["src"]})
        elif tag == "form" and attrs.get("action") is not None:
            links.append({"path": "FORM@/action", "url": attrs["action"], **_attrs(node, ("target", "method"))})
    if metas:
        head["Metas"] = metas
    if head_links:
        head["Link"] = head_links
    out: dict[str, Any] = {"Head": head}
    if links:
        out["Links"] = links
    return out


def _image(node: Any) -> dict:
    return {"path": "IMG@/src", "url": node.attributes["src"], **_attrs(node, ("alt", "title"))}


def _warc_header(record: Any) -> dict[str, str]:
    return {k: v for k, v in record.headers}


def _envelope(record: Any) -> dict:
    envelope: dict[str, Any] = {"Format": "WARC", "WARC-Header-Metadata": _warc_header(record)}
    if record.record_type != WarcRecordType.response or record.http_headers is None:
        return envelope
    http = record.http_headers
    status_line = http.status_line.split(" ", 2)
    headers: dict[str, str] = {}
    for key, value in http:
        headers.setdefault(key, value)  # a JSON object: one value per name
    response: dict[str, Any] = {
        "Response-Message": {"Version": status_line[0], "Status": str(http.status_code),
                             "Reason": status_line[2] if len(status_line) > 2 else ""},
        "Headers": headers,
    }  # fmt: skip
    content_type = http.get("Content-Type") or ""
    body = record.reader.read()
    response["Entity-Length"] = str(len(body))
    if "html" in content_type.lower() or (not content_type and body.lstrip()[:1] == b"<"):
        response["HTML-Metadata"] = html_metadata(_decode(body, content_type))
    envelope["Payload-Metadata"] = {
        "Actual-Content-Type": "application/http; msgtype=response",
        "HTTP-Response-Metadata": response,
    }
    return envelope


def wat_records(warc: Path) -> Iterator[bytes]:
    """The WAT records (gzipped) of every record of ``warc``, after a warcinfo of its own."""
    info = f"Software-Info: linkback bench/make_wat.py\r\nformat: WARC File Format 1.0\r\nsource: {warc.name}\r\n"
    yield wat_record({"WARC-Type": "warcinfo", "WARC-Date": "2024-05-31T00:00:00Z",
                      "WARC-Record-ID": f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, str(warc.name))}>",
                      "Content-Type": "application/warc-fields"}, info.encode())  # fmt: skip
    with open(warc, "rb") as fh:
        for record in ArchiveIterator(fh, parse_http=True):
            rid = record.headers.get("WARC-Record-ID") or f"<urn:uuid:{uuid.uuid4()}>"
            target = record.headers.get("WARC-Target-URI") or ""
            date = record.headers.get("WARC-Date") or ""
            yield metadata_record(target, date, rid, {"Envelope": _envelope(record)})


def make_wat(warc: Path, out: Path) -> int:
    """Write the WAT of ``warc`` to ``out``; the number of records written."""
    n = 0
    with open(out, "wb") as fh:
        for member in wat_records(warc):
            fh.write(member)
            n += 1
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("warc", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    n = make_wat(args.warc, args.out)
    print(f"{args.out}: {n} records, {args.out.stat().st_size:,} bytes (WARC {args.warc.stat().st_size:,})")


if __name__ == "__main__":
    main()
