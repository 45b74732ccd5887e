"""Connections that never finish a request's head (a "slowloris") cannot hold the server.

Real sockets against the app served by uvicorn on 127.0.0.1 (``ServerThread``), with the
deadline and the connection limit made small so that the test takes seconds.
"""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from linkback.server import ServerThread, Settings, _conn

DEADLINE = 0.6


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setattr(_conn, "HEADER_SECONDS", DEADLINE)
    monkeypatch.setattr(_conn, "MAX_CONNECTIONS", 6)
    with ServerThread(Settings(db=str(tmp_path / "lb.duckdb"), admin_token="t" * 32)) as url:
        yield url


def _open(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    return sock


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1024) == b""
    except (ConnectionResetError, TimeoutError):
        return False


def test_a_head_that_never_ends_is_closed_after_the_deadline(server) -> None:
    sock = _open(server)
    sock.sendall(b"GET /api/count?target=http://a.example/ HTTP/1.1\r\nHost: x\r\n")  # no blank line
    time.sleep(DEADLINE + 0.6)
    assert _closed_by_server(sock)
    sock.close()


def test_a_head_that_comes_in_pieces_within_the_deadline_is_answered(server) -> None:
    sock = _open(server)
    for piece in (b"GET /api/count?target=http://a.example/ HTTP/1.1\r\n", b"Host: x\r\n", b"\r\n"):
        sock.sendall(piece)
        time.sleep(DEADLINE / 4)
    assert sock.recv(1024).startswith(b"HTTP/1.1 200")
    sock.close()


def test_after_a_response_the_next_head_has_the_deadline_too(server) -> None:
    sock = _open(server)
    sock.sendall(b"GET /api/count?target=http://a.example/ HTTP/1.1\r\nHost: x\r\n\r\n")
    assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    sock.sendall(b"GET /api/count?target=http://a.example/ HTTP/1.1\r\n")  # keep-alive, then silence
    time.sleep(DEADLINE + 0.6)
    assert _closed_by_server(sock)
    sock.close()


def test_idle_sockets_hold_every_slot_only_until_the_deadline(server) -> None:
    held = [_open(server) for _ in range(8)]
    for sock in held:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    time.sleep(0.2)
    assert httpx.get(server + "/api/count", params={"target": "http://a.example/"}).status_code == 503
    time.sleep(DEADLINE + 0.8)
    assert httpx.get(server + "/api/count", params={"target": "http://a.example/"}).status_code == 200
    assert all(_closed_by_server(sock) for sock in held)
    for sock in held:
        sock.close()


def test_requests_on_one_connection_at_a_steady_pace_are_all_answered(server) -> None:
    with httpx.Client(base_url=server) as client:
        for _ in range(4):
            assert client.get("/api/count", params={"target": "http://a.example/"}).status_code == 200
            time.sleep(DEADLINE / 2)


@pytest.fixture
def capped(tmp_path, monkeypatch):
    monkeypatch.setattr(_conn, "MAX_CONNECTIONS", 20)
    monkeypatch.setattr(_conn, "MAX_PER_CLIENT", 3)
    with ServerThread(Settings(db=str(tmp_path / "lb.duckdb"), admin_token="t" * 32)) as url:
        yield url


def _answered(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /api/count?target=http://a.example/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    return sock.recv(1024)


def test_one_address_cannot_hold_every_connection(capped, monkeypatch) -> None:
    monkeypatch.setattr(_conn, "_uncapped", lambda address: False)  # the test's 127.0.0.1 as any client
    held = [_open(capped) for _ in range(3)]
    over = _open(capped)
    answer = over.recv(1024)
    assert answer.startswith(b"HTTP/1.1 503") and answer.endswith(b"too many connections from your address at once")
    assert _closed_by_server(over)
    held.pop().close()
    time.sleep(0.2)  # the server sees it go
    fresh = _open(capped)
    assert _answered(fresh).startswith(b"HTTP/1.1 200")
    for sock in [*held, over, fresh]:
        sock.close()


def test_loopback_clients_are_not_capped(capped) -> None:
    # A reverse proxy on the same machine brings every visitor from one loopback address.
    held = [_open(capped) for _ in range(5)]
    assert _answered(held[-1]).startswith(b"HTTP/1.1 200")
    for sock in held:
        sock.close()


@pytest.mark.parametrize(
    ("address", "uncapped"),
    [("127.0.0.1", True), ("::1", True), ("::ffff:127.0.0.1", True), ("203.0.113.9", False),
     ("::ffff:203.0.113.9", False), ("2001:db8::1", False)],  # fmt: skip
)
def test_loopback_is_loopback_on_a_dual_stack_socket_too(address: str, uncapped: bool) -> None:
    # linkback serve --host :: sees a proxy on 127.0.0.1 as ::ffff:127.0.0.1.
    assert _conn._uncapped(address) is uncapped
