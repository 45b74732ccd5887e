"""The dashboard's unlinked brand mentions (issue 16): ``/unlinked?site=SITE``.

The store is real: pages read from a WARC by ingest (hostile text, a bidi override and a page
that links among them), a rank run for the DR order. In-process tests check the table is the
``unlinked`` report's rows, the snippets are escaped before their terms are marked, the brand
terms are saved through ``set_profile`` (its keywords kept) and "Rescan archives" queues the
``rescan`` job that finds them; one Chromium test goes through it all by keyboard, with
screenshots at 1280 and 390 px and axe-core's check.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from browserkit import AUDIT, CLEAN, chromium, watched_page
from fastapi.testclient import TestClient
from serverkit import Settings, wait_for
from test_dashboard_monitor import TOKEN, shot, sign_in, sign_in_by_keyboard, tab_to, with_axe
from typer.testing import CliRunner
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from linkback import quality
from linkback.brands import unlinked
from linkback.cli import app as cli
from linkback.ingest import ingest
from linkback.rank import rank
from linkback.server import ServerThread, create_app
from linkback.server._jobs import read_job
from linkback.server.web._brands import marked_snippet, split_terms, term_spans
from linkback.store import Store

SITE = "acme.example"
SCRIPT = "<script>window.__xss=1</script>"
IMG = '"><img src=x onerror=window.__xss=1>'
RLO, PDF = "\u202e", "\u202c"
#: Domains that link to big.example, so that it ranks above news.example.
LINKERS = ("one.example", "two.example", "three.example", "four.example")


def _html(body: str) -> str:
    return f"<!doctype html><html><head><title>t</title></head><body>{body}</body></html>"


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def pages() -> dict[str, str]:
    hostile = _esc(f"Hostile {SCRIPT} and {IMG} then") + f" Acme {RLO}desrever{PDF} here."
    found = {
        "https://news.example/a": _html(f"<p>{hostile}</p><a href='https://big.example/'>big</a>"),
        "https://big.example/c": _html("<p>We compared ACME Corp with the others; Acmeville is a town.</p>"),
        "https://tiny.example/d": _html("<p>A note about acme and amp &amp; more.</p>"),
        "https://blog.example/b": _html("<p>We love <a href='https://www.acme.example/'>Acme</a>.</p>"),
        "https://acme.example/self": _html("<p>Acme on its own site.</p>"),
    }
    for d in LINKERS:
        found[f"https://{d}/x"] = _html("<p>Nothing here.</p><a href='https://big.example/'>big</a>")
    return found


def write_warc(path: Path, found: dict[str, str] | None = None) -> Path:
    with path.open("wb") as f:
        writer = WARCWriter(f, gzip=True)
        for url, html in (pages() if found is None else found).items():
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            data = html.encode("utf-8")
            record = writer.create_warc_record(url, "response", payload=io.BytesIO(data), length=len(data),
                                               http_headers=http,
                                               warc_headers_dict={"WARC-Date": "2024-06-01T00:00:00Z"})  # fmt: skip
            writer.write_record(record)
    return path


@pytest.fixture(scope="module")
def unbranded(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store of the pages, ingested before any brand term was set (a rescan finds them)."""
    folder = tmp_path_factory.mktemp("unlinked")
    path = str(folder / "plain.duckdb")
    with Store(path) as store:
        quality.set_profile(store, SITE, keywords=["widgets"])
        ingest([write_warc(folder / "pages.warc.gz")], store=store, workers=1)
        rank(store)
    return path


