"""An unreadable robots.txt is not "allow everything" (RFC 9309): a 5xx robots.txt disallows
its host (each page so kept back counted, ``robots_unavailable``), a 4xx one allows it, and a
robots.txt over 500 KiB is cut and parsed, not dropped: only its first 500 KiB apply."""

from __future__ import annotations

from pathlib import Path

from serverkit import Page
from webkit import HostWeb, crawl_in_subprocess

from linkback.crawl._robots import ROBOTS_MAX_BYTES, robots_body
from linkback.crawl._run import crawl_settings

SITE = "site.test"


def _site(web: HostWeb) -> None:
    web.html(SITE, "/", "/a", "/x/a")
    web.html(SITE, "/a")
    web.html(SITE, "/x/a")


def _pages(web: HostWeb) -> list[str]:
    return [r.path for r in web.requests_to(SITE) if r.path != "/robots.txt"]


def test_robots_500_disallows_the_host(tmp_path: Path) -> None:
    with HostWeb() as web:
        _site(web)
        web.pages[SITE, "/robots.txt"] = Page("down", 500, {"Content-Type": "text/plain"})
        summary = crawl_in_subprocess([web.url(SITE)], [SITE], out=str(tmp_path), delay=0)
    assert "/robots.txt" in [r.path for r in web.requests_to(SITE)]
    assert _pages(web) == [] and summary["pages"] == 0
    assert summary["statuses"].get("500", 0) >= 1 and summary["robots_denied"] == 0
    assert summary["robots_unavailable"] == 1 and summary["unfetched"] == {"robots_unavailable": 1}


def test_robots_404_allows_everything(tmp_path: Path) -> None:
    with HostWeb() as web:
        _site(web)
        web.pages[SITE, "/robots.txt"] = Page("no", 404, {"Content-Type": "text/plain"})
        summary = crawl_in_subprocess([web.url(SITE)], [SITE], out=str(tmp_path), delay=0)
    assert sorted(_pages(web)) == ["/", "/a", "/x/a"] and summary["pages"] == 3


def test_a_big_robots_txt_is_cut_and_parsed(tmp_path: Path) -> None:
    filler = "# " + "f" * 97 + "\n"
    body = "User-agent: *\nDisallow: /x/\n" + filler * (2**20 // len(filler))
    with HostWeb() as web:
        _site(web)
        web.robots(SITE, body)
        summary = crawl_in_subprocess([web.url(SITE)], [SITE], out=str(tmp_path), delay=0)
    assert sorted(_pages(web)) == ["/", "/a"] and summary["robots_denied"] == 1


def test_a_rule_after_the_first_500_kib_does_not_apply(tmp_path: Path) -> None:
    filler = "# " + "f" * 97 + "\n"
    body = "User-agent: *\n" + filler * (ROBOTS_MAX_BYTES // len(filler) + 1) + "Disallow: /x/\n"
    with HostWeb() as web:
        _site(web)
        web.robots(SITE, body)
        summary = crawl_in_subprocess([web.url(SITE)], [SITE], out=str(tmp_path), delay=0)
    assert sorted(_pages(web)) == ["/", "/a", "/x/a"] and summary["robots_denied"] == 0


def test_a_robots_txt_over_the_response_cap_is_still_read(tmp_path: Path) -> None:
    # The crawl's per-response cap would drop it whole; it is cut at 500 KiB instead.
    body = "User-agent: *\nDisallow: /x/\n" + "# filler\n" * (12 * 2**20 // 9)
    with HostWeb() as web:
        _site(web)
        web.robots(SITE, body)
        summary = crawl_in_subprocess([web.url(SITE)], [SITE], out=str(tmp_path), delay=0)
    assert sorted(_pages(web)) == ["/", "/a"] and summary["robots_denied"] == 1


def test_robots_body_is_cut_at_a_line() -> None:
    body = b"Disallow: /a\n" * 100_000
    cut = robots_body(body)
    assert len(cut) <= ROBOTS_MAX_BYTES and cut.endswith(b"\n") and len(cut) > ROBOTS_MAX_BYTES - 20


def test_the_crawl_uses_our_middleware(tmp_path: Path) -> None:
    settings = crawl_settings(out=tmp_path, delay=0, agent="a", allow_private=False, warc_max_bytes=1)
    mws = settings["DOWNLOADER_MIDDLEWARES"]
    assert mws["scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"] is None
    assert mws["linkback.crawl._robots.RobotsMiddleware"] == 100
