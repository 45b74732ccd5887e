"""One hostile record costs that record, never the ingest (WAT and WARC).

A status of ``Infinity``, ``1e300`` or ``2**40`` (the column is int16), a WARC-Date whose UTC
instant is in year 0 or 10000, a lone surrogate (JSON ``"\\ud800"``: no character, not UTF-8) in a
title, anchor or URL: each stopped the whole ingest with a traceback, losing the rest of its batch
and every file after it. Now the record is skipped and counted, its file and offset named (or, for
surrogates, kept with U+FFFD in their place), and the ingest goes on: checked end to end through
:func:`linkback.ingest.ingest`, with one worker and two.
"""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from test_wat import make_wat

from linkback.ingest import ingest
from linkback.sources._dates import parse_lenient, utc_or_none
from linkback.store import Store
from linkback.store._arrow import column, obs_key

DATE = "2024-05-18T01:02:03Z"
GOOD = [f"http://good{i}.example/p" for i in range(4)]
YEAR_0 = "0001-01-01T00:00:00+01:00"
YEAR_10000 = "9999-12-31T23:59:59-01:00"


def _doc(uri: str, *, status: object = 200, date: str = DATE, title: str = "t", href: str = "") -> dict:
    links = [{"path": "A@/href", "url": href or "https://target.example/x", "text": f"to {uri}"}]
    http = {
        "Response-Message": {"Status": status},
        "Headers": {"Content-Type": "text/html"},
        "HTML-Metadata": {"Head": {"Title": title}, "Links": links},
    }
    warc = {"WARC-Type": "response", "WARC-Target-URI": uri, "WARC-Date": date, "WARC-Record-ID": f"<urn:x:{uri}>"}
    return {"Envelope": {"WARC-Header-Metadata": warc, "Payload-Metadata": {"HTTP-Response-Metadata": http}}}


def _record(doc: dict | bytes) -> bytes:
    # ASCII JSON: a lone surrogate is written as the escape "\ud800", as a hostile producer would
    raw = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return make_wat.metadata_record("http://x.example/", DATE, f"<urn:uuid:{uuid.uuid4()}>", raw)


def _wat(path: Path, hostile: bytes) -> int:
    """A WAT of four good pages with ``hostile`` second; the hostile record's offset."""
    members = [_record(_doc(GOOD[0])), hostile, *(_record(_doc(uri)) for uri in GOOD[1:])]
    path.write_bytes(b"".join(members))
    return len(members[0])


def _ingest_with_one_after(tmp_path: Path, hostile: Path, workers: int) -> tuple[object, Store]:
    """Ingest ``hostile`` and a good WAT after it; the first file's summary and the store."""
    after = tmp_path / "after.warc.wat.gz"
    after.write_bytes(_record(_doc("http://after.example/")))
    store = Store(tmp_path / "db.duckdb")
    files = {f.path: f for f in ingest([hostile, after], store=store, workers=workers).files}
    assert (files[str(after)].status, files[str(after)].pages) == ("ingested", 1)  # the file after it is read too
    return files[str(hostile)], store


def _urls(store: Store) -> set[str]:
    return {url for (url,) in store.con.execute("SELECT url FROM observations").fetchall()}


BAD_RECORDS = {
    "status Infinity": (_doc("http://bad.example/", status=float("inf")), "bad_status", "'inf'"),
    "status 1e300": (_doc("http://bad.example/", status=1e300), "bad_status", "'1e+300'"),
    "status 2**40": (_doc("http://bad.example/", status=2**40), "bad_status", "1099511627776"),
    "status 70000": (_doc("http://bad.example/", status=70000), "bad_status", "70000"),
    "status missing": (_doc("http://bad.example/", status=None), "bad_status", "None"),
    "date in year 0": (_doc("http://bad.example/", date=YEAR_0), "no_date", YEAR_0),
    "date in year 10000": (_doc("http://bad.example/", date=YEAR_10000), "no_date", YEAR_10000),
}


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("case", list(BAD_RECORDS))
def test_a_wat_record_with_a_status_or_date_out_of_range_is_skipped_and_said_where(
    tmp_path: Path, case: str, workers: int
) -> None:
    doc, key, shown = BAD_RECORDS[case]
    wat = tmp_path / "hostile.warc.wat.gz"
    offset = _wat(wat, _record(doc))
    f, store = _ingest_with_one_after(tmp_path, wat, workers)
    with store:
        assert (f.status, f.pages, f.skipped[f"record/{key}"]) == ("ingested", 4, 1)
        assert len(f.errors) == 1 and f.errors[0].startswith(f"{wat} at byte {offset}: ") and shown in f.errors[0]
        assert _urls(store) == {*GOOD, "http://after.example/"}
        statuses = store.con.execute("SELECT DISTINCT status FROM observations").fetchall()
        assert statuses == [(200,)]


