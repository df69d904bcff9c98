"""Price ticks: each symbol's last price is kept, every applied tick goes into its symbol's 1-minute candle,
and every open trade of a tick's symbol is marked (its high and low widened by every tick), and closed when a
tick reaches its stop or target. Prices only move forward: a tick older than the last one applied for its
symbol is ignored. A tick the ledger refuses (its quote, its time, a value beyond what a trade can hold) is
refused alone, with its reason: the batch's other ticks are applied."""

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, Q

from .. import brackets, rules
from ..errors import AlreadyClosed, InvalidInput
from ..inputs import Candle, Tick, TickRefused, clean_candle, clean_symbol, clean_ticks, refusal
from ..models import Book, Event, MarketPrice, Order, PaperTrade, PriceCandle, Signal
from ..rules import AMOUNT_MAX, ZERO
from .base import CLOSE_FIELDS, book_add, book_rules, by_book, record_executions, record_fills, save_closes
from .events import event_record, events_record, trade_event, writers_lock
from .orders import orders_expire, orders_fill
from .signals import signals_lapse

MARKS_SQL = (
    "UPDATE paper_trades SET current_price = %s, exit_quote = %s, unrealized_pnl = %s, fees = %s, slippage = %s, "
    "max_price = %s, min_price = %s, stop_loss = %s WHERE id = %s AND status = 'OPEN'"
)
# A target's part filled and the trade stays open (ledger/brackets.py): the next target, perhaps a stop at break
# even, and the partial exits' sums. Rare beside the marks: one statement per trade that had one in the batch.
PARTS_SQL = (
    "UPDATE paper_trades SET take_profit = %s, targets_filled = %s, exited_size = %s, exited_value = %s, "
    "exited_pnl = %s, exited_fees = %s, exited_slippage = %s WHERE id = %s AND status = 'OPEN'"
)
# One upsert per symbol per batch; the WHERE keeps a newer price that a concurrent batch wrote first.
LAST_PRICE_SQL = (
    "INSERT INTO market_prices (symbol, price, bid, ask, at) VALUES (%s, %s, %s, %s, %s) "
    "ON CONFLICT (symbol) DO UPDATE SET price = excluded.price, bid = excluded.bid, ask = excluded.ask, "
    "at = excluded.at "
    "WHERE market_prices.at <= excluded.at"
)
# One row per symbol and minute of the batch, its OHLC computed here: a minute that already has a candle keeps
# its open, widens its high and low, takes the batch's close (with its bid and ask) and adds the ticks.
CANDLES_SQL = (
    "INSERT INTO price_candles (symbol, minute, open, high, low, close, ticks, bid, ask) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (symbol, minute) DO UPDATE SET high = {greatest}(price_candles.high, excluded.high), "
    "low = {least}(price_candles.low, excluded.low), close = excluded.close, bid = excluded.bid, ask = excluded.ask, "
    "ticks = price_candles.ticks + excluded.ticks"
)
# What minutes that close nothing change on an open trade: its high and low, a trail's stop, targets' parts.
BACKFILLED = ["max_price", "min_price", "fees", "slippage", "unrealized_pnl", *CLOSE_FIELDS[-8:]]
# SQLite's two-argument MAX and MIN are PostgreSQL's GREATEST and LEAST.
EXTREMES = {"sqlite": {"greatest": "MAX", "least": "MIN"}, "postgresql": {"greatest": "GREATEST", "least": "LEAST"}}


def _write_marks(trades: Sequence[PaperTrade]) -> None:
    """One prepared UPDATE per trade, sent with executemany, still guarded by status OPEN.

    bulk_update would write the same rows, but builds a CASE expression per field whose cost grows with
    the batch: profiled at 90% of a 1,000-tick batch (bench/RESULTS.md). The values are Decimals already
    rounded by the rules, which both database drivers take as they are.
    """
    rows = [
        (
            t.current_price,
            t.exit_quote,
            t.unrealized_pnl,
            t.fees,
            t.slippage,
            t.max_price,
            t.min_price,
            t.stop_loss,
            t.pk,
        )
        for t in trades
    ]
    with connection.cursor() as cursor:
        cursor.executemany(MARKS_SQL, rows)


def _write_parts(trades: Iterable[PaperTrade]) -> None:
    """The partial exits of trades still open after the batch (their marks are written by _write_marks)."""
    rows = [
        (
            t.take_profit,
            t.targets_filled,
            t.exited_size,
            t.exited_value,
            t.exited_pnl,
            t.exited_fees,
            t.exited_slippage,
            t.pk,
        )
        for t in trades
        if t.is_open
    ]
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(PARTS_SQL, rows)


