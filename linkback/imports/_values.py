"""One cell of a vendor export into a value: URLs, hosts, numbers, dates, yes/no.

Exports are written by spreadsheets and by vendors in many locales: ``"1,240"`` and ``1.240``
and ``1 240`` are the same count; ``2026-09-15``, ``Sep 15, 2026``, ``15.09.2026`` and
``15/09/2026`` the same day. Each parser returns the value, ``None`` for an empty cell (or a
vendor's "-", "n/a"), or raises :class:`BadValue` saying what it could not read, which becomes
the row's rejection reason. Whether ``05/01/2024`` is the 5th of January or May 1st is decided
once for a whole file (:func:`slashed_date_order`), never cell by cell.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from linkback.errors import URLError
from linkback.urls import host_of, is_host_name, is_public_suffix, normalize, resolve

#: Anchors are cut as extraction cuts them (``ExtractLimits.max_anchor_chars``), so a claimed
#: anchor and an extracted one compare.
MAX_ANCHOR_CHARS = 256
#: Other text kept from a row (titles, notes, labels).
MAX_TEXT_CHARS = 1000

#: Values repeat down a column (dates, DRs, the site's own pages): parsers remember this many.
_CACHE = 1 << 14

#: The largest count kept: the largest integer a JSON reader (metrics are stored as JSON) keeps
#: exactly. No tool counts more of anything; a larger cell is a broken one.
MAX_COUNT = 2**53 - 1

#: What vendors write in a cell that has no value.
_EMPTY = frozenset({"", "-", "--", "—", "–", "n/a", "na", "null", "none", "(none)", "(not set)"})


class BadValue(ValueError):
    """A cell that does not hold what its column says; the message is the rejection reason, and
    ``kind`` that reason without the cell's text (refused rows are counted by it)."""

    def __init__(self, reason: str, kind: str = "") -> None:
        super().__init__(reason)
        self.kind = kind or reason


def empty(text: str | None) -> bool:
    return text is None or text.strip().casefold() in _EMPTY


#: Control characters that are not whitespace (NUL...): no text a page shows holds them.
_CONTROLS = dict.fromkeys(c for c in range(0x20) if not chr(c).isspace()) | {0x7F: None}


def clean_text(text: str | None, limit: int = MAX_TEXT_CHARS) -> str | None:
    """Control characters dropped and whitespace collapsed (as extraction does to anchors), cut to
    ``limit``; None when empty."""
    if text is None:
        return None
    out = " ".join(text.translate(_CONTROLS).split())[:limit]
    return out or None


# --- numbers ---------------------------------------------------------------------------------

_GROUPED = re.compile(r"\d{1,3}(?:([,.\u00a0\u202f' ])\d{3})(?:\1\d{3})*")
_PLAIN_INT = re.compile(r"\d+")
_DECIMAL = re.compile(r"\d*[.,]\d+|\d+[.,]?")


@lru_cache(maxsize=_CACHE)
def parse_int(text: str | None, column: str = "") -> int | None:
    """``"1,240"``, ``"1.240"``, ``"1 240"``, ``"12"``, ``"12.0"``, ``"3%"`` -> an int; None when empty."""
    if empty(text):
        return None
    assert text is not None
    t = text.strip().removesuffix("%").strip()
    where = f" in {column!r}" if column else ""
    number: int | None = None
    if len(t) > 40:  # no count has 40 digits: don't turn a megabyte of them into an int
        pass
    elif _PLAIN_INT.fullmatch(t):
        number = int(t)
    elif _GROUPED.fullmatch(t):
        number = int(re.sub(r"\D", "", t))
    else:
        try:
            value = parse_float(t, column)
        except BadValue:
            value = None
        if value is not None and value == int(value):
            number = int(value)
    if number is None:
        raise BadValue(f"unparseable number {text.strip()[:40]!r}{where}", f"unparseable number{where}")
    if number > MAX_COUNT:
        raise BadValue(
            f"number out of range {text.strip()[:40]!r}{where}: no count is over {MAX_COUNT:,}",
            f"number out of range{where}",
        )
    return number


