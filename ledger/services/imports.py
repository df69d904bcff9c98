"""The writes of the legacy import (ledger/legacy.py reads and reconciles the old files; this writes).

Like every other write, each one keeps the audit history and bumps the ledger's version, so an open
dashboard sees imported rows at its next poll.
"""

from datetime import datetime

from django.db import transaction

from .. import brackets
from ..inputs import REASON_LENGTH_MAX, SignalFields
from ..models import Book, Event, PaperTrade, Signal
from ..rules import ZERO
from .aggregates import book_days_add
from .base import book_add, default_book, entry_costs, record_executions, record_history
from .events import event_record, events_record, trade_event

IMPORTED = "imported"


@transaction.atomic
def signal_import(*, signal: SignalFields, status: str, reason: str = "", book: Book | None = None) -> Signal:
    """Record a signal of the old system into the book (default: the default book) in the state it had there
    (signal: already cleaned)."""
    book = book or default_book()
    imported = Signal(**signal.columns(), book=book, status=status, status_reason=reason[:REASON_LENGTH_MAX])
    imported._change_reason = IMPORTED
    imported.save()
    book_add(book.pk, ZERO)
    event_record(kind=Event.Kind.IMPORTED, book_id=book.pk, signal_id=imported.signal_id, payload={"status": status})
    return imported


@transaction.atomic
def signal_advance(*, signal: Signal, status: str, reason: str = "") -> None:
    """Move a recorded signal to the more advanced state an imported file gives it."""
    signal.status = status
    signal.status_reason = reason[:REASON_LENGTH_MAX]
    signal._change_reason = IMPORTED
    signal.save(update_fields=["status", "status_reason"])
    book_add(signal.book_id, ZERO)
    event_record(
        kind=Event.Kind.IMPORTED, book_id=signal.book_id, signal_id=signal.signal_id, payload={"status": status}
    )


@transaction.atomic
def trade_import(*, trade: PaperTrade, created: datetime) -> PaperTrade:
    """Save a trade of the old system as it was there (valued by rules.mark or rules.settle, a recorded
    realized PnL kept), dated as it was created; a closed one adds its realized PnL to the running total, an
    open one its entry cost to the cash it holds. It belongs to its signal's book; without a signal, to the book it
    was given (default: the default book)."""
    trade.book_id = trade.signal.book_id if trade.signal_id else trade.book_id or default_book().pk
    trade.save_without_historical_record()
    PaperTrade.objects.filter(pk=trade.pk).update(created_date=created)  # auto_now_add ignores a given value
    record_history(PaperTrade.objects.filter(pk=trade.pk), reason=IMPORTED)
    entry = brackets.entry_fill(trade, at=trade.entry_time)
    record_executions(trade, [entry] if trade.is_open else [entry, brackets.closing_fill(trade)])
    book_days_add([trade.pk])  # a closed one's day (docs/books.md, "Aggregates")
    book_add(trade.book_id, trade.realized_pnl or ZERO, open_cost=entry_costs([trade]) if trade.is_open else ZERO)
    events_record(events=[trade_event(Event.Kind.IMPORTED, trade)])
    return trade
