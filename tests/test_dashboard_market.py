"""The dashboard's pages beyond your own links (issue 16): ``/compare`` (targets side by side and
their referring domains in one chart), ``/intersect`` (the link intersect, a cell per target
linking to the backlinks behind it), ``/traffic`` (channels → sources → referring pages as bar
rows, visits over time) and the table pages of ``categories``, ``linked_domains`` and
``silent_backlinks``.

The store is real: links as ingest stores them (hostile anchors among them), a rank run, the
categorize job, and an access log read by ``read_visits`` (a hostile referrer and utm_source among
its lines). In-process tests check each page shows the rows its function gives with the same
parameters and escapes what third parties wrote; one Chromium test per page, by keyboard alone,
with screenshots at 1280 and 390 px and axe-core's check.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import escape, unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from browserkit import AUDIT, CLEAN, chromium, watched_page
from fastapi.testclient import TestClient
from linkrows import insert, link, ts
from serverkit import Settings
from test_dashboard_monitor import TOKEN, shot, sign_in, sign_in_by_keyboard, tab_to, with_axe

from linkback.categories import categories, categorize
from linkback.rank import rank
from linkback.reports import compare, compare_trend, intersect, linked_domains
from linkback.reports._cursor import next_cursor
from linkback.server import ServerThread, create_app
from linkback.store import Store
from linkback.traffic import read_visits, silent_backlinks, traffic, traffic_trend

SCRIPT = "<script>window.__xss=1</script>"
IMG = "<img src=x onerror=window.__xss=1>"
MINE, RIVAL, OTHER, THIRD = "mine.example", "rival.example", "other.example", "third.example"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def _links() -> list[dict[str, Any]]:
    """Sources linking to the rivals, some to mine too, on different days (the chart's lines)."""
    rows = []
    plan = {
        "news.example": (RIVAL, OTHER, THIRD),
        "blog.example": (RIVAL, OTHER),
        "shared.example": (RIVAL, OTHER, MINE),  # links to mine: not a gap
        "evil.example": (RIVAL, OTHER),
        "lone.example": (RIVAL,),
        "forum.example": (OTHER, THIRD, MINE),
        "wiki.example": (MINE,),
    }
    for n, (source, targets) in enumerate(plan.items()):
        for i, target in enumerate(targets):
            anchor = SCRIPT if source == "evil.example" else f"{target} review"
            rows.append(link(f"https://{source}/post-{i}", f"https://{target}/page", anchor=anchor,
                             first_seen=ts(f"2024-0{1 + n % 6}-{10 + i:02d}"), last_seen=ts("2024-09-01")))  # fmt: skip
    rows.append(link("https://news.example/second", f"https://{RIVAL}/", anchor=IMG, first_seen=ts("2024-02-02")))
    return sorted(rows, key=lambda r: r["target_rhost"])


def _log(path: Path) -> Path:
    """An access log of rival.example: a referral from a page with backlinks, a search visit, a
    hostile referrer and a hostile utm_source."""

    def line(ip: str, day: int, page: str, referrer: str) -> str:
        return f'{ip} - - [{day:02d}/Aug/2024:10:00:00 +0000] "GET {page} HTTP/1.1" 200 900 "{referrer}" "{UA}"'

    lines = [line(f"10.0.0.{i}", 1 + i, "/page", "https://news.example/post-0") for i in range(5)]
    lines += [line(f"10.0.1.{i}", 3 + i, "/", "https://www.google.com/") for i in range(3)]
    lines += [line("10.0.2.1", 9, "/page", f"http://evil.example/{SCRIPT}")]
    lines += [line("10.0.2.2", 9, f"/?utm_source={IMG}&utm_medium=referral", "-")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("market")
    path = str(folder / "market.duckdb")
    with Store(path) as store:
        insert(store, "links", _links())
        rank(store)
        categorize(store)
        (result,) = read_visits(store, [_log(folder / "access.log")], host=RIVAL, scheme="https")
        assert result.added == 10, result
    return path


@pytest.fixture(scope="module")
def client(db: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(db=db, admin_token=TOKEN))) as c:
        sign_in(c)
        yield c


@pytest.fixture(scope="module")
def store(client: TestClient) -> Store:
    """The server's own store: the functions called on it read what its pages read."""
    return client.app.state.linkback.request_store()


def hostile_free(html: str) -> None:
    assert "<script>window" not in html and "<img src=x" not in html, html[:300]
    assert 'href="javascript:' not in html.lower()


def cells(html: str, table_class: str) -> list[list[str]]:
    """The text of each body row's cells of the table of ``table_class``."""
    table = html.split(f'class="data {table_class}"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [
        [
            " ".join(unescape(re.sub(r"<[^>]+>", " ", c)).split())
            for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


# --- compare ---------------------------------------------------------------------------------------


def test_compare_shows_compares_rows_side_by_side_and_the_trend_of_each(client: TestClient, store: Store) -> None:
    targets = [RIVAL, OTHER, MINE]
    html = client.get("/compare?" + urlencode([("targets", t) for t in targets] + [("by", "month")])).text
    rows = compare(store, targets)
    table = {row[0]: row[1:] for row in cells(html, "compare")}
    assert table["Referring domains"] == [str(r["referring_domains"]) for r in rows]
    assert table["Backlinks"] == [str(r["backlinks"]) for r in rows]
    assert table["Domain Rating"] == [f"{r['dr']:.1f}" for r in rows]
    assert table["Dofollow share"] == [f"{r['dofollow_share']:.1%}" for r in rows]
    # The chart's data: a line per target, its values compare_trend's.
    data = json.loads(re.search(r'<script type="application/json" id="lines-data">(.*?)</script>', html).group(1))
    trend = compare_trend(store, targets, by="month")
    assert [s["label"] for s in data["series"]] == targets
    for s in data["series"]:
        assert s["values"] == [r["referring_domains"] for r in trend if r["target"] == s["label"]]
    assert data["x"] == list(dict.fromkeys(r["until"].isoformat() for r in trend))
    assert "linkback compare rival.example other.example mine.example --by month" in html
    assert html.count('<svg class="dash"') == 3  # the legend: a dash pattern per line
    assert '<script src="/static/lines.js">' in html


def test_compare_says_what_is_wrong_and_escapes_it(client: TestClient) -> None:
    r = client.get("/compare?" + urlencode({"targets": f"{RIVAL} {SCRIPT}"}))
    assert r.status_code == 400 and 'role="alert"' in r.text
    hostile_free(r.text)
    many = client.get("/compare?" + urlencode({"targets": " ".join(f"t{i}.example" for i in range(11))}))
    assert many.status_code == 400 and "at most 10" in many.text
    assert client.get("/compare?targets=nowhere.example").status_code == 400  # no link to it


# --- intersect -------------------------------------------------------------------------------------


def test_intersect_rows_are_the_functions_with_a_cell_per_target(client: TestClient, store: Store) -> None:
    query = urlencode([("targets", RIVAL), ("targets", OTHER), ("targets", THIRD), ("exclude", MINE)])
    html = client.get("/intersect?" + query).text
    hostile_free(html)
    rows = intersect(store, [RIVAL, OTHER, THIRD], exclude=[MINE], limit=100)
    shown = cells(html, "intersect")
    assert [r[0].split(" where it links")[0] for r in shown] == [r["source"] for r in rows]
    assert [r[2] for r in shown] == [str(r["targets"]) for r in rows]
    assert "shared.example" not in [r["source"] for r in rows] and len(rows) >= 3
    assert "linkback intersect rival.example other.example third.example --not mine.example --min 2" in html
    # A cell's count links to the backlinks behind it: that target's, from that domain.
    first = rows[0]
    for cell in first["cells"]:
        if not cell["links"]:
            continue
        href = f"/reports/backlinks?{urlencode({'target': cell['target'], 'from_domain': first['domain']})}"
        assert f'href="{href.replace("&", "&amp;")}"' in html
        behind = client.get(href).text
        assert behind.count(f"https://{first['domain']}/") >= cell["links"]
    # Each row links to where the source links out, a table page of linked_domains.
    assert f"/reports/linked_domains?domain={first['domain']}" in html
    out = client.get(f"/reports/linked_domains?domain={first['domain']}").text
    for row in linked_domains(store, first["domain"]):
        assert f"<td>{row['domain']}</td>" in out
    assert "linkback linked-domains news.example" in out


def test_intersect_pages_as_the_cursor_says(client: TestClient, store: Store) -> None:
    base = [("targets", RIVAL), ("targets", OTHER), ("targets", THIRD), ("min_targets", "1"), ("limit", "2")]
    html = client.get("/intersect?" + urlencode(base)).text
    every = intersect(store, [RIVAL, OTHER, THIRD], min_targets=1)
    assert [r[0].split(" where")[0] for r in cells(html, "intersect")] == [r["source"] for r in every[:2]]
    (href,) = re.findall(r'<a href="\?([^"]+)" rel="next">', html)
    params = parse_qs(unescape(href))
    assert params["after"] == [next_cursor("intersect", "targets", every[1])] and params["start"] == ["3"]
    second = client.get("/intersect?" + unescape(href)).text
    assert [r[0].split(" where")[0] for r in cells(second, "intersect")] == [r["source"] for r in every[2:4]]
    assert "Rows 3–4" in second and "« First page" in second


def test_intersect_of_pages_followed_only(client: TestClient, store: Store) -> None:
    query = urlencode({"targets": f"{RIVAL} {OTHER}", "pages": "yes", "follow": "yes", "min_targets": "1"})
    html = client.get("/intersect?" + query).text
    rows = intersect(store, [RIVAL, OTHER], min_targets=1, pages=True, follow=True, limit=100)
    assert [r[0].split(" where")[0] for r in cells(html, "intersect")] == [r["source"] for r in rows] and rows
    assert "linkback intersect rival.example other.example --min 1 --pages --follow --limit 100" in html


def test_intersect_refuses_what_cannot_be(client: TestClient) -> None:
    r = client.get("/intersect?" + urlencode({"targets": RIVAL, "min_targets": "3"}))
    assert r.status_code == 400 and "min_targets 3" in r.text
    bad = client.get("/intersect?" + urlencode({"targets": f"{RIVAL} {OTHER}", "exclude": RIVAL}))
    assert bad.status_code == 400 and "both a target and excluded" in bad.text


# --- categories, silent backlinks: table pages ----------------------------------------------------


def test_categories_and_silent_backlinks_are_table_pages(client: TestClient, store: Store) -> None:
    html = client.get(f"/reports/categories?target={RIVAL}").text
    rows = categories(store, RIVAL)
    assert rows and all(f"<td>{unescape(r['category'])}</td>" in unescape(html) for r in rows)
    assert "linkback categories rival.example" in html and "Categories of referring domains" in html
    silent = client.get(f"/reports/silent_backlinks?target={RIVAL}").text
    hostile_free(silent)
    quiet = silent_backlinks(store, RIVAL)
    assert quiet and all(r["source_url"] in silent for r in quiet)
    assert "https://news.example/post-0" not in [r["source_url"] for r in quiet]  # it sent visits
    assert "linkback silent-backlinks rival.example" in silent


# --- traffic ---------------------------------------------------------------------------------------


def bar_rows(html: str) -> list[tuple[str, str, str]]:
    """(label, href, count) of each bar row of the drill-down."""
    found = re.findall(r'<span class="lab">.*?<span>(?:<a href="([^"]*)"[^>]*>)?(.*?)(?:</a>)?</span></span>'
                       r'<span class="n">([\d,]+)', html, re.S)  # fmt: skip
    return [(unescape(re.sub(r"<[^>]+>", "", label)), unescape(href), n) for href, label, n in found]


def test_traffic_drills_down_channel_source_referrer(client: TestClient, store: Store) -> None:
    html = client.get(f"/traffic?target={RIVAL}").text
    hostile_free(html)
    channels = traffic(store, RIVAL)
    shown = bar_rows(html)
    assert [(label, n) for label, _, n in shown] == [(r["channel"], str(r["visits"])) for r in channels]
    assert "linkback traffic rival.example --by channel" in html
    # A channel: its sources (the hostile utm_source among them, escaped).
    referral = next(href for label, href, _ in shown if label == "Referral")
    html = client.get(referral).text
    hostile_free(html)
    sources = traffic(store, RIVAL, by="source", channel="Referral")
    shown = bar_rows(html)
    assert [(label, n) for label, _, n in shown] == [(r["source"], str(r["visits"])) for r in sources]
    assert IMG in [label for label, _, _ in shown]
    hostile = client.get(next(href for label, href, _ in shown if label == IMG))
    assert hostile.status_code == 200 and "(none)" in hostile.text  # no referrer, only a utm_source
    hostile_free(hostile.text)
    assert 'aria-current="page">Referral<' in html
    # A source: its referring pages, each with the backlinks on it.
    news = next(href for label, href, _ in shown if label == "news.example")
    html = client.get(news).text
    pages = traffic(store, RIVAL, by="referrer", channel="Referral", source="news.example")
    assert pages[0]["backlinks"] == 1 and 'href="https://news.example/post-0"' in html
    # The count links to exactly the links on that page (not all of news.example's).
    behind = f"/reports/backlinks?{urlencode({'target': RIVAL, 'from_url': 'https://news.example/post-0'})}"
    assert f'href="{escape(behind)}">1<' in html
    listed = client.get(behind).text.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert len(re.findall(r"<tr>", listed)) == pages[0]["backlinks"]
    # Visits over time: traffic_trend's, a line per referring domain.
    data = json.loads(
        re.search(r'id="lines-data">(.*?)</script>', client.get(f"/traffic?target={RIVAL}").text).group(1)
    )
    trend = traffic_trend(store, RIVAL, by="week", limit=5)
    assert sorted(s["label"] for s in data["series"]) == sorted({r["domain"] for r in trend})
    assert sum(sum(s["values"]) for s in data["series"]) == sum(r["visits"] for r in trend)


def test_traffic_refuses_an_unknown_channel(client: TestClient) -> None:
    r = client.get("/traffic?" + urlencode({"target": RIVAL, "channel": SCRIPT}))
    assert r.status_code == 400 and "channel must be one of" in r.text
    hostile_free(r.text)


# --- in Chromium: keyboard only --------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(db: str) -> Iterator[str]:
    with ServerThread(Settings(db=db, admin_token=TOKEN)) as url:
        yield url


@pytest.fixture
def served(server: str) -> Iterator[tuple[str, Any]]:
    """The module's server, and Chromium for one test (the process's shared one: contexts of its own)."""
    with chromium() as browser:
        yield server, browser


def _both_widths(page: Any, name: str) -> None:
    shot(page, name, 1280)
    page.set_viewport_size({"width": 390, "height": 900})
    page.reload()
    shot(page, name, 390)
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.browser
def test_in_chromium_compare_by_keyboard(served: tuple[str, Any]) -> None:
    url, browser = served
    problems: list[str] = []
    page = watched_page(browser, url, problems, 1280)
    sign_in_by_keyboard(page, url, "/compare")
    tab_to(page, lambda f: f["id"] == "c-targets")
    page.keyboard.type(f"{RIVAL} {OTHER} {THIRD} {MINE}")
    page.keyboard.press("Enter")
    page.wait_for_selector("#lines canvas")
    assert page.evaluate(AUDIT) == CLEAN
    assert page.locator("table.compare tbody tr").count() >= 9
    _both_widths(page, "compare")
    assert problems == [], problems
    path = "/compare?" + urlencode({"targets": f"{RIVAL} {OTHER} {THIRD} {MINE}"})
    found = with_axe(page, url, [path])
    assert found == [], "\n".join(found)


@pytest.mark.browser
def test_in_chromium_intersect_by_keyboard(served: tuple[str, Any]) -> None:
    url, browser = served
    problems: list[str] = []
    page = watched_page(browser, url, problems, 1280)
    sign_in_by_keyboard(page, url, "/intersect")
    tab_to(page, lambda f: f["id"] == "i-targets")
    page.keyboard.type(f"{RIVAL} {OTHER} {THIRD}")
    page.keyboard.press("Tab")
    page.keyboard.type(MINE)
    page.keyboard.press("Enter")
    page.wait_for_selector("table.intersect")
    assert page.evaluate(AUDIT) == CLEAN
    _both_widths(page, "intersect")
    # A cell's count opens the backlinks behind it.
    tab_to(page, lambda f: f["href"].startswith("/reports/backlinks?target=rival.example&from_domain=news.example"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("table.data tbody tr").count() == 2
    assert problems == [], problems
    path = "/intersect?" + urlencode({"targets": f"{RIVAL} {OTHER} {THIRD}", "exclude": MINE})
    found = with_axe(page, url, [path, f"/reports/categories?target={RIVAL}"], dark=[path])
    assert found == [], "\n".join(found)


@pytest.mark.browser
def test_in_chromium_traffic_drill_down_by_keyboard(served: tuple[str, Any]) -> None:
    url, browser = served
    problems: list[str] = []
    page = watched_page(browser, url, problems, 1280)
    sign_in_by_keyboard(page, url, f"/traffic?target={RIVAL}")
    page.wait_for_selector("#lines canvas")
    assert page.evaluate(AUDIT) == CLEAN
    _both_widths(page, "traffic")
    tab_to(page, lambda f: f["tag"] == "a" and f["text"] == "Referral")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    tab_to(page, lambda f: f["tag"] == "a" and f["text"] == "news.example")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "source=news.example" in urlsplit(page.url).query
    assert page.locator("ol.refs li:not(.head)").count() == 1
    assert page.evaluate(AUDIT) == CLEAN
    _both_widths(page, "traffic-referrers")
    assert problems == [], problems
    found = with_axe(page, url, [f"/traffic?target={RIVAL}", f"/traffic?target={RIVAL}&channel=Referral&source=news.example"],
                     dark=[f"/traffic?target={RIVAL}"])  # fmt: skip
    assert found == [], "\n".join(found)
