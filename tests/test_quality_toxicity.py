"""Toxicity: each signal fires on a small store made for it and not on its closest near-miss."""

from __future__ import annotations

import re
import weakref
from datetime import datetime, timezone
from typing import Any

import linkrows
import pytest
from conftest import ROOT

from linkback.errors import StoreError
from linkback.quality import _signals as sig
from linkback.quality._anchors import AnchorProfile
from linkback.quality._signals import SIGNALS, combine, signals_table
from linkback.quality._toxicity import score_domains, toxic_domains, toxic_links
from linkback.store import Store
from linkback.urls import host_of, split_host

TARGET = "example.com"
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def link(source_url: str, target_url: str = "https://example.com/", **values: Any) -> dict[str, Any]:
    """One live ``links`` row to the target by default."""
    return linkrows.link(source_url, target_url, **values)


def page(
    url: str,
    title: str | None = "A page",
    *,
    status: int = 200,
    n_internal: int = 20,
    n_external: int = 1,
    lang: str = "",
) -> dict[str, Any]:
    parts = split_host(host_of(url))
    return {
        "url": url,
        "host": parts.host,
        "domain": parts.domain,
        "rhost": parts.rhost,
        "status": status,
        "title": title,
        "lang": lang,
        "n_internal": n_internal,
        "n_external": n_external,
    }


def rank_row(domain: str, **values: Any) -> dict[str, Any]:
    row = {"domain": domain, "dr": 10.0, "raw_rank": 1.0, "trust": 0.0, "anti_trust": 0.0, "linked_domains": 0}
    row.update(values)
    return row


insert = linkrows.insert


def make_store(
    links: list[dict[str, Any]] = (),
    *,
    pages: list[dict[str, Any]] = (),
    ranks: list[dict[str, Any]] = (),
    allow: tuple[str, ...] = (),
    deny: tuple[str, ...] = (),
    keywords: str | None = None,
    score: bool = True,
) -> Store:
    """A store with one completed rank run (run 1) over ``ranks`` and every link's domain."""
    store = Store(":memory:")
    insert(store, "links", sorted(links, key=lambda r: r["target_rhost"]))
    insert(store, "pages", list(pages))
    insert(store, "quality_lists", [{"list": "allow", "entry": e} for e in allow])
    insert(store, "quality_lists", [{"list": "deny", "entry": e} for e in deny])
    if keywords is not None:
        insert(store, "site_profiles", [{"site": TARGET, "brands": "", "keywords": keywords}])
    given = {r["domain"] for r in ranks}
    domains = {r["source_domain"] for r in links} | {r["target_domain"] for r in links}
    rows = [*ranks, *(rank_row(d) for d in sorted(domains - given))]
    insert(store, "rank_runs", [{"run_id": 1, "started_at": T0, "completed_at": T0}])
    insert(store, "domain_ranks", [{"run_id": 1, **r} for r in rows])
    if score:
        score_domains(store.con, 1)
    return store


def domain_signals(store: Store) -> dict[str, tuple[int, list[str]]]:
    rows = store.con.execute("SELECT domain, toxicity, signals FROM domain_ranks WHERE run_id = 1").fetchall()
    return {d: (t, s.split()) for d, t, s in rows}


_SCORED: weakref.WeakKeyDictionary[Store, dict[str, dict[str, list[str]]]] = weakref.WeakKeyDictionary()


def signals_of(store: Store, source_url: str, **kwargs: Any) -> list[str]:
    """The signals of the (first) link from ``source_url``; one toxic_links call per store and arguments."""
    by_args = _SCORED.setdefault(store, {})
    key = repr(sorted(kwargs.items()))
    if key not in by_args:
        by_args[key] = {}
        for row in toxic_links(store, TARGET, **kwargs):
            by_args[key].setdefault(row["source_url"], row["signals"])
    assert source_url in by_args[key], source_url
    return by_args[key][source_url]


