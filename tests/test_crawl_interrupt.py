"""Ctrl-C stops a crawl at once (exit 130), and a resume sends what it had queued.

Scrapy's own first signal lets the requests queued in its download slots go out first, each
after the host's Crawl-delay: a tester saw 316 s and ten more requests after a Ctrl-C. A real
`linkback crawl` subprocess against a site on 127.0.0.1 whose robots.txt asks for 10 s between
requests.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest

PAGES = 6


class _Site(BaseHTTPRequestHandler):
    delay = 10
    paths: list[str] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).paths.append(self.path)
        if self.path == "/robots.txt":
            body, kind = f"User-agent: *\nCrawl-delay: {type(self).delay}\n".encode(), "text/plain"
        elif self.path == "/":
            links = "".join(f'<a href="/p/{i}">p{i}</a>' for i in range(PAGES))
            body, kind = f"<html><body>{links}</body></html>".encode(), "text/html"
        else:
            body, kind = b"<html><body>a page</body></html>", "text/html"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def site():
    _Site.paths = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def _crawl(url: str, tmp: Path, *more: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "linkback.cli", "crawl", url, "--allow-private", "--out", str(tmp / "out"),
           "--db", str(tmp / "crawl.duckdb"), "--delay", "0", "--depth", "1", "--max-pages", "20", *more]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _ended(tmp: Path) -> set[str]:
    """The pages the frontier (a log of events) has ended, done or failed."""
    with duckdb.connect(str(tmp / "crawl.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT url FROM crawl_frontier WHERE state IN ('done', 'failed')").fetchall()
    return {url.split("/", 3)[3] for (url,) in rows}


def test_ctrl_c_stops_the_crawl_at_once_and_a_resume_sends_the_rest(site: str, tmp_path: Path) -> None:
    _Site.delay = 10
    crawl = _crawl(site, tmp_path)
    deadline = time.monotonic() + 60
    while "/" not in _Site.paths and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)  # the home page's links are queued, each 10 s after the last
    asked = len(_Site.paths)
    sent = time.monotonic()
    crawl.send_signal(signal.SIGINT)
    _out, err = crawl.communicate(timeout=60)
    took = time.monotonic() - sent
    assert crawl.returncode == 130, err
    assert took < 8, f"{took:.1f} s: the queued requests went out before it stopped"
    assert len(_Site.paths) <= asked + 1  # at most the one already on its way
    pages = {f"p/{i}" for i in range(PAGES)}
    assert len(pages - _ended(tmp_path)) >= PAGES - 1  # left queued, not failed

    _Site.delay = 0  # the resume, without the wait
    resumed = _crawl(site, tmp_path, "--resume")
    _out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert {f"/p/{i}" for i in range(PAGES)} <= set(_Site.paths)
    assert pages <= _ended(tmp_path)
