"""The outbox's reads: the events after an id, in id order, as the streams, the events API and the notifier
read them."""

from collections.abc import Iterable

from django.db.models import Max, Q, QuerySet

from ..models import Event

EVENTS_PAGE_MAX = 1_000  # the most events one read returns


def events_after(
    after_id: int,
    *,
    limit: int = EVENTS_PAGE_MAX,
    kinds: Iterable[str] | None = None,
    books: Iterable[int] | None = None,
) -> QuerySet:
    """The events with an id above `after_id`, oldest first, at most `limit` (capped at EVENTS_PAGE_MAX): the
    primary key's range, never a scan. With `kinds`, only those kinds; with `books` (ids), only those books' events
    and the ones of every book (prices, the feed). A reader resumes after the last id it
    got and misses nothing: ids are taken in the order their transactions commit (services.events_record)."""
    events = Event.objects.filter(pk__gt=after_id).order_by("pk")
    if kinds is not None:
        events = events.filter(kind__in=list(kinds))
    if books is not None:
        events = events.filter(Q(book_id__in=list(books)) | Q(book_id__isnull=True))
    return events[: max(0, min(limit, EVENTS_PAGE_MAX))]


def events_newest_id() -> int:
    """The newest event's id, 0 for an empty outbox: where a stream that wants no history starts."""
    return Event.objects.aggregate(newest=Max("pk"))["newest"] or 0
