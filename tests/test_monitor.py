"""The link monitor against a local multi-host web whose pages change between checks.

One loopback server answers for every ``*.test`` name (tests/webkit.py); the checks resolve those
names to 127.0.0.1 through a resolver given here, and the guard stays on for every other address
(127.0.0.2 plays a private server). Request times come from the server's log: only lower bounds
are asserted.
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator
from webkit import HostWeb, Page, Request

from linkback import mentions
from linkback.fetch import GuardPolicy, address_refusal
from linkback.imports import claims, import_files
from linkback.ingest import record_pages
from linkback.jobs import ingest_files
from linkback.monitor import ledger, link_timeline, monitor_add, monitor_pause, monitor_sync
from linkback.monitor._run import run_checks
from linkback.records import FetchedPage
from linkback.store import Store

TARGET = "https://example.com/pricing"
IMPORTS = Path(__file__).parent / "data" / "imports"


def _only_loopback(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """The guard's table, but 127.0.0.1 (the test web) is public: 127.0.0.2 and the rest are not."""
    return None if str(ip) == "127.0.0.1" else address_refusal(ip)


POLICY = GuardPolicy(ports=None, refuse_address=_only_loopback)


def resolver(host: str, port: int) -> list[str]:
    if host == "private.test":
        return ["127.0.0.2"]
    if host.endswith(".test"):
        return ["127.0.0.1"]
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def html(anchor: str = "Pricing", rel: str = "", head: str = "", target: str = TARGET, body: str = "") -> str:
    rel_attr = f' rel="{rel}"' if rel else ""
    return (
        f"<!doctype html><html><head><title>post</title>{head}</head><body><main>"
        f'<p>We use <a href="{target}"{rel_attr}>{anchor}</a> daily.</p>{body}</main></body></html>'
    )


def run(store: Store, tmp_path: Path, **kw: Any) -> dict[str, Any]:
    options: dict[str, Any] = dict(policy=POLICY, resolver=resolver, delay=0.05, all_links=True, render="never")
    options.update(warc_dir=tmp_path / "warc", **kw)
    return run_checks(store, **options)


def by_source(store: Store) -> dict[str, dict[str, Any]]:
    return {row["source"]: row for row in ledger(store)}


def page_hits(web: HostWeb, host: str, path: str = "/p") -> list[Request]:
    return [r for r in web.requests_to(host) if r.path == path]


@pytest.fixture
def web() -> Iterator[HostWeb]:
    with HostWeb() as web:
        yield web


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "monitor.duckdb") as store:
        yield store


