"""Store paths DuckDB reads more into than a file name. A ``?`` starts connection parameters to
DuckDB: the write-ahead log of ``what?.duckdb`` would be ``what.wal?.duckdb`` (possibly another
database, which it overwrites), and with a ``?`` in a directory it would go to another directory
or nowhere; nothing quotes it, so such a path is refused before any file is made. ``#`` and ``%``
are plain characters to DuckDB: those stores keep their log at ``PATH.wal`` and read back."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from linkback.cli import app
from linkback.errors import StoreError
from linkback.store import Store


def files(top: Path) -> list[str]:
    return sorted(str(p.relative_to(top)) for p in top.rglob("*"))


@pytest.mark.parametrize("name", ["what?.duckdb", "db.duckdb?threads=1", "x?y/db.duckdb"])
@pytest.mark.parametrize("read_only", [False, True])
def test_a_question_mark_is_refused_before_any_file_is_made(tmp_path: Path, name: str, read_only: bool) -> None:
    path = tmp_path.resolve() / name  # as DuckDB sees it, so that the message names it once
    path.parent.mkdir(exist_ok=True)
    before = files(tmp_path)
    cut = str(path).index("?")
    wal = f"{str(path)[:cut]}.wal{str(path)[cut:]}"
    with pytest.raises(StoreError) as caught:
        Store(path, read_only=read_only)
    assert str(caught.value) == (
        f"{path}: a database path cannot hold '?' (character {cut + 1}): DuckDB takes what follows it for "
        f"connection parameters and would keep the write-ahead log at {wal}, not {path}.wal, over any file of "
        "that name; rename the file or directory"
    )
    assert files(tmp_path) == before


def test_the_file_duckdb_would_take_for_the_log_is_left_alone_and_named(tmp_path: Path) -> None:
    other = tmp_path / "what.wal?.duckdb"  # what DuckDB would write what?.duckdb's log over
    other.write_bytes(b"someone's data")
    with pytest.raises(StoreError, match=r"'\?'") as caught:
        Store(tmp_path / "what?.duckdb")
    assert str(caught.value).endswith(
        f"({other} exists: unless it is a database of its own it holds this one's last writes, and is renamed with "
        "it: NEW.duckdb and NEW.duckdb.wal)"
    )
    assert other.read_bytes() == b"someone's data" and files(tmp_path) == [other.name]


@pytest.mark.parametrize("how", ["relative", "linked"])
def test_a_question_mark_duckdb_would_see_is_refused_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """DuckDB makes a path absolute, with links resolved, before it adds ``.wal``: a relative path
    in a working directory with a '?' (``linkback.duckdb``, the default) or a link into a
    directory with one would have its log misplaced too."""
    real = tmp_path / "odd?dir"
    real.mkdir()
    if how == "relative":
        monkeypatch.chdir(real)
        given = "linkback.duckdb"
    else:
        (tmp_path / "plain").symlink_to(real)
        given = str(tmp_path / "plain" / "linkback.duckdb")
    with pytest.raises(StoreError) as caught:
        Store(given)
    full = real / "linkback.duckdb"
    assert str(caught.value).startswith(
        f"{given}: a database path cannot hold '?' (character {str(full).index('?') + 1} of {full}): DuckDB takes "
        f"what follows it for connection parameters and would keep the write-ahead log at "
        f"{tmp_path / 'odd.wal?dir' / 'linkback.duckdb'}, not {full}.wal"
    )
    assert files(real) == []
    if how == "relative":  # nothing on disk: where it runs does not matter
        with Store(":memory:") as store:
            assert store.con.execute("SELECT 1").fetchall() == [(1,)]


@pytest.mark.parametrize("name", ["a#b.duckdb", "100%.duckdb", "a%3Fb.duckdb", "a%20b#c .duckdb", "dir#1/%x/db.duckdb"])
def test_hash_and_percent_are_plain_characters(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    top = path.parent
    with Store(path) as store:
        store.con.execute("CREATE TABLE t AS SELECT 42 AS x")
        store.con.execute("INSERT INTO t VALUES (43)")
        assert f"{path.name}.wal" in files(top)  # the log, where linkback and a copy of PATH* look for it
        assert set(files(top)) == {path.name, f"{path.name}.wal"}
    assert files(top) == [path.name]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with Store(path, read_only=True) as store:
        assert store.con.execute("SELECT x FROM t ORDER BY x").fetchall() == [(42,), (43,)]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest and files(top) == [path.name]


def test_the_command_says_why_and_makes_nothing(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(
        '192.0.2.1 - - [10/Oct/2023:13:55:36 +0000] "GET /p HTTP/1.1" 200 1 "https://a.example/" '
        '"Mozilla/5.0 (X11; Linux x86_64) Firefox/115.0"\n'
    )
    (tmp_path / "q?").mkdir()
    db = tmp_path / "q?" / "db.duckdb"
    run = CliRunner().invoke(app, ["visits", str(log), "--host", "example.com", "--db", str(db)])
    assert run.exit_code == 2
    assert f"{db}: a database path cannot hold '?'" in " ".join(run.stderr.split())
    assert files(tmp_path / "q?") == []