# --- the registry and the combination -----------------------------------------------------------


def test_the_registry_has_every_signal_of_the_issue_once() -> None:
    names = [s.name for s in SIGNALS]
    assert len(names) == len(set(names))
    assert {
        "link_farm",
        "sitewide",
        "comment_section",
        "commercial_anchor",
        "spam_tld",
        "spammy_name",
        "low_trust",
        "reciprocal",
        "link_cycle",
        "thin_page",
        "identical_anchors",
        "off_topic",
    } <= set(names)
    for s in SIGNALS:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", s.name)
        assert s.level in ("domain", "link") and 0 < s.weight <= 1 and s.description and s.why


def test_the_doc_lists_every_signal_with_its_weight_as_the_registry_says() -> None:
    doc = (ROOT / "docs" / "toxicity.md").read_text(encoding="utf-8")
    assert signals_table() in doc, "docs/toxicity.md is stale: paste signals_table() into it"
    for s in SIGNALS:
        assert re.search(rf"\| `{s.name}` \| {s.level} \| {s.weight:g} \|", doc)
    for constant in [n for n in dir(sig) if n.isupper() and not n.startswith("_")]:
        if constant not in (
            "SIGNALS",
            "BITS",
            "WEIGHTS",
            "DOMAIN_SIGNALS",
            "LINK_SIGNALS",
            "ALLOWED",
            "DENIED",
        ):
            assert f"`{constant}`" in doc, f"docs/toxicity.md does not name {constant}"
    assert all(f"`.{tld}`" in doc for tld in sig.SPAM_TLDS)
    assert all(term in doc for term in sig.COMMERCIAL_TERMS)


def test_signals_combine_as_a_noisy_or() -> None:
    w = sig.WEIGHTS
    assert combine([]) == 0
    assert combine(["link_farm"]) == round(100 * w["link_farm"])
    assert combine(["spam_tld", "spammy_name"]) == 36  # 100 * (1 - 0.75 * 0.85) = 36.25
    assert combine(["spam_tld", "spam_tld"]) == combine(["spam_tld"])
    everything = combine(s.name for s in SIGNALS)
    assert combine(["spam_tld"]) < combine(["spam_tld", "off_topic"]) < everything < 100


def test_score_domains_stores_the_same_score_as_combine() -> None:
    ranks = [
        rank_row("seed.org", trust=100.0),
        rank_row("cheap-loans-4you.xyz", dr=50.0, trust=1.0, anti_trust=60.0),
        rank_row("plain.org", dr=50.0, trust=90.0),
    ]
    with make_store(ranks=ranks) as store:
        got = domain_signals(store)
    assert got["cheap-loans-4you.xyz"][1] == ["spam_tld", "spammy_name", "low_trust", "spam_neighbour"]
    assert got["plain.org"] == (0, [])
    for toxicity, names in got.values():
        assert toxicity == combine(names)


# --- domain-level signals -----------------------------------------------------------------------


def _pages(domain: str, n: int, **values: Any) -> list[dict[str, Any]]:
    return [page(f"https://{domain}/p{i}", **values) for i in range(n)]


def test_link_farm_fires_on_many_linked_domains_per_page() -> None:
    ranks = [
        rank_row("farm.org", linked_domains=50),  # 50 domains from 5 pages: 10 per page
        rank_row("portal.org", linked_domains=50),  # 50 from 6 pages: 8.3 per page
        rank_row("small.org", linked_domains=49),  # one page, but fewer than 50 domains
        rank_row("big.org", linked_domains=100),  # 10 pages: full evidence
    ]
    pages = _pages("farm.org", 5) + _pages("portal.org", 6) + _pages("small.org", 1) + _pages("big.org", 10)
    with make_store(ranks=ranks, pages=pages) as store:
        got = domain_signals(store)
    assert "link_farm" in got["farm.org"][1] and "link_farm" in got["big.org"][1]
    assert "link_farm" not in got["portal.org"][1] and "link_farm" not in got["small.org"][1]
    # The weight is in proportion to the pages seen, up to FULL_EVIDENCE_PAGES.
    assert got["farm.org"][0] == combine({"link_farm": 0.5}) == 25
    assert got["big.org"][0] == combine(["link_farm"]) == 50


