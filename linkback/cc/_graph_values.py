"""The values of a web graph release, checked for ``cc graph import`` (:mod:`linkback.cc._graph`).

DuckDB's CSV reader refuses a line whose columns do not parse (with its line number); what parses
and still is no value is refused here: a rank position below 1, a negative centrality, PageRank
or number of hosts, a value that is no finite number, a name that is no host name (the rule of
:func:`linkback.urls.is_host_name`, on the reversed name: its labels are the same), a vertex
with a negative id. The first line of a name (ranks) or of an id (vertices) wins; a later one is
a duplicate, counted and skipped.

The reader gives no line numbers for the lines it reads, so the checks run over what was read
(the ranks as stored, the few vertices the kept edges name), and only when something is refused
are the files read again line by line (:func:`scan`, ``WITH ORDINALITY``) to say on which lines.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

#: :func:`linkback.urls.is_host_name`'s DNS labels, as RE2 (DuckDB's regular expressions) reads them.
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
HOST_NAME_RE = rf"{_LABEL}(?:\.{_LABEL})*"
#: Bad lines of one reason shown as examples in its message.
EXAMPLES = 3


def is_host_name_sql(column: str) -> str:
    """SQL: whether ``column`` is a host name (reversed or not) as :func:`linkback.urls.is_host_name` says."""
    return f"(length({column}) BETWEEN 1 AND 253 AND regexp_full_match({column}, '{HOST_NAME_RE}'))"


NO_FINITE = "a value that is no finite number (nan, inf, or too large)"
#: SQL over a ranks row (the columns of ``cc_ranks``): why it is no rank, or NULL.
RANK_PROBLEM = f"""CASE
    WHEN rname IS NULL THEN 'no name'
    WHEN NOT (isfinite(coalesce(hc_val, 0)) AND isfinite(coalesce(pr_val, 0))) THEN '{NO_FINITE}'
    WHEN hc_pos < 1 OR pr_pos < 1 THEN 'a position below 1'
    WHEN hc_val < 0 OR pr_val < 0 THEN 'a negative centrality or PageRank'
    WHEN n_hosts < 1 THEN 'a number of hosts below 1'
    WHEN NOT {is_host_name_sql("rname")} THEN 'a name that is no host name'
END"""
#: SQL over a vertex row (id, rname, n_hosts): why it is no vertex, or NULL.
VERTEX_PROBLEM = f"""CASE
    WHEN id < 0 THEN 'a negative id'
    WHEN rname IS NULL OR NOT {is_host_name_sql("rname")} THEN 'a name that is no host name'
    WHEN n_hosts < 1 THEN 'a number of hosts below 1'
END"""


def _field(i: int, typ: str) -> str:
    """SQL: field ``i`` of a scanned line as ``typ``, ``---`` as NULL (the reader's ``nullstr``)."""
    text = f"f[{i}]"
    return text if typ == "VARCHAR" else f"CASE WHEN f[{i}] = '---' THEN NULL ELSE TRY_CAST(f[{i}] AS {typ}) END"


def parsed(columns: dict[str, str]) -> tuple[str, str]:
    """SQL (the select list, the condition) of a scanned line read as ``columns`` (name: type):
    only lines the CSV reader took (their count of fields, each a ``typ`` or ``---``) pass."""
    select = ", ".join(
        f"CASE WHEN f[{i}] = '---' THEN NULL ELSE f[{i}] END AS {name}"
        if typ == "VARCHAR"
        else f"{_field(i, typ)} AS {name}"
        for i, (name, typ) in enumerate(columns.items(), start=1)
    )
    checks = [f"len(f) = {len(columns)}"]
    checks += [f"(f[{i}] = '---' OR TRY_CAST(f[{i}] AS {typ}) IS NOT NULL)"
               for i, (_, typ) in enumerate(columns.items(), start=1) if typ != "VARCHAR"]  # fmt: skip
    return select, " AND ".join(checks)


@dataclass
class Scan:
    """The files of one kind read line by line: which lines the reader refused, per file (the
    ordinal of a line after one of those is one less than its number)."""

    kind: str  # vertices, ranks
    files: Sequence[str]
    refused: dict[int, list[int]] = field(default_factory=dict)

    def prefix(self) -> str:
        """What a message about the files starts with: the file, or how many files of which kind."""
        return self.files[0] if len(self.files) == 1 else f"the {len(self.files)} {self.kind} files"

    def sql(self, rejects: str, limit: int) -> str:
        """A file's lines (the file a parameter), one row each: ``n``, ``f`` its tab-separated fields
        (NULL: an empty line). The delimiter is a control character no line has; one that does is
        refused by the reader, as is one that is no UTF-8 (the typed read refused it too)."""
        return (
            "(SELECT n, string_split(text, chr(9)) AS f FROM read_csv(?, delim=chr(1), header=false, quote='', "
            "escape='', auto_detect=false, columns={'text': 'VARCHAR'}, ignore_errors=true, store_rejects=true, "
            f"rejects_table='{rejects}_errors', rejects_scan='{rejects}_scans', rejects_limit={limit}) "
            "WITH ORDINALITY AS t(text, n))"
        )

    def run(self, con: duckdb.DuckDBPyConnection, rejects: str, file_no: int, sql: str, params: list[Any]) -> None:
        """``sql`` (over one file's scan) run; the lines the reader refused kept, its tables dropped."""
        con.execute(sql, params)
        rows = con.execute(f"SELECT line FROM {rejects}_errors ORDER BY line").fetchall()
        self.refused[file_no] = sorted({int(line) for (line,) in rows})
        con.execute(f"DROP TABLE IF EXISTS {rejects}_errors")
        con.execute(f"DROP TABLE IF EXISTS {rejects}_scans")

    def where(self, file_no: int, n: int) -> str:
        """``line N`` of the ``n``-th line the scan of file ``file_no`` gave (``PATH line N`` when
        there are several files: :meth:`prefix` does not name it)."""
        line = n
        refused = self.refused.get(file_no, [])
        # Each refused line at or before the line counted so far pushes it one further.
        while (before := bisect.bisect_right(refused, line)) > line - n:
            line = n + before
        return f"line {line}" if len(self.files) == 1 else f"{self.files[file_no]} line {line}"


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'s' * (n != 1)}"
