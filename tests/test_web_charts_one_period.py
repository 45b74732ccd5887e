"""The other charts of a single period: the overview's (app.js: referring domains per day, new and
lost per period) and compare's (lines.js) put a lone point or bar in the middle with a period of
room either side, never on the left edge of a range uPlot stretches to a thousand days; their
count axes fit their labels. In Chromium, over test_dashboard_market's links."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browserkit import chromium, watched_page
from linkrows import insert
from serverkit import Settings
from test_dashboard_market import OTHER, RIVAL, _links
from test_dashboard_monitor import TOKEN, shot, sign_in_by_keyboard
from test_dashboard_traffic_layout import AXES, KEEP_PLOTS

from linkback.rank import rank
from linkback.server import ServerThread
from linkback.store import Store

DAY = 86400


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = str(tmp_path_factory.mktemp("one-period") / "links.duckdb")
    with Store(path) as store:
        insert(store, "links", _links())
        rank(store)
    with ServerThread(Settings(db=path, admin_token=TOKEN)) as url:
        yield url


@pytest.mark.browser
@pytest.mark.parametrize(
    ("path", "charts", "pads"),
    [
        # One day: its referring domains, and one period of new and lost (a day long).
        (f"/overview?target={RIVAL}&period=custom&since=2024-02-10&until=2024-02-10&by=week", 2, [DAY, DAY]),
        # One month of compare's lines.
        (f"/compare?targets={RIVAL}+{OTHER}&since=2024-02-01&until=2024-02-10&by=month", 1, [31 * DAY]),
    ],
)
def test_in_chromium_one_period_sits_in_the_middle(server: str, path: str, charts: int, pads: list[int]) -> None:
    with chromium() as browser:
        problems: list[str] = []
        page = watched_page(browser, server, problems, 1280)
        page.add_init_script(KEEP_PLOTS)
        sign_in_by_keyboard(page, server, path)
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(server + path)
            page.wait_for_selector("canvas")
            found = page.evaluate(AXES)
            assert len(found) == charts, found
            for chart, pad in zip(found, pads, strict=True):
                assert chart["points"] == 1, chart
                assert (chart["min"], chart["max"]) == (chart["first"] - pad, chart["first"] + pad), chart
                assert abs(chart["at"] - chart["width"] / 2) <= 2, chart
                assert chart["widest"] + chart["room"] <= chart["size"] and chart["ink"] == 0, chart
            shot(page, "one-period-" + path.split("?")[0].strip("/"), width)
        assert problems == [], problems
