"""Generate a synthetic link index in the REAL schema (``links`` of linkback.schema), in DuckDB SQL.

    python bench/gen_index.py --links 50000000 --domains 5000000 --db /tmp/lb-bench-50m.duckdb

Writes two Store files: ``DB`` with ``links`` sorted by ``(target_rhost, target_url)`` (how
linkback clusters it) and, unless ``--no-unsorted``, ``<stem>.unsorted.duckdb`` with the same rows
(same seed) in generation (random) order, the "unclustered" peer. A small ``bench_gen`` table in each file
records the parameters, so a rerun with the same ``--links/--domains/--seed`` reuses the files.

Distribution (as in webgraph-perf.md §9): target domain ids are Zipf-like, p(d) ~ 1/d (log-uniform:
``d = floor(D ** u)``), so with 50 M links over 5 M domains the top domain gets ~2 M links and
domains ranked ~4 k-11 k get 300-700. Domain names are syllable words + the id with a hashed
TLD (so popularity is not correlated with sort position), hosts are the domain, ``www.`` or a
subdomain; sources are 1 page per ~25 links, spread uniformly over the domains; ~10 % of links
are internal. Anchors, rel tokens, kinds, sections, context and dates come from small
vocabularies picked by hash, so strings compress roughly as real ones do.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Timer  # noqa: E402

from linkback.schema import column_names  # noqa: E402
from linkback.store import Store  # noqa: E402

# (tld, reversed tld) with rough weights by repetition.
_TLDS = (
    [("com", "com")] * 10
    + [("org", "org")] * 2
    + [("net", "net")] * 2
    + [
        ("de", "de"),
        ("co.uk", "uk.co"),
        ("io", "io"),
        ("fr", "fr"),
        ("nl", "nl"),
        ("com.au", "au.com"),
        ("info", "info"),
        ("blog", "blog"),
        ("dev", "dev"),
    ]
)
_SYL = [
    "ka",
    "lo",
    "mi",
    "ne",
    "ru",
    "ta",
    "vo",
    "zi",
    "be",
    "do",
    "fa",
    "gu",
    "hi",
    "jo",
    "pe",
    "sa",
    "ti",
    "wu",
    "xe",
    "yo",
    "bar",
    "con",
    "dex",
    "fin",
    "lab",
    "max",
    "net",
    "pix",
    "run",
    "top",
]
_SUBS = ["blog", "shop", "docs", "news", "app", "m", "en", "forum"]
_WORDS = [
    "best",
    "guide",
    "free",
    "review",
    "how",
    "to",
    "cheap",
    "top",
    "news",
    "tips",
    "the",
    "online",
    "home",
    "official",
    "site",
    "tutorial",
    "python",
    "travel",
    "recipes",
    "music",
    "photos",
    "download",
    "tools",
    "open",
    "source",
    "local",
    "shop",
    "sale",
    "2024",
    "blog",
]
_ANCHORS = [
    "click here",
    "read more",
    "here",
    "this article",
    "website",
    "link",
    "source",
    "learn more",
    "homepage",
    "via",
    "more info",
    "this post",
    "official site",
    "visit",
]
_PATHS = ["blog", "post", "article", "product", "page", "docs", "news", "p", "category", "wiki"]
_SECTIONS = ["content"] * 6 + ["nav", "footer", "aside", "comment", "header"]


def _arr(xs: list[str]) -> str:
    return "[" + ", ".join("'" + x.replace("'", "''") + "'" for x in xs) + "]"


def _pick(arr: list[str], h: str) -> str:
    """SQL: arr[h % len + 1] for a UBIGINT hash expression h."""
    return f"{_arr(arr)}[(({h}) % {len(arr)})::BIGINT + 1]"


def generation_sql(links: int, domains: int, seed: int) -> str:
    """SELECT producing ``links`` rows with exactly the columns of ``links``, unsorted."""
    tld = _pick([t for t, _ in _TLDS], "hash(d, {s}1)")
    rtld = _pick([r for _, r in _TLDS], "hash(d, {s}1)")
    name = f"({_pick(_SYL, 'hash(d, {s}2)')} || {_pick(_SYL, 'hash(d, {s}3)')} || d::VARCHAR)"

    def dom(v: str) -> tuple[str, str, str]:
        """(domain, reversed domain, subdomain label) SQL for domain id column ``v``."""
        nm = name.replace("(d,", f"({v},").replace("d::VARCHAR", f"{v}::VARCHAR")
        return (
            f"{nm} || '.' || {tld.replace('(d,', f'({v},')}",
            f"{rtld.replace('(d,', f'({v},')} || '.' || {nm}",
            _pick(_SUBS, f"hash({v}, {{s}}4)"),
        )

    n_pages = max(1, links // 25)
    w = _arr(_WORDS)
    td_dom, td_rdom, td_sub = dom("td")
    sd_dom, _, sd_sub = dom("sd")
    sql = f"""
    WITH g AS (
        SELECT i,
               -- Zipf-like target domain: log-uniform over [1, D]
               least({domains}, floor(exp((hash(i, {{s}}10) % 1000000007) / 1000000007.0
                                        * ln({domains} + 1)))::BIGINT) AS td,
               hash(i, {{s}}11) % {n_pages} AS page,
               hash(i, {{s}}12) AS h1,
               hash(i, {{s}}13) AS h2,
               hash(i, {{s}}14) AS h3
        FROM range({links}) r(i)
    ), g2 AS (
        SELECT *,
               CASE WHEN h1 % 10 = 0 THEN td ELSE hash(page, {{s}}15) % {domains} + 1 END AS sd
        FROM g
    ), t AS (
        SELECT g2.*,
               {td_dom} AS t_dom, {td_rdom} AS t_rdom, {td_sub} AS t_sub,
               {sd_dom} AS s_dom, {sd_sub} AS s_sub,
               h1 % 7 AS t_hk, hash(sd, {{s}}16) % 3 AS s_hk
        FROM g2
    ), u AS (
        SELECT *,
               CASE WHEN t_hk < 3 THEN t_dom WHEN t_hk < 6 THEN 'www.' || t_dom
                    ELSE t_sub || '.' || t_dom END AS t_host,
               CASE WHEN t_hk < 3 THEN t_rdom WHEN t_hk < 6 THEN t_rdom || '.www'
                    ELSE t_rdom || '.' || t_sub END AS t_rhost,
               CASE WHEN s_hk = 0 THEN s_dom WHEN s_hk = 1 THEN 'www.' || s_dom
                    ELSE s_sub || '.' || s_dom END AS s_host,
               CASE WHEN h2 % 3 = 0 THEN '/'
                    ELSE '/' || {_pick(_PATHS, "h2 >> 8")} || '/' || {w}[((h2 >> 16) % {len(_WORDS)})::BIGINT + 1]
                         || '-' || {w}[((h2 >> 24) % {len(_WORDS)})::BIGINT + 1] || '-' || ((h2 >> 32) % 300)::VARCHAR
               END AS t_path,
               CASE WHEN h3 % 100 < 8 THEN 'nofollow' WHEN h3 % 100 < 11 THEN 'ugc'
                    WHEN h3 % 100 < 13 THEN 'sponsored' WHEN h3 % 100 < 15 THEN 'nofollow noopener'
                    ELSE '' END AS rel_,
               (h3 >> 8) % 100 < 8 AS is_img
        FROM t
    )
    SELECT
        'https://' || s_host || '/' || {_pick(_PATHS, "hash(page, {s}20)")} || '/'
            || {w}[(hash(page, {{s}}21) % {len(_WORDS)})::BIGINT + 1] || '-' || (page % 100000)::VARCHAR AS source_url,
        s_host AS source_host,
        s_dom AS source_domain,
        'https://' || t_host || t_path AS target_url,
        t_host AS target_host,
        t_dom AS target_domain,
        t_rhost AS target_rhost,
        CASE WHEN (h3 >> 16) % 4 = 0 THEN {_pick(_ANCHORS, "h3 >> 24")}
             WHEN (h3 >> 16) % 4 = 1 THEN t_dom
             ELSE {w}[((h3 >> 24) % {len(_WORDS)})::BIGINT + 1] || ' ' || {w}[((h3 >> 32) % {len(_WORDS)})::BIGINT + 1]
                  || ' ' || {w}[((h3 >> 40) % {len(_WORDS)})::BIGINT + 1] END AS anchor,
        CASE WHEN is_img THEN 'logo of ' || t_dom ELSE '' END AS alt,
        rel_ AS rel,
        rel_ LIKE 'nofollow%' AS nofollow,
        rel_ = 'ugc' AS ugc,
        rel_ = 'sponsored' AS sponsored,
        CASE WHEN is_img THEN 'image' ELSE 'text' END AS kind,
        {_pick(_SECTIONS, "h3 >> 44")} AS section,
        'as described on ' || t_dom || ', the ' || {w}[((h2 >> 40) % {len(_WORDS)})::BIGINT + 1] || ' '
            || {w}[((h2 >> 48) % {len(_WORDS)})::BIGINT + 1] || ' is worth a look' AS context,
        sd = td AS internal,
        TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(((h1 >> 8) % 31536000)::BIGINT) AS first_seen,
        TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_seconds(((h1 >> 40) % 15552000)::BIGINT) AS last_seen,
        CASE WHEN (h2 >> 56) % 10 = 0
             THEN TIMESTAMPTZ '2025-07-01 00:00:00+00' + to_seconds(((h1 >> 20) % 8640000)::BIGINT) END AS lost_at,
        CASE WHEN (h2 >> 56) % 10 = 0 THEN {_pick(["removed", "page_gone", "redirected"], "h1 >> 50")} END AS lost_reason,
        'warc' AS via,
        false AS noindex
    FROM u
    """
    return sql.replace("{s}", str(seed))


def gen_meta(con) -> tuple[int, int, int] | None:
    try:
        row = con.execute("SELECT links, domains, seed FROM bench_gen").fetchone()
    except Exception:
        return None
    return tuple(row) if row else None


def unsorted_path(db: str | os.PathLike[str]) -> Path:
    p = Path(db)
    return p.with_name(p.stem + ".unsorted" + p.suffix)


def file_mb(path: str | os.PathLike[str]) -> float:
    p = Path(path)
    total = p.stat().st_size if p.exists() else 0
    wal = Path(str(p) + ".wal")
    if wal.exists():
        total += wal.stat().st_size
    return total / 2**20


def _configure(con, memory_limit: str, tmp_dir: str | None) -> None:
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET enable_progress_bar = false")
    con.execute("SET preserve_insertion_order = true")  # INSERT ... ORDER BY keeps the order on disk
    if tmp_dir:
        con.execute(f"SET temp_directory = '{tmp_dir}'")


def ensure_index(
    db: str,
    links: int,
    domains: int,
    *,
    seed: int = 1,
    unsorted: bool = True,
    memory_limit: str = "6GB",
    tmp_dir: str | None = None,
    log=print,
) -> dict:
    """Create (or reuse) the sorted DB and, optionally, the unsorted copy. Returns timings/sizes."""
    want = (links, domains, seed)
    upath = unsorted_path(db)
    info: dict = {"db": db, "links": links, "domains": domains, "seed": seed, "reused": True}

    def matches(path: Path) -> bool:
        if not path.exists():
            return False
        with Store(path) as st:
            meta = gen_meta(st.con)
            if meta is None or tuple(meta[:3]) != want:
                return False
            return st.con.execute("SELECT count(*) FROM links").fetchone()[0] == links

    have_sorted = matches(Path(db))
    have_unsorted = matches(upath) if unsorted else False
    cols = ", ".join(column_names("links"))
    gen = generation_sql(links, domains, seed)

    def build(path: Path, order: str) -> float:
        for p in (path, Path(str(path) + ".wal")):
            p.unlink(missing_ok=True)
        with Store(path) as st, Timer() as t:
            _configure(st.con, memory_limit, tmp_dir)
            st.con.execute(f"INSERT INTO links ({cols}) SELECT {cols} FROM ({gen}) {order}")
            st.con.execute(
                "CREATE OR REPLACE TABLE bench_gen AS SELECT ?::BIGINT links, ?::BIGINT domains, ?::BIGINT seed",
                [links, domains, seed],
            )
            st.con.execute("CHECKPOINT")
        return t.seconds

    if not have_sorted:
        info["reused"] = False
        info["generate_sorted_s"] = build(Path(db), "ORDER BY target_rhost, target_url")
        log(
            f"generated {links:,} links over {domains:,} domains, sorted by (target_rhost, target_url), "
            f"in {info['generate_sorted_s']:.1f} s -> {db} ({file_mb(db):,.0f} MB)"
        )
    if unsorted and not have_unsorted:
        info["reused"] = False
        info["generate_unsorted_s"] = build(upath, "")
        log(
            f"generated the same rows unsorted in {info['generate_unsorted_s']:.1f} s -> {upath} "
            f"({file_mb(upath):,.0f} MB)"
        )
    info["db_mb"] = file_mb(db)
    info["unsorted_db"] = str(upath) if upath.exists() else None
    info["unsorted_mb"] = file_mb(upath) if upath.exists() else None
    return info


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--links", type=int, default=50_000_000)
    ap.add_argument("--domains", type=int, default=5_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--db", default="/tmp/linkback-bench-50m.duckdb")
    ap.add_argument("--no-unsorted", action="store_true", help="do not keep the unsorted copy")
    ap.add_argument("--memory-limit", default="6GB")
    ap.add_argument("--tmp-dir", default=None, help="DuckDB spill directory")
    a = ap.parse_args(argv)
    info = ensure_index(
        a.db,
        a.links,
        a.domains,
        seed=a.seed,
        unsorted=not a.no_unsorted,
        memory_limit=a.memory_limit,
        tmp_dir=a.tmp_dir,
    )
    print(info)


if __name__ == "__main__":
    main()
