"""The overview page: a period and a comparison from the URL (form controls without JS), the top
stats with their changes, the two charts' data and the table under them that links to the lists
behind the bars, the page-section distribution, and the server's cache that any write drops.

One Chromium session draws the charts, clicks a bar and lands on its list, and writes the
screenshots (build/screenshots) at 1280 and 390 px.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from html import unescape
from urllib.parse import parse_qs, urlparse

import pytest
from browserkit import AUDIT, CLEAN, chromium, screenshot, sign_in, watched_page
from fastapi.testclient import TestClient
from linkrows import insert, link
from serverkit import ServerThread, Settings

from linkback import mentions, reports
from linkback.mentions import Outcome, Receipt
from linkback.rank import rank
from linkback.store import Store

TOKEN = "overview-token"
SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=1">'
TODAY = datetime.now(timezone.utc).date()  # the links' dates; the pages' periods use today()


def today():
    """The server's date when a request is made (not TODAY: a run may cross midnight)."""
    return datetime.now(timezone.utc).date()
T = "https://example.com/"


def ago(days: int, hour: int = 12) -> datetime:
    d = TODAY - timedelta(days=days)
    return datetime(d.year, d.month, d.day, hour, tzinfo=timezone.utc)


LINKS = [
    link("https://old.org/p", T, anchor="Acme", first_seen=ago(400), section="content"),
    link("https://a.org/p", T, anchor=SCRIPT, first_seen=ago(100), section="nav"),
    link("https://b.org/p", T, anchor="b", first_seen=ago(40), lost_at=ago(10), lost_reason="removed"),
    link("https://c.org/p", T + "x", anchor=IMG, first_seen=ago(5), section="footer"),
    link("https://d.org/p", T, anchor="Acme", first_seen=ago(20), section="comment", rel="nofollow", nofollow=True),
    link("https://e.org/p", T, anchor="e", first_seen=ago(25), lost_at=ago(3), lost_reason="page_gone", section=None),
]


def _fill(path: str) -> None:
    with Store(path) as store:
        insert(store, "links", sorted(LINKS, key=lambda r: r["target_rhost"]))
        rank(store)
        mentions.add_site(store.con, "example.com", policy="moderate")
        ((mid, _),) = mentions.receive_many(
            store.con, [Receipt("webmention", "http://a.org/m", "https://example.com/", "example.com")], ago(2)
        )
        mentions.record_outcome(store.con, mid, Outcome("verified", content={"type": "mention"}, decision="pending"), ago(2))


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("overview") / "overview.duckdb")
    _fill(path)
    return path


@pytest.fixture
def client(db: str):
    from linkback.server import create_app

    with TestClient(create_app(Settings(db=db, admin_token=TOKEN))) as c:
        assert c.post("/do/login", data={"token": TOKEN, "next": "/"}, follow_redirects=False).status_code == 303
        yield c


def chart_data(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', html, re.S).group(1))


def selected(html: str, name: str) -> str:
    block = re.search(rf'<select id="{name}" name="{name}">(.*?)</select>', html, re.S).group(1)
    return re.search(r'<option value="([^"]+)" selected>', block).group(1)


def card(html: str, label: str) -> str:
    """The text of the stat card labelled ``label``."""
    block = re.search(rf'<span class="label">{label}</span>(.*?)</div>', html, re.S).group(1)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", block)).split())


def test_the_period_and_comparison_come_from_the_url_and_the_form(client) -> None:
    day = today()
    html = client.get("/overview?target=example.com&period=30d&compare=previous&by=day").text
    assert selected(html, "period") == "30d" and selected(html, "compare") == "previous" and selected(html, "by") == "day"
    for name in ("period", "since", "until", "compare", "by"):
        assert f'<label for="{name}">' in html and f'id="{name}" name="{name}"' in html  # labelled controls
    assert '<form class="filters periods" action="/overview" method="get"' in html  # works without JS
    since, until = day - timedelta(days=29), day
    assert f"<strong>{since} to {until}</strong> against {since - timedelta(days=30)} to {since - timedelta(days=1)}" in html
    # The stats are the trend report's, as +n / −n and %, in words as well as colour.
    rows = {r["metric"]: r for r in reports.trend(_store(client), "example.com", since=since.isoformat(),
                                                    until=until.isoformat())}  # fmt: skip
    assert rows["referring_domains"]["value"] == 4  # old, a, c, d (b and e lost)
    assert card(html, "Referring domains") == "4 ▲ up +1 (+33.3%) 3 before"  # old, a, b then; c, d, e came, b, e went
    assert card(html, "New referring domains") == "3 ▲ up +2 (+200.0%) 1 before"  # c, d, e; b before
    assert card(html, "Lost referring domains") == "2 ▲ up +2 0 before"
    assert re.search(r'<span class="delta bad">.{0,80}\+2</span>', html, re.S)  # more lost is bad news
    assert re.search(r'<span class="delta good">.{0,80}\+2 \(\+200.0%\)</span>', html, re.S)
    # Custom dates; a year back for the comparison; a named period keeps no dates.
    custom = client.get("/overview?target=example.com&period=custom&since=2000-01-01&until=2000-01-31&compare=year")
    assert "<strong>2000-01-01 to 2000-01-31</strong> against 1999-01-01 to 1999-01-31" in custom.text
    assert selected(custom.text, "by") == "week"
    day = today()
    assert client.get("/overview?target=example.com&period=7d&since=2000-01-01").text.count(f"to {day}</strong>") == 1


def _store(client) -> Store:
    return client.app.state.linkback.request_store()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=5y", "unknown period &#39;5y&#39;"),
        ("compare=decade", "unknown compare"),
        ("by=hour", "unknown by"),
        ("since=2024-02-30", "give a date as YYYY-MM-DD"),
        ("since=2024-03-01&until=2024-02-01", "is after until"),
    ],
)
def test_bad_period_values_are_refused_with_the_reason(client, query: str, message: str) -> None:
    r = client.get(f"/overview?target=example.com&{query}")
    assert r.status_code == 400 and message in r.text


