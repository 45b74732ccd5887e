"""A report page asked for a sort it has not (a hand-edited URL) answers 400 and says why.

Every report the dashboard sorts (``ORDERS``) read ``sort`` unchecked and raised a KeyError on
the page (a 500) while its CSV download answered 400: both now answer 400, the page with its
form and a ``role="alert"`` naming the value (escaped) and the sorts there are, for the admin
and for a share link's session alike. In-process, on the dashboard tests' store.
"""

from __future__ import annotations

from html import unescape
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from serverkit import Settings
from test_dashboard import TOKEN, _fill, sign_in
from test_dashboard_share import make_link, open_link

from linkback.server import create_app
from linkback.server.web._forms import ORDERS

HOSTILE = "<script>alert(1)</script>"
#: Each sorted report with what opens it on the store's site.
OPENS = {"backlinks": {"target": "example.com"}, "refdomains": {"target": "example.com"},
         "anchors": {"target": "example.com"}, "pages": {"domain": "example.com"}, "domains": {}}  # fmt: skip


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("badsort") / "badsort.duckdb")
    _fill(path)
    return path


@pytest.fixture
def clients(db: str):
    """The admin's client (signed in) and a visitor's on a share link for example.com, one app."""
    app = create_app(Settings(db=db, admin_token=TOKEN))
    with TestClient(app) as admin:
        sign_in(admin)
        visitor = TestClient(app)
        open_link(visitor, make_link(admin, "example.com"))
        yield admin, visitor


def test_every_sorted_report_is_listed() -> None:
    assert set(OPENS) == set(ORDERS)


def _said(r, name: str, value: str) -> None:
    assert r.status_code == 400, (name, value, r.status_code, r.text[:300])
    assert 'role="alert"' in r.text and "content-security-policy" in r.headers
    alert = unescape(r.text.split('role="alert">', 1)[1].split("</p>", 1)[0])
    assert f"unknown sort {value!r}" in alert, alert
    assert ", ".join(ORDERS[name]) in alert, alert


@pytest.mark.parametrize("name", sorted(OPENS))
@pytest.mark.parametrize("value", ["zzz", HOSTILE])
def test_a_bad_sort_is_said_not_a_500(clients, name: str, value: str) -> None:
    admin, _ = clients
    query = urlencode({**OPENS[name], "sort": value})
    r = admin.get(f"/reports/{name}?{query}")
    _said(r, name, value)
    assert "<script>alert" not in r.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text or value == "zzz"
    assert "<form" in r.text  # the page's form is there, to ask again
    # Its download says the same.
    csv = admin.get(f"/reports/{name}.csv?{query}")
    assert csv.status_code == 400 and f"unknown sort {value!r}" in csv.json()["detail"]


@pytest.mark.parametrize("name", ["backlinks", "refdomains", "anchors"])
def test_a_bad_sort_is_said_without_the_required_target(clients, name: str) -> None:
    admin, _ = clients
    _said(admin.get(f"/reports/{name}?sort=zzz"), name, "zzz")


@pytest.mark.parametrize("name", ["backlinks", "refdomains", "anchors", "pages"])
def test_a_share_links_session_is_told_too(clients, name: str) -> None:
    _, visitor = clients
    r = visitor.get(f"/reports/{name}?{urlencode({**OPENS[name], 'sort': HOSTILE})}")
    _said(r, name, HOSTILE)
    assert "<script>alert" not in r.text


@pytest.mark.parametrize("name", sorted(OPENS))
def test_every_good_sort_still_opens(clients, name: str) -> None:
    admin, _ = clients
    for sort in ORDERS[name]:
        r = admin.get(f"/reports/{name}?{urlencode({**OPENS[name], 'sort': sort})}")
        assert r.status_code == 200 and 'role="alert"' not in r.text, (name, sort)


def test_the_disavow_report_is_sent_to_its_own_page_and_file(clients) -> None:
    # Its answer is a file's text, no rows: the generic report page answered 500 for any target.
    admin, _ = clients
    page = admin.get("/reports/disavow?target=example.com", follow_redirects=False)
    assert (page.status_code, page.headers["location"]) == (303, "/disavow?target=example.com")
    assert admin.get("/reports/disavow?target=example.com").status_code in (200, 400)  # 400: no rank run yet
    download = admin.get("/reports/disavow.csv?target=example.com", follow_redirects=False)
    assert (download.status_code, download.headers["location"]) == (303, "/disavow.txt?target=example.com")
