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
