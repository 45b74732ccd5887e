"""``cc graph import``: a Common Crawl host- or domain-level web graph release into the store.

The release's files, as cc-webgraph writes them (``HostToDomainGraph.java``,
``JoinSortRanks.java``, ``src/script/webgraph_ranking/process_webgraph.sh``), all gzipped,
tab-separated text:

* vertices — ``<id>\\t<reversed name>`` (host level; ``www.`` stripped: ``com.example``), or at
  domain level ``<id>\\t<reversed domain>\\t<number of hosts>``; no header; ids 0..n-1 in the
  lexicographic order of the names. Host-level graphs are split into several ``part-*.gz`` files.
* edges — ``<from id>\\t<to id>``, sorted by from, then to; no header.
* ranks — a header ``#harmonicc_pos #harmonicc_val #pr_pos #pr_val #host_rev`` (domain level:
  ``... #host_rev #n_hosts``), then one line a vertex, sorted by harmonic-centrality position;
  a value one of the two rankings lacks is ``---`` (``join -e'---'``).

The files are many GB (2025: host graph 235.7M vertices and 9.5B edges; domain graph 100.7M and
6.6B), so nothing here holds one: DuckDB's ``read_csv`` streams each gzip file through SQL —
every rank into ``cc_ranks``; the edges filtered down to those pointing at the user's domains,
whose source ids are then looked up in a second streamed pass over the vertices, and the referring
rows made and stored in SQL. What is kept (the edges into the user's domains, the vertices they
name) lives in DuckDB's temporary tables, never in Python, so memory stays within DuckDB's limit
(``ingest_settings``; past it DuckDB spills to disk), however many referring domains there are. A
line that does not parse (too few or many columns, text where a number belongs) is skipped and
counted, with its file and line number (DuckDB's rejects tables); one that parses but is no value
(a position below 1, a name that is no host name, a vertex id or ranked name given again: the
first line wins) is skipped and counted too (:mod:`linkback.cc._graph_values`).

The level is what the files say, when they say it: Common Crawl's names carry ``-host-`` or
``-domain-``, and the domain level's vertices and ranks have a column the host level's lack.
Files that contradict the level asked for are refused, naming the file and the ``--level`` to give.

One import is one transaction (a file that cannot be read to its end — a truncated gzip — is an
error, and nothing is written). DuckDB's gzip reader does not check a member's CRC-32, so damage
that still inflates (a flipped bit in a stored block, a bad sector's worth of wrong bytes) would
be imported as numbers; each file is therefore also inflated by zlib in a thread beside the import,
which checks every member's CRC, and a file that fails it fails the import (:class:`_GzipCheck`).
It replaces, within its release and level, only what it brings:
the ranks when a ranks file is given (all of them; without one the stored ranks stay), and the
referring hosts/domains of the domains it was run for (those of other domains stay). Importing the
same files again gives the same rows. Each release is kept apart: importing another one adds to the
store, and the reports read the latest imported unless told a release.

The user's domains are registrable domains as linkback makes them (Public Suffix List, ICANN and
private sections); CC folds hosts to domains with the ICANN section only, so a domain under a
private suffix (``user.github.io``) is found in the host-level graph, not the domain-level one.
"""

from __future__ import annotations

import gzip
import os
import re
import threading
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from duckdb.func import PythonUDFType

from linkback._gzip import GzipCheckFailed, GzipCutShort, GzipReader
from linkback.cc import _graph_values as _values
from linkback.cc._graph_values import RANK_PROBLEM, VERTEX_PROBLEM
from linkback.errors import LinkbackError, SourceError
from linkback.faces import ProgressFn, job
from linkback.store import Store
from linkback.urls import split_host

LEVELS = ("host", "domain")
RANKS_HEADER = ("#harmonicc_pos", "#harmonicc_val", "#pr_pos", "#pr_val", "#host_rev")
#: Bad lines kept (with their file and line) per file kind; all are counted up to REJECTS_LIMIT.
MAX_ERRORS = 20
REJECTS_LIMIT = 100_000
_RELEASE = re.compile(r"^(?P<release>.+?)-(?P<level>host|domain)-(?:vertices|edges|ranks)\b")
_UNREVERSE = "array_to_string(list_reverse(string_split({col}, '.')), '.')"


def expand(paths: Sequence[str | os.PathLike[str]]) -> list[str]:
    """Files as given, and each directory's ``*.gz`` files in name order (host-level parts)."""
    out: list[str] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            parts = sorted(str(f.resolve()) for f in path.glob("*.gz") if f.is_file())
            if not parts:
                raise SourceError("a directory without .gz files", path=str(path))
            out += parts
        else:
            out.append(str(path.resolve()) if path.exists() else str(path))
    return out


