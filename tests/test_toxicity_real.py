"""Toxicity holds on real data (issue #16): on the real pages bundled for tests (news and blog
articles of established publishers), fewer than 0.2 % of the referring domains of any of the 20
most-linked targets reach the disavow threshold; and the labelled spam profiles of the unit tests
(tests/test_quality_toxicity.py, tests/test_cli_quality.py), written as pages and ingested beside
the real ones, keep their separation from those real referring domains (AUC >= 0.95).

This file runs on the repo's tests/data/warc (117 of the real pages, the 2008 archive.org crawl
and small archives); tests/test_toxicity_real_shared.py runs the same checks on all 1,169 pages of
../shared/data where present. Each index is ingested and ranked once per module.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, copy_db
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from linkback import quality
from linkback.ingest import ingest
from linkback.quality._census import Census, census_lines, popular_targets, signal_census
from linkback.rank import rank
from linkback.store import Store

GOAL = 0.002  # the issue's: fewer than 0.2 % of a popular target's referring domains
MIN_AUC = 0.95


def build_index(path: Path, archives: list[Path], workers: int = 1) -> Path:
    """Ingest ``archives`` into a new store at ``path`` (one process by default) and rank it."""
    with Store(str(path)) as store:
        ingest([str(a) for a in archives], store=store, workers=workers)
        rank(store)
    return path


# --- the labelled spam profiles, as pages --------------------------------------------------------


def _html(title: str | None, body: str) -> str:
    head = f"<title>{title}</title>" if title is not None else ""
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"


def _nav(domain: str) -> str:
    return "<nav>" + "".join(f'<a href="https://{domain}/s{i}">Section {i}</a>' for i in range(4)) + "</nav>"


def spam_profiles(target: str) -> dict[str, dict[str, str]]:
    """Per labelled spam domain, its pages (URL → HTML) linking to ``target``: each profile is one
    of the unit tests' spam cases, with the page counts it has there."""
    t = f"https://{target}/"
    profiles: dict[str, dict[str, str]] = {
        # test_cli_quality: footer links from 12 pages with one commercial anchor
        "spam-4-you-123.xyz": {
            f"https://spam-4-you-123.xyz/p{i}": _html(
                f"Pills {i}",
                _nav("spam-4-you-123.xyz") + f'<p>Post {i}</p><footer><a href="{t}">cheap viagra</a></footer>',
            )
            for i in range(12)
        },
        # test_link_farm: 5 pages, 10 linked domains each (51 with the target)
        "farm.org": {
            f"https://farm.org/p{i}": _html(
                f"Links {i}",
                "".join(f'<a href="https://site{i * 10 + j}.net/">site {j}</a> ' for j in range(10))
                + f'<a href="{t}">Links</a>',
            )
            for i in range(5)
        },
        # test_thin_page: 10 pages, half with no title, no navigation and a link out
        "thin.org": {
            **{f"https://thin.org/p{i}": _html(None, f'<a href="{t}">here</a>') for i in range(5)},
            **{f"https://thin.org/a{i}": _html("Home", _nav("thin.org") + f'<a href="{t}">here</a>') for i in range(5)},
        },
        # test_sitewide: the target in the footer of 5 pages
        "footer.org": {
            f"https://footer.org/p{i}": _html(
                f"Post {i}", _nav("footer.org") + f'<footer><a href="{t}">Partner</a></footer>'
            )
            for i in range(5)
        },
        # test_identical_anchors: one anchor on 10 pages
        "pbn.org": {
            f"https://pbn.org/p{i}": _html(
                f"Article {i}", _nav("pbn.org") + f'<p>Read <a href="{t}">Best Boots</a></p>'
            )
            for i in range(10)
        },
        # test_links_come_worst_first: a spam TLD, and a commercial anchor in a comment
        "shop.xyz": {
            "https://shop.xyz/a": _html("Shop", _nav("shop.xyz") + f'<a href="{t}">Facebook</a>'),
            "https://shop.xyz/b": _html(
                "Shop blog", _nav("shop.xyz") + f'<div id="comments"><a href="{t}">buy cheap boots</a></div>'
            ),
        },
        # test_commercial_anchor: a money anchor
        "blog.org": {
            "https://blog.org/p": _html("Blog", _nav("blog.org") + f'<a href="{t}">Buy cheap viagra online</a>')
        },
        # test_score_domains: a spam TLD and a generated name
        "cheap-loans-4you.xyz": {
            "https://cheap-loans-4you.xyz/": _html(
                "Loans", _nav("cheap-loans-4you.xyz") + f'<a href="{t}">Facebook</a>'
            )
        },
    }
    return profiles


def write_warc(path: Path, pages: dict[str, str]) -> Path:
    with path.open("wb") as f:
        writer = WARCWriter(f, gzip=True)
        for url, html in pages.items():
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            record = writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(data := html.encode("utf-8")),
                length=len(data),
                http_headers=http,
                warc_headers_dict={"WARC-Date": "2024-06-01T00:00:00Z"},
            )
            writer.write_record(record)
    return path


