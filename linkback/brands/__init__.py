"""Unlinked brand mentions: the pages that name a site's brand without linking to it.

The brand terms of every site profile (``linkback profile SITE --brand NAME``) are looked for in
the visible text of each page as it is ingested (:mod:`._scan`: one Aho-Corasick automaton, whole
words, case-folded), in ingest's worker processes, on the tree extraction already parsed. Each hit
is kept in ``brand_mentions`` with a snippet and whether the page links to the site
(:mod:`._store`); the page text itself is not kept. ``unlinked`` lists the pages that mention a
site but do not link to it, best domains first; ``rescan`` reads the archives already ingested
again to find terms added later (:mod:`._reports`). What a term may be (one line, the limits)
is :mod:`._terms`'s, for every face that sets a profile.

Example::

    from linkback.brands import unlinked
    from linkback.store import Store

    with Store("linkback.duckdb") as store:
        for row in unlinked(store, "example.com", limit=10):
            print(row["dr"], row["url"], row["snippet"])
"""

from linkback.brands._reports import UNLINKED_COLUMNS, rescan, unlinked
from linkback.brands._scan import BrandTerms, Hit, Scanner, fold, scanner_for

__all__ = ["UNLINKED_COLUMNS", "BrandTerms", "Hit", "Scanner", "fold", "rescan", "scanner_for", "unlinked"]
