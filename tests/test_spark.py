"""``linkback spark extract`` against ``linkback ingest``: the rows Spark writes for real WARC
files equal, as sets, what ingest stores for them.

One Spark session (``local[2]``, loopback only, no UI) serves the whole module: starting one
costs 10-40 s on two cores. One run reads the bundled archives (tests/data/warc), three archives
written here with a history (pages seen again: links removed, pages gone, redirected, the same
capture in two files, captures cut short that lose no link), two WAT files (read by the lite WAT reader), an unreadable file, a ``file://`` URI (read through Spark's Hadoop file
system) and ``http://`` URLs served on 127.0.0.1; ``linkback ingest --workers 2`` stores the
same local files for comparison. The larger archives of ../shared/data/02_warc get a run of
their own (skipped, saying why, where absent). Skipped, saying why, without pyspark or Java.
"""

from __future__ import annotations

import io
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import REPO_DATA, shared_path
from serverkit import Page, PageServer
from test_ingest_ranges import _trap_archive
from test_wat import make_wat as make_wat_module
from typer.testing import CliRunner
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

import linkback._workers as workers_module
from linkback import schema
from linkback.graph._from_store import drop_temp_tables, site_graphs
from linkback.ingest import IngestSummary, ingest
from linkback.spark import _layout, unavailable
from linkback.store import Store

MISSING = unavailable()
pytestmark = [
    pytest.mark.skipif(MISSING is not None, reason=f"Spark is not available here: {MISSING}"),
    pytest.mark.spark,
    pytest.mark.xdist_group("spark"),  # one worker, one session
]

#: A short-lived test JVM: the first JIT tier only and a serial collector take half the CPU off
#: starting Spark and running small jobs; two shuffle partitions for a few thousand rows.
TEST_CONF = {
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    "spark.sql.shuffle.partitions": "2",
}

WARC = REPO_DATA / "warc"
make_wat = make_wat_module.make_wat

# --- archives with a history -----------------------------------------------------------------

H1 = [  # (url, WARC-Date, status, extra headers, html)
    ("https://a.example/post", "2024-01-01T00:00:00Z", 200, [], '<a href="https://x.example/">X</a> <a href="https://y.example/">Y</a>'),
    ("https://b.example/", "2024-01-01T00:00:00Z", 200, [], '<a href="https://z.example/z">Z</a>'),
    ("https://c.example/", "2024-01-01T00:00:00Z", 200, [],
     '<meta name="robots" content="noindex"><a href="https://w.example/">W</a> <a rel="nofollow" href="https://v.example/">V</a>'),
    ("https://d.example/", "2024-01-01T00:00:00Z", 200, [],
     '<nav><a href="https://x.example/">dup</a></nav><footer><a rel="sponsored" href="https://x.example/">dup</a></footer>'),
    ("https://e.example/", "2024-01-05T00:00:00Z", 200, [], '<a href="https://q.example/">first copy</a>'),
    ("https://g.example/", "2024-01-01T00:00:00Z", 200, [], '<a href="https://blog.g.example/">blog</a>'),
    ("https://h.example/", "2024-01-01T00:00:00Z", 200, [], '<a href="https://k.example/">K</a> <a href="https://m.example/">M</a>'),
    ("https://i.example/", "2024-01-01T00:00:00Z", 200, [], '<a href="https://k.example/">K</a> <a href="https://m.example/">M</a>'),
]  # fmt: skip
H2 = [
    ("https://a.example/post", "2024-01-02T00:00:00Z", 200, [], '<a href="https://x.example/">X</a>'),
    ("https://a.example/post", "2024-01-03T00:00:00Z", 503, [], "busy"),
    ("https://a.example/post", "2024-01-04T00:00:00Z", 404, [], "gone"),
    ("https://b.example/", "2024-01-02T00:00:00Z", 301, [("Location", "https://b2.example/")], ""),
    ("https://c.example/", "2024-01-02T00:00:00Z", 200, [], "<p>no links now</p>"),
    ("https://e.example/", "2024-01-05T00:00:00Z", 200, [], '<a href="https://r.example/">second copy</a>'),
    ("https://f.example/", "2023-12-01T00:00:00Z", 200, [], '<a href="https://x.example/">older, in a later file</a>'),
    ("https://g.example/", "2024-01-06T00:00:00Z", 200, [], '<a href="https://blog.g.example/">blog</a>'),
    ("https://i.example/", "2024-01-03T00:00:00Z", 200, [], '<a href="https://k.example/">K</a>'),
]
#: Captures their producer cut short (WARC-Truncated): M is in the part missing, not removed.
H3 = [
    ("https://h.example/", "2024-01-02T00:00:00Z", 200, [], '<a href="https://k.example/">K</a>'),
    ("https://i.example/", "2024-01-02T00:00:00Z", 200, [], '<a href="https://k.example/">K</a>'),
]


