"""Source, medium and channel of a visit, by GA4's documented default channel group rules.

A visit's **source** and **medium** come, as GA4 and Plausible take them, from the landing
page's ``utm_source``/``utm_medium``/``utm_campaign`` when it has them (Google Ads' ``gclid``
means ``google``/``cpc``), else from ``ref``/``source`` (``?ref=producthunt``), else from the
referrer: a listed search engine is ``organic``, anything else ``referral`` (a webmail host
``email``), named by the list (``Google``) or by its host without ``www.``; no referrer is
``(direct)``/``(none)``. ``android-app://`` referrers name the app by its package: listed apps
(``com.google.android.googlequicksearchbox`` is Google) are their source, others the package.

The **channel** follows GA4's default channel group (support.google.com/analytics/answer/9756891),
re-implemented from its published definitions, case-insensitive, first match wins:

========================= ========================================================================
Direct                    source ``(direct)`` and medium ``(none)`` or ``(not set)``
Cross-network             campaign contains ``cross-network``
Paid Shopping             (shopping site or campaign matches ``(^|[^a-df-z])shop|shopping``) and paid medium
Paid Search               search site and paid medium (``^(.*cp.*|ppc|retargeting|paid.*)$``)
Paid Social               social site and paid medium
Paid Video                video site and paid medium
Display                   medium display, banner, expandable, interstitial or cpm
Paid Other                paid medium
AI Assistants             an AI assistant's site (Matomo's list) — not a GA4 channel: added before
                          the organic ones, as Plausible does, so ``gemini.google.com`` is no search
Organic Shopping          shopping site or shopping campaign
Organic Social            social site, or medium social, social-network, social-media, sm, ...
Organic Video             video site, or medium contains ``video``
Organic Search            search site, or medium ``organic``
Referral                  medium referral, app or link
Email                     source or medium email, e-mail, e_mail or e mail
Affiliates                medium affiliate
Audio                     medium audio
SMS                       source or medium sms
Mobile Push Notifications medium ends with ``push``, contains ``mobile`` or ``notification``, or source ``firebase``
Unassigned                anything else
========================= ========================================================================

"Site" is the source's category from the lists (:mod:`._lists`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl

from linkback.traffic._lists import KnownSource, known_host, known_name

__all__ = ["CHANNELS", "channel", "landing_tags", "source_category"]

#: Every channel, in the order the rules try them.
CHANNELS = (
    "Direct",
    "Cross-network",
    "Paid Shopping",
    "Paid Search",
    "Paid Social",
    "Paid Video",
    "Display",
    "Paid Other",
    "AI Assistants",
    "Organic Shopping",
    "Organic Social",
    "Organic Video",
    "Organic Search",
    "Referral",
    "Email",
    "Affiliates",
    "Audio",
    "SMS",
    "Mobile Push Notifications",
    "Unassigned",
)

_PAID = re.compile(r"^(.*cp.*|ppc|retargeting|paid.*)$")
_SHOP_CAMPAIGN = re.compile(r"^(.*(([^a-df-z]|^)shop|shopping).*)$")
_VIDEO_MEDIUM = re.compile(r"^(.*video.*)$")
_DISPLAY = frozenset({"display", "banner", "expandable", "interstitial", "cpm"})
_SOCIAL_MEDIUM = frozenset({"social", "social-network", "social-media", "sm", "social network", "social media"})
_EMAIL = frozenset({"email", "e-mail", "e_mail", "e mail"})
_REFERRAL = frozenset({"referral", "app", "link"})


def source_category(source: str) -> str:
    """The category (:data:`~linkback.traffic._lists.CATEGORIES`) of a source name or host, ``""``
    when the lists do not know it."""
    found: KnownSource | None = known_name(source)
    return found.category if found else ""


@lru_cache(maxsize=1 << 14)
def channel(source: str, medium: str, campaign: str = "", category: str | None = None) -> str:
    """The channel of a visit from ``source``/``medium``/``campaign`` (see the module's table).
    ``category`` is the source's, when the caller knows it (else it is looked up)."""
    s, m, c = source.strip().lower(), medium.strip().lower(), campaign.strip().lower()
    cat = source_category(s) if category is None else category
    if s in ("(direct)", "direct") and m in ("(none)", "(not set)", ""):
        return "Direct"
    if "cross-network" in c:
        return "Cross-network"
    paid = _PAID.match(m) is not None
    shop = cat == "shopping" or _SHOP_CAMPAIGN.match(c) is not None
    if paid:
        if shop:
            return "Paid Shopping"
        for kind, name in (("search", "Paid Search"), ("social", "Paid Social"), ("video", "Paid Video")):
            if cat == kind:
                return name
    if m in _DISPLAY:
        return "Display"
    if paid:
        return "Paid Other"
    if cat == "ai":
        return "AI Assistants"
    if shop:
        return "Organic Shopping"
    if cat == "social" or m in _SOCIAL_MEDIUM:
        return "Organic Social"
    if cat == "video" or _VIDEO_MEDIUM.match(m):
        return "Organic Video"
    if cat == "search" or m == "organic":
        return "Organic Search"
    if m in _REFERRAL:
        return "Referral"
    if s in _EMAIL or m in _EMAIL or cat == "email":
        return "Email"
    if m in ("affiliate", "affiliates"):
        return "Affiliates"
    if m == "audio":
        return "Audio"
    if s == "sms" or m == "sms":
        return "SMS"
    if m.endswith("push") or "mobile" in m or "notification" in m or s == "firebase":
        return "Mobile Push Notifications"
    return "Unassigned"


#: Landing-page parameters that tag a visit.
TAG_PARAMS = ("utm_source", "utm_medium", "utm_campaign", "gclid", "gbraid", "wbraid", "msclkid", "ref", "source")
_TAG_HINTS = ("utm_", "clid=", "clkid=", "braid=", "ref=", "source=")
#: At most this much of a tag is kept (a campaign name is short; a hostile one is not).
MAX_TAG = 200


@lru_cache(maxsize=1 << 14)
def landing_tags(query: str) -> tuple[str, str, str] | None:
    """``(source, medium, campaign)`` from a landing page's query string, or None when it has no tag.

    ``utm_*`` first; Google Ads' click ids (``gclid``, ``gbraid``, ``wbraid``) are ``google``/``cpc``
    and Microsoft Ads' ``msclkid`` ``bing``/``cpc`` when no ``utm_source`` says otherwise; ``ref``
    or ``source`` name a source with medium ``referral``.
    """
    lowered = query.lower()
    if not query or not any(h in lowered for h in _TAG_HINTS):
        return None
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        key = key.lower()
        if key in TAG_PARAMS and key not in params:
            params[key] = " ".join(value.split())[:MAX_TAG]
    source = params.get("utm_source", "")
    medium = params.get("utm_medium", "")
    campaign = params.get("utm_campaign", "")
    if source or medium or campaign:
        return source or "(not set)", medium or "(not set)", campaign
    if params.get("gclid") or params.get("gbraid") or params.get("wbraid"):
        return "google", "cpc", ""
    if params.get("msclkid"):
        return "bing", "cpc", ""
    ref = params.get("ref") or params.get("source")
    if ref:
        found = known_name(ref)
        return ref, "organic" if found and found.category == "search" else "referral", ""
    return None


def referrer_source(host: str, path: str, query: str) -> tuple[str, str, str]:
    """``(source name, medium, category)`` of a referral from ``host`` (an app's package name for
    an ``android-app://`` referrer) at ``path``?``query``."""
    found = known_host(host, path, query)
    if found is None:
        return host.removeprefix("www."), "referral", ""
    medium = {"search": "organic", "email": "email"}.get(found.category, "referral")
    return found.name, medium, found.category
