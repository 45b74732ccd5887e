"""The ledger in the store: adding links, filling it from what linkback knows, reading what is
due, and writing the results of checks (each a :meth:`~linkback.store.Store.write`).

A ledger link is a source page and a target: a page of the user's site (``target_url``) or, for
a claim that names only the site, any page of it (``target_url`` empty, ``target_host`` the
site). ``link_key`` (a hash of both) keeps each once, whichever way it came in:

* ``added``: ``linkback monitor add``;
* ``claim``: an imported claim of level ``link`` (a "links I track" sheet brings its expected
  anchor and follow, notes and tags);
* ``mention``: a received Webmention, Pingback, TrackBack or Refback that was verified or approved;
* ``index``: a live link in the index (text or image, from another site) to one of the user's
  sites: those given, or every site of the ``sites`` table.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from linkback import schema
from linkback.errors import LinkbackError, URLError
from linkback.monitor._verdict import LinkState, Observation, Step
from linkback.urls import Target, host_of, normalize, parse_target, split_host

if TYPE_CHECKING:
    import duckdb

    from linkback.store import Store

ORIGINS = ("added", "claim", "mention", "index")
#: Link kinds of the index a ledger follows: the links a reader clicks.
INDEX_KINDS = ("text", "image")


class NoSuchLink(LinkbackError, ValueError):
    """A ledger link id that names no link."""

    http_status = 404


def tag_words(tags: str | None) -> str | None:
    """Tags as the ledger keeps them: words separated by one space (commas read as spaces)."""
    return " ".join((tags or "").replace(",", " ").split()) or None


def link_key(source_url: str, target_url: str | None, target_host: str) -> int:
    """A ledger link's identity as a signed 64-bit number: its source and its target page (or
    ``site:HOST`` for any page of a site)."""
    target = target_url or f"site:{target_host}"
    digest = hashlib.blake2b(f"{source_url}\x1f{target}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


@dataclass(frozen=True)
class LinkTask:
    """A ledger link to check: its identity, its target and its state before the check."""

    link_id: int
    source_url: str
    target_url: str | None
    target_host: str
    target_domain: str
    state: LinkState


@dataclass
class LinkResult:
    """A link's check: each observation of its page and the step it led to."""

    link: LinkTask
    steps: list[tuple[Observation, Step]]
    #: False when a confirming fetch of the link's page follows in the same run.
    final: bool = True


# --- adding --------------------------------------------------------------------------------------


def split_target(target: str) -> tuple[str | None, str, str, str]:
    """``(target_url, target_host, target_domain, target_rhost)`` of a TARGET_URL: a URL of a
    page, or a bare host or domain for any page of that site. Raises URLError naming the problem."""
    text = (target or "").strip()
    if "://" in text:
        url = normalize(text).split("#", 1)[0]
        parts = split_host(host_of(url))
        return url, parts.host, parts.domain, parts.rhost
    try:
        parsed = parse_target(text)
    except ValueError as exc:
        raise URLError(f"target {target!r}: give a page URL (https://example.com/page) or a site ({exc})") from None
    if parsed.kind == "url_prefix":
        raise URLError(f"target {target!r}: give a page URL with its scheme, or a bare site such as example.com")
    return None, parsed.value, parsed.domain, parsed.rhost


def source_of(source: str) -> tuple[str, str, str]:
    """``(source_url, source_host, source_domain)`` of a SOURCE_URL; URLError when it is not one."""
    url = normalize((source or "").strip()).split("#", 1)[0]
    parts = split_host(host_of(url))
    return url, parts.host, parts.domain


@dataclass
class _Candidate:
    source_url: str
    target_url: str | None
    target_host: str
    origin: str
    expected_anchor: str | None = None
    expected_follow: bool | None = None
    notes: str | None = None
    tags: str | None = None


def _ledger_rows(candidates: Iterable[_Candidate], now: datetime) -> pa.Table:
    """Candidates as ledger rows (ids left to the insert); the first of each key wins."""
    seen: dict[int, dict[str, Any]] = {}
    for c in candidates:
        key = link_key(c.source_url, c.target_url, c.target_host)
        if key in seen:
            continue
        source = split_host(host_of(c.source_url))
        target = split_host(c.target_host)
        seen[key] = {
            "ord": len(seen), "link_key": key, "source_url": c.source_url, "source_host": source.host,
            "source_domain": source.domain, "target_url": c.target_url, "target_host": target.host,
            "target_domain": target.domain, "target_rhost": target.rhost, "origin": c.origin,
            "expected_anchor": c.expected_anchor, "expected_follow": c.expected_follow, "notes": c.notes,
            "tags": c.tags, "added_at": now,
        }  # fmt: skip
    fields = [pa.field("ord", pa.int64())] + [schema.LEDGER.field(n) for n in list(_ROW_COLUMNS)]
    return pa.Table.from_pylist(list(seen.values()), schema=pa.schema(fields))


