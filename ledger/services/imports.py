"""The writes of the legacy import (ledger/legacy.py reads and reconciles the old files; this writes).

Like every other write, each one keeps the audit history and bumps the ledger's version, so an open
dashboard sees imported rows at its next poll.
"""

from datetime import datetime

from django.db import transaction

from .. import brackets
from ..inputs import REASON_LENGTH_MAX, SignalFields
from ..models import Event, PaperTrade, Signal
from ..rules import ZERO
from .base import account_add, entry_costs, record_executions, record_history
from .events import event_record, events_record, trade_event

IMPORTED = "imported"


@transaction.atomic
def signal_import(*, signal: SignalFields, status: str, reason: str = "") -> Signal:
    """Record a signal of the old system in the state it had there (signal: already cleaned)."""
    imported = Signal(**signal.columns(), status=status, status_reason=reason[:REASON_LENGTH_MAX])
    imported._change_reason = IMPORTED
    imported.save()
    account_add(ZERO)
    event_record(kind=Event.Kind.IMPORTED, signal_id=imported.signal_id, payload={"status": status})
    return imported


@transaction.atomic
def signal_advance(*, signal: Signal, status: str, reason: str = "") -> None:
    """Move a recorded signal to the more advanced state an imported file gives it."""
    signal.status = status
    signal.status_reason = reason[:REASON_LENGTH_MAX]
    signal._change_reason = IMPORTED
    signal.save(update_fields=["status", "status_reason"])
    account_add(ZERO)
    event_record(kind=Event.Kind.IMPORTED, signal_id=signal.signal_id, payload={"status": status})


@transaction.atomic
def trade_import(*, trade: PaperTrade, created: datetime) -> PaperTrade:
    """Save a trade of the old system as it was there (valued by rules.mark or rules.settle, a recorded
    realized PnL kept), dated as it was created; a closed one adds its realized PnL to the running total, an
    open one its entry cost to the cash it holds."""
    trade.save_without_historical_record()
    PaperTrade.objects.filter(pk=trade.pk).update(created_date=created)  # auto_now_add ignores a given value
    record_history(PaperTrade.objects.filter(pk=trade.pk), reason=IMPORTED)
    entry = brackets.entry_fill(trade, at=trade.entry_time)
    record_executions(trade, [entry] if trade.is_open else [entry, brackets.closing_fill(trade)])
    account_add(trade.realized_pnl or ZERO, open_cost=entry_costs([trade]) if trade.is_open else ZERO)
    events_record(events=[trade_event(Event.Kind.IMPORTED, trade)])
    return trade
