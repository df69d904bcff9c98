"""What every write shares: the book rows every write bumps, history rows for set-based writes, and
the guarded write of closes."""

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import F, QuerySet
from django.utils import timezone
from simple_history.models import HistoricalRecords

from .. import brackets, rules, selectors
from ..errors import NotFound
from ..models import Book, Event, Execution, PaperTrade, Signal
from ..rules import ZERO
from .aggregates import book_days_add, book_days_recount, days_of
from .events import events_record, trade_event, writers_lock
from .rows import insert_rows

ID_BATCH = 10_000  # ids per `IN (...)` list, well below SQLite's 32,766 variables
CLOSE_FIELDS = [
    "status",
    "exit_price",
    "exit_time",
    "realized_pnl",
    "unrealized_pnl",
    "current_price",
    "exit_quote",
    "fees",
    "slippage",
    "max_price",
    "min_price",
    # What a tick batch may have changed before the close: the bracket's state and its partial exits.
    "stop_loss",
    "take_profit",
    "targets_filled",
    "exited_size",
    "exited_value",
    "exited_pnl",
    "exited_fees",
    "exited_slippage",
]


def default_book() -> Book:
    """The book of a write that names none: `default`, made by the migration (again after a test's flush)."""
    book, _ = Book.objects.get_or_create(slug=Book.DEFAULT_SLUG, defaults={"name": "Default"})
    return book


def book_named(slug: str) -> Book:
    """The book a command names: `default` is made on first use (as by every write that names no book), any other
    must exist (selectors.book: NotFound naming the books there are)."""
    return default_book() if slug == Book.DEFAULT_SLUG else selectors.book(slug)


def book_for_update(book_id: int) -> Book:
    """The book's row, locked until the transaction ends (after the writers' lock, events.writers_lock): an entry
    sizes itself from its balance and cash."""
    writers_lock()
    return Book.objects.select_for_update().get(pk=book_id)


def trade_for_update(trade_id: int) -> PaperTrade:
    """The trade's row, locked until the transaction ends, or NotFound naming the id."""
    trade = PaperTrade.objects.select_for_update().filter(pk=trade_id).first()
    if trade is None:
        raise NotFound(f"No trade with id {trade_id}.", field="trade_id")
    return trade


@contextmanager
def book_rules(book_id: int) -> Iterator[None]:
    """The book's rules (fees, slippage, sizing, limits) in force for the rules called inside (rules.under)."""
    with rules.under(Book.objects.get(pk=book_id).terms):
        yield


def book_add(book_id: int, amount: Decimal, *, open_cost: Decimal = ZERO, reserved: Decimal = ZERO) -> None:
    """Every write calls this in its transaction for each book it changed: it adds realized PnL (zero for a write
    that realizes none) to the book's running total, what trades opened (+) or closed (-) to its open cost and what
    entry orders placed (+) or ended (-) to its reserved cash, read and added in Decimal, and bumps the version that
    the dashboard's ETags are made of, so a poll can tell "nothing changed" from one row."""
    writers_lock()  # before the book's row, as every writer takes them
    rows = Book.objects.filter(pk=book_id)
    if not amount and not open_cost and not reserved and rows.update(version=F("version") + 1):
        return  # nothing realized or spent: one statement, no read (integer arithmetic in SQL is exact)
    book = book_for_update(book_id)
    book.realized_pnl_total = rules.money(book.realized_pnl_total + amount)
    book.open_cost = rules.money(book.open_cost + open_cost)
    book.reserved = rules.money(book.reserved + reserved)
    book.version += 1
    # The totals are not in the book's history (models.Book.history): no history row for every write.
    book.save_without_historical_record(update_fields=["realized_pnl_total", "open_cost", "reserved", "version"])


def by_book(items: Iterable[Any]) -> dict[int, list[Any]]:
    """Trades (or anything with a book_id) grouped by book, in book id order: the order books are locked in."""
    groups: dict[int, list[Any]] = {}
    for item in items:
        groups.setdefault(item.book_id, []).append(item)
    return dict(sorted(groups.items()))


def entry_costs(trades: Iterable[PaperTrade]) -> Decimal:
    """What the trades took out of cash when they opened."""
    return sum((rules.held(trade) for trade in trades), ZERO)


def batches(items: Sequence) -> Iterable[Sequence]:
    """Slices small enough for one `IN (...)` list."""
    for start in range(0, len(items), ID_BATCH):
        yield items[start : start + ID_BATCH]


def _acting_user() -> Any:
    """The logged-in user of the request being served (simple_history's middleware exposes it); None for
    commands, the price feed and API token clients."""
    user = getattr(getattr(HistoricalRecords.context, "request", None), "user", None)
    return user if user is not None and user.is_authenticated else None


