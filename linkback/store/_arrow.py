"""Records → Arrow batches in the one schema (what workers hand to the store).

Built column by column: the link columns are the :class:`~linkback.records.Link` tuples
transposed in one go, and the link-state rows of first observations (:func:`first_links`) are
those columns taken at each page's first occurrence of a link, with the page's columns taken by
``page_idx``, all in Arrow. No column is made by ``pa.array(list)``: pyarrow asks there whether
the list is a pandas object, which imports pandas, 0.45 s of CPU in every process that does it
(the ingest command, each worker) and nothing else of linkback uses it. :func:`column` builds
the arrays from NumPy buffers and a string builder instead.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np
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
_TIMESTAMP = schema.OBSERVATIONS.field("fetched_at").type
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
#: A surrogate code point: no character, not encodable as UTF-8 (a lone ``"\ud800"`` of a JSON
#: document). Arrow strings are UTF-8.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Where a link's identity (target_url, kind, anchor) sits in a Link tuple.
_IDENTITY = (Link._fields.index("target_url"), Link._fields.index("kind"), Link._fields.index("anchor"))


def obs_key(url: str, fetched_at_iso: str) -> int:
    """A stable 64-bit key for one capture: the same URL fetched at the same instant."""
    digest = hashlib.blake2b(utf8(f"{url}\x00{fetched_at_iso}"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def column(values: Sequence[Any], typ: pa.DataType) -> pa.Array:
    """``pa.array(values, typ)`` for string, boolean, integer and timestamp types (timestamps
    given as integers in the type's unit), without pyarrow's check for pandas objects."""
    n = len(values)
    try:
        if pa.types.is_string(typ):
            return _strings(values)
        if pa.types.is_boolean(typ):
            if None in values:  # NumPy would read it as false
                raise TypeError("null")
            data = np.packbits(np.fromiter(values, np.bool_, n), bitorder="little")
        else:
            data = np.fromiter(values, np.int64 if pa.types.is_timestamp(typ) else typ.to_pandas_dtype(), n)
        return pa.Array.from_buffers(typ, n, [None, pa.py_buffer(data)])
    except TypeError:  # nulls among the values (rare): a validity bitmap, and zeros in their place
        if None not in values:
            raise
    valid = np.fromiter((v is not None for v in values), np.bool_, n)
    filled = column([("" if pa.types.is_string(typ) else 0) if v is None else v for v in values], typ)
    return pa.Array.from_buffers(typ, n, [pa.py_buffer(np.packbits(valid, bitorder="little")), *filled.buffers()[1:]])


def scalar(value: Any, typ: pa.DataType) -> pa.Scalar:
    """``pa.scalar(value, typ)``, which imports pandas too (for compute functions' arguments)."""
    return column([value], typ)[0]


def utf8(text: str) -> bytes:
    """``text`` as UTF-8, each surrogate in it replaced by U+FFFD (as the store will hold it).
    Sources replace them where they read them; this is the last line of defence: one such
    character must not stop a batch (and the ingest) with a UnicodeEncodeError."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text).encode()


def _strings(values: Sequence[str]) -> pa.Array:
    # All the values joined by NUL and encoded at once; the NULs give the offsets (vectorised),
    # unless a value holds one itself: then one by one.
    n = len(values)
    joined = utf8("\0".join(values))
    cuts = np.flatnonzero(np.frombuffer(joined, np.uint8) == 0)
    if len(cuts) == max(n - 1, 0):
        data = joined.replace(b"\0", b"")
        offsets = np.empty(n + 1, np.int64)
        offsets[0], offsets[n] = 0, len(data)
        offsets[1:n] = cuts + 1 - np.arange(1, n)
    else:
        encoded = [utf8(v) for v in values]
        data = b"".join(encoded)
        offsets = np.zeros(n + 1, np.int64)
        np.cumsum(np.fromiter(map(len, encoded), np.int64, n), out=offsets[1:])
    if len(data) >= 2**31:  # beyond 32-bit offsets (a batch of pages is far smaller)
        raise ValueError(f"{len(data)} bytes of text in one column: more than an Arrow string array holds")
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)])


def timestamps(values: Sequence[datetime | None]) -> pa.Array:
    """Arrow UTC timestamps of ``values`` (naive ones read as UTC)."""
    micros = [
        None if v is None else ((v if v.tzinfo is not None else v.replace(tzinfo=UTC)) - _EPOCH) // _MICROSECOND
        for v in values
    ]
    return column(micros, _TIMESTAMP)


def to_batches(facts: Sequence[PageFacts], links: Sequence[Sequence[Link]]) -> tuple[pa.RecordBatch, pa.RecordBatch]:
    """Observation and link batches for pages ``facts`` whose links are ``links[i]``."""
    observations, link_batch, _first = page_batches(facts, links, first=False)
    return observations, link_batch


def first_links(facts: Sequence[PageFacts], links: Sequence[Sequence[Link]]) -> pa.RecordBatch:
    """The ``links`` rows these pages give if this is their only observation.

    That is the common case (a page ingested for the first time), and it needs no aggregation:
    each link identity (target, kind, anchor) once per page, first and last seen at the capture,
    nothing lost, ``noindex`` as the page is. Workers build these rows in parallel; the
    store uses them for the pages not seen before (see ``add_batch``).
    """
    _observations, _link_batch, first = page_batches(facts, links)
    assert first is not None
    return first


def page_batches(
    facts: Sequence[PageFacts], links: Sequence[Sequence[Link]], *, first: bool = True
) -> tuple[pa.RecordBatch, pa.RecordBatch, pa.RecordBatch | None]:
    """:func:`to_batches` and, with ``first``, :func:`first_links` of the same pages, which share
    the link columns."""
    obs_cols = [column([obs_key(f.url, f.fetched_at.isoformat()) for f in facts], pa.int64())]
    for col, attr in _OBS_FIELDS.items():
        if col == "fetched_at":
            obs_cols.append(timestamps([f.fetched_at for f in facts]))
        else:
            obs_cols.append(column([getattr(f, attr) for f in facts], OBS_BATCH_SCHEMA.field(col).type))
    observations = pa.RecordBatch.from_arrays(obs_cols, schema=OBS_BATCH_SCHEMA)
    page_idx: list[int] = []
    for i, page_links in enumerate(links):
        page_idx.extend([i] * len(page_links))
    # Link is a NamedTuple whose fields are the link columns, in order: each column read off
    # the tuples by one C-level map.
    flat = list(chain.from_iterable(links))
    values = [list(map(itemgetter(k), flat)) for k in range(len(_LINK_ATTRS))]
    values[_LINK_ATTRS.index("rel")] = [" ".join(rel) for rel in values[_LINK_ATTRS.index("rel")]]
    link_cols = [column(page_idx, pa.int32())]
    link_cols += [column(v, LINK_BATCH_SCHEMA.field(col).type) for col, v in zip(_LINK_ATTRS, values, strict=True)]
    link_batch = pa.RecordBatch.from_arrays(link_cols, schema=LINK_BATCH_SCHEMA)
    if not first:
        return observations, link_batch, None
    target, kind, anchor = _IDENTITY
    return (
        observations,
        link_batch,
        _first_rows(observations, link_batch, page_idx, values[target], values[kind], values[anchor]),
    )


def _first_rows(
    observations: pa.RecordBatch,
    link_batch: pa.RecordBatch,
    page_idx: list[int],
    targets: list[str],
    kinds: list[str],
    anchors: list[str],
) -> pa.RecordBatch:
    """:func:`first_links`: each page's first link of each identity, with its page's columns."""
    keep: list[int] = []  # rows of link_batch
    firsts: dict[tuple[str, str, str], int] = {}
    page = -1
    for row, identity in enumerate(zip(targets, kinds, anchors)):
        if page_idx[row] != page:
            keep.extend(firsts.values())
            firsts, page = {}, page_idx[row]
        firsts.setdefault(identity, row)
    keep.extend(firsts.values())
    chosen = link_batch if len(keep) == link_batch.num_rows else link_batch.take(column(keep, pa.int64()))
    idx = chosen.column("page_idx")
    noindex = column([bool(v) for v in observations.column("noindex").to_pylist()], pa.bool_())
    fetched_at = observations.column("fetched_at").take(idx)
    n = chosen.num_rows
    cols = {
        "page_idx": idx,
        "source_url": observations.column("url").take(idx),
        "source_host": observations.column("host").take(idx),
        "source_domain": observations.column("domain").take(idx),
        **{col: chosen.column(col) for col in _LINK_ATTRS},
        "first_seen": fetched_at,
        "last_seen": fetched_at,
        "lost_at": pa.nulls(n, _TIMESTAMP),
        "lost_reason": pa.nulls(n, pa.string()),
        "via": observations.column("via").take(idx),
        "noindex": noindex.take(idx),
    }
    return pa.RecordBatch.from_arrays([cols[name] for name in FIRST_LINKS_SCHEMA.names], schema=FIRST_LINKS_SCHEMA)
