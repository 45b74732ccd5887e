"""Broken backlinks: links from other sites to your pages that answer 4xx/5xx or a soft 404.

The state of a page is what the index holds about it (``pages``: the status of its newest
observation; a crawl of your own site with ``linkback crawl`` fills it), followed through its
redirects (the ``redirect`` links of 3xx pages) to where they end. A page the index never fetched
is not reported: nothing says it is broken. Each broken page gets a suggested redirect target,
the closest live page of the same host (:class:`Matcher`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

import duckdb

from linkback.faces import report
from linkback.quality._soft404 import REDIRECT_HOME, SQL_PREFILTER, fold, not_found_text, redirects_home, soft_404
from linkback.reports._cursor import Key, Order, after_sql, read_cursor, register_orders
from linkback.reports._domains import require_links
from linkback.reports._ranks import latest_run
from linkback.reports._select import DOFOLLOW, as_target, check_limit, fetch_rows, link_where
from linkback.store import Store
from linkback.urls import Target, host_of

BROKEN_COLUMNS = (
    "target_url",
    "status",
    "problem",
    "final_url",
    "referring_domains",
    "backlinks",
    "dofollow",
    "best_dr",
    "dr_sum",
    "top_domains",
    "top_anchors",
    "redirect_url",
    "redirect_score",
)
#: The one order of :func:`broken`: most referring domains first, then the best DR; the URL last.
BROKEN_ORDERS: dict[str, Order] = {
    "referring_domains": (
        Key("referring_domains", desc=True, kind="number"),
        Key("best_dr", desc=True, kind="number"),
        Key("target_url"),
    )
}
_ORDER_BY = register_orders("broken", BROKEN_ORDERS)["referring_domains"]

#: Redirects followed from a page before it counts as a loop.
MAX_HOPS = 5
#: Domains and anchors listed per row.
TOP_N = 3
#: Anchors per page read to describe it (the most used first).
MAX_ANCHORS = 20
#: Linking pages listed per page (one per referring domain).
MAX_PAGES = 5
#: Problems: the status of a page that answers 4xx/5xx ("404", "503"...), or one of these.
SOFT_404, SOFT_404_REDIRECT, REDIRECT_LOOP = "soft_404", "soft_404_redirect", "redirect_loop"


# --- where a page's redirects end, and what is wrong with it ------------------------------------


@dataclass(frozen=True)
class PageState:
    """What the index says of ``url``: the status where its redirects end (``final_url``, "" when
    it answered itself), that page's title, and the ``problem`` (None: it is live)."""

    url: str
    status: int | None
    final_url: str
    title: str
    problem: str | None


def _unnest(column: str) -> str:
    return f"{column} IN (SELECT unnest(?::VARCHAR[]))"


def _fetch_pages(con: duckdb.DuckDBPyConnection, urls: Sequence[str]) -> dict[str, tuple[int | None, str, str]]:
    """``url -> (status, title, redirect target)`` of those of ``urls`` the index fetched."""
    rows = con.execute(
        f"SELECT url, status, coalesce(title, '') FROM pages WHERE {_unnest('url')}", [list(urls)]
    ).fetchall()
    pages = {url: (status, title, "") for url, status, title in rows}
    moved = [url for url, (status, _, _) in pages.items() if status is not None and 300 <= status <= 399]
    if moved:
        # The page's live redirect link (archives keep each hop as its own response).
        targets = con.execute(
            f"SELECT source_url, arg_max(target_url, last_seen) FROM links "
            f"WHERE kind = 'redirect' AND lost_at IS NULL AND {_unnest('source_url')} GROUP BY source_url",
            [moved],
        ).fetchall()
        for url, target in targets:
            status, title, _ = pages[url]
            pages[url] = (status, title, target)
    return pages


