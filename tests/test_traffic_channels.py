"""Sources and channels: GA4's default channel group rules, Matomo's lists, bots and referrer spam."""

from __future__ import annotations

import json

import pytest

from linkback.protocols._refback import _Sites
from linkback.traffic._channels import CHANNELS, channel, landing_tags
from linkback.traffic._lists import DATA, is_bot, is_spam_host, known_host, known_name
from linkback.traffic._visits import referrer_of

# GA4's default channel group, one row per definition (support.google.com/analytics/answer/9756891):
# (source, medium, campaign) -> channel. Matching is case-insensitive.
GA4_RULES = [
    # Direct: source (direct) and medium (none) or (not set)
    (("(direct)", "(none)", ""), "Direct"),
    (("(direct)", "(not set)", ""), "Direct"),
    # Cross-network: campaign contains cross-network
    (("google", "cpc", "pmax-cross-network-q3"), "Cross-network"),
    # Paid Shopping: shopping site or shop/shopping campaign, and a paid medium
    (("amazon.com", "cpc", ""), "Paid Shopping"),
    (("google", "cpc", "summer-shopping"), "Paid Shopping"),
    (("newsletter", "ppc", "shop-now"), "Paid Shopping"),
    # Paid Search: search site and paid medium (^(.*cp.*|ppc|retargeting|paid.*)$)
    (("google", "cpc", ""), "Paid Search"),
    (("bing", "ppc", ""), "Paid Search"),
    (("yahoo", "cpc", ""), "Paid Search"),  # Matomo's "Yahoo!"
    (("Google", "Paid_Search", ""), "Paid Search"),
    # Paid Social / Paid Video: social or video site and paid medium
    (("facebook.com", "cpc", ""), "Paid Social"),
    (("t.co", "paid", ""), "Paid Social"),
    (("youtube.com", "cpv", ""), "Paid Video"),
    # Display: display, banner, expandable, interstitial, cpm
    (("dv360", "display", ""), "Display"),
    (("partner", "banner", ""), "Display"),
    (("partner", "cpm", ""), "Display"),
    # Paid Other: a paid medium from anywhere else
    (("partner.example", "retargeting", ""), "Paid Other"),
    (("partner.example", "paid-placement", ""), "Paid Other"),
    # Organic Shopping
    (("etsy.com", "referral", ""), "Organic Shopping"),
    (("blog.example", "referral", "spring-shopping"), "Organic Shopping"),
    # Organic Social: social site, or medium social, social-network, social-media, sm...
    (("facebook.com", "referral", ""), "Organic Social"),
    (("l.facebook.com", "referral", ""), "Organic Social"),
    (("anything", "social", ""), "Organic Social"),
    (("anything", "sm", ""), "Organic Social"),
    (("anything", "Social Media", ""), "Organic Social"),
    # Organic Video: video site, or medium contains video
    (("youtube.com", "referral", ""), "Organic Video"),
    (("vimeo.com", "referral", ""), "Organic Video"),
    (("anything", "video-promo", ""), "Organic Video"),
    # Organic Search: search site, or medium organic
    (("google", "organic", ""), "Organic Search"),
    (("duckduckgo.com", "referral", ""), "Organic Search"),
    (("anything", "organic", ""), "Organic Search"),
    # Referral: medium referral, app or link (before Email: GA4's order)
    (("example.org", "referral", ""), "Referral"),
    (("some.app", "app", ""), "Referral"),
    (("email", "link", ""), "Referral"),
    # Email: source or medium email, e-mail, e_mail, e mail
    (("newsletter", "email", ""), "Email"),
    (("email", "(not set)", ""), "Email"),
    (("e-mail", "", ""), "Email"),
    (("list", "E Mail", ""), "Email"),
    # Affiliates, Audio, SMS, Mobile Push Notifications
    (("partner", "affiliate", ""), "Affiliates"),
    (("podcast", "audio", ""), "Audio"),
    (("sms", "(not set)", ""), "SMS"),
    (("twilio", "sms", ""), "SMS"),
    (("app", "web-push", ""), "Mobile Push Notifications"),
    (("app", "mobile-alert", ""), "Mobile Push Notifications"),
    (("app", "notification", ""), "Mobile Push Notifications"),
    (("firebase", "(not set)", ""), "Mobile Push Notifications"),
    # Unassigned: nothing matched (what GA4 does with utm_medium=feed)
    (("feedburner", "feed", ""), "Unassigned"),
    (("(not set)", "(not set)", ""), "Unassigned"),
    # AI Assistants: not GA4's; before the organic channels, as Plausible has it
    (("chatgpt.com", "referral", ""), "AI Assistants"),
    (("perplexity", "(not set)", ""), "AI Assistants"),
    (("chatgpt.com", "cpc", ""), "Paid Other"),  # paid first
]


