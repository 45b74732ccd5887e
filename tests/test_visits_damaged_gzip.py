"""`linkback visits` on damaged gzip files: cut short, corrupt inside the deflate stream, failing
the CRC, magic bytes and then garbage. The message says the gzip is damaged and at which byte;
every line before the damage is read and kept, the file is ``partial``, and a later (repaired)
copy is read again, adding only what is new."""

from __future__ import annotations

import gzip
import io
import json
import random
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from linkback.cli import app
from linkback.store import Store
from linkback.traffic import read_visits
from linkback.traffic._files import LogStats, iter_lines, open_file
from linkback.traffic._import import FINGERPRINT_BYTES
from linkback.traffic._read import iter_traffic_paths

SITE = "example.com"
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0"


def log_lines(first: int, count: int, *, seed: int = 0) -> bytes:
    """Combined-log lines that are each one visit (a page, a person, a referrer of its own); with
    ``seed``, referrers random enough that the gzip is about as big as the text."""
    rnd = random.Random(seed)
    out = []
    for i in range(first, first + count):
        ref = f"https://r{i}.example/{rnd.getrandbits(96):x}" if seed else f"https://r{i}.example/"
        out.append(
            f"192.0.2.{i % 250} - - [10/Oct/2023:{13 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d} +0000] "
            f'"GET /p{i} HTTP/1.1" 200 1 "{ref}" "{UA}"\n'
        )
    return "".join(out).encode()


def two_blocks(n: int, *, seed: int = 0) -> tuple[bytes, int]:
    """A gzip of ``2n`` lines and the offset where its second half starts: a full flush there puts
    a deflate block at a byte boundary, so damage can be put exactly there."""
    co = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    first = co.compress(log_lines(0, n, seed=seed)) + co.flush(zlib.Z_FULL_FLUSH)
    return first + co.compress(log_lines(n, n, seed=seed)) + co.flush(), len(first)


def damaged(data: bytes, at: int, new: bytes) -> bytes:
    return data[:at] + new + data[at + len(new) :]


def read_one(store: Store, path: Path):  # noqa: ANN201
    (result,) = read_visits(store, [path], host=SITE)
    return result


# --------------------------------------------------------------------------- the four kinds of damage


@pytest.mark.parametrize("n", [50, 2000])  # the damage in the first 8 KiB (one piece of gzip's) or far after
def test_corrupt_bytes_in_the_deflate_stream_keep_every_line_before_them(tmp_path: Path, n: int) -> None:
    data, second = two_blocks(n)
    path = tmp_path / "access.log.2.gz"
    path.write_bytes(damaged(data, second, b"\xff"))  # a block header of the reserved type 3
    with Store(":memory:") as store:
        r = read_one(store, path)
    assert (r.status, r.format, r.lines, r.parsed, r.added) == ("partial", "combined", n, n, n)
    assert r.error == (
        f"read_error: after line {n}: gzip file damaged at byte {second:,} (in the member that starts at byte 0): "
        "invalid block type"
    )


def test_a_gzip_cut_in_the_middle_keeps_the_lines_before_the_cut(tmp_path: Path) -> None:
    data, second = two_blocks(2000)
    cut = second + (len(data) - second) // 2
    path = tmp_path / "access.log.1.gz"
    path.write_bytes(data[:cut])
    with Store(":memory:") as store:
        r = read_one(store, path)
    assert r.status == "partial" and 2000 < r.lines < 4000 and r.added == r.lines
    assert r.error == (
        f"truncated_stream: after line {r.lines}: gzip file cut short at byte {cut:,}: it ends inside the member "
        "that starts at byte 0 (a copy or download that did not finish?)"
    )


def test_a_bad_crc_reads_every_line_and_says_they_may_be_damaged(tmp_path: Path) -> None:
    data, _ = two_blocks(500)
    path = tmp_path / "access.log.3.gz"
    path.write_bytes(damaged(data, len(data) - 8, bytes([data[-8] ^ 0x01])))  # the trailer: CRC-32, then size
    with Store(":memory:") as store:
        r = read_one(store, path)
    assert (r.status, r.lines, r.added) == ("partial", 1000, 1000)
    assert r.error == (
        f"read_error: after line 1000: gzip file damaged: the member that starts at byte 0 fails its check at byte "
        f"{len(data) - 5:,}: its data does not match its CRC-32 (lines read from it may hold damaged bytes)"
    )


