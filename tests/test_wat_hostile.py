"""Hostile WAT files (and WARC statuses) that cost memory, pages or the truth, now refused in bounds.

Found by a hostile round: the href cache of a file kept every distinct href whatever its length
(a 3.3 MB WAT took 3.7 GB); WAT records were batched 128 at a time whatever their size; a WAT
whose first record was damaged was read as a WARC (0 pages, recorded as ingested, so never read
again); values of the wrong JSON type were stored as Python's text of them (``rel: ["nofollow"]``
became ``"['nofollow']"``, the nofollow lost); a status of 5,001 digits ended in an error telling
the user to change a Python setting, and in a WARC's rendered page stopped the whole file.
"""

from __future__ import annotations

import json
import sys
import tracemalloc
import uuid
from pathlib import Path

from test_wat import make_wat

from linkback.extract._parsed import DEFAULT_LIMITS
from linkback.ingest import file_fingerprint, ingest
from linkback.sources import _wat_links, is_wat, iter_wat
from linkback.sources import wat as wat_module
from linkback.sources.warc import ReadStats, iter_archive
from linkback.sources.wat import WatPages
from linkback.store import Store
from linkback.store import _write as write

DATE = "2024-03-01T12:00:00Z"
URIS = [f"http://page{i}.example/" for i in range(10)]


def _doc(uri: str, links: list | None = None, *, status: object = "200", head: dict | None = None) -> dict:
    html = {"Head": head or {"Title": "t"}, "Links": links if links is not None else [_a("http://t.example/x")]}
    http = {"Response-Message": {"Status": status}, "Headers": {"Content-Type": "text/html"}, "HTML-Metadata": html}
    warc = {"WARC-Type": "response", "WARC-Target-URI": uri, "WARC-Date": DATE, "WARC-Record-ID": f"<urn:x:{uri}>"}
    return {"Envelope": {"WARC-Header-Metadata": warc, "Payload-Metadata": {"HTTP-Response-Metadata": http}}}


def _a(url: object, text: object = "x", rel: object = "") -> dict:
    return {"path": "A@/href", "url": url, "text": text, "rel": rel}


def _record(doc: dict | bytes) -> bytes:
    raw = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return make_wat.metadata_record("http://x.example/", DATE, f"<urn:uuid:{uuid.uuid4()}>", raw)


def _warcinfo(filename: str = "") -> bytes:
    headers = {"WARC-Type": "warcinfo", "WARC-Date": DATE, "Content-Type": "application/warc-fields"}
    if filename:
        headers["WARC-Filename"] = filename
    return make_wat.wat_record(headers, b"software: test\r\n")


def _corrupt(member: bytes) -> bytes:
    return member[:12] + bytes(b ^ 0x55 for b in member[12:-8]) + member[-8:]


def _pages(uris: list[str] = URIS) -> list[bytes]:
    return [_record(_doc(uri)) for uri in uris]


# --------------------------------------------------------------------------- memory


def test_the_href_cache_holds_no_href_too_long_to_store_and_is_bounded_by_bytes(monkeypatch) -> None:
    shared, stats = _wat_links.Shared(), ReadStats()
    too_long = [f"http://h{i}.example/{'a' * 10_000}" for i in range(20)]
    raw = json.dumps(_doc("http://p.example/", [_a(href) for href in too_long])).encode()
    facts, links = _wat_links.parse_record(raw, "x.wat", 0, stats, shared)
    assert links == [] and dict(facts.skipped_links) == {"url_too_long": 20}
    assert not any(len(href) > 8192 for href in shared.urls)  # refused at once: not worth holding
    # Long hrefs that can be stored: the cache starts afresh before it holds more than its bytes.
    monkeypatch.setattr(_wat_links, "_MAX_SHARED_BYTES", 1 << 20, raising=False)
    for page in range(40):
        hrefs = [f"http://h{page}-{i}.example/{'b' * 8000}" for i in range(10)]
        raw = json.dumps(_doc(f"http://p{page}.example/", [_a(href) for href in hrefs])).encode()
        assert len(_wat_links.parse_record(raw, "x.wat", page, stats, shared)[1]) == 10
    held = sum(sys.getsizeof(href) + sys.getsizeof(got[0]) for href, got in shared.urls.items())
    assert 0 < held <= 1 << 20


