"""The DuckDB store (DESIGN §2): one file, one owner, observations in, derived state out."""

from linkback.store._db import DEFAULT_DB, Store, default_db_path

__all__ = ["DEFAULT_DB", "Store", "default_db_path"]
