"""The SSRF-safe fetcher (linkback.fetch) against real servers on loopback addresses.

The servers run in this process on 127.0.0.1 (and 127.0.0.2, ::1 for the "private" side). A
test that needs a *public* host with the guard on uses the name ``public.test``, which a stub
resolver maps to 127.0.0.1, and a policy whose address table calls exactly 127.0.0.1 public;
every other private address is still judged by the real table. So a redirect from public.test
to 127.0.0.2 is a real redirect to a real private server, and the test can prove nothing
reached it.
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from linkback.errors import BlockedAddress, FetchError, FetchLimit
from linkback.extract import extract
from linkback.fetch import (
    DEFAULT_USER_AGENT,
    Fetcher,
    FetchLimits,
    GuardPolicy,
    address_refusal,
    allow_private_from_env,
    check_url,
    content_type_of,
    redirect_method,
    system_resolver,
)

PUBLIC_IP = ipaddress.ip_address("127.0.0.1")

# --- servers -------------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def do_HEAD(self) -> None:
        self._route()

    def _send(self, status: int, body: bytes = b"", ctype: str = "text/html; charset=utf-8", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _route(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        self.server.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers)})
        if path == "/":
            self._send(200, f"<p>server {self.server.name}</p>".encode())
        elif path.startswith("/hops/"):
            n = int(path.rsplit("/", 1)[1])
            if n == 0:
                self._send(200, b"<p>arrived</p>")
            else:
                self._send(302, Location=f"/hops/{n - 1}")
        elif path == "/loop":
            self._send(301, Location="/loop")
        elif path == "/a/b/rel":
            self._send(302, Location="../c?x=1#frag")
        elif path == "/to":
            self._send(int(query.get("status", ["302"])[0]), Location=query["u"][0])
        elif path == "/echo":
            echo = {"method": self.command, "headers": dict(self.headers), "body": body.decode("latin-1")}
            self._send(200, json.dumps(echo).encode(), ctype="application/json")
        elif path == "/size":
            self._send(200, b"a" * int(query["n"][0]), ctype="text/plain")
        elif path == "/gzip":
            self._send(200, gzip.compress(b"<p>zipped</p>" * 1000), Content_Encoding="gzip")
        elif path == "/deflate":
            z = zlib.compressobj(wbits=int(query["wbits"][0]))
            self._send(200, z.compress(b"<p>deflated</p>") + z.flush(), Content_Encoding="deflate")
        elif path == "/br":
            self._send(200, b"\x0b\x02\x80hi\x03", Content_Encoding="br")
        elif path == "/bomb":
            self._send(200, gzip.compress(b"\0" * 50_000_000), ctype="text/plain", Content_Encoding="gzip")
        elif path == "/page":
            html = b'<html><head><title>T</title></head><body><p>See <a href="https://example.com/target">it</a></p>'
            self._send(200, html, X_Custom="yes")
        elif path == "/drip":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self._drip(b"x" * 1000)
        elif path == "/drip-head":
            self._drip(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n" + b"X-Slow: " + b"y" * 200)
        else:
            self._send(404, b"not found")

    def _drip(self, data: bytes) -> None:
        try:
            for i in range(len(data)):
                if self.server.stopping.is_set():
                    return
                self.wfile.write(data[i : i + 1])
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass  # the client gave up, as it should


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # the thread test connects 8 at once; a dropped SYN costs 1 s

    def __init__(self, address: tuple[str, int], name: str, family: int = socket.AF_INET) -> None:
        self.address_family = family
        self.name = name
        self.requests: list[dict] = []
        self.stopping = threading.Event()
        super().__init__(address, Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client hanging up on a 2 MB body is expected here

    @property
    def port(self) -> int:
        return self.server_address[1]


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Server]]:
    """``a`` on 127.0.0.1 (the "public" one), ``b`` on 127.0.0.2 at the same port, ``v6`` on ::1."""
    started: dict[str, Server] = {"a": Server(("127.0.0.1", 0), "A")}
    started["b"] = Server(("127.0.0.2", started["a"].port), "B")
    try:
        started["v6"] = Server(("::1", 0), "V6", socket.AF_INET6)
    except OSError:
        pass  # no IPv6 loopback here: the ::1 test only checks the refusal
    threads = [
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True) for s in started.values()
    ]
    for t in threads:
        t.start()
    yield started
    for s in started.values():
        s.stopping.set()
        s.shutdown()
        s.server_close()


@pytest.fixture(autouse=True)
def clear_requests(request: pytest.FixtureRequest) -> None:
    if "servers" in request.fixturenames:
        for s in request.getfixturevalue("servers").values():
            s.requests.clear()


def only_a_is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    return None if ip == PUBLIC_IP else address_refusal(ip)


class StubResolver:
    """A DNS stub: name -> list of answers (one list per call, the last one repeating)."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, host: str, port: int) -> list[str]:
        with self._lock:
            n = sum(1 for h in self.calls if h == host)
            self.calls.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        per_call = self.answers[host]
        return per_call[min(n, len(per_call) - 1)]


