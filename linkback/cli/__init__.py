"""Command-line interface (Typer + Rich). Each command mirrors a function of the Python API.

``app`` is loaded on first use, so ``linkback.cli._entry`` can start ingest's workers before
the command modules' imports.
"""

import importlib
from typing import Any

__all__ = ["app"]


def __getattr__(name: str) -> Any:
    if name == "app":
        from linkback.cli._app import app
        from linkback.cli._entry import COMMAND_MODULES

        # Command modules register themselves on ``app`` when imported.
        for module in sorted(set(COMMAND_MODULES.values())):
            importlib.import_module(f"linkback.cli.{module}")
        from linkback.cli._panels import arrange

        arrange(app)  # the whole list (help, a typo): in panels, one line a command
        return app
    raise AttributeError(f"module 'linkback.cli' has no attribute {name!r}")