def _checked(paths: Sequence[str], kind: str) -> list[str]:
    if not paths:
        raise LinkbackError(f"no {kind} file given")
    for text in paths:
        path = Path(text)
        if not path.is_absolute():
            raise SourceError("not an absolute path (the client resolves paths)", path=text)
        if not path.is_file() or not os.access(path, os.R_OK):
            raise SourceError("no such readable file", path=text)
    return list(paths)


def _first_line(path: str) -> str:
    try:
        with gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="\n") as fh:
            return fh.readline(4096).rstrip("\r\n")
    except (OSError, EOFError, zlib.error) as exc:
        raise SourceError(f"not a readable gzip file ({exc})", path=path, offset=0) from None


def _sniff(
    vertices: list[str], edges: list[str], ranks: list[str], level: str | None, quote: bool
) -> tuple[str, int, int]:
    """(the level, the columns of the vertices, of the ranks) after checking each kind's first line
    and that the files are of ``level`` (see :func:`_level`); ``quote``: the message shows the line
    (not for a server's client: it quotes nothing of a file it refuses)."""
    line = _first_line(vertices[0])
    cols = line.split("\t")
    named = 2 <= len(cols) <= 3 and cols[0].isdigit() and not cols[1].isdigit()  # an edge is two numbers
    if not named:
        lvl = f"{level}-level " if level else ""
        want = "<id> TAB <reversed name>" + (" [TAB <hosts>]" if level != "host" else "")
        raise SourceError(f"line 1 is not a {lvl}vertex ({want}){_quoted(line, quote)}", path=vertices[0])
    line = _first_line(edges[0])
    parts = line.split("\t")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise SourceError(f"line 1 is not an edge (<from id> TAB <to id>){_quoted(line, quote)}", path=edges[0])
    rank_cols = 0
    if ranks:
        header = tuple(_first_line(ranks[0]).split("\t"))
        if header[:5] != RANKS_HEADER or len(header) > 6:
            raise SourceError(f"line 1 is not the ranks header {' '.join(RANKS_HEADER)} [#n_hosts]", path=ranks[0])
        rank_cols = len(header)
    return _level(level, vertices, edges, ranks, len(cols), rank_cols), len(cols), rank_cols


def level_named(path: str) -> str:
    """``host`` or ``domain`` when the file's name (or a folder's, for part files) says it, as
    Common Crawl names them (``...-host-vertices.txt.gz``, ``cc-main-...-domain/``); else ""."""
    here = Path(path)
    for name in [here.name] + [parent.name for parent in list(here.parents)[:3]]:
        m = _RELEASE.match(name)
        if m:
            return m.group("level")
        if name.startswith("cc-main-") and name.endswith(("-host", "-domain")):
            return name.rsplit("-", 1)[1]
    return ""


def _level(
    given: str | None, vertices: list[str], edges: list[str], ranks: list[str], vertex_cols: int, rank_cols: int
) -> str:
    """The level the files say, checked against ``given`` (the user's, or None: the files'). Their
    names say it (``-host-``, ``-domain-``); so do their columns, one way only: the domain level's
    vertices have a third column (its hosts) and its ranks header ``#n_hosts`` (a release before
    those columns has two, as the host level does)."""
    said: dict[str, tuple[str, str]] = {}  # level -> (a file saying it, how)
    for path in [*vertices, *edges, *ranks]:
        named = level_named(path)
        if named:
            said.setdefault(named, (path, f"its name says -{named}-"))
    if len(said) > 1:
        (host_file, _), (domain_file, _) = said["host"], said["domain"]
        raise SourceError(f"the file is of the host level, {domain_file} of the domain level: import each level's "
                          "files on their own", path=host_file)  # fmt: skip
    columns = []
    if vertex_cols == 3:
        columns.append((vertices[0], "its lines have a third column, the domain's hosts"))
    if rank_cols == 6:
        columns.append((ranks[0], "its header has #n_hosts"))
    if columns and "host" in said:
        path, how = columns[0]
        raise SourceError(f"the domain level's columns ({how}), but {said['host'][0]} is named as the host "
                          "level's: import each level's files on their own", path=path)  # fmt: skip
    if columns:
        said["domain"] = said.get("domain") or columns[0]
    files_level = next(iter(said), "")
    if given == "host" and vertex_cols == 3:
        raise SourceError("line 1 is not a host-level vertex (<id> TAB <reversed name>): it has a third column, the "
                          "domain's hosts: give --level domain, or no --level", path=vertices[0])  # fmt: skip
    if given and files_level and given != files_level:
        path, how = said[files_level]
        raise SourceError(f"the file is of the {files_level}-level graph ({how}), not the {given} level: "
                          f"give --level {files_level}, or no --level", path=path)  # fmt: skip
    if given:
        return given
    if not files_level:
        raise SourceError("neither the names nor the columns of the files say their level (two columns: the host "
                          "level, or a domain level before its hosts were counted): give --level host or "
                          "--level domain", path=vertices[0])  # fmt: skip
    return files_level


