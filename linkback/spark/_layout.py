"""The directory ``linkback spark extract`` writes: the one schema's tables as Parquet, in place.

::

    OUT/
      _linkback.json            what is where (written last: its presence says the run completed)
      observations/part-*.parquet       schema.OBSERVATIONS, sorted by obs_id
      link_observations/part-*.parquet  schema.LINK_OBSERVATIONS, sorted by target_rhost, target_url
      links/part-*.parquet              schema.LINKS, sorted by target_rhost, target_url
      pages/part-*.parquet              schema.PAGES, sorted by rhost, url
      archives/part-*.parquet           schema.ARCHIVES (one row per input file)
      host_edges/part-*.parquet         HOST_EDGES below, sorted by target_rhost
      domain_edges/part-*.parquet       DOMAIN_EDGES below, sorted by target_domain

Every table has exactly the columns, order and types of its declaration (zstd, timestamps as
Parquet TIMESTAMP(MICROS, UTC)), so a reader can put a view over each directory and run the
store's SQL unchanged: in DuckDB ``CREATE VIEW links AS SELECT * FROM read_parquet('OUT/links/*.parquet')``.
Rows are sorted (range-partitioned, then sorted within each file) on the key a report filters
on, so the files and their row groups have narrow min/max statistics and a reader skips those
a filter rules out; nothing is partitioned into directories by host (thousands of tiny files).

``obs_id`` is not a sequence here: it is packed from where the page was read,
``archive_id << 41 | range_no << 21 | page_no`` (:func:`pack_obs_id`), which keeps the order
``linkback ingest`` would number them in (file, then offset) and needs no coordination between
tasks. ``archive_id`` numbers the inputs from 1, in the order of ``archives``.
"""

from __future__ import annotations

import pyarrow as pa

from linkback import schema

FORMAT = "linkback-parquet"
FORMAT_VERSION = 1
MANIFEST = "_linkback.json"

#: Bits of obs_id given to the page number within a range and to the range number within a file.
PAGE_BITS = 21
RANGE_BITS = 20
#: The most files one run numbers (archive_id is an int32 in the schema; obs_id must fit 63 bits).
MAX_ARCHIVES = (1 << (63 - PAGE_BITS - RANGE_BITS)) - 1


def pack_obs_id(archive_id: int, range_no: int, page_no: int) -> int:
    """The obs_id of the ``page_no``-th page read in range ``range_no`` of archive ``archive_id``."""
    if not (0 < archive_id <= MAX_ARCHIVES and 0 <= range_no < 1 << RANGE_BITS and 0 <= page_no < 1 << PAGE_BITS):
        raise ValueError(f"obs_id out of range: archive {archive_id}, range {range_no}, page {page_no}")
    return (archive_id << (RANGE_BITS + PAGE_BITS)) | (range_no << PAGE_BITS) | page_no


def archive_of_obs_id(obs_id: int) -> int:
    return obs_id >> (RANGE_BITS + PAGE_BITS)


HOST_EDGES = schema._schema(
    ("source_host", pa.string(), "linking host"),
    ("target_host", pa.string(), "linked host (a different host)"),
    ("target_rhost", pa.string(), "reversed target host, com.example.www; the files are sorted on it"),
    ("links", pa.int64(), "live links from the source host to the target host"),
    ("dofollow_links", pa.int64(), "of those, links that pass authority (as linkback rank counts them)"),
)

DOMAIN_EDGES = schema._schema(
    ("source_domain", pa.string(), "linking registrable domain"),
    ("target_domain", pa.string(), "linked registrable domain (a different domain); the files are sorted on it"),
    ("links", pa.int64(), "live links from the source domain to the target domain"),
    ("dofollow_links", pa.int64(), "of those, links that pass authority (as linkback rank counts them)"),
)

#: Each table written: its schema and the columns its files are sorted on.
TABLES: dict[str, tuple[pa.Schema, tuple[str, ...]]] = {
    "observations": (schema.OBSERVATIONS, ("obs_id",)),
    "link_observations": (schema.LINK_OBSERVATIONS, ("target_rhost", "target_url")),
    "links": (schema.LINKS, ("target_rhost", "target_url")),
    "pages": (schema.PAGES, ("rhost", "url")),
    "archives": (schema.ARCHIVES, ("archive_id",)),
    "host_edges": (HOST_EDGES, ("target_rhost", "source_host")),
    "domain_edges": (DOMAIN_EDGES, ("target_domain", "source_domain")),
}
