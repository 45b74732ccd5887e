"""``linkback broken``: backlinks to your pages that are gone, over a store built by ingesting pages,
and the soft-404 detector it uses (issue 15)."""

from __future__ import annotations

import glob
import json
import os
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import pytest
from typer.testing import CliRunner

from linkback import reports
from linkback.cli import app
from linkback.errors import TargetNotFound
from linkback.ingest import record_pages
from linkback.jobs import ingest_files
from linkback.quality._soft404 import (
    ERROR_WORDS,
    NOT_FOUND_PHRASES,
    SQL_PREFILTER,
    is_home_path,
    not_found_text,
    redirects_home,
    soft_404,
)
from linkback.rank import rank
from linkback.records import FetchedPage
from linkback.reports._broken import Matcher, url_words, words
from linkback.reports._cursor import CursorError, next_cursor
from linkback.store import Store

AT = datetime(2024, 5, 1, tzinfo=UTC)
EARLIER = datetime(2023, 5, 1, tzinfo=UTC)
SITE = "https://mysite.test"
HOSTILE = "&#27;[31mRED&#7; <b>&lt;script&gt;alert(1)&lt;/script&gt;</b> [bold]x[/bold] &#x202e;txt.exe"
WARC = Path(__file__).parent / "data" / "warc"


def page(url: str, title: str = "", links: tuple[tuple[str, str], ...] = (), *, status: int = 200, at=AT):
    """A fetched HTML page; each link's anchor is HTML as written (so it can be hostile)."""
    anchors = "".join(f'<p><a href="{escape(href)}">{html}</a></p>' for href, html in links)
    body = f"<html><head><title>{escape(title)}</title></head><body>{anchors}</body></html>"
    return FetchedPage(
        url=url,
        status=status,
        headers=(("Content-Type", "text/html; charset=utf-8"),),
        body=body.encode(),
        fetched_at=at,
    )


def moved(url: str, location: str, status: int = 301) -> FetchedPage:
    return FetchedPage(url=url, status=status, headers=(("Location", location),), body=b"", fetched_at=AT)


COFFEE = f"{SITE}/guides/coffee-brewing-2019"
PAGES = [
    # Your site, as a crawl of it saw it.
    page(COFFEE, "Coffee brewing guide (2019) | MySite", at=EARLIER),  # alive a year ago
    page(COFFEE, "Not Found", status=404),
    page(f"{SITE}/retired", "Gone", status=410),
    page(f"{SITE}/missing", "Page not found – MySite"),  # a soft 404
    page(f"{SITE}/error", "Service unavailable", status=503),
    moved(f"{SITE}/deep/old-shoes", f"{SITE}/"),  # a deep URL sent home: a soft 404
    moved(f"{SITE}/moved", f"{SITE}/guides/tea-guide"),  # moved to a live page: fine
    moved("http://mysite.test/legacy", f"{SITE}/legacy-new"),
    page(f"{SITE}/legacy-new", status=404),
    moved(f"{SITE}/loop-a", f"{SITE}/loop-b", 302),
    moved(f"{SITE}/loop-b", f"{SITE}/loop-a", 302),
    page(f"{SITE}/", "MySite"),
    page(f"{SITE}/guides/coffee-brewing-guide", "Coffee brewing guide | MySite"),
    page(f"{SITE}/guides/tea-guide", "Tea guide | MySite"),
    page(f"{SITE}/shop/shoes", "Shoes | MySite"),
    page(f"{SITE}/shop/hidden-sale", "Coffee brewing guide sale", status=200),  # live, but see below
    # Pages of other sites that link to it.
    page(
        "https://a.test/post",
        "A",
        (
            (COFFEE, "coffee brewing guide"),
            (f"{SITE}/missing", "our missing thing"),
            (f"{SITE}/guides/tea-guide", "tea"),
            (f"{SITE}/moved", "moved"),
        ),
    ),
    page(
        "https://b.test/post",
        "B",
        (
            (COFFEE, "brewing coffee at home"),
            (f"{SITE}/retired", "retired page"),
            (f"{SITE}/deep/old-shoes", "old shoes"),
        ),
    ),
    page(
        "https://c.test/post",
        "C",
        (
            (COFFEE, "coffee brewing guide"),
            (f"{SITE}/missing", "missing"),
            (f"{SITE}/error", "error page"),
            ("http://mysite.test/legacy", "legacy"),
            (f"{SITE}/loop-a", "loop"),
            (f"{SITE}/never-crawled", "never crawled"),
        ),
    ),
    page("https://evil.test/x", "E", ((f"{SITE}/retired", HOSTILE),)),
    # A link inside the site, to a broken page.
    page(f"{SITE}/about", "About MySite", ((f"{SITE}/retired", "our old page"),)),
]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("broken") / "site.duckdb")
    with Store(path) as store:
        record_pages(store, PAGES, origin="crawl")
        # noindex is no place to send visitors: the candidate that would otherwise tie is hidden.
        store.con.execute(f"UPDATE pages SET noindex = true WHERE url = '{SITE}/shop/hidden-sale'")
    return path


