"""The Spark job's parts that need no Spark: the work items, what a Python worker makes of them,
the ranges' join check, the inputs and the command line without pyspark.

``linkback.spark._tasks.extract_work`` is the function ``mapInArrow`` calls; here it is called
as it is, on the bundled real WARC files, and checked against what ``linkback ingest``'s workers
read (:func:`linkback.batches.extract_range` over :func:`linkback._workers.ranges`)."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import REPO_DATA, ROOT
from serverkit import Page, PageServer

from linkback import _workers
from linkback.batches import extract_range
from linkback.errors import SourceError
from linkback.sources.warc import iter_paths
from linkback.spark import _inputs, _layout, _tasks
from linkback.spark._job import _join_ranges

SAMPLE = REPO_DATA / "warc" / "real-pages" / "sample.warc.gz"  # gzipped per record: cut blind
AUT = REPO_DATA / "warc" / "aut" / "example.warc.gz"


def work_batch(items: list[dict]) -> pa.RecordBatch:
    rows = [{"content": None, "align": False, "start": 0, "end": -1, "range_no": 0, **item} for item in items]
    return pa.RecordBatch.from_pylist(rows, schema=_tasks.WORK)


def parts(batches: list[pa.RecordBatch]) -> tuple[pa.Table, pa.Table, list[dict]]:
    """(observation rows, link rows, meta rows) of extract_work's output."""
    table = pa.Table.from_batches(batches, _tasks.EXTRACTED)
    obs = pa.Table.from_struct_array(table.filter(table["obs"].is_valid())["obs"].combine_chunks())
    links = pa.Table.from_struct_array(table.filter(table["link"].is_valid())["link"].combine_chunks())
    metas = table.filter(table["meta"].is_valid())["meta"].to_pylist()
    return obs, links, metas


def link_rows(obs: pa.Table, links: pa.Table) -> list[tuple]:
    """Each link row with its page's obs_key in place of obs_id and its place in the page in
    place of link_seq (which numbers rows per batch), sorted."""
    key_of = dict(zip(obs["obs_id"].to_pylist(), obs["obs_key"].to_pylist(), strict=True))
    cols = [c for c in links.column_names if c not in ("obs_id", "link_seq")]
    place: dict[int, int] = {}
    out = []
    for row in sorted(links.to_pylist(), key=lambda r: (r["obs_id"], r["link_seq"])):
        place[row["obs_id"]] = place.get(row["obs_id"], -1) + 1
        out.append((key_of[row["obs_id"]], place[row["obs_id"]], *(row[c] for c in cols)))
    return sorted(out, key=repr)


def test_each_range_gives_the_rows_ingest_workers_extract_with_packed_obs_ids() -> None:
    ranges = list(_workers.ranges(SAMPLE))
    assert len(ranges) > 1, "the sample must be cut in several ranges for this test to say anything"
    items = [{"archive_id": 3, "range_no": no, "kind": "range", "source": str(SAMPLE), "start": s, "end": e,
              "align": a} for no, (s, e, a) in enumerate(ranges)]  # fmt: skip
    obs, links, metas = parts(list(_tasks.extract_work([work_batch(items)])))
    expected_pages = expected_links = 0
    for no, (start, end, align) in enumerate(ranges):
        batch, stats, bounds = extract_range(str(SAMPLE), start, end, align)
        meta = metas[no]
        assert (meta["range_no"], meta["first"], meta["next"]) == (no, bounds.first, bounds.next)
        assert (meta["records"], meta["pages"], meta["links"]) == (stats.records, batch.observations.num_rows,
                                                                   batch.links.num_rows)  # fmt: skip
        mine = obs.filter(pa.compute.equal(pa.compute.shift_right(obs["obs_id"], _layout.PAGE_BITS), 3 << 20 | no))
        assert mine["obs_key"].to_pylist() == batch.observations["obs_key"].to_pylist()
        assert mine["obs_id"].to_pylist() == [_layout.pack_obs_id(3, no, i) for i in range(mine.num_rows)]
        expected_pages += batch.observations.num_rows
        expected_links += batch.links.num_rows
    assert (obs.num_rows, links.num_rows) == (expected_pages, expected_links) == (117, 15_864)
    assert set(obs["archive_id"].to_pylist()) == {3}
    # links point at their own page: a page's links are the ones extract() gives for it
    assert set(links["obs_id"].to_pylist()) <= set(obs["obs_id"].to_pylist())


