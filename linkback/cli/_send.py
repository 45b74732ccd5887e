"""``linkback send`` and ``linkback sent``: notify the pages your posts link to, and the history."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from linkback import jobs
from linkback.cli._app import app
from linkback.cli._output import (
    Format,
    FormatOption,
    PrivateHostOption,
    Report,
    WideOption,
    allow_private_env,
    fail,
    private_host_entries,
    render,
    writable_store,
)

err = Console(stderr=True, highlight=False)

WriteDb = Annotated[
    Path | None,
    typer.Option("--db", help="Database file (default: $LINKBACK_DB or ./linkback.duckdb)."),
]

SEND_COLUMNS = list(jobs.SEND_COLUMNS)
SEND_TABLE = ["source", "target", "protocol", "status", "reason"]
_COLOURS = {"error": "red", "warning": "yellow", "info": "default"}


@app.command("send")
def send_cmd(
    urls: Annotated[list[str] | None, typer.Argument(help="Your posts.")] = None,
    feed: Annotated[
        list[str] | None, typer.Option("--feed", help="An RSS/Atom feed: send for new or changed entries.")
    ] = None,
    sitemap: Annotated[
        list[str] | None, typer.Option("--sitemap", help="A sitemap: send for new or changed URLs.")
    ] = None,
    all_links: Annotated[
        bool, typer.Option("--all-links", help="Every link of the post, not only its content's.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Discover endpoints and show what would be sent.")] = False,
    allow_private: Annotated[
        bool,
        typer.Option(
            "--allow-private", help="Allow endpoints on loopback/private addresses (also LINKBACK_ALLOW_PRIVATE=1)."
        ),
    ] = False,
    allow_private_hosts: PrivateHostOption = None,
    blog_name: Annotated[str, typer.Option("--blog-name", help="Your blog's name, for TrackBack.")] = "",
    budget: Annotated[
        float,
        typer.Option(
            "--budget",
            help="Seconds this run may take; the targets left then are skipped, for the next run.",
        ),
    ] = jobs.SEND_BUDGET,
    output_format: FormatOption = Format.table,
    wide: WideOption = False,
    db: WriteDb = None,
) -> None:
    """Send Webmentions (else Pingbacks, else TrackBacks) to the pages your posts link to.

    Sending again for an updated post also notifies the links it removed; a post that answers 410
    re-notifies every earlier target. The history is kept: see 'linkback sent'. Exits 1 when a
    post, feed or sitemap could not be read, or every notification of a post failed; a run that
    spent its --budget says what it left, and exits 0.

    Example: linkback send https://blog.example.com/2026/11/a-post --dry-run
    """
    if not urls and not feed and not sitemap:
        fail("give post URLs, --feed or --sitemap")
    allow = allow_private or allow_private_env()
    with writable_store(db) as store:
        result = jobs.send(
            store,
            posts=urls or [],
            feeds=feed or [],
            sitemaps=sitemap or [],
            all_links=all_links,
            dry_run=dry_run,
            blog_name=blog_name,
            allow_private=allow,
            allow_private_hosts=private_host_entries(allow_private_hosts),
            budget=budget,
        )
    for message in result["messages"]:
        colour = _COLOURS.get(message["level"], "default")
        text = escape(message["text"])
        # A message about the whole run (its time budget) names no URL: the text alone, in colour.
        line = (
            f"[{colour}]{escape(message['url'])}[/{colour}]: {text}"
            if message["url"]
            else f"[{colour}]{text}[/{colour}]"
        )
        err.print(line)
    what = "notifications" + (" (dry run)" if dry_run else "")
    render(Report(result["sends"], what, SEND_COLUMNS, SEND_TABLE), output_format, None, wide=wide)
    if result["failures"]:
        raise typer.Exit(1)


@app.command("sent")
def sent_cmd(
    url: Annotated[str | None, typer.Argument(help="One post (default: every post).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 100,
    output_format: FormatOption = Format.table,
    wide: WideOption = False,
    db: WriteDb = None,
) -> None:
    """The history of notifications sent for your posts, newest first.

    Example: linkback sent https://blog.example.com/2026/11/a-post
    """
    with writable_store(db, create=False) as store:
        rows = jobs.sent(store, url, limit=limit)
    columns = ["send_id", *SEND_COLUMNS]
    render(Report(rows, "notifications sent", columns, SEND_TABLE + ["sent_at"]), output_format, None, wide=wide)