def stub() -> StubResolver:
    return StubResolver(
        {
            "public.test": [["127.0.0.1"]],
            "private.test": [["10.0.0.1"]],
            "mixed.test": [["127.0.0.1", "10.0.0.1"]],
            "second.test": [["127.0.0.2"]],
            "rebind.test": [["127.0.0.1"], ["127.0.0.2"]],
        }
    )


@pytest.fixture
def guarded() -> Iterator[Fetcher]:
    """Guard on, any port, 127.0.0.1 (public.test) the only "public" address."""
    with Fetcher(policy=GuardPolicy(ports=None, refuse_address=only_a_is_public), resolver=stub()) as f:
        yield f


@pytest.fixture
def open_fetcher() -> Iterator[Fetcher]:
    with Fetcher(policy=GuardPolicy(allow_private=True), resolver=stub()) as f:
        yield f


def no_requests(*servers: Server) -> bool:
    return all(not s.requests for s in servers)


# --- the address table ---------------------------------------------------------------------------

REFUSED = {
    "127.0.0.1": "loopback",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "192.168.1.1": "private",
    "169.254.169.254": "metadata",
    "169.254.1.1": "link-local",
    "100.64.0.1": "shared",
    "100.100.100.200": "metadata",  # Alibaba Cloud, inside the shared range
    "0.0.0.0": "unspecified",
    "0.1.2.3": "reserved",
    "224.0.0.1": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "broadcast",
    "192.0.2.1": "documentation",
    "198.51.100.7": "documentation",
    "203.0.113.9": "documentation",
    "198.18.0.1": "benchmarking",
    "192.0.0.8": "reserved",
    "192.88.99.1": "reserved",
    "::": "unspecified",
    "::1": "loopback",
    "fc00::1": "ula",
    "fd12::1": "ula",
    "fd00:ec2::254": "metadata",
    "fe80::1": "link-local",
    "fec0::1": "site-local",
    "ff02::1": "multicast",
    "2001:db8::1": "documentation",
    "2001::1": "reserved",  # Teredo
    "100::1": "reserved",
    "::ffff:127.0.0.1": "loopback",
    "::ffff:10.0.0.1": "private",
    "2002:7f00:1::1": "loopback",  # 6to4 of 127.0.0.1
    "64:ff9b::a00:1": "private",  # NAT64 of 10.0.0.1
    "64:ff9b::a9fe:a9fe": "metadata",  # NAT64 of 169.254.169.254
    "::127.0.0.1": "reserved",  # deprecated IPv4-compatible
    "4000::1": "reserved",  # outside global unicast
}
ALLOWED = ["8.8.8.8", "93.184.215.14", "1.1.1.1", "2606:4700::1111", "2a00:1450:4001::200e", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", sorted(REFUSED))
def test_address_refused(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) == REFUSED[address]


@pytest.mark.parametrize("address", ALLOWED)
def test_address_allowed(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


def test_allow_private_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from linkback.cli._output import allow_private_env  # noqa: PLC0415 - what send, serve and alerts read

    values = [("1", True), ("TRUE", True), ("yes", True), (" On ", True), ("0", False), ("", False), ("no", False)]
    for value, expected in values:
        monkeypatch.setenv("LINKBACK_ALLOW_PRIVATE", value)
        assert allow_private_from_env() is expected
        assert allow_private_env() is expected  # one reading for every command, the crawler's included
        with Fetcher(resolver=stub()) as f:
            assert f.policy.allow_private is expected
    monkeypatch.delenv("LINKBACK_ALLOW_PRIVATE")
    assert allow_private_from_env() is False


def test_system_resolver_dedups_in_order() -> None:
    addresses = system_resolver("localhost", 80)
    assert addresses and len(addresses) == len(set(addresses))
    assert set(addresses) <= {"127.0.0.1", "::1"}


def test_check_url_splits_and_pins() -> None:
    checked, ip = check_url(
        "HTTP://Public.TEST:8080/a/./b?q=1#frag", GuardPolicy(refuse_address=only_a_is_public), stub()
    )
    assert ip == "127.0.0.1"
    assert checked.href == "http://public.test:8080/a/b?q=1"
    assert (checked.scheme, checked.hostname, checked.port) == ("http", "public.test", 8080)
    assert (checked.host_header, checked.target, checked.addresses) == ("public.test:8080", "/a/b?q=1", ("127.0.0.1",))
    checked, ip = check_url("https://[2606:4700::1111]/", GuardPolicy(), stub())
    assert (ip, checked.hostname, checked.port, checked.host_header) == (
        "2606:4700::1111",
        "2606:4700::1111",
        443,
        "[2606:4700::1111]",
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://0x7f.0.0.2/", "loopback"),  # WHATWG hex IPv4, the classic filter bypass (127.0.0.1 is "public" here)
        ("http://2130706434/", "loopback"),
        ("http://[::ffff:7f00:2]/", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "metadata"),
        ("http://private.test/", "private"),
        ("http://mixed.test/", "private"),
        ("http://8.8.8.8:22/", "port"),
        ("http://public.test:6379/", "port"),
    ],
)
def test_check_url_blocks(url: str, reason: str) -> None:
    with pytest.raises(BlockedAddress) as e:
        check_url(url, GuardPolicy(refuse_address=only_a_is_public), stub())
    assert e.value.reason == reason and e.value.url == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://public.test/", "url"),
        ("file:///etc/passwd", "url"),
        ("gopher://public.test:6379/_", "url"),
        ("not a url", "url"),
        ("/relative", "url"),
        ("http://user:pw@public.test/", "url"),
        ("http://user@public.test/", "url"),
        ("http://nowhere.test/", "dns"),
    ],
)
def test_check_url_rejects(url: str, reason: str) -> None:
    with pytest.raises(FetchError) as e:
        check_url(url, GuardPolicy(allow_private=True), stub())
    assert not isinstance(e.value, BlockedAddress)
    assert e.value.reason == reason


