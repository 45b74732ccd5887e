"""Categories of referring domains: what each domain is about, by the IAB Tech Lab Content
Taxonomy 3.1 (Tier 1 and 2; bundled in ``linkback/data`` with its CC BY 3.0 licence).

Each domain is classified offline from what the store has of it (:mod:`._gather`): its pages'
titles and URL words, its host names, the anchors and words around its pages' content links,
its menus, and the anchors of other sites' links to it. The classifier (:mod:`._classify`) is a
transparent word-list one: every category has a list of words and phrases in several languages
(:mod:`._terms`, plus the taxonomy's own names), the words found are weighted by where they were
found and how specific they are, and the best-scoring category wins, with a confidence and the
words that decided it. ``categorize`` (:mod:`._job`) keeps each domain's category in
``domain_categories``; the reports (:mod:`._reports`) are ``categories`` (the mix of a target's
referring domains) and ``domain_category`` (one domain). The categories also feed the
``off_topic`` toxicity signal (:mod:`linkback.quality`).

Example::

    from linkback.categories import categories, categorize
    from linkback.store import Store

    with Store("linkback.duckdb") as store:
        categorize(store)
        for row in categories(store, "example.com", tier=1, limit=10):
            print(row["category"], row["domains"], f"{row['share']:.0%}", row["examples"])
"""

from linkback.categories._classify import CLASSIFIER_VERSION, Category, Document, classify
from linkback.categories._job import categorize, domain_of
from linkback.categories._reports import (
    CATEGORY_COLUMNS,
    DOMAIN_CATEGORY_COLUMNS,
    NOT_CATEGORIZED,
    UNKNOWN,
    categories,
    domain_category,
)
from linkback.categories._taxonomy import CREDIT, TAXONOMY_VERSION, taxonomy

__all__ = [
    "CATEGORY_COLUMNS",
    "CLASSIFIER_VERSION",
    "CREDIT",
    "DOMAIN_CATEGORY_COLUMNS",
    "NOT_CATEGORIZED",
    "TAXONOMY_VERSION",
    "UNKNOWN",
    "Category",
    "Document",
    "categories",
    "categorize",
    "classify",
    "domain_category",
    "domain_of",
    "taxonomy",
]
