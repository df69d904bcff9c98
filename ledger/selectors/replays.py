"""What a replay reads (docs/replay.md): the signals of its period and filters, in the order they were entered,
each symbol's 1-minute candles streamed oldest first in pages of the (symbol, minute) index, the markets' lot
rules, and the ledger's own trades of those signals to compare with. Nothing here writes."""

import functools
import weakref
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from itertools import chain
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce

from .. import replay, replay_report, sizing
from ..days import day_bounds
from ..errors import NotFound
from ..models import Book, MarketLot, PaperTrade, Replay, Signal
from ..sql import HasElement, moment_from_db, money_from_db

CANDLE_PAGE = 10_000  # candles a read: one keyset page of the (symbol, minute) index
CACHED_MAX = 200_000  # distinct minutes or prices a replay's read keeps converted; past it, it starts again


@dataclass(frozen=True)
class Selection:
    """Which signals a replay takes: sent from the first day's start to the last day's end (trading days), of
    these symbols, with one of these confluences, whose trade carries one of these tags (empty: any); those the
    ledger executed, and with `include_refused` also those it did not; of one book."""

    book_id: int
    start: date
    end: date
    symbols: tuple[str, ...] = ()
    confluences: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    include_refused: bool = False

    @property
    def span(self) -> tuple[datetime, datetime]:
        return day_bounds(self.start)[0], day_bounds(self.end)[1]


def _any(path: str, values: tuple[str, ...]) -> Q:
    condition = Q()
    for value in values:
        condition |= Q(HasElement(path, value))
    return condition


def replay_signals_selected(selection: Selection) -> QuerySet[Signal]:
    start, end = selection.span
    rows = Signal.objects.filter(book_id=selection.book_id, timestamp__gte=start, timestamp__lt=end)
    rows = (
        rows.filter(trade__isnull=False)
        if not selection.include_refused
        else rows.exclude(status=Signal.Status.GENERATED)
    )
    if selection.symbols:
        rows = rows.filter(symbol__in=selection.symbols)
    if selection.confluences:
        rows = rows.filter(_any("confluences", selection.confluences))
    if selection.tags:
        rows = rows.filter(_any("trade__tags", selection.tags))
    return rows


def replay_signals(selection: Selection) -> Iterator[replay.Signal]:
    """The selected signals in the order the replay enters them: when the ledger executed each (its trade's entry
    time), or when it was sent if the ledger did not."""
    rows = (
        replay_signals_selected(selection)
        .annotate(at=Coalesce("trade__entry_time", "timestamp"))
        .order_by("at", "pk")
        .values_list("signal_id", "symbol", "action", "entry_price", "stop_loss", "take_profit", "at", "bracket")
    )
    for row in rows.iterator(chunk_size=2_000):
        yield replay.Signal(*row)


def replay_symbols(selection: Selection) -> list[str]:
    return sorted(set(replay_signals_selected(selection).order_by().values_list("symbol", flat=True).distinct()))


# One page of a symbol's candles by keyset on the (symbol, minute) index. A raw query: Django's converters (a float
# to a Decimal per value on SQLite, through a generic loop) cost ten times what the replay does with a candle. The
# minute is read as text, so that SQLite's datetime converter (a Python call a row) never runs: each distinct minute
# is parsed once, for every symbol. PostgreSQL's prices are read as text too: psycopg would make a Decimal of each,
# and hashing it to find its converted value costs more than the text's hash (SQLite's floats are cheaper as they
# are than formatted as text).
CANDLES_SQL = (
    "SELECT CAST(minute AS TEXT) AS minute_text, {prices} FROM price_candles "
    "WHERE symbol = %s AND minute {after} %s AND minute < %s ORDER BY minute LIMIT %s"
)
PRICES = ("open", "high", "low", "close", "bid", "ask")


def _candles_sql(after: str) -> str:
    text = connection.vendor == "postgresql"
    prices = ", ".join(f"CAST({name} AS TEXT) AS {name}_text" if text else name for name in PRICES)
    return CANDLES_SQL.format(prices=prices, after=after)


class _Converted(dict):
    """Values read from the database, each converted once: a miss converts and keeps it (dict.__missing__), so a
    row's lookups stay in C."""

    def __init__(self, convert: Callable[[Any], Any]) -> None:
        super().__init__()
        self.convert = convert

    def __missing__(self, value: Any) -> Any:
        if len(self) > CACHED_MAX:
            self.clear()
        converted = self[value] = self.convert(value)
        return converted


def replay_candles(symbols: list[str], start: datetime, end: datetime) -> list[Iterator[replay.Candle]]:
    """Each symbol's candles from start (included; PAPER_PRICE_MAX_AGE before it, so the period's first entry has a
    price) to end (excluded), oldest first, read CANDLE_PAGE at a time: one stream a symbol, as replay.run merges
    them. Minutes are aware UTC datetimes, each distinct one converted once for all the streams. A candle's prices
    are converted when the engine first reads them (sql.money_from_db: SQLite's floats to the same Decimals the ORM
    gives), each distinct one once: most candles are only a symbol's last price, never read (no position open), and
    a conversion a value was most of what reading them cost.

    Outside a transaction the next page of each symbol is read ahead on a connection of its own, by one thread, while
    the engine works on the page before: the database's own time to find and send a page is then spent beside the
    engine, not before it. Inside one (a test's, a caller's) the pages are read on the caller's connection, which sees
    what the transaction wrote."""
    minutes, prices = _Converted(moment_from_db), _Converted(_price)
    made = _candle_class(prices)
    if connection.in_atomic_block:
        read = functools.partial(_page, made=made, minutes=minutes)
        return [chain.from_iterable(_pages(symbol, start, end, read=read)) for symbol in symbols]
    ahead = _ReadAhead(made=made, minutes=minutes, streams=len(symbols))
    # A chain over whole pages: the merge takes each candle from a list, not by resuming a generator.
    return [chain.from_iterable(ahead.pages(symbol, start, end)) for symbol in symbols]


