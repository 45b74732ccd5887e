"""Brand scan at ingest: `linkback ingest` of the bundled real pages with 1,000 brand terms against
the same ingest without any, in the same run.

Each repetition makes a fresh database, sets the site profiles (100 sites of 10 brand terms each,
or none), and runs the `linkback ingest` command as a subprocess (`--workers 2`, the machine's
cores). The runs alternate with and without terms, so slow spells of the shared machine hit both
alike; the ratio is of the medians. Wall and CPU time are both printed; the goal is read on CPU
time (the command, its forkserver and its workers, from rusage: this process adopts and reaps
the helpers), which the neighbours on a shared machine disturb far less than wall time. The
terms are the names of the 1,000 domains the pages link to most (``facebook``, ``nytimes``...):
names that really occur in the text, so the scan finds, builds snippets for and stores
thousands of mentions, as a user's list would.

    python bench/bench_brands.py [WARC] [--reps 3] [--terms 1000] [--phrases 0.3]

``--phrases 0.3``: three terms in ten are names of several words (the anchor text that most
often links to the domain), which the scanner looks for in the flattened text of the pages
where each of their words of four letters or more occurs.

Goal (issue #16): ingest with 1,000 brand terms ≤ 1.1× ingest without.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_WARC = ROOT.parent / "shared" / "data" / "02_warc" / "real-pages-1169.warc.gz"
TERMS_PER_SITE = 10


def linkback_command() -> list[str]:
    script = Path(sys.executable).with_name("linkback")
    return [str(script)] if script.exists() else [sys.executable, "-m", "linkback.cli"]


def brand_terms(warc: Path, n: int, phrases: float = 0.0) -> list[tuple[str, str]]:
    """``(site, term)``: the first label of the ``n`` domains the pages link to most, as a name.
    With ``phrases``, that share of the sites (spread evenly) has a name of several words
    instead: the anchor text of 2–4 words that links to the domain most often ("New York
    Times"), as brands of several words are, where the domain has one."""
    from linkback.extract import extract  # noqa: PLC0415
    from linkback.sources.warc import ReadStats, iter_archive  # noqa: PLC0415

    counts: Counter[str] = Counter()
    anchors: dict[str, Counter[str]] = {}
    for page in iter_archive(str(warc), stats=ReadStats()):
        _, links = extract(page)
        counts.update({link.target_domain for link in links if not link.internal and link.target_domain})
        if phrases:
            for link in links:
                words = link.anchor.split()
                if not link.internal and link.target_domain and 2 <= len(words) <= 4 and link.anchor.isascii():
                    if all(w.isalpha() for w in words):
                        anchors.setdefault(link.target_domain, Counter())[" ".join(words)] += 1
    names: dict[str, str] = {}
    every = round(1 / phrases) if phrases else 0
    for domain, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):  # ties by name: the same terms every run
        label = domain.split(".")[0]
        # A link's host may be no domain at all (``http://http//x``, ``localhost``): not a site.
        if "." in domain and len(label) >= 3 and label not in names.values():
            names[domain] = label.capitalize()
            if every and len(names) % every == 0 and domain in anchors:
                names[domain] = anchors[domain].most_common(1)[0][0]
        if len(names) >= n:
            break
    return list(names.items())


def prepare(db: Path, terms: list[tuple[str, str]]) -> None:
    from linkback import quality  # noqa: PLC0415
    from linkback.store import Store  # noqa: PLC0415

    with Store(str(db)) as store:
        # 10 terms per site profile: the site's own name first, then others'.
        for i in range(0, len(terms), TERMS_PER_SITE):
            group = terms[i : i + TERMS_PER_SITE]
            quality.set_profile(store, group[0][0], brands=[t for _, t in group])


_PR_SET_CHILD_SUBREAPER = 36


