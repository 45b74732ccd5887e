"""Broken-link building: dead pages on other sites that many sites still link to.

Each such page is an opening: the sites that link to it would rather link to something that
exists, such as a page of yours on the same subject. :func:`prospects_broken` finds them in the
index, with the pages to write to and your pages that could replace them.
"""

from __future__ import annotations

from typing import Any

import duckdb

from linkback.faces import report
from linkback.quality._soft404 import SQL_PREFILTER
from linkback.reports._broken import (
    MAX_PAGES,
    SOFT_404,
    SOFT_404_REDIRECT,
    TOP_N,
    Matcher,
    PageState,
    former_titles,
    link_groups_sql,
    live_pages,
    page_states,
    url_words,
    words,
)
from linkback.reports._ranks import latest_run
from linkback.reports._select import check_limit, fetch_rows
from linkback.store import Store
from linkback.urls import Target, parse_target

PROSPECT_COLUMNS = (
    "target_url",
    "state",
    "problem",
    "status",
    "referring_domains",
    "backlinks",
    "dofollow",
    "best_dr",
    "dr_sum",
    "score",
    "title",
    "top_anchors",
    "contact_pages",
    "own_pages",
    "match_score",
)
#: A host whose every check failed to resolve: the problem of each of its pages.
NO_SUCH_DOMAIN = "no_such_domain"
#: Problems that make a page dead. Any other (401, 403, 429, 5xx, a redirect loop) is "unclear":
#: the page may be there for people who are logged in, or back tomorrow.
DEAD = frozenset({"404", "410", SOFT_404, SOFT_404_REDIRECT, NO_SUCH_DOMAIN})
#: Your pages listed per prospect.
OWN_PAGES = 3
#: The links a prospect's referring domains are counted over: live, from other sites.
_EXTERNAL = "lost_at IS NULL AND NOT coalesce(internal, false)"


