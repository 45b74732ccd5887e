"""`linkback visits` against hostile files: counts too big for a row, exports not in UTF-8, and
referrers longer than a URL may be. Each is refused, read or cut with a reason, never lost whole."""

from __future__ import annotations

import gzip
import io
import json
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from linkback import schema
from linkback.store import Store
from linkback.traffic import read_visits, traffic, traffic_trend
from linkback.traffic._exports import MAX_LINE_CHARS, MAX_VISITS, decode_head, read_export, sniff_export
from linkback.traffic._read import PROBE_BYTES, sniff_file
from linkback.traffic._reports import link_visits, refdomain_visits
from linkback.traffic._store import begin_visit_import, record_visits
from linkback.traffic._visits import referrer_of
from linkback.urls import MAX_URL_LENGTH

SITE = "victim.example"
PLAUSIBLE_HEAD = "date,source,referrer,visitors,visits\n"
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0"


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return p


def stored(store: Store, sql: str) -> list[tuple]:
    return store.con.execute(sql).fetchall()


# --------------------------------------------------------------------------- counts past a row's int32


def test_the_bound_is_what_the_visits_column_holds() -> None:
    assert schema.VISITS.field("visits").type.bit_width == 32 and MAX_VISITS == 2_147_483_647


@pytest.mark.parametrize(
    ("count", "reason"),
    [
        ("2147483648", "visit count 2,147,483,648 is over 2,147,483,647, the most one row can hold"),
        ("1" + "0" * 26, "visit count 10000000000000000000... (27 digits) is over 2,147,483,647, the most one row can hold"),
        ("9" * 6000, "visit count 99999999999999999999... (6,000 digits) is over 2,147,483,647, the most one row can hold"),
        ('"2,147,483,648"', "visit count 2,147,483,648 is over 2,147,483,647, the most one row can hold"),
        ("²", "no visit count"),  # a digit int() refuses
        ("-5", "no visit count"),
    ],
)  # fmt: skip
def test_a_count_a_row_cannot_hold_is_refused_and_the_rest_imported(tmp_path: Path, count: str, reason: str) -> None:
    big = write(tmp_path, "big.csv", PLAUSIBLE_HEAD
                + f"2026-11-15,BigC,https://bigc.example/,1,{count}\n"
                + "2026-11-15,okrow,https://okrow.example/,1,5\n")  # fmt: skip
    with Store(":memory:") as store:
        (r,) = read_visits(store, [big], host=SITE)
        assert (r.status, r.lines, r.parsed, r.skipped, r.added) == ("read", 2, 1, 1, 1)
        assert r.errors == [{"line": 2, "reason": reason}]
        assert stored(store, "SELECT source, visits FROM visits") == [("okrow", 5)]


def test_a_ga4_session_count_too_big_is_refused_with_its_line(tmp_path: Path) -> None:
    ga4 = write(tmp_path, "ga4.csv", "# Start date: 20240301\n# End date: 20240331\n"
                "Session source / medium,Sessions\ngoogle / organic,3000000000\nbing / organic,7\n")  # fmt: skip
    with Store(":memory:") as store:
        (r,) = read_visits(store, [ga4], host=SITE)
        assert r.errors == [{"line": 4, "reason": "session count 3,000,000,000 is over 2,147,483,647, the most "
                                                  "one row can hold"}]  # fmt: skip
        assert stored(store, "SELECT source, visits FROM visits") == [("bing", 7)]


def test_rows_that_share_a_stored_row_cannot_sum_past_it(tmp_path: Path) -> None:
    # Rows differing only in a column not kept (utm_content) add up into one row: the one that
    # would take it past int32 is refused, the first kept.
    rows = "".join(f"2026-11-15,news,,{content},{MAX_VISITS}\n" for content in ("a", "b"))
    p = write(tmp_path, "sum.csv", "date,source,referrer,utm_content,visits\n" + rows + "2026-11-16,news,,a,3\n")
    with Store(":memory:") as store:
        (r,) = read_visits(store, [p], host=SITE)
        assert (r.lines, r.parsed, r.skipped) == (3, 2, 1)
        assert r.errors == [{"line": 3, "reason": "visit count 2,147,483,647 takes the total of its day and source "
                                                  "'news' over 2,147,483,647, the most one row can hold"}]  # fmt: skip
        assert stored(store, "SELECT visits FROM visits ORDER BY visited_at") == [(MAX_VISITS,), (3,)]


