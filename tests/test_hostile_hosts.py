"""Hosts in odd but valid spellings, through the reports and the disavow file: a referrer that is
an IPv4 or IPv6 address, a target given with DNS's trailing dot. Each is answered alike by the
library, the CLI, the API and the dashboard."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from linkrows import insert, link
from typer.testing import CliRunner

from linkback import quality, reports
from linkback.cli import app as cli
from linkback.rank import rank
from linkback.server import Settings, create_app
from linkback.store import Store
from linkback.urls import parse_target

TOKEN = "hosts-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SPAM = "buy cheap viagra casino"
ODD = {"source_host": "odd host.tk", "source_domain": "odd host.tk"}  # a stored host no crawl writes

LINKS = [
    # Toxic referrers: two IP addresses, a spam TLD, and one stored host no disavow line can name.
    link("http://[2001:db8::7]/spam", "https://victim.test/", anchor=SPAM, section="comment"),
    link("http://[2001:db8::7]/more", "https://victim.test/a", anchor="best casino bonus", section="comment"),
    link("http://192.0.2.9/p", "https://victim.test/", anchor=SPAM, section="comment"),
    link("http://casino-links.tk/a", "https://victim.test/", anchor="best casino bonus"),
    link("http://odd.tk/p", "https://victim.test/", anchor=SPAM, **ODD),
    link("http://good.example/a", "https://victim.test/", anchor="victim"),
    # A rival linked from its own domain's hosts and from sources that link to mine.test too.
    link("http://[::1]/v6", "https://rival.test/", anchor="rival"),
    link("http://[::1]/v6", "https://mine.test/", anchor="mine"),
    link("http://blog.example/r", "https://www.rival.test/", anchor="rival"),
    link("http://blog.example/r", "https://mine.test/", anchor="mine"),
    link("http://xn--bcher-kva.example/r", "https://rival.test/x", anchor="rival"),
]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("hosts") / "hosts.duckdb")
    with Store(path) as store:
        insert(store, "links", sorted(LINKS, key=lambda r: r["target_rhost"]))
        rank(store)
    return path


@pytest.fixture
def store(db: str) -> Store:
    with Store(db, read_only=True) as s:
        yield s


@contextmanager
def signed_in(db: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(db=db, admin_token=TOKEN))) as client:
        signed = client.post("/do/login", data={"token": TOKEN, "next": "/"}, follow_redirects=False)
        assert signed.status_code == 303
        yield client


def undated(text: str) -> list[str]:
    return [line for line in text.splitlines() if " written by linkback on " not in line]


# --- a referrer that is an IP address, in the disavow file ---------------------------------------------


def test_an_ip_referrer_is_disavowed_by_its_pages_and_an_odd_one_is_skipped_with_a_note(store: Store) -> None:
    text = quality.disavow(store, "victim.test", min_score=30)
    lines = text.splitlines()
    # Google's domain: lines take domain names; an address's pages are listed instead.
    assert "http://[2001:db8::7]/spam" in lines and "http://[2001:db8::7]/more" in lines
    assert "http://192.0.2.9/p" in lines and not [line for line in lines if line.startswith("domain:") and (
        "[" in line or line.endswith(".9"))]  # fmt: skip
    assert "domain:casino-links.tk" in lines and "http://good.example/a" not in text
    # The host no line can name is left out, counted and said why, and the rest still written.
    assert "# skipped 1 entry not writable in Google's syntax:" in lines
    assert any("'odd host.tk': whitespace in the host" in line for line in lines)
    assert quality.check_disavow(text.encode(), filename="disavow.txt") == []


def test_the_cli_the_api_and_the_dashboard_write_the_same_file_for_an_ip_referrer(db: str) -> None:
    result = CliRunner().invoke(cli, ["disavow", "victim.test", "--min-score", "30", "--db", db])
    assert result.exit_code == 0, result.stderr
    assert "http://[2001:db8::7]/spam" in result.stdout
    with signed_in(db) as client:
        api = client.get("/api/v1/reports/disavow", params={"target": "victim.test", "min_score": 30}, headers=AUTH)
        page = client.get("/disavow.txt", params={"target": "victim.test", "min_score": 30})
    assert api.status_code == 200 and page.status_code == 200
    assert undated(api.json()) == undated(page.text) == undated(result.stdout)


def test_an_ipv6_domain_line_is_refused_with_what_to_write_instead() -> None:
    problems = quality.check_disavow(b"domain:[2001:db8::7]\n")
    assert [(p.line, p.rule) for p in problems] == [(1, "bad-domain")]
    assert "an IPv6 address" in problems[0].message and "URLs" in problems[0].message


# --- a referring domain that is an IP address, followed to its backlinks ---------------------------------


def test_every_referring_domain_refdomains_shows_is_accepted_back_as_from(store: Store) -> None:
    for target in ("rival.test", "victim.test"):
        for row in reports.refdomains(store, target):
            if " " in row["domain"]:
                continue  # a stored host no crawl writes: the filter refuses it
            found = reports.backlinks(store, target, from_domain=row["domain"])
            assert len(found) == row["links"], row["domain"]


@pytest.mark.parametrize("spelling", ["[::1]", "::1", "[0:0::1]", " [::1] "])
def test_an_ipv6_address_is_taken_in_any_spelling_of_it(store: Store, spelling: str) -> None:
    found = reports.backlinks(store, "rival.test", from_domain=spelling)
    assert [r["source_url"] for r in found] == ["http://[::1]/v6"]


@pytest.mark.parametrize("bad", ["[::1]:80", "[zz::1]", "[::1]/x", "a:b"])
def test_what_is_no_ipv6_address_is_still_refused(store: Store, bad: str) -> None:
    with pytest.raises(ValueError, match="--from"):
        reports.backlinks(store, "rival.test", from_domain=bad)


def test_the_cli_and_each_intersect_cell_follow_an_ipv6_source_to_its_backlinks(db: str) -> None:
    result = CliRunner().invoke(cli, ["backlinks", "rival.test", "--from", "[::1]", "--format", "csv", "--db", db])
    assert result.exit_code == 0, result.stderr
    assert "http://[::1]/v6" in result.stdout
    with signed_in(db) as client:
        grid = client.get("/intersect", params={"targets": "rival.test\nmine.test"})
        assert grid.status_code == 200
        hrefs = re.findall(r'href="(/reports/backlinks\?[^"]*from_domain=[^"]*)"', grid.text)
        cells = {html.unescape(h) for h in hrefs}
        to_v6 = [h for h in cells if "from_domain=[::1]" in unquote(h)]
        assert to_v6, cells
        for href in to_v6:
            page = client.get(href)
            assert page.status_code == 200 and "http://[::1]/v6" in page.text, href


# --- a target given with a trailing dot ----------------------------------------------------------------


def test_a_hosts_trailing_dot_names_the_same_target() -> None:
    assert parse_target("Rival.test.") == parse_target("rival.test")
    assert parse_target("www.rival.test.") == parse_target("www.rival.test")
    assert parse_target("localhost.") == parse_target("localhost")


def test_a_target_given_with_and_without_its_trailing_dot_counts_once(store: Store) -> None:
    rows = reports.compare(store, ["rival.test", "RIVAL.test."])
    assert [r["target"] for r in rows] == ["rival.test"]
    # As a domain: www.rival.test's link counts, as it does for rival.test.
    assert reports.compare(store, ["rival.test."]) == reports.compare(store, ["rival.test"])
    with pytest.raises(ValueError, match="1 distinct target"):
        reports.intersect(store, ["rival.test", "rival.test."], min_targets=2)
    both = reports.intersect(store, ["rival.test.", "mine.test"], min_targets=2)
    assert {r["domain"] for r in both} == {"[::1]", "blog.example"}


def test_the_cli_and_the_api_count_a_trailing_dot_target_once(db: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["compare", "rival.test", "rival.test.", "--format", "csv", "--db", db])
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2  # the header and one row
    with signed_in(db) as client:
        api = client.get("/api/v1/reports/compare", params={"targets": ["rival.test", "rival.test."]}, headers=AUTH)
    assert api.status_code == 200 and [r["target"] for r in api.json()] == ["rival.test"]