def test_pages_that_change_between_checks_get_each_verdict_and_reason(
    web: HostWeb, store: Store, tmp_path: Path
) -> None:
    hosts = ["removed", "nofollow", "anchor", "gone", "redirect", "noindex", "xrobots", "canonical", "flap", "still"]
    for name in hosts:
        web.pages[f"{name}.test", "/p"] = Page(html())
        monitor_add(store, web.url(f"{name}.test", "/p"), TARGET)
    web.robots("robots.test", "User-agent: *\nDisallow: /p\n")
    web.pages["robots.test", "/p"] = Page(html())
    for source in (web.url("robots.test", "/p"), web.url("private.test", "/p"), "http://nowhere.invalid/p"):
        monitor_add(store, source, TARGET)
    url = {name: web.url(f"{name}.test", "/p") for name in hosts}

    first = run(store, tmp_path, confirm_after=0)  # each loss confirmed in the run that sees it
    rows = by_source(store)
    assert {url[n]: rows[url[n]]["verdict"] for n in hosts} == {url[n]: "live" for n in hosts}
    assert (rows[web.url("robots.test", "/p")]["verdict"], rows[web.url("robots.test", "/p")]["reason"]) == (
        "unknown",
        "robots",
    )
    assert (rows[web.url("private.test", "/p")]["verdict"], rows[web.url("private.test", "/p")]["reason"]) == (
        "unknown",
        "blocked",
    )
    assert (rows["http://nowhere.invalid/p"]["verdict"], rows["http://nowhere.invalid/p"]["reason"]) == (
        "lost",
        "page_gone",
    )
    assert page_hits(web, "robots.test") == []  # disallowed: never fetched
    assert first["checked"] == len(hosts) + 3

    web.pages["removed.test", "/p"] = Page(html(target="https://example.com/other"))
    web.pages["nofollow.test", "/p"] = Page(html(rel="nofollow"))
    web.pages["anchor.test", "/p"] = Page(html(anchor="See pricing"))
    web.pages["gone.test", "/p"] = Page("gone", 410, {"Content-Type": "text/plain"})
    web.pages["redirect.test", "/p"] = Page("", 301, {"Location": web.url("elsewhere.test", "/landing")})
    web.pages["elsewhere.test", "/landing"] = Page(html(target="https://example.com/"))
    web.pages["noindex.test", "/p"] = Page(html(head='<meta name="robots" content="noindex">'))
    web.pages["xrobots.test", "/p"] = Page(html(), 200, {"Content-Type": "text/html", "X-Robots-Tag": "noindex"})
    web.pages["canonical.test", "/p"] = Page(
        html(head=f'<link rel="canonical" href="{web.url("canonical.test", "/q")}">')
    )
    statuses = iter([503, 502])

    def flapping(hit: Request) -> Page:
        status = next(statuses, 200)
        return Page(html()) if status == 200 else Page("busy", status, {"Content-Type": "text/plain"})

    web.pages["flap.test", "/p"] = flapping
    before = {n: len(page_hits(web, f"{n}.test")) for n in hosts}
    run(store, tmp_path, confirm_after=0)
    rows = by_source(store)
    got = {n: (rows[url[n]]["verdict"], rows[url[n]]["reason"]) for n in hosts}
    assert got == {
        "removed": ("lost", "removed"),
        "nofollow": ("lost", "nofollowed"),
        "anchor": ("changed", "anchor"),
        "gone": ("lost", "page_gone"),
        "redirect": ("lost", "redirected"),
        "noindex": ("lost", "noindex"),
        "xrobots": ("lost", "noindex"),
        "canonical": ("lost", "canonicalized"),
        "flap": ("live", ""),
        "still": ("live", ""),
    }
    fetched = {n: len(page_hits(web, f"{n}.test")) - before[n] for n in hosts}
    confirmed = ("removed", "gone", "redirect")  # each loss confirmed by a 2nd fetch
    assert all(fetched[n] == 2 for n in confirmed) and all(fetched[n] == 1 for n in hosts if n not in confirmed)
    assert rows[url["flap"]]["failures"] == 1

    removed = link_timeline(store, rows[url["removed"]]["link_id"])
    assert [(c["verdict"], c["reason"], c["found"]) for c in removed] == [
        ("live", "", True),
        ("live", "", False),
        ("lost", "removed", False),
    ]
    assert json.loads(removed[-1]["changes"]) == {"verdict": ["live", "lost"], "reason": [None, "removed"]}
    anchor = link_timeline(store, rows[url["anchor"]]["link_id"])[-1]
    assert json.loads(anchor["changes"]) == {"verdict": ["live", "changed"], "reason": [None, "anchor"],
                                             "anchor": ["Pricing", "See pricing"]}  # fmt: skip
    redirect = link_timeline(store, rows[url["redirect"]]["link_id"])[-1]
    assert json.loads(redirect["redirects"]) == [{"url": url["redirect"], "status": 301}]
    assert redirect["final_url"] == web.url("elsewhere.test", "/landing") and redirect["status"] == 200
    nofollow = link_timeline(store, rows[url["nofollow"]]["link_id"])[-1]
    assert (nofollow["rel"], nofollow["nofollow"], json.loads(nofollow["changes"])["rel"]) == (
        "nofollow",
        True,
        ["", "nofollow"],
    )

    for _ in range(2):  # the flapping page: 502, then 200 again
        run(store, tmp_path, confirm_after=0)
    rows = by_source(store)
    flap = link_timeline(store, rows[url["flap"]]["link_id"])
    assert [(c["status"], c["verdict"]) for c in flap] == [(200, "live"), (503, "live"), (502, "live"), (200, "live")]
    assert rows[url["flap"]]["failures"] == 0 and all(json.loads(c["changes"]) == {} for c in flap[1:])
    assert rows[url["anchor"]]["verdict"] == "live"  # "changed" was the news of one check
    assert (rows[url["removed"]]["verdict"], rows[url["nofollow"]]["reason"]) == ("lost", "nofollowed")


