"""``linkback intersect`` (the link intersect, or backlink gap) and ``linkback linked-domains`` (where a
domain links out), issue 16, over the pages of test_compare's world: who links where is in its
``world()`` docstring, and every expected row below is counted by hand from it."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_compare import MINE, A, B, C, build, run

from linkback import reports
from linkback.errors import TargetError, TargetNotFound
from linkback.reports import _intersect, next_cursor
from linkback.reports._intersect import LINKED_DOMAIN_COLUMNS, SourceNotFound
from linkback.store import Store


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build(str(tmp_path_factory.mktemp("intersect") / "web.duckdb"), ranked=False)


@pytest.fixture(scope="module")
def ranked_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build(str(tmp_path_factory.mktemp("intersect-ranked") / "web.duckdb"), ranked=True)


@pytest.fixture
def store(db: str) -> Store:
    with Store(db, read_only=True) as s:
        yield s


@pytest.fixture
def ranked(ranked_db: str) -> Store:
    with Store(ranked_db, read_only=True) as s:
        yield s


def summary(rows: list[dict]) -> list[tuple]:
    """(source, targets, links, links per target) of each row."""
    return [(r["source"], r["targets"], r["links"], tuple(c["links"] for c in r["cells"])) for r in rows]


# --- intersect ---------------------------------------------------------------------------------------


def test_domains_linking_to_two_of_three(store: Store) -> None:
    rows = reports.intersect(store, [A, B, C])
    # s1 links to all three; the others to two (s6 from two of its hosts, s5 from two pages); s4
    # and bücher lost their links at the recrawl. No rank run: ties by links, then A-Z.
    assert summary(rows) == [
        ("s1.test", 3, 4, (2, 1, 1)),
        ("s2.test", 2, 2, (1, 1, 0)),
        ("s3.test", 2, 2, (1, 0, 1)),
        ("s5.test", 2, 2, (1, 1, 0)),
        ("s6.test", 2, 2, (0, 1, 1)),
        ("s7.test", 2, 2, (1, 0, 1)),
    ]
    assert all(list(r) == list(reports.INTERSECT_COLUMNS) for r in rows)
    assert all(r["dr"] is None and r["domain"] == r["source"] for r in rows)


def test_each_cell_names_the_first_link_behind_it(store: Store) -> None:
    s1 = reports.intersect(store, [A, B, C])[0]
    assert s1["cells"] == [
        {"target": A, "links": 2, "source_url": "https://s1.test/p", "target_url": f"https://{A}/"},
        {"target": B, "links": 1, "source_url": "https://s1.test/p", "target_url": f"https://{B}/"},
        {"target": C, "links": 1, "source_url": "https://s1.test/p", "target_url": f"https://{C}/"},
    ]
    s6 = next(r for r in reports.intersect(store, [A, B, C]) if r["source"] == "s6.test")
    assert s6["cells"][0] == {"target": A, "links": 0, "source_url": None, "target_url": None}
    assert [c["source_url"] for c in s6["cells"][1:]] == ["https://www.s6.test/p", "https://blog.s6.test/q"]


def test_not_mine_drops_the_domains_that_already_link_to_it(store: Store) -> None:
    rows = reports.intersect(store, [A, B, C], exclude=[MINE])
    assert [r["source"] for r in rows] == ["s1.test", "s3.test", "s5.test", "s6.test", "s7.test"]  # s2/q links to mine
    assert [r["source"] for r in reports.intersect(store, [A, B, C], min_targets=3, exclude=[MINE])] == ["s1.test"]
    # Excluding a competitor too: every domain linking to other.test goes.
    assert [r["source"] for r in reports.intersect(store, [A, C], exclude=[MINE, B])] == ["s3.test", "s7.test"]


def test_pages_count_each_page_on_its_own(store: Store) -> None:
    rows = reports.intersect(store, [A, B, C], pages=True)
    # s5 and s6 link to two targets from different pages: no page of theirs is listed.
    assert summary(rows) == [
        ("https://s1.test/p", 3, 4, (2, 1, 1)),
        ("https://s2.test/p", 2, 2, (1, 1, 0)),
        ("https://s3.test/p", 2, 2, (1, 0, 1)),
        ("https://s7.test/p", 2, 2, (1, 0, 1)),
    ]
    assert [r["domain"] for r in rows] == ["s1.test", "s2.test", "s3.test", "s7.test"]
    # Excluded by page: s2's page does not link to mine.test (its other page does).
    assert "https://s2.test/p" in [r["source"] for r in reports.intersect(store, [A, B, C], pages=True, exclude=[MINE])]
    assert rows[0]["cells"][0]["target_url"] == f"https://{A}/"  # the first of its two links to rival.test


def test_follow_counts_followed_links_only(store: Store) -> None:
    # s3's link to third.test is nofollow: with follow it links to one target only.
    assert "s3.test" not in [r["source"] for r in reports.intersect(store, [A, B, C], follow=True)]
    assert "s3.test" in [r["source"] for r in reports.intersect(store, [A, B, C], follow=False, min_targets=1)]


def test_ranked_by_targets_then_dr(ranked: Store) -> None:
    rows = reports.intersect(ranked, [A, B, C])
    # s3 is the only source other sites link to (h1..h3): the best rated of those with two targets.
    assert [r["source"] for r in rows] == ["s1.test", "s3.test", "s2.test", "s5.test", "s6.test", "s7.test"]
    dr = {r["source"]: r["dr"] for r in rows}
    assert dr["s3.test"] > dr["s2.test"] == dr["s5.test"] >= 0
    assert dr["s3.test"] == reports.domain_history(ranked, "s3.test")[0]["dr"]
    assert [r["source"] for r in reports.intersect(ranked, [A, B, C], sort="dr")][0] == "s3.test"
    assert [r["source"] for r in reports.intersect(ranked, [A, B, C], sort="links")][:2] == ["s1.test", "s3.test"]


@pytest.mark.parametrize("sort", ["targets", "dr", "links"])
@pytest.mark.parametrize("pages", [False, True])
def test_pages_of_rows_follow_each_other(ranked: Store, sort: str, pages: bool) -> None:
    whole = reports.intersect(ranked, [A, B, C], sort=sort, pages=pages, min_targets=1)
    seen, after = [], None
    while True:
        page = reports.intersect(ranked, [A, B, C], sort=sort, pages=pages, min_targets=1, limit=2, after=after)
        seen += page
        if len(page) < 2:
            break
        after = next_cursor("intersect", sort, json.loads(json.dumps(page[-1], default=str)))
    assert seen == whole and len(whole) > 4


# --- intersect: edge cases and bad input -------------------------------------------------------------


def test_a_target_given_twice_counts_once(store: Store) -> None:
    twice = reports.intersect(store, [A, B, A, "Other.TEST"])
    assert twice == reports.intersect(store, [A, B]) and len(twice[0]["cells"]) == 2
    with pytest.raises(ValueError, match="min_targets 2 is more than the 1 distinct target given"):
        reports.intersect(store, [A, "RIVAL.test"])


def test_min_targets_out_of_range_is_a_clear_error(store: Store) -> None:
    with pytest.raises(ValueError, match="min_targets 4 is more than the 3 distinct targets given"):
        reports.intersect(store, [A, B, C], min_targets=4)
    for bad in (0, -1, True, 2.5):
        with pytest.raises(ValueError, match="min_targets must be a whole number"):
            reports.intersect(store, [A, B, C], min_targets=bad)  # type: ignore[arg-type]


def test_a_target_without_links_and_a_contradiction_are_errors(store: Store) -> None:
    with pytest.raises(TargetNotFound, match="did you mean rival.test"):
        reports.intersect(store, [A, "rivall.test"])
    with pytest.raises(TargetNotFound):  # in the index as a source only
        reports.intersect(store, [A, B], exclude=["s4.test"])
    with pytest.raises(ValueError, match="rival.test: both a target and excluded"):
        reports.intersect(store, [A, B], exclude=["RIVAL.test"])
    with pytest.raises(ValueError, match="at least one"):
        reports.intersect(store, [])
    with pytest.raises(TargetError):
        reports.intersect(store, [A, "not a domain"])
    with pytest.raises(ValueError, match="unknown sort"):
        reports.intersect(store, [A, B], sort="name")


def test_hostile_strings_reach_sql_as_parameters(store: Store) -> None:
    with pytest.raises(TargetNotFound):
        reports.intersect(store, [A, f"{A}/x' OR '1'='1"], min_targets=1)
    # A URL prefix of a target works like any target; a cursor that was tampered with is refused.
    rows = reports.intersect(store, [f"https://{A}/x", B], min_targets=2)
    assert [r["source"] for r in rows] == ["s1.test"]
    cursor = next_cursor("intersect", "targets", rows[0])
    with pytest.raises(reports.CursorError):
        reports.intersect(store, [A, B], after=cursor[:-2] + "xx")
    with pytest.raises(reports.CursorError, match="sort=targets"):
        reports.intersect(store, [A, B], sort="dr", after=cursor)


# --- linked_domains ----------------------------------------------------------------------------------


def test_linked_domains_lists_where_a_site_links_out(store: Store) -> None:
    rows = reports.linked_domains(store, "s1.test")
    assert [(r["domain"], r["links"], r["dofollow"], r["linking_pages"]) for r in rows] == [
        (A, 2, 2, 1), (B, 1, 1, 1), (C, 1, 1, 1)]  # fmt: skip  # not its own about page
    assert all(list(r) == list(LINKED_DOMAIN_COLUMNS) and r["dr"] is None for r in rows)
    assert [r["domain"] for r in reports.linked_domains(store, "s3.test", follow=True)] == [A]
    assert [r["domain"] for r in reports.linked_domains(store, "s3.test", follow=False)] == [C]
    # By host and by URL prefix; a lost link is not listed.
    assert [r["domain"] for r in reports.linked_domains(store, "blog.s6.test")] == [C]
    assert [r["domain"] for r in reports.linked_domains(store, "https://s5.test/b")] == [B]
    assert reports.linked_domains(store, "s4.test") == []  # its one link was lost: known, nothing live
    assert [r["domain"] for r in reports.linked_domains(store, "bücher.test")] == ["example.org"]


def test_linked_domains_with_ranks_sorts_and_pages(ranked: Store) -> None:
    rows = reports.linked_domains(ranked, "s1.test", sort="dr")
    assert [r["domain"] for r in rows] == sorted((A, B, C), key=lambda d: -reports.domain_history(ranked, d)[0]["dr"])
    assert rows == reports.linked_domains(ranked, "s1.test", sort="dr", limit=2) + reports.linked_domains(
        ranked, "s1.test", sort="dr", after=next_cursor("linked_domains", "dr", rows[1])
    )
    by_name = reports.linked_domains(ranked, "s1.test", sort="domain")
    assert [r["domain"] for r in by_name] == [B, A, C] and by_name[0]["dr"] is not None


def test_linked_domains_of_an_unknown_site_says_so(store: Store) -> None:
    with pytest.raises(SourceNotFound, match="no links on pages of 'nowhere.test'"):
        reports.linked_domains(store, "nowhere.test")
    with pytest.raises(TargetError):
        reports.linked_domains(store, "not a domain")


# --- the CLI ------------------------------------------------------------------------------------------


def test_cli_table_names_the_targets_by_letter_in_80_columns(ranked_db: str) -> None:
    code, out, err = run("intersect", A, B, C, "--not", MINE, db=ranked_db)
    assert code == 0, err
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert [f"A  {A}", f"B  {B}", f"C  {C}"] == [
        line.strip() for line in lines if line.strip()[:3] in ("A  ", "B  ", "C  ")
    ]
    s1 = next(line for line in lines if line.startswith("s1.test")).split()
    assert s1[0] == "s1.test" and s1[2:] == ["3", "4", "2", "1", "1"]
    assert "s2.test" not in out


def test_cli_csv_has_a_column_per_target_and_json_the_cells(db: str) -> None:
    code, out, _ = run("intersect", A, B, C, "--format", "csv", db=db)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and rows[0]["source"] == "s1.test" and rows[0][f"links:{A}"] == "2"
    assert rows[0][f"target_url:{C}"] == f"https://{C}/" and rows[-1][f"links:{B}"] == "0"
    code, out, _ = run("intersect", A, B, C, "--pages", "--min", "3", "--format", "csv", db=db)
    assert code == 0 and out.splitlines()[0].endswith(f"links:{C},source_url:{C},target_url:{C}")
    code, out, _ = run("intersect", A, B, "--format", "json", db=db)
    assert code == 0 and json.loads(out) == json.loads(json.dumps(reports_of(db, [A, B]), default=str))


def reports_of(db: str, targets: list[str]) -> list[dict]:
    with Store(db, read_only=True) as store:
        return reports.intersect(store, targets)


def test_cli_pages_through_with_the_printed_command(db: str) -> None:
    code, out, err = run("intersect", A, B, C, "--limit", "4", db=db)
    assert code == 0 and "next 4: linkback intersect rival.test other.test third.test" in err
    after = err.split("--after ")[1].split()[0]
    code, out, _ = run("intersect", A, B, C, "--limit", "4", "--after", after, db=db)
    assert code == 0 and "s6.test" in out and "s7.test" in out and "s1.test" not in out


def test_cli_errors_are_one_red_line(db: str) -> None:
    code, out, err = run("intersect", A, B, "--min", "3", db=db)
    assert code == 2 and out == "" and "min_targets 3 is more than the 2 distinct targets" in err
    code, _, err = run("intersect", A, B, "--not", A, db=db)
    assert code == 2 and "both a target and excluded" in err
    code, _, err = run("linked-domains", "nowhere.test", db=db)
    assert code == 2 and "no links on pages of 'nowhere.test'" in err


def test_cli_linked_domains(ranked_db: str) -> None:
    code, out, err = run("linked-domains", "s1.test", "--sort", "dr", db=ranked_db)
    assert code == 0, err
    assert all(len(line) <= 80 for line in out.splitlines())
    with Store(ranked_db, read_only=True) as store:
        expected = reports.linked_domains(store, "s1.test", sort="dr")
    shown = [line.split() for line in out.splitlines() if line.split() and line.split()[0] in (A, B, C)]
    assert [(cells[0], cells[1], cells[2]) for cells in shown] == [
        (r["domain"], f"{r['dr']:.1f}", str(r["links"])) for r in expected
    ]


def test_examples_for_a_long_page_come_the_same_way(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    for pages in (False, True):
        inlined = reports.intersect(store, [A, B, C], pages=pages, min_targets=1)
        monkeypatch.setattr(_intersect, "_LITERAL_KEYS", 1)  # more sources than that: a semi join
        assert reports.intersect(store, [A, B, C], pages=pages, min_targets=1) == inlined
        monkeypatch.undo()


def test_a_page_of_top_tiers_is_the_page_the_join_gives(ranked: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # The first page by targets rates only its top tiers' sources (by name); the same page with
    # every source rated by the join (too many sources for names) must not differ.
    pages = [reports.intersect(ranked, [A, B, C], min_targets=1, limit=n) for n in (1, 2, 4)]
    after = next_cursor("intersect", "targets", pages[1][-1])
    more = reports.intersect(ranked, [A, B, C], min_targets=1, limit=3, after=after)
    monkeypatch.setattr(_intersect, "_LITERAL_KEYS", 1)
    assert pages == [reports.intersect(ranked, [A, B, C], min_targets=1, limit=n) for n in (1, 2, 4)]
    assert more == reports.intersect(ranked, [A, B, C], min_targets=1, limit=3, after=after)


def test_many_targets_take_wider_bits(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = reports.intersect(store, [A, B, C], exclude=[MINE], min_targets=1)
    monkeypatch.setattr(_intersect, "_BIGINT_TARGETS", 1)  # as for 62 targets or more: a HUGEINT of bits
    assert reports.intersect(store, [A, B, C], exclude=[MINE], min_targets=1) == expected


def test_bench_runs_in_its_tiny_mode(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    out_json = tmp_path / "competitors.json"
    proc = subprocess.run(
        [sys.executable, "-W", "error", str(root / "bench" / "bench_competitors.py"), "--quick", "--reps", "1",
         "--db", str(tmp_path / "links.duckdb"), "--gen-memory-limit", "1GB", "--json", str(out_json)],
        cwd=root, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "| intersect peer SQL" in proc.stdout and "HAVING count(DISTINCT target_domain) >= 2" in proc.stdout
    result = json.loads(out_json.read_text())
    assert {r["call"] for r in result["results"]} >= {"intersect", "compare", "intersect peer SQL"}
    assert next(r for r in result["results"] if r["call"] == "intersect")["rows"] > 0
