"""The dashboard's accessibility (issue 14): axe-core finds no serious violation, and moderation works by keyboard.

axe-core is vendored for these tests only (tests/data/vendor/axe-core, with its SOURCE.txt and
licence); the package never ships it. Every page is checked at 1280 and 390 px in the light
theme, and at 390 px in the dark one with the colour rules (contrast, a serious violation,
depends on the theme; nothing else does). One server serves the whole module; the Chromium (Debian's) is the test process's shared one (browserkit).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browserkit import chromium
from serverkit import ServerThread, Settings
from test_dashboard import PAGES, TOKEN, _fill

from linkback.conformance import browser_links as bl

#: One page per template (the report pages share one; their data differ, not their markup), so
#: the check stays within the suite's time budget.
A11Y_PAGES = [
    p
    for p in PAGES
    if not p.startswith("/reports/")
    or p.startswith(("/reports/backlinks", "/reports/toxic_domains", "/reports/domains", "/reports/sent"))
]

AXE = Path(__file__).parent / "data" / "vendor" / "axe-core" / "axe.min.js"
STYLES = Path(__file__).parent.parent / "linkback" / "server" / "web" / "static"
#: The axe rules whose outcome depends on colours: all that can tell the dark theme from the
#: light one, since the dark theme changes colour variables alone (checked below).
COLOUR_RULES = ("color-contrast", "link-in-text-block")
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
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a server on a store like test_dashboard's, for the module."""
    why = bl.browser_missing()
    if why:
        pytest.skip(why)
    path = str(tmp_path_factory.mktemp("a11y") / "a11y.duckdb")
    _fill(path)
    with ServerThread(Settings(db=path, admin_token=TOKEN)) as url:
        yield url


def _sign_in(page: Any, url: str) -> None:
    page.goto(url + "/login")
    page.fill("#token", TOKEN)
    page.keyboard.press("Enter")
    page.wait_for_url(url + "/")


#: axe.run on the rules that can report a serious or critical violation, the only ones the tests
#: fail on: a rule is left out only when its own impact and every one of its checks' impacts are
#: known (axe's metadata) and below serious; an unknown impact keeps it, and rules axe disables by
#: default stay out, as in a plain ``axe.run``. About 40 % less work a page, nothing less checked.
AXE_RUN = """async (only) => {
  const low = i => i === 'minor' || i === 'moderate';
  const checks = axe._audit.data.checks || {};
  const rules = axe._audit.rules.filter(r => r.enabled !== false).filter(r => {
    const ids = [...r.any, ...r.all, ...r.none].map(c => typeof c === 'string' ? c : c.id);
    return !(low(r.impact) && ids.every(id => checks[id] && low(checks[id].impact)));
  }).map(r => r.id).filter(id => only === null || only.includes(id));
  return axe.run(document, {resultTypes: ['violations'], runOnly: {type: 'rule', values: rules}});
}"""
#: Is axe on the page already (put there by ``preload_axe``)?
HAS_AXE = "() => typeof window.axe === 'object' && typeof window.axe.run === 'function'"


def preload_axe(context: Any, axe: str) -> None:
    """Every page of ``context`` gets axe before its own scripts run: sent to the browser once,
    rather than as a 650 kB script tag each time ``_axe`` is called (which cost as much as the check)."""
    context.add_init_script(axe)


def _axe(page: Any, axe: str, where: str, only: tuple[str, ...] | None = None) -> list[str]:
    """One line per serious or critical violation on the page: where, rule, help, and the nodes
    it names. ``only``: these rules alone (of those :data:`AXE_RUN` runs)."""
    if not page.evaluate(HAS_AXE):
        page.add_script_tag(content=axe)
    results = page.evaluate(AXE_RUN, None if only is None else list(only))
    lines = []
    for v in results["violations"]:
        if v["impact"] in SERIOUS:
            why = [n["failureSummary"].splitlines()[-1].strip() for n in v["nodes"][:5]]
            shown = [f"{' '.join(n['target'])} ({w})" for n, w in zip(v["nodes"], why)]
            more = f"; and {len(v['nodes']) - 5} more" if len(v["nodes"]) > 5 else ""
            nodes = "; ".join(shown) + more
            lines.append(f"{where}: {v['id']} [{v['impact']}] {v['help']}: {nodes}")
    return lines


