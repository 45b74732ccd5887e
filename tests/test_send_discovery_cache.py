"""The discovery cache's freshness rules, without a server (RFC 9111 as a private cache; WM §5.3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from linkback.send._discovery_cache import (
    MAX_FRESHNESS,
    CacheEntry,
    cache_control,
    entry_for,
    freshness,
    load_entries,
    revalidated,
    save_entries,
)
from linkback.store import Store

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
DATE = "Mon, 02 Nov 2026 10:00:00 GMT"  # NOW on the wire


def until(**delta: float) -> datetime:
    return NOW + timedelta(**delta)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("Cache-Control", "max-age=600")], (True, until(seconds=600))),
        ([("cache-control", "private, MAX-AGE=600")], (True, until(seconds=600))),  # private: we are one
        ([("Cache-Control", 's-maxage=9999, max-age="60"')], (True, until(seconds=60))),  # s-maxage is ignored
        ([("Cache-Control", "s-maxage=9999")], (True, None)),
        ([("Cache-Control", "public"), ("Cache-Control", "max-age=60")], (True, until(seconds=60))),  # two fields
        ([("Cache-Control", "max-age=600"), ("Age", "100")], (True, until(seconds=500))),
        ([("Cache-Control", "max-age=600"), ("Age", "700")], (True, None)),
        ([("Cache-Control", "max-age=99999999")], (True, NOW + MAX_FRESHNESS)),  # capped
        ([("Cache-Control", "max-age=0")], (True, None)),
        ([("Cache-Control", "max-age=-5")], (True, None)),  # invalid: stale
        ([("Cache-Control", "max-age=soon")], (True, None)),
        ([("Cache-Control", "no-cache, max-age=600")], (True, None)),
        ([("Cache-Control", 'no-cache="Set-Cookie", max-age=600')], (True, None)),  # treated as no-cache
        ([("Cache-Control", "max-age=600, no-store")], (False, None)),
        ([("Cache-Control", 'private="x, no-store", max-age=60')], (True, until(seconds=60))),  # quoted comma
        ([("Date", DATE), ("Expires", "Mon, 02 Nov 2026 11:00:00 GMT")], (True, until(hours=1))),
        # Expires counts from the target's Date, not from our clock.
        ([("Date", "Mon, 02 Nov 2026 09:00:00 GMT"), ("Expires", DATE)], (True, until(hours=1))),
        ([("Expires", "Mon, 02 Nov 2026 10:30:00 GMT")], (True, until(minutes=30))),  # no Date: ours
        ([("Date", DATE), ("Expires", "0")], (True, None)),
        ([("Date", DATE), ("Expires", "Mon, 02 Nov 2026 09:00:00 GMT")], (True, None)),
        (
            [("Date", DATE), ("Expires", "Mon, 02 Nov 2026 11:00:00 GMT"), ("Cache-Control", "max-age=60")],
            (True, until(seconds=60)),
        ),  # max-age wins  # fmt: skip
        ([("Date", DATE), ("Expires", "Mon, 01 Nov 2027 10:00:00 GMT")], (True, NOW + MAX_FRESHNESS)),
        ([], (True, None)),  # no heuristic freshness
        ([("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")], (True, None)),
    ],
)
def test_freshness(headers, expected) -> None:
    assert freshness(headers, NOW) == expected


def test_cache_control_directives() -> None:
    assert cache_control([("Cache-Control", 'Max-Age=5, no-cache="a, b", private'), ("X", "max-age=1")]) == {
        "max-age": "5",
        "no-cache": "a, b",
        "private": None,
    }


ENDPOINTS = ("https://them.example/wm", "", "")


def entry(**changes) -> CacheEntry | None:
    args = dict(
        status=200,
        headers=[("Cache-Control", "max-age=60"), ("ETag", '"e"')],
        final_url="https://them.example/post",
        redirected=False,
        received_at=NOW,
    )
    return entry_for("https://them.example/post", ENDPOINTS, **{**args, **changes})


def test_what_is_stored() -> None:
    stored = entry()
    assert stored.endpoints == ENDPOINTS and stored.expires_at == until(seconds=60) and stored.etag == '"e"'
    assert stored.fresh(until(seconds=59)) and not stored.fresh(until(seconds=60))
    assert stored.validators() == {"If-None-Match": '"e"'}
    assert entry(status=404) is None and entry(status=410) is None and entry(status=301) is None
    assert entry(status=204) is not None
    assert entry(headers=[("Cache-Control", "no-store"), ("ETag", '"e"')]) is None
    assert entry(headers=[]) is None  # neither fresh nor revalidatable: nothing to keep
    kept = entry(headers=[("Last-Modified", DATE)])
    assert kept.expires_at is None and not kept.fresh(NOW) and kept.validators() == {"If-Modified-Since": DATE}
    redirected = entry(redirected=True, final_url="https://them.example/new")
    assert redirected.expires_at is None and redirected.etag == '"e"' and redirected.final_url.endswith("/new")


def test_a_304_renews_the_entry_from_its_own_headers() -> None:
    stored = entry(headers=[("ETag", '"e"'), ("Last-Modified", DATE)])
    later = until(hours=2)
    renewed = revalidated(stored, [("Cache-Control", "max-age=30")], redirected=False, received_at=later)
    assert renewed.endpoints == ENDPOINTS and (renewed.etag, renewed.last_modified) == ('"e"', DATE)
    assert (renewed.fetched_at, renewed.expires_at) == (later, later + timedelta(seconds=30))
    assert revalidated(stored, [("ETag", '"f"')], redirected=False, received_at=later).etag == '"f"'
    assert revalidated(stored, [("Cache-Control", "max-age=30")], redirected=True, received_at=later).expires_at is None
    assert revalidated(stored, [("Cache-Control", "no-store")], redirected=False, received_at=later) is None


def test_entries_round_trip_through_the_store() -> None:
    with Store(":memory:") as store:
        a = entry()
        b = entry_for(
            "https://b.example/",
            ("", "https://b.example/xmlrpc", ""),
            status=200,
            headers=[("ETag", '"b"')],
            final_url="https://b.example/",
            redirected=False,
            received_at=NOW,
        )
        save_entries(store.con, {a.target: a, b.target: b})
        assert load_entries(store.con, [a.target, b.target, "https://c.example/"]) == {a.target: a, b.target: b}
        save_entries(store.con, {a.target: None})
        assert load_entries(store.con, [a.target, b.target]) == {b.target: b}
        store.con.execute("DROP TABLE discovery_cache")  # a store without the table works without the cache
        save_entries(store.con, {a.target: a})
        assert load_entries(store.con, [a.target]) == {}
