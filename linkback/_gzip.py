"""Reading a gzip file whose damage is told: where it is, and everything before it handed over.

:class:`GzipReader` is the decompressed bytes of a gzip file (one member or several) read by
zlib, which checks each member's CRC-32 and length. At damage it hands over every byte that came
out before it, then raises :class:`GzipDamaged` (:class:`GzipCheckFailed` when only the
trailer's check disagrees) or :class:`GzipCutShort`, naming the byte of the file. The gzip module
drops what the piece holding the damage gave and cannot say where it is; DuckDB's reader does
not check the CRC at all. Access logs (:mod:`linkback.traffic`) are read through it, and Common
Crawl's graph files are checked with it (:mod:`linkback.cc`).
"""

from __future__ import annotations

import io
import zlib
from typing import Any

GZIP_MAGIC = b"\x1f\x8b"
#: Decompressed bytes made at a time when the reader seeks to the end.
CHUNK_BYTES = 1 << 20

#: zlib's words for a member whose trailer disagrees with its data, and what they mean here.
_TRAILER_ERRORS = {
    "incorrect data check": "its data does not match its CRC-32 (lines read from it may hold damaged bytes)",
    "incorrect length check": "its data does not match its stored length",
}


class GzipDamaged(OSError):
    """Gzip data that cannot be decompressed or fails its check; the message says where."""


class GzipCheckFailed(GzipDamaged):
    """A member whose data inflates but disagrees with its trailer (CRC-32 or length)."""


class GzipCutShort(EOFError):
    """A gzip file that ends inside a member; the message says where."""


#: Compressed bytes read from the file at a time: their lines (~10 times as many bytes) stay in the
#: CPU's cache while they are split (with 64 KiB pieces, splitting a 57 MB log took 45 % more CPU),
#: and a piece with damage is fed again byte by byte.
_GZIP_PIECE = 16 * 1024


class GzipReader(io.RawIOBase):
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
        if not self._in.startswith(GZIP_MAGIC):
            self._error = GzipDamaged(
                f"gzip file damaged: the bytes from byte {self._in_at:,} on are not gzip data (a whole member ends there)"
            )
            return False
        self._inflate, self._member = zlib.decompressobj(16 + zlib.MAX_WBITS), self._in_at
        return True

    def _damage(self, at: int, what: str) -> GzipDamaged:
        if what in _TRAILER_ERRORS:
            return GzipCheckFailed(
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
