"""The benchmarks still run (tiny modes), so they never rot. No timing is asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_DATA, ROOT, shared_path

BENCH = ROOT / "bench"


def _run(script: str, *args: str, timeout: int = 600) -> str:
    proc = subprocess.run(
        [sys.executable, "-W", "error", str(BENCH / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.mark.shared
def test_bench_extract_quick(tmp_path: Path) -> None:
    pytest.importorskip("bs4")
    pytest.importorskip("lxml")
    warc = shared_path("02_warc", "real-pages-1169.warc.gz")
    out_json = tmp_path / "extract.json"
    out = _run("bench_extract.py", str(warc), "--quick", "--pages", "3", "--json", str(out_json))
    assert "| pipeline" in out
    for label in ("common:", "bare:", "linkback:"):
        assert label in out
    result = json.loads(out_json.read_text())
    assert result["results"]["common"]["pages"] == 3
    assert result["results"]["bare"]["pages"] == 3
    assert result["results"]["bare"]["links"] > 0


def test_bench_queries_quick(tmp_path: Path) -> None:
    db = tmp_path / "links.duckdb"
    out_json = tmp_path / "queries.json"
    args = (
        "--quick",
        "--links",
        "20000",
        "--domains",
        "2000",
        "--targets",
        "5",
        "--reps",
        "1",
        "--db",
        str(db),
        "--memory-limit",
        "1GB",
        "--gen-memory-limit",
        "1GB",
        "--json",
        str(out_json),
    )
    out = _run("bench_queries.py", *args)
    assert "| query" in out
    for kind in ("backlinks", "refdomains", "anchors", "overview"):
        assert kind in out
    result = json.loads(out_json.read_text())
    assert result["links"] == 20000
    assert {r["variant"] for r in result["results"]} >= {"raw sorted", "raw unsorted"}
    assert db.exists() and (tmp_path / "links.unsorted.duckdb").exists()
    # a second run reuses the generated files
    out2 = _run("bench_queries.py", *args)
    assert "(reused)" in out2


def test_bench_rank_quick(tmp_path: Path) -> None:
    out_json = tmp_path / "rank.json"
    args = (
        "--quick",
        "--links",
        "20000",
        "--domains",
        "2000",
        "--db",
        str(tmp_path / "l.duckdb"),
        "--json",
        str(out_json),
    )
    out = _run("bench_rank.py", *args)
    assert "| stage" in out and "floor: one scan" in out and "peak RSS" in out
    result = json.loads(out_json.read_text())
    summary = result["runs"][0]["summary"]
    assert result["links"] == 20000 and summary["domains"] > 0 and summary["page_edges"] > 0


def test_gen_index_schema_matches(tmp_path: Path) -> None:
    """The generated table has exactly the schema's ``links`` columns and sane values."""
    sys.path.insert(0, str(BENCH))
    try:
        from gen_index import ensure_index
    finally:
        sys.path.remove(str(BENCH))
    from linkback.schema import column_names
    from linkback.store import Store
    from linkback.urls import reverse_host

    db = tmp_path / "g.duckdb"
    ensure_index(str(db), 5000, 500, unsorted=False, memory_limit="1GB", log=lambda *_: None)
    with Store(db, read_only=True) as st:
        cols = [r[0] for r in st.con.execute("DESCRIBE links").fetchall()]
        assert cols == column_names("links")
        assert st.con.execute("SELECT count(*) FROM links").fetchone()[0] == 5000
        rows = st.con.execute(
            "SELECT target_host, target_rhost, target_domain, target_url FROM links USING SAMPLE 50 ROWS"
        ).fetchall()
        for host, rhost, domain, url in rows:
            assert rhost == reverse_host(host)
            assert host == domain or host.endswith("." + domain)
            assert url.startswith(f"https://{host}/")
        order = [r[0] for r in st.con.execute("SELECT target_rhost FROM links").fetchall()]
        assert order == sorted(order)


def test_bench_ingest_runs_on_a_bundled_archive() -> None:
    out = _run("bench_ingest.py", str(REPO_DATA / "warc" / "jwarc" / "cc.warc.gz"), "--reps", "1", "--large", "0")
    assert "speed-up workers=2 / workers=1, single" in out
    assert "ceiling: extraction alone, 2 processes / 1" in out
    assert "peak memory (PSS)" in out


def test_bench_wat_runs_on_the_bundled_real_pages(tmp_path: Path) -> None:
    out_json = tmp_path / "wat.json"
    sample = REPO_DATA / "warc" / "real-pages" / "sample.warc.gz"
    out = _run("bench_wat.py", str(sample), "--reps", "1", "--no-command", "--json", str(out_json))
    assert "| one process, CPU |" in out and "ratio (one process, CPU):" in out
    result = json.loads(out_json.read_text())
    assert result["counts"]["wat"][0] == result["counts"]["warc"][0] == 117
    assert result["results"]["one process, CPU"]["ratio"] > 0


def test_bench_hostile_quick(tmp_path: Path) -> None:
    out_json = tmp_path / "hostile.json"
    out = _run("bench_hostile.py", "--quick", "--peer-limit", "60", "--json", str(out_json))
    assert "| case" in out and "growth (2n/n)" in out
    results = json.loads(out_json.read_text())["results"]
    assert len(results) == 9
    for name, result in results.items():
        assert result["bytes"] > 10_000, name
        assert result["linkback_s"] > 0 and result["growth_2x"] > 0, name


def test_bench_ingest_vs_extract_runs_on_a_bundled_archive() -> None:
    pytest.importorskip("bs4")
    pytest.importorskip("lxml")
    warc = REPO_DATA / "warc" / "real-pages" / "sample.warc.gz"
    out = _run("bench_ingest_vs_extract.py", str(warc), "--reps", "1", "--common-every", "8")
    for line in ("extract (loop only)", "ingest --workers 1", "common (whole process)", "ingest / extract (loop only)",
                 "ingest / common"):  # fmt: skip
        assert line in out
