"""The dashboard's disavow page (issue 14): the toxic set with its reasons, allow/deny from a row,
the lists, the file to download, and a check of a disavow file that says what the CLI says.

In-process tests use Starlette's TestClient; one headless Chromium test (Debian's) works the page
with the keyboard, checks that hostile domain, note and file text never runs, and writes
screenshots to ``build/screenshots``.
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest
from browserkit import chromium, screenshot
from fastapi import FastAPI
from fastapi.testclient import TestClient
from linkrows import insert, link
from test_reports import build_store
from typer.testing import CliRunner

from linkback import quality
from linkback.cli import app as cli
from linkback.conformance import browser_links as bl
from linkback.rank import rank
from linkback.server import ServerThread, Settings, create_app
from linkback.server._bodylimit import LimitBodies
from linkback.server.web import _disavow
from linkback.store import Store

TOKEN = "disavow-token"
SCRIPT = "<script>window.__xss=1</script>"
HOSTILE = "<img src=x onerror=window.__xss=1>.tk"  # a referring domain as a crawl could store it
#: A disavow file breaking several rules, one of its lines hostile.
BAD_FILE = (
    b"# mine\n"
    b"domain:spam.example\n"
    b"spam.example\n"
    b"domain:spam.example\n"
    b"https://spam.example/page\n"
    b"domain:www.other.example  \n"
    + SCRIPT.encode()
    + b"\n"
    b"domain:bad host.example\n"
)


def _fill(path: str, *, ranked: bool = True) -> None:
    with build_store(path) as store:
        insert(
            store,
            "links",
            [
                link("http://hostile.tk/p", "https://example.com/", source_host=HOSTILE, source_domain=HOSTILE,
                     anchor="buy cheap viagra casino"),
                link("http://casino-links.tk/a", "https://example.com/", anchor="best casino bonus"),
                link("http://casino-links.tk/b", "https://example.com/x", anchor="best casino bonus"),
            ],
        )  # fmt: skip
        if ranked:
            rank(store)


@pytest.fixture(scope="module")
def ranked_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("disavow") / "ranked.duckdb")
    _fill(path)
    return path


@pytest.fixture
def db(ranked_db: str, tmp_path: Path) -> str:
    """A copy of the ranked store for one test, which may change its lists."""
    path = str(tmp_path / "copy.duckdb")
    shutil.copy(ranked_db, path)
    return path


def wired(app: FastAPI) -> FastAPI:
    """The app with the disavow page and its body limit, until ``create_app`` adds them itself."""
    if not any(getattr(route, "path", "") == "/disavow" for route in app.routes):
        _disavow.register(app)
    if not any(set(_disavow.BODY_LIMITS) <= set(m.kwargs.get("limits", ())) for m in app.user_middleware):
        app.add_middleware(LimitBodies, limits=_disavow.BODY_LIMITS)
    return app


def client_for(db: str) -> TestClient:
    return TestClient(wired(create_app(Settings(db=db, admin_token=TOKEN))))


def sign_in(client: TestClient) -> str:
    r = client.post("/do/login", data={"token": TOKEN, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/disavow").text).group(1)


def shown_domains(page: str) -> list[str]:
    row = r'<td class="entry">([^<]*)</td>\s*<td class="num" data-label="toxicity"><span class="score'
    return [html.unescape(d) for d in re.findall(row, page)]


def list_rows(page: str, which: str) -> list[str]:
    form = page.split(f'name="list" value="{which}"', 1)[1].split("</form>", 1)[0]
    return [html.unescape(e) for e in re.findall(r'<td class="entry">([^<]*)</td>', form)]


def problems_shown(page: str) -> list[tuple[str, str, str, str]]:
    """(line, severity, rule, message) of each row of the check's table, unescaped."""
    rows = re.findall(
        r'<tr class="p-(?:error|warning)"><td class="num">(\d*)</td><td><span class="sev \w+">(\w+)</span></td>\s*'
        r'<td class="nw"><code>([a-z0-9-]+)</code></td><td class="message">(.*?)</td></tr>',
        page,
        re.S,
    )
    return [(line, sev, rule, html.unescape(message)) for line, sev, rule, message in rows]


