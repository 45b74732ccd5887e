"""From PageRank probabilities to the 0–100 ratings people read (Domain, URL and host Rating, trust).

**Raw rank.** With uniform teleport and dangling mass spread uniformly, every node receives the same
base amount ``c = ((1 − α) + α·D) / N`` (``D`` the mass on dangling nodes), and
``PR(v) = c + α · Σ_{u→v} PR(u) / out(u)``. Dividing by ``c`` gives the *raw rank*

    r(v) = 1 + α · Σ_{u→v} r(u) / out(u)

which depends only on the part of the graph upstream of ``v``: adding domains, or links among
domains that never reach ``v``, leaves ``r(v)`` exactly as it was, where ``PR(v)`` itself would
shrink with every new node. A node nobody links to has ``r = 1``.

**Rating** (DR, UR, host rating): ``100 · log10(r) / 6``, capped at 100. Nobody links to it → 0; every
factor of 10 in raw rank adds 16.7 points; 100 is a raw rank of one million (on the 50 M-link bench
index the most linked domain has about 10⁵·⁵). The scale is fixed, not fitted to the current maximum,
so a rating never jumps because something unrelated grew.

**Trust** (TrustRank, anti-trust): the personalised PageRank ``T`` from ``S`` seeds, relative to
what a seed gets from teleport alone, ``t = T · S / (1 − α)``, on the same log scale anchored at
the seeds: ``100 + 100 · log10(t) / 6``, clipped to 0–100. A seed scores about 100, a domain one
dofollow link away from a seed linking to 10 domains about 82, and a domain the seeds cannot reach 0.
"""

from __future__ import annotations

import numpy as np

from linkback.graph._csr import CSRGraph
from linkback.graph._pagerank import PageRankResult

#: Decades of raw rank that span the 0–100 scale.
DECADES = 6.0


def raw_rank(graph: CSRGraph, result: PageRankResult, damping: float) -> np.ndarray:
    """``PR / c``: PageRank relative to that of a node nobody links to (see the module docs)."""
    x = result.scores
    if graph.n == 0:
        return np.zeros(0)
    dangling = float(x[graph.out_degree == 0].sum())
    base = ((1.0 - damping) + damping * dangling) / graph.n
    return np.maximum(x / base, 1.0)


def rating(raw: np.ndarray) -> np.ndarray:
    """0–100 from a raw rank (``>= 1``): ``100 · log10(raw) / 6``, capped at 100."""
    with np.errstate(divide="ignore"):
        return np.clip(100.0 * np.log10(np.maximum(raw, 1.0)) / DECADES, 0.0, 100.0)


def trust_scale(result: PageRankResult, seeds: int, damping: float) -> np.ndarray:
    """0–100 from a personalised PageRank over ``seeds`` seeds; exactly 0 where no trust arrives."""
    relative = result.scores * seeds / (1.0 - damping)
    out = np.zeros_like(relative)
    positive = relative > 0
    out[positive] = 100.0 + 100.0 * np.log10(relative[positive]) / DECADES
    return np.clip(out, 0.0, 100.0)
