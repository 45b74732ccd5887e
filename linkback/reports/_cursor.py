"""Keyset pagination for the reports that can have millions of rows (backlinks, refdomains, anchors, pages).

Each sort of these reports is a total order: its keys, then keys that make a row unique (a
link's identity ``source_url, target_url, kind, anchor``; a group's name). The next page is not
``OFFSET n``, which reads and sorts the ``n`` rows it skips, but a WHERE keeping only the rows
that come after the last row shown, in exactly that order, so a page deep in the report costs
about what the first one does::

    page = backlinks(store, "example.com", limit=100)
    more = backlinks(store, "example.com", limit=100, after=next_cursor("backlinks", "first_seen", page[-1]))

A cursor is an opaque token (URL-safe base64 of a checksum and JSON of the report, the sort and
the last row's sort key). It can be made from a row as JSON carries it, so timestamps are keys
to the second (the JSON precision), ties within a second being broken by the keys after them.
A cursor that was changed or cut, or made for another report or sort, is a :class:`CursorError`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from linkback.errors import LinkbackError

#: The reports :func:`next_cursor` knows, by the name they are registered under.
PAGED_REPORTS = ("backlinks", "refdomains", "anchors", "pages", "intersect", "linked_domains", "broken")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: Seconds from 1970 of 0001-01-01T00:00:01 and 9999-12-31T23:59:58: a cursor's time is a date.
_MIN_SECONDS, _MAX_SECONDS = -62_135_596_799, 253_402_300_798
#: A cursor holds a few URLs and an anchor at most; anything longer is not one of ours.
_MAX_LENGTH = 16384
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
_CHECK = 6


class CursorError(LinkbackError, ValueError):
    """An ``after`` cursor that is not one this report and sort gave (the API answers 400)."""


@dataclass(frozen=True)
class Key:
    """One key of a sort: the row's value under ``name``, ordered by the SQL ``sql`` (the column
    ``name`` unless given). NULLs always come last. ``from_row`` computes a value the row does not
    carry. Timestamps order to the second, as JSON shows them."""

    name: str
    desc: bool = False
    kind: Literal["text", "number", "time"] = "text"
    sql: str = ""
    from_row: Callable[[Mapping[str, Any]], Any] | None = None

    @property
    def column(self) -> str:
        return self.sql or self.name

    @property
    def expr(self) -> str:
        # Whole seconds, as JSON carries them, as an integer: as cheap as the column itself in
        # a top-N sort (date_trunc('second', ...) made the first page ~1.7x as slow).
        return f"(epoch_us({self.column}) // 1000000)" if self.kind == "time" else self.column


Order = tuple[Key, ...]
_ORDERS: dict[str, dict[str, Order]] = {}


def register_orders(report: str, orders: dict[str, Order]) -> dict[str, str]:
    """Record the sorts of ``report``; their ``ORDER BY`` clauses by name (the report's ``*_SORTS``)."""
    _ORDERS[report] = orders
    return {name: order_by(keys) for name, keys in orders.items()}


def order_by(keys: Order) -> str:
    return ", ".join(f"{k.expr} {'DESC' if k.desc else 'ASC'} NULLS LAST" for k in keys)


def orders_of(report: str) -> dict[str, Order]:
    if report not in _ORDERS:
        import linkback.reports  # noqa: F401, PLC0415 - its modules register their sorts

    try:
        return _ORDERS[report]
    except KeyError:
        raise ValueError(f"{report!r} has no cursor; these do: {', '.join(PAGED_REPORTS)}") from None


def _report_name(report: str | Callable[..., Any]) -> str:
    if isinstance(report, str):
        return report
    face = getattr(report, "face", None)
    return face.name if face is not None else report.__name__


def _seconds(value: datetime) -> int:
    """Whole seconds since 1970, cut toward zero as ``epoch_us(x) // 1000000`` cuts them."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    micros = (value - _EPOCH) // timedelta(microseconds=1)
    return micros // 1_000_000 if micros >= 0 else -(-micros // 1_000_000)


def _key_value(key: Key, row: Mapping[str, Any]) -> Any:
    value = key.from_row(row) if key.from_row is not None else row[key.name]
    if value is None:
        return None
    if key.kind == "time":
        when = datetime.fromisoformat(value) if isinstance(value, str) else value
        return _seconds(when)
    return value


def next_cursor(report: str | Callable[..., Any], sort: str, last_row: Mapping[str, Any]) -> str:
    """The ``after`` cursor for the page that follows ``last_row`` of ``report`` sorted by ``sort``.

    ``report`` is a report's name (``"backlinks"``) or the function; ``last_row`` a row it
    returned, as Python or JSON has it.
    """
    name = _report_name(report)
    orders = orders_of(name)
    if not sort and len(orders) == 1:
        (sort,) = orders  # a report with one order takes no sort parameter
    keys = orders.get(sort)
    if keys is None:
        raise ValueError(f"unknown sort {sort!r} of {name}")
    try:
        values = [_key_value(k, last_row) for k in keys]
    except KeyError as exc:
        raise ValueError(f"a {name} row has no {exc.args[0]!r}: give a row the report returned") from None
    payload = json.dumps({"r": name, "s": sort, "k": values}, separators=(",", ":"), ensure_ascii=False)
    body = payload.encode()
    return base64.urlsafe_b64encode(_check(body) + body).decode().rstrip("=")


def _check(body: bytes) -> bytes:
    # Not a secret: a cursor only says where a page starts. The checksum catches a cursor that
    # was cut or edited by hand before it silently starts somewhere else.
    return hashlib.blake2b(body, digest_size=_CHECK, person=b"lb-cursor").digest()


_BAD = "after: not a cursor this report gave (copy the whole token from a next-page link or hint)"


def _decode(token: str) -> dict[str, Any]:
    if not isinstance(token, str) or len(token) > _MAX_LENGTH or not _TOKEN.fullmatch(token):
        raise CursorError(_BAD)
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise CursorError(_BAD) from None
    check, body = raw[:_CHECK], raw[_CHECK:]
    if len(check) < _CHECK or not hmac.compare_digest(check, _check(body)):
        raise CursorError(_BAD)
    try:
        data = json.loads(body)
    except ValueError:
        raise CursorError(_BAD) from None
    if not isinstance(data, dict) or not isinstance(data.get("k"), list):
        raise CursorError(_BAD)
    return data


_SURROGATE = re.compile("[\ud800-\udfff]")


def _valid(key: Key, value: Any) -> bool:
    if value is None:
        return True
    if key.kind == "text":  # text SQL can hold: no lone surrogate (JSON can carry one)
        return isinstance(value, str) and not _SURROGATE.search(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if key.kind == "time":  # whole seconds a date can hold, with a second to spare each side
        return isinstance(value, int) and _MIN_SECONDS <= value <= _MAX_SECONDS
    if isinstance(value, int):  # the integers a column holds: 64 bits, signed or not
        return -(2**63) <= value < 2**64
    return key.kind == "number" and math.isfinite(value)


def read_cursor(report: str, sort: str, token: str) -> list[Any]:
    """The sort-key values a cursor of ``report`` carries, checked against ``sort``."""
    data = _decode(token)
    if data.get("r") != report:
        raise CursorError(f"after: this cursor pages the {data.get('r')} report, not {report}")
    if data.get("s") != sort:
        raise CursorError(
            f"after: this cursor continues sort={data.get('s')}, not sort={sort}; "
            "sort as it did, or start again without after"
        )
    keys = orders_of(report)[sort]
    values = data["k"]
    if len(values) != len(keys) or not all(_valid(k, v) for k, v in zip(keys, values, strict=True)):
        raise CursorError(_BAD)
    return values


def after_sql(keys: Order, values: list[Any]) -> tuple[str, list[Any]]:
    """The WHERE condition keeping the rows that come after ``values`` in the order of ``keys``.

    ``(k1 after v1) OR (k1 = v1 AND k2 after v2) OR ...``, where "after" follows each key's
    direction with NULLs last; ANDed with a plain bound on the first key's column that the
    scan can apply early.
    """
    terms, params = [], []
    equal: list[str] = []
    equal_params: list[Any] = []
    for key, value in zip(keys, values, strict=True):
        if value is not None:
            beyond = f"({key.expr} {'<' if key.desc else '>'} ? OR {key.expr} IS NULL)"
            terms.append("(" + " AND ".join([*equal, beyond]) + ")")
            params += [*equal_params, value]
            equal.append(f"{key.expr} = ?")
            equal_params.append(value)
        else:
            equal.append(f"{key.expr} IS NULL")  # nothing comes after a NULL but other NULLs
    chain = " OR ".join(terms) or "false"
    bound, bound_params = _bound(keys[0], values[0])
    return f"{bound} AND ({chain})", bound_params + params


def _bound(key: Key, value: Any) -> tuple[str, list[Any]]:
    """A condition on the first key's column that every row after ``value`` meets."""
    if value is None:
        return f"{key.column} IS NULL", []
    if key.kind == "time":
        # The key is whole seconds: a row after it is before the next second (or from the
        # previous one on); on the column itself, so the scan can use it.
        edge = _EPOCH + timedelta(seconds=value + (1 if key.desc else -1))
        return f"({key.column} {'<' if key.desc else '>'} ? OR {key.column} IS NULL)", [edge]
    return f"({key.column} {'<=' if key.desc else '>='} ? OR {key.column} IS NULL)", [value]