def test_link_farm_needs_enough_html_pages_of_the_domain() -> None:
    """One or two crawled pages of a site are not a link farm, however many domains they link to;
    and what the store kept of its images or robots.txt (no title, no links) are not pages."""
    ranks = [
        rank_row("nopages.org", linked_domains=60),  # no pages in the store at all
        rank_row("twopages.org", linked_domains=200),  # 100 domains a page, but 2 pages
        rank_row("three.org", linked_domains=60),  # 3 HTML pages (and 20 images): 20 a page
    ]
    images = [page(f"https://three.org/i{i}.png", "", n_internal=0, n_external=0) for i in range(20)]
    pages = _pages("twopages.org", 2) + _pages("three.org", 3) + images
    with make_store(ranks=ranks, pages=pages) as store:
        got = domain_signals(store)
    assert got["nopages.org"] == (0, []) and got["twopages.org"] == (0, [])
    assert got["three.org"] == (combine({"link_farm": 0.3}), ["link_farm"])


def test_spam_tld_fires_on_abused_tlds_only() -> None:
    ranks = [rank_row(d) for d in ("shop.xyz", "news.top", "xyz.com", "shop.xyz.example.org", "example.de")]
    with make_store(ranks=ranks) as store:
        got = domain_signals(store)
    assert got["shop.xyz"] == (25, ["spam_tld"]) and got["news.top"] == (25, ["spam_tld"])
    assert got["xyz.com"][1] == [] and got["shop.xyz.example.org"][1] == [] and got["example.de"][1] == []


@pytest.mark.parametrize(
    ("domain", "fires"),
    [
        ("best1234shop.com", True),  # 4 digits
        ("best123shop.com", False),
        ("cheap-buy-now.co.uk", True),  # 2 hyphens
        ("cheap-buy.co.uk", False),
        ("a" * 25 + ".com", True),
        ("a" * 24 + ".com", False),
        ("xn--80ak6aa92e.com", False),  # an IDN's punycode is not its name
        ("192.0.2.1", False),
        ("[2001:db8::1234]", False),
    ],
)
def test_spammy_name_fires_on_digits_hyphens_and_length(domain: str, fires: bool) -> None:
    with make_store(ranks=[rank_row(domain)]) as store:
        assert ("spammy_name" in domain_signals(store)[domain][1]) is fires


def test_low_trust_fires_on_rank_without_trust_when_the_run_has_seeds() -> None:
    seed = rank_row("seed.org", trust=100.0)
    ranks = [
        seed,
        rank_row("bought.org", dr=40.0, trust=7.9),  # below 0.2 * 40 = 8
        rank_row("earned.org", dr=40.0, trust=8.0),
        rank_row("small.org", dr=29.0, trust=0.0),  # below LOW_TRUST_MIN_DR
    ]
    with make_store(ranks=ranks) as store:
        got = domain_signals(store)
    assert got["bought.org"] == (30, ["low_trust"])
    assert got["earned.org"][1] == [] and got["small.org"][1] == []
    with make_store(ranks=[rank_row("bought.org", dr=40.0, trust=0.0)]) as store:  # no trust seeds at all
        assert domain_signals(store)["bought.org"][1] == []


