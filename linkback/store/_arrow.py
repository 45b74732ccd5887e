"""Records → Arrow batches in the one schema (what workers hand to the store)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pyarrow as pa

from linkback import schema
from linkback.records import Link, PageFacts

_OBS_FIELDS = {  # observation column -> PageFacts attribute
    name: name for name in schema.OBSERVATIONS.names if name not in ("obs_id", "obs_key", "archive_id")
}
_OBS_FIELDS["record_offset"] = "offset"
OBS_BATCH_SCHEMA = pa.schema([schema.OBSERVATIONS.field(n) for n in ("obs_key", *_OBS_FIELDS)])
_LINK_ATTRS = schema.LINK_OBSERVATIONS.names[1:]
FIRST_LINKS_SCHEMA = pa.schema([pa.field("page_idx", pa.int32()), *schema.LINKS])
LINK_BATCH_SCHEMA = pa.schema(
    [pa.field("page_idx", pa.int32()), *(schema.LINK_OBSERVATIONS.field(n) for n in _LINK_ATTRS)]
)


def obs_key(url: str, fetched_at_iso: str) -> int:
    """A stable 64-bit key for one capture: the same URL fetched at the same instant."""
    digest = hashlib.blake2b(f"{url}\x00{fetched_at_iso}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def to_batches(facts: Sequence[PageFacts], links: Sequence[Sequence[Link]]) -> tuple[pa.RecordBatch, pa.RecordBatch]:
    """Observation and link batches for pages ``facts`` whose links are ``links[i]``."""
    obs_cols: dict[str, list] = {"obs_key": [obs_key(f.url, f.fetched_at.isoformat()) for f in facts]}
    for col, attr in _OBS_FIELDS.items():
        obs_cols[col] = [getattr(f, attr) for f in facts]
    page_idx: list[int] = []
    flat: list[Link] = []
    for i, page_links in enumerate(links):
        page_idx.extend([i] * len(page_links))
        flat.extend(page_links)
    # Link is a NamedTuple whose fields are the link columns, in order: transpose in one go.
    columns = list(zip(*flat, strict=True)) if flat else [()] * len(_LINK_ATTRS)
    link_cols: dict[str, object] = {"page_idx": page_idx}
    for col, values in zip(_LINK_ATTRS, columns, strict=True):
        link_cols[col] = [" ".join(rel) for rel in values] if col == "rel" else values
    return (
        pa.RecordBatch.from_pydict(obs_cols, schema=OBS_BATCH_SCHEMA),
        pa.RecordBatch.from_pydict(link_cols, schema=LINK_BATCH_SCHEMA),
    )


def first_links(facts: Sequence[PageFacts], links: Sequence[Sequence[Link]]) -> pa.RecordBatch:
    """The ``links`` rows these pages give if this is their only observation.

    That is the common case (a page ingested for the first time), and it needs no aggregation:
    each link identity (target, kind, anchor) once per page, first and last seen at the capture,
    nothing lost, ``noindex`` as the page is. Workers build these rows in parallel; the
    store uses them when none of the batch's pages were seen before (see ``add_batch``).
    """
    cols: dict[str, list] = {name: [] for name in FIRST_LINKS_SCHEMA.names}
    for i, (page, page_links) in enumerate(zip(facts, links, strict=True)):
        if not page_links:
            continue
        seen: set[tuple[str, str, str]] = set()
        for link in page_links:
            identity = (link.target_url, link.kind, link.anchor)
            if identity in seen:
                continue
            seen.add(identity)
            cols["page_idx"].append(i)
            cols["source_url"].append(page.url)
            cols["source_host"].append(page.host)
            cols["source_domain"].append(page.domain)
            for col, value in zip(_LINK_ATTRS, link, strict=True):
                cols[col].append(" ".join(link.rel) if col == "rel" else value)
            cols["first_seen"].append(page.fetched_at)
            cols["last_seen"].append(page.fetched_at)
            cols["lost_at"].append(None)
            cols["lost_reason"].append(None)
            cols["via"].append(page.via)
            cols["noindex"].append(bool(page.noindex))
    return pa.RecordBatch.from_pydict(cols, schema=FIRST_LINKS_SCHEMA)