@pytest.mark.parametrize(
    ("data", "error"),
    [
        # zlib reads the method and the flags together: it fails at the flags' byte.
        (b"\x1f\x8b" + b"this is not deflate data" * 20, "gzip file damaged at byte 3 (in the member that starts at "
         "byte 0): unknown compression method"),
        # A whole header (method 8, no flags), then bytes no deflate stream starts with.
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(range(6, 256)), "gzip file damaged at byte 10 (in the "
         "member that starts at byte 0): invalid block type"),
        (b"\x1f\x8b", "gzip file cut short at byte 2: it ends inside the member that starts at byte 0 (a copy or "
         "download that did not finish?)"),
    ],
)  # fmt: skip
def test_gzip_magic_then_garbage_is_a_damaged_gzip_not_another_kind_of_file(
    tmp_path: Path, data: bytes, error: str
) -> None:
    path = tmp_path / "access.log.gz"
    path.write_bytes(data)
    with Store(":memory:") as store:
        r = read_one(store, path)
        assert store.con.execute("SELECT count(*) FROM visit_imports").fetchall() == [(0,)]
    assert (r.status, r.lines, r.error) == ("failed", 0, f"{error}; no whole line comes before it")


def test_damage_after_lines_in_no_known_format_says_so(tmp_path: Path) -> None:
    co = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    first = co.compress(b"hello\nworld\n") + co.flush(zlib.Z_FULL_FLUSH)
    path = tmp_path / "notes.gz"
    path.write_bytes(first + b"\xff" + co.flush()[1:])
    with Store(":memory:") as store:
        r = read_one(store, path)
    assert r.status == "failed"
    assert r.error.endswith("invalid block type; the 2 lines before it are in no format linkback reads")


# --------------------------------------------------------------------------- several members


def test_damage_in_a_later_member_names_that_member(tmp_path: Path) -> None:
    one = gzip.compress(log_lines(0, 30), mtime=0)  # logrotate's delaycompress, concatenated
    two, second = two_blocks(40)
    path = tmp_path / "access.log.gz"
    path.write_bytes(one + damaged(two, second, b"\xff"))
    with Store(":memory:") as store:
        r = read_one(store, path)
    assert (r.status, r.lines, r.added) == ("partial", 70, 70)
    assert r.error.endswith(
        f"gzip file damaged at byte {len(one) + second:,} (in the member that starts at byte {len(one):,}): "
        "invalid block type"
    )


def test_garbage_after_a_whole_member(tmp_path: Path) -> None:
    one = gzip.compress(log_lines(0, 30), mtime=0)
    path = tmp_path / "access.log.gz"
    path.write_bytes(one + b"\x00\x00" + b"garbage")  # zeros that pad a member are no damage; the rest is
    with Store(":memory:") as store:
        r = read_one(store, path)
    assert (r.status, r.lines, r.added) == ("partial", 30, 30)
    assert r.error == (
        f"read_error: after line 30: gzip file damaged: the bytes from byte {len(one) + 2:,} on are not gzip data "
        "(a whole member ends there)"
    )


# --------------------------------------------------------------------------- read again


def test_a_damaged_file_read_again_adds_nothing_and_its_repaired_copy_adds_the_rest(tmp_path: Path) -> None:
    data, second = two_blocks(2500, seed=1)
    assert second > FINGERPRINT_BYTES  # a repaired copy has the damaged one's size and fingerprint
    path = tmp_path / "access.log.2.gz"
    path.write_bytes(damaged(data, second, b"\xff"))
    with Store(":memory:") as store:
        first = read_one(store, path)
        assert (first.status, first.added) == ("partial", 2500)
        (errors,) = store.con.execute("SELECT errors FROM visit_imports").fetchall()[0]
        assert json.loads(errors)[0] == {"line": 2500, "reason": first.error, "rest_unread": True}
        again = read_one(store, path)
        assert (again.status, again.lines, again.added) == ("partial", 2500, 0)
        path.write_bytes(data)  # repaired: same size, same first 64 KiB
        repaired = read_one(store, path)
        assert (repaired.status, repaired.lines, repaired.added, repaired.error) == ("read", 5000, 2500, "")
        assert read_one(store, path).status == "already"
        assert store.con.execute("SELECT count(*), count(DISTINCT visit_key) FROM visits").fetchall() == [(5000, 5000)]
        assert store.con.execute("SELECT count(*) FROM visit_imports").fetchall() == [(1,)]


