"""``import``: export files into claims, as a job (one function, three faces; see :mod:`linkback.faces`).

The caller reads the files and hands over their bytes, as the refbacks job is handed the
referers its caller read: a server never opens a path a client names, an upload from the
dashboard or a remote API client works the same way, and a refused row may be quoted back
because the file is the caller's own. In one process the bytes are handed over as they are;
only a JSON body carries them as base64, decoded by the job that JSON queued. A server that
receives them as a multipart upload keeps them in a file of its own until the job has read them
(:mod:`linkback.server._uploads`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typing_extensions import TypedDict  # pydantic reads it as the API's body on Python < 3.12

from linkback.errors import LinkbackError
from linkback.faces import ProgressFn, job
from linkback.imports._claims import read_export, site_host
from linkback.imports._formats import candidates

if TYPE_CHECKING:
    from linkback.store import Store

#: Refused rows each file's summary quotes (all are counted; the store keeps the first 100).
SUMMARY_REJECTS = 20


class ImportFile(TypedDict):
    """An export as its caller read it: a name to report it by, and its bytes (base64 text where
    they came as JSON: :class:`Base64File`)."""

    name: str
    data: bytes | str


class Base64File(TypedDict):
    """An export as a JSON body carries it: its name, and its bytes in base64. (The route's model
    is this one: bytes are no JSON value, and a string is never taken for the file itself.)"""

    name: str
    data: str


def _report(progress: ProgressFn | None, **counters: Any) -> None:
    if progress is not None:
        progress(counters)


@job("import", payload=("files",))
def import_claims(
    store: Store,
    *,
    files: Sequence[Base64File | ImportFile],
    site: str | None = None,
    file_format: str = "auto",
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Import backlink exports as claims: Search Console, Bing, Ahrefs, Semrush, Majestic, Moz, a
    list of URLs, or links you track. Each file is recognised by its header (``file_format``
    ``auto``), or read as the format or tool named; ``site`` says which site an export that does not
    name it is about (Search Console's, lists, referring domains). Each file is one transaction;
    rows that cannot be read are refused with their line and reason, and the rest imported.
    Returns a summary per file."""
    candidates(file_format)  # an unknown format is the caller's mistake: say so before reading
    site_host(site)
    results = []
    for done, item in enumerate(files):
        _report(progress, done=done, total=len(files), stage=str(item.get("name", "")), rows=0)
        results.append(_import_one(store, item, site, file_format, progress, done, len(files)))
    _report(progress, done=len(files), total=len(files), stage="done", rows=sum(r["rows"] for r in results))
    return {
        "files": results,
        **{k: sum(r[k] for r in results) for k in ("rows", "added", "changed", "unchanged", "rejected")},
        "failed": sum(r["status"] == "failed" for r in results),
    }


def _import_one(
    store: Store, item: Base64File | ImportFile, site: str | None, file_format: str, progress: ProgressFn | None,
    done: int, total: int,
) -> dict[str, Any]:  # fmt: skip
    from linkback.imports._store import spool, store_file  # noqa: PLC0415 - pyarrow, only when writing

    name = str(item.get("name") or "")
    summary = _failed(name, "")
    data = _bytes_of(item.get("data"))
    if data is None:
        summary["error"] = "its data is not base64"
        return summary

    def rows_read(rows: int) -> None:
        _report(progress, done=done, total=total, stage=name, rows=rows)

    try:
        parsed = read_export(name, data, site=site, file_format=file_format, progress=rows_read)
    except LinkbackError as exc:
        summary["error"] = str(exc)
        return summary
    fingerprint = hashlib.sha256(data).hexdigest()
    del data  # the claims, read, hold what the file said: its bytes go before the write (if the caller's did)
    counts = store_file(store, parsed, spool(parsed), fingerprint=fingerprint, site=site)
    summary.update(
        status="imported",
        format=parsed.format.name,
        via=parsed.format.via,
        encoding=parsed.encoding,
        rows=parsed.rows,
        claims=parsed.claimed,
        added=counts["added"],
        changed=counts["changed"],
        unchanged=counts["unchanged"],
        duplicates=parsed.duplicates,
        rejected=parsed.rejected,
        rejects=parsed.rejects[:SUMMARY_REJECTS],
        ignored=list(parsed.ignored),
        preamble=parsed.preamble,
    )
    return summary


