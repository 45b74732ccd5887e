"""One function, three faces (DESIGN §6): what the CLI, the ``/api/v1`` routes and the dashboard call.

Every report (it reads), action (it writes) and job (long work with progress) is one plain Python
function whose first parameter is the store. Registering it here:

* gives the server its typed route, built from the function's signature: the query parameters
  (or the JSON body) have the function's parameter names, types and defaults;
* makes the function work against a server: called with a :class:`RemoteStore` (what the CLI
  opens when a running server owns the database), the call goes to that route instead, and the
  answer comes back as the function's own return value.

So ``reports.backlinks(store, "example.com", follow=True)`` is the same call whether ``store`` is
the file or a server, and the CLI command, the route and the dashboard page cannot drift apart.

    @report(columns=BACKLINK_COLUMNS)
    def backlinks(store: Store, target: str, *, follow: bool | None = None, limit: int | None = None): ...

Jobs take ``progress`` (a callable given one dict of counters at a time) besides their parameters;
in a server they run in its job runner, and the caller's ``progress`` sees the same counters.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any, Literal, Protocol

FaceKind = Literal["report", "action", "job"]

#: A job's progress callback: one dict of counters (``done``, ``total``, ``stage`` ...) at a time.
ProgressFn = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Face:
    """A registered function: its name (the route's last segment), kind and row columns."""

    name: str
    kind: FaceKind
    fn: Callable[..., Any]
    #: Keys of each row a report returns (its response model); empty for other functions.
    columns: tuple[str, ...] = ()
    #: The report returns one row (a dict), not a list of them.
    one: bool = False
    #: A job's parameters that carry the caller's data (file contents): dropped from the stored
    #: parameters once the job has ended, so the jobs table does not keep a copy of them.
    payload: tuple[str, ...] = ()
    #: A job's check of its parameters (by name), raising ValueError: run before it is queued,
    #: so a caller hears at once what the job would only say when it ran.
    check: Callable[[dict[str, Any]], None] | None = None

    @property
    def path(self) -> str:
        folder = {"report": "reports", "action": "actions", "job": "jobs"}[self.kind]
        return f"/api/v1/{folder}/{self.name}"

    def parameters(self) -> list[inspect.Parameter]:
        """The parameters a caller gives: all but the store (and a job's ``progress``)."""
        params = list(inspect.signature(self.fn).parameters.values())[1:]
        return [p for p in params if p.name != "progress"]


FACES: dict[str, Face] = {}


class Remote(Protocol):
    def call(self, face: Face, params: dict[str, Any], progress: ProgressFn | None = None) -> Any: ...


class RemoteStore:
    """A store that is a running server's: the registered functions called with it run there.

    It has no connection: code that would run SQL on it gets a clear error instead.
    """

    read_only = False

    def __init__(self, remote: Remote, path: str) -> None:
        self.remote = remote
        self.path = path

    @property
    def con(self) -> Any:
        from linkback.errors import StoreError  # noqa: PLC0415

        raise StoreError(f"{self.path} is owned by a running linkback server: this needs the server's API")

    def close(self) -> None:
        close = getattr(self.remote, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> RemoteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _attached_files_unreadable(store: Any, exc: Exception) -> Exception | None:
    """A report on an attached Parquet index that met a file it cannot read (damaged since it was
    checked): one line naming the directory, the table and the file, for every face (CLI, API,
    dashboard), instead of DuckDB's error from deep in a view."""
    if not type(exc).__module__.startswith(("duckdb", "_duckdb")):
        return None
    from linkback.store._attach import read_error  # noqa: PLC0415 - only on a DuckDB error

    return read_error(store.con, exc)


def _register(
    kind: FaceKind,
    name: str | None,
    columns: Sequence[str],
    one: bool = False,
    payload: Sequence[str] = (),
    check: Callable[[dict[str, Any]], None] | None = None,
) -> Callable[[Callable], Callable]:
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        face = Face(name or fn.__name__, kind, fn, tuple(columns), one, tuple(payload), check)
        if face.name in FACES and FACES[face.name].fn is not fn:
            raise ValueError(f"two functions registered as {face.name!r}")
        FACES[face.name] = face
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def call(store: Any, *args: Any, **kwargs: Any) -> Any:
            remote = getattr(store, "remote", None)
            if remote is None:
                try:
                    return fn(store, *args, **kwargs)
                except Exception as exc:
                    unreadable = _attached_files_unreadable(store, exc)
                    if unreadable is not None:
                        raise unreadable from exc
                    raise
            bound = signature.bind(store, *args, **kwargs)
            params: dict[str, Any] = {}
            for name, value in list(bound.arguments.items())[1:]:
                if signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
                    params.update(value)  # **filters: each one by its own name
                else:
                    params[name] = value
            progress = params.pop("progress", None)
            return remote.call(face, params, progress)

        call.face = face  # type: ignore[attr-defined]
        return call

    return wrap


def report(
    name: str | None = None, *, columns: Sequence[str] = (), one: bool = False
) -> Callable[[Callable], Callable]:
    """Register a report: it only reads; ``GET /api/v1/reports/NAME`` with query parameters.
    ``columns`` name the keys of its rows; ``one`` says it returns one row, not a list."""
    return _register("report", name, columns, one)


def action(name: str | None = None) -> Callable[[Callable], Callable]:
    """Register an action: it writes (through ``store.write``); ``POST /api/v1/actions/NAME``."""
    return _register("action", name, ())


def job(
    name: str | None = None, *, payload: Sequence[str] = (), check: Callable[[dict[str, Any]], None] | None = None
) -> Callable[[Callable], Callable]:
    """Register a job: ``POST /api/v1/jobs/NAME`` queues it, ``GET /api/v1/jobs/ID`` follows it.
    ``payload`` names parameters that carry the caller's data, dropped once the job has ended;
    ``check(params)`` refuses parameters (ValueError) before the job is queued (422)."""
    return _register("job", name, (), payload=payload, check=check)


def load_all() -> dict[str, Face]:
    """Import every module that registers functions; the registry."""
    import linkback.alerts  # noqa: F401, PLC0415
    import linkback.brands  # noqa: F401, PLC0415
    import linkback.categories  # noqa: F401, PLC0415
    import linkback.cc  # noqa: F401, PLC0415
    import linkback.imports  # noqa: F401, PLC0415
    import linkback.jobs  # noqa: F401, PLC0415
    import linkback.mentions._actions  # noqa: F401, PLC0415
    import linkback.monitor  # noqa: F401, PLC0415
    import linkback.quality  # noqa: F401, PLC0415
    import linkback.reports  # noqa: F401, PLC0415
    import linkback.shares  # noqa: F401, PLC0415
    import linkback.store._attach  # noqa: F401, PLC0415
    import linkback.traffic  # noqa: F401, PLC0415

    return FACES


# --- values on the wire --------------------------------------------------------------------------


def iso(value: datetime) -> str:
    """A timestamp as JSON and CSV show it: ISO 8601 in UTC, ``2024-05-01T12:00:00Z``."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def plain(value: Any) -> Any:
    """``value`` as JSON has it: timestamps in :func:`iso` form, enums by value, tuples as lists."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    return value