def page_states(con: duckdb.DuckDBPyConnection, urls: Iterable[str]) -> dict[str, PageState]:
    """The state of each of ``urls`` the index fetched, its redirects followed (:data:`MAX_HOPS`)."""
    wanted = sorted(set(urls))
    seen: dict[str, tuple[int | None, str, str] | None] = {}
    todo = wanted
    for _ in range(MAX_HOPS + 1):
        todo = [u for u in todo if u not in seen]
        if not todo:
            break
        found = _fetch_pages(con, todo)
        for url in todo:
            seen[url] = found.get(url)
        todo = sorted({hop for _, _, hop in found.values() if hop})
    return {url: state for url in wanted if (state := _state(url, seen)) is not None}


def _state(url: str, seen: dict[str, tuple[int | None, str, str] | None]) -> PageState | None:
    entry = seen.get(url)
    if entry is None:
        return None
    here, visited = url, {url}
    status, title, hop = entry
    while status is not None and 300 <= status <= 399 and hop:
        if hop in visited or len(visited) > MAX_HOPS:
            return PageState(url, status, hop, title, REDIRECT_LOOP)
        visited.add(hop)
        here, nxt = hop, seen.get(hop)
        if nxt is None:  # never fetched: only a redirect home says anything
            return PageState(url, None, here, "", SOFT_404_REDIRECT if redirects_home(url, here) else None)
        status, title, hop = nxt
    final = here if here != url else ""
    return PageState(url, status, final, title, problem_of(url, status, title, final))


def problem_of(url: str, status: int | None, title: str, final_url: str) -> str | None:
    """What is wrong with ``url`` whose redirects ended at ``final_url`` with ``status`` and ``title``."""
    if status is None:
        return None
    if status >= 400:
        return str(status)
    reason = soft_404(url, status=status, title=title, final_url=final_url)
    if reason is None:
        return None
    return SOFT_404_REDIRECT if reason == REDIRECT_HOME else SOFT_404


def former_titles(con: duckdb.DuckDBPyConnection, urls: Sequence[str]) -> dict[str, str]:
    """The title each of ``urls`` had when it last answered 2xx with a real page (not a soft 404)."""
    if not urls:
        return {}
    rows = con.execute(
        f"""SELECT url, list(title ORDER BY fetched_at DESC)[1:5] FROM observations
            WHERE {_unnest("url")} AND status BETWEEN 200 AND 299 AND coalesce(title, '') <> ''
            GROUP BY url""",
        [list(urls)],
    ).fetchall()
    out = {}
    for url, titles in rows:
        real = [t for t in titles if not not_found_text(t)]
        if real:
            out[url] = real[0]
    return out


# --- the closest live page --------------------------------------------------------------------

#: Words that say nothing about what a page is about: English function words and URL noise.
STOP_WORDS = frozenset(
    """a an and are as at be by for from how in into is it its of on or our that the this to was what
    when where which who why will with you your www com org net html htm php asp aspx jsp cgi index
    amp utm http https page pages""".split()
)


def words(text: str) -> set[str]:
    """The content words of ``text``, folded (no case or accents), no stop words or bare numbers."""
    return {w for w in fold(text).split() if len(w) > 1 and not w.isdigit() and w not in STOP_WORDS}


def _path_and_query(url: str) -> tuple[str, str]:
    """The path and query of a stored URL (string slicing: cheaper than urlsplit on many pages)."""
    rest = url.split("://", 1)[-1]
    slash = rest.find("/")
    if slash < 0:
        return "", ""
    path, _, query = rest[slash:].partition("?")
    return path, query


def url_words(url: str) -> set[str]:
    """The content words of a URL's path and query (not its host)."""
    path, query = _path_and_query(url)
    return words(f"{path} {query}")


def _dirs_and_slug(url: str) -> tuple[list[str], str]:
    segments = [s for s in _path_and_query(url)[0].split("/") if s]
    if not segments:
        return [], ""
    slug = segments[-1].rsplit(".", 1)[0] if "." in segments[-1] else segments[-1]
    return [fold(s) for s in segments[:-1]], fold(slug)


@dataclass(frozen=True)
class Candidate:
    url: str
    title: str
    words: frozenset[str]
    dirs: tuple[str, ...]
    slug: str


