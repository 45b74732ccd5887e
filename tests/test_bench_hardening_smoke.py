"""bench/bench_body_limits.py and bench/bench_slow_sources.py still run (tiny modes): real
servers on 127.0.0.1, the figures printed. No timing or memory figure is asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT


def _run(script: str, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-W", "error", str(ROOT / "bench" / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.mark.slow
def test_bench_body_limits_tiny(tmp_path: Path) -> None:
    out = _run("bench_body_limits.py", "--mb", "2", "--json", str(tmp_path / "body.json"))
    assert "RSS growth MB" in out and "goal: < 20 MB" in out
    rows = json.loads((tmp_path / "body.json").read_text())["rows"]
    # Every post is refused: the 413, or, when the server's close after its 413 races the client's
    # sending (a TCP reset drops the answer already received), the reset; never an acceptance.
    refused = {"HTTP/1.1 413 Request Entity Too Large", "ConnectionResetError"}
    assert len(rows) == 6 and all(r["statuses"] and set(r["statuses"]) <= refused for r in rows)
    assert any("HTTP/1.1 413 Request Entity Too Large" in r["statuses"] for r in rows)


@pytest.mark.slow
def test_bench_slow_sources_tiny(tmp_path: Path) -> None:
    out = _run("bench_slow_sources.py", "--pings", "4", "--seconds", "1", "--json", str(tmp_path / "slow.json"))
    assert "attack p99 ms" in out and "goal: < 100 ms" in out
    result = json.loads((tmp_path / "slow.json").read_text())
    assert result["pingbacks"] == {"fault 0x32": 4}  # every dripping source: try again later
    assert set(result["routes"]) == {"GET /api/count", "GET /api/mentions", "POST /webmention"}
