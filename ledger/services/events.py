"""The outbox's writes: events recorded inside the transaction of the write they tell of, and their pruning.
Events are recorded by the services themselves (docs/design.md, "Events", lists which kinds each records).

An event is an INSERT in the caller's transaction: it commits with the change or rolls back with it. On
PostgreSQL the same transaction sends `pg_notify` on EVENTS_CHANNEL, which the server delivers at the commit
(and never for a rollback), so the open streams wake at once; on SQLite they read the outbox every moment.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from ..models import Event, PaperTrade
from .rows import insert_rows

EVENTS_CHANNEL = "ledger_events"  # PostgreSQL's LISTEN/NOTIFY channel; one NOTIFY per transaction (they coalesce)


def trade_facts(trade: PaperTrade) -> dict[str, Any]:
    """What an event says of a trade: enough for a notification without reading the trade again."""
    facts: dict[str, Any] = {
        "symbol": trade.symbol,
        "direction": trade.direction,
        "status": trade.status,
        "entry_price": trade.entry_price,
        "position_size": trade.position_size,
    }
    if not trade.is_open:
        facts |= {"exit_price": trade.exit_price, "exit_time": trade.exit_time, "realized_pnl": trade.realized_pnl}
    return facts


def trade_event(kind: str, trade: PaperTrade, **extra: Any) -> Event:
    """An unsaved event of a trade (for events_record), with the trade's facts and its signal's id."""
    return Event(
        kind=kind,
        book_id=trade.book_id,
        trade_id=trade.pk,
        signal_id=trade.signal_id or "",
        payload=trade_facts(trade) | extra,
    )


EVENTS_LOCK = 7_305_001  # the outbox's advisory lock on PostgreSQL, last in the lock order (docs/design.md)


def writers_lock() -> None:
    """Hold the outbox's lock until the transaction ends: before an event takes its id, so that ids are taken in the
    order their transactions commit (a reader that has seen id n never later finds a committed id below n), and
    before any book's row, so that a writer holding a book's row never waits for it (docs/design.md, lock order:
    trades, orders, signals, this lock, books). Taken again in the same transaction, it is already held. SQLite's
    IMMEDIATE transactions already serialize every writer."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [EVENTS_LOCK])


@transaction.atomic
def events_record(*, events: Sequence[Event]) -> None:
    """Record unsaved events, all stamped now, in one statement however many there are, and wake the streams on
    PostgreSQL when the transaction commits. One event gets its id back (event_record); a set does not."""
    if not events:
        return
    writers_lock()
    now = timezone.now()
    for event in events:
        event.created_at = now
    if len(events) == 1:
        events[0].save(force_insert=True)
    else:
        insert_rows(events)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [EVENTS_CHANNEL])


def event_record(
    *,
    kind: str,
    book_id: int | None = None,
    trade_id: int | None = None,
    signal_id: str = "",
    payload: dict[str, Any] | None = None,
) -> Event:
    """Record one event in the caller's transaction (a Decimal in the payload is kept as its string); a book's, or
    (no book_id) every book's, as prices are."""
    event = Event(kind=kind, book_id=book_id, trade_id=trade_id, signal_id=signal_id, payload=payload or {})
    events_record(events=[event])
    return event


def expired_events(signals: QuerySet) -> None:
    """A `signal.expired` event, with its reason, for each of the signals a set-based update expired."""
    rows = signals.order_by("pk").values_list("book_id", "signal_id", "symbol", "status_reason")
    events_record(
        events=[
            Event(
                kind=Event.Kind.SIGNAL_EXPIRED,
                book_id=book_id,
                signal_id=signal_id,
                payload={"symbol": symbol, "reason": reason},
            )
            for book_id, signal_id, symbol, reason in rows
        ]
    )


@transaction.atomic
def events_prune(*, keep_days: int | None = None, now: datetime | None = None) -> int:
    """Delete the events older than `keep_days` (default PAPER_EVENTS_KEEP_DAYS); returns how many went."""
    keep = settings.PAPER_EVENTS_KEEP_DAYS if keep_days is None else keep_days
    cutoff = (now or timezone.now()) - timedelta(days=keep)
    deleted, _ = Event.objects.filter(created_at__lt=cutoff).delete()
    return deleted