def test_thin_page_fires_when_half_the_pages_have_no_title_and_no_navigation() -> None:
    thin = {"title": None, "n_internal": 2}
    pages = [
        *_pages("thin.org", 5, **thin),
        *(page(f"https://thin.org/a{i}", "Home") for i in range(5)),
        # near-misses: a third of the pages thin; untitled but with navigation; untitled 404s
        *_pages("mostly.org", 1, **thin),
        page("https://mostly.org/a", "A"),
        page("https://mostly.org/b", "B"),
        *_pages("nav.org", 3, title="", n_internal=3),
        *_pages("gone.org", 3, status=404, title=None, n_internal=0),
        page("https://gone.org/", "Gone Inc"),
    ]
    ranks = [rank_row(d) for d in ("thin.org", "mostly.org", "nav.org", "gone.org")]
    with make_store(ranks=ranks, pages=pages) as store:
        got = domain_signals(store)
    assert got["thin.org"] == (30, ["thin_page"])  # 10 pages: its full weight
    assert got["mostly.org"][1] == [] and got["nav.org"][1] == [] and got["gone.org"][1] == []


def test_thin_page_needs_enough_html_pages_that_carry_links() -> None:
    """Two pages are too few to judge a site by; an image or a robots.txt (stored with no title and
    no links, as ingest keeps what it does not parse) is not a thin page, nor a page at all."""
    thin = {"title": None, "n_internal": 0}
    pages = [
        *_pages("two.org", 2, **thin),
        *_pages("three.org", 3, **thin),
        *(page(f"https://files.org/{i}.gif", "", n_internal=0, n_external=0) for i in range(6)),
        page("https://files.org/about", "About the files"),
    ]
    ranks = [rank_row(d) for d in ("two.org", "three.org", "files.org")]
    with make_store(ranks=ranks, pages=pages) as store:
        got = domain_signals(store)
    assert got["two.org"] == (0, []) and got["files.org"] == (0, [])
    assert got["three.org"] == (combine({"thin_page": 0.3}), ["thin_page"]) == (9, ["thin_page"])


def test_spam_neighbour_fires_on_high_anti_trust() -> None:
    ranks = [rank_row("near.org", anti_trust=40.0), rank_row("far.org", anti_trust=39.9)]
    with make_store(ranks=ranks) as store:
        got = domain_signals(store)
    assert got["near.org"] == (50, ["spam_neighbour"]) and got["far.org"] == (0, [])


def test_lists_override_domain_scores_and_the_most_specific_entry_wins() -> None:
    ranks = [rank_row(d) for d in ("spam.xyz", "good.xyz", "other.xyz", "fine.org", "blog.org")]
    with make_store(
        ranks=ranks,
        deny=("xyz", "fine.org"),
        allow=("good.xyz", "www.blog.org", "https://spam.xyz/page"),
    ) as store:
        got = domain_signals(store)
    assert got["spam.xyz"] == (100, ["denied"]) and got["other.xyz"] == (100, ["denied"])
    assert got["fine.org"] == (100, ["denied"])
    assert got["good.xyz"] == (0, ["allowed"])
    assert got["blog.org"] == (0, [])  # a host entry does not cover the whole domain


def test_an_entry_on_both_lists_is_denied() -> None:
    with make_store(ranks=[rank_row("both.org")], allow=("both.org",), deny=("both.org",)) as store:
        assert domain_signals(store)["both.org"] == (100, ["denied"])


# --- link-level signals -------------------------------------------------------------------------


def test_domain_signals_of_the_source_carry_over_to_its_links() -> None:
    links = [link("https://shop.xyz/a"), link("https://plain.org/a")]
    with make_store(links) as store:
        assert signals_of(store, "https://shop.xyz/a") == ["spam_tld"]
        assert signals_of(store, "https://plain.org/a") == []
        assert toxic_links(store, TARGET)[0]["toxicity"] == 25


def test_sitewide_fires_on_template_links_from_many_pages() -> None:
    links = [
        *(link(f"https://footer.org/p{i}", section="footer", anchor="Example") for i in range(5)),
        *(link(f"https://www.few.org/p{i}", section="aside", anchor="Example") for i in range(4)),
        *(link(f"https://inline.org/p{i}", section="content", anchor="Example") for i in range(5)),
    ]
    with make_store(links) as store:
        assert "sitewide" in signals_of(store, "https://footer.org/p0")
        assert "sitewide" not in signals_of(store, "https://www.few.org/p0")
        assert "sitewide" not in signals_of(store, "https://inline.org/p0")


