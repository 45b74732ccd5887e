"""The Spark job: archives → ``extract()`` in Python workers (Arrow in, Arrow out) → Parquet.

Stage 1 (:func:`_extract`) runs :func:`linkback.spark._tasks.extract_work` over the work items
with ``mapInArrow`` and keeps its output (persisted: every later step reads it, and sorting
samples its input, which would otherwise run the extraction again). The driver then checks the
ranges of each file join up as ``linkback ingest`` checks them (:func:`_join_ranges`), drops the
captures the index already has from an earlier file (same ``obs_key``: the first one read
wins, as in the store) and writes ``observations`` and ``link_observations``. Stage 2
(:mod:`linkback.spark._derive`) aggregates what ingest derives, and writes it.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from linkback import schema
from linkback.ingest import FileSummary, IngestSummary
from linkback.sources.warc import UNREAD_REST
from linkback.spark import _derive, _layout, _tasks
from linkback.spark._inputs import Archive, plan
from linkback.spark._layout import PAGE_BITS, RANGE_BITS


@dataclass
class SparkSummary:
    """What a run did: per file as ingest reports it, the rows of each table, seconds per stage."""

    ingest: IngestSummary
    out: str
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    live_links: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {**self.ingest.as_dict(), "out": self.out, "rows": self.rows, "seconds": self.seconds}


def spark_type(arrow_schema: pa.Schema) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema  # noqa: PLC0415

    return from_arrow_schema(arrow_schema)


def conform(df: Any, arrow_schema: pa.Schema) -> Any:
    """``df`` with exactly the columns of ``arrow_schema``, in its order, cast to its types."""
    from pyspark.sql import functions as F  # noqa: PLC0415, N812

    return df.select(*(F.col(f.name).cast(f.dataType).alias(f.name) for f in spark_type(arrow_schema)))


def write_table(df: Any, out: str, table: str, *, mode: str) -> None:
    """One table of the layout: its columns and types, range-partitioned and sorted on its key."""
    arrow_schema, keys = _layout.TABLES[table]
    conform(df, arrow_schema).orderBy(*keys).write.mode(mode).parquet(f"{out.rstrip('/')}/{table}")


def run(
    spark: Any,
    inputs: Iterable[str],
    out: str,
    *,
    overwrite: bool = False,
    on_stage: Callable[[str], None] | None = None,
) -> SparkSummary:
    """Extract ``inputs`` (paths, directories, globs, URLs) with ``spark`` and write the layout
    of :mod:`linkback.spark._layout` under ``out``. ``on_stage`` hears each stage's name as it
    starts: planning, extracting, writing observations, writing link_observations, deriving."""
    say = on_stage or (lambda _stage: None)
    started_at = datetime.now(UTC)
    mode = "overwrite" if overwrite else "errorifexists"
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    say("planning")
    archives, work, hadoop = plan(inputs)
    archives += _list_hadoop(spark, hadoop, len(archives))
    seconds["plan"], t0 = _lap(t0)

    if overwrite:
        # A reader (``linkback attach``) takes the manifest as "complete": gone while tables are replaced.
        _remove_manifest(spark, out)
    say("extracting")
    extracted = _extract(spark, work, archives).persist(_storage())
    metas = [row.asDict() for row in extracted.where("meta IS NOT NULL").select("meta.*").collect()]
    seconds["extract"], t0 = _lap(t0)

    obs, links, metas = _observed(spark, extracted, metas)
    say("writing observations")
    write_table(obs, out, "observations", mode=mode)
    say("writing link_observations")
    write_table(links, out, "link_observations", mode=mode)
    seconds["write"], t0 = _lap(t0)

    say("deriving links, pages and edges")
    rows = _derive.write(spark, _derive.derive(spark, obs, links), out, mode=mode, write_table=write_table)
    kept = _kept_per_archive(obs, links)
    seconds["derive"], t0 = _lap(t0)

    summary = _summary(archives, metas, kept)
    archive_rows = _archive_rows(archives, summary, started_at)
    write_table(spark.createDataFrame(pa.Table.from_pylist(archive_rows, schema.ARCHIVES)), out, "archives", mode=mode)
    for df in (obs, links, extracted):
        df.unpersist()
    live_links = rows.pop("live_links")
    rows = {
        "observations": sum(pages for pages, _ in kept.values()),
        "link_observations": sum(n for _, n in kept.values()),
        **rows,
        "archives": len(archive_rows),
    }
    result = SparkSummary(summary, out, rows, seconds, live_links=live_links)
    _write_manifest(spark, out, result, started_at)
    return result


def _remove_manifest(spark: Any, out: str) -> None:
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(f"{out.rstrip('/')}/{_layout.MANIFEST}")
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if fs.exists(path):
        fs.delete(path, False)


def _lap(t0: float) -> tuple[float, float]:
    """(seconds since ``t0``, now)."""
    now = time.perf_counter()
    return now - t0, now


def _storage() -> Any:
    from pyspark import StorageLevel  # noqa: PLC0415

    return StorageLevel.MEMORY_AND_DISK


def _observed(spark: Any, extracted: Any, metas: list[dict]) -> tuple[Any, Any, list[dict]]:
    """The observations and links to write (persisted), after the ranges' join check, and the
    meta rows as they stand after it."""
    metas, dropped, redone = _join_ranges(metas)
    rows = extracted
    if dropped:
        rows = rows.where(_not_from(dropped))
    if redone:
        rows = rows.unionByName(spark.createDataFrame(pa.Table.from_batches(redone, _tasks.EXTRACTED)))
    obs, links = _kept(rows)
    return obs.persist(_storage()), links.persist(_storage()), metas


def _extract(spark: Any, work: list[dict], archives: list[Archive]) -> Any:
    """Stage 1: the work items as a DataFrame, one item per partition, through ``mapInArrow``."""
    from pyspark.sql import functions as F  # noqa: PLC0415, N812

    work_schema = spark_type(_tasks.WORK)
    frames = []
    ranges = [w for w in work if w["kind"] == "range"]
    files = [w for w in work if w["kind"] != "range"]
    slots = spark.sparkContext.defaultParallelism
    for items, n_tasks in ((ranges, _tasks_for(len(ranges), slots)), (files, len(files))):
        if items:
            rows = [tuple(w[n] for n in _tasks.WORK.names) for w in _round_robin(items, n_tasks)]
            frames.append(spark.createDataFrame(spark.sparkContext.parallelize(rows, n_tasks), work_schema))
    hadoop = [a for a in archives if a.kind == "hadoop"]
    if hadoop:
        ids = spark.createDataFrame([(a.source, a.archive_id) for a in hadoop], "path string, archive_id int")
        files = spark.read.format("binaryFile").load([a.source for a in hadoop]).join(F.broadcast(ids), "path")
        frames.append(
            files.select(
                F.col("archive_id"),
                F.lit(0).alias("range_no"),
                F.lit("hadoop").alias("kind"),
                F.col("path").alias("source"),
                F.lit(0).cast("long").alias("start"),
                F.lit(-1).cast("long").alias("end"),
                F.lit(False).alias("align"),
                F.col("content"),
            )  # fmt: skip
        )
    if not frames:
        return spark.createDataFrame([], spark_type(_tasks.EXTRACTED))
    items = frames[0]
    for frame in frames[1:]:
        items = items.unionByName(frame)
    # One work item per Arrow batch: a task streams each item's rows out as it reads it.
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "1")
    return items.mapInArrow(_tasks.extract_work, spark_type(_tasks.EXTRACTED))


#: Ranges one task reads, about: a task costs Spark ~0.1-0.3 s to start a Python function on
#: (measured on 2 cores), and one of ingest's ranges takes ~0.2 s of extraction.
RANGES_PER_TASK = 16


def _tasks_for(n_ranges: int, slots: int) -> int:
    """Tasks for ``n_ranges`` ranges: a multiple of the task slots (none idles at the end), each
    about RANGES_PER_TASK ranges; never more tasks than ranges."""
    if n_ranges == 0:
        return 0
    return min(n_ranges, slots * max(1, round(n_ranges / (slots * RANGES_PER_TASK))))


def _round_robin(items: list[dict], n_tasks: int) -> list[dict]:
    """``items`` reordered so that ``parallelize``'s contiguous slices deal them out in turn:
    each task gets ranges from every file, and the tasks come out about equal."""
    return [item for task in range(n_tasks) for item in items[task::n_tasks]]


def _list_hadoop(spark: Any, uris: list[str], numbered: int) -> list[Archive]:
    """The files Spark finds for the Hadoop URIs (globs expanded), sorted, numbered on."""
    if not uris:
        return []
    listed = spark.read.format("binaryFile").load(uris).select("path", "length").collect()
    return [
        Archive(numbered + i, row["path"], "hadoop", row["length"])
        for i, row in enumerate(sorted(listed, key=lambda r: r["path"]), start=1)
    ]


def _join_ranges(metas: list[dict]) -> tuple[list[dict], list[int], list[pa.RecordBatch]]:
    """Check each file's ranges join up, as ``linkback ingest`` does (``_extracted_ranges``):
    a range must begin where the one before it found its next record. One that aligned
    elsewhere is read again here, from that record to its end, and its rows replace the
    task's; ranges past the point where reading the file ended add nothing.

    Returns the meta rows as they stand after that, the ranges whose task rows are dropped
    (as ``archive_id << RANGE_BITS | range_no``), and the rows read again."""
    by_archive: dict[int, list[dict]] = defaultdict(list)
    for meta in metas:
        by_archive[meta["archive_id"]].append(meta)
    kept: list[dict] = []
    dropped: list[int] = []
    redone: list[pa.RecordBatch] = []
    for archive_id, items in by_archive.items():
        items.sort(key=lambda m: m["range_no"])
        if items[0]["kind"] != "range":
            kept += items
            continue
        expected = 0
        for meta in items:
            if meta["first"] != expected:
                dropped.append(archive_id << RANGE_BITS | meta["range_no"])
                if expected < 0:
                    continue  # past the end of the readable file
                again = {**meta, "start": expected, "align": False, "content": None}
                batches = list(_tasks.extract_item(again))
                meta = batches[-1].column("meta").to_pylist()[0]
                redone += batches[:-1]
            expected = meta["next"]
            kept.append(meta)
    return kept, dropped, redone


def _not_from(dropped: list[int]) -> Any:
    """Rows not read by the tasks of these ranges."""
    from pyspark.sql import functions as F  # noqa: PLC0415, N812

    def key(col: str) -> Any:
        return F.shiftright(F.col(col), PAGE_BITS)

    meta_key = F.shiftleft(F.col("meta.archive_id").cast("long"), RANGE_BITS) + F.col("meta.range_no")
    ranges = [int(d) for d in dropped]
    return F.coalesce(key("obs.obs_id"), key("link.obs_id"), meta_key).isin(ranges) == F.lit(False)


def _kept(rows: Any) -> tuple[Any, Any]:
    """The observations and links to store: a capture read twice (same obs_key, in two files or
    twice in one) is kept once, the first read (the lowest obs_id), with its links."""
    from pyspark.sql import functions as F  # noqa: PLC0415, N812

    obs = rows.where("obs IS NOT NULL").select("obs.*")
    links = rows.where("link IS NOT NULL").select("link.*")
    repeated = obs.groupBy("obs_key").agg(F.min("obs_id").alias("first"), F.count("*").alias("n")).where("n > 1")
    later = obs.join(repeated, "obs_key").where("obs_id <> first").select("obs_id")
    return obs.join(later, "obs_id", "left_anti"), links.join(later, "obs_id", "left_anti")


def _kept_per_archive(obs: Any, links: Any) -> dict[int, tuple[int, int]]:
    """(observations, links) stored per archive."""
    from pyspark.sql import functions as F  # noqa: PLC0415, N812

    shift = RANGE_BITS + PAGE_BITS
    pages = {r[0]: r[1] for r in obs.groupBy("archive_id").count().collect()}
    n_links = {
        r[0]: r[1] for r in links.groupBy(F.shiftright("obs_id", shift).cast("int").alias("a")).count().collect()
    }
    return {a: (pages.get(a, 0), n_links.get(a, 0)) for a in set(pages) | set(n_links)}


def _summary(archives: list[Archive], metas: list[dict], kept: dict[int, tuple[int, int]]) -> IngestSummary:
    """Per file, the counters ``linkback ingest`` gives (FileSummary), from the tasks' meta rows."""
    by_archive: dict[int, list[dict]] = defaultdict(list)
    for meta in metas:
        by_archive[meta["archive_id"]].append(meta)
    summary = IngestSummary()
    for archive in archives:
        fs = FileSummary(archive.source, "ingested")
        if archive.failed:
            fs.status, fs.errors = "failed", [archive.failed]
            summary.files.append(fs)
            continue
        skipped: Counter[str] = Counter()
        for meta in by_archive.get(archive.archive_id, []):
            fs.records += meta["records"]
            fs.responses += meta["responses"]
            fs.html_pages += meta["html_pages"]
            fs.duplicates += meta["pages"]
            skipped.update(json.loads(meta["skipped"]))
            fs.errors += json.loads(meta["errors"])
            if meta["failed"]:
                fs.status = "failed"
                fs.errors.append(meta["failed"])
        fs.pages, fs.links = kept.get(archive.archive_id, (0, 0))
        fs.duplicates -= fs.pages
        fs.skipped = skipped
        if fs.status != "failed" and skipped[f"record/{UNREAD_REST}"]:
            fs.status = "partial"
            fs.note = "reading stopped at damage before the end of the file (see errors)"
        summary.files.append(fs)
    return summary


