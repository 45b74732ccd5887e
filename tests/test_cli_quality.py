"""The authority and quality commands end to end through the CLI: rank, dr, toxic, disavow, lists,
profile, export domains, and the ranks the index reports show once a run exists (issue #3)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from linkrows import insert, link
from typer.testing import CliRunner

from linkback import quality, reports, schema
from linkback.cli import app
from linkback.errors import SchemaTooOld
from linkback.store import Store

runner = CliRunner()

# hub.org is well linked; spam-4-you-123.xyz links to shop.com from the footer of many pages with
# one commercial anchor, and shop.com links back.
LINKS = [
    *(link(f"https://blog{i}.com/post", "https://hub.org/", anchor="Hub") for i in range(6)),
    link("https://hub.org/", "https://shop.com/", anchor="shop"),
    link("https://blog0.com/post", "https://shop.com/", anchor="click here"),
    link("https://blog1.com/post", "https://shop.com/products", anchor="https://shop.com/products"),
    *(
        link(f"https://spam-4-you-123.xyz/p{i}", "https://shop.com/", anchor="cheap viagra", section="footer")
        for i in range(12)
    ),
    link("https://shop.com/", "https://spam-4-you-123.xyz/", anchor="partner"),
    link("https://hub.org/n", "https://shop.com/", anchor="shop", nofollow=True),
]


def run(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def ok(*args: str) -> str:
    result = run(*args)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result.stdout


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "q.duckdb")
    with Store(path) as store:
        insert(store, "links", sorted(LINKS, key=lambda r: r["target_rhost"]))
    return path


def ranked(db: str) -> str:
    ok("rank", "--db", db, "--quiet", "--format", "json")
    return db


def test_rank_prints_a_summary_and_stores_a_run(db: str) -> None:
    summary = json.loads(ok("rank", "--db", db, "--format", "json", "--quiet"))
    assert summary["run_id"] == 1 and summary["domains"] == 9 and summary["params"]["damping"] == 0.85
    table = ok("rank", "--db", db)
    assert "Rank run 2" in table and "domains (Domain Rating)" in table
    history = json.loads(ok("dr", "hub.org", "--db", db, "--format", "json"))
    assert [r["run_id"] for r in history] == [2, 1]
    assert history[0]["refdomains"] == 6 and history[0]["dr"] > 0 and history[0]["as_of"].endswith("Z")


def test_reports_show_ranks_once_a_run_exists(db: str) -> None:
    before = json.loads(ok("refdomains", "shop.com", "--db", db, "--format", "json"))
    assert all(r["dr"] is None for r in before)
    ranked(db)
    rows = json.loads(ok("refdomains", "shop.com", "--db", db, "--format", "json", "--sort", "dr"))
    assert [r["dr"] for r in rows] == sorted((r["dr"] for r in rows), reverse=True) and rows[0]["dr"] > 0
    hub = next(r for r in rows if r["domain"] == "hub.org")
    high = json.loads(ok("refdomains", "shop.com", "--db", db, "--format", "json", "--min-dr", str(hub["dr"])))
    assert {r["domain"] for r in high} == {r["domain"] for r in rows if r["dr"] >= hub["dr"]} and len(high) < len(rows)
    overview = json.loads(ok("overview", "shop.com", "--db", db, "--format", "json"))
    assert overview["dr"] > 0 and overview["ranked_at"].endswith("Z")
    bands = {k: v for k, v in overview.items() if k.startswith("refdomains_dr_")}
    assert len(bands) == 10 and sum(bands.values()) == overview["referring_domains"]
    links = json.loads(ok("backlinks", "shop.com", "--db", db, "--format", "json", "--from", "hub.org"))
    assert links[0]["source_dr"] == hub["dr"] and links[0]["source_ur"] > 0
    pages = json.loads(ok("pages", "hub.org", "--db", db, "--format", "json"))
    assert pages[0]["ur"] > 0
    anchors = {r["anchor"]: r["anchor_class"] for r in json.loads(ok("anchors", "shop.com", "--db", db, "-f", "json"))}
    assert anchors["shop"] == "branded" and anchors["click here"] == "generic"
    assert anchors["https://shop.com/products"] == "naked_url"


def test_toxic_lists_the_worst_first_with_reasons(db: str) -> None:
    assert run("toxic", "shop.com", "--db", db).exit_code == 2  # no rank run yet: a clear error
    ranked(db)
    rows = json.loads(ok("toxic", "shop.com", "--db", db, "--format", "json"))
    worst = rows[0]
    assert worst["domain"] == "spam-4-you-123.xyz" and worst["toxicity"] >= 50
    assert {"spam_tld", "commercial_anchor", "sitewide"} <= set(worst["signals"].split())
    assert rows[-1]["toxicity"] <= worst["toxicity"]
    per_link = json.loads(ok("toxic", "shop.com", "--db", db, "--links", "--format", "json", "--min-score", "50"))
    assert per_link and {r["source_url"].split("/")[2] for r in per_link} == {"spam-4-you-123.xyz"}


def test_allow_and_deny_override_and_feed_the_disavow_file(db: str, tmp_path: Path) -> None:
    ranked(db)
    ok("deny", "blog3.com", "--db", db, "--note", "bought links")
    ok("allow", "spam-4-you-123.xyz", "--db", db)
    entries = json.loads(ok("lists", "--db", db, "--format", "json"))
    assert [(e["list"], e["entry"], e["kind"]) for e in entries] == [
        ("deny", "blog3.com", "domain"),
        ("allow", "spam-4-you-123.xyz", "domain"),
    ]
    rows = {r["domain"]: r for r in json.loads(ok("toxic", "shop.com", "--db", db, "--format", "json"))}
    assert rows["spam-4-you-123.xyz"]["toxicity"] == 0 and rows["spam-4-you-123.xyz"]["signals"] == "allowed"
    text = ok("disavow", "shop.com", "--db", db)
    assert "domain:blog3.com" in text and "spam-4-you-123.xyz" not in text
    path = tmp_path / "disavow.txt"
    path.write_text(text, encoding="utf-8")
    assert ok("disavow", "--check", str(path)).strip().endswith("0 error(s), 0 warning(s)")
    ok("allow", "spam-4-you-123.xyz", "--db", db, "--remove")
    text = ok("disavow", "shop.com", "--db", db, "--min-score", "50")
    assert "domain:spam-4-you-123.xyz" in text


def test_disavow_check_names_the_line_and_the_rule(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("# ok\ndomain:good.example\ndomain:http://bad.example/\nnot a url\n", encoding="utf-8")
    result = run("disavow", "--check", str(path))
    assert result.exit_code == 1
    assert f"{path}:3: error bad-domain" in result.stdout and f"{path}:4: error" in result.stdout
    assert run("disavow").exit_code == 2  # neither TARGET nor --check


def test_profile_sets_the_terms_the_anchor_classes_use(db: str) -> None:
    shown = json.loads(ok("profile", "shop.com", "--db", db, "--format", "json"))
    assert shown == {"site": "shop.com", "brands": [], "keywords": []}
    ok("profile", "shop.com", "--db", db, "--brand", "Shop Inc", "--keyword", "cheap viagra")
    anchors = {r["anchor"]: r["anchor_class"] for r in json.loads(ok("anchors", "shop.com", "--db", db, "-f", "json"))}
    assert anchors["cheap viagra"] == "exact_match"
    assert run("profile", "not a host", "--db", db).exit_code == 2


def test_export_domains_has_every_domain_with_its_ranks(db: str) -> None:
    ranked(db)
    out = ok("export", "domains", "--db", db, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 9 and list(rows[0]) == reports.EXPORT_SOURCES["domains"][0].names
    assert rows[0]["domain"] == "shop.com"  # highest DR first: every other domain links to it
    assert {"dr", "raw_rank", "trust", "toxicity", "refdomains", "backlinks"} <= set(rows[0])
    pages = [json.loads(line) for line in ok("export", "pages", "--db", db).splitlines()]
    assert pages == []  # no pages table rows in this store: links only


def test_a_version_1_store_is_migrated_to_the_rank_tables(tmp_path: Path) -> None:
    path = str(tmp_path / "v1.duckdb")
    with Store(path) as store:
        for name in schema.TABLES_SINCE[2]:
            store.con.execute(f"DROP TABLE {name}")
        store.con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    with Store(path) as store:
        assert store.schema_version == schema.SCHEMA_VERSION
        assert store.con.execute("SELECT count(*) FROM domain_ranks").fetchall()[0][0] == 0


def test_lists_reject_what_is_not_a_domain_host_or_url(db: str) -> None:
    with Store(db) as store:
        with pytest.raises(ValueError):
            quality.add_to_list(store, "deny", ["not a domain"])
        with pytest.raises(ValueError):
            quality.add_to_list(store, "maybe", ["a.com"])
        assert quality.add_to_list(store, "deny", ["domain:Spam.Example", "HTTPS://x.example/a#f"]) == [
            "spam.example",
            "https://x.example/a",
        ]


def test_a_report_on_a_version_1_store_migrates_it_first(db: str) -> None:
    with Store(db) as store:
        for name in schema.TABLES_SINCE[2]:
            store.con.execute(f"DROP TABLE {name}")
        store.con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    with pytest.raises(SchemaTooOld):
        Store(db, read_only=True)
    rows = json.loads(ok("refdomains", "shop.com", "--db", db, "--format", "json"))
    assert rows and all(r["dr"] is None for r in rows)
    with Store(db, read_only=True) as store:
        assert store.schema_version == schema.SCHEMA_VERSION
