"""Unlinked brand mentions: terms found in page text at ingest, ``unlinked``, ``rescan``."""

from __future__ import annotations

import functools
import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser
from typer.testing import CliRunner

from linkback import quality
from linkback.brands import BrandTerms, Scanner, rescan, unlinked
from linkback.cli import app
from linkback.ingest import ingest, ingest_pages
from linkback.records import FetchedPage
from linkback.sources.warc import ReadStats, iter_archive
from linkback.store import Store

DATA = Path(__file__).parent / "data" / "warc"
SAMPLE = DATA / "real-pages" / "sample.warc.gz"
#: Brands that occur on the real pages of the sample, on pages that link to them and on pages
#: that do not (found by looking: YouTube is named on 29 pages, 3 of them without a link).
REAL_BRANDS = {"youtube.com": "YouTube", "wikipedia.org": "Wikipedia"}


def scanner(*terms: str, site: str = "acme.example", domains: tuple[str, ...] = ("acme.example",)) -> Scanner:
    return Scanner(BrandTerms(tuple((t, site) for t in terms), ((site, domains),)))


def found(text: str, *terms: str) -> list[str]:
    return sorted(h.term for h in scanner(*terms).scan(text, frozenset()))


# -- matching ----------------------------------------------------------------------------------


def test_whole_words_only() -> None:
    assert found("We use Acme daily.", "Acme") == ["Acme"]
    assert found("(Acme), Acme's and «Acme»", "Acme") == ["Acme"]
    for inside in ("Acmeville", "BigAcme", "acme2", "Acmeé", "éAcme", "Acme\u0663"):
        assert found(f"see {inside} here", "Acme") == [], inside
    # A term that ends in a non-word character still must not start inside a word.
    assert found("we like C++ a lot", "C++") == ["C++"]
    assert found("we like ABC++ a lot", "C++") == []
    # Beside a script written without spaces, a Latin term is a word; a term in it is found anywhere.
    assert found("我喜欢Acme产品", "Acme") == ["Acme"]
    assert found("東京タワーに行く", "タワー") == ["タワー"]


def test_a_term_given_twice_for_a_site_is_found_once() -> None:
    scanner = Scanner(BrandTerms((("Acme", "a.example"), ("Acme", "a.example"), ("Big Co", "a.example"),
                                  ("Big Co", "a.example"), ("Acme", "b.example"))))  # fmt: skip
    hits = scanner.scan("We like Acme and big co a lot", frozenset())
    assert sorted((h.term, h.site) for h in hits) == [("Acme", "a.example"), ("Acme", "b.example"), ("Big Co", "a.example")]


def test_case_folding_is_unicode_aware() -> None:
    assert found("ACME CORP ships", "Acme Corp") == ["Acme Corp"]
    assert found("Die STRASSE ist lang", "Straße") == ["Straße"]
    assert found("ÖLWERK Köln", "ölwerk") == ["ölwerk"]
    assert found("ΣΟΦΙΑ", "σοφια") == ["σοφια"]  # final sigma folds like any sigma
    assert found("Große Straße", "Grosse Strasse") == ["Grosse Strasse"]
    # Decomposed input (e + combining accent) finds the composed term.
    assert found("Cafe\u0301 Noir opens", "Café Noir") == ["Café Noir"]
    # Whitespace runs and line breaks between the words of a term.
    assert found("Acme\n\t  Corp", "Acme Corp") == ["Acme Corp"]


def test_ascii_text_folds_as_any_text_and_boundaries_hold_at_its_ends() -> None:
    # ASCII text takes a shorter way to its folded form: terms with non-ASCII letters still match.
    assert found("DIE STRASSE", "Straße") == ["Straße"]
    assert found("Acme", "Acme") == ["Acme"]  # the whole text: nothing beside it on either side
    assert found("Acme.", "Acme") == ["Acme"] and found("xAcme", "Acme") == [] and found("Acmex", "Acme") == []
    assert found("Acmex Acme", "Acme") == ["Acme"]  # a first occurrence inside a word does not hide a later one