class Matcher:
    """Scores live pages against a page that is gone, 0..1 (1: the same words and path).

    * ``words`` (70 %): the share of the gone page's words (from its URL, its former title and the
      anchors pointing at it) that the candidate's title and URL have, each word weighted by its
      rarity among the candidates (a word every page has, the site's name, counts for little);
    * ``folders`` (15 %): the leading folders of the paths the two share (``/blog/`` and ``/blog/``);
    * ``slug`` (15 %): how alike the last path segments read (``seo-tips-2019``, ``seo-tips-2024``).

    Between sites (``same_site=False``) folders mean nothing: words count 85 %.
    """

    #: Candidates per query that get the (dearer) slug comparison: the best by words and folders.
    SHORTLIST = 50
    #: A word on more pages than this is too common to find candidates by (it still counts).
    COMMON = 2000

    def __init__(self, pages: Iterable[tuple[str, str]]) -> None:
        self.candidates: list[Candidate] = []
        for url, title in pages:
            dirs, slug = _dirs_and_slug(url)
            ws = frozenset(words(title) | url_words(url))
            self.candidates.append(Candidate(url, title, ws, tuple(dirs), slug))
        self.postings: dict[str, list[int]] = defaultdict(list)
        self.by_dir: dict[str, list[int]] = defaultdict(list)
        for i, c in enumerate(self.candidates):
            for w in c.words:
                self.postings[w].append(i)
            self.by_dir[c.dirs[0] if c.dirs else ""].append(i)
        n = len(self.candidates)
        self.idf = {w: math.log((n + 1) / (len(ids) + 0.5)) for w, ids in self.postings.items()}
        self.unseen_idf = math.log((n + 1) / 0.5)

    def best(
        self, url: str, query_words: set[str], *, n: int = 1, same_site: bool = True, exclude: str = ""
    ) -> list[tuple[Candidate, float]]:
        """The ``n`` best candidates for the gone page ``url`` described by ``query_words``, with scores."""
        dirs, slug = _dirs_and_slug(url)
        weights = {w: self.idf.get(w, self.unseen_idf) for w in query_words}
        total = sum(weights.values()) or 1.0
        # Summed word weights per candidate, from the posting lists of the query's words; a word
        # on very many pages is only added to candidates found otherwise (it tells none apart).
        found: dict[int, float] = defaultdict(float)
        common = []
        for w, weight in weights.items():
            ids = self.postings.get(w, ())
            if len(ids) > self.COMMON:
                common.append(w)
                continue
            for i in ids:
                found[i] += weight
        if same_site:
            bucket = self.by_dir.get(dirs[0] if dirs else "", ())
            for i in bucket[: self.COMMON]:
                found.setdefault(i, 0.0)
        if not found and common:  # only common words in common: the first pages that have them
            for i in self.postings[common[0]][: self.COMMON]:
                found.setdefault(i, 0.0)
        rough = []
        for i, weight in found.items():
            c = self.candidates[i]
            if c.url == exclude:
                continue
            overlap = (weight + sum(weights[w] for w in common if w in c.words)) / total
            folders = 0.15 * _folders(dirs, c.dirs) if same_site else 0.0
            rough.append(((0.7 if same_site else 0.85) * overlap + folders, i))
        rough.sort(key=lambda pair: (-pair[0], self.candidates[pair[1]].url))
        scored = []
        for partial, i in rough[: self.SHORTLIST]:
            c = self.candidates[i]
            alike = SequenceMatcher(None, slug, c.slug).ratio() if slug and c.slug else 0.0
            scored.append((c, round(partial + 0.15 * alike, 3)))
        scored.sort(key=lambda pair: (-pair[1], pair[0].url))
        return scored[:n]


def _folders(a: Sequence[str], b: Sequence[str]) -> float:
    if not a and not b:
        return 1.0
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return common / max(len(a), len(b))


