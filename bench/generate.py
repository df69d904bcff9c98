"""Fill a ledger database with years of closed trades and a live day, fast (bulk inserts, no ORM objects).

History: N closed trades, each with its CLOSED signal, spread evenly over the 3 years before today, with
setups that vary (timeframe, confidence, confluences, tags, notes on one in ten), in BOOKS books: every other one
in the default book (the dashboard's, the journal's and the statistics' measurements read it), the rest shared by
the other 19 in turn; each book's per-day aggregates written from them (services.book_days_rebuild).
Today: 100 trades closed (a busy day's journal), 20 open trades, and a day of signals (the executed
ones plus 30 GENERATED). History is reused between runs; today's rows are made anew each run, so the
dashboard always has a live day. Numbers follow the ledger's rules (rules.pnl, rules.fee).
"""

import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from ledger import rules, selectors, services
from ledger.days import day_bounds, today
from ledger.inputs import SignalFields
from ledger.models import Book, Order, PaperTrade, PriceCandle, Signal

HISTORY_DAYS = 3 * 365
BOOKS = 20  # the default book and bench-01 .. bench-19
TODAY_CLOSED, TODAY_OPEN, TODAY_WAITING = 100, 20, 30
SYMBOLS = [f"C{n:02d}USDT" for n in range(40)]
# Setups that vary from trade to trade, so the statistics by setup group real variety (docs/statistics.md).
TIMEFRAMES = ["15m", "1h", "4h"]
CONFLUENCES = [["trend"], ["trend", "volume"], ["breakout"], ["breakout", "volume", "news"], []]
TAGS = [[], ["A+ setup"], ["FOMO"], [], ["news", "A+ setup"], [], ["late entry"]]
TODAY_PREFIX = "today-"

SIGNAL_COLUMNS = [
    "signal_id",
    "crypto",
    "action",
    "entry_price",
    "confidence",
    "timestamp",
    "status",
    "status_reason",
    "timeframe",
    "confluences",
    "stop_loss",
    "take_profit",
    "bracket",
]
TRADE_COLUMNS = [
    "signal_id",
    "symbol",
    "direction",
    "entry_price",
    "position_size",
    "stop_loss",
    "take_profit",
    "entry_time",
    "exit_time",
    "exit_price",
    "status",
    "realized_pnl",
    "unrealized_pnl",
    "current_price",
    "risk_amount",
    "fees",
    "created_date",
    "exit_quote",
    "entry_slippage",
    "slippage",
    "max_price",
    "min_price",
    "tags",
    "notes",
    "margin",
    "bracket",
    "targets_filled",
    "exited_size",
    "exited_value",
    "exited_pnl",
    "exited_fees",
    "exited_slippage",
]


def rows(
    rng: random.Random,
    prefix: str,
    count: int,
    times: Iterator[datetime],
    *,
    hold: timedelta,
    open_: bool = False,
    symbols: list[str] = SYMBOLS,
    entry: Decimal | None = None,
    brackets: bool = False,
):
    """(signal row, trade row) pairs for `count` trades entered at `times`, closed `hold` later unless open;
    entry prices are random from 1 to 100 unless `entry` is given. With `brackets`, each trade has two targets
    (half at its target, half as far again) and a stop trailing 2.05 behind the price (entries at 100: 2.05%)."""
    adapt = connection.ops.adapt_datetimefield_value
    for n in range(count):
        entered = next(times)
        symbol = symbols[n % len(symbols)]
        long = n % 2 == 0
        price_in = entry or Decimal(100 + rng.randint(0, 9900)) / 100
        stop = rules.money(price_in * (Decimal("0.98") if long else Decimal("1.02")))
        target = rules.money(price_in + (1 if long else -1) * 2 * abs(price_in - stop))
        size = Decimal(rng.randint(1, 500)) / 10
        trade = PaperTrade(direction="LONG" if long else "SHORT", entry_price=price_in, position_size=size)
        if open_:
            price, status, exited = price_in, "OPEN", None
        else:
            price = stop if rng.randint(0, 1) else target  # a win for a loss: equity stays positive at any size
            status, exited = ("STOP_LOSS" if price == stop else "TAKE_PROFIT"), entered + hold
        fees = rules.round_trip_fees(trade, exit_price=price)
        pnl = rules.pnl(trade, price=price, fees=fees)
        signal_id = f"{prefix}{n}"
        bracket = {}
        if brackets:
            half, further = rules.units(size / 2), rules.money(2 * target - price_in)
            bracket = {
                "targets": [
                    {"price": rules.plain(target), "fraction": "0.5", "size": rules.plain(half)},
                    {"price": rules.plain(further), "fraction": "0.5", "size": rules.plain(size - half)},
                ],
                "trailing_stop": {"distance": "2.05"},
            }
        yield (
            (
                signal_id,
                symbol,
                "BUY" if long else "SELL",
                str(price_in),
                f"{0.5 + n % 50 / 100:.2f}",
                adapt(entered),
                "EXECUTED" if open_ else "CLOSED",
                "",
                TIMEFRAMES[n % 3],
                json.dumps(CONFLUENCES[n % 5]),
                None,
                None,
                "{}",  # the bracket is the trade's
            ),
            (
                signal_id,
                symbol,
                trade.direction,
                str(price_in),
                str(size),
                str(stop),
                str(target),
                adapt(entered),
                adapt(exited),
                None if open_ else str(price),
                status,
                None if open_ else str(pnl),
                str(pnl) if open_ else "0",
                str(price),
                str(rules.money(size * abs(price_in - stop))),
                str(fees),
                adapt(entered),
                str(price),
                "0",
                "0",
                str(max(price, price_in)),
                str(min(price, price_in)),
                json.dumps(TAGS[n % 7]),
                "Entered on the retest; took the target." if n % 10 == 0 else "",
                "1",  # LONGs, and SHORTs at the default PAPER_SHORT_MARGIN
                json.dumps(bracket),
                0,
                *["0"] * 5,  # no partial exit yet
            ),
        )


