"""``cc fetch`` against a local URL index and a local range-request server over real WARC files.

The index answers as Common Crawl's pywb CDX server does (``showNumPages``, ``page``,
``matchType``, ``filter==status:200``, NDJSON lines whose numbers are strings); its lines are
computed from the real files in tests/data/warc: each record's offset and length are where its
gzip member starts and ends. The data server answers ``Range: bytes=a-b`` with 206 and
``Content-Range``, and can be told to throttle (503) or to answer a range wrongly.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastwarc.warc import ArchiveIterator, WarcRecordType
from serverkit import Hit, Page, PageServer, start_linkback
from typer.testing import CliRunner

from linkback.cc import cc_fetch
from linkback.cc._fetch import _record
from linkback.cc._http import Polite
from linkback.cc._index import Capture, safe_filename
from linkback.cli import app
from linkback.errors import FetchError, LinkbackError
from linkback.fetch import Fetcher, GuardPolicy
from linkback.ingest import ingest
from linkback.sources.warc import iter_record_offsets
from linkback.store import Store

DATA = Path(__file__).parent / "data" / "warc"
CRAWL = "CC-MAIN-2020-34"
SEGMENT = f"crawl-data/{CRAWL}/segments/1596439738015.38/warc"
# Real files under Common Crawl-like names: www.archive.org (aut: 212 responses, 91 of them
# status-200 HTML) and a real CC-MAIN-2020-34 excerpt (resiliparse: 16 responses, 15 hosts).
FILES = {
    f"{SEGMENT}/CC-MAIN-20200808165417-20200808195417-00395.warc.gz": DATA / "resiliparse" / "warcfile.warc.gz",
    f"{SEGMENT}/CC-MAIN-20200808165417-20200808195417-00001.warc.gz": DATA / "aut" / "example.warc.gz",
}
LINES_PER_PAGE = 10  # several index pages for www.archive.org


def cdx_lines() -> list[dict[str, str]]:
    """One CDX line per response record of FILES, as Common Crawl's index has them."""
    lines = []
    for name, path in FILES.items():
        size = path.stat().st_size
        offsets = [offset for offset, _ in iter_record_offsets(path)]
        ends = dict(zip(offsets, offsets[1:] + [size], strict=True))
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh, parse_http=True, record_types=WarcRecordType.response):
                if record.http_headers is None:
                    continue
                mime = (record.http_headers.get("Content-Type") or "").split(";")[0].strip()
                date = record.headers.get("WARC-Date") or ""
                lines.append(
                    {
                        "urlkey": urlsplit(record.headers["WARC-Target-URI"]).hostname or "",
                        "timestamp": re.sub(r"\D", "", date)[:14],
                        "url": record.headers["WARC-Target-URI"],
                        "mime": mime,
                        "mime-detected": record.headers.get("WARC-Identified-Payload-Type") or mime,
                        "status": str(record.http_headers.status_code),
                        "digest": (record.headers.get("WARC-Payload-Digest") or "").removeprefix("sha1:"),
                        "length": str(ends[record.stream_pos] - record.stream_pos),
                        "offset": str(record.stream_pos),
                        "filename": name,
                    }
                )
    return lines


LINES = cdx_lines()
#: The 15 hosts of the real Common Crawl excerpt.
HOSTS = sorted({urlsplit(line["url"]).hostname or "" for line in LINES if "00395" in line["filename"]})


def _matches(line: dict[str, str], url: str, match_type: str) -> bool:
    host = urlsplit(line["url"]).hostname or ""
    if match_type == "host":
        return host == url
    if match_type == "domain":
        return host == url or host.endswith("." + url)
    return line["url"].split("://", 1)[-1].startswith(url)


@dataclass
class Faults:
    """What the servers do wrong, by request: how many 503s first, and per record offset."""

    index_503: int = 0
    data_503: int = 0
    by_offset: dict[int, str] = field(default_factory=dict)  # short, long, bad_range, whole, redirect
    pages: str | None = None  # the page count the index claims, as JSON text (a lying index)


