"""linkback's one URL layer (DESIGN §1.5): resolve links as a browser does, group hosts into sites.

* :func:`resolve` turns an ``href`` found in a page into the stored form, with WHATWG URL parsing
  (ada-url, called through its C API, because it runs ~150 times a page on the extraction hot path).
* :func:`normalize` does the same for an absolute URL a user or a source record gives, and raises.
* :func:`split_host` and friends group hosts by the bundled Public Suffix List.
* :func:`parse_target` reads a report's TARGET argument.

**Stored form.** Exactly the WHATWG ``href`` (scheme and host lower-cased, default port dropped,
IDN hosts as punycode, dot segments removed, unsafe characters percent-encoded) with the fragment
dropped. Only ``http`` and ``https`` URLs are stored. A stored URL is pure ASCII.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from ada_url._ada_wrapper import ffi, lib
from publicsuffixlist import PublicSuffixList

from linkback.errors import TargetError, URLError

__all__ = [
    "MAX_URL_LENGTH",
    "HostParts",
    "Target",
    "host_of",
    "normalize",
    "parse_target",
    "registrable_domain",
    "registrable_domain_or_none",
    "resolve",
    "reverse_host",
    "split_host",
]

#: Longest stored URL, in characters (a stored URL is ASCII, so also bytes). Longer ones are
#: refused with reason ``"url_too_long"``.
MAX_URL_LENGTH = 8192

PSL_PATH = Path(__file__).resolve().parent / "data" / "public_suffix_list.dat"

# ada's C API, bound once: the Python wrapper (ada_url.URL / join_url) adds an ffi.gc finaliser
# and several attribute lookups per call, which cost more than the parse itself.
_parse = lib.ada_parse
_parse_with_base = lib.ada_parse_with_base
_is_valid = lib.ada_is_valid
_free = lib.ada_free
_get_href = lib.ada_get_href
_string = ffi.string

_SCHEME = re.compile(r"[\x00-\x20]*([A-Za-z][A-Za-z0-9+.\-]*):")
_TAB_NEWLINE = str.maketrans("", "", "\t\n\r")
_C0_SPACE = "".join(map(chr, range(0x21)))

# The "last base" cache: a page resolves all its links against one base, so encode it once, and
# parse it once to know whether it is valid: an href that starts with "http://" or "https://" then
# parses the same without it (WHATWG: "//" after a special scheme goes to the authority whatever
# the base), and ada parses the base again on every call given one.
_last_base: tuple[str, bytes, bool] = ("", b"", False)


def _usv(text: str) -> str:
    """Lone surrogates become U+FFFD, as a browser's USVString conversion does."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def resolve(href: str, base: str, encoding: str = "utf-8") -> tuple[str, str]:
    """Resolve ``href`` found in a page exactly as a browser does, against ``base``.

    ``base`` is the page's final URL or its ``<base href>`` (already absolute); ``""`` means
    "no base" (``href`` must then be absolute). ``encoding`` is the page's character encoding
    (a WHATWG label such as ``"windows-1252"`` or ``"Shift_JIS"``): per WHATWG, the query of a
    link in a non-UTF-8 page is percent-encoded in that encoding.

    Returns ``(stored_url, "")``, or ``("", reason)`` with reason ``"non_http_scheme"``
    (javascript:, mailto:, data:, tel:, ftp: ...), ``"invalid_url"`` or ``"url_too_long"``.
    Never raises; an unparsable ``base`` makes every href "invalid_url".

    >>> resolve("../b?q=1#top", "https://Example.COM:443/a/c")
    ('https://example.com/b?q=1', '')
    >>> resolve("mailto:me@example.com", "https://example.com/")
    ('', 'non_http_scheme')
    """
    global _last_base
    if len(href) > MAX_URL_LENGTH:
        # Don't hand megabytes (inline data: URLs) to the parser: the scheme alone decides.
        m = _SCHEME.match(href)
        if m is not None and m.group(1).lower() not in ("http", "https"):
            return "", "non_http_scheme"
        return "", "url_too_long"
    try:
        hb = href.encode()
    except UnicodeEncodeError:
        hb = _usv(href).encode()
    if base:
        last = _last_base
        if last[0] is not base and last[0] != base:
            try:
                bb = base.encode()
            except UnicodeEncodeError:
                bb = _usv(base).encode()
            b = _parse(bb, len(bb))
            try:
                last = _last_base = (base, bb, bool(_is_valid(b)))
            finally:
                _free(b)
        if last[2] and hb.startswith((b"http://", b"https://")):
            u = _parse(hb, len(hb))
        else:
            bb = last[1]
            u = _parse_with_base(hb, len(hb), bb, len(bb))
    else:
        u = _parse(hb, len(hb))
    try:
        # An invalid result has an empty href; a valid one never does. A valid href never
        # holds a NUL (it is percent-encoded), so ffi.string copies all of it.
        s = _get_href(u)
        n = s.length
        data = _string(s.data, n) if n else b""
    finally:
        _free(u)
    if not n:
        return "", "invalid_url"
    # The parser lower-cases the scheme; http(s) hrefs always have "//" after it.
    if data[:7] != b"http://" and data[:8] != b"https://":
        return "", "non_http_scheme"
    # In an http(s) href every "#" but the fragment's is percent-encoded.
    cut = data.find(b"#")
    if cut >= 0:
        data = data[:cut]
    if len(data) > MAX_URL_LENGTH:
        return "", "url_too_long"
    url = data.decode("ascii")
    if encoding == "utf-8" or encoding == "UTF-8" or encoding == "utf8":
        return url, ""
    return _requery(url, href, encoding)