def live_pages(con: duckdb.DuckDBPyConnection, where: str, params: list[Any]) -> list[tuple[str, str]]:
    """``(url, title)`` of the indexed pages matching ``where`` (on ``pages``) that answer 2xx,
    are not noindex and are no soft 404: the pages a visitor can be sent to."""
    rows = con.execute(
        f"""SELECT url, coalesce(title, '') FROM pages
            WHERE {where} AND status BETWEEN 200 AND 299 AND NOT coalesce(noindex, false)""",
        params,
    ).fetchall()
    return [(url, title) for url, title in rows if soft_404(url, status=200, title=title) is None]


# --- the report ---------------------------------------------------------------------------------


def broken_pages(con: duckdb.DuckDBPyConnection, where: str, params: list[Any]) -> dict[str, PageState]:
    """The broken pages among the targets of the links ``where`` selects."""
    rows = con.execute(
        f"""WITH linked AS (SELECT DISTINCT target_url FROM links WHERE {where})
            SELECT p.url FROM pages p SEMI JOIN linked ON p.url = linked.target_url
            WHERE p.status IS NOT NULL
              AND (p.status NOT BETWEEN 200 AND 299 OR regexp_matches(coalesce(p.title, ''), ?))""",
        [*params, SQL_PREFILTER],
    ).fetchall()
    states = page_states(con, (url for (url,) in rows))
    return {url: s for url, s in states.items() if s.problem is not None}


def link_groups_sql(where: str, *, min_dr: bool) -> str:
    """Per target page of the links ``where`` selects among a list of URLs (the last parameter
    before the rank run's id): referring domains, backlinks, dofollow, best and summed DR, the
    ``weight`` of the domains (each 1 + DR/20), top domains, anchors (most domains first) and one
    linking page per domain (a followed link's, the newest; best rated domains first).
    ``min_dr`` adds a parameter: only referring domains rated at least that count."""
    return f"""
WITH bl AS (
  SELECT target_url, source_domain, source_url, last_seen, coalesce(anchor, '') AS anchor, {DOFOLLOW} AS followed
  FROM links WHERE {where} AND target_url IN (SELECT unnest(?::VARCHAR[]))
),
doms AS (
  SELECT bl.target_url, bl.source_domain, count(*) AS n, count(*) FILTER (WHERE followed) AS d, any_value(r.dr) AS dr,
         first(bl.source_url ORDER BY followed DESC, bl.last_seen DESC, bl.source_url) AS page
  FROM bl LEFT JOIN (SELECT domain, dr FROM domain_ranks WHERE run_id = ?) r ON r.domain = bl.source_domain
  WHERE bl.source_domain IS NOT NULL
  GROUP BY bl.target_url, bl.source_domain
),
kept AS (SELECT * FROM doms{" WHERE dr >= ?" if min_dr else ""}),
anchor_domains AS (
  SELECT target_url, anchor, count(DISTINCT source_domain) AS domains
  FROM bl SEMI JOIN kept USING (target_url, source_domain) WHERE anchor <> ''
  GROUP BY target_url, anchor
),
anchors AS (
  SELECT target_url, list(anchor ORDER BY domains DESC, anchor)[1:{MAX_ANCHORS}] AS anchors
  FROM anchor_domains GROUP BY target_url
),
grouped AS (
  SELECT target_url, count(*) AS referring_domains, sum(n)::BIGINT AS backlinks, sum(d)::BIGINT AS dofollow,
         max(dr) AS best_dr, sum(dr) AS dr_sum, sum(1 + coalesce(dr, 0) / 20) AS weight,
         list(source_domain ORDER BY dr DESC NULLS LAST, n DESC, source_domain)[1:{TOP_N}] AS top_domains,
         list(page ORDER BY dr DESC NULLS LAST, d DESC, n DESC, source_domain)[1:{MAX_PAGES}] AS pages
  FROM kept GROUP BY target_url
)
SELECT g.*, coalesce(a.anchors, []) AS anchors FROM grouped g LEFT JOIN anchors a USING (target_url)"""


