"""Building small stores in tests: ``links``/``pages`` rows derived as ingest derives them."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pyarrow as pa

from linkback import schema
from linkback.store import Store
from linkback.urls import host_of, split_host


def ts(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=timezone.utc)


def link(source_url: str, target_url: str, **values: Any) -> dict[str, Any]:
    """One ``links`` row, its host/domain/rhost columns derived as ingest derives them."""
    src = split_host(host_of(source_url))
    tgt = split_host(host_of(target_url))
    row = {
        "source_url": source_url,
        "source_host": src.host,
        "source_domain": src.domain,
        "target_url": target_url,
        "target_host": tgt.host,
        "target_domain": tgt.domain,
        "target_rhost": tgt.rhost,
        "anchor": "",
        "alt": None,
        "rel": "",
        "nofollow": False,
        "ugc": False,
        "sponsored": False,
        "kind": "text",
        "section": "content",
        "context": None,
        "internal": src.domain == tgt.domain,
        "first_seen": ts("2024-01-01"),
        "last_seen": ts("2024-03-01"),
        "lost_at": None,
        "lost_reason": None,
        "via": "warc",
        "noindex": False,
    }
    unknown = set(values) - set(row)
    assert not unknown, unknown
    row.update(values)
    return row


def insert(store: Store, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert row dicts (missing columns are NULL) through Arrow: far faster than executemany."""
    if rows:
        data = pa.Table.from_pylist(rows, schema=schema.TABLES[table])  # noqa: F841 - read by the SQL
        store.con.execute(f"INSERT INTO {table} SELECT * FROM data")


def store_of(links: list[dict[str, Any]], pages: list[dict[str, Any]] = ()) -> Store:
    """An in-memory store holding ``links`` (clustered as ingest clusters them) and ``pages``."""
    store = Store(":memory:")
    insert(store, "links", sorted(links, key=lambda r: r["target_rhost"]))
    if pages:
        insert(store, "pages", list(pages))
    return store
