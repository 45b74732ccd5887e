"""The backlinks table in headless Chromium: filters set in the form and "Next" pages give the CLI's rows.

A user signs in, sets the filters with the form's controls, submits, and follows "Next" to the
end, with htmx swapping the results and once more with JavaScript off (plain links and GETs). The
cells read from the DOM are the CLI's ``--format json`` rows for the same filters, in the columns
the page shows; the bookmarked URL gives the same view again; a sortable header orders the rows as
the CLI's ``--sort`` does and says so in ``aria-sort``. On every page: a clean console, no request
off the origin, and none of the hostile anchors runs.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from browserkit import AUDIT, CLEAN, chromium, screenshot, sign_in, watched_page
from linkrows import insert, link, ts
from serverkit import ServerThread, Settings
from test_dashboard import IMG, SCRIPT, SVG
from test_dashboard_tables import TARGET, cli_run
from test_dashboard_tables import _fill as fill_tables

from linkback.server.web import SHOWN
from linkback.server.web._render import RATINGS
from linkback.store import Store

TOKEN = "browser-tables-token"
#: The filters as the form sets them, and as the CLI takes them.
SIZE = 8
CLI_FILTERS = ["--follow", "--kind", "text", "--sort", "source_domain"]
COLUMNS = SHOWN["backlinks"]
#: The cells of the results table, and its headers' labels with their aria-sort.
ROWS_JS = "() => [...document.querySelectorAll('table.data tbody tr')].map(r => [...r.cells].map(c => c.textContent.trim()))"
HEADERS_JS = """() => [...document.querySelectorAll('table.data thead th')].map(h => [
  h.textContent.trim().replace(/^sort by /, '').replace(/[ ↑↓]+$/, ''), h.getAttribute('aria-sort')])"""


class _InContext:
    """What ``watched_page`` opens its page in: a browser context of our own (JavaScript off)."""

    def __init__(self, context: Any) -> None:
        self.context = context

    def new_page(self, viewport: dict[str, int]) -> Any:
        page = self.context.new_page()
        page.set_viewport_size(viewport)
        return page


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The tables' links (ties on every sort key) and three links whose anchors are hostile."""
    path = str(tmp_path_factory.mktemp("browser-tables") / "tables.duckdb")
    with Store(path) as store:
        fill_tables(store)
        hostile = [
            link(f"http://evil.example/{i}", "https://example.com/xss", anchor=anchor, first_seen=ts("2024-03-01"))
            for i, anchor in enumerate((SCRIPT, IMG, SVG))
        ]
        insert(store, "links", hostile)
    return path


@pytest.fixture(scope="module")
def cli_rows(db: str) -> dict[str, list[dict[str, Any]]]:
    """The CLI's rows for the page's filters, by sort; run before the server holds the file."""
    out = {}
    for sort in ("source_domain", "source_dr"):
        args = ["backlinks", TARGET, *CLI_FILTERS[:-1], sort, "--limit", "0", "--format", "json"]
        out[sort] = json.loads(cli_run(args, db).stdout)
    return out


def as_shown(column: str, value: Any) -> str:
    """A JSON value as the page's cell reads (linkback.server.web._render.cell)."""
    if value is None or value is False:
        return ""
    if value is True:
        return "yes"
    if column == "anchor" and value == "":
        return "(none)"
    if isinstance(value, float) and (column in RATINGS or column.endswith(tuple("_" + r for r in RATINGS))):
        return f"{value:.1f}"
    if column.endswith(("_seen", "_at")) and isinstance(value, str):
        return value[:10]
    if isinstance(value, list):
        return " ".join(map(str, value))
    return str(value)


