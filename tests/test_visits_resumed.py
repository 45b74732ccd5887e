"""A read of an access log killed after some of its batches were committed, then run again: the
file's stored count of visits added is every visit it brought, not only the second run's."""

from __future__ import annotations

import shutil
from pathlib import Path

from linkback.store import Store
from linkback.traffic import read_visits

LOG = Path(__file__).parent / "data" / "access_logs" / "semicomplete-referrals.log"


def test_a_resumed_read_stores_every_visit_the_file_added(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    shutil.copy(LOG, log)
    with Store(str(tmp_path / "x.duckdb")) as store:
        [first] = read_visits(store, [log], host="www.semicomplete.com")
        (stored,) = store.con.execute("SELECT count(*) FROM visits").fetchone()
        assert first.added == stored > 0

        # As a kill after the last batch's commit leaves it: the visits stored, the read unclosed.
        def unclose(store: Store) -> None:
            store.con.execute("UPDATE visit_imports SET read_at = NULL, added = 0")

        store.write(unclose)
        [again] = read_visits(store, [log], host="www.semicomplete.com")
        assert again.added == 0  # this run's own: every visit was stored already
        (added,) = store.con.execute("SELECT added FROM visit_imports").fetchone()
        assert added == stored
