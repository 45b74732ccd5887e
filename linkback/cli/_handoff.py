"""Handing a command to the server that owns the database (DESIGN §2).

DuckDB lets one process write a database file. While ``linkback serve`` runs, it writes
``<db>.server.json`` (its URL, pid and admin token, mode 0600) beside the file. A command that
finds the file locked and such a server alive sends its own command line to the server's
``POST /api/admin/cli``; the server runs the same command in-process on its own connection
(on its writer thread, so it is ordered with every other change) and sends back the output and
exit code, which are printed here as if the command had run locally.
"""

import json
import os
import sys
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import typer
from typer._click.exceptions import ClickException  # Typer carries its own click
from typer._click.globals import get_current_context
from typer.core import TyperArgument, TyperOption

from linkback.store import Store

#: Inside the server: the store a forwarded command uses instead of opening the file.
SERVER_STORE: ContextVar[Store | None] = ContextVar("linkback_server_store", default=None)


def advert_path(db: str | os.PathLike[str]) -> Path:
    return Path(f"{db}.server.json")


def server_for(db: str | os.PathLike[str]) -> tuple[str, str] | None:
    """(url, token) of the live server that owns ``db``, if any."""
    try:
        info = json.loads(advert_path(db).read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info["url"], info["token"]


def _text(value: Any) -> str:
    if hasattr(value, "value"):  # Enum
        value = value.value
    if isinstance(value, Path):
        value = value.resolve()
    return str(value)


def _argument(value: Any) -> str:
    text = _text(value)
    # The server runs elsewhere (another cwd): files named on the command line go absolute.
    if isinstance(value, str) and not os.path.isabs(text) and os.path.exists(text):
        return os.path.abspath(text)
    return text


def current_argv() -> list[str]:
    """The running command's command line, rebuilt from its parsed parameters (``--db`` left out)."""
    ctx = get_current_context()
    names = ctx.command_path.split()[1:]
    options: list[str] = []
    arguments: list[str] = []
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if isinstance(param, TyperArgument):
            if value is None:
                continue
            values = value if isinstance(value, (list, tuple)) else [value]
            arguments.extend(_argument(v) for v in values)
            continue
        if param.name == "db" or value is None or value == param.default or not isinstance(param, TyperOption):
            continue
        if param.is_flag:
            if value is True:
                options.append(param.opts[0])
            elif param.secondary_opts:
                options.append(param.secondary_opts[0])
            continue
        for item in value if param.multiple else [value]:
            options += [param.opts[0], _text(item)]
    return [*names, *options, "--", *arguments] if arguments else [*names, *options]


def hand_off(db: str | os.PathLike[str]) -> None:
    """If a server owns ``db``, run this command there and exit with its code; else return."""
    server = server_for(db)
    if server is None or SERVER_STORE.get() is not None:
        return
    url, token = server
    argv = current_argv()
    import httpx  # noqa: PLC0415 - only when a server owns the database: it costs every command 80 ms

    try:
        resp = httpx.post(
            url + "/api/admin/cli",
            json={"argv": argv},
            headers={"Authorization": f"Bearer {token}"},
            timeout=None,
        )
    except httpx.HTTPError as exc:
        raise ClickException(f"the server at {url} owns {db} but did not answer: {exc}") from exc
    if resp.status_code != 200:
        raise ClickException(f"the server at {url} refused the command: {resp.text[:300]}")
    result = resp.json()
    sys.stdout.write(result["stdout"])
    sys.stderr.write(result["stderr"])
    raise typer.Exit(int(result["exit_code"]))
