"""The docs are checked: every command is in the README and shows an example (sqlite-utils style)."""

from __future__ import annotations

import re

import pytest
import typer.main
from conftest import ROOT

from linkback.cli import app
from linkback.schema import TABLES, describe

README = (ROOT / "README.md").read_text()
COMMANDS = {cmd.name: cmd for cmd in typer.main.get_command(app).commands.values()}


def test_the_cli_has_the_commands_of_the_index() -> None:
    assert {"ingest", "overview", "backlinks", "refdomains", "anchors", "pages", "tlds", "history", "export"} <= set(
        COMMANDS
    )


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_is_in_the_readme(name: str) -> None:
    assert re.search(rf"linkback {name}\b", README), f"README.md shows no 'linkback {name}'"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help_with_a_runnable_example(name: str) -> None:
    help_text = COMMANDS[name].help or ""
    assert help_text.strip(), f"{name} has no help"
    example = re.search(r"Example: (linkback .+)", help_text)
    assert example, f"{name}'s help has no 'Example: linkback ...' line"
    assert example.group(1).split()[1] == name


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_column_is_described(table: str) -> None:
    assert all(doc.strip() for doc in describe(table).values())


def test_the_readme_gives_the_two_commands() -> None:
    assert "make demo" in README and "make test" in README


def test_the_readme_python_example_runs(tmp_path) -> None:
    import subprocess
    import sys

    block = re.search(r"```python\n(.*?)```", README, re.S)
    assert block, "README.md has no Python example"
    code = block.group(1)
    assert '"crawl/"' in code and '"linkback.duckdb"' in code
    code = code.replace('"crawl/"', repr(str(ROOT / "tests" / "data" / "warc" / "real-pages"))).replace(
        '"linkback.duckdb"', repr(str(tmp_path / "readme.duckdb"))
    )
    script = tmp_path / "example.py"
    script.write_text(code)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "'backlinks'" in result.stdout


def test_the_readme_documents_every_toxicity_signal_as_the_registry_says() -> None:
    from linkback.quality._signals import SIGNALS, signals_table

    assert signals_table().strip() in README, "README's signal table is stale: paste signals_table()"
    for signal in SIGNALS:
        assert f"`{signal.name}`" in README


def test_the_entry_point_knows_which_module_registers_each_command() -> None:
    """``linkback CMD`` imports only CMD's module: the map must name the module that registers it."""
    from linkback.cli._entry import COMMAND_MODULES

    registered = {c.name: c.callback.__module__ for c in app.registered_commands}
    for group in app.registered_groups:
        registered[group.name] = group.typer_instance.registered_commands[0].callback.__module__
    assert {name: f"linkback.cli.{module}" for name, module in COMMAND_MODULES.items()} == registered


@pytest.mark.parametrize("argv", [["ingest", "--help"], ["mentions", "list", "--help"], ["overview", "--help"]])
def test_a_command_run_with_only_its_module_loaded_is_still_a_subcommand(argv: list[str]) -> None:
    import subprocess
    import sys

    code = f"import sys; sys.argv = ['linkback', *{argv!r}]; from linkback.cli._entry import main; main()"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"Usage: linkback {' '.join(argv[:-1])}" in result.stdout
