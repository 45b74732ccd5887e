"""``linkback send`` from the command line, on its own and through a running server
(its job runner, ``POST /api/v1/jobs/send``), on 127.0.0.1 (specs/linkback-protocols.md §9, "Webmention sender")."""

from __future__ import annotations

import json

import httpx
import pytest
from serverkit import ADMIN, Page, PageServer, start_linkback, wait_for
from test_send import Endpoint, post_page, rss
from typer.testing import CliRunner

from linkback.cli import app


@pytest.fixture
def web():
    with PageServer() as server:
        yield server


@pytest.fixture
def endpoint(web) -> Endpoint:
    """``/t`` is a target whose Webmention endpoint is ``/wm``."""
    received = Endpoint()
    web.pages["/t"] = Page('<link rel="webmention" href="/wm">')
    web.pages["/wm"] = received
    return received


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(app, list(args), env=env)


def test_dry_run_shows_what_would_be_sent_and_sends_and_stores_nothing(tmp_path, web, endpoint) -> None:
    web.pages["/post"] = post_page(web.url("/t"))
    db = str(tmp_path / "lb.duckdb")
    result = run("send", web.url("/post"), "--dry-run", "--allow-private", "--db", db, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert [(r["target"], r["endpoint"], r["status"]) for r in json.loads(result.stdout)] == [
        (web.url("/t"), web.url("/wm"), "dry_run")
    ]
    assert endpoint.calls == []
    assert json.loads(run("sent", "--db", db, "--format", "json").stdout) == []


def test_linkback_allow_private_in_the_environment_is_honoured(tmp_path, web, endpoint) -> None:
    web.pages["/post"] = post_page(web.url("/t"))
    db = str(tmp_path / "lb.duckdb")
    result = run("send", web.url("/post"), "--db", db, "--format", "json", env={"LINKBACK_ALLOW_PRIVATE": "1"})
    assert result.exit_code == 0, result.stderr
    assert [r["status"] for r in json.loads(result.stdout)] == ["sent"] and len(endpoint.calls) == 1


def test_send_feed_sends_for_new_entries_then_nothing_while_the_feed_is_unchanged(tmp_path, web, endpoint) -> None:
    web.pages["/p1"] = post_page(web.url("/t"))
    web.pages["/feed.xml"] = Page(
        rss((web.url("/p1"), "One", "Mon, 02 Nov 2026 10:00:00 GMT")),
        headers={"Content-Type": "application/rss+xml", "ETag": '"v1"'},
    )
    db = str(tmp_path / "lb.duckdb")
    args = ("send", "--feed", web.url("/feed.xml"), "--allow-private", "--db", db, "--format", "json")
    first = run(*args)
    assert first.exit_code == 0, first.stderr
    assert [(r["source"], r["status"]) for r in json.loads(first.stdout)] == [(web.url("/p1"), "sent")]
    assert "1 entries, 0 unchanged" in first.stderr
    second = run(*args)  # this feed ignores If-None-Match: the entry is unchanged by its date
    assert second.exit_code == 0 and json.loads(second.stdout) == [] and "1 entries, 1 unchanged" in second.stderr
    assert len(endpoint.calls) == 1


def test_send_sitemap_sends_for_each_url_and_a_missing_sitemap_exits_1(tmp_path, web, endpoint) -> None:
    web.pages["/p1"] = post_page(web.url("/t"))
    web.pages["/p2"] = post_page(web.url("/t"))
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
    urls = "".join(f"<url><loc>{web.url(p)}</loc></url>" for p in ("/p1", "/p2"))
    web.pages["/sitemap.xml"] = Page(
        f'<?xml version="1.0"?><urlset {ns}>{urls}</urlset>', headers={"Content-Type": "application/xml"}
    )
    db = str(tmp_path / "lb.duckdb")
    result = run("send", "--sitemap", web.url("/sitemap.xml"), "--allow-private", "--db", db, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert sorted(r["source"] for r in json.loads(result.stdout)) == [web.url("/p1"), web.url("/p2")]
    assert len(endpoint.calls) == 2
    missing = run("send", "--sitemap", web.url("/nothing.xml"), "--allow-private", "--db", db, "--format", "json")
    assert missing.exit_code == 1 and "HTTP 404" in missing.stderr


# --- through a running server ---------------------------------------------------------------------


@pytest.fixture
def served(tmp_path):
    """Start a linkback server on tmp_path's database and advertise it as ``linkback serve`` does."""
    started = []

    def start(**settings):
        server = start_linkback(tmp_path, advertise=True, **settings)
        started.append(server)
        return server, str(tmp_path / "linkback.duckdb")

    yield start
    for server in started:
        server.stop()


def test_the_cli_hands_sends_to_a_running_server(web, endpoint, served) -> None:
    server, db = served()
    web.pages["/post"] = post_page(web.url("/t", "them.test"))
    result = run(
        "send", web.url("/post", "me.test"), "--blog-name", "My blog", "--budget", "120", "--db", db, "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    assert [r["status"] for r in json.loads(result.stdout)] == ["sent"] and len(endpoint.calls) == 1
    job = httpx.get(server.url + "/api/v1/jobs/1", params={"params": "true"}, headers=ADMIN).json()
    assert job["params"]["blog_name"] == "My blog"  # the job keeps it for the TrackBacks it sends
    assert job["params"]["budget"] == 120  # and runs within the time the CLI gave it


def test_allow_private_for_a_server_started_without_it_is_refused(web, endpoint, served) -> None:
    server, db = served(allow_private=False)
    web.pages["/post"] = post_page(web.url("/t", "them.test"))
    result = run("send", web.url("/post", "me.test"), "--allow-private", "--db", db)
    assert result.exit_code == 2  # an error, as every refusal of a command is
    assert "started without --allow-private" in " ".join(result.stderr.split())
    job = httpx.get(server.url + "/api/v1/jobs/1", headers=ADMIN).json()
    assert job["state"] == "failed" and endpoint.calls == []  # refused before anything was fetched
    via_env = run("send", web.url("/post", "me.test"), "--db", db, env={"LINKBACK_ALLOW_PRIVATE": "1"})
    assert via_env.exit_code == 2 and endpoint.calls == []
    # Nor does a dry run reach a private address through it: the server's guard is the server's.
    dry = run("send", web.url("/post", "me.test"), "--dry-run", "--allow-private", "--db", db)
    assert dry.exit_code == 2 and "started without --allow-private" in " ".join(dry.stderr.split())
    dry = run("send", web.url("/post", "me.test"), "--dry-run", "--db", db, "--format", "json")
    assert dry.exit_code == 1 and "--allow-private" in " ".join(dry.stderr.split())  # the post itself is refused
    assert endpoint.calls == [] and not any(hit.path == "/post" for hit in web.hits)


def test_a_send_the_server_could_not_do_exits_1(web, served) -> None:
    _server, db = served()
    result = run("send", web.url("/gone", "me.test"), "--db", db, "--format", "json")  # the post is a 404
    assert result.exit_code == 1 and "HTTP 404" in result.stderr


def test_post_api_send_does_a_feed(web, endpoint, served) -> None:
    server, _db = served()
    web.pages["/p1"] = post_page(web.url("/t", "them.test"))
    web.pages["/p2"] = post_page(web.url("/t", "them.test"))
    web.pages["/feed.xml"] = Page(
        rss(
            (web.url("/p1", "me.test"), "One", "Mon, 02 Nov 2026 10:00:00 GMT"),
            (web.url("/p2", "me.test"), "Two", "Tue, 03 Nov 2026 10:00:00 GMT"),
        ),
        headers={"Content-Type": "application/rss+xml"},
    )
    queued = httpx.post(
        server.url + "/api/v1/jobs/send", json={"feeds": [web.url("/feed.xml", "me.test")]}, headers=ADMIN
    )
    assert queued.status_code == 202
    done = wait_for(
        lambda: (s := httpx.get(queued.headers["location"], headers=ADMIN).json())["state"] == "done" and s
    )
    assert done["kind"] == "send" and done["result"]["messages"][0]["text"] == "2 entries, 0 unchanged"
    sends = done["result"]["sends"]
    assert sorted(s["source"] for s in sends) == [web.url("/p1", "me.test"), web.url("/p2", "me.test")]
    assert len(endpoint.calls) == 2


def test_trackbacks_sent_by_the_server_carry_the_blog_name(web, served) -> None:
    from urllib.parse import parse_qs

    from test_send import trackback_rdf

    server, _db = served()
    received = []
    web.pages["/tb"] = lambda hit: (
        received.append(parse_qs(hit.body.decode()))
        or Page("<response><error>0</error></response>", 200, {"Content-Type": "text/xml"})
    )
    target = web.url("/t", "them.test")
    web.pages["/t"] = Page(trackback_rdf(target, web.url("/tb", "them.test")))
    web.pages["/post"] = post_page(target)
    queued = httpx.post(
        server.url + "/api/v1/jobs/send", json={"posts": [web.url("/post", "me.test")], "blog_name": "My blog"}, headers=ADMIN
    )
    wait_for(lambda: httpx.get(queued.headers["location"], headers=ADMIN).json()["state"] == "done")
    assert received[0].get("blog_name") == ["My blog"]


def test_a_feed_job_whose_post_could_not_be_fetched_ends_failed(web, endpoint, served) -> None:
    server, _db = served()
    web.pages["/p1"] = post_page(web.url("/t", "them.test"))
    web.pages["/feed.xml"] = Page(
        rss(
            (web.url("/p1", "me.test"), "One", "Mon, 02 Nov 2026 10:00:00 GMT"),
            (web.url("/gone", "me.test"), "Two", "Tue, 03 Nov 2026 10:00:00 GMT"),  # a 404
        ),
        headers={"Content-Type": "application/rss+xml"},
    )
    queued = httpx.post(
        server.url + "/api/v1/jobs/send", json={"feeds": [web.url("/feed.xml", "me.test")]}, headers=ADMIN
    )
    job = wait_for(
        lambda: (s := httpx.get(queued.headers["location"], headers=ADMIN).json())["state"] not in ("queued", "running")
        and s
    )
    # The job ran: the post that failed is a failure in its result, and the CLI exits 1 for it.
    errors = [m for m in job["result"]["messages"] if m["level"] == "error"]
    assert job["result"]["failures"] == 1 and "/gone" in errors[0]["url"] and "HTTP 404" in errors[0]["text"]
    assert len(endpoint.calls) == 1  # the post that could be fetched was still sent for


def test_a_post_whose_every_notification_failed_exits_1(tmp_path, web) -> None:
    refusing = Endpoint(status=400)  # a 4xx is final: no retry
    web.pages["/t"] = Page('<link rel="webmention" href="/wm">')
    web.pages["/wm"] = refusing
    web.pages["/post"] = post_page(web.url("/t"))
    db = str(tmp_path / "lb.duckdb")
    result = run("send", web.url("/post"), "--allow-private", "--db", db, "--format", "json")
    assert [r["status"] for r in json.loads(result.stdout)] == ["failed"] and len(refusing.calls) == 1
    assert result.exit_code == 1 and "every notification failed" in " ".join(result.stderr.split())


def test_an_endpoint_refused_by_the_guard_says_how_to_allow_it(tmp_path, web, endpoint) -> None:
    web.pages["/post"] = post_page(web.url("/t"))
    db = str(tmp_path / "lb.duckdb")
    result = run("send", web.url("/post"), "--db", db, "--format", "json")  # the post itself is on 127.0.0.1
    assert result.exit_code == 1 and endpoint.calls == []
    assert "--allow-private" in " ".join(result.stderr.split())


def test_the_private_address_hint_names_the_ports_the_guard_allows() -> None:
    from linkback.fetch._guard import DEFAULT_PORTS
    from linkback.jobs import PRIVATE_HINT

    ports = sorted(DEFAULT_PORTS)
    assert f"ports other than {', '.join(map(str, ports[:-1]))} and {ports[-1]})" in PRIVATE_HINT
