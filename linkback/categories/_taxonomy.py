"""The IAB Tech Lab Content Taxonomy 3.1, as bundled in ``linkback/data`` (CC BY 3.0; credit and
licence in ``iab_content_taxonomy.LICENSE``).

Only Tier 1 and Tier 2 are categories here; the names of Tier 3 and 4 nodes become words of the
Tier-2 node they sit under (``Angel Investment`` is a word of *Business*). The Tier-1 node
*Genres* (film and TV genres: Comedy, Horror...) describes media, not what a site is about, and is
left out of the categories.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from linkback.errors import LinkbackError

TAXONOMY_FILE = Path(__file__).resolve().parent.parent / "data" / "iab_content_taxonomy_3.1.tsv"
TAXONOMY_VERSION = "IAB Content Taxonomy 3.1"
#: One line of credit, shown wherever the categories are (the licence asks for it).
CREDIT = "Categories: IAB Tech Lab Content Taxonomy 3.1, CC BY 3.0."

#: Tier-1 nodes that are not topics a site is about.
LEFT_OUT = frozenset({"Genres"})

_HEADER = ["Unique ID", "Parent", "Name", "Tier 1", "Tier 2", "Tier 3", "Tier 4"]


@dataclass(frozen=True)
class Node:
    """A Tier-1 or Tier-2 category: its IAB id and names, and the names of the nodes below it."""

    id: str
    tier1: str
    tier2: str | None = None
    below: tuple[str, ...] = field(default=())

    @property
    def tier(self) -> int:
        return 1 if self.tier2 is None else 2

    @property
    def key(self) -> str:
        """``Tier 1`` or ``Tier 1 > Tier 2``: how the word lists and the reports name it."""
        return self.tier1 if self.tier2 is None else f"{self.tier1} > {self.tier2}"


@dataclass(frozen=True)
class Taxonomy:
    nodes: dict[str, Node]  # by key

    def tier1(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.tier == 1]

    def children(self, tier1: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.tier == 2 and n.tier1 == tier1]

    def get(self, key: str) -> Node:
        try:
            return self.nodes[key]
        except KeyError:
            raise LinkbackError(f"{key!r} is not a Tier-1 or Tier-2 category of the {TAXONOMY_VERSION}") from None


def read_taxonomy(path: Path) -> Taxonomy:
    """The Tier-1 and Tier-2 nodes of a Content Taxonomy 3.x TSV file."""
    try:
        with path.open(encoding="utf-8", newline="") as f:
            rows = [[cell.strip() for cell in row] for row in csv.reader(f, delimiter="\t")]
    except (OSError, UnicodeDecodeError) as exc:
        raise LinkbackError(f"{path}: cannot read the taxonomy ({exc})") from exc
    if len(rows) < 3 or rows[1][: len(_HEADER)] != _HEADER:
        raise LinkbackError(f"{path}: not a Content Taxonomy 3.x file (line 2 is not {' / '.join(_HEADER)})")
    nodes: dict[str, Node] = {}
    below: dict[str, list[str]] = {}
    for line, row in enumerate(rows[2:], start=3):
        if not any(row):
            continue
        cells = (row + [""] * len(_HEADER))[: len(_HEADER)]
        uid, _parent, name, t1, t2, t3, t4 = cells
        if not uid or not t1:
            raise LinkbackError(f"{path}, line {line}: a node needs a Unique ID and a Tier 1 name")
        if t1 in LEFT_OUT:
            continue
        if not t2:
            nodes[t1] = Node(uid, t1)
        elif not t3:
            nodes[f"{t1} > {t2}"] = Node(uid, t1, t2)
        else:
            below.setdefault(f"{t1} > {t2}", []).append(t4 or t3 or name)
    for key, names in below.items():
        if key in nodes:
            node = nodes[key]
            nodes[key] = Node(node.id, node.tier1, node.tier2, tuple(names))
    return Taxonomy(nodes)


@lru_cache(maxsize=1)
def taxonomy() -> Taxonomy:
    """The bundled taxonomy."""
    return read_taxonomy(TAXONOMY_FILE)
