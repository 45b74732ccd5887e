"""Sites, rules and moderation as store-level functions: what ``linkback site|mentions``, the
``/api/v1`` routes and the dashboard call (one function, three faces; see :mod:`linkback.faces`).

The functions of :mod:`linkback.mentions` take a connection and run inside a caller's
transaction; these take the store and make each change one :meth:`~linkback.store.Store.write`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from linkback.faces import action, report
from linkback.mentions._sites import add_rule, list_rules, list_sites, remove_rule
from linkback.mentions._sites import add_site as _add_site
from linkback.mentions._sites import remove_site as _remove_site
from linkback.mentions._store import ACTIONS, STATES, STATUSES, ids_from_domain, list_mentions
from linkback.mentions._store import moderate as _moderate
from linkback.mentions._webhooks import queue_webhook

if TYPE_CHECKING:
    from linkback.store import Store

SITE_COLUMNS = ("site", "policy", "webhook_url", "has_secret")
MENTION_COLUMNS = (
    "mention_id", "protocol", "status", "state", "source", "target", "type", "author_name", "spam_score",
    "spam_reasons", "reason", "received_at", "updated_at", "hits",
)  # fmt: skip
RULE_COLUMNS = ("site", "rule", "entry", "note", "added_at")


@report(columns=SITE_COLUMNS)
def sites(store: Store) -> list[dict[str, Any]]:
    """The sites whose pages accept linkbacks, with their policy and webhook (never its secret)."""
    return [
        {"site": s.site, "policy": s.policy, "webhook_url": s.webhook_url, "has_secret": bool(s.webhook_secret)}
        for s in list_sites(store.con)
    ]


@action()
def add_site(
    store: Store, site: str, *, policy: str = "auto", webhook_url: str = "", webhook_secret: str = ""
) -> dict[str, Any]:
    """Accept linkbacks for ``site``'s pages (or change its policy and webhook)."""
    added = store.write(
        lambda store: _add_site(
            store.con, site, policy=policy, webhook_url=webhook_url, webhook_secret=webhook_secret
        )
    )
    return {"site": added.site, "policy": added.policy, "webhook_url": added.webhook_url,
            "has_secret": bool(added.webhook_secret)}  # fmt: skip


@action()
def remove_site(store: Store, site: str) -> bool:
    """Stop accepting linkbacks for ``site`` (its mentions are kept); False when it was not a site."""
    return store.write(lambda store: _remove_site(store.con, site))


@report(columns=MENTION_COLUMNS)
def mentions(
    store: Store,
    *,
    state: str | None = None,
    status: str | None = None,
    site: str | None = None,
    target: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Mentions, newest first; the moderation queue is ``state="pending", status="verified"``."""
    if state and state not in STATES:
        raise ValueError(f"state must be one of {', '.join(STATES)}, not {state!r}")
    if status and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    if limit < 1:
        raise ValueError("limit must be at least 1")
    return list_mentions(store.con, state=state, status=status, site=site, target=target, limit=limit)


@action()
def moderate(
    store: Store,
    action: str,
    *,
    ids: Sequence[int] = (),
    domain: str | None = None,
    site: str | None = None,
) -> dict[str, Any]:
    """approve, spam, delete or pending: mentions by id, or every mention from a source domain
    (deleting by domain also blocks it). Queues the webhooks of what changed. Ids that name no
    mention are an error (:class:`~linkback.mentions.NoSuchMention`), and then nothing changes."""
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
    if not ids and not domain:
        raise ValueError("give mention ids, or a domain")

    def run(store: Store) -> dict[str, Any]:
        wanted = list(dict.fromkeys(int(i) for i in ids))
        named = wanted + (ids_from_domain(store.con, domain.lower(), site) if domain else [])
        (changed,) = store.con.execute(
            "SELECT count(*) FROM mentions WHERE list_contains(?, mention_id) AND state <> ?", [named, ACTIONS[action]]
        ).fetchall()[0]
        now = datetime.now(UTC)
        events = _moderate(store.con, action, ids=wanted, domain=domain, site=site, now=now)
        for mention_id, event in events:
            queue_webhook(store.con, mention_id, event, now)
        return {"changed": int(changed), "events": [list(e) for e in events], "ids": wanted}

    return store.write(run)


@report(columns=RULE_COLUMNS)
def rules(store: Store) -> list[dict[str, Any]]:
    """The allow, block and spam-word rules, per site."""
    return list_rules(store.con)


@action()
def add_rules(store: Store, rule: str, entries: Sequence[str], *, site: str = "*", note: str = "") -> list[str]:
    """Add ``entries`` (domains, URLs or spam words) as ``rule`` (allow, block or word); them, normalised."""
    return store.write(lambda store: [add_rule(store.con, rule, e, site=site, note=note) for e in entries])


@action()
def remove_rules(store: Store, entries: Sequence[str], *, site: str = "*") -> int:
    """Remove rules by entry; how many there were."""
    return store.write(lambda store: sum(bool(remove_rule(store.con, e, site=site)) for e in entries))
