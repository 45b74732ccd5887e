"""``cc fetch`` and ``cc graph import`` against servers and files that answer badly: an index page
whose answer breaks, a data URL that is no URL, server text that is Rich markup or steers the
terminal, web graph ranks that are no finite numbers. The servers are tests/test_cc_fetch.py's,
on 127.0.0.1, over the real WARC files of tests/data/warc."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from serverkit import Hit, Page
from test_cc_fetch import CRAWL, LINES, CommonCrawl, fetch
from typer.testing import CliRunner

from linkback.cc import cc_graph_import, cc_ranks
from linkback.cli import app
from linkback.errors import LinkbackError
from linkback.store import Store

RELEASE = "cc-main-2099-jan-feb-mar"
RANKS_HEADER = "#harmonicc_pos\t#harmonicc_val\t#pr_pos\t#pr_val\t#host_rev\t#n_hosts\n"


class BrokenPages(CommonCrawl):
    """An index whose pages ``breaks(page)`` picks answer a gzip body that is no gzip."""

    def __init__(self) -> None:
        super().__init__()
        self.breaks: Callable[[int], bool] = lambda page: False

    def answer_index(self, hit: Hit) -> Page:
        page = hit.path.partition("&page=")[2]
        if page and self.breaks(int(page)):
            return Page(b"not gzip", 200, {"Content-Type": "text/x-ndjson", "Content-Encoding": "gzip"})
        return super().answer_index(hit)


@pytest.fixture
def broken() -> Any:
    with BrokenPages() as servers:
        yield servers


def test_an_index_page_that_breaks_is_counted_and_the_pages_after_it_are_read(broken: BrokenPages) -> None:
    broken.breaks = lambda page: page == 1
    with Store(":memory:") as store:
        result = fetch(store, broken, hosts=["www.archive.org"], limit=15)
    assert result["index"]["skipped"].get("index_page_failed") == 1
    assert (result["captures"], result["fetched"], result["pages"]) == (15, 15, 15)
    (error,) = [e for e in result["errors"] if "page=1" in e]
    assert "corrupt compressed body" in error and error.count("http://") == 1


def test_index_pages_that_keep_breaking_end_the_reading_after_ten(broken: BrokenPages) -> None:
    broken.breaks = lambda page: page >= 1
    with Store(":memory:") as store:
        result = fetch(store, broken, hosts=["www.archive.org"])
    asked = [hit for hit in broken.index.hits if "page=" in hit.path]
    assert len(asked) == 1 + 10  # page 0, then ten that break (a broken body is not retried)
    page0 = [line for line in LINES if urlsplit(line["url"]).hostname == "www.archive.org" and line["status"] == "200"]
    html = sum(line["mime-detected"] == "text/html" for line in page0[:10])
    assert result["index"]["skipped"] == {"index_page_failed": 10, "not_html": 10 - html}
    assert result["captures"] == result["fetched"] == html > 0  # page 0's HTML captures, stored
    assert "10 pages in a row failed: the rest not asked" in result["errors"][9]


@pytest.mark.parametrize("data_url", ["not a url", "ftp://mirror.example/", "https://mirror.example/?x=1"])
def test_a_data_url_that_is_no_http_folder_is_refused_before_the_index_is_asked(data_url: str) -> None:
    with CommonCrawl() as cc, Store(":memory:") as store:
        with pytest.raises(LinkbackError, match=r"the data URL .* is not an http\(s\) URL of a folder"):
            fetch(store, cc, hosts=["06.live-radsport.ch"], data_url=data_url)
        assert cc.index.hits == [] and cc.data.hits == []


def test_server_text_in_the_summary_is_shown_not_run_as_markup_or_terminal_codes(tmp_path: Path) -> None:
    line = next(line for line in LINES if line["status"] == "200" and line["mime-detected"] == "text/html")
    LINES.append({**line, "url": "http://evil.test/[/bold]\x1b]0;pwned\x07", "filename": "gone.warc.gz"})
    try:
        with CommonCrawl() as cc:
            args = ["cc", "fetch", "--host", "evil.test", "--crawl", CRAWL, "--index-url", cc.index_url,
                    "--data-url", cc.data_url, "--allow-private", "--db", str(tmp_path / "db.duckdb")]  # fmt: skip
            result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    finally:
        LINES.pop()
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1  # a capture found, none fetched
    assert "status 404" in result.stdout and "[/bold]" in result.stdout
    assert "\x1b" not in result.stdout and "\\x1b]0;pwned\\x07" in result.stdout


def _gz(path: Path, text: str) -> str:
    with gzip.open(path, "wt", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return str(path)


def _graph(tmp_path: Path, ranks: str) -> dict[str, list[str]]:
    vertices = _gz(tmp_path / f"{RELEASE}-domain-vertices.txt.gz", "0\tcom.example\t3\n1\torg.a\t1\n2\torg.b\t1\n")
    edges = _gz(tmp_path / "edges.txt.gz", "1\t0\n2\t0\n7\t0\n")  # 7: no such vertex
    return {"vertices": [vertices], "edges": [edges], "ranks": [_gz(tmp_path / "ranks.txt.gz", RANKS_HEADER + ranks)]}


def _no_nan(text: str) -> Any:
    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_ranks_that_are_no_finite_numbers_are_bad_lines_and_the_json_stays_json(tmp_path: Path) -> None:
    files = _graph(
        tmp_path, "1\t2.0E7\t1\t0.5\torg.a\t1\n2\tnan\t2\t0.1\torg.b\t1\n3\t1e400\t3\t-inf\tcom.example\t3\n"
    )
    db = tmp_path / "db.duckdb"
    with Store(db) as store:
        result = cc_graph_import(store, **files, level="domain", domains=["example.com"])
        assert result["ranks"] == 1 and result["bad_lines"]["ranks"] == 2
        assert [r["name"] for r in cc_ranks(store, ["a.org", "b.org", "example.com"]) if r["hc_val"] is not None] == [
            "a.org"
        ]
    (error,) = result["errors"]
    assert error.startswith(f"{files['ranks'][0]}: 2 lines with a value that is no finite number")
    run = CliRunner().invoke(app, ["cc", "ranks", "a.org", "b.org", "example.com", "--db", str(db), "--format", "json"])
    assert run.exit_code == 0, run.output
    assert {row["name"] for row in _no_nan(run.stdout)} >= {"a.org"}


def test_a_bad_line_quoting_markup_and_unknown_sources_are_shown_in_the_summary(tmp_path: Path) -> None:
    files = _graph(tmp_path, "1\t[/x]\t1\t0.5\torg.a\t1\n")
    args = ["cc", "graph", "import", files["vertices"][0], files["edges"][0], files["ranks"][0], "--for",
            "example.com", "--db", str(tmp_path / "db.duckdb")]  # fmt: skip
    run = CliRunner().invoke(app, args, env={"COLUMNS": "300"})
    assert run.exception is None or isinstance(run.exception, SystemExit), repr(run.exception)
    assert run.exit_code == 0
    assert 'Could not convert string "[/x]"' in run.stdout
    assert "not in vertices  1 source ids of the edges: skipped" in run.stdout
