"""Vendor exports into claims (DESIGN §1.1, §8): the backlinks a tool says a site has.

A site owner has no web archive of their backlinks, but they have exports: Search Console's
Links export (top linking sites, top linked pages, latest links, more sample links), Bing
Webmaster Tools' backlinks, Ahrefs' backlinks, referring domains and anchors, Semrush's
backlinks, Majestic's and Moz's, a plain list of URLs, or a sheet of the links they track.
``linkback import`` reads each by its header (:mod:`._formats`), row by row (:mod:`._claims`),
and stores the rows as **claims** (:mod:`._store`): unverified until linkback checks them, with
the tool's own numbers (DR, UR, ascore, TF/CF, DA/PA, spam score, lost status...) kept beside
them. The ``claims`` report lists them beside linkback's own index.

Example::

    from linkback.imports import claims, import_files
    from linkback.store import Store

    with Store("linkback.duckdb") as store:
        summary = import_files(store, ["ahrefs-backlinks.csv", "latest-links.csv"], site="example.com")
        rows = claims(store, "example.com", via="ahrefs", limit=10)
"""

from linkback.imports._formats import CHOICES, FORMATS, LEVELS, VIAS
from linkback.imports._job import ImportFile, import_claims, import_files, read_import_files
from linkback.imports._report import CLAIM_COLUMNS, CLAIM_SORTS, claims

__all__ = [
    "CHOICES",
    "CLAIM_COLUMNS",
    "CLAIM_SORTS",
    "FORMATS",
    "ImportFile",
    "LEVELS",
    "VIAS",
    "claims",
    "import_claims",
    "import_files",
    "read_import_files",
]
