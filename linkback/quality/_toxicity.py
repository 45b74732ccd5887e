"""Toxicity: a 0–100 score and the signals that fired, for every domain and every backlink.

* :func:`score_domains` scores every domain of a rank run as a *linker* (the domain-level signals
  of :data:`~linkback.quality._signals.SIGNALS`) and stores it in ``domain_ranks``.
* :func:`toxic_links` scores the live backlinks of a target: the source domain's stored signals
  plus the link-level ones, which depend on the target (sitewide, anchors, exchanges, topic).
* :func:`toxic_domains` is the same per referring domain: its worst link and every signal.

The allow and deny lists (``quality_lists``) override the signals: the most specific matching
entry wins (a URL over a host over its domain; deny on a tie), allow scoring 0 (``allowed``) and
deny 100 (``denied``). ``score_domains`` applies the domain entries as they are when the run is
made; the link reports read the lists as they are now. See docs/toxicity.md.
"""

from __future__ import annotations

import re
from typing import Any

import duckdb

from linkback.errors import StoreError
from linkback.faces import report
from linkback.quality._anchors import AnchorProfile, classify_anchor
from linkback.quality._evidence import HTML, PAGE_OK, THIN, DomainFacts, LinkFacts, domain_facts, reasons
from linkback.quality._linksql import LINKS, exchanges, execute, scored_sql, target_category, topic
from linkback.quality._signals import (
    ALLOWED,
    BITS,
    DENIED,
    DOMAIN_SIGNALS,
    FULL_EVIDENCE_PAGES,
    IDENTICAL_ANCHOR_MIN_PAGES,
    LINK_FARM_MIN_DOMAINS_PER_PAGE,
    LINK_FARM_MIN_LINKED_DOMAINS,
    LINK_FARM_MIN_PAGES,
    LINK_SIGNALS,
    LOW_TRUST_MIN_DR,
    LOW_TRUST_RATIO,
    OFF_TOPIC_MIN_CATEGORY_CONFIDENCE,
    OFF_TOPIC_MIN_TARGET_PAGES,
    PAGE_SIGNALS,
    SITEWIDE_MIN_PAGES,
    SPAM_NEIGHBOUR_MIN_ANTI_TRUST,
    SPAM_TLDS,
    SPAMMY_MIN_DIGITS,
    SPAMMY_MIN_HYPHENS,
    SPAMMY_MIN_LENGTH,
    TEMPLATE_SECTIONS,
    THIN_MAX_INTERNAL_LINKS,
    THIN_MIN_PAGES,
    THIN_MIN_SHARE,
    WEIGHTS,
    Lists,
    domain_entries,
    has_commercial_term,
    keep_table,
    names_of,
    read_lists,
    score_table,
    title_params,
)
from linkback.reports._ranks import latest_run
from linkback.reports._select import DOFOLLOW, as_target, check_limit, link_where
from linkback.store import Store
from linkback.urls import Target

NO_RUN = "no rank run yet: run 'linkback rank' first"

# --- domain-level signals ----------------------------------------------------------------------

# The signals read from the row itself (``{r}`` is the row's table prefix). The name rules are one
# regex over the registrable domain each: several string functions per name cost three times as
# much on five million names. No TLD ends in a digit, so that excludes IPv4 addresses.
_ROW_FLAGS = {
    "spam_tld": "regexp_matches({r}domain, $tld_pattern)",
    "spammy_name": "regexp_matches({r}domain, $name_pattern) AND NOT starts_with({r}domain, 'xn--')"
    " AND NOT starts_with({r}domain, '[') AND NOT right({r}domain, 1) BETWEEN '0' AND '9'",
    "low_trust": "$seeded AND {r}dr >= $trust_min_dr AND coalesce({r}trust, 0) < $trust_ratio * {r}dr",
    "spam_neighbour": "coalesce({r}anti_trust, 0) >= $anti_trust",
}
# The signals that need the ``pages`` table fire for few domains: they are found first, with the
# list verdicts, into TEMP table ``_toxicity_marks(domain, bits, verdict)``, then applied to those
# rows only. (An UPDATE ... FROM a join over all five million rows costs more than everything else.)
_MARKS = "_toxicity_marks"
assert {*_ROW_FLAGS, *PAGE_SIGNALS} == {s.name for s in DOMAIN_SIGNALS}


