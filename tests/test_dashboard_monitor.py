"""The dashboard's link monitor and broken-link pages (issue 15): the ledger (``/monitor``), a link's
timeline (``/monitor/ID``), and the ``broken`` and ``prospects_broken`` report tables.

The ledger is real: links watched with ``monitor_add`` and checked by the monitor against a local
multi-host web (tests/webkit.py) whose pages change between checks, so every verdict, reason and
piece of evidence on the pages is one the monitor recorded. The broken-link reports read pages
ingested with ``record_pages``. Anchors, titles and URLs are hostile where a third party writes
them. In-process tests (TestClient) check the pages show the functions' rows for the same
parameters, the forms' CSRF checks and escaping; one Chromium test per page group is driven by
keyboard alone, checked by axe, and writes screenshots to build/screenshots/.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import escape, unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from browserkit import AUDIT, CLEAN, chromium, screenshot, watched_page
from fastapi.testclient import TestClient
from serverkit import Settings
from test_dashboard_a11y import AXE, preload_axe
from test_dashboard_a11y import FOCUSED as FOCUSED_A11Y
from test_dashboard_a11y import _axe as run_axe
from test_monitor import POLICY, html, resolver
from webkit import HostWeb, Page

from linkback import reports, shares
from linkback.ingest import record_pages
from linkback.monitor import ledger, link_timeline, monitor_add, monitor_pause, monitor_sync
from linkback.monitor._run import run_checks
from linkback.records import FetchedPage
from linkback.reports._cursor import next_cursor
from linkback.server import ServerThread, create_app
from linkback.store import Store

TOKEN = "monitor-token"
TARGET = "https://example.com/pricing"
OTHER_TARGET = "https://other.example/"
SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=1">'
SVG = '"><svg onload=window.__xss=1>'
JS_URL = "javascript:window.__xss=1"
#: The watched links: each host's page, first as it is at the first check, then at the second.
HOSTS = ("steady", "anchor", "removed", "gone", "nofollow", "redirect")
SITE = "https://mysite.test"
AT = datetime(2024, 5, 1, tzinfo=UTC)


# --- the world ----------------------------------------------------------------------------------


def fetched(url: str, title: str = "", links: tuple[tuple[str, str], ...] = (), status: int = 200) -> FetchedPage:
    """A fetched page whose links' anchors are HTML as written (hostile ones stay text)."""
    anchors = "".join(f'<p><a href="{escape(href)}">{text}</a></p>' for href, text in links)
    body = f"<html><head><title>{escape(title)}</title></head><body>{anchors}</body></html>"
    headers = (("Content-Type", "text/html; charset=utf-8"),)
    return FetchedPage(url=url, status=status, headers=headers, body=body.encode(), fetched_at=AT)


def indexed_pages() -> list[FetchedPage]:
    """Your site with broken pages other sites link to, and dead pages of other sites (prospects)."""
    dead = "https://deadsite.test/espresso-grinders"
    pages = [
        fetched(f"{SITE}/old-guide", "Not Found", status=404),
        fetched(f"{SITE}/retired", SCRIPT, status=410),
        fetched(f"{SITE}/missing", "Page not found"),  # a soft 404
        fetched(f"{SITE}/guides/espresso-guide", "Espresso guide"),
        fetched(f"{SITE}/", "MySite"),
        fetched(dead, "Not Found", status=404),
        fetched("https://gone.example/teapots", "", status=410),
    ]
    for n in range(1, 5):  # four sites link to each
        links = [
            (f"{SITE}/old-guide", f"old guide {n}"),
            (dead, "espresso grinders"),
            ("https://gone.example/teapots", escape(SVG) if n == 1 else "teapots"),
        ]
        if n <= 2:
            links.append((f"{SITE}/retired", escape(IMG if n == 1 else SCRIPT)))  # text, as a page writes it
        if n == 1:
            links.append((f"{SITE}/missing", escape(SVG)))
        pages.append(fetched(f"https://s{n}.test/links", f"Links {n}", tuple(links)))
    return pages


