"""The worker processes of ingest: forked from a forkserver that has the extraction code loaded.

forkserver, not fork: the parent runs DuckDB's threads, and forking a threaded process can
deadlock the child. The forkserver imports what the workers need once; each worker forked from it
then starts in milliseconds. This module imports only the standard library, so a command can
start the forkserver before its own imports and the two run side by side.
"""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing import forkserver
from multiprocessing.context import BaseContext

#: Imported once by the forkserver. ``__main__`` too: run as the ``linkback`` script, each
#: worker would otherwise import the whole command-line interface again.
PRELOAD = ["__main__", "linkback.ingest"]


def default_workers() -> int:
    """All the cores this process may run on."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def context() -> BaseContext:
    """The multiprocessing context ingest's worker pools use."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def warm() -> None:
    """Start the forkserver now (it takes ~0.4 s to import the extraction code), so that it does
    while the caller goes on; a later pool uses the running one."""
    context()
    forkserver.ensure_running()
