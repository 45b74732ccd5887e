"""Traffic files as lines: compression told by magic bytes, lines read in bounded pieces, and what
reading did (:class:`LogStats`).

A file may be plain, gzip (one member or several, as ``logrotate`` concatenates them), bzip2 or
xz; the compression is told by its first bytes, because rotated logs are named ``access.log.2.gz``
as often as ``access.log-20240101`` (compressed or not). Lines come as Latin-1 text (one char per
byte, so nothing in a line can fail to decode); a line longer than ``max_line_bytes`` is skipped
as ``too_long`` and its bytes are dropped as they are read, so memory stays bounded whatever the
file holds. A damaged gzip stream gives every line before the damage, then an error that says
at which byte of the file the damage is (:class:`~linkback._gzip.GzipReader`).
"""

from __future__ import annotations

import bz2
import collections
import io
import lzma
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from linkback._gzip import GZIP_MAGIC as _GZIP
from linkback._gzip import GzipCutShort, GzipDamaged, GzipReader

__all__ = [
    "MAX_EXAMPLES_PER_KEY",
    "MAX_LINE_BYTES",
    "STREAM_ERRORS",
    "LogStats",
    "describe_damage",
    "iter_line_chunks",
    "iter_lines",
    "open_file",
]

#: A line longer than this (in bytes, as stored) is skipped as ``too_long``. Apache caps the
#: request line and each header at 8 KiB; fully ``\\xHH``-escaped that is 32 KiB per field.
MAX_LINE_BYTES = 64 * 1024
#: Examples kept in ``LogStats.errors`` per skip key, so one flood does not hide the rest.
MAX_EXAMPLES_PER_KEY = 10
#: Bytes asked of the (decompressing) reader at a time.
CHUNK_BYTES = 1 << 20

#: Skip keys that are not damage (a W3C header line): counted, never quoted as errors.
QUIET_KEYS = frozenset({"comment"})


@dataclass
class LogStats:
    """What reading one or more files did; pass one instance to several files to sum them.

    ``lines`` counts every line read; each is either ``parsed`` or counted under one key of
    ``skipped`` (``blank``, ``malformed``, ``common_format`` — a ``common`` log line, which has no
    Referer —, ``bad_time``, ``bad_host``, ``too_long``, ``bad_json``, ``comment``...). ``errors``
    holds the first :data:`MAX_EXAMPLES_PER_KEY` examples per key, ``"<path>:<line>: <key>:
    <excerpt>"``, and one line per file problem. ``formats`` counts the files read per format.
    """

    files: int = 0
    lines: int = 0
    parsed: int = 0
    latin1_lines: int = 0
    skipped: collections.Counter[str] = field(default_factory=collections.Counter)
    file_problems: collections.Counter[str] = field(default_factory=collections.Counter)
    errors: list[str] = field(default_factory=list)
    formats: collections.Counter[str] = field(default_factory=collections.Counter)

    def skip(self, key: str, path: str, line_no: int, text: str) -> None:
        self.skipped[key] += 1
        if key not in QUIET_KEYS and self.skipped[key] <= MAX_EXAMPLES_PER_KEY:
            self.errors.append(f"{path}:{line_no}: {key}: {text[:160]!r}")

    def file_problem(self, key: str, path: str, message: str) -> None:
        self.file_problems[key] += 1
        self.errors.append(f"{path}: {key}: {message}")

    @property
    def accounted(self) -> bool:
        return self.lines == self.parsed + sum(self.skipped.values())


_BZIP2 = b"BZh"
_XZ = b"\xfd7zXZ\x00"
_ZSTD = b"\x28\xb5\x2f\xfd"

#: What a compressed stream raises when it is cut short or corrupt (a gzip one: GzipDamaged, an
#: OSError, or GzipCutShort, an EOFError).
STREAM_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError)