def _requery(url: str, href: str, encoding: str) -> tuple[str, str]:
    """Re-encode the query ``href`` gave ``url`` in a non-UTF-8 page's ``encoding``."""
    search_start = url.find("?")  # in an http(s) href every other "?" is percent-encoded
    if search_start < 0:
        return url, ""
    codec = _query_codec(encoding)
    if codec is None or (href.isascii() and codec not in _REFUSED):
        return url, ""  # ASCII encodes the same in every encoding, with the noted exceptions
    query = _raw_query(href)
    if query is None or (query.isascii() and not any(c in _REFUSED.get(codec, ()) for c in query)):
        return url, ""  # the query came from the base, or UTF-8 and ``codec`` agree
    url = url[:search_start] + "?" + _encode_query(query, codec)
    if len(url) > MAX_URL_LENGTH:
        return "", "url_too_long"
    return url, ""


def normalize(url: str) -> str:
    """Parse an absolute URL given by a user or a source record into the stored form.

    Raises :class:`~linkback.errors.URLError` naming what is wrong.

    >>> normalize("HTTP://www.Example.com:80/a/./b/../c#frag")
    'http://www.example.com/a/c'
    """
    if not isinstance(url, str):
        raise URLError(f"a URL must be text, not {type(url).__name__}", url=str(url))
    text = url.strip(_C0_SPACE)
    if not text:
        raise URLError("empty URL", url=url)
    stored, reason = resolve(text, "")
    if not reason:
        return stored
    if reason == "url_too_long":
        raise URLError(f"URL longer than {MAX_URL_LENGTH} characters", url=url)
    m = _SCHEME.match(text)
    if reason == "non_http_scheme":
        scheme = m.group(1).lower() if m else "?"
        raise URLError(f"{scheme}: URL, only http and https URLs are accepted: {url!r}", url=url)
    if m is None or text[m.end() : m.end() + 2] != "//":
        if "://" not in text and resolve("http://" + text, "")[1] == "":
            raise URLError(
                f"not an absolute URL (no scheme): {url!r}; did you mean 'https://{text}'?",
                url=url,
            )
        raise URLError(f"not an absolute http(s) URL: {url!r}", url=url)
    raise URLError(f"not a valid URL (WHATWG URL parsing fails): {url!r}", url=url)


# --- query encoding for non-UTF-8 pages ------------------------------------------------------

