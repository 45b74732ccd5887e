"""Web scale: the same ``extract()`` on Apache Spark, written as Parquet in the one schema.

``linkback spark extract PATHS... --out DIR`` (:func:`extract`) reads WARC/ARC files — local
paths cut in the byte ranges ``linkback ingest --workers`` reads, ``http(s)://`` URLs, and any
URI Spark's Hadoop file systems read (``s3a://``, ``hdfs://``...) — with a PySpark job whose
Python workers run :func:`linkback.batches.extract_range` / :func:`~linkback.batches.extract_batch`
and hand Arrow record batches to Spark (``mapInArrow``: no row pickling). The result is the
directory of :mod:`linkback.spark._layout`: ``observations`` and ``link_observations`` as
ingest stores them, and ``links``, ``pages``, ``host_edges`` and ``domain_edges`` as ingest and
rank derive them, sorted so readers skip what a filter rules out.

Nothing here imports pyspark at import time: the ``spark`` extra is optional, and
:func:`unavailable` says what is missing. Nor the store: Spark's Python workers import
:mod:`linkback.spark._tasks`, and with it this package, and need only the extraction code.

Example (it needs pyspark and Java)::

    from linkback import spark

    summary = spark.extract(["crawl/"], "build/parquet", master="local[2]")
    print(summary.rows["links"], summary.seconds)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from linkback.spark._session import unavailable, under_spark_submit

if TYPE_CHECKING:
    from linkback.spark._job import SparkSummary

__all__ = ["SparkSummary", "extract", "start_session", "unavailable", "under_spark_submit"]


def start_session(master: str | None = None, conf: dict[str, str] | None = None) -> Any:
    """The SparkSession the job runs in (see :mod:`linkback.spark._session`)."""
    from linkback.spark._session import start  # noqa: PLC0415

    return start(master, conf)


def extract(
    inputs: Iterable[str],
    out: str,
    *,
    master: str | None = None,
    conf: dict[str, str] | None = None,
    overwrite: bool = False,
    spark: Any = None,
    on_stage: Callable[[str], None] | None = None,
) -> SparkSummary:
    """Extract ``inputs`` with Spark and write Parquet under ``out``; what it did.

    ``spark`` is a running session to use, else this process's active one (both are left
    running; ``master`` is then not used); otherwise one is started with ``master`` (default
    ``local[*]``, or spark-submit's) and ``conf``, and stopped at the end.
    """
    from pyspark.sql import SparkSession  # noqa: PLC0415 - the spark extra is optional

    from linkback.spark._job import run  # noqa: PLC0415 - the driver's part: the store, the ingest summary
    from linkback.spark._session import configure  # noqa: PLC0415

    spark = spark or SparkSession.getActiveSession()
    own = spark is None
    session = start_session(master, conf) if own else spark
    if not own:
        configure(session, conf)
    try:
        return run(session, inputs, out, overwrite=overwrite, on_stage=on_stage)
    finally:
        if own and not under_spark_submit():
            session.stop()


def __getattr__(name: str) -> Any:
    if name == "SparkSummary":
        from linkback.spark._job import SparkSummary  # noqa: PLC0415

        return SparkSummary
    raise AttributeError(f"module 'linkback.spark' has no attribute {name!r}")
