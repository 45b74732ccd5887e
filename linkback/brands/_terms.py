"""The terms of a site profile (its brands and keywords): what one may be, and how a profile keeps
them. One rule for every face: ``set_profile`` (CLI, API and dashboard alike) checks the terms with
:func:`check_terms`; every reader of a stored profile splits it with :func:`split_terms`.

A profile keeps each list as one text, a term a line, and reads it back with ``str.splitlines``,
which breaks at every kind of line break (``\\n``, ``\\r``, ``\\v``, ``\\f``, ``\\x1c``-``\\x1e``,
``\\x85``, U+2028, U+2029). So a term holding one is refused, not split: the term given
(``--brand "Rival<U+2028>Widgets"``) would otherwise be stored as one and looked for as two, each
word on its own (every page naming "widgets" a mention). The dashboard's form, a term a line,
splits what is typed with :func:`split_terms` before it reaches ``set_profile``.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Brand terms a profile holds, and characters one term holds: each brand term is looked for in
#: every page ingested.
MAX_TERMS, MAX_TERM_CHARS = 50, 200
#: Keywords a profile holds: they only class the anchors of its links (an SEO team's list may be
#: long), so more of them, but still bounded.
MAX_KEYWORDS = 1000


def split_terms(text: str | None) -> list[str]:
    """The terms of a stored list (or of text typed a term a line), stripped, each once, in order."""
    return list(dict.fromkeys(t.strip() for t in (text or "").splitlines() if t.strip()))


def join_terms(terms: Iterable[str]) -> str:
    """Terms as a profile stores them (checked by :func:`check_terms`: none holds a line break)."""
    return "\n".join(terms)


def check_terms(field: str, terms: Iterable[str], most: int = MAX_TERMS) -> list[str]:
    """``terms`` as a profile keeps them: stripped, empty ones dropped, each once, sorted.

    Raises ValueError naming ``field`` (``brands`` or ``keywords``) and the term for a term that
    holds a line break or is longer than :data:`MAX_TERM_CHARS`, or more than ``most`` terms.
    """
    clean = sorted({t.strip() for t in terms if t.strip()})
    for term in clean:
        if len(term.splitlines()) > 1:
            breaks = sorted({f"U+{ord(c):04X}" for c in term if len(f"a{c}b".splitlines()) > 1})
            raise ValueError(
                f"{field}: the term {term[:80]!r} holds a line break ({', '.join(breaks)}); "
                "a term is one line: give each term on its own"
            )
        if len(term) > MAX_TERM_CHARS:
            raise ValueError(f"{field}: a term has {len(term)} characters; at most {MAX_TERM_CHARS}: {term[:40]!r}…")
    if len(clean) > most:
        raise ValueError(f"{field}: {len(clean)} terms given; at most {most}")
    return clean