@lru_cache(maxsize=_CACHE)
def parse_float(text: str | None, column: str = "") -> float | None:
    """``"45"``, ``"45.5"``, ``"45,5"``, ``"1,240.5"``, ``"1.240,5"``, ``"7%"`` -> a float; None when empty."""
    if empty(text):
        return None
    assert text is not None
    t = text.strip().removesuffix("%").strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if "," in t and "." in t:
        # The last separator is the decimal one; the other groups thousands.
        decimal = "," if t.rfind(",") > t.rfind(".") else "."
        t = t.replace("." if decimal == "," else ",", "").replace(",", ".")
    elif _GROUPED.fullmatch(t) and (t.count(",") + t.count(".")) > 1 or re.fullmatch(r"\d{1,3}(,\d{3})+", t):
        t = re.sub(r"[,.]", "", t)
    else:
        t = t.replace(",", ".")
    if not _DECIMAL.fullmatch(t) or not math.isfinite(value := float(t)):  # 5,000 digits: inf
        where = f" in {column!r}" if column else ""
        raise BadValue(f"unparseable number {text.strip()[:40]!r}{where}", f"unparseable number{where}")
    return value


@lru_cache(maxsize=_CACHE)
def parse_rating(text: str | None, column: str = "") -> float | None:
    """A 0-100 rating (Ahrefs' DR and UR) as :func:`parse_float` reads it; None when empty."""
    value = parse_float(text, column)
    if value is not None and not 0 <= value <= 100:
        assert text is not None
        where = f" in {column!r}" if column else ""
        raise BadValue(f"rating out of range {text.strip()!r}{where}: not 0-100", f"rating out of range{where}")
    return value


# --- yes / no --------------------------------------------------------------------------------

_TRUE = frozenset({"true", "yes", "y", "1", "+", "x", "✓", "✔", "ja", "oui", "sí", "si", "t"})
_FALSE = frozenset({"false", "no", "n", "0", "nein", "non", "f"})


def parse_bool(text: str | None, column: str = "") -> bool | None:
    """``true``/``yes``/``1``/``+`` and their opposites; None when empty (or ``-``: not said)."""
    if text is None:
        return None
    t = text.strip().casefold()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    if empty(t):
        return None
    where = f" in {column!r}" if column else ""
    raise BadValue(f"not a yes/no value: {text.strip()!r}{where}", f"not a yes/no value{where}")


def parse_flag(text: str | None, column: str = "") -> bool:
    """A flag column (Majestic's ``FlagNoFollow``): set when it holds a yes (``+``, ``1``...),
    unset when empty or ``-``."""
    return bool(parse_bool(text, column))


# --- dates -----------------------------------------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_ISO = re.compile(
    r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})"
    r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)
_MONTH_FIRST = re.compile(r"([A-Za-z]+)\.? (\d{1,2}),? (\d{4})")  # Sep 15, 2026
_DAY_FIRST = re.compile(r"(\d{1,2})\.? ([A-Za-z]+)\.?,? (\d{4})")  # 15 Sep 2026
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")  # 15.09.2026: always day first
_SLASHED = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")  # 09/15/2026 or 15/09/2026
#: Somewhere in a file's text: whether its dates need :func:`slashed_date_order` at all.
SLASHED_DATE = re.compile(r"\d{1,2}/\d{1,2}/\d{4}")


