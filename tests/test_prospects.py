"""``linkback prospects broken``: dead pages of other sites that many sites still link to, over a
store built by ingesting pages (issue 15)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

import pytest
from linkrows import insert
from typer.testing import CliRunner

from linkback import reports
from linkback.cli import app
from linkback.ingest import record_pages
from linkback.jobs import ingest_files
from linkback.rank import rank
from linkback.records import FetchedPage
from linkback.reports._prospects import DEAD, dns_dead_hosts
from linkback.store import Store

AT = datetime(2024, 5, 1, tzinfo=UTC)
EARLIER = datetime(2023, 5, 1, tzinfo=UTC)
MINE = "https://mysite.test"
GRINDERS = "https://deadsite.test/tools/best-espresso-grinders"
WARC = Path(__file__).parent / "data" / "warc"


def page(url: str, title: str = "", links: tuple[tuple[str, str], ...] = (), *, status: int = 200, at=AT):
    anchors = "".join(f'<p><a href="{escape(href)}">{html}</a></p>' for href, html in links)
    body = f"<html><head><title>{escape(title)}</title></head><body>{anchors}</body></html>"
    return FetchedPage(
        url=url,
        status=status,
        headers=(("Content-Type", "text/html; charset=utf-8"),),
        body=body.encode(),
        fetched_at=at,
    )


# Pages of other sites and who links to them: (url, status, title, anchor, linked from sN.test for N in ...).
TARGETS = [
    (GRINDERS, 404, "Not Found", "best espresso grinders", range(1, 5)),
    ("https://gone.test/teapots", 410, "", "teapots", range(1, 4)),
    ("https://soft.test/article", 200, "Page not found | Soft", "great article on tea", range(1, 4)),
    ("https://locked.test/members", 403, "Forbidden", "members area", range(1, 6)),
    ("https://auth.test/private", 401, "", "private espresso club", range(1, 4)),
    ("https://alive.test/page", 200, "Alive and well", "alive", range(1, 6)),
    ("https://few.test/x", 404, "", "few", range(1, 2)),
    ("https://nodns.test/beans", None, "", "coffee beans", range(1, 4)),
    ("https://flaky.test/beans", None, "", "coffee beans again", range(1, 4)),
    (f"{MINE}/own-broken", 404, "", "my own old page", range(1, 4)),
]


def world() -> list[FetchedPage]:
    pages = [
        page(GRINDERS, "The best espresso grinders of 2020 | DeadSite", at=EARLIER),  # alive a year ago
        page(f"{MINE}/guides/espresso-grinder-guide", "Espresso grinder guide | MySite"),
        page(f"{MINE}/guides/tea-guide", "Tea guide | MySite"),
        page(f"{MINE}/about", "About MySite"),
    ]
    linking: dict[int, list[tuple[str, str]]] = {n: [] for n in range(1, 6)}
    for url, status, title, anchor, sources in TARGETS:
        if status is not None:
            pages.append(page(url, title, status=status))
        for n in sources:
            linking[n].append((url, anchor))
    linking[1].append(("https://few.test/x", "&#27;]0;pwned&#7;<i>x</i>"))  # hostile, and below min_domains
    pages += [page(f"https://s{n}.test/links", f"Links {n}", tuple(links)) for n, links in linking.items()]
    return pages


def add_checks(store: Store) -> None:
    """The monitor's checks of two linking hosts: every check of nodns.test failed to resolve;
    flaky.test resolved once."""
    ledger, checks = [], []
    for link_id, host in enumerate(["nodns.test", "flaky.test"], start=1):
        ledger.append({"link_id": link_id, "source_url": f"https://{host}/beans", "source_host": host,
                       "target_url": f"{MINE}/", "origin": "added"})  # fmt: skip
        for k in range(2):
            ok = host == "flaky.test" and k == 1
            checks.append({"check_id": link_id * 10 + k, "link_id": link_id, "checked_at": AT + timedelta(days=k + 1),
                           "status": 200 if ok else None, "error": "" if ok else "dns"})  # fmt: skip
    insert(store, "ledger", ledger)
    insert(store, "link_checks", checks)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("prospects") / "web.duckdb")
    with Store(path) as store:
        record_pages(store, world(), origin="crawl")
        add_checks(store)
    return path


@pytest.fixture
def store(db: str) -> Store:
    with Store(db, read_only=True) as s:
        yield s


def by_url(rows: list[dict]) -> dict[str, dict]:
    return {r["target_url"]: r for r in rows}


def test_dead_and_unclear_pages_with_enough_referring_domains(store: Store) -> None:
    rows = reports.prospects_broken(store, min_domains=2)
    assert {r["target_url"]: (r["state"], r["problem"], r["referring_domains"]) for r in rows} == {
        GRINDERS: ("dead", "404", 4),
        "https://gone.test/teapots": ("dead", "410", 3),
        "https://soft.test/article": ("dead", "soft_404", 3),
        "https://nodns.test/beans": ("dead", "no_such_domain", 3),
        f"{MINE}/own-broken": ("dead", "404", 3),
        "https://locked.test/members": ("unclear", "403", 5),
        "https://auth.test/private": ("unclear", "401", 3),
    }
    # 401/403 are never called dead, and come after every dead page.
    assert {"401", "403"}.isdisjoint(DEAD)
    states = [r["state"] for r in rows]
    assert states == sorted(states, key=lambda s: s != "dead")
    # Not listed: a live page, one that resolved once, one that too few domains link to.
    assert not {"https://alive.test/page", "https://flaky.test/beans", "https://few.test/x"} & set(by_url(rows))
    assert "https://few.test/x" in by_url(reports.prospects_broken(store, min_domains=1))


def test_only_the_monitor_records_dns_failures(store: Store) -> None:
    assert set(dns_dead_hosts(store.con)) == {"nodns.test"}


def test_ranking_before_a_rank_run_is_by_referring_domains(store: Store) -> None:
    rows = reports.prospects_broken(store, min_domains=3)
    dead = [r for r in rows if r["state"] == "dead"]
    assert dead[0]["target_url"] == GRINDERS and dead[0]["score"] == 4.0
    assert all(r["score"] == r["referring_domains"] for r in rows)
    assert [r["target_url"] for r in dead[1:]] == sorted(r["target_url"] for r in dead[1:])  # ties: URL A-Z


def test_contacts_title_and_anchors(store: Store) -> None:
    row = by_url(reports.prospects_broken(store, min_domains=3))[GRINDERS]
    assert row["contact_pages"] == [f"https://s{n}.test/links" for n in range(1, 5)]
    assert row["title"] == "The best espresso grinders of 2020 | DeadSite"  # when it was alive
    assert row["top_anchors"] == ["best espresso grinders"]
    assert (row["status"], row["backlinks"], row["dofollow"]) == (404, 4, 4)


def test_near_matches_your_pages_and_leaves_out_your_site_and_other_topics(store: Store) -> None:
    rows = by_url(reports.prospects_broken(store, near="mysite.test", min_domains=3))
    assert f"{MINE}/own-broken" not in rows
    assert rows[GRINDERS]["own_pages"][0] == f"{MINE}/guides/espresso-grinder-guide"
    assert 0 < rows[GRINDERS]["match_score"] <= 1
    assert rows["https://soft.test/article"]["own_pages"][0] == f"{MINE}/guides/tea-guide"
    # "members area" and "coffee beans" share no word with any page of mysite.test.
    assert "https://locked.test/members" not in rows and "https://nodns.test/beans" not in rows


def test_topic_keeps_pages_whose_anchors_title_or_url_have_a_word(store: Store) -> None:
    rows = reports.prospects_broken(store, topic="espresso", min_domains=3)
    assert {r["target_url"]: r["state"] for r in rows} == {GRINDERS: "dead", "https://auth.test/private": "unclear"}
    assert [r["target_url"] for r in reports.prospects_broken(store, topic="teapot", min_domains=2)] == [
        "https://gone.test/teapots"  # "teapot" starts "teapots", in its URL and anchor
    ]
    for no_words in (" ,. ", "2020"):  # numbers are no topic words
        with pytest.raises(ValueError, match="topic"):
            reports.prospects_broken(store, topic=no_words)


def test_bad_values_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="min_domains"):
        reports.prospects_broken(store, min_domains=0)
    with pytest.raises(ValueError, match="limit"):
        reports.prospects_broken(store, limit=-1)
    assert len(reports.prospects_broken(store, min_domains=2, limit=2)) == 2
    with pytest.raises(ValueError, match="no live page"):  # a site the index never fetched a page of
        reports.prospects_broken(store, near="elsewhere.test", min_domains=2)


def test_ranking_weighs_referring_domains_by_their_dr(tmp_path: Path) -> None:
    with Store(str(tmp_path / "ranked.duckdb")) as store:
        record_pages(store, world(), origin="crawl")
        rank(store)
        ratings = dict(store.con.execute("SELECT domain, dr FROM domain_ranks").fetchall())
        rows = reports.prospects_broken(store, min_domains=3)
        for row in rows:
            sources = {f"s{n}.test" for t in TARGETS if t[0] == row["target_url"] for n in t[4]}
            assert row["score"] == pytest.approx(sum(1 + ratings.get(d, 0) / 20 for d in sources), abs=0.05)
            assert row["best_dr"] == pytest.approx(max(ratings[d] for d in sources))
        keys = [(r["state"] != "dead", -r["score"]) for r in rows]
        assert keys == sorted(keys)


def test_cli_table_json_and_hostile_text(db: str, store: Store) -> None:
    args = ["prospects", "broken", "--near", "mysite.test", "--topic", "espresso tea", "--min-domains", "3"]
    result = CliRunner().invoke(app, [*args, "--db", db, "-f", "json"])
    assert result.exit_code == 0, result.output
    expected = reports.prospects_broken(store, near="mysite.test", topic="espresso tea", min_domains=3)
    assert json.loads(result.stdout) == json.loads(json.dumps(expected))
    table = CliRunner().invoke(app, [*args, "--db", db], env={"COLUMNS": "80"})
    assert table.exit_code == 0
    assert all(len(line) <= 80 for line in table.stdout.splitlines())
    assert "deadsite.test" in table.stdout and "broken-link prospects near mysite.test" in table.stdout
    hostile = CliRunner().invoke(app, ["prospects", "broken", "--min-domains", "1", "--db", db, "--wide"])
    assert hostile.exit_code == 0 and "\x1b" not in hostile.stdout and "\x07" not in hostile.stdout
    assert "\\x1b]0;pwned\\x07x" in hostile.stdout
    bad = CliRunner().invoke(app, ["prospects", "broken", "--near", "not a domain", "--db", db])
    assert bad.exit_code == 2 and "not a domain" in bad.stderr


def test_bundled_real_pages_hold_no_prospect_and_say_why(tmp_path: Path) -> None:
    """The real archives' 404s (aut/example.warc.gz) are linked from no page, let alone another
    site's; and no monitor has checked anything. So there is no prospect, at any threshold."""
    with Store(str(tmp_path / "real.duckdb")) as store:
        ingest_files(store, paths=[str(WARC / "aut" / "example.warc.gz"), str(WARC / "real-pages" / "sample.warc.gz")],
                     workers=1)  # fmt: skip
        (dead,) = store.con.execute("SELECT count(*) FROM pages WHERE status IN (404, 410)").fetchone()
        (linked,) = store.con.execute(
            "SELECT count(*) FROM pages p SEMI JOIN links l ON l.target_url = p.url AND l.lost_at IS NULL "
            "AND NOT l.internal WHERE p.status >= 400"
        ).fetchone()
        assert (dead, linked) == (40, 0)
        assert reports.prospects_broken(store, min_domains=1) == []
        assert dns_dead_hosts(store.con) == {}
