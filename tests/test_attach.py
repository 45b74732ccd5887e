"""``linkback attach DIR``: the reports answer from a Parquet index in place as from the DuckDB file.

The index is written without Spark, by ``linkback export --parquet`` (DuckDB's COPY, in the
layout and types ``spark extract`` writes; tests/test_spark.py checks Spark's files equal
ingest's rows, and runs spark extract → attach once). The store is ingested from the bundled
real WARC files (tests/data/warc).
"""

from __future__ import annotations

import inspect
import json
import math
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
from conftest import REPO_DATA
from typer.testing import CliRunner

from linkback import schema
from linkback.cli import app
from linkback.errors import LinkbackError
from linkback.faces import FACES, load_all
from linkback.graph._from_store import drop_temp_tables, edge_graphs, site_graphs
from linkback.ingest import ingest, record_pages
from linkback.quality import set_profile
from linkback.rank import rank
from linkback.records import FetchedPage
from linkback.spark import _layout
from linkback.store import Store
from linkback.store._attach import (
    ParquetIndexError,
    ParquetIndexReadOnly,
    attach,
    has_edges,
)

WARC = REPO_DATA / "warc"
INPUTS = [WARC / "real-pages", WARC / "jwarc", WARC / "resiliparse" / "warcfile.warc.gz"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the DuckDB file, the Parquet directory written from it), neither ranked."""
    tmp = tmp_path_factory.mktemp("attach")
    db = tmp / "ingest.duckdb"
    with Store(db) as store:
        ingest([str(p) for p in INPUTS], store=store, workers=1)
    result = CliRunner().invoke(app, ["export", "--parquet", str(tmp / "index"), "--db", str(db)])
    assert result.exit_code == 0, result.output
    return db, tmp / "index"


@pytest.fixture(scope="module")
def ranked(built: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, Store]:
    """The DuckDB store and a copy of the index attached, both ranked once."""
    db, index = built
    tmp = tmp_path_factory.mktemp("ranked")
    shutil.copytree(index, tmp / "index")
    shutil.copyfile(db, tmp / "ingest.duckdb")
    file_store, attached = Store(tmp / "ingest.duckdb"), Store(tmp / "index")
    for store in (file_store, attached):
        rank(store)
    # The reports say when the ranks were made: the attached run gets the other's times.
    times = file_store.con.execute("SELECT started_at, completed_at FROM rank_runs").fetchall()[0]
    attached.con.execute("UPDATE rank_runs SET started_at = ?, completed_at = ?", list(times))
    yield file_store, attached
    file_store.close()
    attached.close()


def _domain_with_most_outlinks(store: Store) -> str:
    return store.con.execute(
        "SELECT source_domain FROM links WHERE NOT internal GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    ).fetchall()[0][0]


def _most_linked(store: Store) -> list[str]:
    """The two domains with the most referring domains."""
    sql = (
        "SELECT target_domain FROM links WHERE NOT internal GROUP BY 1 "
        "ORDER BY count(DISTINCT source_domain) DESC, 1 LIMIT 2"
    )
    return [r[0] for r in store.con.execute(sql).fetchall()]


def _calls(store: Store) -> list[tuple[str, dict[str, Any]]]:
    """Each report that takes a target, with targets from the data, and a few option variants."""
    top = _most_linked(store)
    values = {"target": top[0], "domain": top[0], "site": top[0], "targets": top}
    calls = []
    for name, face in sorted(load_all().items()):
        if face.kind != "report":
            continue
        required = [
            p.name
            for p in face.parameters()
            if p.default is inspect.Parameter.empty and p.kind is not inspect.Parameter.VAR_KEYWORD
        ]
        if required and all(r in values for r in required):
            calls.append((name, {r: values[r] for r in required}))
    source = _domain_with_most_outlinks(store)
    calls += [
        ("backlinks", {"target": top[0], "include_lost": True, "sort": "source_domain"}),
        ("backlinks", {"target": top[1], "follow": True, "kind": ["text"]}),
        ("overview", {"target": source, "internal": True}),
        ("pages", {"domain": source}),
        ("linked_domains", {"domain": source, "sort": "dr"}),
        ("refdomains", {"target": top[1], "sort": "dr"}),
        ("domains", {"by": "host", "sort": "backlinks"}),
        ("intersect", {"targets": top, "min_targets": 1, "pages": True}),
    ]
    return calls


def test_every_report_that_takes_a_target_answers_the_same_from_the_attached_index(
    ranked: tuple[Store, Store],
) -> None:
    file_store, attached = ranked
    calls = _calls(file_store)
    names = {name for name, _ in calls}
    assert {"backlinks", "refdomains", "anchors", "overview", "history", "compare", "toxic_domains"} <= names
    nonempty = 0
    for name, params in calls:
        expected = _answer(name, file_store, params)
        assert _answer(name, attached, params) == expected, (name, params)
        nonempty += bool(expected[1])
    assert nonempty >= len(calls) - 8  # the data answers most of them (traffic, claims... have none here)


def _answer(name: str, store: Store, params: dict[str, Any]) -> tuple[str, Any]:
    """A report's rows, or the error it gives (the same error from both is the same answer)."""
    try:
        return "rows", _rounded(FACES[name].fn(store, **params))
    except (LinkbackError, ValueError) as exc:
        return type(exc).__name__, str(exc)


