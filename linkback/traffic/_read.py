"""Which traffic files to read and what each holds: a log format or an analytics export, told by
the first lines of its (decompressed) content, never by its name (``apache_logs``,
``access_log-20240101``, ``export.csv`` say too little).
"""

from __future__ import annotations

import glob as _glob
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from linkback.errors import SourceError
from linkback.traffic._exports import decode_head, sniff_export
from linkback.traffic._files import (
    MAX_LINE_BYTES,
    STREAM_ERRORS,
    LogStats,
    describe_damage,
    iter_lines,
    open_counted,
    open_file,
    stream_broke,
)
from linkback.traffic._formats import Hit, LineFormat, W3CFormat, sniff

__all__ = ["FileKind", "iter_traffic_paths", "read_hits", "sniff_file", "sniff_file_or_damage"]

#: Lines looked at to tell a file's format.
PROBE_LINES = 20
#: Bytes looked at to tell an export.
PROBE_BYTES = 64 * 1024

#: What a file is: a log format (each file gets its own instance), an export's kind, or None.
FileKind = LineFormat | W3CFormat | Literal["plausible", "ga4"] | None


def sniff_file(path: str, *, probe_lines: int = PROBE_LINES, exports: bool = True) -> FileKind:
    """What the file at ``path`` holds (see :data:`FileKind`). Raises OSError or ValueError (zstd)."""
    return sniff_file_or_damage(path, probe_lines=probe_lines, exports=exports)[0]


def sniff_file_or_damage(path: str, *, probe_lines: int = PROBE_LINES, exports: bool = True) -> tuple[FileKind, str]:
    """:func:`sniff_file`, and when it finds nothing because the compressed data breaks off before
    a line tells the format, what broke, where, and what came before it (else ``""``): such a file
    is a damaged one, not a file of another kind."""
    with open_file(path) as fh:
        head, broke = _head(fh)
    if exports:
        kind = sniff_export(decode_head(head, whole=len(head) < PROBE_BYTES))
        if kind is not None:
            return kind, ""  # type: ignore[return-value]
    text = head.decode("latin-1")
    if len(head) == PROBE_BYTES:
        text = text[: text.rfind("\n") + 1] or text  # the last line may be cut
    lines = [ln.rstrip("\r") for ln in text.split("\n") if ln.strip()][:probe_lines]
    found = sniff(lines)
    if found is not None:
        return found.fresh(), ""
    if broke is None:
        return None, ""
    whole = head.count(b"\n")  # the line the damage cuts is not read
    before = (
        "no whole line comes before it"
        if not whole
        else f"the {whole:,} line{'s' * (whole != 1)} before it {'are' if whole != 1 else 'is'} in no format linkback reads"
    )
    return None, f"{describe_damage(path, broke)}; {before}"


def _head(fh: Any) -> tuple[bytes, BaseException | None]:
    """Up to :data:`PROBE_BYTES` of the file; of a compressed stream cut short, what came before the
    cut, and what cut it."""
    read = getattr(fh, "read1", fh.read)
    parts: list[bytes] = []
    size = 0
    broke = None
    try:
        while size < PROBE_BYTES:
            piece = read(PROBE_BYTES - size)
            if not piece:
                break
            parts.append(piece)
            size += len(piece)
    except STREAM_ERRORS as exc:
        broke = exc  # when the lines before tell the format, reading says so after them
    return b"".join(parts), broke


def read_hits(
    path: str, fmt: LineFormat | W3CFormat, stats: LogStats, *, max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, str, Hit]]:
    """``(line number, line, hit)`` for each line of the file at ``path`` that is a request in
    ``fmt``; every other line is counted in ``stats`` (never raised). A file that cannot be
    opened, or whose compressed data breaks off, is a file problem; the lines before the break
    are kept."""
    fh = open_counted(path, stats)
    if fh is None:
        return
    stats.files += 1
    stats.formats[fmt.name] += 1
    parse = fmt.parse
    line_no = 0
    with fh:
        try:
            for line in iter_lines(fh, max_line_bytes):
                line_no += 1
                stats.lines += 1
                if line is None:
                    stats.skip("too_long", path, line_no, f"longer than {max_line_bytes} bytes")
                    continue
                hit = parse(line)
                if type(hit) is str:
                    stats.skip(hit, path, line_no, line)
                    continue
                stats.parsed += 1
                yield line_no, line, hit  # type: ignore[misc]
        except STREAM_ERRORS as exc:
            stream_broke(stats, path, line_no, exc)


def _walk(top: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            q = Path(dirpath, name)
            if not name.startswith(".") and q.is_file():
                yield q


def _readable_kind(path: Path, exports: bool) -> tuple[bool, str]:
    """Whether a directory's or pattern's file is read, and if not for damage, the damage."""
    try:
        kind, damage = sniff_file_or_damage(os.fspath(path), probe_lines=5, exports=exports)
    except (ValueError, *STREAM_ERRORS):
        return False, ""
    return kind is not None, damage


def iter_traffic_paths(
    inputs: Iterable[str | os.PathLike[str]], stats: LogStats | None = None, *, exports: bool = True
) -> list[Path]:
    """The files named by ``inputs``: files as given, directories (recursively) and glob patterns
    expanded to the files whose content is a log format (or, with ``exports``, an analytics
    export); the others are noted in ``stats`` as ``not_an_access_log``. Sorted, de-duplicated;
    hidden files are left out of expansions.

    Raises SourceError for an input that names nothing, or a directory/pattern with no log.
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
            readable, damage = _readable_kind(q, exports)
            if readable:
                hits.append(q)
            elif stats is not None:
                why = damage or "no log line or export header at its start"
                stats.file_problem("not_an_access_log", os.fspath(q), f"skipped: {why}")
        if not hits:
            raise SourceError(f"{text!r} holds no access logs in a format linkback reads")
        found.update(hits)
    return sorted(found)
