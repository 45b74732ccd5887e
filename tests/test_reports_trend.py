"""A target over time: trend (a period against a comparison), growth (per day/week/month), churn
(the domains behind the bars), the periods they take, the CLI commands, and the store's write
generation the dashboard's cache keys on.

Every count is checked against a brute force over the rows: a link counts on day D when it was
first seen by D and not lost by the end of D.
"""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import date, datetime, timedelta, timezone

import pytest
from linkrows import insert, link, store_of, ts
from typer.testing import CliRunner

from linkback import reports
from linkback.cli import app
from linkback.errors import TargetNotFound
from linkback.faces import plain
from linkback.reports import _changes
from linkback.reports._periods import Period, buckets, compared, preset_since, year_before
from linkback.store import Store

T = "https://example.com/"


# The shapes a referring domain's history takes: each is one domain of the store below.
LINKS = [
    link("https://a.org/1", T, first_seen=ts("2024-01-10")),  # one live link
    # b.org comes, goes and comes back: two new days and a lost one
    link("https://b.org/1", T, first_seen=ts("2024-01-05"), lost_at=ts("2024-02-01T09:00"), lost_reason="removed"),
    link("https://b.org/2", T + "x", first_seen=ts("2024-03-01T23:59")),
    # c.org: two links that overlap, both lost the same day: one new and one lost day
    link("https://c.org/1", T, first_seen=ts("2024-01-02"), lost_at=ts("2024-02-10"), lost_reason="page_gone"),
    link("https://c.org/2", T + "y", first_seen=ts("2024-01-20"), lost_at=ts("2024-02-10T18:00"), lost_reason="removed"),
    # d.org: seen and lost the same day, never counted at a day's end
    link("https://d.org/1", T, first_seen=ts("2024-01-15T01:00"), lost_at=ts("2024-01-15T20:00"), lost_reason="removed"),
    # e.org: nofollow only, from February
    link("https://e.org/1", T, first_seen=ts("2024-02-05"), rel="nofollow", nofollow=True),
    # f.org: a lost link and a later one that overlaps nothing: new, lost, new again
    link("https://f.org/1", T, first_seen=ts("2024-01-01"), lost_at=ts("2024-01-03"), lost_reason="removed"),
    link("https://f.org/2", T, first_seen=ts("2024-01-03")),  # appears the day the first is lost: no gap
    # not counted: internal, and a look-alike target
    link("https://example.com/about", T, first_seen=ts("2024-01-01")),
    link("https://g.org/1", "https://example.co/", first_seen=ts("2024-01-01")),
]


@pytest.fixture
def store():
    with store_of(LINKS) as s:
        yield s


def live_domains(links: list[dict], when: date, follow: bool = False) -> set[str]:
    """Brute force: the referring domains of example.com counted at the end of ``when``."""
    out = set()
    for r in links:
        if r["internal"] or r["target_domain"] != "example.com":
            continue
        if follow and r["nofollow"]:
            continue
        first = r["first_seen"].date()
        lost = r["lost_at"].date() if r["lost_at"] is not None else None
        if first <= when and (lost is None or lost > when):
            out.add(r["source_domain"])
    return out


def test_growth_counts_each_day_as_a_brute_force_does(store: Store) -> None:
    rows = reports.growth(store, "example.com", since="2023-12-30", until="2024-03-05")
    assert [r["since"] for r in rows] == [date(2023, 12, 30) + timedelta(days=i) for i in range(67)]
    for r in rows:
        today, before = live_domains(LINKS, r["since"]), live_domains(LINKS, r["since"] - timedelta(days=1))
        assert (r["referring_domains"], r["new"], r["lost"]) == (len(today), len(today - before), len(before - today)), r
    # The changes add up: the count at the end is the count at the start plus new minus lost.
    assert rows[-1]["referring_domains"] == sum(r["new"] - r["lost"] for r in rows) == 4  # a, b, e, f


