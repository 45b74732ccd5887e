"""Writing an export's claims: one transaction per file, so a file is imported whole or not at all.

A claim already stored (same key) is *merged*: the attributes and metrics the file has columns
for replace the stored ones (an empty cell clears one: a link Ahrefs no longer calls lost is not
lost), and those it has no column for are kept (a "More sample links" export, which has no
dates, does not wipe the dates a "Latest links" export gave). A claim whose merge changes
nothing is unchanged: importing the same file twice adds and changes nothing. The file itself
is one row of ``claim_imports``, found again by its bytes, format and site.

An export is first read into Arrow batches (:func:`spool`), outside the write: a claim as Arrow
columns costs about what its cells did in the file, where a Python object cost a kilobyte and
more (a 220 MB export took 10.8 GB), and the server's one writer is not held while a large file
is read. The write then merges a batch at a time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain, islice
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from linkback import schema
from linkback.imports._claims import ATTRIBUTES, Claim, ParsedFile
from linkback.urls import split_host

if TYPE_CHECKING:
    from linkback.store import Store

#: Refused rows kept in ``claim_imports.rejects``.
STORED_REJECTS = 100
#: Claims per Arrow batch: read, and merged, this many at a time.
BATCH_CLAIMS = 10_000

#: Where a claim is and what it is, as stored.
_IDENTITY = ("claim_key", "level", "source_url", "source_host", "source_domain", "target_url", "target_host",
             "target_domain", "target_rhost")  # fmt: skip


@dataclass
class Spooled:
    """An export's claims as Arrow batches: identity columns, the attributes the file has columns
    for (``values``), and the metrics it gives as JSON (``metrics``, of those it has columns for)."""

    values: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    batches: list[pa.RecordBatch] = field(default_factory=list)


def spool(parsed: ParsedFile) -> Spooled:
    """Read ``parsed``'s claims (:meth:`ParsedFile.stream`) into Arrow batches."""
    claims = parsed.stream()
    first = next(claims, None)
    if first is None:
        return Spooled()
    # A file's columns are the same on every row: so are the attributes and metrics they give.
    out = Spooled(tuple(first.values), tuple(first.metrics))
    arrow = pa.schema([schema.CLAIMS.field(n) for n in (*_IDENTITY, *out.values, "metrics")])
    claims = chain([first], claims)
    while batch := list(islice(claims, BATCH_CLAIMS)):
        out.batches.append(_to_arrow(batch, out.values, arrow))
    return out


def _to_arrow(claims: list[Claim], values: tuple[str, ...], arrow: pa.Schema) -> pa.RecordBatch:
    targets = [split_host(c.target_host) for c in claims]  # (cached: a file has few target hosts)
    columns: dict[str, list[Any]] = {
        "claim_key": [c.key for c in claims],
        "level": [c.level for c in claims],
        "source_url": [c.source_url for c in claims],
        "source_host": [c.source_host for c in claims],
        "source_domain": [c.source_domain for c in claims],
        "target_url": [c.target_url for c in claims],
        "target_host": [c.target_host for c in claims],
        "target_domain": [t.domain for t in targets],
        "target_rhost": [t.rhost for t in targets],
        **{k: [c.values[k] for c in claims] for k in values},
        "metrics": [_metrics_json({k: v for k, v in c.metrics.items() if v is not None}) for c in claims],
    }
    return pa.RecordBatch.from_pydict(columns, schema=arrow)


def store_file(
    store: Store, parsed: ParsedFile, spooled: Spooled, *, fingerprint: str, site: str | None
) -> dict[str, int]:
    """Write ``spooled``, the claims of ``parsed`` (one :meth:`Store.write`); counts of claims
    added, changed, unchanged and the import's id."""

    def write(store: Store) -> dict[str, int]:
        now = datetime.now(UTC)
        import_id = _import_row(store, parsed, fingerprint, site or "", now)
        counts = {"added": 0, "changed": 0, "unchanged": 0}
        if spooled.batches:
            stored = _Stored(store, spooled)
            for batch in spooled.batches:
                for name, n in _upsert(store, batch, spooled, stored, parsed.format.via, import_id, now).items():
                    counts[name] += n
        store.con.execute(
            "UPDATE claim_imports SET added = ?, changed = ?, unchanged = ? WHERE import_id = ?",
            [counts["added"], counts["changed"], counts["unchanged"], import_id],
        )
        return {**counts, "import_id": import_id}

    return store.write(write)


