"""The ``linkback`` command: start ingest's workers early, then run the CLI."""

from __future__ import annotations

import sys

from linkback import _workers


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
    return workers if workers > 0 else _workers.default_workers()


def main() -> None:
    if ingest_workers(sys.argv[1:]) > 1:
        # The forkserver's imports then overlap the CLI's own (~0.6 s) instead of following them.
        _workers.warm()
    from linkback.cli import app  # noqa: PLC0415

    app(prog_name="linkback")
