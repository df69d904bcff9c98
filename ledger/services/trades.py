"""Trades closed by hand, corrected by an operator, or revalued by the rules."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction

from .. import brackets, rules
from ..deviation import check_deviation
from ..errors import AlreadyClosed, InvalidInput, InvalidTransition
from ..inputs import CORRECTABLE, clean_fees, clean_price, clean_time
from ..models import Event, Execution, PaperTrade
from ..rules import ZERO
from .aggregates import book_days_moved
from .base import batches, book_add, book_rules, by_book, record_history, save_closes, trade_for_update
from .events import events_record, trade_event
from .executions import trade_from_executions


@transaction.atomic
def trade_close(
    *,
    trade_id: int,
    price: Any = None,
    reason: str = PaperTrade.Status.MANUAL_CLOSE,
    at: datetime | None = None,
    expected_price: Any = None,
) -> PaperTrade:
    """Close an open trade; the signal becomes CLOSED. At a stated price exactly; without one, by a market
    order at the last mark's exit quote (its bid or ask, or its price moved by slippage). `expected_price` is
    the fill the trader's confirmation showed: a market close that would now fill further than
    PAPER_MAX_DEVIATION from it is refused with the new fill (PriceMoved), nothing written."""
    at = clean_time(at, field="at")
    seen = clean_price(expected_price, field="expected_price", required=False)
    trade = trade_for_update(trade_id)  # held: a tick's partial exit cannot slip between this read and the close
    if not trade.is_open:
        raise AlreadyClosed(f"Trade {trade_id} is already closed ({trade.get_status_display()}).", field="trade_id")
    exit_price = clean_price(price, field="price", required=False)
    with book_rules(trade.book_id):
        if exit_price is None:
            check_deviation(seen=seen, fill=trade.exit_quote)
            rules.close_at_quote(trade, reason=reason, at=at)
        else:
            rules.settle(trade, price=exit_price, reason=reason, at=at)
    if not save_closes([trade]):
        raise AlreadyClosed(f"Trade {trade_id} was closed a moment ago by someone else.", field="trade_id")
    return trade


# The correction a trade valued beyond the envelope is blamed on: the size first (it scales every amount), then the
# prices, then the fees; a form sends its unchanged fields too, so only a value that changed is named.
ENVELOPE_BLAME = ("position_size", "exit_price", "entry_price", "stop_loss", "take_profit", "fees")


def _blamed(trade: PaperTrade, changes: dict[str, Any]) -> str:
    changed = [name for name in ENVELOPE_BLAME if name in changes and changes[name] != getattr(trade, name)]
    return next(iter(changed or changes), "price")


# What its executions say of a trade that exited in parts: corrected on them (services.execution_correct).
IN_PARTS = ("entry_price", "position_size", "exit_price", "exit_time", "fees")


def _corrected(trade: PaperTrade, changes: dict[str, Any]) -> None:
    """Apply an operator's changes to the trade in memory, refusing any that break the rules."""
    unknown = sorted(set(changes) - set(CORRECTABLE))
    if unknown:
        raise InvalidInput(
            f"{', '.join(unknown)} cannot be corrected; only {', '.join(CORRECTABLE)}.", field=unknown[0]
        )
    in_parts = [name for name in IN_PARTS if name in changes and changes[name] != getattr(trade, name)]
    if trade.exited_size and in_parts:
        raise InvalidInput(
            f"Trade #{trade.pk} exited in parts: correct its executions, and its {in_parts[0]} follows.",
            field=in_parts[0],
        )
    blame = _blamed(trade, changes)
    status = changes.get("status", trade.status)
    if status != trade.status:
        if status not in PaperTrade.CLOSED_STATUSES and status != PaperTrade.Status.OPEN:
            raise InvalidInput(f"status {status!r} is not a trade status.", field="status")
        if status == PaperTrade.Status.OPEN:
            raise InvalidTransition(
                f"A closed trade never reopens (it closed by {trade.get_status_display().lower()}).", field="status"
            )
        if trade.is_open:
            raise InvalidTransition(
                "An open trade is closed with the action 'Close selected open trades at the market', "
                "not by editing its status.",
                field="status",
            )
    for name in ("entry_price", "position_size", "stop_loss", "take_profit"):
        if name in changes:
            setattr(trade, name, clean_price(changes[name], field=name))
    rules.check_levels(trade.direction, entry=trade.entry_price, stop=trade.stop_loss, target=trade.take_profit)
    if {"entry_price", "position_size", "stop_loss"} & set(changes):  # what the corrected size really risks
        trade.risk_amount = rules.money(trade.position_size * abs(trade.entry_price - trade.stop_loss))

    if trade.is_open:
        for name, why in (("exit_price", "has no exit price"), ("exit_time", "has no exit time")):
            if changes.get(name) is not None:
                raise InvalidInput(f"An open trade {why}; close it with the close action.", field=name)
        if "fees" in changes:
            raise InvalidInput("An open trade's fees follow its current price; they cannot be set.", field="fees")
        rules.revalue(trade, field=blame)
        return

    if "exit_price" in changes:
        if changes["exit_price"] is None or changes["exit_price"] == "":
            raise InvalidInput(
                f"A closed trade ({PaperTrade.Status(status).label.lower()}) needs an exit price.", field="exit_price"
            )
        trade.exit_price = clean_price(changes["exit_price"], field="exit_price")
    if "exit_time" in changes:
        if changes["exit_time"] is None:
            raise InvalidInput(
                f"A closed trade ({PaperTrade.Status(status).label.lower()}) needs an exit time.", field="exit_time"
            )
        trade.exit_time = clean_time(changes["exit_time"], field="exit_time")
    if trade.exit_time < trade.entry_time:
        raise InvalidInput(f"exit_time must not be before the entry time {trade.entry_time}.", field="exit_time")
    if "fees" in changes:
        trade.fees = clean_fees(changes["fees"])  # what was really paid, as given
    elif {"entry_price", "exit_price", "position_size"} & set(changes):
        trade.fees = rules.round_trip_fees(trade, exit_price=trade.exit_price)
    trade.status = status
    trade.realized_pnl = rules.pnl(trade, price=trade.exit_price, fees=trade.fees)
    rules.check_envelope(trade, field=blame, value=getattr(trade, blame))  # the correction that took it there