def _import_row(store: Store, parsed: ParsedFile, fingerprint: str, site: str, now: datetime) -> int:
    con = store.con
    found = con.execute(
        "SELECT import_id FROM claim_imports WHERE fingerprint = ? AND format = ? AND site = ?",
        [fingerprint, parsed.format.name, site],
    ).fetchall()
    facts = [parsed.name, parsed.encoding, parsed.rows, parsed.claimed, parsed.duplicates, parsed.rejected,
             json.dumps(parsed.rejects[:STORED_REJECTS], ensure_ascii=False), now]  # fmt: skip
    if found:
        (import_id,) = found[0]
        con.execute(
            "UPDATE claim_imports SET name = ?, encoding = ?, rows = ?, claims = ?, duplicates = ?, rejected = ?, "
            "rejects = ?, imported_at = ? WHERE import_id = ?",
            [*facts, import_id],
        )
        return int(import_id)
    (import_id,) = store.next_ids("claim_import_id_seq", 1)
    con.execute(
        "INSERT INTO claim_imports (import_id, fingerprint, format, via, site, name, encoding, rows, claims, "
        "duplicates, rejected, rejects, imported_at, first_imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [import_id, fingerprint, parsed.format.name, parsed.format.via, site, *facts, now],
    )
    return import_id


_STORED = (*ATTRIBUTES, "metrics")


def _upsert(
    store: Store, batch: pa.RecordBatch, spooled: Spooled, stored: _Stored, via: str, import_id: int, now: datetime
) -> dict[str, int]:
    at = pa.array([stored.row.get(key, -1) for key in batch.column("claim_key").to_pylist()], pa.int64())
    known = pc.not_equal(at, -1)
    _insert(store, batch.filter(pc.invert(known)), via, import_id, now)
    new, old = batch.filter(known), stored.table.take(at.filter(known))
    if not new.num_rows:
        return {"added": batch.num_rows, "changed": 0, "unchanged": 0}
    # Column by column: the attributes the file gives equal the stored ones, or not. Only the
    # metrics, JSON, are merged claim by claim, and only where their text differs.
    same_values = _same_values(new, old, spooled.values)
    given, kept = new.column("metrics").to_pylist(), old.column("metrics").to_pylist()
    merged_metrics: list[str | None] = []
    changes: list[bool] = []
    for equal, metrics, before in zip(same_values.to_pylist(), given, kept, strict=True):
        before = before or "{}"
        merged = before if metrics == before else _merged_metrics(before, metrics, spooled.metrics)
        merged_metrics.append(merged)
        changes.append(not equal or merged != before)
    changed = pa.array(changes, pa.bool_())
    _update(store, _changed_rows(new.filter(changed), old.filter(changed), spooled.values,
                                 pa.array(merged_metrics, pa.string()).filter(changed)), import_id, now)  # fmt: skip
    same = old.filter(pc.invert(changed))
    touched = same.filter(pc.not_equal(same.column("import_id"), import_id)).column("claim_id")
    if len(touched):
        store.con.register("_touched", pa.table({"claim_id": touched}))
        try:
            store.con.execute(
                "UPDATE claims SET import_id = ? WHERE claim_id IN (SELECT claim_id FROM _touched)", [import_id]
            )
        finally:
            store.con.unregister("_touched")
    n_changed = pc.sum(changed).as_py() or 0
    return {"added": batch.num_rows - new.num_rows, "changed": n_changed, "unchanged": new.num_rows - n_changed}


def _same_values(new: pa.RecordBatch, old: pa.Table, values: tuple[str, ...]) -> pa.Array:
    """Which claims of ``new`` give the attributes the stored ``old`` claims have (nulls alike)."""
    same = pa.array([True] * new.num_rows, pa.bool_())
    for k in values:
        given, kept = new.column(k), old.column(k).cast(new.schema.field(k).type)
        equal = pc.or_kleene(pc.equal(given, kept), pc.and_(pc.is_null(given), pc.is_null(kept)))
        same = pc.and_kleene(same, equal)
    return pc.fill_null(same, False)


