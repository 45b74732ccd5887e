"""Alerts (issue #15): rules, and what their evaluation finds.

Links and pages come from real observations (``record_pages``, the path crawls and verified
mentions take); the monitor's output (``ledger``, ``link_checks``) and rank runs
(``rank_runs``, ``domain_ranks``) are written as rows of their tables, which is the contract
those parts keep.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from linkback import alerts as al
from linkback.alerts import _events
from linkback.ingest import record_pages
from linkback.records import FetchedPage
from linkback.store import Store
from linkback.urls import host_of, split_host

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SITE = "example.com"


# --- building a store -------------------------------------------------------------------------------


def page(url: str, links: list[tuple[str, str, str]], at: datetime, status: int = 200) -> FetchedPage:
    """A fetched HTML page with ``(href, anchor, rel)`` links."""
    body = "".join(f'<p><a href="{href}" rel="{rel}">{anchor}</a></p>' for href, anchor, rel in links)
    return FetchedPage(
        url=url,
        status=status,
        headers=(("Content-Type", "text/html; charset=utf-8"),),
        body=f"<html><body>{body}</body></html>".encode(),
        fetched_at=at,
        via="crawl",
    )


def observe(store: Store, *pages: FetchedPage) -> None:
    record_pages(store, list(pages), origin="crawl")


def rank_run(store: Store, ranks: dict[str, tuple[float, int]], at: datetime = T0) -> int:
    """A completed rank run giving each domain (DR, toxicity); its id."""

    def write(store: Store) -> int:
        (run_id,) = store.next_ids("run_id_seq", 1)
        store.con.execute("INSERT INTO rank_runs (run_id, started_at, completed_at) VALUES (?, ?, ?)", [run_id, at, at])
        for domain, (dr, toxicity) in ranks.items():
            store.con.execute(
                "INSERT INTO domain_ranks (run_id, domain, dr, toxicity, signals) VALUES (?, ?, ?, ?, ?)",
                [run_id, domain, dr, toxicity, "thin_content" if toxicity >= 50 else ""],
            )
        return run_id

    return store.write(write)


def ledger_link(store: Store, source: str, target: str, *, rel: str = "", anchor: str = "") -> int:
    """A ledger row, as the monitor keeps it; its link_id. Paused: its checks are the test's own
    (a running server's monitor would check it on the live web)."""
    src, tgt = split_host(host_of(source)), split_host(host_of(target))

    def write(store: Store) -> int:
        (link_id,) = store.next_ids("link_id_seq", 1)
        store.con.execute(
            "INSERT INTO ledger (link_id, link_key, source_url, source_host, source_domain, target_url, target_host, "
            "target_domain, target_rhost, origin, anchor, rel, added_at, paused) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'added', ?, ?, ?, true)",
            [link_id, link_id, source, src.host, src.domain, target, tgt.host, tgt.domain, tgt.rhost, anchor, rel, T0],
        )
        return link_id

    return store.write(write)


def check(store: Store, link_id: int, at: datetime, verdict: str, reason: str = "", *, anchor: str = "",
          rel: str = "", changes: dict[str, list[Any]] | None = None) -> int:  # fmt: skip
    """A ``link_checks`` row as the monitor writes one (and the ledger's verdict moved with it)."""

    def write(store: Store) -> int:
        (check_id,) = store.next_ids("check_id_seq", 1)
        found = verdict in ("live", "changed")
        store.con.execute(
            "INSERT INTO link_checks (check_id, link_id, checked_at, status, found, anchor, rel, nofollow, verdict, "
            "reason, changes) VALUES (?, ?, ?, 200, ?, ?, ?, ?, ?, ?, ?)",
            [check_id, link_id, at, found, anchor, rel, "nofollow" in rel, verdict, reason, json.dumps(changes or {})],
        )
        store.con.execute(
            "UPDATE ledger SET verdict = ?, reason = ?, checked_at = ? WHERE link_id = ?",
            [verdict, reason, at, link_id],
        )
        return check_id

    return store.write(write)


def rule(store: Store, event: str, **options: Any) -> dict[str, Any]:
    options.setdefault("channel", "webhook")
    if options["channel"] == "webhook":
        options.setdefault("address", "https://hooks.example.net/linkback")
    return al.alert_rule_add(store, SITE, event, **options)


def made(store: Store, event: str | None = None) -> list[dict[str, Any]]:
    return al.alerts(store, site=SITE, event=event, limit=None)


@pytest.fixture
def store() -> Store:
    with Store(":memory:") as s:
        yield s


# --- rules ------------------------------------------------------------------------------------------


def test_a_rule_is_stored_checked_and_listed_without_its_secret(store: Store) -> None:
    hook = rule(store, "lost_link", min_dr=30, follow_only=True)
    assert hook["secret"] and hook["site"] == SITE and hook["min_dr"] == 30 and hook["follow_only"] is True
    given = rule(store, "new_link", secret="mine")
    assert given["secret"] == ""  # only a secret made here is handed back (once)
    feed = al.alert_rule_add(store, "WWW.Example.com", "changed", channel="atom")
    assert feed["site"] == "www.example.com" and feed["feed"].startswith("/feeds/alerts/www.example.com.atom?token=")
    again = al.alert_rule_add(store, "www.example.com", "new_link", channel="atom")
    assert again["feed"] == feed["feed"]  # one feed per site: every atom rule of it shares the token
    listed = al.alert_rules(store)
    assert [r["rule_id"] for r in listed] == [hook["rule_id"], given["rule_id"], feed["rule_id"], again["rule_id"]]
    assert all("secret" not in r for r in listed) and {r["has_secret"] for r in listed} == {True}
    assert al.alert_rules(store, site="www.example.com") == listed[2:]
    assert al.alert_feed(store, "www.example.com")["path"] == feed["feed"]


@pytest.mark.parametrize(
    ("event", "options", "says"),
    [
        ("gone_viral", {"channel": "atom"}, "event"),
        ("new_link", {"channel": "pigeon"}, "channel"),
        ("new_link", {"channel": "email", "address": "me@example.com\r\nBcc: x@evil.test"}, "email address"),
        ("new_link", {"channel": "email", "address": "Me <me@example.com>"}, "email address"),
        ("new_link", {"channel": "webhook", "address": "ftp://example.com/x"}, "http"),
        ("new_link", {"channel": "webhook", "schedule": "daily"}, "schedule"),
        ("new_link", {"channel": "atom", "address": "me@example.com"}, "address"),
        ("new_link", {"channel": "email", "address": "me@example.com", "schedule": "hourly"}, "schedule"),
        ("new_link", {"min_dr": 101.0}, "min_dr"),
        ("new_link", {"min_dr": float("nan")}, "min_dr"),
    ],
)
def test_a_bad_rule_is_refused_saying_what_is_wrong(store: Store, event: str, options: dict, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        rule(store, event, **options)
    assert al.alert_rules(store) == []


def test_a_rule_site_is_a_domain_or_host(store: Store) -> None:
    with pytest.raises(ValueError, match="not a URL"):
        al.alert_rule_add(store, "https://example.com/blog", "new_link", channel="atom")
    with pytest.raises(ValueError, match="no atom alert rule"):
        al.alert_feed(store, SITE)


def test_removing_a_rule_stops_its_deliveries_and_keeps_its_alerts(store: Store) -> None:
    hook = rule(store, "new_link")
    observe(store, page("https://blog.org/post", [("https://example.com/a", "A", "")], T0))
    al.evaluate_alerts(store, now=T0)
    assert al.alert_rule_remove(store, hook["rule_id"]) and not al.alert_rule_remove(store, hook["rule_id"])
    (alert,) = made(store)
    assert alert["next_attempt_at"] is None and alert["last_error"] == "its rule was removed"
    assert al.due_alerts(store.con, T0 + DAY) == []


# --- new and lost links from the index ------------------------------------------------------------


def test_new_links_alert_once_with_a_title_and_evidence(store: Store) -> None:
    observe(store, page("https://before.org/", [("https://example.com/old", "Before", "")], T0 - DAY))
    rule(store, "new_link")  # looks from now on: the link seen before is not news
    (start,) = store.con.execute("SELECT seen_obs_id FROM alert_rules").fetchall()[0]
    observe(
        store,
        page("https://blog.org/post", [("https://example.com/a", "Example  A", ""), ("https://other.com/", "x", "")],
             T0),
        page("https://www.example.com/about", [("https://example.com/a", "internal", "")], T0),
    )  # fmt: skip
    first = al.evaluate_alerts(store, now=T0)
    assert first == {"rules": 1, "alerts": 1, "by_event": {"new_link": 1}}
    (alert,) = made(store)
    assert alert["title"] == "New link to https://example.com/a from blog.org: “Example A”"
    assert alert["evidence"] == "/reports/backlinks?target=https%3A%2F%2Fexample.com%2Fa&from_domain=blog.org"
    detail = json.loads(alert["detail"])
    assert detail["anchor"] == "Example A" and detail["first_seen"] == "2024-05-01T10:00:00Z" and detail["followed"]
    assert alert["next_attempt_at"] == T0 and alert["attempts"] == 0 and alert["delivered_at"] is None
    # Running again alerts once: the watermark has moved, and the key would refuse it anyway.
    assert al.evaluate_alerts(store, now=T0 + DAY)["alerts"] == 0
    store.write(lambda s: s.con.execute("UPDATE alert_rules SET seen_obs_id = ?", [start]))
    assert al.evaluate_alerts(store, now=T0 + DAY)["alerts"] == 0
    assert len(made(store)) == 1


def test_an_old_capture_ingested_now_is_news_now(store: Store) -> None:
    """Since the last look counts in observations stored, not in fetch dates."""
    rule(store, "new_link")
    observe(store, page("https://archive.org/2019", [("https://example.com/", "old friend", "")], T0 - 1000 * DAY))
    assert al.evaluate_alerts(store, now=T0)["alerts"] == 1


def test_a_lost_link_alerts_with_its_reason(store: Store) -> None:
    observe(store, page("https://blog.org/post", [("https://example.com/a", "A", ""), ("https://example.com/b", "B", "")],
                        T0 - DAY))  # fmt: skip
    rule(store, "lost_link")
    observe(store, page("https://blog.org/post", [("https://example.com/b", "B", "")], T0))
    assert al.evaluate_alerts(store, now=T0)["by_event"] == {"lost_link": 1}
    (alert,) = made(store)
    assert alert["title"] == "Lost link “A” to https://example.com/a from blog.org: removed"
    assert "include_lost=true" in alert["evidence"] and json.loads(alert["detail"])["lost_reason"] == "removed"
    observe(store, page("https://blog.org/post", [], T0 + DAY, status=410))
    al.evaluate_alerts(store, now=T0 + DAY)
    assert [a["title"] for a in made(store)][0] == "Lost link “B” to https://example.com/b from blog.org: page_gone"


def test_a_loss_the_monitor_keeps_is_told_by_the_monitor_only(store: Store) -> None:
    observe(store, page("https://blog.org/post", [("https://example.com/a", "A", "")], T0 - DAY))
    link_id = ledger_link(store, "https://blog.org/post", "https://example.com/a", anchor="A")
    check(store, link_id, T0 - DAY, "live", anchor="A")
    rule(store, "lost_link")
    observe(store, page("https://blog.org/post", [], T0))  # the index sees it gone...
    assert al.evaluate_alerts(store, now=T0)["alerts"] == 0
    check(store, link_id, T0, "unknown", "unconfirmed")  # ...the monitor waits for its confirming fetch
    check(store, link_id, T0 + DAY, "lost", "removed")
    assert al.evaluate_alerts(store, now=T0 + DAY)["alerts"] == 1
    (alert,) = made(store)
    assert alert["evidence"] == f"/monitor/{link_id}" and alert["title"].endswith(": removed")
    check(store, link_id, T0 + 2 * DAY, "lost", "removed")  # still lost: no news
    assert al.evaluate_alerts(store, now=T0 + 2 * DAY)["alerts"] == 0


# --- filters ----------------------------------------------------------------------------------------


def test_min_dr_and_follow_only_keep_the_links_that_matter(store: Store) -> None:
    rank_run(store, {"strong.org": (55.0, 0), "weak.org": (12.0, 0), "nofollow.org": (70.0, 0)})
    rule(store, "new_link", min_dr=30, follow_only=True)
    rule(store, "new_link", min_dr=30)
    rule(store, "new_link", follow_only=True)
    observe(
        store,
        page("https://strong.org/a", [("https://example.com/", "strong", "")], T0),
        page("https://weak.org/a", [("https://example.com/", "weak", "")], T0),
        page("https://nofollow.org/a", [("https://example.com/", "nofollowed", "nofollow")], T0),
        page("https://ugc.org/a", [("https://example.com/", "ugc", "ugc")], T0),
        page("https://unrated.org/a", [("https://example.com/", "unrated", "")], T0),
    )
    al.evaluate_alerts(store, now=T0)

    def sources(rule_id: int) -> list[str]:
        return sorted(host_of(a["source_url"]) for a in made(store) if a["rule_id"] == rule_id)

    both, dr_only, follow = (r["rule_id"] for r in al.alert_rules(store))
    assert sources(both) == ["strong.org"]
    assert sources(dr_only) == ["nofollow.org", "strong.org"]  # a domain no run rated has no DR
    assert sources(follow) == ["strong.org", "unrated.org", "weak.org"]
    strong = next(a for a in made(store) if a["rule_id"] == both)
    assert "(DR 55)" in strong["title"] and json.loads(strong["detail"])["dr"] == 55.0


def test_ledger_changes_say_before_and_after_and_follow_the_filters(store: Store) -> None:
    rank_run(store, {"blog.org": (40.0, 0), "tiny.org": (5.0, 0)})
    kept = ledger_link(store, "https://blog.org/post", "https://example.com/a", anchor="Old name")
    small = ledger_link(store, "https://tiny.org/p", "https://example.com/a")
    check(store, kept, T0 - DAY, "live", anchor="Old name")
    check(store, small, T0 - DAY, "live")
    changed = rule(store, "changed", min_dr=30, follow_only=True)
    check(store, kept, T0, "changed", "anchor rel", anchor="New name", rel="nofollow",
          changes={"verdict": ["live", "changed"], "anchor": ["Old name", "New name"], "rel": ["", "nofollow"]})  # fmt: skip
    check(store, small, T0, "changed", "anchor", anchor="b", changes={"anchor": ["a", "b"]})
    assert al.evaluate_alerts(store, now=T0)["alerts"] == 1
    (alert,) = made(store, "changed")
    assert alert["rule_id"] == changed["rule_id"] and alert["evidence"] == f"/monitor/{kept}"
    assert alert["title"] == (
        "Link to https://example.com/a from blog.org (DR 40) changed: anchor “Old name” → “New name”; "
        "rel “(none)” → “nofollow”"
    )
    detail = json.loads(alert["detail"])
    assert detail["changes"]["anchor"] == ["Old name", "New name"] and detail["followed"] is True
    # A later change of a link that was nofollow before and after is not a followed link's change.
    check(store, kept, T0 + DAY, "changed", "anchor", anchor="Newer", rel="nofollow",
          changes={"anchor": ["New name", "Newer"]})  # fmt: skip
    assert al.evaluate_alerts(store, now=T0 + DAY)["alerts"] == 0


def test_hostile_anchor_text_makes_a_one_line_title(store: Store) -> None:
    link_id = ledger_link(store, "https://blog.org/post", "https://example.com/a")
    check(store, link_id, T0 - DAY, "live", anchor="a")
    rule(store, "changed")
    hostile = "Click\r\nBcc: victim@evil.test\x00\x1b[31m <script>&amp;"
    check(store, link_id, T0, "changed", "anchor", anchor=hostile, changes={"anchor": ["a", hostile]})
    al.evaluate_alerts(store, now=T0)
    (alert,) = made(store)
    assert "\r" not in alert["title"] and "\n" not in alert["title"] and "\x00" not in alert["title"]
    assert "“Click Bcc: victim@evil.test[31m <script>&amp;”" in alert["title"]
    assert json.loads(alert["detail"])["changes"]["anchor"][1] == hostile  # the facts are kept as they were


# --- broken targets and toxic domains ---------------------------------------------------------------


def test_a_linked_page_that_breaks_alerts_with_its_links(store: Store) -> None:
    observe(
        store,
        page("https://blog.org/post", [("https://example.com/old", "old", "")], T0 - DAY),
        page("https://news.org/item", [("https://example.com/old", "old", "nofollow")], T0 - DAY),
        page("https://example.com/old", [], T0 - DAY),
        page("https://example.com/unlinked", [], T0 - DAY),
    )
    rule(store, "broken_target")
    observe(store, page("https://example.com/old", [], T0, status=404),
            page("https://example.com/unlinked", [], T0, status=500))  # fmt: skip
    assert al.evaluate_alerts(store, now=T0)["alerts"] == 1
    (alert,) = made(store)
    assert alert["title"] == "https://example.com/old answers 404: 2 links from 2 domains point at it"
    assert alert["evidence"] == "/reports/backlinks?target=https%3A%2F%2Fexample.com%2Fold"
    assert json.loads(alert["detail"])["since"] == "2024-05-01T10:00:00Z"
    # Still broken at the next fetch: the same breakage, no new alert; fixed then broken again: new.
    observe(store, page("https://example.com/old", [], T0 + DAY, status=410))
    assert al.evaluate_alerts(store, now=T0 + DAY)["alerts"] == 0
    observe(store, page("https://example.com/old", [], T0 + 2 * DAY))
    observe(store, page("https://example.com/old", [], T0 + 3 * DAY, status=503))
    assert al.evaluate_alerts(store, now=T0 + 3 * DAY)["alerts"] == 1


def test_a_referring_domain_that_turns_toxic_alerts_once(store: Store) -> None:
    links = [("https://example.com/", "x", "")]
    observe(store, page("https://turning.org/", links, T0 - DAY), page("https://always.org/", links, T0 - DAY),
            page("https://fine.org/", links, T0 - DAY))  # fmt: skip
    rank_run(store, {"turning.org": (20.0, 10), "always.org": (5.0, 90), "fine.org": (30.0, 0), "late.org": (1.0, 95)})
    rule(store, "toxic_domain")
    observe(store, page("https://late.org/", links, T0))  # a domain the latest run says is toxic begins to link
    assert al.evaluate_alerts(store, now=T0)["alerts"] == 1
    assert al.evaluate_alerts(store, now=T0)["alerts"] == 0
    # A new run: a referring domain that has turned toxic is news; one toxic all along is not.
    rank_run(store, {"turning.org": (20.0, 60), "always.org": (5.0, 90), "fine.org": (30.0, 0), "late.org": (1.0, 95)})
    assert al.evaluate_alerts(store, now=T0)["alerts"] == 1
    titles = sorted(a["title"] for a in made(store))
    assert titles == [
        "New toxic referring domain late.org (toxicity 95) links to example.com: 1 link",
        "New toxic referring domain turning.org (toxicity 60) links to example.com: 1 link",
    ]
    assert {a["evidence"] for a in made(store)} == {
        "/reports/backlinks?target=example.com&from_domain=late.org",
        "/reports/backlinks?target=example.com&from_domain=turning.org",
    }
    rank_run(store, {"turning.org": (20.0, 70), "late.org": (1.0, 95)})
    assert al.evaluate_alerts(store, now=T0 + DAY)["alerts"] == 0


def test_the_allow_list_keeps_a_domain_out_of_toxic_alerts(store: Store) -> None:
    from linkback import quality

    observe(store, page("https://friend.org/", [("https://example.com/", "x", "")], T0 - DAY))
    rule(store, "toxic_domain")
    quality.add_to_list(store, "allow", ["friend.org"])
    rank_run(store, {"friend.org": (10.0, 80)})
    assert al.evaluate_alerts(store, now=T0)["alerts"] == 0


# --- many at once -----------------------------------------------------------------------------------


def test_a_flood_is_capped_and_counted_in_one_more_alert(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_events, "CAP", 2)
    rank_run(store, {f"s{i}.org": (float(10 * i), 0) for i in range(5)})
    rule(store, "new_link")
    observe(store, *(page(f"https://s{i}.org/", [("https://example.com/", f"s{i}", "")], T0) for i in range(5)))
    assert al.evaluate_alerts(store, now=T0)["alerts"] == 3
    titles = [a["title"] for a in sorted(made(store), key=lambda a: a["alert_id"])]
    assert titles[:2] == [
        "New link to https://example.com/ from s4.org (DR 40): “s4”",  # the best first
        "New link to https://example.com/ from s3.org (DR 30): “s3”",
    ]
    assert titles[2] == "3 more new links for example.com (only the first 2 are listed)"


# --- when deliveries are due ------------------------------------------------------------------------


def test_digests_are_due_at_midnight_utc_and_on_mondays() -> None:
    wednesday = datetime(2024, 5, 1, 23, 59, tzinfo=UTC)
    assert al.first_delivery("email", "immediate", wednesday) == wednesday
    assert al.first_delivery("email", "daily", wednesday) == datetime(2024, 5, 2, tzinfo=UTC)
    assert al.first_delivery("email", "weekly", wednesday) == datetime(2024, 5, 6, tzinfo=UTC)
    monday = datetime(2024, 5, 6, 0, 0, 1, tzinfo=UTC)
    assert al.first_delivery("email", "weekly", monday) == datetime(2024, 5, 13, tzinfo=UTC)
    assert al.first_delivery("atom", "immediate", wednesday) is None
