"""The one schema (DESIGN §1.3).

Each table's columns are declared once here as an Arrow schema with a description per column.
The DuckDB tables, the Arrow batches the extractors hand to the store, the Parquet exports and
the CLI's column lists are all derived from these declarations.

Tables:

* ``observations``: one row per fetched page per fetch (append-only history).
* ``link_observations``: the links seen in one observation (append-only history).
* ``links``: the current state of each link (first/last seen, lost), derived from the two above.
* ``pages``: the current state of each page, derived from ``observations``.
* ``archives``: each ingested file, so re-ingesting it adds nothing.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 1


def _schema(*columns: tuple[str, pa.DataType, str]) -> pa.Schema:
    return pa.schema([pa.field(name, typ, nullable=True, metadata={"description": doc}) for name, typ, doc in columns])


_TS = pa.timestamp("us", tz="UTC")

OBSERVATIONS = _schema(
    ("obs_id", pa.int64(), "sequence number of this observation"),
    ("obs_key", pa.int64(), "hash of (url, fetched_at): the same capture is stored once"),
    ("archive_id", pa.int32(), "the archive file it came from (archives.archive_id)"),
    ("url", pa.string(), "page URL, normalised"),
    ("final_url", pa.string(), "URL after redirects, when the source followed them"),
    ("host", pa.string(), "page host"),
    ("domain", pa.string(), "registrable domain of the page (Public Suffix List)"),
    ("rhost", pa.string(), "reversed host, com.example.www"),
    ("status", pa.int16(), "HTTP status"),
    ("fetched_at", _TS, "when the page was fetched (UTC)"),
    ("via", pa.string(), "warc, crawl, webmention, pingback, trackback, refback or import"),
    ("title", pa.string(), "<title>"),
    ("lang", pa.string(), "<html lang> or Content-Language"),
    ("canonical", pa.string(), "rel=canonical URL, resolved"),
    ("noindex", pa.bool_(), "meta robots / X-Robots-Tag noindex"),
    ("nofollow", pa.bool_(), "meta robots / X-Robots-Tag nofollow (applies to every link)"),
    ("charset", pa.string(), "character encoding the body was decoded with"),
    ("content_type", pa.string(), "media type from Content-Type"),
    ("n_internal", pa.int32(), "outlinks to the same registrable domain"),
    ("n_external", pa.int32(), "outlinks to other registrable domains"),
    ("skipped", pa.string(), "why the body was not parsed as HTML, empty when it was"),
    ("record_offset", pa.int64(), "byte offset of the record in its archive"),
)

LINK_COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("target_url", pa.string(), "link target, resolved as a browser resolves it, fragment dropped"),
    ("target_host", pa.string(), "target host"),
    ("target_domain", pa.string(), "registrable domain of the target"),
    ("target_rhost", pa.string(), "reversed target host; links are clustered on it"),
    ("anchor", pa.string(), "anchor text, whitespace-normalised and capped; alt text for image links"),
    ("alt", pa.string(), "alt text of an image inside the link"),
    ("rel", pa.string(), "the link's rel tokens, space-separated"),
    ("nofollow", pa.bool_(), "rel nofollow, or the page is nofollow"),
    ("ugc", pa.bool_(), "rel ugc"),
    ("sponsored", pa.bool_(), "rel sponsored"),
    ("kind", pa.string(), "text, image, redirect, canonical, alternate, feed, frame or form"),
    ("section", pa.string(), "content, nav, header, footer, aside or comment"),
    ("context", pa.string(), "about 100 characters of text around the link"),
    ("internal", pa.bool_(), "target has the same registrable domain as the source"),
)

LINK_OBSERVATIONS = _schema(("obs_id", pa.int64(), "the observation the link was seen in"), *LINK_COLUMNS)

LINKS = _schema(
    ("source_url", pa.string(), "page the link is on"),
    ("source_host", pa.string(), "source host"),
    ("source_domain", pa.string(), "registrable domain of the source"),
    *LINK_COLUMNS,
    ("first_seen", _TS, "first observation of the source page that had the link"),
    ("last_seen", _TS, "last observation of the source page that had the link"),
    ("lost_at", _TS, "first later observation without the link, empty while it is live"),
    ("lost_reason", pa.string(), "removed, page_gone, redirected or noindex"),
    ("via", pa.string(), "how the source page reached linkback (newest observation)"),
)

PAGES = _schema(
    ("url", pa.string(), "page URL"),
    ("host", pa.string(), "page host"),
    ("domain", pa.string(), "registrable domain"),
    ("rhost", pa.string(), "reversed host"),
    ("status", pa.int16(), "HTTP status of the newest observation"),
    ("title", pa.string(), "title of the newest observation"),
    ("lang", pa.string(), "language of the newest observation"),
    ("canonical", pa.string(), "canonical URL of the newest observation"),
    ("noindex", pa.bool_(), "noindex in the newest observation"),
    ("n_internal", pa.int32(), "internal outlinks in the newest observation"),
    ("n_external", pa.int32(), "external outlinks in the newest observation"),
    ("first_seen", _TS, "first observation"),
    ("last_seen", _TS, "newest observation"),
    ("observations", pa.int32(), "number of observations"),
)

ARCHIVES = _schema(
    ("archive_id", pa.int32(), "archive number"),
    ("path", pa.string(), "path it was ingested from"),
    ("size", pa.int64(), "bytes"),
    ("fingerprint", pa.string(), "sha256 of the file's bytes"),
    ("started_at", _TS, "when ingest of the file started"),
    ("completed_at", _TS, "when it completed; empty when it was interrupted"),
    ("records", pa.int64(), "WARC/ARC records read"),
    ("pages", pa.int64(), "HTML pages parsed"),
    ("links", pa.int64(), "links extracted"),
    ("skipped", pa.string(), "JSON object: skipped records by reason"),
)

TABLES: dict[str, pa.Schema] = {
    "observations": OBSERVATIONS,
    "link_observations": LINK_OBSERVATIONS,
    "links": LINKS,
    "pages": PAGES,
    "archives": ARCHIVES,
}

_DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.int16(): "SMALLINT",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.bool_(): "BOOLEAN",
    _TS: "TIMESTAMPTZ",
}


def duckdb_type(typ: pa.DataType) -> str:
    return _DUCKDB_TYPES[typ]


def create_table_sql(name: str, *, if_not_exists: bool = True) -> str:
    """``CREATE TABLE`` for one of :data:`TABLES`, derived from its Arrow schema."""
    schema = TABLES[name]
    cols = ",\n  ".join(f"{f.name} {duckdb_type(f.type)}" for f in schema)
    guard = "IF NOT EXISTS " if if_not_exists else ""
    return f"CREATE TABLE {guard}{name} (\n  {cols}\n)"


def column_names(name: str) -> list[str]:
    return TABLES[name].names


def describe(name: str) -> dict[str, str]:
    """Column name -> description, for docs and ``--help``."""
    return {f.name: f.metadata[b"description"].decode() for f in TABLES[name]}
