"""bench/bench_dashboard.py still runs (its tiny mode) and prints its tables. No timing is asserted."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from test_bench_smoke import BENCH, _run


def test_bench_dashboard_quick(tmp_path: Path) -> None:
    out_json = tmp_path / "dashboard.json"
    db = tmp_path / "links.duckdb"
    out = _run("bench_dashboard.py", "--quick", "--links", "20000", "--domains", "2000", "--db", str(db),
               "--json", str(out_json))  # fmt: skip
    for heading in ("| page", "The overview's report calls", "First load of the overview", "deep pagination"):
        assert heading in out
    result = json.loads(out_json.read_text())
    rows = {r["what"]: r for r in result["summary"]}
    cold = rows["overview, 300-700 links, after a write"]
    # The recorder saw the page's report calls and the peer replayed them.
    assert cold["n"] > 0 and cold["report_calls"] > 0 and cold["calls_p50_ms"] > 0
    assert rows["backlinks page, 300-700 links"]["report_calls"] == 1
    assert result["ranked"] and (tmp_path / "links.dashboard.duckdb").exists()
    resources = {r["url"].split("?")[0]: r for r in result["results"]["first_load"]["typical"]["resources"]}
    assert {"/overview", "/static/app.css", "/static/app.js"} <= set(resources)
    assert all(r["status"] == 200 and r["bytes"] > 0 for r in resources.values())
    page = resources["/overview"]
    assert page["gzip_middleware"] < page["bytes"]  # the compressed alternative was measured


def test_next_link_is_found_by_rel_or_by_text() -> None:
    sys.path.insert(0, str(BENCH))
    try:
        from bench_dashboard import next_link
    finally:
        sys.path.remove(str(BENCH))
    assert next_link('<a href="/a">Prev</a> <a rel="next" href="/b?after=x&amp;y=1">›</a>') == "/b?after=x&y=1"
    assert next_link('<nav><a href="/p?after=2">Next <span>→</span></a></nav>') == "/p?after=2"
    assert next_link('<a href="/next-steps">Read on</a>') is None
