"""The grouped reports: referring domains, anchors, top linked pages and the TLD/country mix.

Each takes the same link filters as :func:`~linkback.reports.backlinks` (``LinkFilters``), so
"dofollow referring domains" is ``refdomains(store, "example.com", follow=True)``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from linkback.reports._countries import country_of
from linkback.reports._cursor import Key, Order, after_sql, read_cursor, register_orders
from linkback.reports._domains import require_links
from linkback.reports._ranks import domain_ranks_of, latest_run, url_ratings
from linkback.reports._select import (
    DOFOLLOW,
    as_target,
    check_choice,
    check_limit,
    fetch_rows,
    link_where,
    tld_of,
    tld_sql,
)
from linkback.store import Store
from linkback.urls import Target

if TYPE_CHECKING:
    from linkback.reports._overview import RefdomainTable


class LinkFilters(TypedDict, total=False):
    """The link filters every grouped report accepts (see :func:`~linkback.reports.backlinks`)."""

    follow: bool | None
    nofollow: bool | None
    ugc: bool | None
    sponsored: bool | None
    noindex: bool | None
    kind: str | Sequence[str] | None
    section: str | Sequence[str] | None
    from_domain: str | None
    anchor: str | None
    internal: bool
    include_lost: bool


REFDOMAIN_COLUMNS = (
    "domain",
    "tld",
    "dr",
    "toxicity",
    "links",
    "dofollow",
    "referring_pages",
    "first_seen",
    "last_seen",
    "visits",
)
_DOMAIN = Key("domain")
_LINKS = Key("links", desc=True, kind="number")
#: The keys of each ``sort`` of :func:`refdomains`; the domain last, so each is a total order.
REFDOMAIN_ORDERS: dict[str, Order] = {
    "links": (_LINKS, _DOMAIN),
    "dr": (Key("dr", desc=True, kind="number"), _LINKS, _DOMAIN),
    "dofollow": (Key("dofollow", desc=True, kind="number"), _LINKS, _DOMAIN),
    "first_seen": (Key("first_seen", desc=True, kind="time"), _DOMAIN),
    "last_seen": (Key("last_seen", desc=True, kind="time"), _DOMAIN),
    "domain": (_DOMAIN,),
}
REFDOMAIN_SORTS = register_orders("refdomains", REFDOMAIN_ORDERS)

ANCHOR_COLUMNS = ("anchor", "anchor_class", "links", "referring_domains", "dofollow", "share")
_REFERRING = Key("referring_domains", desc=True, kind="number")
ANCHOR_ORDERS: dict[str, Order] = {
    "links": (_LINKS, _REFERRING, Key("anchor")),
    "referring_domains": (_REFERRING, _LINKS, Key("anchor")),
    "anchor": (Key("anchor"),),
}
ANCHOR_SORTS = register_orders("anchors", ANCHOR_ORDERS)

PAGE_COLUMNS = ("target_url", "ur", "referring_domains", "backlinks", "dofollow", "first_seen", "last_seen")
_URL = Key("target_url")
PAGE_ORDERS: dict[str, Order] = {
    "referring_domains": (_REFERRING, Key("backlinks", desc=True, kind="number"), _URL),
    "backlinks": (Key("backlinks", desc=True, kind="number"), _REFERRING, _URL),
    "dofollow": (Key("dofollow", desc=True, kind="number"), _REFERRING, _URL),
    "first_seen": (Key("first_seen", desc=True, kind="time"), _URL),
}
PAGE_SORTS = register_orders("pages", PAGE_ORDERS)

TLD_COLUMNS = ("tld", "country_code", "country", "referring_domains", "share")


def _after(report: str, orders: dict[str, Order], sort: str, after: str | None) -> tuple[list[str], list[Any]]:
    """The condition (on the grouped rows) of the page after cursor ``after``; none for the first page."""
    if after is None:
        return [], []
    sql, params = after_sql(orders[sort], read_cursor(report, sort, after))
    return [sql], params


#: Referring domains are grouped by a 64-bit hash of the name, not the name: a quarter faster on
#: a target with millions of links; a collision (two domains counted as one) has odds of about
#: n²/2^65 among the n domains of one anchor or page.
_BY_DOMAIN = "hash(source_domain)"
#: The same, NULL for a link without a source domain (a NULL is no referring domain: hash(NULL) is not NULL).
_DOMAIN_KEY = "CASE WHEN source_domain IS NOT NULL THEN hash(source_domain) END"


def _where(conditions: list[str]) -> str:
    return " WHERE " + " AND ".join(conditions) if conditions else ""


def refdomains(
    store: Store,
    target: str | Target,
    *,
    sort: str = "links",
    min_dr: float | None = None,
    limit: int | None = None,
    after: str | None = None,
    **filters: Unpack[LinkFilters],
) -> list[dict[str, Any]]:
    """The referring domains of ``target``, one row each with :data:`REFDOMAIN_COLUMNS`.

    ``domain`` is the source's registrable domain, ``tld`` its top-level label (None for an IP
    address), ``dr`` its Domain Rating and ``toxicity`` its score as a linker (0–100, the domain
    signals of ``linkback toxic``) in the newest rank run (None before one), ``links`` and
    ``dofollow`` count its links to the target, ``referring_pages`` its distinct pages,
    ``first_seen``/``last_seen`` the range over those links, ``visits`` the visits read from access
    logs that came from the domain to the target (``linkback visits``). ``min_dr`` keeps domains rated at
    least that. ``sort`` is one of :data:`REFDOMAIN_SORTS` (counts, DR and dates descending);
    ``after`` a cursor for the page after a row (:func:`~linkback.reports._cursor.next_cursor`).
    """
    order = REFDOMAIN_SORTS[check_choice("sort", sort, REFDOMAIN_SORTS)]
    paged, paged_params = _after("refdomains", REFDOMAIN_ORDERS, sort, after)
    where, params = link_where(target, **filters)
    limit_sql, limit_params = check_limit(limit)
    run = latest_run(store.con)
    run_id = run[0] if run else None
    grouped = f"""
  SELECT source_domain AS domain, sum(n)::BIGINT AS links, sum(d)::BIGINT AS dofollow,
         count(*) AS referring_pages, min(f) AS first_seen, max(l) AS last_seen
  FROM (
    SELECT source_domain, source_url, count(*) AS n, count(*) FILTER (WHERE {DOFOLLOW}) AS d,
           min(first_seen) AS f, max(last_seen) AS l
    FROM links WHERE {where}
    GROUP BY source_domain, source_url
  )
  GROUP BY source_domain"""
    utc = ("first_seen", "last_seen")
    if min_dr is None and sort != "dr":
        # DR only for the rows returned, looked up by key: no join with every ranked domain.
        sql = (
            "SELECT domain, NULL::DOUBLE AS dr, NULL::SMALLINT AS toxicity, links, dofollow, referring_pages,"
            f" first_seen, last_seen FROM ({grouped}){_where(paged)} ORDER BY {order}{limit_sql}"
        )
        rows = fetch_rows(store.con, sql, params + paged_params + limit_params, utc_columns=utc)
        ranks = domain_ranks_of(store.con, run_id, (r["domain"] for r in rows))
        for row in rows:
            row["dr"], row["toxicity"] = ranks.get(row["domain"], (None, None))
    else:
        dr_filter = [] if min_dr is None else ["dr >= ?"]
        sql = f"""
