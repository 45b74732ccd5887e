"""Mentions in the store: receipt, the verification queue, moderation and display queries.

A mention is identified by its (source, target) pair, whatever protocol carried it: a re-sent
Webmention, a pingback after a trackback, or a second refback visit update the same row, so
processing is idempotent (WM §3.2.4). Two columns carry its life:

* ``status`` — verification: ``queued`` (the job runner will fetch the source), ``verified``,
  ``rejected`` (never verified: no link, source missing...) or ``deleted`` (verified once, then
  the source answered 410 or dropped the link).
* ``state`` — moderation: ``pending``, ``approved``, ``spam`` or ``deleted``.

Only ``verified`` and ``approved`` mentions are ever shown.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa

from linkback import schema

PROTOCOLS = ("webmention", "pingback", "trackback", "refback")
STATUSES = ("queued", "verified", "rejected", "deleted")
STATES = ("pending", "approved", "spam", "deleted")
#: Verification attempts before a source that keeps failing (5xx, timeouts) is rejected.
MAX_ATTEMPTS = 5


def retry_delay(attempts: int) -> timedelta:
    """30 s, 2 min, 8 min, 32 min... after the n-th failed attempt."""
    return timedelta(seconds=30 * 4 ** max(0, attempts - 1))


@dataclass(frozen=True, slots=True)
class Receipt:
    """One accepted notification, before verification. ``fields`` are what the sender said about
    the source (a TrackBack's title, excerpt and blog name) until the source itself is read."""

    protocol: str
    source: str
    target: str
    site: str
    sender_ip: str = ""
    hits: int = 1
    name: str = ""
    summary: str = ""
    author_name: str = ""
    #: Seconds before the job runner may take it: a Pingback is verified while its sender waits,
    #: and the runner only steps in if that request died.
    delay: float = 0.0
    #: Refbacks: when each of the ``hits`` visits was logged (aware). When given, only visits
    #: newer than the pair's stored ``last_hit_at`` count (see :func:`receive_many`).
    hit_times: tuple[datetime, ...] = ()
    #: Webmentions: the random key of the sender's status page (:func:`new_status_token`). A
    #: pair keeps the first token it was given, so a re-sent Webmention keeps its status URL.
    status_token: str = ""


def new_status_token() -> str:
    """An unguessable status page key: 128 random bits, URL-safe (22 characters)."""
    return secrets.token_urlsafe(16)


_RECEIPT_SCHEMA = pa.schema(
    [
        ("protocol", pa.string()),
        ("source", pa.string()),
        ("target", pa.string()),
        ("site", pa.string()),
        ("sender_ip", pa.string()),
        ("hits", pa.int32()),
        ("name", pa.string()),
        ("summary", pa.string()),
        ("author_name", pa.string()),
        ("delay_us", pa.int64()),
        ("last_hit_at", pa.timestamp("us", tz="UTC")),
        ("status_token", pa.string()),
    ]
)


def receive_many(
    con: duckdb.DuckDBPyConnection, receipts: Sequence[Receipt], now: datetime, *, assume_new: bool = False
) -> list[tuple[int, bool]]:
    """Store receipts (queued for verification); (mention_id, is_new) for each, in order.

    One INSERT ... ON CONFLICT for the whole batch: the server's intake commits many requests in
    one transaction. A pair seen before is re-queued, its hits counted, its moderation kept.
    Receipts with ``hit_times`` (refbacks read from access logs) count only the visits logged
    after the pair's ``last_hit_at``, and leave the pair alone when there are none.
    ``assume_new`` makes it a plain INSERT, which raises ``duckdb.ConstraintException`` when a
    pair is already stored (the caller then rolls back and upserts). A pair given twice in one
    call is new (if at all) for its first receipt only.
    """
    merged: dict[tuple[str, str], Receipt] = {}
    for r in receipts:
        old = merged.get((r.source, r.target))
        merged[(r.source, r.target)] = r if old is None else _merge(old, r)
    known: dict[tuple[str, str], tuple[int, bool]] = {}
    last_hit: dict[tuple[str, str], datetime | None] = {}
    if any(r.hit_times for r in merged.values()):
        merged, known, last_hit = _new_visits(con, merged)
    if not merged:
        return [known[(r.source, r.target)] for r in receipts]
    batch = pa.Table.from_pylist(
        [
            {
                "protocol": r.protocol,
                "source": r.source,
                "target": r.target,
                "site": r.site,
                "sender_ip": r.sender_ip,
                "hits": r.hits,
                "name": r.name,
                "summary": r.summary,
                "author_name": r.author_name,
                "delay_us": int(r.delay * 1e6),
                "last_hit_at": last_hit.get((r.source, r.target)),
                "status_token": r.status_token,
            }
            for r in merged.values()
        ],
        schema=_RECEIPT_SCHEMA,
    )
    con.register("_receipts", batch)
    try:
        rows = con.execute(
            """
            INSERT INTO mentions (mention_id, protocol, source, target, site, status, reason, state,
                                  received_at, updated_at, attempts, next_attempt_at, sender_ip, hits,
                                  name, summary, author_name, last_hit_at, status_token)
            SELECT nextval('mention_id_seq'), protocol, source, target, site, 'queued', '', 'pending',
                   $now, $now, 0, $now + to_microseconds(delay_us), sender_ip, hits, name, summary, author_name,
                   last_hit_at, status_token
            FROM _receipts
            """
            + (
                ""
                if assume_new
                else """
            ON CONFLICT (source, target) DO UPDATE SET
                protocol = excluded.protocol, site = excluded.site, status = 'queued', reason = '',
                updated_at = excluded.updated_at, attempts = 0, next_attempt_at = excluded.next_attempt_at,
                sender_ip = excluded.sender_ip, hits = mentions.hits + excluded.hits,
                last_hit_at = greatest(mentions.last_hit_at, excluded.last_hit_at),
                status_token = CASE WHEN coalesce(mentions.status_token, '') = '' THEN excluded.status_token
                                    ELSE mentions.status_token END"""
            )
            + """
            RETURNING mention_id, source, target, received_at = updated_at
            """,
            {"now": now},
        ).fetchall()
    finally:
        # In a transaction the failed INSERT aborted, unregistering fails too; the next
        # register replaces the view anyway, and the INSERT's own error is the one to raise.
        with contextlib.suppress(duckdb.Error):
            con.unregister("_receipts")
    by_pair = {(source, target): (int(mid), bool(new)) for mid, source, target, new in rows}
    by_pair.update(known)
    out, seen = [], set()
    for r in receipts:
        mention_id, new = by_pair[(r.source, r.target)]
        out.append((mention_id, new and (r.source, r.target) not in seen))
        seen.add((r.source, r.target))
    return out


def _merge(a: Receipt, b: Receipt) -> Receipt:
    return Receipt(
        b.protocol,
        b.source,
        b.target,
        b.site,
        b.sender_ip,
        a.hits + b.hits,
        b.name,
        b.summary,
        b.author_name,
        b.delay,
        a.hit_times + b.hit_times,
        a.status_token or b.status_token,  # the first receipt's, as for a pair already stored
    )


def _new_visits(
    con: duckdb.DuckDBPyConnection, merged: dict[tuple[str, str], Receipt]
) -> tuple[dict[tuple[str, str], Receipt], dict[tuple[str, str], tuple[int, bool]], dict]:
    """Refback receipts with their visit times: count only the visits not counted before.

    Access logs are read again and again (a cron job over ``access.log``, which grows; a
    rotated ``access.log.1`` that overlaps what was read yesterday), so adding every logged
    visit to ``hits`` would count the same visit once per read. The pair keeps the time of the
    newest visit it counted (``last_hit_at``); a later read counts only visits logged after it.

    The trade-off: a log read *out of order* (an older rotated file after a newer one) adds
    nothing for the pairs the newer file already counted, and a new visit logged in the very
    same second as the last counted one (logs have one-second resolution) is not counted. Both
    undercount by little; counting a re-read twice would overcount by the whole log. A receipt
    without visit times (an older client) is counted as before, and starts the clock.

    Returns the receipts still to upsert (their ``hits`` the new visits), the (id, is_new) of
    known pairs with nothing new (left untouched: not re-queued, as nothing happened), and the
    newest visit time of each receipt to store.
    """
    timed = [key for key, r in merged.items() if r.hit_times]
    pairs = pa.table({"source": [k[0] for k in timed], "target": [k[1] for k in timed]})
    con.register("_timed_pairs", pairs)
    try:
        stored = {
            (source, target): (int(mid), last)
            for mid, source, target, last in con.execute(
                "SELECT m.mention_id, m.source, m.target, m.last_hit_at FROM mentions m "
                "SEMI JOIN _timed_pairs p ON m.source = p.source AND m.target = p.target"
            ).fetchall()
        }
    finally:
        with contextlib.suppress(duckdb.Error):
            con.unregister("_timed_pairs")
    todo: dict[tuple[str, str], Receipt] = {}
    untouched: dict[tuple[str, str], tuple[int, bool]] = {}
    last_hit: dict[tuple[str, str], datetime | None] = {}
    for key, r in merged.items():
        if not r.hit_times:
            todo[key] = r
            continue
        mention_id, last = stored.get(key, (None, None))
        fresh = [t for t in r.hit_times if last is None or t > last]
        if mention_id is not None and not fresh:
            untouched[key] = (mention_id, False)
            continue
        todo[key] = replace(r, hits=len(fresh))
        last_hit[key] = max(fresh)
    return todo, untouched, last_hit


def due(con: duckdb.DuckDBPyConnection, now: datetime, limit: int = 64, exclude: Sequence[int] = ()) -> list[dict]:
    """Queued mentions whose verification is due, oldest first."""
    skip = ""
    if exclude:
        skip = f"AND mention_id NOT IN ({', '.join(str(int(i)) for i in exclude)})"
    cur = con.execute(
        f"""
        SELECT mention_id, protocol, source, target, site, sender_ip, attempts, state, verified_at,
               name, summary, author_name
        FROM mentions WHERE status = 'queued' AND next_attempt_at <= ? {skip}
        ORDER BY next_attempt_at, mention_id LIMIT ?
        """,
        [now, limit],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def next_due_at(con: duckdb.DuckDBPyConnection) -> datetime | None:
    rows = con.execute("SELECT min(next_attempt_at) FROM mentions WHERE status = 'queued'").fetchall()
    return rows[0][0]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What verifying a mention found. ``status`` is ``verified``, ``rejected``, ``deleted`` or
    ``retry`` (a transient failure: 5xx, timeout); ``content`` holds the mention columns read
    from the source (type, author, content...) when verified."""

    status: str
    reason: str = ""
    content: dict = field(default_factory=dict)
    spam_score: int = 0
    spam_reasons: tuple[str, ...] = ()
    #: moderation for a verified mention: "approved", "pending" or "spam" (from the site policy).
    decision: str = "pending"


def record_outcome(con: duckdb.DuckDBPyConnection, mention_id: int, outcome: Outcome, now: datetime) -> list[str]:
    """Store a verification outcome; the webhook events it causes (``new``, ``approved``, ``deleted``)."""
    rows = con.execute(
        "SELECT status, state, verified_at, attempts FROM mentions WHERE mention_id = ?", [mention_id]
    ).fetchall()
    if not rows:
        return []
    status, state, verified_at, attempts = rows[0]
    # The upsert of a re-sent mention set status back to queued; state remembers a deletion.
    was_shown_before = verified_at is not None and state != "deleted"
    events: list[str] = []
    if outcome.status == "retry":
        attempts = int(attempts or 0) + 1
        if attempts < MAX_ATTEMPTS:
            con.execute(
                "UPDATE mentions SET attempts = ?, reason = ?, next_attempt_at = ?, updated_at = ? WHERE mention_id = ?",
                [attempts, outcome.reason, now + retry_delay(attempts), now, mention_id],
            )
            return []
        outcome = Outcome("rejected", outcome.reason)
    if outcome.status == "verified":
        new_state = state
        if state in ("pending", "deleted") or verified_at is None:
            new_state = outcome.decision if state != "spam" else "spam"
        sets = dict(outcome.content)
        sets.update(
            status="verified",
            reason="",
            state=new_state,
            verified_at=now,
            updated_at=now,
            next_attempt_at=None,
            attempts=int(attempts or 0) + 1,
            spam_score=outcome.spam_score,
            spam_reasons=" ".join(outcome.spam_reasons),
        )
        _update(con, mention_id, sets)
        if not was_shown_before:
            events.append("new")
        if new_state == "approved" and state != "approved":
            events.append("approved")
        return events
    # rejected or deleted: a mention that was verified before is now deleted (WM §3.2.4).
    if was_shown_before:
        _update(
            con,
            mention_id,
            {
                "status": "deleted",
                "state": "deleted",
                "reason": outcome.reason,
                "updated_at": now,
                "next_attempt_at": None,
            },
        )
        return ["deleted"]
    _update(
        con,
        mention_id,
        {
            "status": "rejected",
            "reason": outcome.reason,
            "updated_at": now,
            "next_attempt_at": None,
            "attempts": int(attempts or 0) + 1,
        },
    )
    return []


_COLUMNS = set(schema.MENTIONS.names)


def _update(con: duckdb.DuckDBPyConnection, mention_id: int, sets: dict) -> None:
    unknown = set(sets) - _COLUMNS
    if unknown:
        raise KeyError(f"not mention columns: {sorted(unknown)}")
    assignments = ", ".join(f"{name} = ?" for name in sets)
    con.execute(f"UPDATE mentions SET {assignments} WHERE mention_id = ?", [*sets.values(), mention_id])


def get(con: duckdb.DuckDBPyConnection, mention_id: int) -> dict | None:
    cur = con.execute("SELECT * FROM mentions WHERE mention_id = ?", [mention_id])
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    return dict(zip(names, rows[0])) if rows else None


def by_status_token(con: duckdb.DuckDBPyConnection, token: str) -> dict | None:
    """The mention whose status page is ``token`` (only Webmentions have one)."""
    if not token:
        return None
    cur = con.execute("SELECT * FROM mentions WHERE status_token = ?", [token])
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    return dict(zip(names, rows[0])) if rows else None


def status_token_of(con: duckdb.DuckDBPyConnection, mention_id: int) -> str:
    rows = con.execute("SELECT coalesce(status_token, '') FROM mentions WHERE mention_id = ?", [mention_id]).fetchall()
    return rows[0][0] if rows else ""


def get_pair(con: duckdb.DuckDBPyConnection, source: str, target: str) -> dict | None:
    cur = con.execute("SELECT * FROM mentions WHERE source = ? AND target = ?", [source, target])
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    return dict(zip(names, rows[0])) if rows else None


def set_state(
    con: duckdb.DuckDBPyConnection, ids: Sequence[int], state: str, now: datetime | None = None
) -> list[dict]:
    """Moderate mentions by id; the rows whose state changed, before the change.

    Approving needs a verified source: an unverified mention is never shown.
    """
    if state not in STATES:
        raise ValueError(f"state must be one of {', '.join(STATES)}, not {state!r}")
    now = now or datetime.now(UTC)
    if not ids:
        return []
    id_list = ", ".join(str(int(i)) for i in ids)
    cur = con.execute(
        f"SELECT mention_id, status, state, site, source, target FROM mentions WHERE mention_id IN ({id_list})"
    )
    names = [d[0] for d in cur.description]
    before = [dict(zip(names, row)) for row in cur.fetchall()]
    changed = [row for row in before if row["state"] != state and (state != "approved" or row["status"] == "verified")]
    if changed:
        todo = ", ".join(str(row["mention_id"]) for row in changed)
        con.execute(f"UPDATE mentions SET state = ?, updated_at = ? WHERE mention_id IN ({todo})", [state, now])
    return changed


def ids_from_domain(con: duckdb.DuckDBPyConnection, domain: str, site: str | None = None) -> list[int]:
    """Mentions whose source is on ``domain`` or its subdomains."""
    rows = con.execute(
        """
        SELECT mention_id FROM mentions
        WHERE (regexp_extract(source, '^[a-z]+://([^/:?#]+)', 1) = $d
               OR regexp_extract(source, '^[a-z]+://([^/:?#]+)', 1) LIKE '%.' || $d)
          AND ($site IS NULL OR site = $site)
        """,
        {"d": domain, "site": site},
    ).fetchall()
    return [int(r[0]) for r in rows]


def list_mentions(
    con: duckdb.DuckDBPyConnection,
    *,
    target: str | None = None,
    site: str | None = None,
    state: str | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[dict]:
    """Mentions for moderation, newest first, filtered by target, site, state and status."""
    where, params = ["1 = 1"], {}
    for name, value in (("target", target), ("site", site), ("state", state), ("status", status)):
        if value:
            where.append(f"{name} = ${name}")
            params[name] = value
    cur = con.execute(
        f"SELECT * FROM mentions WHERE {' AND '.join(where)} ORDER BY updated_at DESC, mention_id DESC LIMIT {int(limit)}",
        params,
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


SORTS = {"created": "received_at", "updated": "updated_at", "published": "coalesce(published, received_at)"}
TYPES = ("reply", "like", "repost", "bookmark", "rsvp", "mention")


def approved(
    con: duckdb.DuckDBPyConnection,
    *,
    targets: Sequence[str] = (),
    site: str | None = None,
    since: datetime | None = None,
    types: Sequence[str] = (),
    sort: str = "created",
    descending: bool = True,
    page: int = 0,
    per_page: int = 20,
) -> tuple[list[dict], int]:
    """Verified and approved mentions for display, one page of them and the total count.

    A mention being re-verified after a re-send (``queued`` again, verified before) keeps its
    place until the new verification decides.
    """
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    clause, params = _approved_where(targets, site, since, types)
    (total,) = con.execute(f"SELECT count(*) FROM mentions WHERE {clause}", params).fetchall()[0]
    order = f"{SORTS[sort]} {'DESC' if descending else 'ASC'}, mention_id {'DESC' if descending else 'ASC'}"
    cur = con.execute(
        f"SELECT * FROM mentions WHERE {clause} ORDER BY {order} LIMIT {int(per_page)} OFFSET {int(page) * int(per_page)}",
        params,
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()], int(total)


def _approved_where(
    targets: Sequence[str], site: str | None, since: datetime | None, types: Sequence[str]
) -> tuple[str, dict]:
    # A verified mention that was re-sent stays shown, as it was, while it is re-verified.
    where = ["(status = 'verified' OR (status = 'queued' AND verified_at IS NOT NULL))", "state = 'approved'"]
    params: dict = {}
    if targets:
        where.append("list_contains($targets, target)")
        params["targets"] = list(targets)
    if site:
        where.append("site = $site")
        params["site"] = site
    if since is not None:
        where.append("received_at > $since")
        params["since"] = since
    if types:
        where.append("list_contains($types, type)")
        params["types"] = list(types)
    return " AND ".join(where), params


def approved_counts(con: duckdb.DuckDBPyConnection, *, targets: Sequence[str] = ()) -> tuple[int, dict[str, int]]:
    """The number of mentions :func:`approved` shows for ``targets``, and of each type, in one query."""
    clause, params = _approved_where(targets, None, None, ())
    rows = con.execute(f"SELECT type, count(*) FROM mentions WHERE {clause} GROUP BY type", params).fetchall()
    by_type = {kind: int(n) for kind, n in rows if kind in TYPES}
    return sum(int(n) for _, n in rows), {kind: by_type[kind] for kind in TYPES if kind in by_type}


def approved_from_host(con: duckdb.DuckDBPyConnection, host: str) -> int:
    """Earlier approved mentions whose source is on ``host`` (a sign of a known, good sender)."""
    (n,) = con.execute(
        "SELECT count(*) FROM mentions WHERE state = 'approved' AND regexp_extract(source, '^[a-z]+://([^/:?#]+)', 1) = ?",
        [host],
    ).fetchall()[0]
    return int(n)


ACTIONS = {"approve": "approved", "spam": "spam", "delete": "deleted", "pending": "pending"}


def moderate(
    con: duckdb.DuckDBPyConnection,
    action: str,
    *,
    ids: Sequence[int] = (),
    domain: str | None = None,
    site: str | None = None,
    now: datetime | None = None,
) -> list[tuple[int, str]]:
    """Approve, mark as spam or delete mentions by id or by source domain.

    Returns (mention_id, event) pairs for the webhooks: ``approved`` or ``deleted``. Deleting by
    domain also blocks the domain (for ``site``, or every site), as webmention.io does, so the
    next mention from it is refused. Ids that name no mention raise
    :class:`~linkback.mentions.NoSuchMention` (with those ``ids``) before anything changes.
    """
    from linkback.mentions._moderation import NoSuchMention, missing_mentions  # noqa: PLC0415
    from linkback.mentions._sites import add_rule  # noqa: PLC0415 - sites imports nothing from here

    if action not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
    if missing := missing_mentions(con, ids):
        raise NoSuchMention(missing)
    now = now or datetime.now(UTC)
    todo = list(ids)
    if domain:
        value = (
            add_rule(con, "block", domain, site=site or "*", note="deleted by domain") if action == "delete" else None
        )
        todo += ids_from_domain(con, value or domain.lower(), site)
    changed = set_state(con, todo, ACTIONS[action], now)
    events = []
    for row in changed:
        if action == "approve":
            events.append((row["mention_id"], "approved"))
        elif action in ("delete", "spam") and row["state"] == "approved":
            events.append((row["mention_id"], "deleted"))
    return events
