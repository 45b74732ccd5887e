"""Link extraction throughput, WARC.gz -> links, one process on one core, three pipelines side by side.

    python bench/bench_extract.py [WARC] [--reps 3] [--quick] [--json FILE]

WARC defaults to ../shared/data/02_warc/real-pages-1169.warc.gz (1,169 real pages, HTTP 200
text/html without a charset: encodings must be detected). Each repetition runs the three
pipelines one after the other over the same pages; the table quotes the median.

* ``common``   the way a typical tutorial does it: warcio ``ArchiveIterator`` +
               ``BeautifulSoup(body, "lxml")`` (bs4 detects the encoding itself) +
               ``urllib.parse.urljoin`` over ``a[href]`` (href, text, rel) and the alt of an
               ``<img>`` inside the link.  (peer; goal: linkback >= 10x it)
* ``bare``     the lower bound of doing any link work at all: fastwarc ``ArchiveIterator``
               (response records, ``parse_http``) + selectolax ``LexborHTMLParser`` parse +
               walking ``a[href]`` reading the attribute, nothing more (no decoding, no URL
               resolution, no text).  (floor; goal: linkback >= 0.30x it)
* ``linkback`` the real thing: ``linkback.sources.warc.iter_archive`` + ``linkback.extract.extract``
               (decoding, every link kind, resolution, PSL, anchor/context/section...).

Everything runs in one process on one thread, so throughput per core is pages per second of
the process's CPU time (``time.process_time``), which a loaded machine disturbs far less than
wall time; wall pages/s is printed too. MB/s is HTML body bytes (uncompressed); "pages" counts
the HTML pages each pipeline parsed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import warnings  # noqa: E402

# imported here, not inside the timed functions, so the first repetition does not pay for imports
from urllib.parse import urljoin  # noqa: E402

from _common import SHARED_DATA, dump_json, fmt, machine, median, now, peak_rss_mb, print_table, ratio, versions  # noqa: E402
from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, XMLParsedAsHTMLWarning  # noqa: E402
from fastwarc.warc import ArchiveIterator as FastArchiveIterator  # noqa: E402
from fastwarc.warc import WarcRecordType  # noqa: E402
from selectolax.lexbor import LexborHTMLParser  # noqa: E402
from warcio.archiveiterator import ArchiveIterator as WarcioArchiveIterator  # noqa: E402

# bs4 warns about XHTML pages parsed as HTML; the pages are HTML, the warning is noise here
warnings.filterwarnings("ignore", category=XMLParsedAsHTMLWarning)
warnings.filterwarnings("ignore", category=MarkupResemblesLocatorWarning)

DEFAULT_WARC = SHARED_DATA / "02_warc" / "real-pages-1169.warc.gz"
GOAL_VS_COMMON, GOAL_VS_BARE = 10.0, 0.30


# --- (a) the common way ------------------------------------------------------------------------


def run_common(path: str, limit: int | None) -> tuple[int, int, int]:
    pages = links = nbytes = 0
    with open(path, "rb") as f:
        for record in WarcioArchiveIterator(f):
            if record.rec_type != "response":
                continue
            ctype = record.http_headers.get_header("Content-Type") or ""
            if "html" not in ctype.lower():
                continue
            base = record.rec_headers.get_header("WARC-Target-URI")
            html = record.content_stream().read()
            soup = BeautifulSoup(html, "lxml")
            rows = []
            for a in soup.find_all("a", href=True):
                try:
                    target = urljoin(base, a["href"])
                except ValueError:  # e.g. "http://[not-an-ip]/": urllib refuses it
                    continue
                img = a.find("img")
                rows.append(
                    (
                        base,
                        target,
                        a.get_text(" ", strip=True),
                        " ".join(a.get("rel", [])),
                        img.get("alt", "") if img is not None else "",
                    )
                )
            pages += 1
            links += len(rows)
            nbytes += len(html)
            if limit and pages >= limit:
                break
    return pages, links, nbytes


# --- (b) the bare bound ------------------------------------------------------------------------


def run_bare(path: str, limit: int | None) -> tuple[int, int, int]:
    pages = links = nbytes = 0
    with open(path, "rb") as f:
        for record in FastArchiveIterator(f, record_types=WarcRecordType.response, parse_http=True):
            body = record.reader.read()
            tree = LexborHTMLParser(body)
            for node in tree.css("a[href]"):
                node.attributes.get("href")
                links += 1
            pages += 1
            nbytes += len(body)
            if limit and pages >= limit:
                break
    return pages, links, nbytes


# --- (c) linkback ------------------------------------------------------------------------------


def load_linkback():
    """(run function, "") or (None, why it is not available yet)."""
    try:
        from linkback.sources.warc import ReadStats, iter_archive
    except Exception as e:  # noqa: BLE001
        return None, f"linkback.sources.warc: {type(e).__name__}: {e}"
    try:
        from linkback.extract import extract
    except Exception as e:  # noqa: BLE001
        return None, f"linkback.extract: {type(e).__name__}: {e}"

    def run_linkback(path: str, limit: int | None) -> tuple[int, int, int]:
        pages = links = nbytes = 0
        for page in iter_archive(path, stats=ReadStats()):
            facts, found = extract(page)
            if getattr(facts, "skipped", ""):
                continue
            pages += 1
            links += len(found)
            nbytes += len(page.body)
            if limit and pages >= limit:
                break
        return pages, links, nbytes

    return run_linkback, ""


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("warc", nargs="?", default=str(DEFAULT_WARC))
    ap.add_argument("--reps", type=int, default=3, help="repetitions per pipeline (median quoted)")
    ap.add_argument("--pages", type=int, default=None, help="stop each pipeline after this many pages")
    ap.add_argument("--quick", action="store_true", help="smoke-test mode: 20 pages, 1 repetition")
    ap.add_argument("--json", default=None, help="write results as JSON to FILE ('-' = stdout)")
    a = ap.parse_args(argv)
    if a.quick:
        a.pages, a.reps = a.pages or 20, 1
    if not Path(a.warc).exists():
        sys.exit(f"{a.warc}: no such file (the default needs ../shared/data beside the project)")

    lb, why = load_linkback()
    pipelines = {"common": run_common, "bare": run_bare}
    if lb is not None:
        pipelines["linkback"] = lb
    size_mb = Path(a.warc).stat().st_size / 2**20
    print(f"# bench_extract: {a.warc} ({size_mb:.1f} MB), reps {a.reps}, pages limit {a.pages or 'none'}")

    for fn in pipelines.values():  # warm-up: lazy imports, PSL load, first-call caches
        fn(a.warc, 2)
    times: dict[str, list[float]] = {k: [] for k in pipelines}
    cpu: dict[str, list[float]] = {k: [] for k in pipelines}
    counts: dict[str, tuple[int, int, int]] = {}
    for rep in range(a.reps):
        for name, fn in pipelines.items():
            c0, t0 = time.process_time(), now()
            counts[name] = fn(a.warc, a.pages)
            times[name].append(now() - t0)
            cpu[name].append(time.process_time() - c0)
        print(
            f"rep {rep + 1}: "
            + ", ".join(
                f"{k} {counts[k][0] / times[k][-1]:,.0f} p/s wall, {counts[k][0] / cpu[k][-1]:,.0f} p/cpu-s"
                for k in pipelines
            ),
            flush=True,
        )

    stats = {}
    for name in ("common", "bare", "linkback"):
        if name not in pipelines:
            continue
        pages, links, nbytes = counts[name]
        t, c = median(times[name]), median(cpu[name])
        stats[name] = {
            "pages": pages,
            "links": links,
            "html_mb": nbytes / 2**20,
            "median_wall_s": t,
            "median_cpu_s": c,
            "pages_per_s": pages / t,
            "pages_per_cpu_s": pages / c,
            "links_per_cpu_s": links / c,
            "mb_per_s": nbytes / 2**20 / t,
            "mb_per_cpu_s": nbytes / 2**20 / c,
            "wall_s": times[name],
            "cpu_s": cpu[name],
        }

    def r(name: str, peer: str, key: str = "pages_per_cpu_s") -> float | None:
        if name not in stats or peer not in stats:
            return None
        return ratio(stats[name][key], stats[peer][key])

    rows = []
    labels = {
        "common": "common: warcio + bs4(lxml) + urljoin",
        "bare": "bare: fastwarc + selectolax a[href]",
        "linkback": "linkback: iter_archive + extract",
    }
    for name in ("common", "bare", "linkback"):
        if name not in stats:
            rows.append([labels[name], "-", "-", "-", "-", "-", "-", "-", f"not available yet ({why})"])
            continue
        s = stats[name]
        vc, vb = r(name, "common"), r(name, "bare")
        note = ""
        if name == "linkback":
            note = (
                ("meets" if vc and vc >= GOAL_VS_COMMON else "MISSES")
                + f" >={GOAL_VS_COMMON:g}x common; "
                + ("meets" if vb and vb >= GOAL_VS_BARE else "MISSES")
                + f" >={GOAL_VS_BARE:.2f}x bare"
            )
        vcw, vbw = r(name, "common", "pages_per_s"), r(name, "bare", "pages_per_s")
        rows.append(
            [
                labels[name],
                s["pages"],
                s["links"],
                s["pages_per_cpu_s"],
                s["mb_per_cpu_s"],
                s["pages_per_s"],
                f"{fmt(vc, 2)}x ({fmt(vcw, 2)}x)",
                f"{fmt(vb, 2)}x ({fmt(vbw, 2)}x)",
                note,
            ]
        )
    print()
    print_table(
        [
            "pipeline",
            "pages",
            "links",
            "pages/cpu-s",
            "MB/cpu-s",
            "pages/s wall",
            "/ common cpu (wall)",
            "/ bare cpu (wall)",
            "goal",
        ],
        rows,
    )
    print(
        "medians of the repetitions; pages/cpu-s = pages per second of this process's CPU time, i.e. per core "
        "(single thread), robust to other load; wall = elapsed. Ratios on CPU time, wall in brackets."
    )
    out = {
        "machine": machine(),
        "versions": versions("warcio", "beautifulsoup4", "lxml", "fastwarc", "selectolax", "ada-url", "linkback"),
        "warc": a.warc,
        "reps": a.reps,
        "pages_limit": a.pages,
        "results": stats,
        "linkback_over_common": r("linkback", "common"),
        "linkback_over_bare": r("linkback", "bare"),
        "linkback_over_common_wall": r("linkback", "common", "pages_per_s"),
        "linkback_over_bare_wall": r("linkback", "bare", "pages_per_s"),
        "linkback_available": lb is not None,
        "linkback_unavailable_reason": why,
        "peak_rss_mb": peak_rss_mb(),
    }
    print(f"\npeak RSS {peak_rss_mb():,.0f} MB")
    dump_json(out, a.json)
    return out


if __name__ == "__main__":
    main()
