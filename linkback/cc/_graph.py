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
whose source ids are then looked up in a second streamed pass over the vertices. Memory stays at
the size of those few edges. A line that does not parse (too few or many columns, text where a
number belongs) is skipped and counted, with its file and line number (DuckDB's rejects tables).

One import is one transaction (a file that cannot be read to its end — a truncated gzip — is an
error, and nothing is written). DuckDB's gzip reader does not check a member's CRC-32, so damage
that still inflates (a flipped bit in a stored block, a bad sector's worth of wrong bytes) would
be imported as numbers; each file is therefore also inflated by zlib in a thread beside the import,
which checks every member's CRC, and a file that fails it fails the import (:class:`_GzipCheck`). It replaces, within its release and level, only what it brings:
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
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from linkback import schema
from linkback._gzip import GzipCheckFailed, GzipCutShort, GzipReader
from linkback.errors import LinkbackError, SourceError
from linkback.faces import ProgressFn, job
from linkback.store import Store
from linkback.urls import split_host

LEVELS = ("host", "domain")
RANKS_HEADER = ("#harmonicc_pos", "#harmonicc_val", "#pr_pos", "#pr_val", "#host_rev")
#: Bad lines kept (with their file and line) per file kind; all are counted up to REJECTS_LIMIT.
MAX_ERRORS = 20
REJECTS_LIMIT = 100_000
_RELEASE = re.compile(r"^(?P<release>.+?)-(?:host|domain)-(?:vertices|edges|ranks)\b")
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


def _sniff(vertices: list[str], edges: list[str], ranks: list[str], level: str, quote: bool) -> tuple[int, int]:
    """(columns of the vertices, of the ranks) after checking each kind's first line; ``quote``: the
    message shows the line (not for a server's client: it quotes nothing of a file it refuses)."""
    line = _first_line(vertices[0])
    cols = line.split("\t")
    named = 2 <= len(cols) <= 3 and cols[0].isdigit() and not cols[1].isdigit()  # an edge is two numbers
    if not named or (level == "host" and len(cols) != 2):
        want = "<id> TAB <reversed name>" + (" [TAB <hosts>]" if level == "domain" else "")
        raise SourceError(f"line 1 is not a {level}-level vertex ({want}){_quoted(line, quote)}", path=vertices[0])
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
    return len(cols), rank_cols


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
    level: str = "domain",
    domains: Sequence[str] = (),
    release: str = "",
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Import a Common Crawl web graph release (absolute paths of its gzipped files): the ranks of
    every vertex (``ranks``, optional) into ``cc_ranks``, and the hosts or domains linking to
    ``domains`` (default: the store's sites) into ``cc_refdomains``; the counts and bad lines.
    ``level`` is ``host`` or ``domain``; ``release`` defaults to what the file names say."""
    from linkback.ingest import ingest_settings  # noqa: PLC0415 - DuckDB set for a long write

    if level not in LEVELS:
        raise LinkbackError(f"level {level!r}: use host or domain")
    vertices, edges = _checked(vertices, "vertices"), _checked(edges, "edges")
    ranks = _checked(ranks, "ranks") if ranks else []
    vertex_cols, rank_cols = _sniff(vertices, edges, ranks, level, quote=not store.for_client)
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
            f"FROM {src} WHERE rname IS NOT NULL",
            [self.release, self.level, self.now, self.files["ranks"]],
        ).fetchall()[0]
        self._rejects(store, "ranks")
        # DOUBLE reads "nan", "inf" and "1e400" (as inf): no rank is one, and JSON holds neither (the
        # reports' JSON and the API would fail on them). Such lines are bad lines too.
        dropped = store.con.execute(
            "DELETE FROM cc_ranks WHERE release = ? AND level = ? AND NOT (isfinite(coalesce(hc_val, 0)) "
            "AND isfinite(coalesce(pr_val, 0))) RETURNING name",
            [self.release, self.level],
        ).fetchall()
        if dropped:
            self.bad["ranks"] += len(dropped)
            if len(self.errors) < MAX_ERRORS:
                n = len(dropped)
                self.errors.append(
                    f"{', '.join(self.files['ranks'])}: {n:,} line{'s' * (n != 1)} with a value that is no finite "
                    f"number (nan, inf, or too large), e.g. of {min(str(r[0]) for r in dropped)!r}: skipped"
                )
        return int(count) - len(dropped)

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
        """Name the sources of the kept edges (a second pass over the vertices) and store them."""
        con = store.con
        src = _csv("?", self.vertex_columns, header=False, rejects="cc_rej_vertices2")
        self._read(
            store,
            "vertices",
            f"CREATE OR REPLACE TEMP TABLE cc_sources AS SELECT v.id, {_UNREVERSE.format(col='v.rname')} AS name "
            f"FROM {src} v SEMI JOIN cc_kept k ON v.id = k.from_id",
            [self.files["vertices"]],
        )
        con.execute("DROP TABLE IF EXISTS cc_rej_vertices2_errors")  # counted in the first pass
        con.execute("DROP TABLE IF EXISTS cc_rej_vertices2_scans")
        rows = con.execute(
            f"SELECT DISTINCT t.domain, {_UNREVERSE.format(col='t.rname')}, s.name FROM cc_kept k "
            f"JOIN cc_target_ids t ON k.to_id = t.id JOIN cc_sources s ON k.from_id = s.id ORDER BY ALL"
        ).fetchall()
        (unknown,) = con.execute(
            "SELECT count(DISTINCT from_id) FROM cc_kept WHERE from_id NOT IN (SELECT id FROM cc_sources)"
        ).fetchall()[0]
        # A host of the user's own domain linking to another of its hosts is no referring domain.
        named = [(t, tn, src, _domain_of(src, self.level)) for t, tn, src in rows]
        named = [row for row in named if row[3] != row[0]]
        self.internal = len(rows) - len(named)
        n = len(named)
        table = pa.table(
            {
                "release": pa.array([self.release] * n, pa.string()),
                "level": pa.array([self.level] * n, pa.string()),
                "target": [r[0] for r in named],
                "target_name": [r[1] for r in named],
                "source": [r[2] for r in named],
                "source_domain": [r[3] for r in named],
                "imported_at": pa.array([self.now] * n, pa.timestamp("us", tz="UTC")),
            },
            schema=schema.CC_REFDOMAINS,
        )
        con.register("cc_new_refdomains", table)
        try:
            con.execute("INSERT INTO cc_refdomains SELECT * FROM cc_new_refdomains")
        finally:
            con.unregister("cc_new_refdomains")
        return n, int(unknown)


def _domain_of(name: str, level: str) -> str:
    if level == "domain":
        return name
    try:
        return split_host(name).domain
    except ValueError:
        return name