def slashed_date_order(cells: Iterable[str], *, day_first_headers: bool = False) -> tuple[bool | None, str]:
    """How a file writes its ``a/b/yyyy`` dates, from all its date cells: ``(True, "")`` day
    first, ``(False, "")`` month first, or ``(None, why)`` when it cannot be told.

    One date with a first part over 12 (``25/01/2024``) makes the file day first, one with a
    second part over 12 month first; both is a file that mixes them. With neither, a localised
    header (``day_first_headers``: languages that write the day first) decides; else nothing
    does. Decided per file, not per cell: read per cell, ``05/01`` beside ``25/01`` in one
    column would be May 1st and January 25th.
    """
    day_first_seen = month_first_seen = ""
    for cell in cells:
        m = _SLASHED.fullmatch(cell.strip())
        if m is None:
            continue
        a, b = int(m[1]), int(m[2])
        if a > 12 >= b:
            day_first_seen = day_first_seen or m[0]
        elif b > 12 >= a:
            month_first_seen = month_first_seen or m[0]
        if day_first_seen and month_first_seen:
            return None, f"the file writes dates both day first ({day_first_seen}) and month first ({month_first_seen})"
    if day_first_seen or month_first_seen:
        return bool(day_first_seen), ""
    if day_first_headers:
        return True, ""
    return None, "no date in the file has a part over 12 to tell whether it writes the day or the month first"


@lru_cache(maxsize=_CACHE)
def parse_date(
    text: str | None, column: str = "", *, day_first: bool | None = False, undecided: str = ""
) -> datetime | None:
    """A day or a moment as an aware UTC datetime (a day is its midnight UTC); None when empty.

    ISO (``2026-09-15``, ``2026-09-15 08:02:11``, ``...T08:02:11Z``, ``+02:00``), English month
    names (``Sep 15, 2026``, ``15 Sep 2026``), ``15.09.2026``; ``a/b/yyyy`` is read day first when
    a part says so (``15/09``) or ``day_first``, else month first. ``day_first`` None is a file
    whose order is not known (:func:`slashed_date_order`, which says why: ``undecided``): a date
    that reads as two different days (``05/01/2024``) is refused.
    """
    if empty(text):
        return None
    assert text is not None
    t = " ".join(text.split())
    where = f" in {column!r}" if column else ""
    if day_first is None and _reads_two_ways(t):
        raise BadValue(
            f"ambiguous date {t!r}{where} (day or month first?): {undecided or 'the file does not say'}; "
            "save the export with dates as YYYY-MM-DD and import it again",
            f"ambiguous date{where} (day or month first?)",
        )
    try:
        moment = _date(t, day_first)
    except (ValueError, OverflowError):  # OverflowError: a zone that moves the moment past year 1 or 9999
        moment = None
    if moment is None:
        raise BadValue(f"unparseable date {t[:100]!r}{where}", f"unparseable date{where}")
    return moment


def _reads_two_ways(t: str) -> bool:
    """``05/01/2024``: the 5th of January or May 1st (``05/05`` or ``25/01`` only one day)."""
    m = _SLASHED.fullmatch(t)
    return m is not None and int(m[1]) != int(m[2]) and int(m[1]) <= 12 and int(m[2]) <= 12


def _date(t: str, day_first: bool | None) -> datetime | None:
    if m := _ISO.fullmatch(t):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
        hour, minute, second = int(m[4] or 0), int(m[5] or 0), int(m[6] or 0)
        moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
        zone = (m[7] or "").upper()
        if zone and zone not in ("Z", "UTC", "GMT"):
            sign = -1 if zone.startswith("-") else 1
            digits = zone[1:].replace(":", "")
            moment -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4]))
        return moment
    if m := _MONTH_FIRST.fullmatch(t):
        return _day(int(m[3]), _MONTHS.get(m[1].casefold()), int(m[2]))
    if m := _DAY_FIRST.fullmatch(t):
        return _day(int(m[3]), _MONTHS.get(m[2].casefold()), int(m[1]))
    if m := _DOTTED.fullmatch(t):
        return _day(int(m[3]), int(m[2]), int(m[1]))
    if m := _SLASHED.fullmatch(t):
        a, b = int(m[1]), int(m[2])
        first_is_day = a > 12 or (b <= 12 and bool(day_first))
        return _day(int(m[3]), b if first_is_day else a, a if first_is_day else b)
    return None


