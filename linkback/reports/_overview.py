"""The summary card of a target: :func:`overview`; and :func:`refdomain_table`, the referring
domains of a target that the overview page's breakdown, categories and TLD mix are read from."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from linkback.records import LINK_KINDS, SECTIONS
from linkback.reports._changes import TOXICITY_BANDS
from linkback.reports._domains import require_links
from linkback.reports._ranks import DR_BUCKETS, _string_literal, domain_ranks_of, domain_ratings, latest_run
from linkback.reports._select import as_target, fetch_rows, link_where
from linkback.store import Store
from linkback.urls import Target

#: Keys of :func:`overview`, in order.
OVERVIEW_COLUMNS = (
    "target",
    "target_kind",
    "backlinks",
    "referring_pages",
    "referring_hosts",
    "referring_domains",
    "dofollow",
    "dofollow_share",
    "nofollow",
    "ugc",
    "sponsored",
    "noindex",
    *(f"kind_{k}" for k in LINK_KINDS),
    "kind_other",
    *(f"section_{s}" for s in SECTIONS),
    "section_other",
    "first_seen",
    "last_seen",
    "lost",
    "dr",
    "ranked_at",
    *(f"refdomains_dr_{low}_{high}" for low, high in DR_BUCKETS),
    *(f"refdomains_toxicity_{name}" for name, _, _ in TOXICITY_BANDS),
)


def overview(store: Store, target: str | Target, *, internal: bool = False) -> dict[str, Any]:
    """The summary of the links to ``target`` (a domain, host or URL prefix).

    Counts are over live links (external ones, or internal ones with ``internal=True``):
    ``backlinks``, distinct ``referring_pages``/``referring_hosts``/``referring_domains``,
    ``dofollow`` (neither nofollow, ugc nor sponsored, nor on a noindex page) and its
    ``dofollow_share`` (0..1, None without links), the ``nofollow``/``ugc``/``sponsored`` flag
    counts and ``noindex`` (links on pages marked noindex), one ``kind_<kind>`` count
    per link kind (``kind_other`` for none of them), one ``section_<section>`` count per page
    section (``section_other`` for a link with none), the ``first_seen``..``last_seen`` range;
    ``lost`` counts the lost links. From the newest rank run (None before one): ``dr``, the Domain
    Rating of the target's domain, ``ranked_at`` when that run completed, the referring domains by
    DR band, ``refdomains_dr_0_10`` .. ``refdomains_dr_90_100``, and by the toxicity band of
    their score as linkers, ``refdomains_toxicity_clean`` (0), ``_low`` (1–29), ``_medium``
    (30–59) and ``_high`` (60–100).
    """
    return _summary(store, as_target(target), internal=internal, sources=True)


def overview_breakdown(
    store: Store, target: str | Target, *, refdomains: RefdomainTable | None = None
) -> dict[str, Any]:
    """:func:`overview` without its two distinct counts of sources, ``referring_pages`` and
    ``referring_hosts`` (None here): what the dashboard's overview page draws (the link mix and
    the referring domains' bands; its stat cards come from ``trend``). On the most linked domain
    of the bench index those two counts are a million-row hash table each, ≈ 0.8 s of CPU.
    ``refdomains``: ``refdomain_table(store, target)`` already read, the referring domains and
    their bands then counted from it (the same numbers)."""
    tgt = as_target(target)
    if refdomains is not None and refdomains.target != tgt:
        raise ValueError(f"the referring domains given are {refdomains.target.value!r}'s, not {tgt.value!r}'s")
    return _summary(store, tgt, internal=False, sources=False, refdomains=refdomains)


def _summary(
    store: Store, tgt: Target, *, internal: bool, sources: bool, refdomains: RefdomainTable | None = None
) -> dict[str, Any]:
    """:func:`overview`'s row; ``referring_pages`` and ``referring_hosts`` None unless ``sources``;
    the referring domains from ``refdomains`` when given."""
    where, params = link_where(tgt, internal=internal, include_lost=True)
    row = _counts(store, where, params)
    if not row["backlinks"] and not row["lost"]:
        require_links(store, tgt)
    row["referring_pages"] = row["referring_hosts"] = None
    # Distinct counts over 64-bit hashes, not strings: a third faster on a domain with millions
    # of links, and a collision (which would undercount by one) has odds of about n²/2^65. One
    # statement each: DuckDB runs several DISTINCT aggregates of one statement far slower.
    for key, column in (("referring_pages", "source_url"), ("referring_hosts", "source_host")) if sources else ():
        (row[key],) = store.con.execute(
            f"SELECT count(DISTINCT hash({column})) FROM links WHERE {where} AND lost_at IS NULL", params
        ).fetchall()[0]
    row["dofollow_share"] = row["dofollow"] / row["backlinks"] if row["backlinks"] else None
    row["target"] = tgt.value
    row["target_kind"] = tgt.kind
    if refdomains is not None:
        row.update(_referring_domains_of(store, tgt, refdomains))
    else:
        row.update(_referring_domains(store, tgt, where, params, small=row["backlinks"] <= _SMALL))
    return {k: row[k] for k in OVERVIEW_COLUMNS}


#: Up to this many live links, the referring domains' ranks are looked up by name (the rank
#: run's index answers in milliseconds); above, a hash join with the run costs less.
_SMALL = 2000
_FLAGS = ("nofollow", "ugc", "sponsored", "noindex")


def _counts(store: Store, where: str, params: list[Any]) -> dict[str, Any]:
    """The plain counts, from the links grouped by kind, section, flags and liveness: a few
    hundred groups, summed here (a FILTER per count costs more than the grouping)."""
    flags = ", ".join(f"coalesce({f}, false) AS {f}" for f in _FLAGS)
    rows = fetch_rows(
        store.con,
        f"""SELECT kind, section, {flags}, lost_at IS NULL AS live, count(*) AS n,
                   min(first_seen) AS first_seen, max(last_seen) AS last_seen
            FROM links WHERE {where} GROUP BY ALL""",
        params,
    )
    out: dict[str, Any] = dict.fromkeys(
        ["backlinks", "dofollow", *_FLAGS, *(f"kind_{k}" for k in LINK_KINDS), "kind_other",
         *(f"section_{s}" for s in SECTIONS), "section_other", "lost"], 0
    )  # fmt: skip
    out["first_seen"] = out["last_seen"] = None
    for r in rows:
        n = r["n"]
        if not r["live"]:
            out["lost"] += n
            continue
        out["backlinks"] += n
        out["dofollow"] += 0 if any(r[f] for f in _FLAGS) else n
        for f in _FLAGS:
            out[f] += n if r[f] else 0
        out[f"kind_{r['kind']}" if r["kind"] in LINK_KINDS else "kind_other"] += n
        out[f"section_{r['section']}" if r["section"] in SECTIONS else "section_other"] += n
        if r["first_seen"] is not None and (out["first_seen"] is None or r["first_seen"] < out["first_seen"]):
            out["first_seen"] = r["first_seen"]
        if r["last_seen"] is not None and (out["last_seen"] is None or r["last_seen"] > out["last_seen"]):
            out["last_seen"] = r["last_seen"]
    return out


def _referring_domains(store: Store, tgt: Target, where: str, params: list[Any], *, small: bool) -> dict[str, Any]:
    """``referring_domains``, the target domain's DR and its referring domains by DR band and by
    toxicity band in the newest rank run."""
    bands = [f"refdomains_dr_{low}_{high}" for low, high in DR_BUCKETS]
    toxicity = [f"refdomains_toxicity_{name}" for name, _, _ in TOXICITY_BANDS]
    live = f"SELECT {{}} FROM links WHERE {where} AND lost_at IS NULL GROUP BY 1"
    run = latest_run(store.con)
    if run is None:
        sql = f"SELECT count(*) FROM ({live.format('hash(source_domain)')})"
        (count,) = store.con.execute(sql, params).fetchall()[0]
        return {"referring_domains": count, "dr": None, "ranked_at": None, **dict.fromkeys(bands + toxicity)}
    run_id, ranked_at = run
    dr = domain_ratings(store.con, run_id, [tgt.domain]).get(tgt.domain)
    counts = dict.fromkeys(bands + toxicity, 0)

    def add(rating: float | None, score: int | None, n: int = 1) -> None:
        if rating is not None:  # a NaN in the top band, where the SQL below puts it (NaN >= x in DuckDB)
            counts[bands[9 if math.isnan(rating) else min(int(rating // 10), 9)]] += n
        if score is not None:
            counts[next(t for t, (_, _, high) in zip(toxicity, TOXICITY_BANDS) if score < high)] += n

    if small:
        names = [d for (d,) in store.con.execute(live.format("source_domain"), params).fetchall()]
        for rating, score in domain_ranks_of(store.con, run_id, names).values():
            add(rating, score)
        return {"referring_domains": len(names), "dr": dr, "ranked_at": ranked_at, **counts}
    # By hash: the run's names are hashed once here, cheaper than grouping the links by name.
    # Grouped by band in SQL: the ratings are continuous, so grouping by rating returns about a
    # row per referring domain (500 k on the most linked one), each then counted in Python.
    rows = store.con.execute(
        f"""SELECT {_DR_BAND} AS band, r.toxicity, count(*) FROM ({live.format("hash(source_domain) AS d")}) s
        LEFT JOIN (SELECT hash(domain) AS d, dr, toxicity FROM domain_ranks WHERE run_id = ?) r USING (d)
        GROUP BY ALL""",
        [*params, run_id],
    ).fetchall()
    for band, score, n in rows:
        if band is not None:
            counts[bands[band]] += n
        add(None, score, n)
    return {"referring_domains": sum(n for _, _, n in rows), "dr": dr, "ranked_at": ranked_at, **counts}


#: The index in DR_BUCKETS of ``r.dr`` (0–100), by comparisons: exactly ``min(int(dr // 10), 9)``
#: (a float division could round 29.999... up into the next band).
_DR_BAND = (
    "CASE WHEN r.dr IS NOT NULL THEN "
    + " + ".join(f"(r.dr >= {high})::INTEGER" for _, high in DR_BUCKETS[:-1])
    + " END"
)


def _referring_domains_of(store: Store, tgt: Target, table: RefdomainTable) -> dict[str, Any]:
    """What :func:`_referring_domains` counts, from ``table``'s rows (a few hundred groups by band)."""
    bands = [f"refdomains_dr_{low}_{high}" for low, high in DR_BUCKETS]
    toxicity = [f"refdomains_toxicity_{name}" for name, _, _ in TOXICITY_BANDS]
    if table.run is None:
        return {"referring_domains": table.rows.num_rows, "dr": None, "ranked_at": None,
                **dict.fromkeys(bands + toxicity)}  # fmt: skip
    run_id, ranked_at = table.run
    counts = dict.fromkeys(bands + toxicity, 0)
    with table.scan(store) as name:
        rows = store.con.execute(
            f"SELECT {_DR_BAND} AS band, r.toxicity, count(*) FROM {name} r GROUP BY ALL"
        ).fetchall()
    for band, score, n in rows:
        if band is not None:
            counts[bands[band]] += n
        if score is not None:
            counts[next(t for t, (_, _, high) in zip(toxicity, TOXICITY_BANDS) if score < high)] += n
    dr = domain_ratings(store.con, run_id, [tgt.domain]).get(tgt.domain)
    return {"referring_domains": table.rows.num_rows, "dr": dr, "ranked_at": ranked_at, **counts}


