"""Whole-table export, streamed in record batches so memory stays flat at any table size."""

from __future__ import annotations

from typing import BinaryIO

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from linkback import csvcells, schema
from linkback.reports._select import check_choice
from linkback.store import Store

#: Tables :func:`export` writes.
EXPORT_TABLES = ("links", "pages", "domains")

_UR = pa.field(
    "ur", pa.float64(), metadata={"description": "URL Rating 0-100 of the newest rank run (empty before one)"}
)
#: What each export carries: its Arrow schema and the FROM clause its columns are read from.
#: ``pages`` adds the URL Rating; ``domains`` is the newest completed run of ``domain_ranks``.
EXPORT_SOURCES: dict[str, tuple[pa.Schema, str]] = {
    "links": (schema.LINKS, "links"),
    "pages": (
        schema.PAGES.append(_UR),
        "(SELECT p.*, r.ur FROM pages p LEFT JOIN page_ranks r ON r.url_hash = hash(p.url))",
    ),
    "domains": (
        pa.schema([f for f in schema.DOMAIN_RANKS if f.name != "run_id"]),
        "(SELECT * FROM domain_ranks WHERE run_id = (SELECT max(run_id) FROM rank_runs WHERE completed_at IS NOT NULL)"
        " ORDER BY dr DESC, domain)",
    ),
}
#: Formats :func:`export` writes.
EXPORT_FORMATS = ("jsonl", "csv", "parquet")
#: Rows per record batch (and per Parquet row group).
BATCH_ROWS = 100_000

#: How timestamps are written to JSONL and CSV: ISO 8601 in UTC.
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _csv_columns(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The batch as CSV cells: timestamps as ISO 8601 UTC strings (``2024-05-01T12:00:00Z``),
    texts a spreadsheet would run as a formula with a ``'`` before them (:mod:`linkback.csvcells`)."""
    columns = []
    for column in batch.columns:
        if pa.types.is_timestamp(column.type):
            column = pc.strftime(column.cast(pa.timestamp("s", tz="UTC"), safe=False), format=TIMESTAMP_FORMAT)
        elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            column = _spreadsheet_text(column)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _spreadsheet_text(column: pa.Array) -> pa.Array:
    if pc.any(pc.match_substring_regex(column, csvcells.CONTROLS)).as_py():
        column = pc.replace_substring_regex(column, csvcells.CONTROLS, csvcells.REPLACEMENT)
    starts = pc.match_substring_regex(column, csvcells.NEEDS_QUOTE)
    if not pc.any(starts).as_py():
        return column  # the common case: nothing to quote, no second pass, nothing copied
    formula = pc.and_not(starts, pc.match_substring_regex(column, csvcells.NUMBER))
    quote, nothing = pa.scalar("'", column.type), pa.scalar("", column.type)  # large_string too
    return pc.if_else(formula, pc.binary_join_element_wise(quote, column, nothing), column)


def export(store: Store, what: str, fmt: str, out: BinaryIO, *, batch_rows: int = BATCH_ROWS) -> int:
    """Write the whole ``what`` table (``"links"``, ``"pages"`` or ``"domains"``) to the binary file ``out``.

    ``fmt`` is ``"jsonl"`` (one JSON object per line), ``"csv"`` (with a header) or
    ``"parquet"`` (one row group per batch, the schema's types and column descriptions).
    Columns are the table's, in :mod:`linkback.schema` order; timestamps in JSONL and CSV are
    ISO 8601 UTC (``2024-05-01T12:00:00Z``); a CSV text a spreadsheet would run as a formula has
    a ``'`` before it (:mod:`linkback.csvcells`). Rows are read ``batch_rows`` at a time, never all at
    once. ``pages`` rows carry their URL Rating (``ur``), ``domains`` rows the newest rank run's
    DR, raw rank, trust, anti-trust, toxicity, referring domains and backlinks. Returns the number
    of rows written.
    """
    check_choice("table", what, EXPORT_TABLES)
    check_choice("format", fmt, EXPORT_FORMATS)
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be at least 1, not {batch_rows!r}")
    arrow_schema, source = EXPORT_SOURCES[what]
    # Identifiers come from the schema module, never from the caller.
    if fmt == "jsonl":
        # DuckDB renders each row as one JSON object, far faster than json.dumps per row.
        fields = ", ".join(f"'{f.name}': {_json_value(f)}" for f in arrow_schema)
        sql = f"SELECT to_json({{{fields}}})::VARCHAR AS line FROM {source}"
    else:
        sql = f"SELECT {', '.join(arrow_schema.names)} FROM {source}"
    con = store.con
    # DuckDB draws its progress bar on stdout, which may be where the export goes.
    (progress,) = con.execute("SELECT current_setting('enable_progress_bar')").fetchall()[0]
    con.execute("SET enable_progress_bar = false")
    try:
        return _write(con.sql(sql), arrow_schema, fmt, out, batch_rows)
    finally:
        con.execute(f"SET enable_progress_bar = {'true' if progress else 'false'}")


def _write(relation: duckdb.DuckDBPyRelation, arrow_schema: pa.Schema, fmt: str, out: BinaryIO, batch_rows: int) -> int:
    # A relation's reader streams; a cursor's (con.execute) materialises the result first.
    # DuckDB 2 calls it to_arrow_reader, 1.x fetch_arrow_reader.
    to_reader = getattr(relation, "to_arrow_reader", None) or relation.fetch_arrow_reader
    reader = to_reader(batch_rows)
    rows = 0
    if fmt == "jsonl":
        for batch in reader:
            if batch.num_rows:
                out.write(("\n".join(batch.column(0).to_pylist()) + "\n").encode("utf-8"))
            rows += batch.num_rows
        return rows
    # Casting to the declared schema pins the types (UTC timestamps, plain strings) whatever
    # the session's time zone or DuckDB's Arrow settings.
    batches = (batch.cast(arrow_schema) for batch in reader)
    if fmt == "parquet":
        with pq.ParquetWriter(out, arrow_schema) as writer:
            for batch in batches:
                writer.write_batch(batch, row_group_size=batch_rows)
                rows += batch.num_rows
    else:
        text_schema = _csv_columns(_empty(arrow_schema)).schema
        with pa_csv.CSVWriter(out, text_schema) as writer:
            for batch in batches:
                writer.write_batch(_csv_columns(batch))
                rows += batch.num_rows
    return rows


def _json_value(field: pa.Field) -> str:
    if pa.types.is_timestamp(field.type):
        return f"strftime(timezone('UTC', {field.name}), '{TIMESTAMP_FORMAT}')"
    return field.name


def _empty(arrow_schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array([], f.type) for f in arrow_schema], schema=arrow_schema)