def _day(year: int, month: int | None, day: int) -> datetime | None:
    if month is None:
        return None
    return datetime(year, month, day, tzinfo=timezone.utc)


# --- URLs and hosts --------------------------------------------------------------------------


#: ``mailto:``, ``sms:``, ``vbscript:``: a scheme, and after its colon no port. ``example.com:8080/x``
#: and ``localhost:80`` are hosts with a port (read as https URLs), not schemes.
_OTHER_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:(?!\d*(?:[/?#]|\Z))")
#: A DNS name's label: letters, digits, hyphens (not first or last), at most 63; underscores as
#: some real hosts have them. WHATWG URL parsing accepts more (``*.example.org``, ``-x-.com``).


@lru_cache(maxsize=_CACHE)
def parse_url(text: str | None, column: str = "") -> str | None:
    """An absolute http(s) URL in linkback's stored form (:func:`linkback.urls.normalize`), so a
    claim joins with ``links``; None when empty. A URL without a scheme (older Moz exports,
    hand-made lists) is read as ``https://``; any scheme but http(s) (``mailto:``) is refused.
    A user and password in a URL are dropped: they are not what links (the page is) and, stored
    in claims and shown in reports, they would leak a secret."""
    if empty(text):
        return None
    assert text is not None
    t = text.strip().strip("<>\"'")
    where = f" in {column!r}" if column else ""
    if t.startswith("//"):
        raise BadValue(f"bad URL{where}: no scheme: {t[:300]!r}; did you mean 'https:{t[:300]}'?", f"bad URL{where}")
    url: str | None = None
    try:
        url = normalize(t)
    except URLError as exc:
        if "://" not in t and not t.startswith("/") and "." in t.split("/", 1)[0] and not _OTHER_SCHEME.match(t):
            try:
                url = normalize("https://" + t)
            except URLError:
                pass
        if url is None:
            raise BadValue(f"bad URL{where}: {str(exc)[:300]}", f"bad URL{where}") from None
    assert url is not None
    url = _without_userinfo(url)
    _check_host(host_of(url), t, where)
    return url


def _without_userinfo(url: str) -> str:
    # In a stored URL an "@" of the user or password is percent-encoded: the last "@" before
    # the path ends the userinfo.
    start = url.index("://") + 3
    at = url.rfind("@", start, url.index("/", start))
    return url if at < 0 else url[:start] + url[at + 1 :]


def _check_host(host: str, text: str, where: str) -> None:
    """Refuse a host no DNS name or IP address can be (``*.example.org``, ``a..b.net``, ``-x-.com``)."""
    name = host.removesuffix(".")
    if not is_host_name(host):
        given = f" (given {text[:200]!r})" if text.rstrip(".").casefold() != name else ""
        raise BadValue(f"not a valid host name {host[:100]!r}{where}{given}", f"not a valid host name{where}")


@lru_cache(maxsize=_CACHE)
def parse_host(text: str | None, column: str = "") -> str | None:
    """A domain or host (``example.com``, ``Blog.Example.org.``, an IDN) as stored hosts are:
    lower-case, punycode; a URL gives its host. None when empty."""
    if empty(text):
        return None
    assert text is not None
    t = text.strip().strip("<>\"'").rstrip(".")
    where = f" in {column!r}" if column else ""
    if "://" in t:
        url = parse_url(t, column)
        assert url is not None
        return host_of(url).removesuffix(".")  # as a bare host's: one key for both spellings
    url, reason = resolve(f"http://{t}/", "")
    host = host_of(url) if not reason else ""
    if reason or url != f"http://{host}/" or not host:
        raise BadValue(f"not a domain or host: {t[:200]!r}{where}", f"not a domain or host{where}")
    _check_host(host, t, where)
    if is_public_suffix(host):
        raise BadValue(f"{t!r} is a public suffix, not a site{where}", f"a public suffix, not a site{where}")
    return host
