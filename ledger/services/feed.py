"""What a running price feed reports of itself (its clock offset, the prints it held), for /healthz, and a stalled
feed told once (for the notifier)."""

from datetime import datetime

from django.conf import settings
from django.db import transaction

from .. import selectors
from ..models import Event, FeedStatus
from .base import book_for_update, default_book
from .events import event_record


@transaction.atomic
def feed_report(
    *, exchange: str, started_at: datetime, at: datetime, clock_offset_ms: int | None, suspect_prints: int
) -> FeedStatus:
    """The feed's row for its exchange, as of `at` (a feed restarted on the same exchange takes the row over)."""
    status, _ = FeedStatus.objects.update_or_create(
        exchange=exchange,
        defaults={
            "started_at": started_at,
            "reported_at": at,
            "clock_offset_ms": clock_offset_ms,
            "suspect_prints": suspect_prints,
        },
    )
    return status


@transaction.atomic
def feed_stall_record(*, now: datetime) -> Event | None:
    """A `feed.stalled` event when the newest price applied is older than PRICE_FEED_DEGRADED_LAG (when /healthz
    says "degraded"), once per stall: not again until a newer price has arrived and stopped in its turn. The
    default book's row is taken first, so two checkers at once record it once. None when the feed is not stalled, or
    the stall is told already."""
    last = selectors.newest_tick_at()
    if last is None or (now - last).total_seconds() < settings.PRICE_FEED_DEGRADED_LAG:
        return None
    book_for_update(default_book().pk)
    if Event.objects.filter(kind=Event.Kind.FEED_STALLED, payload__last_at=last.isoformat()).exists():
        return None
    lag = int((now - last).total_seconds())
    return event_record(kind=Event.Kind.FEED_STALLED, payload={"last_at": last.isoformat(), "lag_seconds": lag})
