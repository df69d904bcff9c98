"""Price ticks: every open trade of a tick's symbol is marked, and closed when a tick reaches its stop or target."""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable, Sequence

from django.db import connection, transaction

from .. import rules
from ..errors import AlreadyClosed
from ..inputs import Tick, clean_ticks
from ..models import PaperTrade
from ..rules import ZERO
from .base import account_add, save_closes

MARKS_SQL = "UPDATE paper_trades SET current_price = %s, unrealized_pnl = %s, fees = %s WHERE id = %s AND status = 'OPEN'"


def _write_marks(trades: Sequence[PaperTrade]) -> None:
    """One prepared UPDATE per trade, sent with executemany, still guarded by status OPEN.

    bulk_update would write the same rows, but builds a CASE expression per field whose cost grows with
    the batch: profiled at 90% of a 1,000-tick batch (bench/README.md). The values are Decimals already
    rounded to the columns' 8 places, which both database drivers take as they are.
    """
    with connection.cursor() as cursor:
        cursor.executemany(MARKS_SQL, [(t.current_price, t.unrealized_pnl, t.fees, t.pk) for t in trades])


@dataclass
class TicksApplied:
    marked: list[PaperTrade] = field(default_factory=list)
    closed: list[PaperTrade] = field(default_factory=list)


@transaction.atomic
def prices_apply(*, ticks: Iterable[Tick]) -> TicksApplied:
    """Mark every OPEN trade of each tick's symbol, in time order, closing those a tick takes through
    their stop or target. Ticks older than a trade's entry do not touch it."""
    ordered = clean_ticks(ticks)
    open_trades = list(
        PaperTrade.objects.select_for_update()
        .filter(status=PaperTrade.Status.OPEN, symbol__in={tick.symbol for tick in ordered})
        .order_by("pk")
    )
    by_symbol: dict[str, list[PaperTrade]] = {}
    for trade in open_trades:
        by_symbol.setdefault(trade.symbol, []).append(trade)
    result = TicksApplied()
    last_price: dict[int, tuple[PaperTrade, Decimal]] = {}  # each trade is valued once, at its last tick
    for tick in ordered:
        for trade in by_symbol.get(tick.symbol, []):
            if not trade.is_open or tick.at < trade.entry_time:
                continue
            reached = rules.exit_for_price(trade, tick.price)  # a comparison per tick: cheap
            if reached is None:
                last_price[trade.pk] = trade, tick.price
            else:
                reason, exit_price = reached
                rules.settle(trade, price=exit_price, reason=reason, at=tick.at)
                result.closed.append(trade)
    for trade, price in last_price.values():
        if trade.is_open:
            rules.mark(trade, price)
            result.marked.append(trade)
    _write_marks(result.marked)
    if result.closed and save_closes(result.closed) != len(result.closed):
        # Impossible while the rows are locked; refuse to write a partial batch if it ever happens.
        raise AlreadyClosed("A trade in this batch was closed by someone else; nothing was applied.")
    if result.marked and not result.closed:  # closes have counted themselves
        account_add(ZERO)
    return result
