"""The dashboard's Alerts page (issue 15): the alerts, each linking to its evidence; the rules of each
site with a form to add one and buttons to remove them; each site's Atom feed URL; "Run now".

The alerts are real: rules added with ``alert_rule_add`` before the monitor (against a local
multi-host web) and the ingest of pages saw links change, then ``evaluate_alerts``. Anchors in
them are hostile. In-process tests check the page shows the functions' rows, its forms call the
actions (CSRF checked) and say what they refuse; one Chromium test is driven by keyboard alone.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from html import escape, unescape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from browserkit import AUDIT, CLEAN, chromium, watched_page
from fastapi.testclient import TestClient
from serverkit import Settings
from test_dashboard_monitor import (
    IMG,
    TARGET,
    TOKEN,
    indexed_pages,
    served,
    shot,
    sign_in,
    sign_in_by_keyboard,
    tab_to,
    with_axe,
)
from test_monitor import POLICY, html, resolver
from webkit import HostWeb, Page

from linkback import alerts as al
from linkback import shares
from linkback.ingest import record_pages
from linkback.monitor import monitor_add
from linkback.monitor._run import run_checks
from linkback.server import ServerThread, create_app
from linkback.server.web._alerts import evidence_href
from linkback.store import Store


def build_world(path: Path) -> dict[str, int]:
    """Rules of two sites, then the changes they tell of: a monitor check that saw an anchor change
    and a link removed, and newly ingested pages with links to a site and its broken pages."""
    with HostWeb() as web, Store(path) as store:
        for name in ("anchor", "removed", "steady"):
            web.pages[f"{name}.test", "/p"] = Page(html())
        ids = {name: monitor_add(store, web.url(f"{name}.test", "/p"), TARGET)["link_id"]
               for name in ("anchor", "removed", "steady")}  # fmt: skip
        # A loss confirmed in the run that sees it: the alerts of a lost link are what is shown here.
        options: dict[str, Any] = dict(
            policy=POLICY, resolver=resolver, delay=0.05, all_links=True, render="never", confirm_after=0
        )
        run_checks(store, warc_dir=path.parent / "warc", **options)
        # Nothing a server would deliver while the tests run: feeds are read, not sent.
        for event in ("lost_link", "changed"):
            al.alert_rule_add(store, "example.com", event, channel="atom")
        for event in ("new_link", "broken_target"):
            al.alert_rule_add(store, "mysite.test", event, channel="atom")
        web.pages["anchor.test", "/p"] = Page(html(anchor=escape(IMG)))
        web.pages["removed.test", "/p"] = Page(html(target="https://example.com/other"))
        run_checks(store, warc_dir=path.parent / "warc", **options)
        record_pages(store, indexed_pages(), origin="crawl")
        al.evaluate_alerts(store)
    return ids


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, int]]:
    path = tmp_path_factory.mktemp("alerts-dash") / "alerts.duckdb"
    return str(path), build_world(path)


@pytest.fixture
def copy(world: tuple[str, dict[str, int]], tmp_path: Path) -> str:
    target = tmp_path / "copy.duckdb"
    shutil.copy(world[0], target)
    return str(target)


@pytest.fixture(scope="module")
def client(world: tuple[str, dict[str, int]]) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(db=world[0], admin_token=TOKEN))) as c:
        yield c


def alert_ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<span class="sr-only"> of alert (\d+)</span>', page)]


def rule_ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'name="rule_id" value="(\d+)"', page)]


# --- what the page shows ------------------------------------------------------------------------


def test_the_alerts_are_the_alerts_reports_rows_each_linking_to_its_evidence(client: TestClient, world: Any) -> None:
    sign_in(client)
    store = served(client)
    every = al.alerts(store)
    assert {a["event"] for a in every} == {"changed", "lost_link", "new_link", "broken_target"}
    for query in ({}, {"site": "example.com"}, {"site": "mysite.test", "event": "new_link"}, {"event": "changed"}):
        page = client.get("/alerts?" + urlencode(query))
        assert page.status_code == 200, page.text[:300]
        rows = al.alerts(store, **query, limit=100)
        assert alert_ids(page.text) == [a["alert_id"] for a in rows] and rows, query
        hrefs = re.findall(r'<a href="([^"]+)">evidence<span', page.text)
        assert [unescape(h) for h in hrefs] == [a["evidence"] for a in rows], query
        cli = "linkback alerts list" + "".join(f" --{k} {v}" for k, v in query.items()) + " --limit 100"
        assert cli in page.text
    ids = world[1]
    page = client.get("/alerts?event=changed").text
    assert f'href="/monitor/{ids["anchor"]}"' in page  # the evidence is the link's timeline
    assert client.get(f"/monitor/{ids['anchor']}").status_code == 200
    assert "&lt;img src=x" in page and "<img src=x" not in page  # the hostile anchor, as text
    lost = client.get("/alerts?event=lost_link").text
    assert f'href="/monitor/{ids["removed"]}"' in lost and "in the feed, not read yet" in lost


def test_the_rules_of_each_site_and_its_feed_url(client: TestClient) -> None:
    sign_in(client)
    store = served(client)
    page = client.get("/alerts").text
    assert rule_ids(page) == [r["rule_id"] for r in al.alert_rules(store)] and len(rule_ids(page)) == 4
    assert rule_ids(client.get("/alerts?site=mysite.test").text) == [
        r["rule_id"] for r in al.alert_rules(store, site="mysite.test")
    ]
    for site in ("example.com", "mysite.test"):
        feed = "http://testserver" + al.alert_feed(store, site)["path"]
        assert f'value="{escape(feed)}"' in page and f"linkback alerts feed {site}" in page
    assert "linkback alerts rules" in page and "linkback alerts run" in page


def test_the_feed_url_shown_is_the_sites_atom_feed(copy: str) -> None:
    with TestClient(create_app(Settings(db=copy, admin_token=TOKEN))) as client:
        sign_in(client)
        page = client.get("/alerts").text
        feed = unescape(re.search(r'id="feed-1" class="copy" type="text" readonly value="([^"]+)"', page).group(1))
        client.cookies.clear()  # a feed reader has no session: the token opens it
        atom = client.get(feed.removeprefix("http://testserver"))
        assert atom.status_code == 200 and atom.headers["content-type"].startswith("application/atom+xml")
        assert atom.text.count("<entry>") == len(al.alerts(served(client), site="example.com"))


def test_bad_filters_are_said_on_the_page(client: TestClient) -> None:
    sign_in(client)
    for query, said in (("event=nope", "event must be one of"), ("site=co.uk", "co.uk"), ("job=x", "")):
        page = client.get("/alerts?" + query)
        assert page.status_code in (400, 404) and said in page.text, query
    assert client.get("/alerts?job=1").status_code == 404  # not an alerts job


def test_an_evidence_link_is_a_path_here_or_nothing() -> None:
    assert evidence_href("/monitor/12") == "/monitor/12"
    assert (
        evidence_href("/reports/backlinks?target=a.com&from_domain=b.org")
        == "/reports/backlinks?target=a.com&from_domain=b.org"
    )
    for bad in (
        "javascript:alert(1)",
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "",
        None,
        "/a\nb",
    ):
        assert evidence_href(bad) == "", bad


# --- the forms ------------------------------------------------------------------------------------


def test_adding_rules_calls_alert_rule_add_and_says_what_it_refuses(copy: str) -> None:
    with TestClient(create_app(Settings(db=copy, admin_token=TOKEN))) as client:
        csrf = sign_in(client)
        store = served(client)
        form = {"csrf": csrf, "site": "example.com", "event": "lost_link", "channel": "webhook",
                "address": "https://hooks.example.net/links", "schedule": "immediate", "min_dr": "30", "follow_only": "yes"}  # fmt: skip
        page = client.post("/do/alerts/rules/add", data=form)
        assert page.status_code == 200 and "Copy it now" in page.text
        rule = al.alert_rules(store, site="example.com")[-1]
        assert (rule["event"], rule["channel"], rule["min_dr"], rule["follow_only"], rule["has_secret"]) == (
            "lost_link", "webhook", 30.0, True, True)  # fmt: skip
        secret = re.search(r'id="webhook-secret" class="copy" type="text" readonly value="([^"]+)"', page.text).group(1)
        assert len(secret) >= 20 and secret not in client.get("/alerts").text  # shown once
        assert "DR ≥ 30, followed links" in client.get("/alerts").text

        r = client.post("/do/alerts/rules/add", data={**form, "channel": "email", "address": "me@example.org",
                                                      "schedule": "weekly", "min_dr": ""}, follow_redirects=False)  # fmt: skip
        assert r.status_code == 303 and r.headers["location"] == "/alerts?site=example.com"
        assert al.alert_rules(store, site="example.com")[-1]["schedule"] == "weekly"
        r = client.post("/do/alerts/rules/add", data={**form, "site": "new.example", "channel": "atom", "address": "x",
                                                      "schedule": "daily"}, follow_redirects=False)  # fmt: skip
        assert r.status_code == 303 and al.alert_rules(store, site="new.example")[0]["schedule"] == "immediate"
        assert "http://testserver/feeds/alerts/new.example.atom?token=" in client.get(r.headers["location"]).text

        before = al.alert_rules(store)
        for fields, said in (
            ({"channel": "email", "address": "not an address"}, "is not a plain email address"),
            ({"channel": "webhook", "address": "javascript:alert(1)"}, "webhook"),
            ({"min_dr": "abc"}, "min DR: &#39;abc&#39; is not a number"),
            ({"min_dr": "500"}, "min_dr must be between 0 and 100"),
            ({"event": "nope"}, "event must be one of"),
            ({"site": "https://example.com/x"}, "not a URL"),
            ({"site": ""}, "rule not added"),
        ):
            page = client.post("/do/alerts/rules/add", data={**form, **fields})
            assert page.status_code == 400 and said in page.text, (fields, page.text[:2000])
            assert 'value="https://hooks.example.net/links"' in page.text or fields.get("address"), fields  # kept
        assert al.alert_rules(store) == before


def test_removing_a_rule_and_run_now(copy: str) -> None:
    with TestClient(create_app(Settings(db=copy, admin_token=TOKEN))) as client:
        csrf = sign_in(client)
        store = served(client)
        first = al.alert_rules(store)[0]["rule_id"]
        r = client.post("/do/alerts/rules/remove", data={"csrf": csrf, "rule_id": str(first)}, follow_redirects=False)
        assert r.status_code == 303 and first not in [x["rule_id"] for x in al.alert_rules(store)]
        again = client.post("/do/alerts/rules/remove", data={"csrf": csrf, "rule_id": str(first)})
        assert again.status_code == 404 and f"no alert rule {first}" in again.text
        assert client.post("/do/alerts/rules/remove", data={"csrf": csrf, "rule_id": "²"}).status_code == 404
        # Its alerts stay listed, without a channel to send them by.
        assert "not sent: its rule was removed" in client.get("/alerts").text

        r = client.post("/do/alerts/run", data={"csrf": csrf}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/alerts?job=")
        job = int(r.headers["location"].rsplit("=", 1)[1])
        assert store.con.execute("SELECT kind, params FROM jobs WHERE job_id = ?", [job]).fetchall() == [
            ("alerts_run", "{}")
        ]
        assert f"Alerts job {job}:" in client.get(r.headers["location"]).text


def test_every_alerts_form_needs_the_csrf_token(copy: str) -> None:
    with TestClient(create_app(Settings(db=copy, admin_token=TOKEN))) as client:
        sign_in(client)
        store = served(client)
        before = al.alert_rules(store)
        forms = {
            "/do/alerts/rules/add": {"site": "example.com", "event": "new_link", "channel": "atom"},
            "/do/alerts/rules/remove": {"rule_id": str(before[0]["rule_id"])},
            "/do/alerts/run": {},
        }
        for path, fields in forms.items():
            assert client.post(path, data=fields).status_code == 403, path
            assert client.post(path, data={**fields, "csrf": "forged"}).status_code == 403, path
        assert al.alert_rules(store) == before
        assert store.con.execute("SELECT count(*) FROM jobs").fetchall() == [(0,)]


def test_a_share_link_cannot_open_the_alerts_page_or_its_forms(copy: str) -> None:
    with Store(copy) as store:
        made = shares.create_share(store, site="example.com")
    with TestClient(create_app(Settings(db=copy, admin_token=TOKEN))) as client:
        client.get(made["path"])
        assert client.get("/alerts", follow_redirects=False).status_code == 403
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/overview?target=example.com").text).group(1)
        for path in ("/do/alerts/run", "/do/alerts/rules/remove", "/do/alerts/rules/add"):
            assert client.post(path, data={"csrf": csrf, "rule_id": "1"}).status_code == 403, path


# --- in Chromium, by keyboard --------------------------------------------------------------------


@pytest.mark.browser
def test_in_chromium_alerts_and_rules_by_keyboard(copy: str, world: Any) -> None:
    ids = world[1]
    with ServerThread(Settings(db=copy, admin_token=TOKEN)) as url, chromium() as browser:
        problems: list[str] = []
        page = watched_page(browser, url, problems, 1280)
        sign_in_by_keyboard(page, url, "/alerts")
        assert page.evaluate(AUDIT) == CLEAN
        shot(page, "alerts", 1280)
        # A rule: lost links from DR 30 up, followed only, by a daily email.
        tab_to(page, lambda f: f["id"] == "r-site")
        page.keyboard.type("example.com")
        page.keyboard.press("Tab")  # the event
        page.keyboard.press("ArrowDown")  # a new link → a lost link
        page.keyboard.press("Tab")
        page.keyboard.type("30")
        page.keyboard.press("Tab")
        page.keyboard.press("Space")  # followed links only
        page.keyboard.press("Tab")  # by: webhook → email
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Tab")
        page.keyboard.type("me@example.org")
        page.keyboard.press("Tab")  # email: at once → daily digest
        page.keyboard.press("ArrowDown")
        tab_to(page, lambda f: f["text"] == "Add rule")
        with page.expect_navigation(url=url + "/alerts?site=example.com"):
            page.keyboard.press("Enter")
        row = page.locator("tr", has_text="me@example.org")
        assert row.count() == 1
        said = " ".join(row.inner_text().split())
        assert "lost_link" in said and "daily" in said and "DR ≥ 30, followed links" in said, said
        # Remove it again, by its button.
        rule = int(row.locator("td >> nth=0").inner_text())
        tab_to(page, lambda f: f["tag"] == "button" and f["text"].startswith(f"Remove rule {rule} "))
        with page.expect_navigation(url=url + "/alerts"):
            page.keyboard.press("Enter")
        assert page.locator("tr", has_text="me@example.org").count() == 0
        # Run now: the job runs in the server's runner; the page follows it.
        tab_to(page, lambda f: f["text"] == "Run now")
        with page.expect_navigation(url=re.compile(r".*/alerts\?job=\d+")):
            page.keyboard.press("Enter")
        page.wait_for_selector("#job-h:has-text(': done')", timeout=60_000)
        assert "rules looked" in page.inner_text("#job-h + p")
        # An alert's evidence: the link's timeline.
        tab_to(page, lambda f: f["tag"] == "a" and f["href"] == f"/monitor/{ids['anchor']}")
        with page.expect_navigation(url=url + f"/monitor/{ids['anchor']}"):
            page.keyboard.press("Enter")
        assert page.locator("ol.timeline > li").count() == 2
        page.goto(url + "/alerts")
        page.set_viewport_size({"width": 390, "height": 900})
        page.goto(url + "/alerts")
        shot(page, "alerts", 390)
        assert problems == [], problems
        found = with_axe(page, url, ["/alerts"])
        assert found == [], "\n".join(found)
