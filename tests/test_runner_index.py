"""Every verified mention is also a link in the backlink index, whatever its source's type
(issue #4: "Every verified mention is also a link in the backlink index (via = webmention, ...)").

Real linkback server and source pages on 127.0.0.1; the rows are read from the server's own
database, as the reports read them.
"""

from __future__ import annotations

import httpx
import pytest
from serverkit import Page, PageServer, start_linkback, wait_for

TARGET = "http://blog.test/post"


@pytest.fixture(scope="module")
def pages():
    with PageServer() as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory, pages):
    srv = start_linkback(tmp_path_factory.mktemp("index"))
    yield srv
    srv.stop()


def verified(server, pages, path: str, body: str, content_type: str, target: str = TARGET) -> tuple[str, dict]:
    pages.pages[path] = Page(body, headers={"Content-Type": content_type})
    source = pages.url(path, "alice.test")
    response = httpx.post(server.url + "/webmention", data={"source": source, "target": target})
    assert response.status_code == 201
    location = response.headers["location"]
    status = wait_for(lambda: (s := httpx.get(location).json())["status"] != "queued" and s)
    assert status["status"] == "verified", status
    return source, status


def link_rows(server, source: str) -> list[dict]:
    cur = server.state.store.con.cursor()
    try:
        result = cur.execute(
            "SELECT target_url, via, kind, section, anchor, context, lost_at FROM links WHERE source_url = ?",
            [source],
        )
        names = [d[0] for d in result.description]
        return [dict(zip(names, row)) for row in result.fetchall()]
    finally:
        cur.close()


def test_a_json_source_is_a_link_in_the_index(server, pages) -> None:
    source, _ = verified(server, pages, "/like.json", f'{{"type": "entry", "like-of": "{TARGET}"}}', "application/json")
    (row,) = link_rows(server, source)
    assert row == row | {"target_url": TARGET, "via": "webmention", "kind": "text", "section": "content", "anchor": ""}
    assert row["lost_at"] is None


def test_a_plain_text_source_is_a_link_in_the_index_with_the_url_as_anchor(server, pages) -> None:
    source, _ = verified(server, pages, "/notes.txt", f"My notes.\nRead {TARGET} today.\n", "text/plain; charset=utf-8")
    (row,) = link_rows(server, source)
    assert row == row | {"target_url": TARGET, "via": "webmention", "kind": "text", "anchor": TARGET}
    assert "Read" in row["context"] and TARGET in row["context"]


def test_a_media_element_extraction_does_not_read_is_a_link_too(server, pages) -> None:
    body = f'<!doctype html><title>clip</title><p>Watch <a href="http://alice.test/">me</a></p><video src="{TARGET}"></video>'
    source, _ = verified(server, pages, "/clip", body, "text/html; charset=utf-8")
    rows = {r["target_url"]: r for r in link_rows(server, source)}
    assert rows[TARGET] == rows[TARGET] | {"via": "webmention", "kind": "image"}
    assert "http://alice.test/" in rows  # the page's own links, as extraction found them


def test_an_html_link_is_recorded_once(server, pages) -> None:
    body = f'<!doctype html><title>t</title><article><p>See <a href="{TARGET}">this post</a>.</p></article>'
    source, _ = verified(server, pages, "/once", body, "text/html")
    assert [(r["target_url"], r["kind"], r["anchor"]) for r in link_rows(server, source)] == [
        (TARGET, "text", "this post")
    ]
