"""``linkback send`` and ``linkback sent``: notify the pages your posts link to, and the history."""

import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console

from linkback.cli._app import app
from linkback.cli._handoff import server_for
from linkback.cli._output import Format, FormatOption, Report, fail, render, writable_store
from linkback.store import default_db_path

err = Console(stderr=True, highlight=False)

WriteDb = Annotated[
    Path | None,
    typer.Option("--db", help="Database file (default: $LINKBACK_DB or ./linkback.duckdb).", dir_okay=False),
]

SEND_COLUMNS = [
    "source", "target", "protocol", "endpoint", "status", "reason", "http_status", "location", "linked", "attempts",
    "sent_at",
]  # fmt: skip
SEND_TABLE = ["source", "target", "protocol", "status", "reason"]


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _refused(resp: httpx.Response) -> str:
    try:
        detail = resp.json().get("detail")
    except ValueError:
        detail = None
    return str(detail or resp.text)[:300]


def _via_server(server: tuple[str, str], jobs: list[dict]) -> tuple[list[dict], int]:
    """Queue the sends in the server's job runner and wait for them: (rows, failures).

    The server sends with its own settings: a job asking for ``allow_private`` is refused (409)
    by a server started without ``--allow-private``, and that refusal ends the command (exit 1)
    before anything is queued.
    """
    url, token = server
    headers = {"Authorization": f"Bearer {token}"}
    ids = []
    for job in jobs:
        resp = httpx.post(url + "/api/send", json=job, headers=headers, timeout=30)
        if resp.status_code >= 300:
            err.print(f"[red]error:[/red] the server at {url} refused {job['url']}: {_refused(resp)}")
            raise typer.Exit(1)
        ids.append(resp.json()["id"])
    rows: list[dict] = []
    failures = 0
    for request_id in ids:
        while True:
            state = httpx.get(f"{url}/api/send/{request_id}", headers=headers, timeout=30).json()
            if state["status"] in ("done", "failed"):
                break
            time.sleep(0.2)
        rows += state.get("sends", [])
        if state.get("error") or state["status"] == "failed":
            failures += 1
            err.print(f"[red]{state['url']}[/red]: {state.get('error') or 'failed'}")
    return rows, failures


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
    blog_name: Annotated[str, typer.Option("--blog-name", help="Your blog's name, for TrackBack.")] = "",
    output_format: FormatOption = Format.table,
    db: WriteDb = None,
) -> None:
    """Send Webmentions (else Pingbacks, else TrackBacks) to the pages your posts link to.

    Sending again for an updated post also notifies the links it removed; a post that answers 410
    re-notifies every earlier target. The history is kept: see 'linkback sent'.

    Example: linkback send https://blog.example.com/2026/11/a-post --dry-run
    """
    from linkback.fetch import Fetcher, GuardPolicy
    from linkback.send import Sender, SendOptions, send_feed

    if not urls and not feed and not sitemap:
        fail("give post URLs, --feed or --sitemap")
    allow = allow_private or _truthy(os.environ.get("LINKBACK_ALLOW_PRIVATE"))
    common = {"all_links": all_links, "blog_name": blog_name, "allow_private": allow}
    jobs = (
        [{"kind": "post", "url": u, **common} for u in urls or []]
        + [{"kind": "feed", "url": u, **common} for u in feed or []]
        + [{"kind": "sitemap", "url": u, **common} for u in sitemap or []]
    )
    path = db or default_db_path()
    server = server_for(path)
    if server is not None and not dry_run:
        rows, failures = _via_server(server, jobs)
    else:
        rows = []
        failures = 0
        with writable_store(db) as store, Fetcher(policy=GuardPolicy(allow_private=allow)) as fetcher:

            def write(fn):  # noqa: ANN001, ANN202
                store.con.execute("BEGIN TRANSACTION")
                try:
                    result = fn(store.con)
                    store.con.execute("COMMIT")
                except BaseException:
                    store.con.execute("ROLLBACK")
                    raise
                return result

            sender = Sender(
                fetcher,
                read=lambda fn: fn(store.con),
                write=write,
                options=SendOptions(all_links=all_links, dry_run=dry_run, blog_name=blog_name),
            )
            for job in jobs:
                if job["kind"] == "post":
                    posts = [sender.send_post(job["url"])]
                else:
                    found = send_feed(sender, job["url"], kind=job["kind"])
                    if found.error:
                        failures += 1
                        err.print(f"[red]{found.url}[/red]: {found.error}")
                    elif found.not_modified:
                        err.print(f"{found.url}: not modified since the last run")
                    else:
                        err.print(f"{found.url}: {found.entries} entries, {found.unchanged} unchanged")
                    if found.retry:
                        err.print(
                            f"{found.url}: {found.retry} entries had sends that failed; the next run retries them"
                        )
                    posts = found.posts
                for post in posts:
                    if post.error:
                        failures += 1
                        err.print(f"[red]{post.url}[/red]: {post.error}")
                    elif post.status == "gone":
                        err.print(f"{post.url} is gone (410): every earlier target is notified again")
                    rows += [asdict(r) for r in post.records]
        what = "notifications" + (" (dry run)" if dry_run else "")
        render(Report(rows, what, SEND_COLUMNS, SEND_TABLE), output_format, None)
        if failures:
            raise typer.Exit(1)
        return
    render(Report(rows, "notifications", SEND_COLUMNS, SEND_TABLE), output_format, None)
    if failures:
        raise typer.Exit(1)


@app.command("sent")
def sent_cmd(
    url: Annotated[str | None, typer.Argument(help="One post (default: every post).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 100,
    output_format: FormatOption = Format.table,
    db: WriteDb = None,
) -> None:
    """The history of notifications sent for your posts, newest first.

    Example: linkback sent https://blog.example.com/2026/11/a-post
    """
    from linkback.send import history
    from linkback.urls import normalize

    with writable_store(db) as store:
        source = normalize(url).split("#", 1)[0] if url else None
        rows = history(store.con, source, limit)
    render(
        Report(rows, "notifications sent", ["send_id", *SEND_COLUMNS], SEND_TABLE + ["sent_at"]), output_format, None
    )
