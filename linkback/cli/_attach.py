"""``linkback attach DIR``: answer from the Parquet tables ``spark extract`` wrote, in place."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from linkback.cli._app import app
from linkback.cli._output import Format, FormatOption, Report, WideOption, fail, render, writable_store
from linkback.errors import LinkbackError


@app.command("attach")
def attach_cmd(
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="DIR", help="What 'linkback spark extract --out DIR' wrote.", file_okay=False, show_default=False
        ),
    ],
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            help="The catalog to make or refresh (default DIR/linkback.duckdb; name one where DIR is not writable).",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    output_format: FormatOption = Format.table,
    wide: WideOption = False,
) -> None:
    """Make (or refresh) a small DuckDB catalog whose links, pages, observations, archives and
    host/domain edges are views over DIR's Parquet files; every report, export and the dashboard
    then answer from those files in place ('--db DIR' or '--db CATALOG'), and 'linkback rank'
    ranks the aggregated edges. The manifest and every file's columns and types are checked
    against the schema. The Parquet tables are read-only: ingest into a DuckDB file.

    Example: linkback attach build/parquet && linkback backlinks example.com --db build/parquet
    """
    from linkback.store._attach import attach, catalog_for  # noqa: PLC0415

    # DIR itself where no catalog is named: a server started with '--db DIR' advertises there.
    where = directory
    if db is not None:
        try:
            where = Path(catalog_for(directory, db))
        except LinkbackError as exc:
            fail(str(exc))
    with writable_store(where) as store:
        summary = attach(store)
    if output_format is not Format.table:
        render(Report(summary, "attached index", list(summary)), output_format, None)
        return
    rows = [{"table": name, "rows": n} for name, n in summary["rows"].items()]
    render(Report(rows, f"tables of {summary['directory']}", ["table", "rows"]), Format.table, None, wide=wide)
    typer.echo(f"catalog: {summary['catalog']} (--db {directory} opens it)")