def test_the_charts_data_and_the_table_that_links_to_the_lists(client) -> None:
    day = today()
    html = client.get("/overview?target=example.com&period=90d&compare=previous&by=week").text
    data = chart_data(html)
    since = day - timedelta(days=89)
    assert data["since"] == since.isoformat() and len(data["now"]) == 90  # one point a day
    assert data["compareSince"] == (since - timedelta(days=90)).isoformat() and len(data["before"]) == 90
    assert data["now"][-1] == 4 and data["before"][-1] == 2  # old and a.org, 90 days ago
    periods = data["periods"]
    assert sum(p[2] for p in periods) == 4 and sum(p[3] for p in periods) == 2  # b, c, d, e came; b, e went
    assert all(date.fromisoformat(p[0]).weekday() == 0 for p in periods[1:])  # weeks from Monday
    links = re.findall(r'href="(/reports/churn\?[^"]+)"', html)
    listed = {}
    for href in links:
        query = parse_qs(urlparse(unescape(href)).query)
        if "change" not in query:
            continue
        page = client.get(unescape(href))
        assert page.status_code == 200
        for domain in ("b.org", "c.org", "d.org", "e.org"):
            if f">{domain}<" in page.text:
                listed.setdefault(query["change"][0], set()).add(domain)
    assert listed == {"new": {"b.org", "c.org", "d.org", "e.org"}, "lost": {"b.org", "e.org"}}
    assert "linkback churn example.com --since" in html and "linkback growth example.com" in html


def test_page_sections_and_hostile_text(client) -> None:
    html = client.get("/overview?target=example.com").text
    sections = re.search(r'aria-label="Links by page section">(.*?)</table>', html, re.S).group(1)
    rows = dict(re.findall(r'<th scope="row">(\w+)</th>.*?<td class="num">([\d,]+)</td>', sections, re.S))
    assert rows == {"content": "1", "nav": "1", "header": "0", "footer": "1", "aside": "0", "comment": "1"}
    assert "<script>window.__xss" not in html and "<img src=x" not in html
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html