def expected_cells(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [[as_shown(c, r[c]) for c in COLUMNS] for r in rows]


def audited(page: Any, problems: list[str], where: str) -> list[list[str]]:
    """The table's cells, once the page proved clean: nothing hostile ran, the console is quiet."""
    audit = page.evaluate(AUDIT)
    assert audit == CLEAN, (where, audit)
    assert problems == [], (where, problems)
    rows = page.evaluate(ROWS_JS)
    if rows:
        headers = [label for label, _ in page.evaluate(HEADERS_JS)]
        assert headers == [c.replace("_", " ") for c in COLUMNS], where
    return rows


def set_filters(page: Any) -> None:
    """Follow: yes, kind: text, sort: source_domain, limit: SIZE, with the keyboard and the mouse."""
    page.click("#f-target")
    page.keyboard.type(TARGET)
    page.select_option("#f-follow", "yes")
    page.click("#f-kind option:text-is('text')")
    page.select_option("#f-sort", "source_domain")
    page.click("#f-limit")
    page.keyboard.press("Control+A")
    page.keyboard.type(str(SIZE))
    page.keyboard.press("Enter")


def walk(page: Any, problems: list[str], how: str) -> tuple[list[list[str]], list[str]]:
    """Every page's rows, following "Next" to the end; and the URL of each page (what a bookmark keeps)."""
    page.wait_for_url(lambda u: "follow=yes" in u and "kind=text" in u and f"limit={SIZE}" in u)
    cells: list[list[str]] = []
    urls: list[str] = []
    for _ in range(30):
        page.wait_for_selector("table.data tbody tr")
        urls.append(page.url)
        rows = audited(page, problems, f"{how} {page.url}")
        assert 0 < len(rows) <= SIZE, (how, page.url)
        cells += rows
        nxt = page.locator("nav.pager a[rel=next]")
        if nxt.count() == 0:
            return cells, urls
        assert len(rows) == SIZE
        seen = page.url
        page.evaluate("window.__walked = true")  # still there after the click if htmx swapped the rows in
        nxt.click()
        page.wait_for_url(lambda u, seen=seen: u != seen)
        assert page.evaluate("window.__walked === true") is (how == "htmx"), how
    raise AssertionError(f"{how}: the pages do not end")


def check_the_walk(page: Any, problems: list[str], expected: list[list[str]], how: str) -> list[str]:
    cells, urls = walk(page, problems, how)
    assert cells == expected, how
    assert len(urls) > 2 and all("after=" in u for u in urls[1:]), (how, urls)
    # A bookmark of any page gives that page's rows again, and the form shows its filters.
    page.reload()
    assert audited(page, problems, f"{how} reload") == expected[(len(urls) - 1) * SIZE :], how
    page.goto(urls[1])
    assert audited(page, problems, f"{how} bookmark") == expected[SIZE : 2 * SIZE], how
    assert page.input_value("#f-follow") == "yes" and page.input_value("#f-sort") == "source_domain", how
    return urls


@pytest.mark.browser
def test_filters_and_pages_in_chromium_give_the_cli_rows(db: str, cli_rows: dict) -> None:
    by_domain = expected_cells(cli_rows["source_domain"])
    assert len(by_domain) > 2 * SIZE and any(SCRIPT in row for row in by_domain)  # pages, and a hostile anchor
    with ServerThread(Settings(db=db, admin_token=TOKEN)) as url, chromium() as browser:
        problems: list[str] = []
        page = watched_page(browser, url, problems)
        sign_in(page, url, TOKEN, then="/reports/backlinks")
        assert audited(page, problems, "empty table") == []
        set_filters(page)
        check_the_walk(page, problems, by_domain, "htmx")

        # A header sorts by its column, keeping the filters, and says how the rows are sorted.
        page.click("table.data thead th a.sort:has-text('source dr')")
        page.wait_for_url(lambda u: "sort=source_dr" in u)
        page.wait_for_selector("table.data tbody tr")
        by_dr = audited(page, problems, "sorted by source_dr")
        assert by_dr == expected_cells(cli_rows["source_dr"])[:SIZE]
        sorts = dict(page.evaluate(HEADERS_JS))
        assert sorts["source dr"] == "descending" and sorts["source url"] is None
        assert page.input_value("#f-follow") == "yes" and "after=" not in page.url
        screenshot(page, "backlinks-pager-1280")
        page.close()

        # Without JavaScript: the form submits a GET and "Next" is a plain link.
        plain = browser.new_context(java_script_enabled=False)
        try:
            page = watched_page(_InContext(plain), url, problems)
            sign_in(page, url, TOKEN, then="/reports/backlinks")
            set_filters(page)
            check_the_walk(page, problems, by_domain, "no JavaScript")
        finally:
            plain.close()
    assert problems == [], problems