def test_a_copy_cut_short_then_the_whole_file(tmp_path: Path) -> None:
    data, second = two_blocks(1000)
    cut, whole = tmp_path / "cut.log.gz", tmp_path / "whole.log.gz"
    cut.write_bytes(data[: second + 100])
    whole.write_bytes(data)
    with Store(":memory:") as store:
        partial = read_one(store, cut)
        assert partial.status == "partial" and partial.added == partial.lines >= 1000
        full = read_one(store, whole)
        assert (full.status, full.added) == ("read", 2000 - partial.added)
        assert store.con.execute("SELECT count(*) FROM visits").fetchall() == [(2000,)]


def test_a_gzipped_export_damaged_inside_keeps_its_rows_before_the_damage(tmp_path: Path) -> None:
    head = "date,source,referrer,visitors,visits\n"
    co = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    first = co.compress((head + "".join(f"2026-11-01,src{i},,1,1\n" for i in range(100))).encode())
    first += co.flush(zlib.Z_FULL_FLUSH)
    rest = co.compress("".join(f"2026-11-02,src{i},,1,1\n" for i in range(100)).encode()) + co.flush()
    path = tmp_path / "imported_sources.csv.gz"
    path.write_bytes(first + b"\xff" + rest[1:])
    with Store(":memory:") as store:
        r = read_one(store, path)
    assert (r.status, r.format, r.lines, r.added) == ("partial", "plausible", 100, 100)
    assert r.error == (
        f"after 100 rows: gzip file damaged at byte {len(first):,} (in the member that starts at byte 0): "
        "invalid block type"
    )


# --------------------------------------------------------------------------- the command and directories


def test_the_command_says_which_file_is_damaged_and_where(tmp_path: Path) -> None:
    data, second = two_blocks(50)
    bad = tmp_path / "access.log.2.gz"
    bad.write_bytes(damaged(data, second, b"\xff"))
    garbage = tmp_path / "access.log.3.gz"
    garbage.write_bytes(b"\x1f\x8b" + b"not gzip" * 10)
    db = str(tmp_path / "t.duckdb")
    run = CliRunner().invoke(app, ["visits", str(bad), "--host", SITE, "--db", db], env={"COLUMNS": "300"})
    assert run.exit_code == 0, run.stderr
    assert f"{bad}: read_error: after line 50: gzip file damaged at byte {second:,}" in run.stderr
    assert "50 new visits" in run.stdout
    run = CliRunner().invoke(app, ["visits", str(garbage), "--host", SITE, "--db", db], env={"COLUMNS": "300"})
    assert run.exit_code == 1
    assert f"failed: {garbage}: gzip file damaged at byte 3 " in run.stderr
    assert "not an access log" not in run.stderr


def test_a_directory_names_its_damaged_gzip_as_damaged(tmp_path: Path) -> None:
    (tmp_path / "access.log").write_bytes(log_lines(0, 3))
    (tmp_path / "access.log.2.gz").write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 6 + b"\xff" * 40)
    stats = LogStats()
    assert iter_traffic_paths([tmp_path], stats) == [tmp_path / "access.log"]
    (problem,) = stats.errors
    assert problem == (
        f"{tmp_path / 'access.log.2.gz'}: not_an_access_log: skipped: gzip file damaged at byte 10 (in the member "
        "that starts at byte 0): invalid block type; no whole line comes before it"
    )


# --------------------------------------------------------------------------- the reader on whole files


@pytest.mark.parametrize(
    "data",
    [
        gzip.compress(b"", mtime=0),
        gzip.compress(log_lines(0, 5), mtime=0),
        gzip.compress(log_lines(0, 400, seed=2), mtime=0) * 3 + b"\x00" * 9,  # members and zero padding
        two_blocks(3000, seed=3)[0],  # bigger than one piece read
    ],
    ids=["empty", "small", "members", "big"],
)
def test_the_reader_gives_what_the_gzip_module_gives(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "f.gz"
    with gzip.GzipFile(path, "wb", mtime=0) as named:  # a header with FNAME, as gzip(1) writes
        named.write(b"x\n")
    assert open_file(str(path)).read() == b"x\n"
    path.write_bytes(data)
    want = gzip.decompress(data)
    with open_file(str(path)) as fh:
        assert b"".join(iter(lambda: fh.read1(io.DEFAULT_BUFFER_SIZE), b"")) == want
        fh.seek(0)
        assert fh.read() == want and fh.tell() == len(want)
        fh.seek(len(want) // 3)
        assert fh.read(10) == want[len(want) // 3 :][:10]
    with open_file(str(path)) as fh:
        assert [line for line in iter_lines(fh) if line is not None] == want.decode("latin-1").splitlines()
