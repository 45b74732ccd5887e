"""``linkback compare``: competitors side by side, and their referring domains over time (issue 16),
over a store built by ingesting pages crawled twice. The expected numbers are counted by hand
from the pages below, and each target's row is checked against trend, growth and overview."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from html import escape
from pathlib import Path

import pytest
from typer.testing import CliRunner

from linkback import reports
from linkback.cli import app
from linkback.errors import TargetError, TargetNotFound
from linkback.ingest import record_pages
from linkback.quality import classify_anchor, set_profile
from linkback.quality._toxicity import _profile
from linkback.rank import rank
from linkback.records import FetchedPage
from linkback.reports._compare import _Classifier, parse_targets
from linkback.store import Store

FIRST = datetime(2024, 5, 1, tzinfo=UTC)  # the first crawl
SECOND = datetime(2024, 6, 1, tzinfo=UTC)  # the recrawl: some links gone, a new site
A, B, C, MINE = "rival.test", "other.test", "third.test", "mine.test"
HOSTILE_ANCHOR = "\u202eevil\u202c '; DROP TABLE links; -- <script>alert(1)</script>"


def page(url: str, links: tuple[tuple[str, str], ...] = (), *, at: datetime = FIRST) -> FetchedPage:
    """A page whose body is the given links: (href, inner HTML) each; an ``a`` with ``rel`` is
    written ``rel=nofollow|href``."""
    anchors = []
    for href, inner in links:
        rel, _, target = href.rpartition("|")
        rel_attr = f' rel="{rel}"' if rel else ""
        anchors.append(f'<p><a href="{escape(target)}"{rel_attr}>{inner}</a></p>')
    body = f"<html><head><title>{escape(url)}</title></head><body>{''.join(anchors)}</body></html>"
    return FetchedPage(
        url=url, status=200, headers=(("Content-Type", "text/html; charset=utf-8"),), body=body.encode(), fetched_at=at
    )


def world() -> list[list[FetchedPage]]:
    """The two crawls. Who links where (A rival, B other, C third, MINE mine):

    s1: A twice (Rival, read more), B, C, and itself; s2/p: A (its naked URL), B; s2/q: MINE;
    s3: A, C (nofollow); s4: A (an image without alt), gone at the recrawl; s5/a: A; s5/b: B;
    www.s6: B; blog.s6: C; bücher: A with a hostile anchor, gone at the recrawl; s7 (new at the
    recrawl): A (an image), C. h1..h3 link to s3, which makes s3 the best rated source."""
    first = [
        page(
            "https://s1.test/p",
            (
                (f"https://{A}/", "Rival"),
                (f"https://{A}/x", "read more"),
                (f"https://{B}/", "Other"),
                (f"https://{C}/", "third.test"),
                ("https://s1.test/about", "About us"),
            ),
        ),  # fmt: skip
        page("https://s2.test/p", ((f"https://{A}/", f"https://{A}/"), (f"https://www.{B}/b", "a good read"))),
        page("https://s2.test/q", ((f"https://{MINE}/", "mine"),)),
        page(
            "https://s3.test/p", ((f"https://{A}/deals", "cheap widgets"), (f"nofollow|https://{C}/", "<b>third</b>"))
        ),
        page("https://s4.test/p", ((f"https://{A}/", '<img src="/logo.png">'),)),
        page("https://s5.test/a", ((f"https://{A}/", "click here"),)),
        page("https://s5.test/b", ((f"https://{B}/", "Other site"),)),
        page("https://www.s6.test/p", ((f"https://{B}/", "Other"),)),
        page("https://blog.s6.test/q", ((f"https://{C}/", "Third"),)),
        page("https://bücher.test/p", ((f"https://{A}/", escape(HOSTILE_ANCHOR)),)),
        *(page(f"https://h{n}.test/", (("https://s3.test/p", "s3"),)) for n in range(1, 4)),
    ]
    second = [
        page("https://s4.test/p", (), at=SECOND),
        page("https://bücher.test/p", (("https://example.org/", "elsewhere"),), at=SECOND),
        page("https://s7.test/p", ((f"https://{A}/", '<img src="/a.png">'), (f"https://{C}/", "Third")), at=SECOND),
    ]
    return [first, second]


def build(path: str, *, ranked: bool) -> str:
    with Store(path) as store:
        for crawl in world():
            record_pages(store, crawl, origin="crawl")
        if ranked:
            rank(store)
    return path


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build(str(tmp_path_factory.mktemp("compare") / "web.duckdb"), ranked=False)


@pytest.fixture(scope="module")
def ranked_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build(str(tmp_path_factory.mktemp("compare-ranked") / "web.duckdb"), ranked=True)


@pytest.fixture
def store(db: str) -> Store:
    with Store(db, read_only=True) as s:
        yield s


@pytest.fixture
def ranked(ranked_db: str) -> Store:
    with Store(ranked_db, read_only=True) as s:
        yield s


def by_target(rows: list[dict]) -> dict[str, dict]:
    return {r["target"]: r for r in rows}


# --- compare -----------------------------------------------------------------------------------------


def test_compare_counts_what_the_pages_hold(store: Store) -> None:
    rows = reports.compare(store, [A, B, C], since="2024-05-15", until="2024-06-30")
    assert [r["target"] for r in rows] == [A, B, C]
    a, b, c = rows
    # rival.test at the end of June: s1 (2 links), s2, s3, s5, s7; s4 and bücher were lost on 1 June.
    assert (a["referring_domains"], a["backlinks"], a["dofollow"]) == (5, 6, 6)
    assert (a["new_referring_domains"], a["lost_referring_domains"]) == (1, 2)  # s7 came; s4 and bücher went
    assert (b["referring_domains"], b["backlinks"], b["new_referring_domains"], b["lost_referring_domains"]) == (
        4,
        4,
        0,
        0,
    )
    # third.test: s3's link is nofollow.
    assert (c["referring_domains"], c["dofollow_referring_domains"], c["backlinks"], c["dofollow"]) == (4, 3, 4, 3)
    assert c["dofollow_share"] == 0.75 and a["dofollow_share"] == 1.0
    assert (a["since"], a["until"]) == (date(2024, 5, 15), date(2024, 6, 30))
    # No rank run yet: no ratings, no DR bands.
    assert a["dr"] is None and a["trust"] is None and a["as_of"] is None and a["refdomains_dr_0_10"] is None
    assert all(list(r) == list(reports.COMPARE_COLUMNS) for r in rows)


def test_compare_anchor_classes_are_those_of_the_links_counted(store: Store) -> None:
    (end,) = reports.compare(store, [A], until="2024-06-30")
    classes = {k[len("anchors_") :]: v for k, v in end.items() if k.startswith("anchors_") and v}
    # Rival; read more + click here; its naked URL; cheap widgets; s7's image without alt.
    assert classes == {"branded": 1, "generic": 2, "naked_url": 1, "other": 1, "image": 1}
    (before,) = reports.compare(store, [A], until="2024-05-15")  # s4's image and bücher's hostile anchor still there
    classes = {k[len("anchors_") :]: v for k, v in before.items() if k.startswith("anchors_") and v}
    assert classes == {"branded": 1, "generic": 2, "naked_url": 1, "other": 2, "image": 1}
    assert before["referring_domains"] == 6 and before["backlinks"] == 7
    # The same classes the anchors report gives, summed over its anchors.
    summed: dict[str, int] = {}
    for row in reports.anchors(store, A):
        summed[row["anchor_class"]] = summed.get(row["anchor_class"], 0) + row["links"]
    assert summed == {k: v for k, v in classes.items() if k != "other"} | {"other": 1, "image": 1}


TRICKY_ANCHORS = [
    "", "   ", "\u200b", "Rival", "RIVAL deals", "rival.test", "https://rival.test/x", "www.other.test", "other",
    "Other Site", "click here", "read more »", "»", "blue widgets", "Cheap Blue Widgets", "widgets", "intranet.local",
    "nas", "https://example.org/", "Bücher", "buecher", "Bu\u0308cher shop", "T h i r d", "third-party", "\u202eevil",
    "'; DROP TABLE links; --", "a" * 300, "third.test/page?q=1", "mailto:x@rival.test", "3.14",
]  # fmt: skip


@pytest.mark.parametrize("keywords", [False, True])
def test_classes_of_many_targets_are_each_targets_anchor_classes(keywords: bool) -> None:
    """The compare's shortcut (each text classified once with no site's terms) gives exactly the
    class classify_anchor gives with each target's own brand and keywords."""
    with Store(":memory:") as store:
        set_profile(store, B, brands=["Widget Co"], keywords=["blue widgets"] if keywords else [])
        tgts = parse_targets([A, B, C, "intranet.local", "xn--bcher-kva.test", "https://rival.test/x"])
        classes, overrides = _Classifier(store, tgts).tables(TRICKY_ANCHORS)
        base = dict(zip(classes.column("anchor").to_pylist(), classes.column("cls").to_pylist(), strict=True))
        changed = {(t, a): c for t, a, c in zip(*(overrides.column(n).to_pylist() for n in ("t", "anchor", "cls")))}
        for t, tgt in enumerate(tgts):
            url = tgt.value if "://" in tgt.value else f"https://{tgt.value}"
            profile = _profile(store.con, tgt)
            for text in TRICKY_ANCHORS:
                expected = classify_anchor(text, kind="text", target_url=url, profile=profile)
                assert changed.get((t, text), base[text]) == expected, (tgt.value, text)
        assert len(changed) >= 5  # the targets' own terms did decide some