# WHATWG encoding labels -> Python codecs, for the encodings whose names differ. Anything else
# goes through codecs.lookup(); an unknown label is treated as UTF-8 (the spec's fallback).
_LABELS = {
    # "get an output encoding": UTF-16 and replacement encode URLs as UTF-8
    "utf-16": None,
    "utf-16le": None,
    "utf-16be": None,
    "unicode": None,
    "replacement": None,
    "utf-8": None,
    "utf8": None,
    "unicode-1-1-utf-8": None,
    "x-user-defined": None,
    # windows-1252 takes the Latin-1 and ASCII labels
    "ascii": "cp1252",
    "us-ascii": "cp1252",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "latin1": "cp1252",
    "l1": "cp1252",
    "cp819": "cp1252",
    "ibm819": "cp1252",
    "iso-ir-100": "cp1252",
    "x-cp1252": "cp1252",
    "windows-1252": "cp1252",
    # windows-1254 takes Latin-5, windows-874 takes TIS-620
    "iso-8859-9": "cp1254",
    "latin5": "cp1254",
    "l5": "cp1254",
    "windows-1254": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "windows-874": "cp874",
    # CJK: WHATWG's encoders are the Microsoft supersets
    "shift_jis": "shift_jis",
    "sjis": "shift_jis",
    "ms932": "shift_jis",
    "windows-31j": "shift_jis",
    "x-sjis": "shift_jis",
    "csshiftjis": "shift_jis",
    "ms_kanji": "shift_jis",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "windows-949": "cp949",
    "korean": "cp949",
    "gb2312": "gbk",
    "gbk": "gbk",
    "x-gbk": "gbk",
    "chinese": "gbk",
    "csgb2312": "gbk",
    "gb18030": "gb18030",
    "big5": "big5",
    "big5-hkscs": "big5",
    "cn-big5": "big5",
    "x-x-big5": "big5",
    "iso-2022-jp": "iso2022_jp",
    "csiso2022jp": "iso2022_jp",
    "euc-jp": "euc_jp",
    "x-euc-jp": "euc_jp",
}
# A second codec tried for a character the first cannot encode (WHATWG Shift_JIS includes the
# NEC/IBM rows of Windows-31J, which Python's shift_jis lacks).
_FALLBACK = {"shift_jis": "cp932", "big5": "big5hkscs"}
# Code points the WHATWG encoder refuses although Python's codec encodes them: ch -> number
# written into the "&#N;" error form.
_REFUSED = {
    "iso2022_jp": {"\x0e": 0xFFFD, "\x0f": 0xFFFD, "\x1b": 0xFFFD},
    "gb18030": {"\ue5e5": 0xE5E5},
    "gbk": {"\ue5e5": 0xE5E5},
}
# The special-query percent-encode set: C0 controls, space, " # < > ' and everything >= 0x7F.
_QUERY_BYTE = [f"%{b:02X}" if b < 0x21 or b > 0x7E or b in b"\"#<>'" else chr(b) for b in range(256)]


@lru_cache(maxsize=64)
def _query_codec(label: str) -> str | None:
    """The Python codec for a WHATWG encoding label, or None when URLs use UTF-8."""
    key = label.strip().lower()
    if key in _LABELS:
        return _LABELS[key]
    try:
        name = codecs.lookup(key).name
    except LookupError:
        return None
    return None if name.startswith(("utf-8", "utf-16", "utf-32")) else name


def _raw_query(href: str) -> str | None:
    """The query an href contributes, as the URL parser sees it (None when it has none)."""
    text = href.strip(_C0_SPACE).translate(_TAB_NEWLINE)
    hash_at = text.find("#")
    if hash_at >= 0:
        text = text[:hash_at]
    q = text.find("?")
    return None if q < 0 else text[q + 1 :]