@pytest.fixture
def store(db: str) -> Store:
    with Store(db, read_only=True) as s:
        yield s


def by_url(rows: list[dict]) -> dict[str, dict]:
    return {r["target_url"]: r for r in rows}


# --- the report -------------------------------------------------------------------------------


def test_broken_pages_are_listed_with_their_problem_and_live_ones_are_not(store: Store) -> None:
    rows = by_url(reports.broken(store, "mysite.test"))
    assert {url: (r["problem"], r["status"], r["final_url"]) for url, r in rows.items()} == {
        COFFEE: ("404", 404, None),
        f"{SITE}/retired": ("410", 410, None),
        f"{SITE}/missing": ("soft_404", 200, None),
        f"{SITE}/error": ("503", 503, None),
        f"{SITE}/deep/old-shoes": ("soft_404_redirect", 200, f"{SITE}/"),
        "http://mysite.test/legacy": ("404", 404, f"{SITE}/legacy-new"),
        f"{SITE}/loop-a": ("redirect_loop", 302, f"{SITE}/loop-a"),
    }
    # Not listed: a live page, a page moved to a live one, a page the index never fetched.
    assert not {f"{SITE}/guides/tea-guide", f"{SITE}/moved", f"{SITE}/never-crawled"} & set(rows)


def test_a_404_with_three_referring_domains_counts_them_and_their_anchors(store: Store) -> None:
    row = by_url(reports.broken(store, "mysite.test"))[COFFEE]
    assert (row["referring_domains"], row["backlinks"], row["dofollow"]) == (3, 3, 3)
    assert row["top_domains"] == ["a.test", "b.test", "c.test"]  # unrated: by links, then A-Z
    assert row["top_anchors"] == ["coffee brewing guide", "brewing coffee at home"]
    assert (row["best_dr"], row["dr_sum"]) == (None, None)  # no rank run yet


def test_the_redirect_suggestion_is_the_closest_live_page(store: Store) -> None:
    rows = by_url(reports.broken(store, "mysite.test"))
    assert rows[COFFEE]["redirect_url"] == f"{SITE}/guides/coffee-brewing-guide"  # not the noindex sale page
    assert rows[f"{SITE}/deep/old-shoes"]["redirect_url"] == f"{SITE}/shop/shoes"
    assert rows[COFFEE]["redirect_score"] > rows[f"{SITE}/error"]["redirect_score"] >= 0
    assert all(0 <= r["redirect_score"] <= 1 for r in rows.values())
    live = {f"{SITE}/", f"{SITE}/guides/coffee-brewing-guide", f"{SITE}/guides/tea-guide", f"{SITE}/shop/shoes"}
    assert {r["redirect_url"] for r in rows.values()} <= live | {f"{SITE}/about"}


