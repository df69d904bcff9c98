"""Trading days: calendar days in TRADING_DAY_TZ, queried as [start, next start) ranges on a column."""

from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone


def trading_day(at: datetime) -> date:
    """The trading day an aware datetime falls in."""
    return at.astimezone(settings.TRADING_DAY_TZ).date()


def today() -> date:
    return trading_day(timezone.now())


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The day as a half-open UTC range [start, end), so an index on the time column serves it."""
    zone = settings.TRADING_DAY_TZ
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def last_moment(day: date) -> datetime:
    """The last instant inside the day: when the end of day closes a day that is already over."""
    return day_bounds(day)[1] - timedelta(microseconds=1)


def utc_offsets(start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """The UTC offsets of TRADING_DAY_TZ, in seconds, from start to end: [(start, offset), (change, offset),
    ...], one entry more per daylight-saving change. For a database without time zones (SQLite), which then
    shifts each UTC time by the offset of its span."""
    zone = settings.TRADING_DAY_TZ

    def offset(at: datetime) -> int:
        return int(at.astimezone(zone).utcoffset().total_seconds())

    spans = [(start, offset(start))]
    day = start
    while day < end:  # a zone changes its offset at most once a day: find each day it did, then the second
        following = min(day + timedelta(days=1), end)
        if offset(following) != spans[-1][1]:
            low, high = day, following
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if offset(middle) == spans[-1][1] else (low, middle)
            spans.append((high.replace(microsecond=0), offset(high)))
        day = following
    return spans


def week_of(day: date) -> date:
    """The Monday of the day's week."""
    return day - timedelta(days=day.weekday())


def month_of(day: date) -> date:
    return day.replace(day=1)