def test_growth_agrees_with_a_brute_force_on_random_histories() -> None:
    rng = random.Random(7)
    links = []
    for i in range(120):
        first = date(2024, 1, 1) + timedelta(days=rng.randrange(60))
        lost = first + timedelta(days=rng.randrange(0, 40)) if rng.random() < 0.6 else None
        at = datetime(first.year, first.month, first.day, rng.randrange(24), tzinfo=timezone.utc)
        lost_at = None if lost is None else datetime(lost.year, lost.month, lost.day, rng.randrange(24), tzinfo=timezone.utc)
        nofollow = rng.random() < 0.3
        links.append(link(f"https://d{rng.randrange(25)}.org/{i}", T, first_seen=at, lost_at=max(lost_at, at) if lost_at else None,
                          nofollow=nofollow, rel="nofollow" if nofollow else ""))  # fmt: skip
    with store_of(links) as s:
        rows = reports.growth(s, "example.com", since="2024-01-01", until="2024-04-15", by="day")
        gone = 0
        for r in rows:
            today, before = live_domains(links, r["since"]), live_domains(links, r["since"] - timedelta(days=1))
            assert (r["referring_domains"], r["new"], r["lost"]) == (len(today), len(today - before), len(before - today))
            # churn lists exactly the domains behind each day's bars
            listed = reports.churn(s, "example.com", since=r["since"].isoformat(), until=r["since"].isoformat())
            assert sorted(x["domain"] for x in listed if x["change"] == "new") == sorted(today - before)
            assert sorted(x["domain"] for x in listed if x["change"] == "lost") == sorted(before - today)
            gone += r["lost"]
            if r["since"].day % 5 == 0:  # dofollow domains and backlinks at the end of a period
                stats = {x["metric"]: x["value"] for x in reports.trend(s, "example.com", until=r["since"].isoformat())}
                assert stats["dofollow_referring_domains"] == len(live_domains(links, r["since"], follow=True))
                assert stats["backlinks"] == sum(
                    1 for x in links
                    if x["first_seen"].date() <= r["since"] and (x["lost_at"] is None or x["lost_at"].date() > r["since"])
                )
        assert gone > 5  # the histories did come and go


def test_growth_by_week_and_month_sum_the_days_and_end_where_they_end(store: Store) -> None:
    days = reports.growth(store, "example.com", since="2024-01-01", until="2024-03-05")
    for by in ("week", "month"):
        rows = reports.growth(store, "example.com", since="2024-01-01", until="2024-03-05", by=by)
        assert rows[0]["since"] == date(2024, 1, 1) and rows[-1]["until"] == date(2024, 3, 5)
        assert sum(r["new"] for r in rows) == sum(r["new"] for r in days)
        assert sum(r["lost"] for r in rows) == sum(r["lost"] for r in days)
        for r in rows:
            end = next(d for d in days if d["since"] == r["until"])
            assert r["referring_domains"] == end["referring_domains"]
    weeks = reports.growth(store, "example.com", since="2024-01-03", until="2024-01-20", by="week")
    assert [(w["since"], w["until"]) for w in weeks] == [
        (date(2024, 1, 3), date(2024, 1, 7)),  # cut at the period's start; weeks end on Sunday
        (date(2024, 1, 8), date(2024, 1, 14)),
        (date(2024, 1, 15), date(2024, 1, 20)),
    ]


def test_growth_limit_keeps_the_latest_periods(store: Store) -> None:
    every = reports.growth(store, "example.com", since="2024-01-01", until="2024-03-05", by="week")
    assert reports.growth(store, "example.com", since="2024-01-01", until="2024-03-05", by="week", limit=2) == every[-2:]


def test_growth_puts_the_comparison_beside_each_day(store: Store) -> None:
    rows = reports.growth(store, "example.com", since="2024-02-01", until="2024-02-10", compare="previous")
    assert rows[0]["compare_since"] == date(2024, 1, 22) and rows[-1]["compare_until"] == date(2024, 1, 31)
    for r in rows:
        assert r["compare_referring_domains"] == len(live_domains(LINKS, r["compare_since"]))
    # A year back, February 2023 held nothing yet.
    year = reports.growth(store, "example.com", since="2024-02-01", until="2024-02-03", compare="year")
    assert [(r["compare_since"], r["compare_referring_domains"]) for r in year][0] == (date(2023, 2, 1), 0)


def test_trend_gives_each_stat_with_its_change(store: Store) -> None:
    rows = reports.trend(store, "example.com", since="2024-02-01", until="2024-02-29", compare="previous")
    assert [r["metric"] for r in rows] == list(reports.TREND_METRICS)
    assert all(list(r) == list(reports.TREND_COLUMNS) for r in rows)
    got = {r["metric"]: (r["value"], r["compare_value"], r["change"]) for r in rows}
    end, before_end = date(2024, 2, 29), date(2024, 1, 31)
    assert got["referring_domains"] == (3, 4, -1)  # a, e, f against a, b, c, f
    assert len(live_domains(LINKS, end)) == 3 and len(live_domains(LINKS, before_end)) == 4
    assert got["dofollow_referring_domains"] == (2, 4, -2)  # e.org's only link is nofollow
    assert got["backlinks"] == (3, 5, -2)
    assert got["new_referring_domains"] == (1, 2, -1)  # e.org; a.org and b.org (c and f came before 3 Jan)
    assert got["lost_referring_domains"] == (2, 0, 2)  # b.org on 1 Feb, c.org on 10 Feb
    first = rows[0]
    assert (first["since"], first["until"]) == (date(2024, 2, 1), end)
    assert (first["compare_since"], first["compare_until"]) == (date(2024, 1, 3), before_end)  # 29 days, just before
    share = next(r for r in rows if r["metric"] == "referring_domains")["change_share"]
    assert share == pytest.approx(-0.25)
    assert got["dr"] == got["trust"] == got["toxic_share"] == (None, None, None)  # no rank run yet


