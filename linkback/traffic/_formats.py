"""Access-log line formats, and which one a file is in (told by its lines, never by its name).

Each format turns one line (Latin-1 text, see :mod:`._files`) into a :data:`Hit` tuple, or into
the skip key that says why it is none:

* ``combined`` — Apache/nginx ``combined`` (``%h %l %u %t "%r" %>s %b "%{Referer}i"
  "%{User-Agent}i"``) and Apache ``vhost_combined`` (the same after a leading ``%v:%p``); fields
  after the User-Agent (nginx's ``"$http_x_forwarded_for"``, ``combinedio`` byte counts) are
  allowed and ignored. Apache escapes ``"`` and ``\\`` in quoted fields as ``\\"`` and ``\\\\``,
  control and non-ASCII bytes as ``\\xHH`` (nginx all three as ``\\xHH``): fields are unescaped
  to bytes, then decoded as UTF-8, or as Latin-1 when they are not UTF-8 (the hit says so).
  The vhost is unescaped the same way, but read as UTF-8 only (below).
* ``caddy`` — Caddy's JSON access log (one object per line: ``ts``, ``status``, ``request``
  with ``remote_ip``/``client_ip``, ``method``, ``host``, ``uri``, ``headers``, ``tls``).
* ``cloudfront`` and ``w3c`` — W3C extended logs: CloudFront's standard logs (tab-separated,
  ``x-edge-location`` among the ``#Fields``) and IIS's (space-separated); the ``#Fields:``
  directive names the columns and may change mid-file.

A line of the common format (no Referer) is ``common_format``: it cannot tell where a visit came
from. A host (vhost, Host header) whose bytes are not UTF-8 is ``bad_host`` in every format: no
name is guessed at (:func:`_host`); a UTF-8 one (``bücher.de``) becomes its punycode form where the
visit's URL is made. Damage never raises: a line is a hit or a skip key.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

__all__ = ["FORMATS", "Hit", "LineFormat", "parse_combined", "sniff"]

#: One request: (remote_addr, time (UTC epoch seconds, float), method, target (path and query as
#: requested), status, referer, user_agent, host (``host[:port]`` as logged, lower case; ``""``
#: when the line has none), scheme (``http``/``https`` when the line tells, else ``""``),
#: not_utf8 (a field was decoded as Latin-1)). A tuple: the hot loop builds one per line.
Hit = tuple[str, float, str, str, int, str, str, str, str, bool]

# --------------------------------------------------------------------------- combined

# Quoted fields use the unrolled-loop form: on a 30 KiB field it runs in linear time without
# the per-character alternation of (?:[^"\\]|\\.)*.
_Q = r'"([^"\\]*(?:\\.[^"\\]*)*)"'
_LINE = re.compile(
    r"(\S+) (\S+) (\S+)(?: (\S+))? \[([^\]]*)\] "  # [%v:%p] %h %l %u [%t]
    + _Q
    + r" (\d{3}) (?:\d+|-) "  # "%r" %>s %b
    + _Q
    + " "
    + _Q  # "Referer" "User-Agent"
    + r"(?: .*)?\Z"
)
_COMMON = re.compile(r"\S+ \S+ \S+(?: \S+)? \[[^\]]*\] " + _Q + r" \d{3} (?:\d+|-)\Z")
_TIME = re.compile(r"(\d{1,2})/([A-Za-z]{3})/(\d{4}):(\d\d):(\d\d):(\d\d)(?:[.,]\d+)? ([+-])(\d\d)(\d\d)\Z")
_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_METHOD = re.compile(r"[A-Za-z][A-Za-z_-]*\Z")
_ESCAPE = re.compile(rb"\\(x[0-9A-Fa-f]{2}|.)", re.DOTALL)
_SIMPLE_ESCAPES = {
    b'"': b'"',
    b"\\": b"\\",
    b"n": b"\n",
    b"r": b"\r",
    b"t": b"\t",
    b"b": b"\b",
    b"v": b"\v",
    b"f": b"\f",
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: The first moment a log line may be from (the web began in 1991), in epoch seconds.
FIRST_SECOND = (datetime(1990, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds()


def in_window(seconds: float) -> bool:
    """Can a log line be from then: since 1990 and not over a day ahead of this machine's clock?
    A line from year 1 or 9999 is damage (or a forgery), not a visit: it is a ``bad_time``."""
    return FIRST_SECOND <= seconds <= time.time() + 86_400


def _unescape_one(m: re.Match[bytes]) -> bytes:
    e = m.group(1)
    if len(e) == 3:
        return bytes((int(e[1:], 16),))
    # An escape the servers never write is kept as logged rather than guessed at.
    return _SIMPLE_ESCAPES.get(e, m.group(0))


def _field(text: str) -> tuple[str, bool]:
    """A field of a line decoded as Latin-1 (one char per byte) -> (text, was_not_utf8)."""
    if text.isascii() and "\\" not in text:
        return text, False
    raw = _ESCAPE.sub(_unescape_one, text.encode("latin-1"))
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return raw.decode("latin-1"), True


def _host(raw: bytes) -> str | None:
    """A logged host's bytes (``%v:%p``, a Host header) as text in lower case, or None when they
    are not UTF-8. Lower-cased only once decoded: lowering the Latin-1 reading of UTF-8 bytes
    changes them (``Ã`` of ``ü``'s first byte would become ``ã``). A host is a name, not prose:
    bytes that are not UTF-8 are damage or a forged Host header, and a guess at them would invent
    a site, so the line is skipped as ``bad_host``."""
    try:
        return raw.decode("utf-8").lower()
    except UnicodeDecodeError:
        return None


def _logged_host(text: str) -> str | None:
    """A combined line's vhost (Latin-1 text, ``\\xHH`` escapes as Apache and nginx write non-ASCII
    bytes) as :func:`_host` gives it; ``""`` for ``-``."""
    if text == "-":
        return ""
    if text.isascii() and "\\" not in text:
        return text.lower()
    return _host(_ESCAPE.sub(_unescape_one, text.encode("latin-1")))


def clf_time(text: str) -> datetime | None:
    """``10/Oct/2000:13:55:36 -0700`` -> an aware UTC datetime, or None when it is not one."""
    m = _TIME.match(text)
    if m is None:
        return None
    day, mon, year, hh, mm, ss, sign, oh, om = m.groups()
    month = _MONTHS.get(mon.lower())
    # Zones run from -12:00 to +14:00; a year outside the window never makes a visit (in_window).
    if month is None or int(oh) > 14 or int(om) > 59 or not 1989 <= int(year) <= 9998:
        return None
    try:
        local = datetime(int(year), month, int(day), int(hh), int(mm), int(ss), tzinfo=UTC)
    except ValueError:
        return None
    offset = timedelta(hours=int(oh), minutes=int(om))
    when = local - offset if sign == "+" else local + offset
    return when if in_window((when - _EPOCH).total_seconds()) else None


# The epoch second of each hour seen ("10/Oct/2000:13" + zone): a log's lines share a few hours,
# and turning the minutes and seconds into a number is cheaper than a datetime per line.
_HOURS: dict[str, float | None] = {}


def _clf_epoch(text: str) -> float | None:
    if len(text) == 26 and text[14] == ":" and text[17] == ":" and text[20] == " ":
        key = text[:14] + text[20:]
        base = _HOURS.get(key, -1.0)
        if base == -1.0:
            if len(_HOURS) > 100_000:
                _HOURS.clear()
            when = clf_time(text[:15] + "00:00" + text[20:])
            base = _HOURS[key] = None if when is None else (when - _EPOCH).total_seconds()
        mm, ss = text[15:17], text[18:20]
        if base is not None and mm.isdigit() and ss.isdigit() and mm < "60" and ss < "60":
            return base + int(mm) * 60 + int(ss)
        if base is None:
            return None
    when = clf_time(text)
    return None if when is None else (when - _EPOCH).total_seconds()


def _split_request(request: str) -> tuple[str, str]:
    parts = request.split(" ")
    if len(parts) >= 3 and parts[-1].startswith("HTTP/"):
        method, target = parts[0], " ".join(parts[1:-1])
    elif len(parts) == 2:  # HTTP/0.9 has no version
        method, target = parts
    else:
        return "", ""
    if _METHOD.match(method) is None or not target:
        return "", ""
    return method, target


def parse_combined(line: str) -> Hit | str:
    """One ``combined``/``vhost_combined`` line -> a :data:`Hit`, or its skip key."""
    # The common case (no escape, no tab, ASCII) is cut at its quotes: a third of the regex's cost.
    # Whatever this path does not accept goes to the regex, which decides.
    if "\\" not in line and "\t" not in line and line.isascii():
        parts = line.split('"')
        if len(parts) >= 7 and parts[4] == " " and (parts[6][:1] == " " or (len(parts) == 7 and not parts[6])):
            hit = _fast(parts)
            if hit is not None:
                return hit
    return _slow(line)


def _fast(parts: list[str]) -> Hit | str | None:
    pre, sb = parts[0], parts[2]
    if pre[-2:] != "] " or sb[:1] != " " or sb[-1:] != " ":
        return None
    i = pre.find(" [")
    tokens = pre[:i].split(" ") if i > 0 else []
    status, _, size = sb[1:-1].partition(" ")
    when = pre[i + 2 : -2]
    if (
        not 3 <= len(tokens) <= 4
        or "" in tokens
        or "]" in when
        or len(status) != 3
        or not status.isdigit()
        or not (size == "-" or size.isdigit())
    ):
        return None
    ts = _clf_epoch(when)
    if ts is None:
        return "bad_time"
    if len(tokens) == 4:
        vhost, remote = ("" if tokens[0] == "-" else tokens[0].lower()), tokens[1]
    else:
        vhost, remote = "", tokens[0]
    method, target = _split_request(parts[1])
    referer, agent = parts[3], parts[5]
    return (remote, ts, method, target, int(status), "" if referer == "-" else referer,
            "" if agent == "-" else agent, vhost, "", False)  # fmt: skip


def _slow(line: str) -> Hit | str:
    m = _LINE.match(line)
    if m is None:
        if not line.strip():
            return "blank"
        return "common_format" if _COMMON.match(line) else "malformed"
    first, second, third, fourth, when, request, status, referer, agent = m.groups()
    ts = _clf_epoch(when)
    if ts is None:
        return "bad_time"
    if fourth is None:
        vhost, remote = "", first
    else:
        # Four tokens before [time]: vhost_combined's leading %v:%p, escaped as the quoted fields are.
        logged, remote = _logged_host(first), second
        if logged is None:
            return "bad_host"
        vhost = logged
    request, bad_r = _field(request)
    referer, bad_ref = ("", False) if referer == "-" else _field(referer)
    agent, bad_ua = ("", False) if agent == "-" else _field(agent)
    method, target = _split_request(request)
    return remote, ts, method, target, int(status), referer, agent, vhost, "", bad_r or bad_ref or bad_ua


# --------------------------------------------------------------------------- Caddy JSON


def _utf8(line: str) -> str:
    """A line read as Latin-1, as the UTF-8 it was written in (bad bytes replaced)."""
    return line if line.isascii() else line.encode("latin-1").decode("utf-8", "replace")


def _header(headers: Any, name: str) -> str:
    if not isinstance(headers, dict):
        return ""
    values = headers.get(name)
    if values is None:  # Caddy keeps the canonical form; other JSON loggers may not
        values = next((v for k, v in headers.items() if isinstance(k, str) and k.lower() == name.lower()), None)
    if isinstance(values, list):
        values = values[0] if values else ""
    return values if isinstance(values, str) else ""


def _json_time(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if in_window(value) else None
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            seconds = (when - _EPOCH).total_seconds()
        except (ValueError, OverflowError):  # year 1 east of UTC is before year 1 in UTC
            return None
        return seconds if in_window(seconds) else None
    return None


def parse_caddy(line: str) -> Hit | str:
    """One line of Caddy's JSON access log -> a :data:`Hit`, or its skip key."""
    if not line.strip():
        return "blank"
    try:
        entry = json.loads(_utf8(line))
    except (ValueError, RecursionError):
        return "bad_json"
    request = entry.get("request") if isinstance(entry, dict) else None
    if not isinstance(request, dict):
        return "not_a_request"
    ts = _json_time(entry.get("ts"))
    if ts is None:
        return "bad_time"
    status = entry.get("status")
    if isinstance(status, bool) or not isinstance(status, int):
        status = 0  # Caddy logs 0 for a request its handler never answered
    headers = request.get("headers")
    texts = [request.get(k) for k in ("client_ip", "remote_ip", "method", "uri", "host")]
    remote, fallback, method, uri, host = (v if isinstance(v, str) else "" for v in texts)
    if "\ufffd" in host:
        return "bad_host"  # bytes that were not UTF-8 (Caddy's JSON encoder writes them as U+FFFD too)
    scheme = "https" if request.get("tls") else "http"
    return (remote or fallback, ts, method, uri, status, _header(headers, "Referer"), _header(headers, "User-Agent"),
            host.lower(), scheme, False)  # fmt: skip


