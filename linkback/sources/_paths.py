"""Naming archive files: expanding inputs to paths, and telling WARC from ARC by magic bytes."""

from __future__ import annotations

import glob as _glob
import os
import stat
import zlib
from collections.abc import Iterable
from pathlib import Path

from ..errors import NotAnArchive, SourceError
from . import _recovery as rec_

#: File names :func:`iter_paths` picks up from directories and globs.
ARCHIVE_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz", ".warc.zst", ".warc.lz4")
#: Common Crawl's WAT files, read by ingest's WAT reader (told by their records; by their name
#: when damage leaves that open).
#: A directory's are picked up when it holds no WARC/ARC file: beside the WARCs of the same
#: crawl they are the same captures again, lite, and whichever came first would be kept. Not WET
#: files (``.warc.wet.gz``): their plain text holds no links.
WAT_SUFFIXES = (".warc.wat", ".warc.wat.gz")
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_LZ4_MAGIC = b"\x04\x22\x4d\x18"


def iter_paths(inputs: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Archive files named by ``inputs``: files as given, directories (recursively) and globs
    expanded to files ending in one of :data:`ARCHIVE_SUFFIXES`, or, in a directory that holds
    none, :data:`WAT_SUFFIXES`. Sorted, de-duplicated.

    Raises SourceError for an input that matches nothing.
    """
    found: set[Path] = set()
    for item in inputs:
        text = os.fspath(item)
        p = Path(text)
        if p.is_file():
            found.add(p)
            continue
        if p.is_dir():
            hits = _archives_in(p)
            if not hits:
                raise SourceError(
                    f"directory {text!r} holds no WARC/ARC files or WAT files "
                    f"(looked for names ending {', '.join(ARCHIVE_SUFFIXES + WAT_SUFFIXES)})"
                )
            found.update(hits)
            continue
        if _glob.has_magic(text):
            hits = []
            for name in _glob.glob(text, recursive=True):
                q = Path(name)
                if q.is_file():
                    hits.append(q)
                elif q.is_dir():
                    hits += _archives_in(q)
            if not hits:
                raise SourceError(f"pattern {text!r} matches no files")
            found.update(hits)
            continue
        raise SourceError(f"{text!r} does not exist")
    return sorted(found)


def _archives_in(directory: Path) -> list[Path]:
    """A directory's WARC/ARC files (recursively), or its WAT files when it holds none."""
    files = [q for q in directory.rglob("*") if q.is_file()]
    return [q for q in files if q.name.lower().endswith(ARCHIVE_SUFFIXES)] or [
        q for q in files if q.name.lower().endswith(WAT_SUFFIXES)
    ]


def _first_bytes(path: str, head: bytes, n: int = 64) -> bytes:
    """The first ``n`` bytes of the (decompressed) archive data."""
    if head.startswith(rec_.GZIP_MAGIC[:2]):
        with open(path, "rb") as fh:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                return d.decompress(fh.read(65536), n)
            except zlib.error as exc:
                # A corrupt first member costs its own record, as any other does: the file is
                # an archive if a member after it holds a WARC record (the reader skips to it).
                data = rec_.FileBytes(fh.fileno())
                after = rec_.next_gzip_record(data, 1)
                if after >= 0:
                    return rec_.read_member(data, after, head_len=n, stop_after=n).head
                raise NotAnArchive(f"gzip data that does not decompress ({exc})", path=path, offset=0) from None
    if head.startswith((_ZSTD_MAGIC, _LZ4_MAGIC)):
        from fastwarc.stream_io import Lz4Reader, ZstdReader  # noqa: PLC0415

        cls = ZstdReader if head.startswith(_ZSTD_MAGIC) else Lz4Reader
        try:
            with cls(path) as reader:
                return reader.read(n)
        except OSError as exc:
            raise NotAnArchive(f"compressed data that does not decompress ({exc})", path=path, offset=0) from None
    return head[:n]


def sniff_archive(path: str | os.PathLike[str]) -> str:
    """``"warc"`` or ``"arc"``, judged by the first bytes (after decompression), not the name.

    Raises NotAnArchive (offset 0) with one line saying what the file starts with instead.
    """
    p = os.fspath(path)
    try:
        # Non-blocking, and a regular file or nothing: a FIFO or device swapped in for the file
        # would otherwise hang the reader (a server's job lane) for ever.
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise SourceError("not a regular file", path=p)
            head = os.read(fd, 64)
        finally:
            os.close(fd)
    except OSError as exc:
        raise SourceError(f"cannot open: {exc.strerror or exc}", path=p) from None
    if not head:
        raise NotAnArchive("not a WARC or ARC file (empty file)", path=p, offset=0)
    data = _first_bytes(p, head).lstrip(b"\r\n\t ")
    if rec_.is_warc_start(data):
        return "warc"
    if data.startswith(b"filedesc:"):
        return "arc"
    what = "gzip data" if head.startswith(rec_.GZIP_MAGIC[:2]) else "file"
    raise NotAnArchive(f"not a WARC or ARC file ({what} starts with {data[:16]!r})", path=p, offset=0)