def test_the_dark_theme_changes_colours_alone() -> None:
    """What lets the dark theme's axe run check colours alone: each of its rules sets a colour
    variable, so the pages' markup and layout are those the light theme's runs checked."""
    for sheet in sorted(STYLES.glob("*.css")):
        css = re.sub(r"/\*.*?\*/", "", sheet.read_text(encoding="utf-8"), flags=re.S)
        assert "prefers-color-scheme: light" not in css and "@import" not in css
        for block in re.findall(r"@media \(prefers-color-scheme: dark\) \{(.*?\})\s*\}", css, flags=re.S):
            for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", block):
                assert selector.strip() == ":root", (sheet.name, selector)
                for declaration in filter(None, (d.strip() for d in body.split(";"))):
                    assert re.fullmatch(r"--[a-z0-9-]+:\s*#[0-9a-f]{6}", declaration), (sheet.name, declaration)
        opened = css.count("prefers-color-scheme")
        assert opened == len(re.findall(r"@media \(prefers-color-scheme: dark\) \{", css)), sheet.name


@pytest.mark.browser
# Both widths in the light theme (layout); the dark theme differs in colours only (the test
# above), which axe checks at one width with its colour rules alone. One test each, so that
# test workers share them out.
@pytest.mark.parametrize(("scheme", "width"), [("light", 1280), ("light", 390), ("dark", 390)])
def test_axe_finds_no_serious_violation_on_any_page(served: str, scheme: str, width: int) -> None:
    url = served
    only = COLOUR_RULES if scheme == "dark" else None
    axe = AXE.read_text(encoding="utf-8")
    found: list[str] = []
    with chromium() as browser:
        # The pages' Content-Security-Policy forbids inline scripts, and axe is injected as one:
        # this context bypasses the CSP for that alone (test_dashboard checks the pages under it).
        context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme, bypass_csp=True)
        preload_axe(context, axe)
        page = context.new_page()
        page.goto(url + "/login")  # signed out first: the sign-in page is checked too
        found += _axe(page, axe, f"/login {width}px {scheme}", only)
        _sign_in(page, url)
        for path in A11Y_PAGES:
            page.goto(url + path)  # the page's one script (the chart) has run by "load"
            found += _axe(page, axe, f"{path} {width}px {scheme}", only)
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
def test_moderation_with_the_keyboard_alone(served: str) -> None:
    url = served
    with chromium() as browser:
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


#: A page with serious violations of WCAG rules and of best-practice ones (tabindex, accesskeys,
#: label-title-only, aria-dialog-name, aria-treeitem-name), for AXE_RUN's check below.
BAD = """<!doctype html><html><head><title>bad</title></head><body>
<div style="color:#aaa;background:#fff">low contrast</div><input type=text><button></button>
<a href="/x"></a><img src="data:,"><div tabindex="5">t</div><a accesskey="k" href="#">1</a><a accesskey="k" href="#">2</a>
<input type=text title="only title"><div role="dialog"></div><select></select><ul><div>x</div></ul>
<div role="button" aria-foo="1">b</div><iframe srcdoc="<p>x</p>"></iframe><h3></h3>
<table><tr><th></th></tr></table><marquee>m</marquee><div role="treeitem"></div></body></html>"""


@pytest.mark.browser
def test_the_rules_axe_run_leaves_out_report_nothing_serious() -> None:
    """AXE_RUN finds every serious or critical violation a plain axe.run finds, best-practice rules included."""

    def serious(results: dict[str, Any]) -> list[tuple[str, str, int]]:
        return sorted((v["id"], v["impact"], len(v["nodes"])) for v in results["violations"] if v["impact"] in SERIOUS)

    with chromium() as browser:
        context = browser.new_context(viewport={"width": 390, "height": 900})
        preload_axe(context, AXE.read_text(encoding="utf-8"))
        page = context.new_page()
        page.set_content(BAD)
        every = serious(page.evaluate("() => axe.run(document, {resultTypes: ['violations']})"))
        assert {"color-contrast", "label", "tabindex", "accesskeys", "label-title-only"} <= {v[0] for v in every}
        assert serious(page.evaluate(AXE_RUN)) == every
