"""``--allow-private-host`` end to end: real fetches of a loopback web through the commands.

The guard is opened for one host and stays shut for every other private address: a crawl of an
"intranet" site (its names mapped to 127.0.0.1, tests/webkit.py) fetches that site and refuses a
link to another name on the same address, with the reason kept; ``linkback monitor run`` checks
a page on 127.0.0.1 and refuses one on 127.0.0.2; a server started with an allowance sends for
its own private host and refuses a caller who asks for more. The unit tests are in
tests/test_fetch_private_hosts.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from serverkit import Page, PageServer, start_linkback
from test_send import Endpoint, post_page
from typer.testing import CliRunner
from webkit import HostWeb, crawl_in_subprocess

from linkback.cli import app
from linkback.store import Store

INTRANET, OTHER = "www.intranet.test", "api.intranet.test"  # one site: a crawl follows links between them
TARGET = "https://example.com/pricing"


def cli(*args: str, code: int = 0, env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})
    assert result.exit_code == code, (args, result.stdout, result.stderr, result.exception)
    return result


def test_a_crawl_fetches_the_allowed_host_and_refuses_another_name_for_its_address(tmp_path: Path) -> None:
    with HostWeb() as web:
        web.html(INTRANET, "/", "/a", web.url(OTHER, "/secret"))
        web.html(INTRANET, "/a")
        web.html(OTHER, "/secret")
        summary = crawl_in_subprocess(
            [web.url(INTRANET)], [INTRANET, OTHER], allow_private=False, allow_private_hosts=[f"{INTRANET}:{web.port}"],
            out=str(tmp_path / "warc"), db=str(tmp_path / "crawl.duckdb"), delay=0, depth=2, flush_seconds=0.2,
        )  # fmt: skip
    assert web.requests_to(OTHER) == []
    assert {hit.path for hit in web.requests_to(INTRANET)} == {"/robots.txt", "/", "/a"}  # on the odd port named
    assert summary["pages"] == 2 and summary["refused"] == {"loopback": 1}
    (refusal,) = summary["refused_hosts"]
    assert refusal["url"] == web.url(OTHER, "/secret") and refusal["reason"] == "loopback"
    assert refusal["detail"] == (
        f"{OTHER} is 127.0.0.1, a loopback address; to allow it: --allow-private-host {OTHER} "
        "(or LINKBACK_ALLOW_PRIVATE_HOSTS)"
    )
    with Store(tmp_path / "crawl.duckdb", read_only=True) as store:
        reasons = dict(store.con.execute("SELECT url, reason FROM crawl_frontier WHERE state = 'failed'").fetchall())
    assert reasons == {web.url(OTHER, "/secret"): "refused/loopback"}


def test_monitor_run_checks_the_allowed_address_only(tmp_path: Path) -> None:
    db = str(tmp_path / "monitor.duckdb")
    with HostWeb() as web:
        page = Page(f'<!doctype html><main><a href="{TARGET}">Pricing</a></main>')
        web.pages["127.0.0.1", "/post"] = web.pages["127.0.0.2", "/post"] = page
        cli("monitor", "add", web.url("127.0.0.1", "/post"), TARGET, "--db", db)
        cli("monitor", "add", web.url("127.0.0.2", "/post"), TARGET, "--db", db)
        # The test server's odd port is named: an entry without one opens the usual ports only.
        ran = cli("monitor", "run", "--allow-private-host", f"127.0.0.1:{web.port}", "--format", "json", "--db", db)
        summary = json.loads(ran.stdout)
        assert summary["verdicts"] == {"live": 1, "unknown": 1} and summary["errors"] == {"blocked": 1}
        (check,) = json.loads(cli("monitor", "show", "2", "--format", "json", "--db", db).stdout)
        fix = "127.0.0.2 is 127.0.0.2, a loopback address; to allow it: --allow-private-host 127.0.0.2"
        # Without the port, the address is opened, its odd port not: the refusal says what to add.
        port_only = cli("monitor", "run", "1", "--allow-private-host", "127.0.0.1", "--format", "json", "--db", db)
        assert json.loads(port_only.stdout)["errors"] == {"blocked": 1}
        latest = json.loads(cli("monitor", "show", "1", "--format", "json", "--db", db).stdout)[-1]  # oldest first
        assert (
            f"port {web.port} is not allowed; to allow it: --allow-private-host 127.0.0.1:{web.port}"
            in latest["detail"]
        )
        assert check["error"] == "blocked" and fix in check["detail"]
        # The environment variable opens it as the option does; a bad entry ends the command.
        again = cli("monitor", "run", "1", "--format", "json", "--db", db,
                    env={"LINKBACK_ALLOW_PRIVATE_HOSTS": f"10.0.0.0/8, 127.0.0.1:{web.port}"})  # fmt: skip
        assert json.loads(again.stdout)["verdicts"] == {"live": 1}
        bad = cli("monitor", "run", "--allow-private-host", "http://127.0.0.1/", "--db", db, code=2)
        assert "cannot allow private host 'http://127.0.0.1/': give the host alone" in " ".join(bad.stderr.split())
    assert {hit.host for hit in web.log} == {"127.0.0.1"}
    assert sum(hit.path == "/post" for hit in web.log) == 2


@pytest.fixture
def web() -> Any:
    with PageServer() as server:
        yield server


def test_a_server_sends_for_its_private_host_and_refuses_a_caller_who_asks_for_more(web, tmp_path: Path) -> None:  # noqa: ANN001
    endpoint = Endpoint()
    web.pages["/t"] = Page('<link rel="webmention" href="/wm">')
    web.pages["/wm"] = endpoint
    web.pages["/post"] = post_page(web.url("/t", "them.test"))
    me = f"me.test:{web.port}"  # the test server's odd port, named as an operator would
    server = start_linkback(tmp_path, advertise=True, allow_private=False, allow_private_hosts=(me,))
    db = str(tmp_path / "linkback.duckdb")
    try:
        wider = cli("send", web.url("/post", "me.test"), "--allow-private-host", "them.test", "--db", db, code=2)
        said = " ".join(wider.stderr.split())
        assert "started without --allow-private-host them.test" in said
        assert "or send without --allow-private-host them.test" in said
        assert not any(hit.path == "/post" for hit in web.hits)  # refused before anything was fetched
        # Asking for what the server allows is no widening; the target on another name is refused.
        sent = cli("send", web.url("/post", "me.test"), "--allow-private-host", me, "--db", db,
                   "--format", "json", code=1)  # fmt: skip
        (row,) = json.loads(sent.stdout)
        assert (row["status"], row["reason"]) == ("refused", "target address: loopback")
        assert "--allow-private-host HOST" in " ".join(sent.stderr.split())  # the hint, in the run's messages
        assert [hit.path for hit in web.hits] == ["/post"] and endpoint.calls == []
    finally:
        server.stop()


def test_a_bad_entry_ends_the_command_before_it_starts(tmp_path: Path) -> None:
    db = str(tmp_path / "x.duckdb")
    for args in (
        ["serve", "--allow-private-host", "10.0.0.5/8", "--db", db],
        ["crawl", "http://127.0.0.1:9/", "--allow-private-host", "wiki:0", "--out", str(tmp_path / "w"), "--db", db],
        ["send", "http://127.0.0.1:9/", "--allow-private-host", "[wiki]", "--db", db],
    ):
        result = cli(*args, code=2)
        assert "error: cannot allow private host" in " ".join(result.stderr.split()), result.stderr
    assert not (tmp_path / "w").exists()


def test_every_command_with_allow_private_takes_the_same_allow_private_host() -> None:
    import click
    import typer.main

    def commands(group: click.Command, path: str = "linkback") -> dict[str, click.Command]:
        found = {path: group}
        for name, sub in getattr(group, "commands", {}).items():
            found |= commands(sub, f"{path} {name}")
        return found

    options = {}
    for path, command in commands(typer.main.get_command(app)).items():
        params = {p.name: p for p in command.params}
        if "allow_private" in params:
            options[path] = params["allow_private_hosts"]
    assert sorted(options) == [
        "linkback alerts run", "linkback cc fetch", "linkback crawl", "linkback monitor run", "linkback send",
        "linkback serve",
    ]  # fmt: skip
    assert {tuple(option.opts) for option in options.values()} == {("--allow-private-host",)}
    assert len({option.help for option in options.values()}) == 1
    assert all(option.multiple for option in options.values())
