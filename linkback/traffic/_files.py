"""Traffic files as lines: compression told by magic bytes, lines read in bounded pieces, and what
reading did (:class:`LogStats`).

A file may be plain, gzip (one member or several, as ``logrotate`` concatenates them), bzip2 or
xz; the compression is told by its first bytes, because rotated logs are named ``access.log.2.gz``
as often as ``access.log-20240101`` (compressed or not). Lines come as Latin-1 text (one char per
byte, so nothing in a line can fail to decode); a line longer than ``max_line_bytes`` is skipped
as ``too_long`` and its bytes are dropped as they are read, so memory stays bounded whatever the
file holds. A damaged gzip stream gives every line before the damage, then an error that says
at which byte of the file the damage is (:class:`GzipDamaged`, :class:`GzipCutShort`).
"""

from __future__ import annotations

import bz2
import collections
import io
import lzma
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

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
    Referer —, ``bad_time``, ``too_long``, ``bad_json``, ``comment``...). ``errors`` holds the first
    :data:`MAX_EXAMPLES_PER_KEY` examples per key, ``"<path>:<line>: <key>: <excerpt>"``, and one
    line per file problem. ``formats`` counts the files read per format.
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


_GZIP = b"\x1f\x8b"
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
        return io.BufferedReader(_GzipReader(path))  # type: ignore[return-value]
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


#: zlib's words for a member whose trailer disagrees with its data, and what they mean here.
_TRAILER_ERRORS = {
    "incorrect data check": "its data does not match its CRC-32 (lines read from it may hold damaged bytes)",
    "incorrect length check": "its data does not match its stored length",
}


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


class GzipDamaged(OSError):
    """Gzip data that cannot be decompressed or fails its check; the message says where."""


class GzipCutShort(EOFError):
    """A gzip file that ends inside a member; the message says where."""


#: Compressed bytes read from the file at a time: their lines (~10 times as many bytes) stay in the
#: CPU's cache while they are split (with 64 KiB pieces, splitting a 57 MB log took 45 % more CPU),
#: and a piece with damage is fed again byte by byte.
_GZIP_PIECE = 16 * 1024


class _GzipReader(io.RawIOBase):
    """The decompressed bytes of a gzip file: one member or several (zero bytes between them
    skipped, as the gzip module does). At damage, every byte that came out before it is handed
    over, then :class:`GzipDamaged` or :class:`GzipCutShort` raised with the byte offset: the gzip
    module drops what the piece holding the damage gave (up to 8 KiB of compressed lines, 128 KiB
    from Python 3.12) and cannot say where the damage is."""

    def __init__(self, path: str) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 (closed by close())
        self._rewind()

    def _rewind(self) -> None:
        self._file.seek(0)
        self._in = b""  # compressed bytes read but not yet decompressed
        self._in_at = 0  # the file offset of _in[0]
        self._inflate: Any = None  # None between members
        self._member = 0  # the file offset where the member being read starts
        self._held = b""  # what came out before the damage, not yet handed over
        self._error: BaseException | None = None
        self._out = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        self._file.close()
        super().close()

    def readinto(self, b: Any) -> int:
        if not len(b):
            return 0  # zlib reads a max_length of 0 as no limit
        data = self._decompress(len(b))
        b[: len(data)] = data
        self._out += len(data)
        return len(data)

    def tell(self) -> int:
        return self._out

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._out
        elif whence == io.SEEK_END:
            while piece := self._decompress(CHUNK_BYTES):
                self._out += len(piece)
            offset += self._out
        if offset < self._out:
            self._rewind()
        while self._out < offset and (piece := self._decompress(min(offset - self._out, CHUNK_BYTES))):
            self._out += len(piece)
        return self._out

    def _decompress(self, size: int) -> bytes:
        """Up to ``size`` bytes; ``b""`` at the end of the file."""
        while True:
            if self._held:
                out, self._held = self._held[:size], self._held[size:]
                return out
            if self._error is not None:
                raise self._error
            if not self._in or (self._inflate is None and len(self._in) < 2):
                more = self._file.read(_GZIP_PIECE)
                if more:
                    self._in += more
                    continue
                if self._inflate is not None:
                    # What zlib still holds (a call stopped at size) comes out before the end is told.
                    self._held = self._inflate.decompress(b"", size)
                    if not self._held:
                        self._error = GzipCutShort(
                            f"gzip file cut short at byte {self._in_at:,}: it ends inside the member that starts "
                            f"at byte {self._member:,} (a copy or download that did not finish?)"
                        )
                    continue
                if not self._in:
                    return b""
            if self._inflate is None and not self._start_member():
                continue
            before = self._inflate.copy()
            data = self._in
            try:
                out = self._inflate.decompress(data, size)
            except zlib.error as exc:
                self._held, at = _up_to_damage(before, data)
                self._error = self._damage(self._in_at + at, str(exc).rpartition(": ")[2])
                continue
            rest = self._inflate.unused_data if self._inflate.eof else self._inflate.unconsumed_tail
            if self._inflate.eof:
                self._inflate = None
            self._in_at += len(data) - len(rest)
            self._in = rest
            if out:
                return out

    def _start_member(self) -> bool:
        """Begin the member at ``_in``; False with zero padding skipped (look again) or the error set."""
        if self._in_at:
            rest = self._in.lstrip(b"\x00")
            self._in_at, self._in = self._in_at + len(self._in) - len(rest), rest
            if not rest:
                return False
        if not self._in.startswith(_GZIP):
            self._error = GzipDamaged(
                f"gzip file damaged: the bytes from byte {self._in_at:,} on are not gzip data (a whole member ends there)"
            )
            return False
        self._inflate, self._member = zlib.decompressobj(16 + zlib.MAX_WBITS), self._in_at
        return True

    def _damage(self, at: int, what: str) -> GzipDamaged:
        if what in _TRAILER_ERRORS:
            return GzipDamaged(
                f"gzip file damaged: the member that starts at byte {self._member:,} fails its check at byte "
                f"{at:,}: {_TRAILER_ERRORS[what]}"
            )
        return GzipDamaged(
            f"gzip file damaged at byte {at:,} (in the member that starts at byte {self._member:,}): {what}"
        )


def _up_to_damage(inflate: Any, data: bytes) -> tuple[bytes, int]:
    """What ``inflate`` (its state before ``data``) gives before it fails on ``data``, and the index
    of the byte it fails at: zlib fails at the byte that completes what it cannot decode, however
    the input is split, and gives every byte before it."""
    out = []
    for i in range(len(data)):
        try:
            out.append(inflate.decompress(data[i : i + 1]))
        except zlib.error:
            return b"".join(out), i
    return b"".join(out), len(data) - 1