def test_order_and_keyset_pages_cover_every_row_once(store: Store) -> None:
    every = reports.broken(store, "mysite.test")
    keys = [(-r["referring_domains"], r["target_url"]) for r in every]
    assert keys == sorted(keys) and every[0]["target_url"] == COFFEE
    seen, after = [], None
    while True:
        chunk = reports.broken(store, "mysite.test", limit=2, after=after)
        seen += chunk
        if len(chunk) < 2:
            break
        after = next_cursor("broken", "referring_domains", chunk[-1])
    assert seen == every
    with pytest.raises(CursorError):
        reports.broken(store, "mysite.test", after=next_cursor("refdomains", "links", {"links": 1, "domain": "x"}))


def test_internal_links_and_unknown_targets(store: Store) -> None:
    inside = reports.broken(store, "mysite.test", internal=True)
    assert [(r["target_url"], r["referring_domains"]) for r in inside] == [(f"{SITE}/retired", 1)]
    assert [r["target_url"] for r in reports.broken(store, "https://mysite.test/guides/")] == [COFFEE]
    with pytest.raises(TargetNotFound):
        reports.broken(store, "nobody-links-here.test")


def test_min_dr_counts_only_domains_rated_that_high(tmp_path: Path) -> None:
    path = str(tmp_path / "ranked.duckdb")
    with Store(path) as store:
        record_pages(store, PAGES, origin="crawl")
        rank(store)
        rows = by_url(reports.broken(store, "mysite.test"))
        ratings = dict(store.con.execute("SELECT domain, dr FROM domain_ranks").fetchall())
        row = rows[COFFEE]
        drs = [ratings[d] for d in ("a.test", "b.test", "c.test")]
        assert row["best_dr"] == pytest.approx(max(drs)) and row["dr_sum"] == pytest.approx(sum(drs))
        assert row["top_domains"][0] in {d for d in ("a.test", "b.test", "c.test") if ratings[d] == max(drs)}
        floor = sorted(drs)[1]
        kept = by_url(reports.broken(store, "mysite.test", min_dr=floor))
        assert kept[COFFEE]["referring_domains"] == sum(dr >= floor for dr in drs)
        assert reports.broken(store, "mysite.test", min_dr=101) == []


# --- the CLI ----------------------------------------------------------------------------------