def _encode_query(query: str, codec: str) -> str:
    """WHATWG "percent-encode after encoding" with the special-query set."""
    refused = _REFUSED.get(codec, {})
    if codec == "iso2022_jp":
        return _encode_stateful(query, codec, refused)  # escape sequences span characters
    fallback = _FALLBACK.get(codec)
    out: list[str] = []
    i = 0
    while i < len(query):
        ch = query[i]
        if ch < "\x80" and ch not in refused:
            out.append(_QUERY_BYTE[ord(ch)])
            i += 1
            continue
        j = i + 1
        while j < len(query) and query[j] >= "\x80":
            j += 1
        for ch in query[i:j]:
            if ch in refused:
                out.append(f"%26%23{refused[ch]}%3B")
                continue
            try:
                data = ch.encode(codec)
            except UnicodeEncodeError:
                data = b""
                if fallback is not None:
                    try:
                        data = ch.encode(fallback)
                    except UnicodeEncodeError:
                        pass
                if not data:
                    out.append(f"%26%23{ord(ch)}%3B")
                    continue
            out.append("".join(_QUERY_BYTE[b] for b in data))
        i = j
    return "".join(out)


def _encode_stateful(query: str, codec: str, refused: dict[str, int]) -> str:
    """Encode a whole query with a stateful codec (ISO-2022-JP), errors as ``%26%23N%3B``."""
    out: list[str] = []
    start = 0
    n = len(query)
    pos = 0
    while pos <= n:
        bad = next((k for k in range(pos, n) if query[k] in refused), n)
        chunk = query[start:bad]
        while chunk:
            try:
                data = chunk.encode(codec)
            except UnicodeEncodeError as e:
                out.append("".join(_QUERY_BYTE[b] for b in chunk[: e.start].encode(codec)))
                out.append("".join(f"%26%23{ord(c)}%3B" for c in chunk[e.start : e.end]))
                chunk = chunk[e.end :]
                continue
            out.append("".join(_QUERY_BYTE[b] for b in data))
            break
        if bad < n:
            out.append(f"%26%23{refused[query[bad]]}%3B")
        start = pos = bad + 1
    return "".join(out)


# --- hosts and sites ---------------------------------------------------------------------------


class HostParts(NamedTuple):
    """A host split for grouping: ``split_host("www.example.co.uk")`` is
    ``HostParts("www.example.co.uk", "example.co.uk", "uk.co.example.www", "co.uk")``."""

    host: str
    domain: str  # registrable domain ("site"); the host itself when it has none
    rhost: str  # labels reversed, for prefix scans by site: "uk.co.example.www"
    suffix: str  # public suffix: "co.uk"; "" for IP addresses


_psl: PublicSuffixList | None = None


def _get_psl() -> PublicSuffixList:
    """The bundled Public Suffix List (ICANN and private sections), loaded once."""
    global _psl
    if _psl is None:
        _psl = PublicSuffixList(psl_rules(PSL_PATH.read_text(encoding="utf-8")), accept_unknown=True,
                                accept_encoded_idn=False)  # fmt: skip
    return _psl


def public_url(env: Mapping[str, str] | None = None) -> str:
    """Where people reach this linkback (``LINKBACK_PUBLIC_URL``, no trailing slash), or "" when it
    is not set; ``env`` instead of the process's environment."""
    return (os.environ if env is None else env).get("LINKBACK_PUBLIC_URL", "").strip().rstrip("/")


def psl_rules(text: str) -> list[str]:
    """The rules of a Public Suffix List file, each IDN rule followed by its punycode form: what
    ``PublicSuffixList(accept_encoded_idn=True)`` adds itself, but by IDNA-encoding all 10,000
    rules, ASCII ones included, which cost each command ~40 ms more (stored hosts are punycode)."""
    rules = []
    for line in text.splitlines():
        rule = line.lower().split(" ")[0].rstrip()
        if not rule or rule.startswith("//"):
            continue
        rules.append(rule)
        if not rule.isascii():
            bang = "!" if rule.startswith("!") else ""
            rules.append(bang + rule.lstrip("!").encode("idna").decode("ascii"))
    return rules


_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}\Z")


def is_ip_host(host: str) -> bool:
    """Whether a stored host (lower case; IPv6 in brackets) is an IP address, not a name."""
    return host.startswith("[") or (host[-1:].isdigit() and _IPV4.match(host) is not None)