def test_one_redirect_or_one_nxdomain_is_no_loss_when_the_next_fetch_finds_the_link(
    web: HostWeb, store: Store, tmp_path: Path
) -> None:
    """A login or consent wall for one request, a resolver's NXDOMAIN for one lookup: each is seen
    once and cleared by the confirming fetch. A page moved for good (308) to one that still links
    is no loss at all: the link is reached through the redirect, and nothing is re-fetched."""
    for name in ("wall", "blip", "moved"):
        web.pages[f"{name}.test", "/p"] = Page(html())
        monitor_add(store, web.url(f"{name}.test", "/p"), TARGET)
    run(store, tmp_path)
    walls = iter([Page("", 302, {"Location": "/login"})])
    web.pages["wall.test", "/p"] = lambda hit: next(walls, Page(html()))
    web.pages["wall.test", "/login"] = Page("<!doctype html><p>Sign in to read on</p>")
    web.pages["moved.test", "/p"] = Page("", 308, {"Location": web.url("newhome.test", "/p")})
    web.pages["newhome.test", "/p"] = Page(html())
    blip_lookups = iter(["robots.txt", "NXDOMAIN"])  # robots.txt is looked up first, then the page

    def one_nxdomain(host: str, port: int) -> list[str]:
        if host == "blip.test" and next(blip_lookups, "") == "NXDOMAIN":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return resolver(host, port)

    summary = run(store, tmp_path, resolver=one_nxdomain, confirm_after=0)
    rows = by_source(store)
    for name in ("wall", "blip", "moved"):
        row = rows[web.url(f"{name}.test", "/p")]
        assert (row["verdict"], row["reason"], row["pending"]) == ("live", "", ""), row
        assert all(json.loads(c["changes"]) == {} for c in link_timeline(store, row["link_id"])[1:]), name
    wall = link_timeline(store, rows[web.url("wall.test", "/p")]["link_id"])
    assert [(c["final_url"], c["found"]) for c in wall[1:]] == [
        (web.url("wall.test", "/login"), False),
        (web.url("wall.test", "/p"), True),
    ]
    assert [c["error"] for c in link_timeline(store, rows[web.url("blip.test", "/p")]["link_id"])] == [
        "",
        "no_such_domain",
        "",
    ]
    assert len(page_hits(web, "moved.test")) == 2 and summary["confirmations"] == 2  # one run each; no re-fetch


def test_a_refused_address_is_unknown_blocked_with_why_and_nothing_is_fetched(
    web: HostWeb, store: Store, tmp_path: Path
) -> None:
    monitor_add(store, "http://private.test/post", TARGET)
    monitor_add(store, web.url("ok.test", "/p"), TARGET)
    web.pages["ok.test", "/p"] = Page(html())
    # The guard as it is by default: the loopback test web itself is refused too (its port first).
    run(store, tmp_path, policy=GuardPolicy())
    for row in ledger(store):
        assert (row["verdict"], row["reason"]) == ("unknown", "blocked"), row
        (check,) = link_timeline(store, row["link_id"])
        assert check["error"] == "blocked" and check["status"] is None and check["warc_path"] is None
    details = {row["source"]: link_timeline(store, row["link_id"])[0]["detail"] for row in ledger(store)}
    assert "127.0.0.2, a loopback address" in details["http://private.test/post"]
    assert "port" in details[web.url("ok.test", "/p")]
    assert web.log == []