@pytest.mark.parametrize("period", [(None, None), ("2024-05-15", "2024-06-30"), ("2024-05-02", "2024-05-31"),
                                    (None, "2024-05-01"), ("2024-06-01", "2024-06-01")])  # fmt: skip
def test_compare_gives_each_targets_trend_numbers(ranked: Store, period: tuple[str | None, str | None]) -> None:
    since, until = period
    for row in reports.compare(ranked, [A, B, C, "www.other.test", f"https://{A}/x"], since=since, until=until):
        trend = {r["metric"]: r for r in reports.trend(ranked, row["target"], since=since, until=until, compare="none")}
        for metric in ("referring_domains", "dofollow_referring_domains", "backlinks", "new_referring_domains",
                       "lost_referring_domains", "dr", "trust"):  # fmt: skip
            assert row[metric] == trend[metric]["value"], (row["target"], metric)
        assert (row["since"], row["until"], row["as_of"]) == (
            trend["dr"]["since"],
            trend["dr"]["until"],
            trend["dr"]["as_of"],
        )


def test_compare_today_agrees_with_overview_and_rates_the_referring_domains(ranked: Store) -> None:
    for row in reports.compare(ranked, [A, B, C]):
        over = reports.overview(ranked, row["target"])
        same = ["referring_domains", "dofollow_share", "dr", *(k for k in over if k.startswith("refdomains_dr_"))]
        assert {k: row[k] for k in same} == {k: over[k] for k in same}, row["target"]
        assert row["backlinks"] == over["backlinks"] and row["dofollow"] == over["dofollow"]
        assert sum(row[k] for k in row if k.startswith("refdomains_dr_")) == row["referring_domains"]
        history = reports.domain_history(ranked, row["target"])[0]
        assert (row["dr"], row["trust"]) == (history["dr"], history["trust"]) and row["as_of"] is not None


