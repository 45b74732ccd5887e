"""Disavow files in Google's syntax (issue #3): write one from the toxic set and the deny list, and
check an existing one line by line.

Google's rules (Search Console help 2648487 and the 2012 launch post, as quoted in
``shared/specs/backlink-tools.md`` §3):

* one URL or one ``domain:`` line per line; ``domain:example.com`` disavows that domain or
  subdomain (and, per John Mueller, its subdomains); a subpath (``example.com/en/``) cannot be
  disavowed;
* lines starting with ``#`` are comments;
* UTF-8 or 7-bit ASCII; the file name ends in ``.txt``;
* at most :data:`MAX_URL_CHARS` characters per URL, :data:`MAX_LINES` lines (blank and comment
  lines included) and :data:`MAX_BYTES` bytes.

**IDN hosts are written as punycode** (``domain:xn--bcher-kva.de``). The spec notes show no
non-ASCII example either way; punycode is how linkback stores hosts, it keeps the entries 7-bit
ASCII (valid under both encodings Google accepts), and it is the host as it appears on the wire.
:func:`check_disavow` accepts Unicode hosts too (and treats both spellings as the same host).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from linkback.errors import LinkbackError, URLError
from linkback.urls import MAX_URL_LENGTH, host_of, normalize, registrable_domain, registrable_domain_or_none, resolve

__all__ = [
    "DISAVOW_RULES",
    "MAX_BYTES",
    "MAX_LINES",
    "MAX_URL_CHARS",
    "DisavowEntry",
    "DisavowError",
    "DisavowProblem",
    "check_disavow",
    "disavow_entries",
    "write_disavow",
]

#: Largest disavow file Google accepts, in bytes (2 MB).
MAX_BYTES = 2 * 1024 * 1024
#: Most lines Google accepts, blank and comment lines included.
MAX_LINES = 100_000
#: Longest URL Google accepts, in characters.
MAX_URL_CHARS = 2048

#: Every rule :func:`check_disavow` reports, with its severity. Errors break Google's documented
#: rules (the line, or the file, is refused or does not do what it says); warnings are accepted
#: by Google but probably not what the author meant.
DISAVOW_RULES = {
    "not-utf8": "error",
    "too-large": "error",
    "too-many-lines": "error",
    "not-txt": "error",
    "bad-line": "error",
    "bad-domain": "error",
    "bad-url": "error",
    "url-too-long": "error",
    "duplicate": "warning",
    "covered-by-domain": "warning",
    "www-domain": "warning",
    "public-suffix": "warning",
    "inline-comment": "warning",
    "whitespace": "warning",
    "bom": "warning",
    "no-entries": "warning",
}


class DisavowError(LinkbackError, ValueError):
    """A disavow file cannot be written: a limit would be exceeded or an entry is unusable.

    ``limit`` names the limit (``"bytes"``, ``"lines"``, ``"url_chars"``) or is ``""`` for a bad
    entry; ``size`` and ``maximum`` are the offending size and the limit."""

    def __init__(self, message: str, *, limit: str = "", size: int = 0, maximum: int = 0) -> None:
        self.limit = limit
        self.size = size
        self.maximum = maximum
        super().__init__(message)


class DisavowProblem(NamedTuple):
    """One thing wrong with a disavow file: ``line`` is 1-based (None for the whole file), ``rule``
    a key of :data:`DISAVOW_RULES`, ``severity`` ``"error"`` or ``"warning"``."""

    line: int | None
    rule: str
    message: str
    severity: str = "error"


@dataclass(frozen=True, slots=True)
class DisavowEntry:
    """One disavowed domain or URL: ``kind`` is ``"domain"`` or ``"url"``; ``value`` the host
    (lower case, punycode, no trailing dot) or the URL (linkback's stored form); ``reason`` the
    comment written above it (``""`` for none)."""

    kind: str
    value: str
    reason: str = ""

    @property
    def line(self) -> str:
        """The entry as a line of the file: ``domain:example.com`` or the URL."""
        return "domain:" + self.value if self.kind == "domain" else self.value


# --- shared host and URL rules -------------------------------------------------------------------

_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)\Z")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}\Z")
_PLAIN = re.compile(r"[A-Za-z0-9._-]+\Z")


def _ip_address(text: str) -> str | None:
    """The IP address ``text`` is, as a URL writes it (``192.0.2.1``, ``[2001:db8::1]``), or None."""
    inner = text[1:-1] if text[:1] == "[" and text[-1:] == "]" else text.removesuffix(".")
    try:
        address = ipaddress.ip_address(inner)
    except ValueError:
        return None
    return f"[{address.compressed}]" if address.version == 6 else address.compressed


def _ip_advice(address: str) -> str:
    """What to write instead of ``domain:`` for the IP address ``address`` (as a URL writes it):
    what ``linkback disavow`` itself writes for a referrer that is an IP address."""
    return (
        "domain: takes only domain names, so Google disavows nothing for it: "
        f"list the URLs of its linking pages instead, one per line (http://{address}/page)"
    )


def _host_problem(text: str) -> tuple[str, str]:
    """``(host, "")`` for a usable ``domain:`` value (lower case, punycode, no trailing dot), or
    ``("", why)``."""
    address = _ip_address(text)
    if address is not None:
        return "", f"an IPv{4 if address[0] != '[' else 6} address; {_ip_advice(address)}"
    if not _PLAIN.match(text):  # the usual ASCII host skips the checks for what went wrong
        if not text:
            return "", "nothing after 'domain:'"
        if text[0].isspace():
            return "", "a space after 'domain:'; write domain:example.com"
        if "://" in text:
            return "", "a scheme after 'domain:'; write only the host, as in domain:example.com"
        if "*" in text:
            return "", "a wildcard; domain:example.com already covers every subdomain"
        if any(c.isspace() for c in text):
            return "", "whitespace in the host"
        if "/" in text:
            return "", "a path after the host; Google cannot disavow a subpath: list its URLs, or disavow the domain"
        if text.startswith("[") or text.count(":") > 1:
            # A bare address was caught above: this is one with a port, a typo or the like.
            return "", "not a bare IPv6 address; domain: takes only domain names: list the address's URLs instead"
        if any(c in text for c in ":@?#\\"):
            return "", "not a bare host (a port, user, query or fragment)"
    url, reason = resolve("http://" + text, "")
    if reason:
        return "", "not a valid host name"
    host = host_of(url).rstrip(".")
    if _IPV4.match(host):
        # The URL parser reads "3.14" or "0x7f.1" as an IPv4 address; a plain one was refused above.
        return "", f"not a valid host name (a URL reads it as the IP address {host})"
    if len(host) > 253 or not all(map(_LABEL.match, host.split("."))):
        return "", "not a valid host name (each label 1-63 letters, digits or hyphens)"
    return host, ""


def _covering(host: str, domains: dict[str, int] | set[str]) -> str | None:
    """The host itself or the nearest parent domain of ``host`` that is in ``domains``."""
    name = host
    while True:
        if name in domains:
            return name
        dot = name.find(".")
        if dot < 0:
            return None
        name = name[dot + 1 :]


def _comment(text: str) -> list[str]:
    """``text`` as comment lines: one per line of it, control characters dropped."""
    out = []
    for part in str(text).splitlines() or [""]:
        part = "".join(c if c.isprintable() or c == "\t" else " " for c in part).strip()
        out.append(part if part.startswith("#") else ("# " + part if part else "#"))
    return out


# --- writing -------------------------------------------------------------------------------------


def disavow_entries(
    domains: Iterable[tuple[str, str]], urls: Iterable[tuple[str, str]], *, skipped: list[str] | None = None
) -> list[DisavowEntry]:
    """The entries :func:`write_disavow` writes, in its order.

    Hosts and URLs are normalised (lower case, punycode; :func:`linkback.urls.normalize`) and
    de-duplicated, an entry given twice keeps its distinct reasons joined by ``"; "``; a domain
    under another listed domain and a URL on a listed domain (or under it) are dropped. Domains
    come first, each group sorted by (reason, value) so one comment heads each reason.

    Raises :class:`DisavowError` for a domain that is not a bare host name (an IP address is not:
    ``domain:`` takes only domain names, list its URLs instead) or a URL that is not an
    absolute http(s) URL of at most :data:`MAX_URL_CHARS` characters; given a ``skipped`` list,
    appends why to it instead and leaves that entry out.
    """
    reasons: dict[tuple[str, str], list[str]] = {}

    def refuse(error: DisavowError, reason: str) -> None:
        if skipped is None:
            raise error
        skipped.append(f"{error}" + (f" ({' '.join(str(reason).split())})" if reason else ""))

    def add(kind: str, value: str, reason: str) -> None:
        seen = reasons.setdefault((kind, value), [])
        reason = " ".join(str(reason or "").split())
        if reason and reason not in seen:
            seen.append(reason)

    for raw, reason in domains:
        text = str(raw).strip()
        if text[:7].lower() == "domain:":
            text = text[7:]
        host, why = _host_problem(text)
        if not why and registrable_domain_or_none(host) is None:
            why = "a public suffix, not a site: that would disavow every site under it"
        if why:
            refuse(DisavowError(f"cannot disavow domain {raw!r}: {why}"), reason)
            continue
        add("domain", host, reason)
    for raw, reason in urls:
        try:
            url = normalize(str(raw))
        except URLError as e:
            refuse(DisavowError(f"cannot disavow URL {raw!r}: {e}"), reason)
            continue
        if len(url) > MAX_URL_CHARS:
            too_long = DisavowError(
                f"cannot disavow URL {url[:80]!r}...: {len(url):,} characters, {len(url) - MAX_URL_CHARS:,} over "
                f"Google's {MAX_URL_CHARS:,}-character limit; disavow its domain instead",
                limit="url_chars",
                size=len(url),
                maximum=MAX_URL_CHARS,
            )
            refuse(too_long, reason)
            continue
        add("url", url, reason)

    domain_set = {value for kind, value in reasons if kind == "domain"}
    entries = []
    for (kind, value), given in reasons.items():
        if kind == "domain":
            parent = value.split(".", 1)[1] if "." in value else ""
            if parent and _covering(parent, domain_set):
                continue
        elif _covering(host_of(value).rstrip("."), domain_set):
            continue
        entries.append(DisavowEntry(kind, value, "; ".join(given)))
    entries.sort(key=lambda e: (e.kind != "domain", e.reason, e.value))
    return entries


def write_disavow(
    domains: Iterable[tuple[str, str]],
    urls: Iterable[tuple[str, str]],
    *,
    header: Sequence[str] = (),
    skip_unusable: bool = False,
) -> str:
    """A disavow file in Google's syntax, as text to write UTF-8 encoded.

    ``domains`` are ``(host, reason)`` pairs (a leading ``domain:`` is accepted), ``urls`` are
    ``(url, reason)`` pairs; see :func:`disavow_entries` for how they are normalised, merged,
    pruned and ordered. ``header`` lines come first, as comments, then a blank line; then the
    entries in groups of one kind and reason, each headed by ``# reason``, or by a blank line when
    the reason is empty. The text ends with a newline (it is ``""`` when there is nothing to
    write).

    >>> print(write_disavow([("Spam.example", "link farm")], [("http://spam.example/a", "")]), end="")
    # link farm
    domain:spam.example

    Raises :class:`DisavowError` for an unusable entry (with ``skip_unusable``, leaves it out and
    says so in comments under the header, with a count, instead), or when the file would have
    more than :data:`MAX_LINES` lines or :data:`MAX_BYTES` bytes (``limit``, ``size`` and
    ``maximum`` say which and by how much).
    """
    lines: list[str] = []
    for text in header:
        lines.extend(_comment(text))
    skipped: list[str] | None = [] if skip_unusable else None
    entries = disavow_entries(domains, urls, skipped=skipped)
    if skipped:
        count = f"{len(skipped)} entr{'y' if len(skipped) == 1 else 'ies'}"
        lines.extend(_comment(f"skipped {count} not writable in Google's syntax:"))
        for why in skipped:
            lines.extend(_comment(f"- {why}"))
    last = None
    for entry in entries:
        if (entry.kind, entry.reason) != last:
            # Blank lines only where a comment would otherwise seem to cover the wrong entries
            # (after the header, before entries without a reason): blank lines count towards
            # Google's line limit, and reasons are often one per domain.
            if lines and (last is None or not entry.reason):
                lines.append("")
            if entry.reason:
                lines.extend(_comment(entry.reason))
            last = (entry.kind, entry.reason)
        lines.append(entry.line)
    if not lines:
        return ""
    text = "\n".join(lines) + "\n"
    size = len(text.encode("utf-8"))
    over = []  # (limit, size, maximum, description)
    if len(lines) > MAX_LINES:
        n = len(lines)
        over.append(("lines", n, MAX_LINES, f"{n:,} lines, {n - MAX_LINES:,} over the {MAX_LINES:,}-line limit"))
    if size > MAX_BYTES:
        over.append(
            ("bytes", size, MAX_BYTES, f"{size:,} bytes, {size - MAX_BYTES:,} over the {MAX_BYTES:,}-byte limit")
        )
    if over:
        raise DisavowError(
            "the disavow file would have "
            + " and ".join(o[3] for o in over)
            + " of a disavow file; disavow whole domains instead of URLs, or drop the comments",
            limit=over[0][0],
            size=over[0][1],
            maximum=over[0][2],
        )
    return text


# --- checking ------------------------------------------------------------------------------------

_INLINE_COMMENT = re.compile(r"\s#")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def check_disavow(data: bytes, *, filename: str | None = None) -> list[DisavowProblem]:
    """Check a disavow file against Google's rules; ``[]`` when it is clean.

    Returns the problems sorted by line (whole-file problems, line None, first), each with a
    stable rule id from :data:`DISAVOW_RULES` and a message saying what to change. ``filename``,
    when given, is checked for the ``.txt`` ending. Never raises on any input.

    Errors: ``not-utf8`` (a line that is not UTF-8, or a UTF-16 file), ``too-large`` (over
    :data:`MAX_BYTES`), ``too-many-lines`` (reported on line :data:`MAX_LINES` + 1), ``not-txt``,
    ``bad-line`` (neither a ``domain:`` line nor an http(s) URL, e.g. a bare host), ``bad-domain``
    (scheme, path, port, wildcard, space, an IP address or an invalid host after ``domain:``),
    ``bad-url`` (not a valid absolute http(s) URL), ``url-too-long`` (over :data:`MAX_URL_CHARS`
    characters as written).

    Warnings: ``duplicate`` (the same host or URL again, after normalisation), ``covered-by-domain``
    (a URL or a subdomain already covered by a ``domain:`` line anywhere in the file),
    ``www-domain`` (``domain:www.example.com`` leaves ``example.com`` and its other subdomains
    alone), ``public-suffix`` (``domain:co.uk``), ``inline-comment`` (Google documents only whole-
    line comments: the line may be ignored; the part before `` #`` is checked), ``whitespace``
    (leading or trailing spaces), ``bom`` (a UTF-8 byte order mark), ``no-entries``.
    """
    problems: list[DisavowProblem] = []

    def report(line: int | None, rule: str, message: str) -> None:
        problems.append(DisavowProblem(line, rule, message, DISAVOW_RULES[rule]))

    if filename is not None and not filename.lower().endswith(".txt"):
        report(None, "not-txt", f"the file name {filename!r} must end in .txt")
    if len(data) > MAX_BYTES:
        report(None, "too-large", f"{len(data):,} bytes, {len(data) - MAX_BYTES:,} over the {MAX_BYTES:,}-byte limit")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        report(None, "not-utf8", "the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8")
        return _sorted(problems)
    if data[:3] == b"\xef\xbb\xbf":
        report(1, "bom", "the file starts with a UTF-8 byte order mark; some tools read it as part of line 1")
        data = data[3:]

    raw_lines = data.splitlines()
    if len(raw_lines) > MAX_LINES:
        report(
            MAX_LINES + 1,
            "too-many-lines",
            f"{len(raw_lines):,} lines, {len(raw_lines) - MAX_LINES:,} over the {MAX_LINES:,}-line limit "
            "(blank and comment lines count)",
        )

    domains: dict[str, int] = {}  # host -> first line
    urls: list[tuple[int, str]] = []  # (line, host)
    seen_urls: dict[str, int] = {}
    for number, raw in enumerate(raw_lines, 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            report(
                number, "not-utf8", f"byte {e.start + 1} of the line is not UTF-8 (0x{raw[e.start]:02x}); save as UTF-8"
            )
            continue
        content = line.strip()
        if not content or content.startswith("#"):
            continue
        if content != line:
            report(
                number,
                "whitespace",
                "leading or trailing whitespace; Google documents one entry per line, nothing else",
            )
        if _CONTROL.search(content):
            report(number, "bad-line", "a control character in the line; the file must be plain text")
            continue
        m = _INLINE_COMMENT.search(content)
        if m:
            report(
                number,
                "inline-comment",
                "a comment after the entry; put comments on lines of their own, starting with #",
            )
            content = content[: m.start()].rstrip()
        if content.startswith("domain:"):
            host, why = _host_problem(content[7:])
            if why:
                report(number, "bad-domain", f"{content!r}: {why}")
                continue
            if host in domains:
                report(number, "duplicate", f"domain:{host} is already on line {domains[host]}")
                continue
            domains[host] = number
        elif content[:7].lower() == "domain:":
            report(number, "bad-line", f"write the prefix in lower case: domain:{content[7:]}")
        elif content[:7].lower() == "http://" or content[:8].lower() == "https://":
            if len(content) > MAX_URL_CHARS:
                report(
                    number,
                    "url-too-long",
                    f"the URL has {len(content):,} characters, {len(content) - MAX_URL_CHARS:,} over the "
                    f"{MAX_URL_CHARS:,} limit; disavow its domain instead",
                )
                continue
            if any(c.isspace() for c in content):
                report(number, "bad-url", "whitespace inside the URL; one URL per line, spaces encoded as %20")
                continue
            url, reason = resolve(content, "")
            if reason == "url_too_long":
                report(number, "bad-url", f"the URL is over {MAX_URL_LENGTH:,} characters once percent-encoded")
                continue
            if reason:
                report(number, "bad-url", f"{content[:100]!r} is not a valid URL")
                continue
            if url in seen_urls:
                report(number, "duplicate", f"the same URL is already on line {seen_urls[url]}")
                continue
            seen_urls[url] = number
            urls.append((number, host_of(url).rstrip(".")))
        else:
            report(number, "bad-line", _bad_line_message(content))

    for host, number in domains.items():
        parent = host.split(".", 1)[1] if "." in host else ""
        cover = _covering(parent, domains) if parent else None
        if cover is not None:
            report(
                number,
                "covered-by-domain",
                f"domain:{host} is already covered by domain:{cover} on line {domains[cover]}",
            )
        elif registrable_domain_or_none(host) is None:
            report(number, "public-suffix", f"{host} is a public suffix, not a site: this disavows every site under it")
        elif host.startswith("www.") and registrable_domain(host) != host:
            report(
                number,
                "www-domain",
                f"domain:{host} covers only that host; write domain:{host[4:]} to cover the whole site",
            )
    for number, host in urls:
        cover = _covering(host, domains)
        if cover is not None:
            report(
                number, "covered-by-domain", f"the URL is already covered by domain:{cover} on line {domains[cover]}"
            )
    if not domains and not urls and not any(p.severity == "error" for p in problems):
        report(None, "no-entries", "no domain: or URL lines: uploading this file disavows nothing")
    return _sorted(problems)


def _bad_line_message(content: str) -> str:
    shown = content if len(content) <= 100 else content[:100] + "..."
    if "://" in content:
        return f"{shown!r}: only http and https URLs can be disavowed"
    head, _, path = content.partition("/")
    host, why = _host_problem(head)
    address = _ip_address(head)
    if address is not None or (not why and "." in host):
        if path.strip("/"):
            url = f"https://{address or head}/{path}"
            return f"{shown!r} has no scheme; write the full URL ({url}) — a subpath cannot be disavowed"
        if address is not None:
            return f"{shown!r} is an IP address; {_ip_advice(address)}"
        return f"{shown!r} is a bare host; write domain:{host} (the whole site) or a full http(s) URL"
    return f"{shown!r} is neither a domain: line, an http(s) URL nor a # comment"


def _sorted(problems: list[DisavowProblem]) -> list[DisavowProblem]:
    return sorted(problems, key=lambda p: -1 if p.line is None else p.line)