def test_wat_batches_are_cut_by_bytes_too(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(wat_module, "WAT_BATCH_BYTES", 256 * 1024, raising=False)
    wat = tmp_path / "big.warc.wat.gz"
    title = "t " * 32_000  # 64 KB of JSON a record
    wat.write_bytes(b"".join(_record(_doc(uri, head={"Title": title})) for uri in URIS * 2))
    batches = list(WatPages(wat).extracted_by(None, 1))
    assert len(batches) == 4  # 20 records of 64 KB cut past 256 KB: 5 a batch (by count alone: 1 batch)
    assert sum(b.batch.observations.num_rows for b in batches) == 20


def test_a_record_larger_than_a_real_wat_record_is_skipped_unread(tmp_path: Path) -> None:
    wat = tmp_path / "huge.warc.wat.gz"
    huge = _record(_doc("http://huge.example/", head={"Title": "a " * (17 * 2**19)}))  # 17 MiB of JSON
    wat.write_bytes(_pages()[0] + huge + _pages()[1])
    stats = ReadStats()
    assert [facts.url for facts, _ in iter_wat(wat, stats=stats)] == [URIS[0], URIS[1]]
    assert stats.skipped["record_too_large"] == 1 and "a metadata record of 17," in stats.errors[0]


def test_a_title_of_a_million_words_is_not_split_whole() -> None:
    raw = json.dumps(
        _doc("http://p.example/", [_a("http://t.example/", "ab " * 100_000)], head={"Title": "ab " * 1_400_000})
    )
    tracemalloc.start()
    try:
        facts, links = _wat_links.parse_record(raw.encode(), "x.wat", 0, ReadStats(), _wat_links.Shared())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert facts.title == ("ab " * 200)[: DEFAULT_LIMITS.max_title_chars]
    assert links[0].anchor == ("ab " * 200)[: DEFAULT_LIMITS.max_anchor_chars]
    assert peak < 40 * 2**20  # split whole: 1.4 million strings, ~90 MB


# --------------------------------------------------------------------------- telling a WAT


def _damaged_first(kind: str) -> bytes:
    """A WAT (no name to tell it by) whose first record after the warcinfo is damaged."""
    first, *rest = _pages()
    damaged = {
        "corrupt member": _corrupt(first),
        "junk member": b"\x1f\x8b\x08\x00" + b"JUNK" * 50 + first,
        "invalid JSON": _record(b"{not json") + first,
    }[kind]
    return _warcinfo() + damaged + b"".join(rest)


def test_a_wat_whose_first_record_is_damaged_is_still_a_wat(tmp_path: Path) -> None:
    from linkback.spark import _inputs, _tasks  # noqa: PLC0415 - spark extract tells WATs the same way

    assert _inputs.is_wat is is_wat and _tasks.is_wat is is_wat
    for kind, pages, key in [("corrupt member", 9, "corrupt_gzip"), ("junk member", 10, "corrupt_gzip"),
                             ("invalid JSON", 10, "bad_json")]:  # fmt: skip
        path = tmp_path / f"{kind.replace(' ', '-')}.warc.gz"  # named as a WARC: told by its records
        path.write_bytes(_damaged_first(kind))
        assert is_wat(path), kind
        assert _inputs.local_work(_inputs.Archive(1, str(path), "local"))[0]["kind"] == "file"  # read whole
        with Store(tmp_path / f"{kind}.duckdb") as store:
            (f,) = ingest([path], store=store, workers=1).files
            assert (f.status, f.note, f.pages, f.skipped[f"record/{key}"]) == (
                "ingested",
                wat_module.LITE_NOTE,
                pages,
                1,
            )
    # a WARC stays a WARC, whatever its name says
    warc = tmp_path / "misnamed.warc.wat.gz"
    warc.write_bytes(
        _warcinfo()
        + make_wat.wat_record({"WARC-Type": "response", "WARC-Target-URI": "http://x/"}, b"HTTP/1.1 200 OK\r\n\r\n")
    )
    assert not is_wat(warc)


def test_when_no_record_can_say_the_name_does(tmp_path: Path) -> None:
    unreadable = b"".join(_corrupt(member) for member in _pages())
    by_name = tmp_path / "all-damaged.warc.wat.gz"
    by_name.write_bytes(_warcinfo() + unreadable)
    by_warcinfo = tmp_path / "renamed.warc.gz"
    by_warcinfo.write_bytes(_warcinfo("CC-MAIN-20240517233122-00000.warc.wat.gz") + unreadable)
    neither = tmp_path / "other.warc.gz"
    neither.write_bytes(_warcinfo("other.warc.gz") + unreadable)
    assert is_wat(by_name) and is_wat(by_warcinfo) and not is_wat(neither)


def test_a_wat_recorded_as_ingested_with_nothing_read_is_read_again(tmp_path: Path) -> None:
    wat = tmp_path / "first-damaged.warc.gz"
    wat.write_bytes(_damaged_first("corrupt member"))
    with Store(tmp_path / "db.duckdb") as store:
        # as the reader before recorded it: read as a WARC, its 9 metadata records no pages
        archive = write.begin_archive(store, path=str(wat), size=wat.stat().st_size, fingerprint=file_fingerprint(wat))
        misread = {"record/corrupt_gzip": 1, "record/metadata": 9, "record/warcinfo": 1}
        write.finish_archive(store, archive, records=10, pages=0, links=0, skipped=misread)
        (f,) = ingest([wat], store=store, workers=1).files
        assert (f.status, f.pages) == ("ingested", 9)
        (again,) = ingest([wat], store=store, workers=1).files
        assert again.status == "already_ingested"
        assert store.con.execute("SELECT count(*), min(archive_id), max(archive_id) FROM observations").fetchall() == [
            (9, archive, archive)
        ]
    # A WAT read as one with no page (the metadata of a request) is not read again: nothing
    # a second reading could find.
    requests = tmp_path / "requests.warc.wat.gz"
    request = _doc("http://r.example/")
    request["Envelope"]["WARC-Header-Metadata"]["WARC-Type"] = "request"
    requests.write_bytes(_warcinfo() + _record(request))
    with Store(tmp_path / "requests.duckdb") as store:
        assert [f.pages for f in ingest([requests], store=store, workers=1).files] == [0]
        assert [f.status for f in ingest([requests], store=store, workers=1).files] == ["already_ingested"]


# --------------------------------------------------------------------------- values and statuses


def test_values_of_the_wrong_type_are_read_as_tokens_or_refused(tmp_path: Path) -> None:
    head = {"Title": ["a", "b"], "Metas": [{"name": "robots", "content": ["noindex", "noarchive"]}]}
    links = [
        _a("http://nofollow.example/", "kept", rel=["nofollow", "ugc"]),
        _a("http://object-text.example/", {"a": 1}),
        _a("http://number-rel.example/", "x", rel=5),
        _a(["http://list-url.example/"]),
        _a("http://fine.example/", "fine"),
    ]
    stats = ReadStats()
    facts, got = _wat_links.parse_record(
        json.dumps(_doc("http://p.example/", links, head=head)).encode(), "x", 0, stats, _wat_links.Shared()
    )
    assert (facts.title, facts.noindex, facts.nofollow) == ("a b", True, False)
    assert [(link.target_url, link.anchor, link.rel) for link in got] == [
        ("http://nofollow.example/", "kept", ("nofollow", "ugc")),
        ("http://fine.example/", "fine", ()),
    ]
    assert [link.nofollow for link in got] == [True, False] and dict(facts.skipped_links) == {"bad_value": 3}
    # a page-level value that is no text: the record is refused, said where
    wat = tmp_path / "values.warc.wat.gz"
    wat.write_bytes(_record(_doc("http://bad.example/", head={"Title": {"a": 1}})) + _pages()[0])
    stats = ReadStats()
    assert [facts.url for facts, _ in iter_wat(wat, stats=stats)] == [URIS[0]]
    assert stats.skipped["bad_value"] == 1 and "Head.Title is an object, not text" in stats.errors[0]


def test_a_status_that_is_not_three_digits_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    wat = tmp_path / "status.warc.wat.gz"
    long_status = json.dumps(_doc("http://long.example/")).replace('"Status": "200"', '"Status": 2' + "0" * 5000)
    bad = [
        long_status.encode(),
        *(
            json.dumps(_doc(f"http://s{i}.example/", status=s)).encode()
            for i, s in enumerate(["2000", "20", 200.0, "２00"])
        ),
    ]
    wat.write_bytes(b"".join(_record(raw) for raw in bad) + _pages()[0])
    stats = ReadStats()
    assert [facts.url for facts, _ in iter_wat(wat, stats=stats)] == [URIS[0]]
    assert stats.skipped["bad_status"] == 5 and "of 5,001 digits is not a 3-digit status" in stats.errors[0]
    assert not any("sys.set_int_max_str_digits" in error for error in stats.errors)

    # in a WARC: a response's status line, and the status of a page linkback crawl --render wrote
    def warc_record(headers: dict[str, str], block: bytes) -> bytes:
        fields = {"WARC-Target-URI": "http://w.example/", "WARC-Date": DATE, **headers}
        return make_wat.wat_record(fields, block)

    warc = tmp_path / "status.warc.gz"
    http = b"Content-Type: text/html\r\n\r\n<a href='http://t.example/'>t</a>"
    warc.write_bytes(
        warc_record({"WARC-Type": "response", "Content-Type": "application/http; msgtype=response"}, b"HTTP/1.1 2" + b"0" * 5000 + b" OK\r\n" + http)
        + warc_record({"WARC-Type": "conversion", "Content-Type": "text/html", "Linkback-Rendered-Status": "2" + "0" * 5000}, b"<a href='http://t.example/'>t</a>")
        + warc_record({"WARC-Type": "response", "Content-Type": "application/http; msgtype=response"}, b"HTTP/1.1 200 OK\r\n" + http)
    )  # fmt: skip
    stats = ReadStats()
    assert [page.status for page in iter_archive(warc, stats=stats)] == [200]
    assert "(of 5,013 characters) has no 3-digit status" in stats.errors[0]
    assert "Linkback-Rendered-Status '2000" in stats.errors[1] and "is not a 3-digit HTTP status" in stats.errors[1]
