"""The Typer application every command module registers on."""

import typer

app = typer.Typer(
    name="linkback",
    help="Self-hosted backlink index: who links to you, what those links are worth, what changed.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)


@app.callback()
def _group() -> None:
    # A callback keeps ``linkback`` a group of commands even when only one command module is
    # loaded (``linkback.cli._entry`` loads just the one a command line names); without it Typer
    # would run a lone command as the program itself.
    pass
