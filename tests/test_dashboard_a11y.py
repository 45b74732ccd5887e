"""The dashboard's accessibility (issue 14): axe-core finds no serious violation, and moderation works by keyboard.

axe-core is vendored for these tests only (tests/data/vendor/axe-core, with its SOURCE.txt and
licence); the package never ships it. Every page is checked at 1280 and 390 px, in the light and
the dark theme, since colour contrast (a serious violation) depends on the theme. One Chromium
(Debian's) and one server serve the whole module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serverkit import ServerThread, Settings
from test_dashboard import PAGES, TOKEN, _fill

#: One page per template (the report pages share one; their data differ, not their markup), so
#: the check stays within the suite's time budget.
A11Y_PAGES = [
    p
    for p in PAGES
    if not p.startswith("/reports/")
    or p.startswith(("/reports/backlinks", "/reports/toxic_domains", "/reports/domains", "/reports/sent"))
]

from linkback.conformance import browser_links as bl

AXE = Path(__file__).parent / "data" / "vendor" / "axe-core" / "axe.min.js"
NO_NET = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
SERIOUS = ("serious", "critical")

# What a keyboard user sees on the focused element: visible when it has an outline or a box-shadow.
FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  return {tag: e.tagName.toLowerCase(), type: e.type || '', name: e.name || '', value: e.value || '',
          text: (e.textContent || '').trim(), href: e.getAttribute('href') || '',
          visible: outline || s.boxShadow !== 'none', outline: s.outline, shadow: s.boxShadow};
}"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """(base URL, Chromium) for the module: a server on a store like test_dashboard's, and one browser."""
    why = bl.browser_missing()
    if why:
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    path = str(tmp_path_factory.mktemp("a11y") / "a11y.duckdb")
    _fill(path)
    with ServerThread(Settings(db=path, admin_token=TOKEN)) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=bl.CHROMIUM, args=[*bl.CHROMIUM_ARGS, NO_NET])
        try:
            yield url, browser
        finally:
            browser.close()


def _sign_in(page: Any, url: str) -> None:
    page.goto(url + "/login")
    page.fill("#token", TOKEN)
    page.keyboard.press("Enter")
    page.wait_for_url(url + "/")


def _axe(page: Any, axe: str, where: str) -> list[str]:
    """One line per serious or critical violation on the page: where, rule, help, and the nodes it names."""
    page.add_script_tag(content=axe)
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    lines = []
    for v in results["violations"]:
        if v["impact"] in SERIOUS:
            why = [n["failureSummary"].splitlines()[-1].strip() for n in v["nodes"][:5]]
            shown = [f"{' '.join(n['target'])} ({w})" for n, w in zip(v["nodes"], why)]
            more = f"; and {len(v['nodes']) - 5} more" if len(v["nodes"]) > 5 else ""
            nodes = "; ".join(shown) + more
            lines.append(f"{where}: {v['id']} [{v['impact']}] {v['help']}: {nodes}")
    return lines


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_violation_on_any_page(served: tuple[str, Any], scheme: str) -> None:
    url, browser = served
    axe = AXE.read_text(encoding="utf-8")
    found: list[str] = []
    # Both widths in the light theme (layout); the dark theme differs in colours only, which
    # axe checks at one width (a third fewer page loads: the suite stays within its budget).
    for width in (1280, 390) if scheme == "light" else (390,):
        # The pages' Content-Security-Policy forbids inline scripts, and axe is injected as one:
        # this context bypasses the CSP for that alone (test_dashboard checks the pages under it).
        context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme, bypass_csp=True)
        try:
            page = context.new_page()
            page.goto(url + "/login")  # signed out first: the sign-in page is checked too
            found += _axe(page, axe, f"/login {width}px {scheme}")
            _sign_in(page, url)
            for path in A11Y_PAGES:
                page.goto(url + path)  # the page's one script (the chart) has run by "load"
                found += _axe(page, axe, f"{path} {width}px {scheme}")
        finally:
            context.close()
    print("\n".join(found))
    assert found == [], "axe-core found serious violations:\n" + "\n".join(found)


def _tab_to(page: Any, wanted: Any, seen: list[dict[str, Any]], most: int = 60) -> dict[str, Any]:
    """Press Tab until the focused element is ``wanted`` (a predicate), recording each element focused on the way."""
    for _ in range(most):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is not None:
            seen.append(focused)
            if wanted(focused):
                return focused
    last = [f"{f['tag']} {f['text'][:30]}" for f in seen[-10:]]
    raise AssertionError(f"not reached in {most} Tabs; the last elements focused: {last}")


@pytest.mark.browser
def test_moderation_with_the_keyboard_alone(served: tuple[str, Any]) -> None:
    url, browser = served
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        seen: list[dict[str, Any]] = []
        page.goto(url + "/")  # redirected to sign in; the token field has the focus
        focused = page.evaluate(FOCUSED)
        assert focused is not None and focused["name"] == "token", focused
        seen.append(focused)
        page.keyboard.type(TOKEN)
        page.keyboard.press("Enter")
        page.wait_for_url(url + "/")

        _tab_to(page, lambda f: f["tag"] == "a" and f["text"] == "Mentions", seen)
        page.keyboard.press("Enter")
        page.wait_for_url(url + "/mentions")

        box = _tab_to(page, lambda f: f["tag"] == "input" and f["type"] == "checkbox" and f["name"] == "id", seen)
        page.keyboard.press("Space")
        assert page.evaluate("document.activeElement.checked") is True
        _tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Approve", seen)
        # The POST, then back to the inbox: wait for that navigation (the URL is /mentions before it too).
        with (
            page.expect_response(lambda r: r.url == url + "/do/moderate") as posted,
            page.expect_navigation(url=url + "/mentions"),
        ):
            page.keyboard.press("Enter")
        assert posted.value.status == 303

        hidden = [f for f in seen if not f["visible"]]
        assert hidden == [], f"focused without a visible focus indicator: {hidden}"
        page.goto(url + "/mentions?state=approved&status=")
        approved = page.locator(f'input[name="id"][value="{box["value"]}"]')
        assert approved.count() == 1
        assert "approved" in approved.locator("xpath=ancestor::tr").inner_text()
        page.goto(url + "/mentions?state=pending&status=")
        assert page.locator(f'input[name="id"][value="{box["value"]}"]').count() == 0
    finally:
        context.close()