#: One label of a DNS name as hosts are stored (lower case, punycode): letters, digits, hyphens
#: inside, and the underscore some real hosts have.
_DNS_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


def is_host_name(host: str) -> bool:
    """Whether ``host`` (as the URL parser stores it: lower case, punycode; a trailing dot
    allowed) can be a DNS name or an IP address: the URL parser itself takes ``*.example.org``,
    ``a..b.net`` and ``-x-.com``, which no site has. Every place that keeps a host a person typed
    (a site's profile, a list entry, an imported referring domain) asks this."""
    name = host.removesuffix(".")
    if is_ip_host(name):
        return True
    return 0 < len(name) <= 253 and all(_DNS_LABEL.fullmatch(label) for label in name.split("."))


@lru_cache(maxsize=1 << 16)
def split_host(host: str) -> HostParts:
    """Split a host (as in a stored URL: lower-case, punycode) into :class:`HostParts`.

    * The registrable domain follows the bundled Public Suffix List, ICANN and private sections
      both, with the PSL's default rule ``*`` for unknown TLDs.
    * An IP address (``192.0.2.1``, ``[2001:db8::1]``) is its own domain and rhost; suffix ``""``.
    * A host that is itself a public suffix (``co.uk``, ``github.io``, a single label such as
      ``localhost``) has no registrable domain: its ``domain`` is the host itself.
    * A trailing dot (``example.com.``) is ignored for the domain, suffix and rhost.
    """
    if not host or is_ip_host(host):
        return HostParts(host, host, host, "")
    name = host.rstrip(".").lower()
    psl = _get_psl()
    suffix = psl.publicsuffix(name) or ""
    domain = psl.privatesuffix(name) or name
    return HostParts(host, domain, ".".join(reversed(name.split("."))), suffix)


def registrable_domain(host: str) -> str:
    """The site a host belongs to (``"www.example.co.uk"`` -> ``"example.co.uk"``); a host with
    no registrable domain (an IP, a public suffix) is returned unchanged. See :func:`split_host`."""
    return split_host(host).domain


def registrable_domain_or_none(host: str | None) -> str | None:
    """The registrable domain of ``host`` by the Public Suffix List, or None when it has none
    (a public suffix itself, an empty label, no input) — the PSL test suite's semantics.
    Accepts any case and Unicode (IDN) hosts; the answer is lower-cased in the input's form."""
    if not host or host.startswith(".") or ".." in host:
        return None
    return _get_psl().privatesuffix(host.lower())


def is_public_suffix(host: str) -> bool:
    """Is ``host`` itself on the Public Suffix List (``com``, ``co.uk``, ``github.io``), so no
    site? A name the list does not know (``localhost``, an intranet's ``nas``) is not, though
    the list's default rule ``*`` splits it like a TLD: such a host is a site of its own."""
    name = host.rstrip(".").lower()
    return bool(name) and not is_ip_host(name) and _get_psl().publicsuffix(name, accept_unknown=False) == name


def reverse_host(host: str) -> str:
    """``"www.example.com"`` -> ``"com.example.www"``; an IP address is returned unchanged."""
    return split_host(host).rhost


def host_of(url: str) -> str:
    """The host of a stored URL (``"https://u@www.example.com:8080/x"`` -> ``"www.example.com"``).

    Only for stored URLs (from :func:`resolve`/:func:`normalize`); it does not parse."""
    i = url.find("://") + 3
    j = url.find("/", i)
    hostport = url[i:] if j < 0 else url[i:j]
    at = hostport.rfind("@")
    if at >= 0:
        hostport = hostport[at + 1 :]
    if hostport.startswith("["):
        return hostport[: hostport.find("]") + 1]
    colon = hostport.find(":")
    return hostport if colon < 0 else hostport[:colon]


# --- report targets ----------------------------------------------------------------------------

_HOST_CHARS = re.compile(r"[a-z0-9_\-]+(?:\.[a-z0-9_\-]+)*\.?\Z")