@dataclass(frozen=True)
class RefdomainTable:
    """The live links from other sites to ``target``, one Arrow row per referring domain: its
    ``domain`` (the links whose source has no registrable domain are one row, ``domain`` NULL, as
    the reports count them), its ``links`` and its ``dr`` and ``toxicity`` in the rank run ``run``
    (NULL when that run does not know it; ``run`` None before the first run). ``few``: the target
    has at most :data:`_SMALL` such links, so what is read per domain is looked up by name.

    The overview page reads it once and derives its breakdown, categories and TLD mix from it
    (``overview_breakdown(..., refdomains=)``, ``categories_of``, ``tlds_of``): on the most linked
    domain of the bench index each of those reports grouped the same 2.2 M links into the same
    million domains. An Arrow table, not a TEMP table: a TEMP table is its connection's, and the
    page's lanes each have a cursor of their own."""

    target: Target
    run: tuple[int, datetime] | None
    few: bool
    rows: pa.Table = field(repr=False)

    @contextmanager
    def scan(self, store: Store) -> Iterator[str]:
        """A name ``store``'s connection reads :attr:`rows` by, within the block (a view of the
        Arrow table, not a copy)."""
        name = f"_linkback_refdomains_{next(_SCANS)}"
        store.con.register(name, self.rows)
        try:
            yield name
        finally:
            store.con.unregister(name)

    def domain_keys(self) -> str:
        """The domains as an SQL list of literals (``NULL`` for none): for an IN lookup that
        DuckDB answers from a table's index, when :attr:`few`."""
        names = self.rows.column("domain").drop_null().to_pylist()
        return ", ".join(_string_literal(d) for d in names) or "NULL"