@pytest.fixture(scope="module")
def db(unbranded: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The same store with brand terms and their mentions found."""
    path = str(tmp_path_factory.mktemp("branded") / "b.duckdb")
    shutil.copy(unbranded, path)
    with Store(path) as store:
        quality.set_profile(store, SITE, brands=["Acme", "Acme Corp"], keywords=["widgets"])
        from linkback.brands import rescan

        assert rescan(store)["hits"] >= 4
    return path


@pytest.fixture(scope="module")
def client(db: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(db=db, admin_token=TOKEN))) as c:
        sign_in(c)
        yield c


def store_of(client: TestClient) -> Store:
    return client.app.state.linkback.request_store()


def hostile_free(html: str) -> None:
    assert "<script>window" not in html and "<img src=x" not in html, html[:300]
    assert RLO not in html and PDF not in html


def text_of(html: str) -> str:
    """The page's text as it reads: tags out, entities decoded, whitespace runs as one space."""
    return " ".join(unescape(re.sub(r"<[^>]+>", "", html)).split())


def rows_of(html: str) -> list[list[str]]:
    table = html.split('class="data unlinked"', 1)[1].split("</table>", 1)[0].split("<tbody>", 1)[1]
    return [
        [" ".join(unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)
    ]


#: How a command hint is laid out: the lines it takes, and the words cut across two of them.
WRAPPED = """() => {
  const code = [...document.querySelectorAll('p.cli code.words')].find(c => c.textContent.startsWith('linkback profile'));
  const spans = [...code.querySelectorAll('span')];
  const tall = Math.min(...spans.map(s => s.getBoundingClientRect().height));
  return {lines: new Set(spans.map(s => Math.round(s.getBoundingClientRect().top))).size,
          cut: spans.filter(s => s.getBoundingClientRect().height > tall * 1.5).map(s => s.textContent)};
}"""


# --- the snippet ----------------------------------------------------------------------------------


def test_a_snippet_is_escaped_before_its_terms_are_marked() -> None:
    shown = str(marked_snippet(f"{SCRIPT} Acme {IMG} acme{RLO}x", ["Acme"]))
    assert shown.startswith("<bdi>") and shown.endswith("</bdi>")
    assert "<script>" not in shown and "<img" not in shown and RLO not in shown
    assert "&lt;script&gt;" in shown and "&#34;&gt;&lt;img" in shown
    assert shown.count("<mark>") == 2 and "<mark>Acme</mark>" in shown and "<mark>acme</mark>" in shown
    # A term is never looked for inside the escaped text: "amp" does not mark the &amp; it made.
    assert str(marked_snippet("fish & chips, amp up", ["amp"])) == "<bdi>fish &amp; chips, <mark>amp</mark> up</bdi>"
    # A term marked as a whole word, its words across any whitespace; a term in a term is one mark.
    assert term_spans("Acmeville and ACME   Corp", ["Acme", "Acme Corp"]) == [(14, 25)]
    assert term_spans("<Acme>", ["Acme"]) == [(1, 5)]
    assert str(marked_snippet(None, ["Acme"])) == "<bdi></bdi>"


def test_brand_terms_are_one_a_line() -> None:
    # The limits are set_profile's, on every face: tests/test_brand_profile_hostile.py.
    assert split_terms("Acme, Inc.\n\n  Acme  \nAcme, Inc.") == ["Acme, Inc.", "Acme"]
    assert split_terms("Acme\r\nBig Co\u2028Zed") == ["Acme", "Big Co", "Zed"]  # a line as a profile reads one


# --- the page -------------------------------------------------------------------------------------


def test_the_table_is_the_unlinked_reports_rows_best_domains_first(client: TestClient) -> None:
    html = client.get(f"/unlinked?site={SITE}").text
    hostile_free(html)
    rows = unlinked(store_of(client), SITE, limit=101)
    shown = rows_of(html)
    assert [r[0] for r in shown] == [r["url"] for r in rows]
    assert {r["url"] for r in rows} == {"https://news.example/a", "https://big.example/c", "https://tiny.example/d"}
    assert [r[2] for r in shown] == [f"{r['dr']:.1f}" if r["dr"] is not None else "–" for r in rows]
    drs = [r["dr"] for r in rows if r["dr"] is not None]
    assert drs == sorted(drs, reverse=True) and rows[0]["url"] == "https://big.example/c"
    assert [r[3] for r in shown] == [", ".join(r["terms"]) for r in rows]
    # The hostile page's snippet: its text, escaped, the term marked, the override dropped.
    news = html.split('href="https://news.example/a"', 1)[1].split("</tr>", 1)[0]
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in news and "&#34;&gt;&lt;img src=x" in news
    assert "<mark>Acme</mark> desrever" in news
    assert "<mark>ACME Corp</mark>" in html and "<mark>acme</mark>" in html
    # The terms in force, where to change them, the rescan, the commands and the downloads.
    assert "<li><mark>Acme</mark></li><li><mark>Acme Corp</mark></li>" in html
    assert 'action="/do/unlinked/brands"' in html and 'action="/do/unlinked/rescan"' in html
    text = text_of(html)
    assert f"as CLI: linkback unlinked {SITE} --limit 100 · download" in text
    assert "as CLI: linkback profile acme.example --brand Acme --brand 'Acme Corp' --keyword widgets" in text
    assert "as CLI: linkback rescan" in text
    # A command is its words, each a box of its own: the line wraps only between them.
    assert '<code class="words"><span>linkback</span> <span>unlinked</span> <span>acme.example</span> ' in html
    assert f'href="/reports/unlinked.csv?site={SITE}"' in html and f'href="/reports/unlinked.json?site={SITE}"' in html
    assert '<a href="/unlinked">Unlinked mentions</a>' in html


def test_the_downloads_are_every_row_of_the_report(client: TestClient) -> None:
    rows = unlinked(store_of(client), SITE)
    got = json.loads(client.get(f"/reports/unlinked.json?site={SITE}").text)
    assert [r["url"] for r in got] == [r["url"] for r in rows] and got[0]["terms"] == rows[0]["terms"]
    csv = client.get(f"/reports/unlinked.csv?site={SITE}").text.splitlines()
    assert csv[0] == "url,domain,dr,terms,snippet,first_seen,last_seen" and len(csv) == len(rows) + 1


def test_the_clis_csv_is_the_download(db: str, client: TestClient, tmp_path: Path) -> None:
    # A list cell is its items joined by "; " in both: "Acme; Acme Corp", never "['Acme', 'Acme Corp']"
    # (nor "Acme Acme Corp": three terms or two?).
    copy = tmp_path / "cli.duckdb"  # the CLI reads a copy: the server holds the file
    for suffix in ("", ".wal"):
        if Path(db + suffix).exists():
            shutil.copy(db + suffix, str(copy) + suffix)
    result = CliRunner().invoke(cli, ["unlinked", SITE, "--format", "csv", "--db", str(copy)])
    assert result.exit_code == 0, result.stderr
    download = client.get(f"/reports/unlinked.csv?site={SITE}").text
    assert result.stdout == download
    want = unlinked(store_of(client), SITE)
    got = list(csv.DictReader(io.StringIO(download)))
    assert [r["terms"] for r in got] == ["; ".join(r["terms"]) for r in want] and any(len(r["terms"]) > 1 for r in want)
    assert all("[" not in r["terms"] and "'" not in r["terms"] for r in got)


def test_rows_are_limited_and_bad_values_are_said(client: TestClient) -> None:
    html = client.get(f"/unlinked?site={SITE}&limit=1").text
    assert len(rows_of(html)) == 1 and "more exist" in html
    for query, words in ((f"site={SITE}&limit=0", "limit must be"), (f"site={SITE}&limit=%C2%B2", "limit must be"),
                         ("site=" + SCRIPT, "is not a domain")):  # fmt: skip
        r = client.get("/unlinked?" + query)
        assert r.status_code == 400 and words in unescape(r.text) and 'role="alert"' in r.text
        hostile_free(r.text)


def test_without_a_site_the_sites_and_their_terms_are_offered(client: TestClient) -> None:
    html = client.get("/unlinked").text
    assert f'<a href="/unlinked?site={SITE}">{SITE}</a> <span class="dim">(Acme, Acme Corp)</span>' in html
    assert '<datalist id="u-sites"><option value="acme.example">' in html
    bare = client.get("/unlinked?site=nobrand.example").text
    assert "No brand terms yet" in bare and 'class="data unlinked"' not in bare


def test_a_stranger_is_sent_to_sign_in_and_forms_need_the_token(db: str) -> None:
    with TestClient(create_app(Settings(db=db, admin_token=TOKEN))) as c:
        r = c.get(f"/unlinked?site={SITE}", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login?" + urlencode(
            {"next": f"/unlinked?site={SITE}"}
        )
        sign_in(c)
        for path in ("/do/unlinked/brands", "/do/unlinked/rescan"):
            assert c.post(path, data={"site": SITE, "brands": "X", "csrf": "wrong"}).status_code == 403
        assert c.get("/unlinked?job=x").status_code == 404
        assert quality.get_profile(store_of(c), SITE)["brands"] == ["Acme", "Acme Corp"]


def test_saving_terms_keeps_the_keywords_and_rescan_finds_them(unbranded: str, tmp_path: Path) -> None:
    db = str(tmp_path / "copy.duckdb")
    shutil.copy(unbranded, db)
    with TestClient(create_app(Settings(db=db, admin_token=TOKEN))) as c:
        csrf = sign_in(c)
        store = store_of(c)
        assert "No brand terms yet" in c.get(f"/unlinked?site={SITE}").text  # its profile has keywords only
        bad = c.post("/do/unlinked/brands", data={"csrf": csrf, "site": "https://acme.example/x", "brands": SCRIPT})
        assert bad.status_code == 400 and "not a URL" in unescape(bad.text)
        hostile_free(bad.text)
        assert SCRIPT.replace("<", "&lt;").replace(">", "&gt;") in bad.text  # the typed terms are kept, escaped
        r = c.post("/do/unlinked/brands", data={"csrf": csrf, "site": SITE.upper(), "brands": "Acme\nAcme Corp\n"},
                   follow_redirects=False)  # fmt: skip
        assert r.status_code == 303 and r.headers["location"] == f"/unlinked?site={SITE}&saved=1"
        assert quality.get_profile(store, SITE) == {
            "site": SITE,
            "brands": ["Acme", "Acme Corp"],
            "keywords": ["widgets"],
        }
        saved = c.get(r.headers["location"]).text
        assert "Brand terms saved" in saved and "No page names" in saved  # ingested before: not found yet
        r = c.post("/do/unlinked/rescan", data={"csrf": csrf, "site": SITE}, follow_redirects=False)
        assert r.status_code == 303
        job = int(re.fullmatch(rf"/unlinked\?site={SITE}&job=(\d+)", r.headers["location"]).group(1))
        reader = c.app.state.linkback.reader
        ended = wait_for(lambda: (j := read_job(reader(), job)) and j["state"] not in ("queued", "running") and j)
        assert ended["kind"] == "rescan" and ended["state"] == "done", ended
        html = c.get(r.headers["location"]).text
        assert (
            f"Rescan job {job}: done" in html
            and f"1 archive read, 9 HTML pages scanned for 2 brand terms: {ended['result']['hits']} mentions found."
            in text_of(html)
        )
        assert [row[0] for row in rows_of(html)] == [row["url"] for row in unlinked(store, SITE, limit=101)]
        assert len(rows_of(html)) == 3


# --- in Chromium: keyboard only --------------------------------------------------------------------


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as b:  # the process's shared Chromium: contexts of this test's own, closed after it
        yield b


@pytest.mark.browser
def test_in_chromium_set_terms_rescan_and_read_the_table_by_keyboard(
    unbranded: str, tmp_path: Path, browser: Any
) -> None:
    db = str(tmp_path / "browser.duckdb")
    shutil.copy(unbranded, db)
    with ServerThread(Settings(db=db, admin_token=TOKEN)) as url:
        problems: list[str] = []
        page = watched_page(browser, url, problems, 1280)
        sign_in_by_keyboard(page, url, "/unlinked")
        # The menu leads here; the site picker takes the site.
        tab_to(page, lambda f: f["id"] == "u-site")
        page.keyboard.type(SITE)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r".*/unlinked\?site=acme\.example.*"))
        tab_to(page, lambda f: f["id"] == "u-brands")
        page.keyboard.type("Acme\nAcme Corp")
        tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Save brand terms")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "Brand terms saved" in page.inner_text("main")
        tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Rescan archives")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.wait_for_selector("table.unlinked", timeout=20000)  # the page reloads until the job has ended
        assert page.evaluate(AUDIT) == CLEAN
        assert page.locator("table.unlinked tbody tr").count() == 3
        assert page.locator("table.unlinked mark").count() >= 3
        # The hostile snippet is text, the override gone: the words read in order.
        text = page.locator("table.unlinked").inner_text()
        assert SCRIPT in text and "Acme desrever here." in text
        shot(page, "unlinked", 1280)
        page.set_viewport_size({"width": 390, "height": 900})
        page.reload()
        shot(page, "unlinked", 390)
        # At 390 px the profile command takes lines, broken only between its words: no word is cut.
        lines = page.evaluate(WRAPPED)
        assert lines["lines"] > 1 and lines["cut"] == [], lines
        page.set_viewport_size({"width": 1280, "height": 900})
        assert problems == [], problems
        found = with_axe(page, url, [f"/unlinked?site={SITE}", "/unlinked"])
        assert found == [], "\n".join(found)