class CommonCrawl:
    """The URL index and the data server, each a PageServer on 127.0.0.1."""

    def __init__(self) -> None:
        self.index, self.data = PageServer(), PageServer()
        self.faults = Faults()
        self.index.page_for = lambda hit: self.answer_index  # type: ignore[method-assign]
        self.data.page_for = lambda hit: self.answer_range  # type: ignore[method-assign]

    def __enter__(self) -> CommonCrawl:
        self.index.__enter__()
        self.data.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.index.__exit__()
        self.data.__exit__()

    @property
    def index_url(self) -> str:
        return self.index.url("/")

    @property
    def data_url(self) -> str:
        return self.data.url("/")

    def answer_index(self, hit: Hit) -> Page:
        if self.faults.index_503:
            self.faults.index_503 -= 1
            return Page(b"slow down", 503, {"Retry-After": "0", "Content-Type": "text/plain"})
        path, _, query = hit.path.partition("?")
        if path != f"/{CRAWL}-index":
            return Page(b"no such collection", 404, {"Content-Type": "text/plain"})
        params = parse_qs(query)
        url, match_type = params["url"][0], params.get("matchType", ["exact"])[0]
        lines = [line for line in LINES if _matches(line, url, match_type)]
        for spec in params.get("filter", []):
            key, _, value = spec.lstrip("=").partition(":")
            lines = [line for line in lines if line.get(key) == value]
        pages = math.ceil(len(lines) / LINES_PER_PAGE)
        if "showNumPages" in params:
            claimed = self.faults.pages if self.faults.pages is not None else str(pages)
            return Page(f'{{"pages": {claimed}, "pageSize": 5}}', 200, {"Content-Type": "text/x-ndjson"})
        if int(params.get("page", ["0"])[0]) * LINES_PER_PAGE >= max(len(lines), 1):
            return Page(b"no such page", 404, {"Content-Type": "text/plain"})
        page = int(params.get("page", ["0"])[0])
        if not lines:
            return Page(b"No Captures found for: " + url.encode(), 404, {"Content-Type": "text/plain"})
        chunk = lines[page * LINES_PER_PAGE : (page + 1) * LINES_PER_PAGE]
        return Page("".join(json.dumps(line) + "\n" for line in chunk), 200, {"Content-Type": "text/x-ndjson"})

    def answer_range(self, hit: Hit) -> Page:
        if self.faults.data_503:
            self.faults.data_503 -= 1
            return Page(b"slow down", 503, {"Retry-After": "0", "Content-Type": "text/plain"})
        path = FILES.get(hit.path.lstrip("/"))
        if path is None:
            return Page(b"no such file", 404, {"Content-Type": "text/plain"})
        data = path.read_bytes()
        m = re.fullmatch(r"bytes=(\d+)-(\d+)", hit.headers.get("range", ""))
        fault = self.faults.by_offset.get(int(m.group(1))) if m else "whole"
        if m is None or fault == "whole":
            return Page(data, 200, {"Content-Type": "application/octet-stream"})
        start, end = int(m.group(1)), int(m.group(2))
        if fault == "redirect":  # elsewhere, where there is no such file
            return Page(b"", 302, {"Location": self.index.url("/moved" + hit.path), "Content-Type": "text/plain"})
        if fault == "bad_range":
            start, end = start + 1, end + 1
        body = data[start : end + 1]
        if fault == "short":
            body = body[: len(body) // 2]
        if fault == "long":  # the range asked for, and more
            body = data[start : end + 101]
        headers = {"Content-Type": "application/octet-stream", "Content-Range": f"bytes {start}-{end}/{len(data)}"}
        return Page(body, 206, headers)


@pytest.fixture
def cc() -> Any:
    with CommonCrawl() as servers:
        yield servers


def fetch(store: Store, cc: CommonCrawl, **kwargs: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "hosts": HOSTS, "crawl": CRAWL, "index_url": cc.index_url, "data_url": cc.data_url, "allow_private": True,
        "backoff": 0.0,
    }  # fmt: skip
    return cc_fetch(store, **(args | kwargs))


def wanted(hosts: list[str]) -> list[dict[str, str]]:
    return [
        line
        for line in LINES
        if urlsplit(line["url"]).hostname in hosts and line["status"] == "200" and line["mime-detected"] in (
            "text/html", "application/xhtml+xml")
    ]  # fmt: skip


OBS_COLUMNS = (
    "obs_key, url, final_url, host, domain, rhost, status, fetched_at, title, lang, canonical, noindex, nofollow, "
    "charset, content_type, n_internal, n_external, skipped, record_offset"
)


def observations(store: Store, urls: list[str]) -> list[tuple]:
    return store.con.execute(
        f"SELECT {OBS_COLUMNS} FROM observations WHERE url IN (SELECT unnest(?::VARCHAR[])) ORDER BY ALL", [urls]
    ).fetchall()


def link_rows(store: Store, urls: list[str]) -> list[tuple]:
    return store.con.execute(
        "SELECT o.url, o.fetched_at, l.* EXCLUDE (obs_id) FROM link_observations l JOIN observations o USING (obs_id) "
        "WHERE o.url IN (SELECT unnest(?::VARCHAR[])) ORDER BY ALL",
        [urls],
    ).fetchall()


def test_fetched_records_are_stored_as_ingest_stores_the_same_records(cc: CommonCrawl, tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    with Store(tmp_path / "cc.duckdb") as store:
        result = fetch(store, cc, progress=seen.append)
        urls = [r[0] for r in store.con.execute("SELECT url FROM observations").fetchall()]
        fetched_obs, fetched_links = observations(store, urls), link_rows(store, urls)
        vias = store.con.execute("SELECT DISTINCT via FROM observations").fetchall()
    want = wanted(HOSTS)
    assert len(HOSTS) == 15 and len(want) == 16
    assert result["captures"] == result["fetched"] == result["pages"] == len(want)
    assert result["skipped"] == {} and result["errors"] == [] and result["index"]["skipped"] == {}
    assert vias == [("commoncrawl",)]
    assert seen[-1] == {"stage": "fetch", "done": len(want), "total": len(want), "fetched": len(want), "skipped": 0}
    with Store(tmp_path / "ingest.duckdb") as store:
        ingest([FILES[next(iter(FILES))]], store=store, workers=1)
        assert observations(store, urls) == fetched_obs
        assert link_rows(store, urls) == fetched_links
    assert len(fetched_obs) == len(want) and len(fetched_links) > 500


def test_the_index_is_read_page_by_page_and_only_html_is_fetched(cc: CommonCrawl) -> None:
    with Store(":memory:") as store:
        result = fetch(store, cc, hosts=["www.archive.org"], limit=12)
    ok = [line for line in LINES if urlsplit(line["url"]).hostname == "www.archive.org" and line["status"] == "200"]
    html = [line for line in ok if line["mime-detected"] == "text/html"]
    # Reading stops at the 12th HTML capture: the lines up to it, on the pages up to its own.
    read = ok[: ok.index(html[11]) + 1]
    assert result["index"]["lines"] == len(read) and result["index"]["pages"] == math.ceil(len(read) / 10) >= 2
    assert result["index"]["skipped"] == {"not_html": sum(line not in html for line in read)} != {}
    assert (result["captures"], result["fetched"], result["pages"]) == (12, 12, 12)


def test_a_second_fetch_adds_nothing_and_limit_caps_the_captures(cc: CommonCrawl) -> None:
    with Store(":memory:") as store:
        first = fetch(store, cc, hosts=["06.live-radsport.ch"])
        again = fetch(store, cc, hosts=["06.live-radsport.ch"])
        assert (first["pages"], again["pages"], again["duplicates"]) == (2, 0, 2)
        limited = fetch(store, cc, hosts=["www.archive.org"], limit=5)
        assert (limited["captures"], limited["fetched"], limited["pages"]) == (5, 5, 5)
        (archives,) = store.con.execute("SELECT count(*) FROM archives WHERE fingerprint = ?", [f"commoncrawl:{CRAWL}"]
                                        ).fetchall()[0]  # fmt: skip
        assert archives == 1


def test_throttled_requests_are_retried_until_they_succeed(cc: CommonCrawl) -> None:
    cc.faults.index_503, cc.faults.data_503 = 1, 3
    with Store(":memory:") as store:
        result = fetch(store, cc, hosts=["06.live-radsport.ch"], concurrency=1, backoff=0.001)
    assert result["retries"] == {"503": 4}
    assert (result["captures"], result["fetched"], result["pages"]) == (2, 2, 2)


def test_a_throttle_that_never_ends_is_counted_not_a_crash(cc: CommonCrawl) -> None:
    with Store(":memory:") as store:
        cc.faults.data_503 = 1000
        result = fetch(store, cc, hosts=["06.live-radsport.ch"], concurrency=1, backoff=0.0)
    assert result["skipped"] == {"status_503": 2} and result["fetched"] == 0
    assert result["retries"] == {"503": 8}  # 4 retries of each of the 2 records (5 attempts in all)


@pytest.mark.parametrize(
    ("claimed", "says"),
    [("1e400", "not JSON with 'pages'"), ("-5", "says the query has -5 pages"),
     ("1000000000", "cc fetch reads at most 100,000")],
)  # fmt: skip
def test_an_index_claiming_absurd_page_counts_is_refused_with_why(cc: CommonCrawl, claimed: str, says: str) -> None:
    cc.faults.pages = claimed
    with Store(":memory:") as store, pytest.raises(LinkbackError, match=says):
        fetch(store, cc, hosts=["06.live-radsport.ch"], concurrency=1, backoff=0.0)


def test_pages_that_are_not_there_end_the_reading_after_ten(cc: CommonCrawl) -> None:
    cc.faults.pages = "5000"  # two are there
    with Store(":memory:") as store:
        result = fetch(store, cc, hosts=["06.live-radsport.ch"], concurrency=1, backoff=0.0)
    asked = [hit for hit in cc.index.hits if "page=" in hit.path]
    assert len(asked) == 1 + 10 and result["captures"] == 2  # page 0 holds both captures, then 10 missing
    assert any("10 pages in a row not found" in e for e in result["errors"])


def test_bad_ranges_and_short_bodies_are_counted_and_skipped(cc: CommonCrawl) -> None:
    lines = wanted(["www.archive.org"])
    offsets = [int(line["offset"]) for line in lines[:3]]
    cc.faults.by_offset = dict(zip(offsets, ("short", "bad_range", "whole"), strict=True))
    with Store(":memory:") as store:
        result = fetch(store, cc, hosts=["www.archive.org"], limit=6)
        bad = [line["url"] for line in lines[:3]]
        (stored_bad,) = store.con.execute(
            "SELECT count(*) FROM observations WHERE url IN (SELECT unnest(?::VARCHAR[]))", [bad]
        ).fetchall()[0]
    assert result["skipped"] == {"short_body": 1, "bad_range": 1, "range_ignored": 1}
    assert (result["captures"], result["fetched"], result["pages"]) == (6, 3, 3)
    assert stored_bad == 0
    half = int(lines[0]["length"]) // 2
    assert any(f"bytes {offsets[0]}+" in e and f"{half:,} of the {int(lines[0]['length']):,} bytes asked for came" in e
               for e in result["errors"])  # fmt: skip


def test_a_body_longer_than_the_range_says_how_many_were_asked_for(cc: CommonCrawl) -> None:
    line = wanted(["www.archive.org"])[0]
    cc.faults.by_offset = {int(line["offset"]): "long"}
    with Store(":memory:") as store:
        result = fetch(store, cc, hosts=["www.archive.org"], limit=1)
    assert result["skipped"] == {"long_body": 1}
    assert result["errors"] == [
        f"{cc.data_url}{line['filename']} bytes {line['offset']}+{line['length']} ({line['url']}): more than the "
        f"{int(line['length']):,} bytes asked for came"
    ]


def test_a_range_redirected_to_a_404_names_where_it_went(cc: CommonCrawl) -> None:
    line = wanted(["www.archive.org"])[0]
    cc.faults.by_offset = {int(line["offset"]): "redirect"}
    with Store(":memory:") as store:
        result = fetch(store, cc, hosts=["www.archive.org"], limit=1)
    assert result["skipped"] == {"status_404": 1}
    moved = cc.index.url("/moved/" + line["filename"])
    assert result["errors"] == [
        f"{cc.data_url}{line['filename']} bytes {line['offset']}+{line['length']} ({line['url']}) "
        f"(redirected to {moved}): status 404"
    ]


@pytest.mark.parametrize(
    "filename",
    ["%2e%2e/%2e%2e/secret", "%2E%2e/secret", ".%2e/secret", "%252e%252e/secret", "..%2fsecret", "..\\secret",
     ".\t./.\t./secret", "%2e%09%2e/secret", "/secret", "%2fsecret", "a?b=../secret"],
)  # fmt: skip
def test_a_filename_that_would_leave_the_data_urls_path_is_never_fetched(cc: CommonCrawl, filename: str) -> None:
    line = next(line for line in LINES if line["filename"] == next(iter(FILES)) and line["status"] == "200"
                and line["mime-detected"] == "text/html")  # fmt: skip
    LINES.append({**line, "url": "http://evil.test/", "filename": filename})
    try:
        with Store(":memory:") as store:
            result = fetch(store, cc, hosts=["evil.test"], data_url=cc.data.url("/mirror/"))
    finally:
        LINES.pop()
    assert cc.data.hits == []  # not /secret, not anything
    assert (result["captures"], result["index"]["skipped"]) == (0, {"unsafe_filename": 1})
    (error,) = result["errors"]
    assert " line 1: filename " in error and "leaves the data URL's path" in error


def test_the_fetch_itself_refuses_a_url_that_leaves_the_data_url(cc: CommonCrawl) -> None:
    # What parse_line lets through is checked again against the real data URL before any request.
    capture = Capture(url="http://evil.test/", timestamp="", filename="%2e%2e/secret", offset=0, length=10,
                      status=200, mime="text/html")  # fmt: skip
    with Fetcher(policy=GuardPolicy(allow_private=True)) as fetcher:
        pages, key, message = _record(Polite(fetcher), cc.data.url("/mirror/"), capture, "label")
    assert (pages, key, cc.data.hits) == ([], "unsafe_filename", [])
    assert "leaves the data URL's path" in message


def test_a_plain_filename_is_safe() -> None:
    assert safe_filename(next(iter(FILES)))
    assert safe_filename("crawl-data/a%20b/x.warc.gz") and safe_filename("a/./b.warc.gz")
    assert not safe_filename("") and not safe_filename("a\nb")


def test_a_record_that_is_no_response_is_skipped_with_the_readers_reason(cc: CommonCrawl) -> None:
    # The index points at the request record before the first response (as a damaged index would).
    path = FILES[next(iter(FILES))]
    offsets = [offset for offset, _ in iter_record_offsets(path)]
    line = next(line for line in LINES if line["filename"] == next(iter(FILES)))
    at = offsets.index(int(line["offset"]))
    LINES.append({**line, "url": "http://request.test/", "offset": str(offsets[at - 1]),
                  "length": str(offsets[at] - offsets[at - 1])})  # fmt: skip
    try:
        with Store(":memory:") as store:
            result = fetch(store, cc, hosts=["request.test"])
    finally:
        LINES.pop()
    assert result["captures"] == 1 and result["fetched"] == 0
    assert result["skipped"] == {"record/request": 1}


def test_loopback_needs_the_explicit_setting(cc: CommonCrawl, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINKBACK_ALLOW_PRIVATE", raising=False)
    with Store(":memory:") as store, pytest.raises(FetchError, match="not allowed|refused|private"):
        fetch(store, cc, allow_private=False)


def test_the_cli_reads_the_server_settings_from_the_environment(cc: CommonCrawl, tmp_path: Path) -> None:
    db = str(tmp_path / "cli.duckdb")
    env = {"LINKBACK_CC_INDEX_URL": cc.index_url, "LINKBACK_CC_DATA_URL": cc.data_url, "COLUMNS": "200"}
    args = ["cc", "fetch", "--host", "06.live-radsport.ch", "--crawl", CRAWL, "--allow-private", "--db", db]
    result = CliRunner().invoke(app, [*args, "--format", "json"], env=env)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    doc = json.loads(result.stdout)
    assert (doc["captures"], doc["pages"], doc["hosts"]) == (2, 2, ["06.live-radsport.ch"])
    table = CliRunner().invoke(app, args, env=env)
    assert table.exit_code == 0 and "captures found" in table.stdout and "2 stored before" in table.stdout
    bad = CliRunner().invoke(app, [*args, "--match-type", "nonsense"], env=env)
    assert bad.exit_code == 2


def test_a_fetch_on_a_database_a_server_owns_is_the_servers_job(cc: CommonCrawl, tmp_path: Path) -> None:
    server = start_linkback(tmp_path, sites=[], advertise=True)
    try:
        db = server.state.settings.db
        args = ["cc", "fetch", "--host", "06.live-radsport.ch", "--crawl", CRAWL, "--index-url", cc.index_url,
                "--data-url", cc.data_url, "--allow-private", "--db", db, "--format", "json"]  # fmt: skip
        done = CliRunner().invoke(app, args)
        assert done.exit_code == 0, done.output
        assert (json.loads(done.stdout)["fetched"], json.loads(done.stdout)["pages"]) == (2, 2)
        jobs = httpx.get(server.url + "/api/v1/jobs", headers={"Authorization": "Bearer test-token"}).json()
        assert [(j["kind"], j["state"]) for j in jobs] == [("cc_fetch", "done")]
    finally:
        server.stop()
    with Store(Path(db)) as store:
        assert store.con.execute("SELECT count(*) FROM observations WHERE via = 'commoncrawl'").fetchall() == [(2,)]
