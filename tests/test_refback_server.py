"""Refback end to end: an access log whose referer is a real page on 127.0.0.1, handed to a
running ``linkback serve`` (``linkback refbacks LOG`` and ``POST /api/v1/jobs/refbacks``); the job
runner verifies the referring page, stores the mention ``pending`` whatever the site policy
(specs/linkback-protocols.md §9, Refback: "verified one stored `pending`") and adds its link to
the backlink index with ``via = refback``."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from serverkit import ADMIN, Page, PageServer, start_linkback, wait_for
from typer.testing import CliRunner

from linkback import mentions
from linkback.cli import app
from linkback.client import server_for

TARGET = "http://blog.test/post"
ARTICLE = f'<!doctype html><title>Weekly links</title><article><p>Read <a href="{TARGET}">this post</a>.</p></article>'


def log_line(path: str, referer: str, when: str = "10/Oct/2026:13:55:36 +0000") -> str:
    return f'198.51.100.7 - - [{when}] "GET {path} HTTP/1.1" 200 512 "{referer}" "Mozilla/5.0 (X11; Linux x86_64)"\n'


@pytest.fixture
def pages():
    with PageServer() as server:
        yield server


def _mention(server, source: str) -> dict | None:
    cur = server.state.store.con.cursor()
    try:
        return mentions.get_pair(cur, source, TARGET)
    finally:
        cur.close()


def _links(server, source: str) -> list[tuple]:
    cur = server.state.store.con.cursor()
    try:
        return cur.execute(
            "SELECT target_url, via, kind FROM links WHERE source_url = ? ORDER BY target_url", [source]
        ).fetchall()
    finally:
        cur.close()


def _settled(server, source: str) -> dict:
    return wait_for(lambda: (m := _mention(server, source)) and m["status"] != "queued" and m)


def test_a_refback_from_a_log_read_by_the_cli_is_verified_pending_and_indexed(tmp_path: Path, pages) -> None:
    pages.pages["/article"] = Page(ARTICLE)
    source = pages.url("/article", "alice.test")
    log = tmp_path / "access.log"
    log.write_text(
        log_line("/post", source)
        + log_line("/post", source, "10/Oct/2026:14:00:00 +0000")
        + log_line("/post", "https://www.google.com/search?q=post")  # counted, not queued
        + log_line("/post", "http://blog.test/")  # self-referral
    )
    server = start_linkback(tmp_path, ["blog.test"], advertise=True)  # policy "auto"
    try:
        db = str(tmp_path / "linkback.duckdb")
        assert server_for(db) is not None  # the command below is handed to the server
        result = CliRunner().invoke(
            app, ["refbacks", str(log), "--host", "blog.test", "--scheme", "http", "--format", "json", "--db", db]
        )
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        assert summary["queued"] == 1 and summary["referers_search"] == 1 and summary["referers_self"] == 1
        mention = _settled(server, source)
        assert mention["protocol"] == "refback" and mention["status"] == "verified"
        # An "auto" site approves a clean Webmention; a Refback waits for a person.
        assert mention["spam_score"] < mentions._moderation.APPROVE_BELOW
        assert mention["state"] == "pending" and mention["hits"] == 2
        assert _links(server, source) == [(TARGET, "refback", "text")]
        # Never shown before someone approves it.
        feed = httpx.get(server.url + "/api/mentions", params={"target": TARGET}).json()
        assert feed["total"] == 0
        assert any(h.path == "/article" for h in pages.hits)

        def read_log() -> None:
            again = CliRunner().invoke(
                app, ["refbacks", str(log), "--host", "blog.test", "--scheme", "http", "--db", db]
            )
            assert again.exit_code == 0, again.output

        # The same log read again (or an overlapping rotated one) counts no visit twice ...
        read_log()
        assert _mention(server, source)["hits"] == 2
        # ... while a visit logged later adds one.
        with log.open("a") as f:
            f.write(log_line("/post", source, "11/Oct/2026:09:00:00 +0000"))
        read_log()
        assert wait_for(lambda: _mention(server, source)["hits"] == 3)
    finally:
        server.stop()


def test_admin_refbacks_verify_pending_even_for_an_allowlisted_domain_and_blocked_ones_are_refused(
    tmp_path: Path, pages
) -> None:
    pages.pages["/article"] = Page(ARTICLE)
    pages.pages["/no-link"] = Page("<!doctype html><title>Spam</title><p>Cheap things.</p>")

    def rules(store) -> None:
        mentions.add_rule(store.con, "allow", "friend.test")
        mentions.add_rule(store.con, "block", "blocked.test")

    server = start_linkback(tmp_path, ["blog.test"], prepare=rules)
    try:
        friend, blocked, forged = (
            pages.url("/article", "friend.test"),
            pages.url("/article", "blocked.test"),
            pages.url("/no-link", "bob.test"),
        )
        response = httpx.post(
            server.url + "/api/v1/jobs/refbacks",
            headers=ADMIN,
            json={"candidates": [{"source": s, "target": TARGET, "hits": 3} for s in (friend, blocked, forged)]},
        )
        assert response.status_code == 202, response.text
        job = wait_for(lambda: (j := httpx.get(response.headers["location"], headers=ADMIN).json())["state"] == "done" and j)
        refused = job["result"]["refused"]
        settled = {s: _settled(server, s) if _mention(server, s) else None for s in (friend, blocked, forged)}
        # The allow rule would approve a Webmention from friend.test; a Refback still waits.
        assert settled[friend]["status"] == "verified" and settled[friend]["state"] == "pending"
        assert _links(server, friend) == [(TARGET, "refback", "text")]
        # Blocked: refused at once, never stored, never fetched, never indexed.
        assert refused == {"blocked": 1} and settled[blocked] is None
        assert _links(server, blocked) == []
        # A referer that does not link (referrer spam) is rejected and not indexed either.
        assert settled[forged]["status"] == "rejected" and settled[forged]["reason"] == "no_link_found"
        assert _links(server, forged) == []
    finally:
        server.stop()


def test_a_webmention_from_the_same_allowlisted_page_is_still_approved(tmp_path: Path, pages) -> None:
    """The near miss of the test above: the Refback rule does not touch the other protocols."""
    pages.pages["/article"] = Page(ARTICLE)
    server = start_linkback(tmp_path, ["blog.test"], prepare=lambda s: mentions.add_rule(s.con, "allow", "friend.test"))
    try:
        source = pages.url("/article", "friend.test")
        assert httpx.post(server.url + "/webmention", data={"source": source, "target": TARGET}).status_code == 201
        mention = _settled(server, source)
        assert mention["status"] == "verified" and mention["state"] == "approved"
        assert _links(server, source) == [(TARGET, "webmention", "text")]
    finally:
        server.stop()