def test_cli_table_fits_80_columns_and_shows_hostile_anchors_safely(db: str) -> None:
    result = CliRunner().invoke(app, ["broken", "mysite.test", "--db", db, "--wide"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout and "\u202e" not in result.stdout
    assert "\\x1b[31mRED\\x07 <script>alert(1)</script> [bold]x[/bold] \\u202etxt.exe" in result.stdout
    narrow = CliRunner().invoke(app, ["broken", "mysite.test", "--db", db], env={"COLUMNS": "80"})
    assert narrow.exit_code == 0
    assert all(len(line) <= 80 for line in narrow.stdout.splitlines())
    assert "-2019" in narrow.stdout and "redirect_url" in narrow.stdout and "\x1b" not in narrow.stdout


def test_cli_json_and_csv_carry_the_report_rows(db: str, store: Store) -> None:
    result = CliRunner().invoke(app, ["broken", "mysite.test", "--db", db, "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["target_url"] for r in rows] == [r["target_url"] for r in reports.broken(store, "mysite.test")]
    hostile = by_url(rows)[f"{SITE}/retired"]["top_anchors"]
    assert any(a.startswith("\x1b[31mRED\x07 <script>") for a in hostile)  # machines get the text as it is
    csv = CliRunner().invoke(app, ["broken", "mysite.test", "--db", db, "--format", "csv", "--limit", "2"])
    assert csv.exit_code == 0 and csv.stdout.splitlines()[0].startswith("target_url,status,problem")
    assert len(csv.stdout.splitlines()) == 3


def test_cli_pages_with_after_and_says_what_is_wrong(db: str) -> None:
    first = CliRunner().invoke(app, ["broken", "mysite.test", "--db", db, "--limit", "2"], env={"COLUMNS": "200"})
    assert first.exit_code == 0
    hint = next(line for line in first.stderr.splitlines() if line.startswith("next 2: "))
    token = hint.split("--after ", 1)[1].split()[0]
    second = CliRunner().invoke(
        app, ["broken", "mysite.test", "--db", db, "--limit", "2", "--after", token, "-f", "json"]
    )
    assert second.exit_code == 0 and len(json.loads(second.stdout)) == 2
    bad = CliRunner().invoke(app, ["broken", "mysite.test", "--db", db, "--after", "nope"])
    assert bad.exit_code == 2 and "after" in bad.stderr


def test_the_api_route_gives_the_function_rows(db: str) -> None:
    from fastapi.testclient import TestClient

    from linkback.faces import plain
    from linkback.server import Settings, create_app

    with Store(db, read_only=True) as store:
        expected = plain(reports.broken(store, "mysite.test"))
    auth = {"Authorization": "Bearer t"}
    with TestClient(create_app(Settings(db=db, admin_token="t"))) as client:
        resp = client.get("/api/v1/reports/broken", params={"target": "mysite.test", "limit": 3}, headers=auth)
        assert resp.status_code == 200, resp.text
        assert resp.json() == expected[:3]
        after = next_cursor("broken", "referring_domains", resp.json()[-1])
        assert next_cursor("broken", "", resp.json()[-1]) == after  # its one order needs no name
        # A full page names the next one (RFC 8288), as the other paged tables do.
        link = resp.headers["Link"]
        assert link.endswith('>; rel="next"') and f"after={after}" in link
        more = client.get("/api/v1/reports/broken", params={"target": "mysite.test", "after": after}, headers=auth)
        assert more.json() == expected[3:]
        assert client.get(link[1 : link.index(">")], headers=auth).json() == expected[3:6]  # limit=3 kept
        bad = client.get("/api/v1/reports/broken", params={"target": "mysite.test", "after": "x"}, headers=auth)
        assert bad.status_code == 400 and "after" in bad.json()["detail"]


# --- the bundled real pages -----------------------------------------------------------------------


def test_real_pages_soft_404s_and_redirects_as_they_really_are(tmp_path: Path) -> None:
    """The Internet Archive crawl of 2008 (aut/example.warc.gz) has real 404s, real error pages
    served with 200 ("Internet Archive: Error": "Item cannot be found") and real redirects."""
    with Store(str(tmp_path / "real.duckdb")) as store:
        ingest_files(store, paths=[str(WARC / "aut" / "example.warc.gz")], workers=1)
        con = store.con
        statuses = dict(con.execute("SELECT status, count(*) FROM pages GROUP BY status").fetchall())
        assert statuses[404] == 40 and {301, 302} <= set(statuses)
        titled = con.execute("SELECT url, title FROM pages WHERE status = 200").fetchall()
        soft = {url for url, title in titled if soft_404(url, status=200, title=title)}
        assert len(soft) == 11 and all(url.startswith("http://www.archive.org/details/") for url in soft)
        assert {t for u, t in titled if u in soft} == {"Internet Archive: Error"}
        # No redirect of this crawl is a soft 404: /index.php?skin=classic to / keeps the home page.
        hops = con.execute("SELECT source_url, target_url FROM links WHERE kind = 'redirect'").fetchall()
        assert ("http://www.archive.org/index.php?skin=classic", "http://www.archive.org/") in hops
        assert not any(redirects_home(a, b) for a, b in hops)
        # Nothing from another site links to them; the archive's own pages do, one link each.
        assert reports.broken(store, "archive.org") == []
        inside = by_url(reports.broken(store, "archive.org", internal=True))
        assert set(inside) == soft
        assert {(r["problem"], r["status"], r["referring_domains"]) for r in inside.values()} == {("soft_404", 200, 1)}
        assert all(r["redirect_url"] and r["redirect_url"] not in soft for r in inside.values())


def test_every_bundled_archive_ingests_and_the_report_runs_over_it(tmp_path: Path) -> None:
    files = sorted(glob.glob(str(WARC / "**" / "*.warc*"), recursive=True))
    with Store(str(tmp_path / "all.duckdb")) as store:
        ingest_files(store, paths=[os.path.abspath(f) for f in files], workers=1)
        (dead,) = store.con.execute("SELECT count(*) FROM pages WHERE status >= 400").fetchone()
        linked = reports.broken(store, "archive.org", internal=True)
        assert dead == 40 and len(linked) == 11  # the 404s are crawl leftovers no page links to


# --- the soft-404 detector --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "Page not found | Example",
        "404 Not Found",
        "Error 404 (Not Found)!!1",
        "Oops! That page can’t be found. – My Blog",
        "Internet Archive: Error",
        "Seite nicht gefunden - Beispiel GmbH",
        "Page non trouvée · Exemple",
        "Página no encontrada | Ejemplo",
        "Pagina non trovata",
        "Página não encontrada",
        "Pagina niet gevonden",
        "Страница не найдена",
        "ページが見つかりません | サイト",
        "页面不存在",
        "페이지를 찾을 수 없습니다",
        "Sayfa bulunamadı",
        "404",
        "Fehler",
    ],
)
def test_not_found_titles_in_several_languages(title: str) -> None:
    assert not_found_text(title)
    assert soft_404("https://x.test/a", status=200, title=title) == "not_found_title"


@pytest.mark.parametrize(
    "title",
    [
        "How to fix 'page not found' errors in WordPress",
        "Errors and exceptions — Python docs",
        "Lost and found | Example",
        "Area 51 and other places",
        "2024",
        "",
        "Shoes | Example",
    ],
)
def test_pages_about_errors_are_not_soft_404s(title: str) -> None:
    assert not not_found_text(title)


def test_only_a_2xx_answer_can_be_a_soft_404_and_headings_count() -> None:
    assert soft_404("https://x.test/a", status=404, title="Page not found") is None
    assert soft_404("https://x.test/a", status=None, title="Page not found") is None
    assert soft_404("https://x.test/a", status=200, title="Shop", heading="Oops! Page not found") == "not_found_heading"


def test_redirect_home_needs_a_deep_url_and_the_same_site() -> None:
    assert redirects_home("https://x.test/blog/post", "https://www.x.test/")
    assert redirects_home("https://x.test/blog/post", "https://x.test/en/")
    assert redirects_home("https://x.test/old", "https://x.test/index.php?from=404")
    assert not redirects_home("https://x.test/", "https://x.test/")
    assert not redirects_home("https://x.test/index.php?skin=classic", "https://x.test/")
    assert not redirects_home("https://x.test/de/", "https://x.test/")
    assert not redirects_home("https://x.test/blog/post", "https://other.test/")
    assert not redirects_home("https://x.test/blog/post", "https://x.test/blog/new-post")
    assert not redirects_home("https://x.test/blog/post", "")
    assert is_home_path("/") and is_home_path("/pt-br/") and not is_home_path("/blog/")


def test_the_sql_prefilter_holds_every_phrase_and_error_word() -> None:
    import re

    import duckdb

    texts = [*NOT_FOUND_PHRASES, *ERROR_WORDS, *(p.upper() for p in NOT_FOUND_PHRASES), "Error 404"]
    assert all(not_found_text(t) for t in texts)
    assert all(re.search(SQL_PREFILTER, t) for t in texts)
    con = duckdb.connect()
    matched = con.execute(
        "SELECT count(*) FROM unnest(?::VARCHAR[]) t(x) WHERE regexp_matches(x, ?)", [texts, SQL_PREFILTER]
    )
    assert matched.fetchone() == (len(texts),)


def test_matcher_weighs_rare_words_and_paths() -> None:
    matcher = Matcher(
        [
            ("https://s.test/blog/seo-tips-2024", "SEO tips for beginners | S"),
            ("https://s.test/blog/coffee", "Coffee | S"),
            ("https://s.test/shop/seo-tips-poster", "Poster | S"),
        ]
    )
    query = url_words("https://s.test/blog/seo-tips-2019") | words("SEO tips for beginners")
    (best, score), *_ = matcher.best("https://s.test/blog/seo-tips-2019", query, n=3)
    assert best.url == "https://s.test/blog/seo-tips-2024" and 0.5 < score <= 1
    assert matcher.best("https://s.test/x", set()) == []  # nothing in common, no folder in common
    assert words("The Best <Espresso> grinders, 2019!") == {"best", "espresso", "grinders"}