def write_warc(
    path: Path, records: list[tuple[str, str, int, list[tuple[str, str]], str]], *, truncated: bool = False
) -> Path:
    with path.open("wb") as f:
        writer = WARCWriter(f, gzip=True)
        for url, date, status, extra, html in records:
            reason = {200: "OK", 301: "Moved Permanently", 404: "Not Found", 503: "Service Unavailable"}[status]
            headers = [("Content-Type", "text/html; charset=utf-8"), *extra]
            http = StatusAndHeaders(f"{status} {reason}", headers, protocol="HTTP/1.1")
            body = f"<!doctype html><html><head><title>{url}</title></head><body>{html}</body></html>".encode()
            warc_headers = {"WARC-Date": date, **({"WARC-Truncated": "length"} if truncated else {})}
            writer.write_record(writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), length=len(body), http_headers=http,
                warc_headers_dict=warc_headers))  # fmt: skip
    return path


# --- the module's runs ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def spark() -> Any:
    from linkback.spark import start_session

    session = start_session("local[2]", TEST_CONF)
    yield session
    session.stop()


class Run:
    """A Spark run and the ingest of the same local files, side by side."""

    def __init__(self, summary: Any, out: Path, store: Store, ingested: IngestSummary) -> None:
        self.summary, self.out, self.store, self.ingested = summary, out, store, ingested
        con = store.con
        for table in _layout.TABLES:
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW p_{table} AS SELECT * FROM read_parquet('{out}/{table}/*.parquet')"
            )

    def rows(self, sql: str) -> Counter[tuple]:
        return Counter(tuple(r) for r in self.store.con.execute(sql).fetchall())


def _run(spark: Any, tmp: Path, spark_inputs: list[str], ingest_inputs: list[str]) -> Run:
    from linkback.spark import extract

    out = tmp / "parquet"
    summary = extract(spark_inputs, str(out), spark=spark)
    store = Store(str(tmp / "ingest.duckdb"))
    ingested = ingest(ingest_inputs, store=store, workers=2)
    return Run(summary, out, store, ingested)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("history")
    write_warc(folder / "h1.warc.gz", H1)
    write_warc(folder / "h2.warc.gz", H2)
    write_warc(folder / "h3.warc.gz", H3, truncated=True)
    return folder


