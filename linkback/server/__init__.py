"""``linkback serve``: the FastAPI app that owns the database (DESIGN §2, §6).

``create_app(Settings(db=...))`` builds the app; :class:`ServerThread` runs it with uvicorn in a
thread on a loopback port, for the tests, the benchmarks and embedding.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from linkback.client import advert_path
from linkback.server._app import ServerState, Settings, create_app
from linkback.server._conn import uvicorn_options
from linkback.server._linkbacks import trackback_key
from linkback.server._runner import sign

__all__ = ["ServerState", "ServerThread", "Settings", "advert_path", "create_app", "sign", "trackback_key"]


class ServerThread:
    """The app served by uvicorn in a background thread: ``with ServerThread(settings) as url: ...``."""

    def __init__(self, settings: Settings, *, host: str = "127.0.0.1", port: int = 0) -> None:
        if port == 0:
            with socket.socket() as s:
                s.bind((host, 0))
                port = s.getsockname()[1]
        self.url = f"http://{host}:{port}"
        self.app = create_app(settings)
        config = uvicorn.Config(
            self.app, host=host, port=port, log_level="warning", lifespan="on", **uvicorn_options()
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, name="linkback-uvicorn", daemon=True)

    @property
    def state(self) -> ServerState:
        return self.app.state.linkback

    def start(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("linkback server did not start")
            time.sleep(0.02)
        return self.url

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(30)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
