"""What a running price feed reports of itself (its clock offset, the prints it held), for /healthz."""

from datetime import datetime

from django.db import transaction

from ..models import FeedStatus


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
