"""``linkback alerts``: rules that tell of changes to a site's links, the alerts they made, running
them, and the site's Atom feed. Each command calls one function of :mod:`linkback.alerts`; while
a server owns the database the same call runs in the server (:mod:`linkback.faces`)."""

import json
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from linkback import alerts as al
from linkback.cli._app import app
from linkback.cli._output import (
    PrivateHostOption,
    Report,
    allow_private_env,
    fail,
    private_host_entries,
    report_command,
    writable_store,
)
from linkback.store import Store
from linkback.urls import public_url

err = Console(stderr=True, highlight=False, soft_wrap=True)  # a secret or URL is never cut in two

WriteDb = Annotated[
    Path | None,
    typer.Option("--db", help="Database file (default: $LINKBACK_DB or ./linkback.duckdb)."),
]

if TYPE_CHECKING:

    class _Choice(str, Enum):
        pass

    Event = _Choice
    Digest = _Choice
else:
    Event = Enum("Event", {e: e for e in al.EVENTS}, type=str)
    Digest = Enum("Digest", {s: s for s in al.SCHEDULES}, type=str)

alerts_app = typer.Typer(
    help="Alerts: tell of new, lost and changed links, broken pages and new toxic referring domains of a site, "
    "by webhook, email or Atom feed.\n\nExample: linkback alerts add example.com lost_link --email me@example.com "
    "--min-dr 30 --follow-only",
    no_args_is_help=True,
)
app.add_typer(alerts_app, name="alerts")

RULE_TABLE = [
    "rule_id",
    "site",
    "event",
    "channel",
    "address",
    "schedule",
    "min_dr",
    "follow_only",
    "alerts",
    "pending",
]
ALERT_TABLE = ["alert_id", "event", "title", "created_at", "delivered_at"]


@alerts_app.command("rules")
@report_command
def rules_cmd(
    site: Annotated[str | None, typer.Option("--site", help="Only this site's rules.")] = None,
    *,
    store: Store,
    limit: int | None,
) -> Report:
    """The alert rules: site, event, channel, filters, alerts made and waiting for delivery.

    Example: linkback alerts rules --site example.com
    """
    return Report(al.alert_rules(store, site=site), "alert rules", al.RULE_COLUMNS, RULE_TABLE)


@alerts_app.command("add")
def add_cmd(
    site: Annotated[str, typer.Argument(help="A domain (with its subdomains) or a host.")],
    event: Annotated[Event, typer.Argument(help=f"What to tell of: {', '.join(al.EVENTS)}.")],
    webhook: Annotated[str, typer.Option("--webhook", metavar="URL", help="POST each alert here, signed.")] = "",
    email: Annotated[str, typer.Option("--email", metavar="ADDRESS", help="Email alerts here.")] = "",
    atom: Annotated[bool, typer.Option("--atom", help="Show alerts in the site's Atom feed.")] = False,
    secret: Annotated[
        str, typer.Option("--secret", help="HMAC key for the webhook's X-Linkback-Signature (default: generated).")
    ] = "",
    digest: Annotated[
        Digest | None, typer.Option("--digest", help="Email: daily or weekly digest instead of one email at once.")
    ] = None,
    min_dr: Annotated[
        float | None, typer.Option("--min-dr", min=0, max=100, help="Only links from domains with at least this DR.")
    ] = None,
    follow_only: Annotated[bool, typer.Option("--follow-only", help="Only followed (dofollow) links.")] = False,
    db: WriteDb = None,
) -> None:
    """Add an alert rule: tell of EVENT on SITE's links by webhook, email or Atom feed.

    The rule starts looking now; 'linkback alerts run' (or a running server) finds and delivers.

    Example: linkback alerts add example.com lost_link --webhook https://hooks.example.com/links --min-dr 30
    """
    chosen = [c for c, given in (("webhook", webhook), ("email", email), ("atom", atom)) if given]
    if len(chosen) != 1:
        fail("give one of --webhook URL, --email ADDRESS or --atom")
    channel = chosen[0]
    with writable_store(db) as store:
        row = al.alert_rule_add(
            store, site, event.value, channel=channel, address=webhook or email, secret=secret,
            schedule=digest.value if digest else "immediate", min_dr=min_dr, follow_only=follow_only,
        )  # fmt: skip
        base = _base_url(store)
    err.print(f"rule {row['rule_id']}: {row['event']} on {row['site']} by {row['channel']}")
    if row.get("secret"):
        err.print(f"webhook secret (for X-Linkback-Signature): {row['secret']}")
    if row.get("feed"):
        err.print(f"feed: {base}{row['feed']}")


