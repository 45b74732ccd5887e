"""Which domains an index holds: ``reports.domains`` / ``linkback domains``, and a TARGET the index
has no link to (a typo) as an error naming close matches, not rows of zeros (issue 13)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from linkrows import insert, link, store_of, ts
from test_reports import build_store
from typer.testing import CliRunner

from linkback import reports
from linkback.cli import app
from linkback.errors import LinkbackError, TargetNotFound
from linkback.store import Store


@pytest.fixture
def store() -> Store:
    with build_store() as s:
        yield s


def test_domains_lists_the_most_linked_domains(store: Store) -> None:
    rows = reports.domains(store)
    assert [tuple(r.values()) for r in rows] == [
        # domain, dr, referring domains, backlinks, dofollow, internal links (live links only)
        ("example.com", None, 4, 6, 3, 2),
        ("example-x.com", None, 1, 2, 2, 0),
        ("example.co.uk", None, 1, 1, 1, 0),
        ("examples.com", None, 1, 1, 1, 0),
        ("notexample.com", None, 1, 1, 1, 0),
    ]
    assert list(rows[0]) == list(reports.DOMAIN_COLUMNS)


def test_domains_agree_with_each_domains_overview(store: Store) -> None:
    for row in reports.domains(store):
        card = reports.overview(store, row["domain"])
        assert (row["referring_domains"], row["backlinks"], row["dofollow"]) == (
            card["referring_domains"],
            card["backlinks"],
            card["dofollow"],
        )
        assert row["internal_links"] == reports.overview(store, row["domain"], internal=True)["backlinks"]


def test_domains_by_host(store: Store) -> None:
    rows = reports.domains(store, by="host", sort="backlinks")
    assert list(rows[0]) == list(reports.HOST_COLUMNS)
    assert [(r["host"], r["domain"], r["referring_domains"], r["backlinks"], r["dofollow"]) for r in rows[:3]] == [
        ("example.com", "example.com", 4, 5, 3),
        ("example-x.com", "example-x.com", 1, 1, 1),
        ("example.co.uk", "example.co.uk", 1, 1, 1),
    ]
    assert ("www.example.com", "example.com", 1, 1, 0) in [
        (r["host"], r["domain"], r["referring_domains"], r["backlinks"], r["dofollow"]) for r in rows
    ]


def test_domains_carry_the_newest_completed_runs_ratings_and_sort_by_them(store: Store) -> None:
    insert(store, "rank_runs", [{"run_id": 1, "started_at": ts("2024-04-01"), "completed_at": ts("2024-04-01")}])
    insert(store, "rank_runs", [{"run_id": 2, "started_at": ts("2024-05-01")}])  # interrupted
    insert(store, "domain_ranks", [{"run_id": 1, "domain": "examples.com", "dr": 42.0}])
    insert(store, "domain_ranks", [{"run_id": 2, "domain": "notexample.com", "dr": 99.0}])
    insert(store, "host_ranks", [{"host": "www.example.com", "domain": "example.com", "hr": 12.5}])
    top = reports.domains(store, sort="rating", limit=2)
    assert [(r["domain"], r["dr"]) for r in top] == [("examples.com", 42.0), ("example.com", None)]
    (host,) = reports.domains(store, by="host", sort="rating", limit=1)
    assert (host["host"], host["hr"]) == ("www.example.com", 12.5)


def test_domains_limit_and_bad_choices(store: Store) -> None:
    assert [r["domain"] for r in reports.domains(store, sort="dofollow", limit=2)] == ["example.com", "example-x.com"]
    for bad in ({"by": "page"}, {"sort": "name"}, {"limit": -1}):
        with pytest.raises(ValueError):
            reports.domains(store, **bad)


def test_domains_of_an_empty_index_is_empty() -> None:
    with Store(":memory:") as empty:
        assert reports.domains(empty) == [] and reports.domains(empty, by="host") == []


# -- a TARGET with no link at all ---------------------------------------------------------------------

TYPO_LINKS = [
    link("https://a.org/1", "https://facebook.com/"),
    link("https://b.org/1", "https://www.facebook.com/page"),
    link("https://c.org/1", "https://example.org/"),
    link("https://gone.org/1", "https://lostonly.net/", lost_at=ts("2024-02-01"), lost_reason="removed"),
    link("https://inside.net/a", "https://inside.net/b"),  # internal only
]

LIST_REPORTS = [
    ("overview", lambda s, t: reports.overview(s, t)),
    ("backlinks", lambda s, t: reports.backlinks(s, t)),
    ("refdomains", lambda s, t: reports.refdomains(s, t)),
    ("anchors", lambda s, t: reports.anchors(s, t)),
    ("pages", lambda s, t: reports.pages(s, t)),
    ("tlds", lambda s, t: reports.tlds(s, t)),
    ("history", lambda s, t: reports.history(s, t)),
]


@pytest.fixture
def typo_store() -> Store:
    with store_of(TYPO_LINKS) as s:
        yield s


@pytest.mark.parametrize(("name", "report"), LIST_REPORTS, ids=[n for n, _ in LIST_REPORTS])
def test_a_typo_target_is_an_error_naming_close_matches(typo_store: Store, name: str, report: Any) -> None:
    with pytest.raises(TargetNotFound) as caught:
        report(typo_store, "facebok.com")
    assert isinstance(caught.value, LinkbackError)
    assert str(caught.value).startswith("no backlinks to 'facebok.com' in this index")
    assert caught.value.close_matches[0] == "facebook.com" and "facebook.com" in str(caught.value)


def test_a_host_the_index_lacks_suggests_its_domain_first(typo_store: Store) -> None:
    with pytest.raises(TargetNotFound) as caught:
        reports.backlinks(typo_store, "m.facebook.com")
    assert caught.value.close_matches[0] == "facebook.com"


def test_a_name_close_to_nothing_points_to_linkback_domains(typo_store: Store) -> None:
    with pytest.raises(TargetNotFound, match="linkback domains") as caught:
        reports.overview(typo_store, "zzzzqqq.io")
    assert caught.value.close_matches == ()


@pytest.mark.parametrize(("name", "report"), LIST_REPORTS, ids=[n for n, _ in LIST_REPORTS])
def test_targets_with_only_lost_or_internal_links_are_not_errors(typo_store: Store, name: str, report: Any) -> None:
    report(typo_store, "lostonly.net")
    report(typo_store, "inside.net")


def test_filters_that_match_nothing_give_no_rows_not_an_error(typo_store: Store) -> None:
    assert reports.backlinks(typo_store, "facebook.com", nofollow=True) == []
    assert reports.refdomains(typo_store, "example.org", kind="image") == []


runner = CliRunner()


def test_cli_domains_and_a_typo_as_one_red_line(tmp_path) -> None:
    path = tmp_path / "typo.duckdb"
    with Store(path) as s:
        insert(s, "links", sorted(TYPO_LINKS, key=lambda r: r["target_rhost"]))
    result = runner.invoke(app, ["domains", "--format", "json", "--db", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    with Store(path, read_only=True) as s:
        assert json.loads(result.stdout) == reports.domains(s)
    result = runner.invoke(app, ["overview", "facebok.com", "--db", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no backlinks to 'facebok.com' in this index" in lines[0] and "facebook.com" in lines[0]


def test_the_most_referred_domain_is_found_however_few_backlinks_it_has() -> None:
    # 300 domains with 5 backlinks from one domain each, and one with 3 from 3 domains: by
    # backlinks it comes last, by referring domains first (the top is not only among the most
    # backlinked few the report looks at first).
    rows = [link(f"https://src{i}.org/{j}", f"https://busy{i}.com/") for i in range(300) for j in range(5)]
    rows += [link(f"https://fan{i}.net/", "https://loved.com/") for i in range(3)]
    with store_of(rows) as s:
        every = reports.domains(s)
        assert every[0]["domain"] == "loved.com" and len(every) == 301
        for limit in (1, 2, 50):
            assert reports.domains(s, limit=limit) == every[:limit]
        assert reports.domains(s, sort="backlinks")[-1]["domain"] == "loved.com"
