"""Why a crawl's URL ended without a page: the frontier keeps the reason (``crawl_frontier.reason``),
the summary counts the URLs by reason and lists them, and it counts the pages its hosts'
unreadable robots.txt kept from being fetched (``robots_unavailable``, RFC 9309 §2.3.1.4) beside
those robots.txt disallowed.

Crawls run in subprocesses (the reactor runs once per process) against one loopback server
answering for several names (tests/webkit.py); the CLI's faces run as `linkback crawl`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from twisted.internet.error import DNSLookupError
from twisted.python.failure import Failure
from webkit import HostWeb, Page, crawl_in_subprocess

from linkback import schema
from linkback.crawl._frontier import Frontier, unfetched
from linkback.crawl._reasons import NotFetched, failure_reason
from linkback.store import Store

WWW, DOWN = "www.site.test", "down.site.test"
TOO_BIG = 10 * 2**20 + 1  # one byte over the crawl's cap on a response (DEFAULT_MAX_BYTES)


def _redirect(location: str) -> Page:
    return Page("", 302, {"Location": location, "Content-Type": "text/plain"})


def _site(web: HostWeb) -> None:
    web.robots(WWW, "User-agent: *\nDisallow: /private\n")
    web.html(WWW, "/", "/a", "/private/x", "/loop", "/old", "/big", web.url(DOWN, "/"))
    web.html(WWW, "/a")
    web.pages[WWW, "/loop"] = _redirect("/loop")
    web.pages[WWW, "/old"] = _redirect("/")  # fetched already: the hop is dropped as a duplicate
    web.pages[WWW, "/big"] = Page(b"x" * TOO_BIG, 200, {"Content-Type": "text/plain"})
    web.pages[DOWN, "/robots.txt"] = Page("down", 503, {"Content-Type": "text/plain"})
    web.html(DOWN, "/")


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> tuple[HostWeb, dict[str, Any], Path]:
    tmp = tmp_path_factory.mktemp("unfetched")
    db = tmp / "crawl.duckdb"
    with HostWeb() as web:
        _site(web)
        summary = crawl_in_subprocess(
            [web.url(WWW)], [WWW, DOWN], out=str(tmp / "warc"), db=str(db), delay=0, depth=1, flush_seconds=0.2
        )
    return web, summary, db


def _reasons(db: Path) -> dict[str, str | None]:
    """Each URL's newest reason in the frontier (robots.txt, archived but never queued, left out)."""
    with Store(db) as store:
        rows = store.con.execute(
            "SELECT url, arg_max_null(reason, coalesce(done_at, added_at)) FROM crawl_frontier "
            "WHERE state IS NOT NULL GROUP BY url HAVING max(depth) >= 0"
        ).fetchall()
    return dict(rows)


def test_the_frontier_keeps_why_each_url_ended_without_a_page(crawled: tuple[HostWeb, dict[str, Any], Path]) -> None:
    web, _, db = crawled
    assert _reasons(db) == {
        web.url(WWW, "/"): None,
        web.url(WWW, "/a"): None,
        web.url(WWW, "/private/x"): "robots_denied",
        web.url(WWW, "/loop"): "redirect-loop",
        web.url(WWW, "/old"): "duplicate",
        web.url(WWW, "/big"): "too-big",
        web.url(DOWN, "/"): "robots_unavailable",
    }
    assert [r.path for r in web.requests_to(DOWN)] == ["/robots.txt"] * 3  # retried, never the page


def test_the_summary_counts_and_lists_the_urls_not_fetched(crawled: tuple[HostWeb, dict[str, Any], Path]) -> None:
    web, summary, _ = crawled
    assert summary["robots_denied"] == 1 and summary["robots_unavailable"] == 1
    assert summary["unfetched"] == {
        "duplicate": 1, "redirect-loop": 1, "robots_denied": 1, "robots_unavailable": 1, "too-big": 1,
    }  # fmt: skip
    assert summary["unfetched_urls"] == [
        {"url": web.url(WWW, "/old"), "state": "done", "reason": "duplicate"},
        {"url": web.url(WWW, "/loop"), "state": "failed", "reason": "redirect-loop"},
        {"url": web.url(WWW, "/private/x"), "state": "failed", "reason": "robots_denied"},
        {"url": web.url(DOWN, "/"), "state": "failed", "reason": "robots_unavailable"},
        {"url": web.url(WWW, "/big"), "state": "failed", "reason": "too-big"},
    ]
    assert summary["errors"] == {"redirect-loop": 1, "too-big": 1}
    assert summary["pages"] == 2


