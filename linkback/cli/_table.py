"""Tables that fit the terminal: which columns to show, how wide, and how to shorten a value.

A table is laid out for the terminal's width (``COLUMNS``, else the terminal's, else 80 when
stdout is not a terminal, as under ``make`` or in a pipe), one row a line:

* numbers, dates and flags (``fixed`` columns) are never cut or wrapped;
* URLs, hosts and paths (``middle`` columns) lose their middle, so the host and the end stay:
  ``https://example.com/…/page.html``;
* other text (``end`` columns: anchors, signals) loses its end;
* a header breaks after an underscore (``referring_`` / ``domains``), never inside a word;
* when even the shortest readable widths do not fit, whole columns are hidden, the least useful
  first (:data:`HIDE_FIRST`, then from the right; never the first column), and the caption says
  which and that ``--wide`` shows them.

``--wide`` lays the table out at its natural width instead: every column, every value whole.
Machine formats (JSON, JSON lines, CSV) never come here.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

#: Width when neither ``COLUMNS`` nor a terminal says.
DEFAULT_WIDTH = 80
#: Cells between two columns: no vertical rules, which would cost three cells a column.
GAP = 2
#: The narrowest a shortened URL, host or path gets: ``https://ex…/page.html``.
MIDDLE_MIN = 20
#: The narrowest a shortened text gets.
END_MIN = 12
ELLIPSIS = "…"

#: Columns hidden first, in this order, when a table is too wide; any others go from the right.
#: Where a link sits and when it was last seen matter less than what links where, and when first.
HIDE_FIRST = (
    "context",
    "via",
    "alt",
    "ranked_at",
    "last_seen",
    "updated_at",
    "section",
    "rel",
    "kind",
    "lost_at",
    "first_seen",
    "anchor_class",
    "country_code",
    "dofollow",
    "has_secret",
)

#: Kinds of column: how a value may be shortened.
FIXED, MIDDLE, END = "fixed", "middle", "end"


def terminal_width() -> int:
    """``COLUMNS``, else the terminal's width, else :data:`DEFAULT_WIDTH`."""
    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns


