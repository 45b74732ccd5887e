"""Reports on an imported Common Crawl web graph: ``cc ranks`` and ``cc refdomains``.

Without ``release``, each level's most recently imported release is read: for ``cc ranks`` the
latest that has ranks, for ``cc refdomains`` the latest imported for the target (an import of a
newer release for other domains leaves the target's earlier one in view). Each row names its release.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from linkback.errors import LinkbackError
from linkback.faces import report
from linkback.store import Store
from linkback.urls import split_host

CC_RANK_COLUMNS = ("name", "level", "release", "hc_pos", "hc_val", "pr_pos", "pr_val", "n_hosts")
CC_REFDOMAIN_COLUMNS = (
    "source", "source_domain", "level", "release", "linked", "hc_pos", "hc_val", "pr_pos", "pr_val",
)  # fmt: skip
SORTS = {"hc_pos": "hc_pos ASC NULLS LAST", "pr_pos": "pr_pos ASC NULLS LAST", "source": "source"}


def _name(text: str, level: str) -> str:
    """A domain, host or URL as the graph names it: the host, ``www.`` stripped (as CC does);
    at domain level its registrable domain."""
    host = text.strip().lower().split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].rstrip(".")
    if not host or any(c.isspace() for c in host):
        raise LinkbackError(f"{text!r} is not a domain or host (give one like example.com)")
    if level == "domain":
        return split_host(host).domain
    return host.removeprefix("www.")


def _check_level(level: str | None) -> list[str]:
    if level is not None and level not in ("host", "domain"):
        raise LinkbackError(f"level {level!r}: use host or domain")
    return [level] if level else ["domain", "host"]


def _latest(store: Store, table: str, level: str, release: str | None, target: str | None = None) -> str | None:
    """``release``, else the release of ``table`` at ``level`` imported last (with rows of ``target``)."""
    if release:
        return release
    where = " AND target = ?" if target is not None else ""
    rows = store.con.execute(
        f"SELECT release FROM {table} WHERE level = ?{where} GROUP BY release ORDER BY max(imported_at) DESC, "
        f"release DESC LIMIT 1",
        [level] + ([target] if target is not None else []),
    ).fetchall()
    return rows[0][0] if rows else None


@report(columns=CC_RANK_COLUMNS)
def cc_ranks(
    store: Store, domains: Sequence[str], *, level: str | None = None, release: str | None = None
) -> list[dict[str, Any]]:
    """The Common Crawl web graph ranks of ``domains`` (domains, hosts or URLs): their position
    and value by harmonic centrality and by PageRank, at domain level and at host level (or
    ``level``), in the latest imported release (or ``release``). A name the graph lacks is a row
    without ranks."""
    if not domains:
        raise LinkbackError("name at least one domain")
    rows: list[dict[str, Any]] = []
    for lvl in _check_level(level):
        rel = _latest(store, "cc_ranks", lvl, release)
        if rel is None:
            continue
        for text in domains:
            name = _name(text, lvl)
            found = store.con.execute(
                "SELECT hc_pos, hc_val, pr_pos, pr_val, n_hosts FROM cc_ranks WHERE release = ? AND level = ? "
                "AND name = ? LIMIT 1",
                [rel, lvl, name],
            ).fetchall()
            hc_pos, hc_val, pr_pos, pr_val, n_hosts = found[0] if found else (None,) * 5
            rows.append(
                {"name": name, "level": lvl, "release": rel, "hc_pos": hc_pos, "hc_val": hc_val, "pr_pos": pr_pos,
                 "pr_val": pr_val, "n_hosts": n_hosts}
            )  # fmt: skip
    return rows


@report(columns=CC_REFDOMAIN_COLUMNS)
def cc_refdomains(
    store: Store,
    target: str,
    *,
    level: str | None = None,
    release: str | None = None,
    sort: str = "hc_pos",
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The hosts or domains linking to ``target`` (a domain ``cc graph import`` kept the edges
    of) in the Common Crawl web graph, with their own ranks there; the domain level first (or
    ``level``), the release last imported for ``target`` (or ``release``). ``sort``: ``hc_pos``
    (most central first), ``pr_pos`` or ``source``."""
    if sort not in SORTS:
        raise LinkbackError(f"sort {sort!r}: use one of {', '.join(SORTS)}")
    if limit is not None and limit < 0:
        raise LinkbackError("the limit cannot be negative")
    domain = _name(target, "domain")
    for lvl in _check_level(level):
        rel = _latest(store, "cc_refdomains", lvl, release, domain)
        if rel is None:
            continue
        rows = store.con.execute(
            f"""
            SELECT r.source, any_value(r.source_domain) AS source_domain, string_agg(DISTINCT r.target_name, ' '
                   ORDER BY r.target_name) AS linked, any_value(k.hc_pos) AS hc_pos, any_value(k.hc_val) AS hc_val,
                   any_value(k.pr_pos) AS pr_pos, any_value(k.pr_val) AS pr_val
            FROM cc_refdomains r
            LEFT JOIN cc_ranks k ON k.release = r.release AND k.level = r.level AND k.name = r.source
            WHERE r.release = ? AND r.level = ? AND r.target = ?
            GROUP BY r.source
            ORDER BY {SORTS[sort]}, r.source
            {"LIMIT ?" if limit is not None else ""}
            """,
            [rel, lvl, domain] + ([limit] if limit is not None else []),
        ).fetchall()
        if rows or level is not None:
            return [
                {"source": s, "source_domain": sd, "level": lvl, "release": rel, "linked": linked, "hc_pos": hp,
                 "hc_val": hv, "pr_pos": pp, "pr_val": pv}
                for s, sd, linked, hp, hv, pp, pv in rows
            ]  # fmt: skip
    return []
