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

The network calls happen outside any write, in their own threads: the webhooks in a pool, the
emails in a thread of their own, so an email never waits for a slow webhook host. Each outcome
is handed back to the calling thread, which stores it at once, with whatever else has come
meanwhile, in a small write: a pass cut short (a crash, a kill) keeps what it delivered, and the
next pass sends only what was not recorded. A crash between a call and its record can still send
that one alert again (one per host being called, and the email being sent), so a receiver may
deduplicate on ``X-Linkback-Delivery`` (``alert-ALERT_ID``, the same on every attempt). If the
pass fails (an exception), nothing more is sent in it. One delivery runs at a time per database
in a process, so the server's runner and an ``alerts_run`` job never send the same alert twice.
"""

from __future__ import annotations

import json
import queue
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from functools import partial
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


#: What a sending thread hands back: outcomes (alert_id: why it failed or "") and emails sent.
_Outcome = tuple[dict[int, str], int]


class _Results:
    """The sending threads' outcomes, handed to the calling thread (the only one that writes)."""

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[_Outcome | BaseException | None] = queue.SimpleQueue()
        self.stop = threading.Event()  # set when the pass fails: nothing more is sent

    def run(self, work: Callable[[], None]) -> None:
        """``work`` in a sending thread; the queue then gets its exception, if any, and None."""
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread, which raises it
            self.queue.put(exc)
        finally:
            self.queue.put(None)

    def put(self, outcomes: dict[int, str], emails: int = 0) -> None:
        self.queue.put((outcomes, emails))


def _post_to_host(fetcher: Fetcher, alerts: list[dict[str, Any]], settings: AlertSettings, out: _Results) -> None:
    """The alerts of one host, in order, until it is found down: the rest fail at once."""
    down = ""
    for alert in alerts:
        if out.stop.is_set():
            return
        if down:
            error = f"not sent: the webhook's host {down} earlier in this delivery pass"
        else:
            error, down = _call(fetcher, alert, settings)
        out.put({alert["alert_id"]: error})


