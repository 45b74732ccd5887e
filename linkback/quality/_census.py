"""Which toxicity signals fire on an index's referring domains, and how many of them a disavow file
would take: the check that the signals hold on real data (bench/bench_toxicity_real.py prints it
for the real pages bundled for tests; tests/test_toxicity_real.py asserts on it).

The *popular targets* are the domains with the most referring domains. For each, the census
counts its referring domains and those scoring at least the disavow threshold; per signal, it
counts the distinct referring domains of those targets on which the signal fired.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from linkback.quality._files import DISAVOW_MIN_SCORE
from linkback.quality._signals import SIGNALS
from linkback.quality._toxicity import toxic_domains
from linkback.store import Store


@dataclass(frozen=True)
class TargetCount:
    target: str
    refdomains: int
    disavowed: int  # referring domains at or above the threshold
    highest: int  # the highest toxicity of its referring domains
    worst: list[dict[str, Any]]  # the rows at or above the threshold (domain, toxicity, signals, reasons)

    @property
    def share(self) -> float:
        return self.disavowed / self.refdomains if self.refdomains else 0.0


@dataclass(frozen=True)
class Census:
    min_score: int
    targets: list[TargetCount]
    refdomains: int  # distinct referring domains of all the targets
    fired: dict[str, set[str]] = field(default_factory=dict)  # signal -> referring domains it fired on

    @property
    def worst_share(self) -> float:
        return max((t.share for t in self.targets), default=0.0)


def popular_targets(store: Store, n: int = 20) -> list[str]:
    """The ``n`` domains with the most referring domains (live links from other domains), most first."""
    rows = store.con.execute(
        """SELECT target_domain FROM links
        WHERE lost_at IS NULL AND source_domain <> target_domain AND NOT coalesce(internal, false)
        GROUP BY target_domain ORDER BY count(DISTINCT source_domain) DESC, target_domain LIMIT ?""",
        [n],
    ).fetchall()
    return [d for (d,) in rows]


def signal_census(store: Store, targets: list[str], *, min_score: int = DISAVOW_MIN_SCORE) -> Census:
    """Score the referring domains of each of ``targets`` (with :func:`toxic_domains`) and count."""
    counts = []
    fired: dict[str, set[str]] = {s.name: set() for s in SIGNALS}
    everyone: set[str] = set()
    for target in targets:
        rows = toxic_domains(store, target)
        for row in rows:
            everyone.add(row["domain"])
            for name in row["signals"]:
                fired.setdefault(name, set()).add(row["domain"])
        worst = [r for r in rows if r["toxicity"] >= min_score]
        highest = max((r["toxicity"] for r in rows), default=0)
        counts.append(TargetCount(target, len(rows), len(worst), highest, worst))
    return Census(min_score, counts, len(everyone), fired)


def census_lines(census: Census) -> list[str]:
    """The census as plain text tables: per target, then per signal."""
    lines = [
        f"{'target':<24} {'refdomains':>10} {f'>= {census.min_score}':>6} {'share':>7} {'max':>4}  at or above",
    ]
    for t in census.targets:
        worst = "; ".join(
            f"{r['domain']} {r['toxicity']}: {r.get('reasons') or ' '.join(r['signals'])}" for r in t.worst
        )
        lines.append(
            f"{t.target:<24} {t.refdomains:>10} {t.disavowed:>6} {t.share:>7.2%} {t.highest:>4}  {worst[:200]}"
        )
    lines += ["", f"{'signal':<18} {'level':<6} {'weight':>6} {'fires on':>9} {'of':>5} {'share':>7}"]
    for s in SIGNALS:
        n = len(census.fired.get(s.name, ()))
        share = n / census.refdomains if census.refdomains else 0.0
        lines.append(f"{s.name:<18} {s.level:<6} {s.weight:>6g} {n:>9} {census.refdomains:>5} {share:>7.2%}")
    return lines
