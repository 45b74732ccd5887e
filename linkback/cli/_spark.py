"""``linkback spark extract``: archives through Apache Spark into Parquet in the one schema.

PySpark is imported only when the command runs (the ``spark`` extra is optional): ``linkback``
and its help work without it, and the command says what is missing.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from linkback.cli._app import app
from linkback.cli._output import WideOption
from linkback.errors import SourceError

err = Console(stderr=True, highlight=False, soft_wrap=True)

spark_app = typer.Typer(
    help="Web scale: the same extraction on Apache Spark, written as Parquet in the one schema."
    "\n\nExample: linkback spark extract crawl/ --out build/parquet",
    no_args_is_help=True,
)
app.add_typer(spark_app, name="spark")


def parse_conf(items: list[str]) -> dict[str, str]:
    """``--conf KEY=VALUE`` options as a dict; a bad one is a usage error naming it."""
    conf = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--conf")
        conf[key.strip()] = value
    return conf


@spark_app.command("extract")
def extract_command(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PATHS...",
            help="WARC/ARC files, directories or globs; http(s):// URLs; s3a://, hdfs://... URIs (read by Spark).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[str, typer.Option("--out", help="Directory to write the Parquet tables in (local or a URI).")] = "",
    manifest: Annotated[
        Path | None,
        typer.Option(
            "--manifest", help="A file listing inputs, one a line (gzipped too: warc.paths.gz).", dir_okay=False
        ),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option("--base", help="Put before each relative line of the manifest (https://data.commoncrawl.org/)."),
    ] = None,
    master: Annotated[
        str | None, typer.Option("--master", help="Spark master (default local[*]; spark-submit's under spark-submit).")
    ] = None,
    conf: Annotated[
        list[str] | None, typer.Option("--conf", metavar="KEY=VALUE", help="A Spark setting (repeatable).")
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the tables already in --out.")] = False,
    output: Annotated[str, typer.Option("--format", help="Summary as 'table' or 'json'.")] = "table",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No stage messages.")] = False,
    wide: WideOption = False,
) -> None:
    """Read web archives with a PySpark job and write Parquet in the one schema: the same
    extract() on the same byte ranges as 'linkback ingest --workers', Arrow batches end to end.

    Writes observations and link_observations as ingest stores them, and links (first and last
    seen, lost), pages, host_edges and domain_edges (link counts) as ingest and rank derive them,
    each sorted by its key (links by target reversed host) so readers skip row groups; zstd,
    microsecond UTC timestamps. Prints the counters ingest prints. Runs on --master local[*] by
    default, or under spark-submit on a cluster.

    Example: linkback spark extract crawl/ --out build/parquet --master local[2]
    """
    from linkback.spark import unavailable  # noqa: PLC0415 - no pyspark import yet

    if not out:
        raise typer.BadParameter("where to write is needed", param_hint="--out")
    inputs = list(paths or [])
    try:
        if manifest is not None:
            from linkback.spark._inputs import read_manifest  # noqa: PLC0415

            inputs += read_manifest(manifest, base)
        if not inputs:
            raise typer.BadParameter("name archives (PATHS...) or a --manifest", param_hint="PATHS")
        settings = parse_conf(conf or [])
        _check_out(out, overwrite)
        _check_local_inputs(inputs)
    except SourceError as exc:
        _fail(str(exc))
    missing = unavailable()
    if missing:
        _fail(missing)
    summary = _run(inputs, out, master, settings, overwrite, quiet)
    _report(summary, output, wide)
    if any(f.status in ("failed", "partial") for f in summary.ingest.files):
        raise typer.Exit(1)


def _check_out(out: str, overwrite: bool) -> None:
    """A local --out that already holds files is refused before Spark starts, unless --overwrite."""
    from linkback.spark._inputs import kind_of  # noqa: PLC0415

    if kind_of(out) != "local" or overwrite:
        return
    path = Path(out)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise SourceError("already exists and is not empty (--overwrite replaces its tables)", path=out)


def _check_local_inputs(inputs: list[str]) -> None:
    """A local input that names nothing is refused before Spark starts (it takes seconds)."""
    from linkback.sources.warc import iter_paths  # noqa: PLC0415
    from linkback.spark._inputs import kind_of  # noqa: PLC0415

    local = [i for i in inputs if kind_of(i) == "local"]
    if local:
        iter_paths(local)


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(1)


def _run(inputs: list[str], out: str, master: str | None, conf: dict[str, str], overwrite: bool, quiet: bool) -> Any:
    from linkback.spark import extract  # noqa: PLC0415

    started = time.perf_counter()

    def stage(name: str) -> None:
        if not quiet:
            err.print(f"[dim]spark: {name} ({time.perf_counter() - started:.1f} s)[/dim]")

    stage("starting Spark")
    try:
        summary = extract(inputs, out, master=master, conf=conf, overwrite=overwrite, on_stage=stage)
    except SourceError as exc:
        _fail(str(exc))
    except Exception as exc:
        # Spark's own errors (a path it cannot list, an --out it will not overwrite): their
        # first line says what; the JVM stack trace below it is for Spark's developers.
        if type(exc).__module__.startswith(("pyspark", "py4j")):
            _fail(f"Spark: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}")
        raise
    summary.seconds["total"] = time.perf_counter() - started
    return summary


def _report(summary: Any, output: str, wide: bool) -> None:
    from linkback.cli._ingest import _print_summary, _summary_dict  # noqa: PLC0415 - ingest's table

    total = summary.seconds.get("total", 0.0)
    if output == "json":
        doc = _summary_dict(summary.ingest, total, 0)
        doc.pop("workers", None)
        doc.update(out=summary.out, rows=summary.rows, seconds={k: round(v, 3) for k, v in summary.seconds.items()})
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    n = len(summary.ingest.files)
    title = f"Extracted {n} file{'s' * (n != 1)} with Spark in {total:.1f} s"
    _print_summary(summary.ingest, total, 0, wide=wide, index_links=summary.live_links, title=title)
    tables = ", ".join(f"{name} {rows:,}" for name, rows in summary.rows.items())
    print(f"written to {summary.out}: {tables}")
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in summary.seconds.items() if k != "total")
    print(f"stages: {stages}")
