"""The archives a Spark run reads, numbered, and the work items the local ones are cut into.

An input is

* a local path, directory or glob (no ``scheme://``): expanded as ``linkback ingest`` expands it
  (:func:`~linkback.sources.warc.iter_paths`), and a WARC cut in the byte ranges ingest's workers
  read (:func:`linkback._workers.ranges`): one Spark task per range. The files must be readable
  at the same path by the driver and every executor (local mode, or a shared file system);
* an ``http://`` or ``https://`` URL: one task downloads it and reads it whole;
* any other ``scheme://`` URI (``s3a://``, ``s3://`` on EMR, ``hdfs://``, ``gs://``, ``abfs://``,
  ``file:``...): passed to Spark as it is, which lists it (globs too) and reads it through the
  Hadoop file system its scheme names, with the cluster's configuration and credentials; one
  task per file. Spark reads such a file as one value: at most 2 GB a file (Common Crawl's are
  about 1 GB).

A manifest (``--manifest FILE``) lists inputs one per line (blank lines and ``#`` comments
skipped; gzipped if its name ends in ``.gz``, as Common Crawl's ``warc.paths.gz``); ``base``
is put before each line that is not already a URI or an absolute path.
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from linkback import _workers
from linkback.errors import SourceError
from linkback.sources.warc import iter_paths, sniff_archive
from linkback.sources.wat import is_wat
from linkback.spark._layout import MAX_ARCHIVES, RANGE_BITS

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def kind_of(uri: str) -> str:
    """``local``, ``http`` or ``hadoop`` (see the module docstring)."""
    if not _SCHEME.match(uri) or re.match(r"^[A-Za-z]:[\\/]", uri):  # C:\... is a path
        return "local"
    scheme = uri.split(":", 1)[0].lower()
    return "http" if scheme in ("http", "https") else "hadoop"


def read_manifest(path: str | os.PathLike[str], base: str | None = None) -> list[str]:
    """The inputs a manifest file lists (see the module docstring)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read the manifest: {exc.strerror or exc}", path=str(p)) from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise SourceError(f"manifest is not valid gzip ({exc})", path=str(p)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"manifest is not UTF-8 text (byte {exc.start})", path=str(p)) from None
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if base and kind_of(line) == "local" and not os.path.isabs(line):
            line = base.rstrip("/") + "/" + line.lstrip("/")
        out.append(line)
    if not out:
        raise SourceError("manifest lists no inputs", path=str(p))
    return out


@dataclass
class Archive:
    """One input file of the run (a row of ``archives``)."""

    archive_id: int
    source: str  # the path or URI
    kind: str  # local, http, hadoop
    size: int | None = None
    failed: str = ""  # why it could not be read at all (found before any task ran)


def _work(archive_id: int, range_no: int, kind: str, source: str, start: int = 0, end: int = -1,
          align: bool = False) -> dict:  # fmt: skip
    return {"archive_id": archive_id, "range_no": range_no, "kind": kind, "source": source, "start": start,
            "end": end, "align": align, "content": None}  # fmt: skip


def local_work(archive: Archive) -> list[dict]:
    """The work items of a local file: its ranges as ingest cuts them (an ARC or a WAT file:
    itself, read whole, as ingest reads it). An unreadable file gets none, and ``failed`` says why."""
    path = Path(archive.source)
    try:
        archive.size = path.stat().st_size
        kind = sniff_archive(path)
        if kind != "warc" or is_wat(path):  # a WAT is read whole, as ingest reads it
            return [_work(archive.archive_id, 0, "file", archive.source)]
        ranges = list(_workers.ranges(path))
    except (SourceError, OSError) as exc:
        archive.failed = str(exc) if isinstance(exc, SourceError) else f"{path}: {exc.strerror or exc}"
        return []
    if len(ranges) >= 1 << RANGE_BITS:
        archive.failed = f"{path}: {len(ranges)} ranges, more than a run numbers (split the file)"
        return []
    return [
        _work(archive.archive_id, no, "range", archive.source, start, end, align)
        for no, (start, end, align) in enumerate(ranges)
    ]


def plan(inputs: Iterable[str]) -> tuple[list[Archive], list[dict], list[str]]:
    """(the local and http archives, numbered from 1, with their work items; the Hadoop URIs,
    for Spark to list). Local paths are expanded and sorted as ingest does; raises SourceError
    for a local input that names nothing."""
    inputs = list(inputs)
    local = [i for i in inputs if kind_of(i) == "local"]
    http = list(dict.fromkeys(i for i in inputs if kind_of(i) == "http"))
    hadoop = list(dict.fromkeys(i for i in inputs if kind_of(i) == "hadoop"))
    archives: list[Archive] = []
    work: list[dict] = []
    for path in iter_paths(local) if local else []:
        archive = Archive(len(archives) + 1, os.path.abspath(path), "local")
        archives.append(archive)
        work += local_work(archive)
    for url in http:
        archive = Archive(len(archives) + 1, url, "http")
        archives.append(archive)
        work.append(_work(archive.archive_id, 0, "http", url))
    if len(archives) > MAX_ARCHIVES:
        raise SourceError(f"{len(archives)} files: a run reads at most {MAX_ARCHIVES}")
    return archives, work, hadoop