def dns_dead_hosts(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Hosts whose every check (``link_checks`` of the monitor) failed to resolve: host -> last check.

    The monitor is the one part that keeps failed fetches with their reason (``error`` = ``dns``);
    the crawler and archives keep only pages that answered, so a host nothing checked is never
    called gone here."""
    rows = con.execute(
        """SELECT l.source_host, max(c.checked_at) FROM link_checks c JOIN ledger l USING (link_id)
           WHERE l.source_host IS NOT NULL
           GROUP BY l.source_host HAVING bool_and(coalesce(c.error, '') = 'dns')"""
    ).fetchall()
    return dict(rows)


def _candidates(
    con: duckdb.DuckDBPyConnection, min_domains: int, skip_domain: str | None, dead_hosts: dict[str, Any]
) -> dict[str, PageState]:
    """The pages of other sites linked from ``min_domains`` or more domains that are dead or unclear."""
    skip = " AND target_domain <> ?" if skip_domain else ""
    rows = con.execute(
        f"""WITH refs AS (
              SELECT target_url, any_value(target_host) AS target_host FROM links
              WHERE {_EXTERNAL}{skip} GROUP BY target_url
              HAVING count(DISTINCT source_domain) >= ?
            )
            SELECT r.target_url, r.target_host, p.last_seen FROM refs r LEFT JOIN pages p ON p.url = r.target_url
            WHERE r.target_host IN (SELECT unnest(?::VARCHAR[]))
               OR (p.status IS NOT NULL
                   AND (p.status NOT BETWEEN 200 AND 299 OR regexp_matches(coalesce(p.title, ''), ?)))""",
        [*([skip_domain] if skip_domain else []), min_domains, sorted(dead_hosts), SQL_PREFILTER],
    ).fetchall()
    gone: dict[str, PageState] = {}
    fetched = []
    for url, host, last_seen in rows:
        checked = dead_hosts.get(host)
        if checked is not None and (last_seen is None or last_seen < checked):
            gone[url] = PageState(url, None, "", "", NO_SUCH_DOMAIN)
        else:
            fetched.append(url)
    states = {url: s for url, s in page_states(con, fetched).items() if s.problem is not None}
    return {**states, **gone}


def _topic_words(topic: str | None) -> set[str]:
    if topic is None:
        return set()
    found = words(topic)
    if not found:
        raise ValueError(f"--topic {topic!r}: give a word or more to look for in anchors, titles and URLs")
    return found


def _on_topic(topic: set[str], page_words: set[str]) -> bool:
    # A word of the topic, or its start ("grinder" finds "grinders"), among the page's words.
    return any(w.startswith(t) for t in topic for w in page_words)


def _near_pages(con: duckdb.DuckDBPyConnection, near: Target) -> Matcher:
    if near.kind == "domain":
        pages = live_pages(con, "domain = ?", [near.domain])
    elif near.kind == "host":
        pages = live_pages(con, "host = ?", [near.value])
    else:
        prefixes = near.prefixes()
        starts = " OR ".join("starts_with(url, ?)" for _ in prefixes)
        pages = live_pages(con, f"rhost = ? AND ({starts})", [near.rhost, *prefixes])
    return Matcher(pages)


@report("prospects_broken", columns=PROSPECT_COLUMNS)
def prospects_broken(
    store: Store,
    *,
    near: str | None = None,
    topic: str | None = None,
    min_domains: int = 3,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Dead pages on other sites that at least ``min_domains`` referring domains still link to:
    broken-link building prospects, one row each with :data:`PROSPECT_COLUMNS`.

    **Dead** (``state``) is a page whose newest observation, through its redirects, answers 404 or
    410, is a soft 404 (``soft_404``: a "not found" page served with 200; ``soft_404_redirect``: a
    deep URL sent to its home page), or whose host no longer resolves (``no_such_domain``: every
    monitor check of it failed with a DNS error; only the monitor records failed fetches).
    **Unclear** is any other 4xx/5xx answer, 401 and 403 among them: such a page may be there for
    people who log in, or back tomorrow; it is listed, flagged, never called dead.

    **Ranking.** Dead pages come before unclear ones. Within each, by ``score``: the sum over the
    referring domains (live links from other sites) of 1 + DR/20, so every domain counts (each is
    one site to write to) and a well rated one counts more (DR 60 counts as four domains of DR 0);
    before a rank run every domain counts 1 and the score is the referring domains. Ties: more
    referring domains, then the URL. ``best_dr`` and ``dr_sum`` are the highest and summed DR.

    ``contact_pages`` are the linking pages to write to: one per referring domain (a followed
    link's, the newest), the best rated domains first. ``title`` is the page's title when it was
    last seen alive, ``top_anchors`` the anchors most domains use for it.

    ``near`` is your site (a domain, host or URL prefix): its pages are matched against each
    prospect's title, anchors and URL (``own_pages``, best first, and the best ``match_score``,
    0..1; see :class:`~linkback.reports._broken.Matcher`), prospects with no word in common with
    any of them are left out (off your topic), and so are the site's own pages. ``topic`` keeps
    the prospects whose anchors, title or URL have one of its words (or a word starting with it).
    """
    if isinstance(min_domains, bool) or not isinstance(min_domains, int) or min_domains < 1:
        raise ValueError(f"min_domains must be a whole number >= 1, not {min_domains!r}")
    check_limit(limit)  # the rows are cut here, once ranked
    topic_words = _topic_words(topic)
    near_target = parse_target(near) if near is not None else None
    con = store.con
    states = _candidates(con, min_domains, near_target.domain if near_target else None, dns_dead_hosts(con))
    if not states:
        return []
    run = latest_run(con)
    rows = fetch_rows(con, link_groups_sql(_EXTERNAL, min_dr=False), [sorted(states), run[0] if run else None])
    titles = former_titles(con, [r["target_url"] for r in rows])
    matcher = _near_pages(con, near_target) if near_target else None
    if matcher is not None and not matcher.candidates:
        raise ValueError(f"--near {near}: the index has no live page of it to match; crawl it first ('linkback crawl')")
    out: list[dict[str, Any]] = []
    ranked: list[tuple[bool, float, int, str]] = []
    for row in rows:
        url = row["target_url"]
        if row["referring_domains"] < min_domains:
            continue
        title = titles.get(url)
        described = url_words(url) | words(title or "") | set().union(*(words(a) for a in row["anchors"]))
        if topic_words and not _on_topic(topic_words, described):
            continue
        own: list[str] = []
        match = None
        if matcher is not None:
            best = matcher.best(url, described, n=OWN_PAGES, same_site=False)
            if not best:
                continue  # nothing of your site is about this
            own, match = [c.url for c, _ in best], best[0][1]
        state = states[url]
        ranked.append(
            (
                state.problem not in DEAD,
                -row["weight"],
                -row["referring_domains"],
                url,
            )
        )
        out.append(
            {
                "target_url": url,
                "state": "dead" if state.problem in DEAD else "unclear",
                "problem": state.problem,
                "status": state.status,
                **{k: row[k] for k in ("referring_domains", "backlinks", "dofollow", "best_dr", "dr_sum")},
                "score": round(row["weight"], 1),
                "title": title,
                "top_anchors": row["anchors"][:TOP_N],
                "contact_pages": row["pages"][:MAX_PAGES],
                "own_pages": own,
                "match_score": match,
            }
        )
    order = sorted(range(len(out)), key=ranked.__getitem__)
    return [out[i] for i in order][:limit]