def test_sitewide_counts_pages_not_links() -> None:
    links = [
        link("https://one.org/p", "https://example.com/" + str(i), section="footer", anchor="Example") for i in range(5)
    ]
    with make_store(links) as store:
        assert "sitewide" not in signals_of(store, "https://one.org/p")


def test_sitewide_counts_the_pages_of_one_host() -> None:
    """A template belongs to one site: five blogs of a platform, each with the target in its
    sidebar on one page, are five editorial choices, not one footer repeated."""
    links = [
        *(link(f"https://blog{i}.platform.com/post", section="aside", anchor="Example") for i in range(6)),
        *(link(f"https://www.footer.org/p{i}", section="footer", anchor="Example") for i in range(5)),
    ]
    with make_store(links) as store:
        assert "sitewide" not in signals_of(store, "https://blog0.platform.com/post")
        assert "sitewide" in signals_of(store, "https://www.footer.org/p0")
        row = toxic_domains(store, TARGET, min_score=1)[0]
    assert row["domain"] == "footer.org" and row["reasons"] == "sitewide (5 of 5 links; 5 pages of one host)"


def test_comment_section_fires_on_comment_links_only() -> None:
    links = [link("https://blog.org/post", section="comment"), link("https://news.org/post", section="content")]
    with make_store(links) as store:
        assert signals_of(store, "https://blog.org/post") == ["comment_section"]
        assert signals_of(store, "https://news.org/post") == []


@pytest.mark.parametrize(
    ("anchor", "fires"),
    [
        ("Buy cheap viagra online", True),
        ("best online casino bonus", True),
        ("Préstamos rápidos sin aval", True),  # Spanish, accents folded
        ("günstig kaufen", True),
        ("A buyer's guide to boots", False),  # "buyer" is not "buy"
        ("Example", False),  # the brand
        ("https://example.com/cheap", False),  # the naked URL
        ("great boots", False),
    ],
)
def test_commercial_anchor_fires_on_money_terms(anchor: str, fires: bool) -> None:
    with make_store([link("https://blog.org/p", anchor=anchor)]) as store:
        assert ("commercial_anchor" in signals_of(store, "https://blog.org/p")) is fires


def test_commercial_anchor_fires_on_an_exact_match_keyword_of_the_site_profile() -> None:
    links = [link("https://a.org/p", anchor="Hiking Boots"), link("https://b.org/p", anchor="boots for hiking")]
    with make_store(links, keywords="hiking boots\ntrail shoes") as store:
        assert "commercial_anchor" in signals_of(store, "https://a.org/p")
        assert "commercial_anchor" not in signals_of(store, "https://b.org/p")  # a partial match
    with make_store(links) as store:  # no profile: not a keyword
        assert "commercial_anchor" not in signals_of(store, "https://a.org/p")
        profile = AnchorProfile.for_target(TARGET, keywords=("hiking boots",))
        assert "commercial_anchor" in signals_of(store, "https://a.org/p", profile=profile)


def test_identical_anchors_counts_pages_not_links() -> None:
    """The same anchor twelve times on one page (a share button under every comment) is one page."""
    links = [link("https://news.org/story", "https://example.com/" + str(i), anchor="Share") for i in range(12)]
    with make_store(links) as store:
        assert "identical_anchors" not in signals_of(store, "https://news.org/story")


