"""The guard opened for some private hosts only (``--allow-private-host``, linkback.fetch._guard).

An operator who crawls or monitors one intranet site opens the guard for that site, and every
other URL (a link the crawl found, a source a stranger sent) is still held to the whole address
table. The resolver here is a dict: no DNS, no network; the end-to-end tests that fetch for real
are in tests/test_private_hosts_live.py.
"""

from __future__ import annotations

import ipaddress
from types import SimpleNamespace

import pytest

from linkback.errors import BlockedAddress, FetchError, LinkbackError, URLError
from linkback.fetch import (
    GuardPolicy,
    PrivateHost,
    allow_private_hosts_from_env,
    check_url,
    connect_refusal,
    parse_private_host,
    policy_from_env,
    private_hosts,
    refuse_widening,
)

ANSWERS = {
    "wiki.internal": ["10.0.0.5"],
    "other.internal": ["10.0.0.5"],  # the same private address under a name nobody allowed
    "next.internal": ["10.0.0.6"],
    "home.lan": ["192.168.1.7"],
    "split.test": ["93.184.215.14", "192.168.1.7"],  # one public and one private record
    "partly.test": ["93.184.215.14", "10.0.0.5"],
    "public.test": ["93.184.215.14"],
    "meta.internal": ["169.254.169.254"],
    "zero.internal": ["0.0.0.0"],
    "xn--bcher-kva.internal": ["10.0.0.7"],
}