_ROW_COLUMNS = (
    "link_key", "source_url", "source_host", "source_domain", "target_url", "target_host", "target_domain",
    "target_rhost", "origin", "expected_anchor", "expected_follow", "notes", "tags", "added_at",
)  # fmt: skip


def insert_candidates(
    con: duckdb.DuckDBPyConnection, candidates: Iterable[_Candidate], now: datetime
) -> dict[str, int]:
    """Add the candidates the ledger does not hold (inside a write); counts by origin of the new
    ones. A tracked claim's expectations, notes and tags fill those a link already held lacks."""
    table = _ledger_rows(candidates, now)
    if table.num_rows == 0:
        return {}
    con.register("_monitor_new_links", table)
    try:
        cols = ", ".join(_ROW_COLUMNS)
        added = con.execute(
            f"""INSERT INTO ledger (link_id, {cols}, failures, pending, interval_days, paused)
            SELECT nextval('link_id_seq'), {cols}, 0, '', 1.0, false FROM (
              SELECT * FROM _monitor_new_links n WHERE NOT EXISTS (SELECT 1 FROM ledger l WHERE l.link_key = n.link_key)
              ORDER BY ord)
            RETURNING origin"""
        ).fetchall()
        con.execute(
            """UPDATE ledger SET expected_anchor = coalesce(ledger.expected_anchor, n.expected_anchor),
                 expected_follow = coalesce(ledger.expected_follow, n.expected_follow),
                 notes = coalesce(nullif(ledger.notes, ''), n.notes), tags = coalesce(nullif(ledger.tags, ''), n.tags)
               FROM _monitor_new_links n
               WHERE ledger.link_key = n.link_key AND ledger.added_at < n.added_at AND (n.expected_anchor IS NOT NULL
                 OR n.expected_follow IS NOT NULL OR n.notes IS NOT NULL OR n.tags IS NOT NULL)"""
        )
    finally:
        con.unregister("_monitor_new_links")
    counts: dict[str, int] = {}
    for (origin,) in added:
        counts[origin] = counts.get(origin, 0) + 1
    return counts


def add_link(
    store: Store,
    source: str,
    target: str,
    *,
    anchor: str | None = None,
    follow: bool | None = None,
    note: str | None = None,
    tags: str | None = None,
) -> dict[str, Any]:
    """Put one link in the ledger (or give the one held its new expectations, notes and tags);
    its row, with ``added`` False when it was there already."""
    source_url, _, _ = source_of(source)
    target_url, target_host, _, _ = split_target(target)
    if source_url == target_url:
        raise URLError(f"{source_url} links to itself: give the page that links and the page it links to")
    tag_text = tag_words(tags)
    key = link_key(source_url, target_url, target_host)

    def write(store: Store) -> dict[str, Any]:
        counts = insert_candidates(
            store.con, [_Candidate(source_url, target_url, target_host, "added", anchor or None, follow, note, tag_text)],
            datetime.now(UTC),
        )  # fmt: skip
        if not counts:
            sets = {"expected_anchor": anchor, "expected_follow": follow, "notes": note, "tags": tag_text}
            given = {k: v for k, v in sets.items() if v is not None}
            assignments = ", ".join(f"{k} = ?" for k in given)
            store.con.execute(
                f"UPDATE ledger SET {assignments + ', ' if given else ''}paused = false WHERE link_key = ?",
                [*given.values(), key],
            )
        return {"added": bool(counts), **ledger_row(store.con, key=key)}

    return store.write(write)


def ledger_row(con: duckdb.DuckDBPyConnection, *, key: int | None = None, link_id: int | None = None) -> dict[str, Any]:
    """One ledger row by key or id; NoSuchLink when there is none."""
    column, value = ("link_key", key) if key is not None else ("link_id", link_id)
    cur = con.execute(f"SELECT * EXCLUDE (link_key) FROM ledger WHERE {column} = ?", [value])
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    if not rows:
        raise NoSuchLink(f"no ledger link {value}: 'linkback monitor list' shows them")
    return dict(zip(names, rows[0]))


