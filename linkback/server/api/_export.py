"""``GET /api/v1/export/TABLE?format=``: a whole table streamed over HTTP, never to a server path.

:func:`linkback.reports.export` writes to a binary stream; here that stream is a bounded pipe
to the response, so memory stays flat at any table size and a client that goes away stops
the export at its next write.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse

from linkback import reports
from linkback.server._app import state_of

MEDIA_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}
#: Chunks waiting for the client at most: the export waits when the client reads slowly.
PIPE_CHUNKS = 16
#: A client that reads nothing for this long is taken as gone (seconds).
STALL_SECONDS = 300.0


class _Gone(Exception):
    """The client stopped reading."""


class _Pipe:
    """A write-only binary stream whose chunks a response generator yields."""

    def __init__(self) -> None:
        self.chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(PIPE_CHUNKS)
        self.gone = threading.Event()

    def write(self, data: bytes) -> int:
        deadline = time.monotonic() + STALL_SECONDS
        while not self.gone.is_set() and time.monotonic() < deadline:
            try:
                self.chunks.put(bytes(data), timeout=0.5)
                return len(data)
            except queue.Full:
                continue
        raise _Gone

    def flush(self) -> None:
        pass

    @property
    def closed(self) -> bool:  # pyarrow asks before it writes
        return False

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


_WAITING = b""


def _next_chunk(pipe: _Pipe) -> bytes | BaseException | None:
    try:
        return pipe.chunks.get(timeout=1.0)
    except queue.Empty:
        return _WAITING


def register(app: APIRouter, auth: list[Any]) -> None:
    @app.get("/api/v1/export/{table}", dependencies=auth, tags=["reports"])
    def export(table: str, request: Request, format: str = "jsonl") -> StreamingResponse:  # noqa: A002
        """A whole table (links, pages or domains) as jsonl, csv (with a header) or parquet, streamed.

        In csv, a text cell a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``) has a
        ``'`` before it; jsonl and parquet carry every value as stored."""
        if table not in reports.EXPORT_TABLES:
            raise HTTPException(status_code=404, detail=f"table must be one of {', '.join(reports.EXPORT_TABLES)}")
        if format not in reports.EXPORT_FORMATS:
            raise HTTPException(status_code=400, detail=f"format must be one of {', '.join(reports.EXPORT_FORMATS)}")
        state = state_of(request)
        pipe = _Pipe()

        def produce() -> None:
            store = state.job_store()
            try:
                reports.export(store, table, format, pipe)  # type: ignore[arg-type]
                pipe.chunks.put(None)
            except _Gone:
                pass
            except BaseException as exc:  # noqa: BLE001 - handed to the response, which ends early
                pipe.chunks.put(exc)
            finally:
                store.close()

        async def chunks() -> AsyncIterator[bytes]:
            # Async, so that a client that hangs up cancels it here and the finally below runs
            # at once (a sync generator in a worker thread would be left waiting for ever).
            threading.Thread(target=produce, name="linkback-export", daemon=True).start()
            try:
                while True:
                    chunk = await anyio.to_thread.run_sync(_next_chunk, pipe)
                    if chunk is _WAITING:
                        continue
                    if chunk is None:
                        return
                    if isinstance(chunk, BaseException):
                        raise chunk
                    yield chunk
            finally:
                pipe.gone.set()

        filename = f"{table}.{format}"
        return StreamingResponse(
            chunks(),
            media_type=MEDIA_TYPES[format],
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