def _rows(day: int, visits: int) -> dict[str, list[Any]]:
    row = {
        "visit_key": day, "visited_at": int(datetime(2026, 11, day, tzinfo=UTC).timestamp() * 1_000_000),
        "target_url": f"https://{SITE}/post", "target_host": SITE, "target_domain": SITE,
        "target_rhost": "example.victim", "source_url": "https://blog.example.org/links",
        "source_host": "blog.example.org", "source_domain": "example.org", "source": "blog.example.org",
        "medium": "referral", "campaign": "", "channel": "Referral", "visits": visits,
    }  # fmt: skip
    return {name: [value] for name, value in row.items()}


def test_reports_sum_rows_at_the_bound_without_overflowing() -> None:
    with Store(":memory:") as store:
        file = {"name": "x.csv", "fingerprint": "f", "size": 1, "format": "plausible", "site": SITE}
        import_id = begin_visit_import(store, file=file)["import_id"]
        for day in (15, 16):
            record_visits(store, import_id=import_id, rows=_rows(day, MAX_VISITS), replace=True)
        total = 2 * MAX_VISITS
        (row,) = traffic(store, SITE, by="referrer")
        assert (row["visits"], row["share"]) == (total, 1.0)
        assert [r["visits"] for r in traffic_trend(store, SITE, by="month")] == [total]
        assert link_visits(store, SITE, [{"source_url": "https://blog.example.org/links",
                                          "target_url": f"http://www.{SITE}/post"}]) == [total]  # fmt: skip
        assert refdomain_visits(store, SITE, ["example.org"]) == {"example.org": total}


@pytest.mark.parametrize("visits", [MAX_VISITS + 1, 10**26])
def test_the_store_refuses_a_count_past_int32_as_a_bad_value(visits: int) -> None:
    # A server takes these rows as a request body: a ValueError is its 400, an OverflowError a 500.
    with Store(":memory:") as store:
        file = {"name": "x.csv", "fingerprint": "f", "size": 1, "format": "plausible", "site": SITE}
        import_id = begin_visit_import(store, file=file)["import_id"]
        with pytest.raises(ValueError, match="^rows: "):
            record_visits(store, import_id=import_id, rows=_rows(15, visits), replace=True)


# --------------------------------------------------------------------------- encodings

CP1252 = (
    b"date,source,referrer,visitors,visits\r\n"
    b"2026-11-15,Caf\xe9 M\xfcller,,1,3\r\n"  # as an older Excel saves it
    b"2026-11-15,\x93Na\xefve\x94,,1,2\r\n"  # curly quotes: bytes 0x80-0x9F, where Latin-1 has none
)


def _sources(tmp_path: Path, name: str, data: bytes) -> list[str]:
    p = write(tmp_path, name, data)
    with Store(":memory:") as store:
        (r,) = read_visits(store, [p], host=SITE)
        assert (r.format, r.skipped) == ("plausible", 0), r
        return [s for (s,) in stored(store, "SELECT source FROM visits ORDER BY source")]


def test_a_windows_1252_export_keeps_its_accents(tmp_path: Path) -> None:
    assert CP1252.decode("cp1252")  # real Windows-1252 bytes, which are not UTF-8:
    with pytest.raises(UnicodeDecodeError):
        CP1252.decode("utf-8")
    assert _sources(tmp_path, "cp1252.csv", CP1252) == ["Café Müller", "“Naïve”"]
    assert _sources(tmp_path, "cp1252.csv.gz", gzip.compress(CP1252)) == ["Café Müller", "“Naïve”"]


def test_utf8_with_or_without_a_bom_is_read_as_utf8(tmp_path: Path) -> None:
    text = CP1252.decode("cp1252")
    assert _sources(tmp_path, "utf8.csv", text.encode()) == ["Café Müller", "“Naïve”"]
    assert _sources(tmp_path, "bom.csv", b"\xef\xbb\xbf" + text.encode()) == ["Café Müller", "“Naïve”"]


