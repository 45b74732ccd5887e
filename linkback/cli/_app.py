"""The Typer application every command module registers on, and how its help reads."""

import re
from typing import Annotated, Any

import typer
from typer.core import TyperGroup, TyperOption

import linkback

#: reST inline code and roles in docstrings (``x``, :func:`x`), shown in help as 'x'.
_RST_CODE = re.compile(r"(?::[a-z]+:)?``?([^`]+?)``?")


def plain_help(text: str) -> str:
    """Help text as ``--help`` should show it: without reST markup (``--state pending`` reads
    '--state pending') and each paragraph one line, for Rich to wrap at the terminal's width
    (the rich help keeps a docstring's line breaks, which cut lines short)."""
    paragraphs = (" ".join(line.strip() for line in p.splitlines()) for p in text.strip().split("\n\n"))
    return _RST_CODE.sub(r"'\1'", "\n\n".join(paragraphs))


def _plain_help_of(command: Any) -> None:
    """Make the help of ``command``, its options and its subcommands plain text."""
    for attr in ("help", "short_help", "epilog"):
        value = getattr(command, attr, None)
        if isinstance(value, str):
            setattr(command, attr, plain_help(value))
    for param in getattr(command, "params", ()):
        if isinstance(getattr(param, "help", None), str):
            param.help = plain_help(param.help)
    for sub in getattr(command, "commands", {}).values():
        _plain_help_of(sub)


class LinkbackGroup(TyperGroup):
    """The ``linkback`` command group. Docstrings in this code base use reST (``x``), which
    ``--help`` would show as it is: every command's help is made plain once, here."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _plain_help_of(self)


_display_type_rich = TyperOption.display_type_rich


def _no_placeholder_for_flags(self: TyperOption, ctx: Any) -> str | None:
    # Typer 0.29's rich help shows "<bool>" beside every flag (--follow, --help), as if it took a
    # value; a flag takes none.
    if self.is_flag and not self.count:
        return None
    return _display_type_rich(self, ctx)


TyperOption.display_type_rich = _no_placeholder_for_flags  # type: ignore[method-assign]

app = typer.Typer(
    name="linkback",
    help="Self-hosted backlink index: who links to you, what those links are worth, what changed.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    cls=LinkbackGroup,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"linkback {linkback.__version__}")
        raise typer.Exit()


@app.callback()
def _group(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    # A callback keeps ``linkback`` a group of commands even when only one command module is
    # loaded (``linkback.cli._entry`` loads just the one a command line names); without it Typer
    # would run a lone command as the program itself.
    pass
