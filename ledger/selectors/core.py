"""The reads of the dashboard, the API and the commands: one query (or a small aggregate) each over the
ledger's tables (signals, paper_trades, the book rows, market_prices, price_candles); a day is a [start, end)
range on an indexed time column. Nothing here loads a table to filter it in Python."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Count,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Cast, Round

from .. import brackets, rules, sizing
from ..days import day_bounds, trading_day
from ..errors import InvalidTransition, LedgerError, NotExecutable, NotFound
from ..models import Book, BookDay, FeedStatus, MarketLot, MarketPrice, Order, PaperTrade, PriceCandle, Signal
from ..rules import RATIO, ZERO, Quote, money
from ..sql import (
    HeldSeconds,
    NonZero,
    Ratio,
    Rounded,
    excursions_in_money,
    money_from_db,
    r_multiple,
)


def book_totals(book: Book) -> Book:
    """The book's running totals as committed now (balance, cash): its row read again."""
    return Book.objects.get(pk=book.pk)


def ledger_version(book_id: int) -> int:
    """A number every write to the book bumps: what the dashboard's parts make their ETags of."""
    return Book.objects.filter(pk=book_id).values_list("version", flat=True).first() or 0


def trade(trade_id: int, *, books: Iterable[int] | None = None) -> PaperTrade:
    """The trade, if it is of one of `books` (ids; None: of any book), or NotFound: another book's trade is not
    there for whom may not see that book."""
    rows = PaperTrade.objects.all() if books is None else PaperTrade.objects.filter(book__in=list(books))
    trade = rows.filter(pk=trade_id).first()
    if trade is None:
        raise NotFound(f"No trade with id {trade_id}.", field="trade_id")
    return trade


def signal(signal_id: str, *, books: Iterable[int] | None = None) -> Signal:
    """The signal, if it is of one of `books` (ids; None: of any book), or NotFound."""
    rows = Signal.objects.all() if books is None else Signal.objects.filter(book__in=list(books))
    row = rows.filter(signal_id=signal_id).first()
    if row is None:
        raise NotFound(f"No signal with signal_id {signal_id!r}.", field="signal_id")
    return row


@dataclass(frozen=True)
class EntryPlan:
    """How a signal would be filled and sized at a moment (docs/fills.md): what `signal_execute` writes, and
    what the dashboard's Execute shows the trader before it does."""

    direction: str
    quote: Quote  # the reference: the symbol's last tick, or the signal's own price
    from_tick: bool
    fill: Decimal
    stop: Decimal
    target: Decimal
    size: Decimal
    risk: Decimal
    balance: Decimal
    bracket: dict  # the signal's, with the size each target closes (brackets.sized)

    @property
    def notional(self) -> Decimal:
        return money(self.fill * self.size)

    @property
    def risk_pct(self) -> Decimal | None:
        """The risk as a percentage of the balance."""
        return (100 * self.risk / self.balance).quantize(RATIO) if self.balance > 0 else None


def entry_plan(
    signal: Signal, *, account: Book, at: datetime, price: Decimal | None = None, tick: Quote | None = None
) -> EntryPlan:
    """The signal's entry at `at` from its book's (`account`) balance and available cash (cash less what working orders
    reserve), by the rules of paper execution; raises what an execution would be refused with (not waiting, its
    day over or its time up, a level passed, no cash, a limit). Reads only: `signal_execute` calls it with the
    account row locked, then writes the plan.

    `price` prices an entry order instead of the market: its price at its placement, its fill at its fill. Its
    signal is then not held to its age or its trading day: the order's own expiry rules it (docs/fills.md); `tick`
    is the tick that filled it, which marks the new trade. The book's rules are those in force (rules.under)."""
    open_trades = trades_active(signal.book)
    return _plan(
        signal,
        account=account,
        at=at,
        last=market_quote(signal.symbol),
        open_count=open_trades.count(),
        symbol_open=open_trades.filter(symbol=signal.symbol).exists(),
        lot=market_lot(signal.symbol),
        price=price,
        tick=tick,
    )