# --- filling it from claims, mentions and the index -------------------------------------------------


def _matches(target: Target, url: str) -> bool:
    host = host_of(url)
    if target.kind == "domain":
        return split_host(host).domain == target.domain
    if target.kind == "host":
        return host == target.value
    return any(url.startswith(p) for p in target.prefixes())


def _target_sql(target: Target | None, alias: str) -> tuple[str, list[Any]]:
    if target is None:
        return "true", []
    from linkback.reports._select import target_clauses  # noqa: PLC0415

    clauses, params = target_clauses(target)
    return " AND ".join(f"{alias}.{c}" for c in clauses), params


def _from_claims(con: duckdb.DuckDBPyConnection, target: Target | None) -> list[_Candidate]:
    where, params = _target_sql(target, "c")
    rows = con.execute(
        f"""SELECT source_url, target_url, target_host, via, anchor, nofollow, notes, tags FROM claims c
        WHERE level = 'link' AND source_url IS NOT NULL AND coalesce(target_url, target_host) IS NOT NULL AND {where}
        ORDER BY claim_id""",
        params,
    ).fetchall()
    out = []
    for source_url, target_url, target_host, via, anchor, nofollow, notes, tags in rows:
        tracked = via == "tracked"
        out.append(
            _Candidate(
                source_url,
                target_url,
                target_host or host_of(target_url),
                "claim",
                expected_anchor=(anchor or None) if tracked else None,
                expected_follow=(None if nofollow is None else not nofollow) if tracked else None,
                notes=notes or None,
                tags=tag_words(tags),
            )  # fmt: skip
        )
    return out


def _from_mentions(con: duckdb.DuckDBPyConnection, target: Target | None) -> tuple[list[_Candidate], int]:
    rows = con.execute(
        """SELECT source, target FROM mentions
        WHERE (state = 'approved' OR status = 'verified') AND state NOT IN ('spam', 'deleted') ORDER BY mention_id"""
    ).fetchall()
    out, refused = [], 0
    for source, target_url in rows:
        try:
            source_url = normalize(source).split("#", 1)[0]
            target_norm = normalize(target_url).split("#", 1)[0]
        except URLError:
            refused += 1  # a source as sent that is not a URL linkback can fetch
            continue
        if target is None or _matches(target, target_norm):
            out.append(_Candidate(source_url, target_norm, host_of(target_norm), "mention"))
    return out, refused


def _from_index(con: duckdb.DuckDBPyConnection, targets: Sequence[Target]) -> list[_Candidate]:
    out: list[_Candidate] = []
    for target in targets:
        where, params = _target_sql(target, "l")
        kinds = ", ".join(f"'{k}'" for k in INDEX_KINDS)
        rows = con.execute(
            f"""SELECT source_url, target_url, min(first_seen) AS first FROM links l
            WHERE {where} AND l.lost_at IS NULL AND NOT coalesce(l.internal, false) AND l.kind IN ({kinds})
              -- a link the ledger keeps as "this page links to the site" is that link already
              AND NOT EXISTS (SELECT 1 FROM ledger g WHERE g.source_url = l.source_url AND g.target_url IS NULL
                              AND g.target_host IN (l.target_host, l.target_domain))
            GROUP BY source_url, target_url ORDER BY first, source_url, target_url""",
            params,
        ).fetchall()
        out += [_Candidate(s, t, host_of(t), "index") for s, t, _ in rows]
    return out


def site_targets(con: duckdb.DuckDBPyConnection) -> tuple[list[Target], list[str]]:
    """The ``sites`` table as targets, and the entries that are not one."""
    targets, bad = [], []
    for (site,) in con.execute("SELECT site FROM sites ORDER BY site").fetchall():
        try:
            targets.append(parse_target(site))
        except ValueError:
            bad.append(site)
    return targets, bad


def sync(store: Store, site: str | None = None) -> dict[str, Any]:
    """Fill the ledger from claims, mentions and the index (one write); what it added by origin."""
    target = parse_target(site) if site else None

    def write(store: Store) -> dict[str, Any]:
        con = store.con
        claims = _from_claims(con, target)
        mentions, refused = _from_mentions(con, target)
        if target is not None:
            targets, bad = [target], list[str]()
        else:
            targets, bad = site_targets(con)
        index = _from_index(con, targets)
        counts = insert_candidates(con, [*claims, *mentions, *index], datetime.now(UTC))
        found = {"claim": len(claims), "mention": len(mentions), "index": len(index)}
        return {
            "site": site or "",
            "sites": [t.value for t in targets],
            "found": found,
            "added": {o: counts.get(o, 0) for o in ("claim", "mention", "index")},
            "total_added": sum(counts.values()),
            "refused": {"mention_urls": refused, "sites": bad},
            "ledger": int(con.execute("SELECT count(*) FROM ledger").fetchall()[0][0]),
        }

    return store.write(write)


