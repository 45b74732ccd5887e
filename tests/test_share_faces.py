"""Share links' three faces: ``linkback share add|list|revoke``, ``/api/v1`` and the ``/shares``
page call the same functions (:mod:`linkback.shares`) and agree.

In-process: the CLI on the file (CliRunner), the API and the pages (TestClient). One real server
(uvicorn in a thread, advertised beside the database as ``linkback serve`` does) for the CLI
working through the API, a revocation ending a visitor's open session, and the access log.
"""

from __future__ import annotations

import json
import logging
import re
import socket
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from serverkit import ServerThread, Settings
from test_dashboard import TOKEN, sign_in
from test_dashboard_share import clients, csrf_of, db, open_link  # noqa: F401 - fixtures
from typer.testing import CliRunner

from linkback import shares
from linkback.cli import app as cli_app
from linkback.server import create_app
from linkback.store import Store

AUTH = {"Authorization": f"Bearer {TOKEN}"}
SECRET_PATH = re.compile(r"/share/([A-Za-z0-9_-]{20,100})")
#: A row of the page's table: the id (in the revoke form), the site, the creation time.
PAGE_ROW = re.compile(
    r'<tr><td><code title="([0-9a-f]{64})">[0-9a-f]{12}</code></td><td>([^<]*)</td>\s*'
    r'<td class="nw"><time datetime="([^"]+)">'
)