def _row_bits(prefix: str) -> str:
    return " | ".join(
        f"CASE WHEN coalesce({sql.format(r=prefix)}, false) THEN $bit_{name} ELSE 0 END"
        for name, sql in _ROW_FLAGS.items()
    )


def _domain_params(con: duckdb.DuckDBPyConnection, run_id: int) -> dict[str, Any]:
    (seeded,) = con.execute(
        "SELECT coalesce(max(trust), 0) > 0 FROM domain_ranks WHERE run_id = ?", [run_id]
    ).fetchall()[0]
    exact, suffixes = domain_entries(read_lists(con))
    return {
        "run_id": run_id,
        "tox": list(score_table()[: 1 << len(DOMAIN_SIGNALS)]),
        "sig": [" ".join(names_of(mask)) for mask in range(1 << len(DOMAIN_SIGNALS))],
        **{f"bit_{s.name}": BITS[s.name] for s in DOMAIN_SIGNALS},
        "keep": list(keep_table(DOMAIN_SIGNALS)),
        "farm_domains": LINK_FARM_MIN_LINKED_DOMAINS,
        "farm_per_page": LINK_FARM_MIN_DOMAINS_PER_PAGE,
        "farm_pages": LINK_FARM_MIN_PAGES,
        "w_link_farm": WEIGHTS["link_farm"],
        "w_thin_page": WEIGHTS["thin_page"],
        "full_pages": float(FULL_EVIDENCE_PAGES),
        "tld_pattern": r"\.(?:" + "|".join(re.escape(t) for t in sorted(SPAM_TLDS)) + ")$",
        "name_pattern": f"^(?:(?:[^.0-9]*[0-9]){{{SPAMMY_MIN_DIGITS}}}|(?:[^.-]*-){{{SPAMMY_MIN_HYPHENS}}}"
        f"|[^.]{{{SPAMMY_MIN_LENGTH}}})",
        "seeded": bool(seeded),
        "trust_min_dr": LOW_TRUST_MIN_DR,
        "trust_ratio": LOW_TRUST_RATIO,
        "thin_internal": THIN_MAX_INTERNAL_LINKS,
        "thin_share": THIN_MIN_SHARE,
        "thin_pages": THIN_MIN_PAGES,
        "anti_trust": SPAM_NEIGHBOUR_MIN_ANTI_TRUST,
        "allowed": ALLOWED,
        "denied": DENIED,
        "exact_entries": list(exact),
        "exact_verdicts": list(exact.values()),
        "suffix_entries": list(suffixes),
        "suffix_verdicts": list(suffixes.values()),
    }


_MARK_SQL = f"""
CREATE OR REPLACE TEMP TABLE {_MARKS} AS
WITH d AS (SELECT domain, linked_domains FROM domain_ranks WHERE run_id = $run_id),
farm AS (SELECT domain, linked_domains FROM d WHERE linked_domains >= $farm_domains),
counted AS (
  SELECT domain, count(*) AS pages, count(*) FILTER (WHERE {THIN}) AS thin
  FROM pages WHERE {PAGE_OK} AND {HTML} GROUP BY domain
),
exact AS (SELECT unnest($exact_entries::VARCHAR[]) AS entry, unnest($exact_verdicts::VARCHAR[]) AS verdict),
suffix AS (SELECT unnest($suffix_entries::VARCHAR[]) AS entry, unnest($suffix_verdicts::VARCHAR[]) AS verdict),
marks AS (  -- keep: 1 - weight * strength, the part of the score a page-based signal leaves
  SELECT f.domain, $bit_link_farm AS bits, 1 - $w_link_farm * least(1.0, c.pages / $full_pages) AS keep,
         NULL AS verdict, 0 AS specific
  FROM farm f JOIN counted c ON c.domain = f.domain
  WHERE c.pages >= $farm_pages AND f.linked_domains >= $farm_per_page * c.pages
  UNION ALL
  SELECT domain, $bit_thin_page, 1 - $w_thin_page * least(1.0, pages / $full_pages), NULL, 0
  FROM counted WHERE pages >= $thin_pages AND thin >= $thin_share * pages
  UNION ALL
  SELECT entry, 0, 1.0, verdict, length(entry) FROM exact
  UNION ALL
  SELECT d.domain, 0, 1.0, s.verdict, length(s.entry) FROM d JOIN suffix s ON ends_with(d.domain, '.' || s.entry)
)
SELECT domain, bit_or(bits) AS bits, product(keep) AS keep,
       arg_max(verdict, specific) FILTER (WHERE verdict IS NOT NULL) AS verdict
FROM marks GROUP BY domain"""


