"""The vendored lists behind source names and channels (``linkback/data``, see its
``traffic_lists.SOURCE.txt``): Matomo's search engines, social networks and AI assistants (CC0),
Matomo's referrer-spam list (public domain), and the crawler-user-agents patterns (MIT).

* :func:`known_host` — the search engine, social network or AI assistant a referrer's host (and
  path) belongs to, by Matomo's rules: a search engine's ``{}`` stands for a country code or
  suffix (``google.{}`` is ``google.de`` and ``google.co.uk``, ``{}.bing.com`` is
  ``de.bing.com``), and a search-engine referrer counts as a search only when it carries one of
  the engine's keyword parameters or a path the engine hides keywords behind (so ``www.cnn.com``,
  listed for its Google custom search, is a search only on ``?query=``). Social networks and
  AI assistants match their host, its subdomains and an optional path prefix (``x.com/i/grok``).
  A few webmail, video and shopping hosts of our own (GA4's categories the Matomo lists lack)
  complete them.
* :func:`known_name` — the same for a ``utm_source`` value (``google``, ``facebook.com``,
  ``chatgpt.com``).
* :func:`is_spam_host` — a host on the referrer-spam list (or under one).
* :func:`is_bot` — a User-Agent that matches a crawler pattern, or is empty.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import yaml  # type: ignore[import-untyped]  # PyYAML ships no type information

__all__ = ["DATA", "KnownSource", "is_bot", "is_spam_host", "known_host", "known_name"]

DATA = Path(__file__).resolve().parent.parent / "data"

#: Categories a known source can have (GA4's source categories, plus ``ai`` and ``email``).
CATEGORIES = ("search", "social", "ai", "email", "video", "shopping")


@dataclass(frozen=True, slots=True)
class KnownSource:
    """A source from the lists: its display ``name`` (``Google``) and ``category``."""

    name: str
    category: str


# GA4 counts these as video and shopping sites and Matomo has no such list; webmail hosts make a
# referral an email visit. Facts about well-known hosts, kept short.
_OWN_HOSTS: dict[str, tuple[str, str]] = {
    "mail.google.com": ("Gmail", "email"),
    "outlook.live.com": ("Outlook.com", "email"),
    "outlook.office.com": ("Outlook", "email"),
    "outlook.office365.com": ("Outlook", "email"),
    "mail.yahoo.com": ("Yahoo Mail", "email"),
    "mail.proton.me": ("Proton Mail", "email"),
    "mail.aol.com": ("AOL Mail", "email"),
    "mail.yandex.ru": ("Yandex Mail", "email"),
    "e.mail.ru": ("Mail.ru", "email"),
    "mail.zoho.com": ("Zoho Mail", "email"),
    "app.fastmail.com": ("Fastmail", "email"),
    "com.google.android.gm": ("Gmail", "email"),
    "com.microsoft.office.outlook": ("Outlook", "email"),
    "youtube.com": ("YouTube", "video"),
    "youtu.be": ("YouTube", "video"),
    "com.google.android.youtube": ("YouTube", "video"),
    "vimeo.com": ("Vimeo", "video"),
    "dailymotion.com": ("Dailymotion", "video"),
    "twitch.tv": ("Twitch", "video"),
    "wistia.com": ("Wistia", "video"),
    "ted.com": ("TED", "video"),
    "netflix.com": ("Netflix", "video"),
    "amazon.com": ("Amazon", "shopping"),
    "ebay.com": ("eBay", "shopping"),
    "etsy.com": ("Etsy", "shopping"),
    "walmart.com": ("Walmart", "shopping"),
    "aliexpress.com": ("AliExpress", "shopping"),
    "shopping.google.com": ("Google Shopping", "shopping"),
    "shopify.com": ("Shopify", "shopping"),
}
# utm_source spellings that name a source by a short word rather than a host.
_OWN_NAMES: dict[str, tuple[str, str]] = {
    "ig": ("Instagram", "social"),
    "fb": ("Facebook", "social"),
    "x": ("Twitter", "social"),
    "gmail": ("Gmail", "email"),
    "newsletter": ("Newsletter", "email"),
}


@dataclass(frozen=True, slots=True)
class _Engine:
    name: str
    own: bool  # the host pattern bears the engine's name (google.{} for Google): a search whatever the path
    path: str  # a path prefix the URL pattern has ('' for none)
    params: tuple[str, ...]
    param_patterns: tuple[re.Pattern[str], ...]
    hidden: tuple[re.Pattern[str], ...]


def _regex(text: str) -> re.Pattern[str] | None:
    """Matomo writes regexes as ``'/.../'``; None for a plain name (or a pattern Python refuses)."""
    if len(text) >= 2 and text.startswith("/") and text.endswith("/"):
        try:
            return re.compile(text[1:-1])
        except re.error:
            return None
    return None


def _split_pattern(url: str) -> tuple[str, str]:
    host, _, path = url.strip().lower().partition("/")
    return host.removeprefix("www."), ("/" + path if path else "")


class _Lists:
    """The lists, loaded once."""

    def __init__(self) -> None:
        # host pattern (``google.{}``, ``{}.bing.com``, ``duckduckgo.com``) -> engines listed there
        self.engines: dict[str, list[_Engine]] = {}
        self.hosts: dict[str, list[tuple[str, KnownSource]]] = {}  # host -> [(path prefix, source)]
        self.names: dict[str, KnownSource] = {}
        self._load_search(_load_yaml("matomo_SearchEngines.yml"))
        for file, category in (("matomo_AIAssistants.yml", "ai"), ("matomo_Socials.yml", "social")):
            for name, urls in (_load_yaml(file) or {}).items():
                for url in urls or ():
                    self._add_host(str(url), KnownSource(str(name), category))
        for host, (name, category) in _OWN_HOSTS.items():
            # Ours first: GA4 calls YouTube video, which Matomo lists as social.
            self.hosts.setdefault(host, []).insert(0, ("", KnownSource(name, category)))
            self.names.setdefault(name.lower(), KnownSource(name, category))
        for word, (name, category) in _OWN_NAMES.items():
            self.names[word] = KnownSource(name, category)
        # "Yahoo!" is utm_source=yahoo; "Hacker News" hackernews.
        for word, source in list(self.names.items()):
            self.names.setdefault(_bare(word), source)
        self.spam = frozenset(
            line.strip().lower()
            for line in (DATA / "matomo_referrer_spam.txt").read_text().splitlines()
            if line.strip()
        )

    def _add_host(self, url: str, source: KnownSource) -> None:
        host, path = _split_pattern(url)
        self.hosts.setdefault(host, []).append((path, source))
        # A social network's or assistant's name wins over a search engine of the same name
        # (Facebook's own search is listed as an engine).
        if self.names.get(source.name.lower(), source).category == "search":
            self.names[source.name.lower()] = source
        self.names.setdefault(source.name.lower(), source)

    def _load_search(self, data: Any) -> None:
        for name, configs in (data or {}).items():
            for config in configs or ():
                params = [str(p) for p in config.get("params") or ()]
                hidden = [
                    _regex(str(h)) or re.compile(re.escape(str(h)) + r"\Z") for h in config.get("hiddenkeyword") or ()
                ]
                patterns = tuple(p for p in (_regex(p) for p in params) if p is not None)
                plain = tuple(p for p in params if _regex(p) is None and not p.startswith("/"))
                word = re.sub(r"[^a-z0-9]", "", str(name).lower())
                for url in config.get("urls") or ():
                    host, path = _split_pattern(str(url))
                    own = bool(word) and word in host.replace("-", "")
                    engine = _Engine(str(name), own, path, plain, patterns, tuple(hidden))
                    self.engines.setdefault(host, []).append(engine)
                self.names.setdefault(str(name).lower(), KnownSource(str(name), "search"))


def _load_yaml(name: str) -> Any:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with (DATA / name).open(encoding="utf-8") as f:
        return yaml.load(f, Loader=loader)  # noqa: S506 - a safe loader, on our own vendored file


def _bare(word: str) -> str:
    return re.sub(r"[^a-z0-9]", "", word)


@cache
def _lists() -> _Lists:
    return _Lists()


def _parents(host: str) -> list[str]:
    """A host (without ``www.``) and the domains above it, for lists that name a site for all its
    subdomains (``l.facebook.com`` is Facebook)."""
    labels = host.split(".")
    return [host] + [".".join(labels[i:]) for i in range(1, len(labels) - 1)]


def _engine_patterns(host: str) -> list[str]:
    """What a host can be listed as in SearchEngines.yml: itself, and Matomo's ``{}`` forms
    (``google.{}`` for ``google.co.uk``, ``{}.bing.com`` for ``de.bing.com``)."""
    from linkback.protocols._refback import _icann_domain  # noqa: PLC0415 - the PSL, loaded once there

    out = [host]
    suffix = _icann_domain(host).partition(".")[2]
    if suffix and host.endswith("." + suffix):
        out.append(host[: -len(suffix)] + "{}")
    labels = host.split(".")
    if len(labels) > 2:
        out.append("{}." + ".".join(labels[1:]))
    return out


def _search_match(engine: _Engine, path: str, query: str) -> bool:
    if engine.path and not path.lower().startswith(engine.path):
        return False
    if engine.own:
        return True
    if query and engine.params:
        keys = {k for k, _ in parse_qsl(query, keep_blank_values=True)}
        if any(p in keys for p in engine.params):
            return True
    target = path + ("?" + query if query else "")
    if any(p.search(target) for p in engine.param_patterns):
        return True
    return any(h.match(path) or h.match(target) for h in engine.hidden)


@lru_cache(maxsize=1 << 16)
def known_host(host: str, path: str = "/", query: str = "") -> KnownSource | None:
    """The listed source a referrer from ``host`` (lower case; an Android app's package name
    works too), at ``path`` with ``query``, belongs to; None for any other site."""
    lists = _lists()
    host = host.lower().rstrip(".").removeprefix("www.")
    for key in _parents(host):
        for prefix, source in lists.hosts.get(key, ()):
            if not prefix or path.lower().startswith(prefix):
                return source
    for key in _engine_patterns(host):
        for engine in lists.engines.get(key, ()):
            if _search_match(engine, path or "/", query):
                return KnownSource(engine.name, "search")
    return None


@lru_cache(maxsize=1 << 14)
def known_name(text: str) -> KnownSource | None:
    """The listed source a ``utm_source`` value names: a list name (``google``, ``Facebook``)
    or a listed host (``facebook.com``, ``m.facebook.com``); None otherwise."""
    word = text.strip().lower()
    if not word:
        return None
    names = _lists().names
    found = names.get(word) or names.get(_bare(word))
    if found is not None:
        return found
    if "." in word and " " not in word:
        host, _, path = word.partition("/")
        return known_host(host, "/" + path, "q=") if host else None
    return None


@lru_cache(maxsize=1 << 16)
def is_spam_host(host: str) -> bool:
    """Whether ``host`` or a domain above it is on the referrer-spam list."""
    spam = _lists().spam
    host = host.lower().rstrip(".")
    while True:
        if host in spam:
            return True
        dot = host.find(".")
        if dot < 0:
            return False
        host = host[dot + 1 :]


# --------------------------------------------------------------------------- bots


class _Bots:
    """The crawler patterns: most are plain text, found through an index of one 3-character piece
    of each (the piece least common in browsers' User-Agents); the few real regexes are tried
    together. One User-Agent costs tens of microseconds; :func:`is_bot` caches them."""

    _BROWSER = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
        "Safari/537.36 Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Version/17.1 Mobile/15E148 (X11; Linux "
        "x86_64; rv:109.0) Gecko/20100101 Firefox/115.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) (Linux; Android)"
    )

    def __init__(self) -> None:
        entries = json.loads((DATA / "crawler_user_agents.json").read_text(encoding="utf-8"))
        self.patterns = [str(e["pattern"]) for e in entries]
        literal: list[str] = []
        regexes: list[str] = []
        for pattern in self.patterns:
            plain = _literal(pattern)
            (literal if plain is not None and len(plain) >= 3 else regexes).append(plain or pattern)
        browser = self._BROWSER
        index: dict[str, list[tuple[str, int]]] = {}
        for text in literal:
            best = min(range(len(text) - 2), key=lambda i: (browser.count(text[i : i + 3]), i))
            index.setdefault(text[best : best + 3], []).append((text, best))
        self.index = index
        self.regex = re.compile("|".join(f"(?:{r})" for r in regexes)) if regexes else None

    def match(self, agent: str) -> bool:
        get = self.index.get
        for i in range(len(agent) - 2):
            found = get(agent[i : i + 3])
            if found:
                for text, offset in found:
                    if agent.startswith(text, i - offset):
                        return True
        return self.regex is not None and self.regex.search(agent) is not None


_PLAIN_ESCAPE = re.compile(r"\\(.)")


def _literal(pattern: str) -> str | None:
    """The text a pattern matches when it is plain text (escapes of punctuation allowed)."""
    if any(c in ".^$*+?{}[]|()" for c in _PLAIN_ESCAPE.sub("", pattern)):
        return None
    if any(m.group(1).isalnum() for m in _PLAIN_ESCAPE.finditer(pattern)):
        return None
    return _PLAIN_ESCAPE.sub(r"\1", pattern)


@cache
def _bots() -> _Bots:
    return _Bots()


_BOT_CACHE: dict[str, bool] = {}


def is_bot(agent: str) -> bool:
    """Whether ``agent`` is a crawler's User-Agent (by the crawler-user-agents patterns) or empty
    (browsers always send one)."""
    found = _BOT_CACHE.get(agent)
    if found is None:
        if len(_BOT_CACHE) > 200_000:
            _BOT_CACHE.clear()
        found = _BOT_CACHE[agent] = not agent.strip() or _bots().match(agent)
    return found


def crawler_patterns() -> list[str]:
    """The crawler patterns as vendored (for tests)."""
    return list(_bots().patterns)
