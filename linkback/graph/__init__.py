"""Link graphs and the ranks computed on them (issue #3, ../shared/DESIGN.md §4).

``from_edges`` turns integer edge arrays into a :class:`CSRGraph` (distinct links, no self-links);
``pagerank`` ranks it, uniformly (URL/Domain Rating) or from seeds (TrustRank);
``harmonic_centrality`` ranks it by closeness of the pages linking in (exact, or HyperBall when large).
"""

from linkback.graph._csr import CSRGraph, from_edges
from linkback.graph._harmonic import HarmonicResult, harmonic_centrality
from linkback.graph._pagerank import PageRankResult, pagerank

__all__ = ["CSRGraph", "HarmonicResult", "PageRankResult", "from_edges", "harmonic_centrality", "pagerank"]