def test_visible_text_leaves_out_whitespace_nodes_without_changing_words_or_snippets() -> None:
    from linkback.brands._scan import visible_text  # noqa: PLC0415

    html = (
        "<body><nav>Acme menu</nav>\n  <p>\n    <b>Acme</b>\n\t<i>Corp</i>\r\n</p>\n"
        "<p>\u00a0</p><span>x</span> <span>y</span><script>Acme()</script>Straße</body>"
    )
    plain = LexborHTMLParser(html)
    plain.strip_tags(["script", "style", "noscript", "template", "nav"])
    body = plain.body
    assert body is not None
    text = visible_text(LexborHTMLParser(html))
    # Whitespace nodes, ASCII (left out) or not (U+00A0, kept), become one space like any other.
    assert " ".join(text.split()) == " ".join(body.text(separator=" ").split()) == "Acme Corp x y Straße"
    assert len(text) < len(body.text(separator=" "))
    (hit,) = scanner("Acme Corp").scan(text, frozenset())
    assert hit.snippet == "Acme Corp x y Straße"


def test_snippet_is_the_original_text_around_the_hit_even_after_expanding_folds() -> None:
    text = "ß" * 30 + " Straße und Maß. Dann kam ACME Corp mit " + "x" * 200
    (hit,) = scanner("Acme Corp").scan(text, frozenset())
    assert "kam ACME Corp mit" in hit.snippet
    assert hit.snippet.endswith("…") and len(hit.snippet) <= 2 * 80 + len("ACME Corp") + 2


def test_linked_means_a_link_into_the_sites_domain() -> None:
    s = scanner("Acme")
    assert [h.linked for h in s.scan("Acme", frozenset({"acme.example"}))] == [True]
    assert [h.linked for h in s.scan("Acme", frozenset({"other.example"}))] == [False]


# -- real pages ---------------------------------------------------------------------------------


def _visible_text_by_regex(body: bytes) -> str:
    tree = LexborHTMLParser(body)
    tree.strip_tags(["script", "style", "noscript", "template", "nav"])
    return tree.body.text(separator=" ") if tree.body is not None else ""


@functools.cache
def _expected_pages(term: str) -> set[str]:
    """Pages of the sample naming ``term``, found by a regular expression (not the automaton)."""
    pattern = re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", re.IGNORECASE)
    pages: set[str] = set()
    for page in iter_archive(str(SAMPLE), stats=ReadStats()):
        ctype = page.header("content-type") or ""
        if (
            page.status == 200
            and "html" in ctype
            and pattern.search(" ".join(_visible_text_by_regex(page.body).split()))
        ):
            pages.add(page.url)
    return pages


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(str(tmp_path_factory.mktemp("brands") / "b.duckdb"))
    for site, brand in REAL_BRANDS.items():
        quality.set_profile(store, site, brands=[brand])
    ingest([SAMPLE], store=store, workers=1)
    yield store
    store.close()


def test_real_pages_naming_a_brand_are_found_at_ingest(real_store: Store) -> None:
    for site, brand in REAL_BRANDS.items():
        rows = real_store.con.execute("SELECT url FROM brand_mentions WHERE site = ?", [site]).fetchall()
        got = {r[0] for r in rows}
        expected = _expected_pages(brand)
        assert len(expected) >= 3
        # Same pages up to URL normalisation (the store keeps normalised URLs).
        assert len(got) == len(expected), (brand, got, expected)


def test_unlinked_lists_the_pages_without_a_link_and_linked_agrees_with_the_links(real_store: Store) -> None:
    con = real_store.con
    rows = con.execute(
        "SELECT b.url, b.linked, EXISTS (SELECT 1 FROM link_observations l WHERE l.obs_id = b.obs_id "
        "AND l.target_domain = 'youtube.com') FROM brand_mentions b WHERE b.site = 'youtube.com'"
    ).fetchall()
    assert rows and all(linked == has_link for _, linked, has_link in rows)
    linked = {u for u, is_linked, _ in rows if is_linked}
    not_linked = {u for u, is_linked, _ in rows if not is_linked}
    assert linked and not_linked
    listed = unlinked(real_store, "youtube.com")
    assert {r["url"] for r in listed} == not_linked
    for row in listed:
        assert row["terms"] == ["YouTube"] and re.search(r"(?i)youtube", row["snippet"])
    assert [r["url"] for r in unlinked(real_store, "youtube.com", limit=1)] == [listed[0]["url"]]


def test_unlinked_asks_for_brand_terms(real_store: Store) -> None:
    with pytest.raises(Exception, match="no brand terms"):
        unlinked(real_store, "nobrand.example")


def test_page_text_is_not_kept(real_store: Store) -> None:
    (longest,) = real_store.con.execute("SELECT max(length(snippet)) FROM brand_mentions").fetchall()[0]
    assert longest <= 2 * 80 + len("Wikipedia") + 2


