"""The Typer application every command module registers on."""

import typer

app = typer.Typer(
    name="linkback",
    help="Self-hosted backlink index: who links to you, what those links are worth, what changed.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
