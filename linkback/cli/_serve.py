"""``linkback serve`` and the commands that manage received linkbacks: ``site``, ``mentions``,
``refbacks``. Each calls one function of :mod:`linkback.mentions._actions` or :mod:`linkback.jobs`;
while a server owns the database, the same call runs in the server (:mod:`linkback.faces`).
"""

import os
from pathlib import Path
from typing import Annotated, Any

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
from linkback.errors import LinkbackError
from linkback.mentions import _actions as actions
from linkback.secrets import new_token, token_hash
from linkback.store import Store, default_db_path

err = Console(stderr=True, highlight=False, soft_wrap=True)  # a token or path is never cut in two

WriteDb = Annotated[
    Path | None,
    typer.Option("--db", help="Database file (default: $LINKBACK_DB or ./linkback.duckdb)."),
]

#: The admin token's SHA-256 in ``meta`` (the token itself is never stored).
TOKEN_HASH_KEY = "admin_token_sha256"
#: The shortest LINKBACK_ADMIN_TOKEN serve accepts (a generated one has 32 characters).
MIN_TOKEN_LENGTH = 16


# --- serve ---------------------------------------------------------------------------------------


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    allow_private: Annotated[
        bool,
        typer.Option(
            "--allow-private",
            help="Let the fetcher reach loopback and private addresses (intranets, tests). Also LINKBACK_ALLOW_PRIVATE=1.",
        ),
    ] = False,
    allow_private_hosts: PrivateHostOption = None,
    generic_faults: Annotated[
        bool,
        typer.Option(
            "--generic-pingback-faults", help="Answer every Pingback fault but 48 as fault 0, as WordPress does."
        ),
    ] = False,
    workers: Annotated[int, typer.Option("--verify-workers", min=1, help="Sources fetched at once.")] = 4,
    access_log: Annotated[bool, typer.Option("--access-log", help="Log every request on stderr.")] = False,
    new_admin_token: Annotated[
        bool, typer.Option("--new-token", help="Make a new admin token (printed once); the old one stops working.")
    ] = False,
    db: WriteDb = None,
) -> None:
    """Run the server: linkback endpoints, the admin and display APIs, and the job runner.

    It owns the database while it runs; other linkback commands call its API meanwhile.
    The admin token comes from LINKBACK_ADMIN_TOKEN, else it is generated once and printed
    (only its hash is kept: --new-token replaces a lost one).

    Example: linkback serve --port 8000
    """
    import uvicorn

    from linkback.client import server_for
    from linkback.fetch import private_hosts
    from linkback.server import Settings, create_app
    from linkback.server._conn import uvicorn_options

    path = db or default_db_path()
    if server_for(path) is not None:
        fail(f"a linkback server already owns {path}")
    allow_private = allow_private or allow_private_env()
    try:
        opened = sorted(map(str, private_hosts(private_host_entries(allow_private_hosts))))
    except LinkbackError as exc:
        fail(str(exc))
    token = os.environ.get("LINKBACK_ADMIN_TOKEN", "")
    if token and len(token) < MIN_TOKEN_LENGTH:
        fail(
            f"LINKBACK_ADMIN_TOKEN is {len(token)} characters: an admin token needs {MIN_TOKEN_LENGTH} at least. "
            "Make one with: python -c 'from linkback.secrets import new_token; print(new_token())' "
            "(or unset it: serve then generates one and prints it once)"
        )
    stored_hash = ""
    try:
        with Store(path) as store:
            if not token:
                rows = store.con.execute("SELECT value FROM meta WHERE key = ?", [TOKEN_HASH_KEY]).fetchall()
                if rows and not new_admin_token:
                    stored_hash = rows[0][0]
                else:
                    token = new_token()
                    store.write(
                        lambda store: store.con.execute(
                            "INSERT OR REPLACE INTO meta VALUES (?, ?)", [TOKEN_HASH_KEY, token_hash(token)]
                        )
                    )
                    err.print(
                        f"[bold]admin token[/bold] (generated; shown once, only its hash is kept in {path}): {token}"
                    )
    except LinkbackError as exc:
        fail(str(exc))
    if allow_private:
        err.print(
            "[bold red]WARNING: the private-address guard is OFF[/bold red]: sources and endpoints on loopback "
            "and private networks will be fetched. Use this only on an intranet or for tests."
        )
    elif opened:
        err.print(f"the private-address guard is open for {escape(', '.join(opened))} only")
    shown = f"[{host}]" if ":" in host else host
    settings = Settings(
        db=str(path),
        allow_private=allow_private,
        allow_private_hosts=tuple(opened),
        admin_token=token,
        admin_token_hash=stored_hash,
        generic_pingback_faults=generic_faults,
        verify_workers=workers,
        advertise_url=f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{port}",
        freeze_gc=True,
    )
    err.print(f"linkback serving {path} on http://{shown}:{port} (Ctrl-C stops)")
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="info",
        proxy_headers=False,
        access_log=access_log,
        # At most MAX_CONNECTIONS at once, each with a deadline for its requests' heads.
        **uvicorn_options(),
    )