SELECT domain, r.dr, r.toxicity, links, dofollow, referring_pages, first_seen, last_seen
FROM ({grouped}) LEFT JOIN (SELECT domain, dr, toxicity FROM domain_ranks WHERE run_id = ?) r USING (domain)
{_where(dr_filter + paged)}
ORDER BY {order}{limit_sql}"""
        extra = [run_id] + ([] if min_dr is None else [min_dr])
        rows = fetch_rows(store.con, sql, params + extra + paged_params + limit_params, utc_columns=utc)
    if not rows:
        require_links(store, target)
    from linkback.traffic._reports import refdomain_visits  # noqa: PLC0415 - traffic reads these reports' helpers

    visits = refdomain_visits(store, target, [r["domain"] for r in rows if r["domain"]])
    # The TLD of the few domains returned, in Python: cheaper than per row in SQL.
    return [
        {"domain": r["domain"], "tld": tld_of(r["domain"]), **{k: v for k, v in r.items() if k != "domain"},
         "visits": visits.get(r["domain"], 0)}
        for r in rows
    ]  # fmt: skip


def anchors(
    store: Store,
    target: str | Target,
    *,
    sort: str = "links",
    limit: int | None = None,
    after: str | None = None,
    **filters: Unpack[LinkFilters],
) -> list[dict[str, Any]]:
    """The anchor texts of the links to ``target``, with :data:`ANCHOR_COLUMNS`.

    Anchors are grouped as stored (whitespace-normalised; an image link's is its alt text;
    ``""`` for none). ``anchor_class`` is branded, exact_match, partial_match, generic, naked_url,
    image (an image link without alt text), empty or other, by
    :func:`linkback.quality.classify_anchor` with the target's brand and keywords (its domain name,
    plus what ``linkback profile`` set). ``share`` is the anchor's fraction of all the selected
    links (0..1), before ``limit`` and ``after``. ``sort`` is one of :data:`ANCHOR_SORTS`;
    ``after`` a cursor for the page after a row (:func:`~linkback.reports._cursor.next_cursor`).
    """
    from linkback.quality._anchors import classify_anchor
    from linkback.quality._toxicity import _profile  # the quality package reads reports: import late

    tgt = as_target(target)
    order = ANCHOR_SORTS[check_choice("sort", sort, ANCHOR_SORTS)]
    paged, paged_params = _after("anchors", ANCHOR_ORDERS, sort, after)
    where, params = link_where(tgt, **filters)
    limit_sql, limit_params = check_limit(limit)
    # (anchor, domain) first, then anchor: counts referring domains without a DISTINCT aggregate.
    # The domain by its 64-bit hash (see _BY_DOMAIN). The page's condition applies outside,
    # after ``share`` is taken over every anchor.
    sql = f"""