#: A page whose URL and snippet have no place to break a line: at 390 px they wrap anyway.
LONG_URL = "https://long.example/" + "a" * 150 + "?q=" + "b" * 60
LONG_WORD = "Supercalifragilistic" * 8

#: What sticks out at the page's width: of the table's region (scrolled sideways), of the page, and
#: each cell whose text is wider than the cell or that ends beyond the region.
STICKING_OUT = """() => {
  const region = document.querySelector('table.unlinked').closest('.scroll');
  const right = region.getBoundingClientRect().right;
  const cells = [...document.querySelectorAll('table.unlinked td')];
  return {region: region.scrollWidth - region.clientWidth, page: document.documentElement.scrollWidth - innerWidth,
          cells: cells.filter(td => td.getBoundingClientRect().right > right + 0.5 || td.scrollWidth > td.clientWidth + 0.5)
                      .map(td => td.dataset.label + ': ' + td.textContent.slice(0, 40)),
          long: [...document.querySelectorAll('table.unlinked a.url')].filter(a => a.textContent.startsWith('https://long'))
                      .map(a => a.getClientRects().length)};
}"""


@pytest.fixture(scope="module")
def long_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("unlinked-long")
    path = str(folder / "long.duckdb")
    found = {**pages(), LONG_URL: _html(f"<p>{LONG_WORD} Acme {LONG_WORD} and then the brand Acme Corp again.</p>")}
    with Store(path) as store:
        quality.set_profile(store, SITE, brands=["Acme", "Acme Corp"])
        ingest([write_warc(folder / "long.warc.gz", found)], store=store, workers=1)
    return path


@pytest.mark.browser
def test_in_chromium_long_urls_and_snippets_wrap_at_390_px(long_db: str, browser: Any) -> None:
    with ServerThread(Settings(db=long_db, admin_token=TOKEN)) as url:
        problems: list[str] = []
        page = watched_page(browser, url, problems, 390)
        sign_in_by_keyboard(page, url, f"/unlinked?site={SITE}")
        assert page.locator("table.unlinked tbody tr").count() == 4
        for width in (390, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            page.reload()
            shot(page, "unlinked-long", width)
            out = page.evaluate(STICKING_OUT)
            assert out["region"] <= 0 and out["page"] <= 0 and out["cells"] == [], (width, out)
            if width == 390:
                assert out["long"] and out["long"][0] > 1, out  # the URL takes lines, all of it shown
        text = page.locator("table.unlinked").inner_text()
        assert LONG_URL in text.replace("\n", "") and LONG_WORD[:40] in text
        assert problems == [], problems
