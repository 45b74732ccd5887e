"""Country-code top-level domains → countries, from ``linkback/data/cctld_countries.tsv``."""

from __future__ import annotations

from functools import cache
from pathlib import Path

CCTLD_PATH = Path(__file__).resolve().parent.parent / "data" / "cctld_countries.tsv"

#: ``country`` of a TLD that is not a country code (``.com``, ``.org``, ``.shop``).
GENERIC = "generic"


@cache
def cctld_countries() -> dict[str, tuple[str, str]]:
    """ccTLD (lower-case, IDN ccTLDs in punycode) → (ISO 3166-1 alpha-2 code, country name)."""
    table: dict[str, tuple[str, str]] = {}
    with CCTLD_PATH.open(encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#") or line.startswith("tld\t"):
                continue
            tld, code, name = line.split("\t")
            table[tld] = (code, name)
    return table


def country_of(tld: str) -> tuple[str | None, str]:
    """``("GB", "United Kingdom")`` for ``"uk"``; ``(None, "generic")`` for a generic TLD."""
    return cctld_countries().get(tld.lower().lstrip("."), (None, GENERIC))