# -- rescan -------------------------------------------------------------------------------------


def test_rescan_finds_a_brand_added_after_ingest_and_names_missing_archives(tmp_path: Path) -> None:
    copy = tmp_path / "sample.warc.gz"
    gone = tmp_path / "gone.warc.gz"
    shutil.copy(SAMPLE, copy)
    shutil.copy(DATA / "resiliparse" / "warcfile.warc.gz", gone)
    with Store(str(tmp_path / "r.duckdb")) as store:
        ingest([copy, gone], store=store, workers=1)
        assert store.con.execute("SELECT count(*) FROM brand_mentions").fetchall()[0][0] == 0
        assert rescan(store)["terms"] == 0
        quality.set_profile(store, "youtube.com", brands=["YouTube"])
        gone.unlink()
        result = rescan(store)
        assert result["missing"] == [str(gone)] and result["archives"] == 1
        assert result["hits"] == len(_expected_pages("YouTube"))
        got = store.con.execute("SELECT url, linked FROM brand_mentions ORDER BY url").fetchall()
        assert len(got) == result["hits"] and any(not linked for _, linked in got)
        again = rescan(store)  # reading it again adds nothing
        assert store.con.execute("SELECT url, linked FROM brand_mentions ORDER BY url").fetchall() == got
        assert again["hits"] == result["hits"]


# -- the CLI ------------------------------------------------------------------------------------


def _page(url: str, body: str) -> FetchedPage:
    return FetchedPage(
        url=url,
        status=200,
        headers=(("Content-Type", "text/html; charset=utf-8"),),
        fetched_at=datetime(2024, 5, 1, tzinfo=UTC),
        body=body.encode(),
    )


def test_hostile_snippets_are_shown_as_text_in_the_table(tmp_path: Path) -> None:
    db = str(tmp_path / "h.duckdb")
    hostile = "[bold red]Acme[/bold red] \x1b[31mred\x1b[0m [link=http://evil.example]click[/link]"
    with Store(db) as store:
        quality.set_profile(store, "acme.example", brands=["Acme"])
        ingest_pages(
            store,
            [
                _page("https://news.example/a", f"<html><body><p>{hostile} about Acme.</p></body></html>"),
                _page("https://blog.example/b", '<p>We love <a href="https://www.acme.example/">Acme</a>.</p>'),
                _page("https://acme.example/self", "<p>Acme on its own site.</p>"),
            ],
            via="warc",
        )
    result = CliRunner().invoke(app, ["unlinked", "acme.example", "--db", db], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "[bold red]Acme[/bold red]" in result.stdout and "[link=http://evil.example]" in result.stdout
    assert "\x1b" not in result.stdout
    assert "news.example" in result.stdout and "blog.example" not in result.stdout and "/self" not in result.stdout
    as_json = CliRunner().invoke(app, ["unlinked", "acme.example", "--db", db, "--format", "json"])
    rows = json.loads(as_json.stdout)
    assert [r["url"] for r in rows] == ["https://news.example/a"] and rows[0]["terms"] == ["Acme"]


def test_rescan_command_names_missing_files(tmp_path: Path) -> None:
    db = str(tmp_path / "m.duckdb")
    gone = tmp_path / "gone.warc.gz"
    shutil.copy(DATA / "resiliparse" / "warcfile.warc.gz", gone)
    with Store(db) as store:
        ingest([gone], store=store, workers=1)
        quality.set_profile(store, "acme.example", brands=["Acme"])
    gone.unlink()
    result = CliRunner().invoke(app, ["rescan", "--db", db])
    assert result.exit_code == 0, result.output
    assert "Rescanned 0 archives" in result.stdout and f"missing: {gone}" in result.stderr.replace("\n", "")


def test_workers_find_what_one_process_finds_even_when_ranges_started_early(real_store: Store, tmp_path: Path) -> None:
    from linkback import _workers

    query = "SELECT url, term, site, snippet, linked, first_seen FROM brand_mentions ORDER BY ALL"
    expected = real_store.con.execute(query).fetchall()
    with Store(str(tmp_path / "w.duckdb")) as store:
        for site, brand in REAL_BRANDS.items():
            quality.set_profile(store, site, brands=[brand])
        # The command line starts the first ranges before the store (and its terms) is open.
        _workers.start_early([str(SAMPLE)], 2)
        try:
            ingest([SAMPLE], store=store, workers=2)
        finally:
            _workers.drop_early()
        assert store.con.execute(query).fetchall() == expected