# --------------------------------------------------------------------------- W3C extended


class W3CFormat:
    """W3C extended lines (CloudFront, IIS). Holds the ``#Fields`` of the file it reads, so each
    file gets its own instance (:meth:`fresh`)."""

    def __init__(self, name: str, fields: list[str]) -> None:
        self.name = name
        self._use(fields)

    def fresh(self) -> W3CFormat:
        return W3CFormat(self.name, self.fields)

    def _use(self, fields: list[str]) -> None:
        self.fields = fields
        index = {f.lower(): i for i, f in enumerate(fields)}
        self._at = {key: index.get(key, -1) for key in _W3C_KEYS}
        self.has_referer = index.get("cs(referer)", -1) >= 0

    def parse(self, line: str) -> Hit | str:
        if line.startswith("#"):
            if line.startswith("#Fields:"):
                self._use(line[len("#Fields:") :].split())
            return "comment"
        if not line.strip():
            return "blank"
        values = line.split("\t") if "\t" in line else line.split(" ")
        if len(values) != len(self.fields):
            return "malformed"
        at = self._at

        def get(key: str) -> str:
            i = at[key]
            v = values[i] if i >= 0 else "-"
            return "" if v == "-" else v

        try:
            when = datetime.fromisoformat(f"{get('date')}T{get('time')}").replace(tzinfo=UTC)
        except ValueError:
            return "bad_time"
        if not in_window((when - _EPOCH).total_seconds()):
            return "bad_time"
        status = get("sc-status")
        if not (len(status) == 3 and status.isdigit()):
            return "malformed"
        target = get("cs-uri-stem")
        query = get("cs-uri-query")
        if query:
            target += "?" + query
        cloudfront = self.name == "cloudfront"
        agent = get("cs(user-agent)")
        # CloudFront percent-encodes the User-Agent (twice for some characters); IIS writes its spaces as '+'.
        agent = unquote(unquote(agent)) if cloudfront else agent.replace("+", " ")
        host = _host((get("x-host-header") or get("cs(host)") or get("cs-host")).encode("latin-1"))
        if host is None:
            return "bad_host"
        scheme = get("cs-protocol").lower() if cloudfront else ("https" if get("s-port") == "443" else "")
        scheme = {"wss": "https", "ws": "http"}.get(scheme, scheme)
        text = [_utf8(v) for v in (get("c-ip"), get("cs-method"), target, get("cs(referer)"), agent)]
        remote, method, target, referer, agent = text
        return remote, (when - _EPOCH).total_seconds(), method, target, int(status), referer, agent, host, scheme, False