def test_a_file_read_whole_gives_the_same_rows_as_its_ranges() -> None:
    ranges = [{"archive_id": 1, "range_no": no, "kind": "range", "source": str(AUT), "start": s, "end": e,
               "align": a} for no, (s, e, a) in enumerate(_workers.ranges(AUT))]  # fmt: skip
    by_range = parts(list(_tasks.extract_work([work_batch(ranges)])))
    whole = parts(list(_tasks.extract_work([work_batch([{"archive_id": 1, "kind": "file", "source": str(AUT)}])])))
    drop = ["obs_id"]
    assert whole[0].drop_columns(drop).to_pylist() == by_range[0].drop_columns(drop).to_pylist()
    assert link_rows(*whole[:2]) == link_rows(*by_range[:2])
    assert len(whole[2]) == 1 and whole[2][0]["records"] == sum(m["records"] for m in by_range[2]) == 822


def test_http_and_hadoop_items_read_the_bytes_they_are_given() -> None:
    data = SAMPLE.read_bytes()
    local = parts(list(_tasks.extract_work([work_batch([{"archive_id": 2, "kind": "file", "source": str(SAMPLE)}])])))
    with PageServer() as server:
        server.pages["/crawl/sample.warc.gz"] = Page(data, headers={"Content-Type": "application/warc"})
        url = server.url("/crawl/sample.warc.gz")
        items = [
            {"archive_id": 2, "kind": "http", "source": url},
            {"archive_id": 2, "kind": "hadoop", "source": "file:/elsewhere/sample.warc.gz", "content": data},
            {"archive_id": 4, "kind": "http", "source": server.url("/crawl/gone.warc.gz")},
            {"archive_id": 5, "kind": "hadoop", "source": "s3a://bucket/notes.warc.gz", "content": b"shopping list"},
        ]
        batches = [list(_tasks.extract_work([work_batch([item])])) for item in items]
    for got in batches[:2]:
        obs, links, metas = parts(got)
        assert obs.to_pylist() == local[0].to_pylist()
        assert link_rows(obs, links) == link_rows(*local[:2])
        assert metas[0]["failed"] == "" and metas[0]["records"] == 117
    gone, junk = parts(batches[2])[2][0], parts(batches[3])[2][0]
    assert gone["failed"] == f"{server.url('/crawl/gone.warc.gz')}: HTTP 404 Not Found"
    assert "not a WARC or ARC file" in junk["failed"]
    assert parts(batches[3])[0].num_rows == 0


def test_ranges_that_do_not_join_up_are_read_again_from_where_the_one_before_ended() -> None:
    ranges = list(_workers.ranges(SAMPLE))
    items = [{"archive_id": 1, "range_no": no, "kind": "range", "source": str(SAMPLE), "start": s, "end": e,
              "align": a} for no, (s, e, a) in enumerate(ranges)]  # fmt: skip
    obs, links, metas = parts(list(_tasks.extract_work([work_batch(items)])))
    # A worker that aligned somewhere else than where range 0 found its next record:
    metas[1] = {**metas[1], "first": metas[1]["first"] + 1}
    kept, dropped, redone = _join_ranges(metas)
    assert dropped == [1 << _layout.RANGE_BITS | 1]
    again_obs, again_links, _ = parts(redone)
    range_1 = pa.compute.equal(pa.compute.shift_right(obs["obs_id"], _layout.PAGE_BITS), 1 << 20 | 1)
    assert again_obs.num_rows > 0 and again_obs.to_pylist() == obs.filter(range_1).to_pylist()
    assert again_links.num_rows == sum(
        1 for i in links["obs_id"].to_pylist() if i in set(again_obs["obs_id"].to_pylist())
    )
    assert [m["range_no"] for m in kept] == list(range(len(ranges)))
    # Reading that ended inside range 0 (the rest unreadable): later ranges add nothing.
    metas[0] = {**metas[0], "next": -1}
    kept, dropped, redone = _join_ranges(metas)
    assert [m["range_no"] for m in kept] == [0] and len(dropped) == len(ranges) - 1 and not redone


def test_plan_numbers_the_inputs_and_cuts_local_warcs_as_ingest_does(tmp_path: Path) -> None:
    junk = tmp_path / "junk.warc.gz"
    junk.write_bytes(b"not an archive")
    inputs = [str(REPO_DATA / "warc"), str(junk), "https://data.example.org/a.warc.gz", "s3a://bucket/b/*.warc.gz"]
    archives, work, hadoop = _inputs.plan(inputs)
    local = [str(p.resolve()) for p in iter_paths([str(REPO_DATA / "warc"), str(junk)])]
    assert [a.source for a in archives] == [*local, "https://data.example.org/a.warc.gz"]
    assert [a.archive_id for a in archives] == list(range(1, len(local) + 2))
    assert hadoop == ["s3a://bucket/b/*.warc.gz"]
    failed = [a for a in archives if a.failed]
    assert [a.source for a in failed] == [str(junk)] and "not a WARC or ARC file" in failed[0].failed
    sample = next(a for a in archives if a.source == str(SAMPLE))
    assert [(w["start"], w["end"], w["align"]) for w in work if w["archive_id"] == sample.archive_id] == list(
        _workers.ranges(SAMPLE)
    )
    with pytest.raises(SourceError, match="does not exist"):
        _inputs.plan([str(tmp_path / "missing.warc.gz")])


