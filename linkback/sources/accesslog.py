"""Read web server access logs as a stream of :class:`LogHit` — the input of Refback.

Formats: Apache/nginx ``combined``
(``%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"``) and Apache ``vhost_combined``
(the same with a leading ``%v:%p``). Fields after the User-Agent (nginx's
``"$http_x_forwarded_for"``, Apache's ``combinedio`` byte counts) are allowed and ignored.
Files may be plain, gzip, bzip2 or xz; the compression is told by magic bytes, because rotated
logs are named ``access.log.2.gz`` as often as ``access.log-20240101`` (compressed or not).

Text. Apache escapes ``"`` and ``\\`` inside quoted fields as ``\\"`` and ``\\\\``, control and
non-ASCII bytes as ``\\xHH`` (nginx escapes all three kinds as ``\\xHH``). Fields are unescaped to
bytes, then decoded as UTF-8, or as Latin-1 when they are not UTF-8 (counted in
``LogStats.latin1_lines``; the line is kept).

Damage policy. Nothing in a log file raises. A line that is not a log line is skipped and
counted under a stable key in ``LogStats.skipped`` (``blank``, ``malformed``, ``common_format``
— a ``common`` log line, which has no Referer field —, ``bad_time``, ``too_long``), with the
first few examples per key kept as ``"<path>:<line>: <what>"``; so ``lines == parsed +
sum(skipped)`` always. A file that cannot be read, or whose compressed data breaks off, is
counted in ``LogStats.file_problems`` and reading moves on; the lines before the break are kept.
"""

from __future__ import annotations

import bz2
import collections
import glob as _glob
import gzip
import lzma
import os
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Literal

from ..errors import SourceError

__all__ = [
    "MAX_LINE_BYTES",
    "LogHit",
    "LogStats",
    "iter_log_paths",
    "looks_like_access_log",
    "parse_line",
    "read_log",
    "read_logs",
]

#: A line longer than this (in bytes, as stored) is skipped as ``too_long``. Apache caps the
#: request line and each header at 8 KiB; fully ``\\xHH``-escaped that is 32 KiB per field.
MAX_LINE_BYTES = 64 * 1024
#: Examples kept in ``LogStats.errors`` per skip key, so one flood does not hide the rest.
MAX_EXAMPLES_PER_KEY = 10


@dataclass(frozen=True, slots=True)
class LogHit:
    """One request from an access log. ``time`` is timezone-aware UTC. ``vhost`` is the leading
    ``host:port`` of ``vhost_combined`` as logged, ``""`` for plain ``combined``. ``referer`` and
    ``user_agent`` are ``""`` when logged as ``-``. ``method`` and ``path`` come from the request
    line; both are ``""`` when it is not ``METHOD TARGET [HTTP/x]`` (``"-"``, TLS bytes sent to
    the HTTP port). ``source``/``line_no`` (1-based) say where the line was read."""

    remote_addr: str
    time: datetime
    method: str
    path: str
    status: int
    referer: str
    user_agent: str
    vhost: str
    source: str
    line_no: int


@dataclass
class LogStats:
    """What reading one or more logs did; pass one instance to several files to sum them.

    ``lines`` counts every line read; each is either ``parsed`` (yielded) or counted under one
    key of ``skipped``. ``errors`` holds the first :data:`MAX_EXAMPLES_PER_KEY` examples per key,
    ``"<path>:<line>: <key>: <excerpt>"``, and one line per file problem.
    """

    files: int = 0
    lines: int = 0
    parsed: int = 0
    latin1_lines: int = 0
    skipped: collections.Counter[str] = field(default_factory=collections.Counter)
    file_problems: collections.Counter[str] = field(default_factory=collections.Counter)
    errors: list[str] = field(default_factory=list)

    def skip(self, key: str, path: str, line_no: int, text: str) -> None:
        self.skipped[key] += 1
        if self.skipped[key] <= MAX_EXAMPLES_PER_KEY:
            self.errors.append(f"{path}:{line_no}: {key}: {text[:160]!r}")

    def file_problem(self, key: str, path: str, message: str) -> None:
        self.file_problems[key] += 1
        self.errors.append(f"{path}: {key}: {message}")

    @property
    def accounted(self) -> bool:
        return self.lines == self.parsed + sum(self.skipped.values())