SELECT * FROM (
SELECT anchor, sum(n)::BIGINT AS links, count(*) AS referring_domains, sum(d)::BIGINT AS dofollow,
       sum(n) / sum(sum(n)) OVER () AS share, bool_and(all_images) AS all_images
FROM (
  SELECT coalesce(anchor, '') AS anchor, count(*) AS n, count(*) FILTER (WHERE {DOFOLLOW}) AS d,
         bool_and(kind = 'image') AS all_images
  FROM links WHERE {where}
  GROUP BY coalesce(anchor, ''), {_BY_DOMAIN}
)
GROUP BY anchor
){_where(paged)}
ORDER BY {order}{limit_sql}"""
    rows = fetch_rows(store.con, sql, params + paged_params + limit_params)
    if not rows:
        require_links(store, tgt)
    profile = _profile(store.con, tgt)
    target_url = tgt.value if "://" in tgt.value else f"https://{tgt.value}"
    out = []
    for row in rows:
        kind = "image" if row.pop("all_images") else "text"
        cls = classify_anchor(row["anchor"], kind=kind, target_url=target_url, profile=profile)
        out.append({"anchor": row["anchor"], "anchor_class": cls, **row})
    return out


#: How many anchors :func:`anchor_mix` returns in full order.
TOP_ANCHORS = 10


def anchor_mix(store: Store, target: str | Target) -> dict[str, Any]:
    """What the dashboard's overview shows of :func:`anchors` (default sort, every live external
    link): ``top``, its first :data:`TOP_ANCHORS` rows (``anchor``, ``anchor_class``, ``links``),
    and ``classes``, the links per anchor class, most first, ties in the order each class first
    comes in the anchors' rows (``Counter.most_common`` over them).

    The anchors grouped by anchor alone: their referring domains, which need the links grouped by
    (anchor, domain) first (1.75 M pairs on the bench's most linked domain, 0.7 of its 0.95 s),
    only break ties of ``links``. So when a tie could change ``top`` or the order of ``classes``
    (two anchors of the top rows with the same links, or two classes with the same total), the
    result is worked out from :func:`anchors` itself instead.
    """
    tgt = as_target(target)
    where, params = link_where(tgt)
    sql = f"""
SELECT coalesce(anchor, '') AS anchor, count(*) AS links, bool_and(kind = 'image') AS all_images
FROM links WHERE {where}
GROUP BY 1
ORDER BY links DESC, anchor"""
    rows = store.con.execute(sql, params).fetchall()
    if not rows:
        require_links(store, tgt)
    boundary = rows[TOP_ANCHORS - 1][1] if len(rows) >= TOP_ANCHORS else 0
    head = [n for _, n, _ in rows[:TOP_ANCHORS]]
    if sum(1 for _, n, _ in rows if n >= boundary) > len(head) or len(set(head)) < len(head):
        return _mix_of(anchors(store, tgt))  # (small targets mostly: few links, many ties)
    classify = _anchor_classifier(store, tgt)
    top = [{"anchor": a, "anchor_class": classify(a, images), "links": n} for a, n, images in rows[:TOP_ANCHORS]]
    totals: dict[str, int] = {}
    for a, n, images in rows:
        cls = classify(a, images)
        totals[cls] = totals.get(cls, 0) + n
    if len(set(totals.values())) < len(totals):
        return _mix_of(anchors(store, tgt))
    return {"top": top, "classes": sorted(totals.items(), key=lambda item: -item[1])}


def _mix_of(every: list[dict[str, Any]]) -> dict[str, Any]:
    """:func:`anchor_mix` from every row of :func:`anchors`."""
    classes: Counter[str] = Counter()
    for row in every:
        classes[row["anchor_class"]] += row["links"]
    return {"top": every[:TOP_ANCHORS], "classes": classes.most_common()}


def _anchor_classifier(store: Store, tgt: Target) -> Callable[[str, bool], str]:
    """``classify(anchor, all_images)``: the class :func:`anchors` gives an anchor of ``tgt``."""
    from linkback.quality._anchors import classify_anchor
    from linkback.quality._toxicity import _profile  # the quality package reads reports: import late

    profile = _profile(store.con, tgt)
    target_url = tgt.value if "://" in tgt.value else f"https://{tgt.value}"

    def classify(anchor: str, all_images: bool) -> str:
        kind = "image" if all_images else "text"
        return classify_anchor(anchor, kind=kind, target_url=target_url, profile=profile)

    return classify


def pages(
    store: Store,
    domain: str | Target,
    *,
    sort: str = "referring_domains",
    limit: int | None = None,
    after: str | None = None,
    **filters: Unpack[LinkFilters],
) -> list[dict[str, Any]]:
    """The pages of ``domain`` (or of a host or URL prefix) by links to them ("best by links").

    One row per target URL with :data:`PAGE_COLUMNS`: its URL Rating ``ur`` in the newest rank run
    (None before one, or for a page no authority-passing link reaches), distinct
    ``referring_domains``, ``backlinks``, ``dofollow`` backlinks, and the first/last seen range.
    ``sort`` is one of :data:`PAGE_SORTS`; ``after`` a cursor for the page after a row
    (:func:`~linkback.reports._cursor.next_cursor`).
    """
    order = PAGE_SORTS[check_choice("sort", sort, PAGE_SORTS)]
    paged, paged_params = _after("pages", PAGE_ORDERS, sort, after)
    where, params = link_where(domain, **filters)
    limit_sql, limit_params = check_limit(limit)
    # (page, domain) first, then page, as in anchors(): cheaper than a DISTINCT aggregate.
    sql = f"""
SELECT * FROM (
SELECT target_url, count(domain) AS referring_domains, sum(n)::BIGINT AS backlinks, sum(d)::BIGINT AS dofollow,
       min(f) AS first_seen, max(l) AS last_seen
FROM (
  SELECT target_url, {_DOMAIN_KEY} AS domain, count(*) AS n, count(*) FILTER (WHERE {DOFOLLOW}) AS d,
         min(first_seen) AS f, max(last_seen) AS l
  FROM links WHERE {where}
  GROUP BY ALL
)
GROUP BY target_url
){_where(paged)}
ORDER BY {order}{limit_sql}"""
    rows = fetch_rows(store.con, sql, params + paged_params + limit_params)
    if not rows:
        require_links(store, domain)
    ur = url_ratings(store.con, (r["target_url"] for r in rows))
    return [{"target_url": r["target_url"], "ur": ur.get(r["target_url"]), **r} for r in rows]


def tlds(
    store: Store,
    target: str | Target,
    *,
    limit: int | None = None,
    **filters: Unpack[LinkFilters],
) -> list[dict[str, Any]]:
    """How the referring domains of ``target`` spread over top-level domains and countries.

    One row per TLD with :data:`TLD_COLUMNS`: ``country_code`` (ISO 3166-1 alpha-2) and
    ``country`` for a ccTLD (``.uk`` is GB, ``.eu`` EU), ``country`` ``"generic"`` for the rest;
    IP-address sources have ``tld`` None and ``country`` ``"IP address"``. ``share`` is the
    fraction of all referring domains (0..1). Most referring domains first.
    """
    where, params = link_where(target, **filters)
    rows = _tld_rows(store, f"SELECT DISTINCT source_domain AS domain FROM links WHERE {where}", params, limit)
    if not rows:
        require_links(store, target)
    return rows


def tlds_of(store: Store, refdomains: RefdomainTable, *, limit: int | None = None) -> list[dict[str, Any]]:
    """:func:`tlds` of ``refdomains.target`` (no link filters) from its referring domains already
    read (:func:`~linkback.reports._overview.refdomain_table`), as the dashboard's overview page
    reads them once for several of its parts."""
    check_limit(limit)
    with refdomains.scan(store) as name:
        rows = _tld_rows(store, f"SELECT domain FROM {name}", [], limit)
    if not rows:
        require_links(store, refdomains.target)
    return rows


def _tld_rows(store: Store, domains: str, params: list[Any], limit: int | None) -> list[dict[str, Any]]:
    """:func:`tlds`' rows of the distinct referring domains ``domains`` (SQL, one column ``domain``)."""
    limit_sql, limit_params = check_limit(limit)
    sql = f"""
SELECT tld, count(*) AS referring_domains, count(*) / sum(count(*)) OVER () AS share
FROM (SELECT {tld_sql("domain")} AS tld FROM ({domains}))
GROUP BY tld
ORDER BY referring_domains DESC, tld NULLS LAST{limit_sql}"""
    out = []
    for row in fetch_rows(store.con, sql, params + limit_params):
        if row["tld"] is None:
            code, country = None, "IP address"
        else:
            code, country = country_of(row["tld"])
        out.append(
            {
                "tld": row["tld"],
                "country_code": code,
                "country": country,
                "referring_domains": row["referring_domains"],
                "share": row["share"],
            }
        )
    return out