def test_the_page_is_cached_until_a_write_through_the_server(client, monkeypatch) -> None:
    calls = []
    real = reports.trend

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(reports, "trend", counted)
    url = "/overview?target=example.com&period=12m"
    first = client.get(url).text
    assert client.get(url).text == first and len(calls) == 1  # the second answer came from the cache
    assert ">branded<" not in first
    # An action through the API: "Acme" is now the brand, and the next page says so.
    r = client.post("/api/v1/actions/set_profile", json={"site": "example.com", "brands": ["acme"]},
                    headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
    assert r.status_code == 200, r.text
    after = client.get(url).text
    assert len(calls) == 2 and ">branded<" in after
    # A moderation from the inbox is a write too.
    csrf = re.search(r'name="csrf" value="([^"]+)"', after).group(1)
    mention_id = re.findall(r'name="id" value="(\d+)"', client.get("/mentions").text)[0]
    moderated = client.post("/do/moderate", data={"csrf": csrf, "action": "approve", "id": mention_id},
                            follow_redirects=False)  # fmt: skip
    assert moderated.status_code == 303
    client.get(url)
    assert len(calls) == 3
    client.get(url + "&compare=year")  # another view is another entry
    client.get(url)
    assert len(calls) == 4


def test_the_cache_is_bounded_and_never_keeps_what_a_write_overtook(tmp_path) -> None:
    from linkback.server._cache import WriteCache

    with Store(str(tmp_path / "cache.duckdb")) as store:
        cache = WriteCache(store, size=2)
        computed: list[str] = []

        def value(key: str):
            return lambda: computed.append(key) or key.upper()

        assert [cache.get(k, value(k)) for k in ("a", "b", "a", "c", "a", "b")] == ["A", "B", "A", "C", "A", "B"]
        assert computed == ["a", "b", "c", "b"] and len(cache) == 2  # b was the least recently used
        store.write(lambda s: s.con.execute("CREATE TABLE t (x INTEGER)"))
        assert cache.get("a", value("a")) == "A" and computed[-1] == "a" and len(cache) == 1  # older ones dropped

        def racing() -> str:  # a write lands while the value is computed
            store.write(lambda s: s.con.execute("INSERT INTO t VALUES (1)"))
            computed.append("racing")
            return "R"

        assert cache.get("r", racing) == "R" and cache.get("r", value("r")) == "R" and computed[-1] == "r"


# --- in headless Chromium ------------------------------------------------------------------------


@pytest.mark.browser
def test_in_chromium_the_charts_draw_and_a_bar_opens_its_list(db: str) -> None:
    path = "/overview?target=example.com&period=90d&by=week"
    with ServerThread(Settings(db=db, admin_token=TOKEN)) as url, chromium() as browser:
        problems: list[str] = []
        page = watched_page(browser, url, problems, 1280)
        sign_in(page, url, TOKEN, then=path)
        page.wait_for_load_state("load")
        assert page.evaluate(AUDIT) == CLEAN
        assert page.evaluate("document.querySelectorAll('#chart canvas, #bars canvas').length") == 2
        assert page.evaluate("document.getElementById('changes').open") is False  # the chart replaced the table
        # Hovering the line shows the values of both periods.
        page.locator("#chart").scroll_into_view_if_needed()
        box = page.locator("#chart .u-over").bounding_box()
        page.mouse.move(box["x"] + box["width"] - 3, box["y"] + box["height"] / 2)
        legend = page.locator("#chart .u-legend").inner_text()
        assert re.search(r"this period\s*4", legend) and re.search(r"compared period\s*2 on \d{4}-", legend), legend
        screenshot(page, "overview-trend-1280")
        # Click the bar of the week c.org came in: its list opens.
        data = page.evaluate("JSON.parse(document.getElementById('chart-data').textContent)")
        periods = data["periods"]
        k = next(i for i, p in enumerate(periods) if p[0] <= (TODAY - timedelta(days=5)).isoformat() <= p[1])
        xs = [date.fromisoformat(p[0]).toordinal() for p in periods]
        pad = (xs[-1] - xs[0]) / (len(xs) - 1) / 2 if len(xs) > 1 else 0.5
        page.locator("#bars").scroll_into_view_if_needed()
        bars = page.locator("#bars .u-over").bounding_box()  # in the viewport's coordinates
        x = bars["x"] + (xs[k] - xs[0] + pad) / (xs[-1] - xs[0] + 2 * pad) * bars["width"]
        page.mouse.click(x, bars["y"] + 3)
        page.wait_for_url(re.compile(r".*/reports/churn\?.*"))
        query = parse_qs(urlparse(page.url).query)
        assert query["change"] == ["new"] and query["since"] == [periods[k][0]] and query["until"] == [periods[k][1]]
        assert page.locator("text=c.org").count() >= 1
        page.set_viewport_size({"width": 390, "height": 900})
        page.goto(url + path)
        page.wait_for_load_state("load")
        screenshot(page, "overview-trend-390")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
        assert problems == [], problems
        # The changes' colours against both themes: axe finds no serious violation (injected as an
        # inline script, so this context bypasses the CSP for that alone).
        from test_dashboard_a11y import AXE, _axe, preload_axe

        found = []
        context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light", bypass_csp=True)
        preload_axe(context, AXE.read_text(encoding="utf-8"))
        checked = context.new_page()  # one page for both themes: dark is set before it loads again
        sign_in(checked, url, TOKEN, then=path)
        found += _axe(checked, AXE.read_text(encoding="utf-8"), f"{path} light")
        checked.emulate_media(color_scheme="dark")
        checked.goto(url + path)
        found += _axe(checked, AXE.read_text(encoding="utf-8"), f"{path} dark")
        context.close()
        assert found == [], found
