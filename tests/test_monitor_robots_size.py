"""The monitor reads robots.txt as the crawler does (RFC 9309 §2.5, :mod:`linkback.robotstxt`): its
first 500 KiB apply, cut at the last whole line, and no more of it is downloaded, whatever the
monitor's cap for pages — a robots.txt larger than that cap is read, not "unavailable".

One loopback server answers for every ``*.test`` name (tests/webkit.py); the monitor's own
guarded fetcher fetches from it.
"""

from __future__ import annotations

import gzip
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from webkit import HostWeb, Page

from linkback.fetch import Fetcher, FetchLimits, FetchResult, GuardPolicy, address_refusal
from linkback.monitor import ledger, monitor_add
from linkback.monitor._check import Robots
from linkback.monitor._run import run_checks
from linkback.robotstxt import ROBOTS_MAX_BYTES
from linkback.store import Store

TARGET = "https://example.com/pricing"
LINE = "# " + "f" * 97 + "\n"  # 100 bytes


def _only_loopback(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    return None if str(ip) == "127.0.0.1" else address_refusal(ip)


POLICY = GuardPolicy(ports=None, refuse_address=_only_loopback)


def _resolver(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


def _filler(size: int) -> str:
    """Comment lines of exactly ``size`` bytes (size ≥ 2)."""
    whole, rest = divmod(size, len(LINE))
    if 0 < rest < 2:  # a line is at least "#\n"
        whole, rest = whole - 1, rest + len(LINE)
    last = ("#" + "f" * (rest - 2) + "\n") if rest else ""
    return LINE * whole + last


def _robots_with(early: str, late: str, total: int = 3 * 2**20) -> str:
    """A robots.txt with ``early`` rules before 500 KiB, ``late`` ones after it, ``total`` bytes long."""
    head = "User-agent: *\n" + early + _filler(300_000) + "Disallow: /middle\n"
    body = head + _filler(ROBOTS_MAX_BYTES + 10 - len(head)) + late
    return body + _filler(total - len(body))


@pytest.fixture
def web() -> Iterator[HostWeb]:
    with HostWeb() as web:
        yield web


def _robots(page_cap: int) -> tuple[Robots, list[FetchResult]]:
    kept: list[FetchResult] = []
    fetcher = Fetcher(policy=POLICY, resolver=_resolver, limits=FetchLimits(max_bytes=page_cap))
    return Robots(fetcher, kept.append), kept


@pytest.mark.parametrize("page_cap", [5_000_000, 100_000])  # the monitor's default; one below 500 KiB
@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_only_the_first_500_kib_apply_and_no_more_is_read(web: HostWeb, page_cap: int, encoding: str) -> None:
    text = _robots_with("Disallow: /early\n", "Disallow: /late\n")
    body = text.encode() if encoding == "identity" else gzip.compress(text.encode())
    web.pages["a.test", "/robots.txt"] = Page(body, 200, {"Content-Type": "text/plain", "Content-Encoding": encoding})
    robots, kept = _robots(page_cap)
    verdicts = {path: robots.verdict(web.url("a.test", path))[0] for path in ("/early", "/middle", "/late")}
    assert verdicts == {"/early": "deny", "/middle": "deny", "/late": "allow"}
    (result,) = kept
    assert result.truncated and len(result.body) == ROBOTS_MAX_BYTES + 1  # of 3 MiB (decoded)
    robots.fetcher.close()


def test_a_rule_the_cut_falls_in_does_not_apply(web: HostWeb) -> None:
    head = "User-agent: *\n"
    rule = "Disallow: /cut"  # the 500 KiB end right after it: the line goes on, "-here/"
    text = head + _filler(ROBOTS_MAX_BYTES - len(head) - len(rule)) + rule + "-here/\n" + _filler(1000)
    assert text.encode()[:ROBOTS_MAX_BYTES].endswith(rule.encode())
    web.robots("a.test", text)
    robots, _ = _robots(5_000_000)
    assert robots.verdict(web.url("a.test", "/cut"))[0] == "allow"
    assert robots.verdict(web.url("a.test", "/cut-here/x"))[0] == "allow"
    robots.fetcher.close()


def test_a_check_obeys_the_first_500_kib_only(web: HostWeb, tmp_path: Path) -> None:
    web.robots("early.test", _robots_with("Disallow: /p\n", ""))
    web.robots("late.test", _robots_with("", "Disallow: /p\n"))
    page = f'<!doctype html><title>post</title><main><p><a href="{TARGET}">Pricing</a></p></main>'
    with Store(tmp_path / "m.duckdb") as store:
        for host in ("early.test", "late.test"):
            web.pages[host, "/p"] = Page(page)
            monitor_add(store, web.url(host, "/p"), TARGET)
        summary = run_checks(store, policy=POLICY, resolver=_resolver, delay=0, all_links=True, render="never")
        rows = {row["source"]: (row["verdict"], row["reason"]) for row in ledger(store)}
    assert rows == {web.url("early.test", "/p"): ("unknown", "robots"), web.url("late.test", "/p"): ("live", "")}
    assert [r.path for r in web.requests_to("early.test")] == ["/robots.txt"]
    assert [r.path for r in web.requests_to("late.test")] == ["/robots.txt", "/p"]
    assert summary["checked"] == 2
