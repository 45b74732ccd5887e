"""Received mentions without a server: sites, rules, the queue's state machine, moderation and
the spam score (each signal fires on a case made for it, and not on its near miss)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from linkback import mentions
from linkback.errors import ProtocolError, URLError
from linkback.mentions import Outcome, Receipt, SpamFacts
from linkback.mentions._moderation import APPROVE_BELOW, SPAM_FROM
from linkback.mentions._store import MAX_ATTEMPTS
from linkback.store import Store

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def con():
    with Store(":memory:") as store:
        mentions.add_site(store.con, "blog.example.com")
        mentions.add_site(store.con, "example.org", webhook_url="https://hooks.example.net/x", webhook_secret="k")
        yield store.con


# --- sites and rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "site"),
    [
        ("Blog.Example.COM", "blog.example.com"),
        ("blog.example.com:8080", "blog.example.com"),
        ("https://blog.example.com/path", "blog.example.com"),
        ("127.0.0.1", "127.0.0.1"),
        ("::1", "[::1]"),
        ("[2001:db8::1]:8443", "[2001:db8::1]"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("a" * 63 + ".example", "a" * 63 + ".example"),
    ],
)
def test_sites_are_normalised(text: str, site: str) -> None:
    assert mentions.normalize_site(text) == site


@pytest.mark.parametrize("text", ["not a host!", "", "http://", "a" * 5000, "a" * 64 + ".example", "ab." * 90 + "com"])
def test_what_is_not_a_site_is_refused(text: str) -> None:
    with pytest.raises(URLError):
        mentions.normalize_site(text)


def test_a_domain_covers_its_subdomains_and_a_host_only_itself() -> None:
    sites = ["example.org", "blog.example.com", "127.0.0.1"]
    assert mentions.site_of("www.example.org", sites) == "example.org"
    assert mentions.site_of("example.org", sites) == "example.org"
    assert mentions.site_of("blog.example.com", sites) == "blog.example.com"
    assert mentions.site_of("www.blog.example.com", sites) is None
    assert mentions.site_of("example.com", sites) is None
    assert mentions.site_of("badexample.org", sites) is None
    assert mentions.site_of("127.0.0.1", sites) == "127.0.0.1"
    assert mentions.site_of("1.127.0.0.1", sites) is None


def test_block_rules_win_over_allow_rules() -> None:
    rules = [("*", "allow", "friend.example"), ("blog.example.com", "block", "https://friend.example/spam")]
    assert mentions.rule_for(rules, "blog.example.com", "https://friend.example/post") == "allow"
    assert mentions.rule_for(rules, "blog.example.com", "https://friend.example/spam") == "block"
    assert mentions.rule_for(rules, "example.org", "https://friend.example/spam") == "allow"
    assert mentions.rule_for(rules, "example.org", "https://www.friend.example/a") == "allow"
    assert mentions.rule_for(rules, "example.org", "https://notfriend.example/a") is None


@pytest.mark.parametrize(
    ("source", "target", "code"),
    [
        ("", "https://blog.example.com/a", "invalid_request"),
        ("javascript:alert(1)", "https://blog.example.com/a", "invalid_source"),
        ("https://a.example/", "mailto:x@blog.example.com", "invalid_target"),
        ("https://blog.example.com/a#x", "https://blog.example.com/a#y", "invalid_request"),
        ("https://a.example/", "https://other.example/a", "target_not_supported"),
        ("https://spam.example/a", "https://blog.example.com/a", "blocked"),
    ],
)
def test_check_pair_refuses_with_a_reason(source: str, target: str, code: str) -> None:
    with pytest.raises(ProtocolError) as info:
        mentions.check_pair(source, target, ["blog.example.com"], [("*", "block", "spam.example")])
    assert info.value.code == code


def test_check_pair_normalises_and_drops_the_target_fragment() -> None:
    assert mentions.check_pair(
        "HTTPS://A.example/x", "https://BLOG.example.com:443/a#c1", ["blog.example.com"], []
    ) == (
        "https://a.example/x",
        "https://blog.example.com/a",
        "blog.example.com",
    )


# --- the queue -----------------------------------------------------------------------------------


def receipt(source: str = "https://a.example/r", target: str = "https://blog.example.com/p", **kw) -> Receipt:
    return Receipt(kw.pop("protocol", "webmention"), source, target, kw.pop("site", "blog.example.com"), **kw)


def test_receipts_are_idempotent_per_source_and_target(con) -> None:
    [(first, new)] = mentions.receive_many(con, [receipt()], NOW)
    assert new
    ids = mentions.receive_many(con, [receipt(), receipt(source="https://b.example/r"), receipt()], NOW + timedelta(1))
    assert ids[0] == ids[2] == (first, False) and ids[1][1]
    row = mentions.get(con, first)
    assert row["hits"] == 3 and row["status"] == "queued" and row["state"] == "pending"
    assert [m["mention_id"] for m in mentions.due(con, NOW + timedelta(1))] == [first, ids[1][0]]
    assert mentions.due(con, NOW + timedelta(1), exclude=[first])[0]["mention_id"] == ids[1][0]


def test_a_delayed_receipt_is_not_due_until_its_lease_ends(con) -> None:
    mentions.receive_many(con, [receipt(protocol="pingback", delay=120)], NOW)
    assert mentions.due(con, NOW + timedelta(seconds=119)) == []
    assert len(mentions.due(con, NOW + timedelta(seconds=121))) == 1


def test_verification_outcomes_drive_status_state_and_events(con) -> None:
    [(mid, _)] = mentions.receive_many(con, [receipt()], NOW)
    content = {"type": "reply", "wm_property": "in-reply-to", "author_name": "Alice"}
    events = mentions.record_outcome(con, mid, Outcome("verified", content=content, decision="approved"), NOW)
    assert events == ["new", "approved"]
    row = mentions.get(con, mid)
    assert (row["status"], row["state"], row["author_name"]) == ("verified", "approved", "Alice")
    # A re-sent, still-linking mention is an update, not a new response.
    mentions.receive_many(con, [receipt()], NOW + timedelta(1))
    assert mentions.record_outcome(con, mid, Outcome("verified", content=content, decision="pending"), NOW) == []
    assert mentions.get(con, mid)["state"] == "approved"
    # The source dropped the link: deleted, and the webhook hears it.
    mentions.receive_many(con, [receipt()], NOW + timedelta(2))
    assert mentions.record_outcome(con, mid, Outcome("deleted", "no_link_found"), NOW) == ["deleted"]
    row = mentions.get(con, mid)
    assert (row["status"], row["state"], row["reason"]) == ("deleted", "deleted", "no_link_found")
    # Linking again brings it back through the policy.
    mentions.receive_many(con, [receipt()], NOW + timedelta(3))
    assert mentions.record_outcome(con, mid, Outcome("verified", content=content, decision="pending"), NOW) == ["new"]
    assert mentions.get(con, mid)["state"] == "pending"


def test_a_never_verified_mention_is_rejected_not_deleted(con) -> None:
    [(mid, _)] = mentions.receive_many(con, [receipt()], NOW)
    assert mentions.record_outcome(con, mid, Outcome("deleted", "gone"), NOW) == []
    assert mentions.get(con, mid)["status"] == "rejected"


def test_transient_failures_are_retried_with_backoff_then_rejected(con) -> None:
    [(mid, _)] = mentions.receive_many(con, [receipt()], NOW)
    for attempt in range(1, MAX_ATTEMPTS):
        mentions.record_outcome(con, mid, Outcome("retry", "source_status_503"), NOW)
        row = mentions.get(con, mid)
        assert row["status"] == "queued" and row["attempts"] == attempt
        assert row["next_attempt_at"] == NOW + mentions._store.retry_delay(attempt)
    mentions.record_outcome(con, mid, Outcome("retry", "source_status_503"), NOW)
    assert mentions.get(con, mid)["status"] == "rejected"


def test_a_spam_decision_is_kept_across_updates(con) -> None:
    [(mid, _)] = mentions.receive_many(con, [receipt()], NOW)
    mentions.record_outcome(con, mid, Outcome("verified", decision="spam"), NOW)
    mentions.receive_many(con, [receipt()], NOW + timedelta(1))
    mentions.record_outcome(con, mid, Outcome("verified", decision="approved"), NOW)
    assert mentions.get(con, mid)["state"] == "spam"


def test_moderation_by_id_and_by_domain(con) -> None:
    ids = [
        mid
        for mid, _ in mentions.receive_many(
            con,
            [
                receipt(source="https://a.example/1"),
                receipt(source="https://www.a.example/2"),
                receipt(source="https://b.example/3"),
            ],
            NOW,
        )
    ]
    for mid in ids:
        mentions.record_outcome(con, mid, Outcome("verified", decision="pending"), NOW)
    assert mentions.moderate(con, "approve", ids=[ids[0], ids[2]]) == [(ids[0], "approved"), (ids[2], "approved")]
    events = mentions.moderate(con, "delete", domain="a.example")
    assert sorted(events) == [(ids[0], "deleted")]  # only an approved one was ever shown
    assert [mentions.get(con, i)["state"] for i in ids] == ["deleted", "deleted", "approved"]
    assert ("*", "block", "a.example") in mentions.stored_rules(con)
    # an unverified mention cannot be approved
    [(queued, _)] = mentions.receive_many(con, [receipt(source="https://c.example/4")], NOW)
    assert mentions.moderate(con, "approve", ids=[queued]) == []
    with pytest.raises(ValueError):
        mentions.moderate(con, "promote", ids=ids)


def test_only_verified_and_approved_mentions_are_displayed(con) -> None:
    rows = mentions.receive_many(con, [receipt(source=f"https://s{i}.example/") for i in range(4)], NOW)
    decisions = ["approved", "pending", "spam", "approved"]
    for (mid, _), decision in zip(rows, decisions):
        mentions.record_outcome(con, mid, Outcome("verified", content={"type": "like"}, decision=decision), NOW)
    mentions.record_outcome(con, rows[3][0], Outcome("deleted", "gone"), NOW)
    shown, total = mentions.approved(con, targets=["https://blog.example.com/p"])
    assert total == 1 and [r["mention_id"] for r in shown] == [rows[0][0]]
    # Re-sent (queued again for re-verification), it stays shown as it was.
    mentions.receive_many(con, [receipt(source="https://s0.example/")], NOW + timedelta(1))
    assert mentions.approved(con, targets=["https://blog.example.com/p"])[1] == 1
    # A never-verified queued mention is not shown, even if someone approved its row.
    assert mentions.moderate(con, "approve", ids=[rows[1][0]]) == [(rows[1][0], "approved")]
    [(fresh, _)] = mentions.receive_many(con, [receipt(source="https://s9.example/")], NOW)
    con.execute("UPDATE mentions SET state = 'approved' WHERE mention_id = ?", [fresh])
    assert {r["mention_id"] for r in mentions.approved(con, targets=["https://blog.example.com/p"])[0]} == {
        rows[0][0],
        rows[1][0],
    }


def test_webhooks_are_queued_for_sites_that_have_one(con) -> None:
    [(mid, _)] = mentions.receive_many(con, [receipt(target="https://www.example.org/a", site="example.org")], NOW)
    mentions.record_outcome(con, mid, Outcome("verified", decision="approved"), NOW)
    assert mentions.queue_webhook(con, mid, "approved", NOW)
    [(mid2, _)] = mentions.receive_many(con, [receipt()], NOW)
    assert not mentions.queue_webhook(con, mid2, "new", NOW)  # blog.example.com has no webhook
    (payload,) = con.execute("SELECT payload FROM webhook_deliveries").fetchall()[0]
    assert '"event": "approved"' in payload and '"wm-target": "https://www.example.org/a"' in payload


# --- the spam score ------------------------------------------------------------------------------

BASE = SpamFacts(protocol="webmention")


@pytest.mark.parametrize(
    ("signal", "fires", "near_miss"),
    [
        ("link_in_comments", SpamFacts("webmention", section="comment"), SpamFacts("webmention", section="content")),
        ("link_in_boilerplate", SpamFacts("webmention", section="footer"), SpamFacts("webmention", section="content")),
        ("link_farm_page", SpamFacts("webmention", outlinks=101), SpamFacts("webmention", outlinks=100)),
        (
            "sender_not_source",
            SpamFacts("trackback", sender_ip="203.0.113.9", source_addresses=["198.51.100.1"]),
            SpamFacts("trackback", sender_ip="198.51.100.1", source_addresses=["198.51.100.1", "2001:db8::1"]),
        ),
        (
            "spam_words",
            SpamFacts("webmention", text="Cheap VIAGRA here"),
            SpamFacts("webmention", text="Viagraville town fair"),
        ),
        ("toxic_source", SpamFacts("webmention", source_toxicity=50), SpamFacts("webmention", source_toxicity=49)),
        ("new_source_domain", SpamFacts("webmention", source_domain_known=False), BASE),
        ("no_date", SpamFacts("webmention", has_date=False), BASE),
        ("known_sender", SpamFacts("webmention", approved_from_host=1), BASE),
        # verification result: how the link was found
        ("json_only", SpamFacts("webmention", element="json"), SpamFacts("webmention", element="a")),
        ("text_only", SpamFacts("webmention", element="text"), SpamFacts("webmention", element="img")),
        # source age
        (
            "future_date",
            SpamFacts("webmention", published=NOW + timedelta(days=1, minutes=1), checked_at=NOW),
            SpamFacts("webmention", published=NOW + timedelta(hours=23), checked_at=NOW),
        ),
        (
            "fresh_new_domain",
            SpamFacts("webmention", source_domain_known=False, published=NOW - timedelta(hours=23), checked_at=NOW),
            SpamFacts("webmention", source_domain_known=False, published=NOW - timedelta(days=2), checked_at=NOW),
        ),
    ],
)
def test_each_spam_signal_fires_and_its_near_miss_does_not(signal: str, fires: SpamFacts, near_miss: SpamFacts) -> None:
    assert signal in mentions.spam_signals(fires)
    assert signal not in mentions.spam_signals(near_miss)


def test_verification_result_and_source_age_signals_have_reasons_and_weights() -> None:
    docs = {s.name: s.doc for s in mentions.SPAM_SIGNALS}
    for name in ("json_only", "text_only", "future_date", "fresh_new_domain"):
        assert docs[name] and mentions.spam_score([name]) > 0
    # A plain-text match on a brand-new domain is held for moderation, not auto-approved.
    facts = SpamFacts("webmention", element="text", has_date=False, source_domain_known=False)
    assert set(mentions.spam_signals(facts)) == {"text_only", "no_date", "new_source_domain"}
    assert mentions.spam_score(mentions.spam_signals(facts)) >= APPROVE_BELOW


def test_a_fresh_post_on_a_known_domain_is_not_suspicious() -> None:
    fresh = SpamFacts("webmention", published=NOW - timedelta(minutes=5), checked_at=NOW)
    assert mentions.spam_signals(fresh) == []
    # A future date is one signal, not also "fresh".
    ahead = SpamFacts("webmention", source_domain_known=False, published=NOW + timedelta(days=3), checked_at=NOW)
    assert mentions.spam_signals(ahead) == ["new_source_domain", "future_date"]


def test_sender_not_source_is_only_for_trackback_and_pingback() -> None:
    facts = SpamFacts("webmention", sender_ip="203.0.113.9", source_addresses=["198.51.100.1"])
    assert "sender_not_source" not in mentions.spam_signals(facts)


def test_site_words_are_spam_words_for_that_site() -> None:
    assert "spam_words" in mentions.spam_signals(
        SpamFacts("webmention", text="best crypto bonus", extra_words=["crypto bonus"])
    )


def test_the_score_is_a_noisy_or_and_a_known_sender_halves_it() -> None:
    assert mentions.spam_score([]) == 0
    assert mentions.spam_score(["spam_words"]) == 60
    assert mentions.spam_score(["spam_words", "sender_not_source"]) == 80  # 1 - 0.4 * 0.5
    assert mentions.spam_score(["spam_words", "known_sender"]) == 30


@pytest.mark.parametrize(
    ("policy", "rule", "score", "state"),
    [
        ("auto", None, APPROVE_BELOW - 1, "approved"),
        ("auto", None, APPROVE_BELOW, "pending"),
        ("auto", None, SPAM_FROM, "spam"),
        ("moderate", None, 0, "pending"),
        ("allowlist", None, 0, "pending"),
        ("allowlist", "allow", 0, "approved"),
        ("moderate", "allow", 95, "approved"),
    ],
)
def test_the_site_policy_decides(policy: str, rule: str | None, score: int, state: str) -> None:
    assert mentions.decide(policy, rule, score) == state
    assert mentions.decide(policy, rule, score, protocol="webmention") == state


@pytest.mark.parametrize(
    ("policy", "rule", "score", "state"),
    [
        ("auto", None, 0, "pending"),
        ("auto", None, APPROVE_BELOW - 1, "pending"),
        ("allowlist", "allow", 0, "pending"),
        ("moderate", None, 0, "pending"),
        ("auto", None, SPAM_FROM, "spam"),
        ("auto", "allow", SPAM_FROM, "spam"),
    ],
)
def test_a_verified_refback_is_pending_whatever_the_policy(policy: str, rule: str | None, score: int, state: str):
    """specs §9, Refback: "verified one stored `pending`"; spam is still spam."""
    assert mentions.decide(policy, rule, score, protocol="refback") == state


def test_spam_words_are_rules_that_never_block_or_allow(con) -> None:
    assert mentions.add_rule(con, "word", "  Crypto   BONUS ", site="blog.example.com") == "crypto bonus"
    mentions.add_rule(con, "word", "casino")
    rules = mentions.stored_rules(con)
    assert sorted(mentions.spam_words(rules, "blog.example.com")) == ["casino", "crypto bonus"]
    assert mentions.spam_words(rules, "example.org") == ["casino"]
    assert mentions.rule_for(rules, "blog.example.com", "https://casino.example/") is None
    assert mentions.remove_rule(con, "casino")
    with pytest.raises(ValueError):
        mentions.add_rule(con, "word", "   ")


def test_a_plain_insert_of_a_known_pair_raises_so_the_writer_can_upsert(con) -> None:
    import duckdb

    [(first, _)] = mentions.receive_many(con, [receipt()], NOW, assume_new=True)
    con.execute("BEGIN TRANSACTION")
    with pytest.raises(duckdb.ConstraintException):
        mentions.receive_many(con, [receipt(), receipt(source="https://new.example/")], NOW, assume_new=True)
    con.execute("ROLLBACK")
    assert mentions.receive_many(con, [receipt()], NOW + timedelta(seconds=1))[0] == (first, False)
    assert con.execute("SELECT count(*) FROM mentions").fetchall()[0][0] == 1
