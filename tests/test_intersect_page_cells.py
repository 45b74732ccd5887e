"""The link intersect by referring page: each cell's number leads to exactly the links it counts
(a hostile round found the cells of ``/intersect`` with "Referring pages" on leading to all the
domain's backlinks to the target, 20 instead of 1). The backlinks report's ``from_url`` filter
(one referring page) is what the cells link to, and the CLI, the API and the dashboard take it
by that name."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient
from linkrows import insert, link, ts
from serverkit import Settings
from test_dashboard_monitor import TOKEN, sign_in
from typer.testing import CliRunner

from linkback import reports
from linkback.cli import app
from linkback.server import create_app
from linkback.store import Store

RIVAL, OTHER = "rival.example", "other.example"
BUSY, QUIET = "https://news.example/roundup", "https://news.example/one-mention"


def _links() -> list[dict]:
    """news.example: a roundup page with four links to the rival (one nofollow) and one page with
    a single link to it; both pages link to the other rival once."""
    rows = [link(BUSY, f"https://{RIVAL}/p{i}", anchor=f"rival {i}", nofollow=i == 3) for i in range(4)]
    rows += [link(QUIET, f"https://{RIVAL}/", anchor="rival")]
    rows += [link(url, f"https://{OTHER}/", anchor="other") for url in (BUSY, QUIET)]
    for row in rows:
        row.update(first_seen=ts("2024-03-01"), last_seen=ts("2024-09-01"))
    return sorted(rows, key=lambda r: r["target_rhost"])


def _store(path: str) -> str:
    with Store(path) as store:
        insert(store, "links", _links())
    return path


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _store(str(tmp_path_factory.mktemp("intersect_pages") / "pages.duckdb"))


@pytest.fixture(scope="module")
def client(db: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(db=db, admin_token=TOKEN))) as c:
        sign_in(c)
        yield c


def _cell_links(html: str) -> list[tuple[str, int]]:
    """(href, number shown) of each intersect cell that links to backlinks."""
    table = html.split('class="data intersect"', 1)[1].split("</table>", 1)[0]
    return [(unescape(href), int(n)) for href, n in re.findall(r'<a href="(/reports/backlinks\?[^"]+)">(\d+)<', table)]


def _listed_links(client: TestClient, href: str) -> list[str]:
    """The rows (their HTML) of the backlinks page at ``href``."""
    page = client.get(href)
    assert page.status_code == 200, page.text[:500]
    body = page.text.split('<table class="data">', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [row for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


@pytest.mark.parametrize("follow", [False, True])
def test_each_page_cell_leads_to_exactly_the_links_it_counts(client: TestClient, follow: bool) -> None:
    query = f"/intersect?targets={RIVAL}+{OTHER}&pages=yes" + ("&follow=yes" if follow else "")
    cells = _cell_links(client.get(query).text)
    assert {n for _, n in cells} == ({1, 3} if follow else {1, 4})  # the roundup's count differs from the page's
    assert len(cells) == 4
    for href, shown in cells:
        (page,) = parse_qs(urlsplit(href).query)["from_url"]
        rows = _listed_links(client, href)
        assert len(rows) == shown and all(page in row for row in rows), (href, rows)


def test_from_url_is_one_name_on_every_face(client: TestClient, tmp_path: Path) -> None:
    store = client.app.state.linkback.request_store()
    expected = reports.backlinks(store, RIVAL, from_url=BUSY)
    assert {r["source_url"] for r in expected} == {BUSY} and len(expected) == 4
    assert [r["source_url"] for r in reports.backlinks(store, RIVAL, from_url=f" {QUIET} ")] == [QUIET]
    with pytest.raises(ValueError, match="whole URL"):
        reports.backlinks(store, RIVAL, from_url="news.example")
    targets = sorted(r["target_url"] for r in expected)
    api = client.get("/api/v1/reports/backlinks", params={"target": RIVAL, "from_url": BUSY},
                     headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
    assert api.status_code == 200 and sorted(r["target_url"] for r in api.json()) == targets
    db = _store(str(tmp_path / "cli.duckdb"))  # the server holds its own file
    cli = CliRunner().invoke(app, ["backlinks", RIVAL, "--from-url", BUSY, "--format", "json", "--db", db])
    assert cli.exit_code == 0, cli.output
    assert sorted(r["target_url"] for r in json.loads(cli.stdout)) == targets
    page = client.get("/reports/backlinks?" + urlencode({"target": RIVAL, "from_url": BUSY})).text
    assert 'name="from_url"' in page and "--from-url" in page