def test_a_page_larger_than_a_check_reads_is_unknown_truncated_not_a_removal(
    web: HostWeb, store: Store, tmp_path: Path
) -> None:
    filler = "<p>" + "words " * 2000 + "</p>"
    web.pages["long.test", "/p"] = Page(html(body=filler * 20).replace("<main>", "<main>" + filler * 20))
    monitor_add(store, web.url("long.test", "/p"), TARGET)  # the link is in the middle, past 100 kB
    run(store, tmp_path, max_bytes=100_000)
    (row,) = ledger(store)
    assert (row["verdict"], row["reason"]) == ("unknown", "truncated"), row
    run(store, tmp_path)  # read whole, the link is there
    assert ledger(store)[0]["verdict"] == "live"
    indexed = "SELECT count(*), count(lost_at) FROM links WHERE target_url = ?"
    assert store.con.execute(indexed, [TARGET]).fetchall() == [(1, 0)]
    # Cut again: the cut body is indexed as a partial capture, which loses no link.
    run(store, tmp_path, max_bytes=100_000)
    assert store.con.execute(indexed, [TARGET]).fetchall() == [(1, 0)]
    partial = "SELECT truncated FROM observations WHERE url = ? ORDER BY fetched_at"
    assert store.con.execute(partial, [web.url("long.test", "/p")]).fetchall() == [(True,), (False,), (True,)]


def test_every_response_is_kept_in_a_warc_record_the_check_points_to(
    web: HostWeb, store: Store, tmp_path: Path
) -> None:
    web.pages["a.test", "/p"] = Page("", 302, {"Location": "/q"})
    web.pages["a.test", "/q"] = Page(html(), 200, {"Content-Type": "text/html; charset=utf-8"})
    monitor_add(store, web.url("a.test", "/p"), TARGET)
    summary = run(store, tmp_path)
    (check,) = link_timeline(store, 1)
    assert check["ip"] == "127.0.0.1" and check["final_url"] == web.url("a.test", "/q")
    assert summary["warc_files"] == [check["warc_path"]]
    with open(check["warc_path"], "rb") as f:
        f.seek(check["warc_offset"])
        records = iter(ArchiveIterator(f))
        response = next(records)
        body = response.content_stream().read()  # before the iterator moves on
        request = next(records)
        assert response.rec_type == "response" and request.rec_type == "request"
        assert response.rec_headers.get_header("WARC-Target-URI") == web.url("a.test", "/q")
        assert response.rec_headers.get_header("WARC-IP-Address") == "127.0.0.1"
        assert response.rec_headers.get_header("WARC-Concurrent-To") == request.rec_headers.get_header("WARC-Record-ID")
        assert response.http_headers.get_statuscode() == "200"
        assert TARGET.encode() in body
    with gzip.open(check["warc_path"]) as f:
        kinds = [r.rec_type for r in ArchiveIterator(f)]
    assert kinds == [
        "warcinfo",
        "response",
        "request",
        "response",
        "request",
        "response",
        "request",
    ]  # robots, 302, 200
    assert (Path(check["warc_path"]).stat().st_mode & 0o777) == 0o600
    # linkback ingest reads the evidence like any archive: the page and its link enter the index.
    ingested = ingest_files(store, paths=[check["warc_path"]], workers=1)
    assert ingested["files"][0]["status"] == "ingested"
    assert store.con.execute("SELECT count(*) FROM links WHERE target_url = ?", [TARGET]).fetchall()[0][0] == 1


