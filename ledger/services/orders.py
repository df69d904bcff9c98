"""Entry orders (docs/fills.md, "Entry orders"): a signal's limit or stop entry is placed, reserving what it would
spend; ticks fill it (prices_apply calls `orders_fill` and `orders_expire` in its transaction), the trader cancels
it, its time or the end of its day expires it. Each ends exactly once: every end is an UPDATE guarded by status
WORKING, on rows locked in the order trades, orders, signals, the account."""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet

from .. import orders, rules, selectors
from ..days import day_bounds, trading_day
from ..errors import AlreadyClosed, InvalidTransition, LedgerError, NotFound
from ..inputs import REASON_LENGTH_MAX, OrderFields, Tick, clean_time
from ..models import Book, Event, Order, PaperTrade, Signal
from ..rules import ZERO, Quote
from .base import batches, book_add, book_for_update, book_rules, by_book, open_trade, record_history
from .events import events_record, expired_events


def _resting(order: Order) -> orders.Resting:
    return orders.Resting(
        order_type=order.order_type,
        buying=order.side == Signal.Action.BUY,
        price=order.price,
        placed_at=order.created_at,
        expires_at=order.expires_at,
    )


def _order_event(kind: str, order: Order, *, trade_id: int | None = None, **extra: str) -> Event:
    """An unsaved event of an order (for events_record): the order's id, type, status and price."""
    facts = {"order_id": order.pk, "symbol": order.symbol, "order_type": order.order_type, "status": order.status}
    return Event(
        kind=kind,
        book_id=order.book_id,
        trade_id=trade_id,
        signal_id=order.signal_id,
        payload=facts | {"price": order.price} | extra,
    )


def order_place(*, signal: Signal, order: OrderFields, at: datetime) -> Order:
    """Place the entry order of a GENERATED signal (locked by the caller, signal_intake): sized at its price by the
    account's rules from its available cash, it reserves that entry's cost. If the symbol's last tick is fresh and
    already beyond its price, it fills at once, as a marketable order would. Refused as an execution is (a level
    passed, no cash, a limit), with nothing written."""
    with book_rules(signal.book_id):
        return _place(signal=signal, order=order, at=at)


def _place(*, signal: Signal, order: OrderFields, at: datetime) -> Order:
    plan = selectors.entry_plan(signal, account=book_for_update(signal.book_id), at=at, price=signal.entry_price)
    reserved = rules.entry_cost(price=plan.fill, size=plan.size, margin=rules.margin_for(plan.direction))
    placed = Order.objects.create(
        book_id=signal.book_id,
        signal=signal,
        symbol=signal.symbol,
        order_type=order.order_type,
        side=signal.action,
        price=signal.entry_price,
        size=plan.size,
        reserved=reserved,
        time_in_force=orders.time_in_force(order.expires_in),
        expires_at=orders.expires_at(order.expires_in, placed_at=at, day_end=day_bounds(trading_day(at))[1]),
        created_at=at,
    )
    book_add(signal.book_id, ZERO, reserved=reserved)
    events_record(events=[_order_event(Event.Kind.ORDER_PLACED, placed)])
    last = selectors.market_quote(signal.symbol)
    if last is not None and rules.fresh(last.at, at=at):
        tick = Tick(symbol=signal.symbol, price=last.price, at=at, bid=last.bid, ask=last.ask)
        price = orders.fill(_resting(placed), tick, before=None, arriving=True)
        if price is not None:
            _fill(placed, signal=signal, price=price, tick=Quote(last.price, last.bid, last.ask, at), at=at)
    return Order.objects.select_related("signal", "trade").get(pk=placed.pk)


def _fill(order: Order, *, signal: Signal, price: Decimal, tick: Quote, at: datetime) -> PaperTrade | None:
    """Fill the working order at `price`: its trade opens by the entry rules of the moment (sized again from the
    account with its own reservation released, so the cash rule holds at the fill), through the same code as a
    market entry (base.open_trade). Refused by those rules (a level passed, no cash, a limit on open trades), it is
    cancelled with the reason instead, and its signal expires with it. Returns the trade, or None."""
    account = book_for_update(order.book_id)
    account.reserved -= order.reserved  # in memory: what the plan may spend
    try:
        plan = selectors.entry_plan(signal, account=account, at=at, price=price, tick=tick)  # reads only
    except LedgerError as refusal:
        _end([order], status=Order.Status.CANCELLED, reasons={order.pk: f"Not filled: {refusal.message}"}, at=at)
        return None
    trade = open_trade(signal=signal, plan=plan, at=at)
    won = Order.objects.filter(pk=order.pk, status=Order.Status.WORKING).update(
        status=Order.Status.FILLED, filled_at=at, trade=trade
    )
    if not won:  # impossible while the order row is locked; refuse to write half a fill if it ever happens
        raise AlreadyClosed(f"Order {order.pk} ended meanwhile; nothing was filled.", field="order_id")
    record_history(Order.objects.filter(pk=order.pk), reason=f"filled: trade #{trade.pk}")
    order.status = Order.Status.FILLED
    book_add(order.book_id, ZERO, reserved=-order.reserved)
    events_record(events=[_order_event(Event.Kind.ORDER_ENDED, order, trade_id=trade.pk)])
    return trade