@pytest.mark.parametrize(
    ("uri", "kind"),
    [
        ("crawl/a.warc.gz", "local"),
        ("/abs/a.warc", "local"),
        ("https://x.org/a.warc.gz", "http"),
        ("HTTP://x.org/a", "http"),
        ("s3a://b/k.warc.gz", "hadoop"),
        ("hdfs://nn/p", "hadoop"),
        ("file:///tmp/a.warc.gz", "hadoop"),
        ("C:\\crawl\\a.warc", "local"),
    ],  # fmt: skip
)
def test_inputs_are_told_apart_by_their_scheme(uri: str, kind: str) -> None:
    assert _inputs.kind_of(uri) == kind


def test_a_manifest_lists_inputs_gzipped_with_comments_and_a_base(tmp_path: Path) -> None:
    manifest = tmp_path / "warc.paths.gz"
    lines = "# CC-MAIN-2025-05\ncrawl-data/a.warc.gz\n\n/data/b.warc.gz\nhttps://x.org/c.warc.gz\n"
    manifest.write_bytes(gzip.compress(lines.encode()))
    assert _inputs.read_manifest(manifest, "https://data.commoncrawl.org/") == [
        "https://data.commoncrawl.org/crawl-data/a.warc.gz",
        "/data/b.warc.gz",
        "https://x.org/c.warc.gz",
    ]
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    with pytest.raises(SourceError, match="lists no inputs"):
        _inputs.read_manifest(empty)
    with pytest.raises(SourceError, match="cannot read the manifest"):
        _inputs.read_manifest(tmp_path / "absent.txt")


def test_obs_ids_pack_archive_range_and_page_in_read_order() -> None:
    ids = [_layout.pack_obs_id(a, r, p) for a, r, p in [(1, 0, 0), (1, 0, 5), (1, 2, 0), (2, 0, 0)]]
    assert ids == sorted(ids) and len(set(ids)) == 4
    assert _layout.archive_of_obs_id(_layout.pack_obs_id(_layout.MAX_ARCHIVES, 7, 9)) == _layout.MAX_ARCHIVES
    assert _layout.pack_obs_id(_layout.MAX_ARCHIVES, (1 << 20) - 1, (1 << 21) - 1) < 2**63
    with pytest.raises(ValueError, match="out of range"):
        _layout.pack_obs_id(1, 1 << 20, 0)


def _linkback(*args: str, hide_pyspark: bool = False) -> subprocess.CompletedProcess[str]:
    hide = "sys.modules['pyspark'] = None; " if hide_pyspark else ""
    code = f"import sys; {hide}sys.argv = ['linkback', *{list(args)!r}]; from linkback.cli._entry import main; main()"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_the_command_works_without_pyspark_and_says_what_is_missing(tmp_path: Path) -> None:
    helped = _linkback("spark", "extract", "--help", hide_pyspark=True)
    assert helped.returncode == 0 and "Usage: linkback spark extract" in helped.stdout
    done = _linkback("spark", "extract", str(SAMPLE), "--out", str(tmp_path / "out"), hide_pyspark=True)
    assert done.returncode == 1
    assert "pyspark is not installed: pip install 'linkback[spark]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_command_refuses_bad_arguments_before_starting_spark(tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "x").write_text("mine")
    out = _linkback("spark", "extract", str(SAMPLE), "--out", str(taken))
    assert out.returncode == 1 and "already exists and is not empty (--overwrite replaces its tables)" in out.stderr
    missing = _linkback("spark", "extract", str(tmp_path / "nope.warc.gz"), "--out", str(tmp_path / "o"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    bad_conf = _linkback("spark", "extract", str(SAMPLE), "--out", str(tmp_path / "o"), "--conf", "novalue")
    assert bad_conf.returncode == 2 and "is not KEY=VALUE" in bad_conf.stderr
    no_out = _linkback("spark", "extract", str(SAMPLE))
    assert no_out.returncode == 2 and "--out" in no_out.stderr
    manifest = tmp_path / "list.txt"
    manifest.write_text("# only a comment\n")
    empty = _linkback("spark", "extract", "--manifest", str(manifest), "--out", str(tmp_path / "o"))
    assert empty.returncode == 1 and "manifest lists no inputs" in empty.stderr
