"""Signing in, from a hostile round: the session cookie is Secure behind an HTTPS proxy (which
``serve`` learns from LINKBACK_PUBLIC_URL, never from forwarded headers), wrong admin tokens are
throttled per client address (the sign-in form and the API's bearer), and ``serve`` refuses a
weak LINKBACK_ADMIN_TOKEN."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serverkit import Settings
from test_cli_linkbacks import free_port

from linkback.server import create_app
from linkback.server._limits import Rate
from linkback.server.web._session import FAILED_SIGN_INS, SignInThrottle

TOKEN = "signin-admin-token-0123"


@pytest.fixture
def server(tmp_path: Path):
    with TestClient(create_app(Settings(db=str(tmp_path / "signin.duckdb"), admin_token=TOKEN))) as client:
        yield client


def sign_in_cookie(client: TestClient, **headers: str) -> str:
    r = client.post("/do/login", data={"token": TOKEN, "next": "/"}, headers=headers, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    return r.headers["set-cookie"].lower()


def test_the_cookie_is_secure_when_the_public_url_is_https(server, monkeypatch) -> None:
    monkeypatch.delenv("LINKBACK_PUBLIC_URL", raising=False)
    # Forwarded headers are not trusted: any client could send them.
    assert "secure" not in sign_in_cookie(server, **{"X-Forwarded-Proto": "https"})
    monkeypatch.setenv("LINKBACK_PUBLIC_URL", "https://links.example")
    cookie = sign_in_cookie(server)
    assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    monkeypatch.setenv("LINKBACK_PUBLIC_URL", "http://links.example")
    assert "secure" not in sign_in_cookie(server)


def test_wrong_tokens_at_the_sign_in_form_are_throttled_per_address(server) -> None:
    # The burst's wrong tokens are answered, and the one past them; then the address waits.
    for _ in range(FAILED_SIGN_INS.burst + 1):
        assert server.post("/do/login", data={"token": "guess"}, follow_redirects=False).status_code == 401
    refused = server.post("/do/login", data={"token": "guess"}, follow_redirects=False)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert "try again in" in refused.text and refused.headers["content-security-policy"]
    # The right token is not looked at either: a lucky guess tells nothing.
    assert server.post("/do/login", data={"token": TOKEN}, follow_redirects=False).status_code == 429
    elsewhere = TestClient(server.app, client=("10.9.8.7", 50000))
    assert sign_in_cookie(elsewhere).startswith("linkback_session=")


def test_wrong_bearer_tokens_on_the_api_are_throttled_per_address(server) -> None:
    path = "/api/v1/reports/sites"
    for _ in range(FAILED_SIGN_INS.burst * 2):  # no token at all is no guess
        assert server.get(path).status_code == 401
    for _ in range(FAILED_SIGN_INS.burst + 1):
        assert server.get(path, headers={"Authorization": "Bearer guess"}).status_code == 401
    refused = server.get(path, headers={"Authorization": "Bearer " + TOKEN})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    elsewhere = TestClient(server.app, client=("10.9.8.7", 50000))
    assert elsewhere.get(path, headers={"Authorization": "Bearer " + TOKEN}).status_code == 200


def test_an_ipv4_client_on_a_dual_stack_socket_is_throttled_as_itself() -> None:
    # Behind "--host ::" an IPv4 client is ::ffff:a.b.c.d: still one address, not its /24 (a
    # stranger in the admin's /24 must not shut the admin out), and the same one unmapped.
    throttle = SignInThrottle()
    for _ in range(FAILED_SIGN_INS.burst + 1):
        throttle.failed("::ffff:203.0.113.7")
    assert throttle.wait("::ffff:203.0.113.7") >= 1 and throttle.wait("203.0.113.7") >= 1
    assert throttle.wait("::ffff:203.0.113.9") == 0
    for _ in range(FAILED_SIGN_INS.burst + 1):
        throttle.failed("2001:db8:1:2::5")
    assert throttle.wait("2001:db8:1:2::99") >= 1 and throttle.wait("2001:db8:1:3::5") == 0


def test_serve_refuses_a_short_admin_token(tmp_path: Path) -> None:
    env = {**os.environ, "LINKBACK_ADMIN_TOKEN": "a"}
    db = str(tmp_path / "weak.duckdb")
    # A server that starts would run until the timeout: the test fails then too.
    done = subprocess.run([sys.executable, "-m", "linkback", "serve", "--db", db, "--port", str(free_port())],
                          env=env, capture_output=True, text=True, timeout=20)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "LINKBACK_ADMIN_TOKEN is 1 characters" in done.stderr and "new_token" in done.stderr


def test_a_flood_of_addresses_frees_only_the_address_shut_longest_ago() -> None:
    throttle = SignInThrottle(Rate(burst=1, per_seconds=60.0))
    throttle.MAX_SHUT = 3
    for n in range(4):  # the fourth address shut pushes out the first, not everyone
        for _ in range(2):
            throttle.failed(f"198.51.100.{n}")
    assert [throttle.wait(f"198.51.100.{n}") > 0 for n in range(4)] == [False, True, True, True]
