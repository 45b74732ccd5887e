"""Hostile uploads to ``POST /api/v1/jobs/import`` and the dashboard's ``/do/import``: bodies over
the limit, cut short (the HTTP body, or the multipart one before its closing boundary) or sent a
byte a second; thousands of parts, huge part headers, hostile filenames, fields that are not what
they claim; a JSON body naming an upload; an upload replaced by a symlink before its job ran. Each
time: nothing is left in ``<db>.uploads``, no job reads outside it, and the server answers the next
request. In-process with Starlette's TestClient; on a real socket (uvicorn on 127.0.0.1) where a
slow or abandoned body matters.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serverkit import ADMIN, start_linkback, wait_for
from test_dashboard import TOKEN as DASH_TOKEN
from test_dashboard import sign_in

from linkback.server import Settings, api, create_app
from linkback.server._bodylimit import BodyLimit
from linkback.server._jobs import JobLanes, queue_job
from linkback.server._uploads import UploadGone, Uploads
from linkback.store import Store

TOKEN = "hostile-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ROUTE = "/api/v1/jobs/import"
LIST = b"https://a.example/page\n"  # a list of URLs: imports one claim when --site is given
SITE = "example.com"


def _left(db: str) -> list[str]:
    up = Path(f"{db}.uploads")
    return sorted(p.name for p in up.iterdir()) if up.exists() else []


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "h.duckdb")
    Store(path).close()
    return path


@pytest.fixture
def client(db: str):
    with TestClient(
        create_app(Settings(db=db, admin_token=TOKEN, poll_seconds=0.1)), raise_server_exceptions=False
    ) as c:
        yield c


def _jobs(client: TestClient) -> list[dict[str, Any]]:
    return client.get("/api/v1/jobs", headers=AUTH).json()


def _ended(client: TestClient, job_id: int) -> dict[str, Any]:
    def ended() -> Any:
        job = client.get(f"/api/v1/jobs/{job_id}", headers=AUTH).json()
        return job["state"] not in ("queued", "running") and job

    return wait_for(ended)  # type: ignore[return-value]


def _raw(disposition: bytes, data: bytes = LIST, *, close: bool = True) -> bytes:
    body = b"--x\r\nContent-Disposition: form-data; " + disposition + b"\r\n\r\n" + data
    return body + (b"\r\n--x--\r\n" if close else b"")


def _post_raw(client: TestClient, body: bytes, path: str = ROUTE, **headers: str) -> Any:
    return client.post(
        path, content=body, headers={**AUTH, "Content-Type": "multipart/form-data; boundary=x", **headers}
    )


def _small_limits(monkeypatch: pytest.MonkeyPatch, max_bytes: int = 2**20) -> None:
    """The upload routes' limits lowered (read when an app is made), so a test's body is small."""
    from linkback.server import web

    def lowered(limits: tuple[BodyLimit, ...]) -> tuple[BodyLimit, ...]:
        return tuple(BodyLimit(lim.path, max_bytes, lim.answer, stream=True) if lim.stream else lim for lim in limits)

    monkeypatch.setattr(api, "BODY_LIMITS", lowered(api.BODY_LIMITS))
    monkeypatch.setattr(web, "BODY_LIMITS", lowered(web.BODY_LIMITS))


# --- the size limit: declared, chunked; the API and the dashboard --------------------------------------


def test_a_body_over_the_limit_with_or_without_content_length_leaves_nothing(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_limits(monkeypatch)
    big = LIST * 60_000  # 1.3 MB, over the lowered 1 MB

    def chunks(path_field: bytes = b"") -> Any:
        yield path_field + b'--x\r\nContent-Disposition: form-data; name="files"; filename="big.txt"\r\n\r\n'
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]
        yield b"\r\n--x--\r\n"

    with TestClient(create_app(Settings(db=db, admin_token=DASH_TOKEN, poll_seconds=0.1))) as client:
        auth = {"Authorization": f"Bearer {DASH_TOKEN}"}
        declared = client.post(ROUTE, files=[("files", ("big.txt", big))], headers=auth)
        assert declared.status_code == 413
        streamed = client.post(
            ROUTE, content=chunks(), headers={**auth, "Content-Type": "multipart/form-data; boundary=x"}
        )
        assert streamed.status_code == 413
        csrf = sign_in(client)
        form = client.post(
            "/do/import", data={"csrf": csrf}, files=[("files", ("big.txt", big))], follow_redirects=False
        )
        assert form.status_code == 413 and form.text.startswith("upload too large")
        csrf_part = b'--x\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n' + csrf.encode() + b"\r\n"
        form = client.post(
            "/do/import", content=chunks(csrf_part), headers={"Content-Type": "multipart/form-data; boundary=x"},
            follow_redirects=False,
        )  # fmt: skip
        assert form.status_code == 413
        assert client.get("/api/v1/jobs", headers=auth).json() == []  # no job queued
        assert _left(db) == []
        ok = client.post(ROUTE, files=[("files", ("ok.txt", LIST))], data={"site": SITE}, headers=auth)
        assert ok.status_code == 202  # and the server still answers


# --- parts: many, huge headers, hostile names, fields that are not what they claim --------------------


def test_ten_thousand_tiny_files_are_refused_and_nothing_is_kept(client: TestClient, db: str) -> None:
    parts = b"".join(
        b'--x\r\nContent-Disposition: form-data; name="files"; filename="f%d"\r\n\r\nx\r\n' % i for i in range(10_000)
    )
    answer = _post_raw(client, parts + b"--x--\r\n")
    assert answer.status_code == 400 and "Too many files" in answer.json()["detail"]
    assert _left(db) == [] and _jobs(client) == []


def test_a_part_with_a_10_mb_header_or_filename_is_refused(client: TestClient, db: str) -> None:
    huge_name = _post_raw(client, _raw(b'name="files"; filename="' + b"a" * 10_000_000 + b'"'))
    assert huge_name.status_code == 400
    huge_header = _post_raw(
        client, b"--x\r\nX-Pad: " + b"p" * 10_000_000 + b'\r\nContent-Disposition: form-data; name="files"; '
        b'filename="a"\r\n\r\nx\r\n--x--\r\n'
    )  # fmt: skip
    assert huge_header.status_code == 400
    assert _left(db) == [] and _jobs(client) == []


@pytest.mark.parametrize(
    "filename",
    [b"../../../../etc/passwd", b"/etc/passwd", b"a\x00b.csv", b"a\nb.csv", b"a\xff\xfe\x80.csv", b"n" * 4000],
    ids=["dotdot", "absolute", "nul", "newline", "not-utf8", "long"],
)
def test_a_hostile_filename_is_only_a_label(client: TestClient, db: str, tmp_path: Path, filename: bytes) -> None:
    before = sorted(p.name for p in tmp_path.iterdir())
    queued = _post_raw(client, _raw(b'name="files"; filename="' + filename + b'"'))
    assert queued.status_code in (202, 400), queued.text
    if queued.status_code == 202:
        job = _ended(client, queued.json()["job_id"])
        assert job["state"] == "done", job
        (summary,) = job["result"]["files"]
        assert summary["status"] in ("imported", "failed")  # read from the upload, named as sent
        assert summary["name"] == filename.decode("utf-8", "replace") or summary["name"] == filename.decode("latin-1")
    assert _left(db) == []
    # Nothing written beside the database, by the name sent or another (its WAL and uploads aside).
    assert {p.name for p in tmp_path.iterdir()} - set(before) <= {"h.duckdb.wal", "h.duckdb.uploads"}
    assert not list(tmp_path.rglob("passwd"))


def test_parts_and_fields_that_are_not_what_they_claim(client: TestClient, db: str) -> None:
    # A file part named something else is no file of the job's; a text part named files no file.
    other = _post_raw(client, _raw(b'name="other"; filename="a.csv"'))
    text = _post_raw(client, _raw(b'name="files"'))
    for answer in (other, text):
        assert answer.status_code == 202, answer.text
        assert _ended(client, answer.json()["job_id"])["result"]["files"] == []
    # Duplicate fields: one value is taken (the last), a bad one is a 422, never a 500.
    dup = client.post(ROUTE, data={"site": ["x.example", SITE], "file_format": ["auto", "list"]},
                      files=[("files", ("a.txt", LIST))], headers=AUTH)  # fmt: skip
    assert dup.status_code == 202, dup.text
    job = _ended(client, dup.json()["job_id"])
    assert job["result"]["added"] == 1
    bad = client.post(ROUTE, data={"site": [SITE, "bad host!"]}, files=[("files", ("a.txt", LIST))], headers=AUTH)
    assert bad.status_code == 202, bad.text  # the job says what is wrong with the site, as for JSON
    assert _ended(client, bad.json()["job_id"])["state"] == "failed"
    unknown = client.post(ROUTE, data={"upload": "0" * 32}, files=[("files", ("a.txt", LIST))], headers=AUTH)
    assert unknown.status_code in (202, 422), unknown.text
    if unknown.status_code == 202:
        _ended(client, unknown.json()["job_id"])
    # An empty file is a file: it fails as no export, and its upload goes.
    empty = client.post(ROUTE, files=[("files", ("e.csv", b""))], headers=AUTH)
    assert empty.status_code == 202
    (summary,) = _ended(client, empty.json()["job_id"])["result"]["files"]
    assert summary["status"] == "failed" and summary["name"] == "e.csv"
    assert _left(db) == []


def test_a_json_body_cannot_name_an_upload_or_a_path(client: TestClient, db: str, tmp_path: Path) -> None:
    planted = client.app.state.linkback.jobs.uploads
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"https://secret.example/\n")
    with secret.open("rb") as f:
        upload_id = planted.save(f)  # a file on the server's disk, its ID guessed or leaked
    body = {"files": [{"name": str(secret), "upload": upload_id, "data": ""}], "site": SITE}
    queued = client.post(ROUTE, json=body, headers=AUTH)
    assert queued.status_code == 202, queued.text
    job = _ended(client, queued.json()["job_id"])
    assert job["result"]["added"] == 0 and job["result"]["files"][0]["status"] == "failed"
    params = client.get(f"/api/v1/jobs/{job['job_id']}", params={"params": "true"}, headers=AUTH).json()["params"]
    assert "upload" not in params["files"][0]
    # Without data, the upload key does not stand in for it: refused.
    only_id = client.post(ROUTE, json={"files": [{"name": "x", "upload": upload_id}]}, headers=AUTH)
    assert only_id.status_code == 422
    assert _left(db) == [upload_id]  # the job neither read nor deleted the file it was not given
    claims = client.get("/api/v1/reports/claims", params={"target": SITE}, headers=AUTH).json()
    assert claims == []


# --- a body cut short: no closing boundary ----------------------------------------------------------

SECOND = b"https://b.example/one\nhttps://b.example/two\nhttps://b.example/three\n"
#: Where a two-file body is cut: in the second file's data, just after the first file's data,
#: just after the delimiter that ends the first part (the first file whole, as a parser sees it:
#: it used to be imported alone), in the second part's headers.
CUTS = {
    "mid-data-of-2nd": lambda body: body.index(b"b.example/two"),
    "after-1st-data": lambda body: body.index(LIST) + len(LIST),
    "after-1st-delimiter": lambda body: body.index(LIST) + len(LIST) + len(b"\r\n--x\r\n"),
    "in-2nd-headers": lambda body: body.index(b'filename="b.txt"'),
}


def _two_files(**fields: str) -> bytes:
    """A whole multipart body: ``fields``, then files a.txt (:data:`LIST`) and b.txt (:data:`SECOND`)."""
    text = b"".join(
        b'--x\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (k.encode(), v.encode())
        for k, v in fields.items()
    )
    files = b"".join(
        b'--x\r\nContent-Disposition: form-data; name="files"; filename="%s"\r\n\r\n%s\r\n' % (name, data)
        for name, data in ((b"a.txt", LIST), (b"b.txt", SECOND))
    )
    return text + files + b"--x--\r\n"


def _claims(client: TestClient) -> list[Any]:
    return client.get("/api/v1/reports/claims", params={"target": SITE}, headers=AUTH).json()


@pytest.mark.parametrize("cut", list(CUTS))
def test_an_api_upload_cut_short_is_refused_and_nothing_is_kept(client: TestClient, db: str, cut: str) -> None:
    whole = _two_files(site=SITE)
    answer = _post_raw(client, whole[: CUTS[cut](whole)])
    assert answer.status_code == 400, answer.text
    assert "cut short" in answer.json()["detail"] and "nothing was kept" in answer.json()["detail"]
    assert _jobs(client) == [] and _left(db) == [] and _claims(client) == []


@pytest.mark.parametrize("cut", list(CUTS))
def test_a_dashboard_upload_cut_short_is_the_page_with_the_error(db: str, cut: str) -> None:
    with TestClient(create_app(Settings(db=db, admin_token=DASH_TOKEN, poll_seconds=0.1))) as client:
        whole = _two_files(csrf=sign_in(client), site=SITE)
        answer = client.post(
            "/do/import", content=whole[: CUTS[cut](whole)],
            headers={"Content-Type": "multipart/form-data; boundary=x"}, follow_redirects=False,
        )  # fmt: skip
        assert answer.status_code == 400, answer.text[:500]
        assert 'class="error" role="alert">the upload was cut short' in answer.text
        auth = {"Authorization": f"Bearer {DASH_TOKEN}"}
        assert client.get("/api/v1/jobs", headers=auth).json() == [] and _left(db) == []


def test_a_disavow_file_cut_short_is_not_checked_in_part(db: str) -> None:
    with TestClient(create_app(Settings(db=db, admin_token=DASH_TOKEN))) as client:
        head = _raw(b'name="csrf"', sign_in(client).encode(), close=False) + b"\r\n"
        head += _raw(b'name="text"', b"domain:pasted.example", close=False) + b"\r\n"
        body = head + _raw(b'name="file"; filename="disavow.txt"', b"domain:a.example\ndomain:b.exa", close=False)
        answer = client.post(
            "/disavow/check", content=body, headers={"Content-Type": "multipart/form-data; boundary=x"}
        )
        assert answer.status_code == 400, answer.text[:500]
        assert 'class="error" role="alert">the upload was cut short' in answer.text
        assert "pasted text" not in answer.text  # the text field before the cut was not checked instead


def test_an_empty_body_is_refused_and_bytes_after_the_closing_boundary_are_ignored(client: TestClient, db: str) -> None:
    empty = _post_raw(client, b"")
    assert empty.status_code == 400 and "empty" in empty.json()["detail"]
    assert _jobs(client) == []
    # RFC 2046 allows an epilogue after the closing boundary: the body was whole, it is imported.
    epilogue = _post_raw(client, _two_files(site=SITE) + b"\r\nan epilogue, not a part\r\n--x\r\n")
    assert epilogue.status_code == 202, epilogue.text
    job = _ended(client, epilogue.json()["job_id"])
    assert [(f["name"], f["status"]) for f in job["result"]["files"]] == [("a.txt", "imported"), ("b.txt", "imported")]
    assert _left(db) == []


# --- a queued job's upload: cancelled, deleted, replaced by a symlink ---------------------------------


def test_a_job_cancelled_while_queued_takes_its_upload_with_it(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(JobLanes, "_loop", lambda self, lane: None)  # no lane runs: the job stays queued
    with TestClient(create_app(Settings(db=db, admin_token=TOKEN))) as client:
        queued = client.post(ROUTE, files=[("files", ("a.txt", LIST))], data={"site": SITE}, headers=AUTH)
        assert queued.status_code == 202 and len(_left(db)) == 1
        cancelled = client.delete(f"/api/v1/jobs/{queued.json()['job_id']}", headers=AUTH)
        assert cancelled.status_code == 200, cancelled.text
        assert _left(db) == []


@pytest.mark.parametrize("target", ["/etc/passwd", "export"])
def test_a_job_does_not_read_its_upload_through_a_symlink(db: str, tmp_path: Path, target: str) -> None:
    export = tmp_path / "export.txt"
    export.write_bytes(LIST)  # were it read, it would import: a claim would prove it
    uploads = Uploads(db)
    with export.open("rb") as f:
        upload_id = uploads.save(f)
    path = uploads.path(upload_id)
    path.unlink()
    path.symlink_to(export if target == "export" else target)
    with Store(db) as store:
        job_id = queue_job(store, "import", {"files": [{"name": "a.txt", "upload": upload_id}], "site": SITE})
    with TestClient(create_app(Settings(db=db, admin_token=TOKEN, poll_seconds=0.1))) as client:
        job = _ended(client, job_id)
        assert job["state"] == "failed" and "no longer on the server" in job["error"], job
        assert "root:" not in job["error"]
        assert client.get("/api/v1/reports/claims", params={"target": SITE}, headers=AUTH).json() == []
    assert not os.path.lexists(path) and export.read_bytes() == LIST  # the link went, not what it named


def test_an_upload_replaced_after_the_job_bound_it_is_not_read_through_a_link(tmp_path: Path) -> None:
    uploads = Uploads(str(tmp_path / "b.duckdb"))
    upload_id = uploads.save(__import__("io").BytesIO(LIST))
    params: dict[str, Any] = {"files": [{"name": "a.txt", "upload": upload_id}]}
    assert uploads.bind(["files"], params) == [upload_id]
    (item,) = params["files"]
    assert item["data"] == LIST
    path = uploads.path(upload_id)
    path.unlink()
    path.symlink_to("/etc/passwd")  # between the check and the read
    with pytest.raises(UploadGone):
        item["data"]
    path.unlink()
    os.mkfifo(path)  # nor hang on a FIFO
    with pytest.raises(UploadGone):
        item["data"]
    uploads.close()


# --- the dashboard: CSRF before anything is kept ------------------------------------------------------


def test_a_dashboard_upload_without_its_csrf_token_keeps_nothing(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    saved: list[str] = []
    real_save = Uploads.save
    monkeypatch.setattr(Uploads, "save", lambda self, source: saved.append("x") or real_save(self, source))
    with TestClient(create_app(Settings(db=db, admin_token=DASH_TOKEN, poll_seconds=0.1))) as client:
        sign_in(client)
        for fields in ({}, {"csrf": "forged"}):
            answer = client.post("/do/import", data=fields, files=[("files", ("a.txt", LIST * 100_000))],
                                 follow_redirects=False)  # fmt: skip
            assert answer.status_code == 403
        assert saved == [] and _left(db) == []
        auth = {"Authorization": f"Bearer {DASH_TOKEN}"}
        assert client.get("/api/v1/jobs", headers=auth).json() == []
    with TestClient(create_app(Settings(db=db, admin_token=DASH_TOKEN))) as stranger:  # no session: not read
        answer = stranger.post("/do/import", files=[("files", ("a.txt", LIST))], follow_redirects=False)
        assert answer.status_code == 303 and saved == []


# --- on a socket: a client that leaves mid-body, one that sends a byte a second -----------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _request_head(port: int, length: int | None) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    size = f"Content-Length: {length}\r\n" if length is not None else "Transfer-Encoding: chunked\r\n"
    s.sendall(
        f"POST {ROUTE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-token\r\n"
        f"Content-Type: multipart/form-data; boundary=x\r\n{size}\r\n".encode()
    )
    return s


def test_a_client_that_leaves_mid_body_leaves_nothing_and_no_traceback(tmp_path: Path) -> None:
    server = start_linkback(tmp_path, sites=[])
    records = _Records()
    logging.getLogger("uvicorn.error").addHandler(records)  # after uvicorn has set its loggers up
    try:
        db, port = server.state.settings.db, int(server.url.rsplit(":", 1)[1])
        part = _raw(b'name="files"; filename="a.txt"', LIST * 20_000, close=False)  # 440 KB of 5 MB
        s = _request_head(port, 5_000_000)
        s.sendall(part)
        time.sleep(0.2)
        s.close()
        s = _request_head(port, None)  # chunked, cut inside a chunk
        s.sendall(b"%x\r\n" % 100_000 + part[:50_000])
        time.sleep(0.2)
        s.close()
        time.sleep(0.3)
        import httpx

        assert httpx.get(server.url + "/api/v1/jobs", headers=ADMIN).json() == []  # answers; no job
        assert _left(db) == []
        assert not [m for m in records.messages if "Exception in ASGI application" in m], records.messages
    finally:
        server.stop()
        logging.getLogger("uvicorn.error").removeHandler(records)


def test_a_byte_a_second_is_cut_at_the_pace_not_after_hours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (limit,) = [lim for lim in api.BODY_LIMITS if lim.path == ROUTE]
    # The whole body's deadline for this route: 10 s and a second per 16 KiB of 257 MB, 4.6 hours.
    assert 4.5 * 3600 < limit.seconds < 4.6 * 3600
    # The pace a streamed body must keep (10 s of grace, then 16 KiB/s): its grace made 1 s here.
    monkeypatch.setattr(BodyLimit, "due", staticmethod(lambda received: 1.0 + received / 16384))
    server = start_linkback(tmp_path, sites=[])
    s = _request_head(int(server.url.rsplit(":", 1)[1]), 5000)
    try:
        s.sendall(b'--x\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\n\r\n')
        s.settimeout(0.05)
        began, answer = time.monotonic(), b""
        while time.monotonic() - began < 6 and not answer:
            try:
                s.sendall(b"a")
                answer = s.recv(4096)
            except TimeoutError:
                time.sleep(0.2)  # a byte every quarter second: far under 16 KiB/s
            except OSError:
                break
        took = time.monotonic() - began
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert took < 3, took
        assert _left(server.state.settings.db) == []
        import httpx

        assert httpx.get(server.url + "/api/v1/jobs", headers=ADMIN).json() == []
    finally:
        s.close()
        server.stop()


def test_an_uploads_directory_that_is_a_symlink_is_not_used(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "db.duckdb.uploads").symlink_to(elsewhere)
    with pytest.raises(OSError, match="not a directory of this user's"):
        Uploads(str(tmp_path / "db.duckdb")).directory  # noqa: B018
    assert list(elsewhere.iterdir()) == []


def test_an_uploads_directory_open_to_others_is_closed_before_use(tmp_path: Path) -> None:
    made = tmp_path / "db.duckdb.uploads"
    made.mkdir(mode=0o777)
    made.chmod(0o777)
    assert Uploads(str(tmp_path / "db.duckdb")).directory == made
    assert made.stat().st_mode & 0o777 == 0o700
