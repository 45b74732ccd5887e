"""Writing an export's claims: one transaction per file, so a file is imported whole or not at all.

A claim already stored (same key) is *merged*: the attributes and metrics the file has columns
for replace the stored ones (an empty cell clears one: a link Ahrefs no longer calls lost is not
lost), and those it has no column for are kept (a "More sample links" export, which has no
dates, does not wipe the dates a "Latest links" export gave). A claim whose merge changes
nothing is unchanged: importing the same file twice adds and changes nothing. The file itself
is one row of ``claim_imports``, found again by its bytes, format and site.

An export is first read into Arrow batches (:func:`spool`), outside the write, and the batches
kept in a temporary file (in memory while small, then on disk beside the database): a claim as
a Python object costs a kilobyte and more (a 220 MB export took 10.8 GB), as Arrow columns about
what its cells did in the file, and on disk nothing. The server's one writer is not held while a
large file is read. The write then reads the batches back and merges one at a time, looking up
the stored claims of each batch's keys: memory stays the same whatever the file's size.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain, islice
from typing import IO, TYPE_CHECKING, Any

import duckdb
import numpy as np
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
#: DuckDB's memory limit while an import writes (it spills to disk beyond it). Not much lower:
#: at 96 MB and less, DuckDB 2.0 failed a 200 MB export's write (merging it into a store of 180k
#: of its claims) with "Invalid unicode ... in segment statistics update", the code before this
#: limit too when given one; at 128 MB it passed that and a newer export changing half of them.
IMPORT_MEMORY_LIMIT = "256MB"
#: Claims made Arrow at a time (as Python objects, a batch of them costs some 3 KB a claim).
_ARROW_CLAIMS = 2_000
#: Spooled batches are kept in memory up to this many bytes (as Arrow), then in a file on disk.
SPOOL_MEMORY_BYTES = 8 * 2**20

#: Where a claim is and what it is, as stored.
_IDENTITY = ("claim_key", "level", "source_url", "source_host", "source_domain", "target_url", "target_host",
             "target_domain", "target_rhost")  # fmt: skip


@dataclass
class Spooled:
    """An export's claims as Arrow batches (:attr:`batches`): identity columns, the attributes the
    file has columns for (``values``), and the metrics it gives as JSON (``metrics``, of those it
    has columns for); ``keys``, every claim's key, sorted. The batches are kept in memory up to
    :data:`SPOOL_MEMORY_BYTES`, then all in a temporary file (:meth:`add`)."""

    values: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    keys: Any = None
    claims: int = 0
    directory: str | None = None
    _kept: list[pa.RecordBatch] = field(default_factory=list)
    _kept_bytes: int = 0
    _file: IO[bytes] | None = None
    _writer: Any = None

    def add(self, batch: pa.RecordBatch) -> None:
        """Keep ``batch``: in memory, or in the file once those kept would outgrow the limit."""
        self.claims += batch.num_rows
        if self._file is None and self._kept_bytes + batch.nbytes <= SPOOL_MEMORY_BYTES:
            self._kept.append(batch)
            self._kept_bytes += batch.nbytes
            return
        if self._file is None:
            # No name (deleted at once, or when closed): a process killed meanwhile leaves nothing.
            self._file = tempfile.TemporaryFile(prefix="linkback-import-", dir=self.directory)
            self._writer = pa.ipc.new_stream(self._file, batch.schema)
            for kept in self._kept:
                self._writer.write_batch(kept)
            self._kept, self._kept_bytes = [], 0
        self._writer.write_batch(batch)

    @property
    def batches(self) -> Iterator[pa.RecordBatch]:
        """The claims in batches of :data:`BATCH_CLAIMS`, read back one at a time (each time this
        is asked for, from the first)."""
        if self._file is None:
            return _regrouped(iter(self._kept))
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._file.seek(0)
        return _regrouped(iter(pa.ipc.open_stream(self._file)))

    def close(self) -> None:
        self._kept = []
        if self._file is not None:
            self._file.close()
            self._file = self._writer = None

    def __enter__(self) -> Spooled:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def spool(parsed: ParsedFile, directory: str | None = None) -> Spooled:
    """Read ``parsed``'s claims (:meth:`ParsedFile.stream`) into Arrow batches, kept in a
    temporary file in ``directory`` (the system's by default) once they outgrow
    :data:`SPOOL_MEMORY_BYTES`."""
    claims = parsed.stream()
    first = next(claims, None)
    if first is None:
        return Spooled(keys=parsed.keys())
    # A file's columns are the same on every row: so are the attributes and metrics they give.
    out = Spooled(tuple(first.values), tuple(first.metrics), directory=directory)
    arrow = pa.schema([schema.CLAIMS.field(n) for n in (*_IDENTITY, *out.values, "metrics")])
    claims = chain([first], claims)
    try:
        while batch := list(islice(claims, min(BATCH_CLAIMS, _ARROW_CLAIMS))):
            out.add(_to_arrow(batch, out.values, arrow))
    except BaseException:
        out.close()
        raise
    out.keys = parsed.keys()
    return out


def _regrouped(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``batches`` as batches of :data:`BATCH_CLAIMS` claims (the last one fewer)."""
    group: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        while batch.num_rows:
            taken = batch.slice(0, BATCH_CLAIMS - rows)
            group.append(taken)
            rows += taken.num_rows
            batch = batch.slice(taken.num_rows)
            if rows == BATCH_CLAIMS:
                yield _one_batch(group)
                group, rows = [], 0
    if group:
        yield _one_batch(group)


def _one_batch(group: list[pa.RecordBatch]) -> pa.RecordBatch:
    return group[0] if len(group) == 1 else pa.Table.from_batches(group).combine_chunks().to_batches()[0]


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
        stored = _Stored(store, spooled.keys)
        for batch in spooled.batches:
            for name, n in _upsert(store, batch, spooled, stored, parsed.format.via, import_id, now).items():
                counts[name] += n
        store.con.execute(
            "UPDATE claim_imports SET added = ?, changed = ?, unchanged = ? WHERE import_id = ?",
            [counts["added"], counts["changed"], counts["unchanged"], import_id],
        )
        return {**counts, "import_id": import_id}

    with _write_settings(store):
        return store.write(write)


@contextlib.contextmanager
def _write_settings(store: Store) -> Iterator[None]:
    """DuckDB's memory limit lowered for the write, and set back after it (its commit included).
    A file's claims are one transaction, whose rows DuckDB holds in memory until the commit unless
    its limit has it write them out first: 80 % of RAM by default (a 200 MB export's write took
    500 MB more without this one)."""
    (previous,) = store.con.execute("SELECT current_setting('memory_limit')").fetchall()[0]
    store.con.execute(f"SET memory_limit = '{IMPORT_MEMORY_LIMIT}'")
    try:
        yield
    finally:
        store.con.execute(f"SET memory_limit = '{previous}'")


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
#: The attributes merged by their dates rather than taken from the newer row.
_DATES = ("first_seen", "last_seen", "lost_at")


def _upsert(
    store: Store, batch: pa.RecordBatch, spooled: Spooled, stored: _Stored, via: str, import_id: int, now: datetime
) -> dict[str, int]:
    known = stored.known(batch.column("claim_key"))
    _insert(store, batch.filter(pc.invert(known)), via, import_id, now)
    new = batch.filter(known)
    if not new.num_rows:
        return {"added": batch.num_rows, "changed": 0, "unchanged": 0}
    old = stored.rows(new.column("claim_key"))
    merged = _merged(new, old, spooled, import_id)
    changed = pa.array([True] * new.num_rows, pa.bool_())
    for k in _STORED:
        changed = pc.and_(changed, _equal(merged.column(k), old.column(k).cast(merged.schema.field(k).type)))
    changed = pc.invert(changed)
    _update(store, merged.filter(changed), now)
    # A claim the file lists as stored is the file's when its row is the newer: so the file
    # imported first is the older one (the tie-break of :func:`_newer_rows`) however often each
    # is imported again.
    unchanged = pc.invert(changed)
    taken = pc.and_(pc.equal(merged.column("import_id"), import_id), pc.not_equal(old.column("import_id"), import_id))
    touched = merged.filter(pc.and_(unchanged, pc.fill_null(taken, True))).column("claim_id")
    if len(touched):
        with _registered(store, "_touched", pa.table({"claim_id": touched})):
            store.con.execute(
                "UPDATE claims SET import_id = ? WHERE claim_id IN (SELECT claim_id FROM _touched)", [import_id]
            )
    n_changed = pc.sum(changed).as_py() or 0
    return {"added": batch.num_rows - new.num_rows, "changed": n_changed, "unchanged": new.num_rows - n_changed}


def _newer_rows(new: pa.RecordBatch, old: pa.Table, values: tuple[str, ...], import_id: int) -> pa.Array:
    """Which claims of ``new`` come from a newer row than the stored ``old`` ones: the row whose
    latest date (last seen or lost) is later, an undated row older than a dated one. Where the
    dates cannot tell (the same, or none), the file first imported is the older (its import id is
    lower): no export says when it was made, and this way importing a file again changes nothing.

    This, and :func:`_merged_dates`, are the whole merge rule: the order files are imported in
    decides only what no date in them does."""
    stored_dates = _latest(old.column("last_seen"), old.column("lost_at")).to_pylist()
    given = [new.column(k) for k in ("last_seen", "lost_at") if k in values]
    given_dates = _latest(*given).to_pylist() if given else [None] * new.num_rows
    newer = []
    for given_date, stored_date, stored_import in zip(given_dates, stored_dates,
                                                      old.column("import_id").to_pylist(), strict=True):  # fmt: skip
        if given_date == stored_date:
            newer.append(import_id >= (stored_import or 0))
        else:
            newer.append(stored_date is None or (given_date is not None and given_date > stored_date))
    return pa.array(newer, pa.bool_())


def _merged_dates(new: pa.RecordBatch, old: pa.Table, values: tuple[str, ...]) -> dict[str, pa.Array]:
    """The dates of a claim two rows give, whichever is imported first: first seen the earliest,
    last seen the latest, and lost at the latest loss unless the link was seen after it (a link
    lost in an older export and seen in a newer one is live; one seen in an older export and lost
    in a newer one is lost). A file without a date's column leaves it as stored."""

    def given(k: str) -> list[pa.Array]:
        return [new.column(k)] if k in values else []

    first_seen = _element_wise(pc.min_element_wise, (old.column("first_seen"), *given("first_seen")))
    last_seen = _latest(old.column("last_seen"), *given("last_seen"))
    latest_lost = _latest(old.column("lost_at"), *given("lost_at"))
    lost_after_seen = pc.fill_null(pc.or_kleene(pc.is_null(last_seen), pc.greater_equal(latest_lost, last_seen)), False)
    lost_at = pc.if_else(lost_after_seen, latest_lost, pa.nulls(len(latest_lost), latest_lost.type))
    return {"first_seen": first_seen, "last_seen": last_seen, "lost_at": lost_at}


def _latest(*dates: pa.Array) -> pa.Array:
    return _element_wise(pc.max_element_wise, dates)


def _element_wise(function: Any, dates: tuple[pa.Array, ...]) -> pa.Array:
    """``function`` (Arrow's min or max element-wise) of timestamps: it has no kernel for one
    with a time zone, so it compares their microseconds."""
    if len(dates) == 1:
        return dates[0]
    found = function(*(d.cast(pa.int64()) for d in dates), skip_nulls=True)
    return found.cast(dates[0].type)


def _merged(new: pa.RecordBatch, old: pa.Table, spooled: Spooled, import_id: int) -> pa.Table:
    """The stored claims ``old`` merged with the file's ``new`` rows: their id, dates, the
    attributes and metrics of the newer row (those the file has no column for as stored) and the
    import that row came from."""
    newer = _newer_rows(new, old, spooled.values, import_id)
    columns: dict[str, Any] = {"claim_id": old.column("claim_id"), **_merged_dates(new, old, spooled.values)}
    for k in ATTRIBUTES:
        kept = old.column(k).cast(schema.CLAIMS.field(k).type)
        if k not in _DATES:
            columns[k] = pc.if_else(newer, new.column(k), kept) if k in spooled.values else kept
    given, kept_metrics = new.column("metrics").to_pylist(), old.column("metrics").to_pylist()
    columns["metrics"] = pa.array(
        [_merged_metrics(before or "{}", metrics, spooled.metrics) if is_newer else before
         for is_newer, metrics, before in zip(newer.to_pylist(), given, kept_metrics, strict=True)],
        pa.string(),
    )  # fmt: skip
    columns["import_id"] = pc.if_else(newer, pa.scalar(import_id, pa.int64()), old.column("import_id"))
    fields = [schema.CLAIMS.field(k) for k in ("claim_id", *_STORED, "import_id")]
    return pa.Table.from_arrays([_chunked(columns[f.name]) for f in fields], schema=pa.schema(fields))


def _equal(given: Any, kept: Any) -> pa.Array:
    """Element by element, ``given`` equals ``kept`` (nulls alike)."""
    equal = pc.or_kleene(pc.equal(given, kept), pc.and_(pc.is_null(given), pc.is_null(kept)))
    return pc.fill_null(equal, False)


def _merged_metrics(stored_json: str, given_json: str, names: tuple[str, ...]) -> str:
    """The stored metrics with those the file has columns for (``names``) replaced by the
    ``given`` ones, or removed where it gives none; the stored text when that changes nothing."""
    if given_json == stored_json:
        return stored_json
    stored, given = json.loads(stored_json), json.loads(given_json)
    merged = dict(stored)
    for name in names:
        if name in given:
            merged[name] = given[name]
        else:
            merged.pop(name, None)
    return stored_json if merged == stored else _metrics_json(merged)


def _chunked(column: Any) -> pa.ChunkedArray:
    return column if isinstance(column, pa.ChunkedArray) else pa.chunked_array([column])


class _Stored:
    """Which of an export's claims are stored: their keys and ids, found by one join on the keys
    alone (16 bytes a claim); then, a batch at a time, the stored claims of a batch's keys, by
    their ids. A file that adds all its claims asks nothing more; one imported again asks once a
    batch, for that batch's claims alone, so nothing the size of the file is held. Asked by id, a
    batch's claims are found in the few row groups their ids span (claims are stored in the order
    of their ids, and an export lists them in about the order it did before), not in every one."""

    def __init__(self, store: Store, keys: Any) -> None:
        self.store = store
        self.keys = self.ids = np.empty(0, np.int64)
        if keys is not None and len(keys):
            with _registered(store, "_claim_keys", pa.table({"claim_key": pa.array(keys, pa.int64())})):
                found = store.con.sql(
                    "SELECT claim_key, claim_id FROM claims c SEMI JOIN _claim_keys k ON c.claim_key = k.claim_key"
                ).to_arrow_table()
            order = np.argsort(found.column("claim_key").to_numpy())
            self.keys = found.column("claim_key").to_numpy()[order]
            self.ids = found.column("claim_id").to_numpy()[order]

    def known(self, keys: pa.Array) -> pa.Array:
        """For each of ``keys``, whether its claim is stored."""
        if not len(self.keys):
            return pa.array(np.zeros(len(keys), bool))
        given = keys.to_numpy()
        at = np.searchsorted(self.keys, given).clip(max=len(self.keys) - 1)
        return pa.array(self.keys[at] == given)

    def rows(self, keys: pa.Array) -> pa.Table:
        """The stored claims of ``keys`` (each stored), in their order."""
        ids = self.ids[np.searchsorted(self.keys, keys.to_numpy())]
        columns = f"claim_key, claim_id, import_id, {', '.join(ATTRIBUTES)}, metrics"
        with _registered(self.store, "_claim_ids", pa.table({"claim_id": ids})):
            found = self.store.con.sql(
                f"SELECT {columns} FROM claims c SEMI JOIN _claim_ids k ON c.claim_id = k.claim_id "
                "WHERE c.claim_id BETWEEN ? AND ?",
                params=[int(ids.min()), int(ids.max())],
            ).to_arrow_table()
        at = pc.index_in(keys, value_set=found.column("claim_key").combine_chunks())
        return found.take(at).combine_chunks()


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
    with _registered(store, "_new_claims", pa.Table.from_arrays(columns, schema=schema.CLAIMS)):
        store.con.execute(f"INSERT INTO claims SELECT {', '.join(schema.CLAIMS.names)} FROM _new_claims")


def _update(store: Store, rows: pa.Table, now: datetime) -> None:
    """Write merged claims (:func:`_merged`): their attributes, metrics and import."""
    if not rows.num_rows:
        return
    sets = ", ".join(f"{k} = u.{k}" for k in (*_STORED, "import_id"))
    with _registered(store, "_changed_claims", rows):
        store.con.execute(
            f"UPDATE claims SET {sets}, updated_at = ? FROM _changed_claims u WHERE claims.claim_id = u.claim_id",
            [now],
        )


@contextlib.contextmanager
def _registered(store: Store, name: str, table: pa.Table) -> Iterator[None]:
    """``table`` known to the store's connection as ``name``, for one statement, which reads it
    once. Registered as a reader of its batches, which lets them go as they are read: a table
    registered in a transaction is held until the transaction ends, unregistered or not, and a
    file's claims are one transaction (a 200 MB export held all its claims until the commit)."""
    store.con.register(name, pa.RecordBatchReader.from_batches(table.schema, iter(table.to_batches())))
    try:
        yield
    except BaseException:
        # A statement that failed (or was interrupted: Ctrl-C) aborted the transaction, which
        # refuses even this: its own error, not this one, says what happened.
        with contextlib.suppress(duckdb.Error):
            store.con.unregister(name)
        raise
    store.con.unregister(name)