def test_one_connection_per_host_a_delay_between_its_requests_and_hosts_at_once(
    web: HostWeb, store: Store, tmp_path: Path
) -> None:
    active: dict[str, int] = {}
    most: dict[str, int] = {}
    lock = threading.Lock()
    both = threading.Barrier(2, timeout=10)

    def slow(hit: Request) -> Page:
        with lock:
            active[hit.host] = active.get(hit.host, 0) + 1
            most[hit.host] = max(most.get(hit.host, 0), active[hit.host])
        try:
            if hit.path == "/p0" and hit.host in ("one.test", "two.test"):
                both.wait()  # each waits for the other host's first page: only concurrent checks pass
            return Page(html())
        except threading.BrokenBarrierError:
            return Page("not concurrent", 500, {"Content-Type": "text/plain"})
        finally:
            with lock:
                active[hit.host] -= 1

    for host in ("one.test", "two.test"):
        for n in range(4):
            web.pages[host, f"/p{n}"] = slow
            monitor_add(store, web.url(host, f"/p{n}"), TARGET)
    run(store, tmp_path, delay=0.3)
    assert {row["verdict"] for row in ledger(store)} == {"live"}
    assert most == {"one.test": 1, "two.test": 1}
    for host in ("one.test", "two.test"):
        hits = [h for h in web.requests_to(host) if h.path != "/robots.txt"]
        assert len(hits) == 4 and min(b.at - a.at for a, b in zip(hits, hits[1:])) >= 0.3 - 0.02


def test_a_redirect_hop_waits_for_its_hosts_turn_and_two_hosts_redirecting_to_each_other_do_not_deadlock(
    web: HostWeb, store: Store, tmp_path: Path
) -> None:
    """hub.test's pages, and its robots.txt, redirect to shop.test, which has pages of its own to
    check: shop.test still gets one request at a time, ``delay`` apart. ping.test and pong.test
    redirect to each other's pages at the same moment: each check gives up its host before it
    waits for the next, so both finish."""
    delay, serving = 0.3, 0.2
    active: dict[str, int] = {}
    most: dict[str, int] = {}
    lock = threading.Lock()

    def slow(hit: Request) -> Page:
        with lock:
            active[hit.host] = active.get(hit.host, 0) + 1
            most[hit.host] = max(most.get(hit.host, 0), active[hit.host])
        try:
            threading.Event().wait(serving)  # long enough for a second connection to overlap
            if hit.path.endswith(".txt"):
                return Page("User-agent: *\nAllow: /\n", 200, {"Content-Type": "text/plain"})
            return Page(html())
        finally:
            with lock:
                active[hit.host] -= 1

    web.pages["hub.test", "/robots.txt"] = Page("", 301, {"Location": web.url("shop.test", "/hub-robots.txt")})
    web.pages["shop.test", "/hub-robots.txt"] = slow
    for n in range(3):
        web.pages["hub.test", f"/r{n}"] = Page("", 302, {"Location": web.url("shop.test", f"/landing{n}")})
        monitor_add(store, web.url("hub.test", f"/r{n}"), TARGET)
        web.pages["shop.test", f"/landing{n}"] = slow
        web.pages["shop.test", f"/p{n}"] = slow
        monitor_add(store, web.url("shop.test", f"/p{n}"), TARGET)
    for here, there in (("ping.test", "pong.test"), ("pong.test", "ping.test")):
        web.pages[here, "/p"] = Page("", 301, {"Location": web.url(there, "/from-" + here)})
        web.pages[here, "/from-" + there] = slow
        monitor_add(store, web.url(here, "/p"), TARGET)

    done: list[dict[str, Any]] = []
    runner = threading.Thread(target=lambda: done.append(run(store, tmp_path, delay=delay)), daemon=True)
    runner.start()
    runner.join(timeout=60)
    assert done, "the run did not finish: two checks wait for each other's host"
    assert {row["verdict"] for row in ledger(store)} == {"live"} and done[0]["checked"] == 8
    assert most == {"shop.test": 1, "ping.test": 1, "pong.test": 1}
    shop = [h.at for h in web.requests_to("shop.test") if h.path != "/robots.txt"]
    assert len(shop) == 7 and min(b - a for a, b in zip(shop, shop[1:])) >= serving + delay - 0.02