def test_compare_trend_is_growth_with_the_same_periods_for_all(store: Store) -> None:
    rows = reports.compare_trend(store, [A, C, B], by="week", until="2024-06-30")
    assert [r["target"] for r in rows][:: len(rows) // 3] == [A, C, B]
    for target in (A, B, C):
        mine = [r for r in rows if r["target"] == target]
        growth = reports.growth(store, target, since="2024-05-01", until="2024-06-30", by="week")
        assert [{k: r[k] for k in ("since", "until", "referring_domains", "new", "lost")} for r in mine] == [
            {k: g[k] for k in ("since", "until", "referring_domains", "new", "lost")} for g in growth
        ]
    assert rows[0]["since"] == date(2024, 5, 1)  # the first link of any of them
    assert [r["referring_domains"] for r in rows if r["target"] == A][-1] == 5
    latest = reports.compare_trend(store, [A, B], by="month", since="2024-01-01", until="2024-06-30", limit=2)
    assert [(r["target"], r["since"].month) for r in latest] == [(A, 5), (A, 6), (B, 5), (B, 6)]


# --- edge cases and bad input ------------------------------------------------------------------------


def test_a_target_given_twice_is_compared_once(store: Store) -> None:
    rows = reports.compare(store, [A, "RIVAL.test ", B, A], until="2024-06-30")
    assert [r["target"] for r in rows] == [A, B]
    assert reports.compare(store, A, until="2024-06-30") == rows[:1]  # one string is one target, not its letters


def test_a_target_without_links_is_an_error_naming_close_matches(store: Store) -> None:
    with pytest.raises(TargetNotFound, match="rival.test"):
        reports.compare(store, [A, "rivall.test"])
    with pytest.raises(TargetNotFound):  # s4.test is in the index, but nothing links to it
        reports.compare(store, ["s4.test"])
    (only_internal,) = reports.compare(store, ["s1.test"])  # its only link is its own: zeros, not an error
    assert (only_internal["referring_domains"], only_internal["backlinks"], only_internal["dofollow_share"]) == (
        0,
        0,
        None,
    )


@pytest.mark.parametrize("bad", ["", "not a domain", "co.uk", "exa mple.com", "ftp://rival.test/"])
def test_bad_targets_are_target_errors(store: Store, bad: str) -> None:
    with pytest.raises(TargetError):
        reports.compare(store, [A, bad])


def test_hostile_url_prefixes_are_parameters_not_sql(store: Store) -> None:
    for hostile in (f"{A}/'; DROP TABLE links; --", f"https://{A}/x'OR'1'='1", f"{A}/%00%27"):
        with pytest.raises(TargetNotFound):
            reports.compare(store, [hostile])
    assert store.con.execute("SELECT count(*) FROM links").fetchone()[0] > 0


def test_bad_periods_and_lists(store: Store) -> None:
    with pytest.raises(ValueError, match="since 2024-07-01 is after until 2024-06-30"):
        reports.compare(store, [A], since="2024-07-01", until="2024-06-30")
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        reports.compare(store, [A], since="yesterday")
    with pytest.raises(ValueError, match="at least one"):
        reports.compare(store, [])
    with pytest.raises(ValueError, match="at most 100"):
        reports.compare(store, [f"t{n}.test" for n in range(101)])
    with pytest.raises(ValueError, match="by"):
        reports.compare_trend(store, [A], by="fortnight")


# --- the CLI ------------------------------------------------------------------------------------------


def run(*args: str, db: str, width: int = 80) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [*args, "--db", db], env={"COLUMNS": str(width)})
    return result.exit_code, result.stdout, result.stderr


