"""Brand mention commands: ``unlinked`` (pages that name a site's brand but do not link to it) and
``rescan`` (look for the brand terms again in the archives already ingested). Each calls the
:mod:`linkback.brands` function with the same parameter names."""

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from linkback import brands
from linkback.cli._app import app
from linkback.cli._output import Report, fail, report_command, writable_store
from linkback.errors import LinkbackError
from linkback.store import Store

err = Console(stderr=True, highlight=False)


@app.command("unlinked")
@report_command
def unlinked_cmd(
    site: Annotated[
        str, typer.Argument(metavar="SITE", help="A site with brand terms ('linkback profile SITE --brand NAME').")
    ],
    *,
    store: Store,
    limit: int | None,
) -> Report:
    """Pages that name SITE's brand in their text but do not link to it: link prospects. Best
    first, by the DR of the page's domain (newest 'linkback rank'), with the terms found and a
    snippet of the text around them. Brand terms come from 'linkback profile SITE --brand NAME'
    and are looked for as pages are ingested; 'linkback rescan' finds terms added later.

    Example: linkback unlinked example.com --limit 20
    """
    rows = brands.unlinked(store, site, limit=limit)
    return Report(rows, f"pages naming {site} without a link", brands.UNLINKED_COLUMNS, ["url", "dr", "snippet"])


@app.command("rescan")
def rescan_cmd(
    db: Annotated[
        Path | None,
        typer.Option("--db", help="Database file (default: $LINKBACK_DB or ./linkback.duckdb)."),
    ] = None,
    output: Annotated[str, typer.Option("--format", help="Summary as 'table' or 'json'.")] = "table",
) -> None:
    """Look for the brand terms of every site profile again in the archives already ingested, so
    that a brand added after ingest is found ('linkback unlinked' lists the pages). Only the
    pages' text is read again; archives no longer where they were ingested from are skipped and
    named.

    Example: linkback rescan --db linkback.duckdb
    """
    with writable_store(db, create=False) as store:
        try:
            result = brands.rescan(store)
        except (LinkbackError, ValueError) as exc:
            fail(str(exc))
    if output == "json":
        json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        out = Console(highlight=False)
        if not result["terms"]:
            out.print("No brand terms to look for: add some with 'linkback profile SITE --brand NAME'.")
        else:
            out.print(
                f"Rescanned {result['archives']:,} archives ({result['pages']:,} pages) for {result['terms']:,} "
                f"brand terms: {result['hits']:,} mentions found"
            )
        if result["dropped"]:
            out.print(f"Dropped {result['dropped']:,} mentions of terms no longer in a profile")
        for path in result["missing"]:
            err.print(Text(f"missing: {path} (not read: the file is no longer there)", style="yellow"))
