"""The report commands, run through Typer's CliRunner and checked against the Python functions."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from test_reports import LINKS, build_store, insert, link
from typer.testing import CliRunner

from linkback import reports, schema
from linkback.cli import _reports as cli_reports
from linkback.cli import app
from linkback.store import Store

runner = CliRunner()

REPORT_COMMANDS = ["overview", "backlinks", "refdomains", "anchors", "pages", "tlds", "history"]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("cli") / "links.duckdb"
    build_store(str(path)).close()
    return str(path)


@pytest.fixture
def store(db: str) -> Store:
    with Store(db, read_only=True) as s:
        yield s


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})
    return result


def ok(*args: str) -> str:
    result = run(*args)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result.stdout


def plain(value: Any) -> Any:
    """A Python report value as JSON and CSV carry it."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def as_json(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: plain(v) for k, v in r.items()} for r in rows]


# Each CLI run beside the Python call it must match (same parameter names).
CASES = [
    (["backlinks", "example.com"], lambda s: reports.backlinks(s, "example.com")),
    (
        ["backlinks", "example.com", "--follow", "--kind", "text", "--kind", "redirect", "--sort", "source_domain"],
        lambda s: reports.backlinks(s, "example.com", follow=True, kind=["text", "redirect"], sort="source_domain"),
    ),
    (["backlinks", "example.com", "--nofollow"], lambda s: reports.backlinks(s, "example.com", nofollow=True)),
    (["backlinks", "example.com", "--ugc"], lambda s: reports.backlinks(s, "example.com", ugc=True)),
    (["backlinks", "example.com", "--sponsored"], lambda s: reports.backlinks(s, "example.com", sponsored=True)),
    (
        ["backlinks", "example.com", "--section", "comment", "--section", "footer"],
        lambda s: reports.backlinks(s, "example.com", section=["comment", "footer"]),
    ),
    (["backlinks", "example.com", "--from", "c.de"], lambda s: reports.backlinks(s, "example.com", from_domain="c.de")),
    (["backlinks", "example.com", "--anchor", "HOME"], lambda s: reports.backlinks(s, "example.com", anchor="HOME")),
    (["backlinks", "example.com", "--internal"], lambda s: reports.backlinks(s, "example.com", internal=True)),
    (
        ["backlinks", "example.com", "--include-lost", "--sort", "last_seen", "--limit", "4"],
        lambda s: reports.backlinks(s, "example.com", include_lost=True, sort="last_seen", limit=4),
    ),
    (["backlinks", "https://example.com/pricing"], lambda s: reports.backlinks(s, "https://example.com/pricing")),
    (
        ["refdomains", "example.com", "--sort", "first_seen", "--include-lost"],
        lambda s: reports.refdomains(s, "example.com", sort="first_seen", include_lost=True),
    ),
    (["refdomains", "example.com", "--follow"], lambda s: reports.refdomains(s, "example.com", follow=True)),
    (["anchors", "example.com"], lambda s: reports.anchors(s, "example.com")),
    (["anchors", "example.com", "--limit", "2"], lambda s: reports.anchors(s, "example.com", limit=2)),
    (["pages", "example.com"], lambda s: reports.pages(s, "example.com")),
    (
        ["pages", "example.com", "--sort", "backlinks", "--include-lost"],
        lambda s: reports.pages(s, "example.com", sort="backlinks", include_lost=True),
    ),
    (["tlds", "example.com", "--include-lost"], lambda s: reports.tlds(s, "example.com", include_lost=True)),
    (["history", "example.com"], lambda s: reports.history(s, "example.com")),
    (["history", "example.com", "--by", "week"], lambda s: reports.history(s, "example.com", by="week")),
    (["history", "example.com", "--limit", "30"], lambda s: reports.history(s, "example.com", limit=30)),
    (
        ["backlinks", "example.com", "--sort", "source_dr"],
        lambda s: reports.backlinks(s, "example.com", sort="source_dr"),
    ),
    (["backlinks", "example.com", "--no-noindex"], lambda s: reports.backlinks(s, "example.com", noindex=False)),
]