def test_identical_anchors_fires_on_one_anchor_repeated_by_one_domain() -> None:
    links = [
        *(link(f"https://pbn.org/p{i}", anchor="Best Boots" if i % 2 else "best boots ") for i in range(10)),
        *(link(f"https://nine.org/p{i}", anchor="Best Boots") for i in range(9)),
        *(link(f"https://varied.org/p{i}", anchor=f"Best Boots {i}") for i in range(10)),
        *(link(f"https://images.org/p{i}", anchor="", kind="image") for i in range(10)),
    ]
    with make_store(links) as store:
        assert "identical_anchors" in signals_of(store, "https://pbn.org/p0")
        for url in ("https://nine.org/p0", "https://varied.org/p0", "https://images.org/p0"):
            assert "identical_anchors" not in signals_of(store, url)


def test_reciprocal_fires_when_the_target_links_back_with_a_dofollow_link() -> None:
    links = [
        link("https://partner.org/", anchor="Example"),
        link("https://example.com/links", "https://partner.org/"),
        link("https://polite.org/", anchor="Example"),
        link("https://example.com/links", "https://polite.org/", nofollow=True, rel="nofollow"),
        link("https://former.org/", anchor="Example"),
        link("https://example.com/old", "https://former.org/", lost_at=T0),
    ]
    with make_store(links) as store:
        assert signals_of(store, "https://partner.org/") == ["reciprocal"]
        assert signals_of(store, "https://polite.org/") == []
        assert signals_of(store, "https://former.org/") == []


def test_reciprocal_is_between_two_sites() -> None:
    """An exchange is between the site linked to and the site linking: on a platform, another blog
    linking back is not an exchange; the same site with or without www. is."""
    links = [
        link("https://news.org/a", "https://alice.platform.com/", section="comment"),
        link("https://bob.platform.com/post", "https://news.org/"),  # another blog links back
        link("https://partner.org/", "https://www.platform.com/", anchor="Platform"),
        link("https://platform.com/partners", "https://partner.org/"),  # www. or not: one site
    ]
    with make_store(links) as store:
        got = {r["source_url"]: r for r in toxic_links(store, "platform.com")}
    assert got["https://news.org/a"]["signals"] == ["comment_section"]
    assert got["https://partner.org/"]["signals"] == ["reciprocal"]
    assert got["https://partner.org/"]["reasons"] == "reciprocal (1 page links back)"


def test_link_cycle_fires_on_a_cycle_of_three_domains() -> None:
    links = [
        link("https://example.com/", "https://b.org/"),
        link("https://b.org/", "https://c.org/"),
        link("https://c.org/", anchor="Example"),  # example.com -> b.org -> c.org -> example.com
        link("https://example.com/", "https://d.org/"),
        link("https://d.org/", "https://e.org/", sponsored=True, rel="sponsored"),
        link("https://e.org/", anchor="Example"),  # d.org's link does not pass authority
        link("https://f.org/", "https://g.org/"),
        link("https://g.org/", anchor="Example"),  # f.org is not linked from example.com
    ]
    with make_store(links) as store:
        assert signals_of(store, "https://c.org/") == ["link_cycle"]
        assert signals_of(store, "https://e.org/") == []
        assert signals_of(store, "https://g.org/") == []


def test_link_cycle_adds_nothing_to_a_reciprocal_link() -> None:
    """A cycle through a third domain hides an exchange; beside the exchange itself it is no more evidence."""
    links = [
        link("https://example.com/", "https://b.org/"),
        link("https://b.org/", "https://c.org/"),
        link("https://example.com/", "https://c.org/"),
        link("https://c.org/", anchor="Example"),
    ]
    with make_store(links) as store:
        assert signals_of(store, "https://c.org/") == ["reciprocal"]