def _quoted(line: str, quote: bool) -> str:
    return f": {line[:80]!r}" if quote else ""


def release_of(path: str) -> str:
    """``cc-main-2024-feb-apr-may`` from ``.../cc-main-2024-feb-apr-may-domain-vertices.txt.gz``
    (or from a folder of that name, for part files); "" when the name does not say."""
    here = Path(path)
    for name in [here.name] + [parent.name for parent in list(here.parents)[:3]]:
        m = _RELEASE.match(name)
        if m:
            return m.group("release")
        if name.startswith("cc-main-"):
            return name.removesuffix("-host").removesuffix("-domain")
    return ""


def user_domains(store: Store, domains: Sequence[str]) -> list[str]:
    """The registrable domains to keep the referring hosts/domains of: ``domains``, else the
    store's sites (``linkback site add``) and site profiles."""
    names = list(domains)
    if not names:
        rows = store.con.execute("SELECT site FROM sites UNION SELECT site FROM site_profiles").fetchall()
        names = [r[0] for r in rows if r[0]]
    out = []
    for name in names:
        host = name.strip().lower().split("://", 1)[-1].split("/", 1)[0].rstrip(".")
        if not host or any(c.isspace() for c in host):
            raise LinkbackError(f"{name!r} is not a domain (give one like example.com)")
        out.append(split_host(host).domain)
    return sorted(set(out))


def _csv(files_param: str, columns: dict[str, str], *, header: bool, rejects: str) -> str:
    cols = ", ".join(f"'{name}': '{typ}'" for name, typ in columns.items())
    return (
        f"read_csv({files_param}, delim='\\t', header={str(header).lower()}, quote='', escape='', auto_detect=false, "
        f"columns={{{cols}}}, nullstr='---', ignore_errors=true, store_rejects=true, "
        f"rejects_table='{rejects}_errors', rejects_scan='{rejects}_scans', rejects_limit={REJECTS_LIMIT})"
    )


def _unreadable(exc: duckdb.Error, files: Sequence[str]) -> SourceError:
    """DuckDB's error reading a gzip file (cut short, not gzip) as the file's own error."""
    text = str(exc).removeprefix("IO Error: ").strip()
    named = [f for f in files if f in text]
    path = max(named, key=len) if named else ", ".join(files)
    detail = text.replace(path, "").rstrip(" :") if named else text
    if "unexpected end" in text.lower():
        return SourceError(f"truncated gzip ({detail}); nothing was imported", path=path)
    return SourceError(f"not a readable gzip file ({detail}); nothing was imported", path=path)


