"""``import``: export files into claims, as a job (one function, three faces; see :mod:`linkback.faces`).

The caller reads the files and hands over their bytes, as the refbacks job is handed the
referers its caller read: a server never opens a path a client names, an upload from the
dashboard or a remote API client works the same way, and a refused row may be quoted back
because the file is the caller's own. In one process the bytes are handed over as they are, or
the file's path, which the job reads a chunk at a time (``linkback import`` on a store of its
own: an export of any size costs the same memory); only a JSON body carries them as base64,
decoded by the job that JSON queued. A server that receives them as a multipart upload keeps
them in a file of its own until the job has read them (:mod:`linkback.server._uploads`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from typing_extensions import TypedDict  # pydantic reads it as the API's body on Python < 3.12

from linkback.errors import LinkbackError
from linkback.faces import ProgressFn, job
from linkback.imports._claims import read_export, site_host
from linkback.imports._csvread import CHUNK_BYTES
from linkback.imports._formats import candidates

if TYPE_CHECKING:
    from linkback.store import Store

#: Refused rows each file's summary quotes with their line and reason (``rejects``): all are
#: counted, by kind of reason (``reasons``), and those not quoted too (``rejects_not_shown``); the
#: store keeps the first 100.
SUMMARY_REJECTS = 20


class ImportFile(TypedDict):
    """An export as its caller read it: a name to report it by, and its bytes (base64 text where
    they came as JSON: :class:`Base64File`), or in one process its path (the job reads the file)."""

    name: str
    data: bytes | str | Path


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

    def rows_read(rows: int) -> None:
        _report(progress, done=done, total=total, stage=name, rows=rows)

    try:
        export = _export_file(item.get("data"))
    except OSError as exc:
        summary["error"] = f"{exc.strerror or exc}: not read"
        return summary
    if export is None:
        summary["error"] = "its data is not base64"
        return summary
    try:
        parsed = read_export(name, export, site=site, file_format=file_format, progress=rows_read)
        spooled = spool(parsed, _spool_directory(store))
        try:
            fingerprint = _fingerprint(export)
        except BaseException:
            spooled.close()
            raise
    except LinkbackError as exc:
        summary["error"] = str(exc)
        return summary
    finally:
        export.close()  # read: its bytes go before the write (if the caller's did)
    with spooled:
        counts = store_file(store, parsed, spooled, fingerprint=fingerprint, site=site)
    rejects = parsed.rejects[:SUMMARY_REJECTS]
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
        rejects=rejects,
        rejects_not_shown=parsed.rejected - len(rejects),
        reasons=parsed.reasons_by_count(),
        ignored=list(parsed.ignored),
        preamble=parsed.preamble,
    )
    return summary


def _export_file(data: bytes | str | Path | None) -> BinaryIO | None:
    """An export's bytes as a binary file: the file at a path (opened as :func:`_open_export`
    opens it), the bytes given, or those of base64 text; None when that text is not base64.
    Raises OSError when the file cannot be opened."""
    if isinstance(data, Path):
        return _open_export(data)
    given = _bytes_of(data)
    return None if given is None else io.BytesIO(given)


def _fingerprint(export: BinaryIO) -> str:
    digest = hashlib.sha256()
    export.seek(0)
    while chunk := export.read(CHUNK_BYTES):
        digest.update(chunk)
    return digest.hexdigest()


def _spool_directory(store: Store) -> str | None:
    """Beside the database, on a disk with room for an export's claims (the system's temporary
    directory may be memory); None (the system's) for a database in memory."""
    path = getattr(store, "path", ":memory:")
    return None if path in ("", ":memory:") else os.path.dirname(os.path.abspath(path))


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


def _local_file(path: str | os.PathLike[str]) -> tuple[ImportFile | None, str]:
    """The export at ``path`` as :func:`import_claims` takes it in this process (its path, read by
    the job), or None and why it cannot be read; looked at and opened here, so that it is refused
    as unread files are."""
    try:
        _open_export(Path(path)).close()
    except OSError as exc:
        return None, exc.strerror or str(exc)
    return {"name": str(path), "data": Path(path)}, ""


#: The largest export file read (an import through a server holds its bytes).
MAX_IMPORT_BYTES = 256 * 2**20


class _NotAnExport(OSError):
    pass


def _open_export(path: Path) -> BinaryIO:
    """The export at ``path``, open; OSError saying why it is none: a directory, a pipe or a
    device (``/dev/zero`` never ends, a FIFO may never start) or a file over
    :data:`MAX_IMPORT_BYTES`."""
    # Looked at before it is opened (opening a FIFO waits for a writer), and what was opened
    # looked at again: something else may have been put in its place meanwhile.
    _check_export(path.stat().st_mode, 0)
    file = os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb")
    try:
        st = os.fstat(file.fileno())
        _check_export(st.st_mode, st.st_size)
    except BaseException:
        file.close()
        raise
    return file


def _check_export(mode: int, size: int) -> None:
    if not stat.S_ISREG(mode):
        raise _NotAnExport(0, "a directory, not an export file" if stat.S_ISDIR(mode) else "not a regular file")
    if size > MAX_IMPORT_BYTES:
        raise _NotAnExport(
            0, f"larger than {MAX_IMPORT_BYTES // 2**20} MB: split the export (each part with its header row)"
        )


def _read_export(path: Path) -> tuple[bytes | None, str]:
    """The bytes of the export at ``path``, or None and why not (:func:`_open_export`)."""
    try:
        with _open_export(path) as f:
            data = f.read(MAX_IMPORT_BYTES + 1)
    except OSError as exc:
        return None, exc.strerror or str(exc)
    if len(data) > MAX_IMPORT_BYTES:  # (it grew since it was looked at)
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
    """:func:`import_claims` for files on this machine, imported a few at a time, :data:`JOB_BYTES`
    of them at most or one larger file: read a chunk at a time by the job, or here when a server
    owns the store (it is sent their bytes); those that could not be read are in the summary as
    failed. ``store`` may be a callable that opens it, called once a file could be read (none
    could: none is opened)."""
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
            if getattr(store, "remote", None) is not None:
                batch = _with_bytes(batch, refused)  # a server is sent the bytes, never a path
            report = _one_of(progress, first, len(paths))
            results.append(import_claims(store, files=batch, site=site, file_format=file_format, progress=report))
        batch, size = [], 0

    for done, path in enumerate(paths):
        file_size = _size_of(Path(path))
        if batch and size + file_size > JOB_BYTES:
            flush()  # before the next file is read: never more than one job's bytes and one file's
        item, why = _local_file(path)
        if item is None:
            refused.append(_failed(str(path), why))
            continue
        if not batch:
            first = done
        batch.append(item)
        size += file_size
    flush()
    return merged_results([*results, {"files": refused, "failed": len(refused)}])


def _with_bytes(files: list[ImportFile], refused: list[dict[str, Any]]) -> list[ImportFile]:
    """``files`` with the bytes of those given by their path; those that cannot be read now, in
    ``refused``."""
    out: list[ImportFile] = []
    for item in files:
        data = item["data"]
        read, why = _read_file(data) if isinstance(data, Path) else (item, "")
        if read is None:
            refused.append(_failed(item["name"], why))
        else:
            out.append({"name": item["name"], "data": read["data"]})
    return out


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
            "added": 0, "changed": 0, "unchanged": 0, "duplicates": 0, "rejected": 0, "rejects": [],
            "rejects_not_shown": 0, "reasons": {}, "ignored": [], "preamble": 0, "error": reason}  # fmt: skip