def _plan(
    signal: Signal,
    *,
    account: Book,
    at: datetime,
    last: Quote | None,
    open_count: int,
    symbol_open: bool,
    lot: sizing.Lot,
    price: Decimal | None = None,
    tick: Quote | None = None,
) -> EntryPlan:
    """entry_plan from what it reads: the symbol's last tick, how many trades are open, whether one is on the
    signal's symbol, and its market's lot rules."""
    if signal.status != Signal.Status.GENERATED:
        raise InvalidTransition(
            f"Signal {signal.signal_id} is {signal.get_status_display().lower()}; only a waiting signal can be "
            "executed.",
            field="signal_id",
        )
    direction = rules.direction_for(signal.action)
    if price is None:
        if trading_day(signal.timestamp) < trading_day(at):
            raise NotExecutable(
                f"Signal {signal.signal_id} belongs to trading day {trading_day(signal.timestamp)}, which has ended.",
                field="signal_id",
            )
        rules.check_signal_age(signal_time=signal.timestamp, at=at)
        quote = rules.reference(last=last, signal_price=signal.entry_price, signal_time=signal.timestamp, at=at)
        fill = rules.market_fill(buying=rules.opening_buys(direction), price=quote.price, bid=quote.bid, ask=quote.ask)
    else:
        quote = tick or Quote(price=price, bid=None, ask=None, at=at)
        fill = price
    stop, target = rules.levels(direction, fill=fill, stop=signal.stop_loss, target=signal.take_profit)
    rules.check_fill_inside(direction, fill=fill, stop=stop, target=target)
    rules.check_limits(symbol=signal.symbol, open_trades=open_count, symbol_open=symbol_open)
    sized = sizing.size(
        symbol=signal.symbol,
        direction=direction,
        balance=account.balance,
        cash=account.available,
        fill=fill,
        stop=stop,
        target=Decimal(signal.targets[-1]["price"]) if signal.targets else target,  # the farthest holds the most
        lot=lot,
    )
    return EntryPlan(
        direction=direction,
        quote=quote,
        from_tick=quote is last,
        fill=fill,
        stop=stop,
        target=target,
        size=sized.size,
        risk=sized.risk,
        balance=account.balance,
        bracket=brackets.sized(signal.bracket, size=sized.size, step=lot.step),
    )


def market_quote(symbol: str) -> Quote | None:
    """The symbol's last tick applied: price, bid, ask and when it was seen."""
    row = MarketPrice.objects.filter(symbol=symbol).first()
    return Quote(price=row.price, bid=row.bid, ask=row.ask, at=row.at) if row else None


def market_lot(symbol: str) -> sizing.Lot:
    """The symbol's lot rules: its exchange's as the price feed keeps them, else the settings'."""
    row = MarketLot.objects.filter(symbol=symbol).first()
    return row.lot if row else sizing.lot_default()


def candles(symbol: str, start: datetime, end: datetime) -> QuerySet[PriceCandle]:
    """The symbol's 1-minute candles from start (included) to end (excluded), oldest first: one range read of
    the (symbol, minute) index, whatever the table's size."""
    return PriceCandle.objects.filter(symbol=symbol, minute__gte=start, minute__lt=end).order_by("minute")


def trades_active(book: Book | None = None) -> QuerySet[PaperTrade]:
    """The book's open trades (None: every book's, as the price feed follows them), the oldest first."""
    rows = PaperTrade.objects.filter(status=PaperTrade.Status.OPEN)
    return (rows if book is None else rows.filter(book=book)).order_by("entry_time", "pk")


def trades_active_with_last_tick(book: Book) -> QuerySet[PaperTrade]:
    """The book's open trades, each with `last_tick_at`, when its symbol's last tick was applied (None: never), read
    from market_prices by its unique symbol: how old the price the trade is marked at is."""
    last_tick = MarketPrice.objects.filter(symbol=OuterRef("symbol")).values("at")[:1]
    return trades_active(book).annotate(last_tick_at=Subquery(last_tick))


def symbols_followed(day: date, watchlist: Iterable[str]) -> list[str]:
    """What a price feed follows: the symbols of every book's open trades and of the day's waiting (GENERATED)
    signals, and a watchlist; two small indexed reads."""
    trading = trades_active().order_by().values_list("symbol", flat=True).distinct()
    waiting = _between(Signal.objects.filter(status=Signal.Status.GENERATED), "timestamp", day, day)
    waiting = waiting.order_by().values_list("symbol", flat=True).distinct()
    return sorted({*trading, *waiting, *watchlist})