def insert(table: str, columns: list[str], rows: list[tuple]) -> None:
    if connection.vendor == "postgresql":  # COPY: the fastest way into PostgreSQL
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def working_orders(count: int, symbols: list[str], *, placed_at: datetime, price: Decimal = Decimal(90)) -> None:
    """`count` working BUY limit orders until cancelled, with their GENERATED signals, spread over `symbols`, at
    `price` (90: ticks within 1 % of 100 never fill them), one unit each; the account reserves their cost."""
    reserved = rules.entry_cost(price=price, size=Decimal(1))
    signals, orders, book = [], [], services.default_book()
    for n in range(count):
        symbol, signal_id = symbols[n % len(symbols)], f"w{n}"
        signals.append(
            Signal(
                book=book,
                signal_id=signal_id,
                symbol=symbol,
                action="BUY",
                entry_price=price,
                confidence=Decimal("0.5"),
                timestamp=placed_at,
                stop_loss=price - 5,
                take_profit=price + 10,
            )
        )
        orders.append(
            Order(
                book=book,
                signal_id=signal_id,
                symbol=symbol,
                order_type="limit",
                side="BUY",
                price=price,
                size=Decimal(1),
                reserved=reserved,
                time_in_force="gtc",
                created_at=placed_at,
            )
        )
    Signal.objects.bulk_create(signals, batch_size=1000)
    Order.objects.bulk_create(orders, batch_size=1000)
    account = services.default_book()
    account.reserved += reserved * count
    account.save()


def books() -> list[int]:
    """The ids of the BOOKS books the history is spread over, the default book first (made if missing)."""
    ids = [services.default_book().pk]
    for n in range(1, BOOKS):
        book, _ = Book.objects.get_or_create(slug=f"bench-{n:02d}", defaults={"name": f"Bench {n:02d}"})
        ids.append(book.pk)
    return ids


