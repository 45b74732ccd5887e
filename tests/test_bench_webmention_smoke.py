"""bench/bench_webmention.py still runs (``--quick``): a real ``linkback serve`` process takes
every request, the figures are printed and nothing acknowledged is lost. No timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT


@pytest.mark.slow
def test_bench_webmention_quick(tmp_path: Path) -> None:
    out_json = tmp_path / "webmention.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-W",
            "error",
            str(ROOT / "bench" / "bench_webmention.py"),
            "--quick",
            "--workdir",
            str(tmp_path / "work"),
            "--json",
            str(out_json),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"bench_webmention.py failed:\n{proc.stdout}\n{proc.stderr}"
    out = proc.stdout
    for figure in ("acknowledged requests/s", "latency p50 ms", "latency p99 ms", "server CPU ms per request"):
        assert figure in out
    assert "lost: 0" in out
    assert "goal: >= 1,000 req/s" in out
    result = json.loads(out_json.read_text())
    assert result["requests"] == 500 and result["statuses"] == {"201": 500}
    assert result["acknowledged"] == result["rows"] == 600  # 100 warm-up + 500 timed, every one stored
    assert result["lost"] == 0 and result["goals_met"]["lost"]
    # the guard was on: what the runner got to was refused without fetching, never verified
    assert set(result["rows_by_status"]) <= {"queued", "rejected"}
