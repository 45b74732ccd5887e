"""Refback from access logs: reading combined/vhost_combined logs, sorting referers, summaries."""

from __future__ import annotations

import bz2
import gzip
import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import REPO_DATA, shared_path

from linkback.errors import SourceError, URLError
from linkback.protocols._refback import (
    REFERER_CLASSES,
    RefbackCandidate,
    candidate_refbacks,
    classify_referer,
    site_matches,
    summarize,
)
from linkback.sources.accesslog import LogHit, LogStats, parse_line, read_log, read_logs

EXCERPTS = REPO_DATA / "access_logs"
UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/115.0"


def line(path="/a", *, ref="-", ua=UA, status=200, method="GET", addr="192.0.2.7", when="10/Oct/2023:13:55:36 +0000"):
    return f'{addr} - - [{when}] "{method} {path} HTTP/1.1" {status} 2326 "{ref}" "{ua}"'


def write(tmp_path: Path, name: str, *lines: str, raw: bytes = b"") -> Path:
    p = tmp_path / name
    p.write_bytes(raw or "".join(s + "\n" for s in lines).encode())
    return p


def read(path: Path) -> tuple[list[LogHit], LogStats]:
    stats = LogStats()
    hits = list(read_log(path, stats))
    assert stats.accounted
    return hits, stats


# --------------------------------------------------------------------------- parsing


def test_combined_line_fields():
    hit = parse_line(line("/post?x=1", ref="https://blog.example.org/p#c"), source="f", line_no=3)
    assert isinstance(hit, LogHit)
    assert (hit.remote_addr, hit.method, hit.path, hit.status) == ("192.0.2.7", "GET", "/post?x=1", 200)
    assert hit.referer == "https://blog.example.org/p#c"  # as logged; normalising is classification's job
    assert (hit.user_agent, hit.vhost, hit.source, hit.line_no) == (UA, "", "f", 3)
    assert hit.time == datetime(2023, 10, 10, 13, 55, 36, tzinfo=UTC)


def test_time_offset_becomes_utc():
    hit = parse_line(line(when="25/Oct/2015:04:11:25 +0100"))
    assert hit.time == datetime(2015, 10, 25, 3, 11, 25, tzinfo=UTC)
    assert parse_line(line(when="01/Jan/2020:00:30:00 -0530")).time == datetime(2020, 1, 1, 6, 0, tzinfo=UTC)


def test_dash_fields_are_empty():
    hit = parse_line(line(ref="-", ua="-"))
    assert (hit.referer, hit.user_agent) == ("", "")


def test_escaped_quotes_and_backslashes():
    hit = parse_line(line(ref=r"https://ex.org/?q=\"hi\"", ua=r"Bot \"quoted\" C:\\agent"))
    assert hit.referer == 'https://ex.org/?q="hi"'
    assert hit.user_agent == 'Bot "quoted" C:\\agent'


def test_ipv6_client():
    hit = parse_line(line(addr="2001:db8::1"))
    assert hit.remote_addr == "2001:db8::1" and hit.vhost == ""


def test_vhost_combined():
    text = 'Blog.Example.com:443 2001:db8::2 - - [10/Oct/2023:13:55:36 +0000] "GET /p HTTP/2.0" 200 5 "-" "ua"'
    hit = parse_line(text)
    assert (hit.vhost, hit.remote_addr, hit.path) == ("blog.example.com:443", "2001:db8::2", "/p")


def test_extra_fields_after_user_agent_are_ignored():
    hit = parse_line(line() + ' "198.51.100.1" 0.004')  # nginx $http_x_forwarded_for, request time
    assert isinstance(hit, LogHit) and hit.user_agent == UA


def test_garbage_request_line_keeps_the_hit():
    hit = parse_line(line().replace('"GET /a HTTP/1.1"', r'"\x16\x03\x01\x02"', 1))
    assert isinstance(hit, LogHit) and (hit.method, hit.path) == ("", "")


