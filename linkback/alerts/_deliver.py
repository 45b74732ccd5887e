"""Delivering alerts: signed webhook calls, immediate emails and digests, retried with backoff.

An alert is due when its ``next_attempt_at`` has come: at once for a webhook or an immediate
email, at the digest's time for a daily or weekly one (set when the alert was made). A webhook
is one POST per alert, signed exactly as the mention webhooks are (``X-Linkback-Signature:
sha256=`` HMAC-SHA256 of the body with the rule's secret). Emails due together for one address
go as one message. A failure counts an attempt, keeps its reason in ``last_error`` and is tried
again 10 s, 30 s, 90 s... later (at most an hour apart), :data:`ATTEMPTS` times in all.

Webhooks to different hosts are called at once (:data:`WEBHOOK_CONNECTIONS`), those to one host
one after the other; a host that timed out or could not be reached is not called again in the
same pass: its other alerts (whatever their path) fail at once, saying so, and are retried later
with theirs. One hanging receiver holds a pass for one timeout, not one per alert.

The network calls happen outside any write; their outcomes are then stored in one write. One
delivery runs at a time per database in a process, so the server's runner and an ``alerts_run``
job never send the same alert twice.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from linkback.alerts._mail import AlertSettings, compose, send_mail
from linkback.errors import FetchError, LinkbackError
from linkback.faces import iso
from linkback.secrets import sign

if TYPE_CHECKING:
    from linkback.fetch import Fetcher
    from linkback.store import Store

#: Delivery attempts before an alert is given up (its ``last_error`` says why).
ATTEMPTS = 8
#: The first retry comes this many seconds after a failure, then 3x later each time.
RETRY_SECONDS = 10.0
#: Most alerts one delivery pass takes.
PASS_LIMIT = 500
#: Webhook addresses called at once in a pass.
WEBHOOK_CONNECTIONS = 8
#: FetchError reasons after which a host is not called again in the same pass.
_ADDRESS_DOWN = {"timeout": "timed out", "connect": "could not be reached"}

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_LOCK = threading.Lock()


def retry_delay(attempts: int, base: float = RETRY_SECONDS) -> timedelta:
    """``base``, 3 ``base``, 9 ``base``... after the n-th failed attempt, at most an hour."""
    return timedelta(seconds=min(3600.0, base * 3 ** max(0, attempts - 1)))


def _lock_for(path: str) -> threading.Lock:
    with _LOCKS_LOCK:
        return _LOCKS.setdefault(path, threading.Lock())


def due_alerts(con: Any, now: datetime, limit: int = PASS_LIMIT) -> list[dict[str, Any]]:
    """The alerts due by ``now``, with their rule's channel, address, secret and schedule."""
    cur = con.execute(
        """SELECT a.alert_id, a.rule_id, a.site, a.event, a.source_url, a.target_url, a.title, a.detail, a.evidence,
                  a.created_at, a.attempts, r.channel, r.address, coalesce(r.secret, '') AS secret, r.schedule
           FROM alerts a JOIN alert_rules r USING (rule_id)
           WHERE a.next_attempt_at IS NOT NULL AND a.next_attempt_at <= ? AND r.channel IN ('webhook', 'email')
           ORDER BY a.next_attempt_at, a.alert_id LIMIT ?""",
        [now, limit],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def webhook_body(alert: dict[str, Any], settings: AlertSettings) -> bytes:
    """The JSON a webhook receives for one alert."""
    payload = {
        "type": "alert",
        "alert_id": alert["alert_id"],
        "rule_id": alert["rule_id"],
        "site": alert["site"],
        "event": alert["event"],
        "title": alert["title"],
        "source": alert["source_url"],
        "target": alert["target_url"],
        "detail": _detail(alert["detail"]),
        "evidence": settings.link(alert["evidence"] or ""),
        "created_at": iso(alert["created_at"]),
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()


def _detail(text: str | None) -> Any:
    try:
        return json.loads(text or "{}")
    except ValueError:  # not written by linkback: sent as it is, rather than not at all
        return {"text": text}


def post_webhook(fetcher: Fetcher, alert: dict[str, Any], settings: AlertSettings) -> str:
    """Call the rule's webhook for ``alert``; "" when it answered 2xx, else why not."""
    return _call(fetcher, alert, settings)[0]


def _call(fetcher: Fetcher, alert: dict[str, Any], settings: AlertSettings) -> tuple[str, str]:
    """(why the call failed or "", and why its address is down for this pass or "")."""
    body = webhook_body(alert, settings)
    try:
        result = fetcher.fetch(
            alert["address"],
            method="POST",
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-Linkback-Event": f"alert.{alert['event']}",
                "X-Linkback-Delivery": f"alert-{alert['alert_id']}",
                "X-Linkback-Signature": sign(alert["secret"], body),
            },
            follow_redirects=False,
        )
    except FetchError as exc:
        return str(exc) or type(exc).__name__, _ADDRESS_DOWN.get(exc.reason, "")
    return ("" if 200 <= result.status < 300 else f"HTTP {result.status}"), ""


def _post_to_host(fetcher: Fetcher, alerts: list[dict[str, Any]], settings: AlertSettings) -> dict[int, str]:
    """The alerts of one host, in order, until it is found down: the rest fail at once."""
    errors: dict[int, str] = {}
    down = ""
    for alert in alerts:
        if down:
            errors[alert["alert_id"]] = f"not sent: the webhook's host {down} earlier in this delivery pass"
            continue
        errors[alert["alert_id"]], down = _call(fetcher, alert, settings)
    return errors


def deliver_alerts(
    store: Store,
    *,
    settings: AlertSettings | None = None,
    fetcher: Fetcher | None = None,
    now: datetime | None = None,
    retry_seconds: float = RETRY_SECONDS,
    allow_private: bool = False,
) -> dict[str, int]:
    """Send what is due by ``now``: webhooks, immediate emails, digests; store each outcome.

    ``settings`` default to the environment's (:meth:`AlertSettings.from_env`). Webhooks go
    through ``fetcher``, else the store's (a server's), else a fetcher of its own that refuses
    private addresses unless ``allow_private``. Returns counts: due, delivered, failed, emails.
    """
    moment = now or datetime.now(UTC)
    settings = settings or AlertSettings.from_env()
    with _lock_for(store.path):
        due = due_alerts(store.con, moment)
        errors: dict[int, str] = {}
        emails = 0
        hooks = [a for a in due if a["channel"] == "webhook"]
        if hooks:
            errors |= _post_all(store, hooks, settings, fetcher, allow_private)
        groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for alert in due:
            if alert["channel"] == "email":
                groups[(alert["address"], alert["schedule"])].append(alert)
        for (address, schedule), group in groups.items():
            try:
                send_mail(compose(group, to=address, schedule=schedule, settings=settings, now=moment), settings)
                error = ""
                emails += 1
            except (LinkbackError, ValueError) as exc:
                error = str(exc)
            errors |= dict.fromkeys((a["alert_id"] for a in group), error)
        if due:
            store.write(lambda store: _record(store, due, errors, moment, retry_seconds))
    failed = sum(1 for e in errors.values() if e)
    return {"due": len(due), "delivered": len(due) - failed, "failed": failed, "emails": emails}


def _post_all(
    store: Store, hooks: list[dict[str, Any]], settings: AlertSettings, fetcher: Fetcher | None, allow_private: bool
) -> dict[int, str]:
    from linkback.fetch import Fetcher, GuardPolicy  # noqa: PLC0415 - only when there are webhooks to call

    own = None
    fetcher = fetcher or getattr(store, "fetcher", None)
    if fetcher is None:
        own = fetcher = Fetcher(policy=GuardPolicy(allow_private=allow_private))
    elif allow_private and not fetcher.policy.allow_private:
        raise LinkbackError(
            "this server was started without --allow-private, so its webhooks cannot reach private addresses"
        )
    by_host: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for alert in hooks:
        by_host[_host(alert["address"])].append(alert)
    errors: dict[int, str] = {}
    try:
        with ThreadPoolExecutor(min(WEBHOOK_CONNECTIONS, len(by_host)), thread_name_prefix="linkback-webhook") as pool:
            for done in pool.map(lambda group: _post_to_host(fetcher, group, settings), by_host.values()):
                errors |= done
    finally:
        if own is not None:
            own.close()
    return errors


def _host(url: str) -> str:
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:
        return url  # the fetch says what is wrong with it


def _record(store: Store, due: list[dict[str, Any]], errors: dict[int, str], now: datetime, base: float) -> None:
    rows = []
    for alert in due:
        attempts = int(alert["attempts"] or 0) + 1
        error = errors.get(alert["alert_id"], "not sent")
        if not error:
            rows.append([attempts, now, None, "", alert["alert_id"]])
        else:
            retry = now + retry_delay(attempts, base) if attempts < ATTEMPTS else None
            rows.append([attempts, None, retry, error[:1000], alert["alert_id"]])
    store.con.executemany(
        "UPDATE alerts SET attempts = ?, delivered_at = ?, next_attempt_at = ?, last_error = ? WHERE alert_id = ?",
        rows,
    )
