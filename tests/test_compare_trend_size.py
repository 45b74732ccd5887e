"""compare_trend's size: growth's cap of periods held per target, and a call takes up to a hundred
targets (a hostile round drew 831,800 rows, 112 MiB of JSON, from 40 targets by day since 1970).
The cap covers targets × periods, refused before any link is read, on every face; the
dashboard's /compare (ten targets at most, by week unless asked) keeps its normal ranges."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from linkrows import insert, link, ts
from serverkit import Settings
from test_dashboard_monitor import TOKEN, sign_in

from linkback.reports import compare_trend, growth
from linkback.reports._periods import MAX_PERIODS, Period, buckets, count_cut
from linkback.server import create_app
from linkback.store import Store

TARGETS = [f"rival{i}.example" for i in range(40)]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("compare_trend_size") / "many.duckdb")
    rows = [link(f"https://news{i}.example/post", f"https://{t}/", first_seen=ts("1975-06-01"))
            for i, t in enumerate(TARGETS)]  # fmt: skip
    with Store(path) as store:
        insert(store, "links", sorted(rows, key=lambda r: r["target_rhost"]))
    return path


@pytest.fixture(scope="module")
def client(db: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(db=db, admin_token=TOKEN))) as c:
        sign_in(c)
        yield c


def test_many_targets_over_a_long_range_are_refused_before_any_query(tmp_path) -> None:
    store = Store(str(tmp_path / "empty.duckdb"))
    store.close()  # any statement now fails: the refusal must come first
    with pytest.raises(ValueError) as refused:
        compare_trend(store, TARGETS, since="1970-01-01", until="2025-12-31", by="day")
    days = (ts("2025-12-31") - ts("1970-01-01")).days + 1
    message = str(refused.value)
    assert f"{40 * days:,} rows" in message and f"more than {MAX_PERIODS:,} periods" in message, message
    assert all(hint in message for hint in ("later since", "week", "fewer targets")), message
    hundred = [f"t{i}.example" for i in range(100)]  # the most one call takes
    with pytest.raises(ValueError, match="40,000 rows"):  # a limit counts: the last 400 months of each
        compare_trend(store, hundred, since="1970-01-01", until="2025-12-31", by="month", limit=400)


def test_the_api_answers_400_and_the_dashboard_keeps_its_ranges(client: TestClient) -> None:
    asked = {"targets": TARGETS, "since": "1970-01-01", "until": "2025-12-31", "by": "day"}
    refused = client.get("/api/v1/reports/compare_trend", params=asked, headers={"Authorization": f"Bearer {TOKEN}"})
    assert refused.status_code == 400 and "fewer targets" in refused.json()["detail"], refused.text
    # The dashboard's most: ten targets, by week since the first link (1975): ~2,650 weeks each.
    page = client.get("/compare", params={"targets": " ".join(TARGETS[:10]), "until": "2025-12-31"})
    assert page.status_code == 200 and 'role="alert"' not in page.text
    store = client.app.state.linkback.request_store()
    rows = compare_trend(store, TARGETS[:10], until="2025-12-31", by="week")
    weeks = count_cut(Period(ts("1975-06-01").date(), ts("2025-12-31").date()), "week")
    assert len(rows) == 10 * weeks and weeks > 2600
    first = growth(store, TARGETS[0], since="1975-06-01", until="2025-12-31", by="week")
    assert [{k: r[k] for k in ("since", "until", "referring_domains", "new", "lost")} for r in first] == [
        {k: r[k] for k in ("since", "until", "referring_domains", "new", "lost")} for r in rows[:weeks]
    ]


def test_the_periods_are_counted_as_they_are_cut() -> None:
    for since, until in ((ts("1970-01-01"), ts("2025-12-31")), (ts("2024-02-29"), ts("2024-03-04"))):
        period = Period(since.date(), until.date())
        for by in ("day", "week", "month"):
            for last in (None, 1, 7):
                assert count_cut(period, by, last) == len(buckets(period, by, last)), (by, last)