class DictResolver:
    """The module's Resolver protocol, from :data:`ANSWERS`; it counts its calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, host: str, port: int, /) -> list[str]:
        self.calls.append(host)
        if host not in ANSWERS:
            raise OSError(f"{host}: no such name")
        return ANSWERS[host]


def policy(*entries: str) -> GuardPolicy:
    return GuardPolicy(allow_private_hosts=private_hosts(entries))


def fetched(url: str, *entries: str) -> str:
    """The address ``check_url`` would connect to under ``entries``."""
    _checked, address = check_url(url, policy(*entries), DictResolver())
    return address


def refused(url: str, *entries: str) -> BlockedAddress:
    with pytest.raises(BlockedAddress) as caught:
        check_url(url, policy(*entries), DictResolver())
    return caught.value


# --- reading the entries --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "written", "expected"),
    [
        ("wiki.internal", "wiki.internal", PrivateHost(host="wiki.internal")),
        ("  Wiki.INTERNAL ", "wiki.internal", PrivateHost(host="wiki.internal")),  # as ada writes a URL's host
        ("bücher.internal", "xn--bcher-kva.internal", PrivateHost(host="xn--bcher-kva.internal")),
        ("wiki.internal:8080", "wiki.internal:8080", PrivateHost(host="wiki.internal", port=8080)),
        ("10.0.0.5", "10.0.0.5", PrivateHost(network=ipaddress.ip_network("10.0.0.5/32"))),
        ("0x7f.1", "127.0.0.1", PrivateHost(network=ipaddress.ip_network("127.0.0.1/32"))),  # as ada reads it
        ("10.0.0.5:8080", "10.0.0.5:8080", PrivateHost(host="10.0.0.5", port=8080)),
        ("fd00::1", "fd00::1", PrivateHost(network=ipaddress.ip_network("fd00::1/128"))),
        ("[FD00::1]", "fd00::1", PrivateHost(network=ipaddress.ip_network("fd00::1/128"))),
        ("[fd00::1]:8443", "[fd00::1]:8443", PrivateHost(host="fd00::1", port=8443)),
        ("fd00::1:8443", "fd00::1:8443", PrivateHost(network=ipaddress.ip_network("fd00::1:8443/128"))),
        ("10.0.0.0/8", "10.0.0.0/8", PrivateHost(network=ipaddress.ip_network("10.0.0.0/8"))),
        ("fd00::/8", "fd00::/8", PrivateHost(network=ipaddress.ip_network("fd00::/8"))),
    ],
)
def test_an_entry_is_read_as_a_urls_host_is(text: str, written: str, expected: PrivateHost) -> None:
    entry = parse_private_host(text)
    assert entry == expected
    assert str(entry) == written and parse_private_host(written) == entry  # str() reads back the same


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "give a host name"),
        ("http://wiki.internal/", "not a URL"),
        ("wiki.internal/path", "not a network in CIDR form"),
        ("user@wiki.internal", "not a URL"),
        ("wiki.internal 10.0.0.5", "one entry at a time"),
        ("10.0.0.5/8", "the network is 10.0.0.0/8"),
        ("10.0.0.0/33", "not a network in CIDR form"),
        ("10.0.0.0/8:80", "a network takes no port"),
        ("wiki.internal:", "the port must be a number from 1 to 65535"),
        ("wiki.internal:0", "the port must be a number from 1 to 65535"),
        ("wiki.internal:65536", "the port must be a number from 1 to 65535"),
        ("wiki.internal:http", "the port must be a number"),
        ("[wiki.internal]", "only an IPv6 address goes in brackets"),
        ("[fd00::1]8080", "after the brackets comes :PORT"),
        ("wiki:x:y", "not a host name or an IP address"),
        ("0.0.0.0", "the unspecified address"),
        ("[::]:80", "the unspecified address"),
        ("0.0.0.0/32", "the unspecified address"),
    ],
)
def test_a_bad_entry_is_refused_with_what_is_wrong_and_the_entry_named(text: str, said: str) -> None:
    with pytest.raises(URLError) as caught:
        parse_private_host(text)
    message = str(caught.value)
    assert message.startswith(f"cannot allow private host {text.strip()!r}: ") and said in message
    assert isinstance(caught.value, LinkbackError) and isinstance(caught.value, ValueError)  # CLI and API say it


def test_the_environment_variable_takes_commas_or_spaces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINKBACK_ALLOW_PRIVATE_HOSTS", " wiki.internal, 10.0.0.0/8  [fd00::1]:8080,,")
    assert allow_private_hosts_from_env() == ["wiki.internal", "10.0.0.0/8", "[fd00::1]:8080"]
    assert policy_from_env(hosts=["home.lan"]).allow_private_hosts == private_hosts(
        ["home.lan", "wiki.internal", "10.0.0.0/8", "[fd00::1]:8080"]
    )
    monkeypatch.setenv("LINKBACK_ALLOW_PRIVATE_HOSTS", "wiki.internal,http://x/")
    with pytest.raises(URLError, match="'http://x/'"):
        policy_from_env()
    monkeypatch.delenv("LINKBACK_ALLOW_PRIVATE_HOSTS")
    assert allow_private_hosts_from_env() == [] and policy_from_env() == GuardPolicy()


# --- check_url ------------------------------------------------------------------------------------


def test_an_allowed_host_name_reaches_its_private_address_on_the_usual_ports() -> None:
    for url in ("http://wiki.internal/", "https://WIKI.internal/", "http://wiki.internal:8080/x"):
        assert fetched(url, "wiki.internal") == "10.0.0.5"
    assert fetched("http://bücher.internal:8443/", "BÜCHER.internal") == "10.0.0.7"  # IDNA, compared in ASCII


def test_an_odd_port_of_an_allowed_host_needs_an_entry_that_names_it() -> None:
    # The wiki's web server, not its database or SSH: a stranger's URL (a Webmention source that
    # redirects there) must not reach those because the operator allowed the wiki.
    for url, port in (("http://wiki.internal:22/x", 22), ("http://wiki.internal:6379/", 6379)):
        error = refused(url, "wiki.internal", "10.0.0.0/8")
        assert error.reason == "port"
        assert (
            str(error) == f"{url}: port {port} is not allowed; to allow it: --allow-private-host wiki.internal:{port}"
        )
    assert fetched("http://wiki.internal:3000/", "wiki.internal", "wiki.internal:3000") == "10.0.0.5"
    assert fetched("http://[fd00::1]:3000/", "fd00::/8", "[fd00::1]:3000") == "fd00::1"
    assert "--allow-private-host [fd00::1]:3000" in str(refused("http://[fd00::1]:3000/", "fd00::/8"))


def test_another_name_for_the_same_private_address_is_refused_and_told_the_fix() -> None:
    error = refused("http://other.internal/", "wiki.internal")
    assert error.reason == "private" and error.url == "http://other.internal/"
    assert str(error) == (
        "http://other.internal/: other.internal is 10.0.0.5, a private address; "
        "to allow it: --allow-private-host other.internal (or LINKBACK_ALLOW_PRIVATE_HOSTS)"
    )
    assert "--allow-private-host 10.0.0.6 " in str(refused("http://10.0.0.6/", "wiki.internal"))


def test_a_network_opens_the_addresses_inside_it_on_the_usual_ports_and_no_others() -> None:
    assert fetched("http://other.internal:8080/", "10.0.0.0/8") == "10.0.0.5"
    assert fetched("http://10.200.0.1/", "10.0.0.0/8") == "10.200.0.1"
    assert fetched("http://[fd00::1]:8443/", "fd00::/8") == "fd00::1"
    assert refused("http://10.200.0.1:5000/", "10.0.0.0/8").reason == "port"
    assert refused("http://home.lan/", "10.0.0.0/8").reason == "private"
    assert refused("http://127.0.0.1:8080/", "10.0.0.0/8").reason == "loopback"
    assert refused("http://[fe80::1]/", "fd00::/8").reason == "link-local"
    # An address entry is a one-address network: any name resolving to it goes.
    assert fetched("http://other.internal:8080/", "10.0.0.5") == "10.0.0.5"
    assert refused("http://next.internal/", "10.0.0.5").reason == "private"


def test_a_metadata_address_needs_an_entry_that_is_that_address() -> None:
    for url in ("http://169.254.169.254/latest/meta-data/", "http://meta.internal/"):
        error = refused(url, "169.254.0.0/16", "meta.internal")
        assert error.reason == "metadata" and "--allow-private-host" not in str(error)  # no advice to open it
    assert fetched("http://169.254.10.20:8080/", "169.254.0.0/16") == "169.254.10.20"  # the link-local device
    assert refused("http://[fd00:ec2::254]/", "fd00::/8").reason == "metadata"
    assert refused("http://100.100.100.200/", "100.64.0.0/10").reason == "metadata"  # Alibaba's, in the CGNAT range
    assert fetched("http://100.100.100.201/", "100.64.0.0/10") == "100.100.100.201"
    assert fetched("http://169.254.169.254/", "169.254.169.254") == "169.254.169.254"
    assert fetched("http://169.254.169.254:8775/", "169.254.169.254:8775") == "169.254.169.254"
    assert fetched("http://meta.internal/", "169.254.169.254") == "169.254.169.254"


def test_the_unspecified_address_is_refused_whatever_the_entries() -> None:
    assert refused("http://zero.internal/", "zero.internal", "0.0.0.0/8").reason == "unspecified"
    assert refused("http://0.0.0.0:8080/", "0.0.0.0/8").reason == "unspecified"
    assert refused("http://[::]/", "::/0").reason == "unspecified"


def test_every_address_must_be_public_or_allowed() -> None:
    error = refused("http://split.test/", "10.0.0.0/8", "wiki.internal")
    assert error.reason == "private" and "split.test is 192.168.1.7" in str(error)
    assert fetched("http://split.test/", "192.168.0.0/16") == "93.184.215.14"
    # The public record has no business on an odd port: only a host every address of which is
    # opened goes past the port allow-list.
    assert refused("http://split.test:9000/", "192.168.0.0/16").reason == "port"
    assert refused("http://public.test:6379/", "10.0.0.0/8").reason == "port"
    assert refused("http://partly.test:9000/", "partly.test").reason == "port"  # not a port it names
    assert fetched("http://partly.test:9000/", "partly.test:9000") == "93.184.215.14"  # the name and port allowed


def test_an_entry_with_a_port_allows_that_port_only() -> None:
    assert fetched("http://wiki.internal:8080/", "wiki.internal:8080") == "10.0.0.5"
    assert refused("http://wiki.internal/", "wiki.internal:8080").reason == "private"
    assert refused("http://wiki.internal:8081/", "wiki.internal:8080").reason == "private"
    assert fetched("http://wiki.internal/", "wiki.internal:80") == "10.0.0.5"  # the scheme's port, written out
    assert fetched("http://10.0.0.5:8080/", "10.0.0.5:8080") == "10.0.0.5"
    assert refused("http://10.0.0.5:9000/", "10.0.0.5:8080").reason == "private"
    # With a port, an address is the URL's host, as a name is: another name for it is not opened.
    assert refused("http://other.internal:8080/", "10.0.0.5:8080").reason == "private"
    assert fetched("http://[fd00::1]:8443/", "[fd00::1]:8443") == "fd00::1"


def test_without_entries_the_guard_is_what_it_was() -> None:
    resolver = DictResolver()
    with pytest.raises(BlockedAddress) as caught:
        check_url("http://wiki.internal:9000/", GuardPolicy(), resolver)
    assert caught.value.reason == "port" and resolver.calls == []  # refused before any DNS question
    with pytest.raises(BlockedAddress) as caught:
        check_url("http://wiki.internal/", GuardPolicy(), resolver)
    assert caught.value.reason == "private"
    open_all = GuardPolicy(allow_private=True, allow_private_hosts=private_hosts(["home.lan"]))
    assert check_url("http://zero.internal:22/", open_all, resolver)[1] == "0.0.0.0"  # --allow-private: all off
    with pytest.raises(FetchError) as caught:
        check_url("http://nowhere.internal/", policy("nowhere.internal"), resolver)
    assert caught.value.reason == "dns"  # an allowed name must still resolve


def test_connect_refusal_judges_each_answer_again_without_the_port() -> None:
    """The crawler's resolver: it sees a name and the address it is about to connect to."""
    opened = policy("wiki.internal:8080", "192.168.0.0/16", "10.0.0.9:8080")
    ip = ipaddress.ip_address
    assert connect_refusal(opened, "wiki.internal", ip("10.0.0.5")) is None  # its URL's port was checked before
    assert connect_refusal(opened, "WIKI.internal", ip("10.0.0.5")) is None
    assert connect_refusal(opened, "other.internal", ip("10.0.0.5")) == "private"  # rebound to an address not opened
    assert connect_refusal(opened, "anything.test", ip("192.168.3.4")) is None
    assert connect_refusal(opened, "10.0.0.9", ip("10.0.0.9")) is None
    assert connect_refusal(opened, "rebound.test", ip("10.0.0.9")) == "private"
    assert connect_refusal(opened, "public.test", ip("93.184.215.14")) is None
    assert connect_refusal(policy("wiki.internal"), "wiki.internal", ip("169.254.169.254")) == "metadata"
    assert connect_refusal(GuardPolicy(allow_private=True), "x", ip("169.254.169.254")) is None