def record_history(rows: QuerySet, *, reason: str, by: Any = None) -> None:
    """Copy the rows' current state into their history table with one INSERT ... SELECT.

    State changes written by set-based UPDATEs (closes, the end of day, recomputes) are kept as save() would
    keep them, without a statement per row. Price marks are deliberately not recorded (docs/admin.md).
    """
    model, history = rows.model, rows.model.history.model
    columns = [field.column for field in history.tracked_fields]
    extra = [
        history._meta.get_field(name).column
        for name in ("history_date", "history_type", "history_change_reason", "history_user")
    ]
    user = by or _acting_user()
    ids_sql, ids_params = rows.order_by().values("pk").query.sql_with_params()
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(history._meta.db_table)} ({', '.join(map(quote, columns + extra))}) "
        f"SELECT {', '.join(map(quote, columns))}, %s, %s, %s, %s FROM {quote(model._meta.db_table)} "
        f"WHERE {quote(model._meta.pk.column)} IN ({ids_sql})"
    )
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, "~", reason[:100], user.pk if user else None, *ids_params])


def record_closes(trades: Sequence[PaperTrade], *, reason: str) -> None:
    """After trades closed: their signals become CLOSED, both new states go into the history, and a
    `trade.closed` event is recorded for each. A few statements per batch, however many trades closed. Signals
    are found by their own unique signal_id, which the trades carry (a join through the trades is slow on
    SQLite at 10,000 ids)."""
    for batch in batches(trades):
        signal_ids = [trade.signal_id for trade in batch if trade.signal_id]
        Signal.objects.filter(status=Signal.Status.EXECUTED, signal_id__in=signal_ids).update(
            status=Signal.Status.CLOSED
        )
        record_history(PaperTrade.objects.filter(pk__in=[trade.pk for trade in batch]), reason=reason)
        record_history(Signal.objects.filter(signal_id__in=signal_ids), reason=reason)
    events_record(events=[trade_event(Event.Kind.TRADE_CLOSED, trade, how=reason) for trade in trades])


def record_executions(trade: PaperTrade, fills: Iterable[brackets.Fill]) -> None:
    """The trade's executions, written in the transaction that changed it (one INSERT)."""
    record_fills([(trade, fill) for fill in fills])


def record_fills(fills: Sequence[tuple[PaperTrade, brackets.Fill]]) -> None:
    """Executions of many trades in one statement (a tick batch's, the end of day's)."""
    insert_rows(
        [
            Execution(
                trade_id=trade.pk,
                kind=fill.kind,
                time=fill.time,
                price=fill.price,
                size=fill.size,
                fee=fill.fee,
                slippage=fill.slippage,
                pnl=fill.pnl,
                reason=fill.reason,
            )
            for trade, fill in fills
        ]
    )


def closed_amount(trades: Iterable[PaperTrade]) -> Decimal:
    """What closing the trades adds to the running total: their realized PnL less what their partial exits
    added already."""
    return sum((trade.realized_pnl - trade.exited_pnl for trade in trades), ZERO)


def save_closes(trades: Sequence[PaperTrade], *, reason: str = "closed") -> int:
    """Write closes computed in memory (rules.settle), each guarded by status OPEN, with each close's execution
    (brackets.closing_fill); returns how many this call won. Their signals close with them and the running total
    takes their realized PnL. The caller holds the trades' rows (trade_for_update, or a batch's locking read), so
    what it computed from is what the rows hold: a partial exit between the read and the write cannot be lost."""
    won = PaperTrade.objects.filter(status=PaperTrade.Status.OPEN).bulk_update(trades, CLOSE_FIELDS)
    if won == len(trades):
        book_days_add([trade.pk for trade in trades])  # their days' figures (docs/books.md, "Aggregates")
    elif won:  # some were closed by someone else (the callers refuse that): their days counted from the trades
        for book_id, closed in by_book(trades).items():
            book_for_update(book_id)
            book_days_recount(book_id, days_of(closed))
    if won:
        record_fills([(trade, brackets.closing_fill(trade)) for trade in trades])
        record_closes(trades, reason=reason)
        for book_id, closed in by_book(trades).items():
            book_add(book_id, closed_amount(closed), open_cost=-entry_costs(closed))
    return won


def open_trade(*, signal: Signal, plan: selectors.EntryPlan, at: datetime) -> PaperTrade:
    """Write the trade of a plan, the signal locked and EXECUTED with it: the one way a signal's trade opens,
    at the market (signal_execute) or when its entry order fills (services.orders)."""
    trade = PaperTrade(
        book_id=signal.book_id,
        signal=signal,
        symbol=signal.symbol,
        direction=plan.direction,
        entry_price=plan.fill,
        entry_slippage=rules.sign(plan.direction) * (plan.fill - signal.entry_price),
        position_size=plan.size,
        stop_loss=plan.stop,
        take_profit=plan.target,
        entry_time=at,
        risk_amount=plan.risk,
        margin=rules.margin_for(plan.direction),
        bracket=plan.bracket,
    )
    quote = plan.quote
    trade.max_price = trade.min_price = quote.price
    rules.mark(trade, quote.price, bid=quote.bid, ask=quote.ask)
    trade.save()  # save() starts the trade's history, and records the signal's execution in its own
    record_executions(trade, [brackets.entry_fill(trade, at=at)])
    signal.status = Signal.Status.EXECUTED
    signal.save(update_fields=["status"])
    book_add(trade.book_id, ZERO, open_cost=rules.held(trade))
    events_record(events=[trade_event(Event.Kind.TRADE_OPENED, trade)])
    return trade