def open_since() -> dict[str, datetime]:
    """Each symbol with an open trade, and when the earliest of them opened: the history a backfill fills."""
    rows = trades_active().order_by().values("symbol").annotate(since=Min("entry_time")).values_list("symbol", "since")
    return dict(rows)


def newest_tick_at() -> datetime | None:
    """When the newest tick of any symbol was applied: how far behind the price feed is."""
    return MarketPrice.objects.aggregate(newest=Max("at"))["newest"]


def prices_last(symbols: Iterable[str]) -> dict[str, tuple[Decimal, datetime]]:
    """Each symbol's last price applied and when it was seen (symbols never priced are absent)."""
    rows = MarketPrice.objects.filter(symbol__in=list(symbols)).values_list("symbol", "price", "at")
    return {symbol: (price, at) for symbol, price, at in rows}


def candles_newest(symbols: Iterable[str]) -> dict[str, datetime]:
    """Each symbol's newest 1-minute candle (symbols without one are absent): where its history stops."""
    rows = (
        PriceCandle.objects.filter(symbol__in=list(symbols)).order_by().values("symbol").annotate(newest=Max("minute"))
    )
    return dict(rows.values_list("symbol", "newest"))


def feed_status() -> FeedStatus | None:
    """What the price feed that reported last says of itself."""
    return FeedStatus.objects.order_by("-reported_at").first()


