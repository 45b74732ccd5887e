"""Write the small web graph fixtures of tests/test_cc_graph.py in the release's formats.

As cc-webgraph writes them (HostToDomainGraph.java, JoinSortRanks.java, process_webgraph.sh):
gzipped, tab-separated; vertices ``id, reversed name`` sorted by name (domain level: a third
column, the number of hosts), no header; edges ``from id, to id`` sorted by from then to, no
header; ranks with the header ``#harmonicc_pos #harmonicc_val #pr_pos #pr_val #host_rev``
(domain level: ``#n_hosts`` after it), sorted by harmonic-centrality position, ``---`` where a
ranking lacks the vertex. Run: python tests/data/cc/make_fixtures.py
"""

from __future__ import annotations

import gzip
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).parent
RELEASE = "cc-main-2099-jan-feb-mar"

# (reversed domain, hosts); ids are the positions in this sorted list.
DOMAINS = [
    ("com.example", 3),
    ("com.example-shop", 1),
    ("com.news", 2),
    ("de.c", 2),
    ("net.f", 1),
    ("org.a", 1),
    ("org.blog", 4),
    ("uk.co.bbc", 5),
]
# from -> to (by name)
DOMAIN_LINKS = [
    ("com.news", "com.example"),
    ("de.c", "com.example"),
    ("de.c", "org.a"),
    ("net.f", "com.example-shop"),
    ("org.a", "com.example"),
    ("org.blog", "com.news"),
    ("uk.co.bbc", "com.example"),
    ("uk.co.bbc", "com.news"),
    ("com.example", "com.news"),
]
# harmonic centrality and PageRank per domain (None: the ranking lacks it)
DOMAIN_VALUES = {
    "uk.co.bbc": (2.5e7, 3.1e-3),
    "com.news": (1.9e7, 2.2e-3),
    "com.example": (1.2e7, 1.5e-3),
    "org.blog": (9.0e6, 8.0e-4),
    "de.c": (7.5e6, 6.0e-4),
    "org.a": (5.0e6, None),
    "net.f": (3.0e6, 2.0e-4),
    "com.example-shop": (1.0e6, 1.0e-4),
}

HOSTS = [
    "com.example",
    "com.example.blog",
    "com.example.shop",
    "com.news",
    "de.c",
    "de.c.news",
    "org.a",
    "uk.co.bbc",
    "uk.co.bbc.sport",
]
HOST_LINKS = [
    ("com.news", "com.example"),
    ("com.news", "com.example.blog"),
    ("de.c.news", "com.example.blog"),
    ("de.c", "org.a"),
    ("uk.co.bbc.sport", "com.example.shop"),
    ("uk.co.bbc", "com.news"),
    ("com.example", "com.example.blog"),
]
HOST_VALUES = {
    "uk.co.bbc": (3.0e7, 4.0e-3),
    "com.news": (2.0e7, 2.0e-3),
    "uk.co.bbc.sport": (1.5e7, 1.0e-3),
    "com.example": (1.1e7, 9.0e-4),
    "de.c": (8.0e6, 5.0e-4),
    "de.c.news": (6.0e6, 4.0e-4),
    "com.example.blog": (4.0e6, 3.0e-4),
    "org.a": (2.0e6, 2.0e-4),
    "com.example.shop": (1.0e6, 1.0e-4),
}


def _write(path: Path, lines: list[str]) -> None:
    with gzip.open(path, "wt", encoding="utf-8", newline="\n") as fh:
        fh.write("".join(line + "\n" for line in lines))


def _java(value: float) -> str:
    """A number as Java's Float/Double.toString writes it: 2.5E7, 0.0031, 1.0E-4."""
    if 1e-3 <= abs(value) < 1e7:
        return repr(value)
    digits = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits.digits))
    exponent = int(digits.exponent) + len(text) - 1
    return f"{'-' if digits.sign else ''}{text[0]}.{text[1:] or '0'}E{exponent}"


def _positions(values: dict[str, tuple[float, float | None]], which: int) -> dict[str, int]:
    present = [(v[which], name) for name, v in values.items() if v[which] is not None]
    order = sorted(present, key=lambda t: (-t[0], t[1]))
    return {name: pos for pos, (_, name) in enumerate(order, start=1)}


def _ranks(values: dict[str, tuple[float, float | None]], extra: dict[str, int] | None) -> list[str]:
    hc, pr = _positions(values, 0), _positions(values, 1)
    header = "#harmonicc_pos\t#harmonicc_val\t#pr_pos\t#pr_val\t#host_rev" + ("\t#n_hosts" if extra else "")
    lines = [header]
    for name in sorted(values, key=lambda n: hc[n]):
        hv, pv = values[name]
        row = [str(hc[name]), _java(hv), str(pr.get(name, "---")), "---" if pv is None else _java(pv)]
        row.append(name)
        if extra:
            row.append(str(extra[name]))
        lines.append("\t".join(row))
    return lines


def main() -> None:
    ids = {name: i for i, (name, _) in enumerate(DOMAINS)}
    _write(HERE / f"{RELEASE}-domain-vertices.txt.gz", [f"{i}\t{n}\t{h}" for i, (n, h) in enumerate(DOMAINS)])
    edges = sorted((ids[a], ids[b]) for a, b in DOMAIN_LINKS)
    _write(HERE / f"{RELEASE}-domain-edges.txt.gz", [f"{a}\t{b}" for a, b in edges])
    _write(HERE / f"{RELEASE}-domain-ranks.txt.gz", _ranks(DOMAIN_VALUES, dict(DOMAINS)))
    host_dir = HERE / f"{RELEASE}-host"
    (host_dir / "vertices").mkdir(parents=True, exist_ok=True)
    (host_dir / "edges").mkdir(parents=True, exist_ok=True)
    hids = {name: i for i, name in enumerate(HOSTS)}
    # Host-level graphs come in part files: two parts each, in name order.
    half = len(HOSTS) // 2
    _write(host_dir / "vertices" / "part-00000.txt.gz", [f"{i}\t{n}" for i, n in enumerate(HOSTS[:half])])
    _write(host_dir / "vertices" / "part-00001.txt.gz", [f"{i + half}\t{n}" for i, n in enumerate(HOSTS[half:])])
    hedges = sorted((hids[a], hids[b]) for a, b in HOST_LINKS)
    _write(host_dir / "edges" / "part-00000.txt.gz", [f"{a}\t{b}" for a, b in hedges[:3]])
    _write(host_dir / "edges" / "part-00001.txt.gz", [f"{a}\t{b}" for a, b in hedges[3:]])
    _write(host_dir / f"{RELEASE}-host-ranks.txt.gz", _ranks(HOST_VALUES, None))


if __name__ == "__main__":
    main()
