"""Moderating an id that names no mention is an error that names it, and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from linkback import mentions
from linkback.mentions import NoSuchMention, Outcome, Receipt

NOW = datetime(2024, 5, 1, tzinfo=UTC)


@pytest.fixture
def con():  # noqa: ANN201
    from linkback.store import Store

    store = Store(":memory:")
    yield store.con
    store.close()


def _verified(con, n: int) -> list[int]:  # noqa: ANN001
    receipts = [Receipt("webmention", f"https://s{i}.example/", "https://blog.example.com/p", "blog.example.com")
                for i in range(n)]  # fmt: skip
    ids = [mid for mid, _ in mentions.receive_many(con, receipts, NOW)]
    for mid in ids:
        mentions.record_outcome(con, mid, Outcome("verified", decision="pending"), NOW)
    return ids


def test_an_unknown_id_raises_with_the_ids_and_nothing_changes(con) -> None:  # noqa: ANN001
    [known] = _verified(con, 1)
    with pytest.raises(NoSuchMention) as raised:
        mentions.moderate(con, "approve", ids=[known, 99, 98, 99])
    assert raised.value.ids == (99, 98) and str(raised.value) == "no mentions 99, 98"
    assert mentions.get(con, known)["state"] == "pending"
    with pytest.raises(NoSuchMention, match=r"^no mention 99$"):
        mentions.moderate(con, "delete", ids=[99])
    assert mentions.moderate(con, "approve", ids=[known]) == [(known, "approved")]


def test_missing_mentions(con) -> None:  # noqa: ANN001
    ids = _verified(con, 2)
    assert mentions.missing_mentions(con, [*ids, 7, 7]) == [7]
    assert mentions.missing_mentions(con, []) == []
