"""``linkback share add|list|revoke``: read-only share links to one site's reports.

Each command calls one function of :mod:`linkback.shares`, the same ``/api/v1`` and the
dashboard's ``/shares`` page call. On the database file when no server runs; while
``linkback serve`` owns it, in that server (:mod:`linkback.faces`), which then ends the
sessions a revoked link had open at their next request. A server that is not running has no
session open: its sessions live in its memory only.
"""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from linkback import shares
from linkback.cli._app import app
from linkback.cli._output import DbOption, Format, FormatOption, Report, WideOption, open_store, render, writable_store

err = Console(stderr=True, highlight=False, soft_wrap=True)

WriteDb = Annotated[
    Path | None,
    typer.Option("--db", help="Database file (default: $LINKBACK_DB or ./linkback.duckdb)."),
]
#: The characters of an id a table shows (any unique start of 8 or more names the link).
SHORT_ID = 12

share_app = typer.Typer(
    help="Read-only share links: a secret URL that shows one site's reports and nothing else, "
    "until it is revoked.\n\nExample: linkback share add example.com",
    no_args_is_help=True,
)
app.add_typer(share_app, name="share")


@share_app.command("add")
def share_add(
    site: Annotated[str, typer.Argument(metavar="SITE", help="A domain (covers its hosts) or a host.")],
    db: WriteDb = None,
) -> None:
    """Make a read-only link to SITE's overview and link reports, and print it (once: only its
    hash is kept).

    While a server owns the database the link is printed with the server's address; otherwise
    as the path to append to the address 'linkback serve' will have.
    """
    with writable_store(db) as store:
        made = shares.create_share(store, site)
        server = getattr(getattr(store, "remote", None), "url", "")
    short = made["id"][:SHORT_ID]
    typer.echo(server + made["path"])  # stdout: the link alone, for a script to take
    if not server:
        err.print("no server owns the database: append the path above to its address when it runs "
                  "(linkback serve: http://127.0.0.1:8000 by default)")  # fmt: skip
    err.print(
        f"share link {short} for {escape(made['site'])}: shown this once, only its hash is kept; "
        f"'linkback share revoke {short}' ends it"
    )


@share_app.command("list")
def share_list(output_format: FormatOption = Format.table, wide: WideOption = False, db: DbOption = None) -> None:
    """The share links, newest first: id, site and creation time (never their URLs, which are not kept)."""
    with open_store(db) as store:
        rows = shares.list_shares(store)
    if output_format is Format.table:
        rows = [{**row, "id": row["id"][:SHORT_ID]} for row in rows]
    render(Report(rows, "share links", shares.SHARE_COLUMNS), output_format, None, wide=wide)


@share_app.command("revoke")
def share_revoke(
    share: Annotated[
        str, typer.Argument(metavar="ID", help="The link's id, or its first 8 characters or more (see 'share list').")
    ],
    db: WriteDb = None,
) -> None:
    """End a share link: its URL opens nothing any more, in sessions a running server has open too."""
    with writable_store(db, create=False) as store:
        revoked = shares.revoke_share(store, share)
    err.print(f"revoked the share link {revoked['id'][:SHORT_ID]} for {escape(revoked['site'])}")