SURROGATES = {
    # escapes, as in JSON text
    "escaped": _record(_doc("http://s.example/\ud800", title="\ud800x", href="https://target.example/\udcffq")),
    # UTF-8 bytes of a surrogate, which json.loads decodes with surrogatepass
    "raw bytes": _record(
        json.dumps(_doc("http://s.example/\ud800", title="\ud800x", href="https://target.example/\udcffq"))
        .encode()
        .replace(b"\\ud800", "\ud800".encode("utf-8", "surrogatepass"))
        .replace(b"\\udcff", "\udcff".encode("utf-8", "surrogatepass"))
    ),
}


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("case", list(SURROGATES))
def test_lone_surrogates_in_a_wat_record_are_replaced_and_the_page_kept(
    tmp_path: Path, case: str, workers: int
) -> None:
    wat = tmp_path / "surrogates.warc.wat.gz"
    _wat(wat, SURROGATES[case])
    f, store = _ingest_with_one_after(tmp_path, wat, workers)
    with store:
        assert (f.status, f.pages, f.errors) == ("ingested", 5, [])
        (title,) = store.con.execute("SELECT title FROM observations WHERE url LIKE 'http://s.example/%'").fetchone()
        assert title == "\ufffdx"
        assert "http://s.example/%EF%BF%BD" in _urls(store)
        targets = {t for (t,) in store.con.execute("SELECT target_url FROM links").fetchall()}
        assert "https://target.example/%EF%BF%BDq" in targets


def test_a_valid_surrogate_pair_stays_the_character_it_is(tmp_path: Path) -> None:
    wat = tmp_path / "emoji.warc.wat.gz"
    _wat(wat, _record(_doc("http://s.example/", title="smile \U0001f600")))  # "\ud83d\ude00" in JSON
    with Store(tmp_path / "db.duckdb") as store:
        (f,) = ingest([wat], store=store, workers=1).files
        assert (f.status, f.pages) == ("ingested", 5)
        (title,) = store.con.execute("SELECT title FROM observations WHERE url = 'http://s.example/'").fetchone()
        assert title == "smile \U0001f600"


# --------------------------------------------------------------------------- WARC


def _warc_record(headers: dict[str, str], block: bytes) -> bytes:
    head = "WARC/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return gzip.compress(f"{head}Content-Length: {len(block)}\r\n\r\n".encode() + block + b"\r\n\r\n")


def _response(uri: str, date: str) -> bytes:
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<a href='http://t.example/x'>x</a>"
    fields = {"WARC-Type": "response", "WARC-Target-URI": uri, "WARC-Date": date}
    fields |= {"WARC-Record-ID": f"<urn:uuid:{uuid.uuid4()}>", "Content-Type": "application/http; msgtype=response"}
    return _warc_record(fields, http)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("date", [YEAR_0, YEAR_10000])
def test_a_warc_response_dated_outside_utc_is_skipped_and_said_where(tmp_path: Path, date: str, workers: int) -> None:
    # no warcinfo to take a date from: the record is skipped
    warc = tmp_path / "hostile.warc.gz"
    records = [_response(GOOD[0], DATE), _response("http://bad.example/", date), _response(GOOD[1], DATE)]
    warc.write_bytes(b"".join(records))
    with Store(tmp_path / "db.duckdb") as store:
        (f,) = ingest([warc], store=store, workers=workers).files
        assert (f.status, f.pages, f.skipped["record/no_date"]) == ("ingested", 2, 1)
        assert f.errors[0].startswith(f"{warc} at byte {len(records[0])}: WARC-Date '{date}'")
        assert _urls(store) == set(GOOD[:2])


@pytest.mark.parametrize("workers", [1, 2])
def test_a_warc_response_dated_outside_utc_takes_the_warcinfo_date(tmp_path: Path, workers: int) -> None:
    # as for any malformed WARC-Date: the page is kept at its warcinfo's date, counted bad_date
    warc = tmp_path / "hostile.warc.gz"
    info = _warc_record({"WARC-Type": "warcinfo", "WARC-Date": "2024-01-02T03:04:05Z"}, b"software: test\r\n")
    warc.write_bytes(info + _response(GOOD[0], YEAR_0) + _response(GOOD[1], YEAR_10000))
    with Store(tmp_path / "db.duckdb") as store:
        (f,) = ingest([warc], store=store, workers=workers).files
        assert (f.status, f.pages, f.skipped["record/bad_date"]) == ("ingested", 2, 2)
        dates = store.con.execute("SELECT DISTINCT fetched_at FROM observations").fetchall()
        assert dates == [(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),)]


def test_dates_with_no_utc_instant_are_none() -> None:
    assert parse_lenient(YEAR_0) is None and parse_lenient(YEAR_10000) is None
    assert parse_lenient("0001-01-01T00:00:00-01:00") == datetime(1, 1, 1, 1, tzinfo=UTC)
    aware = datetime.fromisoformat(YEAR_0)
    assert utc_or_none(aware) is None and utc_or_none(None) is None
    assert utc_or_none(datetime(2024, 1, 1)) == datetime(2024, 1, 1, tzinfo=UTC)


# --------------------------------------------------------------------------- the last line of defence


@pytest.mark.parametrize("values", [["a\ud800b", "ok", ""], ["nul\0inside", "\udcff"]])
def test_arrow_strings_replace_surrogates_rather_than_fail(values: list[str]) -> None:
    # the second: a value holding NUL is encoded one by one
    got = column(values, pa.string()).to_pylist()
    assert got == [v.replace("\ud800", "\ufffd").replace("\udcff", "\ufffd") for v in values]
    assert obs_key("http://s.example/\ud800", DATE) == obs_key("http://s.example/\ufffd", DATE)
