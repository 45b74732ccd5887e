"""Tables at 80 columns (``make demo`` runs where stdout is no terminal): readable, one row a
line, values shortened in the middle, columns hidden and named, ``--wide`` for everything; the
machine formats untouched. Also the 0–100 ratings with one decimal, and the ingest summary."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from linkrows import insert, link, ts
from rich.cells import cell_len
from rich.text import Text
from typer.testing import CliRunner

from linkback.cli import app
from linkback.cli._ingest import SUMMARY_LEGEND
from linkback.cli._table import FIXED, MIDDLE, Column, layout, shorten_middle
from linkback.store import Store

runner = CliRunner()
DATA = Path(__file__).parent / "data"

LONG = "https://lexikon.huettenhilfe.de/obst/suedfruechte/banane-und-andere-gelbe-fruechte.html"
LINKS = [
    link(LONG, "https://example.com/docs/getting-started/installation-on-debian", anchor="Install guide"),
    link("https://ditib.de/detail1.php?id=765&lang=de", "https://example.com/share?url=x", anchor="Share it"),
    link("http://old.example.org/a/very/long/path/to/a/page.html", "https://example.com/", anchor="Home"),
    link("https://blog.c.de/2019/06/19/sekre-mystery-bag/", "https://example.com/", first_seen=ts("2019-06-19")),
]
# Links to the linking sites, so that their Domain Ratings are not 0 but floats with many digits.
RANKED = [
    *(link(f"https://fan{i}.org/", "https://ditib.de/", anchor="ditib") for i in range(3)),
    link("https://ditib.de/", "https://lexikon.huettenhilfe.de/", anchor="lexikon"),
]


def run(*args: str, columns: int = 80):
    result = runner.invoke(app, list(args), env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result.stdout


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("table") / "t.duckdb")
    with Store(path) as store:
        insert(store, "links", sorted(LINKS + RANKED, key=lambda r: r["target_rhost"]))
    run("rank", "--db", path, "--quiet", "--format", "json")
    return path


def test_a_shortened_url_keeps_its_host_and_its_end() -> None:
    short = shorten_middle(LONG, 40)
    assert cell_len(short) == 40 and "…" in short
    assert short.startswith("lexikon.huettenhilfe.de") and short.endswith("fruechte.html")
    # http:// stays, so an http URL never looks like the https one
    assert shorten_middle("http://old.example.org/a/very/long/path/to/a/page.html", 30).startswith("http://old.")
    # a path keeps its file name
    assert shorten_middle("/work/main/tests/data/warc/aut/example.warc.gz", 24).endswith("aut/example.warc.gz")
    assert shorten_middle("short.example", 40) == "short.example"


def _t(text: str) -> Text:
    return Text(text)


def test_layout_hides_columns_before_cutting_numbers_and_names_them() -> None:
    cols = [
        Column("source_url", MIDDLE, [_t("x" * 60)]),
        Column("links", FIXED, [_t("12,345,678")], right=True),
        Column("section", "end", [_t("content")]),
        Column("last_seen", FIXED, [_t("2024-05-27")]),
        Column("first_seen", FIXED, [_t("2024-05-27")]),
    ]
    plan = layout(cols, 46)
    assert [c.name for c in plan.columns] == ["source_url", "links", "first_seen"]
    assert plan.hidden == ["last_seen", "section"]
    assert plan.widths == [22, 10, 10]
    assert layout(cols, None).hidden == [] and layout(cols, None).widths[0] == 60


def test_backlinks_at_80_columns_fit_one_row_a_line(db: str) -> None:
    out = run("backlinks", "example.com", "--db", db)
    lines = out.splitlines()
    assert all(cell_len(line.rstrip()) <= 80 for line in lines), out
    rows = [line for line in lines if re.search(r"\d{4}-\d\d-\d\d\s*$", line)]
    assert len(rows) == len(LINKS), out  # one line each, the date whole at its end
    assert "lexikon.huet" in out and "ditib.de/" in out and "…" in out  # hosts first, https:// dropped
    assert "http://old.e" in out  # http:// kept
    assert "hidden" in out and "--wide shows all" in out


def test_wide_shows_every_column_and_whole_values(db: str) -> None:
    out = run("backlinks", "example.com", "--db", db, "--wide")
    assert LONG in out and "https://example.com/docs/getting-started/installation-on-debian" in out
    header = next(line for line in out.splitlines() if line.startswith("source_url"))
    assert header.split() == [
        "source_url", "source_dr", "target_url", "anchor", "rel", "kind", "section", "first_seen", "last_seen",
    ]  # fmt: skip
    assert "hidden" not in out and "…" not in out


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
def test_machine_formats_are_the_same_at_any_width_and_with_wide(db: str, fmt: str) -> None:
    narrow = run("backlinks", "example.com", "--db", db, "--format", fmt, columns=40)
    assert narrow == run("backlinks", "example.com", "--db", db, "--format", fmt, "--wide", columns=200)
    assert LONG in narrow and "…" not in narrow


def test_ratings_show_one_decimal_in_tables_and_every_digit_in_json(db: str) -> None:
    rows = json.loads(run("backlinks", "example.com", "--db", db, "--format", "json"))
    drs = {r["source_dr"] for r in rows if r["source_dr"]}
    assert any(len(repr(d)) > 4 for d in drs), drs  # the JSON keeps the full float
    out = run("backlinks", "example.com", "--db", db, "--wide")
    for d in drs:
        assert f"{d:.1f}" in out and repr(d) not in out and f"{d:g}" not in out
    refdomains = json.loads(run("refdomains", "example.com", "--db", db, "--format", "json"))
    table = run("refdomains", "example.com", "--db", db, "--wide")
    for r in refdomains:
        if r["dr"] is not None:
            assert re.search(rf"\b{r['dr']:.1f}\b", table)


def test_ingest_summary_says_what_each_count_is_and_tells_files_apart(tmp_path: Path) -> None:
    files = [DATA / "warc/aut/example.warc.gz", DATA / "warc/aut/issue-514.warc", DATA / "warc/jwarc/cc.warc.gz"]
    db = str(tmp_path / "i.duckdb")
    out = run("ingest", *map(str, files), "--db", db, "--workers", "1", "--quiet")
    assert all(cell_len(line.rstrip()) <= 80 for line in out.splitlines()), out
    for f in files:  # each file told apart by its end
        assert shorten_middle(str(f), 20)[-8:] in out or f.name in out, out
    lines = [line.rstrip() for line in out.splitlines()]
    assert all(legend in lines for legend in SUMMARY_LEGEND), out  # whole lines: none wrapped mid-phrase
    assert "each distinct link once" in out and "linkback export links" in out
    assert "hrefs not stored as links" in out and "records that hold no page" in out
    again = ("ingest", *map(str, files), "--db", str(tmp_path / "j.duckdb"), "-w", "1", "--format", "json")
    summary = json.loads(run(*again))
    links_found = f"{summary['links']:,}"
    hrefs = sum(n for reason, n in summary["skipped"].items() if reason.startswith("link/"))
    total = next(line for line in out.splitlines() if line.startswith("total"))
    assert total.split()[-2:] == [links_found, f"{hrefs:,}"], total


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (["ingest"], 2),
        (["visits", "--host", "example.com"], 2),
        (["refbacks", "--host", "example.com"], 2),
        (["import"], 1),
    ],  # fmt: skip
    ids=lambda v: v[0] if isinstance(v, list) else str(v),
)
def test_a_command_given_a_file_that_is_not_there_makes_no_store(tmp_path: Path, command: list[str], code: int) -> None:
    """A typo in a file name fails the command and leaves no empty database behind."""
    missing = str(tmp_path / "no-such-file.log")
    result = runner.invoke(app, [*command, missing, "--db", str(tmp_path / "never.duckdb")])
    assert result.exit_code == code, result.output
    assert "no-such-file.log" in result.stderr + result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_an_import_counts_the_files_it_could_not_read_as_failed(tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", str(tmp_path / "gone.csv"), "--format", "json", "--db", str(tmp_path / "d")])
    assert result.exit_code == 1 and json.loads(result.stdout)["failed"] == 1


@pytest.mark.parametrize(
    "command",
    [
        ["rank"],
        ["rescan"],
        ["categorize"],
        ["alerts", "run"],
        ["sent"],
        ["site", "list"],
        ["mentions", "list"],
        ["monitor", "run"],
    ],  # fmt: skip
    ids=" ".join,
)
def test_a_command_on_what_a_store_holds_makes_none_at_a_mistyped_path(tmp_path: Path, command: list[str]) -> None:
    """As a report does: a --db path with no database is an error, not a new empty store."""
    result = runner.invoke(app, [*command, "--db", str(tmp_path / "typo.duckdb")])
    assert result.exit_code == 2 and "no such database" in result.stderr, result.output
    assert list(tmp_path.iterdir()) == []
