"""Periods of days for the reports over time: presets, comparison periods, cutting into weeks and
months, and days as the SQL counts them (UTC days, numbered from 1970-01-01)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from linkback.reports._select import check_choice

#: ``compare`` choices: the period of the same length just before, the same dates a year earlier, none.
COMPARES = ("previous", "year", "none")
#: ``by`` choices of :func:`~linkback.reports._trend.growth` (weeks start on Monday).
GROWTH_PERIODS = ("day", "week", "month")
#: Periods the dashboard offers, each ending today: days back, or ``12m`` (a year), ``all`` (no start).
PRESETS = ("7d", "30d", "90d", "12m", "all")

EPOCH = date(1970, 1, 1)


def day_sql(column: str) -> str:
    """SQL for the UTC day of a TIMESTAMPTZ as days since 1970-01-01: integer arithmetic, a
    third of the cost of a time-zone conversion and a cast per row, whatever the session zone."""
    return f"(epoch_us({column}) // 86400000000)::INTEGER"


def day_number(day: date) -> int:
    return (day - EPOCH).days


def from_number(number: int) -> date:
    return EPOCH + timedelta(days=int(number))


@dataclass(frozen=True)
class Period:
    """Days ``since`` to ``until``, both included."""

    since: date
    until: date

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1


def today() -> date:
    return datetime.now(timezone.utc).date()


#: The days a period may start or end on: a link is no older than the web, and a period's
#: comparison (a year or a period earlier) and its day arithmetic stay within Python's dates.
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)


def parse_day(name: str, text: str | date | None) -> date | None:
    """A ``YYYY-MM-DD`` date (None stays None); a clear error naming ``name`` otherwise."""
    if text is None:
        return None
    if not isinstance(text, date):
        text = text.strip()
        if not text:
            return None
        try:
            text = date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{name} {text!r}: give a date as YYYY-MM-DD") from None
    if not FIRST_DAY <= (text.date() if isinstance(text, datetime) else text) <= LAST_DAY:
        raise ValueError(f"{name} {text}: give a date from {FIRST_DAY} to {LAST_DAY}")
    return text


def year_before(day: date) -> date:
    """The same date a year earlier (29 February becomes the 28th)."""
    return day.replace(year=day.year - 1, day=min(day.day, calendar.monthrange(day.year - 1, day.month)[1]))


def preset_since(preset: str, until: date) -> date | None:
    """The first day of the :data:`PRESETS` period ``preset`` that ends on ``until`` (None: all time)."""
    check_choice("period", preset, PRESETS)
    if preset == "all":
        return None
    if preset == "12m":
        return year_before(until) + timedelta(days=1)
    return until - timedelta(days=int(preset[:-1]) - 1)


def compared(period: Period, compare: str) -> Period | None:
    """The comparison period of ``period``: ``previous`` (as long, just before), ``year`` (the
    same dates a year earlier) or ``none``."""
    check_choice("compare", compare, COMPARES)
    if compare == "previous":
        until = period.since - timedelta(days=1)
        try:
            return Period(until - timedelta(days=period.days - 1), until)
        except OverflowError:  # a period of thousands of years: the one before it has no dates
            raise ValueError(
                f"the {period.days:,} days before {period.since} reach before year 1: "
                "compare with none or year, or choose a shorter period"
            ) from None
    if compare == "year":
        return Period(year_before(period.since), year_before(period.until))
    return None


def resolve(since: str | date | None, until: str | date | None, first: date | None) -> Period:
    """The period from the parameters: ``until`` defaults to today (UTC), ``since`` to ``first``
    (the target's first day), or to ``until`` when it has none."""
    end = parse_day("until", until) or today()
    start = parse_day("since", since) or min(first or end, end)
    if start > end:
        raise ValueError(f"since {start} is after until {end}")
    return Period(start, end)


#: The most periods one report over time cuts: a hundred years of days. Beyond, the answer (a row,
#: a chart point each) would be hundreds of megabytes for dates no link has.
MAX_PERIODS = 36_600


def buckets(period: Period, by: str, last: int | None = None) -> list[Period]:
    """``period`` cut into days, weeks (Monday to Sunday) or calendar months, the first and last
    cut at its ends; with ``last``, only the last so many of them. More than :data:`MAX_PERIODS`
    is a clear error."""
    start = check_cut(period, by, last)
    out = []
    while start <= period.until:
        if by == "day":
            end = start
        elif by == "week":
            end = start + timedelta(days=6 - start.weekday())
        else:
            end = start.replace(day=calendar.monthrange(start.year, start.month)[1])
        end = min(end, period.until)
        out.append(Period(start, end))
        start = end + timedelta(days=1)
    return out


def check_cut(period: Period, by: str, last: int | None = None) -> date:
    """The first day :func:`buckets` cuts from; ValueError when that makes more than
    :data:`MAX_PERIODS` periods."""
    start = cut_start(period, by, last)
    if count_cut(period, by, last) > MAX_PERIODS:
        raise ValueError(
            f"by {by} from {start} to {period.until} makes more than {MAX_PERIODS:,} periods: "
            "choose longer periods (week, month), fewer days, or a limit"
        )
    return start


def cut_start(period: Period, by: str, last: int | None = None) -> date:
    """The first day :func:`buckets` cuts from: ``period``'s, or with ``last`` the first of the
    last so many ``by`` periods."""
    check_choice("by", by, GROWTH_PERIODS)
    return period.since if last is None else max(period.since, _start_of_last(period.until, by, last))


def count_cut(period: Period, by: str, last: int | None = None) -> int:
    """How many periods :func:`buckets` cuts ``period`` into, counted without cutting: the days,
    the Monday-to-Sunday weeks or the calendar months that the days from :func:`cut_start` to
    ``period.until`` touch."""
    start, until = cut_start(period, by, last), period.until
    if by == "day":
        return (until - start).days + 1
    if by == "week":
        return ((until - timedelta(days=until.weekday())) - (start - timedelta(days=start.weekday()))).days // 7 + 1
    return (until.year * 12 + until.month) - (start.year * 12 + start.month) + 1


def _start_of_last(until: date, by: str, last: int) -> date:
    """The first day of the ``last``-th ``by`` period counted back from the one holding ``until``."""
    back = max(last, 1) - 1
    if by == "day":
        return until - timedelta(days=min(back, (until - date.min).days))
    if by == "week":
        monday = until - timedelta(days=until.weekday())
        return monday - timedelta(weeks=min(back, (monday - date.min).days // 7))
    months = until.year * 12 + until.month - 1 - back
    return date(max(months // 12, 1), months % 12 + 1, 1) if months >= 12 else date.min
