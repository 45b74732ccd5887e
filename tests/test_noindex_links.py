"""Links on noindex pages (issue 13, item 11): live, listed and filterable, flagged ``noindex``,
passing no authority."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from linkrows import insert, link, store_of
from typer.testing import CliRunner

from linkback import reports
from linkback.cli import app
from linkback.ingest import record_pages
from linkback.rank import rank
from linkback.records import FetchedPage
from linkback.store import Store

TARGET = "https://target.example/"


def page(url: str, robots: str, at: datetime) -> FetchedPage:
    meta = f'<meta name="robots" content="{robots}">' if robots else ""
    body = f'<html><head><title>t</title>{meta}</head><body><a href="{TARGET}">the target</a></body></html>'
    return FetchedPage(
        url=url, status=200, headers=(("Content-Type", "text/html; charset=utf-8"),), body=body.encode(), fetched_at=at
    )


def test_an_ingested_noindex_page_gives_a_live_backlink_flagged_noindex() -> None:
    at = datetime(2024, 3, 1, tzinfo=UTC)
    with Store(":memory:") as store:
        pages = [page("https://hidden.org/a", "noindex", at), page("https://open.org/b", "", at)]
        record_pages(store, pages, origin="t")
        rows = {r["source_url"]: r for r in reports.backlinks(store, "target.example")}
        assert {url: (r["noindex"], r["lost_at"]) for url, r in rows.items()} == {
            "https://hidden.org/a": (True, None),
            "https://open.org/b": (False, None),
        }
        # The page turns noindex later: its link stays live, now flagged.
        later = datetime(2024, 4, 1, tzinfo=UTC)
        record_pages(store, [page("https://open.org/b", "noindex, follow", later)], origin="t")
        (row,) = reports.backlinks(store, "target.example", from_domain="open.org")
        assert (row["noindex"], row["last_seen"], row["lost_at"], row["lost_reason"]) == (True, later, None, None)


# Three live links to b.com: one followed, one on a noindex page, one nofollow on a noindex page.
LINKS = [
    link("https://a.com/1", "https://b.com/", anchor="plain"),
    link("https://c.com/1", "https://b.com/x", anchor="hidden", noindex=True),
    link("https://c.com/2", "https://b.com/", anchor="both", rel="nofollow", nofollow=True, noindex=True),
]


@pytest.fixture
def store() -> Store:
    with store_of(LINKS) as s:
        yield s


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"noindex": True}, {"hidden", "both"}),
        ({"noindex": False}, {"plain"}),
        ({"follow": True}, {"plain"}),  # a noindex link is not followed
        ({"follow": False}, {"hidden", "both"}),
        ({"noindex": True, "nofollow": False}, {"hidden"}),
    ],
)
def test_noindex_filter(store: Store, filters: dict, expected: set[str]) -> None:
    assert {r["anchor"] for r in reports.backlinks(store, "b.com", **filters)} == expected


def test_grouped_reports_take_the_noindex_filter(store: Store) -> None:
    assert [r["domain"] for r in reports.refdomains(store, "b.com", noindex=True)] == ["c.com"]
    assert [r["anchor"] for r in reports.anchors(store, "b.com", noindex=False)] == ["plain"]
    assert [r["target_url"] for r in reports.pages(store, "b.com", noindex=True, sort="backlinks")] == [
        "https://b.com/",
        "https://b.com/x",
    ]
    assert [r["tld"] for r in reports.tlds(store, "b.com", noindex=False)] == ["com"]


def test_noindex_links_are_counted_but_not_as_dofollow(store: Store) -> None:
    row = reports.overview(store, "b.com")
    assert (row["backlinks"], row["noindex"], row["nofollow"], row["dofollow"]) == (3, 2, 1, 1)
    by_domain = {r["domain"]: (r["links"], r["dofollow"]) for r in reports.refdomains(store, "b.com")}
    assert by_domain == {"a.com": (1, 1), "c.com": (2, 0)}
    assert {r["target_url"]: r["dofollow"] for r in reports.pages(store, "b.com")} == {
        "https://b.com/": 1,
        "https://b.com/x": 0,
    }


def test_the_links_export_carries_the_flag() -> None:
    at = datetime(2024, 3, 1, tzinfo=UTC)
    with Store(":memory:") as store:
        pages = [page("https://hidden.org/a", "noindex", at), page("https://open.org/b", "", at)]
        record_pages(store, pages, origin="t")
        out = io.BytesIO()
        reports.export(store, "links", "jsonl", out)
        rows = map(json.loads, out.getvalue().decode().splitlines())
        assert {r["source_url"]: r["noindex"] for r in rows} == {
            "https://hidden.org/a": True,
            "https://open.org/b": False,
        }


def test_links_on_noindex_pages_pass_no_authority_in_rank() -> None:
    base = [link("https://a.com/1", "https://b.com/")]
    hidden = [link("https://c.com/1", "https://b.com/", noindex=True), link("https://c.com/2", "https://d.com/")]

    def ranks(links: list[dict]) -> dict[str, tuple]:
        with store_of(links) as s:
            run = rank(s, seeds=[], tol=1e-12).run_id
            return {
                d: (dr, dofollow_refdomains)
                for d, dr, dofollow_refdomains in s.con.execute(
                    "SELECT domain, dr, dofollow_refdomains FROM domain_ranks WHERE run_id = ?", [run]
                ).fetchall()
            }

    before, after = ranks(base), ranks(base + hidden)
    assert after["b.com"][0] == pytest.approx(before["b.com"][0], abs=1e-9)
    assert after["b.com"][1] == 1  # a.com only: c.com's link is on a noindex page
    assert after["d.com"][0] > 0  # c.com's followed link from an indexed page counts


LINK_REPORT_COMMANDS = ["backlinks", "refdomains", "anchors", "pages", "tlds"]


def _plain(value: object) -> object:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(value, datetime) else value


@pytest.mark.parametrize("command", LINK_REPORT_COMMANDS)
def test_every_link_report_command_takes_noindex_and_no_noindex(tmp_path, command: str) -> None:
    path = tmp_path / "noindex.duckdb"
    with Store(path) as s:
        insert(s, "links", sorted(LINKS, key=lambda r: r["target_rhost"]))
    python = getattr(reports, command)
    with Store(path, read_only=True) as s:
        answers = []
        for flag, value in (("--noindex", True), ("--no-noindex", False)):
            result = CliRunner().invoke(app, [command, "b.com", flag, "-f", "json", "--db", str(path)])
            assert result.exit_code == 0, result.output
            expected = [{k: _plain(v) for k, v in row.items()} for row in python(s, "b.com", noindex=value)]
            assert json.loads(result.stdout) == expected and expected
            answers.append(expected)
        assert answers[0] != answers[1] or command == "tlds"  # both sides' sources are .com