def test_crawl_delay_of_robots_txt_is_honoured(web: HostWeb, store: Store, tmp_path: Path) -> None:
    web.robots("slow.test", "User-agent: linkback\nCrawl-delay: 0.5\n")
    for n in range(3):
        web.pages["slow.test", f"/p{n}"] = Page(html())
        monitor_add(store, web.url("slow.test", f"/p{n}"), TARGET)
    run(store, tmp_path, delay=0.01)
    hits = [h for h in web.requests_to("slow.test") if h.path != "/robots.txt"]
    assert len(hits) == 3 and min(b.at - a.at for a, b in zip(hits, hits[1:])) >= 0.5 - 0.02


def test_links_of_one_page_share_its_fetch_and_a_site_target_matches_any_page(
    web: HostWeb, store: Store, tmp_path: Path
) -> None:
    web.pages["multi.test", "/p"] = Page(html(body='<a href="https://example.com/blog/x" rel="sponsored">blog</a>'))
    monitor_add(store, web.url("multi.test", "/p"), TARGET)
    monitor_add(store, web.url("multi.test", "/p"), "example.com", anchor="blog")
    monitor_add(store, web.url("multi.test", "/p"), "https://example.com/missing")
    run(store, tmp_path, confirm_after=0)
    rows = {row["target"]: row for row in ledger(store)}
    assert (rows[TARGET]["verdict"], rows["example.com"]["verdict"]) == ("live", "changed")
    assert rows["example.com"]["anchor"] == "Pricing"  # the followed link in the content wins
    assert (rows["https://example.com/missing"]["verdict"], rows["https://example.com/missing"]["reason"]) == (
        "lost",
        "removed",
    )
    assert len(page_hits(web, "multi.test")) == 2  # one fetch for all three, one to confirm the removal


def test_due_links_paused_links_and_named_ids(web: HostWeb, store: Store, tmp_path: Path) -> None:
    for n in range(3):
        web.pages["due.test", f"/p{n}"] = Page(html())
        monitor_add(store, web.url("due.test", f"/p{n}"), TARGET)
    monitor_pause(store, [2])
    assert run(store, tmp_path, all_links=False)["checked"] == 2  # never checked: due; the paused one waits
    assert run(store, tmp_path, all_links=False)["checked"] == 0  # checked a moment ago: due tomorrow
    assert run(store, tmp_path, all_links=False, ids=[2])["checked"] == 1  # named: checked, paused or not
    later = datetime.now(UTC).replace(year=datetime.now(UTC).year + 1)
    assert run(store, tmp_path, all_links=False, now=later)["checked"] == 2
    row = ledger(store)[0]
    assert row["interval_days"] == 2 and row["next_check_at"] > row["checked_at"]
    with pytest.raises(Exception, match="no ledger link 99"):
        monitor_pause(store, [1, 99])


def test_sync_fills_the_ledger_once_from_claims_mentions_and_the_index(store: Store, tmp_path: Path) -> None:
    import_files(store, [IMPORTS / "tracked.csv"])
    now = datetime.now(UTC)
    with store.transaction():
        mentions.add_site(store.con, "example.com", policy="auto")
        ids = mentions.receive_many(store.con, [
            mentions.Receipt("webmention", "https://fan.example.net/post", "https://example.com/pricing", "example.com"),
            mentions.Receipt("webmention", "https://spam.example.net/post", "https://example.com/", "example.com"),
        ], now)  # fmt: skip
        mentions.record_outcome(store.con, ids[0][0], mentions.Outcome("verified"), now)
    page = FetchedPage(
        url="https://links.example.org/resources", status=200, headers=(("Content-Type", "text/html"),),
        fetched_at=now, body=b'<a href="https://example.com/">Example</a> <a href="https://www.example.com/a">A</a>'
        b'<a href="https://other.example/">other</a> <a href="https://fan.example.net/post">fan</a>',
    )  # fmt: skip
    record_pages(store, [page], origin="crawl")
    first = monitor_sync(store)
    assert first["added"] == {"claim": 2, "mention": 1, "index": 2} and first["sites"] == ["example.com"]
    assert monitor_sync(store)["total_added"] == 0  # each link once
    rows = {(r["source"], r["target"]): r for r in ledger(store)}
    tracked = rows["https://blog.example.org/posts/link-audits", "https://example.com/"]
    assert (tracked["origin"], tracked["expected_anchor"], tracked["expected_follow"]) == ("claim", "Example", True)
    assert tracked["tags"] == "guest 2024" and tracked["notes"] == "guest post, paid 2024"
    assert rows["https://fan.example.net/post", "https://example.com/pricing"]["origin"] == "mention"
    assert {k for k, r in rows.items() if r["origin"] == "index"} == {
        ("https://links.example.org/resources", "https://example.com/"),
        ("https://links.example.org/resources", "https://www.example.com/a"),
    }
    # Given a site, only its links; a site the index has nothing for adds nothing from it.
    assert monitor_sync(store, "nothing.example")["found"] == {"claim": 0, "mention": 0, "index": 0}


