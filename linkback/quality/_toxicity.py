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

from linkback.faces import report
from linkback.errors import StoreError
from linkback.graph._from_store import PASSES
from linkback.quality._anchors import AnchorProfile, classify_anchor
from linkback.quality._signals import (
    ALLOWED,
    BITS,
    DENIED,
    DOMAIN_SIGNALS,
    IDENTICAL_ANCHOR_MIN_LINKS,
    LINK_FARM_MIN_DOMAINS_PER_PAGE,
    LINK_FARM_MIN_LINKED_DOMAINS,
    LOW_TRUST_MIN_DR,
    LOW_TRUST_RATIO,
    SITEWIDE_MIN_PAGES,
    SPAM_NEIGHBOUR_MIN_ANTI_TRUST,
    SPAM_TLDS,
    SPAMMY_MIN_DIGITS,
    SPAMMY_MIN_HYPHENS,
    SPAMMY_MIN_LENGTH,
    TEMPLATE_SECTIONS,
    THIN_MAX_INTERNAL_LINKS,
    THIN_MIN_SHARE,
    Lists,
    domain_entries,
    has_commercial_term,
    names_of,
    read_lists,
    score_table,
    title_params,
    title_words_sql,
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
assert {*_ROW_FLAGS, "link_farm", "thin_page"} == {s.name for s in DOMAIN_SIGNALS}

_PAGE_OK = "(status IS NULL OR status BETWEEN 200 AND 299)"
_THIN = "(title IS NULL OR trim(title) = '') AND coalesce(n_internal, 0) <= $thin_internal"


def _row_bits(prefix: str) -> str:
    return " | ".join(
        f"CASE WHEN coalesce({sql.format(r=prefix)}, false) THEN $bit_{name} ELSE 0 END"
        for name, sql in _ROW_FLAGS.items()
    )


def _execute(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> duckdb.DuckDBPyConnection:
    """Run ``sql`` with those of the named ``params`` it uses (DuckDB refuses the others)."""
    return con.execute(sql, {k: params[k] for k in set(re.findall(r"\$(\w+)", sql))})


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
        "farm_domains": LINK_FARM_MIN_LINKED_DOMAINS,
        "farm_per_page": LINK_FARM_MIN_DOMAINS_PER_PAGE,
        "tld_pattern": r"\.(?:" + "|".join(re.escape(t) for t in sorted(SPAM_TLDS)) + ")$",
        "name_pattern": f"^(?:(?:[^.0-9]*[0-9]){{{SPAMMY_MIN_DIGITS}}}|(?:[^.-]*-){{{SPAMMY_MIN_HYPHENS}}}"
        f"|[^.]{{{SPAMMY_MIN_LENGTH}}})",
        "seeded": bool(seeded),
        "trust_min_dr": LOW_TRUST_MIN_DR,
        "trust_ratio": LOW_TRUST_RATIO,
        "thin_internal": THIN_MAX_INTERNAL_LINKS,
        "thin_share": THIN_MIN_SHARE,
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
  SELECT domain, count(*) AS pages, count(*) FILTER (WHERE {_THIN}) AS thin
  FROM pages WHERE {_PAGE_OK} GROUP BY domain
),
exact AS (SELECT unnest($exact_entries::VARCHAR[]) AS entry, unnest($exact_verdicts::VARCHAR[]) AS verdict),
suffix AS (SELECT unnest($suffix_entries::VARCHAR[]) AS entry, unnest($suffix_verdicts::VARCHAR[]) AS verdict),
marks AS (
  SELECT f.domain, $bit_link_farm AS bits, NULL AS verdict, 0 AS specific
  FROM farm f LEFT JOIN counted c ON c.domain = f.domain
  WHERE f.linked_domains >= $farm_per_page * greatest(coalesce(c.pages, 0), 1)
  UNION ALL
  SELECT domain, $bit_thin_page, NULL, 0 FROM counted WHERE thin >= $thin_share * pages
  UNION ALL
  SELECT entry, 0, verdict, length(entry) FROM exact
  UNION ALL
  SELECT d.domain, 0, s.verdict, length(s.entry) FROM d JOIN suffix s ON ends_with(d.domain, '.' || s.entry)
)
SELECT domain, bit_or(bits) AS bits, arg_max(verdict, specific) FILTER (WHERE verdict IS NOT NULL) AS verdict
FROM marks GROUP BY domain"""


def score_domains(con: duckdb.DuckDBPyConnection, run_id: int) -> None:
    """Set ``toxicity`` and ``signals`` of every ``domain_ranks`` row of ``run_id``.

    Runs in the caller's transaction, if any. The domain-level signals read the run's DR, trust,
    anti-trust and linked-domain counts, and the ``pages`` table for page counts and thin pages.
    Low trust needs trust seeds: it fires only when some domain of the run has trust.
    """
    params = _domain_params(con, run_id)
    try:
        _execute(con, _MARK_SQL, params)
        row_bits = _row_bits("")
        _execute(
            con,
            f"UPDATE domain_ranks SET toxicity = $tox[({row_bits}) + 1], signals = $sig[({row_bits}) + 1]"
            " WHERE run_id = $run_id",
            params,
        )
        mask = f"(({_row_bits('r.')}) | m.bits) + 1"
        _execute(
            con,
            f"""
UPDATE domain_ranks AS r
SET toxicity = CASE m.verdict WHEN 'deny' THEN 100 WHEN 'allow' THEN 0 ELSE $tox[{mask}] END,
    signals = CASE m.verdict WHEN 'deny' THEN $denied WHEN 'allow' THEN $allowed ELSE $sig[{mask}] END
FROM {_MARKS} AS m
WHERE r.run_id = $run_id AND r.domain = m.domain""",
            params,
        )
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_MARKS}")


# --- link-level signals ------------------------------------------------------------------------

_LINKS = "_toxic_links"  # TEMP table: the target's live external backlinks


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
        f"SELECT DISTINCT anchor, target_host FROM {_LINKS} WHERE trim(coalesce(anchor, '')) <> ''"
    ).fetchall()
    hits = [
        (anchor, host)
        for anchor, host in pairs
        if (cls := classify_anchor(anchor, kind="text", target_url=f"http://{host}/", profile=profile)) == "exact_match"
        or (cls not in ("branded", "naked_url") and has_commercial_term(anchor))
    ]
    return [a for a, _ in hits], [h for _, h in hits]


def _verdicts(lists: Lists) -> dict[str, list[str]]:
    """The lists as parameters of :func:`_scored_sql`: URL, host, domain and suffix entries, each
    matched by equality (the suffixes, usually none, by ``ends_with``)."""
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


def _exchanges(con: duckdb.DuckDBPyConnection, domain: str) -> dict[str, list[str]]:
    """The referring domains ``domain`` links back to (A↔B), and those that a domain it links to
    links to (a cycle of three), over live dofollow links between domains."""
    # Nothing orders links by source: each step is a scan of the source domains (seconds on 50M
    # links), so the second runs only when the target links out at all.
    passes = f"source_domain <> target_domain AND NOT coalesce(internal, false) AND {PASSES}"
    rows = con.execute(f"SELECT DISTINCT target_domain FROM links WHERE source_domain = ? AND {passes}", [domain])
    linked = [d for (d,) in rows.fetchall()]
    if not linked:
        return {"reciprocal": [], "cycle": []}
    refd = f"SELECT source_domain FROM {_LINKS}"
    reciprocal = con.execute(
        f"SELECT DISTINCT d FROM unnest(?::VARCHAR[]) AS _(d) WHERE d IN ({refd})", [linked]
    ).fetchall()
    cycle = con.execute(
        f"""SELECT DISTINCT target_domain FROM links
        WHERE source_domain IN (SELECT unnest(?::VARCHAR[])) AND target_domain IN ({refd}) AND {passes}""",
        [linked],
    ).fetchall()
    return {"reciprocal": [d for (d,) in reciprocal], "cycle": [d for (d,) in cycle]}


def _topic(con: duckdb.DuckDBPyConnection, target: Target) -> list[str]:
    """The content words of the titles of the target's pages (those the store has)."""
    where = "domain = $domain" if target.kind == "domain" else "rhost = $rhost"
    prefixes = {f"p{i}": p for i, p in enumerate(target.prefixes())}
    if prefixes:
        where += " AND (" + " OR ".join(f"starts_with(url, ${k})" for k in prefixes) + ")"
    sql = f"SELECT DISTINCT unnest({title_words_sql('title')}) FROM pages WHERE {where} AND title IS NOT NULL"
    values = {"domain": target.domain, "rhost": target.rhost, **prefixes, **title_params()}
    return sorted(w for (w,) in _execute(con, sql, values).fetchall())


def _flag(name: str, condition: str) -> str:
    return f"CASE WHEN {condition} THEN $bit_{name} ELSE 0 END"


def _scored_sql(with_titles: bool) -> str:
    """The backlinks with ``mask``, ``verdict``, ``toxicity`` and the columns the reports show."""
    domain_mask = " | ".join(
        _flag(s.name, f"contains(' ' || signals || ' ', ' ' || $name_{s.name} || ' ')") for s in DOMAIN_SIGNALS
    )
    off_topic = (
        _flag("off_topic", "len(source_words) > 0 AND NOT list_has_any(source_words, $topic)") if with_titles else "0"
    )
    titles = (
        f"LEFT JOIN (SELECT url, {title_words_sql('title')} AS source_words FROM pages"
        f" WHERE url IN (SELECT source_url FROM {_LINKS})) p ON p.url = w.source_url"
        if with_titles
        else ""
    )
    mask = " | ".join(
        [
            "coalesce(d.mask, 0)",
            _flag("sitewide", "list_contains($template, w.section) AND sw.source_domain IS NOT NULL"),
            _flag("comment_section", "w.section = 'comment'"),
            _flag("commercial_anchor", "c.anchor IS NOT NULL"),
            _flag("identical_anchors", "ia.source_domain IS NOT NULL"),
            _flag("reciprocal", "rc.domain IS NOT NULL"),
            _flag("link_cycle", "cy.domain IS NOT NULL"),
            off_topic,
        ]
    )
    return f"""
WITH w AS (SELECT *, lower(trim(coalesce(anchor, ''))) AS anchor_key FROM {_LINKS}),
sw AS (  -- grouped, not windowed: a window over millions of links costs ten times as much
  SELECT source_domain FROM {_LINKS} WHERE list_contains($template, section)
  GROUP BY source_domain HAVING count(DISTINCT source_url) >= $sitewide_pages
),
ia AS (
  SELECT source_domain, anchor_key FROM w WHERE anchor_key <> ''
  GROUP BY source_domain, anchor_key HAVING count(*) >= $identical
),
d AS (
  SELECT domain, dr, {domain_mask} AS mask FROM domain_ranks
  WHERE run_id = $run_id AND domain IN (SELECT source_domain FROM {_LINKS})
),
c AS (SELECT unnest($c_anchors::VARCHAR[]) AS anchor, unnest($c_hosts::VARCHAR[]) AS target_host),
uv AS (SELECT unnest($v_urls::VARCHAR[]) AS url, unnest($v_url_verdicts::VARCHAR[]) AS verdict),
hv AS (SELECT unnest($v_hosts::VARCHAR[]) AS host, unnest($v_host_verdicts::VARCHAR[]) AS verdict),
dv AS (SELECT unnest($v_domains::VARCHAR[]) AS domain, unnest($v_domain_verdicts::VARCHAR[]) AS verdict),
sv AS (
  SELECT l.source_domain AS domain, arg_max(s.verdict, length(s.entry)) AS verdict
  FROM (SELECT DISTINCT source_domain FROM {_LINKS}) l
  JOIN (SELECT unnest($v_suffixes::VARCHAR[]) AS entry, unnest($v_suffix_verdicts::VARCHAR[]) AS verdict) s
    ON ends_with(l.source_domain, '.' || s.entry)
  GROUP BY l.source_domain
),
rc AS (SELECT unnest($reciprocal::VARCHAR[]) AS domain),
cy AS (SELECT unnest($cycle::VARCHAR[]) AS domain),
m AS (
  SELECT w.source_url, w.source_host, w.source_domain, w.target_url, w.anchor, w.kind, w.section, w.dofollow,
         d.dr, coalesce(uv.verdict, hv.verdict, dv.verdict, sv.verdict) AS verdict, {mask} AS mask
  FROM w
  LEFT JOIN d ON d.domain = w.source_domain
  LEFT JOIN sw ON sw.source_domain = w.source_domain
  LEFT JOIN ia ON ia.source_domain = w.source_domain AND ia.anchor_key = w.anchor_key
  LEFT JOIN c ON c.anchor = w.anchor AND c.target_host = w.target_host
  LEFT JOIN uv ON uv.url = w.source_url
  LEFT JOIN hv ON hv.host = w.source_host
  LEFT JOIN dv ON dv.domain = w.source_domain
  LEFT JOIN sv ON sv.domain = w.source_domain
  LEFT JOIN rc ON rc.domain = w.source_domain
  LEFT JOIN cy ON cy.domain = w.source_domain
  {titles}
)
SELECT *, CASE verdict WHEN 'deny' THEN 100 WHEN 'allow' THEN 0 ELSE $scores[mask + 1] END AS toxicity
FROM m"""


def _score(
    store: Store,
    target: str | Target,
    profile: AnchorProfile | None,
    run_id: int | None,
    report: str,
    params: dict[str, Any],
) -> list[tuple]:
    """Run ``report`` (SQL over the scored backlinks, named ``scored``) for ``target``."""
    con = store.con
    run = _run(con, run_id)
    tgt = as_target(target)
    where, where_params = link_where(tgt)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {_LINKS} AS
        SELECT source_url, source_host, source_domain, target_url, target_host, anchor, kind, section,
               {DOFOLLOW} AS dofollow
        FROM links WHERE {where}""",
        where_params,
    )
    try:
        anchors, hosts = _commercial(con, profile if profile is not None else _profile(con, tgt))
        topic = _topic(con, tgt)
        sql = f"WITH scored AS ({_scored_sql(bool(topic))}) {report}"
        values = {
            "run_id": run,
            "scores": list(score_table()),
            "template": list(TEMPLATE_SECTIONS),
            "sitewide_pages": SITEWIDE_MIN_PAGES,
            "identical": IDENTICAL_ANCHOR_MIN_LINKS,
            "c_anchors": anchors,
            "c_hosts": hosts,
            "topic": topic,
            **title_params(),
            **{f"bit_{name}": bit for name, bit in BITS.items()},
            **{f"name_{s.name}": s.name for s in DOMAIN_SIGNALS},
            **_verdicts(read_lists(con)),
            **_exchanges(con, tgt.domain),
            **params,
        }
        return _execute(con, sql, values).fetchall()
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_LINKS}")


def _limit_sql(limit: int | None) -> tuple[str, dict[str, Any]]:
    check_limit(limit)
    return ("", {}) if limit is None else (" LIMIT $limit", {"limit": limit})


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
)
DOMAIN_COLUMNS = ("domain", "dr", "links", "toxicity", "signals")


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
    (or just ``denied``/``allowed`` when a list decides). ``profile`` gives the brand and keywords
    for exact-match anchors (default: the target's domain label plus its ``site_profiles`` row).
    Only links scoring at least ``min_score``. Reads the newest completed rank run, or ``run_id``;
    raises :class:`~linkback.errors.StoreError` before the first run.
    """
    limit_sql, limit_params = _limit_sql(limit)
    rows = _score(
        store,
        target,
        profile,
        run_id,
        "SELECT source_url, source_host, source_domain, target_url, anchor, kind, section, dofollow, dr,"
        " toxicity, mask, verdict FROM scored WHERE toxicity >= $min_score"
        " ORDER BY toxicity DESC, CASE WHEN verdict IS NULL THEN bit_count(mask) ELSE 1 END DESC,"
        f" source_domain, source_url, target_url{limit_sql}",
        {"min_score": min_score, **limit_params},
    )
    return [{**dict(zip(LINK_COLUMNS[:-1], row[:10])), "signals": _names(row[10], row[11])} for row in rows]


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
    (live external backlinks), ``toxicity`` (that of its worst link) and ``signals`` (every signal
    any of its links has, ``denied``/``allowed`` first). Same arguments as :func:`toxic_links`."""
    limit_sql, limit_params = _limit_sql(limit)
    rows = _score(
        store,
        target,
        profile,
        run_id,
        "SELECT source_domain, any_value(dr), count(*), max(toxicity),"
        " coalesce(bit_or(mask) FILTER (WHERE verdict IS NULL), 0),"
        " bool_or(verdict = 'deny'), bool_or(verdict = 'allow')"
        " FROM scored GROUP BY source_domain HAVING max(toxicity) >= $min_score"
        f" ORDER BY max(toxicity) DESC, count(*) DESC, source_domain{limit_sql}",
        {"min_score": min_score, **limit_params},
    )
    out = []
    for domain, dr, links, toxicity, mask, denied, allowed in rows:
        marks = [DENIED] * bool(denied) + [ALLOWED] * bool(allowed)
        out.append({"domain": domain, "dr": dr, "links": links, "toxicity": toxicity, "signals": marks + _names(mask)})
    return out