def test_trend_without_comparison_and_over_all_time(store: Store) -> None:
    rows = reports.trend(store, "example.com", until="2024-03-05", compare="none")
    assert rows[0]["since"] == date(2024, 1, 1)  # the target's first link
    assert all(r["compare_value"] is None and r["change"] is None for r in rows)
    new = next(r for r in rows if r["metric"] == "new_referring_domains")
    lost = next(r for r in rows if r["metric"] == "lost_referring_domains")
    assert new["value"] - lost["value"] == rows[0]["value"] == 4


def _runs(store: Store) -> None:
    """Two rank runs: example.com's DR and trust in each, one referring domain toxic in the second."""
    insert(store, "rank_runs", [
        {"run_id": 1, "started_at": ts("2024-01-20"), "completed_at": ts("2024-01-20T10:00")},
        {"run_id": 2, "started_at": ts("2024-02-20"), "completed_at": ts("2024-02-20T10:00")},
    ])  # fmt: skip
    ranks = []
    for run_id, dr, trust in ((1, 10.0, 5.0), (2, 20.0, 7.5)):
        ranks.append({"run_id": run_id, "domain": "example.com", "dr": dr, "trust": trust, "toxicity": 0})
        for name in ("a.org", "b.org", "c.org", "e.org", "f.org"):
            toxic = run_id == 2 and name in ("b.org", "e.org")  # b.org came, went and came back
            ranks.append({"run_id": run_id, "domain": name, "dr": 1.0, "trust": 0.0, "toxicity": 70 if toxic else 5})
    insert(store, "domain_ranks", ranks)


def test_trend_reads_the_rank_run_each_period_ended_with(store: Store) -> None:
    _runs(store)
    rows = {r["metric"]: r for r in reports.trend(store, "example.com", since="2024-02-01", until="2024-02-29")}
    assert (rows["dr"]["value"], rows["dr"]["compare_value"], rows["dr"]["change"]) == (20.0, 10.0, 10.0)
    assert (rows["trust"]["value"], rows["trust"]["compare_value"]) == (7.5, 5.0)
    assert rows["dr"]["as_of"] == datetime(2024, 2, 20, 10, tzinfo=timezone.utc)
    assert rows["dr"]["compare_as_of"] == datetime(2024, 1, 20, 10, tzinfo=timezone.utc)
    assert rows["toxic_share"]["value"] == pytest.approx(1 / 3)  # e.org of a, e, f (b.org gone then)
    assert rows["toxic_share"]["compare_value"] == 0
    assert rows["backlinks"]["as_of"] is None  # only the rank-based rows name a run
    march = {r["metric"]: r["value"] for r in reports.trend(store, "example.com", until="2024-03-05")}
    assert march["toxic_share"] == pytest.approx(2 / 4)  # b and e of a, b, e, f
    # A period that ended before the first run has no ranks.
    early = {r["metric"]: r for r in reports.trend(store, "example.com", since="2024-01-05", until="2024-01-10")}
    assert early["dr"]["value"] is None and early["toxic_share"]["value"] is None