# --- sites ---------------------------------------------------------------------------------------

site_app = typer.Typer(
    help="The sites whose pages accept linkbacks.\n\nExample: linkback site add blog.example.com --policy moderate",
    no_args_is_help=True,
)
app.add_typer(site_app, name="site")


@site_app.command("add")
def site_add(
    site: Annotated[str, typer.Argument(help="A domain (covers its subdomains), a host or an IP address.")],
    policy: Annotated[
        str, typer.Option("--policy", help="auto (approve verified mentions), moderate (hold all) or allowlist.")
    ] = "auto",
    webhook: Annotated[str, typer.Option("--webhook", help="URL to POST new, approved and deleted mentions to.")] = "",
    webhook_secret: Annotated[
        str, typer.Option("--webhook-secret", help="HMAC key for the webhook signature (default: generated).")
    ] = "",
    db: WriteDb = None,
) -> None:
    """Accept linkbacks for SITE's pages."""
    secret = webhook_secret or (new_token() if webhook else "")
    with writable_store(db) as store:
        added = actions.add_site(store, site, policy=policy, webhook_url=webhook, webhook_secret=secret)
    err.print(f"accepting linkbacks for {added['site']} (policy {added['policy']})")
    if webhook and not webhook_secret:
        err.print(f"webhook secret (for X-Linkback-Signature): {secret}")


@site_app.command("remove")
def site_remove(site: Annotated[str, typer.Argument()], db: WriteDb = None) -> None:
    """Stop accepting linkbacks for SITE (its mentions are kept)."""
    with writable_store(db, create=False) as store:
        found = actions.remove_site(store, site)
    if not found:
        fail(f"{site} is not a site: see 'linkback site list'")


@site_app.command("list")
def site_list(output_format: FormatOption = Format.table, wide: WideOption = False, db: WriteDb = None) -> None:
    """The sites and their policies."""
    with writable_store(db, create=False) as store:
        rows = actions.sites(store)
    render(Report(rows, "sites", actions.SITE_COLUMNS), output_format, None, wide=wide)


# --- mentions ------------------------------------------------------------------------------------

mentions_app = typer.Typer(
    help="Received Webmentions, Pingbacks, TrackBacks and Refbacks: list and moderate them."
    "\n\nExample: linkback mentions list --state pending --status verified",
    no_args_is_help=True,
)
app.add_typer(mentions_app, name="mentions")

TABLE_COLUMNS = ["mention_id", "protocol", "status", "state", "source", "target"]


