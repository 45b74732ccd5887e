"""``linkback import`` in bounded memory: an export is read, spooled and written a piece at a time.

A 200 MB export once held its bytes, its text, every claim and every refused row's message at
once (1.8 GB). These tests use small generated files and the knobs that size the pieces: a test
that fed a 200 MB file would be slow, and /tmp/w/imports-mem/gen.py makes one for a measurement.
"""

from __future__ import annotations

import json
import random
import tracemalloc
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from linkback.cli import app
from linkback.faces import plain
from linkback.imports import _claims, _csvread, _job, _store, import_files
from linkback.imports._claims import parse_file
from linkback.store import Store

EXPECTED = Path(__file__).parent / "data" / "imports-memory"
AHREFS = (
    "Referring page title,Referring page URL,Domain rating,UR,Domain traffic,Target URL,Anchor,Type,"
    "Nofollow,First seen,Last seen,Lost"
)
ANCHORS = ["Example", "café crème", "例子 リンク", "pricing", "", "the best link audit tool", "Größe"]


def ahrefs_export(rows: int, *, seed: int = 1, newer: bool = False, bad_every: int = 0) -> str:
    """An Ahrefs backlinks export of ``rows`` rows, the same for the same arguments: anchors in
    three scripts, a quoted anchor on two lines, CRLF and LF line ends, thousands separators,
    a duplicate row now and then, and (``bad_every``) a row refused for one of three reasons.
    ``newer`` is a later export of the same links: other dates and ratings for every third."""
    rng = random.Random(seed)
    lines = [AHREFS]
    for i in range(rows):
        domain = f"site{rng.randrange(rows // 3 + 1)}.example"
        anchor = rng.choice(ANCHORS)
        dr, last_seen = rng.randrange(101), f"2025-0{rng.randrange(1, 10)}-1{rng.randrange(10)}"
        if newer and i % 3 == 0:
            dr, last_seen = (dr + 7) % 101, "2025-11-30"
        cells = [
            f"Page {i} about {anchor}", f"https://{domain}/p/{i % (rows // 2 + 1)}", str(dr), f"{rng.random() * 60:.1f}",
            f'"{rng.randrange(10**6):,}"', f"https://example.com/{rng.randrange(20)}",
            f'"{anchor} ""quoted""\nsecond line"' if i % 41 == 0 else anchor,
            rng.choice(["text", "image", ""]), rng.choice(["true", "false"]), "2024-01-02", last_seen,
            "2025-10-01" if i % 13 == 0 else "",
        ]  # fmt: skip
        line = ",".join(cells)
        if bad_every and i % bad_every == bad_every - 1:
            line = (line.replace("https://", "ht!tp://", 1), line.replace(f",{dr},", ",4x,", 1), "a,b,c")[i % 3]
        lines.append(line)
        if i % 17 == 0:
            lines.append(line)  # a duplicate
    return "".join(line + ("\r\n" if i % 5 else "\n") for i, line in enumerate(lines))


def stored(store: Store) -> dict[str, list[Any]]:
    """The claims and imports tables as stored, but for the times of the writes and the files' paths."""
    claims = store.con.execute("SELECT * EXCLUDE (imported_at, updated_at) FROM claims ORDER BY claim_id").fetchall()
    imports = store.con.execute(
        "SELECT * EXCLUDE (name, imported_at, first_imported_at) FROM claim_imports ORDER BY import_id"
    ).fetchall()
    return {"claims": plain(claims), "claim_imports": plain(imports)}