def _hostile_check(store: Store, link_id: int) -> None:
    """A check whose evidence is hostile text everywhere a page could put it (the monitor stores
    what pages say: a canonical, a redirect's Location, an anchor)."""

    def write(store: Store) -> None:
        (check_id,) = store.next_ids("check_id_seq", 1)
        store.con.execute(
            "INSERT INTO link_checks (check_id, link_id, checked_at, status, redirects, final_url, ip, canonical, "
            "noindex, found, found_in, rendered, anchor, rel, nofollow, section, error, detail, render_note, warc_path, "
            "warc_offset, verdict, reason, changes) VALUES (?, ?, ?, 200, ?, ?, '127.0.0.1', ?, false, true, 'raw', "
            "false, ?, ?, false, 'content', '', '', '', ?, 0, 'changed', 'anchor', ?)",
            [check_id, link_id, datetime.now(UTC), json.dumps([{"url": JS_URL, "status": 301}]), JS_URL, SVG, IMG,
             SVG, f"{SCRIPT}.warc.gz", json.dumps({"anchor": [SCRIPT, IMG]})],
        )  # fmt: skip
        store.con.execute(
            "UPDATE ledger SET verdict = 'changed', reason = 'anchor', anchor = ?, checked_at = ? WHERE link_id = ?",
            [IMG, datetime.now(UTC), link_id],
        )

    store.write(write)


def build_world(path: Path, web: HostWeb) -> dict[str, int]:
    """A store whose ledger the monitor checked twice against ``web``; the ledger ids by name."""
    with Store(path) as store:
        record_pages(store, indexed_pages(), origin="crawl")
        for name in HOSTS:
            web.pages[f"{name}.test", "/p"] = Page(html(anchor="Pricing"))
        web.pages["steady.test", "/p"] = Page(html(anchor=escape(SCRIPT)))
        web.pages["other.test", "/p"] = Page(html(target=OTHER_TARGET))
        ids = {name: monitor_add(store, web.url(f"{name}.test", "/p"), TARGET)["link_id"] for name in HOSTS}
        ids["other"] = monitor_add(store, web.url("other.test", "/p"), OTHER_TARGET, note=SCRIPT)["link_id"]
        ids["never"] = monitor_add(store, "https://never.test/p", TARGET, anchor=SCRIPT, note=IMG, tags="outreach")[
            "link_id"
        ]
        ids["hostile"] = monitor_add(store, "https://hostile.test/p?q=%22%3E%3Csvg%3E", TARGET)["link_id"]
        monitor_pause(store, [ids["never"], ids["hostile"]])
        options: dict[str, Any] = dict(policy=POLICY, resolver=resolver, delay=0.05, all_links=True, render="never")
        run_checks(store, warc_dir=path.parent / "warc", **options)
        web.pages["anchor.test", "/p"] = Page(html(anchor=escape(IMG)))
        web.pages["removed.test", "/p"] = Page(html(target="https://example.com/other"))
        web.pages["gone.test", "/p"] = Page("gone", 410, {"Content-Type": "text/plain"})
        web.pages["nofollow.test", "/p"] = Page(html(rel="nofollow"))
        web.pages["redirect.test", "/p"] = Page("", 301, {"Location": web.url("elsewhere.test", "/landing")})
        web.pages["elsewhere.test", "/landing"] = Page(html(target="https://example.com/"))
        run_checks(store, warc_dir=path.parent / "warc", confirm_after=0, **options)  # each loss confirmed now
        # A site mid-deploy: its 404 seen once, the link pending and re-checked by a run an hour later.
        web.pages["deploy.test", "/p"] = Page(html(anchor="Pricing"))
        ids["deploy"] = monitor_add(store, web.url("deploy.test", "/p"), TARGET)["link_id"]
        run_checks(store, warc_dir=path.parent / "warc", **{**options, "all_links": False, "ids": [ids["deploy"]]})
        web.pages["deploy.test", "/p"] = Page("deploying", 404, {"Content-Type": "text/plain"})
        run_checks(store, warc_dir=path.parent / "warc", **{**options, "all_links": False, "ids": [ids["deploy"]]})
        _hostile_check(store, ids["hostile"])
        # Links the index knows (origin "index"), never checked; paused, so a server finds nothing due.
        monitor_sync(store, "mysite.test")
        monitor_pause(store, [r["link_id"] for r in ledger(store, unchecked=True)])
    return ids


@pytest.fixture(scope="module")
def web() -> Iterator[HostWeb]:
    with HostWeb() as web:
        yield web


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, web: HostWeb) -> tuple[str, dict[str, int]]:
    path = tmp_path_factory.mktemp("monitor-dash") / "dash.duckdb"
    ids = build_world(path, web)
    return str(path), ids


@pytest.fixture
def copy(world: tuple[str, dict[str, int]], tmp_path: Path) -> str:
    """A copy of the world's database for a test that changes it."""
    target = tmp_path / "copy.duckdb"
    shutil.copy(world[0], target)
    return str(target)


