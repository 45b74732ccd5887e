"""A guard against markup nested so deeply that parsing it takes quadratic time.

Lexbor, like the HTML standard it follows, checks "is there a ``<p>`` in button scope?" (and the
``<li>``/``<dd>`` variants) by walking the stack of open elements on every ``<div>``, ``<ul>``,
``<section>``, ... start tag. Browsers cap the tree depth (Blink at 512); Lexbor does not, so
100,000 unclosed ``<div>`` take minutes. :func:`too_deep` estimates that work from the bytes before
parsing, and :func:`flatten` removes every tag extraction does not need, so such a page is still
parsed, quickly, without its structure (its links get section ``content``).

The estimate is a clamped running count of ``<x`` (+1) and ``</`` (-1) over the tags, summed at
each start tag. Void elements and implied end tags make it an over-estimate on real pages (on the
1,169 real pages of the shared corpus its largest value is about 4 million, a fifth of the
threshold). It reads only tag boundaries, so end tags that close nothing (``</x>``) can hide real
depth from it; that is a known gap, not a correctness problem (the page is still extracted).
"""

from __future__ import annotations

import re

import numpy as np

#: Bodies smaller than this are never deep enough to matter (at most ~4,000 tags).
SMALL = 12 * 1024
#: Estimated stack-walk steps above which a page is flattened.
MAX_COST = 20_000_000

_LT, _SLASH = 0x3C, 0x2F
_KEEP = rb"a|area|img|link|base|meta|iframe|frame|form|title|script|style|html|head|body"
# [^<>] and not [^>]: an unclosed tag must not make every later "<" rescan the rest of the page.
_OTHER_TAG = re.compile(rb"<(?!/?(?:" + _KEEP + rb")[\s/>])/?[A-Za-z][^<>]*>", re.I)


def too_deep(body: bytes) -> bool:
    """Whether parsing ``body`` as it is risks quadratic time (see module docstring)."""
    if len(body) < SMALL:
        return False
    arr = np.frombuffer(body, np.uint8)
    # Counting the "<" costs a third of finding them, and settles 99 % of the real pages: the
    # k-th start tag is at most k deep, so n of them sum to at most n(n+1)/2.
    n = int(np.count_nonzero(arr == _LT))
    if n * (n + 1) // 2 <= MAX_COST:
        return False
    lt = np.flatnonzero(arr[:-1] == _LT)
    nxt = arr[lt + 1]
    low = nxt | 0x20
    opens = (low >= 0x61) & (low <= 0x7A)
    steps = opens.astype(np.int64) - (nxt == _SLASH)
    depth = np.cumsum(steps)
    depth -= np.minimum.accumulate(np.minimum(depth, 0))
    return int(depth[opens].sum()) > MAX_COST


def flatten(body: bytes) -> bytes:
    """``body`` with every tag other than those extraction reads replaced by a space."""
    return _OTHER_TAG.sub(b" ", body)