_W3C_KEYS = (
    "date",
    "time",
    "c-ip",
    "cs-method",
    "cs-uri-stem",
    "cs-uri-query",
    "sc-status",
    "cs(referer)",
    "cs(user-agent)",
    "cs(host)",
    "cs-host",
    "x-host-header",
    "cs-protocol",
    "s-port",
)


# --------------------------------------------------------------------------- formats


class LineFormat:
    """A stateless line format: ``name`` and ``parse(line) -> Hit | skip key``."""

    has_referer = True

    def __init__(self, name: str, parse: Any) -> None:
        self.name = name
        self.parse = parse

    def fresh(self) -> LineFormat:
        return self


COMBINED = LineFormat("combined", parse_combined)
CADDY = LineFormat("caddy", parse_caddy)
#: The line formats by name (W3C ones are made per file, from their ``#Fields``).
FORMATS = ("combined", "caddy", "cloudfront", "w3c")


def sniff(lines: list[str]) -> LineFormat | W3CFormat | None:
    """The line format of a file whose first lines (Latin-1 text) are ``lines``, or None.

    W3C logs say so in their header (``#Fields:``), Caddy's are JSON objects with a ``request``,
    the rest must match the combined (or common) format on at least one line.
    """
    for line in lines:
        if line.startswith("#Fields:"):
            fields = line[len("#Fields:") :].split()
            name = "cloudfront" if "x-edge-location" in fields else "w3c"
            return W3CFormat(name, fields)
    for line in lines:
        text = line.strip()
        if text.startswith("{"):
            if not isinstance(parse_caddy(text), str):
                return CADDY
        elif _LINE.match(line) or _COMMON.match(line):
            return COMBINED
    return None


def epoch_datetime(ts: float) -> datetime:
    """A :data:`Hit`'s time as an aware UTC datetime."""
    return _EPOCH + timedelta(seconds=ts)
