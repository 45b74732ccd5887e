"""Finding where a damaged WARC file can be read again.

FastWARC stops a file at the first record whose framing is wrong (``OSError: Invalid WARC
header``) and ends quietly when a gzip member is cut short. These helpers look at the raw bytes
(a :class:`FileBytes` of the file) to say what went wrong and where the next readable record
starts, so the reader can count the damage, name the byte offset and carry on.
"""

from __future__ import annotations

import os
import re
import zlib
from dataclasses import dataclass

GZIP_MAGIC = b"\x1f\x8b\x08"
_SLICE = 1 << 20
_OUT_STEP = 4 << 20
_WARC_LINE = re.compile(rb"WARC/\d")


class FileBytes:
    """The bytes of an open file by position, read with ``pread``: what an mmap of it gives the
    helpers here (``len``, slices, ``find``), without the mapping. A file cut short while it is
    read (a download overwritten, a disk filling) makes a mapped page past the new end a SIGBUS,
    which kills the process where Python cannot catch it; here it reads as the end of the file,
    which the reader counts as damage. Its length is the file's when it was opened, or where a
    read found it ending since."""

    __slots__ = ("_fd", "_size")

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._size = os.fstat(fd).st_size

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, key: slice) -> bytes:
        start, stop, step = key.indices(self._size)
        if step != 1:
            raise ValueError("FileBytes reads contiguous slices only")
        if stop <= start:
            return b""
        data = os.pread(self._fd, stop - start, start)
        if len(data) < stop - start:
            self._size = start + len(data)  # cut short since it was opened: it ends here now
        return data

    def find(self, sub: bytes, start: int = 0, end: int | None = None) -> int:
        """The offset of ``sub`` in ``[start, end)``, or -1: read a slice at a time, each overlapping
        the one before by ``len(sub) - 1`` bytes so that no match is cut in two."""
        end = self._size if end is None else min(end, self._size)
        pos = max(start, 0)
        while pos < end:
            chunk = self[pos : min(pos + _SLICE, end)]
            found = chunk.find(sub)
            if found >= 0:
                return pos + found
            if len(chunk) < min(_SLICE, end - pos):  # the file ended early (cut short since)
                return -1
            pos += max(len(chunk) - len(sub) + 1, 1)
        return -1


@dataclass(slots=True)
class Member:
    """One gzip member starting at ``start``.

    ``end`` is the offset just past it, or None if the file ends inside it (``truncated``) or its
    data is corrupt (``error``). ``size`` is its decompressed length so far, ``head`` its first
    decompressed bytes and ``tail_sample`` up to 64 KiB starting at ``sample_from``.
    """

    start: int
    end: int | None
    size: int
    head: bytes
    tail_sample: bytes = b""
    truncated: bool = False
    error: str = ""
    #: Decompression stopped once ``size`` passed the caller's ``stop_after``: the member holds
    #: at least that much, and ``end`` is None.
    stopped: bool = False


def read_member(mm, start: int, *, sample_from: int = -1, head_len: int = 65536, stop_after: int = -1) -> Member:
    """Decompress the gzip member at ``start`` (streaming, output discarded but for samples).

    ``stop_after`` >= 0: stop once more than that many bytes came out (``stopped``), so that
    asking whether a member is at least so long costs no more than that.
    """
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    pos = start
    size = 0
    head = bytearray()
    sample = bytearray()
    n = len(mm)
    try:
        while pos < n and not d.eof:
            if 0 <= stop_after < size:
                return Member(start, None, size, bytes(head), bytes(sample), stopped=True)
            chunk = mm[pos : pos + _SLICE]
            if not chunk:
                break  # the file was cut short while it was read: truncated, below
            # Bounded output per step: a member made to inflate a thousandfold costs no memory.
            out = d.decompress(chunk, _OUT_STEP)
            if len(head) < head_len:
                head += out[: head_len - len(head)]
            if sample_from >= 0 and len(sample) < 65536:
                lo = max(sample_from - size, 0)
                if lo < len(out):
                    sample += out[lo : lo + 65536 - len(sample)]
            size += len(out)
            pos += len(chunk) - len(d.unconsumed_tail) - len(d.unused_data)
    except zlib.error as exc:
        return Member(start, None, size, bytes(head), bytes(sample), error=str(exc))
    if not d.eof:
        return Member(start, None, size, bytes(head), bytes(sample), truncated=True)
    return Member(start, pos, size, bytes(head), bytes(sample))


def is_warc_start(data: bytes) -> bool:
    return _WARC_LINE.match(data.lstrip(b"\r\n")) is not None


def header_end(data, start: int = 0) -> int:
    """Offset just past the blank line ending the header block that starts at ``start``, or -1."""
    crlf = data.find(b"\r\n\r\n", start)
    lf = data.find(b"\n\n", start)
    ends = [e + 4 for e in (crlf,) if e >= 0] + [e + 2 for e in (lf,) if e >= 0]
    return min(ends) if ends else -1


def next_warc_line(mm, after: int) -> int:
    """Offset of the next line starting ``WARC/<digit>`` at or after ``after``, or -1."""
    pos = after
    while True:
        i = mm.find(b"WARC/", pos)
        if i < 0:
            return -1
        if (i == 0 or mm[i - 1 : i] == b"\n") and mm[i + 5 : i + 6].isdigit():
            return i
        pos = i + 1


def next_gzip_record(mm, after: int) -> int:
    """Offset of the next gzip member (at or after ``after``) whose data starts with a WARC line."""
    pos = after
    while True:
        i = mm.find(GZIP_MAGIC, pos)
        if i < 0:
            return -1
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            head = d.decompress(mm[i : i + 4096], 64)
        except zlib.error:
            head = b""
        if is_warc_start(head):
            return i
        pos = i + 1


def spool_gzip(mm, out, *, max_bytes: int) -> tuple[str, str, int] | None:
    """Decompress the gzip data in ``mm`` (one stream, or members one after another) into the
    file ``out``, at most ``max_bytes`` of it. None if all of it came out, else what stopped it:
    ``(key, message, byte offset in mm)``, key ``truncated_gzip``, ``corrupt_gzip``,
    ``garbage_bytes`` or ``spool_limit``."""
    pos, n, written = 0, len(mm), 0
    while pos < n:
        if mm[pos : pos + 2] != GZIP_MAGIC[:2]:
            if bytes(mm[pos:n]).strip(b"\r\n\t \x00"):
                return "garbage_bytes", f"{n - pos} bytes after the gzip data", pos
            return None
        start, d = pos, zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            while pos < n and not d.eof:
                chunk = mm[pos : pos + _SLICE]
                if not chunk:
                    break  # the file was cut short while it was read: truncated, below
                data = d.decompress(chunk, _OUT_STEP)
                pos += len(chunk) - len(d.unconsumed_tail) - len(d.unused_data)
                written += len(data)
                if written > max_bytes:
                    return "spool_limit", f"gzip data decompresses to more than {max_bytes:,} bytes; rest not read", pos
                out.write(data)
        except zlib.error as exc:
            return "corrupt_gzip", f"corrupt gzip data ({exc}); rest not read", start
        if not d.eof:
            return (
                "truncated_gzip",
                "gzip member cut short: the file ends inside it (truncated download?); records before it were read",
                start,
            )
    return None