@job("cc_graph_import")
def cc_graph_import(
    store: Store,
    *,
    vertices: Sequence[str],
    edges: Sequence[str],
    ranks: Sequence[str] = (),
    level: str | None = None,
    domains: Sequence[str] = (),
    release: str = "",
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Import a Common Crawl web graph release (absolute paths of its gzipped files): the ranks of
    every vertex (``ranks``, optional) into ``cc_ranks``, and the hosts or domains linking to
    ``domains`` (default: the store's sites) into ``cc_refdomains``; the counts and bad lines.
    ``level`` is ``host`` or ``domain``, by default what the files say (their names, their columns),
    and an error when the files say the other; ``release`` defaults to what the file names say."""
    from linkback.ingest import ingest_settings  # noqa: PLC0415 - DuckDB set for a long write

    if level is not None and level not in LEVELS:
        raise LinkbackError(f"level {level!r}: use host or domain")
    vertices, edges = _checked(vertices, "vertices"), _checked(edges, "edges")
    ranks = _checked(ranks, "ranks") if ranks else []
    level, vertex_cols, rank_cols = _sniff(vertices, edges, ranks, level, quote=not store.for_client)
    release = release.strip() or release_of(vertices[0]) or release_of(edges[0])
    if not release:
        raise LinkbackError("the file names do not say the release: give it (--release cc-main-2024-feb-apr-may)")
    targets = user_domains(store, domains)
    if not targets:
        raise LinkbackError("no domains to keep the links to: add a site ('linkback site add') or give --for DOMAIN")
    check = _GzipCheck([*vertices, *edges, *ranks])
    job_ = _Import(release, level, vertices, edges, ranks, vertex_cols, rank_cols, targets, progress, check)
    try:
        with ingest_settings(store, 1):
            return store.write(job_.run)
    finally:
        check.stop()


#: Decompressed bytes the CRC check asks for at a time.
_CHECK_CHUNK = 64 * 1024


class _GzipCheck:
    """Every gzip member of ``files`` inflated by zlib (:class:`~linkback._gzip.GzipReader`), which
    checks its CRC-32 and length, in a thread of its own while DuckDB imports the same files (zlib
    lets go of the GIL); what it found wrong, if anything, is :meth:`damage` once the import is done."""

    def __init__(self, files: Sequence[str]) -> None:
        self._files = list(files)
        self._damage: SourceError | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cc-gzip-check", daemon=True)
        self._thread.start()

    def damage(self) -> SourceError | None:
        """Wait for the check to end; the first damage it found, or None."""
        self._thread.join()
        return self._damage

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()

    def _run(self) -> None:
        for path in self._files:
            if self._stopping.is_set():
                return
            self._damage = self._check(path)
            if self._damage is not None:
                return

    def _check(self, path: str) -> SourceError | None:
        try:
            with GzipReader(path) as reader:  # the output is not kept: read in bounded steps
                while not self._stopping.is_set() and reader.read(_CHECK_CHUNK):
                    pass
        except GzipCheckFailed as exc:
            return SourceError(
                f"the gzip data fails its CRC-32 check ({exc}); DuckDB's reader does not check it, "
                "so nothing was imported",
                path=path,
            )
        except GzipCutShort as exc:
            return SourceError(f"truncated gzip ({exc}); nothing was imported", path=path)
        except OSError as exc:  # GzipDamaged among them
            return SourceError(f"not a readable gzip file ({exc}); nothing was imported", path=path)
        return None


class _Import:
    def __init__(
        self,
        release: str,
        level: str,
        vertices: list[str],
        edges: list[str],
        ranks: list[str],
        vertex_cols: int,
        rank_cols: int,
        targets: list[str],
        progress: ProgressFn | None,
        check: _GzipCheck | None = None,
    ) -> None:
        self.release, self.level, self.targets, self.progress = release, level, targets, progress
        self.check = check
        self.files = {"vertices": vertices, "edges": edges, "ranks": ranks}
        self.vertex_columns = {"id": "BIGINT", "rname": "VARCHAR"} | ({"n_hosts": "BIGINT"} if vertex_cols == 3 else {})
        self.rank_columns = {"hc_pos": "BIGINT", "hc_val": "DOUBLE", "pr_pos": "BIGINT", "pr_val": "DOUBLE"}
        self.rank_columns |= {"rname": "VARCHAR"} | ({"n_hosts": "BIGINT"} if rank_cols == 6 else {})
        self.now = datetime.now(UTC)
        self.bad: dict[str, int] = {}
        self.errors: list[str] = []
        self.internal = 0

    def _step(self, stage: str, done: int) -> None:
        if self.progress is not None:
            self.progress({"stage": stage, "done": done, "total": 4})

    def run(self, store: Store) -> dict[str, Any]:
        con = store.con
        key = [self.release, self.level]
        ours = "release = ? AND level = ? AND target IN (SELECT unnest(?::VARCHAR[]))"
        (ranks_stored,) = con.execute("SELECT count(*) FROM cc_ranks WHERE release = ? AND level = ?",
                                      key).fetchall()[0]  # fmt: skip
        (refs_stored,) = con.execute(f"SELECT count(*) FROM cc_refdomains WHERE {ours}", [*key, self.targets]
                                     ).fetchall()[0]  # fmt: skip
        others = [r[0] for r in con.execute(
            "SELECT DISTINCT target FROM cc_refdomains WHERE release = ? AND level = ? AND target NOT IN "
            "(SELECT unnest(?::VARCHAR[])) ORDER BY 1", [*key, self.targets]).fetchall()]  # fmt: skip
        releases = [r[0] for r in con.execute(
            "SELECT release FROM cc_ranks WHERE level = ? AND release <> ? UNION "
            "SELECT release FROM cc_refdomains WHERE level = ? AND release <> ? ORDER BY 1",
            [self.level, self.release, self.level, self.release]).fetchall()]  # fmt: skip
        if self.files["ranks"]:
            con.execute("DELETE FROM cc_ranks WHERE release = ? AND level = ?", key)
        con.execute(f"DELETE FROM cc_refdomains WHERE {ours}", [*key, self.targets])
        ranked = self._ranks(store) if self.files["ranks"] else 0
        self._step("vertices", 1)
        n_targets = self._targets(store)
        self._step("edges", 2)
        kept = self._edges(store) if n_targets else 0
        self._step("sources", 3)
        refs, unknown = self._refdomains(store) if kept else (0, 0)
        damage = self.check.damage() if self.check is not None else None
        if damage is not None:
            raise damage  # inside the write: the transaction is rolled back
        self._step("done", 4)
        for table in ("cc_user", "cc_target_ids", "cc_kept", "cc_sources"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
        with_ranks = bool(self.files["ranks"])
        return {
            "release": self.release, "level": self.level, "ranks": ranked, "domains": self.targets,
            "target_vertices": n_targets, "edges": kept, "refdomains": refs, "internal": self.internal,
            "unknown_sources": unknown,
            # What this release and level held before: replaced (the ranks, when a ranks file was
            # given; the referring rows of ``domains``), or kept (the ranks, when none was given;
            # the referring rows of other domains). Other releases are never touched.
            "replaced": {"ranks": int(ranks_stored) if with_ranks else 0, "refdomains": int(refs_stored)},
            "kept": {"ranks": 0 if with_ranks else int(ranks_stored), "refdomains_of": others},
            "other_releases": releases,
            "bad_lines": self.bad, "errors": self.errors,
        }  # fmt: skip

    def _read(self, store: Store, kind: str, sql: str, params: list[Any]) -> duckdb.DuckDBPyConnection:
        """``sql`` over the ``kind`` files run; a file DuckDB cannot read to its end (a truncated
        gzip) raises :class:`SourceError` naming it, and the transaction is rolled back."""
        try:
            return store.con.execute(sql, params)
        except duckdb.IOException as exc:
            raise _unreadable(exc, self.files[kind]) from None

    def _rejects(self, store: Store, kind: str) -> None:
        """Count the lines ``read_csv`` refused (one per line, whatever columns it refused)."""
        con = store.con
        rows = con.execute(
            f"SELECT s.file_path, e.line, any_value(e.error_message) FROM cc_rej_{kind}_errors e "
            f"JOIN cc_rej_{kind}_scans s USING (scan_id, file_id) GROUP BY ALL ORDER BY 1, 2"
        ).fetchall()
        self.bad[kind] = len(rows)
        for path, line, message in rows[: max(MAX_ERRORS - len(self.errors), 0)]:
            self.errors.append(f"{path} line {line}: {message}")
        con.execute(f"DROP TABLE IF EXISTS cc_rej_{kind}_errors")
        con.execute(f"DROP TABLE IF EXISTS cc_rej_{kind}_scans")

    def _ranks(self, store: Store) -> int:
        src = _csv("?", self.rank_columns, header=True, rejects="cc_rej_ranks")
        n_hosts = "n_hosts" if "n_hosts" in self.rank_columns else "NULL"
        (count,) = self._read(
            store,
            "ranks",
            f"INSERT INTO cc_ranks (release, level, name, rname, hc_pos, hc_val, pr_pos, pr_val, n_hosts, imported_at) "
            f"SELECT ?, ?, {_UNREVERSE.format(col='rname')}, rname, hc_pos, hc_val, pr_pos, pr_val, {n_hosts}, ? "
            f"FROM {src}",
            [self.release, self.level, self.now, self.files["ranks"]],
        ).fetchall()[0]
        self._rejects(store, "ranks")
        return int(count) - self._refuse_ranks(store)

    def _refuse_ranks(self, store: Store) -> int:
        """Take the rows that are no ranks (:data:`RANK_PROBLEM`) and the later rows of a name out
        of what was stored; how many. Their lines are looked up only when there are some."""
        con, key = store.con, [self.release, self.level]
        ours = "FROM cc_ranks WHERE release = ? AND level = ?"
        problems = con.execute(f"SELECT problem, count(*) FROM (SELECT {RANK_PROBLEM} AS problem {ours}) "
                               "WHERE problem IS NOT NULL GROUP BY ALL ORDER BY 1", key).fetchall()  # fmt: skip
        if problems:
            con.execute(f"DELETE {ours} AND ({RANK_PROBLEM}) IS NOT NULL", key)
        con.execute(f"CREATE OR REPLACE TEMP TABLE cc_rank_dups AS SELECT rname, count(*) - 1 AS later {ours} "
                    "GROUP BY rname HAVING count(*) > 1", key)  # fmt: skip
        (duplicates,) = con.execute("SELECT coalesce(sum(later), 0) FROM cc_rank_dups").fetchall()[0]
        refused = sum(int(n) for _, n in problems) + int(duplicates)
        if refused:
            scan = self._rank_lines(store)
            self._say(store, scan, "cc_rank_lines", [(str(p), int(n)) for p, n in problems], "rname",
                      repr)  # fmt: skip
            if duplicates:
                self._first_ranks_kept(store, scan, int(duplicates))
            self.bad["ranks"] += refused
        con.execute("DROP TABLE IF EXISTS cc_rank_lines")
        con.execute("DROP TABLE IF EXISTS cc_rank_dups")
        return refused

    def _rank_lines(self, store: Store) -> _values.Scan:
        """The ranks files read again, line by line: the lines with a problem, and every line of a
        name stored twice, into ``cc_rank_lines`` (with the file's number and the line's)."""
        con, scan = store.con, _values.Scan("ranks", self.files["ranks"])
        select, parses = _values.parsed(self.rank_columns)
        if "n_hosts" not in self.rank_columns:
            select += ", NULL::BIGINT AS n_hosts"
        con.execute(
            "CREATE OR REPLACE TEMP TABLE cc_rank_lines (file_no INTEGER, n BIGINT, problem VARCHAR, hc_pos BIGINT, "
            "hc_val DOUBLE, pr_pos BIGINT, pr_val DOUBLE, rname VARCHAR, n_hosts BIGINT)"
        )
        for file_no, path in enumerate(scan.files):
            sql = (
                f"INSERT INTO cc_rank_lines SELECT ?, n, {RANK_PROBLEM}, hc_pos, hc_val, pr_pos, pr_val, rname, "
                f"n_hosts FROM (SELECT n, {select} FROM {scan.sql('cc_rej_lines', REJECTS_LIMIT)} "
                f"WHERE n > 1 AND {parses}) "
                f"WHERE ({RANK_PROBLEM}) IS NOT NULL OR rname IN (SELECT rname FROM cc_rank_dups)"
            )
            self._read_lines(store, scan, file_no, sql, [file_no, path])
        return scan

    def _first_ranks_kept(self, store: Store, scan: _values.Scan, duplicates: int) -> None:
        """Of a name the ranks give twice, the first line's ranks stored, the later lines said."""
        con = store.con
        dup = "problem IS NULL AND rname IN (SELECT rname FROM cc_rank_dups)"
        examples = con.execute(
            f"SELECT file_no, n, rname, first_value(file_no) OVER w, first_value(n) OVER w FROM cc_rank_lines "
            f"WHERE {dup} WINDOW w AS (PARTITION BY rname ORDER BY file_no, n) QUALIFY row_number() OVER w > 1 "
            f"ORDER BY file_no, n LIMIT {_values.EXAMPLES}"
        ).fetchall()
        con.execute(f"DELETE FROM cc_ranks WHERE release = ? AND level = ? AND rname IN (SELECT rname FROM "
                    f"cc_rank_lines WHERE {dup})", [self.release, self.level])  # fmt: skip
        con.execute(
            f"INSERT INTO cc_ranks (release, level, name, rname, hc_pos, hc_val, pr_pos, pr_val, n_hosts, imported_at) "
            f"SELECT ?, ?, {_UNREVERSE.format(col='rname')}, rname, hc_pos, hc_val, pr_pos, pr_val, n_hosts, ? "
            f"FROM cc_rank_lines WHERE {dup} QUALIFY row_number() OVER (PARTITION BY rname ORDER BY file_no, n) = 1",
            [self.release, self.level, self.now],
        )
        said = ", ".join(f"{scan.where(f, n)} ({name!r}, first on {scan.where(ff, fn)})"
                         for f, n, name, ff, fn in examples)  # fmt: skip
        self._error(f"{scan.prefix()}: {_values.plural(duplicates, 'line')} naming a {self.level} an earlier line "
                    f"names (the first is kept), e.g. {said}: skipped")  # fmt: skip

    def _say(
        self,
        store: Store,
        scan: _values.Scan,
        table: str,
        problems: list[tuple[str, int]],
        columns: str,
        shown: Callable[..., str],
    ) -> None:
        """A message for each problem of the rows of ``table`` (read by ``scan``): how many lines,
        the first few of them, each with ``shown(*columns)``."""
        noun = "line" if table == "cc_rank_lines" else "vertex line"
        for problem, count in problems:
            rows = store.con.execute(f"SELECT file_no, n, {columns} FROM {table} WHERE problem = ? ORDER BY file_no, "
                                     f"n LIMIT {_values.EXAMPLES}", [problem]).fetchall()  # fmt: skip
            said = ", ".join(f"{scan.where(f, n)} ({shown(*rest)})" for f, n, *rest in rows)
            skipped = "skipped" if noun == "line" else "skipped, and the edges from it"
            self._error(f"{scan.prefix()}: {_values.plural(count, noun)} with {problem}, e.g. {said}: {skipped}")

    def _error(self, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)

    def _targets(self, store: Store) -> int:
        """The vertices of the user's domains (at host level: each domain's hosts too)."""
        con = store.con
        con.execute("CREATE OR REPLACE TEMP TABLE cc_user (domain VARCHAR, rd VARCHAR)")
        con.executemany(
            "INSERT INTO cc_user VALUES (?, ?)", [(d, ".".join(reversed(d.split(".")))) for d in self.targets]
        )
        hosts = " OR starts_with(v.rname, u.rd || '.')" if self.level == "host" else ""
        src = _csv("?", self.vertex_columns, header=False, rejects="cc_rej_vertices")
        self._read(
            store,
            "vertices",
            f"CREATE OR REPLACE TEMP TABLE cc_target_ids AS SELECT v.id, v.rname, u.domain "
            f"FROM {src} v JOIN cc_user u ON v.rname = u.rd{hosts}",
            [self.files["vertices"]],
        )
        self._rejects(store, "vertices")
        (n,) = con.execute("SELECT count(*) FROM cc_target_ids").fetchall()[0]
        return int(n)

    def _edges(self, store: Store) -> int:
        """The edges into the user's vertices, in one streamed pass over the edges."""
        con = store.con
        src = _csv("?", {"from_id": "BIGINT", "to_id": "BIGINT"}, header=False, rejects="cc_rej_edges")
        self._read(
            store,
            "edges",
            f"CREATE OR REPLACE TEMP TABLE cc_kept AS SELECT DISTINCT e.from_id, e.to_id FROM {src} e "
            f"SEMI JOIN cc_target_ids t ON e.to_id = t.id WHERE e.from_id <> e.to_id",
            [self.files["edges"]],
        )
        self._rejects(store, "edges")
        (n,) = con.execute("SELECT count(*) FROM cc_kept").fetchall()[0]
        return int(n)

    def _refdomains(self, store: Store) -> tuple[int, int]:
        """Name the vertices of the kept edges (a second pass over the vertices) and store the
        referring hosts/domains, all in SQL: memory stays at DuckDB's, whatever their number."""
        con = store.con
        unknown = self._vertices_named(store)
        # A host of the user's own domain linking to another of its hosts is no referring domain.
        source_domain = "s.name" if self.level == "domain" else f"{_DOMAIN_OF}(s.name)"
        con.create_function(
            _DOMAIN_OF, _domains_of, ["VARCHAR"], "VARCHAR", type=PythonUDFType.ARROW, side_effects=False
        )
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE cc_named AS SELECT DISTINCT t.domain AS target, "
                f"{_UNREVERSE.format(col='t.rname')} AS target_name, s.name AS source, "
                f"{source_domain} AS source_domain FROM cc_kept k JOIN cc_target_ids t ON k.to_id = t.id "
                f"JOIN cc_sources s ON k.from_id = s.id"
            )
        finally:
            con.remove_function(_DOMAIN_OF)
        (self.internal,) = con.execute("SELECT count(*) FROM cc_named WHERE source_domain = target").fetchall()[0]
        (n,) = con.execute(
            "INSERT INTO cc_refdomains SELECT ?, ?, target, target_name, source, source_domain, ? FROM cc_named "
            "WHERE source_domain <> target ORDER BY target, target_name, source",
            [self.release, self.level, self.now],
        ).fetchall()[0]
        con.execute("DROP TABLE IF EXISTS cc_named")
        return int(n), unknown

    def _vertices_named(self, store: Store) -> int:
        """The vertices of the kept edges, read line by line into ``cc_vertex_lines``: of an id given
        twice the first line wins; one that is no vertex (:data:`VERTEX_PROBLEM`) is refused, with
        its edges. Leaves ``cc_sources`` (id, name) and the targets that stand; the number of source
        ids no vertex line has."""
        con, scan = store.con, _values.Scan("vertices", self.files["vertices"])
        columns = self.vertex_columns | ({} if "n_hosts" in self.vertex_columns else {"n_hosts": "BIGINT"})
        select, parses = _values.parsed(self.vertex_columns)
        hosts = "" if "n_hosts" in self.vertex_columns else ", NULL::BIGINT AS n_hosts"
        con.execute("CREATE OR REPLACE TEMP TABLE cc_wanted AS SELECT from_id AS id FROM cc_kept UNION "
                    "SELECT id FROM cc_target_ids")  # fmt: skip
        con.execute("CREATE OR REPLACE TEMP TABLE cc_vertex_lines (file_no INTEGER, n BIGINT, "
                    f"{', '.join(f'{name} {typ}' for name, typ in columns.items())})")  # fmt: skip
        for file_no, path in enumerate(scan.files):
            sql = (
                f"INSERT INTO cc_vertex_lines SELECT ?, n, {', '.join(columns)} FROM (SELECT n, {select}{hosts} "
                f"FROM {scan.sql('cc_rej_lines', REJECTS_LIMIT)} WHERE {parses}) WHERE id IN (SELECT id FROM cc_wanted)"
            )
            self._read_lines(store, scan, file_no, sql, [file_no, path])
        con.execute(f"CREATE OR REPLACE TEMP TABLE cc_vertex_first AS SELECT *, {VERTEX_PROBLEM} AS problem FROM "
                    "cc_vertex_lines QUALIFY row_number() OVER (PARTITION BY id ORDER BY file_no, n) = 1")  # fmt: skip
        self._vertex_duplicates(store, scan)
        problems = con.execute("SELECT problem, count(*) FROM cc_vertex_first WHERE problem IS NOT NULL GROUP BY ALL "
                               "ORDER BY 1").fetchall()  # fmt: skip
        self._say(store, scan, "cc_vertex_first", [(str(p), int(n)) for p, n in problems], "id, rname",
                  lambda id_, rname: f"id {id_}, {rname!r}")  # fmt: skip
        self.bad["vertices"] += sum(int(n) for _, n in problems)
        con.execute(f"CREATE OR REPLACE TEMP TABLE cc_sources AS SELECT id, {_UNREVERSE.format(col='rname')} AS name "
                    "FROM cc_vertex_first WHERE problem IS NULL")  # fmt: skip
        # A target whose id an earlier line gives another name (or that is refused) is no target.
        con.execute("DELETE FROM cc_target_ids t WHERE NOT EXISTS (SELECT 1 FROM cc_vertex_first v WHERE v.id = t.id "
                    "AND v.rname = t.rname AND v.problem IS NULL)")  # fmt: skip
        (unknown,) = con.execute(
            "SELECT count(DISTINCT from_id) FROM cc_kept WHERE to_id IN (SELECT id FROM cc_target_ids) AND "
            "from_id NOT IN (SELECT id FROM cc_vertex_lines)"
        ).fetchall()[0]
        for table in ("cc_wanted", "cc_vertex_lines", "cc_vertex_first"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
        return int(unknown)

    def _read_lines(self, store: Store, scan: _values.Scan, file_no: int, sql: str, params: list[Any]) -> None:
        """:meth:`_values.Scan.run`, a file DuckDB cannot read to its end said as :meth:`_read` says it."""
        try:
            scan.run(store.con, "cc_rej_lines", file_no, sql, params)
        except duckdb.IOException as exc:
            raise _unreadable(exc, scan.files) from None

    def _vertex_duplicates(self, store: Store, scan: _values.Scan) -> None:
        """Count and say the vertex lines that give an id an earlier line gave."""
        con = store.con
        (count,) = con.execute("SELECT (SELECT count(*) FROM cc_vertex_lines) - (SELECT count(*) FROM "
                               "cc_vertex_first)").fetchall()[0]  # fmt: skip
        if not count:
            return
        examples = con.execute(
            "SELECT file_no, n, id, rname, first_value(file_no) OVER w, first_value(n) OVER w FROM cc_vertex_lines "
            "WINDOW w AS (PARTITION BY id ORDER BY file_no, n) QUALIFY row_number() OVER w > 1 ORDER BY file_no, n "
            f"LIMIT {_values.EXAMPLES}"
        ).fetchall()
        said = ", ".join(f"{scan.where(f, n)} (id {id_}, {rname!r}, first on {scan.where(ff, fn)})"
                         for f, n, id_, rname, ff, fn in examples)  # fmt: skip
        self._error(f"{scan.prefix()}: {_values.plural(int(count), 'vertex line')} giving an id an earlier line "
                    f"gives (the first is kept), e.g. {said}: skipped")  # fmt: skip
        self.bad["vertices"] += int(count)


#: The SQL function naming a host's registrable domain (a Python one: the Public Suffix List's).
_DOMAIN_OF = "linkback_cc_domain_of"


def _domains_of(names: pa.Array) -> pa.Array:
    """The registrable domains of a batch of host names (as :func:`~linkback.urls.split_host` says)."""
    out = []
    for name in names.to_pylist():
        try:
            out.append(None if name is None else split_host(name).domain)
        except ValueError:
            out.append(name)
    return pa.array(out, pa.string())