def test_a_check_gives_its_claim_a_verdict(web: HostWeb, store: Store, tmp_path: Path) -> None:
    sheet = tmp_path / "tracked.csv"
    sheet.write_text(
        "URL FROM,EXPECTED LANDING PAGE URL,EXPECTED FOLLOW,EXPECTED ANCHOR,NOTES,TAGS\n"
        f"{web.url('claimed.test', '/p')},{TARGET},yes,Pricing,,\n"
    )
    import_files(store, [sheet])
    web.pages["claimed.test", "/p"] = Page(html(rel="nofollow"))
    monitor_sync(store, "example.com")
    run(store, tmp_path)
    (row,) = ledger(store)
    assert (row["origin"], row["verdict"], row["reason"]) == ("claim", "lost", "nofollowed")  # expected followed
    (claim,) = claims(store, "example.com")
    assert claim["status"] == "lost"


def test_bad_input_is_refused_with_what_and_where(store: Store) -> None:
    with pytest.raises(ValueError, match="not an absolute URL"):
        monitor_add(store, "blog.example.org/post", TARGET)
    with pytest.raises(ValueError, match="ftp: URL"):
        monitor_add(store, "ftp://blog.example.org/post", TARGET)
    with pytest.raises(ValueError, match="links to itself"):
        monitor_add(store, TARGET, TARGET)
    with pytest.raises(ValueError, match="target 'not a site'"):
        monitor_add(store, "https://blog.example.org/post", "not a site")
    with pytest.raises(ValueError, match="render must be one of"):
        run_checks(store, policy=POLICY, render="sometimes")
    assert ledger(store) == []
    added = monitor_add(store, "https://blog.example.org/post", TARGET, tags="a, b")
    again = monitor_add(store, "https://Blog.Example.org/post#frag", TARGET, anchor="Pricing")
    assert added["added"] and not again["added"] and again["link_id"] == added["link_id"]
    assert (again["expected_anchor"], again["tags"]) == ("Pricing", "a b")


def test_the_runner_queues_one_monitor_job_when_links_are_due(store: Store) -> None:
    from datetime import timedelta

    from linkback.monitor._schedule import queue_due

    now = datetime.now(UTC)
    assert queue_due(store, store.con, now) is None  # an empty ledger: nothing due
    monitor_add(store, "https://blog.example.org/post", TARGET)
    job_id = queue_due(store, store.con, now)
    assert job_id is not None and queue_due(store, store.con, now) is None  # one at a time
    store.write(
        lambda s: s.con.execute("UPDATE jobs SET state = 'failed', finished_at = ? WHERE job_id = ?", [now, job_id])
    )
    assert queue_due(store, store.con, now + timedelta(minutes=5)) is None  # a pause after a failure
    assert queue_due(store, store.con, now + timedelta(minutes=11)) is not None
    kinds = store.con.execute("SELECT kind, state, params FROM jobs ORDER BY job_id").fetchall()
    assert kinds == [("monitor", "failed", '{"limit": 50000}'), ("monitor", "queued", '{"limit": 50000}')]


