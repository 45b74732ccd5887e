"""Categories of referring domains: the bundled taxonomy, the word matching, the classifier, the
``categorize`` job and the reports on small stores made for them, and ``off_topic`` fed by them.
The accuracy on real pages is in tests/test_categories_accuracy.py."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pytest
from linkrows import insert, link, ts

from linkback import schema
from linkback.categories import (
    CLASSIFIER_VERSION,
    NOT_CATEGORIZED,
    UNKNOWN,
    Document,
    categories,
    categorize,
    classify,
    domain_category,
    taxonomy,
)
from linkback.categories import _classify as cl
from linkback.categories._taxonomy import TAXONOMY_FILE, read_taxonomy
from linkback.categories._terms import TERMS
from linkback.errors import LinkbackError, TargetNotFound
from linkback.quality._toxicity import score_domains, toxic_links
from linkback.store import Store
from linkback.urls import host_of, split_host

# --- the taxonomy ----------------------------------------------------------------------------------


def test_the_bundled_taxonomy_is_iab_3_1_with_its_licence() -> None:
    tax = taxonomy()
    tier1 = {n.tier1 for n in tax.tier1()}
    assert len(tier1) == 36 and "Genres" not in tier1  # 37 in the file; Genres describes media, not sites
    assert {"Sports", "Food & Drink", "Technology & Computing", "Sensitive Topics"} <= tier1
    assert tax.get("Sports").id == "483"
    soccer = tax.get("Sports > Soccer")
    assert (soccer.tier1, soccer.tier2, soccer.id) == ("Sports", "Soccer", "533")
    assert "Angel Investment" in tax.get("Business and Finance > Business").below  # Tier 3 as words of Tier 2
    assert len([n for n in tax.nodes.values() if n.tier == 2]) == 294
    data = TAXONOMY_FILE.parent
    assert "Creative Commons Attribution 3.0" in (data / "iab_content_taxonomy.LICENSE").read_text()
    assert "b7acdcaa30d4c389d0fe022e93865ca59a4299e6" in (data / "iab_content_taxonomy.SOURCE.txt").read_text()


def test_every_word_list_names_a_node_and_a_bad_taxonomy_file_says_where(tmp_path: Path) -> None:
    tax = taxonomy()
    for key in TERMS:
        tax.get(key)
    with pytest.raises(LinkbackError, match="is not a Tier-1 or Tier-2 category"):
        tax.get("Sports > Quidditch")
    bad = tmp_path / "t.tsv"
    bad.write_text("a\tb\nUnique ID\tParent\tName\n1\t\tX\n")
    with pytest.raises(LinkbackError, match="not a Content Taxonomy 3.x file"):
        read_taxonomy(bad)
    rows = TAXONOMY_FILE.read_text(encoding="utf-8").splitlines()
    bad.write_text("\n".join([*rows[:5], "\t\tNameless\t\t\t\t\t"]) + "\n", encoding="utf-8")
    with pytest.raises(LinkbackError, match=r"line 6: a node needs a Unique ID"):
        read_taxonomy(bad)


# --- matching words ----------------------------------------------------------------------------------


def found(text: str) -> dict[str, tuple[str, ...]]:
    return {term: keys for term, keys, _ in cl.matches(text)}


def test_words_phrases_plurals_beginnings_endings_and_other_scripts() -> None:
    hits = found("Zitronenkuchen-Rezepte, theme parks and Fußballvereine; 彩票 results; recipes")
    assert hits["zitronenkuchen"] == ("Food & Drink > Desserts and Baking",)  # *kuchen: a compound's ending
    assert hits["theme parks"] == ("Attractions > Amusement and Theme Parks",)  # a phrase, in the plural
    assert hits["fussballvereine"] == ("Sports > Soccer",)  # fussball*: folded, a beginning
    assert hits["彩票"] == ("Shopping > Lotteries and Scratchcards",)  # found inside unspaced text
    assert "recipes" in hits  # English plural of "recipe"
    # A compound is what its last part is: Internetrecht is law although it starts like the internet.
    assert found("Internetrecht")["internetrecht"] == ("Law",)
    # Page furniture is read as one phrase and counts for nothing.
    assert found("Privacy Policy | All rights reserved") == {}
    # Plurals are not made of words that only look like them.
    assert "deportees" not in found("deportees") or found("deportees")["deportees"] != ("Sports",)


def test_host_names_hold_words() -> None:
    hits = {t for t, _, _ in cl.host_matches("www.backenmachtgluecklich.de")}
    assert "backen" in hits
    assert not list(cl.host_matches("autor.de"))  # "auto" is too short to look for inside a name


def test_url_words_leave_out_numbers_ids_and_endings() -> None:
    assert cl.url_words("https://x.de/rezepte/saftiger-zitronenkuchen-601129.html?id=5") == (
        "rezepte saftiger zitronenkuchen"
    )
    assert cl.url_words("http://[::1") == ""


# --- the classifier ---------------------------------------------------------------------------------


def test_a_recipe_site_is_food_with_the_words_that_say_so() -> None:
    doc = Document(
        "backen.example",
        titles=["Saftiger Zitronenkuchen vom Blech | Backen macht glücklich"],
        urls=["https://backen.example/rezepte/saftiger-zitronenkuchen-vom-blech.html"],
        nav=["Rezepte", "Kuchen", "Torten"],
    )
    cat = classify(doc)
    assert (cat.tier1, cat.tier2) == ("Food & Drink", "Desserts and Baking")
    assert (cat.tier1_id, cat.tier2_id) == ("210", "217")
    assert cat.confidence > 0.8
    assert "zitronenkuchen ×2" in cat.evidence and "backen" in cat.evidence
    assert cat.alternatives[0] == {"tier1": "Food & Drink", "share": 1.0}
    assert classify(doc) == cat  # the same pages give the same category


def test_too_little_to_say_is_no_category() -> None:
    nothing = classify(Document("a.example", titles=["Welcome"], urls=["https://a.example/"]))
    assert (nothing.tier1, nothing.confidence, nothing.evidence) == (None, 0.0, "")
    menu = classify(Document("b.example", nav=["Sport"]))  # one menu word is not enough
    assert menu.tier1 is None and menu.alternatives[0]["tier1"] == "Sports"


def test_more_evidence_is_more_confidence_and_a_mixed_site_is_less_sure() -> None:
    one = classify(Document("t.example", titles=["Tennis"]))
    many = classify(Document("t.example", titles=["Tennis results", "Wimbledon tennis", "ATP tennis ranking"]))
    mixed = classify(
        Document("t.example", titles=["Tennis results", "Wimbledon tennis", "ATP tennis ranking", "Inflation"])
    )
    assert one.tier1 == many.tier1 == mixed.tier1 == "Sports"
    assert one.confidence < many.confidence
    assert mixed.confidence < many.confidence
    assert {a["tier1"] for a in mixed.alternatives} >= {"Sports", "Business and Finance"}


def test_a_title_is_not_drowned_by_a_page_full_of_other_stories() -> None:
    teasers = [f"Election results in district {i}: the parliament votes" for i in range(40)]
    doc = Document("news.example", titles=["Bundesliga: Hertha wins the derby, football at its best"], text=teasers)
    assert classify(doc).tier1 == "Sports"


# --- a store ----------------------------------------------------------------------------------------


def page(
    url: str, title: str | None, *, last_seen: str = "2024-03-01", status: int = 200, links: int = 3
) -> dict[str, Any]:
    parts = split_host(host_of(url))
    return {
        "url": url,
        "host": parts.host,
        "domain": parts.domain,
        "rhost": parts.rhost,
        "status": status,
        "title": title,
        "lang": "en",
        "n_internal": links,
        "n_external": 1 if links else 0,
        "first_seen": ts("2024-01-01"),
        "last_seen": ts(last_seen),
        "observations": 1,
    }


TARGET = "example.com"
PAGES = [
    page("https://www.example.com/", "Trail running shoes and hiking boots"),
    page("https://kicker.example/bundesliga/derby", "Bundesliga: Hertha gewinnt das Derby"),
    page("https://kicker.example/premier-league", "Premier League: Tottenham beat Chelsea"),
    page("https://cakes.example/recipes/lemon-cake", "Lemon cake recipe"),
    page("https://cakes.example/robots.txt", None, links=0),  # not HTML: no title, no links
    page("https://blank.example/", "Home"),
    page("https://gone.example/", "Tennis news", status=404),
]
LINKS = [
    link(
        "https://kicker.example/bundesliga/derby",
        "https://www.example.com/",
        anchor="shoes",
        context="Die besten Fußballschuhe für den Rasen",
    ),  # fmt: skip
    link("https://kicker.example/premier-league", "https://www.example.com/", anchor="boots"),
    link("https://cakes.example/recipes/lemon-cake", "https://www.example.com/", anchor="Example"),
    link("https://blank.example/", "https://www.example.com/", anchor="Example"),
    link("https://late.example/x", "https://www.example.com/", anchor="Example"),  # a page not in the store
    link(
        "https://kicker.example/bundesliga/derby", "https://kicker.example/tabelle", anchor="Tabelle", section="nav"
    ),  # fmt: skip
]


def make_store(pages: list[dict[str, Any]] = PAGES, links: list[dict[str, Any]] = LINKS) -> Store:
    store = Store(":memory:")
    insert(store, "links", sorted(links, key=lambda r: r["target_rhost"]))
    insert(store, "pages", pages)
    return store


def stored(store: Store) -> dict[str, tuple]:
    rows = store.con.execute("SELECT domain, tier1, tier2, pages, version FROM domain_categories").fetchall()
    return {r[0]: r[1:] for r in rows}


def test_categorize_keeps_each_domain_and_reads_again_only_what_changed() -> None:
    with make_store() as store:
        result = categorize(store)
        assert result["domains"] == 4  # gone.example has no 2xx page; late.example no page at all
        assert result["categories"] == {"Food & Drink": 1, "Sports": 1, "Style & Fashion": 1}  # shoes and boots
        rows = stored(store)
        assert rows["kicker.example"][:3] == ("Sports", "Soccer", 2)
        assert rows["cakes.example"][:3] == ("Food & Drink", "Desserts and Baking", 1)  # robots.txt is no page
        assert rows["blank.example"][0] is None and result["unknown"] == 1
        assert {r[3] for r in rows.values()} == {CLASSIFIER_VERSION}
        assert categorize(store)["domains"] == 0  # nothing new
        insert(store, "pages", [page("https://blank.example/cricket", "Cricket scores", last_seen="2024-04-01")])
        again = categorize(store)
        assert again["domains"] == 1 and stored(store)["blank.example"][0] == "Sports"
        store.con.execute("UPDATE domain_categories SET version = 'old' WHERE domain = 'cakes.example'")
        assert categorize(store)["domains"] == 1  # another version of the word lists: made again
        assert categorize(store, everything=True)["domains"] == 4
        assert categorize(store, domains=["https://www.kicker.example/x"], everything=True)["domains"] == 1
        with pytest.raises(LinkbackError, match="is not a domain or host"):
            categorize(store, domains=["not a domain"])


def test_categorize_reports_progress_and_writes_in_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    from linkback.categories import _job

    monkeypatch.setattr(_job, "BATCH_SIZE", 2)
    seen: list[dict[str, Any]] = []
    with make_store() as store:
        writes = 0
        write = store.write

        def counting(fn: Any, **kwargs: Any) -> Any:
            nonlocal writes
            writes += 1
            return write(fn, **kwargs)

        store.write = counting  # type: ignore[method-assign]
        categorize(store, progress=seen.append)
        assert writes == 2 and len(stored(store)) == 4
    assert [(p["done"], p["total"]) for p in seen] == [(0, 4), (2, 4), (4, 4)]


def test_the_mix_of_a_targets_referring_domains() -> None:
    with make_store() as store:
        before = categories(store, TARGET)
        assert [(r["category"], r["domains"]) for r in before] == [(NOT_CATEGORIZED, 4)]
        categorize(store)
        rows = categories(store, TARGET)
        assert [(r["category"], r["domains"], r["links"]) for r in rows] == [
            ("Food & Drink", 1, 1),
            ("Sports", 1, 2),
            (NOT_CATEGORIZED, 1, 1),  # late.example: no page of it to read
            (UNKNOWN, 1, 1),
        ]
        assert sum(r["share"] for r in rows) == pytest.approx(1.0)
        assert rows[1]["examples"] == "kicker.example" and rows[1]["tier1"] == "Sports" and rows[2]["tier1"] is None
        assert 0 < rows[1]["confidence"] <= 1
        tier2 = {r["category"]: r for r in categories(store, TARGET, tier=2)}
        assert set(tier2) >= {"Sports > Soccer", "Food & Drink > Desserts and Baking"}
        assert tier2["Sports > Soccer"]["tier2"] == "Soccer"
        strict = categories(store, TARGET, min_confidence=1.0)
        assert {r["category"]: r["domains"] for r in strict} == {UNKNOWN: 3, NOT_CATEGORIZED: 1}
        assert len(categories(store, TARGET, limit=1)) == 1
        assert categories(store, "www.example.com")[0]["domains"] == 1  # a host target
        with pytest.raises(ValueError, match="tier must be 1 or 2"):
            categories(store, TARGET, tier=3)
        with pytest.raises(ValueError, match="min_confidence"):
            categories(store, TARGET, min_confidence=2)
        with pytest.raises(TargetNotFound):
            categories(store, "nobody-links-here.example")


def test_one_domains_category_stored_or_worked_out_now() -> None:
    with make_store() as store:
        now = domain_category(store, "https://kicker.example/bundesliga/derby")
        assert (now["domain"], now["tier1"], now["tier2"], now["stored"]) == (
            "kicker.example",
            "Sports",
            "Soccer",
            False,
        )
        assert now["categorized_at"] is None and now["alternatives"].startswith("Sports ")
        assert "IAB" in now["taxonomy"] and "CC BY 3.0" in now["taxonomy"]
        categorize(store)
        kept = domain_category(store, "kicker.example")
        assert kept["stored"] is True and isinstance(kept["categorized_at"], datetime)
        assert kept["categorized_at"].tzinfo == timezone.utc
        assert {k: kept[k] for k in ("tier1", "tier2", "evidence")} == {
            k: now[k] for k in ("tier1", "tier2", "evidence")
        }
        with pytest.raises(ValueError, match="no HTML page of this domain"):
            domain_category(store, "late.example")
        with pytest.raises(LinkbackError, match="is not a domain or host"):
            domain_category(store, "   ")


def test_schema_9_adds_the_table_to_an_older_store(tmp_path: Path) -> None:
    path = str(tmp_path / "old.duckdb")
    with Store(path) as store:
        store.con.execute("DROP TABLE domain_categories")
        store.con.execute("UPDATE meta SET value = '8' WHERE key = 'schema_version'")
    with Store(path) as store:
        assert store.schema_version == schema.SCHEMA_VERSION >= 9
        insert(store, "pages", PAGES[:2])
        assert categorize(store)["categorized"] == 2
        with pytest.raises(duckdb.ConstraintException):  # one row per domain
            store.con.execute("INSERT INTO domain_categories (domain) VALUES ('kicker.example')")


# --- off_topic, fed by the categories ----------------------------------------------------------------


def _toxic_store(target_pages: list[dict[str, Any]]) -> Store:
    links = [
        link(f"https://{d}/p", "https://example.com/", anchor="Example") for d in ("poker.example", "trail.example")
    ]
    pages = [
        *target_pages,
        page("https://poker.example/p", "Casino bonuses and free spins of the week"),
        page("https://trail.example/p", "Cycling: the Tour de France mountain stage"),  # no title word of the target's
    ]
    store = make_store(pages, links)
    domains = ["example.com", "poker.example", "trail.example"]
    insert(store, "rank_runs", [{"run_id": 1, "started_at": ts("2024-01-01"), "completed_at": ts("2024-01-01")}])
    insert(store, "domain_ranks", [{"run_id": 1, "domain": d, "dr": 10.0, "raw_rank": 1.0} for d in domains])
    score_domains(store.con, 1)
    return store


def _off_topic(store: Store) -> dict[str, bool]:
    return {r["source_domain"]: "off_topic" in r["signals"] for r in toxic_links(store, TARGET)}


def test_categories_veto_title_misses_and_judge_where_titles_cannot() -> None:
    target = [
        page("https://example.com/", "Marathon race calendar"),
        page("https://example.com/half", "Half marathon results"),
        page("https://example.com/club", "Athletics club news"),
    ]
    with _toxic_store(target) as store:
        # Titles alone: neither source shares a title word with the target.
        assert _off_topic(store) == {"poker.example": True, "trail.example": True}
        categorize(store)
        cats = {d: domain_category(store, d)["tier1"] for d in ("example.com", "poker.example", "trail.example")}
        assert cats["example.com"] == cats["trail.example"] == "Sports" != cats["poker.example"]
        # The same category vetoes the title miss; another category leaves it to the titles.
        assert _off_topic(store) == {"poker.example": True, "trail.example": False}
    with _toxic_store(target[:1]) as store:  # one titled page: the titles cannot tell
        assert _off_topic(store) == {"poker.example": False, "trail.example": False}
        categorize(store)
        assert _off_topic(store) == {"poker.example": True, "trail.example": False}
