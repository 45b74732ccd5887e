"""A redirect loop or a long redirect chain does not hold the crawl up: the page whose redirect
hop is dropped (Scrapy's duplicate filter) or given up (too many redirects) is ended in the
frontier, and no request waits for a page whose next hop is queued behind it on the same host
(:meth:`linkback.crawl._live.CrawlContext.settled`).

Crawls run in subprocesses against one loopback server (tests/webkit.py), the store on disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from webkit import HostWeb, Page, crawl_in_subprocess

from linkback.store import Store

SITE = "www.site.test"
PAGES = 10


def _redirect(location: str) -> Page:
    return Page("", 302, {"Location": location, "Content-Type": "text/plain"})


def _crawl(tmp_path: Path, web: HostWeb, extra: str) -> tuple[dict[str, Any], float, dict[str, str]]:
    web.robots(SITE, "User-agent: *\nAllow: /\n")
    web.html(SITE, "/home2", *(f"/p/{n}" for n in range(PAGES)), extra)
    for n in range(PAGES):
        web.html(SITE, f"/p/{n}")
    db = tmp_path / "crawl.duckdb"
    summary = crawl_in_subprocess(
        [web.url(SITE, "/home2")], [SITE], out=str(tmp_path / "warc"), db=str(db), delay=0.0, depth=1,
        scope="hosts", flush_seconds=0.2,
    )  # fmt: skip
    # From the first request to the last: a stall (SETTLE_SECONDS) is 10 s; the process's start is not counted.
    took = web.log[-1].at - web.log[0].at
    with Store(db) as store:
        states = dict(
            store.con.execute(
                "SELECT url, arg_max(state, coalesce(done_at, added_at)) FROM crawl_frontier "
                "WHERE state IS NOT NULL GROUP BY url"
            ).fetchall()
        )
    return summary, took, states


def _pages_done(web: HostWeb, states: dict[str, str]) -> None:
    for n in range(PAGES):
        assert states[web.url(SITE, f"/p/{n}")] == "done"
    assert states[web.url(SITE, "/home2")] == "done"
    assert "queued" not in states.values(), states


def test_a_self_redirect_does_not_stall_the_crawl(tmp_path: Path) -> None:
    with HostWeb() as web:
        web.pages[SITE, "/loop"] = _redirect("/loop")
        summary, took, states = _crawl(tmp_path, web, "/loop")
    _pages_done(web, states)
    assert states[web.url(SITE, "/loop")] == "failed"
    assert summary["errors"].get("redirect-loop") == 1, summary["errors"]
    assert summary["pages"] == PAGES + 1
    assert took < 5, f"the crawl took {took:.1f} s"


@pytest.mark.parametrize("hops", [15, 5])
def test_a_long_redirect_chain_does_not_stall_the_crawl(tmp_path: Path, hops: int) -> None:
    with HostWeb() as web:
        for n in range(hops):
            web.pages[SITE, f"/chain/{n}"] = _redirect(f"/chain/{n + 1}")
        web.html(SITE, f"/chain/{hops}")
        summary, took, states = _crawl(tmp_path, web, "/chain/0")
    _pages_done(web, states)
    if hops > 10:  # past REDIRECT_MAX_TIMES: given up
        assert states[web.url(SITE, "/chain/0")] == "failed"
        assert summary["errors"].get("redirect-limit") == 1, summary["errors"]
    else:
        assert states[web.url(SITE, "/chain/0")] == "done"
        assert states[web.url(SITE, f"/chain/{hops}")] == "done"
    assert took < 5, f"the crawl took {took:.1f} s"


def test_a_redirect_to_a_page_already_crawled_ends_its_page(tmp_path: Path) -> None:
    with HostWeb() as web:
        web.pages[SITE, "/old"] = _redirect("/home2")
        summary, took, states = _crawl(tmp_path, web, "/old")
    _pages_done(web, states)
    assert states[web.url(SITE, "/old")] == "done"
    assert took < 5, f"the crawl took {took:.1f} s"