def book_of(n: int, ids: list[int]) -> int:
    """The book of the history's n-th trade: every other one the default book's, the rest the others' in turn."""
    return ids[0] if n % 2 == 0 else ids[1 + (n // 2) % (len(ids) - 1)]


def write(pairs, *, book_ids: list[int] | None = None) -> dict[int, Decimal]:
    """Insert signals and trades in chunks, in the default book, or spread over `book_ids` (book_of); returns the
    realized PnL written per book."""
    realized: dict[int, Decimal] = {}
    ids = book_ids or [services.default_book().pk]
    chunk: list = []
    for n, (signal, trade) in enumerate(pairs):
        chunk.append((signal, trade, book_of(n, ids) if len(ids) > 1 else ids[0]))
        if len(chunk) == 50_000:
            _flush(chunk, realized)
            chunk = []
    _flush(chunk, realized)
    return realized


def _flush(chunk: list, realized: dict[int, Decimal]) -> None:
    if not chunk:
        return
    insert("signals", [*SIGNAL_COLUMNS, "book_id"], [(*signal, book_id) for signal, _, book_id in chunk])
    insert("paper_trades", [*TRADE_COLUMNS, "book_id"], [(*trade, book_id) for _, trade, book_id in chunk])
    for _, trade, book_id in chunk:
        if trade[11] is not None:
            realized[book_id] = realized.get(book_id, Decimal(0)) + Decimal(trade[11])


@transaction.atomic
def clear_today() -> None:
    """Take out the rows an earlier run made for its day (and their PnL from the running total)."""
    signals = Signal.objects.filter(signal_id__startswith=TODAY_PREFIX)
    trades = PaperTrade.objects.filter(signal__in=signals)
    account = services.default_book()
    account.realized_pnl_total -= sum(trades.exclude(status="OPEN").values_list("realized_pnl", flat=True), Decimal(0))
    account.open_cost = Decimal(0)  # only today's trades are open
    account.save()
    trades.delete()
    signals.delete()
    services.book_days_recount(account.pk, [today()])  # today's closes went with them


@transaction.atomic
def fill_history(closed: int, *, seed: int = 1) -> None:
    """`closed` trades over the 3 years before today (skipped when the database already holds them)."""
    rng = random.Random(seed)
    first = day_bounds(today() - timedelta(days=HISTORY_DAYS))[0]
    step = timedelta(days=HISTORY_DAYS - 1) / closed
    times = (first + step * n for n in range(closed))
    realized = write(rows(rng, "h", closed, times, hold=timedelta(hours=1)), book_ids=books())
    for book_id, amount in realized.items():
        book = Book.objects.get(pk=book_id)
        book.realized_pnl_total += amount  # in Decimal, as book_add adds
        book.save(update_fields=["realized_pnl_total"])
        services.book_days_rebuild(book_id=book_id)  # one INSERT ... SELECT of its days


@transaction.atomic
def add_candles(trade: PaperTrade) -> int:
    """Minute candles of the trade's symbol over its chart's span (made anew), a zigzag around its entry."""
    start, end, _ = selectors.chart_span(trade, timezone.now())
    PriceCandle.objects.filter(symbol=trade.symbol, minute__gte=start, minute__lt=end).delete()
    minutes = int((end - start).total_seconds() // 60)
    candles = []
    for n in range(minutes):
        drift = trade.entry_price * Decimal((n % 20) - 10) / 1000
        open_, close = trade.entry_price + drift, trade.entry_price + drift * Decimal("1.1")
        high, low = max(open_, close) * Decimal("1.001"), min(open_, close) * Decimal("0.999")
        candles.append(
            PriceCandle(
                symbol=trade.symbol,
                minute=start + timedelta(minutes=n),
                ticks=10,
                open=rules.money(open_),
                high=rules.money(high),
                low=rules.money(low),
                close=rules.money(close),
            )
        )
    PriceCandle.objects.bulk_create(candles)
    return minutes


@transaction.atomic
def add_today(*, seed: int = 2) -> None:
    """Today's rows: 100 trades closed so far today, 20 open, 30 signals waiting (after clear_today)."""
    account = services.default_book()
    rng = random.Random(seed)
    start = day_bounds(today())[0]
    hold = timedelta(seconds=1)  # so even a run just after midnight has today's closes in the past
    spread = (timezone.now() - start - hold) / (TODAY_CLOSED + TODAY_OPEN + TODAY_WAITING + 1)
    times = (start + spread * n for n in range(1, 10**6))
    account.realized_pnl_total += sum(write(rows(rng, f"{TODAY_PREFIX}c", TODAY_CLOSED, times, hold=hold)).values())
    write(rows(rng, f"{TODAY_PREFIX}o", TODAY_OPEN, times, hold=hold, open_=True))
    opened = PaperTrade.objects.filter(
        signal__signal_id__startswith=f"{TODAY_PREFIX}o"
    )  # (signal_id__startswith: not on a relation)
    account.open_cost = sum((rules.held(trade) for trade in opened), Decimal(0))
    account.save()  # before the signals below, which bump the account's version themselves
    for n in range(TODAY_WAITING):
        services.signal_record(
            signal=SignalFields(
                signal_id=f"{TODAY_PREFIX}w{n}",
                symbol=SYMBOLS[n],
                action="BUY",
                entry_price=Decimal(100),
                confidence=Decimal("0.6"),
                timestamp=next(times),
                timeframe="15m",
                confluences=["breakout"],
            )
        )
    services.book_days_recount(account.pk, [today()])  # today's closes, written around the services