@mentions_app.command("list")
def mentions_list(
    state: Annotated[str | None, typer.Option("--state", help="pending, approved, spam or deleted.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="queued, verified, rejected or deleted.")] = None,
    site: Annotated[str | None, typer.Option("--site")] = None,
    target: Annotated[str | None, typer.Option("--target")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 100,
    output_format: FormatOption = Format.table,
    wide: WideOption = False,
    db: WriteDb = None,
) -> None:
    """Mentions, newest first: the moderation queue is ``--state pending --status verified``."""
    with writable_store(db, create=False) as store:
        rows = actions.mentions(store, state=state, status=status, site=site, target=target, limit=limit)
    render(Report(rows, "mentions", actions.MENTION_COLUMNS, TABLE_COLUMNS), output_format, None, wide=wide)


def _moderate(action: str, ids: list[int], domain: str | None, site: str | None, db: Path | None) -> None:
    if not ids and not domain:
        fail("give mention ids, or --domain")
    with writable_store(db, create=False) as store:
        result = actions.moderate(store, action, ids=ids, domain=domain, site=site)
    err.print(f"{action}: {result['changed']} changed")


IdsArg = Annotated[list[int] | None, typer.Argument(help="Mention ids (see 'mentions list').")]


@mentions_app.command("approve")
def mentions_approve(ids: IdsArg = None, db: WriteDb = None) -> None:
    """Approve verified mentions: they show under the post."""
    _moderate("approve", ids or [], None, None, db)


@mentions_app.command("spam")
def mentions_spam(
    ids: IdsArg = None, domain: Annotated[str | None, typer.Option("--domain")] = None, db: WriteDb = None
) -> None:
    """Mark mentions as spam (by id, or every mention from a domain)."""
    _moderate("spam", ids or [], domain, None, db)


@mentions_app.command("delete")
def mentions_delete(
    ids: IdsArg = None,
    domain: Annotated[
        str | None, typer.Option("--domain", help="Delete every mention from this domain and block it.")
    ] = None,
    site: Annotated[str | None, typer.Option("--site", help="Block the domain for this site only.")] = None,
    db: WriteDb = None,
) -> None:
    """Delete mentions; deleting by domain also blocks the domain."""
    _moderate("delete", ids or [], domain, site, db)


def _rule(rule: str, entries: list[str], site: str, note: str, db: Path | None) -> None:
    with writable_store(db) as store:
        added = actions.add_rules(store, rule, entries, site=site, note=note)
    err.print(f"{rule}: {', '.join(added)}" + ("" if site == "*" else f" (for {site})"))


@mentions_app.command("block")
def mentions_block(
    entries: Annotated[list[str], typer.Argument(help="Domains (with their subdomains) or exact source URLs.")],
    site: Annotated[str, typer.Option("--site", help="Only for this site (default: every site).")] = "*",
    note: Annotated[str, typer.Option("--note")] = "",
    db: WriteDb = None,
) -> None:
    """Refuse mentions from these sources."""
    _rule("block", entries, site, note, db)


@mentions_app.command("allow")
def mentions_allow(
    entries: Annotated[list[str], typer.Argument(help="Domains (with their subdomains) or exact source URLs.")],
    site: Annotated[str, typer.Option("--site", help="Only for this site (default: every site).")] = "*",
    note: Annotated[str, typer.Option("--note")] = "",
    db: WriteDb = None,
) -> None:
    """Approve verified mentions from these sources without moderation."""
    _rule("allow", entries, site, note, db)


@mentions_app.command("spam-word")
def mentions_spam_word(
    words: Annotated[list[str], typer.Argument(help="Words or phrases that mark a mention as spam.")],
    site: Annotated[str, typer.Option("--site", help="Only for this site (default: every site).")] = "*",
    db: WriteDb = None,
) -> None:
    """Add spam words: a mention whose title, content or author has one scores 'spam_words'."""
    _rule("word", words, site, "", db)


@mentions_app.command("rules")
def mentions_rules(output_format: FormatOption = Format.table, wide: WideOption = False, db: WriteDb = None) -> None:
    """The allow and block lists."""
    with writable_store(db, create=False) as store:
        rows = actions.rules(store)
    render(Report(rows, "rules", actions.RULE_COLUMNS), output_format, None, wide=wide)


# --- refbacks ------------------------------------------------------------------------------------


@app.command("refbacks")
def refbacks_cmd(
    paths: Annotated[
        list[str], typer.Argument(help="Apache/nginx combined access logs: files, directories, globs; gzip ok.")
    ],
    host: Annotated[
        str, typer.Option("--host", help="The site the log is for, when its lines carry no virtual host.")
    ] = "",
    scheme: Annotated[str, typer.Option("--scheme", help="Scheme of the logged pages.")] = "https",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be queued; queue nothing.")] = False,
    output_format: FormatOption = Format.table,
    wide: WideOption = False,
    db: WriteDb = None,
) -> None:
    """Queue external referers from access logs as Refbacks, for the same verification as Webmentions.

    Search engines, social sites, self-referrals and empty referers are counted, not queued.
    A referer is only ever shown once the referring page is fetched and found to link to the page.

    Example: linkback refbacks /var/log/nginx/access.log* --host blog.example.com
    """
    from linkback.protocols._refback import candidate_refbacks, summarize
    from linkback.sources.accesslog import LogStats, iter_log_paths, read_logs

    try:  # logs that name nothing are refused before the store is opened (or made)
        iter_log_paths(paths)
    except (LinkbackError, ValueError) as exc:
        fail(str(exc))
    with writable_store(db) as store:
        sites = [s["site"] for s in actions.sites(store)]
        if not sites:
            fail("no sites yet: add one with 'linkback site add HOST'")
        stats = LogStats()
        try:
            found = summarize(
                candidate_refbacks(read_logs(paths, stats), site_hosts=sites, default_scheme=scheme, default_host=host)
            )
        except (LinkbackError, ValueError) as exc:
            fail(str(exc))
        pairs = found["pairs"]
        # The visit times let the store count each visit once, however often a log is read.
        candidates = [{"source": p["referer"], "target": p["page_url"], "hits": p["hits"], "times": list(p["times"])}
                      for p in pairs]  # fmt: skip
        queued: dict[str, Any] = {"queued": 0, "new": 0, "refused": {}}
        if candidates and not dry_run:
            queued = jobs.queue_refbacks(store, candidates=candidates)
    summary = {
        "lines": stats.lines,
        "parsed": stats.parsed,
        "skipped": sum(stats.skipped.values()),
        **{f"referers_{cls}": n for cls, n in sorted(found["by_class"].items())},
        "external_pairs": len(pairs),
        "queued": queued["queued"],
        "new": queued["new"],
        "refused": sum(queued["refused"].values()),
    }
    what = "refbacks" + (" (dry run)" if dry_run else "")
    render(Report(summary, what, list(summary)), output_format, None, wide=wide)
    for line in stats.errors[:5]:
        err.print(f"[yellow]skipped[/yellow] {line}")
