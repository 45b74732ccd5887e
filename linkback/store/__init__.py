"""The DuckDB store (DESIGN §2): one file, one owner, observations in, derived state out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from linkback.store._db import DEFAULT_DB, Store, default_db_path

__all__ = ["DEFAULT_DB", "Store", "default_db_path"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: ingest's workers import linkback.store._arrow (records to Arrow) and
    # have no use for DuckDB, which would add ~50 ms to every worker pool's start.
    if name in __all__:
        from linkback.store import _db  # noqa: PLC0415

        return getattr(_db, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
