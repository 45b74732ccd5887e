"""The typed client of a running ``linkback serve`` (DESIGN §2): how the CLI works while a server
owns the database.

DuckDB lets one process write a database file. While ``linkback serve`` runs it writes
``<db>.server.json`` beside the file — its URL, pid and a token for this run, readable by its
owner only — and holds a lock on it for as long as it lives, so a server killed with ``kill -9``
leaves no advert anyone trusts: the lock dies with the process. A command that finds a live
advert opens a :class:`~linkback.faces.RemoteStore` instead of the file, and the registered
report, action and job functions it calls run in the server (:mod:`linkback.faces`).
"""

from __future__ import annotations

import fcntl
import functools
import io
import json
import os
import re
import stat
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from linkback.errors import LinkbackError
from linkback.faces import Face, ProgressFn, RemoteStore, plain

#: How often a followed job is asked for its state (seconds).
POLL_SECONDS = 0.25

_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@functools.cache
def _time_keys() -> frozenset[str]:
    """Keys whose values are timestamps: every timestamp column of the one schema, and the times
    reports and jobs compute (a rank run's ``as_of``, a summary's ``started_at``...)."""
    import pyarrow as pa  # noqa: PLC0415

    from linkback import schema  # noqa: PLC0415

    columns = {f.name for table in schema.TABLES.values() for f in table if pa.types.is_timestamp(f.type)}
    return frozenset(
        columns | {"as_of", "ranked_at", "first_seen", "last_seen", "started_at", "finished_at", "created_at"}
    )


#: Keys whose values are days (a history period).
_DATE_KEYS = frozenset({"date"})


class ServerError(LinkbackError):
    """The server refused a call, failed it, or did not answer."""


# --- the advert ----------------------------------------------------------------------------------


def advert_path(db: str | os.PathLike[str]) -> Path:
    return Path(f"{db}.server.json")


class Advert:
    """``<db>.server.json``, written and locked by the server for as long as it runs."""

    def __init__(self, db: str | os.PathLike[str], *, url: str, token: str) -> None:
        self.path = advert_path(db)
        try:
            # Never through a link someone planted: the token would go where it points.
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise LinkbackError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        try:
            if not _ours(os.fstat(fd)):
                raise LinkbackError(f"{self.path} is not a plain file of this user's: remove it and start again")
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            raise LinkbackError(f"another linkback server owns {db} ({self.path} is locked)") from exc
        except LinkbackError:
            os.close(fd)
            raise
        os.fchmod(fd, 0o600)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"url": url, "pid": os.getpid(), "token": token}).encode())
        os.fsync(fd)
        self._fd: int | None = fd

    def remove(self) -> None:
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)
        os.close(self._fd)  # releases the lock
        self._fd = None


def server_for(db: str | os.PathLike[str]) -> tuple[str, str] | None:
    """(url, token) of the live server that owns ``db``, or None. An advert whose server died
    (its lock is free) is removed, so it misleads nobody."""
    path = advert_path(db)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not _ours(st) or st.st_mode & 0o077:
            return None  # not written by a server of this user's: its URL and token are not trusted
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            pass  # locked: its server is alive
        else:
            _remove_stale(path, fd)
            return None
        info = json.loads(os.read(fd, 65536) or b"{}")
        return str(info["url"]), str(info["token"])
    except (ValueError, KeyError, TypeError):
        return None
    finally:
        os.close(fd)


def _ours(st: os.stat_result) -> bool:
    return stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and st.st_nlink == 1


def _remove_stale(path: Path, fd: int) -> None:
    try:
        if os.fstat(fd).st_ino == path.stat().st_ino:
            path.unlink()
    except OSError:
        pass  # another command removed it first, or it is not ours to remove


def connect(db: str | os.PathLike[str]) -> RemoteStore | None:
    """A :class:`RemoteStore` for the server that owns ``db``, or None when none does."""
    server = server_for(db)
    if server is None:
        return None
    return RemoteStore(Client(*server), str(db))


# --- calls ---------------------------------------------------------------------------------------