# --------------------------------------------------------------------------- one line

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


def _parse_time(text: str) -> datetime | None:
    m = _TIME.match(text)
    if m is None:
        return None
    day, mon, year, hh, mm, ss, sign, oh, om = m.groups()
    month = _MONTHS.get(mon.lower())
    if month is None:
        return None
    try:
        local = datetime(int(year), month, int(day), int(hh), int(mm), int(ss), tzinfo=UTC)
    except ValueError:
        return None
    offset = timedelta(hours=int(oh), minutes=int(om))
    return local - offset if sign == "+" else local + offset


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


def parse_line(line: str, *, source: str = "", line_no: int = 0) -> LogHit | str:
    """One log line (decoded as Latin-1, newline stripped) -> a :class:`LogHit`, or the skip key
    saying why it is not one. ``hit.referer`` etc. are already unescaped and decoded."""
    hit, _ = _parse(line, source, line_no)
    return hit


def _parse(line: str, source: str, line_no: int) -> tuple[LogHit | str, bool]:
    m = _LINE.match(line)
    if m is None:
        if not line.strip():
            return "blank", False
        return ("common_format" if _COMMON.match(line) else "malformed"), False
    first, second, third, fourth, when, request, status, referer, agent = m.groups()
    if fourth is None:
        vhost, remote = "", first
    else:
        # Four tokens before [time]: vhost_combined's leading %v:%p.
        vhost, remote = ("" if first == "-" else first.lower()), second
    time = _parse_time(when)
    if time is None:
        return "bad_time", False
    request, bad_r = _field(request)
    referer, bad_ref = ("", False) if referer == "-" else _field(referer)
    agent, bad_ua = ("", False) if agent == "-" else _field(agent)
    method, path = _split_request(request)
    hit = LogHit(remote, time, method, path, int(status), referer, agent, vhost, source, line_no)
    return hit, bad_r or bad_ref or bad_ua


# --------------------------------------------------------------------------- one file

_GZIP = b"\x1f\x8b"
_BZIP2 = b"BZh"
_XZ = b"\xfd7zXZ\x00"
_ZSTD = b"\x28\xb5\x2f\xfd"


def _open(path: str) -> BinaryIO:
    """The file's (decompressed) bytes. Raises OSError, or ValueError for zstd."""
    with open(path, "rb") as fh:
        head = fh.read(6)
    if head.startswith(_GZIP):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if head.startswith(_BZIP2):
        return bz2.open(path, "rb")  # type: ignore[return-value]
    if head.startswith(_XZ):
        return lzma.open(path, "rb")  # type: ignore[return-value]
    if head.startswith(_ZSTD):
        raise ValueError("zstd-compressed; decompress it first (zstd -d)")
    return open(path, "rb")


# What a compressed stream raises when it is cut short or corrupt.
_STREAM_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError)


def _lines(fh: BinaryIO, cap: int) -> Iterator[bytes | None]:
    """Raw lines without the end-of-line; ``None`` for a line longer than ``cap``, whose rest is
    read and dropped in ``cap``-sized pieces so memory stays bounded."""
    while True:
        raw = fh.readline(cap + 1)
        if not raw:
            return
        if len(raw) > cap and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):
                raw = fh.readline(cap)
            yield None
            continue
        yield raw.rstrip(b"\n").removesuffix(b"\r")


