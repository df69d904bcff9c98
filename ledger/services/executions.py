"""An operator's correction of an execution, and a trade's columns recomputed from its executions."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction

from .. import brackets, rules
from ..errors import InvalidInput, NotFound
from ..inputs import clean_fees, clean_price, clean_time
from ..models import Event, Execution, PaperTrade
from ..rules import ZERO
from .aggregates import book_days_moved
from .base import book_add, book_rules, trade_for_update
from .events import events_record, trade_event

EXECUTION_CORRECTABLE = ("price", "fee", "time")


def _fill(row: Execution) -> brackets.Fill:
    return brackets.Fill(row.kind, row.time, row.price, row.size, row.fee, row.slippage, row.pnl, row.reason)


def _counted(trade: PaperTrade) -> tuple[Decimal, Decimal]:
    """What the trade adds to the running total (its realized PnL once closed, its partial exits' while open) and
    what it holds out of cash."""
    if trade.is_open:
        return trade.exited_pnl, rules.held(trade)
    return trade.realized_pnl, ZERO


def trade_from_executions(trade: PaperTrade, rows: list[Execution]) -> list[Execution]:
    """Set the trade's columns to what its executions add up to, in memory, and each exit's PnL to what the rules
    give from the rows (brackets.exit_pnls); returns the exits whose PnL changed. The entry gives the entry
    price; the exits, in time order, the realized PnL (their sum), the fees and slippage (with the entry's), the
    exit price (their size-weighted average) and the exit time (the last's); an open trade's partial exits give
    its `exited_` columns, and it is revalued at its last mark."""
    (entry,) = [row for row in rows if row.kind == Execution.Kind.ENTRY]
    exits = sorted((row for row in rows if row.kind == Execution.Kind.EXIT), key=lambda row: (row.time, row.pk))
    pnls = brackets.exit_pnls(trade.direction, entry=_fill(entry), exits=[_fill(row) for row in exits])
    changed = [row for row, pnl in zip(exits, pnls, strict=True) if row.pnl != pnl]
    for row, pnl in zip(exits, pnls, strict=True):
        row.pnl = pnl
    trade.entry_price, trade.entry_time = entry.price, entry.time
    if trade.is_open:
        trade.exited_size = sum((row.size for row in exits), ZERO)
        trade.exited_value = sum((rules.money(row.price * row.size) for row in exits), ZERO)
        trade.exited_pnl = sum(pnls, ZERO)
        trade.exited_fees = sum((row.fee for row in exits), ZERO)
        trade.exited_slippage = sum((row.slippage for row in exits), ZERO)
        rules.revalue(trade, field="price")
        return changed
    trade.realized_pnl = sum(pnls, ZERO)
    trade.fees = entry.fee + sum((row.fee for row in exits), ZERO)
    trade.slippage = entry.slippage + sum((row.slippage for row in exits), ZERO)
    trade.exit_price = rules.money(sum((row.price * row.size for row in exits), ZERO) / trade.position_size)
    trade.exit_time = exits[-1].time
    trade.exit_quote = exits[-1].price
    rules.check_envelope(trade)
    return changed


@transaction.atomic
def execution_correct(*, execution_id: int, changes: dict[str, Any], by: Any = None) -> Execution:
    """Correct an execution's price, fee or time (an operator's fix of the record; a price without a fee brings
    the rate's fee with it); its trade's columns and the
    account's running total and open cost follow (trade_from_executions), in one transaction, each change in
    the history with who made it. The size is not correctable: the sizes add up to the trade's."""
    row = Execution.objects.filter(pk=execution_id).first()
    if row is None:
        raise NotFound(f"No execution with id {execution_id}.", field="execution_id")
    unknown = sorted(set(changes) - set(EXECUTION_CORRECTABLE))
    if unknown:
        raise InvalidInput(
            f"{', '.join(unknown)} cannot be corrected; only {', '.join(EXECUTION_CORRECTABLE)}.", field=unknown[0]
        )
    trade = trade_for_update(row.trade_id)
    before = _counted(trade)
    rows = list(trade.executions.select_for_update().order_by("pk"))
    row = next(r for r in rows if r.pk == execution_id)
    if "price" in changes:
        row.price = clean_price(changes["price"], field="price")
    if "fee" in changes:
        row.fee = clean_fees(changes["fee"])  # what was really paid, as given
    elif "price" in changes:
        with book_rules(trade.book_id):
            row.fee = rules.fee(price=row.price, size=row.size)  # the rate's, as trade_correct's fees follow a price
    if "time" in changes:
        row.time = _time(changes["time"], trade=trade, row=row)
    with book_rules(trade.book_id):
        changed = trade_from_executions(trade, rows)
    for corrected in {row, *changed}:
        corrected._change_reason = "corrected" if corrected is row else "recomputed from a corrected execution"
        if by is not None:
            corrected._history_user = by
        corrected.save()
    trade._change_reason = "execution corrected"
    if by is not None:
        trade._history_user = by
    with book_days_moved([trade.pk]):  # a closed trade's figures follow its executions, maybe to another day
        trade.save()
    after = _counted(trade)
    book_add(trade.book_id, after[0] - before[0], open_cost=after[1] - before[1])
    events_record(events=[trade_event(Event.Kind.TRADE_CORRECTED, trade, execution=row.pk, fields=sorted(changes))])
    return row


def _time(value: datetime, *, trade: PaperTrade, row: Execution) -> datetime:
    moment = clean_time(value, field="time")
    if row.kind == Execution.Kind.EXIT and moment < trade.entry_time:
        raise InvalidInput(f"An exit must not be before the entry time {trade.entry_time}.", field="time")
    return moment
