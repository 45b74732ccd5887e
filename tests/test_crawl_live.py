"""``linkback crawl`` keeping its pages as it goes: ingested while it runs, revisit records for
unchanged payloads, ``--render``, and a crawl killed with ``kill -9`` resumed from the frontier.

Crawls run in subprocesses (the Twisted reactor runs once per process) against one loopback
server answering for the test's host names (tests/webkit.py), with the store on disk.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import webkit
from warcio.archiveiterator import ArchiveIterator
from webkit import HostWeb, Page, crawl_in_subprocess

from linkback.ingest import ingest
from linkback.store import Store

SITE = "www.site.test"
CHANGING = "/p3"


def _site(web: HostWeb, pages: int = 8) -> None:
    web.robots(SITE, "User-agent: *\nAllow: /\n")
    web.html(SITE, "/", *(f"/p{n}" for n in range(pages)))
    for n in range(pages):
        web.html(SITE, f"/p{n}", "/", f"/p{(n + 1) % pages}", f"https://elsewhere.test/from/{n}")


def _observations(db: Path) -> set[tuple[Any, ...]]:
    with Store(db) as store:
        return set(
            store.con.execute(
                "SELECT o.url, o.fetched_at, o.status, o.via, o.record_offset, a.path FROM observations o "
                "JOIN archives a USING (archive_id)"
            ).fetchall()
        )


def _links(db: Path) -> set[tuple[Any, ...]]:
    with Store(db) as store:
        return set(
            store.con.execute(
                "SELECT source_url, target_url, anchor, first_seen, last_seen, lost_at, via FROM links"
            ).fetchall()
        )


def _records(files: list[str]) -> list[Any]:
    records = []
    for path in sorted(files):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                record.body = record.content_stream().read()
                record.path = path
                records.append(record)
    return records


@pytest.fixture(scope="module")
def twice(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One site crawled twice into the same directory and store; one page changed in between."""
    tmp = tmp_path_factory.mktemp("live")
    out, db = tmp / "warc", tmp / "crawl.duckdb"
    # Short waits: politeness is tests/test_crawl.py's; the first crawl (~1 s) still spans flushes.
    options = {"out": str(out), "db": str(db), "delay": 0.1, "flush_seconds": 0.2, "depth": 2}
    with HostWeb() as web:
        _site(web)
        first = crawl_in_subprocess([web.url(SITE)], [SITE], **options)
        web.html(SITE, CHANGING, "/", "/p0", "/new")
        web.html(SITE, "/new")
        second = crawl_in_subprocess([web.url(SITE)], [SITE], **options)
    return {"first": first, "second": second, "out": out, "db": db, "tmp": tmp}


def test_pages_reach_the_store_while_the_crawl_runs(twice: dict[str, Any]) -> None:
    first = twice["first"]
    assert first["ingest"]["pages"] == sum(first["statuses"].values()) and first["problems"] == []
    with Store(twice["db"]) as store:
        rows = store.con.execute(
            "SELECT a.started_at, max(o.fetched_at) FROM archives a JOIN observations o USING (archive_id) "
            "WHERE a.path = ? GROUP BY a.started_at",
            [first["warc_files"][0]],
        ).fetchall()
    # The file's archive row is made when its first batch is written: before its last page came.
    (started, last_fetch) = rows[0]
    assert started < last_fetch


def test_the_store_holds_what_ingesting_the_files_gives(twice: dict[str, Any]) -> None:
    files = twice["first"]["warc_files"] + twice["second"]["warc_files"]
    fresh = twice["tmp"] / "fresh.duckdb"
    with Store(fresh) as store:
        summary = ingest(files, store=store, workers=1)
    assert [f.status for f in summary.files] == ["ingested"] * len(files)
    live = _observations(twice["db"])
    assert live == _observations(fresh) and len(live) == sum(
        sum(run["statuses"].values()) for run in (twice["first"], twice["second"])
    )
    assert _links(twice["db"]) == _links(fresh)
    with Store(twice["db"]) as store:  # the crawl's own store: its files are already in
        again = ingest(files, store=store, workers=1)
    assert {f.status for f in again.files} == {"already_ingested"}


