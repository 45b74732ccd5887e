"""One write path: a server-side ingest, Webmention verification, moderation and rank running at
once give unique ids and the index a serial run gives (issue 13, item 1).

Before, a command forwarded to the server ran ingest on its own cursor beside the writer thread,
and observation ids came from ``max(obs_id) + 1`` once per file: an ingest interleaved with a
verification gave two pages the same id, and a later observation a phantom lost link.
"""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
from serverkit import ADMIN, Page, PageServer, start_linkback, wait_for

from linkback.store import Store

WARC = Path(__file__).parent / "data" / "warc" / "real-pages" / "sample.warc.gz"
TARGET = "http://blog.test/post"
SOURCES = 12


def _job(server, kind: str, body: dict) -> dict:
    queued = httpx.post(f"{server.url}/api/v1/jobs/{kind}", json=body, headers=ADMIN)
    assert queued.status_code == 202, queued.text
    return wait_for(
        lambda: (j := httpx.get(queued.headers["location"], headers=ADMIN).json())["state"] not in ("queued", "running")
        and j,
        timeout=180,
    )


def _mentions_verified(server, n: int) -> None:
    def settled() -> bool:
        rows = httpx.get(f"{server.url}/api/v1/reports/mentions", params={"limit": 1000}, headers=ADMIN).json()
        return len(rows) == n and all(r["status"] != "queued" for r in rows)

    wait_for(settled, timeout=60)


def _run(tmp_path: Path, pages: PageServer, *, at_once: bool) -> str:
    tmp_path.mkdir()
    server = start_linkback(tmp_path, {"blog.test": "moderate"})
    sources = [pages.url(f"/s{i}", f"site{i}.test") for i in range(SOURCES)]
    try:

        def notify() -> None:
            for source in sources:
                assert httpx.post(server.url + "/webmention", data={"source": source, "target": TARGET}).status_code == 201

        def moderate() -> None:
            _mentions_verified(server, SOURCES)
            rows = httpx.get(f"{server.url}/api/v1/reports/mentions", params={"limit": 1000}, headers=ADMIN).json()
            ids = sorted(r["mention_id"] for r in rows)[: SOURCES // 2]
            ok = httpx.post(f"{server.url}/api/v1/actions/moderate", json={"action": "approve", "ids": ids}, headers=ADMIN)
            assert ok.status_code == 200, ok.text

        ingest = {"paths": [str(WARC)], "workers": 1}
        if at_once:
            jobs: dict[str, dict] = {}
            threads = [
                threading.Thread(target=lambda: jobs.__setitem__("ingest", _job(server, "ingest", ingest))),
                threading.Thread(target=notify),
                threading.Thread(target=moderate),
                threading.Thread(target=lambda: jobs.__setitem__("rank", _job(server, "rank", {}))),
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(240)
            assert jobs["ingest"]["state"] == "done" and jobs["rank"]["state"] == "done", jobs
        else:
            assert _job(server, "ingest", ingest)["state"] == "done"
            notify()
            moderate()
        # Rank last in both: the serial index it is compared with ranked everything.
        assert _job(server, "rank", {})["state"] == "done"
    finally:
        server.stop()
    return str(tmp_path / "linkback.duckdb")


def _snapshot(db: str) -> dict[str, set]:
    with Store(db, read_only=True) as store:
        q = store.con.execute
        assert q("SELECT count(*) = count(DISTINCT obs_id) FROM observations").fetchall()[0][0]
        assert q("SELECT count(*) = count(DISTINCT archive_id) FROM archives").fetchall()[0][0]
        assert q("SELECT count(*) = count(DISTINCT run_id) FROM rank_runs").fetchall()[0][0]
        # Every link observation belongs to the one observation it was stored with.
        assert q("SELECT count(*) FROM link_observations lo ANTI JOIN observations o USING (obs_id)").fetchall() == [(0,)]
        return {
            "links": set(q("SELECT source_url, target_url, kind, anchor, rel, section, lost_reason, via FROM links").fetchall()),
            "pages": set(q("SELECT url, status, title FROM pages").fetchall()),
            "observations": set(q("SELECT url, status, via FROM observations").fetchall()),
            "mentions": set(q("SELECT source, target, status, state FROM mentions").fetchall()),
            "ranks": set(q("SELECT domain, round(dr, 6) FROM domain_ranks WHERE run_id = (SELECT max(run_id) FROM rank_runs)").fetchall()),
        }


def test_interleaved_ingest_verification_moderation_and_rank_equal_a_serial_run(tmp_path: Path) -> None:
    with PageServer() as pages:
        for i in range(SOURCES):
            pages.pages[f"/s{i}"] = Page(f'<title>Source {i}</title><p>Read <a href="{TARGET}">this post</a>.</p>')
        together = _snapshot(_run(tmp_path / "together", pages, at_once=True))
        serial = _snapshot(_run(tmp_path / "serial", pages, at_once=False))
    assert together["links"] and len(together["mentions"]) == SOURCES
    for table in serial:
        assert together[table] == serial[table], table