def shorten_middle(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, its middle replaced by ``…``.

    A URL keeps its ``scheme://host/`` (up to three fifths of the width), and an https URL that
    must be shortened loses its ``https://``, as browsers show it, so that its host shows:
    ``example.com/blog/…/last-part`` (an ``http://`` stays, so the two never look alike).
    A path keeps its end from a slash on (``/w…/aut/example.warc.gz``: files differ at the end);
    anything else (a domain) two fifths of its start.
    """
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    room = width - 1
    head = room * 2 // 5
    if "/" in text and "://" not in text:
        # The longest end from a slash on that leaves a character of the start.
        cut = text.find("/", max(len(text) - room + 1, 1))
        head = room - (len(text) - cut) if cut > 0 else room // 4
    host_at = -1
    if text.startswith("https://"):
        text, host_at = text[len("https://") :], 0
        if cell_len(text) <= width:
            return text
    elif text.startswith("http://"):
        host_at = len("http://")
    if host_at >= 0:
        end_of_host = text.find("/", host_at)
        origin = len(text) if end_of_host < 0 else end_of_host + 1
        head = max(head, min(origin, room * 3 // 5))
    return _take(text, head) + ELLIPSIS + _take_end(text, room - head)


def shorten_end(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, its end replaced by ``…``."""
    if cell_len(text) <= width:
        return text
    return _take(text, width - 1) + ELLIPSIS if width > 0 else ""


def _take(text: str, cells: int) -> str:
    out, used = [], 0
    for ch in text:
        w = cell_len(ch)
        if used + w > cells:
            break
        out.append(ch)
        used += w
    return "".join(out)


def _take_end(text: str, cells: int) -> str:
    return _take(text[::-1], cells)[::-1]


def header_lines(name: str, width: int) -> str:
    """``name`` broken after underscores and spaces into lines of at most ``width`` cells (where
    it can); a line does not end in a space."""
    pieces = re.findall(r"[^_ ]*[_ ]|[^_ ]+$", name)
    lines = [""]
    for piece in pieces:
        if lines[-1] and cell_len(lines[-1] + piece) > width:
            lines.append("")
        lines[-1] += piece
    return "\n".join(line.rstrip(" ") for line in lines)


def _header_min(name: str) -> int:
    """The widest piece of ``name`` broken after its underscores."""
    return max(cell_len(line) for line in header_lines(name, 1).split("\n"))


@dataclass
class Column:
    """One column as it will be laid out: its cells are plain or styled text, one line each."""

    name: str
    kind: str
    cells: list[Text]
    right: bool = False

    @property
    def natural(self) -> int:
        return max([cell_len(self.name), *(c.cell_len for c in self.cells)])

    @property
    def least(self) -> int:
        """The narrowest this column may get and stay readable (its header broken into lines)."""
        widest = max([0, *(c.cell_len for c in self.cells)])
        floor = {FIXED: widest, MIDDLE: MIDDLE_MIN, END: END_MIN}[self.kind]
        return max(_header_min(self.name), min(widest, floor))


@dataclass
class Layout:
    columns: list[Column]
    widths: list[int]
    hidden: list[str]
    shortened: bool


def layout(columns: Sequence[Column], width: int | None) -> Layout:
    """Choose the columns and their widths for ``width`` cells (None: no limit, as ``--wide``)."""
    shown = list(columns)
    if width is None:
        return Layout(shown, [c.natural for c in shown], [], False)
    hidden: list[str] = []
    while len(shown) > 1 and sum(c.least for c in shown) + GAP * (len(shown) - 1) > width:
        victim = _victim(shown)
        shown.remove(victim)
        hidden.append(victim.name)
    room = width - GAP * (len(shown) - 1)
    widths = _share(shown, room)
    shortened = any(w < c.natural for c, w in zip(shown, widths, strict=True))
    return Layout(shown, widths, hidden, shortened)


def _victim(shown: list[Column]) -> Column:
    by_name = {c.name: c for c in shown[1:]}
    for name in HIDE_FIRST:
        if name in by_name:
            return by_name[name]
    return shown[-1]


def _share(shown: list[Column], room: int) -> list[int]:
    """Widths for ``room`` cells: natural widths if they fit; else headers broken into lines
    first (fixed columns at their least, widened back while there is room); else values
    shortened too, the room left over fixed columns shared out, URLs getting twice the share of
    text, none under its least width."""
    widths = [c.natural for c in shown]
    if sum(widths) <= room:
        return widths
    fixed = [i for i, c in enumerate(shown) if c.kind == FIXED]
    for i in fixed:
        widths[i] = shown[i].least
    if sum(widths) <= room:
        _fill(shown, widths, fixed, room - sum(widths), weight=dict.fromkeys(fixed, 1))
        return widths
    flexible = [i for i, c in enumerate(shown) if c.kind != FIXED]
    for i in flexible:
        widths[i] = shown[i].least
    weight = {i: 2 if shown[i].kind == MIDDLE else 1 for i in flexible}
    _fill(shown, widths, flexible, room - sum(widths), weight=weight)
    return widths


def _fill(shown: list[Column], widths: list[int], which: list[int], spare: int, *, weight: dict[int, int]) -> None:
    """Widen the columns ``which`` towards their natural widths with ``spare`` cells, by weight."""
    while spare > 0:
        wanting = [i for i in which if widths[i] < shown[i].natural]
        if not wanting:
            return
        total = sum(weight[i] for i in wanting)
        given = 0
        for i in wanting:
            step = min(max(spare * weight[i] // total, 1), shown[i].natural - widths[i], spare - given)
            widths[i] += step
            given += step
            if given == spare:
                break
        spare -= given


def _shorten(cell: Text, kind: str, width: int) -> Text:
    if cell.cell_len <= width or kind == FIXED:
        return cell
    plain = cell.plain
    short = shorten_middle(plain, width) if kind == MIDDLE else shorten_end(plain, width)
    return Text(short, style=cell.style)


def build(
    title: str,
    columns: Sequence[Column],
    *,
    wide: bool = False,
    width: int | None = None,
    notes: Sequence[str] = (),
    total_row: bool = False,
) -> Table:
    """A Rich table of ``columns`` laid out for ``width`` (default :func:`terminal_width`), or at
    its natural width with ``wide``; ``notes`` go in the caption, after any hidden columns; with
    ``total_row`` a rule sets the last row apart."""
    limit = None if wide else (width or terminal_width())
    plan = layout(columns, limit)
    caption = list(notes)
    if plan.hidden:
        n = len(plan.hidden)
        caption.append(
            f"{n} column{'s' if n > 1 else ''} hidden ({', '.join(plan.hidden)}): --wide shows all"
        )
    elif plan.shortened:
        caption.append("long values shortened (…): --wide shows them whole")
    table = Table(
        title=Text(title) if title else None,
        title_justify="left",
        caption=Text("\n".join(caption)) if caption else None,
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1, 0, 0),
    )
    for col, w in zip(plan.columns, plan.widths, strict=True):
        table.add_column(
            header_lines(col.name, w),
            justify="right" if col.right else "left",
            width=w,
            no_wrap=True,
            overflow="ellipsis",
        )
    n_rows = len(plan.columns[0].cells) if plan.columns else 0
    for r in range(n_rows):
        if total_row and r == n_rows - 1:
            table.add_section()
        table.add_row(*(_shorten(c.cells[r], c.kind, w) for c, w in zip(plan.columns, plan.widths, strict=True)))
    return table


def console_for(table: Table, *, stderr: bool = False) -> Console:
    """A console wide enough that Rich never re-wraps a table laid out here (a ``--wide`` one
    included: the terminal wraps its long lines, not Rich)."""
    probe = Console(width=10**6)
    return Console(width=max(probe.measure(table).maximum, 20), highlight=False, stderr=stderr)
