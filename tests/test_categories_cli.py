"""``linkback categorize``, ``categories`` and ``category`` through the CLI: 80-column tables, the
machine formats, and errors that say what is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from linkrows import insert
from test_categories import LINKS, PAGES, TARGET
from typer.testing import CliRunner

from linkback.cli import app
from linkback.store import Store

runner = CliRunner()


def run(*args: str, columns: int = 80):
    return runner.invoke(app, list(args), env={"COLUMNS": str(columns)})


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "c.duckdb")
    with Store(path) as store:
        insert(store, "links", sorted(LINKS, key=lambda r: r["target_rhost"]))
        insert(store, "pages", PAGES)
    return path


def fits(text: str, width: int = 80) -> None:
    assert text.strip()
    assert all(len(line) <= width for line in text.splitlines()), text


def test_categorize_then_the_mix_in_80_columns(db: str) -> None:
    result = run("categorize", "--db", db, "-q")
    assert result.exit_code == 0, result.output
    fits(result.stdout)
    assert "Categorized 4 domains: 3 with a category, 1 unknown" in " ".join(result.stdout.split())
    assert "CC BY 3.0" in result.stdout and "Sports" in result.stdout
    again = json.loads(run("categorize", "--db", db, "--format", "json").stdout)
    assert again == {"domains": 0, "categorized": 0, "unknown": 0, "categories": {}}
    everything = json.loads(run("categorize", "kicker.example", "--all", "--db", db, "--format", "json").stdout)
    assert everything["domains"] == 1 and everything["categories"] == {"Sports": 1}

    table = run("categories", TARGET, "--db", db)
    assert table.exit_code == 0, table.output
    fits(table.stdout)
    assert "kicker.example" in table.stdout and "(not categorized)" in table.stdout
    rows = json.loads(run("categories", TARGET, "--tier", "2", "--db", db, "--format", "json").stdout)
    assert {r["category"] for r in rows} >= {"Sports > Soccer", "Food & Drink > Desserts and Baking"}
    csv_out = run("categories", TARGET, "--db", db, "--format", "csv").stdout.splitlines()
    assert csv_out[0] == "category,tier1,tier2,domains,share,links,confidence,examples"

    one = run("category", "kicker.example", "--db", db)
    assert one.exit_code == 0, one.output
    fits(one.stdout)
    assert "Soccer" in one.stdout and "Sports" in one.stdout
    row = json.loads(run("category", "https://kicker.example/x", "--db", db, "--format", "json").stdout)
    assert row["tier1"] == "Sports" and row["stored"] is True and row["categorized_at"].endswith("Z")


def test_bad_input_ends_with_one_line_that_says_what(db: str) -> None:
    for args, words in (
        (["categories", "nobody-links-here.example"], "nobody-links-here.example"),
        (["category", "late.example"], "no HTML page of this domain"),
        (["categorize", "not a domain"], "is not a domain or host"),
    ):
        result = run(*args, "--db", db)
        assert result.exit_code == 2, (args, result.output)
        assert words in " ".join(result.stderr.split()), result.stderr
    bad_tier = run("categories", TARGET, "--tier", "3", "--db", db)
    assert bad_tier.exit_code == 2 and "--tier" in bad_tier.output


def test_help_names_the_taxonomy_and_its_licence() -> None:
    text = " ".join(run("categories", "--help", columns=120).stdout.split())
    assert "IAB Tech Lab Content Taxonomy 3.1, CC BY 3.0" in text
    assert "Example: linkback categories example.com --tier 2 --limit 20" in text


def test_categorize_handed_to_a_server_ends_as_on_the_file(tmp_path: Path) -> None:
    """The job runs in the server's job runner, with the same result and the same stored rows."""
    from serverkit import ServerThread, Settings
    from test_api_v1 import TOKEN, _advertise

    from linkback.client import advert_path

    def make(name: str) -> str:
        path = str(tmp_path / name)
        with Store(path) as store:
            insert(store, "links", sorted(LINKS, key=lambda r: r["target_rhost"]))
            insert(store, "pages", PAGES)
        return path

    alone, served = make("alone.duckdb"), make("served.duckdb")
    on_file = json.loads(run("categorize", "--db", alone, "--format", "json").stdout)
    mix_on_file = json.loads(run("categories", TARGET, "--tier", "2", "--db", alone, "--format", "json").stdout)
    with ServerThread(Settings(db=served, admin_token=TOKEN)) as url:
        _advertise(served, url)
        try:
            through = json.loads(run("categorize", "--db", served, "--format", "json").stdout)
            mix_through = json.loads(
                run("categories", TARGET, "--tier", "2", "--db", served, "--format", "json").stdout
            )
        finally:
            advert_path(served).unlink()
    assert through == on_file and through["domains"] == 4
    assert mix_through == mix_on_file
