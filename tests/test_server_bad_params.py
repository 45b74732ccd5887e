"""A value no report can take is a 400 that says which, never a 500: in the API, in the dashboard's
pages and downloads, and in the forms (found by a hostile review: each case below answered 500).

The checks are in the functions the three faces share (limits, dates, cursors), so the CLI says
the same; the dashboard adds its reading of a query string and of a posted form.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from conftest import copy_db
from fastapi.testclient import TestClient
from linkrows import insert, link, ts
from typer.testing import CliRunner

from linkback.cli import app
from linkback.rank import rank
from linkback.server import Settings, create_app
from linkback.store import Store

TOKEN = "bad-params-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BEYOND_INT64 = str(2**63)


def forged_cursor(body: dict) -> str:
    """A cursor with a valid checksum (it guards against cut and edited tokens, not forgery)."""
    data = json.dumps(body, separators=(",", ":")).encode()
    digest = hashlib.blake2b(data, digest_size=6, person=b"lb-cursor").digest()
    return base64.urlsafe_b64encode(digest + data).decode().rstrip("=")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("bad-params") / "index.duckdb")
    with Store(path) as store:
        rows = [
            link(f"https://s{i}.org/p", f"https://{target}/", anchor="a", first_seen=ts("2024-03-01"))
            for i in range(3)
            for target in ("victim.test", "rival.test")
        ]
        insert(store, "links", sorted(rows, key=lambda r: r["target_rhost"]))
        rank(store)
    return path


@pytest.fixture(scope="module")
def client(db: str):
    with TestClient(create_app(Settings(db=db, admin_token=TOKEN))) as c:
        yield c


API = {
    "sent, limit -1": ("/api/v1/reports/sent?limit=-1", "limit must be at least 1"),
    "silent_backlinks, days past int64": (
        f"/api/v1/reports/silent_backlinks?target=victim.test&days={BEYOND_INT64}", "days must be"),
    "silent_backlinks, days of 274 million years": (
        "/api/v1/reports/silent_backlinks?target=victim.test&days=99999999999", "days must be"),
    "growth in year 1": ("/api/v1/reports/growth?target=victim.test&since=0001-01-01&until=0001-01-01", "give a date"),
    "trend in year 1": ("/api/v1/reports/trend?target=victim.test&since=0001-01-01&until=0001-01-01", "give a date"),
    "compare_trend in year 1": (
        "/api/v1/reports/compare_trend?targets=victim.test&targets=rival.test&since=0001-01-01&until=0001-01-01",
        "give a date"),
    "growth compared with year 10000": (
        "/api/v1/reports/growth?target=victim.test&since=9999-12-01&until=9999-12-31&compare=year", "give a date"),
    "trend over eight thousand years, compared with the period before": (
        "/api/v1/reports/trend?target=victim.test&since=1970-01-01&until=9998-12-31", "before year 1"),
    "growth by day over eight thousand years": (
        "/api/v1/reports/growth?target=victim.test&since=1970-01-01&until=9998-12-31&by=day",
        "more than 36,600 periods"),
    "compare_trend by day over eight thousand years": (
        "/api/v1/reports/compare_trend?targets=victim.test&targets=rival.test&by=day&since=1970-01-01"
        "&until=9998-12-31", "more than 36,600 periods"),
    "a cursor's number past 64 bits": (
        "/api/v1/reports/refdomains?target=victim.test&after="
        + forged_cursor({"r": "refdomains", "s": "links", "k": [10**40, "a"]}), "after"),
    "a cursor's text with a lone surrogate": (
        "/api/v1/reports/refdomains?target=victim.test&after="
        + forged_cursor({"r": "refdomains", "s": "links", "k": [1, "\ud800"]}), "after"),
}  # fmt: skip


@pytest.mark.parametrize(("url", "says"), API.values(), ids=API.keys())
def test_the_api_refuses_values_no_report_takes(client: TestClient, url: str, says: str) -> None:
    response = client.get(url, headers=AUTH)
    assert response.status_code == 400, response.text
    assert says in response.text


@pytest.mark.parametrize("report", ["intersect?targets=victim.test&targets=rival.test", "toxic_domains?target=victim.test",
                                    "toxic_links?target=victim.test"])  # fmt: skip
def test_a_limit_past_64_bits_is_every_row(client: TestClient, report: str) -> None:
    huge = client.get(f"/api/v1/reports/{report}&limit={BEYOND_INT64}", headers=AUTH)
    every = client.get(f"/api/v1/reports/{report}", headers=AUTH)
    assert huge.status_code == every.status_code == 200, huge.text
    assert huge.json() == every.json()


PAGES = {
    "limit abc": ("/reports/refdomains?target=victim.test&limit=abc", "limit: 'abc' is not a whole number"),
    "min_dr x": ("/reports/refdomains?target=victim.test&min_dr=x", "min_dr: 'x' is not a number"),
    "min_dr inf": ("/reports/refdomains?target=victim.test&min_dr=inf", "min_dr: 'inf' is not a number"),
    "limit of 5000 digits": ("/reports/refdomains?target=victim.test&limit=" + "9" * 5000, "is not a whole number"),
    "tier not UTF-8": ("/reports/categories?target=victim.test&tier=%FF", "tier"),
    "sent limit -1": ("/reports/sent?limit=-1", "limit must be at least 1"),
    "unknown mention state": ("/mentions?state=x", "state"),
    "unknown mention status": ("/mentions?status=x", "status"),
    "overview in year 1": ("/overview?target=victim.test&until=0001-01-01", "give a date"),
    "compare in year 1": ("/compare?targets=victim.test&targets=rival.test&since=0001-01-01", "give a date"),
    "overview over eight thousand years": (
        "/overview?target=victim.test&since=1970-01-01&until=9998-12-31&compare=none", "more than 36,600 periods"),
    "overview over eight thousand years, compared with the period before": (
        "/overview?target=victim.test&since=1970-01-01&until=9998-12-31", "more than 36,600 periods"),
    "min score of 5000 digits": ("/disavow?target=victim.test&min_score=" + "9" * 5000, "min score must be"),
    "download, limit abc": ("/reports/refdomains.csv?target=victim.test&limit=abc", "not a whole number"),
}


@pytest.mark.parametrize(("url", "says"), PAGES.values(), ids=PAGES.keys())
def test_the_dashboard_says_what_is_wrong_with_a_hand_edited_url(client: TestClient, url: str, says: str) -> None:
    assert client.post("/do/login", data={"token": TOKEN}, follow_redirects=False).status_code == 303
    response = client.get(url)
    assert response.status_code == 400, response.text[:500]
    assert says in response.text.replace("&#39;", "'").replace("&#x27;", "'")


def test_a_form_with_more_fields_than_any_page_has_is_refused(client: TestClient) -> None:
    body = "&".join(["a=1"] * 2001)
    response = client.post("/do/login", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400 and "more than 2,000 fields" in response.text


def test_the_cli_refuses_the_same_values(db: str, tmp_path: Path) -> None:
    own = str(copy_db(Path(db), tmp_path / "cli.duckdb"))  # the module's server holds db open
    runner = CliRunner()
    days = runner.invoke(app, ["silent-backlinks", "victim.test", "--days", "99999999999", "--db", own])
    assert days.exit_code != 0 and "days must be" in days.output + days.stderr
    year = runner.invoke(app, ["growth", "victim.test", "--since", "0001-01-01", "--db", own])
    assert year.exit_code != 0 and "give a date from 1970-01-01" in year.output + year.stderr


def test_the_next_page_of_a_real_cursor_still_comes(client: TestClient) -> None:
    first = client.get("/api/v1/reports/refdomains?target=victim.test&limit=2", headers=AUTH)
    following = first.headers["link"].split(">", 1)[0].lstrip("<")
    second = client.get(following, headers=AUTH)
    assert second.status_code == 200 and len(first.json()) == 2 and len(second.json()) == 1
    assert {r["domain"] for r in first.json()}.isdisjoint(r["domain"] for r in second.json())