class Client:
    """Calls the ``/api/v1`` route of a registered function; follows jobs to their end."""

    def __init__(self, url: str, token: str, *, timeout: float = 300.0) -> None:
        import httpx  # noqa: PLC0415 - only when a server owns the database: it costs every command 80 ms

        self.url = url.rstrip("/")
        # Over plain http (a server on this machine, mostly) there is no certificate to check, and
        # loading the CA bundle for nothing costs every command handed to the server 46 ms.
        self._http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            trust_env=False,
            verify=self.url.lower().startswith("https:"),
        )

    def close(self) -> None:
        self._http.close()

    def call(self, face: Face, params: dict[str, Any], progress: ProgressFn | None = None) -> Any:
        if face.kind == "report":
            return decode(self._request("GET", face.path, params=query(params)))
        if face.kind == "action":
            return decode(self._request("POST", face.path, json=plain(params)))
        return self.run_job(face.name, params, progress, payload=face.payload)

    def run_job(
        self, kind: str, params: dict[str, Any], progress: ProgressFn | None = None, *, payload: Sequence[str] = ()
    ) -> Any:
        """Queue the job ``kind`` and follow it to its end; its result. Files among the ``payload``
        parameters given as bytes (``{"name", "data"}``) go as a multipart upload, which the
        server writes to disk as it arrives, not as base64 in JSON."""
        files = _files_of(params, payload)
        if files:
            fields = {k: str(plain(v)) for k, v in params.items() if k not in payload and v is not None}
            job = self._request("POST", f"/api/v1/jobs/{kind}", data=fields, files=files)
        else:
            job = self._request("POST", f"/api/v1/jobs/{kind}", json=plain(params))
        job_id = job["job_id"]
        last: Any = None
        try:
            while True:
                job = self._request("GET", f"/api/v1/jobs/{job_id}")
                if progress is not None and job.get("progress") and job["progress"] != last:
                    last = job["progress"]
                    progress(last)
                if job["state"] not in ("queued", "running"):
                    break
                time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            sys.stderr.write(
                f"stopped following job {job_id}; it goes on in the server: GET {self.url}/api/v1/jobs/{job_id}\n"
            )
            raise
        if job["state"] != "done":
            raise ServerError(
                f"the server's job {job_id} ({kind}) {job['state']}: {job.get('error') or 'no reason given'}"
            )
        return decode(job["result"])

    def export(self, table: str, fmt: str, out: Any) -> None:
        """Stream ``GET /api/v1/export/TABLE`` into the binary stream ``out``."""
        import httpx  # noqa: PLC0415

        try:
            with self._http.stream("GET", f"/api/v1/export/{table}", params={"format": fmt}) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    raise ServerError(f"the server refused the export: {resp.text[:500]}")
                for chunk in resp.iter_bytes():
                    out.write(chunk)
        except httpx.HTTPError as exc:
            raise ServerError(f"the export from {self.url} broke off: {exc}") from exc

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx  # noqa: PLC0415

        try:
            resp = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ServerError(f"the server at {self.url} did not answer: {exc}") from exc
        if resp.status_code >= 400:
            try:
                detail = resp.json().get("detail") or resp.text
            except ValueError:
                detail = resp.text
            if isinstance(detail, list):  # FastAPI's validation errors
                detail = "; ".join(f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg')}" for d in detail)
            raise ServerError(str(detail)[:2000])
        return resp.json()


def _files_of(params: dict[str, Any], payload: Sequence[str]) -> list[tuple[str, tuple[str, Any, str]]]:
    """The multipart file parts of ``payload`` items whose data is bytes; none when any is not
    (base64 text goes in JSON, as it came)."""
    parts = []
    for name in payload:
        for item in params.get(name) or ():
            data = item.get("data") if isinstance(item, Mapping) else None
            if not isinstance(data, (bytes, bytearray, memoryview)):
                return []
            # A file object, read by httpx a chunk at a time: the body is never built whole.
            parts.append((name, (str(item.get("name") or ""), io.BytesIO(data), "application/octet-stream")))
    return parts


def query(params: dict[str, Any]) -> list[tuple[str, str]]:
    """Query parameters for a report: lists repeated, booleans as true/false, None left out."""
    out: list[tuple[str, str]] = []
    for name, value in params.items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            item = plain(item)
            if item is None:
                continue
            out.append((name, "true" if item is True else "false" if item is False else str(item)))
    return out


def decode(value: Any, key: str = "") -> Any:
    """JSON back to the values the functions return: the timestamps and days (by their keys:
    :func:`_time_keys`, ``date``) become datetimes and dates again. Any other string stays as it
    is, whatever it looks like: an anchor or a note that reads like a date is still text."""
    if isinstance(value, str):
        if key in _time_keys() and _ISO_TIME.match(value):
            return datetime.fromisoformat(value)
        if key in _DATE_KEYS and _ISO_DATE.match(value):
            return date.fromisoformat(value)
        return value
    if isinstance(value, list):
        return [decode(v, key) for v in value]
    if isinstance(value, dict):
        return {k: decode(v, k) for k, v in value.items()}
    return value
