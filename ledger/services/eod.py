"""The end of a trading day: open trades close at their last mark, stale signals expire, old price history goes."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef

from .. import brackets, rules, selectors
from ..days import day_bounds, last_moment
from ..inputs import REASON_LENGTH_MAX, clean_time
from ..models import Book, Event, Order, PaperTrade, PriceCandle, Signal
from ..rules import ZERO
from .aggregates import book_days_add
from .base import (
    batches,
    book_add,
    closed_amount,
    default_book,
    entry_costs,
    record_closes,
    record_fills,
    record_history,
)
from .events import event_record, expired_events
from .orders import orders_expire


@dataclass(frozen=True)
class DayClosed:
    day: date
    closed: list[PaperTrade]
    expired: int
    dry_run: bool
    pruned: int = 0  # candles older than PRICE_HISTORY_DAYS removed (or that would be, in a dry run)
    orders_expired: int = 0  # working entry orders of the day (day orders, and shorter ones) expired, their
    # signals with them (`expired` counts the signals without an order)

    @property
    def realized_pnl(self) -> Decimal:
        return sum((trade.realized_pnl for trade in self.closed), ZERO)


@transaction.atomic
def day_close(*, day: date, at: datetime | None = None, dry_run: bool = False, book: Book | None = None) -> DayClosed:
    """End of a trading day in one book (default: the default book; `close_eod` closes each book in a transaction
    of its own): close every OPEN trade opened before the day's end by a market order at its last
    mark's exit quote (EOD_CLOSE), mark their signals CLOSED, expire the working entry orders that end with the day
    (day orders, and those whose seconds run out before its end) and the GENERATED signals of the day and before,
    but those whose order works on (until cancelled, or past the day's end).

    Then the price history is bounded: candles older than PRICE_HISTORY_DAYS before the day's end go, except
    those of symbols a trade is still open on.

    Set-based: one locking read and a fixed number of UPDATEs, however many trades are open. A day
    that is already over is closed at its last instant, so its PnL counts in that day.
    """
    at = min(clean_time(at, field="at"), last_moment(day))
    end = day_bounds(day)[1]
    book = book or default_book()
    open_trades = PaperTrade.objects.filter(book=book, status=PaperTrade.Status.OPEN, entry_time__lt=end).order_by("pk")
    day_orders = Order.objects.filter(book=book, status=Order.Status.WORKING, expires_at__lte=end)
    working = Exists(Order.objects.filter(signal=OuterRef("signal_id"), status=Order.Status.WORKING))
    # A signal whose order works on (until cancelled, or for seconds past the day's end) waits for its order.
    stale_signals = Signal.objects.filter(~working, book=book, status=Signal.Status.GENERATED, timestamp__lt=end)
    if not dry_run:
        open_trades = open_trades.select_for_update()
    trades = list(open_trades)
    with rules.under(book.terms):
        for trade in trades:  # in memory, what the set-based update below writes
            rules.close_at_quote(trade, reason=PaperTrade.Status.EOD_CLOSE, at=at)
    if dry_run:
        pruned = sum(old.count() for old in _old_candles(end))
        return DayClosed(
            day=day,
            closed=trades,
            expired=stale_signals.count(),
            dry_run=True,
            pruned=pruned,
            orders_expired=day_orders.count(),
        )

    # The day's orders end before the closes write: orders are locked before signals and the writers' lock, as every
    # writer locks them (services/__init__.py), or a cancel holding its order and waiting for that lock deadlocks.
    # The stale signals are locked with them, before the first event takes that lock.
    list(day_orders.select_for_update().order_by("pk").values_list("pk", flat=True))
    list(stale_signals.select_for_update().order_by("pk").values_list("pk", flat=True))
    orders_expired = orders_expire(at=at, until=end, book=book)  # their signals expire with them
    whole = [trade.pk for trade in trades if not trade.exited_size]
    for batch in batches(whole):
        PaperTrade.objects.filter(pk__in=batch, status=PaperTrade.Status.OPEN).update(
            status=PaperTrade.Status.EOD_CLOSE,
            exit_price=F("exit_quote"),
            exit_time=at,
            realized_pnl=F("unrealized_pnl"),
            unrealized_pnl=ZERO,
        )
    # A trade a target's part left half open exits at the average of its exits, computed above (few of them).
    PaperTrade.objects.filter(status=PaperTrade.Status.OPEN).bulk_update(
        [trade for trade in trades if trade.exited_size],
        ["status", "exit_price", "exit_time", "realized_pnl", "unrealized_pnl"],
    )
    if trades:
        record_fills([(trade, brackets.closing_fill(trade)) for trade in trades])
        record_closes(trades, reason="closed at the end of the day")
        book_days_add([trade.pk for trade in trades])  # their day's figures (docs/books.md, "Aggregates")
        book_add(book.pk, closed_amount(trades), open_cost=-entry_costs(trades))
    expired = 0
    reason = f"Not executed before the end of trading day {day}."[:REASON_LENGTH_MAX]
    for batch in batches(list(stale_signals.order_by("pk").values_list("pk", flat=True))):  # ids: history follows
        expired += Signal.objects.filter(pk__in=batch, status=Signal.Status.GENERATED).update(
            status=Signal.Status.EXPIRED, status_reason=reason
        )
        now_expired = Signal.objects.filter(pk__in=batch, status=Signal.Status.EXPIRED, status_reason=reason)
        record_history(now_expired, reason="expired")
        expired_events(now_expired)
    if expired and not trades and not orders_expired:  # closes and orders have counted themselves
        book_add(book.pk, ZERO)
    pruned = sum(old.delete()[0] for old in _old_candles(end))
    closed = DayClosed(
        day=day, closed=trades, expired=expired, dry_run=False, pruned=pruned, orders_expired=orders_expired
    )
    event_record(
        kind=Event.Kind.DAY_CLOSED,
        book_id=book.pk,
        payload={
            "day": day,
            "closed": len(trades),
            "realized_pnl": closed.realized_pnl,
            "expired": expired,
            "orders_expired": orders_expired,
        },
    )
    return closed


def _old_candles(end: datetime) -> list:
    """Per symbol without a trade left open by the day's close (one opened after `end`), its candles older than
    PRICE_HISTORY_DAYS before `end`: one range of the (symbol, minute) index each, never a scan of the table."""
    cutoff = end - timedelta(days=settings.PRICE_HISTORY_DAYS)
    still_open = set(selectors.trades_active().filter(entry_time__gte=end).values_list("symbol", flat=True))
    symbols = [symbol for symbol in selectors.symbols(PriceCandle) if symbol not in still_open]
    return [PriceCandle.objects.filter(symbol=symbol, minute__lt=cutoff) for symbol in symbols]