_SCANS = itertools.count()


def refdomain_table(store: Store, target: str | Target) -> RefdomainTable:
    """The :class:`RefdomainTable` of ``target`` (a domain, host or URL prefix), read now."""
    tgt = as_target(target)
    where, params = link_where(tgt)
    run = latest_run(store.con)
    (few,) = store.con.execute(
        f"SELECT count(*) <= {_SMALL} FROM (SELECT 1 FROM links WHERE {where} LIMIT {_SMALL + 1})", params
    ).fetchall()[0]
    ranked = "domain_ranks WHERE run_id = ?"
    if few and run is not None:
        # A few domains: their ranks by name from the run's index (milliseconds), not a join with
        # every domain of the run (≈ 0.35 s at 4 M domains).
        names = store.con.execute(f"SELECT DISTINCT source_domain FROM links WHERE {where}", params).fetchall()
        keys = ", ".join(_string_literal(d) for (d,) in names if d is not None) or "NULL"
        ranked += f" AND domain IN ({keys})"
    # Every value is a ? placeholder, in the order the query text names them.
    rows = store.con.sql(
        f"""SELECT g.domain, g.links, r.dr, r.toxicity
        FROM (SELECT source_domain AS domain, count(*) AS links FROM links WHERE {where} GROUP BY source_domain) g
        LEFT JOIN (SELECT domain, dr, toxicity FROM {ranked}) r ON r.domain = g.domain""",
        params=[*params, run[0] if run else None],
    ).to_arrow_table()
    return RefdomainTable(tgt, run, bool(few), rows)