def _merged_metrics(stored_json: str, given_json: str, names: tuple[str, ...]) -> str:
    """The stored metrics with those the file has columns for (``names``) replaced by the
    ``given`` ones, or removed where it gives none; the stored text when that changes nothing."""
    stored, given = json.loads(stored_json), json.loads(given_json)
    merged = dict(stored)
    for name in names:
        if name in given:
            merged[name] = given[name]
        else:
            merged.pop(name, None)
    return stored_json if merged == stored else _metrics_json(merged)


def _changed_rows(new: pa.RecordBatch, old: pa.Table, values: tuple[str, ...], metrics: pa.Array) -> pa.Table:
    """The claims to update: their id, the attributes the file gives (the others as stored) and
    their merged metrics."""
    columns = {"claim_id": old.column("claim_id")}
    for k in ATTRIBUTES:
        typ = schema.CLAIMS.field(k).type
        columns[k] = new.column(k) if k in values else old.column(k).cast(typ)
    columns["metrics"] = metrics
    fields = [schema.CLAIMS.field(k) for k in ("claim_id", *_STORED)]
    return pa.Table.from_arrays([_chunked(columns[f.name]) for f in fields], schema=pa.schema(fields))


def _chunked(column: Any) -> pa.ChunkedArray:
    return column if isinstance(column, pa.ChunkedArray) else pa.chunked_array([column])


class _Stored:
    """The stored claims that have an export's keys: found by one join, then taken a batch at a
    time (``row``: where each key's claim is). A query per batch would scan the claims once per
    batch."""

    def __init__(self, store: Store, spooled: Spooled) -> None:
        keys = pa.chunked_array([b.column("claim_key") for b in spooled.batches], pa.int64())
        store.con.register("_claim_keys", pa.table({"claim_key": keys}))
        try:
            found: pa.Table = store.con.sql(
                f"SELECT claim_key, claim_id, import_id, {', '.join(ATTRIBUTES)}, metrics FROM claims c "
                "SEMI JOIN _claim_keys k ON c.claim_key = k.claim_key"
            ).to_arrow_table()
            # One chunk: take() from many would gather them again on every call.
            self.table = found.combine_chunks()
        finally:
            store.con.unregister("_claim_keys")
        self.row = dict(zip(self.table.column("claim_key").to_pylist(), range(self.table.num_rows), strict=True))


def _metrics_json(metrics: dict[str, Any]) -> str:
    return json.dumps(metrics, ensure_ascii=False, sort_keys=True)


def _insert(store: Store, batch: pa.RecordBatch, via: str, import_id: int, now: datetime) -> None:
    """New claims, ids from ``claim_id_seq``, the columns their file has no column for empty."""
    n = batch.num_rows
    if not n:
        return
    given = set(batch.schema.names)
    constant = {"via": via, "import_id": import_id, "imported_at": now, "updated_at": now}
    columns = [
        pa.array(store.next_ids("claim_id_seq", n), f.type) if f.name == "claim_id"
        else batch.column(f.name) if f.name in given
        else pa.repeat(pa.scalar(constant.get(f.name), f.type), n)
        for f in schema.CLAIMS
    ]  # fmt: skip
    store.con.register("_new_claims", pa.Table.from_arrays(columns, schema=schema.CLAIMS))
    try:
        store.con.execute(f"INSERT INTO claims SELECT {', '.join(schema.CLAIMS.names)} FROM _new_claims")
    finally:
        store.con.unregister("_new_claims")


def _update(store: Store, rows: pa.Table, import_id: int, now: datetime) -> None:
    if not rows.num_rows:
        return
    sets = ", ".join(f"{k} = u.{k}" for k in _STORED)
    store.con.register("_changed_claims", rows)
    try:
        store.con.execute(
            f"UPDATE claims SET {sets}, import_id = ?, updated_at = ? FROM _changed_claims u "
            "WHERE claims.claim_id = u.claim_id",
            [import_id, now],
        )
    finally:
        store.con.unregister("_changed_claims")