@pytest.mark.parametrize(("args", "python"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_json_matches_the_python_function(db: str, store: Store, args: list[str], python: Any) -> None:
    got = json.loads(ok(*args, "--format", "json", "--db", db))
    assert got == as_json(python(store))


@pytest.mark.parametrize(
    ("args", "python"), CASES[:1] + CASES[11:], ids=[" ".join(a) for a, _ in CASES[:1] + CASES[11:]]
)
def test_jsonl_and_csv_match_the_python_function(db: str, store: Store, args: list[str], python: Any) -> None:
    expected = as_json(python(store))
    lines = ok(*args, "--format", "jsonl", "--db", db).splitlines()
    assert [json.loads(line) for line in lines] == expected
    text = ok(*args, "--format", "csv", "--db", db)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert parsed == [{k: "" if v is None else str(v) for k, v in row.items()} for row in expected]
    assert expected and text.splitlines()[0].split(",") == list(expected[0])


def test_overview_json_is_one_object(db: str, store: Store) -> None:
    got = json.loads(ok("overview", "example.com", "--format", "json", "--db", db))
    assert got == {k: plain(v) for k, v in reports.overview(store, "example.com").items()}
    internal = json.loads(ok("overview", "example.com", "--internal", "-f", "json", "--db", db))
    assert internal["backlinks"] == reports.overview(store, "example.com", internal=True)["backlinks"] == 2
    rows = list(csv.DictReader(io.StringIO(ok("overview", "example.com", "-f", "csv", "--db", db))))
    assert len(rows) == 1 and rows[0]["referring_domains"] == "4" and rows[0]["dofollow_share"] == "0.5"


def test_table_has_a_title_with_what_and_how_many(db: str) -> None:
    out = ok("backlinks", "example.com", "--db", db)
    assert "6 backlinks to example.com" in out
    assert "https://blog.b.co.uk/x" in out and "2024-01-02" in out
    out = ok("refdomains", "example.com", "--db", db)
    assert "4 referring domains" in out and "b.co.uk" in out
    out = ok("tlds", "example.com", "--db", db)
    assert "United Kingdom" in out and "25.0%" in out
    out = ok("overview", "example.com", "--db", db)
    assert "Overview" in out and "referring_domains" in out and "50.0%" in out


def test_table_limit_says_more_may_exist(db: str) -> None:
    out = ok("backlinks", "example.com", "--limit", "2", "--db", db)
    assert "2 backlinks to example.com" in out and "first 2" in out


def test_table_shows_50_rows_by_default_and_machine_formats_all(tmp_path: Path) -> None:
    path = tmp_path / "many.duckdb"
    with Store(path) as s:
        insert(s, "links", [link(f"https://s{i}.org/", "https://many.example/", anchor=f"a{i}") for i in range(60)])
    assert "50 backlinks to many.example" in ok("backlinks", "many.example", "--db", str(path))
    assert len(json.loads(ok("backlinks", "many.example", "-f", "json", "--db", str(path)))) == 60
    assert "60 backlinks" in ok("backlinks", "many.example", "--limit", "0", "--db", str(path))


def test_db_defaults_to_the_linkback_db_variable(db: str, store: Store) -> None:
    result = run("refdomains", "example.com", "-f", "json", env={"LINKBACK_DB": db})
    assert result.exit_code == 0 and json.loads(result.stdout) == as_json(reports.refdomains(store, "example.com"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["backlinks", "not a target"], "whitespace"),
        (["backlinks", "com"], "public suffix"),
        (["overview", "exa..mple.com"], "not a valid host"),
        (["backlinks", "example.com", "--from", "a b"], "--from"),
    ],
)
def test_errors_are_one_red_line_and_exit_code_2(db: str, args: list[str], message: str) -> None:
    result = run(*args, "--db", db)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_missing_database_is_an_error_not_a_new_file(tmp_path: Path) -> None:
    missing = tmp_path / "none.duckdb"
    result = run("backlinks", "example.com", "--db", str(missing))
    assert result.exit_code == 2 and "no such database" in result.stderr and "Traceback" not in result.stderr
    assert not missing.exists()


def test_bad_option_choice_is_a_usage_error(db: str) -> None:
    result = run("backlinks", "example.com", "--sort", "anchor", "--db", db)
    assert result.exit_code == 2 and "anchor" in result.stderr


@pytest.mark.parametrize("command", REPORT_COMMANDS + ["export"])
def test_every_command_has_a_runnable_example(db: str, tmp_path: Path, command: str) -> None:
    help_text = ok(command, "--help")
    example = re.search(r"Example: linkback (.+)", help_text)
    assert example, help_text
    args = example.group(1).split()
    assert args[0] == command
    args = [str(tmp_path / a) if a.endswith(".parquet") else a for a in args]
    ok(*args, "--db", db)
    for option in ("--db",) + (("--format", "--limit") if command not in ("overview", "export") else ()):
        assert option in help_text


@pytest.mark.parametrize("command", REPORT_COMMANDS)
def test_report_commands_offer_every_output_format(db: str, command: str) -> None:
    for fmt in ("table", "json", "jsonl", "csv"):
        ok(command, "example.com", "--format", fmt, "--db", db)


# -- export -----------------------------------------------------------------------------------


def test_export_jsonl_to_stdout(db: str) -> None:
    lines = ok("export", "links", "--db", db).splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == len(LINKS) and list(rows[0]) == schema.column_names("links")


def test_export_csv_to_a_file(db: str, tmp_path: Path) -> None:
    out = tmp_path / "pages.csv"
    result = run("export", "pages", "--format", "csv", "--output", str(out), "--db", db)
    assert result.exit_code == 0 and result.stdout == ""
    assert "exported 2 pages rows" in result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [r["url"] for r in rows] == ["https://a.org/p1", "https://c.de/y"]
    assert not (tmp_path / "pages.csv.part").exists()


def test_export_parquet_to_a_file(db: str, store: Store, tmp_path: Path) -> None:
    out = tmp_path / "links.parquet"
    ok("export", "links", "-f", "parquet", "-o", str(out), "--db", db)
    table = pq.read_table(out)
    assert table.num_rows == len(LINKS) and table.schema.names == schema.column_names("links")
    assert {r["source_url"] for r in table.to_pylist() if r["lost_reason"] == "removed"} == {"https://d.com/gone"}
    buf = io.BytesIO()
    reports.export(store, "links", "parquet", buf)
    assert pq.read_table(io.BytesIO(buf.getvalue())).equals(table)


def test_export_parquet_refuses_a_terminal(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_reports, "_stdout_is_tty", lambda: True)
    result = run("export", "links", "--format", "parquet", "--db", db)
    assert result.exit_code == 2 and "--output" in result.stderr and result.stdout == ""


def test_export_parquet_to_a_pipe(db: str) -> None:
    result = runner.invoke(app, ["export", "links", "--format", "parquet", "--db", db])
    assert result.exit_code == 0
    assert pq.read_table(io.BytesIO(result.stdout_bytes)).num_rows == len(LINKS)


def test_a_table_shows_terminal_control_in_anchors_as_escapes_and_json_keeps_the_text(tmp_path: Path) -> None:
    from linkrows import insert as insert_rows
    from linkrows import link as link_row

    hostile = "Click\x1b]0;owned\x07\x1b[2J here\u202eevil\x08"
    db = str(tmp_path / "hostile.duckdb")
    with Store(db) as s:
        insert_rows(s, "links", [link_row("https://blog.example.org/p", "https://target.example/", anchor=hostile)])
    for command in ("backlinks", "anchors"):
        shown = ok(command, "target.example", "--db", db)
        assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown and "\x08" not in shown
        assert "\\x1b]0;owned" in shown and "\\u202eevil" in shown
    rows = json.loads(ok("backlinks", "target.example", "--db", db, "--format", "json"))
    assert rows[0]["anchor"] == hostile