def _write_last_prices(ticks: dict[str, Tick]) -> None:
    """Each symbol's last tick, upserted in the symbols' order: two batches that both insert new symbols take their
    rows in one order, never each waiting for the other's (a deadlock found by the load test on PostgreSQL)."""
    moment = connection.ops.adapt_datetimefield_value
    rows = [(t.symbol, t.price, t.bid, t.ask, moment(t.at)) for _, t in sorted(ticks.items())]
    with connection.cursor() as cursor:
        cursor.executemany(LAST_PRICE_SQL, rows)


def minute_of(moment: datetime) -> datetime:
    """The start of the UTC minute a moment falls in: its candle's key."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def _write_candles(ticks: Sequence[Tick]) -> None:
    """Each symbol-minute's open, high, low, close and tick count from the ticks (in time order), with the bid
    and ask of its close, upserted in one statement per symbol-minute: not one per tick."""
    candles: dict[tuple[str, datetime], list] = {}
    for tick in ticks:
        candle = candles.get(key := (tick.symbol, minute_of(tick.at)))
        if candle is None:
            candles[key] = [tick.price, tick.price, tick.price, tick.price, 1, tick.bid, tick.ask]
        else:
            candle[1:] = [
                max(candle[1], tick.price),
                min(candle[2], tick.price),
                tick.price,
                candle[4] + 1,
                tick.bid,
                tick.ask,
            ]
    minutes = {minute: connection.ops.adapt_datetimefield_value(minute) for _, minute in candles}  # a few per batch
    rows = [(symbol, minutes[minute], *candle) for (symbol, minute), candle in sorted(candles.items())]  # one order
    with connection.cursor() as cursor:
        cursor.executemany(CANDLES_SQL.format(**EXTREMES[connection.vendor]), rows)


@dataclass
class TicksApplied:
    marked: list[PaperTrade] = field(default_factory=list)
    closed: list[PaperTrade] = field(default_factory=list)
    ignored: int = 0  # ticks older than the last one applied for their symbol, or that one again
    refused: list[TickRefused] = field(default_factory=list)  # in the batch's order
    lapsed: int = 0  # waiting signals that can no longer be taken, expired (services.signals_lapse)
    filled: list[PaperTrade] = field(default_factory=list)  # trades the ticks' entry orders opened
    expired: int = 0  # working entry orders whose time was up (services.orders_expire)
    executions: list[tuple[PaperTrade, brackets.Fill]] = field(default_factory=list)  # partial exits, in order


def _parts_counted(trades: Iterable[PaperTrade], fills: Sequence[tuple[PaperTrade, brackets.Fill]]) -> None:
    """What partial exits change beyond their trades' rows: the running total takes what they realized, the open
    cost gives back the entry cost of the units they closed (a trade also closed in the batch gives back the rest
    in save_closes), and each records a `trade.reduced` event (a target's part filled, the rest still open)."""
    for book_id, book_trades in by_book(trades).items():
        realized = freed = ZERO
        for trade in book_trades:
            exited = [fill for owner, fill in fills if owner is trade]
            before = copy.copy(trade)
            before.exited_size -= sum((fill.size for fill in exited), ZERO)
            realized += sum((fill.pnl for fill in exited), ZERO)
            freed += rules.held(before) - rules.held(trade)
        book_add(book_id, realized, open_cost=-freed)
    events_record(
        events=[
            trade_event(Event.Kind.TRADE_REDUCED, trade, exit_price=fill.price, exit_size=fill.size, pnl=fill.pnl)
            for trade, fill in fills
        ]
    )


def _beyond_envelope(tick: Tick, trades: list[PaperTrade]) -> InvalidInput | None:
    """Why the tick cannot value one of these trades (their PnL, fees or slippage would reach AMOUNT_MAX), or
    None. Far from that bound (the tick's prices times four sizes below it, which bounds every amount a mark
    computes) a comparison decides; near it the mark is tried on a copy of the trade."""
    top = max(tick.price, tick.bid or ZERO, tick.ask or ZERO)
    for trade in trades:
        if tick.at < trade.entry_time or max(top, trade.entry_price) * trade.position_size * 4 < AMOUNT_MAX:
            continue
        try:
            rules.mark(copy.copy(trade), tick.price, bid=tick.bid, ask=tick.ask)
        except InvalidInput as error:
            return error
    return None


def _forward(ticks: list[Tick]) -> tuple[list[Tick], int, dict[str, Decimal]]:
    """The ticks, in time order, that are neither older than their symbol's last applied tick nor that same tick
    again (a second feed, a re-sent batch); how many were; and each symbol's last price before them."""
    symbols = sorted({tick.symbol for tick in ticks})
    rows = MarketPrice.objects.select_for_update().filter(symbol__in=symbols).order_by("symbol")
    newest = {symbol: (at, quote) for symbol, at, *quote in rows.values_list("symbol", "at", "price", "bid", "ask")}

    def forward(tick: Tick) -> bool:
        if tick.symbol not in newest:
            return True
        at, quote = newest[tick.symbol]
        return tick.at > at or (tick.at == at and [tick.price, tick.bid, tick.ask] != quote)

    applied = [tick for tick in ticks if forward(tick)]
    return applied, len(ticks) - len(applied), {symbol: quote[0] for symbol, (_, quote) in newest.items()}


def _ids_by_book(*, marked: Sequence[PaperTrade], closed: Sequence[PaperTrade]) -> dict[str, dict[str, list[int]]]:
    """The ids of the trades a batch marked and closed, by book (the key: the book's id as text, as JSON has it)."""
    books: dict[str, dict[str, list[int]]] = {}
    for name, trades in (("marked", marked), ("closed", closed)):
        for trade in trades:
            books.setdefault(str(trade.book_id), {"marked": [], "closed": []})[name].append(trade.pk)
    return books


@transaction.atomic
def prices_apply(*, ticks: Iterable[Tick]) -> TicksApplied:
    """Keep each symbol's last tick and its 1-minute candles, and mark every OPEN trade of each tick's symbol
    (every tick widens its high and low, max_price and min_price), in time order, closing
    those a tick takes through their stop (a market order: at the tick's bid or ask, or its price moved by
    slippage) or their target (a limit order: at the target). Ticks older than a trade's entry do not touch
    it; ticks older than their symbol's last applied tick (a late delivery, a replay) are ignored and counted.
    A tick refused (inputs.clean_tick, or a price that would value a trade beyond AMOUNT_MAX) is listed in
    `refused` with its reason, and the others are applied. Then the waiting signals that can no longer be taken
    lapse (signals_lapse).

    Working entry orders of the ticks' symbols fill first, tick by tick (services.orders_fill, docs/fills.md), and
    the trades they open are marked (or closed) by the batch's later ticks; then the orders whose time is up at
    the last tick expire. Lock order: the symbols' last prices, then the trades by id, the working orders by id,
    their signals, the account row."""
    cleaned, refused = clean_ticks(ticks)
    applied, ignored, before = _forward(cleaned)
    result = TicksApplied(ignored=ignored, refused=refused)
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
    valued = []
    for tick in applied:
        if (error := _beyond_envelope(tick, by_symbol.get(tick.symbol, []))) is None:
            valued.append(tick)
        else:
            result.refused.append(refusal(tick, tick.number, error))
    result.refused.sort(key=lambda refused: refused.number)
    applied = valued
    if not applied:
        return result
    # The orders the ticks may fill, and those whose time is up at the last tick (orders_expire, below), locked in
    # one read before anything locks the account: the lock order every writer keeps (services/__init__.py).
    working = Order.objects.filter(
        Q(symbol__in={tick.symbol for tick in applied}) | Q(expires_at__lte=applied[-1].at),
        status=Order.Status.WORKING,
    )
    # The waiting signals too (those of the orders, and those that may lapse below), before a fill or an event takes
    # the writers' lock: the order every writer keeps (trades, orders, signals, then that lock and the books).
    list(working.select_for_update().order_by("pk").values_list("pk", flat=True))
    waiting = Signal.objects.filter(status=Signal.Status.GENERATED, timestamp__lte=applied[-1].at)
    list(waiting.select_for_update().order_by("pk").values_list("pk", flat=True))
    result.filled = orders_fill(working=working, ticks=applied, before=before)
    for trade in result.filled:  # the ticks after its fill mark it, or close it
        by_symbol.setdefault(trade.symbol, []).append(trade)
    last_tick: dict[int, tuple[PaperTrade, Tick]] = {}  # each trade is valued once, at its last tick
    parts: dict[int, PaperTrade] = {}  # trades a target's part exited in this batch
    books = {book.pk: book.terms for book in Book.objects.all()}  # each trade's fees and slippage are its book's
    for tick in applied:
        for trade in by_symbol.get(tick.symbol, []):
            if not trade.is_open or tick.at < trade.entry_time:
                continue
            rules.widen(trade, tick.price)
            # A comparison per tick, cheap: targets' parts exit, a stop or the last target closes, a trail moves.
            with rules.under(books[trade.book_id]):
                fills = brackets.step(trade, tick.price, bid=tick.bid, ask=tick.ask, at=tick.at)
            if fills:
                parts[trade.pk] = trade
                result.executions.extend((trade, fill) for fill in fills)
            if trade.is_open:
                last_tick[trade.pk] = trade, tick
            else:
                result.closed.append(trade)
    for trade, tick in last_tick.values():
        if trade.is_open:
            with rules.under(books[trade.book_id]):
                rules.mark(trade, tick.price, bid=tick.bid, ask=tick.ask)
            result.marked.append(trade)
    _write_marks(result.marked)
    _write_parts(parts.values())
    record_fills(result.executions)
    if parts:
        _parts_counted(parts.values(), result.executions)
    _write_last_prices({tick.symbol: tick for tick in applied})  # time order: the last one per symbol wins
    _write_candles(applied)
    if result.closed and save_closes(result.closed) != len(result.closed):
        # Impossible while the rows are locked; refuse to write a partial batch if it ever happens.
        raise AlreadyClosed("A trade in this batch was closed by someone else; nothing was applied.")
    result.lapsed = signals_lapse(ticks={tick.symbol: tick for tick in applied}, at=applied[-1].at)
    result.expired = orders_expire(at=applied[-1].at)
    writers_lock()  # before the books' rows, as every writer takes them
    Book.objects.update(version=F("version") + 1)  # prices change every book's marks (and its ETags)
    event_record(
        kind=Event.Kind.PRICES_APPLIED,
        payload={
            "prices": {tick.symbol: tick.price for tick in applied},  # time order: each symbol's last
            "marked": [trade.pk for trade in result.marked],
            "closed": [trade.pk for trade in result.closed],
            # The same by book: a book's stream and the events API give each book its own ids alone (live.seen_by).
            "books": _ids_by_book(marked=result.marked, closed=result.closed),
        },
    )
    return result


@dataclass
class CandlesBackfilled:
    symbol: str
    written: int = 0  # minutes that had no candle
    unreadable: int = 0  # candles refused (not prices, low above high, ...)
    closed: list[str] = field(default_factory=list)  # open trades those minutes closed, each in a sentence


@transaction.atomic
def candles_backfill(*, symbol: str, candles: Iterable[Candle]) -> CandlesBackfilled:
    """The exchange's own 1-minute history for the minutes that have no candle (the feed was down): written with
    0 ticks, so a chart can tell them from minutes the ledger saw. The symbol's open trades widen their high and
    low with the minutes that began at or after their entry, and the first of those minutes to reach a trade's
    stop or target closes it as its resting order would have (rules.candle_fill), stamped with that minute; the
    close's history reason says it was filled from candles, and whether the stop was assumed (docs/fills.md)."""
    symbol = clean_symbol(symbol)
    result = CandlesBackfilled(symbol)
    cleaned = []
    for candle in candles:
        try:
            cleaned.append(clean_candle(candle))
        except InvalidInput:
            result.unreadable += 1
    if not cleaned:
        return result
    minutes = [candle.minute for candle in cleaned]
    known = set(
        PriceCandle.objects.filter(symbol=symbol, minute__gte=min(minutes), minute__lte=max(minutes)).values_list(
            "minute", flat=True
        )
    )
    missing = sorted((candle for candle in cleaned if candle.minute not in known), key=lambda candle: candle.minute)
    PriceCandle.objects.bulk_create(
        [
            PriceCandle(symbol=symbol, minute=c.minute, open=c.open, high=c.high, low=c.low, close=c.close, ticks=0)
            for c in missing
        ],
        ignore_conflicts=True,  # a tick may have written the minute meanwhile: it knows better
    )
    result.written = len(missing)
    trades = PaperTrade.objects.select_for_update().filter(status=PaperTrade.Status.OPEN, symbol=symbol).order_by("pk")
    for trade in trades:
        seen = [candle for candle in missing if candle.minute >= trade.entry_time]
        if not seen:
            continue
        with book_rules(trade.book_id):
            parts, fill = brackets.candle_step(trade, seen)  # widened by the minutes up to its close, if any
            if fill is None:
                rules.revalue(trade)  # its partial exits, if any, are realized now
        if parts:
            record_executions(trade, parts)
            _parts_counted([trade], [(trade, part) for part in parts])
        if fill is None:
            PaperTrade.objects.filter(pk=trade.pk, status=PaperTrade.Status.OPEN).bulk_update([trade], BACKFILLED)
            continue
        how = "filled from 1-minute candles" + (
            ": stop and target in one minute, the stop assumed" if fill.both else ""
        )
        if save_closes([trade], reason=how) != 1:
            raise AlreadyClosed(f"Trade {trade.pk} was closed by someone else; nothing was applied.")
        level = {rules.LIQUIDATION: "liquidation price", rules.STOP_LOSS: "stop", rules.TAKE_PROFIT: "target"}[
            fill.reason
        ]
        result.closed.append(
            f"#{trade.pk} {trade.direction} {symbol}: closed at {rules.plain(fill.price)}, its {level} reached in the "
            f"{fill.minute:%Y-%m-%d %H:%M} candle while the feed was down"
            + (" (its target too: the stop assumed first)" if fill.both else "")
        )
    if missing:
        writers_lock()
        Book.objects.update(version=F("version") + 1)
        event_record(
            kind=Event.Kind.PRICES_APPLIED,
            payload={
                "prices": {symbol: missing[-1].close},
                "backfilled": len(missing),
                "marked": [],
                "closed": [],
            },
        )
    return result
