"""``--help`` reads as plain text (no reST markup, no placeholder beside a flag) and
``linkback --version`` prints the version."""

from __future__ import annotations

import pytest
from typer.main import get_command
from typer.testing import CliRunner

import linkback
from linkback.cli import app
from linkback.cli._app import plain_help

runner = CliRunner()


def _command_paths(command, path=()):  # noqa: ANN001, ANN202
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _command_paths(sub, (*path, name))


PATHS = list(_command_paths(get_command(app)))


def help_of(*path: str) -> str:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, (result.stdout, result.exception)
    return result.stdout


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) or "linkback" for p in PATHS])
def test_help_is_plain_and_flags_take_no_placeholder(path: tuple[str, ...]) -> None:
    text = help_of(*path)
    assert "``" not in text and ":func:" not in text
    assert "<bool>" not in text


def test_mentions_list_help_quotes_what_the_docstring_marks_as_code() -> None:
    assert "'--state pending --status verified'" in help_of("mentions", "list")
    assert plain_help("the ``x`` and :func:`y`\nnext line\n\nExample: z") == "the 'x' and 'y' next line\n\nExample: z"


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"linkback {linkback.__version__}\n"
    assert "--version" in help_of()


def test_the_version_command_line_loads_no_command_module() -> None:
    """``linkback --version`` answers from the group's callback: no command module is imported."""
    import subprocess
    import sys

    code = (
        "import sys; sys.argv = ['linkback', '--version']\n"
        "from linkback.cli._entry import main, COMMAND_MODULES\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
        "loaded = sorted(m for m in set(COMMAND_MODULES.values()) if 'linkback.cli.' + m in sys.modules)\n"
        "print('exit', code or 0, 'loaded', loaded, file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout == f"linkback {linkback.__version__}\n"
    assert "exit 0 loaded []" in result.stderr, result.stderr


def test_the_command_list_is_in_panels_one_line_a_command_at_80_columns() -> None:
    """``linkback --help``: every command and group in exactly one panel (a new one must be
    placed), panels in :data:`PANELS` order, each command on one line at 80 columns, and each
    command's own help still its whole docstring."""
    from linkback.cli._panels import LINE_CHARS, PANELS

    placed = [name for lines in PANELS.values() for name in lines]
    top = get_command(app)
    assert sorted(placed) == sorted(top.commands) and len(placed) == len(set(placed))
    assert all(len(line) <= LINE_CHARS for lines in PANELS.values() for line in lines.values())
    text = runner.invoke(app, ["--help"], env={"COLUMNS": "80"}).stdout
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines)
    titles = [line.split("─ ", 1)[1].split(" ─", 1)[0] for line in lines if line.startswith("╭─ ")]
    assert titles == ["Options", *PANELS]
    shown: dict[str, tuple[str, str]] = {}  # command -> (its panel, its row)
    panel, rows = "", 0
    for line in lines:
        if line.startswith("╭─ "):
            panel = line.split("─ ", 1)[1].split(" ─", 1)[0]
        elif line.startswith("│") and panel != "Options":
            rows += 1
            shown[line[2:].split()[0]] = (panel, line)
    for panel, commands in PANELS.items():
        for name, summary in commands.items():
            assert shown[name][0] == panel and summary in shown[name][1], (name, shown.get(name))
    assert rows == len(placed)  # one line each: no description wraps onto a second
    assert "Rank every page, host and domain" in help_of("rank")  # a command's own help: whole