def _send_emails(due: list[dict[str, Any]], settings: AlertSettings, moment: datetime, out: _Results) -> None:
    """The email alerts due together for one address (and schedule) as one message each."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for alert in due:
        groups[(alert["address"], alert["schedule"])].append(alert)
    for (address, schedule), group in groups.items():
        if out.stop.is_set():
            return
        try:
            send_mail(compose(group, to=address, schedule=schedule, settings=settings, now=moment), settings)
            error, sent = "", 1
        except (LinkbackError, ValueError) as exc:
            error, sent = str(exc), 0
        out.put(dict.fromkeys((a["alert_id"] for a in group), error), sent)


def deliver_alerts(
    store: Store,
    *,
    settings: AlertSettings | None = None,
    fetcher: Fetcher | None = None,
    now: datetime | None = None,
    retry_seconds: float = RETRY_SECONDS,
    allow_private: bool = False,
    allow_private_hosts: Sequence[str] = (),
) -> dict[str, int]:
    """Send what is due by ``now``: webhooks, immediate emails, digests; store each outcome as it comes.

    ``settings`` default to the environment's (:meth:`AlertSettings.from_env`). Webhooks go
    through ``fetcher``, else the store's (a server's), else a fetcher of its own that refuses
    private addresses unless ``allow_private`` (or ``allow_private_hosts``, for those entries);
    a server's fetcher refuses both when it was not started with them. Returns counts: due, delivered, failed, emails,
    and ``evidence_paths``: alerts whose evidence went out as a dashboard path, not a link
    (no ``LINKBACK_PUBLIC_URL``).
    If a sending thread raises, nothing more is sent, what was sent is stored, and the exception
    is raised here.
    """
    moment = now or datetime.now(UTC)
    settings = settings or AlertSettings.from_env()
    with _lock_for(store.path):
        due = due_alerts(store.con, moment)
        hooks = [a for a in due if a["channel"] == "webhook"]
        mails = [a for a in due if a["channel"] == "email"]
        errors: dict[int, str] = {}
        emails = 0
        with ExitStack() as stack:
            caller = _fetcher(store, fetcher, allow_private, allow_private_hosts, stack) if hooks else None
            out = _Results()
            threads = 0
            if mails:  # first, and apart: no email waits for the webhooks
                mailer = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="linkback-alert-mail"))
                mailer.submit(out.run, lambda: _send_emails(mails, settings, moment, out))
                threads += 1
            if caller is not None:
                by_host: dict[str, list[dict[str, Any]]] = defaultdict(list)
                for alert in hooks:
                    by_host[_host(alert["address"])].append(alert)
                pool = stack.enter_context(
                    ThreadPoolExecutor(min(WEBHOOK_CONNECTIONS, len(by_host)), thread_name_prefix="linkback-webhook")
                )
                for group in by_host.values():
                    pool.submit(out.run, partial(_post_to_host, caller, group, settings, out))
                threads += len(by_host)
            # Leaving the stack (even by an exception) waits for the threads, which send nothing
            # more once ``out.stop`` is set, then closes a fetcher of our own.
            stack.callback(out.stop.set)
            emails = _store_outcomes(store, due, out, threads, errors, moment, retry_seconds)
    failed = sum(1 for e in errors.values() if e)
    # Without the public URL an evidence link is a path on the dashboard (/monitor/12), which the
    # recipient cannot open: counted, so that the command can say what to set.
    paths = (
        0
        if settings.public_url
        else sum(1 for a in due if not errors.get(a["alert_id"]) and str(a["evidence"] or "").startswith("/"))
    )
    return {
        "due": len(due),
        "delivered": len(due) - failed,
        "failed": failed,
        "emails": emails,
        "evidence_paths": paths,
    }


def _store_outcomes(
    store: Store, due: list[dict[str, Any]], out: _Results, threads: int, errors: dict[int, str],
    moment: datetime, base: float,
) -> int:  # fmt: skip
    """Store the outcomes as the ``threads`` hand them over, until all are done; emails sent.

    Each write holds what has come since the last one. ``errors`` gets every outcome stored.
    """
    by_id = {a["alert_id"]: a for a in due}
    emails = 0
    failure: BaseException | None = None
    try:
        while threads:
            pending: dict[int, str] = {}
            item = out.queue.get()
            while True:
                if item is None:
                    threads -= 1
                elif isinstance(item, BaseException):
                    failure = failure or item
                    out.stop.set()
                else:
                    pending |= item[0]
                    emails += item[1]
                try:
                    item = out.queue.get_nowait()
                except queue.Empty:
                    break
            if pending:
                rows = [by_id[alert_id] for alert_id in pending]
                store.write(partial(_record, alerts=rows, errors=pending, now=moment, base=base))
                errors |= pending
    except BaseException:
        out.stop.set()
        raise
    if failure is not None:
        raise failure
    return emails


def _fetcher(
    store: Store, fetcher: Fetcher | None, allow_private: bool, allow_private_hosts: Sequence[str], stack: ExitStack
) -> Fetcher:
    # Only when there are webhooks to call:
    from linkback.fetch import Fetcher, GuardPolicy, private_hosts, refuse_widening  # noqa: PLC0415

    fetcher = fetcher or getattr(store, "fetcher", None)
    if fetcher is None:
        own = Fetcher(
            policy=GuardPolicy(allow_private=allow_private, allow_private_hosts=private_hosts(allow_private_hosts))
        )
        stack.callback(own.close)
        return own
    refuse_widening(fetcher.policy, allow_private, allow_private_hosts, "run")
    return fetcher


def _host(url: str) -> str:
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:
        return url  # the fetch says what is wrong with it


def _record(store: Store, alerts: list[dict[str, Any]], errors: dict[int, str], now: datetime, base: float) -> None:
    rows = []
    for alert in alerts:
        attempts = int(alert["attempts"] or 0) + 1
        error = errors[alert["alert_id"]]
        if not error:
            rows.append([attempts, now, None, "", alert["alert_id"]])
        else:
            retry = now + retry_delay(attempts, base) if attempts < ATTEMPTS else None
            rows.append([attempts, None, retry, error[:1000], alert["alert_id"]])
    store.con.executemany(
        "UPDATE alerts SET attempts = ?, delivered_at = ?, next_attempt_at = ?, last_error = ? WHERE alert_id = ?",
        rows,
    )