def score_domains(con: duckdb.DuckDBPyConnection, run_id: int) -> None:
    """Set ``toxicity`` and ``signals`` of every ``domain_ranks`` row of ``run_id``.

    Runs in the caller's transaction, if any. The domain-level signals read the run's DR, trust,
    anti-trust and linked-domain counts, and the ``pages`` table for page counts and thin pages
    (which weigh by how many pages there are: :func:`~linkback.quality._signals.evidence_strength`).
    Low trust needs trust seeds: it fires only when some domain of the run has trust.
    """
    params = _domain_params(con, run_id)
    try:
        execute(con, _MARK_SQL, params)
        row_bits = _row_bits("")
        execute(
            con,
            f"UPDATE domain_ranks SET toxicity = $tox[({row_bits}) + 1], signals = $sig[({row_bits}) + 1]"
            " WHERE run_id = $run_id",
            params,
        )
        mask = f"(({_row_bits('r.')}) | m.bits) + 1"
        rows = f"({_row_bits('r.')}) + 1"
        execute(
            con,
            f"""
UPDATE domain_ranks AS r
SET toxicity = CASE m.verdict WHEN 'deny' THEN 100 WHEN 'allow' THEN 0
                 ELSE floor(100 * (1 - $keep[{rows}] * m.keep) + 0.5) END,
    signals = CASE m.verdict WHEN 'deny' THEN $denied WHEN 'allow' THEN $allowed ELSE $sig[{mask}] END
FROM {_MARKS} AS m
WHERE r.run_id = $run_id AND r.domain = m.domain""",
            params,
        )
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_MARKS}")


# --- link-level signals ------------------------------------------------------------------------


def _names(mask: int | None, verdict: str | None = None) -> list[str]:
    if verdict is not None:
        return [DENIED if verdict == "deny" else ALLOWED]
    return names_of(mask or 0)


def _run(con: duckdb.DuckDBPyConnection, run_id: int | None) -> int:
    if run_id is None:
        newest = latest_run(con)
        if newest is None:
            raise StoreError(NO_RUN)
        return newest[0]
    rows = con.execute("SELECT 1 FROM rank_runs WHERE run_id = ? AND completed_at IS NOT NULL", [run_id]).fetchall()
    if not rows:
        raise StoreError(f"no completed rank run {run_id}")
    return run_id


def _profile(con: duckdb.DuckDBPyConnection, target: Target) -> AnchorProfile:
    """The target's default brand plus its ``site_profiles`` terms (its own row, else its domain's)."""
    rows = con.execute(
        "SELECT brands, keywords FROM site_profiles WHERE site IN (?, ?) ORDER BY site = ? DESC LIMIT 1",
        [target.value, target.domain, target.value],
    ).fetchall()
    brands, keywords = rows[0] if rows else ("", "")
    return AnchorProfile.for_target(
        target.value,
        brands=tuple(t.strip() for t in (brands or "").splitlines() if t.strip()),
        keywords=tuple(t.strip() for t in (keywords or "").splitlines() if t.strip()),
    )


def _commercial(con: duckdb.DuckDBPyConnection, profile: AnchorProfile) -> tuple[list[str], list[str]]:
    """The (anchor, target host) pairs of the backlinks whose anchor is commercial: classified once
    per distinct pair (the host decides whether a host-like anchor is the target's naked URL)."""
    pairs = con.execute(
        f"SELECT DISTINCT anchor, target_host FROM {LINKS} WHERE trim(coalesce(anchor, '')) <> ''"
    ).fetchall()
    hits = [
        (anchor, host)
        for anchor, host in pairs
        if (cls := classify_anchor(anchor, kind="text", target_url=f"http://{host}/", profile=profile)) == "exact_match"
        or (cls not in ("branded", "naked_url") and has_commercial_term(anchor))
    ]
    return [a for a, _ in hits], [h for _, h in hits]


def _verdicts(lists: Lists) -> dict[str, list[str]]:
    """The lists as parameters of :func:`~linkback.quality._linksql.scored_sql`: URL, host, domain
    and suffix entries, each matched by equality (the suffixes, usually none, by ``ends_with``)."""
    exact, suffixes = domain_entries(lists)
    return {
        "v_urls": list(lists.urls),
        "v_url_verdicts": list(lists.urls.values()),
        "v_hosts": list(lists.sites),
        "v_host_verdicts": list(lists.sites.values()),
        "v_domains": list(exact),
        "v_domain_verdicts": list(exact.values()),
        "v_suffixes": list(suffixes),
        "v_suffix_verdicts": list(suffixes.values()),
    }


