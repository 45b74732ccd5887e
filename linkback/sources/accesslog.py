"""Read web server access logs as a stream of :class:`LogHit` — the input of Refback, and the same
parsing ``linkback visits`` (:mod:`linkback.traffic`) reads referral traffic with.

Formats (told by each file's first lines, not its name; see :mod:`linkback.traffic._formats`):
Apache/nginx ``combined`` (``%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"``) and
Apache ``vhost_combined`` (the same with a leading ``%v:%p``), Caddy's JSON log, CloudFront's and
IIS's W3C extended logs. Fields after the User-Agent (nginx's ``"$http_x_forwarded_for"``,
Apache's ``combinedio`` byte counts) are allowed and ignored. Files may be plain, gzip, bzip2 or
xz; the compression is told by magic bytes, because rotated logs are named ``access.log.2.gz``
as often as ``access.log-20240101`` (compressed or not).

Text. Apache escapes ``"`` and ``\\`` inside quoted fields as ``\\"`` and ``\\\\``, control and
non-ASCII bytes as ``\\xHH`` (nginx escapes all three kinds as ``\\xHH``). Fields are unescaped to
bytes, then decoded as UTF-8, or as Latin-1 when they are not UTF-8 (counted in
``LogStats.latin1_lines``; the line is kept).

Damage policy. Nothing in a log file raises. A line that is not a log line is skipped and
counted under a stable key in ``LogStats.skipped`` (``blank``, ``malformed``, ``common_format``
— a ``common`` log line, which has no Referer field —, ``bad_time``, ``too_long``, ``bad_json``,
``bad_host`` — a virtual host whose bytes are not UTF-8, read by :mod:`linkback.traffic`),
with the first few examples per key kept as ``"<path>:<line>: <what>"``; so ``lines == parsed +
sum(skipped)`` always. A file that cannot be read, or whose compressed data breaks off, is
counted in ``LogStats.file_problems`` and reading moves on; the lines before the break are kept.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from linkback.traffic._files import MAX_EXAMPLES_PER_KEY, MAX_LINE_BYTES, LogStats
from linkback.traffic._formats import COMBINED, Hit, epoch_datetime, parse_combined
from linkback.traffic._read import iter_traffic_paths, read_hits, sniff_file

__all__ = [
    "MAX_EXAMPLES_PER_KEY",
    "MAX_LINE_BYTES",
    "LogHit",
    "LogStats",
    "iter_log_paths",
    "looks_like_access_log",
    "parse_line",
    "read_log",
    "read_logs",
]


@dataclass(frozen=True, slots=True)
class LogHit:
    """One request from an access log. ``time`` is timezone-aware UTC. ``vhost`` is the host the
    line names (``vhost_combined``'s leading ``host:port``, Caddy's and CloudFront's Host) as
    logged, ``""`` for plain ``combined``. ``referer`` and ``user_agent`` are ``""`` when logged
    as ``-``. ``method`` and ``path`` come from the request line; both are ``""`` when it is not
    ``METHOD TARGET [HTTP/x]`` (``"-"``, TLS bytes sent to the HTTP port). ``source``/``line_no``
    (1-based) say where the line was read."""

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


def _log_hit(hit: Hit, source: str, line_no: int) -> LogHit:
    remote, ts, method, target, status, referer, agent, vhost = hit[:8]
    return LogHit(remote, epoch_datetime(ts), method, target, status, referer, agent, vhost, source, line_no)


def parse_line(line: str, *, source: str = "", line_no: int = 0) -> LogHit | str:
    """One combined/vhost_combined log line (decoded as Latin-1, newline stripped) -> a
    :class:`LogHit`, or the skip key saying why it is not one. ``hit.referer`` etc. are already
    unescaped and decoded."""
    hit = parse_combined(line)
    return hit if isinstance(hit, str) else _log_hit(hit, source, line_no)


def read_log(
    path: str | os.PathLike[str],
    stats: LogStats | None = None,
    *,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Iterator[LogHit]:
    """Yield one :class:`LogHit` per log line of the file at ``path``, in file order.

    Never raises for what is in the file, nor for a file that cannot be opened: see the module
    docstring for what is counted in ``stats``. A file in no format linkback knows is read as
    combined (so its lines are counted as malformed); an analytics export holds no single hits
    and is a file problem (``linkback visits`` reads those).
    """
    if stats is None:
        stats = LogStats()
    source = os.fspath(path)
    try:
        fmt = sniff_file(source)
    except ValueError as exc:
        stats.file_problem("unsupported_compression", source, str(exc))
        return
    except OSError as exc:
        stats.file_problem("unreadable", source, exc.strerror or str(exc))
        return
    except EOFError:
        fmt = None  # a gzip cut short in its first lines: read_hits reports it
    if isinstance(fmt, str):
        stats.file_problem("not_an_access_log", source, f"a {fmt} export holds no single visits: use linkback visits")
        return
    for line_no, _, hit in read_hits(source, fmt or COMBINED, stats, max_line_bytes=max_line_bytes):
        stats.latin1_lines += hit[9]
        yield _log_hit(hit, source, line_no)


# --------------------------------------------------------------------------- many files


def looks_like_access_log(path: str | os.PathLike[str], *, probe_lines: int = 5) -> bool:
    """Whether one of the first ``probe_lines`` non-blank lines of the (decompressed) file is a
    line of a log format linkback reads. How directories and globs tell logs from the README,
    error.log and friends beside them: names say too little (``apache_logs``,
    ``access_log-20240101``)."""
    try:
        return not isinstance(sniff_file(os.fspath(path), probe_lines=probe_lines, exports=False), (str, type(None)))
    except (ValueError, OSError, EOFError):
        return False


def iter_log_paths(inputs: Iterable[str | os.PathLike[str]], stats: LogStats | None = None) -> list[Path]:
    """Log files named by ``inputs``: files as given, directories (recursively) and glob patterns
    expanded to the files that :func:`looks_like_access_log` (the others are noted in ``stats``
    as ``not_an_access_log``). Sorted, de-duplicated. Hidden files are left out of expansions.

    Raises SourceError for an input that names nothing, or a directory/pattern with no log.
    (``linkback.sources._paths.iter_paths`` does the same for archives, but picks files by suffix.)
    """
    return iter_traffic_paths(inputs, stats, exports=False)


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