@pytest.fixture(scope="module")
def client(world: tuple[str, dict[str, int]]) -> Iterator[TestClient]:
    """A server of the world's database for the tests that only read it (one for the module)."""
    with TestClient(create_app(Settings(db=world[0], admin_token=TOKEN))) as c:
        yield c


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium for a test (the process's shared one: contexts of its own, closed after it)."""
    with chromium() as browser:
        yield browser


def sign_in(client: TestClient) -> str:
    r = client.post("/do/login", data={"token": TOKEN, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/jobs").text).group(1)


def served(client: TestClient) -> Store:
    """The server's own store: the functions called on it read what its pages read."""
    return client.app.state.linkback.request_store()


# --- reading pages back ---------------------------------------------------------------------------


class Rows(HTMLParser):
    """The rows of a page's tables: each a list of cells, each (text, [hrefs])."""

    def __init__(self, table_class: str) -> None:
        super().__init__()
        self.table_class, self.depth, self.rows = table_class, 0, []
        self.cell: list[Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and self.table_class in (a.get("class") or "").split():
            self.depth = 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag == "td":
            self.cell = ["", []]
            self.rows[-1].append(self.cell)
        elif self.cell is not None and tag == "a":
            self.cell[1].append(a.get("href"))
        elif self.cell is not None and tag == "br":
            self.cell[0] += " "

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.depth = 0
        elif tag == "td":
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell[0] += data


def table(page: str, table_class: str = "data") -> list[list[Any]]:
    parser = Rows(table_class)
    parser.feed(page)
    return [row for row in parser.rows if row]


def ledger_ids(page: str) -> list[int]:
    return [int(row[1][0].split(":")[0]) for row in table(page, "ledger")]


# --- the ledger -----------------------------------------------------------------------------------


FILTERS = [
    {},
    {"verdict": "lost"},
    {"verdict": "lost", "reason": "removed"},
    {"verdict": "unchecked"},
    {"origin": "index"},
    {"target": "example.com"},
    {"target": "other.example", "verdict": "live"},
    {"reason": "page_gone", "origin": "added"},
]


def _args(query: dict[str, str]) -> dict[str, Any]:
    args: dict[str, Any] = {k: v for k, v in query.items() if k != "verdict"}
    if query.get("verdict") == "unchecked":
        args["unchecked"] = True
    elif query.get("verdict"):
        args["verdict"] = query["verdict"]
    return args


def test_the_ledger_page_shows_the_ledger_reports_rows_and_counts(client: TestClient, world: Any) -> None:
    sign_in(client)
    store = served(client)
    ids = world[1]
    got = {(r["verdict"], r["reason"]) for r in ledger(store) if r["link_id"] in ids.values()}
    # The monitor's own verdicts, from the local web's pages.
    assert {("live", ""), ("lost", "removed"), ("lost", "page_gone"), ("lost", "nofollowed"), ("lost", "redirected"),
            ("changed", "anchor"), (None, None)} <= got  # fmt: skip
    for query in FILTERS:
        page = client.get("/monitor?" + urlencode(query))
        assert page.status_code == 200, (query, page.text[:300])
        expected = [r["link_id"] for r in ledger(store, **_args(query), limit=100)]
        assert ledger_ids(page.text) == expected and expected, query
        # The counts: every verdict of the links to the target (and origin), whatever the verdict filter.
        counted = Counter(
            r["verdict"] or "unchecked" for r in ledger(store, query.get("target"), origin=query.get("origin"))
        )
        for verdict in ("live", "changed", "lost", "unknown", "unchecked"):
            card = re.search(
                rf'href="/monitor\?[^"]*verdict={verdict}[^"]*"[^>]*>.*?class="value">([\d,]+)<', page.text, re.S
            )
            assert card and int(card.group(1).replace(",", "")) == counted.get(verdict, 0), (query, verdict)
        cli = "linkback monitor list" + (f" {query['target']}" if "target" in query else "")
        assert cli in page.text


def test_a_verdict_is_words_and_a_mark_not_colour_alone(client: TestClient, world: Any) -> None:
    sign_in(client)
    rows = {int(r[1][0].split(":")[0]): r for r in table(client.get("/monitor").text, "ledger")}
    ids = world[1]
    said = {name: " ".join(rows[ids[name]][2][0].split()) for name in ("steady", "removed", "gone", "anchor", "never")}
    assert said["steady"] == "✓ Live"
    assert said["removed"] == "✗ Lost the link was removed from the page"
    assert said["gone"] == "✗ Lost the page is gone"
    assert said["anchor"] == "~ Changed anchor changed"
    assert said["never"] == "· Not checked yet"


def test_a_loss_seen_once_says_it_waits_and_when_it_is_checked_again(client: TestClient, world: Any) -> None:
    sign_in(client)
    store = served(client)
    deploy = world[1]["deploy"]
    row = next(r for r in ledger(store) if r["link_id"] == deploy)
    assert (row["verdict"], row["pending"]) == ("live", "page_gone")
    cells = {int(r[1][0].split(":")[0]): r for r in table(client.get("/monitor").text, "ledger")}[deploy]
    due = row["next_check_at"].astimezone(UTC)
    said = " ".join(cells[2][0].split())
    assert said == f"✓ Live seen once: the page is gone; a second fetch will tell, from {due:%Y-%m-%d %H:%M} UTC"
    assert due - row["checked_at"] == timedelta(hours=1)
    page = client.get(f"/monitor/{deploy}").text
    assert "a second fetch confirms or clears it" in page and "404" in page


def test_the_ledger_pages_through_the_links_by_their_number(client: TestClient) -> None:
    sign_in(client)
    store = served(client)
    every = [r["link_id"] for r in ledger(store)]
    seen: list[int] = []
    href = "/monitor?limit=3"
    while href:
        page = client.get(href.replace("&amp;", "&")).text
        seen += ledger_ids(page)
        found = re.search(r'<a href="([^"]+)" rel="next">', page)
        href = found.group(1) if found else ""
    assert seen == every and len(every) > 6
    assert "Links 4–6" in client.get(f"/monitor?limit=3&after={every[2]}&start=4").text


def test_bad_filters_and_ids_are_said_not_crashed_on(client: TestClient) -> None:
    csrf = sign_in(client)
    for query, said in (("verdict=nope", "verdict must be one of"), ("reason=x", "reason must be one of"),
                        ("limit=0", "limit must be a whole number"), ("after=-1", "after must be"),
                        ("target=%20co.uk", "")):  # fmt: skip
        page = client.get("/monitor?" + query)
        assert page.status_code == 400 and said in page.text, query
    assert client.get("/monitor/abc").status_code == 404
    assert client.get("/monitor/99999").status_code == 404
    assert client.get("/monitor/" + "9" * 40).status_code == 404
    assert client.get("/monitor?job=abc").status_code == 404
    r = client.post("/do/monitor/check", data={"csrf": csrf, "scope": "selected", "back": "/monitor?verdict=lost"})
    assert r.status_code == 400 and "select the links to check" in r.text
    r = client.post("/do/monitor/pause", data={"csrf": csrf, "ids": ["²", "x"], "back": "/monitor/1"})
    assert r.status_code == 400 and "give ledger link ids" in r.text


# --- the timeline ---------------------------------------------------------------------------------


def test_a_timeline_shows_every_check_newest_first_with_its_evidence(
    client: TestClient, world: Any, web: HostWeb
) -> None:
    sign_in(client)
    store = served(client)
    ids = world[1]
    for name in ("steady", "removed", "redirect", "anchor", "gone", "nofollow"):
        page = client.get(f"/monitor/{ids[name]}").text
        checks = link_timeline(store, ids[name])
        shown = [int(n) for n in re.findall(r'<span class="dim">check (\d+)</span>', page)]
        assert shown == [c["check_id"] for c in reversed(checks)] and len(shown) >= 2, name
        assert "linkback monitor show " + str(ids[name]) in page
        for check in checks:
            if check["warc_path"]:
                assert escape(check["warc_path"]) in page and f"at byte {check['warc_offset']:,}" in page
    removed = client.get(f"/monitor/{ids['removed']}").text
    assert "The link now" in removed and "the link was removed from the page" in removed
    assert removed.count("not on the page") == 2 and "in the raw HTML" in removed  # confirmed by a second fetch
    assert removed.count("a second fetch confirms or clears it") == 1  # the first of the two
    assert "127.0.0.1" in removed and "HTTP status" in removed
    redirect = client.get(f"/monitor/{ids['redirect']}").text
    assert "Redirects" in redirect and f'href="{web.url("redirect.test", "/p")}"' in redirect
    assert (
        f'href="{web.url("elsewhere.test", "/landing")}"' in redirect and "the page now redirects elsewhere" in redirect
    )
    anchor = client.get(f"/monitor/{ids['anchor']}").text
    before_after = re.search(
        r'<strong>anchor</strong>: <span class="before">(.*?)</span>.*?<span class="after">(.*?)</span>', anchor, re.S
    )
    assert before_after and [unescape(t) for t in before_after.groups()] == ["Pricing", IMG]
    nofollow = client.get(f"/monitor/{ids['nofollow']}").text
    assert "the link is no longer followed" in nofollow and "rel" in nofollow and "(not followed)" in nofollow
    gone = client.get(f"/monitor/{ids['gone']}").text
    assert "410" in gone and "the page is gone" in gone
    never = client.get(f"/monitor/{ids['never']}").text
    assert "No check yet" in never and "Resume checks" in never and "outreach" in never


def test_hostile_text_on_the_ledger_and_timelines_stays_text(client: TestClient, world: Any) -> None:
    sign_in(client)
    ids = world[1]
    for path in [
        "/monitor",
        "/monitor?verdict=changed",
        *(f"/monitor/{ids[n]}" for n in ("hostile", "steady", "never", "other")),
    ]:
        page = client.get(path).text
        assert "<script>window" not in page and "<img src=x" not in page and "<svg onload" not in page, path
        assert 'href="javascript:' not in page.lower(), path
    hostile = client.get(f"/monitor/{ids['hostile']}").text
    assert escape(JS_URL) in hostile and escape(SCRIPT) + ".warc.gz" in hostile  # shown, as text
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in client.get(f"/monitor/{ids['steady']}").text


# --- the forms ------------------------------------------------------------------------------------


def test_every_monitor_form_needs_the_csrf_token(copy: str) -> None:
    with TestClient(create_app(Settings(db=copy, admin_token=TOKEN))) as client:
        sign_in(client)
        forms = {
            "/do/monitor/check": {"scope": "due"},
            "/do/monitor/pause": {"ids": "1"},
            "/do/monitor/resume": {"ids": "1"},
            "/do/monitor/sync": {"site": "mysite.test"},
            "/do/monitor/add": {"source_url": "https://a.test/x", "target_url": TARGET},
        }
        before = ledger(served(client))
        for path, fields in forms.items():
            assert client.post(path, data=fields).status_code == 403, path
            assert client.post(path, data={**fields, "csrf": "forged"}).status_code == 403, path
        assert ledger(served(client)) == before
        assert [row[1][0] for row in table(client.get("/jobs").text)] == []  # no job queued


def test_check_now_queues_the_monitor_job_for_the_selected_or_the_due_links(copy: str) -> None:
    # A server whose guard refuses the test web: the job's outcome is not this test's concern.
    with TestClient(create_app(Settings(db=copy, admin_token=TOKEN))) as client:
        csrf = sign_in(client)
        r = client.post("/do/monitor/check", data={"csrf": csrf, "scope": "selected", "ids": ["2", "3"],
                                                   "back": "/monitor?verdict=lost"}, follow_redirects=False)  # fmt: skip
        assert r.status_code == 303 and r.headers["location"].startswith("/monitor?verdict=lost&job=")
        job = int(r.headers["location"].rsplit("=", 1)[1])
        row = served(client).con.execute("SELECT kind, params FROM jobs WHERE job_id = ?", [job]).fetchall()[0]
        assert row[0] == "monitor" and json.loads(row[1]) == {"ids": [2, 3]}
        assert f"Check job {job}:" in client.get(r.headers["location"]).text
        r = client.post("/do/monitor/check", data={"csrf": csrf, "scope": "due", "ids": "2", "back": "/monitor/4"},
                        follow_redirects=False)  # fmt: skip
        assert r.headers["location"].startswith("/monitor/4?job=")
        due = int(r.headers["location"].rsplit("=", 1)[1])
        assert (
            json.loads(served(client).con.execute("SELECT params FROM jobs WHERE job_id = ?", [due]).fetchall()[0][0])
            == {}
        )
        # Going back goes only to the monitor's pages.
        for back in ("https://evil.example/", "//evil.example/monitor", "/monitor/../jobs", "/jobs"):
            r = client.post(
                "/do/monitor/check", data={"csrf": csrf, "scope": "due", "back": back}, follow_redirects=False
            )
            assert r.headers["location"].split("?")[0] == "/monitor", back


def test_pause_resume_sync_and_watch_call_the_monitors_actions(copy: str, world: Any) -> None:
    ids = world[1]
    with TestClient(create_app(Settings(db=copy, admin_token=TOKEN))) as client:
        csrf = sign_in(client)
        store = served(client)

        def paused(link_id: int) -> bool:
            return next(r["paused"] for r in ledger(store) if r["link_id"] == link_id)

        r = client.post("/do/monitor/pause", data={"csrf": csrf, "ids": str(ids["steady"]), "back": "/monitor?origin=added"},
                        follow_redirects=False)  # fmt: skip
        assert r.status_code == 303 and r.headers["location"] == "/monitor?origin=added" and paused(ids["steady"])
        assert 'Resume<span class="sr-only"> link ' + str(ids["steady"]) in client.get("/monitor").text
        client.post("/do/monitor/resume", data={"csrf": csrf, "ids": [str(ids["steady"]), str(ids["never"])]})
        assert not paused(ids["steady"]) and not paused(ids["never"])

        size = len(ledger(store))
        page = client.post("/do/monitor/sync", data={"csrf": csrf, "site": ""})
        assert page.status_code == 200 and "Ledger synced" in page.text and f"holds {size:,} links" in page.text
        bad = client.post("/do/monitor/sync", data={"csrf": csrf, "site": "co.uk"})
        assert bad.status_code == 400 and "sync:" in bad.text

        r = client.post("/do/monitor/add", data={"csrf": csrf, "source_url": "https://new.test/post", "target_url": TARGET,
                                                 "anchor": "Pricing", "follow": "yes", "tags": "paid"},
                        follow_redirects=False)  # fmt: skip
        added = next(r for r in ledger(store) if r["source"] == "https://new.test/post")
        assert r.headers["location"] == f"/monitor/{added['link_id']}"
        assert (added["expected_anchor"], added["expected_follow"], added["tags"], added["origin"]) == (
            "Pricing",
            True,
            "paid",
            "added",
        )
        refused = client.post("/do/monitor/add", data={"csrf": csrf, "source_url": "ftp://x", "target_url": TARGET})
        assert refused.status_code == 400 and "watch a link:" in refused.text and 'value="ftp://x"' in refused.text


def test_a_share_link_opens_none_of_these_pages(copy: str) -> None:
    with Store(copy) as store:
        made = shares.create_share(store, site="mysite.test")
    with TestClient(create_app(Settings(db=copy, admin_token=TOKEN))) as client:
        assert client.get(made["path"], follow_redirects=False).status_code == 303
        for path in ("/monitor", "/monitor/1", "/reports/broken?target=mysite.test", "/reports/prospects_broken",
                     "/reports/broken.csv?target=mysite.test", "/reports/ledger"):  # fmt: skip
            assert client.get(path, follow_redirects=False).status_code == 403, path
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/overview?target=mysite.test").text).group(1)
        for path in ("/do/monitor/check", "/do/monitor/pause", "/do/monitor/sync"):
            assert client.post(path, data={"csrf": csrf, "scope": "due", "ids": "1"}).status_code == 403, path
        menu = client.get("/overview?target=mysite.test").text
        assert "/monitor" not in menu and "/alerts" not in menu


# --- broken backlinks and prospects ---------------------------------------------------------------


def _urls(page: str) -> list[str]:
    """The first column's URL of each row of a report table."""
    return [row[0][1][0] for row in table(page)]


def test_the_broken_page_shows_the_broken_reports_rows_and_links_to_their_backlinks(client: TestClient) -> None:
    sign_in(client)
    store = served(client)
    for query in ({"target": "mysite.test"}, {"target": "mysite.test", "min_dr": "0"}, {"target": f"{SITE}/old"}):
        page = client.get("/reports/broken?" + urlencode(query))
        assert page.status_code == 200, page.text[:300]
        args = {k: float(v) if k == "min_dr" else v for k, v in query.items()}
        rows = reports.broken(store, **args, limit=100)
        assert _urls(page.text) == [r["target_url"] for r in rows], query
    page = client.get("/reports/broken?target=mysite.test").text
    rows = reports.broken(store, "mysite.test")
    assert {r["problem"] for r in rows} == {"404", "410", "soft_404"}
    assert "linkback broken mysite.test --limit 100" in page
    for row in rows:  # each broken page links to its backlinks
        assert (
            f'href="/reports/backlinks?target={escape(row["target_url"]).replace(":", "%3A").replace("/", "%2F")}"'
            in page
        )
    backlinks = client.get("/reports/backlinks?" + urlencode({"target": f"{SITE}/old-guide"})).text
    assert len(table(backlinks)) == 4
    assert "&lt;script&gt;" in page and "<script>window" not in page and "<img src=x" not in page


def test_the_broken_table_pages_with_the_reports_cursor(client: TestClient) -> None:
    sign_in(client)
    store = served(client)
    every = [r["target_url"] for r in reports.broken(store, "mysite.test")]
    page = client.get("/reports/broken?target=mysite.test&limit=2").text
    assert _urls(page) == every[:2]
    href = re.search(r'<a href="([^"]+)" rel="next"', page).group(1).replace("&amp;", "&")
    cursor = next_cursor("broken", "referring_domains", reports.broken(store, "mysite.test", limit=2)[-1])
    assert urlencode({"after": cursor}) in href
    assert _urls(client.get("/reports/broken" + href).text) == every[2:4] and len(every) == 3


def test_the_prospects_page_shows_the_reports_rows_with_its_filters(client: TestClient) -> None:
    sign_in(client)
    store = served(client)
    for query in ({}, {"min_domains": "4"}, {"topic": "espresso"}, {"near": "mysite.test", "topic": "espresso"}):
        page = client.get("/reports/prospects_broken?" + urlencode(query))
        assert page.status_code == 200, page.text[:300]
        args = {k: int(v) if k == "min_domains" else v for k, v in query.items()}
        rows = reports.prospects_broken(store, **args, limit=100)
        assert _urls(page.text) == [r["target_url"] for r in rows] and rows, query
    page = client.get("/reports/prospects_broken?near=mysite.test&topic=espresso").text
    assert "linkback prospects broken --near mysite.test --topic espresso --limit 100" in page
    (row,) = table(page)
    assert row[0][1] == ["https://deadsite.test/espresso-grinders",
                         "/reports/backlinks?target=https%3A%2F%2Fdeadsite.test%2Fespresso-grinders"]  # fmt: skip
    contacts = [c for c in row if any(h and h.startswith("https://s") for h in c[1])][0][1]
    assert sorted(contacts) == [f"https://s{n}.test/links" for n in range(1, 5)]  # each a link
    assert f"{SITE}/guides/espresso-guide" in [h for c in row for h in c[1]]  # your page to offer instead
    every = client.get("/reports/prospects_broken").text  # the teapots' anchors: one is hostile
    assert "&lt;svg onload=window.__xss=1&gt;" in every and "<svg onload" not in every
    bad = client.get("/reports/prospects_broken?topic=%20the%20")
    assert bad.status_code == 400 and "--topic" in bad.text


# --- in Chromium, by keyboard --------------------------------------------------------------------


def with_axe(signed_in: Any, url: str, paths: list[str], dark: list[str] | None = None) -> list[str]:
    """Serious axe violations of ``paths`` at 1280 px in the light theme, and of ``dark`` (default:
    ``paths``) at 390 px in the dark one: the layout at both widths, the colours of both themes.
    The pages are opened with the session of the page ``signed_in``."""
    axe = AXE.read_text(encoding="utf-8")
    session = signed_in.context.storage_state()
    found: list[str] = []
    # axe is injected as an inline script, which the pages' CSP forbids: this context alone bypasses it.
    # One page for both themes (a new page costs about a CPU-second): the width and the theme are
    # set before each page is loaded, so it loads as it would in a browser of that width and theme.
    context = signed_in.context.browser.new_context(bypass_csp=True, storage_state=session)
    preload_axe(context, axe)
    try:
        page = context.new_page()
        for width, scheme, pages in ((1280, "light", paths), (390, "dark", paths if dark is None else dark)):
            page.set_viewport_size({"width": width, "height": 900})
            page.emulate_media(color_scheme=scheme)
            for path in pages:
                page.goto(url + path)
                found += run_axe(page, axe, f"{path} {width}px {scheme}")
    finally:
        context.close()
    return found


#: test_dashboard_a11y's FOCUSED, with the element's id.
FOCUSED = FOCUSED_A11Y.replace("return {tag:", "return {id: e.id || '', tag:")


def tab_to(page: Any, wanted: Any, most: int = 120) -> dict[str, Any]:
    """Press Tab until the focused element is ``wanted`` (a predicate of FOCUSED's dict); each one
    focused on the way must show that it is."""
    for _ in range(most):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is not None:
            assert focused["visible"], f"focused without a visible indicator: {focused}"
            if wanted(focused):
                return focused
    raise AssertionError(f"not reached in {most} Tabs")


def sign_in_by_keyboard(page: Any, url: str, path: str) -> None:
    """Open ``path``: the sign-in form comes first, its token field focused; type the token, Enter,
    and land on ``path``."""
    page.goto(url + path)
    page.wait_for_function("document.activeElement && document.activeElement.id === 'token'")
    page.keyboard.type(TOKEN)
    page.keyboard.press("Enter")
    page.wait_for_url(url + path)


def shot(page: Any, name: str, width: int) -> None:
    screenshot(page, f"{name}-{width}")


@pytest.mark.browser
def test_in_chromium_the_ledger_and_a_timeline_by_keyboard(copy: str, world: Any, web: HostWeb, browser: Any) -> None:
    ids = world[1]
    settings = Settings(db=copy, admin_token=TOKEN, allow_private=True, resolver=resolver)
    with ServerThread(settings) as url:
        problems: list[str] = []
        page = watched_page(browser, url, problems, 1280)
        sign_in_by_keyboard(page, url, "/monitor")
        assert page.evaluate(AUDIT) == CLEAN
        shot(page, "monitor", 1280)
        # Select the steady link, and check it now: the job runs in the server's runner.
        box = tab_to(page, lambda f: f["name"] == "ids" and f["value"] == str(ids["steady"]))
        page.keyboard.press("Space")
        assert page.evaluate("document.activeElement.checked") is True, box
        for _ in range(40):  # back up to the "Check selected now" button above the table
            page.keyboard.press("Shift+Tab")
            if page.evaluate("document.activeElement.textContent.trim()") == "Check selected now":
                break
        with page.expect_navigation(url=re.compile(r".*/monitor\?job=\d+")):
            page.keyboard.press("Enter")
        page.wait_for_selector("#job-h:has-text(': done')", timeout=60_000)  # the page reloads until then
        assert "1 of 1 links checked" in page.inner_text("#job-h + p")
        # To the link's timeline by its number.
        tab_to(page, lambda f: f["tag"] == "a" and f["href"] == f"/monitor/{ids['steady']}")
        with page.expect_navigation(url=url + f"/monitor/{ids['steady']}"):
            page.keyboard.press("Enter")
        assert page.locator("ol.timeline > li").count() == 3  # two checks before, and this one
        newest = page.inner_text("ol.timeline > li >> nth=0")
        assert "Live" in newest and "127.0.0.1" in newest and "Archived" in newest
        assert page.evaluate(AUDIT) == CLEAN
        shot(page, "monitor-timeline", 1280)
        for path, name in (
            (f"/monitor/{ids['anchor']}", "monitor-timeline-changed"),
            (f"/monitor/{ids['hostile']}", ""),
        ):
            page.goto(url + path)
            assert page.evaluate(AUDIT) == CLEAN, path
            if name:
                shot(page, name, 1280)
        page.set_viewport_size({"width": 390, "height": 900})
        for path, name in (("/monitor", "monitor"), (f"/monitor/{ids['anchor']}", "monitor-timeline-changed")):
            page.goto(url + path)
            shot(page, name, 390)
        assert problems == [], problems
        # Every verdict's colour is on the ledger: it is the page checked in the dark theme too.
        found = with_axe(page, url, ["/monitor", f"/monitor/{ids['anchor']}"], dark=["/monitor"])
        assert found == [], "\n".join(found)


@pytest.mark.browser
def test_in_chromium_broken_backlinks_and_prospects_by_keyboard(world: Any, browser: Any) -> None:
    with ServerThread(Settings(db=world[0], admin_token=TOKEN)) as url:
        problems: list[str] = []
        page = watched_page(browser, url, problems, 1280)
        sign_in_by_keyboard(page, url, "/reports/backlinks")
        tab_to(page, lambda f: f["tag"] == "a" and f["text"] == "Broken backlinks")
        with page.expect_navigation(url=url + "/reports/broken"):
            page.keyboard.press("Enter")
        tab_to(page, lambda f: f["name"] == "target" and f["type"] == "text")  # not the header's search
        page.keyboard.type("mysite.test")
        page.keyboard.press("Enter")
        page.wait_for_selector("table.data tbody tr")
        assert page.locator("table.data tbody tr").count() == 3
        assert page.evaluate(AUDIT) == CLEAN
        shot(page, "broken", 1280)
        tab_to(page, lambda f: f["tag"] == "a" and f["text"].startswith("its backlinks"))
        with page.expect_navigation(url=re.compile(r".*/reports/backlinks\?target=")):
            page.keyboard.press("Enter")
        assert page.locator("table.data tbody tr").count() >= 2
        page.goto(url + "/reports/prospects_broken")
        tab_to(page, lambda f: f["name"] == "near")
        page.keyboard.type("mysite.test")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r".*near=mysite\.test.*"))
        page.wait_for_selector("table.data tbody tr")
        assert page.evaluate(AUDIT) == CLEAN
        shot(page, "prospects", 1280)
        page.set_viewport_size({"width": 390, "height": 900})
        for path, name in (
            ("/reports/broken?target=mysite.test", "broken"),
            ("/reports/prospects_broken?near=mysite.test", "prospects"),
        ):
            page.goto(url + path)
            shot(page, name, 390)
        assert problems == [], problems
        # The table's template is test_dashboard_a11y's too: one of the two pages in the dark theme.
        broken, prospects = "/reports/broken?target=mysite.test", "/reports/prospects_broken?near=mysite.test"
        found = with_axe(page, url, [broken, prospects], dark=[broken])
        assert found == [], "\n".join(found)
