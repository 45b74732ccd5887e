"""The overview's categories widget (issue 16): the Tier-1 category mix of a target's referring
domains as bar rows, from the ``categories`` report, each row linking to its table page.

The store is real: pages and links as ingest stores them (a hostile anchor among them), then the
``categorize`` job queued from the widget's own empty state. In-process tests check the bars are
the report's rows (share of every referring domain, count), a share link sees them without the
admin's links, and a hostile target stays text; one Chromium test reaches a bar's page by keyboard,
with screenshots at 1280 and 390 px and axe-core's check.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from browserkit import AUDIT, CLEAN, SHOTS, chromium, wants_screenshot, watched_page
from fastapi.testclient import TestClient
from linkrows import insert, link
from serverkit import Settings, wait_for
from test_categories import page
from test_dashboard_monitor import TOKEN, shot, sign_in, sign_in_by_keyboard, tab_to, with_axe
from test_dashboard_share import make_link, open_link

from linkback.categories import NOT_CATEGORIZED, categories, categorize
from linkback.server import ServerThread, create_app
from linkback.server._jobs import read_job
from linkback.server.web import _overview
from linkback.store import Store

TARGET = "example.com"
SCRIPT = "<script>window.__xss=1</script>"
#: Referring pages whose titles say their topic; late.example has no page (never categorized).
PAGES = [
    page("https://www.example.com/", "Trail running shoes and hiking boots"),
    page("https://kicker.example/bundesliga/derby", "Bundesliga: Hertha gewinnt das Derby"),
    page("https://tennis.example/open", "Tennis: the open final, set by set"),
    page("https://cakes.example/recipes/lemon-cake", "Lemon cake recipe"),
    page("https://travel.example/hotels", "Cheap hotels and flights for your holiday"),
    page("https://blank.example/", "Home"),
]
SOURCES = ["kicker.example/bundesliga/derby", "tennis.example/open", "cakes.example/recipes/lemon-cake",
           "travel.example/hotels", "blank.example/", "late.example/x"]  # fmt: skip


def links() -> list[dict[str, Any]]:
    made = [
        link(f"https://{s}", "https://www.example.com/", anchor=SCRIPT if "blank" in s else "shoes") for s in SOURCES
    ]
    return sorted(made, key=lambda r: r["target_rhost"])


@pytest.fixture(scope="module")
def uncategorized(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("widget") / "w.duckdb")
    with Store(path) as store:
        insert(store, "links", links())
        insert(store, "pages", PAGES)
    return path


@pytest.fixture(scope="module")
def db(uncategorized: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("widget-done") / "w.duckdb")
    Path(path).write_bytes(Path(uncategorized).read_bytes())
    with Store(path) as store:
        categorize(store)
    return path


@pytest.fixture(scope="module")
def client(db: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(db=db, admin_token=TOKEN))) as c:
        sign_in(c)
        yield c


def widget(html: str) -> str:
    return html.split('aria-labelledby="categories-h"', 1)[1].split("</section>", 1)[0]


def bar_rows(html: str) -> list[tuple[str, str, str, str]]:
    """(label, href, count, share) of each bar row of the widget."""
    found = re.findall(r'<tr><th scope="row">(?:<a href="([^"]*)">)?(.*?)(?:</a>)?</th>.*?<td class="num">(.*?)</td>'
                       r'<td class="num dim">(.*?)</td></tr>', widget(html), re.S)  # fmt: skip
    return [(unescape(label), unescape(href), n, share) for href, label, n, share in found]


def test_the_bars_are_the_category_reports_rows_each_linking_to_its_page(client: TestClient) -> None:
    html = client.get(f"/overview?target={TARGET}").text
    rows = categories(client.app.state.linkback.request_store(), TARGET)
    assert len([r for r in rows if r["tier1"]]) >= 3  # the titles said enough
    shown = bar_rows(html)
    assert [(label, n, share) for label, _, n, share in shown] == [
        (r["category"], str(r["domains"]), f"{r['share']:.1%}") for r in rows
    ]
    every = "/reports/categories?" + urlencode({"target": TARGET})
    for (label, href, _, _), row in zip(shown, rows, strict=True):
        assert href == every + ("&tier=2" if row["tier1"] else ""), label
    # The page behind a bar lists the same categories (its Tier-2 rows begin with the Tier-1 name).
    behind = unescape(client.get(shown[0][1]).text)
    assert f"<td>{rows[0]['category']} > " in behind or f"<td>{rows[0]['category']}</td>" in behind
    text = " ".join(unescape(re.sub(r"<[^>]+>", "", widget(html))).split())
    assert f"as CLI: linkback categories {TARGET} · Tier 2" in text
    assert "1 not categorized yet: linkback categorize reads them." in text  # late.example: no page to read
    assert SCRIPT not in html


def test_more_categories_than_bars_are_one_bar_of_the_rest(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = categories(client.app.state.linkback.request_store(), TARGET)
    named = [r for r in rows if r["tier1"]]
    monkeypatch.setattr(_overview, "CATEGORY_BARS", 1)
    mix = _overview.category_mix(TARGET, rows)["category_bars"]
    assert [b["label"] for b in mix] == [named[0]["category"], f"{len(named) - 1} other categories"] + [
        r["category"] for r in rows if not r["tier1"]
    ]
    assert mix[1]["count"] == sum(r["domains"] for r in named[1:])
    assert mix[1]["share"] == pytest.approx(sum(r["share"] for r in named[1:]))
    assert sum(b["share"] for b in mix) == pytest.approx(1.0)
    assert max(b["width"] for b in mix) == 100


def test_a_share_link_sees_the_mix_without_the_admins_links(client: TestClient, db: str) -> None:
    secret = make_link(client, TARGET)
    with TestClient(client.app) as visitor:
        open_link(visitor, secret)
        html = visitor.get(f"/overview?target={TARGET}").text
        shown = bar_rows(html)
        assert shown and all(href == "" for _, href, _, _ in shown)
        assert "/do/categorize" not in html


def test_the_empty_state_says_how_and_queues_the_categorize_job(uncategorized: str, tmp_path: Path) -> None:
    path = tmp_path / "copy.duckdb"
    path.write_bytes(Path(uncategorized).read_bytes())
    with TestClient(create_app(Settings(db=str(path), admin_token=TOKEN))) as c:
        csrf = sign_in(c)
        before = widget(c.get(f"/overview?target={TARGET}").text)
        rows = categories(c.app.state.linkback.request_store(), TARGET)
        assert [r["category"] for r in rows] == [NOT_CATEGORIZED]
        assert "No referring domain has a category yet (6 wait for one)" in before
        assert "<code>categorize</code> job" in before and 'action="/do/categorize"' in before
        assert '<code class="words"><span>linkback</span> <span>categorize</span></code>' in before
        assert '<table class="bars"' not in before
        assert c.post("/do/categorize", data={"csrf": "wrong"}).status_code == 403
        r = c.post("/do/categorize", data={"csrf": csrf}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/jobs"
        reader = c.app.state.linkback.reader
        job = reader().execute("SELECT max(job_id) FROM jobs WHERE kind = 'categorize'").fetchall()[0][0]
        done = wait_for(lambda: (j := read_job(reader(), job)) and j["state"] not in ("queued", "running") and j)
        assert done["state"] == "done" and done["result"]["domains"] == len({p["domain"] for p in PAGES}), done
        after = c.get(f"/overview?target={TARGET}").text  # the cached page is dropped by the job's writes
        assert [label for label, *_ in bar_rows(after)] == [
            r["category"] for r in categories(c.app.state.linkback.request_store(), TARGET)
        ]


# --- in Chromium: keyboard only --------------------------------------------------------------------


@pytest.mark.browser
def test_in_chromium_a_category_bar_leads_to_its_page_by_keyboard(db: str) -> None:
    with ServerThread(Settings(db=db, admin_token=TOKEN)) as url, chromium() as browser:
        problems: list[str] = []
        page = watched_page(browser, url, problems, 1280)
        path = f"/overview?target={TARGET}"
        sign_in_by_keyboard(page, url, path)
        page.wait_for_selector("#chart canvas")
        assert page.evaluate(AUDIT) == CLEAN
        shot(page, "overview-categories", 1280)
        page.set_viewport_size({"width": 390, "height": 900})
        page.reload()
        shot(page, "overview-categories", 390)
        card = page.locator('[aria-labelledby="categories-h"]')
        card.wait_for()  # shown at 390 px, whether or not its picture is taken
        if wants_screenshot("overview-categories-card-390"):
            SHOTS.mkdir(parents=True, exist_ok=True)
            card.screenshot(path=str(SHOTS / "overview-categories-card-390.png"))
        page.set_viewport_size({"width": 1280, "height": 900})
        first = page.locator('[aria-labelledby="categories-h"] table.bars th a').first.inner_text()
        tab_to(page, lambda f: f["tag"] == "a" and f["text"] == first, most=200)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "/reports/categories?target=example.com&tier=2" in page.url
        assert page.locator("table.data tbody tr").count() >= 3
        assert problems == [], problems
        found = with_axe(page, url, [path])
        assert found == [], "\n".join(found)
