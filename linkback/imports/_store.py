"""Writing an export's claims: one transaction per file, so a file is imported whole or not at all.

A claim already stored (same key) is *merged*: the attributes and metrics the file has columns
for replace the stored ones (an empty cell clears one: a link Ahrefs no longer calls lost is not
lost), and those it has no column for are kept (a "More sample links" export, which has no
dates, does not wipe the dates a "Latest links" export gave). A claim whose merge changes
nothing is unchanged: importing the same file twice adds and changes nothing. The file itself
is one row of ``claim_imports``, found again by its bytes, format and site.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from linkback import schema
from linkback.imports._claims import ATTRIBUTES, Claim, ParsedFile
from linkback.urls import split_host

if TYPE_CHECKING:
    from linkback.store import Store

#: Refused rows kept in ``claim_imports.rejects``.
STORED_REJECTS = 100


def store_file(store: Store, parsed: ParsedFile, *, fingerprint: str, site: str | None) -> dict[str, int]:
    """Write ``parsed`` (one :meth:`Store.write`); counts of claims added, changed, unchanged and
    the import's id."""

    def write(store: Store) -> dict[str, int]:
        now = datetime.now(UTC)
        import_id = _import_row(store, parsed, fingerprint, site or "", now)
        counts = _upsert(store, parsed.claims, parsed.format.via, import_id, now)
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
    facts = [parsed.name, parsed.encoding, parsed.rows, len(parsed.claims), parsed.duplicates, parsed.rejected,
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


def _upsert(store: Store, claims: list[Claim], via: str, import_id: int, now: datetime) -> dict[str, int]:
    counts = {"added": 0, "changed": 0, "unchanged": 0}
    if not claims:
        return counts
    existing = _existing(store, [c.key for c in claims])
    new: list[Claim] = []
    changed: list[dict[str, Any]] = []
    touched: list[int] = []
    for claim in claims:
        old = existing.get(claim.key)
        if old is None:
            new.append(claim)
        elif _same(old, claim):
            if old["import_id"] != import_id:
                touched.append(old["claim_id"])
        else:
            changed.append({"claim_id": old["claim_id"], **_merged(old, claim)})
    _insert(store, new, via, import_id, now)
    _update(store, changed, import_id, now)
    if touched:
        store.con.register("_touched", pa.table({"claim_id": pa.array(touched, pa.int64())}))
        try:
            store.con.execute(
                "UPDATE claims SET import_id = ? WHERE claim_id IN (SELECT claim_id FROM _touched)", [import_id]
            )
        finally:
            store.con.unregister("_touched")
    counts.update(added=len(new), changed=len(changed), unchanged=len(claims) - len(new) - len(changed))
    return counts


_TIMES = ("first_seen", "last_seen", "lost_at")


def _existing(store: Store, keys: list[int]) -> dict[int, dict[str, Any]]:
    """The stored claims with these keys, their timestamps as aware UTC datetimes (their metrics
    stay JSON text until a merge needs them)."""
    con = store.con
    con.register("_claim_keys", pa.table({"claim_key": pa.array(keys, pa.int64())}))
    try:
        cols = [*(f"{c}::TIMESTAMP AS {c}" if c in _TIMES else c for c in ATTRIBUTES), "metrics"]
        cur = con.execute(
            f"SELECT claim_key, claim_id, import_id, {', '.join(cols)} FROM claims c "
            "SEMI JOIN _claim_keys k ON c.claim_key = k.claim_key"
        )
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
    finally:
        con.unregister("_claim_keys")
    out = {}
    for values in rows:
        row = dict(zip(names, values, strict=True))
        for c in _TIMES:
            if row[c] is not None:
                row[c] = row[c].replace(tzinfo=UTC)
        out[row["claim_key"]] = row
    return out


def _same(old: dict[str, Any], claim: Claim) -> bool:
    """Would merging ``claim`` into the stored ``old`` change nothing?"""
    if any(old[k] != v for k, v in claim.values.items()):
        return False
    given = {k: v for k, v in claim.metrics.items() if v is not None}
    if _metrics_json(given) == (old["metrics"] or "{}"):
        return True  # the common case (the same export again), without parsing the stored JSON
    stored = json.loads(old["metrics"] or "{}")
    return all(stored.get(k) == v if v is not None else k not in stored for k, v in claim.metrics.items())


def _merged(old: dict[str, Any], claim: Claim) -> dict[str, Any]:
    """The stored attributes and metrics (JSON) with those ``claim``'s file has columns for replaced."""
    merged = {k: old[k] for k in ATTRIBUTES}
    merged.update(claim.values)
    metrics = json.loads(old["metrics"] or "{}")
    for name, value in claim.metrics.items():
        if value is None:
            metrics.pop(name, None)
        else:
            metrics[name] = value
    merged["metrics"] = _metrics_json(metrics)
    return merged


def _metrics_json(metrics: dict[str, Any]) -> str:
    return json.dumps(metrics, ensure_ascii=False, sort_keys=True)


def _insert(store: Store, claims: list[Claim], via: str, import_id: int, now: datetime) -> None:
    """New claims, ids from ``claim_id_seq``, built column by column (one Arrow table)."""
    if not claims:
        return
    n = len(claims)
    targets = [split_host(c.target_host) for c in claims]
    columns: dict[str, list[Any]] = {
        "claim_id": store.next_ids("claim_id_seq", n),
        "claim_key": [c.key for c in claims],
        "via": [via] * n,
        "level": [c.level for c in claims],
        "source_url": [c.source_url for c in claims],
        "source_host": [c.source_host for c in claims],
        "source_domain": [c.source_domain for c in claims],
        "target_url": [c.target_url for c in claims],
        "target_host": [c.target_host for c in claims],
        "target_domain": [t.domain for t in targets],
        "target_rhost": [t.rhost for t in targets],
        **{k: [c.values.get(k) for c in claims] for k in ATTRIBUTES},
        "metrics": [_metrics_json({k: v for k, v in c.metrics.items() if v is not None}) for c in claims],
        "import_id": [import_id] * n,
        "imported_at": [now] * n,
        "updated_at": [now] * n,
        "checked_at": [None] * n,
        "verdict": [None] * n,
    }
    table = pa.Table.from_pydict(columns, schema=schema.CLAIMS)
    store.con.register("_new_claims", table)
    try:
        store.con.execute(f"INSERT INTO claims SELECT {', '.join(schema.CLAIMS.names)} FROM _new_claims")
    finally:
        store.con.unregister("_new_claims")


def _update(store: Store, rows: list[dict[str, Any]], import_id: int, now: datetime) -> None:
    if not rows:
        return
    fields = [schema.CLAIMS.field("claim_id"), *(schema.CLAIMS.field(k) for k in _STORED)]
    table = pa.Table.from_pylist(rows, schema=pa.schema(fields))
    sets = ", ".join(f"{k} = u.{k}" for k in _STORED)
    store.con.register("_changed_claims", table)
    try:
        store.con.execute(
            f"UPDATE claims SET {sets}, import_id = ?, updated_at = ? FROM _changed_claims u "
            "WHERE claims.claim_id = u.claim_id",
            [import_id, now],
        )
    finally:
        store.con.unregister("_changed_claims")