# --- a server's guard is the operator's -----------------------------------------------------------


def test_a_caller_may_ask_a_server_for_what_it_allows_and_no_more() -> None:
    server = policy("wiki.internal", "10.0.0.0/8", "home.lan:8080", "169.254.0.0/16")
    for asked in (
        [],
        ["wiki.internal", "wiki.internal:8443"],
        ["10.1.0.0/16", "10.0.0.5", "10.0.0.5:8080"],
        ["home.lan:8080"],
    ):
        refuse_widening(server, False, asked, "crawl")
    for asked, said in [
        (["other.internal"], "--allow-private-host other.internal"),
        (["home.lan"], "--allow-private-host home.lan"),  # the usual ports, where the server opened one
        (["wiki.internal:3000"], "--allow-private-host wiki.internal:3000"),  # an odd port is named, not implied
        (["10.0.0.5:3000"], "--allow-private-host 10.0.0.5:3000"),  # a network opens the usual ports
        (["home.lan:9000"], "--allow-private-host home.lan:9000"),
        (["10.0.0.0/7"], "--allow-private-host 10.0.0.0/7"),  # wider than the server's network
        (["192.168.1.7"], "--allow-private-host 192.168.1.7"),
        (["169.254.169.254"], "--allow-private-host 169.254.169.254"),  # the network does not open it
    ]:
        with pytest.raises(LinkbackError) as caught:
            refuse_widening(server, False, ["wiki.internal", *asked], "crawl")
        assert str(caught.value) == (
            f"this server was started without {said}, so it refuses private addresses; "
            f"restart it with 'linkback serve {said}', or crawl without {said}"
        )
    with pytest.raises(LinkbackError, match="started without --allow-private,"):
        refuse_widening(server, True, [], "send")
    with pytest.raises(URLError):
        refuse_widening(server, False, ["http://x/"], "send")
    refuse_widening(GuardPolicy(allow_private=True), True, ["anything.internal"], "send")