@report(columns=BROKEN_COLUMNS)
def broken(
    store: Store,
    target: str | Target,
    *,
    min_dr: float | None = None,
    internal: bool = False,
    limit: int | None = None,
    after: str | None = None,
) -> list[dict[str, Any]]:
    """Your pages that links point at and that are broken, one row per page: :data:`BROKEN_COLUMNS`.

    A page is broken when the newest observation of it (``pages``; ``linkback crawl`` your site to
    fill it), followed through its redirects, answers 4xx or 5xx (``problem`` is the status: "404",
    "410", "503"...), is a soft 404 (``soft_404``: 200 with a "not found" title, in many languages;
    ``soft_404_redirect``: a deep URL redirected to the home page) or redirects in a loop
    (``redirect_loop``). ``status`` is the answer where the redirects ended, at ``final_url``.

    ``referring_domains``, ``backlinks`` and ``dofollow`` count the live links from other sites
    (``internal=True``: from inside the site) to it; ``best_dr`` and ``dr_sum`` are the highest
    and the summed Domain Rating of those domains in the newest rank run, ``top_domains`` the best
    rated of them, ``top_anchors`` the anchors most domains use. ``min_dr`` counts only domains
    rated at least that (needs a rank run). ``redirect_url`` is the closest live page of the same
    host to redirect the broken page to, ``redirect_score`` how close (0..1, see :class:`Matcher`).
    Most referring domains first; ``after`` is a cursor for the page after a row
    (:func:`~linkback.reports._cursor.next_cursor` with sort ``referring_domains``).
    """
    tgt = as_target(target)
    values = None if after is None else read_cursor("broken", "referring_domains", after)
    limit_sql, limit_params = check_limit(limit)
    con = store.con
    where, params = link_where(tgt, internal=internal)
    if internal:  # a redirect's hop is part of the page it starts from, reported there
        where += " AND kind <> 'redirect'"
    states = broken_pages(con, where, params)
    run = latest_run(con)
    paged, paged_params = ("", []) if values is None else after_sql(BROKEN_ORDERS["referring_domains"], values)
    sql = (
        f"SELECT * FROM ({link_groups_sql(where, min_dr=min_dr is not None)})"
        f"{' WHERE ' + paged if paged else ''} ORDER BY {_ORDER_BY}{limit_sql}"
    )
    extra = [] if min_dr is None else [min_dr]
    rows = fetch_rows(
        con, sql, [*params, sorted(states), run[0] if run else None, *extra, *paged_params, *limit_params]
    )
    if not rows and not states:
        require_links(store, tgt)
    suggestions = _suggestions(con, [(r["target_url"], r["anchors"]) for r in rows])
    out = []
    for row in rows:
        state = states[row["target_url"]]
        to, score = suggestions.get(row["target_url"], (None, None))
        out.append(
            {
                "target_url": row["target_url"],
                "status": state.status,
                "problem": state.problem,
                "final_url": state.final_url or None,
                **{k: row[k] for k in ("referring_domains", "backlinks", "dofollow", "best_dr", "dr_sum")},
                "top_domains": row["top_domains"],
                "top_anchors": row["anchors"][:TOP_N],
                "redirect_url": to,
                "redirect_score": score,
            }
        )
    return out


def _suggestions(con: duckdb.DuckDBPyConnection, pages: list[tuple[str, list[str]]]) -> dict[str, tuple[str, float]]:
    """The closest live page of the same host for each broken page (its URL and anchors)."""
    hosts = sorted({host_of(url) for url, _ in pages})
    if not hosts:
        return {}
    titles = former_titles(con, [url for url, _ in pages])
    by_host: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for url, title in live_pages(con, _unnest("host"), [hosts]):
        by_host[host_of(url)].append((url, title))
    matchers = {host: Matcher(found) for host, found in by_host.items()}
    out = {}
    for url, anchors in pages:
        matcher = matchers.get(host_of(url))
        if matcher is None:
            continue
        query = url_words(url) | words(titles.get(url, "")) | set().union(*(words(a) for a in anchors))
        best = matcher.best(url, query, exclude=url)
        if best:
            out[url] = (best[0][0].url, best[0][1])
    return out