def open_file(path: str) -> BinaryIO:
    """The file's (decompressed) bytes. Raises OSError, or ValueError for zstd."""
    with open(path, "rb") as fh:
        head = fh.read(6)
    if head.startswith(_GZIP):
        return io.BufferedReader(GzipReader(path))  # type: ignore[return-value]
    if head.startswith(_BZIP2):
        return bz2.open(path, "rb")  # type: ignore[return-value]
    if head.startswith(_XZ):
        return lzma.open(path, "rb")  # type: ignore[return-value]
    if head.startswith(_ZSTD):
        raise ValueError("zstd-compressed; decompress it first (zstd -d)")
    return open(path, "rb")


def open_counted(path: str, stats: LogStats) -> BinaryIO | None:
    """:func:`open_file`, or None with the reason counted in ``stats`` as a file problem."""
    try:
        return open_file(path)
    except ValueError as exc:
        stats.file_problem("unsupported_compression", path, str(exc))
    except OSError as exc:
        stats.file_problem("unreadable", path, exc.strerror or str(exc))
    return None


def stream_broke(stats: LogStats, path: str, line_no: int, exc: BaseException) -> None:
    """Count a compressed stream that broke off after ``line_no`` (the lines before it are kept:
    rotated logs are often copied while still being compressed)."""
    key = "truncated_stream" if isinstance(exc, EOFError) else "read_error"
    stats.file_problem(key, path, f"after line {line_no}: {describe_damage(path, exc)}")


def iter_line_chunks(fh: BinaryIO, cap: int = MAX_LINE_BYTES) -> Iterator[list[str | None]]:
    """The lines of ``fh`` as Latin-1 text without the end of line (``\n`` or ``\r\n``), a list
    of them per piece read; ``None`` for a line longer than ``cap`` bytes. A stream error (a gzip
    cut short) propagates after every line before it has been handed over.

    ``read1`` hands over one decompressed piece at a time, so the lines of a piece that came out
    whole are handed over before a later piece fails.
    """
    read = getattr(fh, "read1", fh.read)
    rest = ""
    dropping = False  # inside a line already too long: drop until its end
    while True:
        chunk = read(CHUNK_BYTES)
        if not chunk:
            break
        text = chunk.decode("latin-1")
        out: list[str | None] = []
        if dropping:
            end = text.find("\n")
            if end < 0:
                continue
            dropping = False
            out.append(None)
            text = text[end + 1 :]
        lines = text.split("\n")
        if rest:
            lines[0] = rest + lines[0]
        rest = lines.pop()
        if "\r" in text or max(map(len, lines), default=0) > cap:
            out += [None if len(line) > cap else line.removesuffix("\r") for line in lines]
        else:
            out += lines
        if len(rest) > cap:
            rest, dropping = "", True
        if out:
            yield out
    if dropping:
        yield [None]
    elif rest:
        yield [rest.removesuffix("\r")]


def iter_lines(fh: BinaryIO, cap: int = MAX_LINE_BYTES) -> Iterator[str | None]:
    """:func:`iter_line_chunks`, one line at a time."""
    for chunk in iter_line_chunks(fh, cap):
        yield from chunk


def describe_damage(path: str, exc: BaseException) -> str:
    """What ``exc``, raised while the file at ``path`` was decompressed, means: for gzip, what the
    damage is and at which byte of the file; for bzip2 and xz, their decompressor's words."""
    if isinstance(exc, (GzipDamaged, GzipCutShort)):
        return str(exc)
    try:
        with open(path, "rb") as fh:
            head = fh.read(6)
    except OSError:
        return str(exc)
    # zlib's, bz2's and lzma's messages do not say which file format they are about.
    kind = "gzip" if head.startswith(_GZIP) else "bzip2" if head.startswith(_BZIP2) else "xz"
    if not head.startswith((_GZIP, _BZIP2, _XZ)):
        return str(exc)  # not compressed: the disk's error
    return f"{kind} file {'cut short' if isinstance(exc, EOFError) else 'damaged'}: {exc}"