def test_what_the_checks_fetch_reaches_the_index_and_its_link_state(web: HostWeb, store: Store, tmp_path: Path) -> None:
    source = web.url("index.test", "/p")
    web.pages["index.test", "/p"] = Page(html())
    monitor_add(store, source, TARGET)
    assert run(store, tmp_path)["pages_indexed"] == 1
    seen = "SELECT via, status FROM observations WHERE url = ? ORDER BY obs_id"
    assert store.con.execute(seen, [source]).fetchall() == [("monitor", 200)]
    live = "SELECT lost_at IS NULL, via FROM links WHERE source_url = ? AND target_url = ?"
    assert store.con.execute(live, [source, TARGET]).fetchall() == [(True, "monitor")]
    web.pages["index.test", "/p"] = Page("<p>gone</p>", status=404)
    run(store, tmp_path)
    assert [s for _, s in store.con.execute(seen, [source]).fetchall()][-1] == 404
    assert store.con.execute(
        "SELECT lost_reason FROM links WHERE source_url = ? AND target_url = ?", [source, TARGET]
    ).fetchall() == [("page_gone",)]
    # A run that keeps its fetches out of the index leaves it as it was.
    before = store.con.execute("SELECT count(*) FROM observations").fetchall()
    assert run(store, tmp_path, index=False)["pages_indexed"] == 0
    assert store.con.execute("SELECT count(*) FROM observations").fetchall() == before


def test_a_host_that_asks_to_wait_an_hour_is_left_for_the_next_run(web: HostWeb, store: Store, tmp_path: Path) -> None:
    for i in range(4):
        web.pages["busy.test", f"/p{i}"] = Page("slow down", 429, {"Retry-After": "3600"})
        monitor_add(store, web.url("busy.test", f"/p{i}"), TARGET)
    web.pages["ok.test", "/p"] = Page(html())
    monitor_add(store, web.url("ok.test", "/p"), TARGET)
    summary = run(store, tmp_path)
    assert len([r for r in web.requests_to("busy.test") if r.path.startswith("/p")]) == 1  # not one a second
    assert summary["deferred"] == {"busy.test": 3} and summary["checked"] == 2
    rows = by_source(store)
    assert rows[web.url("ok.test", "/p")]["verdict"] == "live"
    unchecked = [r for r in rows.values() if r["checked_at"] is None]
    assert len(unchecked) == 3  # still due: the next run checks them


def test_a_redirect_to_a_host_that_asked_to_wait_an_hour_is_left_for_the_next_run(
    web: HostWeb, store: Store, tmp_path: Path
) -> None:
    web.pages["busy.test", "/p"] = Page("slow down", 429, {"Retry-After": "3600"})
    web.pages["busy.test", "/moved-here"] = Page(html())
    web.pages["hub.test", "/p"] = Page("", 302, {"Location": web.url("busy.test", "/moved-here")})
    for host in ("busy.test", "hub.test"):  # one connection: busy.test is asked first, then hub.test
        monitor_add(store, web.url(host, "/p"), TARGET)
    summary = run(store, tmp_path, connections=1)
    assert [r.path for r in web.requests_to("busy.test")] == ["/robots.txt", "/p"]  # not the hop
    assert summary["deferred"] == {"busy.test": 1} and summary["checked"] == 1
    assert by_source(store)[web.url("hub.test", "/p")]["checked_at"] is None  # still due


def test_a_short_retry_after_is_waited_for(web: HostWeb, store: Store, tmp_path: Path) -> None:
    from linkback.monitor import _run

    waits: list[float] = []
    real = _run._delay_after

    def recorded(url, checker, delay):  # noqa: ANN001, ANN202
        waits.append(real(url, checker, delay))
        return 0.0  # the test does not sleep it

    _run._delay_after, saved = recorded, real
    try:
        web.pages["busy.test", "/p0"] = Page("slow down", 503, {"Retry-After": "7"})
        web.pages["busy.test", "/p1"] = Page(html())
        for i in range(2):
            monitor_add(store, web.url("busy.test", f"/p{i}"), TARGET)
        summary = run(store, tmp_path)
    finally:
        _run._delay_after = saved
    assert waits[0] == 7.0 and summary["deferred"] == {} and summary["checked"] == 2
