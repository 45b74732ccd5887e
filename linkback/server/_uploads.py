"""Files uploaded for a job: an import's exports, kept on the server's disk until the job has read them.

A multipart upload (``POST /api/v1/jobs/import``, the dashboard's Imports form) is streamed by
Starlette into a temporary file, then copied into a directory the server owns, beside the
database (``<db>.uploads``, mode 0700). The job is queued with each file as ``{"name": NAME,
"upload": ID}``, never its bytes: the ``jobs`` table stays small and no body is held whole in
memory, base64 or not. When the job runs, each such file is read from its ID only when the job
asks for its ``data``, and the files are deleted when the job ends.

An ID is 32 hex digits the server made, resolved only inside that directory, and a JSON body
cannot give one (the job's parameter model has no ``upload`` key): a client never names a path.

The files outlive a restart, as the queued job does: it runs once the server is back. Files no
queued job names (the job ran, was cancelled or interrupted, or the server died between the
upload and the queueing) are deleted when the job lanes start. A queued job whose file is gone
all the same fails, saying so, rather than hanging or importing nothing quietly.

Every multipart form the server takes (these two, and the disavow check) is read by
:func:`read_form`, which refuses a body that ends before its closing boundary (``--BOUNDARY--``):
a client or proxy that stopped mid-upload. python-multipart, under Starlette, says nothing at
such an end and hands over the parts that were complete, so an import of two files cut in the
second ran with the first alone, as if it were all. Bytes after the closing boundary (an
epilogue, which RFC 2046 allows) are ignored, as python-multipart does.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import stat
import tempfile
from collections.abc import AsyncGenerator, Iterable, Iterator, Mapping
from contextlib import aclosing
from pathlib import Path
from typing import Any, BinaryIO

from fastapi import HTTPException, Request
from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException, MultiPartParser

#: The key of a payload item that is a file the server received (an ID), not its bytes.
UPLOAD_KEY = "upload"
_ID = re.compile(r"[0-9a-f]{32}")
_COPY_CHUNK = 1 << 20


class UploadGone(ValueError):
    """A queued job's uploaded file is no longer on the server's disk."""


class MultipartCutShort(ValueError):
    """A multipart body that ended before its closing boundary: its parts are not to be used."""


class Uploads:
    """The directory of one server's uploads."""

    def __init__(self, db_path: str) -> None:
        # Beside the database, which is on a disk with room for it (the system's temporary
        # directory may be memory); a database in memory has nothing to outlive.
        self._beside = db_path not in ("", ":memory:")
        self._dir: Path | None = Path(f"{db_path}.uploads") if self._beside else None

    @property
    def directory(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="linkback-uploads-"))
        self._dir.mkdir(mode=0o700, exist_ok=True)
        # One made before (or by someone else) is used only as a directory of its own, closed to
        # other users: a symlink put there would send uploads, and the sweep, wherever it points.
        st = os.lstat(self._dir)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
            raise OSError(f"{self._dir} is not a directory of this user's: uploads are not kept there")
        if stat.S_IMODE(st.st_mode) != 0o700:
            os.chmod(self._dir, 0o700)
        return self._dir

    def save(self, source: BinaryIO) -> str:
        """Copy ``source`` (from its start) into a new file of the directory; its ID."""
        upload_id = secrets.token_hex(16)
        source.seek(0)
        fd = os.open(self.directory / upload_id, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(source, out, _COPY_CHUNK)
        except BaseException:
            self.discard([upload_id])
            raise
        return upload_id

    def path(self, upload_id: str) -> Path:
        if not isinstance(upload_id, str) or not _ID.fullmatch(upload_id):
            raise UploadGone(f"{upload_id!r} is no upload of this server's")
        return self.directory / upload_id

    def discard(self, upload_ids: Iterable[str]) -> None:
        for upload_id in upload_ids:
            try:
                self.path(upload_id).unlink(missing_ok=True)
            except (UploadGone, OSError):
                continue

    def sweep(self, keep: Iterable[str]) -> None:
        """Delete every upload but those of ``keep`` (the ones queued jobs name)."""
        if self._dir is None or not self._dir.is_dir():
            return
        kept = set(keep)
        self.discard(p.name for p in self._dir.iterdir() if p.name not in kept and _ID.fullmatch(p.name))

    def close(self) -> None:
        """A directory made for a database in memory goes with the server."""
        if not self._beside and self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def bind(self, payload: Iterable[str], params: dict[str, Any]) -> list[str]:
        """Replace in ``params`` each payload item that names an upload by one whose ``data`` is
        read from it when asked for; the IDs bound. Raises :class:`UploadGone` (naming the file)
        when one is missing."""
        bound: list[str] = []
        for name in payload:
            items = params.get(name)
            if not isinstance(items, list):
                continue
            for i, item in enumerate(items):
                if isinstance(item, dict) and UPLOAD_KEY in item:
                    path = self.path(item[UPLOAD_KEY])
                    if not _own_file(path):
                        raise UploadGone(
                            f"the uploaded file {item.get('name') or ''!r} is no longer on the server "
                            "(removed since it was uploaded): upload it again"
                        )
                    items[i] = UploadedFile(str(item.get("name") or ""), path)
                    bound.append(item[UPLOAD_KEY])
        return bound


class UploadedFile(Mapping[str, Any]):
    """A payload item ``{"name", "data"}`` whose data is read from its file each time it is asked
    for: the job holds the bytes only while it uses them."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self._path = path

    def __getitem__(self, key: str) -> Any:
        if key == "name":
            return self.name
        if key == "data":
            # Not through a link: what replaced the file the server wrote (a symlink to
            # /etc/passwd, a FIFO) is no upload, and the job must not read it (or hang on it).
            try:
                fd = os.open(self._path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError as exc:
                raise UploadGone(
                    f"the uploaded file {self.name!r} is no longer on the server: {exc.strerror}"
                ) from None
            with os.fdopen(fd, "rb") as f:
                if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                    raise UploadGone(f"the uploaded file {self.name!r} is no longer on the server")
                return f.read()
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(("name", "data"))

    def __len__(self) -> int:
        return 2


def _own_file(path: Path) -> bool:
    """Whether ``path`` is a regular file itself: ``is_file()`` follows a symlink put in its place."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def uploads_named(params: str | dict[str, Any] | None, payload: Iterable[str]) -> list[str]:
    """The upload IDs a job's parameters (stored as JSON, or read) name."""
    if not isinstance(params, dict):
        try:
            params = json.loads(params or "{}")
        except ValueError:
            return []
    return [
        item[UPLOAD_KEY]
        for name in payload
        for item in (params.get(name) or [] if isinstance(params, dict) else [])
        if isinstance(item, dict) and isinstance(item.get(UPLOAD_KEY), str)
    ]


async def read_form(request: Request, *, max_files: int, max_fields: int, max_part_size: int = 1024 * 1024) -> FormData:
    """The request's form, as ``request.form(...)`` reads it (a malformed multipart body is a 400),
    but a multipart body that never reached its closing boundary raises
    :class:`MultipartCutShort`, its files closed: the caller answers in its own way."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "multipart/form-data":
        return await request.form(max_files=max_files, max_fields=max_fields, max_part_size=max_part_size)
    received = 0

    async def body_then_checked(stream: AsyncGenerator[bytes, None]) -> AsyncGenerator[bytes, None]:
        nonlocal received
        async for chunk in stream:
            received += len(chunk)
            yield chunk
        # Raised inside the parser's read: Starlette closes every file it opened, the one cut too.
        if not parser.ended:
            raise MultipartCutShort(_cut_short(received))

    async with aclosing(request.stream()) as stream, aclosing(body_then_checked(stream)) as checked:
        parser = _EndSeen(
            request.headers, checked, max_files=max_files, max_fields=max_fields, max_part_size=max_part_size
        )
        try:
            return await parser.parse()
        except MultiPartException as exc:
            raise HTTPException(status_code=400, detail=exc.message) from None


class _EndSeen(MultiPartParser):
    """Starlette's parser, noting python-multipart's ``end``: it comes at the closing boundary only."""

    ended = False

    def on_end(self) -> None:
        self.ended = True


def _cut_short(received: int) -> str:
    if received == 0:
        return "the multipart body is empty: no parts, not even the closing boundary; nothing was kept"
    return (
        f"the upload was cut short: its multipart body ended after {received:,} bytes without the "
        "closing boundary (--BOUNDARY--); nothing was kept: send it again"
    )
