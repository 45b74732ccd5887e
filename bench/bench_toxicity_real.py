"""Toxicity on real data: ingest the real pages bundled for tests, rank, and print per popular
target how many of its referring domains reach the disavow threshold, and per signal how many real
(editorial) referring domains it fires on (issue #16, "Toxicity that holds on real data").

The pages are news and blog articles from established publishers (../shared/data/02_warc, 1,169
pages, and the repo's tests/data/warc), so every referring domain here is an ordinary publisher:
the goal is that fewer than 0.2 % of the referring domains of any popular target reach the
threshold. Nothing here asserts; tests/test_toxicity_real.py does.

    python bench/bench_toxicity_real.py                      # ../shared/data/02_warc + tests/data/warc
    python bench/bench_toxicity_real.py --db real.duckdb     # keep (or reuse) the ranked index
    python bench/bench_toxicity_real.py tests/data/warc      # only these archives
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, SHARED_DATA  # noqa: E402

from linkback.ingest import ingest  # noqa: E402
from linkback.quality._census import census_lines, popular_targets, signal_census  # noqa: E402
from linkback.rank import rank  # noqa: E402
from linkback.store import Store  # noqa: E402

GOAL = 0.002  # the issue's: fewer than 0.2 % of a popular target's referring domains


def default_inputs() -> list[Path]:
    inputs = [p for p in (SHARED_DATA / "02_warc",) if p.exists()]
    return [*inputs, ROOT / "tests" / "data" / "warc"]


def build(db: Path, inputs: list[Path], workers: int) -> None:
    """Ingest ``inputs`` into ``db`` and rank it, unless it already has a rank run."""
    with Store(str(db)) as store:
        if store.con.execute("SELECT count(*) FROM rank_runs WHERE completed_at IS NOT NULL").fetchone()[0]:
            print(f"{db}: ranked already, reusing it")
            return
        t0 = time.perf_counter()
        summary = ingest([str(p) for p in inputs], store=store, workers=workers)
        pages = sum(f.html_pages for f in summary.files)
        print(f"ingested {pages:,} HTML pages from {', '.join(map(str, inputs))} in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        rank(store)
        print(f"ranked in {time.perf_counter() - t0:.1f} s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="*", type=Path, help="WARC files or directories (default: the real pages)")
    ap.add_argument("--db", type=Path, help="index to build (or reuse when ranked); default: a temporary one")
    ap.add_argument("--targets", type=int, default=20, help="how many of the most-linked targets (default 20)")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    inputs = args.inputs or default_inputs()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "real.duckdb"
        build(db, inputs, args.workers)
        with Store(str(db), read_only=True) as store:
            census = signal_census(store, popular_targets(store, args.targets))
    print()
    print("\n".join(census_lines(census)))
    verdict = "met" if census.worst_share < GOAL else "NOT met"
    print(f"\nworst share at >= {census.min_score}: {census.worst_share:.2%} (goal < {GOAL:.1%}: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