@alerts_app.command("remove")
def remove_cmd(rule_id: Annotated[int, typer.Argument(help="The rule's number ('linkback alerts rules').")],
               db: WriteDb = None) -> None:  # fmt: skip
    """Remove an alert rule (its alerts stay listed; those not yet delivered are not sent).

    Example: linkback alerts remove 3
    """
    with writable_store(db, create=False) as store:
        found = al.alert_rule_remove(store, rule_id)
    if not found:
        fail(f"no alert rule {rule_id}: see 'linkback alerts rules'")
    err.print(f"rule {rule_id} removed")


@alerts_app.command("list")
@report_command
def list_cmd(
    site: Annotated[str | None, typer.Option("--site", help="Only this site's alerts.")] = None,
    event: Annotated[Event | None, typer.Option("--event", help="Only this event's alerts.")] = None,
    *,
    store: Store,
    limit: int | None,
) -> Report:
    """The alerts, newest first: what changed, where the evidence is, how its delivery went.

    Example: linkback alerts list --site example.com --event lost_link --limit 20
    """
    rows = al.alerts(store, site=site, event=event.value if event else None, limit=limit)
    return Report(rows, "alerts", al.ALERT_COLUMNS, ALERT_TABLE)


@alerts_app.command("run")
def run_cmd(
    allow_private: Annotated[
        bool,
        typer.Option(
            "--allow-private", help="Let webhooks reach loopback/private addresses (also LINKBACK_ALLOW_PRIVATE=1)."
        ),
    ] = False,
    allow_private_hosts: PrivateHostOption = None,
    output: Annotated[str, typer.Option("--format", help="Summary as 'table' or 'json'.")] = "table",
    db: WriteDb = None,
) -> None:
    """Let every rule look for changes now, and deliver what is due (webhooks, emails, digests).

    Email goes through the SMTP server of LINKBACK_SMTP_HOST (see 'Alerts' in the README). A
    running server does this by itself after ingest, rank, import, crawl and monitor jobs.

    Example: linkback alerts run
    """
    with writable_store(db, create=False) as store:
        result = al.alerts_run(
            store,
            allow_private=allow_private or allow_private_env(),
            allow_private_hosts=private_host_entries(allow_private_hosts),
        )
    if output == "json":
        json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    by_event = ", ".join(f"{n} {e}" for e, n in sorted(result["by_event"].items())) or "none new"
    sent = result["delivery"]
    print(f"{result['rules']} rules looked: {result['alerts']} alerts ({by_event})")
    print(f"delivered {sent['delivered']} of {sent['due']} due ({sent['emails']} emails); {sent['failed']} failed")
    if sent["failed"]:
        err.print("'linkback alerts list' shows each failure's last_error; they are retried later")
    if sent.get("evidence_paths"):
        err.print(
            f"{sent['evidence_paths']} alerts went out with their evidence as a path on the dashboard, "
            "not a link: set LINKBACK_PUBLIC_URL to where people reach your linkback"
        )


@alerts_app.command("feed")
def feed_cmd(
    site: Annotated[str, typer.Argument(help="The site whose feed to show.")],
    base: Annotated[
        str, typer.Option("--base", metavar="URL", help="The server's public URL (default: LINKBACK_PUBLIC_URL).")
    ] = "",
    db: WriteDb = None,
) -> None:
    """Print the URL of SITE's Atom feed of alerts (its token is in it: keep it to yourself).

    Example: linkback alerts feed example.com --base https://links.example.com
    """
    with writable_store(db, create=False) as store:
        found = al.alert_feed(store, site)
        origin = base.rstrip("/") or _base_url(store)
    print(f"{origin}{found['path']}")
    if not origin:
        err.print("(a path on the server: give --base URL, or set LINKBACK_PUBLIC_URL)")


def _base_url(store: Any) -> str:
    """Where the feed is read: LINKBACK_PUBLIC_URL, else the running server's own URL."""
    return public_url() or str(getattr(getattr(store, "remote", None), "url", "") or "")
