"""The dashboard's Imports page (issue 15): export files uploaded with CSRF, queued as the same
``import`` job the API queues, its result beside ``linkback import``'s, the files imported listed
by the ``imports`` report, the upload limited while it streams. In-process, with Starlette's
TestClient; the limit is driven through the app's own middleware with a counting ``receive``.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serverkit import wait_for
from test_dashboard import TOKEN, sign_in
from test_dashboard_share import csrf_of, make_link, open_link
from typer.testing import CliRunner

from linkback.cli import app as cli_app
from linkback.server import Settings, create_app
from linkback.server._bodylimit import LimitBodies
from linkback.server._jobs import list_jobs, read_job
from linkback.server.web import _imports
from linkback.store import Store

DATA = Path(__file__).parent / "data" / "imports"
SITE = "example.com"
TWO = ("ahrefs-malformed.csv", "gsc-latest-links.csv")
HOSTILE_NAME = "<script>alert('name')</script>.csv"
HOSTILE_CELL = b"<script>alert('cell')</script>"


@pytest.fixture
def client(tmp_path: Path):
    db = str(tmp_path / "imports.duckdb")
    Store(db).close()
    with TestClient(create_app(Settings(db=db, admin_token=TOKEN, poll_seconds=0.25))) as c:
        yield c


def _files(*named: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, data, "text/csv")) for name, data in named]


def _upload(client: TestClient, csrf: str, files: list[Any], **fields: str) -> Any:
    return client.post("/do/import", data={"csrf": csrf, **fields}, files=files, follow_redirects=False)


def _finished(client: TestClient, job_id: int) -> dict[str, Any]:
    reader = client.app.state.linkback.reader

    def ended() -> Any:
        job = read_job(reader(), job_id)
        return job if job and job["state"] not in ("queued", "running") else None

    return wait_for(ended)  # type: ignore[return-value]


def _job_id(response: Any) -> int:
    assert response.status_code == 303, response.text[:500]
    found = re.fullmatch(r"/imports\?job=(\d+)", response.headers["location"])
    assert found, response.headers["location"]
    return int(found.group(1))


def test_an_upload_is_one_import_job_whose_result_is_linkback_imports(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    csrf = sign_in(client)
    job_id = _job_id(_upload(client, csrf, _files(*((n, (DATA / n).read_bytes()) for n in TWO)), site=SITE,
                             file_format="auto"))  # fmt: skip
    assert [(j["job_id"], j["kind"]) for j in list_jobs(client.app.state.linkback.reader())] == [(job_id, "import")]
    job = _finished(client, job_id)
    assert job["state"] == "done", job
    monkeypatch.chdir(DATA)  # the CLI names a file as it was given: here, as the browser did
    local = CliRunner().invoke(cli_app, ["import", *TWO, "--site", SITE, "--format", "json",
                                         "--db", str(tmp_path / "cli.duckdb")])  # fmt: skip
    assert local.exit_code == 0, local.output
    assert job["result"] == json.loads(local.stdout)
    # The page shows the result per file, the files imported, and links to their claims.
    html = client.get(f"/imports?job={job_id}").text
    assert "Import job %d: done" % job_id in html and "gsc-latest-links" in html
    assert "line 3: bad URL in &#39;Referring page URL&#39;" in html
    assert f'href="/reports/claims?target={SITE}&amp;via=gsc"' in html
    claims = client.get("/reports/claims", params={"target": SITE})
    assert claims.status_code == 200 and "<h1>Imported links" in claims.text
    assert "https://ok.example.org/d" in claims.text and "https://blog.example.org/" in claims.text


def test_the_recent_files_are_the_imports_report_of_the_cli_and_the_api(tmp_path: Path) -> None:
    db = str(tmp_path / "faces.duckdb")
    Store(db).close()
    with TestClient(create_app(Settings(db=db, admin_token=TOKEN, poll_seconds=0.25))) as client:
        csrf = sign_in(client)
        bing = (DATA / "bing-backlinks.csv").read_bytes()
        _finished(client, _job_id(_upload(client, csrf, _files(("b.csv", bing)))))
        api = client.get("/api/v1/reports/imports", params={"via": "bing"}, headers={"Authorization": f"Bearer {TOKEN}"})
        assert api.status_code == 200 and [r["name"] for r in api.json()] == ["b.csv"]
        assert api.json()[0]["added"] == 2 and api.json()[0]["target"] == SITE
        listed = client.get("/imports").text
        assert "<td>b.csv</td><td>bing-backlinks</td>" in listed
    local = CliRunner().invoke(cli_app, ["imports", "--via", "bing", "--format", "json", "--db", db])
    assert local.exit_code == 0, local.output
    assert json.loads(local.stdout) == api.json()


@pytest.mark.parametrize("csrf", ["", "not-the-token"])
def test_an_upload_without_the_csrf_token_is_refused_and_queues_nothing(client: TestClient, csrf: str) -> None:
    sign_in(client)
    r = _upload(client, csrf, _files(("b.csv", (DATA / "bing-backlinks.csv").read_bytes())))
    assert r.status_code == 403 and "CSRF" in r.text
    assert list_jobs(client.app.state.linkback.reader()) == []


def test_bad_form_values_are_said_on_the_page_and_queue_nothing(client: TestClient) -> None:
    csrf = sign_in(client)
    for files, fields, says in (
        ([], {}, "choose one or more export files"),
        (_files(("b.csv", b"x")), {"file_format": "excel"}, "unknown file format"),
    ):
        r = _upload(client, csrf, files, **fields)
        assert r.status_code == 400 and says in r.text, r.text[:300]
    assert list_jobs(client.app.state.linkback.reader()) == []


def test_a_share_link_cannot_open_the_page_or_upload(client: TestClient) -> None:
    sign_in(client)
    visitor = TestClient(client.app)
    open_link(visitor, make_link(client, SITE))
    # The share gate refuses what the link does not open, before the route (which wants the admin).
    assert visitor.get("/imports", follow_redirects=False).status_code == 403
    token = csrf_of(visitor.get(f"/reports/refdomains?target={SITE}").text)
    posted = _upload(visitor, token, _files(("b.csv", (DATA / "bing-backlinks.csv").read_bytes())))
    assert posted.status_code == 403
    assert list_jobs(client.app.state.linkback.reader()) == []
    assert 'href="/imports"' not in visitor.get(f"/reports/refdomains?target={SITE}").text


def test_hostile_file_names_and_refused_rows_are_escaped(client: TestClient) -> None:
    csrf = sign_in(client)
    hostile = (DATA / "ahrefs-malformed.csv").read_bytes().replace(b"twelve", HOSTILE_CELL)
    job_id = _job_id(_upload(client, csrf, _files((HOSTILE_NAME, hostile), ("x.csv", b"<b>Keyword</b>,Volume\n"))))
    assert _finished(client, job_id)["state"] == "done"
    html = client.get(f"/imports?job={job_id}").text
    assert "<script>alert" not in html and "<b>Keyword" not in html
    assert html.count("&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;.csv") == 2  # the job's and the list's
    assert html.count("line 5: unparseable number &#34;&lt;script&gt;alert(&#39;cell&#39;)&lt;/script&gt;&#34;") == 2
    assert "&lt;b&gt;Keyword&lt;/b&gt;" in html  # why x.csv failed, quoting its header


# --- the upload's size limit ------------------------------------------------------------------------


def _limits(client: TestClient, app: Any = None) -> LimitBodies:
    (found,) = [m for m in client.app.user_middleware if m.cls is LimitBodies]
    return LimitBodies(app or _never_called, found.kwargs["limits"])


async def _never_called(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("the body reached the route")


async def _reads_it_all(scope: Any, receive: Any, send: Any) -> None:
    """A route that reads the body to its end, as the form parser does; then answers 200."""
    while (message := await receive())["type"] == "http.request" and message.get("more_body"):
        pass
    if message["type"] == "http.disconnect":
        raise OSError("the client left")  # as Starlette's ClientDisconnect: the middleware answered
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _drive(limits: LimitBodies, headers: list[tuple[bytes, bytes]], chunks: int) -> tuple[int, bytes, int]:
    """The answer's status and body to a POST /do/import of ``chunks`` MiB, and how many were read."""
    read, sent = 0, []

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        return {"type": "http.request", "body": b"x" * 2**20, "more_body": read < chunks}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/do/import", "headers": headers}
    asyncio.run(limits(scope, receive, send))
    return sent[0]["status"], sent[1]["body"], read