def test_unchanged_payloads_are_revisit_records(twice: dict[str, Any]) -> None:
    first, second = twice["first"], twice["second"]
    assert first["revisits"] == 0 and first["run"] == 1 and second["run"] == 2
    records = _records(first["warc_files"] + second["warc_files"])
    by_id = {r.rec_headers.get_header("WARC-Record-ID"): r for r in records}
    later = [r for r in records if r.path in second["warc_files"] and r.rec_type in ("response", "revisit")]
    revisits = [r for r in later if r.rec_type == "revisit"]
    changed = {r.rec_headers.get_header("WARC-Target-URI").split(":", 2)[-1].split("/", 1)[-1] for r in later
               if r.rec_type == "response"}  # fmt: skip
    # Every page but the changed one and the new one was the same: a revisit of run 1's record.
    assert changed == {CHANGING.lstrip("/"), "new"}
    assert len(revisits) == second["revisits"] == len(later) - 2
    for revisit in revisits:
        headers = revisit.rec_headers
        assert headers.get_header("WARC-Profile").endswith("/revisit/identical-payload-digest")
        original = by_id[headers.get_header("WARC-Refers-To")]
        assert original.rec_type == "response" and original.path in first["warc_files"]
        assert headers.get_header("WARC-Refers-To-Target-URI") == original.rec_headers.get_header("WARC-Target-URI")
        assert headers.get_header("WARC-Refers-To-Date") == original.rec_headers.get_header("WARC-Date")
        assert headers.get_header("WARC-Payload-Digest") == original.rec_headers.get_header("WARC-Payload-Digest")
        assert revisit.body == b"" and revisit.http_headers.get_statuscode() == "200"


def test_ingest_reads_a_revisit_as_the_page_it_repeats(twice: dict[str, Any]) -> None:
    with Store(twice["db"]) as store:
        seen = dict(
            store.con.execute(
                "SELECT o.url, count(*) FROM observations o WHERE o.url LIKE '%/p1' GROUP BY o.url"
            ).fetchall()
        )
        live_links = store.con.execute(
            "SELECT count(*) FROM links WHERE source_url LIKE '%/p1' AND lost_at IS NULL"
        ).fetchall()[0][0]
    assert list(seen.values()) == [2] and live_links == 3  # seen twice, its links still live
    # The second run's file alone (its revisits point into the first run's file, beside it).
    alone = twice["tmp"] / "second-only.duckdb"
    with Store(alone) as store:
        (summary,) = ingest(twice["second"]["warc_files"], store=store, workers=1).files
    assert summary.skipped.get("record/revisit_unresolved", 0) == 0
    assert summary.responses == sum(twice["second"]["statuses"].values())