def test_allow_private_opens_ports_and_addresses() -> None:
    checked, ip = check_url("http://private.test:22/", GuardPolicy(allow_private=True), stub())
    assert (ip, checked.port) == ("10.0.0.1", 22)


def test_pure_helpers() -> None:
    assert content_type_of('text/HTML; Charset="UTF-8"') == ("text/html", "utf-8")
    assert content_type_of("application/json") == ("application/json", None)
    assert content_type_of("garbage") == ("", None)
    assert content_type_of(None) == ("", None)
    assert [redirect_method(s, "POST") for s in (301, 302, 303, 307, 308)] == ["GET", "GET", "GET", "POST", "POST"]
    assert redirect_method(303, "HEAD") == "HEAD" and redirect_method(303, "PUT") == "GET"


# --- the guard, live -----------------------------------------------------------------------------


def test_guard_refuses_loopback_literals(servers: dict[str, Server]) -> None:
    a = servers["a"]
    with Fetcher(policy=GuardPolicy(ports=None), resolver=stub()) as f:
        with pytest.raises(BlockedAddress) as e:
            f.fetch(f"http://127.0.0.1:{a.port}/")
        assert e.value.reason == "loopback"
        port = servers["v6"].port if "v6" in servers else a.port
        with pytest.raises(BlockedAddress) as e:
            f.fetch(f"http://[::1]:{port}/")
        assert e.value.reason == "loopback"
    with Fetcher(resolver=stub()) as f:  # the default policy: port first
        with pytest.raises(BlockedAddress) as e:
            f.fetch(f"http://127.0.0.1:{a.port}/")
        assert e.value.reason == "port"
    assert no_requests(*servers.values())


