"""Signals: recorded (idempotent on signal_id), executed into a paper trade, or expired."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from .. import rules, selectors
from ..deviation import check_deviation
from ..errors import InvalidInput, InvalidTransition, LedgerError, NotExecutable, NotFound, SignalConflict
from ..inputs import REASON_LENGTH_MAX, OrderFields, SignalFields, Tick, clean_price, clean_time
from ..models import Book, Event, Order, PaperTrade, Signal
from ..rules import ZERO
from .base import batches, book_add, book_for_update, book_rules, default_book, open_trade, record_history
from .events import event_record, expired_events
from .orders import order_cancel, order_place


def _differences(signal: Signal, fields: SignalFields, *, timestamp_given: bool) -> list[str]:
    """The fields in which a replayed signal differs from the one recorded under its id."""
    names = [name for name in SignalFields.names() if name != "timestamp" or timestamp_given]
    return [name for name in names if getattr(signal, name) != getattr(fields, name)]


@transaction.atomic
def signal_record(
    *, signal: SignalFields, now: datetime | None = None, book: Book | None = None
) -> tuple[Signal, bool]:
    """Record a signal into the book (default: the default book), idempotent on signal_id. Returns (signal,
    created). A signal sent without a time is stamped `now` (default: the clock's now).

    The same body again returns the recorded signal; a different body under the same id is refused, and so is the
    id of another book's signal (without a word of that signal: the sender may not see that book).
    """
    fields = signal.clean(now=now)
    book = book or default_book()
    existing = Signal.objects.filter(signal_id=fields.signal_id).first()
    if existing is None:
        try:
            with transaction.atomic():
                recorded = Signal.objects.create(book=book, **fields.columns())
        except IntegrityError:  # another sender recorded the same id a moment ago
            existing = Signal.objects.get(signal_id=fields.signal_id)
        else:
            book_add(book.pk, ZERO)
            event_record(
                kind=Event.Kind.SIGNAL_RECORDED,
                book_id=book.pk,
                signal_id=recorded.signal_id,
                payload={"symbol": recorded.symbol, "action": recorded.action, "price": recorded.entry_price},
            )
            return recorded, True
    if existing.book_id != book.pk:
        raise SignalConflict(f"signal_id {fields.signal_id!r} is taken; send each signal with an id of its own.")
    differences = _differences(existing, fields, timestamp_given=signal.timestamp is not None)
    if differences:
        raise SignalConflict(
            f"signal_id {fields.signal_id!r} was already recorded with a different {', '.join(differences)}.",
            field="signal_id",
        )
    return existing, False


@dataclass(frozen=True)
class Intake:
    signal: Signal
    trade: PaperTrade | None
    created: bool
    refused: str | None = None  # why the market or the account refused to execute it (it is then EXPIRED)
    order: Order | None = None  # its entry order, for a limit or stop entry


@transaction.atomic
def signal_intake(
    *, signal: SignalFields, execute: bool = True, order: OrderFields | None = None, book: Book | None = None
) -> Intake:
    """Record a signal and, if asked, open its trade, or place its limit or stop entry order (`order`; default a
    market entry), in ONE transaction. Bad input records nothing; an execution the market or the account refuses
    (rules: stale, levels passed, no cash, limits) leaves the signal EXPIRED with the reason, so it is visible
    rather than lost. A replay of a recorded signal (same body) returns its current state and executes nothing."""
    order = (order or OrderFields()).clean()
    if order.working and not execute:
        raise InvalidInput(
            f"order_type {order.order_type} places an order when the signal arrives; it needs execute true.",
            field="execute",
        )
    now = timezone.now()  # one moment for both: a signal stamped now is executed in its own trading day
    recorded, created = signal_record(signal=signal, now=now, book=book)
    if created and execute:
        try:
            if order.working:
                placed = order_place(signal=_signal_for_update(recorded.signal_id), order=order, at=now)
                refused = placed.reason if placed.status == Order.Status.CANCELLED else None
                return Intake(signal=placed.signal, trade=placed.trade, created=True, refused=refused, order=placed)
            trade = signal_execute(signal_id=recorded.signal_id, at=now)
        except NotExecutable as refusal:
            expired = _expire(recorded.signal_id, f"Not executed: {refusal.message}", kind=Event.Kind.SIGNAL_REFUSED)
            return Intake(signal=expired, trade=None, created=True, refused=refusal.message)
        return Intake(signal=trade.signal, trade=trade, created=True)  # the rows as written
    return Intake(
        signal=recorded,
        trade=PaperTrade.objects.filter(signal=recorded).first(),
        created=created,
        order=Order.objects.filter(signal=recorded).first(),
    )


def _signal_for_update(signal_id: str) -> Signal:
    signal = Signal.objects.select_for_update().filter(signal_id=signal_id).first()
    if signal is None:
        raise NotFound(f"No signal with signal_id {signal_id!r}.", field="signal_id")
    return signal


@transaction.atomic
def signal_execute(*, signal_id: str, at: datetime | None = None, expected_price: Any = None) -> PaperTrade:
    """Open the paper trade of a GENERATED signal at the market, sized by the account's risk rules within its
    cash; the signal becomes EXECUTED in the same transaction (docs/fills.md).

    The fill is the symbol's last tick (its ask to buy, its bid to sell) or, without a recent one, the
    signal's own price while the signal is fresh, moved by slippage. The account row is locked first, so
    entries are sized one after another from what is really left. Refused with NotExecutable (nothing
    written): a stale signal, a fill past a level, no cash, a limit on open trades. `expected_price` is the fill
    the trader's confirmation showed: a fill now further than PAPER_MAX_DEVIATION from it is refused with the new
    fill (PriceMoved), nothing written.
    """
    at = clean_time(at, field="at")
    seen = clean_price(expected_price, field="expected_price", required=False)
    signal = _signal_for_update(signal_id)
    if Order.objects.filter(signal=signal, status=Order.Status.WORKING).exists():
        raise InvalidTransition(
            f"Signal {signal_id} has a working order; cancel it to execute the signal at the market.",
            field="signal_id",
        )
    with book_rules(signal.book_id):
        plan = selectors.entry_plan(signal, account=book_for_update(signal.book_id), at=at)
        check_deviation(seen=seen, fill=plan.fill)
        return open_trade(signal=signal, plan=plan, at=at)


@transaction.atomic
def signal_expire(*, signal_id: str, reason: str = "Dismissed by hand.") -> Signal:
    """GENERATED -> EXPIRED, with the reason kept on the signal; its working order, if any, is cancelled with it."""
    working = Order.objects.select_for_update().filter(signal=signal_id, status=Order.Status.WORKING).first()
    if working is not None:
        order_cancel(order_id=working.pk, reason=reason)
        return _signal_for_update(signal_id)
    return _expire(signal_id, reason, kind=Event.Kind.SIGNAL_EXPIRED)


def _expire(signal_id: str, reason: str, *, kind: str) -> Signal:
    """Expire a waiting signal and record why as an event of `kind` (expired, or refused at its intake)."""
    signal = _signal_for_update(signal_id)
    if signal.status != Signal.Status.GENERATED:
        raise InvalidTransition(
            f"Signal {signal_id} is {signal.get_status_display().lower()}; only a waiting signal can expire.",
            field="signal_id",
        )
    signal.status = Signal.Status.EXPIRED
    signal.status_reason = reason[:REASON_LENGTH_MAX]
    signal.save(update_fields=["status", "status_reason"])
    book_add(signal.book_id, ZERO)
    event_record(
        kind=kind,
        book_id=signal.book_id,
        signal_id=signal.signal_id,
        payload={"symbol": signal.symbol, "reason": signal.status_reason},
    )
    return signal


def signals_lapse(*, ticks: dict[str, Tick], at: datetime) -> int:
    """Expire, with their reason, the waiting signals that can no longer be taken: those sent more than
    PAPER_SIGNAL_MAX_AGE before `at`, and those whose own stop or target the last tick of their symbol has
    passed (rules.check_fill_inside, at the fill that tick would give). Called by prices_apply in its
    transaction, so signals lapse as the prices arrive; returns how many did."""
    has_order = Exists(Order.objects.filter(signal=OuterRef("signal_id")))  # it waits for its order instead
    waiting = Signal.objects.select_for_update().filter(~has_order, status=Signal.Status.GENERATED, timestamp__lte=at)
    too_old = f"Not taken within {rules.span_words(settings.PAPER_SIGNAL_MAX_AGE)} of being sent."
    reasons = {
        pk: too_old
        for pk in waiting.filter(timestamp__lt=at - settings.PAPER_SIGNAL_MAX_AGE).values_list("pk", flat=True)
    }
    with_levels = waiting.filter(symbol__in=ticks).filter(Q(stop_loss__isnull=False) | Q(take_profit__isnull=False))
    books = {book.pk: book.terms for book in Book.objects.all()}  # a few: each signal's is its book's rules
    for signal in with_levels.exclude(pk__in=reasons):
        tick, direction = ticks[signal.symbol], rules.direction_for(signal.action)
        with rules.under(books[signal.book_id]):
            fill = rules.market_fill(buying=rules.opening_buys(direction), price=tick.price, bid=tick.bid, ask=tick.ask)
            try:
                stop, target = rules.levels(direction, fill=fill, stop=signal.stop_loss, target=signal.take_profit)
                rules.check_fill_inside(direction, fill=fill, stop=stop, target=target)
            except LedgerError as passed:
                reasons[signal.pk] = f"Not executed: {passed.message}"
    by_reason: dict[str, list[int]] = {}
    for pk, reason in reasons.items():
        by_reason.setdefault(reason, []).append(pk)
    for reason, pks in by_reason.items():  # the old ones share one reason: one update for them all
        for batch in batches(pks):
            Signal.objects.filter(pk__in=batch).update(
                status=Signal.Status.EXPIRED, status_reason=reason[:REASON_LENGTH_MAX]
            )
    for batch in batches(list(reasons)):
        record_history(Signal.objects.filter(pk__in=batch), reason="expired")
        expired_events(Signal.objects.filter(pk__in=batch))
    return len(reasons)