def read_log(
    path: str | os.PathLike[str],
    stats: LogStats | None = None,
    *,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Iterator[LogHit]:
    """Yield one :class:`LogHit` per log line of the file at ``path``, in file order.

    Never raises for what is in the file, nor for a file that cannot be opened: see the module
    docstring for what is counted in ``stats``.
    """
    if stats is None:
        stats = LogStats()
    source = os.fspath(path)
    try:
        fh = _open(source)
    except ValueError as exc:
        stats.file_problem("unsupported_compression", source, str(exc))
        return
    except OSError as exc:
        stats.file_problem("unreadable", source, exc.strerror or str(exc))
        return
    stats.files += 1
    line_no = 0
    with fh:
        lines = _lines(fh, max_line_bytes)
        while True:
            try:
                raw: bytes | None | Literal[False] = next(lines, False)
            except _STREAM_ERRORS as exc:
                # Rotated logs are often copied while still being compressed: keep what came before.
                key = "truncated_stream" if isinstance(exc, EOFError) else "read_error"
                stats.file_problem(key, source, f"after line {line_no}: {exc}")
                return
            if raw is False:
                return
            line_no += 1
            stats.lines += 1
            if raw is None:
                stats.skip("too_long", source, line_no, f"longer than {max_line_bytes} bytes")
                continue
            text = raw.decode("latin-1")
            hit, not_utf8 = _parse(text, source, line_no)
            if isinstance(hit, str):
                stats.skip(hit, source, line_no, text)
                continue
            stats.parsed += 1
            stats.latin1_lines += not_utf8
            yield hit


# --------------------------------------------------------------------------- many files


def looks_like_access_log(path: str | os.PathLike[str], *, probe_lines: int = 5) -> bool:
    """Whether one of the first ``probe_lines`` non-blank lines of the (decompressed) file parses
    as a combined log line. How directories and globs tell logs from the README, error.log and
    friends beside them: names say too little (``apache_logs``, ``access_log-20240101``)."""
    source = os.fspath(path)
    try:
        with _open(source) as fh:
            seen = 0
            for raw in _lines(fh, MAX_LINE_BYTES):
                if raw is None or not raw.strip():
                    continue
                if _LINE.match(raw.decode("latin-1")) is not None:
                    return True
                seen += 1
                if seen >= probe_lines:
                    return False
    except (ValueError, *_STREAM_ERRORS):
        return False
    return False


def _walk(top: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            q = Path(dirpath, name)
            if not name.startswith(".") and q.is_file():
                yield q


def iter_log_paths(inputs: Iterable[str | os.PathLike[str]], stats: LogStats | None = None) -> list[Path]:
    """Log files named by ``inputs``: files as given, directories (recursively) and glob patterns
    expanded to the files that :func:`looks_like_access_log` (the others are noted in ``stats``
    as ``not_an_access_log``). Sorted, de-duplicated. Hidden files are left out of expansions.

    Raises SourceError for an input that names nothing, or a directory/pattern with no log.
    (``linkback.sources._paths.iter_paths`` does the same for archives, but picks files by suffix.)
    """
    found: set[Path] = set()
    for item in inputs:
        text = os.fspath(item)
        p = Path(text)
        if p.is_file():
            found.add(p)
            continue
        if p.is_dir():
            candidates = list(_walk(p))
        elif _glob.has_magic(text):
            candidates = []
            for name in _glob.glob(text, recursive=True):
                q = Path(name)
                if q.is_file():
                    candidates.append(q)
                elif q.is_dir():
                    candidates += _walk(q)
            if not candidates:
                raise SourceError(f"pattern {text!r} matches no files")
        else:
            raise SourceError(f"{text!r} does not exist")
        hits = []
        for q in candidates:
            if looks_like_access_log(q):
                hits.append(q)
            elif stats is not None:
                stats.file_problem("not_an_access_log", os.fspath(q), "skipped: no combined-format line at its start")
        if not hits:
            raise SourceError(f"{text!r} holds no access logs in combined or vhost_combined format")
        found.update(hits)
    return sorted(found)


def read_logs(
    paths: Iterable[str | os.PathLike[str]],
    stats: LogStats | None = None,
    *,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Iterator[LogHit]:
    """:func:`read_log` over every file :func:`iter_log_paths` finds, one after the other.
    Raises SourceError (before yielding anything) when an input names nothing."""
    if stats is None:
        stats = LogStats()
    for p in iter_log_paths(paths, stats):
        yield from read_log(p, stats, max_line_bytes=max_line_bytes)