def test_churn_lists_the_domains_behind_the_bars(store: Store) -> None:
    _runs(store)
    rows = reports.churn(store, "example.com", since="2024-01-01", until="2024-03-05")
    assert list(rows[0]) == list(reports.CHURN_COLUMNS)
    assert [(r["domain"], r["change"], r["date"].isoformat(), r["links"]) for r in rows] == [
        ("b.org", "new", "2024-03-01", 1),
        ("c.org", "lost", "2024-02-10", 2),  # both its links were live the day before
        ("e.org", "new", "2024-02-05", 1),
        ("b.org", "lost", "2024-02-01", 1),
        ("a.org", "new", "2024-01-10", 1),
        ("b.org", "new", "2024-01-05", 1),
        ("c.org", "new", "2024-01-02", 1),
        ("f.org", "new", "2024-01-01", 1),
    ]
    assert {r["dr"] for r in rows} == {1.0}  # from the newest run
    lost = reports.churn(store, "example.com", since="2024-02-01", until="2024-02-29", change="lost")
    assert [r["domain"] for r in lost] == ["c.org", "b.org"]
    assert reports.churn(store, "example.com", since="2024-01-01", until="2024-03-05", limit=2) == rows[:2]
    assert reports.churn(store, "example.com", since="2024-01-16", until="2024-01-31") == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: reports.trend(s, "example.com", since="2024-13-01"), "since '2024-13-01': give a date as YYYY-MM-DD"),
        (lambda s: reports.trend(s, "example.com", since="2024-03-01", until="2024-02-01"), "after until"),
        (lambda s: reports.trend(s, "example.com", compare="month"), "unknown compare 'month'"),
        (lambda s: reports.growth(s, "example.com", by="year"), "unknown by 'year'"),
        (lambda s: reports.churn(s, "example.com", change="gone"), "unknown change 'gone'"),
    ],
)
def test_bad_values_say_what_is_wrong(store: Store, call, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        call(store)


def test_a_target_the_index_never_saw_is_an_error(store: Store) -> None:
    for fn in (reports.trend, reports.growth, reports.churn):
        with pytest.raises(TargetNotFound):
            fn(store, "exampel.com")


def test_periods() -> None:
    until = date(2026, 12, 6)
    assert preset_since("7d", until) == date(2026, 11, 30)
    assert preset_since("30d", until) == date(2026, 11, 7)
    assert preset_since("12m", until) == date(2025, 12, 7)
    assert preset_since("all", until) is None
    p = Period(date(2026, 11, 7), until)
    assert compared(p, "previous") == Period(date(2026, 10, 8), date(2026, 11, 6))
    assert compared(p, "year") == Period(date(2025, 11, 7), date(2025, 12, 6))
    assert compared(p, "none") is None
    assert year_before(date(2024, 2, 29)) == date(2023, 2, 28)
    months = buckets(Period(date(2024, 1, 15), date(2024, 3, 10)), "month")
    assert [(m.since, m.until) for m in months] == [
        (date(2024, 1, 15), date(2024, 1, 31)),
        (date(2024, 2, 1), date(2024, 2, 29)),
        (date(2024, 3, 1), date(2024, 3, 10)),
    ]


def test_the_last_periods_are_cut_without_cutting_them_all() -> None:
    period = Period(date(2020, 1, 15), date(2026, 11, 20))
    for by in ("day", "week", "month"):
        every = buckets(period, by)
        for last in (1, 2, 7, 30):
            assert buckets(period, by, last=last) == every[-last:], (by, last)
        assert buckets(period, by, last=10**6) == every
    # Eight thousand years: by day, too many periods to answer, unless only the last are asked for.
    long = Period(date(1970, 1, 1), date(9998, 12, 31))
    with pytest.raises(ValueError, match="more than 36,600 periods"):
        buckets(long, "day")
    assert [b.since for b in buckets(long, "day", last=2)] == [date(9998, 12, 30), date(9998, 12, 31)]
    assert len(buckets(Period(date(1970, 1, 1), date(2069, 12, 31)), "day")) == 36_525
    with pytest.raises(ValueError, match="before year 1"):
        compared(long, "previous")
    assert compared(long, "year") == Period(date(1969, 1, 1), date(9997, 12, 31))


def test_shown_values_and_changes() -> None:
    row = {"metric": "backlinks", "change": -1234, "change_share": -0.1}
    assert reports.shown_change(row) == "\u22121,234 (\u221210.0%)"
    assert reports.shown_change({"metric": "dr", "change": 2.25, "change_share": 0.5}) == "+2.2 (+50.0%)"
    assert reports.shown_change({"metric": "toxic_share", "change": 0.05, "change_share": 1.0}) == "+5.0 pts"
    assert reports.shown_change({"metric": "backlinks", "change": 0, "change_share": 0.0}) == "0 (0.0%)"
    assert reports.shown_value("toxic_share", 0.125) == "12.5%"


# --- the CLI ------------------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path) -> str:
    path = str(tmp_path / "trend.duckdb")
    with Store(path) as s:
        insert(s, "links", sorted(LINKS, key=lambda r: r["target_rhost"]))
        _runs(s)
    return path


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "80"})
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result.stdout


