"""Visits in the store and the traffic reports: real logs, read once however often, tied to backlinks,
and the same rows from the function, the CLI, the API and the CLI through a server."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO_DATA, shared_path
from fastapi.testclient import TestClient
from serverkit import Settings
from typer.testing import CliRunner

from linkback import reports, schema
from linkback.cli import app
from linkback.faces import FACES, load_all, plain
from linkback.store import Store
from linkback.traffic import read_visits, silent_backlinks, traffic, traffic_trend, visit_imports

LOGS = REPO_DATA / "access_logs"
REFERRALS = LOGS / "semicomplete-referrals.log"
SITE = "semicomplete.com"
TOKEN = "traffic-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

# Links in the index to semicomplete.com: one whose page sent visits, one whose site's origin did,
# one from a page that sent none.
LEARN = "http://logstash.net/docs/1.3.3/learn"
PUPPETCONF = "http://semicomplete.com/presentations/logstash-puppetconf-2012/"
LINKS = [
    (LEARN, "logstash.net", "logstash.net", PUPPETCONF),
    (LEARN, "logstash.net", "logstash.net", "http://semicomplete.com/projects/xdotool/"),  # no visit landed there
    (
        "http://www.completefusion.com/links/tools",
        "www.completefusion.com",
        "completefusion.com",
        "http://semicomplete.com/",
    ),
    ("http://quiet.example.org/post", "quiet.example.org", "example.org", "http://semicomplete.com/"),
]


def add_links(store: Store) -> None:
    for source, host, domain, target in LINKS:
        store.con.execute(
            "INSERT INTO links (source_url, source_host, source_domain, target_url, target_host, target_domain, "
            "target_rhost, anchor, rel, kind, section, internal, first_seen, last_seen) "
            "VALUES (?, ?, ?, ?, 'semicomplete.com', 'semicomplete.com', 'com.semicomplete', 'a', '', 'text', "
            "'content', false, TIMESTAMPTZ '2015-01-01 00:00:00+00', TIMESTAMPTZ '2015-05-01 00:00:00+00')",
            [source, host, domain, target],
        )


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("traffic") / "t.duckdb")
    with Store(path) as store:
        (result,) = read_visits(store, [REFERRALS], host=SITE, scheme="http")
        assert result.added == 90
        add_links(store)
    return path


# --------------------------------------------------------------------------- reading into the store


def test_a_real_log_read_again_adds_nothing(tmp_path: Path) -> None:
    copy = tmp_path / "access.log"
    shutil.copy(REFERRALS, copy)
    with Store(":memory:") as store:
        (first,) = read_visits(store, [REFERRALS], host=SITE, scheme="http")
        assert (first.status, first.lines, first.parsed, first.visits, first.added) == ("read", 400, 400, 90, 90)
        assert first.dropped == {"not_a_page": 254, "bot": 38, "navigation": 18}
        assert first.channels == {"Direct": 40, "Organic Search": 32, "Referral": 18}
        (again,) = read_visits(store, [REFERRALS], host=SITE, scheme="http")
        (renamed,) = read_visits(store, [copy], host=SITE, scheme="http")
        assert again.status == renamed.status == "already" and again.added == renamed.added == 0
        # Compressed (another fingerprint: read), or grown by new lines: only what is new is added.
        gz = tmp_path / "access.log.1.gz"
        gz.write_bytes(gzip.compress(REFERRALS.read_bytes()))
        (zipped,) = read_visits(store, [gz], host=SITE, scheme="http")
        assert (zipped.status, zipped.visits, zipped.added) == ("read", 90, 0)
        extra = REFERRALS.read_text().splitlines()[:3]
        grown = tmp_path / "grown.log"
        grown.write_text(
            REFERRALS.read_text()
            + extra[0].replace("19/May/2015", "21/May/2015").replace('"-"', '"https://www.bing.com/"', 1)
            + "\n"
        )
        (more,) = read_visits(store, [grown], host=SITE, scheme="http")
        assert (
            more.added <= 1 and store.con.execute("SELECT sum(visits) FROM visits").fetchall()[0][0] == 90 + more.added
        )
        assert store.con.execute("SELECT count(DISTINCT visit_key) FROM visits").fetchall()[0][0] == 90 + more.added


def test_a_gzip_cut_short_keeps_the_visits_before_the_cut(tmp_path: Path) -> None:
    data = gzip.compress(REFERRALS.read_bytes())
    cut = tmp_path / "access.log.2.gz"
    cut.write_bytes(data[: len(data) // 2])
    with Store(":memory:") as store:
        (r,) = read_visits(store, [cut], host=SITE, scheme="http")
    assert r.status == "partial" and r.error.startswith(f"truncated_stream: after line {r.lines}:")
    assert 0 < r.lines < 400 and 0 < r.added < 90


def test_identical_lines_in_one_second_are_two_visits(tmp_path: Path) -> None:
    line = ('192.0.2.1 - - [10/Oct/2023:13:55:36 +0000] "GET /p HTTP/1.1" 200 1 "https://a.example/" '
            '"Mozilla/5.0 (X11; Linux x86_64) Firefox/115.0"')  # fmt: skip
    p = tmp_path / "twice.log"
    p.write_text(f"{line}\n{line}\n")
    with Store(":memory:") as store:
        (r,) = read_visits(store, [p], host="example.com")
        assert r.added == 2
        p2 = tmp_path / "again.log"
        p2.write_text(f"{line}\n{line}\n{line}\n")
        (r2,) = read_visits(store, [p2], host="example.com")
        assert r2.added == 1  # the third one is new


def test_exports_into_visits(tmp_path: Path) -> None:
    from test_traffic_formats import GA4, PLAUSIBLE

    plausible = tmp_path / "imported_sources_20240301_20240303.csv"
    plausible.write_text(PLAUSIBLE)
    ga4 = tmp_path / "ga4.csv"
    ga4.write_text(GA4)
    with Store(":memory:") as store:
        results = read_visits(store, [plausible, ga4], host="example.com")
        assert [(r.format, r.visits, r.skipped) for r in results] == [("ga4", 4, 1), ("plausible", 4, 2)]
        rows = {(r["channel"], r["visits"]) for r in traffic(store, "example.com")}
        assert rows == {("Organic Search", 1234 + 25), ("Direct", 512 + 9), ("Organic Social", 41 + 4),
                        ("AI Assistants", 6), ("Email", 3)}  # fmt: skip
        by_domain = {r["source"]: r["domain"] for r in traffic(store, "example.com", by="source")}
        assert by_domain["stackoverflow.com"] == "stackoverflow.com"  # ties GA4's referral rows to refdomains
        assert [r.status for r in read_visits(store, [plausible, ga4], host="example.com")] == ["already"] * 2
        with pytest.raises(Exception, match="--host"):
            raise RuntimeError(read_visits(store, [plausible])[0].error)


def test_files_that_say_nothing_about_visits_fail_clearly(tmp_path: Path) -> None:
    iis = tmp_path / "u_ex.log"
    iis.write_text("#Fields: date time c-ip cs-method cs-uri-stem sc-status\n2024-01-02 03:04:05 1.2.3.4 GET / 200\n")
    nothing = tmp_path / "notes.log"
    nothing.write_text("hello\n")
    with Store(":memory:") as store:
        found = {Path(r.name).name: r for r in read_visits(store, [iis, nothing], host="example.com")}
    no_ref, notes = found["u_ex.log"], found["notes.log"]
    assert no_ref.status == "failed" and "cs(Referer)" in no_ref.error
    assert notes.status == "failed" and "not an access log" in notes.error
    with Store(":memory:") as store:
        (hostless,) = read_visits(store, [REFERRALS])  # combined lines name no host, and no --host
    assert hostless.added == 0 and "give --host" in hostless.error


def test_the_schema_step_adds_the_visit_tables(tmp_path: Path) -> None:
    path = str(tmp_path / "old.duckdb")
    with Store(path) as store:
        store.con.execute("DROP TABLE visits; DROP TABLE visit_imports; DROP SEQUENCE visit_import_id_seq")
        store.con.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    with Store(path) as store:
        assert store.schema_version == schema.SCHEMA_VERSION and schema.TABLES_SINCE[8] == ("visits", "visit_imports")
        (r,) = read_visits(store, [REFERRALS], host=SITE)
        assert r.added == 90


# --------------------------------------------------------------------------- reports


def test_traffic_by_channel_source_and_referrer(db: str) -> None:
    with Store(db, read_only=True) as store:
        channels = traffic(store, SITE)
        assert [(r["channel"], r["visits"]) for r in channels] == [
            ("Direct", 40),
            ("Organic Search", 32),
            ("Referral", 18),
        ]
        assert abs(sum(r["share"] for r in channels) - 1) < 1e-9
        sources = traffic(store, SITE, by="source", channel="Referral")
        assert sum(r["visits"] for r in sources) == 18 and all(r["channel"] == "Referral" for r in sources)
        assert {"source": "logstash.net", "domain": "logstash.net"}.items() <= next(
            r for r in sources if r["source"] == "logstash.net"
        ).items()
        pages = traffic(store, SITE, by="referrer", source="logstash.net")
        assert [(r["referrer"], r["visits"], r["backlinks"]) for r in pages] == [
            (LEARN, 2, 2),
            ("http://logstash.net/docs/1.1.0/tutorials/getting-started-simple", 1, 0),
        ]
        assert traffic(store, SITE, period="7d") == traffic(store, SITE)  # ends on the latest visit
        assert traffic(store, SITE, since="2015-05-20") == []
        assert traffic(store, "example.org") == []
        with pytest.raises(ValueError, match="channel"):
            traffic(store, SITE, channel="Organic search")


def test_traffic_trend(db: str) -> None:
    with Store(db, read_only=True) as store:
        rows = traffic_trend(store, SITE, limit=3)
        assert [(str(r["period"]), r["domain"], r["visits"]) for r in rows] == [
            ("2015-05-19", "google.com", 6),
            ("2015-05-19", "google.co.in", 5),
            ("2015-05-19", "google.co.uk", 4),
        ]
        referral = traffic_trend(store, SITE, channel="Referral", limit=1)
        assert [(r["domain"], r["visits"]) for r in referral] == [("completefusion.com", 3)]  # ties: by name
        months = traffic_trend(store, SITE, by="month", limit=None)
        assert sum(r["visits"] for r in months) == 50  # every visit with a referring domain
        assert str(months[0]["period"]) == "2015-05-01"


def test_backlinks_and_refdomains_carry_visits(db: str) -> None:
    with Store(db, read_only=True) as store:
        links = {(r["source_url"], r["target_url"]): r["visits"] for r in reports.backlinks(store, SITE)}
        assert links[(LEARN, PUPPETCONF)] == 2  # the page sent two visits to that target
        assert links[(LEARN, "http://semicomplete.com/projects/xdotool/")] == 0
        assert links[("http://quiet.example.org/post", "http://semicomplete.com/")] == 0
        domains = {r["domain"]: r["visits"] for r in reports.refdomains(store, SITE)}
        assert domains == {"logstash.net": 3, "completefusion.com": 3, "example.org": 0}


def test_silent_backlinks(db: str) -> None:
    with Store(db, read_only=True) as store:
        rows = silent_backlinks(store, SITE)
        # The learn page sent visits; completefusion.com's visits came with only its origin, so none
        # of its pages is called silent; quiet.example.org sent nothing.
        assert [(r["source_url"], r["last_visit"]) for r in rows] == [("http://quiet.example.org/post", None)]
        assert (str(rows[0]["since"]), str(rows[0]["until"])) == ("2015-02-19", "2015-05-19")
        later = silent_backlinks(store, SITE, until="2015-09-30")  # a window the visits are not in
        assert {r["source_url"] for r in later} == {s for s, *_ in LINKS}
        learn = next(r for r in later if r["target_url"] == PUPPETCONF)
        assert learn["last_visit"] == datetime(2015, 5, 19, 11, 5, 55, tzinfo=UTC)
        with pytest.raises(ValueError, match="no visits"):
            silent_backlinks(store, "example.org")


def test_visit_imports(db: str) -> None:
    with Store(db, read_only=True) as store:
        (row,) = visit_imports(store)
    assert (row["format"], row["lines"], row["visits"], row["added"], row["site"]) == ("combined", 400, 90, 90, SITE)
    assert json.loads(row["dropped"]) == {"not_a_page": 254, "bot": 38, "navigation": 18}


# --------------------------------------------------------------------------- three faces

CASES: list[tuple[list[str], str, dict[str, Any]]] = [
    (["traffic", SITE], "traffic", {"target": SITE}),
    (
        ["traffic", SITE, "--by", "referrer", "--channel", "Referral"],
        "traffic",
        {"target": SITE, "by": "referrer", "channel": "Referral"},
    ),  # fmt: skip
    (
        ["traffic-trend", SITE, "--by", "week", "--domains", "3"],
        "traffic_trend",
        {"target": SITE, "by": "week", "limit": 3},
    ),
    (["silent-backlinks", SITE], "silent_backlinks", {"target": SITE}),
    (["visit-imports"], "visit_imports", {}),
    (["backlinks", SITE], "backlinks", {"target": SITE}),
    (["refdomains", SITE], "refdomains", {"target": SITE}),
]


def cli_json(args: list[str], db: str) -> Any:
    result = CliRunner().invoke(app, [*args, "--format", "json", "--limit", "0", "--db", db], env={"COLUMNS": "200"})
    if result.exit_code == 2 and "--limit" in result.stderr:  # a command without --limit
        result = CliRunner().invoke(app, [*args, "--format", "json", "--db", db], env={"COLUMNS": "200"})
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return json.loads(result.stdout)


def test_function_cli_and_api_give_the_same_rows(db: str) -> None:
    from linkback.server import create_app

    load_all()
    with Store(db, read_only=True) as store:
        direct = [plain(FACES[name].fn(store, **params)) for _, name, params in CASES]
    for (args, _, _), want in zip(CASES, direct):
        assert want, args  # each case has rows
        assert cli_json(args, db) == want, args
    with TestClient(create_app(Settings(db=db, admin_token=TOKEN))) as client:
        for (args, name, params), want in zip(CASES, direct):
            resp = client.get(FACES[name].path, params=params, headers=AUTH)
            assert resp.status_code == 200, resp.text
            assert resp.json() == want, args


def test_visits_through_a_server_stores_what_the_file_gets(tmp_path: Path) -> None:
    """The actions the CLI calls per batch, through the API: the same visits as on the file."""
    from linkback.faces import RemoteStore
    from linkback.server import create_app

    alone = tmp_path / "alone.duckdb"
    with Store(alone) as store:
        local = read_visits(store, [REFERRALS], host=SITE)
        local_rows = store.con.execute("SELECT * EXCLUDE (import_id) FROM visits ORDER BY visit_key").fetchall()
    served = tmp_path / "served.duckdb"
    Store(served).close()
    with TestClient(create_app(Settings(db=str(served), admin_token=TOKEN))) as client:

        class Remote:
            def call(self, face: Any, params: dict[str, Any], progress: Any = None) -> Any:
                resp = client.post(face.path, json=plain(params), headers=AUTH)
                assert resp.status_code == 200, resp.text
                return resp.json()

        remote = read_visits(RemoteStore(Remote(), str(served)), [REFERRALS], host=SITE)
        again = read_visits(RemoteStore(Remote(), str(served)), [REFERRALS], host=SITE)
        bad = client.post(FACES["record_visits"].path, json={"import_id": 1, "rows": {"visit_key": [1]}}, headers=AUTH)
        assert bad.status_code == 400 and "column" in bad.json()["detail"]
    assert [(r.visits, r.added) for r in remote] == [(r.visits, r.added) for r in local] == [(90, 90)]
    assert again[0].status == "already"
    with Store(served, read_only=True) as store:
        assert store.con.execute("SELECT * EXCLUDE (import_id) FROM visits ORDER BY visit_key").fetchall() == local_rows


def test_cli_visits_and_hostile_referrers_in_a_table(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    agent = "Mozilla/5.0 (X11; Linux x86_64) Firefox/115.0"
    lines = [
        f'192.0.2.1 - - [10/Oct/2023:13:55:36 +0000] "GET /p HTTP/1.1" 200 1 "https://evil.example/\\x1b[2Jx" "{agent}"',
        f'192.0.2.1 - - [10/Oct/2023:13:55:37 +0000] "GET /p HTTP/1.1" 200 1 "https://x.example/\'; DROP TABLE visits;--" "{agent}"',
        "garbage",
    ]
    log.write_text("\n".join(lines) + "\n")
    db = str(tmp_path / "c.duckdb")
    # Wide: the table's file column holds the test's long tmp path, which would squeeze the rest.
    run = CliRunner().invoke(app, ["visits", str(log), "--host", "example.com", "--db", db], env={"COLUMNS": "300"})
    assert run.exit_code == 0, run.stderr
    assert "2 new visits" in run.stdout and "line 3: malformed" in run.stdout
    table = CliRunner().invoke(app, ["traffic", "example.com", "--by", "referrer", "--wide", "--db", db])
    assert table.exit_code == 0 and "\x1b" not in table.stdout and "evil.example" in table.stdout
    with Store(db, read_only=True) as store:
        assert store.con.execute("SELECT count(*) FROM visits").fetchall()[0][0] == 2
    missing = CliRunner().invoke(app, ["visits", str(tmp_path / "nope.log"), "--db", db])
    assert missing.exit_code == 2 and "does not exist" in missing.stderr


# --------------------------------------------------------------------------- ../shared


@pytest.mark.shared
def test_shared_semicomplete_log() -> None:
    path = shared_path("08_access_logs", "elastic-examples-apache", "apache_logs")
    stats = json.loads(shared_path("08_access_logs", "stats.json").read_text())["elastic-examples-apache"]
    with Store(":memory:") as store:
        (r,) = read_visits(store, [path], host=SITE, scheme="http")
        assert (r.lines, r.parsed) == (stats["lines"], stats["parsed_combined"])
        assert r.errors[0]["line"] == 8899 and r.errors[0]["reason"].startswith("malformed")
        assert r.visits == r.added == sum(r.channels.values())
        assert r.parsed == r.visits + sum(r.dropped.values())
        sources = {row["source"]: row for row in traffic(store, SITE, by="source", limit=None)}
        # Every Google country site is one source; stackoverflow.com is social by Matomo's list.
        assert sources["Google"]["channel"] == "Organic Search" and sources["Google"]["visits"] > 300
        assert sources["StackOverflow"]["channel"] == "Organic Social"
        assert sources["logstash.net"]["channel"] == "Referral"
        assert not any(s.endswith("semicomplete.com") for s in sources)
        (again,) = read_visits(store, [path], host=SITE, scheme="http")
        assert again.status == "already"


@pytest.mark.shared
def test_shared_basjes_log_is_navigation_for_its_own_site() -> None:
    path = shared_path("08_access_logs", "logparser-demolog", "hackers-access.log")
    with Store(":memory:") as store:
        (r,) = read_visits(store, [path], host="basjes.nl")
        sources = {row["source"] for row in traffic(store, "basjes.nl", by="source", limit=None)}
    # Its Referers are forged to look same-site: moves inside basjes.nl are navigation, and the
    # rest name the author's other domain, basj.es.
    assert r.parsed == 3456 and r.dropped.get("navigation", 0) > 2000
    assert set(r.channels) <= {"Direct", "Referral"}
    assert all(s == "(direct)" or s.endswith("basj.es") for s in sources)