def in_small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every piece an import is read, deduplicated, spooled and written in, a few bytes or rows."""
    monkeypatch.setattr(_csvread, "CHUNK_BYTES", 7)  # multi-byte characters and CRLFs cut in two
    monkeypatch.setattr(_claims, "_DEDUPE_BATCH", 5)
    monkeypatch.setattr(_claims.ClaimKeys, "MERGE_AT", 4)
    monkeypatch.setattr(_store, "BATCH_CLAIMS", 4)
    monkeypatch.setattr(_store, "_ARROW_CLAIMS", 2)
    monkeypatch.setattr(_store, "SPOOL_MEMORY_BYTES", 0)  # on disk from the first batch


def test_an_export_streamed_in_small_pieces_stores_what_the_code_before_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The expected tables were written by the code that read each file whole (before bounded
    # memory), from these same files: an export, a newer one, and the first again.
    files = []
    for name, newer in (("first.csv", False), ("newer.csv", True)):
        text = ahrefs_export(60, newer=newer, bad_every=23)
        (tmp_path / name).write_text(text, encoding="utf-8", newline="")
        files.append(tmp_path / name)
    files.append(files[0])
    expected = json.loads((EXPECTED / "streamed-tables.json").read_text(encoding="utf-8"))

    def imported() -> tuple[dict[str, list[Any]], list[dict[str, Any]]]:
        with Store(":memory:") as store:
            summaries = [import_files(store, [path]) for path in files]
            return stored(store), [{k: f[k] for k in ("added", "changed", "unchanged")} for f in summaries]

    whole = imported()
    in_small_pieces(monkeypatch)
    pieces = imported()
    assert pieces == whole
    assert whole[1] == [
        {"added": 58, "changed": 0, "unchanged": 0},
        {"added": 0, "changed": 19, "unchanged": 39},
        {"added": 0, "changed": 0, "unchanged": 58},
    ]
    tables = json.loads(json.dumps(whole[0], ensure_ascii=False))  # as the file holds them: lists, not tuples
    for table in ("claims", "claim_imports"):
        assert tables[table] == expected[table], table


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
def test_chunks_cut_anywhere_read_the_same_rows(encoding: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text = ahrefs_export(40, bad_every=9)
    if encoding == "cp1252":
        text = text.replace("例子 リンク", "Ÿ€")
    data = text.encode(encoding)
    whole = parse_file("export.csv", data)
    for size in (1, 2, 3, 5, 64):
        monkeypatch.setattr(_csvread, "CHUNK_BYTES", size, raising=False)
        cut = parse_file("export.csv", data)
        assert cut.encoding == whole.encoding and cut.rejects == whole.rejects, size
        assert [(c.key, c.line, c.values, c.metrics) for c in cut.claims] == [
            (c.key, c.line, c.values, c.metrics) for c in whole.claims
        ], size


def python_peak(path: Path) -> int:
    """The most the Python heap held while ``path`` was imported into a store of its own."""
    with Store(":memory:") as store:
        tracemalloc.start()
        try:
            import_files(store, [path])
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


def test_an_export_four_times_larger_costs_the_python_heap_no_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same 40 pages link to the site with other anchors: every row a claim of its own, and
    # the parsers' caches (of URLs, numbers, dates) the same size for both files. Each row has
    # the kilobyte of text around its link that Ahrefs exports (a column not imported).
    header = "Referring page URL,Target URL,Anchor,Left context\n"
    context = "words around the link on its page " * 30

    def export(rows: int) -> Path:
        path = tmp_path / f"{rows}.csv"
        text = "".join(f"https://s{i % 40}.example/p,https://example.com/,anchor {i},{context}\n" for i in range(rows))
        path.write_text(header + text, encoding="utf-8")
        return path

    monkeypatch.setattr(_store, "BATCH_CLAIMS", 500)  # both files are several batches
    monkeypatch.setattr(_store, "_ARROW_CLAIMS", 500, raising=False)
    small, large = export(800), export(3200)
    # (A file read whole was read with a buffer of the largest size taken, whatever its own.)
    monkeypatch.setattr(_job, "MAX_IMPORT_BYTES", large.stat().st_size)
    python_peak(small)  # (caches filled, modules loaded)
    grown = python_peak(large) - python_peak(small)
    # Read whole, the larger file held 2.6 MB more bytes, and as much text again.
    assert grown < (large.stat().st_size - small.stat().st_size) / 2, grown


def test_the_write_holds_one_batch_of_claims_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A table registered with DuckDB inside a transaction is held until the commit, unregistered
    # or not: a file's claims, one transaction, were all held at once by the end of its write.
    monkeypatch.setattr(_store, "BATCH_CLAIMS", 500)
    monkeypatch.setattr(_store, "SPOOL_MEMORY_BYTES", 0, raising=False)
    path = tmp_path / "export.csv"
    path.write_text(ahrefs_export(4000), encoding="utf-8", newline="")
    held: list[int] = []
    merged = _store._upsert

    def upsert(store: Store, batch: pa.RecordBatch, *args: Any) -> dict[str, int]:
        counts = merged(store, batch, *args)
        held.append(pa.total_allocated_bytes())
        return counts

    monkeypatch.setattr(_store, "_upsert", upsert)
    with Store(tmp_path / "claims.duckdb") as store:
        summary = import_files(store, [path])
    assert summary["added"] > 3500 and len(held) == 8
    # What stays is a few KB a statement (DuckDB's, until the commit), not the batch's 200 KB.
    assert max(held) - held[0] < 100_000, held


def test_a_million_bad_rows_keep_a_hundred_and_count_each_reason(tmp_path: Path) -> None:
    good = "https://a.example/p,https://example.com/,fine\n"
    bad = (
        "ht!tp://a.example/p,https://example.com/,bad url\n"
        "https://a.example/p\n"
        "https://a.example/p,https://example.com/,anchor,extra\n"
        ",https://example.com/,no source\n"
    )
    path = tmp_path / "bad.csv"
    path.write_text("Referring page URL,Target URL,Anchor\n" + good + bad * 2500, encoding="utf-8")
    with Store(tmp_path / "claims.duckdb") as store:
        summary = import_files(store, [path])
        (kept,) = store.con.execute("SELECT rejects FROM claim_imports").fetchall()[0]
    (result,) = summary["files"]
    assert (result["rows"], result["claims"], result["rejected"]) == (10_001, 1, 10_000)
    assert [r["line"] for r in result["rejects"]] == list(range(3, 23))
    assert result["rejects_not_shown"] == 10_000 - 20
    assert list(result["reasons"].items()) == [  # the most frequent first
        ("not valid CSV: not the header's number of fields", 5000),
        ("bad URL in 'Referring page URL'", 2500),
        ("missing 'Referring page URL' (a required column)", 2500),
    ]
    assert len(json.loads(kept)) == _store.STORED_REJECTS

    shown = CliRunner().invoke(app, ["import", str(path), "--db", str(tmp_path / "cli.duckdb")], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "9,997 more rows refused, not shown ('--format json' lists the first 20)" in shown.stdout
    assert "5,000 refused: not valid CSV: not the header's number of fields" in shown.stdout
    assert "2,500 refused: bad URL in 'Referring page URL'" in shown.stdout


def test_refused_rows_are_counted_by_their_reason_without_the_cell_and_by_a_bounded_number_of_kinds() -> None:
    rows = "".join(f"https://a.example/{i},https://example.com/,a,{i}x\n" for i in range(60))
    parsed = parse_file("e.csv", ("Referring page URL,Target URL,Anchor,Domain rating\n" + rows).encode())
    assert parsed.rejected == 60 and parsed.reasons == {"unparseable number in 'Domain rating'": 60}
    assert parsed.rejects[0] == {"line": 2, "reason": "unparseable number '0x' in 'Domain rating'"}
    for line in range(_claims.KEEP_REASONS + 10):  # reasons no cell gave a kind to
        parsed.reject(line, f"reason {line}")
    assert len(parsed.reasons) == _claims.KEEP_REASONS + 1 and parsed.reasons[_claims.OTHER_REASONS] == 11
    assert sum(parsed.reasons.values()) == parsed.rejected == 60 + _claims.KEEP_REASONS + 10