def test_off_topic_fires_when_the_source_title_shares_no_word_with_the_target() -> None:
    links = [link(f"https://{d}/p", anchor="Example") for d in ("casino.org", "trails.org", "untitled.org")]
    target = [
        page("https://example.com/", "Example: hiking boots and trail gear", lang="en"),
        page("https://example.com/about", "About us"),  # no content word: says nothing of the topic
        page("https://example.com/shoes", "Trail shoes for winter", lang="en-GB"),
        page("https://example.com/review", "Boots reviewed", lang="en"),
    ]
    pages = [
        *target,
        page("https://casino.org/p", "Casino bonuses of the week"),
        page("https://trails.org/p", "The ten best TRAIL runs in Wales"),
        page("https://untitled.org/p", None),
    ]
    with make_store(links, pages=pages) as store:
        assert signals_of(store, "https://casino.org/p") == ["off_topic"]
        assert signals_of(store, "https://trails.org/p") == []
        assert signals_of(store, "https://untitled.org/p") == []
        reason = toxic_links(store, TARGET, min_score=1)[0]["reasons"]
        assert reason == "off_topic (target topic from 3 pages)"
    with make_store(links, pages=pages[4:]) as store:  # nothing known of the target's topic
        assert signals_of(store, "https://casino.org/p") == []


def test_off_topic_needs_enough_of_the_target_and_a_shared_language() -> None:
    """Two titled pages are too little of a site to know its topic; and titles in different
    languages share no words whatever their topics."""
    links = [link(f"https://{d}/p", anchor="Example") for d in ("casino.org", "wandern.de", "sans.org")]
    target = [
        page("https://example.com/", "Example: hiking boots and trail gear", lang="en"),
        page("https://example.com/shoes", "Trail shoes for winter", lang="en-GB"),
        page("https://example.com/review", "Boots reviewed", lang="en"),
    ]
    sources = [
        page("https://casino.org/p", "Casino bonuses of the week", lang="en-US"),
        page("https://wandern.de/p", "Wanderschuhe im Test", lang="de-DE"),
        page("https://sans.org/p", "Casino bonuses of the month"),  # no language given: judged
    ]
    with make_store(links, pages=target[:2] + sources) as store:
        assert signals_of(store, "https://casino.org/p") == []
    with make_store(links, pages=target + sources) as store:
        assert signals_of(store, "https://casino.org/p") == ["off_topic"]
        assert signals_of(store, "https://wandern.de/p") == []
        assert signals_of(store, "https://sans.org/p") == ["off_topic"]


# --- lists, runs, ordering and the per-domain view -----------------------------------------------


def test_lists_override_link_scores_by_url_host_and_domain() -> None:
    links = [
        link("https://www.spam.org/a", section="comment"),
        link("https://www.spam.org/b", section="comment"),
        link("https://blog.spam.org/c", section="comment"),
        link("https://deep.blog.spam.org/c", section="comment"),
        link("https://shop.xyz/a"),
        link("https://www.shop.xyz/a"),
        link("https://good.shop.xyz/b"),
    ]
    with make_store(
        links, allow=("https://www.spam.org/a", "shop.xyz"), deny=("blog.spam.org", "good.shop.xyz")
    ) as store:
        got = {r["source_url"]: (r["toxicity"], r["signals"]) for r in toxic_links(store, TARGET)}
    assert got["https://www.spam.org/a"] == (0, ["allowed"])  # a URL entry: that page only
    assert got["https://www.spam.org/b"] == (30, ["comment_section"])
    assert got["https://blog.spam.org/c"] == (100, ["denied"])
    assert got["https://deep.blog.spam.org/c"] == (30, ["comment_section"])  # a host entry: that host only
    assert got["https://shop.xyz/a"] == (0, ["allowed"])
    assert got["https://www.shop.xyz/a"] == (0, ["allowed"])  # a domain entry: every host under it
    assert got["https://good.shop.xyz/b"] == (100, ["denied"])  # the host is more specific


def test_without_a_completed_run_the_reports_say_to_rank_first() -> None:
    store = Store(":memory:")
    with pytest.raises(StoreError, match="no rank run yet: run 'linkback rank' first"):
        toxic_links(store, TARGET)
    insert(store, "rank_runs", [{"run_id": 1, "started_at": T0}])  # interrupted: not completed
    with pytest.raises(StoreError, match="no rank run yet"):
        toxic_domains(store, TARGET)
    with pytest.raises(StoreError, match="no completed rank run 1"):
        toxic_links(store, TARGET, run_id=1)


