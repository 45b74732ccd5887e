"""A report's CSV is the same from the CLI and from the dashboard: ``linkback intersect ... --format
csv`` and ``/reports/intersect.csv`` have the same header and rows (a ``links:T``, ``source_url:T``
and ``target_url:T`` column per target, never the nested ``cells`` as Python's text), and a list
cell is written one way by both (:func:`linkback.cli._output.csv_value`).

The store is test_compare's world, ranked; the CLI reads it before the server opens the file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serverkit import Settings
from test_compare import MINE, A, B, C, build, run

from linkback.cli._output import cell_columns, csv_value, flat_cells
from linkback.faces import FACES, plain
from linkback.reports import intersect
from linkback.reports._intersect import INTERSECT_COLUMNS
from linkback.server import create_app
from linkback.store import Store

TOKEN = "csv-faces-token"

#: The same call three ways: the CLI's words, the dashboard's query, the function's arguments.
CASES: list[tuple[list[str], dict[str, Any], dict[str, Any]]] = [
    ([A, B, C], {"targets": [A, B, C]}, {}),
    ([A, B, C, "--pages", "--min", "3"], {"targets": [A, B, C], "pages": "yes", "min_targets": 3},
     {"pages": True, "min_targets": 3}),
    ([A, C, "--pages", "--follow"], {"targets": [A, C], "pages": "yes", "follow": "yes"}, {"pages": True, "follow": True}),
    ([A, B, "--not", MINE, "--sort", "links"], {"targets": [A, B], "exclude": MINE, "sort": "links"},
     {"exclude": [MINE], "sort": "links"}),
    # No row at all: the header is the same all the same.
    ([A, B, C, MINE, "--min", "4"], {"targets": [A, B, C, MINE], "min_targets": 4}, {"min_targets": 4}),
]  # fmt: skip


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build(str(tmp_path_factory.mktemp("csv-faces") / "web.duckdb"), ranked=True)


@pytest.fixture(scope="module")
def expected(db: str) -> list[tuple[str, list[dict[str, Any]]]]:
    """Per case: the CLI's CSV and the function's rows, read before the server holds the file."""
    out = []
    for words, query, kwargs in CASES:
        code, text, err = run("intersect", *words, "--format", "csv", db=db)
        assert code == 0, err
        with Store(db, read_only=True) as store:
            rows = intersect(store, query["targets"], **kwargs)
        out.append((text, rows))
    return out


@pytest.fixture(scope="module")
def client(db: str, expected: Any) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(db=db, admin_token=TOKEN))) as c:
        assert c.post("/do/login", data={"token": TOKEN, "next": "/"}, follow_redirects=False).status_code == 303
        yield c


def test_intersect_csv_is_the_same_from_the_cli_and_the_dashboard(client: TestClient, expected: list) -> None:
    assert sum(1 for _, rows in expected if rows) >= 3 and not expected[-1][1]  # rows, and a case with none
    for (words, query, _), (cli_csv, rows) in zip(CASES, expected, strict=True):
        got = client.get("/reports/intersect.csv", params=query)
        assert got.status_code == 200, got.text[:300]
        assert got.text == cli_csv, (words, got.text[:400], cli_csv[:400])
        header, *body = list(csv.reader(io.StringIO(got.text)))
        parts = [f"{part}:{t}" for t in query["targets"] for part in ("links", "source_url", "target_url")]
        assert header == [*INTERSECT_COLUMNS[:-1], *parts]
        assert "cells" not in header and not any("{" in cell for row in body for cell in row)
        assert len(body) == len(rows)
        for row, want in zip(csv.DictReader(io.StringIO(got.text)), rows, strict=True):
            for cell in want["cells"]:
                assert row[f"links:{cell['target']}"] == str(cell["links"])
                assert row[f"source_url:{cell['target']}"] == (cell["source_url"] or "")
                assert row[f"target_url:{cell['target']}"] == (cell["target_url"] or "")


def test_intersect_json_keeps_the_cells_whole(client: TestClient, expected: list) -> None:
    _, rows = expected[0]
    got = client.get("/reports/intersect.json", params=CASES[0][1])
    assert got.status_code == 200 and json.loads(got.text) == plain(rows)
    api = client.get(FACES["intersect"].path, params=CASES[0][1], headers={"Authorization": f"Bearer {TOKEN}"})
    assert api.status_code == 200 and api.json() == plain(rows)


def test_the_dashboards_csv_says_what_is_wrong_with_the_targets(client: TestClient) -> None:
    assert client.get("/reports/intersect.csv", params={"targets": [A, "bad target!"]}).status_code == 400
    # Without targets there is nothing to ask: the header only, with no column of a target.
    got = client.get("/reports/intersect.csv")
    assert got.status_code == 200 and got.text == ",".join(INTERSECT_COLUMNS[:-1]) + "\n"


def test_csv_values() -> None:
    assert [csv_value(v) for v in (None, 0, False, 2.5, "", "x")] == ["", 0, False, 2.5, "", "x"]
    assert csv_value(["Victim Corp"]) == "Victim Corp" and csv_value(("a", None, 3)) == "a; ; 3"
    assert csv_value(["Acme", "Acme Corp"]) == "Acme; Acme Corp"  # two terms, not three
    assert csv_value({"links": 2, "at": None}) == '{"links": 2, "at": null}'
    assert csv_value([{"a": 1}]) == '[{"a": 1}]' and csv_value([["x"]]) == '[["x"]]'
    assert cell_columns(["source", "cells", "links"], ["a.test", "b.test"]) == [
        "source", "links", "links:a.test", "source_url:a.test", "target_url:a.test",
        "links:b.test", "source_url:b.test", "target_url:b.test",
    ]  # fmt: skip
    row = {"source": "s", "cells": [{"target": "a.test", "links": 0, "source_url": None, "target_url": None}]}
    assert flat_cells(row) == {"source": "s", "links:a.test": 0, "source_url:a.test": None, "target_url:a.test": None}