def test_windows_1252_past_the_sniffed_head_still_decides_the_whole_file(tmp_path: Path) -> None:
    # The first 64 KiB are ASCII, the Windows-1252 row comes after: every row is read as Windows-1252.
    filler = "".join(f"2026-11-14,src{i},,1,1\n" for i in range(PROBE_BYTES // 16))
    data = (PLAUSIBLE_HEAD + filler).encode() + b"2026-11-15,Caf\xe9,,1,3\n"
    assert len(PLAUSIBLE_HEAD + filler) > PROBE_BYTES
    assert "Café" in _sources(tmp_path, "late.csv", data)


def test_a_utf8_character_cut_by_the_sniffed_head_is_not_windows_1252(tmp_path: Path) -> None:
    head = PLAUSIBLE_HEAD.encode() + b"2026-11-14,"
    data = head + b"x" * (PROBE_BYTES - len(head) - 1) + "é,,1,1\n".encode()  # é's two bytes straddle the cut
    assert decode_head(data[:PROBE_BYTES]).endswith("x")  # not "Ã": the cut byte is left out
    p = write(tmp_path, "cut.csv", data)
    assert sniff_file(str(p)) == "plausible"
    refused: list[tuple[int, str]] = []
    with p.open("rb") as fh:
        (row,) = read_export(fh, "plausible", refused)
    assert row.source.endswith("xé") and refused == []


def test_sniffing_and_reading_agree_on_windows_1252_headers() -> None:
    head = "# Start date: 20240301\nSession source,Sessions\nCaf\u00e9,1\n".encode("cp1252")
    assert sniff_export(decode_head(head, whole=True)) == "ga4"
    assert "Café" in decode_head(head, whole=True)


def test_a_gzipped_export_cut_short_keeps_its_rows_before_the_cut(tmp_path: Path) -> None:
    rows = "".join(f"2026-11-{d:02d},src{i},,1,{i + 1}\n" for d in range(1, 28) for i in range(2000))
    data = gzip.compress((PLAUSIBLE_HEAD + rows).encode())
    p = write(tmp_path, "cut.csv.gz", data[: len(data) // 2])
    with Store(":memory:") as store:
        (r,) = read_visits(store, [p], host=SITE)
        assert r.status == "partial" and r.error.startswith(f"after {r.lines:,} rows: ")
        assert 0 < r.added == r.lines < 27 * 2000


# --------------------------------------------------------------------------- over-long referrers

LONG_PAGE = "http://evil-one.example/" + "A" * 10_000


@pytest.mark.parametrize(
    ("referer", "url"),
    [
        (LONG_PAGE, "http://evil-one.example/"),  # the path alone is too long: the origin
        ("https://evil-one.example/post?q=" + "x" * 10_000, "https://evil-one.example/post"),  # the page kept
        ("https://evil-one.example/post#" + "x" * 10_000, "https://evil-one.example/post"),
        ("https://evil-one.example/" + "é" * 2_000, "https://evil-one.example/"),  # too long once percent-encoded
        ("https://evil-one.example\\" + "A" * 10_000, "https://evil-one.example/"),
        ("https://evil-one.example?" + "A" * 10_000, "https://evil-one.example/"),
    ],
)
def test_an_over_long_referrer_keeps_its_site(referer: str, url: str) -> None:
    assert len(referer) > MAX_URL_LENGTH or len(referer.encode()) * 3 > MAX_URL_LENGTH
    got = referrer_of(referer, f"https://{SITE}", None)
    assert got == (url, "evil-one.example", "evil-one.example", "evil-one.example", "referral", "Referral")


def test_an_over_long_search_referrer_is_still_search() -> None:
    got = referrer_of("https://www.google.com/search?q=" + "x" * 10_000, f"https://{SITE}", None)
    assert got[3:] == ("Google", "organic", "Organic Search")


@pytest.mark.parametrize(
    ("referer", "expected"),
    [
        # not even the origin reads: direct, as a short referrer that does not read
        ("http://" + "a" * 10_000 + ".example/", (None, None, None, "(direct)", "(none)", "Direct")),
        ("not a url " * 1_000, (None, None, None, "(direct)", "(none)", "Direct")),
        ("javascript:" + "a" * 10_000, (None, None, None, "(direct)", "(none)", "Direct")),  # as a short one
        ("https://user:pw@evil.example/" + "A" * 10_000, (None, None, None, "(direct)", "(none)", "Direct")),
        (f"https://www.{SITE}/" + "A" * 10_000, ("navigation",)),
    ],
)
def test_an_over_long_referrer_is_direct_only_where_a_short_one_would_be(
    referer: str, expected: tuple
) -> None:
    assert referrer_of(referer, f"https://{SITE}", None) == expected


def combined(ref: str, path: str = "/post") -> str:
    return f'192.0.2.7 - - [10/Oct/2023:13:55:36 +0000] "GET {path} HTTP/1.1" 200 2326 "{ref}" "{UA}"'


def test_a_log_keeps_the_referring_domain_of_an_over_long_referrer(tmp_path: Path) -> None:
    unreadable = "http://" + "a" * 10_000 + ".example/"
    log = write(tmp_path, "access.log", "\n".join([combined(LONG_PAGE), combined(unreadable, "/other")]) + "\n")
    with Store(":memory:") as store:
        (r,) = read_visits(store, [log], host=SITE)
        assert (r.parsed, r.visits, r.dropped, r.channels) == (2, 2, {}, {"Referral": 1, "Direct": 1})
        assert stored(store, "SELECT source_url, source_domain, channel FROM visits ORDER BY channel") == [
            (None, None, "Direct"),
            ("http://evil-one.example/", "evil-one.example", "Referral"),
        ]


def test_an_export_keeps_the_referring_domain_of_an_over_long_referrer(tmp_path: Path) -> None:
    p = write(tmp_path, "long.csv", PLAUSIBLE_HEAD + f"2026-11-15,evil-one.example,{LONG_PAGE},1,4\n")
    with Store(":memory:") as store:
        (r,) = read_visits(store, [p], host=SITE)
        assert (r.skipped, r.dropped) == (0, {})
        assert stored(store, "SELECT source_domain, channel, visits FROM visits") == [
            ("evil-one.example", "Referral", 4)
        ]


# --------------------------------------------------------------------------- cells past the field limit

BIG_CELL = "x" * (MAX_LINE_CHARS + 10)  # over the limit: refused
WIDE_CELL = "w" * 200_000  # over csv's default 128 KiB, under the limit: read


@pytest.mark.parametrize(
    ("name", "data", "line"),
    [
        ("ga4.csv", "# Start date: 20261001\nSession source / medium,Date,Sessions\n"
                    f'"{BIG_CELL} / referral",20261005,3\n"{WIDE_CELL} / referral",20261005,2\n'
                    '"a.example / referral",20261006,4\n', 3),
        ("plausible.csv", f'{PLAUSIBLE_HEAD}2026-10-05,"{BIG_CELL}",,1,3\n2026-10-05,{WIDE_CELL},,1,2\n'
                          "2026-10-06,a.example,,1,4\n", 2),
        ("crlf.csv", f"{PLAUSIBLE_HEAD}2026-10-05,{BIG_CELL},,1,3\r\n2026-10-05,{WIDE_CELL},,1,2\r\n"
                     "2026-10-06,a.example,,1,4\r\n", 2),
    ],
)  # fmt: skip
def test_a_cell_past_the_field_limit_costs_its_row_only(tmp_path: Path, name: str, data: str, line: int) -> None:
    with Store(":memory:") as store:
        (r,) = read_visits(store, [write(tmp_path, name, data)], host=SITE)
        assert (r.status, r.skipped) == ("read", 1)
        assert r.errors == [{"line": line, "reason": f"line longer than {MAX_LINE_CHARS:,} characters: not read"}]
        assert sorted(stored(store, "SELECT length(source), visits FROM visits")) == [(9, 4), (200_000, 2)]


def test_a_huge_cell_is_dropped_as_it_is_read_never_held_whole() -> None:
    data = (PLAUSIBLE_HEAD + "2026-10-05,").encode() + b"x" * (40 * MAX_LINE_CHARS) + b",,1,3\n2026-10-06,a,,1,4\n"
    refused: list[tuple[int, str]] = []
    tracemalloc.start()
    try:
        rows = list(read_export(io.BytesIO(data), "plausible", refused))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(row.source, row.line_no) for row in rows] == [("a", 3)] and [line for line, _ in refused] == [2]
    assert peak < 8 * MAX_LINE_CHARS < len(data) / 4


def test_a_stray_quote_costs_its_row_not_the_rows_after_it(tmp_path: Path) -> None:
    data = (PLAUSIBLE_HEAD + '2026-10-04,"two\nlines",,1,3\n2026-10-05,"stray,,1,1\n'
            "2026-10-05,b.example,,1,2\n2026-10-06,c.example,,1,5\n")  # fmt: skip
    with Store(":memory:") as store:
        (r,) = read_visits(store, [write(tmp_path, "stray.csv", data)], host=SITE)
        assert [e["line"] for e in r.errors] == [4]
        assert sorted(stored(store, "SELECT source, visits FROM visits")) == [
            ("b.example", 2), ("c.example", 5), ("two\nlines", 3),
        ]  # fmt: skip


# --------------------------------------------------------------------------- hosts logged escaped or in UTF-8

IDN_HOST = "xn--bcher-kva.de"  # bücher.de
W3C_WHEN = "2026-10-10 10:00:00"


def _clf(vhost: str, ref: str = r"https://r\xC3\xA9f.example/\x22q\x22") -> str:  # réf.example, as Apache logs it
    return f'{vhost} 192.0.2.7 - - [10/Oct/2026:10:00:00 +0000] "GET /x HTTP/1.1" 200 10 "{ref}" "{UA}"'


HOST_LOGS = {
    "apache_escaped": _clf(r"b\xC3\xBCcher.de:443"),
    "apache_upper_case": _clf(r"B\xC3\x9CCHER.DE:443"),
    "raw_utf8": _clf("bücher.de:443", ref="https://réf.example/"),
    "raw_utf8_upper_case": _clf("BÜCHER.DE:443"),
    "caddy": json.dumps({"ts": 1791626400, "status": 200, "request": {
        "remote_ip": "192.0.2.7", "method": "GET", "host": "BÜCHER.de", "uri": "/x", "tls": {"version": 772},
        "headers": {"Referer": ["https://réf.example/\"q\""], "User-Agent": [UA]}}}, ensure_ascii=False),
    "cloudfront": "#Fields: date time x-edge-location c-ip cs-method cs-uri-stem sc-status cs(Referer) "
                  "cs(User-Agent) x-host-header cs-protocol\n"
                  + "\t".join([*W3C_WHEN.split(), "FRA", "192.0.2.7", "GET", "/x", "200",
                               "https://r%C3%A9f.example/%22q%22", "Mozilla/5.0", "BÜCHER.de", "https"]),
    "iis": "#Fields: date time c-ip cs-method cs-uri-stem s-port cs(User-Agent) cs(Referer) cs-host sc-status\n"
           f"{W3C_WHEN} 192.0.2.7 GET /x 443 Mozilla/5.0 https://réf.example/%22q%22 BÜCHER.de 200",
}  # fmt: skip


@pytest.mark.parametrize("name", HOST_LOGS)
def test_a_host_logged_escaped_or_in_utf8_is_the_real_host(tmp_path: Path, name: str) -> None:
    with Store(":memory:") as store:
        (r,) = read_visits(store, [write(tmp_path, f"{name}.log", HOST_LOGS[name] + "\n")])
        assert (r.skipped, r.dropped, r.visits) == (0, {}, 1)
        assert stored(store, "SELECT target_url, target_host, source_host FROM visits") == [
            (f"https://{IDN_HOST}/x", IDN_HOST, "xn--rf-bja.example")
        ]


@pytest.mark.parametrize(
    ("name", "host", "not_utf8"),
    [
        ("apache_escaped", r"b\xC3\xBCcher", r"b\xFCcher"),  # Latin-1's ü, escaped
        ("raw_utf8", "bücher", "b\udcfccher"),  # the same byte unescaped
        ("iis", "BÜCHER", "B\udcdcCHER"),
        ("caddy", "BÜCHER", "B\udcdcCHER"),
    ],
)
def test_a_host_whose_bytes_are_not_utf8_is_refused_not_guessed(
    tmp_path: Path, name: str, host: str, not_utf8: str
) -> None:
    good = HOST_LOGS[name]
    bad = good.splitlines()[-1].replace(host, not_utf8)
    p = tmp_path / f"{name}.log"
    p.write_bytes(f"{good}\n{bad}\n".encode("utf-8", "surrogateescape"))
    with Store(":memory:") as store:
        (r,) = read_visits(store, [p])
        assert (r.skipped, r.visits, r.dropped) == (1, 1, {})
        assert r.errors[0]["reason"].startswith("bad_host: ")
