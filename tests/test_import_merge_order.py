"""Exports that list the same links merge by what their rows say, not by which was imported last.

A link an older export saw live and a newer one lost is lost whichever is imported first; one
lost and then seen again is live; first seen is the earliest, metrics the newest row's; and
importing the same files again changes nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import permutations
from pathlib import Path
from typing import Any

import pytest

from linkback.imports import import_files
from linkback.store import Store

DATA = Path(__file__).parent / "data" / "imports"
AHREFS_HEADER = (DATA / "ahrefs-backlinks.csv").read_text(encoding="utf-8").splitlines()[0]
FORUM = "https://forum.example.net/t/123"
#: Where each claim is and what it says: all but its id and the bookkeeping of its imports.
FACTS = ("claim_key", "source_url", "target_url", "anchor", "nofollow", "ugc", "sponsored", "kind",
         "first_seen", "last_seen", "lost_at", "metrics")  # fmt: skip


@pytest.fixture
def store() -> Store:
    return Store(":memory:")


def stored_claims(store: Store) -> dict[str, dict[str, Any]]:
    rows = store.con.execute(f"SELECT {', '.join(FACTS)} FROM claims ORDER BY claim_key").fetchall()
    return {row[1] or str(row[0]): dict(zip(FACTS, row, strict=True)) for row in rows}


def ahrefs_export(path: Path, *, dr: int, first_seen: str, last_seen: str, lost: str = "") -> Path:
    """An Ahrefs backlinks export of the forum's link alone, as Ahrefs writes it."""
    row = (f"Forum thread,{FORUM},en,blogs,200,{dr},8,\"1,240\",310,25,40,12,3,https://example.com/pricing,"
           f"Read more about,pricing,here.,text,true,true,true,false,false,true,{'lost' if lost else ''},,,"
           f"{first_seen},{last_seen},{lost},1")  # fmt: skip
    path.write_text(f"{AHREFS_HEADER}\n{row}\n", encoding="utf-8")
    return path


def day(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


def test_an_older_export_imported_again_does_not_bring_a_lost_link_back(store: Store) -> None:
    lost_at = []
    for name in ("ahrefs-backlinks.csv", "ahrefs-backlinks-newer.csv", "ahrefs-backlinks.csv"):
        import_files(store, [DATA / name])
        lost_at.append(stored_claims(store)[FORUM]["lost_at"])
    assert lost_at == [None, day(2026, 9, 10), day(2026, 9, 10)]


def test_seen_live_then_lost_is_lost_and_lost_then_seen_again_is_live_in_any_order(
    store: Store, tmp_path: Path
) -> None:
    seen = ahrefs_export(tmp_path / "seen.csv", dr=40, first_seen="2025-03-01", last_seen="2026-08-01")
    lost = ahrefs_export(tmp_path / "lost.csv", dr=45, first_seen="2025-05-01", last_seen="2026-09-01",
                         lost="2026-09-10")  # fmt: skip
    back = ahrefs_export(tmp_path / "back.csv", dr=50, first_seen="2025-05-01", last_seen="2026-10-02")
    for files, (lost_at, last_seen, dr) in [
        ((seen, lost), (day(2026, 9, 10), day(2026, 9, 1), 45)),
        ((seen, lost, back), (None, day(2026, 10, 2), 50)),
    ]:
        results = []
        for order in permutations(files):
            fresh = Store(":memory:")
            import_files(fresh, list(order))
            results.append(stored_claims(fresh))
        assert all(r == results[0] for r in results)
        forum = results[0][FORUM]
        assert (forum["lost_at"], forum["last_seen"], forum["first_seen"]) == (lost_at, last_seen, day(2025, 3, 1))
        assert json.loads(forum["metrics"])["dr"] == dr


def test_the_two_fixture_exports_give_the_same_dates_in_either_order() -> None:
    by_order = []
    for order in permutations(["ahrefs-backlinks.csv", "ahrefs-backlinks-newer.csv"]):
        fresh = Store(":memory:")
        import_files(fresh, [DATA / name for name in order])
        by_order.append(stored_claims(fresh))
    first, second = by_order
    assert first.keys() == second.keys()
    for source in first:
        # The blog's row is dated alike in both (last seen 2026-09-01) with DR 71 and 72: no date
        # says which export is newer, so its metrics are the file's first imported later.
        facts = [k for k in FACTS if k != "metrics"] if "blog" in source else FACTS
        assert {k: first[source][k] for k in facts} == {k: second[source][k] for k in facts}, source
    assert first[FORUM]["lost_at"] == day(2026, 9, 10)


def test_importing_the_same_files_again_changes_nothing(store: Store, tmp_path: Path) -> None:
    files = [DATA / "ahrefs-backlinks.csv", DATA / "ahrefs-backlinks-newer.csv", DATA / "ahrefs-backlinks-utf16.tsv",
             ahrefs_export(tmp_path / "lost.csv", dr=45, first_seen="2023-05-01", last_seen="2026-09-20",
                           lost="2026-09-21")]  # fmt: skip
    import_files(store, files)
    before = stored_claims(store)
    again = import_files(store, files)
    assert (again["added"], again["changed"]) == (0, 0)
    assert stored_claims(store) == before