def _price(value: Any) -> Any:
    return None if value is None else money_from_db(value)  # a candle without a bid or ask keeps None


def _candle_class(prices: _Converted) -> type:
    """Candles as read: the symbol and the minute converted, the prices as the database sent them, converted (once
    a distinct value) when read. The engine sees a replay.Candle."""
    price, item = prices.__getitem__, tuple.__getitem__

    class Read(replay.Candle):
        __slots__ = ()
        open = property(lambda candle: price(item(candle, 2)))
        high = property(lambda candle: price(item(candle, 3)))
        low = property(lambda candle: price(item(candle, 4)))
        close = property(lambda candle: price(item(candle, 5)))
        bid = property(lambda candle: price(item(candle, 6)))
        ask = property(lambda candle: price(item(candle, 7)))

    return Read


def _page(symbol: str, since: datetime, end: datetime, first: bool, *, made: type, minutes: _Converted) -> list:
    """One page of a symbol's candles from `since` (included if `first`) to `end`, as candles."""
    adapt, make, minute = connection.ops.adapt_datetimefield_value, tuple.__new__, minutes.__getitem__
    with connection.cursor() as cursor:
        cursor.execute(_candles_sql(">=" if first else ">"), [symbol, adapt(since), adapt(end), CANDLE_PAGE])
        rows = cursor.fetchall()
    # tuple.__new__ is what a named tuple's __new__ calls, without a Python call a candle around it.
    return [make(made, (symbol, minute(at), o, h, low, c, bid, ask)) for at, o, h, low, c, bid, ask in rows]


def _pages(
    symbol: str, start: datetime, end: datetime, *, read: Callable[[str, datetime, datetime, bool], list]
) -> Iterator[list[replay.Candle]]:
    since, first = start - settings.PAPER_PRICE_MAX_AGE, True
    while True:
        page = read(symbol, since, end, first)
        yield page
        if len(page) < CANDLE_PAGE:
            return
        since, first = page[-1].minute, False


class _ReadAhead:
    """Pages read by one thread on its own connection, each symbol's next page asked for as its page is handed
    over: at most one page a symbol waits in memory. The thread's connection is closed when the last stream ends
    (a stream never started, as when a replay is cancelled, leaves it to the thread's end)."""

    def __init__(self, *, made: type, minutes: _Converted, streams: int) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="replay-candles")
        self.read = functools.partial(_page, made=made, minutes=minutes)
        self.streams = streams
        weakref.finalize(self, self.executor.shutdown, wait=False, cancel_futures=True)

    def pages(self, symbol: str, start: datetime, end: datetime) -> Iterator[list[replay.Candle]]:
        try:
            since = start - settings.PAPER_PRICE_MAX_AGE
            future = self.executor.submit(self.read, symbol, since, end, True)
            while True:
                page = future.result()
                if len(page) == CANDLE_PAGE:
                    future = self.executor.submit(self.read, symbol, page[-1].minute, end, False)
                yield page
                if len(page) < CANDLE_PAGE:
                    return
        finally:
            self.streams -= 1
            if not self.streams:
                self.executor.submit(connection.close)
                self.executor.shutdown(wait=True)


def replay_lots(symbols: list[str]) -> dict[str, sizing.Lot]:
    return {row.symbol: row.lot for row in MarketLot.objects.filter(symbol__in=symbols)}


def replay_live(selection: Selection) -> list[replay_report.Live]:
    """The ledger's own trades of the selected signals, to compare the replay with."""
    signals = replay_signals_selected(selection).filter(trade__isnull=False).values("signal_id")
    rows = PaperTrade.objects.filter(signal__in=signals).order_by("entry_time", "pk")
    return [
        replay_report.Live(
            trade_id=trade.pk,
            signal_id=trade.signal_id,
            entry_time=trade.entry_time,
            entry_price=trade.entry_price,
            exit_time=trade.exit_time,
            exit_price=trade.exit_price,
            exit_reason=trade.status,
            pnl=trade.pnl,
            risk=trade.risk_amount,
        )
        for trade in rows.only(
            "signal_id",
            "entry_time",
            "entry_price",
            "exit_time",
            "exit_price",
            "status",
            "realized_pnl",
            "unrealized_pnl",
            "risk_amount",
        )
    ]


def replays_recent(book: Book, limit: int = 10) -> QuerySet[Replay]:
    return Replay.objects.filter(book=book).order_by("-id")[:limit]


def replay_get(replay_id: int, *, books: Iterable[int] | None = None) -> Replay:
    """The replay, if it is of one of `books` (ids; None: of any book), or NotFound."""
    rows = Replay.objects.all() if books is None else Replay.objects.filter(book__in=list(books))
    row = rows.filter(pk=replay_id).first()
    if row is None:
        raise NotFound(f"No replay with id {replay_id}.", field="replay_id")
    return row
