"""Shared helpers for the benchmarks: timing, medians/percentiles, peak RSS, tables, machine info.

Benchmarks here follow the project rules: the named peer runs side by side in the same run,
each measurement is repeated and the *median* is quoted (the CI machine is a noisy 2-core VM),
and the table prints ratios against the peers. Nothing here asserts on time.
"""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("LINKBACK_SHARED_DATA", ROOT.parent / "shared" / "data"))

if str(ROOT) not in sys.path:  # run as `python bench/x.py` from anywhere
    sys.path.insert(0, str(ROOT))


def now() -> float:
    return time.perf_counter()


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs) if xs else math.nan


def percentile(xs: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); with n < 100 samples p99 is the max."""
    if not xs:
        return math.nan
    s = sorted(xs)
    k = max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))
    return s[k]


@dataclass
class Timer:
    """``with Timer() as t: ...``; ``t.seconds`` afterwards."""

    seconds: float = 0.0
    _t0: float = field(default=0.0, repr=False)

    def __enter__(self) -> Timer:
        self._t0 = now()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = now() - self._t0


def repeat(fn: Callable[[], Any], reps: int) -> tuple[list[float], Any]:
    """Run ``fn`` ``reps`` times; return the wall times (s) and the last result."""
    times: list[float] = []
    result = None
    for _ in range(reps):
        t0 = now()
        result = fn()
        times.append(now() - t0)
    return times, result


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MB (ru_maxrss is KiB on Linux)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def current_rss_mb() -> float:
    try:
        import psutil  # optional (bench extra)

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        try:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        except OSError:
            return math.nan


def machine() -> dict[str, Any]:
    """Enough to tell two result tables apart."""
    info: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(terse=True),
    }
    try:
        info["loadavg_1m"] = round(os.getloadavg()[0], 2)
    except OSError:
        pass
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["mem_gb"] = round(int(f.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    return info


def versions(*mods: str) -> dict[str, str]:
    from importlib import metadata

    out = {}
    for m in mods:
        try:
            out[m] = metadata.version(m)
        except metadata.PackageNotFoundError:
            out[m] = "-"
    return out


def fmt(x: Any, nd: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        if math.isnan(x):
            return "-"
        if abs(x) >= 1000:
            return f"{x:,.0f}"
        return f"{x:.{nd}f}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not b or math.isnan(a) or math.isnan(b):
        return None
    return a / b


def print_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, file=None) -> None:
    """A plain Markdown table (pastes straight into bench/README.md)."""
    file = file or sys.stdout
    cells = [[fmt(c) if not isinstance(c, str) else c for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |", file=file)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|", file=file)
    for r in cells:
        print(
            "| " + " | ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))) + " |",
            file=file,
        )
    file.flush()


def dump_json(obj: Any, path: str | None) -> None:
    """``--json -`` prints to stdout, ``--json FILE`` writes FILE."""
    if not path:
        return
    text = json.dumps(obj, indent=2, default=str)
    if path == "-":
        print(text)
    else:
        Path(path).write_text(text + "\n")
        print(f"wrote {path}")
