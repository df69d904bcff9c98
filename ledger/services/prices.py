"""Price ticks: each symbol's last price is kept, and every open trade of a tick's symbol is marked, and
closed when a tick reaches its stop or target. Prices only move forward: a tick older than the last one
applied for its symbol is ignored."""

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from django.db import connection, transaction

from .. import rules
from ..errors import AlreadyClosed
from ..inputs import Tick, clean_ticks
from ..models import MarketPrice, PaperTrade
from ..rules import ZERO
from .base import account_add, save_closes

MARKS_SQL = (
    "UPDATE paper_trades SET current_price = %s, exit_quote = %s, unrealized_pnl = %s, fees = %s, slippage = %s "
    "WHERE id = %s AND status = 'OPEN'"
)
# One upsert per symbol per batch; the WHERE keeps a newer price that a concurrent batch wrote first.
LAST_PRICE_SQL = (
    "INSERT INTO market_prices (symbol, price, bid, ask, at) VALUES (%s, %s, %s, %s, %s) "
    "ON CONFLICT (symbol) DO UPDATE SET price = excluded.price, bid = excluded.bid, ask = excluded.ask, at = excluded.at "
    "WHERE market_prices.at <= excluded.at"
)


def _write_marks(trades: Sequence[PaperTrade]) -> None:
    """One prepared UPDATE per trade, sent with executemany, still guarded by status OPEN.

    bulk_update would write the same rows, but builds a CASE expression per field whose cost grows with
    the batch: profiled at 90% of a 1,000-tick batch (bench/README.md). The values are Decimals already
    rounded by the rules, which both database drivers take as they are.
    """
    rows = [(t.current_price, t.exit_quote, t.unrealized_pnl, t.fees, t.slippage, t.pk) for t in trades]
    with connection.cursor() as cursor:
        cursor.executemany(MARKS_SQL, rows)


def _write_last_prices(ticks: dict[str, Tick]) -> None:
    moment = connection.ops.adapt_datetimefield_value
    rows = [(t.symbol, t.price, t.bid, t.ask, moment(t.at)) for t in ticks.values()]
    with connection.cursor() as cursor:
        cursor.executemany(LAST_PRICE_SQL, rows)


@dataclass
class TicksApplied:
    marked: list[PaperTrade] = field(default_factory=list)
    closed: list[PaperTrade] = field(default_factory=list)
    ignored: int = 0  # ticks older than the last one applied for their symbol


def _forward(ticks: list[Tick]) -> tuple[list[Tick], int]:
    """The ticks, in time order, that are not older than their symbol's last applied tick; and how many were."""
    symbols = sorted({tick.symbol for tick in ticks})
    newest = dict(MarketPrice.objects.select_for_update().filter(symbol__in=symbols).order_by("symbol").values_list("symbol", "at"))
    applied = [tick for tick in ticks if tick.symbol not in newest or tick.at >= newest[tick.symbol]]
    return applied, len(ticks) - len(applied)


@transaction.atomic
def prices_apply(*, ticks: Iterable[Tick]) -> TicksApplied:
    """Keep each symbol's last tick and mark every OPEN trade of each tick's symbol, in time order, closing
    those a tick takes through their stop (a market order: at the tick's bid or ask, or its price moved by
    slippage) or their target (a limit order: at the target). Ticks older than a trade's entry do not touch
    it; ticks older than their symbol's last applied tick (a late delivery, a replay) are ignored and counted.
    Lock order: the symbols' last prices, then the trades by id, their signals, the account row."""
    applied, ignored = _forward(clean_ticks(ticks))
    result = TicksApplied(ignored=ignored)
    if not applied:
        return result
    open_trades = list(
        PaperTrade.objects.select_for_update()
        .filter(status=PaperTrade.Status.OPEN, symbol__in={tick.symbol for tick in applied})
        .order_by("pk")
    )
    by_symbol: dict[str, list[PaperTrade]] = {}
    for trade in open_trades:
        by_symbol.setdefault(trade.symbol, []).append(trade)
    last_tick: dict[int, tuple[PaperTrade, Tick]] = {}  # each trade is valued once, at its last tick
    for tick in applied:
        for trade in by_symbol.get(tick.symbol, []):
            if not trade.is_open or tick.at < trade.entry_time:
                continue
            reason = rules.reached(trade, tick.price)  # a comparison per tick: cheap
            if reason is None:
                last_tick[trade.pk] = trade, tick
                continue
            if reason == rules.STOP_LOSS:
                rules.mark(trade, tick.price, bid=tick.bid, ask=tick.ask)
                rules.close_at_quote(trade, reason=reason, at=tick.at)
            else:
                rules.settle(trade, price=trade.take_profit, reason=reason, at=tick.at)
            result.closed.append(trade)
    for trade, tick in last_tick.values():
        if trade.is_open:
            rules.mark(trade, tick.price, bid=tick.bid, ask=tick.ask)
            result.marked.append(trade)
    _write_marks(result.marked)
    _write_last_prices({tick.symbol: tick for tick in applied})  # time order: the last one per symbol wins
    if result.closed and save_closes(result.closed) != len(result.closed):
        # Impossible while the rows are locked; refuse to write a partial batch if it ever happens.
        raise AlreadyClosed("A trade in this batch was closed by someone else; nothing was applied.")
    if not result.closed:  # closes have counted themselves
        account_add(ZERO)
    return result