def test_latin1_byte_escape(tmp_path):
    p = write(
        tmp_path,
        "access.log",
        line(ref=r"http://caf\xe9.example/"),  # one Latin-1 byte: not UTF-8
        line(ref=r"http://caf\xc3\xa9.example/"),  # the same name in UTF-8
    )
    hits, stats = read(p)
    assert [h.referer for h in hits] == ["http://café.example/"] * 2
    assert stats.latin1_lines == 1


def test_raw_utf8_bytes_in_a_line(tmp_path):
    p = write(tmp_path, "access.log", raw=line(ref="http://café.example/").encode() + b"\r\n")
    hits, _ = read(p)
    assert hits[0].referer == "http://café.example/" and hits[0].user_agent == UA


def test_bad_lines_are_counted_with_line_numbers(tmp_path):
    p = write(
        tmp_path,
        "access.log",
        line(),
        "this is not a log line",
        "",
        line(when="32/Foo/2015:10:05:03 +0000"),
        '192.0.2.7 - - [10/Oct/2023:13:55:36 +0000] "GET / HTTP/1.1" 200 2326',  # common, no Referer
        line("/" + "x" * 300),
        line(ua=UA + '"'),  # a stray quote
        line(),
    )
    stats = LogStats()
    hits = list(read_log(p, stats, max_line_bytes=256))
    assert [h.line_no for h in hits] == [1, 8]
    assert stats.lines == 8 and stats.parsed == 2 and stats.accounted
    assert stats.skipped == {"malformed": 2, "blank": 1, "bad_time": 1, "common_format": 1, "too_long": 1}
    assert f"{p}:2: malformed:" in stats.errors[0]
    assert any(e.startswith(f"{p}:6: too_long") for e in stats.errors)


def test_compression_is_told_by_magic_bytes(tmp_path):
    body = (line("/one") + "\n" + line("/two") + "\n").encode()
    gz = tmp_path / "access.log"  # gzipped, no .gz suffix
    gz.write_bytes(gzip.compress(body))
    fake = tmp_path / "plain.log.gz"  # plain, .gz suffix
    fake.write_bytes(body)
    bz = tmp_path / "access.log.2"
    bz.write_bytes(bz2.compress(body))
    for p in (gz, fake, bz):
        hits, stats = read(p)
        assert [h.path for h in hits] == ["/one", "/two"], p
        assert not stats.file_problems


