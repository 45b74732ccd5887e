"""bench/bench_monitor.py still runs (``--quick``: 60 links on 6 local hosts): every link is
checked live twice, the raw httpx peer fetches the same pages, and the figures are printed.
No timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT


@pytest.mark.slow
def test_bench_monitor_quick(tmp_path: Path) -> None:
    figures = tmp_path / "monitor.json"
    proc = subprocess.run(
        [sys.executable, "-W", "error", str(ROOT / "bench" / "bench_monitor.py"), "--quick",
         "--workdir", str(tmp_path / "work"), "--json", str(figures)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, f"bench_monitor.py failed:\n{proc.stdout}\n{proc.stderr}"
    for line in ("monitor first check: 60 links", "monitor re-check: 60 links", "plain httpx, keep-alive: 60 pages",
                 "ratio, monitor re-check / raw fetch", "goal: re-check < 120 s"):  # fmt: skip
        assert line in proc.stdout
    result = json.loads(figures.read_text())
    assert result["recheck"]["summary"]["verdicts"] == {"live": 60}
    assert result["recheck"]["summary"]["fetches"] == 66  # 60 pages and 6 robots.txt
    assert result["httpx"]["pages"] == result["httpx_new_connection"]["pages"] == 60
