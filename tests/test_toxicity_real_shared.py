"""The checks of tests/test_toxicity_real.py on all the real pages: ../shared/data/02_warc, the
1,169 pages of news and blog articles (and the small real archives the repo's tests/data/warc
copies), where it is present; skipped, saying why, where it is absent. This is the index in which
a user found five ordinary publishers in ``linkback disavow facebook.com`` (rosalux.de,
realsimple.com, mindmegette.hu, ejwue.de, telemedicus.info: ``link_farm`` on one crawled page
each) and ``thin_page`` on creativecommons.org (its images and robots.txt counted as pages).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import shared_path
from test_toxicity_real import MIN_AUC, build_index, check_goal, spam_separation

from linkback import quality
from linkback.quality._census import Census, popular_targets, signal_census
from linkback.store import Store

pytestmark = pytest.mark.shared

# The publishers the user found in the disavow file of facebook.com.
REPORTED = ("rosalux.de", "realsimple.com", "mindmegette.hu", "ejwue.de", "telemedicus.info")


@pytest.fixture(scope="module")
def shared_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The repo's tests/data/warc holds copies (and a tenth of the real pages) of these archives:
    # ingesting them too would add nothing but time. Two workers: the pool's path, whose counts
    # test_every_real_archive_ingests_with_counted_skips checks.
    warcs = shared_path("02_warc")
    return build_index(tmp_path_factory.mktemp("real") / "shared.duckdb", [warcs], workers=2)


def test_every_real_archive_ingests_with_counted_skips(shared_index: Path) -> None:
    with Store(str(shared_index), read_only=True) as store:
        rows = store.con.execute("SELECT path, completed_at, pages, links, skipped FROM archives").fetchall()
    by_name = {
        Path(path).name: (done, pages, links, json.loads(skipped or "{}")) for path, done, pages, links, skipped in rows
    }
    assert all(done is not None for done, *_ in by_name.values()), by_name
    assert by_name["real-pages-1169.warc.gz"][1] == 1169
    assert by_name["example.warc.gz"][1] == 261
    assert by_name["clipped.warc.gz"][3]["record/truncated_gzip"] == 1
    assert by_name["clueweb-quirk.warc.gz"][1] == 29
    assert sum(links for _, _, links, _ in by_name.values()) > 150_000


@pytest.fixture(scope="module")
def shared_census(shared_index: Path) -> Census:
    with Store(str(shared_index), read_only=True) as store:
        return signal_census(store, popular_targets(store, 20))


def test_few_real_referring_domains_of_popular_targets_reach_the_disavow_threshold(shared_census: Census) -> None:
    check_goal(shared_census)
    assert shared_census.refdomains > 500  # the 1,169 pages are there


def test_the_disavow_file_the_user_wrote_lists_no_publisher(shared_index: Path) -> None:
    with Store(str(shared_index), read_only=True) as store:
        text = quality.disavow(store, "facebook.com")
        rows = {r["domain"]: r for r in quality.toxic_domains(store, "facebook.com")}
        pages = dict(
            store.con.execute(
                "SELECT domain, count(*) FROM pages WHERE domain IN ? AND status BETWEEN 200 AND 299 GROUP BY domain",
                [list(REPORTED)],
            ).fetchall()
        )
    assert "domain:" not in text, text
    for domain in REPORTED:
        assert pages[domain] <= 2, (domain, pages[domain])  # seen on one or two pages: too little to judge
        assert "link_farm" not in rows[domain]["signals"], rows[domain]


def test_creativecommons_org_is_not_thin_for_its_images(shared_index: Path) -> None:
    with Store(str(shared_index), read_only=True) as store:
        (signals,) = store.con.execute(
            "SELECT signals FROM domain_ranks WHERE domain = 'creativecommons.org'"
            " AND run_id = (SELECT max(run_id) FROM rank_runs)"
        ).fetchone()
        (untitled,) = store.con.execute(
            "SELECT count(*) FROM pages WHERE domain = 'creativecommons.org' AND coalesce(title, '') = ''"
        ).fetchone()
    assert untitled >= 3 and "thin_page" not in signals.split()


def test_the_labelled_spam_keeps_its_separation_from_real_referring_domains(shared_index: Path, tmp_path: Path) -> None:
    area, spam, real = spam_separation(shared_index, tmp_path)
    assert area >= MIN_AUC, (area, spam, sorted(real)[-10:])