def test_cli_table_puts_the_targets_side_by_side_in_80_columns(ranked_db: str) -> None:
    code, out, err = run("compare", A, B, C, db=ranked_db)  # ranks: the run by the period's end, today
    assert code == 0, err
    assert all(len(line) <= 80 for line in out.splitlines())
    lines = out.splitlines()
    header = next(line for line in lines if A in line and B in line and C in line)
    assert header.split() == [A, B, C]
    assert next(line for line in lines if line.startswith("referring_domains")).split()[1:] == ["5", "4", "4"]
    assert next(line for line in lines if line.startswith("dofollow_share")).split()[1:] == [
        "100.0%",
        "100.0%",
        "75.0%",
    ]
    assert "anchors: generic" in out and "refdomains DR 0–10" in out and "ranks as of" in out
    # Before the run, the period has no ratings to show.
    code, out, err = run("compare", A, B, C, "--until", "2024-06-30", db=ranked_db)
    assert code == 0 and "refdomains DR" not in out and "ranks as of" not in out and "dr " not in out


def test_cli_json_and_csv_carry_the_rows_whole(db: str) -> None:
    code, out, _ = run("compare", A, B, "--until", "2024-06-30", "--format", "json", db=db)
    rows = json.loads(out)
    assert code == 0 and [r["target"] for r in rows] == [A, B] and rows[0]["backlinks"] == 6
    code, out, _ = run("compare", A, B, "--until", "2024-06-30", "--format", "csv", db=db)
    parsed = list(csv.DictReader(io.StringIO(out)))
    assert list(parsed[0]) == list(reports.COMPARE_COLUMNS) and parsed[1]["referring_domains"] == "4"


def test_cli_by_week_shows_each_target_per_period(db: str) -> None:
    code, out, err = run("compare", A, B, "--by", "week", "--until", "2024-06-30", db=db)
    assert code == 0, err
    last = out.strip().splitlines()[-1].split()
    assert last == ["2024-06-24", "2024-06-30", "5", "4"]
    code, out, _ = run("compare", A, B, "--by", "month", "--until", "2024-06-30", "--format", "json", db=db)
    assert [(r["target"], r["since"], r["referring_domains"]) for r in json.loads(out)] == [
        (A, "2024-05-01", 6), (A, "2024-06-01", 5), (B, "2024-05-01", 4), (B, "2024-06-01", 4)]  # fmt: skip


def test_cli_errors_are_one_red_line(db: str) -> None:
    code, out, err = run("compare", A, "rivall.test", db=db)
    assert code == 2 and out == "" and "did you mean rival.test" in err and len(err.strip().splitlines()) == 1
    code, _, err = run("compare", db=db)
    assert code == 2 and "TARGET" in err


def test_readme_documents_the_commands() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "### Competitors and link intersect" in readme
    for command in ("linkback compare", "linkback intersect", "linkback linked-domains"):
        assert command in readme
