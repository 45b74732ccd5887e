"""``cc graph import`` and ``cc fetch`` against what a hostile round found (issue 17, round 17):
host-level files imported at the domain level, graph values nobody checked, referring rows built
in Python, a data server that drips its answer, captures held whole before any record was fetched,
an error line naming its place twice. The servers are tests/test_cc_fetch.py's, on 127.0.0.1,
with a dripping data server of this file's."""

from __future__ import annotations

import gzip
import json
import threading
import time
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from serverkit import Hit, Page
from test_cc_fetch import CRAWL, HOSTS, CommonCrawl, fetch, wanted
from typer.testing import CliRunner

from linkback.cc import _fetch, cc_graph_import, cc_ranks, cc_refdomains, expand
from linkback.cli import app
from linkback.errors import SourceError
from linkback.store import Store
from linkback.urls import is_host_name

DATA = Path(__file__).parent / "data" / "cc"
RELEASE = "cc-main-2099-jan-feb-mar"
HOST_DIR = DATA / f"{RELEASE}-host"
HOST = {
    "vertices": expand([HOST_DIR / "vertices"]),
    "edges": expand([HOST_DIR / "edges"]),
    "ranks": [str(HOST_DIR / f"{RELEASE}-host-ranks.txt.gz")],
}
RANKS_HEADER = "#harmonicc_pos\t#harmonicc_val\t#pr_pos\t#pr_val\t#host_rev\t#n_hosts\n"


