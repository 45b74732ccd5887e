"""Alerts end to end with the real monitor: ledger links checked on a local multi-host web whose
pages change between checks; the rules tell of each change once, pointing at the link's timeline.

A loss seen once is re-checked by a run an hour later (``confirm_after``): the runs here that are
"later" pass ``now`` (which links are due); the fetches themselves happen, and are timed, now.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_monitor import POLICY, html, page_hits, resolver
from webkit import HostWeb, Page

from linkback import alerts as al
from linkback.monitor import ledger, link_timeline, monitor_add
from linkback.monitor._run import run_checks
from linkback.store import Store

TARGET = "https://example.com/pricing"


@pytest.fixture
def web() -> Iterator[HostWeb]:
    with HostWeb() as web:
        yield web


def check_all(store: Store, tmp_path: Path) -> dict[str, Any]:
    return run_checks(store, policy=POLICY, resolver=resolver, delay=0.05, all_links=True, render="never",
                      warc_dir=tmp_path / "warc")  # fmt: skip


def test_monitor_verdicts_become_alerts_once(web: HostWeb, tmp_path: Path) -> None:
    with Store(tmp_path / "m.duckdb") as store:
        for name in ("anchor", "removed", "steady"):
            web.pages[f"{name}.test", "/p"] = Page(html())
        ids = {name: monitor_add(store, web.url(f"{name}.test", "/p"), TARGET)["link_id"]
               for name in ("anchor", "removed", "steady")}  # fmt: skip
        check_all(store, tmp_path)  # all live
        lost = al.alert_rule_add(store, "example.com", "lost_link", channel="atom")
        changed = al.alert_rule_add(store, "example.com", "changed", channel="atom")
        assert al.evaluate_alerts(store)["alerts"] == 0  # live links are no news

        web.pages["anchor.test", "/p"] = Page(html(anchor="See <b>pricing</b> now"))
        web.pages["removed.test", "/p"] = Page(html(target="https://example.com/other"))
        check_all(store, tmp_path)
        # The removal is seen once: pending, no alert until a later check agrees.
        assert al.evaluate_alerts(store)["by_event"] == {"changed": 1}
        check_all(store, tmp_path)
        assert al.evaluate_alerts(store)["by_event"] == {"lost_link": 1}
        by_rule = {a["rule_id"]: a for a in al.alerts(store)}
        change, loss = by_rule[changed["rule_id"]], by_rule[lost["rule_id"]]
        assert change["evidence"] == f"/monitor/{ids['anchor']}"
        assert change["title"] == (f"Link to {TARGET} from anchor.test changed: anchor “Pricing” → “See pricing now”")
        assert loss["evidence"] == f"/monitor/{ids['removed']}" and loss["title"].endswith(": removed")
        # The evidence is the link's timeline: the check the alert names is in it.
        checks = {row["check_id"] for row in link_timeline(store, ids["removed"])}
        assert json.loads(loss["detail"])["check_id"] in checks

        check_all(store, tmp_path)  # still lost, anchor as changed: nothing new
        assert al.evaluate_alerts(store)["alerts"] == 0
        assert len(al.alerts(store)) == 2


def scheduled(store: Store, tmp_path: Path, now: datetime, **kw: Any) -> dict[str, Any]:
    """A run as the schedule makes it at ``now``: the due links only."""
    return run_checks(store, policy=POLICY, resolver=resolver, delay=0.05, render="never",
                      warc_dir=tmp_path / "warc", now=now, **kw)  # fmt: skip


def outage(web: HostWeb, store: Store, tmp_path: Path) -> tuple[int, datetime]:
    """A live link whose page then answers 404, checked once: the link's id and when that check was."""
    web.pages["deploy.test", "/p"] = Page(html())
    link = monitor_add(store, web.url("deploy.test", "/p"), TARGET)["link_id"]
    check_all(store, tmp_path)
    al.alert_rule_add(store, "example.com", "lost_link", channel="atom")
    web.pages["deploy.test", "/p"] = Page("deploying", 404, {"Content-Type": "text/plain"})
    summary = check_all(store, tmp_path)
    (row,) = ledger(store)
    assert (row["verdict"], row["reason"], row["pending"]) == ("live", "", "page_gone")
    assert summary["pending"] == 1 and summary["pending_from"] == row["next_check_at"]
    assert row["next_check_at"] - row["checked_at"] == timedelta(hours=1)
    assert len(page_hits(web, "deploy.test")) == 2  # no confirming fetch in that run
    assert al.evaluate_alerts(store)["alerts"] == 0
    return link, row["checked_at"]


def test_an_hour_long_outage_is_no_loss_and_sends_no_alert(web: HostWeb, tmp_path: Path) -> None:
    with Store(tmp_path / "m.duckdb") as store:
        link, seen = outage(web, store, tmp_path)
        half_hour = scheduled(store, tmp_path, seen + timedelta(minutes=30))
        assert half_hour["links"] == 0 and len(page_hits(web, "deploy.test")) == 2  # not due yet
        web.pages["deploy.test", "/p"] = Page(html())  # the deploy is over
        back = scheduled(store, tmp_path, seen + timedelta(minutes=61))
        assert (back["checked"], back["confirmations"], back["pending"]) == (1, 1, 0)
        (row,) = ledger(store)
        assert (row["verdict"], row["reason"], row["pending"]) == ("live", "", "")
        assert [c["status"] for c in link_timeline(store, link)] == [200, 404, 200]
        assert al.evaluate_alerts(store)["alerts"] == 0 and al.alerts(store) == []


def test_a_page_gone_an_hour_later_too_is_lost_with_one_alert(web: HostWeb, tmp_path: Path) -> None:
    with Store(tmp_path / "m.duckdb") as store:
        link, seen = outage(web, store, tmp_path)
        gone = scheduled(store, tmp_path, seen + timedelta(minutes=61))
        assert (gone["checked"], gone["reasons"], gone["pending"]) == (1, {"lost/page_gone": 1}, 0)
        (row,) = ledger(store)
        assert (row["verdict"], row["reason"], row["pending"]) == ("lost", "page_gone", "")
        assert al.evaluate_alerts(store)["by_event"] == {"lost_link": 1}
        check_all(store, tmp_path)  # lost stays lost: no second look, no second alert
        assert al.evaluate_alerts(store)["alerts"] == 0
        (alert,) = al.alerts(store)
        assert alert["evidence"] == f"/monitor/{link}"