def test_guard_refuses_private_names(guarded: Fetcher, servers: dict[str, Server]) -> None:
    port = servers["a"].port
    for host, reason in [("private.test", "private"), ("mixed.test", "private"), ("second.test", "loopback")]:
        with pytest.raises(BlockedAddress) as e:
            guarded.fetch(f"http://{host}:{port}/")
        assert e.value.reason == reason
    # mixed.test's first answer is the "public" server: it must not have been tried anyway
    assert no_requests(*servers.values())


def test_guard_checks_every_redirect_hop(guarded: Fetcher, servers: dict[str, Server]) -> None:
    a, b = servers["a"], servers["b"]
    assert guarded.fetch(f"http://public.test:{a.port}/").body == b"<p>server A</p>"  # the control
    for target in [f"http://127.0.0.2:{b.port}/", f"http://second.test:{b.port}/", "http://169.254.169.254/"]:
        for status in (301, 302, 307, 308):
            with pytest.raises(BlockedAddress):
                guarded.fetch(f"http://public.test:{a.port}/to?status={status}&u={target}")
    assert len(a.requests) == 1 + 3 * 4 and not b.requests


def test_guard_refuses_ports(servers: dict[str, Server]) -> None:
    policy = GuardPolicy(refuse_address=only_a_is_public)  # default ports
    with Fetcher(policy=policy, resolver=stub()) as f:
        for url in ["http://public.test:22/", f"http://public.test:{servers['a'].port}/"]:
            with pytest.raises(BlockedAddress) as e:
                f.fetch(url)
            assert e.value.reason == "port"
    assert no_requests(*servers.values())


