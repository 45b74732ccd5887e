"""Command-line interface (Typer + Rich). Each command mirrors a function of the Python API.

``app`` is loaded on first use, so ``linkback.cli._entry`` can start ingest's workers before
the command modules' imports.
"""

from typing import Any

__all__ = ["app"]


def __getattr__(name: str) -> Any:
    if name == "app":
        # Command modules register themselves on ``app`` when imported.
        from linkback.cli import _ingest, _quality, _reports, _send, _serve  # noqa: F401,PLC0415
        from linkback.cli._app import app

        return app
    raise AttributeError(f"module 'linkback.cli' has no attribute {name!r}")