def adopt_orphans() -> bool:
    """Make this process the reaper of its descendants' orphans (Linux), so that the CPU time of
    ingest's forkserver and workers, which outlive the command by a moment, is counted in
    ``RUSAGE_CHILDREN`` once :func:`reap_all` has waited for them."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def reap_all(deadline_s: float = 30.0) -> None:
    """Wait for every descendant handed to this process (see :func:`adopt_orphans`)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.02)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_ingest(warc: Path, db: Path, workers: int) -> tuple[float, float, dict]:
    """(wall s, CPU s of the command and all its helpers, its JSON summary)."""
    cmd = [*linkback_command(), "ingest", str(warc), "--db", str(db), "--workers", str(workers), "--format", "json"]
    c0 = children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.run([*cmd, "--quiet"], capture_output=True, check=False)
    elapsed = time.perf_counter() - t0
    reap_all()
    if proc.returncode != 0:
        raise SystemExit(f"ingest failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    return elapsed, children_cpu() - c0, json.loads(proc.stdout)


def extraction_cpu(warc: Path, terms: list[tuple[str, str]], reps: int) -> tuple[float, float]:
    """Median CPU seconds of the workers' part alone (extract_batch over every page, in batches of
    64, one process), without and with the terms: CPU time, so other load on the machine matters less."""
    from linkback.batches import extract_batch  # noqa: PLC0415
    from linkback.brands import BrandTerms  # noqa: PLC0415
    from linkback.sources.warc import ReadStats, iter_archive  # noqa: PLC0415

    pages = list(iter_archive(str(warc), stats=ReadStats()))
    chunks = [pages[i : i + 64] for i in range(0, len(pages), 64)]
    brands = BrandTerms(tuple((t, site) for site, t in terms), tuple((site, (site,)) for site, _ in terms))
    cpu: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(reps):
        for scan in (False, True):
            t0 = time.process_time()
            for chunk in chunks:
                extract_batch(chunk, brands if scan else None)
            cpu[scan].append(time.process_time() - t0)
    return statistics.median(cpu[False]), statistics.median(cpu[True])


def mentions(db: Path) -> int:
    from linkback.store import Store  # noqa: PLC0415

    with Store(str(db), read_only=True) as store:
        return int(store.con.execute("SELECT count(*) FROM brand_mentions").fetchall()[0][0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("warc", nargs="?", type=Path, default=DEFAULT_WARC)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--terms", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--phrases", type=float, default=0.0, help="share of the terms of several words (0-1)")
    args = parser.parse_args()

    terms = brand_terms(args.warc, args.terms, args.phrases)
    several = [t for _, t in terms if " " in t]
    print(f"{args.warc.name}: {len(terms)} brand terms ({', '.join(t for _, t in terms[:8])}, ...), "
          f"{len(several)} of several words ({', '.join(several[:5])}, ...)")  # fmt: skip
    counted = adopt_orphans()
    times: dict[str, list[float]] = {"without": [], "with": []}
    cpus: dict[str, list[float]] = {"without": [], "with": []}
    found = pages = 0
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            for kind in ("without", "with"):
                db = Path(tmp) / f"{kind}-{rep}.duckdb"
                prepare(db, terms if kind == "with" else [])
                seconds, cpu, summary = run_ingest(args.warc, db, args.workers)
                times[kind].append(seconds)
                cpus[kind].append(cpu)
                pages = summary["pages"]
                if kind == "with":
                    found = mentions(db)
                db.unlink()
                print(f"  rep {rep + 1} {kind:>7} terms: {seconds:6.2f} s wall, {cpu:6.2f} s CPU", flush=True)
    wall = {k: statistics.median(v) for k, v in times.items()}
    cpu = {k: statistics.median(v) for k, v in cpus.items()}
    print(f"\npages ingested: {pages:,}; mentions stored with terms: {found:,}")
    print(f"{'ingest (medians)':<28}{'wall s':>10}{'CPU s':>10}")
    print(f"{'without brand terms':<28}{wall['without']:>10.2f}{cpu['without']:>10.2f}")
    print(f"{f'with {len(terms):,} brand terms':<28}{wall['with']:>10.2f}{cpu['with']:>10.2f}")
    # CPU time of the command, its forkserver and workers: what the scan costs, whatever else
    # runs on the shared machine (wall time there mostly measures the neighbours).
    ratio = cpu["with"] / cpu["without"]
    print(f"ratio wall: {wall['with'] / wall['without']:.3f}×; ratio CPU: {ratio:.3f}× "
          f"(goal ≤ 1.1×: {'met' if ratio <= 1.1 else 'NOT met'})")  # fmt: skip
    if not counted:
        print("(not Linux: the workers' CPU time may be missing from the CPU column)")
    plain, scanned = extraction_cpu(args.warc, terms, args.reps)
    print(f"\nworkers' part alone (extract_batch, CPU s, median of {args.reps}): without {plain:.2f}, "
          f"with terms {scanned:.2f}, ratio {scanned / plain:.3f}×")  # fmt: skip


if __name__ == "__main__":
    main()
