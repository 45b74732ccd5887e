"""The ``linkback`` command: load only the command module the command line names, and start
ingest's workers before even that."""

from __future__ import annotations

import gc
import importlib
import sys
from typing import Any

from linkback import _workers

#: The module that registers each command (tests/test_docs.py checks it against the
#: registrations): ``linkback ingest`` need not import the server, the sender or the ranks.
COMMAND_MODULES = {
    "ingest": "_ingest",
    **dict.fromkeys(
        ["overview", "backlinks", "refdomains", "anchors", "pages", "tlds", "history", "export"], "_reports"
    ),
    **dict.fromkeys(["rank", "dr", "toxic", "disavow", "allow", "deny", "lists", "profile"], "_quality"),
    **dict.fromkeys(["send", "sent"], "_send"),
    **dict.fromkeys(["serve", "refbacks", "site", "mentions"], "_serve"),
}


def ingest_workers(argv: list[str]) -> int:
    """How many worker processes ``linkback ARGV`` will start for ingest (0: not an ingest)."""
    if not argv or argv[0] != "ingest":
        return 0
    value = None
    for k, arg in enumerate(argv[1:], start=1):
        if arg in ("--workers", "-w") and k + 1 < len(argv):
            value = argv[k + 1]
        elif arg.startswith("--workers="):
            value = arg.split("=", 1)[1]
    try:
        workers = int(value) if value is not None else 0
    except ValueError:
        return 0  # the CLI will say what is wrong with it
    # As the command: 0 is one per core, and below 1 is 1.
    return _workers.default_workers() if workers == 0 else max(workers, 1)


def app_for(argv: list[str]) -> Any:
    """The Typer app with the command ``argv`` names loaded, or every command (help, typos)."""
    module = COMMAND_MODULES.get(argv[0]) if argv else None
    if module is None:
        from linkback.cli import app  # noqa: PLC0415

        return app
    importlib.import_module(f"linkback.cli.{module}")
    from linkback.cli._app import app  # noqa: PLC0415

    return app


#: The ingest command's options that take a value, and its flags: a command line with anything
#: else is left to Typer alone.
_INGEST_VALUE_OPTIONS = ("--workers", "-w", "--db", "--format")
_INGEST_FLAGS = ("--quiet", "-q")


def ingest_inputs(argv: list[str]) -> list[str]:
    """The archives an ingest command line names, if it is a plain one ([] otherwise)."""
    if not argv or argv[0] != "ingest":
        return []
    inputs: list[str] = []
    args = iter(argv[1:])
    for arg in args:
        if arg in _INGEST_VALUE_OPTIONS:
            next(args, None)
        elif arg.split("=", 1)[0] in _INGEST_VALUE_OPTIONS or arg in _INGEST_FLAGS:
            continue
        elif arg.startswith("-"):
            return []  # --help, a typo, "--": Typer's to judge
        else:
            inputs.append(arg)
    return inputs


def main() -> None:
    argv = sys.argv[1:]
    workers = ingest_workers(argv)
    if workers > 1:
        # The forkserver's imports, and then the first ranges of the first archive, overlap the
        # CLI's own imports and opening the database (~0.5 s) instead of following them.
        _workers.warm()
        _workers.start_early(ingest_inputs(argv), workers)
    try:
        app_for(argv)(prog_name="linkback")
    finally:
        _workers.drop_early()
        # Shutting down, the interpreter collects garbage over every object the libraries loaded
        # (~0.15 s after an ingest, all on one core at the very end); the process is ending, so
        # the memory goes back anyway. Objects freed by reference count are still finalised.
        gc.freeze()