def set_paused(store: Store, ids: Sequence[int], paused: bool) -> dict[str, Any]:
    """Pause (or resume) the checks of these links; every id must name one."""
    wanted = list(dict.fromkeys(int(i) for i in ids))
    if not wanted:
        raise ValueError("give ledger link ids ('linkback monitor list' shows them)")

    def write(store: Store) -> dict[str, Any]:
        known = {
            r[0]
            for r in store.con.execute(
                "SELECT link_id FROM ledger WHERE list_contains(?, link_id)", [wanted]
            ).fetchall()
        }
        missing = [i for i in wanted if i not in known]
        if missing:
            raise NoSuchLink(f"no ledger link {', '.join(map(str, missing))}: 'linkback monitor list' shows them")
        changed = store.con.execute(
            "UPDATE ledger SET paused = ? WHERE list_contains(?, link_id) AND coalesce(paused, false) <> ? RETURNING link_id",
            [paused, wanted, paused],
        ).fetchall()
        return {"paused": paused, "ids": wanted, "changed": len(changed)}

    return store.write(write)


# --- what is due, and the results ----------------------------------------------------------------

_STATE_COLUMNS = (
    "verdict", "reason", "anchor", "rel", "nofollow", "section", "found_in", "failures", "pending", "interval_days",
    "first_checked_at", "checked_at", "changed_at", "live_since", "next_check_at", "expected_anchor", "expected_follow",
)  # fmt: skip


def due_links(
    con: duckdb.DuckDBPyConnection,
    now: datetime,
    *,
    ids: Sequence[int] | None = None,
    all_links: bool = False,
    limit: int | None = None,
) -> list[LinkTask]:
    """The links to check: those named (paused or not; NoSuchLink for an id that names none),
    or every unpaused one with ``all_links``, or the unpaused ones whose check is due; the
    most overdue first."""
    params: list[Any] = []
    if ids:
        wanted = list(dict.fromkeys(int(i) for i in ids))
        where, params = "list_contains(?, link_id)", [wanted]
    elif all_links:
        where = "NOT coalesce(paused, false)"
    else:
        where, params = "NOT coalesce(paused, false) AND (next_check_at IS NULL OR next_check_at <= ?)", [now]
    limit_sql = "" if limit is None else f" LIMIT {max(int(limit), 0)}"
    cur = con.execute(
        f"""SELECT link_id, source_url, target_url, target_host, target_domain, {", ".join(_STATE_COLUMNS)}
        FROM ledger WHERE {where} ORDER BY next_check_at NULLS FIRST, link_id{limit_sql}""",
        params,
    )
    names = [d[0] for d in cur.description]
    tasks = []
    for row in cur.fetchall():
        r = dict(zip(names, row))
        state = LinkState(
            verdict=r["verdict"], reason=r["reason"] or "", anchor=r["anchor"], rel=r["rel"] or "",
            nofollow=r["nofollow"], section=r["section"] or "", found_in=r["found_in"] or "",
            failures=int(r["failures"] or 0), pending=r["pending"] or "", interval_days=float(r["interval_days"] or 1.0),
            first_checked_at=r["first_checked_at"], checked_at=r["checked_at"], changed_at=r["changed_at"],
            live_since=r["live_since"], next_check_at=r["next_check_at"], expected_anchor=r["expected_anchor"],
            expected_follow=r["expected_follow"],
        )  # fmt: skip
        tasks.append(
            LinkTask(r["link_id"], r["source_url"], r["target_url"], r["target_host"], r["target_domain"], state)
        )
    if ids:
        missing = sorted(set(int(i) for i in ids) - {t.link_id for t in tasks})
        if missing:
            raise NoSuchLink(f"no ledger link {', '.join(map(str, missing))}: 'linkback monitor list' shows them")
    return tasks