def test_connects_to_the_checked_address(servers: dict[str, Server], monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the check sees 127.0.0.1 ("public"); every later lookup says 127.0.0.2.

    The system resolver is patched to give the rebound answer too, so a fetcher that looked the
    name up again (or let httpx do it) would reach server B.
    """
    a, b = servers["a"], servers["b"]
    real = socket.getaddrinfo

    def rebound(host: object, *args: object, **kwargs: object) -> object:
        return real("127.0.0.2" if host == "rebind.test" else host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", rebound)
    resolver = stub()
    with Fetcher(policy=GuardPolicy(ports=None, refuse_address=only_a_is_public), resolver=resolver) as f:
        result = f.fetch(f"http://rebind.test:{a.port}/")
        assert result.body == b"<p>server A</p>"
        assert resolver.calls == ["rebind.test"]
        assert len(a.requests) == 1 and a.requests[0]["headers"]["Host"] == f"rebind.test:{a.port}"
        assert not b.requests
        # the next fetch resolves again, gets the private answer, and is refused
        with pytest.raises(BlockedAddress):
            f.fetch(f"http://rebind.test:{a.port}/")
    assert not b.requests


# --- fetching ------------------------------------------------------------------------------------


def test_host_header_and_user_agent(guarded: Fetcher, servers: dict[str, Server]) -> None:
    port = servers["a"].port
    result = guarded.fetch(f"http://public.test:{port}/echo", headers={"X-Extra": "1", "Host": "evil.test"})
    seen = json.loads(result.body)
    assert seen["headers"]["Host"] == f"public.test:{port}"
    assert seen["headers"]["User-Agent"] == DEFAULT_USER_AGENT
    assert "Webmention" in DEFAULT_USER_AGENT and "linkback" in DEFAULT_USER_AGENT
    assert seen["headers"]["Accept"].startswith("text/html")
    assert seen["headers"]["X-Extra"] == "1"
    assert result.content_type == "application/json" and result.charset is None


def test_result_fields(open_fetcher: Fetcher, servers: dict[str, Server]) -> None:
    url = f"http://127.0.0.1:{servers['a'].port}/page"
    result = open_fetcher.fetch(url)
    assert (result.url, result.final_url, result.status, result.redirects) == (url, url, 200, ())
    assert result.header("x-custom") == result.header("X-CUSTOM") == "yes"
    assert result.header("missing") is None
    assert [k for k, _ in result.headers][-2:] == ["Content-Length", "X-Custom"]  # wire order
    assert (result.content_type, result.charset, result.truncated) == ("text/html", "utf-8", False)
    assert result.fetched_at.tzinfo is timezone.utc
    page = result.to_fetched_page("webmention")
    assert (page.url, page.final_url, page.via, page.status) == (url, url, "webmention", 200)
    facts, links = extract(page)
    assert facts.title == "T"
    assert [link.target_url for link in links] == ["https://example.com/target"]


def test_redirects_followed(open_fetcher: Fetcher, servers: dict[str, Server]) -> None:
    base = f"http://127.0.0.1:{servers['a'].port}"
    result = open_fetcher.fetch(f"{base}/hops/10")
    assert result.status == 200 and result.body == b"<p>arrived</p>"
    assert result.final_url == f"{base}/hops/0"
    assert result.redirects == tuple(f"{base}/hops/{n}" for n in range(9, -1, -1))
    result = open_fetcher.fetch(f"{base}/a/b/rel")
    assert result.final_url == f"{base}/a/c?x=1" and result.redirects == (f"{base}/a/c?x=1",)
    result = open_fetcher.fetch(f"{base}/hops/3", follow_redirects=False)
    assert result.status == 302 and result.header("Location") == "/hops/2" and result.final_url == f"{base}/hops/3"
    result = open_fetcher.fetch(f"{base}/hops/3", limits=FetchLimits(max_redirects=3))
    assert result.status == 200


def test_redirect_limits(open_fetcher: Fetcher, servers: dict[str, Server]) -> None:
    base = f"http://127.0.0.1:{servers['a'].port}"
    with pytest.raises(FetchLimit) as e:
        open_fetcher.fetch(f"{base}/hops/11")
    assert e.value.reason == "redirects"
    assert len(servers["a"].requests) == 11  # the 11th redirect is not followed
    with pytest.raises(FetchLimit) as e:
        open_fetcher.fetch(f"{base}/loop")
    assert e.value.reason == "redirects"
    with pytest.raises(FetchError) as e:
        open_fetcher.fetch(f"{base}/to?u=ftp://example.com/")
    assert e.value.reason == "url"


def test_post_redirects(open_fetcher: Fetcher, servers: dict[str, Server]) -> None:
    base = f"http://127.0.0.1:{servers['a'].port}"
    form = {"source": "https://a.example/", "target": "https://b.example/"}
    result = open_fetcher.fetch(f"{base}/to?status=303&u=/echo", method="POST", data=form)
    seen = json.loads(result.body)
    assert seen["method"] == "GET" and seen["body"] == "" and "Content-Type" not in seen["headers"]
    result = open_fetcher.fetch(f"{base}/to?status=307&u=/echo", method="POST", data=form)
    seen = json.loads(result.body)
    assert seen["method"] == "POST" and parse_qs(seen["body"]) == {k: [v] for k, v in form.items()}
    assert seen["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    raw = open_fetcher.fetch(f"{base}/echo", method="POST", data=b"<xml/>", headers={"Content-Type": "text/xml"})
    seen = json.loads(raw.body)
    assert (seen["body"], seen["headers"]["Content-Type"]) == ("<xml/>", "text/xml")


def test_credentials_not_sent_to_another_origin(open_fetcher: Fetcher, servers: dict[str, Server]) -> None:
    a = servers["a"]
    target = f"http://127.0.0.2:{a.port}/echo"
    result = open_fetcher.fetch(f"http://127.0.0.1:{a.port}/to?u={target}", headers={"Authorization": "Bearer x"})
    assert "Authorization" not in json.loads(result.body)["headers"]
    assert a.requests[0]["headers"]["Authorization"] == "Bearer x"


def test_byte_limit(open_fetcher: Fetcher, servers: dict[str, Server]) -> None:
    base = f"http://127.0.0.1:{servers['a'].port}"
    result = open_fetcher.fetch(f"{base}/size?n=2000000")
    assert len(result.body) == 1_000_000 and result.truncated
    exact = open_fetcher.fetch(f"{base}/size?n=100", limits=FetchLimits(max_bytes=100))
    assert len(exact.body) == 100 and not exact.truncated
    assert open_fetcher.fetch(f"{base}/size?n=101", limits=FetchLimits(max_bytes=100)).truncated


def test_gzip_decoded_and_bounded(open_fetcher: Fetcher, servers: dict[str, Server]) -> None:
    base = f"http://127.0.0.1:{servers['a'].port}"
    result = open_fetcher.fetch(f"{base}/gzip")
    assert result.body == b"<p>zipped</p>" * 1000 and not result.truncated
    assert "gzip" in json.loads(open_fetcher.fetch(f"{base}/echo").body)["headers"]["Accept-Encoding"]
    for wbits in (15, -15):  # zlib-wrapped, as the RFC says, and raw, as some servers send
        assert open_fetcher.fetch(f"{base}/deflate?wbits={wbits}").body == b"<p>deflated</p>"
    with pytest.raises(FetchError) as e:  # not offered, so not decoded: an error, not garbage
        open_fetcher.fetch(f"{base}/br")
    assert e.value.reason == "encoding"
    bomb = open_fetcher.fetch(f"{base}/bomb")  # 50 MB of zeros in ~50 KB
    assert len(bomb.body) == 1_000_000 and bomb.truncated


@pytest.mark.parametrize("path", ["/drip", "/drip-head"])
def test_slow_drip_times_out(open_fetcher: Fetcher, servers: dict[str, Server], path: str) -> None:
    with pytest.raises(FetchLimit) as e:
        open_fetcher.fetch(f"http://127.0.0.1:{servers['a'].port}{path}", limits=FetchLimits(timeout=1.0))
    assert e.value.reason == "timeout"


def test_connection_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with Fetcher(policy=GuardPolicy(allow_private=True), resolver=stub()) as f:
        with pytest.raises(FetchError) as e:
            f.fetch(f"http://127.0.0.1:{port}/")
        assert e.value.reason == "connect" and not isinstance(e.value, (BlockedAddress, FetchLimit))
        with pytest.raises(FetchError) as e:
            f.fetch("http://nowhere.test/")
        assert e.value.reason == "dns"


def test_falls_back_to_the_next_checked_address(servers: dict[str, Server]) -> None:
    # Nothing listens on 127.0.0.3 at A's port (A is bound to 127.0.0.1 only), so the first
    # answer refuses the connection and the second, also checked, is tried.
    resolver = StubResolver({"two.test": [["127.0.0.3", "127.0.0.1"]]})
    with Fetcher(policy=GuardPolicy(allow_private=True), resolver=resolver) as f:
        result = f.fetch(f"http://two.test:{servers['a'].port}/")
    assert result.body == b"<p>server A</p>" and resolver.calls == ["two.test"]


def test_threads_share_one_fetcher(open_fetcher: Fetcher, servers: dict[str, Server]) -> None:
    base = f"http://127.0.0.1:{servers['a'].port}"
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda n: open_fetcher.fetch(f"{base}/hops/{n % 3}"), range(24)))
    assert all(r.body == b"<p>arrived</p>" for r in results)


# --- https: SNI and certificate checks use the name, the socket the checked IP ----------------------


def _self_signed(tmp: Path, name: str) -> tuple[Path, Path]:
    cert, key = tmp / f"{name}.crt", tmp / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", f"/CN={name}",
         "-addext", f"subjectAltName=DNS:{name}"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_https_pins_ip_but_verifies_name(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path, "public.test")
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    sni: list[str | None] = []
    server_ctx.sni_callback = lambda sock, name, ctx: sni.append(name)
    server = Server(("127.0.0.1", 0), "TLS")
    server.socket = server_ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        client_ctx = ssl.create_default_context(cafile=str(cert))
        policy = GuardPolicy(ports=None, refuse_address=only_a_is_public)
        resolver = StubResolver({"public.test": [["127.0.0.1"]], "other.test": [["127.0.0.1"]]})
        with Fetcher(policy=policy, resolver=resolver, ssl_context=client_ctx) as f:
            result = f.fetch(f"https://public.test:{server.port}/")
            assert result.status == 200 and result.final_url == f"https://public.test:{server.port}/"
            assert sni == ["public.test"]
            assert server.requests[0]["headers"]["Host"] == f"public.test:{server.port}"
            with pytest.raises(FetchError) as e:  # same IP, but the certificate is not other.test's
                f.fetch(f"https://other.test:{server.port}/")
            assert e.value.reason == "tls"
            assert len(server.requests) == 1
    finally:
        server.shutdown()
        server.server_close()
