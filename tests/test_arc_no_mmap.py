"""A plain ARC file is read by position, not mapped: a cut under the reader is damage, not a crash.

A mapped file cut short while it is read makes a page past its new end a SIGBUS, which kills the
process whatever Python does; read by position, the cut is the end of the file. The reader goes
a chunk at a time, so its header lines also straddle chunk ends: those files must read as they
always did, every record, page, count and message the same.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_arc_damaged import filedesc, offsets, page, read, record

import linkback.sources._arc as arc_module
from linkback.sources import _recovery as rec_

# Reads the first page, cuts the file under the reader (another program overwrites it), reads on.
_CUT_WHILE_READ = """
import hashlib, json, os, sys
from linkback.sources import ReadStats, iter_archive
path, cut = sys.argv[1], int(sys.argv[2])
stats = ReadStats()
pages = iter_archive(path, stats=stats)
got = [next(pages)]
os.truncate(path, cut)
got += list(pages)
print(json.dumps({
    "pages": [[p.url, p.offset, hashlib.sha256(p.body).hexdigest()] for p in got],
    "records": stats.records, "skipped": dict(stats.skipped), "errors": stats.errors,
}))
"""


def _big_page(n: int) -> bytes:
    return record(b"http://big%d.example/" % n, b"<a href='https://t.example/%d'>" % n + b"x" * 4000 + b"</a>")


def _body(part: bytes) -> bytes:
    return part.split(b"\r\n\r\n", 1)[1][:-1]


@pytest.mark.parametrize("where", ["in a body past the chunks read", "in a header line", "in the first chunk read"])
def test_a_plain_arc_cut_while_it_is_read_is_damage_not_a_crash(tmp_path: Path, where: str) -> None:
    # Far more bytes than the reader holds at a time, so that it must read the file past the cut.
    reach = arc_module._CHUNK + arc_module._LINE_SPAN
    parts = [filedesc()]
    while sum(map(len, parts)) < 4 * reach:
        parts.append(_big_page(len(parts)))
    at = offsets(parts)
    k = next(i for i, o in enumerate(at) if o > 2 * reach) if where != "in the first chunk read" else 3
    line = len(parts[k].split(b"\n", 1)[0]) + 1
    cut = at[k] + (20 if where == "in a header line" else line + 2000)
    path = tmp_path / "cut.arc"
    path.write_bytes(b"".join(parts))

    done = subprocess.run(
        [sys.executable, "-c", _CUT_WHILE_READ, str(path), str(cut)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{done.returncode}: {done.stderr[-2000:]}"  # a SIGBUS is -7
    got = json.loads(done.stdout)
    # Every page before the cut, whole; none after it.
    assert got["pages"] == [
        [f"http://big{i}.example/", at[i], hashlib.sha256(_body(parts[i])).hexdigest()] for i in range(1, k)
    ]
    if where == "in a header line":
        # What is left of the record is not a header line: garbage after the last whole record.
        assert got["errors"] == [f"{path} at byte {at[k]}: {cut - at[k]} bytes after an ARC record skipped"]
        assert got["skipped"] == {"warcinfo": 1, "garbage_bytes": 1}
    else:
        missing = at[k + 1] - 1 - cut  # the record's declared end is just before its trailing newline
        assert got["errors"] == [f"{path} at byte {at[k]}: record cut short: {missing} bytes of its block are missing"]
        assert got["skipped"] == {"warcinfo": 1, "truncated_record": 1}
    # Records framed from a chunk read before the cut but gone from the file are not counted.
    assert got["records"] == k + (where != "in a header line")


# --- header lines across chunk ends -------------------------------------------------------------


def _straddling_parts() -> tuple[list[bytes], list[str]]:
    """Many small records, some damaged, and what each part is: ``page``, ``liar`` (its length
    too short), ``huge`` (its length past the end of the file), ``garbage`` or ``padding``."""
    parts, kinds = [filedesc()], ["warcinfo"]
    for n in range(150):
        kind = n % 10
        if kind == 0 and n:
            body = b"<p>" + b"x" * 30 + b"</p>"  # 7 bytes short: the length ends inside the x's
            parts += [record(b"http://liar%d.example/" % n, body, lie=-7)]
            kinds += ["liar"]
        elif kind == 3:
            parts += [record(b"http://holder%d.example/" % n, page(9000 + n) + page(9100 + n))]
            kinds += ["page"]
        elif kind == 5:  # the length counts the newline after the body
            header, rest = page(n).split(b"\n", 1)
            url, ip, date, mime, length = header.split(b" ")
            parts += [b" ".join([url, ip, date, mime, b"%d" % (int(length) + 1)]) + b"\n" + rest]
            kinds += ["page"]
        elif kind == 6:  # no newline between this record and the next
            parts += [page(n)[:-1]]
            kinds += ["page"]
        else:
            parts += [page(n)]
            kinds += ["page"]
        if kind == 1:
            parts += [b"\x00\xffnot a record\n"]
            kinds += ["garbage"]
        elif kind == 2:
            parts += [b"\r\n\r\n"]
            kinds += ["padding"]
        elif kind == 4:  # many lines to search past, one of them longer than any header line
            parts += [b"garbage line\n" * 40 + b"Z" * 700 + b"\n"]
            kinds += ["garbage"]
        elif kind == 7:  # a record whose header line does not parse (its date has a letter)
            parts += [page(5000 + n).replace(b"20080430204825", b"2008043020482x", 1)]
            kinds += ["garbage"]
        elif kind == 8 and n == 78:
            parts += [record(b"http://huge.example/", b"<p>x</p>", lie=10**6)]
            kinds += ["huge"]
    return parts, kinds


@pytest.mark.parametrize(
    ("chunk", "span"), [(None, None), (61, 128), (97, 300), (128, 256), (1, 100), (4096, 1000)], ids=str
)
def test_header_lines_across_chunk_ends_read_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int | None, span: int | None
) -> None:
    parts, kinds = _straddling_parts()
    data = b"".join(parts)
    path = tmp_path / "many.arc"
    path.write_bytes(data)
    at = offsets(parts) + [len(data)]
    # What the file holds, worked out from how it was made.
    pages, errors = [], []
    for i, (part, kind) in enumerate(zip(parts, kinds)):
        header = part.split(b"\n", 1)[0]
        declared = int(header.rsplit(b" ", 1)[-1]) if kind in ("page", "liar", "huge") else 0
        if kind == "page":
            block = part[len(header) + 1 : len(header) + 1 + declared]
            pages.append((header.split(b" ")[0].decode(), at[i], block.split(b"\r\n\r\n", 1)[1]))
        elif kind in ("liar", "huge"):
            where = (
                f"runs {at[i] + len(header) + 1 + declared - len(data):,} bytes past the end of the file"
                if kind == "huge"
                else "does not end at the next record's header line"
            )
            errors.append(
                f"{path} at byte {at[i]}: ARC record's length ({declared:,}) {where}; record skipped, "
                f"reading goes on at byte {at[i + 1]}"
            )
        elif kind == "garbage":
            errors.append(f"{path} at byte {at[i]}: {len(part)} bytes after an ARC record skipped")

    if chunk is not None:  # header lines are some 60 bytes long, the longest line 701
        monkeypatch.setattr(arc_module, "_CHUNK", chunk)
        monkeypatch.setattr(arc_module, "_LINE_SPAN", span)
    read_ends = []
    read_slice = rec_.FileBytes.__getitem__

    def noted(self: rec_.FileBytes, key: slice) -> bytes:
        read_ends.append(key.stop)
        return read_slice(self, key)

    monkeypatch.setattr(rec_.FileBytes, "__getitem__", noted)
    got, stats = read(path)

    if chunk is not None:  # the test is worth its name: reads did end inside header lines
        records = [i for i, kind in enumerate(kinds) if kind not in ("garbage", "padding")]
        lines = [(at[i], at[i] + parts[i].index(b"\n")) for i in records]
        straddled = [a for a, b in lines if any(a < e <= b for e in read_ends)]
        assert straddled
    assert [(p.url, p.offset, p.body) for p in got] == pages
    assert stats.errors == errors
    assert stats.skipped == {
        "warcinfo": 1,
        "bad_content_length": kinds.count("liar") + kinds.count("huge"),
        "garbage_bytes": kinds.count("garbage"),
    }
    assert stats.records == 1 + sum(k in ("page", "liar", "huge") for k in kinds) and stats.read_to_end
    assert stats.responses == len(pages)