def auc(positives: list[int], negatives: list[int]) -> float:
    """Area under the ROC curve: the chance that a positive scores above a negative (ties half)."""
    pairs = [1.0 if p > n else 0.5 if p == n else 0.0 for p in positives for n in negatives]
    return sum(pairs) / len(pairs)


def spam_separation(index: Path, tmp: Path) -> tuple[float, dict[str, int], list[int]]:
    """The AUC of the labelled spam domains against the real referring domains of the most-linked
    target, in a copy of ``index`` with the spam pages ingested and ranked again."""
    copy = tmp / "with-spam.duckdb"
    shutil.copyfile(index, copy)
    with Store(str(copy)) as store:
        (target,) = popular_targets(store, 1)
        profiles = spam_profiles(target)
        known = store.con.execute("SELECT count(*) FROM pages WHERE domain IN ?", [list(profiles)]).fetchone()
        assert known == (0,), "a labelled spam domain is already in the real pages"
        pages = {url: html for site in profiles.values() for url, html in site.items()}
        ingest([str(write_warc(tmp / "spam.warc.gz", pages))], store=store, workers=1)
        rank(store)
        rows = quality.toxic_domains(store, target)
    spam = {r["domain"]: r["toxicity"] for r in rows if r["domain"] in profiles}
    assert set(spam) == set(profiles), "every spam profile links to the target"
    real = [r["toxicity"] for r in rows if r["domain"] not in profiles]
    return auc(list(spam.values()), real), spam, real


# --- the checks ------------------------------------------------------------------------------------


def check_goal(census: Census) -> None:
    report = "\n".join(census_lines(census))
    assert len(census.targets) == 20 and all(t.refdomains for t in census.targets), report
    for t in census.targets:
        assert t.share < GOAL, f"{t.target}: {t.disavowed} of {t.refdomains} referring domains disavowed\n{report}"
    # The page-based signals judge how a site links; these are editorial sites, each seen on a few pages.
    assert not census.fired["link_farm"] and not census.fired["thin_page"], report


@pytest.fixture(scope="module")
def repo_index(repo_warc_ingested: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    # What build_index(path, [REPO_DATA / "warc"]) makes: the session's ingest of them, ranked.
    path = copy_db(repo_warc_ingested, tmp_path_factory.mktemp("real") / "repo.duckdb")
    with Store(str(path)) as store:
        rank(store)
    yield path


@pytest.fixture(scope="module")
def repo_census(repo_index: Path) -> Census:
    with Store(str(repo_index), read_only=True) as store:
        return signal_census(store, popular_targets(store, 20))


def test_few_real_referring_domains_of_popular_targets_reach_the_disavow_threshold(repo_census: Census) -> None:
    check_goal(repo_census)


def test_the_census_counts_every_signal(repo_census: Census) -> None:
    assert set(repo_census.fired) == {s.name for s in quality.SIGNALS}
    assert repo_census.fired["comment_section"], "real comment links are still comment links"
    lines = census_lines(repo_census)
    assert len(lines) == len(repo_census.targets) + len(quality.SIGNALS) + 3


def test_the_bench_prints_the_census_per_target_and_per_signal(repo_index: Path) -> None:
    bench = ROOT / "bench" / "bench_toxicity_real.py"
    proc = subprocess.run(
        [sys.executable, "-W", "error", str(bench), "--db", str(repo_index)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert "ranked already" in lines[0] and "(goal < 0.2%: met)" in lines[-1]
    for s in quality.SIGNALS:
        assert any(line.split()[:3] == [s.name, s.level, f"{s.weight:g}"] for line in lines), s.name


def test_a_share_button_under_every_comment_is_not_identical_anchors(repo_index: Path) -> None:
    """The case that put tichyseinblick.de in twitter.com's disavow file: one article with a "share
    this comment on Twitter" link under each comment, the same anchor many times on one page."""
    with Store(str(repo_index), read_only=True) as store:
        rows = {r["domain"]: r for r in quality.toxic_domains(store, "twitter.com", min_score=1)}
        (comments, pages) = store.con.execute(
            "SELECT count(*), count(DISTINCT source_url) FROM links WHERE source_domain = 'tichyseinblick.de'"
            " AND target_domain = 'twitter.com' AND section = 'comment' AND lost_at IS NULL"
        ).fetchone()
    assert comments >= 10 and pages == 1
    row = rows["tichyseinblick.de"]
    assert row["signals"] == ["comment_section"] and row["toxicity"] == 30
    assert row["reasons"] == f"comment_section ({comments} of {row['links']} links)"


def test_the_disavow_file_of_the_most_linked_target_lists_no_real_publisher(repo_index: Path) -> None:
    with Store(str(repo_index), read_only=True) as store:
        target = popular_targets(store, 1)[0]
        text = quality.disavow(store, target)
    assert "domain:" not in text, text


def test_the_labelled_spam_keeps_its_separation_from_real_referring_domains(repo_index: Path, tmp_path: Path) -> None:
    area, spam, real = spam_separation(repo_index, tmp_path)
    assert area >= MIN_AUC, (area, spam, sorted(real)[-10:])
    assert spam["spam-4-you-123.xyz"] >= quality.DISAVOW_MIN_SCORE  # the test_cli_quality case still goes
