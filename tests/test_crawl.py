"""``linkback crawl``: a polite, guarded Scrapy crawl into WARC files, ingested like any archive.

Two crawls run in subprocesses (the Twisted reactor runs once per process) against one
loopback server answering for several host names; a third is the CLI, unrelaxed, refusing a
loopback seed. Times come from the server's request log: only lower bounds are asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator
from webkit import HostWeb, Page, Request, crawl_in_subprocess

from linkback.crawl import Scope
from linkback.crawl._politeness import held_delay, retry_after_seconds
from linkback.extract import extract
from linkback.jobs import ingest_files
from linkback.records import FetchedPage
from linkback.store import Store
from linkback.urls import normalize

WWW, BLOG, OTHER = "www.site.test", "blog.site.test", "other.test"
CRAWL_DELAY = 1.0


def _retry_once(hit: Request, seen: list[Request] = []) -> Page:  # noqa: B006 - state of one server
    seen.append(hit)
    if len(seen) == 1:
        return Page("busy", 429, {"Content-Type": "text/plain", "Retry-After": "1"})
    return Page('<!doctype html><p><a href="/b1">b1</a>', 200, {"Content-Type": "text/html"})


def _web(web: HostWeb) -> None:
    web.robots(WWW, f"User-agent: *\nDisallow: /private\nCrawl-delay: {CRAWL_DELAY:g}\n")
    web.html(WWW, "/", "/p1", "/private/x", web.url(BLOG, "/"), web.url(OTHER, "/"))
    web.html(WWW, "/p1", "/p2?q=1&r=2", "/deep1")
    web.html(WWW, "/p2?q=1&r=2", "/")
    web.html(WWW, "/deep1", "/deep2")
    web.html(WWW, "/deep2", "/deep3")
    web.html(WWW, "/deep3")
    web.pages[BLOG, "/"] = _retry_once
    web.html(BLOG, "/b1", web.url(WWW, "/"))
    web.html(OTHER, "/")


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> tuple[HostWeb, dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("crawl")
    with HostWeb() as web:
        _web(web)
        summary = crawl_in_subprocess(
            [web.url(WWW)], [WWW, BLOG, OTHER], out=str(out), scope="site", depth=2, delay=0.2, warc_max_bytes=1500
        )
    return web, summary, out


def _paths(requests: list[Request]) -> list[str]:
    return [r.path for r in requests]


def _gaps(requests: list[Request]) -> list[float]:
    return [b.at - a.at for a, b in zip(requests, requests[1:])]


def test_robots_disallow_and_crawl_delay_are_obeyed(crawled: tuple[HostWeb, dict[str, Any], Path]) -> None:
    web, summary, _ = crawled
    www = web.requests_to(WWW)
    assert _paths(www)[0] == "/robots.txt"
    assert "/private/x" not in _paths(www) and summary["robots_denied"] == 1
    assert summary["crawl_delays"] == {WWW: CRAWL_DELAY}
    assert len(www) >= 5 and min(_gaps(www)) >= CRAWL_DELAY - 0.05, _gaps(www)
    assert all(r.user_agent.startswith("linkback/") for r in web.log)


def test_retry_after_is_waited_for(crawled: tuple[HostWeb, dict[str, Any], Path]) -> None:
    web, summary, _ = crawled
    home = [r for r in web.requests_to(BLOG) if r.path == "/"]
    assert len(home) == 2 and home[1].at - home[0].at >= 0.95
    assert summary["retry_after_waits"] == 1


def test_scope_site_and_depth(crawled: tuple[HostWeb, dict[str, Any], Path]) -> None:
    web, summary, _ = crawled
    assert web.requests_to(OTHER) == []  # another site
    assert "/b1" in _paths(web.requests_to(BLOG))  # the same site, another host
    www = _paths(web.requests_to(WWW))
    assert "/deep1" in www and "/deep2" not in www  # depth 2: seed → /p1 → /deep1
    assert www.count("/") == 1  # each URL once
    assert summary["pages"] == len([r for r in web.log if r.path != "/robots.txt"]) - 1  # the 429 was retried


def _records(paths: list[str]) -> list[Any]:
    records = []
    for path in paths:
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                record.body = record.content_stream().read()
                records.append(record)
    return records


def test_warc_pairs_request_and_response(crawled: tuple[HostWeb, dict[str, Any], Path]) -> None:
    _, summary, out = crawled
    files = summary["warc_files"]
    assert len(files) > 1 and sorted(str(p) for p in out.iterdir()) == sorted(files)  # rotated
    assert all(os.stat(f).st_mode & 0o077 == 0 for f in files)
    records = _records(files)
    by_id = {r.rec_headers.get_header("WARC-Record-ID"): r for r in records}
    responses = [r for r in records if r.rec_type == "response"]
    assert len(responses) == sum(summary["statuses"].values())
    for response in responses:
        request = by_id[response.rec_headers.get_header("WARC-Concurrent-To")]
        assert request.rec_type == "request"
        assert request.rec_headers.get_header("WARC-Concurrent-To") == response.rec_headers.get_header("WARC-Record-ID")
        assert request.rec_headers.get_header("WARC-Target-URI") == response.rec_headers.get_header("WARC-Target-URI")
        assert response.rec_headers.get_header("WARC-IP-Address") == "127.0.0.1"
    queried = [r for r in records if r.rec_type == "request" and "?q=1" in r.rec_headers.get_header("WARC-Target-URI")]
    assert queried and queried[0].http_headers.statusline.endswith("/p2?q=1&r=2 HTTP/1.1")
    statuses = Counter(r.http_headers.get_statuscode() for r in responses)
    assert statuses == summary["statuses"] and statuses["429"] == 1  # each hop and retry its own pair


def test_ingest_of_the_warc_gives_the_links_extract_gives(
    crawled: tuple[HostWeb, dict[str, Any], Path], tmp_path: Path
) -> None:
    web, summary, _ = crawled
    with Store(str(tmp_path / "crawl.duckdb")) as store:
        result = ingest_files(store, paths=summary["warc_files"])
        stored = set(store.con.execute("SELECT source_url, target_url, anchor FROM links").fetchall())
        # The files say linkback's crawler wrote them (their warcinfo): the pages came via crawl.
        vias = store.con.execute(
            "SELECT DISTINCT via FROM observations UNION SELECT DISTINCT via FROM links"
        ).fetchall()
    assert vias == [("crawl",)]
    assert [f["status"] for f in result["files"]] == ["ingested"] * len(summary["warc_files"])
    expected = set()
    for request in web.log:
        page = web.pages.get((request.host, request.path))
        if request.path == "/robots.txt" or not isinstance(page, Page):
            continue
        fetched = FetchedPage(
            url=web.url(request.host, request.path),
            status=page.status,
            headers=tuple(page.headers.items()),
            body=page.body.encode() if isinstance(page.body, str) else page.body,
            fetched_at=datetime.now(UTC),
        )
        _facts, links = extract(fetched)
        expected |= {(normalize(fetched.url), link.target_url, link.anchor) for link in links}
    expected |= {(normalize(web.url(BLOG, "/")), normalize(web.url(BLOG, "/b1")), "b1")}
    assert stored == expected and len(stored) >= 10


def test_max_pages_and_scope_hosts(tmp_path: Path) -> None:
    with HostWeb() as web:
        _web(web)
        web.robots(WWW, "User-agent: *\nAllow: /\n")  # the budget counts what robots.txt denies
        summary = crawl_in_subprocess(
            [web.url(WWW)], [WWW, BLOG, OTHER], out=str(tmp_path), scope="hosts", max_pages=3, delay=0.1
        )
    assert summary["pages"] == 3
    assert {r.host for r in web.log} == {WWW}
    assert len([r for r in web.log if r.path != "/robots.txt"]) == 3


def test_a_private_seed_is_refused_and_recorded(tmp_path: Path) -> None:
    with HostWeb() as web:
        web.html("127.0.0.1", "/")
        env = {k: v for k, v in os.environ.items() if k != "LINKBACK_ALLOW_PRIVATE"}
        done = subprocess.run(
            [sys.executable, "-m", "linkback", "crawl", web.url("127.0.0.1"), "--out", str(tmp_path / "w"),
             "--db", str(tmp_path / "db.duckdb"), "--format", "json"],
            capture_output=True, text=True, env=env, timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 1 and web.log == []
    summary = json.loads(done.stdout)
    assert summary["refused"] == {"port": 1}  # a loopback server's port is refused first
    assert summary["unfetched_urls"] == [{"url": web.url("127.0.0.1"), "state": "failed", "reason": "refused/port"}]
    assert summary["refused_hosts"][0]["url"] == web.url("127.0.0.1")
    assert summary["warc_files"] == [] and summary["pages"] == 0


def test_scope_rules() -> None:
    seeds = ["https://www.example.com/a"]
    assert Scope.of(seeds, "site").allows("https://blog.example.com/")
    assert not Scope.of(seeds, "hosts").allows("https://blog.example.com/")
    assert not Scope.of(seeds, "list").allows("https://www.example.com/b")
    assert not Scope.of(seeds, "site").allows("ftp://www.example.com/")


@pytest.mark.parametrize(
    ("adaptive", "crawl_delay", "retry_wait", "held"),
    [
        (1.0, 0.0, 0.0, (1.0, False)),
        (1.0, 5.0, 0.0, (5.0, True)),
        (6.0, 5.0, 0.0, (6.0, False)),
        (1.0, 2.0, 9.0, (9.0, True)),
    ],
)
def test_held_delay(adaptive: float, crawl_delay: float, retry_wait: float, held: tuple[float, bool]) -> None:
    assert held_delay(adaptive, crawl_delay, retry_wait) == held


def test_retry_after_forms() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert retry_after_seconds("5", now, 60) == 5.0
    assert retry_after_seconds("Thu, 01 Jan 2026 00:00:10 GMT", now, 60) == 10.0
    assert retry_after_seconds("Wed, 31 Dec 2025 00:00:10 GMT", now, 60) == 0.0
    assert retry_after_seconds("99999", now, 60) == 60.0
    assert retry_after_seconds("later", now, 60) is None
