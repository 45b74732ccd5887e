"""Alerts end to end with the real monitor: ledger links checked on a local multi-host web whose
pages change between checks; the rules tell of each change once, pointing at the link's timeline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_monitor import POLICY, html, resolver
from webkit import HostWeb, Page

from linkback import alerts as al
from linkback.monitor import link_timeline, monitor_add
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
        made = al.evaluate_alerts(store)
        assert made["by_event"] == {"changed": 1, "lost_link": 1}, made
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