def _archive_rows(archives: list[Archive], summary: IngestSummary, started_at: datetime) -> list[dict]:
    done = datetime.now(UTC)
    return [
        {
            "archive_id": a.archive_id,
            "path": a.source,
            "size": a.size,
            "fingerprint": None,  # not computed: reading every byte once more to hash it
            "started_at": started_at,
            "completed_at": done if fs.status == "ingested" else None,
            "records": fs.records,
            "pages": fs.pages,
            "links": fs.links,
            "skipped": json.dumps(dict(fs.skipped), sort_keys=True),
        }
        for a, fs in zip(archives, summary.files, strict=True)
    ]


def _write_manifest(spark: Any, out: str, result: SparkSummary, started_at: datetime) -> None:
    """``_linkback.json``: what each directory holds. Written last, through Hadoop's file system
    (``out`` may be ``s3a://`` or ``hdfs://``): its presence says the run completed."""
    doc = {
        "format": _layout.FORMAT,
        "format_version": _layout.FORMAT_VERSION,
        "schema_version": schema.SCHEMA_VERSION,
        "started_at": started_at.isoformat(),
        "completed_at": datetime.now(UTC).isoformat(),
        "tables": {
            name: {"path": name, "sorted_by": list(keys), "rows": result.rows.get(name, 0)}
            for name, (_schema, keys) in _layout.TABLES.items()
        },
        "obs_id": {"archive_id_shift": RANGE_BITS + PAGE_BITS, "range_no_shift": PAGE_BITS},
        "files": [{"path": f.path, "status": f.status} for f in result.ingest.files],
    }
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(f"{out.rstrip('/')}/{_layout.MANIFEST}")
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    stream = fs.create(path, True)
    try:
        stream.write(bytearray(json.dumps(doc, indent=2).encode()))
    finally:
        stream.close()
