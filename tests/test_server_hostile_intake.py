"""The linkback intake under a flood, Pingback faults that say too much, and the security
headers on every answer (a hostile tester's findings against ``linkback serve``)."""

from __future__ import annotations

import logging
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from linkback import mentions
from linkback.server import Settings, create_app, trackback_key
from linkback.server._limits import Rate, RateLimiter
from linkback.store import Store

SITE = "blog.test"
TARGET = "http://blog.test/post"
OFF = Rate(0, 1.0)


def no_address(host: str, port: int) -> list[str]:
    """Every name is an address this server must never fetch (or none at all)."""
    if host == "localhost":
        return ["127.0.0.1"]
    if host.endswith(".private.test"):
        return ["10.1.2.3"]
    raise OSError(f"{host} does not resolve here")


def new_app(tmp_path: Path, **more: Any):  # noqa: ANN201 - the app
    db = str(tmp_path / "intake.duckdb")
    with Store(db) as store:
        mentions.add_site(store.con, SITE)
    options: dict[str, Any] = {
        "db": db, "admin_token": "t0ken", "poll_seconds": 0.25, "verify_workers": 1,
        "pair_rate": OFF, "host_rate": OFF, "client_rate": OFF, "resolver": no_address,
    }  # fmt: skip
    return create_app(Settings(**{**options, **more}))


def send(client: TestClient, source: str, target: str = TARGET) -> int:
    return client.post("/webmention", data={"source": source, "target": target}).status_code


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Any]:
    application = new_app(tmp_path, client_rate=Rate(3, 60.0))
    with TestClient(application):  # runs the lifespan; the clients below share its state
        yield application


def test_one_client_address_is_limited_whatever_the_sources(app) -> None:
    flooder = TestClient(app, client=("2a01:4f8:1:2::1", 40000))
    codes = [send(flooder, f"http://s{i}.example{i}.test/post") for i in range(4)]
    assert codes == [201, 201, 201, 429]
    # Another address of the same /64 is the same client; another /64 is not.
    assert send(TestClient(app, client=("2a01:4f8:1:2::99", 40000)), "http://x.other.test/") == 429
    assert send(TestClient(app, client=("2a01:4f8:1:3::1", 40000)), "http://x.other.test/") == 201
    # Pingback and TrackBack take from the same bucket.
    ping = xmlrpc.client.dumps(("http://y.other.test/", TARGET), "pingback.ping").encode()
    answer = flooder.post("/xmlrpc", content=ping, headers={"content-type": "text/xml"}).text
    assert "too many pingbacks" in answer
    answer = flooder.post(f"/trackback/{trackback_key(TARGET)}", data={"url": "http://z.other.test/"}).text
    assert "Too many pings" in answer


def test_a_loopback_client_is_not_limited_per_client(app) -> None:
    # Behind a reverse proxy on the same machine every sender is a loopback client.
    local = TestClient(app, client=("127.0.0.1", 40000))
    assert [send(local, f"http://s{i}.example{i}.test/") for i in range(5)] == [201] * 5


def test_source_addresses_share_a_bucket_per_network(tmp_path: Path) -> None:
    with TestClient(new_app(tmp_path, host_rate=Rate(2, 60.0))) as client:
        assert send(client, "http://[2a01:4f8:1:2::1]/post") == 201
        assert send(client, "http://[2a01:4f8:1:2::2]/post") == 201
        assert send(client, "http://[2a01:4f8:1:2::3]/post") == 429
        assert send(client, "http://1.2.3.1/post") == 201
        assert send(client, "http://1.2.3.2/post") == 201
        assert send(client, "http://1.2.3.3/post") == 429
        assert send(client, "http://1.2.4.3/post") == 201


def test_address_groups() -> None:
    from linkback.server._limits import address_group  # noqa: PLC0415

    assert address_group("[2a01:4f8:1:2::7]") == "2a01:4f8:1:2::/64"
    assert address_group("1.2.3.4") == address_group("::ffff:1.2.3.99") == "1.2.3.0/24"
    assert address_group("example.test") == "example.test"


