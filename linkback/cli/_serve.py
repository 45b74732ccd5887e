"""``linkback serve`` and the commands that manage received linkbacks: ``site``, ``mentions``,
``refbacks``. While a server owns the database, these hand their work to its admin API (the
server advertises itself in ``<db>.server.json``); otherwise they open the database themselves.
"""

import os
import secrets
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from linkback import mentions
from linkback.cli._app import app
from linkback.cli._handoff import SERVER_STORE, server_for
from linkback.cli._output import Format, FormatOption, Report, fail, render
from linkback.errors import LinkbackError
from linkback.store import Store, default_db_path

err = Console(stderr=True, highlight=False, soft_wrap=True)  # a token or path is never cut in two

WriteDb = Annotated[
    Path | None,
    typer.Option("--db", help="Database file (default: $LINKBACK_DB or ./linkback.duckdb).", dir_okay=False),
]

TOKEN_KEY = "admin_token"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


class Backend:
    """Runs an admin operation in the server that owns the database, or on the file itself."""

    def __init__(self, db: Path | None) -> None:
        self.db = db or default_db_path()
        # Inside the server (a forwarded command) the store is at hand: never call ourselves.
        self.server = None if SERVER_STORE.get() is not None else server_for(self.db)

    def call(self, method: str, path: str, *, json_body: Any = None, params: dict | None = None) -> Any:
        assert self.server is not None
        url, token = self.server
        try:
            resp = httpx.request(
                method,
                url + path,
                json=json_body,
                params=params,
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )
        except httpx.HTTPError as exc:
            fail(f"the server at {url} did not answer: {exc}")
        if resp.status_code >= 400:
            try:
                detail = resp.json().get("detail") or resp.text
            except ValueError:
                detail = resp.text
            fail(f"the server refused: {detail}")
        return resp.json()

    @contextmanager
    def store(self):  # noqa: ANN201
        borrowed = SERVER_STORE.get()
        if borrowed is not None:
            yield borrowed
            return
        try:
            with Store(self.db) as store:
                store.con.execute("SET enable_progress_bar = false")
                yield store
        except (LinkbackError, ValueError) as exc:
            fail(str(exc))

    def run(self, local: Callable[[Store], Any], method: str, path: str, **kwargs: Any) -> Any:
        if self.server is not None:
            return self.call(method, path, **kwargs)
        with self.store() as store:
            return local(store)


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
    generic_faults: Annotated[
        bool,
        typer.Option(
            "--generic-pingback-faults", help="Answer every Pingback fault but 48 as fault 0, as WordPress does."
        ),
    ] = False,
    workers: Annotated[int, typer.Option("--verify-workers", min=1, help="Sources fetched at once.")] = 4,
    access_log: Annotated[bool, typer.Option("--access-log", help="Log every request on stderr.")] = False,
    db: WriteDb = None,
) -> None:
    """Run the server: linkback endpoints, the admin and display APIs, and the job runner.

    It owns the database while it runs; other linkback commands hand their work to it.
    The admin token comes from LINKBACK_ADMIN_TOKEN, else it is generated once and printed.

    Example: linkback serve --port 8000
    """
    import uvicorn

    from linkback.server import Settings, create_app

    path = db or default_db_path()
    if server_for(path) is not None:
        fail(f"a linkback server already owns {path}")
    allow_private = allow_private or _truthy(os.environ.get("LINKBACK_ALLOW_PRIVATE"))
    token = os.environ.get("LINKBACK_ADMIN_TOKEN", "")
    try:
        with Store(path) as store:
            if not token:
                rows = store.con.execute("SELECT value FROM meta WHERE key = ?", [TOKEN_KEY]).fetchall()
                if rows:
                    token = rows[0][0]
                else:
                    token = secrets.token_urlsafe(24)
                    store.con.execute("INSERT INTO meta VALUES (?, ?)", [TOKEN_KEY, token])
                    err.print(f"[bold]admin token[/bold] (generated, kept in {path}): {token}")
    except LinkbackError as exc:
        fail(str(exc))
    if allow_private:
        err.print(
            "[bold red]WARNING: the private-address guard is OFF[/bold red]: sources and endpoints on loopback "
            "and private networks will be fetched. Use this only on an intranet or for tests."
        )
    shown = f"[{host}]" if ":" in host else host
    settings = Settings(
        db=str(path),
        allow_private=allow_private,
        admin_token=token,
        generic_pingback_faults=generic_faults,
        verify_workers=workers,
        advertise_url=f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{port}",
    )
    err.print(f"linkback serving {path} on http://{shown}:{port} (Ctrl-C stops)")
    uvicorn.run(
        create_app(settings), host=host, port=port, log_level="info", proxy_headers=False, access_log=access_log
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
    secret = webhook_secret or (secrets.token_urlsafe(24) if webhook else "")
    backend = Backend(db)
    body = {"site": site, "policy": policy, "webhook_url": webhook, "webhook_secret": secret}
    backend.run(
        lambda store: mentions.add_site(store.con, site, policy=policy, webhook_url=webhook, webhook_secret=secret),
        "POST",
        "/api/admin/sites",
        json_body=body,
    )
    err.print(f"accepting linkbacks for {mentions.normalize_site(site)} (policy {policy})")
    if webhook and not webhook_secret:
        err.print(f"webhook secret (for X-Linkback-Signature): {secret}")


@site_app.command("remove")
def site_remove(site: Annotated[str, typer.Argument()], db: WriteDb = None) -> None:
    """Stop accepting linkbacks for SITE (its mentions are kept)."""
    Backend(db).run(lambda store: mentions.remove_site(store.con, site), "DELETE", f"/api/admin/sites/{site}")


@site_app.command("list")
def site_list(output_format: FormatOption = Format.table, db: WriteDb = None) -> None:
    """The sites and their policies."""
    rows = Backend(db).run(
        lambda store: [
            {"site": s.site, "policy": s.policy, "webhook_url": s.webhook_url, "has_secret": bool(s.webhook_secret)}
            for s in mentions.list_sites(store.con)
        ],
        "GET",
        "/api/admin/sites",
    )
    render(Report(rows, "sites", ["site", "policy", "webhook_url", "has_secret"]), output_format, None)


# --- mentions ------------------------------------------------------------------------------------

mentions_app = typer.Typer(
    help="Received Webmentions, Pingbacks, TrackBacks and Refbacks: list and moderate them."
    "\n\nExample: linkback mentions list --state pending --status verified",
    no_args_is_help=True,
)
app.add_typer(mentions_app, name="mentions")

LIST_COLUMNS = [
    "mention_id", "protocol", "status", "state", "source", "target", "type", "author_name", "spam_score",
    "spam_reasons", "reason", "received_at", "updated_at", "hits",
]  # fmt: skip
TABLE_COLUMNS = ["mention_id", "protocol", "status", "state", "source", "target"]


@mentions_app.command("list")
def mentions_list(
    state: Annotated[str | None, typer.Option("--state", help="pending, approved, spam or deleted.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="queued, verified, rejected or deleted.")] = None,
    site: Annotated[str | None, typer.Option("--site")] = None,
    target: Annotated[str | None, typer.Option("--target")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 100,
    output_format: FormatOption = Format.table,
    db: WriteDb = None,
) -> None:
    """Mentions, newest first: the moderation queue is ``--state pending --status verified``."""
    if state and state not in mentions.STATES:
        fail(f"--state must be one of {', '.join(mentions.STATES)}")
    if status and status not in mentions.STATUSES:
        fail(f"--status must be one of {', '.join(mentions.STATUSES)}")
    params = {k: v for k, v in {"state": state, "status": status, "site": site, "target": target}.items() if v}
    rows = Backend(db).run(
        lambda store: mentions.list_mentions(store.con, limit=limit, **params),
        "GET",
        "/api/admin/mentions",
        params={**params, "limit": limit},
    )
    for row in rows:
        for key in ("received_at", "updated_at"):
            if isinstance(row.get(key), str):
                row[key] = datetime.fromisoformat(row[key])
    render(Report(rows, "mentions", LIST_COLUMNS, TABLE_COLUMNS), output_format, None)


def _moderate(action: str, ids: list[int], domain: str | None, site: str | None, db: Path | None) -> None:
    if not ids and not domain:
        fail("give mention ids, or --domain")

    def local(store: Store) -> dict:
        now = datetime.now(UTC)
        store.con.execute("BEGIN TRANSACTION")
        try:
            events = mentions.moderate(store.con, action, ids=ids, domain=domain, site=site, now=now)
            for mention_id, event in events:
                mentions.queue_webhook(store.con, mention_id, event, now)
            store.con.execute("COMMIT")
        except BaseException:
            store.con.execute("ROLLBACK")
            raise
        return {"changed": len(events), "events": events}

    result = Backend(db).run(
        local, "POST", f"/api/admin/mentions/{action}", json_body={"ids": ids, "domain": domain, "site": site}
    )
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
    backend = Backend(db)
    for entry in entries:
        backend.run(
            lambda store, entry=entry: mentions.add_rule(store.con, rule, entry, site=site, note=note),
            "POST",
            "/api/admin/rules",
            json_body={"rule": rule, "entry": entry, "site": site, "note": note},
        )


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
def mentions_rules(output_format: FormatOption = Format.table, db: WriteDb = None) -> None:
    """The allow and block lists."""
    rows = Backend(db).run(lambda store: mentions.list_rules(store.con), "GET", "/api/admin/rules")
    for row in rows:
        if isinstance(row.get("added_at"), str):
            row["added_at"] = datetime.fromisoformat(row["added_at"])
    render(Report(rows, "rules", ["site", "rule", "entry", "note", "added_at"]), output_format, None)


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
    db: WriteDb = None,
) -> None:
    """Queue external referers from access logs as Refbacks, for the same verification as Webmentions.

    Search engines, social sites, self-referrals and empty referers are counted, not queued.
    A referer is only ever shown once the referring page is fetched and found to link to the page.

    Example: linkback refbacks /var/log/nginx/access.log* --host blog.example.com
    """
    from linkback.protocols._refback import candidate_refbacks, summarize
    from linkback.sources.accesslog import LogStats, read_logs

    backend = Backend(db)
    sites = backend.run(
        lambda store: [s.site for s in mentions.list_sites(store.con)],
        "GET",
        "/api/admin/sites",
    )
    sites = [s["site"] if isinstance(s, dict) else s for s in sites]
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
    candidates = [
        {
            "source": p["referer"],
            "target": p["page_url"],
            "hits": p["hits"],
            "times": [t.isoformat() for t in p["times"]],
        }
        for p in pairs
    ]
    queued = {"queued": 0, "new": 0, "refused": {}}
    if candidates and not dry_run:

        def local(store: Store) -> dict:
            receipts, refused = [], {}
            rules = mentions.stored_rules(store.con)
            for c in candidates:
                try:
                    source, target, site = mentions.check_pair(c["source"], c["target"], sites, rules)
                except LinkbackError as exc:
                    code = str(getattr(exc, "code", "invalid"))
                    refused[code] = refused.get(code, 0) + 1
                    continue
                times = tuple(datetime.fromisoformat(t) for t in c["times"])
                receipts.append(mentions.Receipt("refback", source, target, site, hits=c["hits"], hit_times=times))
            store.con.execute("BEGIN TRANSACTION")
            try:
                ids = mentions.receive_many(store.con, receipts, datetime.now(UTC))
                store.con.execute("COMMIT")
            except BaseException:
                store.con.execute("ROLLBACK")
                raise
            return {"queued": len(receipts), "new": sum(1 for _, new in ids if new), "refused": refused}

        queued = backend.run(local, "POST", "/api/admin/refbacks", json_body={"candidates": candidates})
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
    render(Report(summary, "refbacks" + (" (dry run)" if dry_run else ""), list(summary)), output_format, None)
    for line in stats.errors[:5]:
        err.print(f"[yellow]skipped[/yellow] {line}")