@dataclass(frozen=True, slots=True)
class Target:
    """What a report is about.

    * ``kind="domain"``: a registrable domain and all its hosts; ``value`` is the domain.
    * ``kind="host"``: one host exactly; ``value`` is the host.
    * ``kind="url_prefix"``: every URL that starts with ``value``. With a scheme
      (``"https://example.com/blog"``) ``value`` is a stored-form URL; without one
      (``"example.com/blog"``) ``value`` has no scheme and matches http and https alike —
      see :meth:`prefixes`.

    ``domain`` and ``rhost`` are those of the target's host (:func:`split_host`).
    """

    kind: str
    value: str
    domain: str
    rhost: str

    def prefixes(self) -> tuple[str, ...]:
        """The stored-URL prefixes a ``url_prefix`` target matches (both schemes when it has
        none); ``()`` for domain and host targets."""
        if self.kind != "url_prefix":
            return ()
        if "://" in self.value:
            return (self.value,)
        return ("http://" + self.value, "https://" + self.value)


def parse_target(text: str) -> Target:
    """Read a report's TARGET argument.

    * ``"example.com"`` (a registrable domain) -> ``Target("domain", "example.com", ...)``
    * ``"www.example.com"``, ``"blog.example.co.uk"``, an IP, a name the Public Suffix List does
      not know (``"localhost"``, an intranet's ``"nas"``) -> ``Target("host", ...)``
    * anything with ``"://"`` -> ``Target("url_prefix", <stored form>, ...)`` (http/https only)
    * a bare ``"example.com/blog"`` -> ``Target("url_prefix", "example.com/blog", ...)``,
      matching both ``http://`` and ``https://``.

    Hosts are lower-cased and IDNs given as punycode; a domain's or host's trailing dot is dropped
    (``"example.com."`` is ``"example.com"``). Raises
    :class:`~linkback.errors.TargetError` for anything else, a public suffix (``co.uk``) included.
    """
    raw = text.strip() if isinstance(text, str) else ""
    if not raw:
        raise TargetError("empty TARGET: give a domain, a host or a URL prefix")
    if any(c.isspace() for c in raw.split("://", 1)[-1].split("/", 1)[0]):
        raise TargetError(f"TARGET {text!r} has whitespace in its host: give a domain, host or URL")
    if "://" in raw:
        try:
            url = normalize(raw)
        except URLError as e:
            raise TargetError(f"TARGET {text!r} is not a usable URL prefix: {e}") from None
        parts = split_host(host_of(url))
        return Target("url_prefix", url, parts.domain, parts.rhost)
    slash = raw.find("/")
    url, reason = resolve("http://" + raw, "")
    if reason:
        raise TargetError(
            f"TARGET {text!r} is not a domain, host or URL prefix" + (" (too long)" if reason == "url_too_long" else "")
        )
    host = host_of(url)
    if "@" in url.split("/", 3)[2] or (slash < 0 and url != f"http://{host}/"):
        raise TargetError(
            f"TARGET {text!r} is not a domain or host; "
            "for a port, user or query give a URL prefix with its scheme, like http://host:8080/"
        )
    if not (is_ip_host(host) or _HOST_CHARS.match(host)):
        raise TargetError(f"TARGET {text!r}: {host!r} is not a valid host name")
    parts = split_host(host)
    if slash >= 0:
        return Target("url_prefix", url[len("http://") :], parts.domain, parts.rhost)
    # "example.com." names the same host as "example.com" (DNS's fully qualified spelling): one
    # value for both, so a report given both counts one target and reads it as a domain alike.
    host = host.removesuffix(".")
    if is_ip_host(host):
        return Target("host", host, parts.domain, parts.rhost)
    if is_public_suffix(host):
        raise TargetError(
            f"TARGET {text!r} is a public suffix, not a site: give a domain under it, like example.{parts.suffix}"
        )
    if host == parts.domain and parts.suffix != host.rstrip("."):
        return Target("domain", host, parts.domain, parts.rhost)
    return Target("host", host, parts.domain, parts.rhost)
