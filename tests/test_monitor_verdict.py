"""The monitor's verdict: a pure function of a link's state and new observations of its page."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from linkback.monitor._verdict import (
    FAILURES_TO_LOSE,
    MAX_INTERVAL_DAYS,
    LinkState,
    Observation,
    confirm_delay,
    decide,
    followed,
    same_page,
    step,
)

SOURCE = "https://blog.example.org/post"
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def at(day: float) -> datetime:
    return T0 + timedelta(days=day)


def page(day: float = 0, *, found: bool = True, anchor: str = "Example", rel: str = "", section: str = "content",
         status: int = 200, **kw: object) -> Observation:  # fmt: skip
    """An observation that read the page (the link on it unless ``found=False``)."""
    if not found:
        anchor, rel, section = "", "", ""
    return Observation(
        checked_at=at(day), source_url=SOURCE, status=status, final_url=kw.pop("final_url", SOURCE),  # type: ignore[arg-type]
        found=found, found_in="raw" if found else "", anchor=anchor, rel=rel, section=section,
        nofollow=kw.pop("nofollow", "nofollow" in rel.split()), **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def failed(day: float = 0, error: str = "timeout") -> Observation:
    return Observation(checked_at=at(day), source_url=SOURCE, error=error, final_url=SOURCE)


def live_state(**kw: object) -> LinkState:
    """A link seen live and followed at day 0."""
    return step(LinkState(), page(0)).state if not kw else step(LinkState(**kw), page(0)).state  # type: ignore[arg-type]


def test_a_first_check_that_finds_the_link_is_live() -> None:
    s = step(LinkState(), page(0))
    assert (s.state.verdict, s.state.reason, s.state.found_in) == ("live", "", "raw")
    assert s.state.live_since == s.state.first_checked_at == s.state.checked_at == at(0)
    assert s.changes == {"verdict": [None, "live"]}
    assert s.state.interval_days == 1 and s.state.next_check_at == at(1)


def test_a_link_that_holds_is_checked_less_and_less_often_up_to_30_days() -> None:
    state = LinkState()
    intervals = []
    for day in range(0, 200, 1):
        if state.next_check_at is not None and at(day) < state.next_check_at:
            continue
        s = step(state, page(day))
        state = s.state
        intervals.append(state.interval_days)
        if day:
            assert s.changes == {}
    assert intervals[:7] == [1, 2, 4, 8, 16, 30, 30]
    assert state.verdict == "live" and state.live_since == at(0) and max(intervals) == MAX_INTERVAL_DAYS


def test_an_anchor_change_is_reported_once_with_before_and_after_and_checks_come_sooner() -> None:
    state = decide(LinkState(), [page(0), page(1), page(3)])[-1].state
    assert state.interval_days == 4
    changed = step(state, page(7, anchor="Example Corp"))
    assert (changed.state.verdict, changed.state.reason) == ("changed", "anchor")
    assert changed.changes["anchor"] == ["Example", "Example Corp"]
    assert changed.state.interval_days == 1 and changed.state.live_since == at(0)
    again = step(changed.state, page(8, anchor="Example Corp"))
    assert (again.state.verdict, again.state.reason) == ("live", "") and again.changes == {}


def test_rel_and_section_changes_name_every_field_that_changed() -> None:
    s = step(live_state(), page(1, anchor="Other", rel="noopener", section="footer"))
    assert (s.state.verdict, s.state.reason) == ("changed", "anchor rel section")
    assert s.changes["section"] == ["content", "footer"] and s.changes["rel"] == ["", "noopener"]


def test_rel_tokens_in_another_order_are_no_change() -> None:
    state = step(LinkState(), page(0, rel="noopener external")).state
    assert step(state, page(1, rel="external noopener")).changes == {}


def test_a_followed_link_made_nofollow_is_lost_nofollowed_and_stays_so_until_followed_again() -> None:
    for rel in ("nofollow", "ugc", "sponsored noopener"):
        s = step(live_state(), page(1, rel=rel))
        assert (s.state.verdict, s.state.reason) == ("lost", "nofollowed"), rel
        assert s.changes["rel"] == ["", rel]
    lost = step(live_state(), page(1, rel="nofollow")).state
    still = step(lost, page(2, rel="nofollow"))
    assert (still.state.verdict, still.state.reason) == ("lost", "nofollowed") and still.changes == {}
    back = step(lost, page(3))
    assert (back.state.verdict, back.state.reason) == ("changed", "rel") and back.state.live_since == at(3)


def test_a_page_made_nofollow_as_a_whole_counts_as_nofollowed() -> None:
    s = step(live_state(), page(1, nofollow=True))
    assert (s.state.verdict, s.state.reason) == ("lost", "nofollowed") and "rel" not in s.changes


def test_a_link_nofollow_from_the_start_is_live_unless_the_user_expects_it_followed() -> None:
    assert step(LinkState(), page(0, rel="nofollow")).state.verdict == "live"
    s = step(LinkState(expected_follow=True), page(0, rel="nofollow"))
    assert (s.state.verdict, s.state.reason) == ("lost", "nofollowed")
    assert step(LinkState(expected_follow=False), page(0, rel="nofollow")).state.verdict == "live"


def test_the_expected_anchor_is_the_before_of_a_first_check() -> None:
    s = step(LinkState(expected_anchor="Example"), page(0, anchor="click here"))
    assert (s.state.verdict, s.state.reason) == ("changed", "anchor")
    assert s.changes["anchor"] == ["Example", "click here"]
    assert step(LinkState(expected_anchor="Example"), page(0)).state.verdict == "live"


def test_a_removal_is_reported_only_once_a_second_fetch_confirms_it() -> None:
    first = step(live_state(), page(1, found=False))
    assert (first.state.verdict, first.state.pending) == ("live", "removed") and first.changes == {}
    assert first.state.found_in == "" and first.state.anchor == "Example"  # the last link seen is kept
    confirmed = step(first.state, page(1.001, found=False))
    assert (confirmed.state.verdict, confirmed.state.reason, confirmed.state.pending) == ("lost", "removed", "")
    assert confirmed.changes == {"verdict": ["live", "lost"], "reason": [None, "removed"]}
    assert confirmed.state.live_since is None and confirmed.state.changed_at == at(1.001)


def test_a_removal_not_confirmed_clears_and_nothing_is_reported() -> None:
    first = step(live_state(), page(1, found=False))
    back = step(first.state, page(1.001))
    assert (back.state.verdict, back.state.pending, back.changes) == ("live", "", {})
    assert back.state.live_since == at(0)


def test_a_removal_pending_survives_a_failure_and_is_confirmed_by_the_next_page_read() -> None:
    steps = decide(live_state(), [page(1, found=False), failed(1.001), page(2, found=False)])
    assert [s.state.pending for s in steps] == ["removed", "removed", ""]
    assert (steps[-1].state.verdict, steps[-1].state.reason) == ("lost", "removed")


def test_failures_that_lose_the_link_leave_no_loss_pending() -> None:
    steps = decide(live_state(), [page(1, found=False)] + [failed(1.001 + n) for n in range(FAILURES_TO_LOSE)])
    assert (steps[-1].state.verdict, steps[-1].state.reason, steps[-1].state.pending) == ("lost", "page_gone", "")


# --- when a loss seen once is checked again ---------------------------------------------------

HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    "seen",
    [page(1, found=False), page(1, status=404), page(1, found=False, final_url="https://login.example.org/"),
     failed(1, "no_such_domain")],
    ids=["removed", "404", "redirected", "nxdomain"],
)  # fmt: skip
def test_a_loss_seen_once_is_due_confirm_after_later_not_a_day(seen: Observation) -> None:
    first = step(live_state(), seen, HOUR)
    assert first.state.pending and first.state.verdict == "live" and first.changes == {}
    assert first.state.next_check_at == at(1) + HOUR and first.state.interval_days == 1
    # Without confirm_after the caller confirms it in the same run: the due time is the interval's.
    assert step(live_state(), seen).state.next_check_at == at(2)


def test_a_later_check_confirms_or_clears_the_loss_and_the_interval_rule_resumes() -> None:
    first = step(live_state(), page(1, status=404), HOUR)
    confirmed = step(first.state, page(1 + 1 / 24, status=404), HOUR)
    assert (confirmed.state.verdict, confirmed.state.reason, confirmed.state.pending) == ("lost", "page_gone", "")
    assert confirmed.state.next_check_at == at(1 + 1 / 24) + timedelta(days=1)  # news: a day
    back = step(first.state, page(1 + 1 / 24), HOUR)
    assert (back.state.verdict, back.state.pending, back.changes) == ("live", "", {})
    assert back.state.interval_days == 2 and back.state.next_check_at == at(1 + 1 / 24 + 2)


def test_a_pending_loss_that_meets_a_failure_waits_the_interval_not_another_hour() -> None:
    first = step(live_state(), page(1, found=False), HOUR)
    down = step(first.state, failed(1 + 1 / 24), HOUR)
    assert (down.state.pending, down.state.failures) == ("removed", 1)
    assert down.state.next_check_at == at(1 + 1 / 24) + timedelta(days=1)


def test_confirm_after_changes_nothing_but_a_loss_seen_once() -> None:
    for obs in (page(1), page(1, anchor="Other"), page(1, noindex=True), failed(1), page(1, status=403)):
        assert step(live_state(), obs, HOUR) == step(live_state(), obs), obs
    lost = step(live_state(), page(1, noindex=True), HOUR).state
    assert step(lost, page(2, found=False), HOUR).state.next_check_at == at(3)  # lost: no second look


@pytest.mark.parametrize(("given", "delay"), [(0, None), (0.0, None), (90, timedelta(seconds=90)), (3600.0, HOUR)])
def test_confirm_after_is_seconds(given: float, delay: timedelta | None) -> None:
    assert confirm_delay(given) == delay


@pytest.mark.parametrize("given", [-1, float("nan"), float("inf"), 31 * 86400, True, "1h"])
def test_confirm_after_outside_0_to_30_days_is_refused(given: Any) -> None:
    with pytest.raises(ValueError, match="confirm_after must be a number of seconds from 0 to 2592000"):
        confirm_delay(given)


def test_a_first_check_that_misses_the_link_is_unconfirmed_then_removed() -> None:
    steps = decide(LinkState(), [page(0, found=False), page(0.001, found=False)])
    assert [(s.state.verdict, s.state.reason) for s in steps] == [("unknown", "unconfirmed"), ("lost", "removed")]


def test_a_link_that_comes_back_after_removal_is_live_again() -> None:
    lost = decide(live_state(), [page(1, found=False), page(1.001, found=False)])[-1].state
    back = step(lost, page(5))
    assert (back.state.verdict, back.state.live_since) == ("live", at(5))
    assert back.changes == {"verdict": ["lost", "live"], "reason": ["removed", None]}


REDIRECTED_AWAY: dict[str, Any] = {"final_url": "https://other.example/landing", "redirects": ((SOURCE, 302),)}
#: One answer that says the link cannot be reached, and the loss it would be: each may be a blip
#: (a login or consent redirect, a deploy's 404, a resolver's NXDOMAIN).
ONE_ANSWER_LOSSES = [
    pytest.param(page(1, found=False, status=404), "page_gone", id="404"),
    pytest.param(page(1, found=False, status=410), "page_gone", id="410"),
    pytest.param(page(1, found=False, status=451), "page_gone", id="451"),
    pytest.param(failed(1, "no_such_domain"), "page_gone", id="nxdomain"),
    pytest.param(page(1, found=False, **REDIRECTED_AWAY), "redirected", id="redirected"),
    pytest.param(page(1, found=False), "removed", id="removed"),
]


@pytest.mark.parametrize(("obs", "reason"), ONE_ANSWER_LOSSES)
def test_a_loss_seen_once_waits_for_a_second_answer(obs: Observation, reason: str) -> None:
    first = step(live_state(), obs)
    assert (first.state.verdict, first.state.reason, first.state.pending, first.changes) == ("live", "", reason, {})
    confirmed = step(first.state, replace(obs, checked_at=at(1.001)))
    assert (confirmed.state.verdict, confirmed.state.reason, confirmed.state.pending) == ("lost", reason, "")
    assert confirmed.changes == {"verdict": ["live", "lost"], "reason": [None, reason]}
    cleared = step(first.state, page(1.001))  # the blip passed: nothing to report
    assert (cleared.state.verdict, cleared.state.pending, cleared.changes) == ("live", "", {})
    never_seen = decide(LinkState(), [obs, replace(obs, checked_at=at(1.001))])
    assert [(s.state.verdict, s.state.reason) for s in never_seen] == [("unknown", "unconfirmed"), ("lost", reason)]


def test_a_loss_is_confirmed_by_another_loss_under_the_newest_reason() -> None:
    """A redirect to a login wall, then a 404: the link cannot be reached either way."""
    steps = decide(live_state(), [page(1, found=False, **REDIRECTED_AWAY), page(1.001, found=False, status=404)])
    assert [(s.state.verdict, s.state.reason, s.state.pending) for s in steps] == [
        ("live", "", "redirected"),
        ("lost", "page_gone", ""),
    ]


def test_a_lost_link_stays_lost_without_a_second_look() -> None:
    lost = decide(live_state(), [page(1, status=404, found=False), page(1.001, status=404, found=False)])[-1].state
    again = step(lost, page(2, found=False))  # the page is back, without the link: lost either way
    assert (again.state.verdict, again.state.reason, again.state.pending) == ("lost", "removed", "")


def test_a_dns_failure_that_may_pass_is_only_a_failure() -> None:
    s = step(live_state(), failed(1, "dns"))
    assert (s.state.verdict, s.state.failures, s.state.pending) == ("live", 1, "")


@pytest.mark.parametrize("obs", [failed(1, "timeout"), failed(1, "connect"), page(1, status=503, found=False),
                                 page(1, status=429, found=False), page(1, status=500, found=False)])  # fmt: skip
def test_timeouts_5xx_and_429_are_never_a_loss_until_they_repeat_three_times(obs: Observation) -> None:
    state = live_state()
    for n in range(1, FAILURES_TO_LOSE):
        s = step(state, obs)
        state = s.state
        assert (state.verdict, state.failures, s.changes) == ("live", n, {})
        assert state.interval_days == 1
    s = step(state, obs)
    assert (s.state.verdict, s.state.reason, s.state.failures) == ("lost", "page_gone", FAILURES_TO_LOSE)


def test_flapping_5xx_twice_then_200_is_never_lost() -> None:
    steps = decide(live_state(), [page(1, status=503, found=False), page(2, status=502, found=False), page(3)])
    assert [s.state.verdict for s in steps] == ["live", "live", "live"]
    assert [s.state.failures for s in steps] == [1, 2, 0]
    assert all(not s.changes for s in steps)


def test_a_failure_before_any_check_is_unknown_crawl_error() -> None:
    s = step(LinkState(), failed(0))
    assert (s.state.verdict, s.state.reason, s.state.failures) == ("unknown", "crawl_error", 1)
    assert s.state.live_since is None


def test_a_changed_verdict_carried_through_a_failure_becomes_live() -> None:
    changed = step(live_state(), page(1, anchor="New")).state
    s = step(changed, failed(2))
    assert (s.state.verdict, s.changes) == ("live", {})


def test_a_permanent_redirect_to_a_page_without_the_link_is_lost_redirected_once_confirmed() -> None:
    moved = page(1, found=False, final_url="https://other.example/landing", redirects=((SOURCE, 301),))
    steps = decide(live_state(), [moved, replace(moved, checked_at=at(1.001))])
    assert [(s.state.verdict, s.state.reason, s.state.pending) for s in steps] == [
        ("live", "", "redirected"),
        ("lost", "redirected", ""),
    ]


def test_a_page_cut_at_the_size_limit_without_the_link_is_unknown_not_lost() -> None:
    """The link may be in the part not read (a 6 MB page, its link near the end): no removal,
    pending or confirmed, and no alert; a link found in the part read is found."""
    first = step(live_state(), page(1, found=False, truncated=True))
    assert (first.state.verdict, first.state.reason, first.state.pending) == ("unknown", "truncated", "")
    again = step(first.state, page(2, found=False, truncated=True))
    assert (again.state.verdict, again.state.reason) == ("unknown", "truncated")
    assert step(first.state, page(3, truncated=True)).state.verdict == "live"


def test_a_redirect_to_the_same_page_or_one_that_keeps_the_link_is_no_loss() -> None:
    same = step(live_state(), page(1, final_url="http://blog.example.org/post/"))
    assert same.state.verdict == "live"
    # Moved for good (301/308) to a page that still links: the link is reached through the
    # redirect, as a reader and a search engine follow it; nothing to confirm, nothing changed.
    for status in (301, 308):
        moved = step(live_state(), page(1, final_url="https://new.example/post", redirects=((SOURCE, status),)))
        assert (moved.state.verdict, moved.state.pending, moved.changes) == ("live", "", {})
    # the same page by another scheme, without the link: a removal, not a redirect
    assert step(live_state(), page(1, found=False, final_url="http://blog.example.org/post")).state.pending == "removed"


def test_noindex_and_a_canonical_elsewhere_lose_the_link() -> None:
    s = step(live_state(), page(1, noindex=True))
    assert (s.state.verdict, s.state.reason) == ("lost", "noindex")
    c = step(live_state(), page(1, canonical="https://blog.example.org/other"))
    assert (c.state.verdict, c.state.reason) == ("lost", "canonicalized")
    own = step(live_state(), page(1, canonical="https://blog.example.org/post/"))
    assert own.state.verdict == "live"
    final = step(live_state(), page(1, final_url="https://new.example/p", canonical="https://new.example/p"))
    assert final.state.verdict == "live"


def test_a_missing_link_on_a_noindex_page_is_a_removal() -> None:
    assert step(live_state(), page(1, found=False, noindex=True)).state.pending == "removed"


@pytest.mark.parametrize("status", [401, 403, 407])
def test_a_page_that_refuses_us_is_unknown_blocked(status: int) -> None:
    s = step(live_state(), page(1, status=status, found=False))
    assert (s.state.verdict, s.state.reason, s.state.failures) == ("unknown", "blocked", 0)
    assert s.state.live_since is None


def test_robots_guard_and_unfetchable_urls_are_unknown() -> None:
    assert (step(live_state(), failed(1, "robots")).state.reason) == "robots"
    assert (step(live_state(), failed(1, "blocked")).state.reason) == "blocked"
    assert (step(live_state(), failed(1, "url")).state.reason) == "crawl_error"
    unavailable = step(live_state(), failed(1, "robots_unavailable")).state  # robots.txt 5xx: nothing fetched
    assert (unavailable.verdict, unavailable.reason, unavailable.failures) == ("unknown", "robots", 0)


def test_found_in_follows_the_newest_check_and_is_kept_through_failures() -> None:
    rendered = Observation(checked_at=at(1), source_url=SOURCE, status=200, final_url=SOURCE, found=True,
                           found_in="rendered", anchor="Example", section="content")  # fmt: skip
    s = step(live_state(), rendered)
    assert s.state.found_in == "rendered" and s.state.verdict == "live"
    assert step(s.state, failed(2)).state.found_in == "rendered"


def test_changed_at_moves_only_with_the_verdict_or_reason() -> None:
    steps = decide(LinkState(), [page(0), page(1), page(2, anchor="B"), page(3, anchor="B")])
    assert [s.state.changed_at for s in steps] == [at(0), at(0), at(2), at(3)]


def test_the_helpers() -> None:
    assert same_page("https://a.example/x/", "http://a.example/x") and not same_page(
        "https://a.example/x", "https://a.example/y"
    )
    assert followed(False, "noopener") and not followed(False, "UGC".lower()) and not followed(True, "")


def test_robots_txt_unavailable_never_adds_up_to_a_loss() -> None:
    # RFC 9309: a robots.txt answering 5xx means fetch nothing; the page was never seen.
    state = live_state()
    for day in (1, 2, 3, 4):
        state = step(state, failed(day, "robots_unavailable")).state
        assert (state.verdict, state.reason, state.failures) == ("unknown", "robots", 0)


def test_a_page_that_is_not_html_settles_nothing() -> None:
    state = live_state()
    after = step(state, page(1, found=False, not_html=True)).state
    assert (after.verdict, after.reason, after.pending) == ("live", "", "")
    first = step(LinkState(), page(1, found=False, not_html=True)).state
    assert (first.verdict, first.reason, first.pending) == ("unknown", "crawl_error", "")


def test_a_failed_render_settles_nothing_and_a_raw_page_cannot_lose_a_rendered_link() -> None:
    seen = Observation(checked_at=at(0), source_url=SOURCE, status=200, final_url=SOURCE, found=True,
                       found_in="rendered", rendered=True, anchor="Example", section="content")  # fmt: skip
    rendered = step(LinkState(), seen).state
    assert (rendered.verdict, rendered.found_in) == ("live", "rendered")
    failed_render = step(rendered, page(1, found=False, render_note="rendering failed: took longer than 20 s"))
    assert (failed_render.state.verdict, failed_render.state.pending) == ("live", "")
    raw_only = step(rendered, page(2, found=False))  # not rendered: the link cannot be in it
    assert (raw_only.state.verdict, raw_only.state.pending, raw_only.state.found_in) == ("live", "", "rendered")
    gone = step(rendered, page(3, found=False, rendered=True))  # rendered, and not there: a removal to confirm
    assert gone.state.pending == "removed"
    # A pending removal waits through an observation that settles nothing.
    waiting = step(gone.state, page(4, found=False, not_html=True)).state
    assert waiting.pending == "removed" and waiting.verdict == "live"
