"""The traffic page (``/traffic``) laid out for counts of any size, in Chromium at 390 and 1280 px.

The store is built as a user builds it: ``linkback visits`` reading Plausible CSV exports. One site
has a week of visits in November 2026 with counts in the hundreds of millions and billions (a
9- and a 10-digit count; the chart has one period), another sums to 13 digits over many weeks.
At each level of the drill-down (channels, sources, referring pages) no count or share runs into
its neighbour, wraps or leaves the card, and the counts line up; the chart's count axis is as wide
as its widest label (a label cut at the canvas's edge would leave ink there), and a chart of one
period puts it in the middle, a period either side, not on the left edge of years to come.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from browserkit import chromium, watched_page
from fastapi.testclient import TestClient
from serverkit import Settings
from test_dashboard_monitor import TOKEN, shot, sign_in, sign_in_by_keyboard
from typer.testing import CliRunner

from linkback.cli import app as cli
from linkback.server import ServerThread, create_app

WEEK, HUGE = "week.example", "huge.example"
HEADER = "date,source,referrer,utm_source,utm_medium,utm_campaign,utm_content,utm_term,pageviews,visitors,visits,visit_duration,bounces"
LONG = "averyveryverylongblognamethatkeepsgoingwithoutanyspace.example"
#: A week of visits to WEEK (date, source, referrer, utm_source, utm_medium, visits).
WEEK_ROWS = [
    ("2026-11-02", "Hacker News", "https://news.ycombinator.com/item?id=1", "", "", 135802467),
    ("2026-11-03", "Reddit", "https://www.reddit.com/r/selfhosted/comments/1", "", "", 2000000000),
    ("2026-11-03", "Google", "", "", "", 4200000),
    ("2026-11-04", "Newsletter", "", "newsletter", "email", 3),
    ("2026-11-05", LONG, f"https://{LONG}/a/very/long/path/to/a/post", "", "", 98765),
]
#: Visits to HUGE: 600 days of two billion from one page of reddit.com (1,200,000,000,000 in all).
HUGE_DAYS = 600


def _export(rows: list[tuple[str, str, str, str, str, int]]) -> str:
    lines = [
        f"{day},{source},{referrer},{utm},{medium},,,,1,1,{visits},1,1"
        for day, source, referrer, utm, medium, visits in rows
    ]
    return "\n".join([HEADER, *lines]) + "\n"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("traffic-layout")
    path = str(folder / "traffic.duckdb")
    start = date(2025, 1, 1)
    huge = [((start + timedelta(days=i)).isoformat(), "Reddit", "https://www.reddit.com/r/x/comments/2", "", "", 2000000000)
            for i in range(HUGE_DAYS)]  # fmt: skip
    huge.append((start.isoformat(), "Google", "", "", "", 12))
    for name, host, rows in (("week.csv", WEEK, WEEK_ROWS), ("huge.csv", HUGE, huge)):
        (folder / name).write_text(_export(rows), encoding="utf-8")
        result = CliRunner().invoke(cli, ["visits", str(folder / name), "--host", host, "--db", path])
        assert result.exit_code == 0, (result.stdout, result.stderr)
    return path


@pytest.fixture(scope="module")
def client(db: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(db=db, admin_token=TOKEN))) as c:
        sign_in(c)
        yield c


def chart_of(html: str) -> dict[str, Any]:
    return json.loads(html.split('<script type="application/json" id="lines-data">', 1)[1].split("</script>", 1)[0])


def test_the_counts_are_whole_and_the_chart_says_its_period(client: TestClient) -> None:
    html = client.get(f"/traffic?target={WEEK}").text
    assert "2,135,802,467" in html  # Organic Social: reddit and Hacker News
    chart = chart_of(html)
    assert chart["step"] == "week" and chart["x"] == ["2026-11-02"], chart
    assert chart["series"][0] == {"label": "reddit.com", "values": [2000000000]}
    assert chart_of(client.get(f"/traffic?target={WEEK}&period=30d").text)["step"] == "day"
    huge = client.get(f"/traffic?target={HUGE}").text
    assert "1,200,000,000,000" in huge and len(chart_of(huge)["x"]) > 80


# --- in Chromium ---------------------------------------------------------------------------------

#: Each bar row's label, count and share as drawn: the rectangles of their visible text (what a
#: screen reader alone hears left out). A count or share on two lines, running into its neighbour
#: or out of the card, and counts whose right edges differ are problems.
ROWS = """() => {
  const card = document.querySelector('ol.hbars').closest('.card').getBoundingClientRect();
  const drawn = el => {
    const rects = [], texts = [], walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let t = walk.nextNode(); t; t = walk.nextNode()) {
      if (t.parentElement.closest('.sr-only') || !t.textContent.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(t);
      rects.push(...range.getClientRects());
      texts.push(t.textContent.trim());
    }
    return {left: Math.min(...rects.map(r => r.left)), right: Math.max(...rects.map(r => r.right)),
            lines: new Set(rects.map(r => Math.round(r.top))).size, text: texts.join(' ')};
  };
  const problems = [], rights = [], counts = [];
  for (const li of document.querySelectorAll('ol.hbars li:not(.head)')) {
    const [lab, n, pct] = [...li.children].map(drawn), count = n.text, share = pct.text;
    counts.push(count);
    if (n.lines > 1 || pct.lines > 1) problems.push(`${count} / ${share} on more than one line`);
    if (lab.right > n.left + 0.5) problems.push(`the label runs into ${count}`);
    if (n.right > pct.left + 0.5) problems.push(`${count} runs into ${share}`);
    if (pct.right > card.right + 0.5 || lab.left < card.left) problems.push(`${count} / ${share} out of the card`);
    rights.push(Math.round(n.right));
  }
  if (new Set(rights).size > 1) problems.push('the counts do not line up: ' + rights.join(' '));
  if (document.documentElement.scrollWidth > innerWidth) problems.push('the page scrolls sideways');
  return {problems, counts};
}"""

#: Every uPlot chart the page makes, kept in window.__plots (the page's scripts keep theirs to themselves).
KEEP_PLOTS = """(() => {
  let real;
  window.__plots = [];
  Object.defineProperty(window, 'uPlot', {configurable: true, get: () => real, set: made => {
    function Kept(opts, data, holder) { const u = new made(opts, data, holder); window.__plots.push(u); return u; }
    Object.assign(Kept, made);
    Kept.prototype = made.prototype;
    real = Kept;
  }});
})();"""

#: The count axis of each chart: its gutter, its labels' widest, the ink at the canvas's left edge
#: (a label wider than the gutter is cut there); and the x range with where the first point is.
AXES = """() => window.__plots.map(u => {
  const axis = u.axes[1], ratio = uPlot.pxRatio, ctx = u.ctx;
  ctx.save();
  ctx.font = axis.font[0];
  const widest = Math.max(...axis._values.map(v => ctx.measureText(v).width)) / ratio;
  ctx.restore();
  const edge = ctx.getImageData(0, 0, Math.ceil(2 * ratio), ctx.canvas.height).data;
  let ink = 0;
  for (let i = 3; i < edge.length; i += 4) if (edge[i] > 0) ink++;
  const xs = u.data[0];
  return {size: axis._size, widest, room: axis.gap + axis.ticks.size, labels: axis._values, ink,
          points: xs.length, first: xs[0], min: u.scales.x.min, max: u.scales.x.max,
          at: u.valToPos(xs[0], 'x'), width: u.bbox.width / ratio};
})"""


@pytest.fixture(scope="module")
def server(db: str) -> Iterator[str]:
    with ServerThread(Settings(db=db, admin_token=TOKEN)) as url:
        yield url


@pytest.fixture
def served(server: str) -> Iterator[tuple[str, Any]]:
    with chromium() as browser:
        yield server, browser


def _levels(page: Any, url: str, target: str) -> list[str]:
    """The drill-down's pages from ``target``'s channels: each the first bar's of the one before."""
    paths = [f"/traffic?target={target}"]
    for _ in range(2):
        page.goto(url + paths[-1])
        paths.append(page.locator("ol.hbars li:not(.head) a").first.get_attribute("href"))
    return paths


