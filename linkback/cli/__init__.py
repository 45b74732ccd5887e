"""Command-line interface (Typer + Rich). Each command mirrors a function of the Python API."""

# Command modules register themselves on ``app`` when imported.
from linkback.cli import _ingest, _quality, _reports, _send, _serve  # noqa: E402,F401
from linkback.cli._app import app

__all__ = ["app"]