def cli(*args: str) -> Any:
    result = CliRunner().invoke(cli_app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, (args, result.stdout, result.stderr, result.exception)
    return result


def cli_list(db: str) -> list[dict[str, Any]]:
    return json.loads(cli("share", "list", "--format", "json", "--db", db).stdout)


def page_rows(html: str) -> list[dict[str, str]]:
    return [{"id": i, "site": s, "created_at": c} for i, s, c in PAGE_ROW.findall(html)]


def secret_of(path_or_url: str) -> str:
    return SECRET_PATH.search(path_or_url).group(1)


def revoke_everything(db: str) -> None:
    with Store(db) as store:
        for row in shares.list_shares(store):
            shares.revoke_share(store, row["id"])


# --- on the file, and in-process ---------------------------------------------------------------------


def test_cli_api_and_page_list_the_same_links_and_a_cli_link_opens_its_site_only(db: str) -> None:
    revoke_everything(db)
    made = cli("share", "add", "Example.COM", "--db", db)
    path = made.stdout.strip()
    assert SECRET_PATH.fullmatch(path) and path.startswith(shares.PATH)  # no server runs: the path
    assert "no server owns the database" in made.stderr
    cli("share", "add", "www.example.com", "--db", db)
    listed = cli_list(db)
    assert sorted(r["site"] for r in listed) == ["example.com", "www.example.com"]
    assert all(set(r) == {"id", "site", "created_at"} for r in listed)

    app = create_app(Settings(db=db, admin_token=TOKEN))
    with TestClient(app) as admin:
        sign_in(admin)
        api = admin.get("/api/v1/reports/shares", headers=AUTH)
        assert api.status_code == 200 and api.json() == listed
        assert page_rows(admin.get("/shares").text) == listed
        # The admin's table page of the report, and its download, are the same rows too.
        assert admin.get("/reports/shares.json").json() == listed

        visitor = TestClient(app)
        open_link(visitor, secret_of(path))
        assert visitor.get("/overview?target=example.com").status_code == 200
        assert visitor.get("/reports/backlinks?target=example.com").status_code == 200
        for refused in ("/overview?target=evil.example", "/shares", "/reports/shares", "/mentions"):
            assert visitor.get(refused, follow_redirects=False).status_code == 403, refused


def test_a_link_revoked_through_the_api_opens_nothing_from_the_next_request(clients) -> None:
    admin, visitor = clients
    made = admin.post("/api/v1/actions/create_share", json={"site": "example.com"}, headers=AUTH)
    assert made.status_code == 200 and set(made.json()) == {"id", "site", "created_at", "path"}
    share_id = made.json()["id"]
    open_link(visitor, secret_of(made.json()["path"]))
    assert visitor.get("/overview?target=example.com").status_code == 200

    revoked = admin.post("/api/v1/actions/revoke_share", json={"share": share_id[:8]}, headers=AUTH)
    assert revoked.status_code == 200 and revoked.json()["id"] == share_id
    r = visitor.get("/overview?target=example.com", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert visitor.get("/reports/backlinks.csv?target=example.com").status_code == 401
    assert visitor.get(made.json()["path"]).status_code == 404
    again = admin.post("/api/v1/actions/revoke_share", json={"share": share_id}, headers=AUTH)
    assert again.status_code == 404 and "no share link" in again.json()["detail"]
    for bad in ("", "abc", "z" * 12, "/share/" + "a" * 43):
        r = admin.post("/api/v1/actions/revoke_share", json={"share": bad}, headers=AUTH)
        assert r.status_code == 400 and "hex" in r.json()["detail"], bad
    assert admin.post("/api/v1/actions/create_share", json={"site": "co.uk"}, headers=AUTH).status_code == 400


def test_a_share_session_cannot_make_list_or_revoke_links(clients) -> None:
    admin, visitor = clients
    made = admin.post("/api/v1/actions/create_share", json={"site": "example.com"}, headers=AUTH).json()
    open_link(visitor, secret_of(made["path"]))
    token = csrf_of(visitor.get("/overview?target=example.com").text)
    before = admin.get("/api/v1/reports/shares", headers=AUTH).json()
    for path, fields in (("/do/shares/create", {"site": "example.com"}), ("/do/shares/revoke", {"share": made["id"]})):
        assert visitor.post(path, data={"csrf": token, **fields}, follow_redirects=False).status_code == 403, path
    for name, body in (("create_share", {"site": "example.com"}), ("revoke_share", {"share": made["id"]})):
        r = visitor.post(f"/api/v1/actions/{name}", json=body, follow_redirects=False)
        assert r.status_code in (401, 403), name
    for path in ("/shares", "/reports/shares", "/reports/shares.json", "/api/v1/reports/shares"):
        assert visitor.get(path, follow_redirects=False).status_code in (401, 403), path
    assert admin.get("/api/v1/reports/shares", headers=AUTH).json() == before
    assert visitor.get("/overview?target=example.com").status_code == 200  # and the link still works


def test_an_id_names_one_link_or_none() -> None:
    class Memory:
        """Just enough store for revoke_share: a meta table in an in-memory DuckDB."""

        def __init__(self) -> None:
            import duckdb

            self.con = duckdb.connect()
            self.con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")

        def write(self, fn: Any) -> Any:
            return fn(self)

    store: Any = Memory()
    first, second = "abababab" + "0" * 56, "ababababcd" + "0" * 54
    for digest in (first, second):
        store.con.execute("INSERT INTO meta VALUES (?, ?)", ["share:" + digest, '{"site": "example.com"}'])
    with pytest.raises(ValueError, match="2 links have ids starting abababab"):
        shares.revoke_share(store, "abababab")
    assert shares.revoke_share(store, " ABABABABCD ")["id"] == second  # more of it: one link
    assert [r["id"] for r in shares.list_shares(store)] == [first]
    assert shares.list_shares(store)[0]["created_at"] is None  # written by hand: no time, still listed


# --- through a running server ---------------------------------------------------------------------------


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_through_a_server_the_cli_prints_the_url_and_its_revocation_ends_open_sessions(db: str) -> None:
    revoke_everything(db)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    access = logging.getLogger("uvicorn.access")
    lines, level = Lines(), access.level
    with ServerThread(Settings(db=db, admin_token=TOKEN, advertise_url=url), port=port) as served:
        assert served == url
        access.addHandler(lines)
        access.setLevel(logging.INFO)
        try:
            made = cli("share", "add", "example.com", "--db", db)
            link = made.stdout.strip()
            assert link.startswith(url + shares.PATH) and "no server" not in made.stderr
            listed = cli_list(db)
            with httpx.Client(base_url=url, headers=AUTH, trust_env=False) as api:
                assert api.get("/api/v1/reports/shares").json() == listed and len(listed) == 1
            with httpx.Client(base_url=url, trust_env=False) as visitor:
                assert visitor.get(link, follow_redirects=True).status_code == 200  # the overview
                assert visitor.get("/reports/anchors?target=example.com").status_code == 200
                cli("share", "revoke", listed[0]["id"][:12], "--db", db)
                r = visitor.get("/reports/anchors?target=example.com", follow_redirects=False)
                assert r.status_code == 303 and r.headers["location"].startswith("/login")
                assert visitor.get(link).status_code == 404
            assert cli_list(db) == []
        finally:
            access.removeHandler(lines)
            access.setLevel(level)
    secret = secret_of(link)
    assert any("/share/***" in line for line in lines.lines), lines.lines  # the visits were logged
    assert not any(secret in line for line in lines.lines)


def test_secrets_are_in_no_list_and_no_log(db: str, caplog: pytest.LogCaptureFixture) -> None:
    revoke_everything(db)
    caplog.set_level(logging.DEBUG)
    secret = secret_of(cli("share", "add", "example.com", "--db", db).stdout)
    seen = [cli("share", "list", "--format", fmt, "--db", db).stdout for fmt in ("table", "json", "jsonl", "csv")]
    app = create_app(Settings(db=db, admin_token=TOKEN))
    with TestClient(app) as admin:
        sign_in(admin)
        open_link(TestClient(app), secret)  # it works
        seen += [
            admin.get("/shares").text,
            admin.get("/reports/shares").text,
            admin.get("/reports/shares.csv").text,
            admin.get("/api/v1/reports/shares", headers=AUTH).text,
        ]
    assert shares.share_hash(secret)[:12] in seen[0] and shares.share_hash(secret) in seen[1]
    assert not any(secret in text for text in seen)
    # The test's own HTTP client logs the URLs it asks for (a browser's history would hold it
    # too); the server's loggers must not.
    server_lines = [r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert not any(secret in line for line in server_lines)
