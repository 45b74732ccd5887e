"""A directory of WAT files is ingested as the same files named one by one are; beside WARC files
(the same captures, lite) they are left out."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import REPO_DATA

from linkback.errors import SourceError
from linkback.ingest import ingest
from linkback.sources.warc import iter_paths
from linkback.sources.wat import LITE_NOTE
from linkback.store import Store

WHIRLWIND = REPO_DATA / "whirlwind"


def test_a_directory_of_wat_files_is_picked_up_but_not_wet_nor_wat_beside_warc(tmp_path: Path) -> None:
    (tmp_path / "only" / "sub").mkdir(parents=True)
    (tmp_path / "mixed").mkdir()
    names = [
        "only/sub/a.warc.wat.gz",
        "only/b.WARC.WAT",
        "mixed/c.warc.gz",
        "mixed/c.warc.wat.gz",
        "mixed/c.warc.wet.gz",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"WARC/1.0\r\n")
    assert iter_paths([tmp_path / "only"]) == [
        tmp_path / "only" / "b.WARC.WAT",
        tmp_path / "only" / "sub" / "a.warc.wat.gz",
    ]
    assert iter_paths([tmp_path / "mixed"]) == [tmp_path / "mixed" / "c.warc.gz"]
    assert iter_paths([tmp_path / "mixed" / "c.warc.wat.gz"]) == [tmp_path / "mixed" / "c.warc.wat.gz"]
    assert iter_paths([str(tmp_path / "mix*")]) == iter_paths([tmp_path / "mixed"])
    (tmp_path / "wet").mkdir()
    (tmp_path / "wet" / "d.warc.wet.gz").write_bytes(b"WARC/1.0\r\n")
    with pytest.raises(
        SourceError, match=r"holds no WARC/ARC files or WAT files \(looked for names ending .*\.warc\.wat\.gz"
    ):
        iter_paths([tmp_path / "wet"])


def test_a_directory_of_wat_files_is_ingested_as_the_named_files_are(tmp_path: Path) -> None:
    folder = tmp_path / "wats"
    folder.mkdir()
    wat = folder / "whirlwind.warc.wat.gz"
    shutil.copyfile(WHIRLWIND / "whirlwind.warc.wat.gz", wat)
    with Store(tmp_path / "dir.duckdb") as store:
        by_dir = ingest([folder], store=store, workers=1).files
    with Store(tmp_path / "named.duckdb") as store:
        named = ingest([wat], store=store, workers=1).files
    assert [(f.path, f.status, f.note, f.records, f.skipped) for f in by_dir] == [
        (f.path, f.status, f.note, f.records, f.skipped) for f in named
    ]
    assert [(f.status, f.note) for f in by_dir] == [("ingested", LITE_NOTE)]


def test_a_mixed_directory_ingests_its_warc_not_the_wat_beside_it(tmp_path: Path) -> None:
    folder = tmp_path / "crawl"
    shutil.copytree(WHIRLWIND, folder)
    with Store(tmp_path / "db.duckdb") as store:
        files = ingest([folder], store=store, workers=1).files
    assert [(Path(f.path).name, f.status, f.note == LITE_NOTE) for f in files] == [
        ("whirlwind.warc.gz", "ingested", False),
    ]