def _cli_crawl(web: HostWeb, tmp_path: Path, output: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}  # a wide terminal: the table still keeps to 80 columns
    return subprocess.run(
        [sys.executable, "-m", "linkback", "crawl", web.url("127.0.0.1"), "--allow-private", "--delay", "0",
         "--out", str(tmp_path / output), "--db", str(tmp_path / f"{output}.duckdb"), "--format", output],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip


def test_the_cli_shows_pages_kept_back_by_an_unreadable_robots_txt(tmp_path: Path) -> None:
    with HostWeb() as web:
        web.html("127.0.0.1", "/")
        web.pages["127.0.0.1", "/robots.txt"] = Page("busy", 429, {"Content-Type": "text/plain"})
        table, as_json = _cli_crawl(web, tmp_path, "table"), _cli_crawl(web, tmp_path, "json")
    assert table.returncode == 1 and as_json.returncode == 1, table.stderr  # no page fetched
    lines = [line.rstrip() for line in table.stdout.splitlines()]
    assert max(len(line) for line in lines) <= 80, table.stdout
    assert any(line.startswith("robots.txt unavailable") and " 1 (5xx, 429" in line for line in lines), table.stdout
    assert any(line.startswith("robots.txt denied") and line.endswith(" 0") for line in lines), table.stdout
    assert any(line.startswith("not fetched") and "robots_unavailable: 1" in line for line in lines), table.stdout
    summary = json.loads(as_json.stdout)
    assert summary["robots_unavailable"] == 1 and summary["unfetched"] == {"robots_unavailable": 1}
    assert summary["unfetched_urls"] == [
        {"url": web.url("127.0.0.1"), "state": "failed", "reason": "robots_unavailable"}
    ]


def test_the_crawl_job_summary_has_them_too(tmp_path: Path) -> None:
    from linkback.jobs import crawl

    with HostWeb() as web, Store(tmp_path / "job.duckdb") as store:
        web.html("127.0.0.1", "/")
        web.pages["127.0.0.1", "/robots.txt"] = Page("down", 500, {"Content-Type": "text/plain"})
        result = crawl(store, seeds=[web.url("127.0.0.1")], out=str(tmp_path / "warc"), allow_private=True, delay=0)
    assert result["robots_unavailable"] == 1 and result["unfetched"] == {"robots_unavailable": 1}


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (NotFetched("refused/port", "refused by the SSRF guard: port: port 22 is not allowed"), "refused/port"),
        (IgnoreRequest("max redirections reached"), "redirect-limit"),
        (IgnoreRequest("something else"), "ignored"),
        (DNSLookupError("a.test is 10.0.0.1, a private address: refused by the SSRF guard"), "refused/resolver"),
        (DownloadCancelledError(""), "too-big"),
        (TimeoutError("took too long"), "TimeoutError"),
    ],
)
def test_failure_reasons(exc: Exception, reason: str) -> None:
    assert failure_reason(Failure(exc)) == reason


def test_the_newest_row_says_why_a_url_ended(tmp_path: Path) -> None:
    with Store(tmp_path / "f.duckdb") as store:
        frontier = Frontier(store, "crawl-a")
        frontier.start(["https://a.test/", "https://a.test/b", "https://a.test/c"])
        frontier.commit(done=[("https://a.test/", "done", None), ("https://a.test/b", "failed", "TimeoutError")])
        # Ended again without a reason (a redirect's target archived later): the NULL is the newest row's.
        frontier.commit(done=[("https://a.test/c", "failed", "too-big")])
        frontier.commit(done=[("https://a.test/c", "done", None)])
        assert unfetched(store, "crawl-a", 1) == [("https://a.test/b", "failed", "TimeoutError")]
        assert unfetched(store, "crawl-a", 2) == [] and unfetched(store, "other", 1) == []


def _as_version_11(path: Path) -> None:
    """Make ``path`` a store of schema version 11: its crawl_frontier without ``reason``, with a
    stopped run (one URL failed, one still queued) written before the column existed."""
    con = duckdb.connect(str(path))
    con.execute("ALTER TABLE crawl_frontier DROP COLUMN reason")
    con.execute(
        "INSERT INTO crawl_frontier (crawl_id, url, depth, state, added_at, done_at, run) VALUES "
        "('old', 'https://a.test/', 0, 'queued', TIMESTAMPTZ '2026-01-01 00:00:00+00', NULL, 1), "
        "('old', 'https://a.test/x', 1, 'queued', TIMESTAMPTZ '2026-01-01 00:00:01+00', NULL, 1), "
        "('old', 'https://a.test/', NULL, 'failed', NULL, TIMESTAMPTZ '2026-01-01 00:00:02+00', 1)"
    )
    con.execute("UPDATE meta SET value = '11' WHERE key = 'schema_version'")
    con.close()


def test_a_frontier_made_before_the_reason_column_opens_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "v11.duckdb"
    Store(path).close()
    _as_version_11(path)
    with Store(path) as store:
        assert store.schema_version == schema.SCHEMA_VERSION
        columns = [name for (name,) in store.con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'crawl_frontier' ORDER BY column_index"
        ).fetchall()]  # fmt: skip
        assert columns == schema.column_names("crawl_frontier")
        frontier = Frontier(store, "old")
        start = frontier.start([])
        assert (start.run, start.resumed, start.queued) == (1, True, [("https://a.test/x", 1)])
        assert unfetched(store, "old", 1) == []  # the old failure has no reason: not made up
        frontier.commit(done=[("https://a.test/x", "failed", "robots_denied")])
        assert unfetched(store, "old", 1) == [("https://a.test/x", "failed", "robots_denied")]


def test_every_reason_gets_places_in_the_list_however_many_one_has() -> None:
    from linkback.crawl._run import UNFETCHED_LISTED, CrawlSummary

    ended = [(f"http://a.example/{i}", "done", "robots_denied") for i in range(5965)]
    ended += [("http://a.example/big", "failed", "too-big"), ("http://b.example/", "failed", "robots_unavailable")]
    ended.sort(key=lambda e: (e[2], e[0]))  # as the frontier gives them
    summary = CrawlSummary()
    summary.note_unfetched(ended)
    assert summary.unfetched == {"robots_denied": 5965, "too-big": 1, "robots_unavailable": 1}
    listed = summary.unfetched_urls
    assert len(listed) == UNFETCHED_LISTED
    assert {u["reason"] for u in listed} == {"robots_denied", "too-big", "robots_unavailable"}
    assert [u["reason"] for u in listed] == sorted(u["reason"] for u in listed)  # still in the frontier's order