def test_multi_member_and_truncated_gzip(tmp_path):
    one = gzip.compress((line("/one") + "\n").encode())
    two = gzip.compress((line("/two") + "\n" + line("/three") + "\n").encode())
    p = tmp_path / "access.log.1.gz"
    p.write_bytes(one + two)  # logrotate's delaycompress + concatenation
    assert [h.path for h in read(p)[0]] == ["/one", "/two", "/three"]
    p.write_bytes(one + two[: len(two) // 2])
    hits, stats = read(p)
    assert [h.path for h in hits] == ["/one"]
    assert stats.file_problems == {"truncated_stream": 1}


def test_unreadable_file_is_counted_not_raised(tmp_path):
    stats = LogStats()
    assert list(read_log(tmp_path / "missing.log", stats)) == []
    assert stats.file_problems == {"unreadable": 1} and stats.files == 0


def test_read_logs_expands_directories_and_globs(tmp_path):
    write(tmp_path, "a.log", line("/a"))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "access_log-20240101").write_bytes(gzip.compress((line("/b") + "\n").encode()))
    write(tmp_path, "README.md", "# not a log")
    write(tmp_path, ".hidden.log", line("/hidden"))
    stats = LogStats()
    assert sorted(h.path for h in read_logs([tmp_path], stats)) == ["/a", "/b"]
    assert stats.files == 2 and stats.file_problems == {"not_an_access_log": 1}
    assert [h.path for h in read_logs([str(tmp_path / "*.log")], LogStats())] == ["/a"]
    with pytest.raises(SourceError):
        list(read_logs([tmp_path / "nope.log"], LogStats()))


# --------------------------------------------------------------------------- classification

PAGE = "https://example.com/post"
SITE = ("example.com",)


@pytest.mark.parametrize(
    ("referer", "expected"),
    [
        ("", "empty"),
        ("-", "empty"),
        ("android-app://com.google.android.gm", "invalid"),
        ("javascript:alert(1)", "invalid"),
        ("http://exa mple.com/", "invalid"),
        ("/relative/only", "invalid"),
        ("https://user:secret@blog.example.org/", "invalid"),
        ("https://example.com/other", "self"),
        ("https://www.example.com/", "self"),  # www vs apex: one registrable domain
        ("http://EXAMPLE.com:8080/x#frag", "self"),
        ("https://www.google.co.uk/", "search"),
        ("https://www.google.com/url?q=x", "search"),
        ("http://r.duckduckgo.com/l/?uddg=x", "search"),
        ("https://yandex.com.tr/search", "search"),
        ("https://search.yahoo.co.jp/", "search"),
        ("https://www.ask.com/web?q=x", "search"),
        ("https://ask.fm/someone", "external"),
        ("https://google.github.io/styleguide/", "external"),  # a private-section suffix: not Google search
        ("https://t.co/K3mfESnO6G", "social"),
        ("https://l.facebook.com/l.php?u=x", "social"),
        ("https://news.ycombinator.com/item?id=1", "social"),
        ("https://www.pinterest.co.uk/pin/1", "social"),
        ("https://www.ycombinator.com/", "external"),
        ("https://x.org/", "external"),
        ("https://mastodon.social/@someone/1", "external"),
        ("https://blog.example.org/2024/link-to-you", "external"),
        ("http://[2001:db8::5]/page", "external"),
    ],
)
def test_classify_referer(referer, expected):
    assert classify_referer(referer, page_url=PAGE, site_hosts=SITE) == expected


def test_self_follows_the_page_and_the_site_hosts():
    # Without site hosts, the page alone decides; with them, the operator's other hosts are self too.
    assert classify_referer("https://www.example.com/", page_url="https://example.com/", site_hosts=()) == "self"
    assert classify_referer("https://other.net/", page_url="https://example.com/", site_hosts=()) == "external"
    assert classify_referer("https://other.net/", page_url="", site_hosts=("example.com", "other.net")) == "self"
    # github.io is a public suffix: two users' sites are not one site.
    assert classify_referer("https://bob.github.io/", page_url="https://alice.github.io/", site_hosts=()) == "external"


@pytest.mark.parametrize(
    ("host", "entries", "expected"),
    [
        ("example.com", ["example.com"], True),
        ("www.example.com:8443", ["example.com"], True),
        ("WWW.Example.COM.", ["example.com"], True),
        ("deep.sub.example.com", ["example.com"], True),
        ("notexample.com", ["example.com"], False),
        ("example.com", ["blog.example.com"], False),
        ("blog.example.com:80", ["blog.example.com"], True),
        ("x.blog.example.com", ["blog.example.com"], False),  # a host entry is that host only
        ("bücher.example", ["xn--bcher-kva.example"], True),
        ("other.co.uk", ["co.uk"], False),  # a public suffix does not widen
        ("co.uk", ["co.uk"], True),
        ("[2001:db8::1]:443", ["2001:db8::1"], True),
        ("192.0.2.1:8080", ["192.0.2.1"], True),
        ("www.example.com", ["https://example.com/blog"], True),
        ("exa mple.com", ["example.com"], False),
    ],
)
def test_site_matches(host, entries, expected):
    assert site_matches(host, entries) is expected


def test_bad_site_entry_raises():
    with pytest.raises(URLError):
        site_matches("example.com", ["exa mple.com"])


# --------------------------------------------------------------------------- candidates


def hit(path="/post", *, ref="", status=200, method="GET", vhost="", when=None, line_no=1, addr="192.0.2.7"):
    when = when or datetime(2024, 1, 1, tzinfo=UTC)
    return LogHit(addr, when, method, path, status, ref, UA, vhost, "t.log", line_no)


def classes(hits, **kw) -> list[str]:
    kw.setdefault("site_hosts", SITE)
    return [c.cls for c in candidate_refbacks(hits, **kw)]


def test_only_successful_page_views_count():
    ref = "https://blog.example.org/"
    hits = [
        hit(ref=ref),
        hit(ref=ref, status=304),  # a revisit from cache is a view
        hit(ref=ref, method="HEAD"),
        hit(ref=ref, method="POST"),
        hit(ref=ref, status=404),
        hit(ref=ref, status=301),
        hit(ref=ref, status=206),
        hit("/style.css?v=3", ref=ref),
        hit("/img/Logo.PNG", ref=ref),
        hit("/robots.txt", ref=ref),
        hit("/paper.pdf", ref=ref),
        hit("http://proxy.test/", ref=ref),
        hit("/feed.xml", ref=ref),
    ]
    assert classes(hits) == ["external", "external"] + ["not_a_page"] * 8 + ["external", "not_a_page", "external"]


def test_page_url_from_vhost_or_the_single_site_host():
    [c] = candidate_refbacks([hit("/a/./b?q=1", ref="https://blog.example.org/x#frag")], site_hosts=SITE)
    assert (c.page_url, c.referer, c.cls) == ("https://example.com/a/b?q=1", "https://blog.example.org/x", "external")
    vh = [hit(vhost="www.example.com:80"), hit(vhost="www.example.com:443"), hit(vhost="www.example.com:8080")]
    assert [c.page_url for c in candidate_refbacks(vh, site_hosts=SITE)] == [
        "http://www.example.com/post",
        "https://www.example.com/post",
        "https://www.example.com:8080/post",
    ]
    assert [c.page_url for c in candidate_refbacks([hit()], site_hosts=SITE, default_scheme="http")] == [
        "http://example.com/post"
    ]


def test_not_a_site():
    ref = "https://blog.example.org/"
    assert classes([hit(ref=ref, vhost="other.test:443")]) == ["not_a_site"]
    # Two hosts and no vhost field: which one was requested cannot be told...
    assert classes([hit(ref=ref)], site_hosts=("example.com", "example.net")) == ["not_a_site"]
    # ...unless the caller says.
    assert classes([hit(ref=ref)], site_hosts=("example.com", "example.net"), default_host="example.net") == [
        "external"
    ]
    with pytest.raises(URLError):
        list(candidate_refbacks([], site_hosts=SITE, default_host="other.test"))


def test_summary_collapses_repeat_visits_and_ignores_self_and_empty():
    t = [datetime(2024, 1, d, tzinfo=UTC) for d in (1, 2, 3)]
    ref = "https://blog.example.org/links"
    hits = [
        hit(ref=ref + "#a", when=t[1]),
        hit(ref=ref, when=t[2]),
        hit(ref=ref, when=t[0]),  # logs are not strictly in time order
        hit("/other", ref=ref, when=t[1]),
        hit(ref="https://www.example.com/", when=t[0]),
        hit(ref="", when=t[0]),
        hit(ref="https://www.google.de/", when=t[0]),
    ]
    s = summarize(candidate_refbacks(hits, site_hosts=SITE))
    assert s["hits"] == 7
    assert s["by_class"] == dict.fromkeys(REFERER_CLASSES, 0) | {"external": 4, "self": 1, "empty": 1, "search": 1}
    assert s["pairs"] == [
        {"referer": ref, "page_url": "https://example.com/post", "hits": 3, "first": t[0], "last": t[2], "times": t},
        {"referer": ref, "page_url": "https://example.com/other", "hits": 1, "first": t[1], "last": t[1]}
        | {"times": [t[1]]},
    ]
    assert s["referer_hosts"] == {"blog.example.org": 4}


def test_candidate_is_frozen():
    [c] = candidate_refbacks([hit()], site_hosts=SITE)
    assert isinstance(c, RefbackCandidate)
    with pytest.raises(AttributeError):
        c.cls = "external"  # type: ignore[misc]


# --------------------------------------------------------------------------- real logs

# Independent of the reader: a plain regex over the raw bytes, as ../shared made stats.json.
_RAW = re.compile(rb'^(\S+) \S+ \S+ \[[^\]]+\] "(?:[^"\\]|\\.)*" \d{3} \S+ "((?:[^"\\]|\\.)*)" "(?:[^"\\]|\\.)*"$')
_RAW_HOST = re.compile(rb"[a-zA-Z][\w+.-]*://([^/:?#]*)")


def raw_counts(path: Path, site_suffixes: tuple[bytes, ...]) -> dict:
    lines = parsed = with_ref = outside = 0
    hosts, ips = set(), set()
    for raw in path.read_bytes().splitlines():
        lines += 1
        m = _RAW.match(raw)
        if not m:
            continue
        parsed += 1
        ips.add(m.group(1))
        if m.group(2) == b"-":
            continue
        with_ref += 1
        host = _RAW_HOST.match(m.group(2)).group(1).lower()
        if not any(host == s or host.endswith(b"." + s) for s in site_suffixes):
            outside += 1
            hosts.add(host)
    return {
        "lines": lines,
        "parsed": parsed,
        "with_referer": with_ref,
        "outside": outside,
        "hosts": len(hosts),
        "ips": len(ips),
    }


def check_log(path: Path, site_hosts: tuple[str, ...]) -> tuple[LogStats, list[LogHit], dict]:
    """Reader and classifier against the regex counts of the same file."""
    expected = raw_counts(path, tuple(s.encode() for s in site_hosts))
    stats = LogStats()
    hits = list(read_log(path, stats))
    assert stats.accounted
    assert (stats.lines, stats.parsed) == (expected["lines"], expected["parsed"])
    assert sum(1 for h in hits if h.referer) == expected["with_referer"]
    assert len({h.remote_addr for h in hits}) == expected["ips"]
    cls = Counter(classify_referer(h.referer, page_url=f"http://{site_hosts[0]}/", site_hosts=site_hosts) for h in hits)
    assert cls["empty"] == expected["parsed"] - expected["with_referer"]
    assert cls["self"] == expected["with_referer"] - expected["outside"]
    assert cls["external"] + cls["search"] + cls["social"] + cls["invalid"] == expected["outside"]
    outside_hosts = {
        h.referer.split("/")[2].lower()
        for h in hits
        if h.referer and not site_matches(h.referer.split("/")[2], site_hosts)
    }
    assert len(outside_hosts) == expected["hosts"]
    return stats, hits, cls


def test_bundled_semicomplete_excerpt():
    path = EXCERPTS / "semicomplete-excerpt.log"
    stats, hits, cls = check_log(path, ("semicomplete.com",))
    # The one line whose User-Agent quote is cut off (SOURCE.txt: excerpt line 269).
    assert stats.skipped == {"malformed": 1} and f"{path}:269: malformed" in stats.errors[0]
    assert stats.latin1_lines == sum(1 for raw in path.read_bytes().splitlines() if rb"\xe4\xe5" in raw) == 3
    # The \xHH-escaped spam referer decodes (as Latin-1) to one IDN host, stored as punycode.
    spam = {c.referer for c in candidate_refbacks(hits, site_hosts=("semicomplete.com",)) if c.line_no == 51}
    assert spam == {"http://xn----xfaceb1bgfjepx7j1b.xn--hdai/"}
    assert cls["invalid"] == 0


def test_bundled_excerpt_summary_matches_a_hand_count():
    path = EXCERPTS / "semicomplete-excerpt.log"
    hits = list(read_log(path))
    s = summarize(candidate_refbacks(hits, site_hosts=("semicomplete.com",), default_scheme="http"))
    assert sum(s["by_class"].values()) == s["hits"] == len(hits)
    # By hand from the raw lines: successful GETs of non-asset paths with a referer outside
    # semicomplete.com that is no search engine.
    asset = re.compile(r"\.(css|js|png|jpe?g|gif|ico|svg|woff2?|ttf)$", re.I)
    engines = re.compile(r"//[^/]*\b(google|bing|duckduckgo|yandex|baidu|yahoo)\.")
    by_hand = Counter()
    for h in hits:
        page = h.path.split("?")[0]
        if h.method != "GET" or h.status not in (200, 304) or asset.search(page) or page == "/robots.txt":
            continue
        if h.referer and "semicomplete.com" not in h.referer.split("/")[2] and not engines.search(h.referer):
            scheme, _, host, *rest = h.referer.split("#")[0].split("/")
            ref = f"{scheme}//{host.encode('idna').decode()}/" + "/".join(rest)
            by_hand[(ref, "http://semicomplete.com" + h.path)] += 1
    assert {(p["referer"], p["page_url"]): p["hits"] for p in s["pairs"]} == dict(by_hand)
    assert s["by_class"]["external"] == sum(by_hand.values()) > 0


def test_bundled_basjes_excerpt():
    # Every Referer is forged to look same-site: nothing to queue.
    sites = ("basjes.nl", "basj.es")
    stats, hits, cls = check_log(EXCERPTS / "basjes-excerpt.log", sites)
    assert stats.skipped == {} and stats.parsed == 60
    assert summarize(candidate_refbacks(hits, site_hosts=sites, default_host="basjes.nl"))["pairs"] == []


# --------------------------------------------------------------------------- ../shared

SHARED_LOGS = {
    "elastic-examples-apache": ("apache_logs", ("semicomplete.com",)),
    "logparser-demolog": ("hackers-access.log", ("basjes.nl", "basj.es")),
}


def _stamp(text: str) -> datetime:
    return datetime.strptime(text, "%d/%b/%Y:%H:%M:%S %z").astimezone(UTC)


@pytest.mark.shared
@pytest.mark.parametrize("name", sorted(SHARED_LOGS))
def test_shared_log_agrees_with_stats_json(name):
    root = shared_path("08_access_logs")
    want = json.loads((root / "stats.json").read_text())[name]
    file, sites = SHARED_LOGS[name]
    path = root / name / file

    stats = LogStats()
    hits = list(read_log(path, stats))
    cands = list(candidate_refbacks(hits, site_hosts=sites, default_scheme="http", default_host=sites[0]))
    summary = summarize(cands)

    assert stats.accounted and stats.lines == want["lines"] and stats.parsed == want["parsed_combined"]
    assert sum(1 for h in hits if h.referer) == want["with_referer"]
    assert len({h.remote_addr for h in hits}) == want["distinct_client_ips"]
    # stats.json's first/last are the first and last lines' (the lines are not in time order).
    assert (hits[0].time, hits[-1].time) == (_stamp(want["first_ts"]), _stamp(want["last_ts"]))
    assert min(h.time for h in hits) <= hits[0].time
    # stats.json's "external" is every referer off the site, search engines included.
    outside = Counter()
    for h in hits:
        cls = classify_referer(h.referer, page_url=f"http://{sites[0]}/", site_hosts=sites)
        if cls in ("external", "search", "social", "invalid"):
            outside[h.referer.split("/")[2].lower()] += 1
    assert sum(outside.values()) == want["external_referer_requests"]
    assert len(outside) == want["distinct_external_referer_hosts"]
    for host, n in want["top_external_referer_hosts"]:
        assert outside[host] == n, host
    assert summary["hits"] == len(hits)
    check_log(path, sites)


@pytest.mark.shared
def test_shared_semicomplete_refbacks():
    """The figures the final report quotes, pinned so a change in the rules shows up here."""
    path = shared_path("08_access_logs", "elastic-examples-apache", "apache_logs")
    s = summarize(candidate_refbacks(read_log(path), site_hosts=("semicomplete.com",), default_scheme="http"))
    pairs = {(p["referer"], p["page_url"]): p["hits"] for p in s["pairs"]}
    assert (
        pairs[
            ("http://logstash.net/docs/1.3.3/learn", "http://semicomplete.com/presentations/logstash-puppetconf-2012/")
        ]
        == 18
    )
    assert s["by_class"]["external"] == sum(pairs.values()) == sum(s["referer_hosts"].values())
    assert all(not h.endswith("semicomplete.com") for h in s["referer_hosts"])
    engines = re.compile(r"(^|\.)(google|bing|duckduckgo|yandex|baidu)\.|^t\.co$")
    assert not any(engines.search(h) for h in s["referer_hosts"])
    assert "translate.googleusercontent.com" in s["referer_hosts"]  # Google's proxy of a linking page


@pytest.mark.shared
def test_shared_directory_reads_both_logs():
    root = shared_path("08_access_logs")
    stats = LogStats()
    n = sum(1 for _ in read_logs([root], stats))
    want = json.loads((root / "stats.json").read_text())
    assert stats.files == 2 and n == stats.parsed == sum(v["parsed_combined"] for v in want.values())
    assert stats.lines == sum(v["lines"] for v in want.values()) and stats.accounted
    # SOURCE.txt, stats.json and the two README.md are looked at and left out.
    assert stats.file_problems == {"not_an_access_log": 4}


# --------------------------------------------------------------------------- counting visits once


def _import(store, *paths: Path) -> dict[str, int]:
    """What ``linkback refbacks`` does with logs: read, sort, queue with the visit times.
    The hits per referer afterwards."""
    from linkback import mentions

    stats = LogStats()
    found = summarize(candidate_refbacks(read_logs([str(p) for p in paths], stats), site_hosts=["example.com"]))
    receipts = [
        mentions.Receipt(
            "refback", p["referer"], p["page_url"], "example.com", hits=p["hits"], hit_times=tuple(p["times"])
        )
        for p in found["pairs"]
    ]
    mentions.receive_many(store.con, receipts, datetime.now(UTC))
    return dict(store.con.execute("SELECT source, hits FROM mentions").fetchall())


def test_reading_the_same_log_twice_does_not_count_its_visits_twice(tmp_path):
    from linkback import mentions
    from linkback.store import Store

    a, b = "https://a.example.net/links", "https://b.example.net/post"
    day1 = [
        line("/post", ref=a, when="10/Oct/2026:10:00:00 +0000"),
        line("/post", ref=a, when="10/Oct/2026:11:00:00 +0000"),
        line("/post", ref=b, when="10/Oct/2026:12:00:00 +0000"),
    ]
    later = [
        line("/post", ref=a, when="11/Oct/2026:09:00:00 +0000"),
        line("/post", ref=a, when="11/Oct/2026:09:00:05 +0000"),
    ]
    first = write(tmp_path, "access.log.1", *day1)
    grown = write(tmp_path, "access.log", *day1, *later)  # the same lines again, and two new ones
    with Store(":memory:") as store:
        mentions.add_site(store.con, "example.com")
        assert _import(store, first) == {a: 2, b: 1}
        (mid,) = store.con.execute("SELECT mention_id FROM mentions WHERE source = ?", [a]).fetchall()[0]
        mentions.record_outcome(store.con, mid, mentions.Outcome("verified", decision="pending"), datetime.now(UTC))
        assert _import(store, first) == {a: 2, b: 1}  # read again: nothing new
        # Nothing new happened: the verified mention is not queued for another fetch.
        assert mentions.get(store.con, mid)["status"] == "verified"
        assert _import(store, grown) == {a: 4, b: 1}  # the overlapping log: only its new lines
        assert mentions.get(store.con, mid)["status"] == "queued"  # a new visit re-verifies
        assert _import(store, first, grown) == {a: 4, b: 1}  # both at once, in any order
        assert mentions.get(store.con, mid)["last_hit_at"] == datetime(2026, 10, 11, 9, 0, 5, tzinfo=UTC)


def test_visits_without_times_are_counted_as_before(tmp_path):
    from linkback import mentions
    from linkback.store import Store

    with Store(":memory:") as store:
        mentions.add_site(store.con, "example.com")
        receipt = mentions.Receipt(
            "refback", "https://a.example.net/", "https://example.com/post", "example.com", hits=2
        )
        mentions.receive_many(store.con, [receipt], datetime.now(UTC))
        mentions.receive_many(store.con, [receipt], datetime.now(UTC))
        assert store.con.execute("SELECT hits, last_hit_at FROM mentions").fetchall() == [(4, None)]