def any_due(con: duckdb.DuckDBPyConnection, now: datetime) -> bool:
    """Is any unpaused ledger link due for a check?"""
    rows = con.execute(
        "SELECT 1 FROM ledger WHERE NOT coalesce(paused, false) AND (next_check_at IS NULL OR next_check_at <= ?) LIMIT 1",
        [now],
    ).fetchall()
    return bool(rows)


_CHECK_COLUMNS = schema.LINK_CHECKS.names


def _check_row(check_id: int, link_id: int, obs: Observation, step: Step) -> dict[str, Any]:
    return {
        "check_id": check_id, "link_id": link_id, "checked_at": obs.checked_at, "status": obs.status,
        "redirects": json.dumps([{"url": u, "status": s} for u, s in obs.redirects]), "final_url": obs.final_url or None,
        "ip": obs.ip or None, "canonical": obs.canonical or None, "noindex": obs.noindex if not obs.error else None,
        "found": obs.found if not obs.error else None, "found_in": obs.found_in, "rendered": obs.rendered,
        "anchor": obs.anchor if obs.found else None, "rel": obs.rel if obs.found else None,
        "nofollow": obs.nofollow if obs.found else None, "section": obs.section if obs.found else None,
        "error": obs.error, "detail": obs.detail, "render_note": obs.render_note,
        "warc_path": obs.warc_path or None, "warc_offset": obs.warc_offset, "verdict": step.state.verdict,
        "reason": step.state.reason, "changes": json.dumps(step.changes, ensure_ascii=False, default=str),
    }  # fmt: skip


def _state_row(result: LinkResult) -> dict[str, Any]:
    state = result.steps[-1][1].state
    if not result.final:
        # Its confirming fetch is still to come in this run. Should the run end first (kill -9,
        # a crash, a host that asked to wait), the link is due at the next run, not a day later.
        state = replace(state, next_check_at=state.checked_at)
    row = {name: getattr(state, name) for name in _STATE_COLUMNS if name not in ("expected_anchor", "expected_follow")}
    return {"link_id": result.link.link_id, "source_url": result.link.source_url, "target_url": result.link.target_url,
            "target_host": result.link.target_host, **row}  # fmt: skip


def apply_results(store: Store, results: Sequence[LinkResult]) -> int:
    """Store checks (one write): a ``link_checks`` row per observation, each link's new state in
    ``ledger``, and the verdict on the claims it came from. The number of checks stored."""
    merged: dict[int, LinkResult] = {}
    for r in results:  # a first fetch and its confirmation may come in one batch: one ledger update
        before = merged.get(r.link.link_id)
        merged[r.link.link_id] = r if before is None else LinkResult(before.link, before.steps + r.steps, r.final)
    results = [r for r in merged.values() if r.steps]
    if not results:
        return 0

    def write(store: Store) -> int:
        con = store.con
        n = sum(len(r.steps) for r in results)
        ids = iter(store.next_ids("check_id_seq", n))
        checks = [_check_row(next(ids), r.link.link_id, obs, step) for r in results for obs, step in r.steps]
        check_table = pa.Table.from_pylist(checks, schema=schema.LINK_CHECKS)
        state_fields = [schema.LEDGER.field(n) for n in ("link_id", "source_url", "target_url", "target_host")]
        state_fields += [
            schema.LEDGER.field(n) for n in _STATE_COLUMNS if n not in ("expected_anchor", "expected_follow")
        ]
        states = pa.Table.from_pylist([_state_row(r) for r in results], schema=pa.schema(state_fields))
        con.register("_monitor_checks", check_table)
        con.register("_monitor_states", states)
        try:
            con.execute(f"INSERT INTO link_checks ({', '.join(_CHECK_COLUMNS)}) SELECT * FROM _monitor_checks")
            updated = [
                n for n in states.column_names if n not in ("link_id", "source_url", "target_url", "target_host")
            ]
            assignments = ", ".join(f"{n} = s.{n}" for n in updated)
            con.execute(f"UPDATE ledger SET {assignments} FROM _monitor_states s WHERE ledger.link_id = s.link_id")
            con.execute(
                """UPDATE claims SET checked_at = s.checked_at, verdict = s.verdict FROM _monitor_states s
                WHERE claims.level = 'link' AND claims.source_url = s.source_url AND (claims.target_url = s.target_url
                  OR (claims.target_url IS NULL AND s.target_url IS NULL AND claims.target_host = s.target_host))"""
            )
        finally:
            con.unregister("_monitor_checks")
            con.unregister("_monitor_states")
        return n

    return store.write(write)