def orders_fill(*, working: QuerySet[Order], ticks: Sequence[Tick], before: dict[str, Decimal]) -> list[PaperTrade]:
    """Fill the working orders (`working`, locked here) that the ticks reach, in time order, each at the price the
    fill rules give (orders.fill); those of symbols without a tick are only locked. `before` is each symbol's last
    price before the batch. One read of the few columns the rules need; an order the batch's prices never reach
    (orders.within_reach) is passed over at once, and only those within reach are loaded whole. Only the orders
    that fill cost queries of their own."""
    ranges: dict[str, tuple[Decimal, Decimal]] = {}
    for tick in ticks:
        low, high = ranges.get(tick.symbol, (tick.price, tick.price))
        ranges[tick.symbol] = min(low, tick.price), max(high, tick.price)
    near: dict[int, orders.Resting] = {}
    columns = ("pk", "symbol", "order_type", "side", "price", "created_at", "expires_at")
    for pk, symbol, order_type, side, price, placed_at, expires_at in (
        working.select_for_update().order_by("pk").values_list(*columns)
    ):
        resting = orders.Resting(order_type, side == Signal.Action.BUY, price, placed_at, expires_at)
        # `touch` reaches what either way of filling a limit reaches: each order's book says which it uses (below).
        if symbol in ranges and orders.within_reach(resting, low=ranges[symbol][0], high=ranges[symbol][1], touch=True):
            near[pk] = resting
    books = {book.pk: book.terms for book in Book.objects.all()} if near else {}
    by_symbol: dict[str, list[Order]] = {}
    for order in Order.objects.filter(pk__in=near).order_by("pk"):
        by_symbol.setdefault(order.symbol, []).append(order)
    opened: list[PaperTrade] = []
    last = dict(before)
    for tick in ticks:
        for order in by_symbol.get(tick.symbol, ()):
            if not order.is_working:
                continue
            with rules.under(books[order.book_id]):
                price = orders.fill(near[order.pk], tick, before=last.get(tick.symbol))
                if price is None:
                    continue
                signal = Signal.objects.select_for_update().get(signal_id=order.signal_id)
                quote = Quote(price=tick.price, bid=tick.bid, ask=tick.ask, at=tick.at)
                if (trade := _fill(order, signal=signal, price=price, tick=quote, at=tick.at)) is not None:
                    opened.append(trade)
                else:
                    order.status = Order.Status.CANCELLED
        last[tick.symbol] = tick.price
    return opened


def _end(ended: Sequence[Order], *, status: str, reasons: dict[int, str], at: datetime) -> int:
    """Cancel or expire working orders, each guarded by status WORKING, with its reason; their signals expire with
    the same reason and their reservations are released. Statements per reason and batch, not per order. Raises
    AlreadyClosed if one of them had ended already (impossible while they are locked: then nothing is written)."""
    by_reason: dict[str, list[Order]] = {}
    for order in ended:
        by_reason.setdefault(reasons[order.pk][:REASON_LENGTH_MAX], []).append(order)
    won = 0
    for reason, group in by_reason.items():
        for batch in batches(group):
            ids = [order.pk for order in batch]
            won += Order.objects.filter(pk__in=ids, status=Order.Status.WORKING).update(
                status=status, reason=reason, cancelled_at=at
            )
            record_history(Order.objects.filter(pk__in=ids), reason=reason)
            Signal.objects.filter(
                signal_id__in=[order.signal_id for order in batch], status=Signal.Status.GENERATED
            ).update(status=Signal.Status.EXPIRED, status_reason=reason)
    if won != len(ended):
        raise AlreadyClosed("An order here was filled or cancelled by someone else; nothing was changed.")
    for batch in batches([order.signal_id for order in ended]):
        record_history(Signal.objects.filter(signal_id__in=batch), reason="order ended")
        expired_events(Signal.objects.filter(signal_id__in=batch, status=Signal.Status.EXPIRED))
    for book_id, book_orders in by_book(ended).items():
        book_add(book_id, ZERO, reserved=-sum((order.reserved for order in book_orders), ZERO))
    for order in ended:
        order.status = status
    events_record(events=[_order_event(Event.Kind.ORDER_ENDED, order, reason=reasons[order.pk]) for order in ended])
    return won


@transaction.atomic
def order_cancel(*, order_id: int, reason: str = "Cancelled by hand.", at: datetime | None = None) -> Order:
    """WORKING -> CANCELLED, with the reason; its signal expires with it and its reservation is released. An order
    that has filled, been cancelled or expired is refused (409), whoever got there first."""
    at = clean_time(at, field="at")
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None:
        raise NotFound(f"No order with id {order_id}.", field="order_id")
    if not order.is_working:
        raise InvalidTransition(
            f"Order {order_id} is {order.get_status_display().lower()}; only a working order can be cancelled.",
            field="order_id",
        )
    Signal.objects.select_for_update().filter(signal_id=order.signal_id).first()  # lock order: orders, then signals
    _end([order], status=Order.Status.CANCELLED, reasons={order.pk: reason}, at=at)
    return Order.objects.select_related("signal", "trade").get(pk=order_id)


def orders_expire(*, at: datetime, until: datetime | None = None, book: Book | None = None) -> int:
    """Expire, with their reason, the working orders (of one book, or of all) whose time is up: their expires_at at
    or before `until` (default `at`, the moment written). One locking read of the partial index and a few UPDATEs
    however many expire. Called by prices_apply (at its last tick) and day_close (until the day's end: its book's
    day orders) in their transactions."""
    due = Order.objects.select_for_update().filter(status=Order.Status.WORKING, expires_at__lte=until or at)
    due = list((due if book is None else due.filter(book=book)).order_by("pk"))
    reasons = {
        order.pk: orders.expiry_words(
            time_in_force=order.time_in_force,
            placed_at=order.created_at,
            expires_at=order.expires_at,
            day=trading_day(order.created_at),
        )
        for order in due
    }
    return _end(due, status=Order.Status.EXPIRED, reasons=reasons, at=at)