@pytest.mark.parametrize(("given", "expected"), GA4_RULES, ids=[f"{g[0]}/{g[1]}/{g[2]}" for g, _ in GA4_RULES])
def test_ga4_channel_rules(given: tuple[str, str, str], expected: str) -> None:
    assert channel(*given) == expected


def test_every_channel_is_reachable() -> None:
    assert {expected for _, expected in GA4_RULES} == set(CHANNELS)


# --------------------------------------------------------------------------- referrers

SITE = _Sites(["example.com"])
BASE = "https://example.com"


@pytest.mark.parametrize(
    ("referer", "source", "medium", "ch"),
    [
        ("", "(direct)", "(none)", "Direct"),
        ("-", "(direct)", "(none)", "Direct"),
        ("javascript:alert(1)", "(direct)", "(none)", "Direct"),
        ("not a url at all", "(direct)", "(none)", "Direct"),
        ("https://user:pw@evil.example/", "(direct)", "(none)", "Direct"),
        ("https://www.google.com/", "Google", "organic", "Organic Search"),
        ("https://www.google.co.uk/url?sa=t&q=&url=x", "Google", "organic", "Organic Search"),
        ("http://www.google.com.ua/url?q=x", "Google", "organic", "Organic Search"),
        ("https://www.bing.com/search?q=linkback", "Bing", "organic", "Organic Search"),
        ("https://duckduckgo.com/", "DuckDuckGo", "organic", "Organic Search"),
        ("https://www.cnn.com/2024/story", "cnn.com", "referral", "Referral"),  # listed only for ?query=
        ("https://l.facebook.com/l.php?u=x", "Facebook", "referral", "Organic Social"),
        ("https://t.co/abc", "Twitter", "referral", "Organic Social"),
        ("https://news.ycombinator.com/item?id=1", "Hacker News", "referral", "Organic Social"),
        ("https://www.youtube.com/watch?v=x", "YouTube", "referral", "Organic Video"),
        ("https://chatgpt.com/", "ChatGPT", "referral", "AI Assistants"),
        ("https://gemini.google.com/app/1", "Gemini", "referral", "AI Assistants"),
        ("https://x.com/i/grok?conversation=1", "Grok", "referral", "AI Assistants"),
        ("https://x.com/someone/status/1", "Twitter", "referral", "Organic Social"),
        ("https://mail.google.com/mail/u/0/", "Gmail", "email", "Email"),
        ("https://stackoverflow.com/questions/1", "StackOverflow", "referral", "Organic Social"),
        ("http://logstash.net/docs/1.3.3/learn", "logstash.net", "referral", "Referral"),
        ("https://www.blog.example.org/post", "blog.example.org", "referral", "Referral"),
        # Android apps: a listed package is its site (umami #2828: this is Google, not Direct)
        ("android-app://com.google.android.googlequicksearchbox/", "Google", "organic", "Organic Search"),
        (
            "android-app://com.google.android.googlequicksearchbox/https/www.google.com",
            "Google",
            "organic",
            "Organic Search",
        ),  # fmt: skip
        ("android-app://com.google.android.gm", "Gmail", "email", "Email"),
        ("android-app://com.reddit.frontpage/", "reddit", "referral", "Organic Social"),
        ("android-app://org.example.reader/", "org.example.reader", "referral", "Referral"),
    ],
)
def test_referrers(referer: str, source: str, medium: str, ch: str) -> None:
    found = referrer_of(referer, BASE, SITE)
    assert found[3:] == (source, medium, ch)


