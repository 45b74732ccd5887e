"""Common Crawl, directly (issue 17).

* :func:`cc_fetch` (job ``cc_fetch``, ``linkback cc fetch``): a host's captures looked up in the
  URL index, each WARC record fetched by range request and ingested (:mod:`linkback.cc._fetch`).
* :func:`cc_graph_import` (job ``cc_graph_import``, ``linkback cc graph import``): a host- or
  domain-level web graph release — ranks of every vertex, and the referring hosts/domains of the
  user's domains (:mod:`linkback.cc._graph`).
* :func:`cc_ranks` and :func:`cc_refdomains` (reports): what the import stored.
"""

from linkback.cc._fetch import DATA_URL_ENV, INDEX_URL_ENV, cc_data_url, cc_fetch, cc_index_url
from linkback.cc._graph import cc_graph_import, expand, release_of
from linkback.cc._reports import CC_RANK_COLUMNS, CC_REFDOMAIN_COLUMNS, cc_ranks, cc_refdomains

__all__ = [
    "CC_RANK_COLUMNS",
    "CC_REFDOMAIN_COLUMNS",
    "DATA_URL_ENV",
    "INDEX_URL_ENV",
    "cc_data_url",
    "cc_fetch",
    "cc_graph_import",
    "cc_index_url",
    "cc_ranks",
    "cc_refdomains",
    "expand",
    "release_of",
]