def test_cli_trend_is_an_80_column_table_and_json_is_the_function(db: str) -> None:
    args = ["example.com", "--since", "2024-02-01", "--until", "2024-02-29", "--db", db]
    table = run("trend", *args)
    assert max(len(line) for line in table.splitlines()) <= 80
    assert "referring_domains" in table and "\u22121 (\u221225.0%)" in table and "20.0" in table
    with Store(db, read_only=True) as s:
        expected = plain(reports.trend(s, "example.com", since="2024-02-01", until="2024-02-29"))
    assert json.loads(run("trend", *args, "--format", "json")) == expected
    rows = list(csv.DictReader(io.StringIO(run("trend", *args, "--format", "csv", "--compare", "none"))))
    assert list(rows[0]) == list(reports.TREND_COLUMNS) and rows[0]["compare_value"] == ""


def test_cli_growth_and_churn(db: str) -> None:
    weeks = run("growth", "example.com", "--since", "2024-01-01", "--until", "2024-03-05", "--by", "week",
                "--compare", "year", "--db", db)  # fmt: skip
    assert max(len(line) for line in weeks.splitlines()) <= 80 and "2024-02-26" in weeks
    got = json.loads(run("churn", "example.com", "--since", "2024-02-01", "--until", "2024-02-29", "--change", "lost",
                         "--format", "json", "--db", db))  # fmt: skip
    assert [(r["domain"], r["date"]) for r in got] == [("c.org", "2024-02-10"), ("b.org", "2024-02-01")]
    bad = CliRunner().invoke(app, ["trend", "example.com", "--since", "yesterday", "--db", db])
    assert bad.exit_code == 2 and "give a date as YYYY-MM-DD" in bad.stderr


# --- the write generation -----------------------------------------------------------------------


def test_every_write_moves_the_generation_every_store_of_the_file_sees(tmp_path) -> None:
    path = str(tmp_path / "gen.duckdb")
    with Store(path) as owner:
        lent = Store.borrowing(owner.con.cursor(), path, writer=lambda fn, transaction: owner.write(fn))
        start = lent.generation
        owner.con.execute("SELECT 1").fetchall()  # reading moves nothing
        assert owner.generation == lent.generation == start
        owner.write(lambda s: s.con.execute("CREATE TABLE t (x INTEGER)"))
        assert lent.generation > start
        moved = owner.generation
        lent.write(lambda s: s.con.execute("INSERT INTO t VALUES (1)"))  # through the owner, as in the server
        assert owner.generation > moved
        moved = owner.generation
        with owner.transaction():  # the server's writer commits groups this way
            owner.con.execute("INSERT INTO t VALUES (2)")
        assert lent.generation > moved
        with pytest.raises(ZeroDivisionError):
            owner.write(lambda s: 1 / 0)  # a failed write moves it too: never a stale read


def test_shared_reads_read_each_targets_changes_once_until_a_write(store: Store, monkeypatch) -> None:
    calls = []
    real = _changes._events_sql
    monkeypatch.setattr(_changes, "_events_sql", lambda *args: calls.append(args) or real(*args))
    with reports.shared_reads(store):
        reports.trend(store, "example.com", since="2024-02-01", until="2024-02-29")
        reports.growth(store, "example.com", since="2024-02-01", until="2024-02-29", compare="previous")
        assert len(calls) == 1
        store.write(lambda s: insert(s, "links", [link("https://z.org/1", T, first_seen=ts("2024-02-02"))]))
        rows = reports.growth(store, "example.com", since="2024-02-02", until="2024-02-02")
        assert len(calls) == 2 and rows[0]["new"] == 1  # read again after the write
    reports.growth(store, "example.com")
    reports.growth(store, "example.com")
    assert len(calls) == 4  # outside the block every call reads


# --- overview: what the dashboard's distributions read -------------------------------------------


def test_overview_counts_sections_and_reads_ranks_alike_by_name_and_by_hash(store: Store, monkeypatch) -> None:
    from linkback.reports import _overview

    _runs(store)
    row = reports.overview(store, "example.com")
    assert {k: row[k] for k in row if k.startswith("section_")} == {
        "section_content": 4, "section_nav": 0, "section_header": 0, "section_footer": 0, "section_aside": 0,
        "section_comment": 0, "section_other": 0,
    }  # fmt: skip
    assert row["refdomains_dr_0_10"] == 4 and row["refdomains_toxicity_low"] == 2  # a, f (5); b, e toxic (70)
    assert row["refdomains_toxicity_high"] == 2 and row["referring_domains"] == 4
    monkeypatch.setattr(_overview, "_SMALL", 0)  # the join by hash that big targets take
    assert reports.overview(store, "example.com") == row