def test_the_page_and_its_download_need_a_session(db: str) -> None:
    with client_for(db) as client:
        r = client.get("/disavow?target=example.com", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fdisavow%3Ftarget%3Dexample.com"
        assert client.get("/disavow.txt?target=example.com").status_code == 401
        r = client.post("/do/disavow/deny", data={"entry": "casino-links.tk"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        r = client.post("/disavow/check", data={"text": "domain:a.example"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        with Store(db) as store:
            assert quality.list_entries(store) == []


def test_the_page_lists_the_toxic_domains_the_cli_lists_worst_first(db: str) -> None:
    result = CliRunner().invoke(cli, ["toxic", "example.com", "--min-score", "30", "--format", "csv", "--db", db])
    assert result.exit_code == 0, result.stderr
    theirs = [line.split(",")[2].strip('"') for line in result.stdout.splitlines()[1:]]
    with client_for(db) as client:
        sign_in(client)
        page = client.get("/disavow?target=example.com&min_score=30")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert shown_domains(page.text) == theirs == [HOSTILE, "casino-links.tk", "a.org"]
    assert "linkback toxic example.com --min-score 30" in page.text
    assert '<span class="signal">commercial_anchor</span>' in page.text
    assert "<dt>spam_tld</dt>" in page.text  # the reasons, explained
    assert 'href="/disavow.txt?target=example.com&amp;min_score=30"' in page.text
    # The hostile domain is text everywhere it appears: cell, button value, label.
    assert "<img src=x" not in page.text and "&lt;img src=x onerror=window.__xss=1&gt;.tk" in page.text


def test_without_a_rank_run_the_page_says_so_instead_of_failing(tmp_path: Path) -> None:
    path = str(tmp_path / "unranked.duckdb")
    _fill(path, ranked=False)
    with client_for(path) as client:
        sign_in(client)
        page = client.get("/disavow?target=example.com")
        download = client.get("/disavow.txt?target=example.com")
        bad_score = client.get("/disavow?target=example.com&min_score=abc")
    assert page.status_code == 400 and "no rank run yet: run &#39;linkback rank&#39; first" in page.text
    assert 'id="check"' in page.text  # the rest of the page still works
    assert download.status_code == 400 and download.text == "no rank run yet: run 'linkback rank' first\n"
    assert bad_score.status_code == 400 and "min score must be a whole number from 1 to 100" in bad_score.text


def test_deny_allow_and_remove_from_the_page_change_the_lists_and_the_file(db: str) -> None:
    with client_for(db) as client:
        csrf = sign_in(client)
        back = "/disavow?target=example.com&min_score=30#lists"
        form = {"csrf": csrf, "entry": "a.org", "note": SCRIPT, "target": "example.com", "min_score": "30"}
        r = client.post("/do/disavow/deny", data=form, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == back
        page = client.get("/disavow?target=example.com&min_score=30").text
        assert list_rows(page, "deny") == ["a.org"] and list_rows(page, "allow") == []
        assert shown_domains(page)[0] == "a.org" and '<span class="signal">denied</span>' in page
        assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in page and SCRIPT not in page  # the note
        assert "domain:a.org" in client.get("/disavow.txt?target=example.com&min_score=90").text

        form = {"csrf": csrf, "entry": "casino-links.tk", "target": "example.com", "min_score": "30"}
        r = client.post("/do/disavow/allow", data=form, follow_redirects=False)
        assert r.status_code == 303
        page = client.get("/disavow?target=example.com&min_score=30").text
        assert list_rows(page, "allow") == ["casino-links.tk"] and "casino-links.tk" not in shown_domains(page)
        file = client.get("/disavow.txt?target=example.com&min_score=30").text
        assert "domain:casino-links.tk" not in file

        form = {"csrf": csrf, "list": "deny", "entry": "a.org"}
        r = client.post("/do/disavow/remove", data=form, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/disavow?target=&min_score=50#lists"
    with Store(db) as store:
        assert [(e["list"], e["entry"]) for e in quality.list_entries(store)] == [("allow", "casino-links.tk")]


def test_a_list_change_needs_the_csrf_token_and_a_usable_entry(db: str) -> None:
    with client_for(db) as client:
        csrf = sign_in(client)
        assert client.post("/do/disavow/deny", data={"entry": "a.org"}).status_code == 403
        assert client.post("/do/disavow/deny", data={"csrf": "forged", "entry": "a.org"}).status_code == 403
        assert client.post("/do/disavow/remove", data={"list": "deny", "entry": "a.org"}).status_code == 403
        assert client.post("/do/disavow/bogus", data={"csrf": csrf, "entry": "a.org"}).status_code == 404
        # Denying the hostile domain from its row: refused with a reason, escaped, nothing stored.
        r = client.post("/do/disavow/deny", data={"csrf": csrf, "entry": HOSTILE, "target": "example.com"})
        assert r.status_code == 400 and "is not a domain, host or URL" in r.text
        assert "<img src=x" not in r.text and shown_domains(r.text)[0] == HOSTILE
        r = client.post("/do/disavow/remove", data={"csrf": csrf, "list": "maybe", "entry": "a.org"})
        assert r.status_code == 400 and "list must be one of allow, deny" in r.text
    with Store(db) as store:
        assert quality.list_entries(store) == []


def test_the_download_is_the_file_the_cli_writes(db: str) -> None:
    with Store(db) as store:
        quality.add_to_list(store, "deny", ["https://spam.example/page", "a.org"], note="by hand")
    runner = CliRunner()
    result = runner.invoke(cli, ["disavow", "example.com", "--min-score", "60", "--db", db])
    assert result.exit_code == 0, result.stderr
    # The hostile domain (toxicity 59) cannot be written as a domain: line: both leave it out
    # alike, with a note, and write the rest.
    noted = runner.invoke(cli, ["disavow", "example.com", "--min-score", "40", "--db", db])
    assert noted.exit_code == 0, noted.stderr
    assert "# skipped 1 entry not writable in Google's syntax:" in noted.stdout
    assert "whitespace in the host" in noted.stdout and "domain:casino-links.tk" in noted.stdout
    with client_for(db) as client:
        sign_in(client)
        r = client.get("/disavow.txt?target=example.com&min_score=60")
        with_note = client.get("/disavow.txt?target=example.com&min_score=40")
    assert r.status_code == 200 and r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="disavow.txt"'

    def undated(text: str) -> list[str]:
        return [line for line in text.splitlines() if " written by linkback on " not in line]

    assert undated(r.text) == undated(result.stdout)
    assert "domain:a.org" in r.text and "https://spam.example/page" in r.text
    assert quality.check_disavow(r.content, filename="disavow.txt") == []
    assert with_note.status_code == 200 and undated(with_note.text) == undated(noted.stdout)
    assert quality.check_disavow(with_note.content, filename="disavow.txt") == []


def test_checking_a_file_shows_what_the_cli_check_says(db: str, tmp_path: Path) -> None:
    path = tmp_path / "disavow.txt"
    path.write_bytes(BAD_FILE)
    result = CliRunner().invoke(cli, ["disavow", "--check", str(path)])
    assert result.exit_code == 1
    *lines, summary = result.stdout.splitlines()
    theirs = []
    for line in lines:
        where, severity, rule, message = re.match(r"(.*?): (error|warning) ([a-z0-9-]+): (.*)", line).groups()
        theirs.append((where.rpartition(":")[2] if where != str(path) else "", severity, rule, message))
    with client_for(db) as client:
        csrf = sign_in(client)
        r = client.post("/disavow/check", data={"csrf": csrf}, files={"file": ("disavow.txt", BAD_FILE, "text/plain")})
        pasted = client.post("/disavow/check", data={"csrf": csrf, "text": BAD_FILE.decode()})
    assert r.status_code == 200
    assert problems_shown(r.text) == theirs and len(theirs) >= 6
    assert {"bad-line", "duplicate", "covered-by-domain", "whitespace", "bad-domain"} <= {t[2] for t in theirs}
    assert summary == f"{path}: 3 error(s), 4 warning(s)"
    assert "disavow.txt: 3 error(s), 4 warning(s)" in r.text
    assert "window.__xss=1&lt;/script&gt;" in r.text and SCRIPT not in r.text
    # Pasted text: the same lines, the same problems (there is no file name to check).
    assert problems_shown(pasted.text) == theirs and "pasted text: 3 error(s), 4 warning(s)" in pasted.text


def test_an_upload_is_checked_byte_for_byte_and_needs_the_csrf_token(db: str) -> None:
    data = b"\xef\xbb\xbfdomain:a.example\r\nhttps://b.example/x \r\nbad \xff line\r\n--boundary-like\r\n\r\n"
    with client_for(db) as client:
        csrf = sign_in(client)
        r = client.post("/disavow/check", data={"csrf": csrf}, files={"file": ("list.csv", data, "text/csv")})
        assert client.post("/disavow/check", files={"file": ("d.txt", data, "text/plain")}).status_code == 403
        assert client.post("/disavow/check", data={"csrf": "forged", "text": "x"}).status_code == 403
        no_file = {"file": ("", b"", "application/octet-stream")}  # what a browser sends for none chosen
        empty = client.post("/disavow/check", data={"csrf": csrf}, files=no_file)
    expected = quality.check_disavow(data, filename="list.csv")
    assert {p.rule for p in expected} >= {"bom", "not-txt", "not-utf8", "whitespace", "bad-line"}
    shown = [("" if p.line is None else str(p.line), p.severity, p.rule, p.message) for p in expected]
    assert problems_shown(r.text) == shown
    assert empty.status_code == 400 and "Choose a disavow file or paste its text." in empty.text


def test_a_file_past_googles_limit_is_checked_and_a_much_larger_body_refused(db: str) -> None:
    line = b"domain:%08d.example\n"
    data = b"".join(line % i for i in range(quality.MAX_BYTES // len(line % 0) + 10))
    assert quality.MAX_BYTES < len(data) and len(data) > 64 * 1024  # what /do/ would refuse
    with client_for(db) as client:
        csrf = sign_in(client)
        r = client.post("/disavow/check", data={"csrf": csrf}, files={"file": ("big.txt", data, "text/plain")})
        huge = client.post("/disavow/check", data={"csrf": csrf}, files={"file": ("huge.txt", data * 4, "text/plain")})
    assert r.status_code == 200 and "too-large" in r.text and "big.txt: 1 error(s), 0 warning(s)" in r.text
    assert huge.status_code == 413 and huge.text.startswith("disavow file too large")


# --- in headless Chromium ------------------------------------------------------------------------------

AUDIT = """() => ({
  xss: typeof window.__xss,
  jsLinks: document.querySelectorAll('[href^="javascript:" i], [src^="javascript:" i]').length,
  onAttrs: [...document.querySelectorAll('*')].flatMap(e => [...e.attributes].map(a => a.name))
             .filter(n => n.startsWith('on')).length,
  scripts: [...document.querySelectorAll('script')].length,
  imgs: document.querySelectorAll('img, svg image').length,
})"""
CLEAN = {"xss": "undefined", "jsLinks": 0, "onAttrs": 0, "scripts": 0, "imgs": 0}


@pytest.mark.browser
def test_in_chromium_deny_and_check_by_keyboard_and_nothing_hostile_runs(db: str, tmp_path: Path) -> None:
    why = bl.browser_missing()
    if why:
        pytest.skip(why)
    upload = tmp_path / "disavow.txt"
    upload.write_bytes(BAD_FILE)
    server = ServerThread(Settings(db=db, admin_token=TOKEN))
    wired(server.app)
    with server as url, chromium() as browser:
        for width in (1280, 390):
            page = browser.new_page(viewport={"width": width, "height": 900})
            problems: list[str] = []
            page.on("console", lambda m, problems=problems: problems.append(m.text) if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e, problems=problems: problems.append(str(e)))
            page.on("dialog", lambda d, problems=problems: (problems.append("dialog: " + d.message), d.dismiss()))
            page.on("request", lambda r, problems=problems: None if r.url.startswith((url, "data:")) else problems.append(r.url))
            start = url + "/disavow?target=example.com&min_score=30"
            page.goto(start)
            page.fill("#token", TOKEN)
            page.keyboard.press("Enter")
            page.wait_for_url(start)
            assert page.evaluate(AUDIT) == CLEAN
            assert page.locator("table.toxic tbody tr").count() == 3  # a denied domain stays, at 100

            if width == 1280:  # deny casino-links.tk from its row, by keyboard alone
                page.focus("#d-note")
                page.keyboard.type("seen on a PBN")
                page.keyboard.press("Enter")  # must not submit a row's button
                assert page.url == start
                page.get_by_role("button", name="Deny casino-links.tk").focus()
                page.keyboard.press("Enter")
                page.wait_for_url(start + "#lists")
                assert page.locator("#lists").get_by_text("casino-links.tk").count() == 1
                assert page.locator("#lists").get_by_text("seen on a PBN").count() == 1
            screenshot(page, f"disavow-{width}")

            page.set_input_files("#c-file", str(upload))
            page.get_by_role("button", name="Check").click()
            page.wait_for_selector("#result")
            assert page.evaluate(AUDIT) == CLEAN
            assert page.locator("#result").get_by_text("disavow.txt: 3 error(s), 4 warning(s)").count() == 1
            assert page.locator("table.problems tbody tr").count() == 7
            page.fill("#c-text", SCRIPT + "\n" + HOSTILE + "\n")
            page.get_by_role("button", name="Check").click()
            page.wait_for_selector("#result")
            assert page.evaluate(AUDIT) == CLEAN
            assert page.locator("#result").get_by_text("pasted text: 2 error(s)", exact=False).count() == 1
            screenshot(page, f"disavow-check-{width}")
            # Nothing is wider than the screen at 390 px but the tables' own scroll boxes.
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            assert problems == [], problems
            page.close()