@transaction.atomic
def trade_correct(*, trade_id: int, changes: dict[str, Any], by: Any = None, dry_run: bool = False) -> PaperTrade:
    """Correct a recorded trade (an operator's fix); its PnL follows by the same rules as a close.

    A closed trade's realized PnL is recomputed with rules.pnl from the corrected prices and size, its fees
    too unless they are corrected themselves, and the account's running total moves by the difference. An
    open trade is re-marked at its current price. Refused, with the field named: unknown fields, a closed
    trade without exit, levels on the wrong side, a status change outside the life cycle (closing goes
    through the close path; a closed trade never reopens). The row is locked first; with dry_run nothing is
    written, so a form can check the changes inside the transaction in which it then saves them.
    """
    trade = trade_for_update(trade_id)
    before, cost_before = trade.realized_pnl or ZERO, _open_cost(trade)
    with book_rules(trade.book_id):
        _corrected(trade, changes)
    if dry_run:
        return trade
    trade._change_reason = "corrected"
    if by is not None:
        trade._history_user = by
    with book_days_moved([trade.pk]):  # out of the day it closed in, into the day it closes in now
        trade.save()
    with book_rules(trade.book_id):
        _executions_follow(trade)
    book_add(trade.book_id, (trade.realized_pnl or ZERO) - before, open_cost=_open_cost(trade) - cost_before)
    events_record(events=[trade_event(Event.Kind.TRADE_CORRECTED, trade, fields=sorted(changes))])
    return trade


def _executions_follow(trade: PaperTrade) -> None:
    """A trade that exited at once (a correction refuses one that exited in parts): its entry and exit
    executions follow its corrected columns, each change in their history."""
    entry = brackets.entry_fill(trade, at=trade.entry_time)
    rows = trade.executions.filter(kind=Execution.Kind.ENTRY)
    rows.update(price=entry.price, size=entry.size, fee=entry.fee, slippage=entry.slippage)
    if not trade.is_open:
        trade.executions.filter(kind=Execution.Kind.EXIT).update(
            price=trade.exit_price,
            size=trade.position_size,
            time=trade.exit_time,
            fee=trade.fees - entry.fee,
            slippage=trade.slippage - entry.slippage,
            pnl=trade.realized_pnl,
            reason=trade.status,
        )
    record_history(trade.executions.all(), reason="corrected with its trade")


def _open_cost(trade: PaperTrade) -> Decimal:
    """What the trade holds out of cash: its entry cost while open, nothing once closed."""
    return rules.held(trade) if trade.is_open else ZERO


@dataclass(frozen=True)
class TradesRecomputed:
    changed: list[PaperTrade]
    unchanged: list[PaperTrade]


@transaction.atomic
def trades_recompute(*, trade_ids: Sequence[int], by: Any = None) -> TradesRecomputed:
    """Recompute the PnL of trades by the rules from what they store: a closed trade's realized PnL from its
    prices, size and the fees it paid; an open trade's valuation at its current price. The account's running
    total moves by the difference; trades that were already right are left alone and reported as such."""
    ids = sorted(set(trade_ids))
    trades = [
        t for batch in batches(ids) for t in PaperTrade.objects.select_for_update().filter(pk__in=batch).order_by("pk")
    ]
    result = TradesRecomputed(changed=[], unchanged=[])
    difference: dict[int, Decimal] = {}
    for book_id, book_trades in by_book(trades).items():
        with book_rules(book_id):
            for trade in book_trades:
                before = (trade.realized_pnl, trade.unrealized_pnl, trade.fees, trade.slippage)
                if trade.is_open:
                    rules.revalue(trade)
                elif trade.exited_size:  # exited in parts: its executions are the record
                    rows = list(trade.executions.all())
                    Execution.objects.bulk_update(trade_from_executions(trade, rows), ["pnl"])
                else:
                    trade.realized_pnl = rules.pnl(trade, price=trade.exit_price, fees=trade.fees)
                    trade.executions.filter(kind=Execution.Kind.EXIT).update(pnl=trade.realized_pnl)
                if not trade.is_open:
                    difference[book_id] = difference.get(book_id, ZERO) + trade.realized_pnl - before[0]
                same = (trade.realized_pnl, trade.unrealized_pnl, trade.fees, trade.slippage) == before
                (result.unchanged if same else result.changed).append(trade)
    with book_days_moved([trade.pk for trade in result.changed]):
        PaperTrade.objects.bulk_update(result.changed, ["realized_pnl", "unrealized_pnl", "fees", "slippage"])
    for batch in batches([trade.pk for trade in result.changed]):
        record_history(PaperTrade.objects.filter(pk__in=batch), reason="PnL recomputed", by=by)
    for book_id in sorted({trade.book_id for trade in trades}):
        book_add(book_id, difference.get(book_id, ZERO))
    events_record(events=[trade_event(Event.Kind.TRADE_CORRECTED, trade, fields=["pnl"]) for trade in result.changed])
    return result