def test_too_many_queued_verifications_are_refused_with_retry_after(tmp_path: Path) -> None:
    with TestClient(new_app(tmp_path, max_queued=3)) as client:
        assert [send(client, f"http://s{i}.example{i}.test/") for i in range(3)] == [201] * 3
        refused = client.post("/webmention", data={"source": "http://late.test/", "target": TARGET})
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        ping = xmlrpc.client.dumps(("http://late.test/p", TARGET), "pingback.ping").encode()
        assert "waiting to be verified" in client.post("/xmlrpc", content=ping).text
        tb = client.post(f"/trackback/{trackback_key(TARGET)}", data={"url": "http://late.test/t"}).text
        assert "waiting to be verified" in tb


def test_the_limiter_forgets_the_oldest_bucket_not_all_of_them(monkeypatch) -> None:
    monkeypatch.setattr(RateLimiter, "MAX_KEYS", 3)
    limiter = RateLimiter(Rate(1, 3600.0))
    assert limiter.allow("flooder", now=0.0)
    for i in range(3):  # new keys push out the least recently used
        assert limiter.allow(f"k{i}", now=1.0 + i)
    assert limiter.allow("k0", now=10.0) is False  # still remembered: not everyone was reset
    assert limiter.allow("k2", now=10.0) is False


def pingback_fault(client: TestClient, source: str) -> xmlrpc.client.Fault:
    ping = xmlrpc.client.dumps((source, TARGET), "pingback.ping").encode()
    with pytest.raises(xmlrpc.client.Fault) as fault:
        xmlrpc.client.loads(client.post("/xmlrpc", content=ping).content)
    return fault.value


def test_pingback_faults_do_not_tell_how_the_server_resolves_hosts(tmp_path: Path, caplog) -> None:
    with TestClient(new_app(tmp_path)) as client, caplog.at_level(logging.INFO, "linkback.server"):
        for source in ("http://localhost/x", "http://www.private.test/x"):
            fault = pingback_fault(client, source)
            assert (fault.faultCode, fault.faultString) == (0x10, "The source URI does not exist.")
        retry = pingback_fault(client, "http://nosuchhost.invalid/x")
        assert retry.faultCode == 0x32 and "source_dns" not in retry.faultString
    # The operator still learns why.
    assert "source_blocked_address:loopback" in caplog.text and "source_dns" in caplog.text


def test_every_answer_carries_the_security_headers(tmp_path: Path) -> None:
    with TestClient(new_app(tmp_path)) as client:
        for answer in (
            client.get("/no/such/page"),
            client.put("/webmention"),
        ):
            assert answer.status_code >= 400, answer.url
            assert answer.headers["x-content-type-options"] == "nosniff", answer.url
            assert "frame-ancestors" in answer.headers["content-security-policy"], answer.url
            assert answer.headers["cache-control"] == "no-store", answer.url
            assert answer.headers["x-frame-options"] == "DENY", answer.url


def test_an_unhandled_error_carries_the_security_headers_too(tmp_path: Path) -> None:
    """Answered by Starlette's ServerErrorMiddleware, outside every middleware of the app."""
    application = new_app(tmp_path)

    def fails() -> None:
        raise RuntimeError("a bug")

    application.add_api_route("/fails", fails)
    with TestClient(application, raise_server_exceptions=False) as client:
        answer = client.get("/fails")
    assert answer.status_code == 500 and "a bug" not in answer.text
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors" in answer.headers["content-security-policy"]
    assert answer.headers["cache-control"] == "no-store"


def test_the_widget_keeps_its_own_headers(tmp_path: Path) -> None:
    with TestClient(new_app(tmp_path)) as client:
        widget = client.get("/widget", params={"target": TARGET})
        assert widget.status_code == 200
        assert "frame-ancestors *" in widget.headers["content-security-policy"]
        assert "x-frame-options" not in widget.headers
        assert widget.headers["cache-control"] == "public, max-age=30"