@pytest.mark.browser
def test_in_chromium_counts_never_run_into_their_neighbours(served: tuple[str, Any]) -> None:
    url, browser = served
    problems: list[str] = []
    page = watched_page(browser, url, problems, 1280)
    sign_in_by_keyboard(page, url, f"/traffic?target={WEEK}")
    seen: set[str] = set()
    for target in (WEEK, HUGE):
        paths = _levels(page, url, target)
        assert "source=" in paths[-1] and page.url.endswith(paths[1]), paths
        for width in (390, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            for i, path in enumerate(paths):
                page.goto(url + path)
                found = page.evaluate(ROWS)
                assert found["problems"] == [], (width, path, found)
                seen.update(found["counts"])
                if i == 0:
                    shot(page, f"traffic-{target.split('.')[0]}", width)
    assert {"2,135,802,467", "2,000,000,000", "1,200,000,000,000"} <= seen, seen
    assert problems == [], problems


@pytest.mark.browser
def test_in_chromium_the_chart_fits_its_labels_and_centres_one_period(served: tuple[str, Any]) -> None:
    url, browser = served
    problems: list[str] = []
    page = watched_page(browser, url, problems, 1280)
    page.add_init_script(KEEP_PLOTS)
    sign_in_by_keyboard(page, url, f"/traffic?target={WEEK}")
    week = 7 * 86400
    for target in (WEEK, HUGE):
        for width in (390, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{url}/traffic?target={target}")
            page.wait_for_selector("#lines canvas")
            (chart,) = page.evaluate(AXES)
            assert chart["widest"] + chart["room"] <= chart["size"] and chart["ink"] == 0, (target, width, chart)
            if target == WEEK:
                # One period: a week of room either side of it, the point in the middle.
                assert chart["points"] == 1 and chart["labels"][-1] in ("2B", "2.2B", "2.4B", "2.5B"), chart
                assert (chart["min"], chart["max"]) == (chart["first"] - week, chart["first"] + week), chart
                assert abs(chart["at"] - chart["width"] / 2) <= 2, chart
            else:
                assert chart["points"] > 80 and all(len(label) <= 6 for label in chart["labels"]), chart
    assert problems == [], problems


@pytest.mark.browser
def test_in_chromium_the_labels_of_the_count_axis(served: tuple[str, Any]) -> None:
    """axes.js's labels: whole counts up to a million, then 1.2M, 350K, 12.05B, never rounded."""
    url, browser = served
    page = watched_page(browser, url, [], 1280)
    sign_in_by_keyboard(page, url, f"/traffic?target={WEEK}")
    page.wait_for_selector("#lines canvas")
    compact = page.evaluate(
        "vs => vs.map(window.linkbackAxes.compact)",
        [0, 999, 350000, 1200000, 12050000000, 1000001, 1000500, 1005000, 5e12, 1200000.0000000002],
    )
    assert compact == ["0", "999", "350K", "1.2M", "12.05B", "1,000,001", "1,000,500", "1.005M", "5T", "1.2M"]
    ranged = page.evaluate("""() => {
      const around = window.linkbackAxes.around(86400);
      return [around({data: [[100]]}, 100, 86400100), around({data: [[100, 200]]}, 100, 200)];
    }""")
    assert ranged == [[100 - 86400, 100 + 86400], [100, 200]]
