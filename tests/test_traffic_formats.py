"""Traffic files: each log format and export, sniffed by content, and hostile input counted, never raised."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO_DATA

from linkback.traffic._exports import read_export, sniff_export
from linkback.traffic._fast import read_combined_visits
from linkback.traffic._files import LogStats
from linkback.traffic._formats import COMBINED, W3CFormat, _slow, parse_caddy, parse_combined
from linkback.traffic._read import read_hits, sniff_file
from linkback.traffic._visits import VisitBuilder

LOGS = REPO_DATA / "access_logs"
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0"


def combined(path="/a", *, ref="-", ua=UA, status=200, when="10/Oct/2023:13:55:36 +0000", vhost=""):
    head = f"{vhost} " if vhost else ""
    return f'{head}192.0.2.7 - - [{when}] "GET {path} HTTP/1.1" {status} 2326 "{ref}" "{ua}"'


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


# --------------------------------------------------------------------------- combined: fast path = regex

HOSTILE_COMBINED = [
    combined(),
    combined(vhost="Blog.Example.com:443"),
    combined(vhost="-"),
    combined(vhost=r"b\xC3\xBCcher.de:443"),  # Apache's escapes of UTF-8 bytes: bücher.de
    combined(vhost=r"b\xFCcher.de:443"),  # not UTF-8: bad_host
    combined(ref="https://a.example/x?q=1#f"),
    combined(ref=r"https://ex.org/?q=\"hi\""),  # an escaped quote: the regex path
    combined(ref=r"http://caf\xe9.example/"),  # \xHH, not UTF-8
    combined(ref="http://café.example/".encode().decode("latin-1")),  # raw UTF-8 bytes
    combined(ref="https://evil.example/'; DROP TABLE visits; --"),
    combined(ref="https://evil.example/<script>alert(1)</script>"),
    combined(ref="\x1b[2J\x1b[31mred"),
    combined(when="32/Foo/2015:10:05:03 +0000"),
    combined(when="10/Oct/2023:13:55:60 +0000"),  # no second 60
    combined(when="19/May/0001:09:05:01 +0000"),  # no visit is from before the web...
    combined(when="01/Jan/0001:00:00:00 +1400"),  # (before year 1 in UTC: it raised)
    combined(when="31/Dec/9999:23:59:59 +0000"),  # ... or from the far future
    combined(when="10/Oct/2023:13:55:36 +9999"),  # no zone is 99 hours ahead
    combined(when="10/Oct/2023:13:55:36.123 +0200"),
    combined(when="10/Oct/2023:13:55:36  +0000"),
    combined(ua=UA + '"'),  # a stray quote
    combined() + ' "198.51.100.1" 0.004',
    combined() + " 0.004",
    combined().replace('"GET /a HTTP/1.1"', '"\\x16\\x03\\x01"'),
    combined().replace('"GET /a HTTP/1.1"', '"-"'),
    combined().replace(" 200 2326 ", " 200 - "),
    combined().replace(" 200 2326 ", " 200  2326 "),
    combined().replace(" 200 2326 ", " 2000 2326 "),
    combined().replace("192.0.2.7 - -", "192.0.2.7  - -"),
    combined().replace("192.0.2.7 - -", "192.0.2.7\t- -"),
    combined().replace("192.0.2.7 - -", "192.0.2.7 -"),
    combined().replace("192.0.2.7 - -", "a b c d e"),
    '192.0.2.7 - - [10/Oct/2023:13:55:36 +0000] "GET / HTTP/1.1" 200 2326',
    "",
    "   ",
    "not a log line",
    '"' * 50,
    "[" * 30 + "]" * 30,
]


@pytest.mark.parametrize("line", HOSTILE_COMBINED)
def test_the_fast_path_agrees_with_the_regex(line: str) -> None:
    assert parse_combined(line) == _slow(line)


def test_combined_fields() -> None:
    hit = parse_combined(combined("/post?x=1", ref="https://blog.example.org/p", vhost="Blog.Example.com:443"))
    assert not isinstance(hit, str)
    remote, ts, method, target, status, referer, agent, host, scheme, latin1 = hit
    assert (remote, method, target, status, referer, agent) == ("192.0.2.7", "GET", "/post?x=1", 200,
                                                                "https://blog.example.org/p", UA)  # fmt: skip
    assert (host, scheme, latin1) == ("blog.example.com:443", "", False)
    assert ts == 1696946136.0  # 2023-10-10T13:55:36Z


def _visits(path: Path, *, fast: bool, site: str = "semicomplete.com") -> tuple[list[tuple], dict, LogStats]:
    rows: list[tuple] = []
    builder = VisitBuilder(site, "http", lambda cols: rows.extend(zip(*cols.values())), batch=7)
    stats = LogStats()
    if fast:
        read_combined_visits(str(path), builder, stats, 256 * 1024)
    else:
        for _, line, hit in read_hits(str(path), COMBINED, stats, max_line_bytes=256 * 1024):
            builder.add_hit(hit, line)
    builder.close()
    return rows, dict(builder.drops), stats


@pytest.mark.parametrize("name", ["semicomplete-excerpt.log", "semicomplete-referrals.log", "basjes-excerpt.log"])
def test_the_hot_loop_gives_what_the_general_path_gives(name: str) -> None:
    fast, fast_drops, fast_stats = _visits(LOGS / name, fast=True)
    slow, slow_drops, slow_stats = _visits(LOGS / name, fast=False)
    assert fast == slow and fast_drops == slow_drops and len(fast) > 0
    assert (fast_stats.lines, fast_stats.parsed, fast_stats.skipped) == (
        slow_stats.lines,
        slow_stats.parsed,
        slow_stats.skipped,
    )
    assert fast_stats.accounted


def test_hostile_lines_through_both_paths(tmp_path: Path) -> None:
    p = write(tmp_path, "hostile.log", "\n".join(HOSTILE_COMBINED) + "\n")
    fast, fast_drops, fast_stats = _visits(p, fast=True, site="example.com")
    slow, slow_drops, slow_stats = _visits(p, fast=False, site="example.com")
    assert fast == slow and fast_drops == slow_drops
    assert fast_stats.skipped == slow_stats.skipped and fast_stats.accounted
    assert fast_stats.skipped["malformed"] >= 5 and fast_stats.skipped["bad_time"] == 7
    # Injection in a referrer is only text: kept as the referrer's URL, quoted by SQL parameters.
    assert any(r[6] and "DROP%20TABLE" in r[6] for r in fast)


def test_huge_lines_are_skipped_in_bounded_pieces(tmp_path: Path) -> None:
    huge = combined(ref="https://a.example/" + "x" * 3_000_000)
    p = write(tmp_path, "huge.log", "\n".join([combined("/1"), huge, combined("/2"), "y" * 5_000_000]) + "\n")
    stats = LogStats()
    hits = list(read_hits(str(p), COMBINED, stats, max_line_bytes=64 * 1024))
    assert [line_no for line_no, _, _ in hits] == [1, 3]
    assert stats.skipped == {"too_long": 2} and stats.lines == 4
    assert any(e.startswith(f"{p}:2: too_long") for e in stats.errors)


def test_bad_utf8_and_nul_bytes_do_not_raise(tmp_path: Path) -> None:
    raw = (
        combined(ref="https://b.example/").encode()
        + b"\n"
        + combined().encode().replace(b"Firefox", b"\xff\xfe\x00")
        + b"\n"
    )
    p = write(tmp_path, "bytes.log", raw)
    rows, drops, stats = _visits(p, fast=True, site="example.com")
    assert stats.lines == 2 and stats.accounted
    assert len(rows) + sum(drops.values()) == stats.parsed


def test_malformed_lines_are_counted_with_their_line_numbers(tmp_path: Path) -> None:
    p = write(tmp_path, "a.log", "\n".join([combined(), "garbage here", combined(), "{not json"]) + "\n")
    stats = LogStats()
    assert [n for n, _, _ in read_hits(str(p), COMBINED, stats)] == [1, 3]
    assert stats.skipped == {"malformed": 2}
    assert stats.errors[0].startswith(f"{p}:2: malformed:") and stats.errors[1].startswith(f"{p}:4: malformed:")


# --------------------------------------------------------------------------- Caddy

CADDY = {
    "level": "info",
    "ts": 1700000000.25,
    "logger": "http.log.access.log0",
    "msg": "handled request",
    "request": {
        "remote_ip": "203.0.113.9",
        "client_ip": "198.51.100.4",
        "proto": "HTTP/2.0",
        "method": "GET",
        "host": "Blog.Example.com",
        "uri": "/post/?utm_source=newsletter&utm_medium=email",
        "headers": {"User-Agent": [UA], "Referer": ["https://news.ycombinator.com/item?id=1"]},
        "tls": {"resumed": False, "version": 772},
    },
    "status": 200,
}


def test_caddy_line() -> None:
    hit = parse_caddy(json.dumps(CADDY))
    assert not isinstance(hit, str)
    assert hit[:4] == ("198.51.100.4", 1700000000.25, "GET", "/post/?utm_source=newsletter&utm_medium=email")
    assert hit[4:9] == (200, "https://news.ycombinator.com/item?id=1", UA, "blog.example.com", "https")


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("{", "bad_json"),
        ("[" * 100_000 + "]" * 100_000, "bad_json"),  # deep nesting: RecursionError, caught
        ('{"ts": 1, "status": 200}', "not_a_request"),
        ('"a string"', "not_a_request"),
        (json.dumps({**CADDY, "ts": "yesterday"}), "bad_time"),
        (json.dumps({**CADDY, "ts": True}), "bad_time"),
        (json.dumps({**CADDY, "ts": "0001-01-01T00:00:00+14:00"}), "bad_time"),  # before year 1 in UTC
        (json.dumps({**CADDY, "ts": "9999-12-31T00:00:00Z"}), "bad_time"),
        (json.dumps({**CADDY, "ts": 99999999999}), "bad_time"),  # year 5138
        (json.dumps({**CADDY, "ts": -1}), "bad_time"),
        ("", "blank"),
    ],
)
def test_caddy_damage(line: str, key: str) -> None:
    assert parse_caddy(line) == key


def test_caddy_odd_values_are_empty_not_errors() -> None:
    odd = {**CADDY, "status": "200", "ts": "2023-11-14T22:13:20Z", "request": {"uri": 5, "headers": {"referer": "x"}}}
    hit = parse_caddy(json.dumps(odd))
    assert not isinstance(hit, str)
    assert hit[1] == 1700000000.0 and hit[3] == "" and hit[4] == 0 and hit[5] == "x"


# --------------------------------------------------------------------------- W3C: CloudFront and IIS

CLOUDFRONT = (
    "#Version: 1.0\n"
    "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) "
    "cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol\n"
    "2019-12-04\t21:02:31\tLAX1-C3\t392\t192.0.2.100\tGET\td111111abcdef8.cloudfront.net\t/index.html\t200\t"
    "https://www.google.com/\tMozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20Chrome/78.0.3904.108%20Safari/537.36"
    "\tutm_source=x\t-\tHit\tSOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==\twww.example.com\thttps\n"
    "2019-12-04\t21:02:31\tLAX1-C3\tbroken line\n"
)
IIS = (
    "#Software: Microsoft Internet Information Services 10.0\n"
    "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) "
    "sc-status sc-substatus sc-win32-status time-taken\n"
    "2024-01-02 03:04:05 10.0.0.1 GET /blog/post - 443 - 198.51.100.7 Mozilla/5.0+(Windows+NT+10.0)+Firefox/121.0 "
    "https://t.co/abc 200 0 0 15\n"
    "#Fields: date time c-ip cs-method cs-uri-stem sc-status cs(Referer) cs(User-Agent)\n"
    "2024-01-02 03:04:06 198.51.100.8 GET /b 304 - curl/8.0\n"
)


def test_cloudfront(tmp_path: Path) -> None:
    p = write(tmp_path, "E2EXAMPLE.2019-12-04-21.d111111", gzip.compress(CLOUDFRONT.encode()))
    fmt = sniff_file(str(p))
    assert isinstance(fmt, W3CFormat) and fmt.name == "cloudfront"
    stats = LogStats()
    ((_, _, hit),) = list(read_hits(str(p), fmt, stats))
    assert hit[1:5] == (1575493351.0, "GET", "/index.html?utm_source=x", 200)
    assert hit[5] == "https://www.google.com/" and hit[6].startswith("Mozilla/5.0 (Windows NT 10.0;")
    assert (hit[7], hit[8]) == ("www.example.com", "https")
    assert stats.skipped == {"comment": 2, "malformed": 1} and stats.accounted
    assert len(stats.errors) == 1  # the header lines are not errors


def test_iis_w3c_and_a_fields_change_midfile(tmp_path: Path) -> None:
    p = write(tmp_path, "u_ex240102.log", IIS)
    fmt = sniff_file(str(p))
    assert isinstance(fmt, W3CFormat) and fmt.name == "w3c"
    hits = [h for _, _, h in read_hits(str(p), fmt, LogStats())]
    assert [h[3] for h in hits] == ["/blog/post", "/b"]
    assert hits[0][6] == "Mozilla/5.0 (Windows NT 10.0) Firefox/121.0" and hits[0][8] == "https"
    assert hits[1][4:7] == (304, "", "curl/8.0")


# --------------------------------------------------------------------------- sniffing: content, never the name


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("access.csv", combined() + "\n", "combined"),
        ("export.log", "date,source,referrer,visitors,visits\n2024-01-01,Google,,3,4\n", "plausible"),
        ("caddy.log.gz", gzip.compress((json.dumps(CADDY) + "\n").encode(), mtime=0), "caddy"),
        ("plain.log.gz", json.dumps(CADDY) + "\n", "caddy"),
        ("access.log", IIS, "w3c"),
        ("access.log", "hello\nworld\n", None),
        ("access.log", b"", None),
    ],
)
def test_sniffing_reads_the_content(tmp_path: Path, name: str, content: Any, expected: str | None) -> None:
    kind = sniff_file(str(write(tmp_path, name, content)))
    assert (kind if isinstance(kind, str) or kind is None else kind.name) == expected


# --------------------------------------------------------------------------- exports

PLAUSIBLE = (
    "date,source,referrer,utm_source,utm_medium,utm_campaign,utm_content,utm_term,pageviews,visitors,visits,"
    "visit_duration,bounces\n"
    "2024-03-01,Google,,,,,,,30,20,25,100,10\n"
    "2024-03-01,Direct / None,,,,,,,10,8,9,50,5\n"
    "2024-03-02,Hacker News,https://news.ycombinator.com/item?id=1,,,,,,5,4,4,20,2\n"
    "2024-03-02,Newsletter,,newsletter,email,spring,,,3,3,3,10,1\n"
    "not-a-date,Google,,,,,,,1,1,1,1,1\n"
    "2024-03-03,Google,,,,,,,1,1,,1,1\n"
)
GA4 = (
    "# ----------------------------------------\n"
    "# Traffic acquisition: Session source / medium\n"
    "# Account: Example\n"
    "# Property: example.com\n"
    "# ----------------------------------------\n"
    "#\n"
    "# Start date: 20240301\n"
    "# End date: 20240331\n"
    "Session source / medium,Users,Sessions,Engaged sessions\n"
    'google / organic,"1,100","1,234",900\n'
    "(direct) / (none),400,512,300\n"
    "stackoverflow.com / referral,30,41,20\n"
    "chatgpt.com / referral,5,6,4\n"
    "broken / row,1,many,1\n"
)


def _rows(tmp_path: Path, name: str, text: str) -> tuple[str, list, list]:
    p = write(tmp_path, name, text)
    kind = sniff_export(text)
    assert kind is not None
    refused: list[tuple[int, str]] = []
    with p.open("rb") as fh:
        rows = list(read_export(fh, kind, refused))
    return kind, rows, refused


def test_plausible_export(tmp_path: Path) -> None:
    kind, rows, refused = _rows(tmp_path, "imported_sources_20240301_20240303.csv", PLAUSIBLE)
    assert kind == "plausible"
    assert [(r.source, r.visits, r.line_no) for r in rows] == [
        ("Google", 25, 2), ("Direct / None", 9, 3), ("Hacker News", 4, 4), ("newsletter", 3, 5),
    ]  # fmt: skip
    assert rows[2].referrer == "https://news.ycombinator.com/item?id=1" and rows[3].medium == "email"
    assert refused == [(6, "date 'not-a-date' is not a date"), (7, "no visit count")]


def test_ga4_export(tmp_path: Path) -> None:
    kind, rows, refused = _rows(tmp_path, "Traffic_acquisition.csv", GA4)
    assert kind == "ga4"
    assert [(r.source, r.medium, r.visits, str(r.day)) for r in rows] == [
        ("google", "organic", 1234, "2024-03-01"),
        ("(direct)", "(none)", 512, "2024-03-01"),
        ("stackoverflow.com", "referral", 41, "2024-03-01"),
        ("chatgpt.com", "referral", 6, "2024-03-01"),
    ]
    assert refused == [(14, "no session count")]


def test_refback_reads_every_log_format_through_the_same_parsing(tmp_path: Path) -> None:
    """Refback's reader (linkback.sources.accesslog) is this package's: a Caddy or CloudFront log
    gives it the same hits."""
    from linkback.sources.accesslog import LogStats as RefbackStats
    from linkback.sources.accesslog import read_log

    caddy = write(tmp_path, "caddy.json", json.dumps(CADDY) + "\n{broken\n")
    stats = RefbackStats()
    (hit,) = list(read_log(caddy, stats))
    assert (hit.vhost, hit.referer, hit.path, hit.line_no) == (
        "blog.example.com",
        "https://news.ycombinator.com/item?id=1",
        "/post/?utm_source=newsletter&utm_medium=email",
        1,
    )
    assert stats.skipped == {"bad_json": 1} and stats.formats == {"caddy": 1}
    cloudfront = write(tmp_path, "cf.log", CLOUDFRONT)
    assert [h.referer for h in read_log(cloudfront)] == ["https://www.google.com/"]
    export = write(tmp_path, "export.csv", PLAUSIBLE)
    stats = RefbackStats()
    assert list(read_log(export, stats)) == [] and stats.file_problems == {"not_an_access_log": 1}