class _Near(float):
    """A float equal to any within a millionth of it: PageRank sums in the order of its node
    numbers, which the two builds of the graphs number differently. The last bits of a rating
    differ, and for the smallest (5e-8, hosts nothing links to) the eighth digit does."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, float) and math.isclose(self, other, rel_tol=1e-6, abs_tol=1e-12)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = float.__hash__


def _rounded(value: Any) -> Any:
    """``value`` with each float a :class:`_Near` (in dicts, lists and tuples)."""
    if isinstance(value, float):
        return _Near(value)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_rounded(v) for v in value)
    return value


def test_rank_of_the_aggregated_edges_equals_rank_of_the_links(ranked: tuple[Store, Store]) -> None:
    file_store, attached = ranked
    runs = "SELECT pages, page_edges, hosts, host_edges, domains, domain_edges FROM rank_runs"
    assert attached.con.execute(runs).fetchall() == file_store.con.execute(runs).fetchall()
    for table, key in (("domain_ranks", "domain"), ("host_ranks", "host"), ("page_ranks", "url_hash")):
        sql = f"SELECT * EXCLUDE (run_id) FROM {table} ORDER BY {key}" if table == "domain_ranks" else (
            f"SELECT * FROM {table} ORDER BY {key}")  # fmt: skip
        want, got = file_store.con.execute(sql).fetchall(), attached.con.execute(sql).fetchall()
        assert len(got) == len(want) > 10, table
        assert _rounded(got) == _rounded(want), table


def _labelled_edges(graph: Any) -> set[tuple[Any, Any]]:
    src, dst = graph.graph.edges()
    labels = graph.labels.to_pylist()
    return {(labels[s], labels[d]) for s, d in zip(src.tolist(), dst.tolist(), strict=True)}


def test_the_aggregated_edges_are_the_graphs_rank_builds_from_the_links(ranked: tuple[Store, Store]) -> None:
    _, attached = ranked
    con = attached.con
    assert has_edges(con)
    from_edges = edge_graphs(con)
    drop_temp_tables(con)
    from_links = site_graphs(con)
    drop_temp_tables(con)
    (ed, ec, eh, ehd, ep), (ld, lc, lh, lhd, lp) = from_edges, from_links
    assert _labelled_edges(ed) == _labelled_edges(ld) and ed.graph.m > 100
    assert _labelled_edges(eh) == _labelled_edges(lh) and eh.graph.m > 100
    assert sorted(ed.labels.to_pylist()) == sorted(ld.labels.to_pylist())
    assert dict(zip(eh.labels.to_pylist(), ehd.to_pylist())) == dict(zip(lh.labels.to_pylist(), lhd.to_pylist()))
    for field in ("refdomains", "dofollow_refdomains", "backlinks", "linked_domains"):
        by_e = dict(zip(ed.labels.to_pylist(), getattr(ec, field).tolist()))
        by_l = dict(zip(ld.labels.to_pylist(), getattr(lc, field).tolist()))
        assert by_e == by_l, field
    pe, pl = ep.graph(), lp.graph()
    assert _labelled_edges(pe) == _labelled_edges(pl) and pe.graph.m > 100
    assert not has_edges(Store(":memory:").con)


def test_writes_to_the_parquet_tables_are_refused_and_owned_tables_are_written(
    ranked: tuple[Store, Store], tmp_path: Path
) -> None:
    _, attached = ranked
    counts = "SELECT (SELECT count(*) FROM observations), (SELECT count(*) FROM links)"
    before = attached.con.execute(counts).fetchall()
    index = str(Path(attached.path).parent)
    with pytest.raises(ParquetIndexReadOnly, match="read-only Parquet index made by spark extract; ingest into a"):
        ingest([str(WARC / "ia-web-commons" / "link-extraction-test.warc")], store=attached, workers=1)
    page = FetchedPage("https://new.example/", 200, (), b"<a href='https://x.y/'>x</a>", datetime.now(UTC))
    with pytest.raises(ParquetIndexReadOnly, match=index):
        record_pages(attached, [page], origin="webmention")
    assert attached.con.execute(counts).fetchall() == before
    set_profile(attached, "example.com", brands=["Example"])  # the catalog's own tables take writes
    assert attached.con.execute("SELECT brands FROM site_profiles").fetchall() == [("Example",)]
    attached.con.execute("DELETE FROM site_profiles")
    # The command line: one red line, nothing written.
    result = CliRunner().invoke(app, ["ingest", str(WARC / "warcio"), "--db", index, "-q"])
    assert result.exit_code != 0 and "read-only Parquet index" in result.output, result.output


def test_the_command_line_attaches_and_answers_from_the_directory(built: tuple[Path, Path], tmp_path: Path) -> None:
    db, index = built
    copy = tmp_path / "index"
    shutil.copytree(index, copy)
    runner = CliRunner()
    elsewhere = tmp_path / "catalog.duckdb"
    result = runner.invoke(app, ["attach", str(copy), "--db", str(elsewhere), "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    with Store(db, read_only=True) as store:
        links = store.con.execute("SELECT count(*) FROM links").fetchall()[0][0]
        target = _most_linked(store)[0]
    assert summary["rows"]["links"] == links and summary["catalog"] == str(elsewhere)
    assert not (copy / "linkback.duckdb").exists()  # --db named the catalog
    args = ["refdomains", target, "--format", "json"]
    want = runner.invoke(app, [*args, "--db", str(db)])
    for where in (copy, elsewhere):
        got = runner.invoke(app, [*args, "--db", str(where)])
        assert got.exit_code == 0 and got.stdout == want.stdout and len(json.loads(got.stdout)) > 10, got.output
    assert (copy / "linkback.duckdb").exists()  # --db DIR made the default catalog on first use
    exported = [runner.invoke(app, ["export", "links", "--db", str(where)]) for where in (db, copy)]
    lines = [sorted(e.stdout.splitlines()) for e in exported]  # in the order each stores them
    assert lines[0] == lines[1] and len(lines[0]) == links
    assert runner.invoke(app, ["attach", str(tmp_path)]).exit_code == 2  # no manifest: see below
    mistaken = runner.invoke(app, ["attach", str(copy), "--db", str(db)])  # a store, not a catalog
    assert mistaken.exit_code == 2 and "is a linkback store with pages of its own" in mistaken.output
    with Store(db, read_only=True) as store:
        assert store.con.execute("SELECT count(*) FROM links").fetchall()[0][0] == links


def test_a_new_manifest_or_an_older_catalog_makes_the_views_again(built: tuple[Path, Path], tmp_path: Path) -> None:
    _, index = built
    copy = tmp_path / "index"
    shutil.copytree(index, copy)
    with Store(copy) as store:
        store.con.execute("INSERT INTO quality_lists VALUES ('deny', 'kept.example', 'mine', now())")
        catalog = store.path
    manifest = json.loads((copy / _layout.MANIFEST).read_text())
    (copy / "links" / "part-00000.parquet").rename(copy / "links" / "part-00001.parquet")
    manifest["completed_at"] = "2030-01-01T00:00:00+00:00"  # another run into the same directory
    (copy / _layout.MANIFEST).write_text(json.dumps(manifest))
    with Store(copy) as store:
        assert store.con.execute("SELECT count(*) FROM links").fetchall()[0][0] > 1000
        assert attach(store)["completed_at"] == "2030-01-01T00:00:00+00:00"
    con = duckdb.connect(catalog)  # as a catalog made by the linkback before the newest migration
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(schema.SCHEMA_VERSION - 1)])
    con.close()
    with Store(copy, read_only=True) as store:
        assert store.schema_version == schema.SCHEMA_VERSION
        assert store.con.execute("SELECT count(*) FROM pages").fetchall()[0][0] > 100
        assert store.con.execute("SELECT entry FROM quality_lists").fetchall() == [("kept.example",)]


def _broken_copy(index: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(index, copy)
    return copy


def _rewrite(file: Path, select: str) -> None:
    con = duckdb.connect()
    part = file.with_name("new.tmp")
    con.execute(f"COPY (SELECT {select} FROM read_parquet('{file}')) TO '{part}' (FORMAT parquet)")
    part.replace(file)


@pytest.mark.parametrize(
    "breakage, message",
    [
        ("no manifest", r"index: no _linkback.json: not a complete 'linkback spark extract' output"),
        ("foreign manifest", r"_linkback.json: format is 'something-else', not 'linkback-parquet'"),
        ("newer format", r"_linkback.json: format_version 2; this linkback reads 1"),
        ("not json", r"_linkback.json: not JSON"),
        ("a type", r"links/part-00000.parquet: not the schema's links: lost_at is VARCHAR \(schema: TIMESTAMP WITH"),
        ("a column", r"pages/part-00000.parquet: not the schema's pages: missing observations"),
        ("no files", r"archives: no part-\*.parquet files for table archives"),
    ],
)
def test_a_directory_that_is_not_a_complete_index_is_refused_saying_where(
    built: tuple[Path, Path], tmp_path: Path, breakage: str, message: str
) -> None:
    copy = _broken_copy(built[1], tmp_path)
    manifest = copy / _layout.MANIFEST
    doc = json.loads(manifest.read_text())
    if breakage == "no manifest":
        manifest.unlink()
    elif breakage == "foreign manifest":
        manifest.write_text(json.dumps({**doc, "format": "something-else"}))
    elif breakage == "newer format":
        manifest.write_text(json.dumps({**doc, "format_version": 2}))
    elif breakage == "not json":
        manifest.write_text("{")
    elif breakage == "a type":
        _rewrite(copy / "links" / "part-00000.parquet", "* REPLACE (CAST(lost_at AS VARCHAR) AS lost_at)")
    elif breakage == "a column":
        _rewrite(copy / "pages" / "part-00000.parquet", "* EXCLUDE (observations)")
    else:
        (copy / "archives" / "part-00000.parquet").unlink()
    with pytest.raises(ParquetIndexError, match=message):
        Store(copy)
    assert not (copy / "linkback.duckdb").exists() or breakage in ("a type", "a column", "no files")
    result = CliRunner().invoke(app, ["backlinks", "example.com", "--db", str(copy)])
    assert result.exit_code == 2 and "error:" in result.output


def test_export_parquet_writes_the_layout_spark_writes(built: tuple[Path, Path]) -> None:
    _, index = built
    doc = json.loads((index / _layout.MANIFEST).read_text())
    con = duckdb.connect()
    for table, (arrow_schema, keys) in _layout.TABLES.items():
        file = index / table / "part-00000.parquet"
        meta = con.execute(
            f"SELECT name, logical_type, type FROM parquet_schema('{file}') WHERE name <> 'duckdb_schema'"
        ).fetchall()
        assert [m[0] for m in meta] == arrow_schema.names, table
        codecs = {r[0] for r in con.execute(f"SELECT compression FROM parquet_metadata('{file}')").fetchall()}
        assert codecs == {"ZSTD"}, table
        for name, logical, _type in meta:
            if arrow_schema.field(name).type == schema.TABLES["links"].field("first_seen").type:
                assert "isAdjustedToUTC=1" in logical and "MICROS" in logical, (table, name, logical)
        key = ", ".join(keys)
        rows = con.execute(f"SELECT {key} FROM read_parquet('{file}')").fetchall()
        assert rows == sorted(rows, key=lambda r: tuple((v is None, v) for v in r)), table
        assert doc["tables"][table]["rows"] == len(rows)
    assert np.all([f["status"] == "ingested" for f in doc["files"]]) and len(doc["files"]) == 3
    result = CliRunner().invoke(app, ["export", "--parquet", str(index), "--db", str(built[0])])
    assert result.exit_code == 2 and "already exists and is not empty" in result.output


def test_a_server_on_the_directory_answers_from_it_and_attaches_again(built: tuple[Path, Path], tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from linkback.server import Settings, create_app

    db, index = built
    copy = tmp_path / "index"
    shutil.copytree(index, copy)
    shutil.copyfile(db, tmp_path / "ingest.duckdb")
    with Store(tmp_path / "ingest.duckdb", read_only=True) as store:
        target = _most_linked(store)[0]
        want = FACES["overview"].fn(store, target)
    auth = {"Authorization": "Bearer t"}
    with TestClient(create_app(Settings(db=str(copy), admin_token="t"))) as client:
        got = client.get(FACES["overview"].path, params={"target": target}, headers=auth)
        assert got.status_code == 200 and got.json()["backlinks"] == want["backlinks"] > 0, got.text
        client.post("/do/login", data={"token": "t", "next": "/"}, follow_redirects=False)
        csv = client.get(f"/reports/backlinks.csv?target={target}")  # the dashboard's table, as CSV
        assert csv.status_code == 200 and len(csv.text.splitlines()) == want["backlinks"] + 1, csv.text[:300]
        attached = client.post(FACES["attach"].path, json={}, headers=auth)
        assert attached.status_code == 200, attached.text
        assert attached.json()["rows"]["links"] == want_links(tmp_path / "ingest.duckdb")


def want_links(db: Path) -> int:
    with Store(db, read_only=True) as store:
        return int(store.con.execute("SELECT count(*) FROM links").fetchall()[0][0])


def test_attach_through_the_server_that_serves_the_directory(built: tuple[Path, Path], tmp_path: Path) -> None:
    from serverkit import ServerThread, Settings
    from test_api_v1 import _advertise

    from linkback.client import advert_path

    copy = tmp_path / "index"
    shutil.copytree(built[1], copy)
    with ServerThread(Settings(db=str(copy), admin_token="api-token", advertise_url="")) as url:
        _advertise(str(copy), url)
        try:
            result = CliRunner().invoke(app, ["attach", str(copy), "--format", "json"])
            ingest = CliRunner().invoke(app, ["ingest", str(WARC / "warcio"), "--db", str(copy), "-q"])
        finally:
            advert_path(str(copy)).unlink()
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"]["links"] == want_links(built[0])
    assert ingest.exit_code != 0 and "read-only Parquet index" in ingest.output, ingest.output