def _gz(path: Path, text: str) -> str:
    with gzip.open(path, "wt", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return str(path)


# --- the level the files say ---------------------------------------------------------------------


def test_host_level_files_are_imported_at_their_level_and_a_contradicting_level_is_refused() -> None:
    with Store(":memory:") as store:
        result = cc_graph_import(store, **HOST, domains=["example.com"])  # no level: the files say it
        assert (result["level"], result["refdomains"]) == ("host", 4)
        assert cc_ranks(store, ["blog.example.com"])[0]["level"] == "host"
        with pytest.raises(SourceError) as refused:
            cc_graph_import(store, **HOST, level="domain", domains=["example.com"])
    assert str(refused.value) == (
        f"{HOST['vertices'][0]}: the file is of the host-level graph (its name says -host-), not the domain "
        "level: give --level host, or no --level"
    )


def test_files_whose_names_and_columns_do_not_say_their_level_need_it_given(tmp_path: Path) -> None:
    vertices = _gz(tmp_path / "v.gz", gzip.decompress(Path(HOST["vertices"][0]).read_bytes()).decode())
    edges = _gz(tmp_path / "e.gz", gzip.decompress(Path(HOST["edges"][0]).read_bytes()).decode())
    with Store(":memory:") as store:
        with pytest.raises(SourceError, match=r"v\.gz: neither the names nor the columns .*give --level host or "):
            cc_graph_import(store, vertices=[vertices], edges=[edges], domains=["example.com"], release="r")
        assert cc_graph_import(store, vertices=[vertices], edges=[edges], level="host", domains=["example.com"],
                               release="r")["level"] == "host"  # fmt: skip
    # A third column is the domain level's, whatever the file is called.
    named_host = _gz(tmp_path / f"{RELEASE}-host-vertices.txt.gz", "0\tcom.example\t3\n")
    with Store(":memory:") as store, pytest.raises(SourceError, match="domain level's columns .* named as the host"):
        cc_graph_import(store, vertices=[named_host], edges=[edges], domains=["example.com"])


def test_the_cli_takes_the_level_from_the_files_and_names_the_option_when_they_contradict(tmp_path: Path) -> None:
    db = str(tmp_path / "g.duckdb")
    args = ["cc", "graph", "import", str(HOST_DIR / "vertices"), str(HOST_DIR / "edges"), HOST["ranks"][0], "--for",
            "example.com", "--db", db]  # fmt: skip
    run = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    assert f"{RELEASE} (host level)" in run.stdout and "4 hosts" in run.stdout
    wrong = CliRunner().invoke(app, [*args, "--level", "domain"], env={"COLUMNS": "300"})
    assert wrong.exit_code == 2
    assert "part-00000.txt.gz: the file is of the host-level graph" in wrong.stderr
    assert "give --level host" in wrong.stderr


# --- values nobody checked -----------------------------------------------------------------------


def _hostile_graph(tmp_path: Path) -> dict[str, list[str]]:
    vertices = [
        "0\tcom.example\t3", "1\tcom.evil\t1", "2\tcom.\x1b[31mred\t1", "3\t<script>alert(1)</script>\t1",
        "4\t..\t1", "5\t\t1", "6\tcom.dup-a\t1", "6\tcom.dup-b\t1", "-9\tcom.negative\t1", "7\tcom.ok\t-5",
        "8\tcom.fine\t2",
    ]  # fmt: skip
    edges = ["1\t0", "2\t0", "3\t0", "4\t0", "5\t0", "6\t0", "-9\t0", "7\t0", "8\t0"]
    ranks = [
        "1\t-5.0\t1\t0.5\tcom.negval\t1", "-2\t1e3\t2\t0.1\tcom.example\t3", "3\t9.0\t3\t0.1\tcom.evil\t1",
        "4\t8.0\t4\t0.1\t<script>\t1", "5\t7.0\t5\t0.1\tcom.fine\t0", "8\t6.0\t8\t0.1\tcom.evil\t1",
        "9\t5.0\t9\t0.1\tcom.fine\t2",
    ]  # fmt: skip
    return {
        "vertices": [_gz(tmp_path / f"{RELEASE}-domain-vertices.txt.gz", "\n".join(vertices) + "\n")],
        "edges": [_gz(tmp_path / f"{RELEASE}-domain-edges.txt.gz", "\n".join(edges) + "\n")],
        "ranks": [_gz(tmp_path / f"{RELEASE}-domain-ranks.txt.gz", RANKS_HEADER + "\n".join(ranks) + "\n")],
    }


def test_ranks_that_are_no_ranks_are_refused_with_their_lines_and_the_first_of_a_name_wins(tmp_path: Path) -> None:
    files = _hostile_graph(tmp_path)
    with Store(":memory:") as store:
        result = cc_graph_import(store, **files, domains=["example.com"])
        stored = store.con.execute("SELECT name, hc_pos, n_hosts FROM cc_ranks ORDER BY ALL").fetchall()
        ranks = {r["name"]: r["hc_pos"] for r in cc_ranks(store, ["evil.com", "example.com", "fine.com"])}
        refs = {r["source"]: r["hc_pos"] for r in cc_refdomains(store, "example.com")}
    assert stored == [("evil.com", 3, 1), ("fine.com", 9, 2)]  # line 4's evil.com, not line 7's
    assert ranks == {"evil.com": 3, "example.com": None, "fine.com": 9}
    assert refs["evil.com"] == ranks["evil.com"]  # the two reports agree
    assert (result["ranks"], result["bad_lines"]["ranks"]) == (2, 5)
    path = files["ranks"][0]
    assert (
        f"{path}: 1 line with a negative centrality or PageRank, e.g. line 2 ('com.negval'): skipped"
        in (result["errors"])
    )
    assert f"{path}: 1 line with a position below 1, e.g. line 3 ('com.example'): skipped" in result["errors"]
    assert f"{path}: 1 line with a name that is no host name, e.g. line 5 ('<script>'): skipped" in result["errors"]
    assert f"{path}: 1 line with a number of hosts below 1, e.g. line 6 ('com.fine'): skipped" in result["errors"]
    assert (f"{path}: 1 line naming a domain an earlier line names (the first is kept), e.g. line 7 ('com.evil', "
            "first on line 4): skipped") in result["errors"]  # fmt: skip


def test_vertices_that_are_no_hosts_are_refused_and_an_id_given_twice_is_its_first_line(tmp_path: Path) -> None:
    files = _hostile_graph(tmp_path)
    with Store(":memory:") as store:
        result = cc_graph_import(store, **files, domains=["example.com"])
        sources = [r[0] for r in store.con.execute("SELECT source FROM cc_refdomains ORDER BY 1").fetchall()]
    assert sources == ["dup-a.com", "evil.com", "fine.com"]  # one edge from id 6: one referring domain
    assert result["refdomains"] == 3 and result["bad_lines"]["vertices"] == 7
    path = files["vertices"][0]
    errors = "\n".join(result["errors"])
    assert (f"{path}: 4 vertex lines with a name that is no host name, e.g. line 3 (id 2, 'com.\\x1b[31mred'), "
            "line 4 (id 3, '<script>alert(1)</script>'), line 5 (id 4, '..'): skipped") in errors  # fmt: skip
    assert f"{path}: 1 vertex line with a negative id, e.g. line 9 (id -9, 'com.negative')" in errors
    assert f"{path}: 1 vertex line with a number of hosts below 1, e.g. line 10 (id 7, 'com.ok')" in errors
    assert (f"{path}: 1 vertex line giving an id an earlier line gives (the first is kept), e.g. line 8 (id 6, "
            "'com.dup-b', first on line 7): skipped") in errors  # fmt: skip


@pytest.mark.parametrize(
    "name",
    ["com.example", "uk.co.bbc.sport", "com.xn--bcher-kva", "4.3.2.1", "com.a_b", "com.a-b", "", "..", "com..a",
     "-a.com", "a-.com", "com.Example", "com.ex ample", "com.<script>", "com.\x1b[2J", "com.\u202egnp", "a" * 63,
     "a" * 64, ".".join(["a" * 63] * 4)[:253], ".".join(["a" * 63] * 4)],
)  # fmt: skip
def test_the_sql_host_name_check_says_what_is_host_name_says(name: str) -> None:
    from linkback.cc._graph_values import is_host_name_sql  # noqa: PLC0415 - new with the check

    with Store(":memory:") as store:
        (said,) = store.con.execute(f"SELECT {is_host_name_sql('name')} FROM (SELECT ?::VARCHAR AS name)",
                                    [name]).fetchall()[0]  # fmt: skip
    assert bool(said) == is_host_name(name)


def test_the_referring_rows_are_made_in_sql_not_in_python(tmp_path: Path) -> None:
    # 30,000 domains link to one: the rows they make never pass through Python (they did, as lists
    # of tuples and an Arrow table: several MB here, 906 MB for a million).
    n = 30_000
    names = sorted([f"com.site{i:06d}" for i in range(n)] + ["com.target"])
    target = names.index("com.target")
    vertices = _gz(tmp_path / "v.txt.gz", "".join(f"{i}\t{name}\t1\n" for i, name in enumerate(names)))
    edges = _gz(tmp_path / "e.txt.gz", "".join(f"{i}\t{target}\n" for i in range(len(names)) if i != target))
    with Store(":memory:") as store:
        tracemalloc.start()
        result = cc_graph_import(store, vertices=[vertices], edges=[edges], domains=["target.com"], release="t")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        (stored,) = store.con.execute("SELECT count(DISTINCT source) FROM cc_refdomains").fetchall()[0]
    assert result["refdomains"] == stored == n
    assert peak < 1_000_000


# --- cc fetch: a data server that drips ----------------------------------------------------------


class DripServer:
    """A data server on 127.0.0.1 that answers every range with 206 and the right headers, then
    sends its body one byte every 50 ms (a record takes minutes); ``hits`` counts the requests."""

    def __init__(self) -> None:
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                outer.hits += 1
                start, _, end = self.headers.get("Range", "bytes=0-9").removeprefix("bytes=").partition("-")
                length = int(end) - int(start) + 1
                self.send_response(206)
                self.send_header("Content-Length", str(length))
                self.send_header("Content-Range", f"bytes {start}-{end}/{int(end) + 1}")
                self.end_headers()
                try:
                    for _ in range(length):
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        time.sleep(0.05)
                except OSError:  # the client gave up
                    return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def cc() -> Iterator[CommonCrawl]:
    with CommonCrawl() as servers:
        yield servers


@pytest.fixture
def drip() -> Iterator[DripServer]:
    server = DripServer()
    yield server
    server.close()


def test_a_dripping_record_is_cut_off_at_the_timeout_and_tried_once_more(cc: CommonCrawl, drip: DripServer) -> None:
    began = time.monotonic()
    with Store(":memory:") as store:
        result = fetch(store, cc, hosts=["06.live-radsport.ch"], data_url=drip.url, timeout=0.3)
    took = time.monotonic() - began
    assert result["skipped"] == {"fetch_timeout": 2} and result["retries"] == {"timeout": 2}
    assert drip.hits == 4 and took < 5  # 2 records x 2 attempts of 0.3 s, not 5 attempts of 60 s
    line = wanted(["06.live-radsport.ch"])[0]
    url = f"{drip.url}{line['filename']}"
    assert f"{url} bytes {line['offset']}+{line['length']} ({line['url']}): took longer than 0.3 s" in result["errors"]
    assert all(error.count(url) == 1 for error in result["errors"])  # the place said once


def test_the_cli_takes_the_timeout(cc: CommonCrawl, drip: DripServer, tmp_path: Path) -> None:
    args = ["cc", "fetch", "--host", "06.live-radsport.ch", "--crawl", CRAWL, "--index-url", cc.index_url,
            "--data-url", drip.url, "--allow-private", "--timeout", "0.2", "--db", str(tmp_path / "db.duckdb"),
            "--format", "json"]  # fmt: skip
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 1, run.output  # captures found, none fetched
    assert json.loads(run.stdout)["skipped"] == {"fetch_timeout": 2}
    bad = CliRunner().invoke(app, [*args[:-4], "--timeout", "0", *args[-4:]])
    assert bad.exit_code != 0 and "timeout 0.0: give seconds, more than 0" in bad.output


def test_after_ten_records_in_a_row_the_data_server_failed_the_rest_are_not_asked(cc: CommonCrawl) -> None:
    cc.faults.data_503 = 10_000
    with Store(":memory:") as store:
        result = fetch(store, cc, concurrency=1)
    assert len(cc.data.hits) == 10 * 5  # ten records, five attempts each; then none
    assert result["skipped"]["status_503"] == 10 and result["skipped"]["gave_up"] >= 1
    assert result["errors"][0] == f"{cc.data_url}: 10 records in a row failed (status_503); the rest not fetched"
    assert len([hit for hit in cc.index.hits if "page=" in hit.path]) < len(HOSTS)  # nor the index read on


# --- cc fetch: the index streamed ----------------------------------------------------------------


def test_records_are_fetched_while_the_index_is_read(cc: CommonCrawl) -> None:
    with Store(":memory:") as store:
        result = fetch(store, cc, hosts=["www.archive.org"], concurrency=1)
    pages = [hit.at for hit in cc.index.hits if "page=" in hit.path]
    assert len(pages) >= 3 and result["fetched"] == result["captures"] > 20
    assert min(hit.at for hit in cc.data.hits) < max(pages)  # not every page before the first record


def test_a_record_named_twice_is_fetched_once_and_far_apart_stored_once(
    cc: CommonCrawl, monkeypatch: pytest.MonkeyPatch
) -> None:
    hosts = ["live-radsport.ch", "06.live-radsport.ch", "06.live-radsport.ch"]
    with Store(":memory:") as store:
        result = fetch(store, cc, hosts=hosts, match_type="domain")
    assert (result["captures"], result["index"]["skipped"], len(cc.data.hits)) == (2, {"same_record": 2}, 2)
    assert result["hosts"] == hosts[:2]  # a host given twice is asked for once
    # Remembering a single record, the second query's are fetched again; the store keeps each once.
    monkeypatch.setattr(_fetch, "REMEMBERED_RECORDS", 1)
    with Store(":memory:") as store:
        again = fetch(store, cc, hosts=hosts, match_type="domain")
    assert (again["captures"], again["pages"], again["duplicates"]) == (4, 2, 2)


def test_a_record_that_is_no_gzip_is_said_at_its_place_once(cc: CommonCrawl) -> None:
    line = wanted(["06.live-radsport.ch"])[0]

    def answer(hit: Hit) -> Page:
        start, _, end = hit.headers["range"].removeprefix("bytes=").partition("-")
        size = int(end) - int(start) + 1
        return Page(b"X" * size, 206, {"Content-Range": f"bytes {start}-{end}/{int(end) + 1}"})

    cc.data.page_for = lambda hit: answer  # type: ignore[method-assign]
    with Store(":memory:") as store:
        result = fetch(store, cc, hosts=["06.live-radsport.ch"], limit=1)
    (error,) = result["errors"]
    where = f"{cc.data_url}{line['filename']} bytes {line['offset']}+{line['length']} ({line['url']})"
    assert error.startswith(f"{where} at byte 0: not a WARC or ARC file") and error.count(where) == 1
