"""The summary card of a target: :func:`overview`."""

from __future__ import annotations

from typing import Any

from linkback.records import LINK_KINDS, SECTIONS
from linkback.reports._changes import TOXICITY_BANDS
from linkback.reports._domains import require_links
from linkback.reports._ranks import DR_BUCKETS, domain_ranks_of, domain_ratings, latest_run
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
    tgt = as_target(target)
    where, params = link_where(tgt, internal=internal, include_lost=True)
    row = _counts(store, where, params)
    if not row["backlinks"] and not row["lost"]:
        require_links(store, tgt)
    # Distinct counts over 64-bit hashes, not strings: a third faster on a domain with millions
    # of links, and a collision (which would undercount by one) has odds of about n²/2^65. One
    # statement each: DuckDB runs several DISTINCT aggregates of one statement far slower.
    for key, column in (("referring_pages", "source_url"), ("referring_hosts", "source_host")):
        (row[key],) = store.con.execute(
            f"SELECT count(DISTINCT hash({column})) FROM links WHERE {where} AND lost_at IS NULL", params
        ).fetchall()[0]
    row["dofollow_share"] = row["dofollow"] / row["backlinks"] if row["backlinks"] else None
    row["target"] = tgt.value
    row["target_kind"] = tgt.kind
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
        if rating is not None:
            counts[bands[min(int(rating // 10), 9)]] += n
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
_DR_BAND = "CASE WHEN r.dr IS NOT NULL THEN " + " + ".join(
    f"(r.dr >= {high})::INTEGER" for _, high in DR_BUCKETS[:-1]
) + " END"