def test_the_upload_has_its_own_limit_larger_than_the_other_forms(client: TestClient) -> None:
    limits = _limits(client)
    chosen = limits._limit_for({"type": "http", "path": "/do/import"})
    assert chosen is not None and chosen.max_bytes == _imports.UPLOAD_MAX_BYTES > 64 * 1024 and chosen.stream
    # A file over the other forms' 64 KB goes through.
    csrf = sign_in(client)
    big = b"".join(b"https://site%d.example.net/page\n" % i for i in range(4000))
    assert len(big) > 100 * 1024
    job = _finished(client, _job_id(_upload(client, csrf, _files(("big.txt", big)), site=SITE)))
    assert job["result"]["added"] == 4000


def test_an_upload_over_the_limit_is_413(client: TestClient) -> None:
    over = _imports.UPLOAD_MAX_BYTES // 2**20 + 8
    declared = [(b"content-type", b"multipart/form-data; boundary=x"), (b"content-length", b"%d" % (over * 2**20))]
    status, body, read = _drive(_limits(client), declared, over)
    assert (status, read) == (413, 0)  # declared too large: not a byte read
    assert body.startswith(b"upload too large: an import takes at most 256 MB")
    # Chunked: the route gets the body as it comes (to spool it to disk), the middleware counts it
    # and answers 413 once past the limit; the route hears the client left, and its answer is dropped.
    status, _, read = _drive(_limits(client, _reads_it_all), declared[:1], over)
    assert status == 413 and read == _imports.UPLOAD_MAX_BYTES // 2**20 + 1 < over
    # Within the limit, the route reads it all and answers.
    status, body, read = _drive(_limits(client, _reads_it_all), declared[:1], 3)
    assert (status, body, read) == (200, b"ok", 3)