def test_the_site_itself_is_navigation_and_spam_is_dropped() -> None:
    assert referrer_of("https://example.com/other", BASE, SITE) == ("navigation",)
    assert referrer_of("https://www.example.com/", "https://blog.example.com", SITE) == ("navigation",)
    assert referrer_of("http://blog.example.com:8080/x", BASE, None) == ("navigation",)  # same domain
    assert referrer_of("http://0-0.fr/", BASE, SITE) == ("spam",)
    assert referrer_of("https://www.0-0.fr/page", BASE, SITE) == ("spam",)


def test_a_referrer_keeps_its_url_host_and_domain() -> None:
    url, host, domain, *_ = referrer_of("HTTPS://Blog.Example.ORG/a#frag", BASE, SITE)
    assert (url, host, domain) == ("https://blog.example.org/a", "blog.example.org", "example.org")


# --------------------------------------------------------------------------- landing-page tags


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", None),
        ("page=2", None),
        ("utm_source=newsletter&utm_medium=email&utm_campaign=spring", ("newsletter", "email", "spring")),
        ("UTM_SOURCE=chatgpt.com", ("chatgpt.com", "(not set)", "")),
        ("utm_medium=social", ("(not set)", "social", "")),
        ("gclid=abc123", ("google", "cpc", "")),
        ("gbraid=x&utm_source=bing&utm_medium=cpc", ("bing", "cpc", "")),
        ("msclkid=1", ("bing", "cpc", "")),
        ("ref=producthunt", ("producthunt", "referral", "")),
        ("ref=google", ("google", "organic", "")),
        ("source=hn&x=1", ("hn", "referral", "")),
        ("utm_source=" + "a" * 5000, ("a" * 200, "(not set)", "")),
        ("utm_source=%00%1b%5B2J", ("\x00\x1b[2J", "(not set)", "")),
    ],
)
def test_landing_tags(query: str, expected: tuple[str, str, str] | None) -> None:
    assert landing_tags(query) == expected


def test_tagged_channels() -> None:
    tags = landing_tags("utm_source=chatgpt.com")
    assert tags is not None and channel(*tags) == "AI Assistants"
    assert channel(*landing_tags("gclid=1")) == "Paid Search"  # type: ignore[misc]
    assert channel(*landing_tags("ref=producthunt")) == "Referral"  # type: ignore[misc]


# --------------------------------------------------------------------------- the lists


def test_lists_are_vendored_with_their_licences() -> None:
    for name in ("matomo_SearchEngines.yml", "matomo_Socials.yml", "matomo_AIAssistants.yml", "matomo_referrer_spam.txt",
                 "crawler_user_agents.json"):  # fmt: skip
        assert (DATA / name).stat().st_size > 0
    assert "CC0 1.0 Universal" in (DATA / "matomo_searchengine-and-social-list.LICENSE").read_text()
    assert "Public Domain" in (DATA / "matomo_referrer_spam.LICENSE").read_text()
    assert "MIT License" in (DATA / "crawler_user_agents.LICENSE").read_text()
    assert "commit" in (DATA / "traffic_lists.SOURCE.txt").read_text()


def test_every_example_the_crawler_list_ships_is_a_bot() -> None:
    entries = json.loads((DATA / "crawler_user_agents.json").read_text())
    examples = [i for e in entries for i in e.get("instances", [])]
    assert len(examples) > 1000
    assert [ua for ua in examples if not is_bot(ua)] == []


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 "
        "Safari/605.1.15",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.0 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0",
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
    ],
)
def test_browsers_are_people(agent: str) -> None:
    assert not is_bot(agent)


def test_empty_user_agent_is_a_bot() -> None:
    assert is_bot("") and is_bot("   ")


def test_spam_list_matches_hosts_and_their_subdomains() -> None:
    assert is_spam_host("0-0.fr") and is_spam_host("WWW.0-0.FR") and not is_spam_host("example.com")
    assert not is_spam_host("fr")


def test_known_sources() -> None:
    assert known_host("www.google.de", "/", "") is not None
    assert known_host("www.cnn.com", "/", "") is None
    assert known_host("www.cnn.com", "/search", "query=x") is not None
    assert known_host("de.search.yahoo.com", "/search", "p=x") is not None  # {}.search.yahoo.com
    assert known_name("Facebook") is not None and known_name("Facebook").category == "social"  # type: ignore[union-attr]
    assert known_name("no-such-source") is None
