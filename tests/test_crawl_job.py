"""A crawl as a job: the crawling in a child process (the reactor runs once per process), the
frontier and the pages kept by the job; the CLI against a running server queues it.

The site is a loopback server answering for 127.0.0.1 (no name to map): the crawl is allowed
private addresses explicitly, as the server that runs it is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from serverkit import ADMIN, start_linkback
from typer.testing import CliRunner
from webkit import HostWeb

from linkback.cli import app
from linkback.ingest import ingest
from linkback.jobs import crawl
from linkback.store import Store

HOST = "127.0.0.1"


def _site(web: HostWeb) -> None:
    web.robots(HOST, "User-agent: *\nAllow: /\n")
    web.html(HOST, "/", "/a", "/b", "https://elsewhere.test/")
    web.html(HOST, "/a", "/b", "/c")
    web.html(HOST, "/b", "/")
    web.html(HOST, "/c")


def _observations(store: Store) -> set[tuple[Any, ...]]:
    return set(
        store.con.execute(
            "SELECT o.url, o.fetched_at, o.status, o.via, o.record_offset, a.path FROM observations o "
            "JOIN archives a USING (archive_id)"
        ).fetchall()
    )


def test_the_job_crawls_in_a_child_process_and_keeps_what_it_finds(tmp_path: Path) -> None:
    out = tmp_path / "warc"
    seen: list[dict[str, Any]] = []
    with HostWeb() as web, Store(tmp_path / "crawl.duckdb") as store:
        _site(web)
        result = crawl(store, seeds=[web.url(HOST)], out=str(out), allow_private=True, delay=0.05, progress=seen.append)
        paths = sorted(r.path for r in web.log)
        live = _observations(store)
        frontier = dict(
            store.con.execute(
                "SELECT url, arg_max(state, coalesce(done_at, added_at)) FROM crawl_frontier "
                "WHERE state IS NOT NULL GROUP BY url HAVING max(depth) >= 0"
            ).fetchall()
        )
        again = ingest(result["warc_files"], store=store, workers=1)
    assert paths == ["/", "/a", "/b", "/c", "/robots.txt"]
    assert result["pages"] == 4 and result["run"] == 1 and result["ingest"]["pages"] == 5  # robots.txt too
    assert set(frontier.values()) == {"done"} and len(frontier) == 4
    assert seen and seen[-1]["pages"] == 4  # the child's progress, streamed
    assert {f.status for f in again.files} == {"already_ingested"}
    with Store(tmp_path / "fresh.duckdb") as fresh:
        ingest(result["warc_files"], store=fresh, workers=1)
        assert _observations(fresh) == live


def test_a_crawl_on_a_database_a_server_owns_is_the_servers_job(tmp_path: Path) -> None:
    server = start_linkback(tmp_path, sites=[], advertise=True)
    try:
        with HostWeb() as web:
            _site(web)
            db = server.state.settings.db
            done = CliRunner().invoke(
                app,
                ["crawl", web.url(HOST), "--db", db, "--out", str(tmp_path / "warc"), "--allow-private",
                 "--delay", "0.05", "--format", "json"],
            )  # fmt: skip
        assert done.exit_code == 0, done.output
        summary = json.loads(done.stdout)
        assert summary["pages"] == 4 and summary["ingest"]["pages"] == 5
        jobs = httpx.get(server.url + "/api/v1/jobs", headers=ADMIN).json()
        assert [(j["kind"], j["state"]) for j in jobs] == [("crawl", "done")]
        pages = httpx.get(server.url + "/api/v1/reports/overview", headers=ADMIN, params={"target": HOST})
        assert pages.status_code in (200, 404)  # the route answers; the pages are the server's now
    finally:
        server.stop()
    with Store(Path(db)) as store:
        (stored,) = store.con.execute("SELECT count(*) FROM observations WHERE via = 'crawl'").fetchall()[0]
    assert stored == 5