def test_a_server_job_refuses_to_widen_its_guard_before_doing_anything(tmp_path) -> None:  # noqa: ANN001
    from linkback import jobs
    from linkback.cc import cc_fetch
    from linkback.fetch import Fetcher
    from linkback.monitor import monitor

    with Fetcher(policy=policy("wiki.internal")) as fetcher:
        server_store = SimpleNamespace(fetcher=fetcher, for_client=True)  # what a server hands its jobs
        calls = [
            lambda: jobs.crawl(server_store, seeds=["http://wiki.internal/"], out=str(tmp_path), allow_private_hosts=["x.internal"]),  # type: ignore[arg-type]
            lambda: jobs.send(server_store, posts=["http://wiki.internal/p"], allow_private_hosts=["x.internal"]),  # type: ignore[arg-type]
            lambda: monitor(server_store, allow_private_hosts=["x.internal"]),  # type: ignore[arg-type]
            lambda: cc_fetch(server_store, hosts=["example.com"], crawl="CC-MAIN-2024-10", allow_private_hosts=["x.internal"]),  # type: ignore[arg-type]
        ]  # fmt: skip
        for call in calls:
            with pytest.raises(LinkbackError, match="started without --allow-private-host x.internal"):
                call()
    assert list(tmp_path.iterdir()) == []  # the crawl made nothing


def test_a_refused_address_names_its_fix_once_in_what_send_prints() -> None:
    from linkback.jobs import PRIVATE_HINT, _with_hint

    error = str(refused("http://other.internal/post", "wiki.internal"))
    assert _with_hint(error) == error  # the exact entry, not the general hint after it
    port = "http://wiki.internal:9000/: port 9000 is not allowed"
    assert _with_hint(port) == f"{port}; {PRIVATE_HINT}" and "--allow-private-host HOST" in PRIVATE_HINT