def _bytes_of(data: bytes | str | None) -> bytes | None:
    """A file's bytes as the job was given them: as they are from a caller in this process, from
    base64 where they came as JSON text; None when that text is not base64."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    try:
        return base64.b64decode(data or "", validate=True)
    except (binascii.Error, ValueError):
        return None


def read_import_files(paths: Sequence[str | os.PathLike[str]]) -> tuple[list[ImportFile], list[dict[str, str]]]:
    """The files at ``paths`` as :func:`import_claims` takes them, and those that could not be
    read, with why (read here, on the caller's side)."""
    files: list[ImportFile] = []
    refused: list[dict[str, str]] = []
    for given in paths:
        item, why = _read_file(given)
        if item is None:
            refused.append({"name": str(given), "reason": why})
        else:
            files.append(item)
    return files, refused


def _read_file(path: str | os.PathLike[str]) -> tuple[ImportFile | None, str]:
    """The export at ``path`` as :func:`import_claims` takes it, or None and why not."""
    data, why = _read_export(Path(path))
    if data is None:
        return None, why
    return {"name": str(path), "data": data}, ""


#: The largest export file read whole (an import parses it in memory, several times its size).
MAX_IMPORT_BYTES = 256 * 2**20


def _read_export(path: Path) -> tuple[bytes | None, str]:
    """The bytes of the export at ``path``, or None and why not: a directory, a pipe or a device
    (``/dev/zero`` never ends, a FIFO may never start) or a file over :data:`MAX_IMPORT_BYTES`."""
    try:
        # Looked at before it is opened: opening a FIFO waits for a writer.
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            return None, "a directory, not an export file" if stat.S_ISDIR(mode) else "not a regular file"
        with path.open("rb") as f:
            data = f.read(MAX_IMPORT_BYTES + 1)
    except OSError as exc:
        return None, exc.strerror or str(exc)
    if len(data) > MAX_IMPORT_BYTES:
        return None, f"larger than {MAX_IMPORT_BYTES // 2**20} MB: split the export (each part with its header row)"
    return data, ""


#: Files read are imported together, one job, up to this many bytes: a larger file is a job of
#: its own, so that no more than one large file's bytes are held at once.
JOB_BYTES = 64 * 2**20


def import_files(
    store: Store | Callable[[], Any],
    paths: Sequence[str | os.PathLike[str]],
    *,
    site: str | None = None,
    file_format: str = "auto",
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """:func:`import_claims` for files on this machine, read here and imported (in the server that
    owns the store, if one does) a few at a time, :data:`JOB_BYTES` of them at most or one larger
    file; those that could not be read are in the summary as failed. ``store`` may be a callable
    that opens it, called once a file could be read (none could: none is opened)."""
    candidates(file_format)  # an unknown format or site is the caller's mistake: before any file is read
    site_host(site)
    results: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    batch: list[ImportFile] = []
    size = first = 0

    def flush() -> None:
        nonlocal store, batch, size
        if batch:
            store = store() if callable(store) else store
            report = _one_of(progress, first, len(paths))
            results.append(import_claims(store, files=batch, site=site, file_format=file_format, progress=report))
        batch, size = [], 0

    for done, path in enumerate(paths):
        file_size = _size_of(Path(path))
        if batch and size + file_size > JOB_BYTES:
            flush()  # before the next file is read: never more than one job's bytes and one file's
        item, why = _read_file(path)
        if item is None:
            refused.append(_failed(str(path), why))
            continue
        if not batch:
            first = done
        batch.append(item)
        size += file_size
    flush()
    return merged_results([*results, {"files": refused, "failed": len(refused)}])


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # reading it says why


def _one_of(progress: ProgressFn | None, done: int, total: int) -> ProgressFn | None:
    """``progress`` for one file's import, as the ``done``-th of ``total``."""
    if progress is None:
        return None
    fn = progress

    def shifted(counters: dict[str, Any]) -> None:
        if counters.get("stage") != "done":
            fn({**counters, "done": done + counters.get("done", 0), "total": total})

    return shifted


def merged_results(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The summaries of several :func:`import_claims` calls as one."""
    return {
        "files": [f for r in results for f in r["files"]],
        **{k: sum(r.get(k, 0) for r in results) for k in ("rows", "added", "changed", "unchanged", "rejected")},
        "failed": sum(r.get("failed", 0) for r in results),
    }


def _failed(name: str, reason: str) -> dict[str, Any]:
    """A file's summary before (or instead of) its import: nothing read, ``reason`` why."""
    return {"name": name, "status": "failed", "format": "", "via": "", "encoding": "", "rows": 0, "claims": 0,
            "added": 0, "changed": 0, "unchanged": 0, "duplicates": 0, "rejected": 0, "rejects": [], "ignored": [],
            "preamble": 0, "error": reason}  # fmt: skip