def _kill_when(web: HostWeb, process: subprocess.Popen[str], pages: int) -> None:
    deadline = time.monotonic() + 60
    while len([r for r in web.log if r.path != "/robots.txt"]) < pages:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "the crawl did not get going"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def test_a_crawl_killed_with_kill_9_resumes_and_fetches_only_what_was_not_done(tmp_path: Path) -> None:
    out, db = tmp_path / "warc", tmp_path / "crawl.duckdb"
    chain = 30
    with HostWeb() as web:
        web.robots(SITE, "User-agent: *\nAllow: /\n")
        for n in range(chain):  # a chain: each page is found on the one before it
            web.html(SITE, f"/c{n}", f"/c{n + 1}" if n + 1 < chain else "/c0", f"/leaf{n}")
            web.html(SITE, f"/leaf{n}")
        args = {"seeds": [web.url(SITE, "/c0")], "resolve": {SITE: "127.0.0.1"}, "allow_private": True,
                "out": str(out), "db": str(db), "delay": 0.05, "depth": 100, "max_pages": 1000}  # fmt: skip
        with subprocess.Popen(
            [sys.executable, webkit.__file__, json.dumps(args)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True,
        ) as process:  # fmt: skip
            _kill_when(web, process, 15)
        before = Counter(r.path for r in web.log if r.path != "/robots.txt")
        assert 15 <= sum(before.values()) < 2 * chain + 1  # stopped midway
        same = {k: v for k, v in args.items() if k not in ("seeds", "resolve", "allow_private")}
        resumed = crawl_in_subprocess([], [SITE], resume=True, **same)
        pages = Counter(r.path for r in web.log if r.path != "/robots.txt")
    expected = {f"/c{n}" for n in range(chain)} | {f"/leaf{n}" for n in range(chain)}
    assert set(pages) == expected  # the union is complete
    twice_fetched = [path for path, n in pages.items() if n > 1]
    assert len(twice_fetched) <= 1 and all(pages[p] == 2 for p in twice_fetched)  # at most the one in flight
    assert resumed["resumed"] and resumed["run"] == 1
    assert resumed["pages"] == len(expected) - sum(before.values()) + len(twice_fetched)
    # Every response record of both runs is in the store, once: the killed run's tail caught up.
    files = sorted(str(p) for p in out.glob("*.warc.gz"))
    responses = [r for r in _records(files) if r.rec_type in ("response", "revisit")]
    with Store(db) as store:
        (stored,) = store.con.execute("SELECT count(*) FROM observations").fetchall()[0]
        urls = {u for (u,) in store.con.execute("SELECT url FROM pages").fetchall()}
        states = dict(
            store.con.execute(
                "SELECT state, count(*) FROM (SELECT arg_max(state, coalesce(done_at, added_at)) AS state "
                "FROM crawl_frontier WHERE state IS NOT NULL GROUP BY url HAVING max(depth) >= 0) GROUP BY state"
            ).fetchall()
        )
    assert stored == len(responses)
    assert {u.split(str(web.port), 1)[1] for u in urls} >= expected
    assert states == {"done": len(expected)}


def test_resume_with_nothing_to_resume_is_a_clear_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "LINKBACK_ALLOW_PRIVATE"}
    done = subprocess.run(
        [sys.executable, "-m", "linkback", "crawl", "--resume", "--out", str(tmp_path / "w"),
         "--db", str(tmp_path / "db.duckdb")],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "nothing to resume" in done.stderr


def test_render_follows_and_stores_the_links_scripts_insert(tmp_path: Path) -> None:
    from linkback.render import render_unavailable

    why = render_unavailable()
    if why:
        pytest.skip(why)
    out, db = tmp_path / "warc", tmp_path / "crawl.duckdb"
    script = (  # the link is made by the script: its href is nowhere in the raw HTML
        '<script>const a = document.createElement("a"); a.href = "/j" + "s"; a.textContent = "inserted";'
        ' document.getElementById("x").appendChild(a);</script>'
    )
    with HostWeb() as web:
        web.robots(SITE, "User-agent: *\nAllow: /\n")
        web.pages[SITE, "/"] = Page(f'<!doctype html><body><a href="/raw">raw</a><div id="x"></div>{script}</body>')
        web.html(SITE, "/raw")
        web.html(SITE, "/js", "/from-js")
        web.html(SITE, "/from-js")
        summary = crawl_in_subprocess(
            [web.url(SITE)], [SITE], timeout=120, out=str(out), db=str(db), delay=0.05, render=True
        )
        fetched = {r.path for r in web.log}
    assert {"/raw", "/js", "/from-js"} <= fetched  # the inserted link was followed
    assert summary["rendered"] == 4 and summary["render_failed"] == {}
    conversions = [r for r in _records(summary["warc_files"]) if r.rec_type == "conversion"]
    assert len(conversions) == 4 and b'href="/js"' in next(r.body for r in conversions if b"inserted" in r.body)
    raw = [r for r in _records(summary["warc_files"]) if r.rec_type == "response" and b"getElementById" in r.body]
    assert raw and b'href="/js"' not in raw[0].body  # the WARC keeps the raw response
    fresh = tmp_path / "fresh.duckdb"
    with Store(fresh) as store:
        ingest(summary["warc_files"], store=store, workers=1)
    query = "SELECT anchor FROM links WHERE target_url LIKE '%/js' AND lost_at IS NULL"
    for path in (db, fresh):
        with Store(path) as store:
            assert store.con.execute(query).fetchall() == [("inserted",)]
    assert _links(db) == _links(fresh)
