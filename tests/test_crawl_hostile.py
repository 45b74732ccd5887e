"""What a hostile site does to a crawl: a link too long to fetch, a decompression bomb.

Each URL the crawl queues must end (done or failed, with its reason), or the frontier holds a
run that never finishes and every later crawl of the directory "resumes" it and fetches nothing.
Crawls run in subprocesses against one loopback server (tests/webkit.py).
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

from webkit import HostWeb, Page, crawl_in_subprocess

from linkback.crawl._frontier import Frontier
from linkback.store import Store

WWW = "www.site.test"
LONG_PATH = "/x/" + "a" * 3000  # past Scrapy's URLLENGTH_LIMIT (2,083)
CAP = 10 * 2**20  # the crawl's cap on a response (DEFAULT_MAX_BYTES)


def _states(db: Path, run: int) -> dict[str, tuple[str, str | None]]:
    """Each URL of ``run`` the spider queued: its newest state and reason."""
    with Store(db) as store:
        rows = store.con.execute(
            "SELECT url, arg_max(state, coalesce(done_at, added_at)), arg_max_null(reason, coalesce(done_at, added_at)) "
            "FROM crawl_frontier WHERE run = ? AND state IS NOT NULL GROUP BY url HAVING max(depth) >= 0",
            [run],
        ).fetchall()
    return {url: (state, reason) for url, state, reason in rows}


def _next_run(db: Path, out: Path, seed: str) -> tuple[int, bool]:
    """The run the next crawl of ``out`` would be, and whether it would resume one."""
    with Store(db) as store:
        start = Frontier(store, str(out.resolve())).start([seed])
    return start.run, start.resumed


def _crawl(web: HostWeb, tmp_path: Path) -> dict[str, Any]:
    return crawl_in_subprocess(
        [web.url(WWW)], [WWW], out=str(tmp_path / "warc"), db=str(tmp_path / "crawl.duckdb"), delay=0, depth=1,
        flush_seconds=0.2,
    )  # fmt: skip


def test_a_link_too_long_to_fetch_fails_and_the_next_crawl_starts_a_new_run(tmp_path: Path) -> None:
    with HostWeb() as web:
        web.html(WWW, "/", LONG_PATH, "/ok")
        web.html(WWW, "/ok")
        first = _crawl(web, tmp_path)
    assert (first["run"], first["pages"], first["errors"]) == (1, 2, {"url-too-long": 1})
    assert first["unfetched_urls"] == [{"url": web.url(WWW, LONG_PATH), "state": "failed", "reason": "url-too-long"}]
    assert _states(tmp_path / "crawl.duckdb", 1)[web.url(WWW, LONG_PATH)] == ("failed", "url-too-long")
    assert _next_run(tmp_path / "crawl.duckdb", tmp_path / "warc", web.url(WWW)) == (2, False)
    assert LONG_PATH not in [hit.path for hit in web.log]


def test_a_long_url_left_queued_by_an_older_crawl_ends_when_resumed(tmp_path: Path) -> None:
    db, out = tmp_path / "crawl.duckdb", tmp_path / "warc"
    with HostWeb() as web:
        web.html(WWW, "/", LONG_PATH)
        with Store(db) as store:  # what a crawl before the length check left: the long link queued
            frontier = Frontier(store, str(out.resolve()))
            frontier.start([web.url(WWW)])
            frontier.commit(queued=[(web.url(WWW, LONG_PATH), 1)], done=[(web.url(WWW), "done", None)])
        resumed = _crawl(web, tmp_path)
    assert (resumed["run"], resumed["resumed"], resumed["unfetched"]) == (1, True, {"url-too-long": 1})
    assert _next_run(db, out, web.url(WWW)) == (2, False)


def test_a_decompression_bomb_is_a_page_cut_at_the_cap(tmp_path: Path) -> None:
    html = b'<!doctype html><html><body><a href="/after">on</a>' + b" " * (CAP + 1) + b"</body></html>"
    with HostWeb() as web:
        web.html(WWW, "/", "/bomb")
        web.pages[WWW, "/bomb"] = Page(
            gzip.compress(html), 200, {"Content-Type": "text/html", "Content-Encoding": "gzip"}
        )
        web.html(WWW, "/after")
        summary = crawl_in_subprocess(
            [web.url(WWW)], [WWW], out=str(tmp_path / "warc"), db=str(tmp_path / "crawl.duckdb"), delay=0, depth=2,
            flush_seconds=0.2,
        )  # fmt: skip
    assert summary["errors"] == {"too-big": 1} and summary["unfetched"] == {"too-big": 1}
    assert summary["pages"] == 3  # the cut page is a page, and its links up to the cut are followed
    assert _states(tmp_path / "crawl.duckdb", 1) == {
        web.url(WWW): ("done", None),
        web.url(WWW, "/bomb"): ("done", "too-big"),
        web.url(WWW, "/after"): ("done", None),
    }
    with Store(tmp_path / "crawl.duckdb") as store:
        stored = store.con.execute("SELECT count(*) FROM pages WHERE url = ?", [web.url(WWW, "/bomb")]).fetchone()
    assert stored == (1,)