def _score(
    store: Store,
    target: str | Target,
    profile: AnchorProfile | None,
    run_id: int | None,
    report: str,
    params: dict[str, Any],
) -> tuple[list[tuple], dict[str, Any]]:
    """Run ``report`` (SQL over the scored backlinks, named ``scored``) for ``target``; its rows
    and what the reasons need (``run_id``, ``topic_pages``)."""
    con = store.con
    run = _run(con, run_id)
    tgt = as_target(target)
    where, where_params = link_where(tgt)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {LINKS} AS
        SELECT source_url, source_host, source_domain, target_url, target_host, anchor, kind, section,
               {DOFOLLOW} AS dofollow
        FROM links WHERE {where}""",
        where_params,
    )
    try:
        anchors, hosts = _commercial(con, profile if profile is not None else _profile(con, tgt))
        target_topic = topic(con, tgt)
        judged = (
            target_topic["topic_pages"] >= OFF_TOPIC_MIN_TARGET_PAGES
        )  # else too little of the target to know its topic
        # The categories (linkback categorize) judge topics too, where the target's domain has one.
        target_tier1 = target_category(con, tgt, OFF_TOPIC_MIN_CATEGORY_CONFIDENCE)
        sql = f"WITH scored AS ({scored_sql(judged, target_tier1 is not None)}) {report}"
        values = {
            "run_id": run,
            "target_tier1": target_tier1,
            "category_min": OFF_TOPIC_MIN_CATEGORY_CONFIDENCE,
            "dkeep": list(keep_table(DOMAIN_SIGNALS)),
            "lkeep": list(keep_table(LINK_SIGNALS)),
            "dbits": len(DOMAIN_SIGNALS),
            "template": list(TEMPLATE_SECTIONS),
            "sitewide_pages": SITEWIDE_MIN_PAGES,
            "identical": IDENTICAL_ANCHOR_MIN_PAGES,
            "c_anchors": anchors,
            "c_hosts": hosts,
            **target_topic,
            **title_params(),
            **{f"bit_{name}": bit for name, bit in BITS.items()},
            **{f"name_{s.name}": s.name for s in DOMAIN_SIGNALS},
            **_verdicts(read_lists(con)),
            **exchanges(con, tgt.domain),
            **params,
        }
        rows = execute(con, sql, values).fetchall()
        return rows, {"run_id": run, "topic_pages": target_topic["topic_pages"] if judged else 0}
    finally:
        con.execute(f"DROP TABLE IF EXISTS {LINKS}")


def _limit_sql(limit: int | None) -> tuple[str, dict[str, Any]]:
    sql, params = check_limit(limit)  # the limit capped at what SQL's LIMIT holds
    return ("", {}) if not sql else (" LIMIT $limit", {"limit": params[0]})


def _verdict_reason(verdict: str) -> str:
    return f"{DENIED} (deny list)" if verdict == "deny" else f"{ALLOWED} (allow list)"


def _facts_of(con: duckdb.DuckDBPyConnection, run: int, masks: list[tuple[str, int]]) -> dict[str, DomainFacts]:
    """The page counts of the domains (of ``(domain, mask)`` pairs) that have a page-based signal."""
    page_bits = sum(BITS[name] for name in PAGE_SIGNALS)
    return domain_facts(con, run, (d for d, mask in masks if mask & page_bits))


LINK_COLUMNS = (
    "source_url",
    "source_host",
    "source_domain",
    "target_url",
    "anchor",
    "kind",
    "section",
    "dofollow",
    "dr",
    "toxicity",
    "signals",
    "reasons",
)
DOMAIN_COLUMNS = ("domain", "dr", "links", "toxicity", "signals", "reasons")


@report(columns=LINK_COLUMNS)
def toxic_links(
    store: Store,
    target: str | Target,
    *,
    profile: AnchorProfile | None = None,
    limit: int | None = None,
    min_score: int = 0,
    run_id: int | None = None,
) -> list[dict[str, Any]]:
    """Every live external backlink of ``target`` with its toxicity and signals, worst first.

    Columns :data:`LINK_COLUMNS`: ``dr`` is that of the source domain (None when the run does not
    have it), ``toxicity`` 0–100 and ``signals`` the names that fired, in the order of ``SIGNALS``
    (or just ``denied``/``allowed`` when a list decides); ``reasons`` the same with the evidence of
    each ("link_farm (4 pages, 40% weight; 31 linked domains/page)"). ``profile`` gives the brand
    and keywords for exact-match anchors (default: the target's domain label plus its
    ``site_profiles`` row). Only links scoring at least ``min_score``. Reads the newest completed
    rank run, or ``run_id``; raises :class:`~linkback.errors.StoreError` before the first run.
    """
    limit_sql, limit_params = _limit_sql(limit)
    rows, ctx = _score(
        store,
        target,
        profile,
        run_id,
        "SELECT source_url, source_host, source_domain, target_url, anchor, kind, section, dofollow, dr,"
        " toxicity, mask, verdict, sw_pages, ia_pages, rc_pages FROM scored WHERE toxicity >= $min_score"
        " ORDER BY toxicity DESC, CASE WHEN verdict IS NULL THEN bit_count(mask) ELSE 1 END DESC,"
        f" source_domain, source_url, target_url, kind, anchor{limit_sql}",  # a link's whole key: one order
        {"min_score": min_score, **limit_params},
    )
    facts = _facts_of(store.con, ctx["run_id"], [(r[2], r[10]) for r in rows if r[11] is None])
    out = []
    for row in rows:
        mask, verdict, sw_pages, ia_pages, rc_pages = row[10:]
        names = _names(mask, verdict)
        if verdict is not None:
            why = _verdict_reason(verdict)
        else:
            why = reasons(names, facts.get(row[2]), LinkFacts(sw_pages, ia_pages, rc_pages, ctx["topic_pages"]))
        out.append({**dict(zip(LINK_COLUMNS[:10], row[:10])), "signals": names, "reasons": why})
    return out


_FIRED = ", ".join(f"count(*) FILTER (WHERE verdict IS NULL AND mask & {BITS[s.name]} <> 0)" for s in LINK_SIGNALS)


@report(columns=DOMAIN_COLUMNS)
def toxic_domains(
    store: Store,
    target: str | Target,
    *,
    profile: AnchorProfile | None = None,
    limit: int | None = None,
    min_score: int = 0,
    run_id: int | None = None,
) -> list[dict[str, Any]]:
    """The referring domains of ``target``, worst first, with :data:`DOMAIN_COLUMNS`: ``links``
    (live external backlinks), ``toxicity`` (that of its worst link), ``signals`` (every signal
    any of its links has, ``denied``/``allowed`` first) and ``reasons`` (the same with their
    evidence: page counts, and on how many of its links each link signal fired). Same arguments
    as :func:`toxic_links`."""
    limit_sql, limit_params = _limit_sql(limit)
    rows, ctx = _score(
        store,
        target,
        profile,
        run_id,
        "SELECT source_domain, any_value(dr), count(*), max(toxicity),"
        " coalesce(bit_or(mask) FILTER (WHERE verdict IS NULL), 0),"
        " bool_or(verdict = 'deny'), bool_or(verdict = 'allow'),"
        " max(sw_pages) FILTER (WHERE mask & $bit_sitewide <> 0),"
        " max(ia_pages) FILTER (WHERE mask & $bit_identical_anchors <> 0), max(rc_pages),"
        f" count(*) FILTER (WHERE verdict IS NULL), {_FIRED}"
        " FROM scored GROUP BY source_domain HAVING max(toxicity) >= $min_score"
        f" ORDER BY max(toxicity) DESC, count(*) DESC, source_domain{limit_sql}",
        {"min_score": min_score, **limit_params},
    )
    facts = _facts_of(store.con, ctx["run_id"], [(r[0], r[4]) for r in rows])
    out = []
    for domain, dr, links, toxicity, mask, denied, allowed, sw, ia, rc, judged, *fired in rows:
        verdicts = ["deny"] * bool(denied) + ["allow"] * bool(allowed)
        names = _names(mask)
        link = LinkFacts(sw, ia, rc, ctx["topic_pages"], dict(zip((s.name for s in LINK_SIGNALS), fired)), judged)
        why = ", ".join(
            [_verdict_reason(v) for v in verdicts] + ([reasons(names, facts.get(domain), link)] * bool(names))
        )
        marks = [DENIED] * bool(denied) + [ALLOWED] * bool(allowed)
        out.append(
            {"domain": domain, "dr": dr, "links": links, "toxicity": toxicity, "signals": marks + names, "reasons": why}
        )
    return out