def test_the_newest_completed_run_is_read_unless_one_is_given() -> None:
    with make_store([link("https://a.org/p")]) as store:
        insert(store, "rank_runs", [{"run_id": 2, "started_at": T0, "completed_at": T0}])
        insert(store, "domain_ranks", [{"run_id": 2, **rank_row("a.org", dr=55.0), "signals": "spam_tld"}])
        assert toxic_links(store, TARGET)[0]["dr"] == 55.0
        assert toxic_links(store, TARGET)[0]["signals"] == ["spam_tld"]
        assert toxic_links(store, TARGET, run_id=1)[0]["dr"] == 10.0


def test_links_come_worst_first_with_their_columns() -> None:
    links = [
        link("https://plain.org/a", anchor="Example"),
        link("https://shop.xyz/a", anchor="Example"),
        link("https://shop.xyz/b", anchor="buy cheap boots", section="comment"),
        link("https://example.com/internal", "https://example.com/x"),
        link("https://gone.org/a", lost_at=T0),
    ]
    with make_store(links) as store:
        rows = toxic_links(store, TARGET)
        assert [r["source_url"] for r in rows] == ["https://shop.xyz/b", "https://shop.xyz/a", "https://plain.org/a"]
        assert [r["source_url"] for r in toxic_links(store, TARGET, limit=1)] == ["https://shop.xyz/b"]
    assert rows[0]["signals"] == ["spam_tld", "comment_section", "commercial_anchor"]
    assert rows[0]["toxicity"] == combine(rows[0]["signals"])
    assert {
        "source_url",
        "source_domain",
        "target_url",
        "anchor",
        "kind",
        "section",
        "dr",
        "toxicity",
        "signals",
    } <= set(rows[0])


def test_toxic_domains_takes_the_worst_link_and_every_signal() -> None:
    links = [
        link("https://shop.xyz/a", anchor="Example"),
        link("https://shop.xyz/b", section="comment"),
        link("https://shop.xyz/c", anchor="buy boots"),
        link("https://plain.org/a"),
        link("https://plain.org/b"),
    ]
    with make_store(links, ranks=[rank_row("shop.xyz", dr=12.5)]) as store:
        rows = toxic_domains(store, TARGET)
        assert toxic_domains(store, TARGET, limit=1) == rows[:1]
    assert rows[0] == {
        "domain": "shop.xyz",
        "dr": 12.5,
        "links": 3,
        "toxicity": combine(["spam_tld", "commercial_anchor"]),
        "signals": ["spam_tld", "comment_section", "commercial_anchor"],
        # the reasons say on how many of the domain's links each link signal fired
        "reasons": "spam_tld, comment_section (1 of 3 links), commercial_anchor (1 of 3 links)",
    }
    assert rows[1] == {"domain": "plain.org", "dr": 10.0, "links": 2, "toxicity": 0, "signals": [], "reasons": ""}


def test_the_reasons_say_how_much_evidence_the_page_signals_had() -> None:
    pages = _pages("farm.org", 4) + _pages("thin.org", 4, title=None, n_internal=0)
    ranks = [rank_row("farm.org", linked_domains=80), rank_row("thin.org")]
    links = [link("https://farm.org/p0"), link("https://thin.org/p0"), link("https://other.xyz/")]
    with make_store(links, pages=pages, ranks=ranks, deny=("other.xyz",)) as store:
        got = {r["domain"]: (r["toxicity"], r["reasons"]) for r in toxic_domains(store, TARGET)}
    assert got["farm.org"] == (20, "link_farm (4 pages, 40% weight; 20 linked domains/page)")
    assert got["thin.org"] == (12, "thin_page (4 of 4 pages thin, 40% weight)")
    assert got["other.xyz"] == (100, "denied (deny list)")
