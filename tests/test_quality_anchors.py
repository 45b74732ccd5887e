"""Anchor classes (issue #3): each class with anchors that must and must not fall in it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkback.errors import TargetError
from linkback.quality._anchors import (
    ANCHOR_CLASSES,
    GENERIC_ANCHORS,
    AnchorProfile,
    classify_anchor,
    classify_anchors,
)

TARGET = "https://www.example.com/pricing"
PROFILE = AnchorProfile.for_target(
    "example.com", brands=("Acme Travel",), keywords=("cheap flights", "flights to paris")
)


def cls(anchor: str | None, kind: str = "text", target_url: str = TARGET, profile: AnchorProfile = PROFILE) -> str:
    return classify_anchor(anchor, kind=kind, target_url=target_url, profile=profile)


CASES = {
    "empty": (
        ["", None, "   ", "\n\t", "\u200b", "\u00a0"],
        ["Example", "x", "»"],
    ),
    "naked_url": (
        [
            "example.com",
            "www.example.com",
            "Example.COM/",
            "https://www.example.com/pricing",
            "http://example.com",
            "//example.com/a",
            "https://other.org/some/page?x=1",
            "other.co.uk/blog/",
            "<https://other.org/>",
            "(example.org).",
            "bücher.de",
            "192.0.2.1",
            "ftp://files.example.org/",
        ],
        ["Example", "node.js", "3.14", "v1.2.3", "me@example.com", "example dot com", "see example.com here", ".NET"],
    ),
    "branded": (
        [
            "Example",
            "EXAMPLE",
            "Éxample",
            "the Example blog",
            "Example's pricing",
            "Acme Travel",
            "AcmeTravel",
            "acme-travel",
        ],
        ["Examples", "counterexample", "Acme", "travel", "example.com"],
    ),
    "exact_match": (
        ["cheap flights", "Cheap Flights!", "  CHEAP   flights ", "Flights to Paris"],
        ["cheap flights now", "cheapflights", "Example cheap flights"],
    ),
    "partial_match": (
        ["cheap flights to Rome", "flights", "cheap", "Paris hotels", "book flights to paris today"],
        ["to", "cheap flights", "hotels in rome", "click here"],
    ),
    "generic": (
        [
            "click here",
            "Click here!",
            "READ MORE »",
            "here",
            "this",
            "link",
            "website",
            "this site",
            "source",
            "via",
            "learn more",
            "continue reading",
            "hier",
            "ici",
            "aquí",
            "AQUI",
            "qui",
            "weiterlesen",
            "en savoir plus",
            "mehr",
            "leer más",
            "»",
            "[…]",
        ],
        ["click here for cheap deals", "here is the thing", "hierarchy", "more info about rome trips"],
    ),
}


@pytest.mark.parametrize(
    ("expected", "anchor"), [(c, a) for c, (yes, _) in CASES.items() for a in yes], ids=lambda v: repr(v)[:40]
)
def test_anchor_falls_in_its_class(expected: str, anchor: str) -> None:
    assert cls(anchor) == expected


@pytest.mark.parametrize(
    ("wrong", "anchor"), [(c, a) for c, (_, no) in CASES.items() for a in no], ids=lambda v: repr(v)[:40]
)
def test_anchor_does_not_fall_in_the_wrong_class(wrong: str, anchor: str) -> None:
    assert cls(anchor) != wrong


def test_other_is_what_is_left() -> None:
    assert cls("great travel tips") == "other"
    assert cls("★★★") == "other"
    assert cls("README") == "other"


def test_image_links_without_alt_are_image_and_with_alt_are_read_as_text() -> None:
    assert cls("", kind="image") == "image"
    assert cls("  ", kind="image") == "image"
    assert cls(None, kind="image") == "image"
    assert cls("Example logo", kind="image") == "branded"
    assert cls("click here", kind="image") == "generic"
    assert cls("example.com", kind="image") == "naked_url"
    assert cls("", kind="redirect") == "empty"


def test_precedence_follows_anchor_classes() -> None:
    assert ANCHOR_CLASSES == (
        "empty",
        "image",
        "naked_url",
        "branded",
        "exact_match",
        "partial_match",
        "generic",
        "other",
    )
    assert cls("example.com") == "naked_url"  # a URL even though it spells the brand
    assert cls("Example cheap flights") == "branded"  # brand before keyword
    kw_generic = AnchorProfile(keywords=("click here",))
    assert cls("click here", profile=kw_generic) == "exact_match"  # a configured keyword wins


def test_brand_and_keywords_are_configurable_per_site() -> None:
    plain = AnchorProfile()
    assert cls("Example", profile=plain) == "other"
    assert cls("cheap flights", profile=plain) == "other"
    custom = AnchorProfile(brands=("Widget Co",), keywords=("blue widgets",))
    assert cls("widget co", profile=custom) == "branded"
    assert cls("WidgetCo", profile=custom) == "branded"
    assert cls("Blue Widgets", profile=custom) == "exact_match"
    assert cls("red widgets", profile=custom) == "partial_match"
    assert cls("cheap flights", profile=custom) == "other"


def test_partial_match_needs_half_of_the_significant_words() -> None:
    profile = AnchorProfile(keywords=("best pizza delivery in berlin",))  # significant: best pizza delivery berlin
    assert cls("pizza in berlin", profile=profile) == "partial_match"  # 2 of 4
    assert cls("pizza", profile=profile) == "other"  # 1 of 4
    assert cls("in the", profile=profile) == "other"  # function words do not count
    learn = AnchorProfile(keywords=("learn more about pizza",))
    assert cls("learn more", profile=learn) == "generic"  # generic words do not count
    assert cls("pizza", profile=learn) == "partial_match"


def test_terms_match_without_case_accents_or_extra_space() -> None:
    profile = AnchorProfile(brands=("Café Müller",), keywords=("crème brûlée",))
    assert profile.brands == ("cafe muller",)
    assert profile.keywords == ("creme brulee",)
    assert cls("CAFE  MULLER", profile=profile) == "branded"
    assert cls("Cafe\u0301 Mu\u0308ller", profile=profile) == "branded"  # decomposed accents
    assert cls("Crème Brûlée", profile=profile) == "exact_match"
    assert cls("STRASSE", profile=AnchorProfile(brands=("Straße",))) == "branded"


def test_terms_in_scripts_without_spaces_match_as_substrings() -> None:
    profile = AnchorProfile(brands=("ソニー",), keywords=("旅行保険",))
    assert cls("ソニーの新製品", profile=profile) == "branded"
    assert cls("海外旅行保険の比較", profile=profile) == "partial_match"
    assert cls("天気予報", profile=profile) == "other"


def test_profile_is_normalised_hashable_and_compares_by_terms() -> None:
    a = AnchorProfile(brands=("ACME Inc.", "acme inc"), keywords=("x",))
    b = AnchorProfile(brands=("acme inc",), keywords=("X",))
    assert a == b and hash(a) == hash(b)
    assert a.brands == ("acme inc",)
    assert AnchorProfile(brands="acme").brands == ("acme",)  # a lone string is one term
    assert AnchorProfile(brands=("", "  ", "!!")).brands == ()


@pytest.mark.parametrize(
    ("target", "brands"),
    [
        ("nytimes.com", ("nytimes",)),
        ("www.nytimes.com", ("nytimes",)),
        ("https://www.nytimes.com/section/world", ("nytimes",)),
        ("new-york-times.co.uk", ("new york times",)),
        ("blog.example.github.io", ("example",)),
        ("xn--bcher-kva.de", ("bücher",)),
        ("bücher.de", ("bücher",)),
        ("192.0.2.1", ()),
    ],
)
def test_for_target_derives_the_brand_from_the_registrable_domain(target: str, brands: tuple[str, ...]) -> None:
    from linkback.quality._anchors import _norm

    assert AnchorProfile.for_target(target).brands == tuple(_norm(b) for b in brands)


def test_for_target_adds_given_brands_and_keywords() -> None:
    profile = AnchorProfile.for_target("nytimes.com", brands=("New York Times",), keywords=("world news",))
    assert profile.brands == ("nytimes", "new york times")
    assert profile.keywords == ("world news",)
    assert cls("The New York Times", profile=profile) == "branded"
    assert cls("NY Times", profile=profile) == "branded"  # "ny times" spells "nytimes"
    hyphen = AnchorProfile.for_target("new-york-times.co.uk")
    for anchor in ("New York Times", "new-york-times", "NewYorkTimes"):
        assert cls(anchor, profile=hyphen) == "branded"


def test_for_target_refuses_what_is_not_a_site() -> None:
    with pytest.raises(TargetError):
        AnchorProfile.for_target("co.uk")
    with pytest.raises(TargetError):
        AnchorProfile.for_target("")


def test_a_host_under_an_unknown_suffix_is_a_naked_url_only_for_its_own_target() -> None:
    profile = AnchorProfile()
    assert cls("intranet.local", target_url="http://intranet.local/wiki", profile=profile) == "naked_url"
    assert cls("intranet.local", target_url="https://example.com/", profile=profile) == "other"
    # memoised per anchor, yet still decided per target
    got = classify_anchors(
        ["intranet.local"] * 2, ["text"] * 2, ["http://intranet.local/", "https://example.com/"], profile
    )
    assert got == ["naked_url", "other"]


def test_batch_agrees_with_one_at_a_time() -> None:
    anchors = [a for yes, no in CASES.values() for a in yes + no] + ["", None, "Example logo"]
    kinds = ["image" if i % 3 == 0 else "text" for i in range(len(anchors))]
    targets = [TARGET] * len(anchors)
    fresh = AnchorProfile.for_target(
        "example.com", brands=("Acme Travel",), keywords=("cheap flights", "flights to paris")
    )
    batch = classify_anchors(anchors, kinds, targets, fresh)
    assert batch == [cls(a, kind=k) for a, k in zip(anchors, kinds)]
    assert classify_anchors(anchors, kinds, targets, fresh) == batch  # memoised second pass


def test_batch_refuses_sequences_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        classify_anchors(["a", "b"], ["text"], [TARGET, TARGET], PROFILE)


def test_generic_vocabulary_is_normalised() -> None:
    assert "aqui" in GENERIC_ANCHORS and "aquí" not in GENERIC_ANCHORS
    assert "en savoir plus" in GENERIC_ANCHORS and "weiterlesen" in GENERIC_ANCHORS
    assert all(p == " ".join(p.split()) and p == p.casefold() for p in GENERIC_ANCHORS)


@settings(max_examples=300, deadline=None)
@given(anchor=st.one_of(st.none(), st.text(max_size=60)), kind=st.sampled_from(["text", "image", "redirect", ""]))
def test_any_anchor_gets_a_class(anchor: str | None, kind: str) -> None:
    got = cls(anchor, kind=kind)
    assert got in ANCHOR_CLASSES
    if got in ("image", "empty"):
        assert got == ("image" if kind == "image" else "empty")