@pytest.fixture(scope="module")
def run(spark: Any, history: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("spark-run")
    junk = tmp / "junk.warc.gz"
    junk.write_bytes(b"these are not the records you are looking for")
    wats = tmp / "wat"  # WAT lite rows: Common Crawl's own WAT and one made from a real WARC
    wats.mkdir()
    shutil.copyfile(REPO_DATA / "whirlwind" / "whirlwind.warc.wat.gz", wats / "whirlwind.warc.wat.gz")
    make_wat(REPO_DATA / "whirlwind" / "whirlwind.warc.gz", wats / "whirlwind-links.warc.wat.gz")
    hadoop_copy = tmp / "copies" / "cc.warc.gz"
    hadoop_copy.parent.mkdir()
    shutil.copyfile(WARC / "jwarc" / "cc.warc.gz", hadoop_copy)
    with PageServer() as server:
        server.pages["/crawl/warcfile.warc.gz"] = Page((WARC / "resiliparse" / "warcfile.warc.gz").read_bytes())
        urls = [server.url("/crawl/warcfile.warc.gz"), server.url("/crawl/missing.warc.gz")]
        # WATs are named: a directory with WARC/ARC files in it leaves its WATs out (the WATs beside their WARCs)
        local = [str(WARC), str(history), *(str(p) for p in sorted(wats.iterdir())), str(junk)]
        result = _run(spark, tmp, [*local, hadoop_copy.as_uri(), *urls], local)
    result.urls = urls  # type: ignore[attr-defined]
    result.hadoop_copy = hadoop_copy  # type: ignore[attr-defined]
    yield result
    result.store.close()


# --- the comparisons ------------------------------------------------------------------------

OBS_COLS = [c for c in schema.OBSERVATIONS.names if c not in ("obs_id", "archive_id")]


def observation_rows(run: Run, prefix: str) -> Counter[tuple]:
    """Each observation with the path of its archive (ids are numbered differently)."""
    cols = ", ".join(f"o.{c}" for c in OBS_COLS)
    return run.rows(f"SELECT a.path, {cols} FROM {prefix}observations o JOIN {prefix}archives a USING (archive_id)")


def link_observation_rows(run: Run, prefix: str) -> Counter[tuple]:
    cols = ", ".join(f"l.{c}" for c in schema.LINK_OBSERVATIONS.names[1:])
    return run.rows(
        f"SELECT o.obs_key, {cols} FROM {prefix}link_observations l JOIN {prefix}observations o USING (obs_id)"
    )


def check_tables_equal(run: Run) -> None:
    assert observation_rows(run, "p_") == observation_rows(run, "")
    assert link_observation_rows(run, "p_") == link_observation_rows(run, "")
    for table in ("links", "pages"):
        assert run.rows(f"SELECT * FROM p_{table}") == run.rows(f"SELECT * FROM {table}"), table


def test_observations_and_links_spark_writes_equal_what_ingest_stores(run: Run) -> None:
    check_tables_equal(run)
    # the bundled archives' 407 pages, the history's 19 captures (one of them read twice), and the
    # one page of the WAT made from whirlwind (Common Crawl's own WAT describes a request: no page)
    assert run.summary.rows["observations"] == sum(observation_rows(run, "").values()) == 407 + 18 + 1
    assert run.rows("SELECT url FROM p_observations WHERE truncated") == Counter(
        {("https://h.example/",): 1, ("https://i.example/",): 1}
    )
    wat_links = run.rows(
        "SELECT l.section, l.context FROM p_link_observations l JOIN p_observations o USING (obs_id) "
        "JOIN p_archives a USING (archive_id) WHERE a.path LIKE '%whirlwind-links.warc.wat.gz'"
    )
    assert sum(wat_links.values()) > 10 and set(wat_links) == {(None, None)}  # lite rows: no sections, no context
    assert run.summary.rows["link_observations"] == sum(link_observation_rows(run, "").values()) > 55_436


def test_the_history_is_derived_as_ingest_derives_it(run: Run) -> None:
    lost = run.rows(
        "SELECT source_url, target_url, lost_reason, lost_at::DATE::VARCHAR FROM p_links WHERE lost_at IS NOT NULL"
    )
    assert lost == Counter({
        ("https://a.example/post", "https://y.example/", "removed", "2024-01-02"): 1,
        ("https://a.example/post", "https://x.example/", "page_gone", "2024-01-04"): 1,
        ("https://b.example/", "https://z.example/z", "redirected", "2024-01-02"): 1,
        ("https://c.example/", "https://w.example/", "removed", "2024-01-02"): 1,
        ("https://c.example/", "https://v.example/", "removed", "2024-01-02"): 1,
        # at the whole capture after the truncated one, not at the truncated one (h.example has none)
        ("https://i.example/", "https://m.example/", "removed", "2024-01-03"): 1,
    })  # fmt: skip
    truncated = run.rows("SELECT url, truncated FROM p_pages WHERE url IN ('https://h.example/', 'https://i.example/')")
    assert truncated == Counter({("https://h.example/", True): 1, ("https://i.example/", False): 1})
    seen = run.rows("SELECT first_seen::DATE::VARCHAR, last_seen::DATE::VARCHAR FROM p_links "
                    "WHERE source_url = 'https://g.example/'")  # fmt: skip
    assert seen == Counter({("2024-01-01", "2024-01-06"): 1})
    # the same capture in two files: the first file read wins, with its links
    e = run.rows("SELECT target_url FROM p_links WHERE source_url = 'https://e.example/'")
    assert e == Counter({("https://q.example/",): 1})
    # the same link twice on a page: the first on the page gives its columns
    d = run.rows("SELECT section, rel FROM p_links WHERE source_url = 'https://d.example/'")
    assert d == Counter({("nav", ""): 1})
    assert run.rows("SELECT noindex FROM p_links WHERE source_url = 'https://c.example/'") == Counter({(True,): 2})


def test_the_edges_count_what_rank_counts(run: Run) -> None:
    """domain_edges and host_edges against linkback rank's own graphs of the ingested store."""
    domains, counts, hosts, _host_domains, _pages = site_graphs(run.store.con)
    drop_temp_tables(run.store.con)
    labels = domains.labels.to_pylist()
    edges = run.rows("SELECT source_domain, target_domain, links, dofollow_links FROM p_domain_edges")
    backlinks: Counter[str] = Counter()
    refdomains: Counter[str] = Counter()
    dofollow: Counter[str] = Counter()
    for (_source, target, links, passing), _n in edges.items():
        backlinks[target] += links
        refdomains[target] += 1
        dofollow[target] += passing > 0
    for i, domain in enumerate(labels):
        assert (backlinks[domain], refdomains[domain], dofollow[domain]) == (
            counts.backlinks[i], counts.refdomains[i], counts.dofollow_refdomains[i]), domain  # fmt: skip
    host_labels = hosts.labels.to_pylist()
    graph = hosts.graph
    rank_edges = {
        (host_labels[s], host_labels[t])
        for t in range(graph.n)
        for s in graph.indices[graph.indptr[t] : graph.indptr[t + 1]]
    }
    mine = {
        (s, t)
        for s, t, passing in run.rows("SELECT source_host, target_host, dofollow_links FROM p_host_edges")
        if passing
    }
    assert mine == rank_edges and len(mine) > 1000
    assert int(np.sum(counts.backlinks)) > 0


def test_the_counters_are_those_ingest_prints(run: Run) -> None:
    spark_files = {f.path: f for f in run.summary.ingest.files}
    for f in run.ingested.files:
        mine = spark_files[f.path]
        if f.status == "failed":
            assert mine.status == "failed" and "not a WARC or ARC file" in mine.errors[0]
            continue
        fields = ("status", "records", "responses", "pages", "html_pages", "duplicates", "links", "skipped", "errors")
        assert {k: getattr(mine, k) for k in fields} == {k: getattr(f, k) for k in fields}, f.path
    local = [spark_files[f.path] for f in run.ingested.files]
    assert sum(f.links for f in local) == run.ingested.total("links") == run.summary.ingest.total("links")
    assert sum((f.skipped for f in local), Counter()) == run.ingested.skipped


def test_urls_and_hadoop_uris_are_read_and_their_repeats_dropped(run: Run) -> None:
    files = {f.path: f for f in run.summary.ingest.files}
    served, missing = (files[u] for u in run.urls)  # type: ignore[attr-defined]
    original = files[str(WARC / "resiliparse" / "warcfile.warc.gz")]
    assert (served.status, served.records, served.responses, served.html_pages) == (
        "ingested", original.records, original.responses, original.html_pages)  # fmt: skip
    # every capture in it was read before, from the local file: none is stored twice
    assert (served.pages, served.duplicates, served.links) == (0, original.pages, 0)
    assert missing.status == "failed" and missing.errors == [f"{run.urls[1]}: HTTP 404 Not Found"]  # type: ignore[attr-defined]
    copy = next(f for path, f in files.items() if path.startswith("file:") and path.endswith("copies/cc.warc.gz"))
    assert (copy.status, copy.records, copy.pages, copy.duplicates) == ("ingested", 1, 0, 1)
    archives = run.rows("SELECT path, completed_at IS NOT NULL FROM p_archives")
    assert (run.urls[1], False) in archives and (copy.path, True) in archives  # type: ignore[attr-defined]


def test_the_parquet_is_the_schema_sorted_zstd_with_utc_microseconds(run: Run) -> None:
    con = run.store.con
    for table, (arrow_schema, keys) in _layout.TABLES.items():
        files = sorted((run.out / table).glob("*.parquet"))
        assert files, table
        written = pq.read_schema(files[0])
        assert written.names == arrow_schema.names, table
        assert [f.type for f in written] == [f.type for f in arrow_schema], table
        for path in files:
            meta = pq.ParquetFile(path).metadata
            assert {meta.row_group(0).column(i).compression for i in range(meta.num_columns)} == {"ZSTD"}
            rows = pq.read_table(path, columns=list(keys)).to_pylist()
            ordered = [tuple(r[k] for k in keys) for r in rows]
            assert ordered == sorted(ordered, key=lambda t: tuple((v is not None, v) for v in t)), (table, path)
        if table in schema.TABLES:
            store_types = con.execute(f"DESCRIBE {table}").fetchall()
            parquet_types = con.execute(f"DESCRIBE p_{table}").fetchall()
            assert [r[:2] for r in parquet_types] == [r[:2] for r in store_types], table
    timestamps = con.execute(
        f"SELECT DISTINCT logical_type FROM parquet_schema('{run.out}/links/*.parquet') WHERE name LIKE '%seen'"
    ).fetchall()
    assert (
        len(timestamps) == 1 and "isAdjustedToUTC=1" in timestamps[0][0] and "MICROS=MicroSeconds()" in timestamps[0][0]
    )
    manifest = json.loads((run.out / _layout.MANIFEST).read_text())
    assert manifest["format"] == _layout.FORMAT and manifest["schema_version"] == schema.SCHEMA_VERSION
    assert {name: t["rows"] for name, t in manifest["tables"].items()} == run.summary.rows
    assert manifest["tables"]["links"]["sorted_by"] == ["target_rhost", "target_url"]


def test_the_command_prints_the_counters_and_writes_the_tables(run: Run, spark: Any, tmp_path: Path) -> None:
    from linkback.cli import app

    out = tmp_path / "cli"
    args = ["spark", "extract", str(WARC / "jwarc"), str(WARC / "warcio"), "--out", str(out), "-q"]
    done = CliRunner().invoke(app, [*args, "--format", "json"])
    assert done.exit_code == 0, done.output
    doc = json.loads(done.stdout)
    assert (doc["records"], doc["pages"], doc["links"]) == (4, 2, 49 + 37)
    assert doc["rows"]["link_observations"] == 86 and doc["out"] == str(out)
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 1 and "already exists and is not empty" in again.output
    table = CliRunner().invoke(app, [*args, "--overwrite"])
    assert table.exit_code == 0, table.output
    assert (out / _layout.MANIFEST).exists()
    from linkback.spark import _job

    seen: list[bool] = []  # while an overwrite replaces the tables, no manifest says they are complete
    _job.run(
        spark,
        [str(WARC / "jwarc")],
        str(out),
        overwrite=True,
        on_stage=lambda _s: seen.append((out / _layout.MANIFEST).exists()),
    )
    assert seen[0] is True and not any(seen[1:]) and (out / _layout.MANIFEST).exists()
    assert "Extracted 2 files with Spark" in table.stdout and "link_observations 86" in table.stdout
    assert spark.sparkContext._jsc is not None  # the module's session is still running
    absent = CliRunner().invoke(app, ["spark", "extract", "file:///nowhere/x.warc.gz", "--out", str(tmp_path / "o")])
    assert (
        absent.exit_code == 1
        and "Spark: [PATH_NOT_FOUND] Path does not exist: file:/nowhere/x.warc.gz" in absent.output
    )


def test_a_range_that_aligns_on_a_false_start_is_read_again(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task whose range begins inside a record holding a gzipped WARC record (a false start):
    the driver reads that range again from where the one before it ended, as ingest does."""
    path = tmp_path / "trap" / "trap.warc.gz"
    path.parent.mkdir()
    _, trap = _trap_archive(path)
    monkeypatch.setattr(workers_module, "SPLIT_BYTES", trap)  # the ranges are cut in this process
    assert trap in [start for start, _end, _align in workers_module.ranges(path)]
    result = _run(spark, tmp_path, [str(path.parent)], [str(path.parent)])
    try:
        urls = result.rows("SELECT url FROM p_observations")
        assert ("http://fake.example/",) not in urls and sum(urls.values()) == 4
        check_tables_equal(result)
    finally:
        result.store.close()


# --- the larger real archives ----------------------------------------------------------------


@pytest.mark.shared
@pytest.mark.slow
def test_the_shared_archives_come_out_as_ingest_stores_them(spark: Any, tmp_path: Path) -> None:
    warcs = shared_path("02_warc")
    result = _run(spark, tmp_path, [str(warcs)], [str(warcs)])
    try:
        check_tables_equal(result)
        assert result.summary.rows["observations"] == result.ingested.total("pages") > 1169
        assert result.summary.rows["links"] == result.store.con.execute("SELECT count(*) FROM links").fetchall()[0][0]
    finally:
        result.store.close()


# --- answered in place ------------------------------------------------------------------------


def test_spark_extract_attached_answers_every_report_and_ranks_as_ingest(run: Run, tmp_path: Path) -> None:
    """spark extract → linkback attach: each report that takes a target answers as the ingested
    store does (tests/test_attach.py checks the rest on an index written without Spark)."""
    from test_attach import _answer, _calls, _rounded

    from linkback.rank import rank

    index = tmp_path / "index"
    shutil.copytree(run.out, index)  # the catalog is made beside the files: run.out stays as Spark wrote it
    with Store(index) as attached:
        for store in (run.store, attached):
            rank(store)
        times = run.store.con.execute("SELECT started_at, completed_at FROM rank_runs").fetchall()
        assert len(times) == 1  # the module's one rank run: the reports name run 1 on both
        attached.con.execute("UPDATE rank_runs SET started_at = ?, completed_at = ?", list(times[0]))
        ranks = "SELECT domain, dr, trust, refdomains, backlinks FROM domain_ranks ORDER BY domain"
        want = run.store.con.execute(ranks).fetchall()
        assert _rounded(attached.con.execute(ranks).fetchall()) == _rounded(want) and len(want) > 100
        calls = _calls(run.store)
        assert len(calls) > 30
        for name, params in calls:
            assert _answer(name, attached, params) == _answer(name, run.store, params), (name, params)