def symbols(model: type[Signal] | type[PaperTrade] | type[PriceCandle], book: Book | None = None) -> list[str]:
    """The distinct symbols of a table (of one book's rows, for the tables that have books), in order: a skip scan
    that asks its (book, symbol) or symbol index for the next symbol after the last one (a probe per symbol), not a
    DISTINCT that reads a million rows."""
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model._meta.get_field("symbol").column)
    mine, params = ("", []) if book is None else (f"{connection.ops.quote_name('book_id')} = %s AND ", [book.pk] * 2)
    sql = (
        f"WITH RECURSIVE s(symbol) AS (SELECT MIN({column}) FROM {table} WHERE {mine}1 = 1 UNION ALL "
        f"SELECT (SELECT MIN({column}) FROM {table} WHERE {mine}{column} > s.symbol) FROM s "
        "WHERE s.symbol IS NOT NULL) SELECT symbol FROM s WHERE symbol IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [symbol for (symbol,) in cursor.fetchall()]


def _between(rows: QuerySet, column: str, start: date | None, end: date | None) -> QuerySet:
    """Rows whose time falls from the start of trading day `start` to the end of `end` (None: unbounded)."""
    if start is not None:
        rows = rows.filter(**{f"{column}__gte": day_bounds(start)[0]})
    if end is not None:
        rows = rows.filter(**{f"{column}__lt": day_bounds(end)[1]})
    return rows


def closed_between(book: Book, start: date | None, end: date | None) -> QuerySet[PaperTrade]:
    return _between(
        PaperTrade.objects.filter(book=book, status__in=PaperTrade.CLOSED_STATUSES).order_by(), "exit_time", start, end
    )


def signals_for_day(book: Book, day: date, *, status: str | None = None) -> QuerySet[Signal]:
    """The book's signals of the day, the latest first; only those of one status if given."""
    signals = Signal.objects.filter(book=book)
    signals = signals.filter(status=status) if status else signals
    return _between(signals, "timestamp", day, day).order_by("-timestamp", "-pk")


def signals_board(book: Book, day: date, *, size: int, at: datetime | None = None) -> list[Signal]:
    """The day's signals a page shows, `size` at most: the waiting (GENERATED) ones first, then the latest
    handled ones, each group the latest first, with each one's trade. Two index reads of `size` rows each,
    however many signals the day has.

    Given `at`, each waiting signal also says whether it could be executed then: `plan` (its EntryPlan) or
    `refusal` (why not, as Execute would say), from four more reads: the account, the last prices and lot rules of
    their symbols and the open trades' symbols."""
    waiting = list(signals_for_day(book, day, status=Signal.Status.GENERATED).select_related("trade")[:size])
    handled = signals_for_day(book, day).exclude(status=Signal.Status.GENERATED).select_related("trade")
    if waiting and at is not None:
        _judge(book, waiting, at=at)
    return waiting + list(handled[: size - len(waiting)])


def _judge(book: Book, waiting: list[Signal], *, at: datetime) -> None:
    """Set each waiting signal's `plan` or `refusal` at `at`, as entry_plan would find them."""
    symbols = {signal.symbol for signal in waiting}
    quotes = {
        row.symbol: Quote(price=row.price, bid=row.bid, ask=row.ask, at=row.at)
        for row in MarketPrice.objects.filter(symbol__in=symbols)
    }
    lots = {row.symbol: row.lot for row in MarketLot.objects.filter(symbol__in=symbols)}
    open_trades = trades_active(book).order_by().values("symbol").annotate(n=Count("pk"))
    open_symbols = dict(open_trades.values_list("symbol", "n"))
    totals = book_totals(book)
    ordered = dict(
        Order.objects.filter(
            signal__in=[signal.signal_id for signal in waiting], status=Order.Status.WORKING
        ).values_list("signal_id", "order_type")
    )
    for signal in waiting:
        signal.plan, signal.refusal = None, ""
        if signal.signal_id in ordered:
            signal.refusal = f"its {ordered[signal.signal_id]} order is working (see Working orders)."
            continue
        try:
            with rules.under(totals.terms):
                signal.plan = _plan(
                    signal,
                    account=totals,
                    at=at,
                    last=quotes.get(signal.symbol),
                    open_count=sum(open_symbols.values()),
                    symbol_open=signal.symbol in open_symbols,
                    lot=lots.get(signal.symbol) or sizing.lot_default(),
                )
        except LedgerError as refused:
            signal.refusal = refused.message


def journal_for_day(book: Book, day: date) -> QuerySet[PaperTrade]:
    """The book's trades closed during the day, the latest first."""
    return closed_between(book, day, day).order_by("-exit_time", "-pk")


@dataclass(frozen=True)
class SignalsSummary:
    day: date
    total: int
    by_status: dict[str, int]
    by_action: dict[str, int]


def signals_summary(book: Book, day: date) -> SignalsSummary:
    """Counts of the day's signals by status and by action, in one aggregate query."""
    counts = {f"status_{s}": Count("pk", filter=Q(status=s)) for s in Signal.Status.values}
    counts |= {f"action_{a}": Count("pk", filter=Q(action=a)) for a in Signal.Action.values}
    row = signals_for_day(book, day).aggregate(total=Count("pk"), **counts)
    return SignalsSummary(
        day=day,
        total=row["total"],
        by_status={s: row[f"status_{s}"] for s in Signal.Status.values},
        by_action={a: row[f"action_{a}"] for a in Signal.Action.values},
    )


@dataclass(frozen=True)
class DailyPnl:
    day: date
    realized_pnl: Decimal
    trades: int
    wins: int

    @property
    def win_rate(self) -> Decimal | None:
        """Wins per closed trade, as a fraction; None when no trade closed."""
        return Decimal(self.wins) / Decimal(self.trades) if self.trades else None


def pnl_daily(book: Book, day: date) -> DailyPnl:
    """Realized PnL of the book's trades whose exit falls in the day, with counts, in one aggregate query."""
    row = journal_for_day(book, day).aggregate(
        realized=Sum("realized_pnl"), trades=Count("pk"), wins=Count("pk", filter=Q(realized_pnl__gt=0))
    )
    return DailyPnl(day=day, realized_pnl=money_from_db(row["realized"]), trades=row["trades"], wins=row["wins"])


@dataclass(frozen=True)
class DashboardSummary:
    balance: Decimal  # the starting balance and every realized PnL
    cash: Decimal
    day: DailyPnl
    open_trades: int
    unrealized_pnl: Decimal
    open_notional: Decimal  # the open trades' entry notional
    deficit: Decimal  # what the book owes, cash below 0 (Book.deficit)
    reserved: Decimal = ZERO  # what working entry orders hold back of cash (Book.reserved)

    @property
    def equity(self) -> Decimal:
        """What the account is worth now: its balance and the open trades' unrealized PnL."""
        return self.balance + self.unrealized_pnl

    @property
    def exposure(self) -> Decimal | None:
        """Open notional as a fraction of equity."""
        return (self.open_notional / self.equity).quantize(RATIO) if self.equity > 0 else None


def dashboard_summary(book: Book, day: date) -> DashboardSummary:
    """The header of the book's dashboard: balance, equity and cash, the day's realized PnL and win rate, and the
    open trades."""
    open_row = trades_active(book).aggregate(
        count=Count("pk"), unrealized=Sum("unrealized_pnl"), notional=Sum(F("entry_price") * F("position_size"))
    )
    totals = book_totals(book)
    return DashboardSummary(
        balance=totals.balance,
        cash=totals.cash,
        deficit=totals.deficit,
        reserved=totals.reserved,
        day=pnl_daily(book, day),
        open_trades=open_row["count"],
        unrealized_pnl=money_from_db(open_row["unrealized"]),
        open_notional=money_from_db(open_row["notional"]),
    )


@dataclass(frozen=True)
class DayEnd:
    """A past day as it ended: its closes, the balance at its end, and the trades that were open then (no mark of
    that moment is kept, so no equity)."""

    day: DailyPnl
    balance: Decimal
    open_trades: list[PaperTrade]  # opened before its end and closed after it (or open still), the oldest first


def day_end(book: Book, day: date) -> DayEnd:
    """The balance at the end of the day is today's less the realized PnL of every close since; the trades open
    at its end are those closed since that had opened before it, and the open ones that had. Both read the
    closes after the day (an index range on exit_time), so a recent day costs little and a day years back at a
    million trades reads every later close."""
    end = day_bounds(day)[1]
    since = PaperTrade.objects.filter(book=book, exit_time__gte=end)
    later = since.aggregate(realized=Sum("realized_pnl"))["realized"]
    still_open = trades_active(book).filter(entry_time__lt=end)
    return DayEnd(
        day=pnl_daily(book, day),
        balance=money(book_totals(book).balance - money_from_db(later)),
        open_trades=[*since.filter(entry_time__lt=end).order_by("entry_time", "pk"), *still_open],
    )


def pnl_daily_range(book: Book, start: date, end: date) -> list[DailyPnl]:
    """One row per trading day from start to end (both included), days without a close as zeros: the book's
    per-day aggregates (models.BookDay, kept by every close and correction), one indexed read of a row per day
    with a close, however many trades each closed."""
    rows = BookDay.objects.filter(book=book, day__gte=start, day__lte=end).values_list(
        "day", "realized_pnl", "trades", "wins"
    )
    by_day = {day: DailyPnl(day, money_from_db(realized), trades, wins) for day, realized, trades, wins in rows}
    days = (start + timedelta(days=n) for n in range((end - start).days + 1))
    return [by_day.get(day) or DailyPnl(day=day, realized_pnl=ZERO, trades=0, wins=0) for day in days]


def with_export_columns(trades: QuerySet[PaperTrade]) -> QuerySet[PaperTrade]:
    """Closed trades with what their export adds to the columns: `held_seconds`, how long each was open, to
    the second, `r`, its R multiple (None without a risk), and its excursions (mfe, mae, mfe_r, mae_r)."""
    return trades.annotate(held_seconds=Cast(Round(HeldSeconds()), IntegerField()), r=r_multiple(), **_excursions())


def _excursions() -> dict[str, Rounded]:
    """MFE and MAE (money to 8 places, R to 4) computed in SQL, so that a streamed export of a million trades
    does not load each trade."""
    mfe, mae = excursions_in_money()
    risk = NonZero(F("risk_amount"))
    return {
        "mfe": Rounded(mfe, places=8),
        "mae": Rounded(mae, places=8),
        "mfe_r": Rounded(Ratio(mfe, risk), places=4),
        "mae_r": Rounded(Ratio(mae, risk), places=4),
    }


def journal_between(book: Book, start: date | None, end: date | None) -> QuerySet[PaperTrade]:
    """The book's trades closed from trading day start to end (both included; None: no bound), oldest close first,
    with the export's columns."""
    return with_export_columns(closed_between(book, start, end)).order_by("exit_time", "pk")


def signals_between(book: Book, start: date | None, end: date | None) -> QuerySet[Signal]:
    """The book's signals of trading days start to end (both included; None: no bound), oldest first."""
    return _between(Signal.objects.filter(book=book), "timestamp", start, end).order_by("timestamp", "pk")
