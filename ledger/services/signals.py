"""Signals: recorded (idempotent on signal_id), executed into a paper trade, or expired."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .. import brackets, rules, selectors
from ..errors import InvalidTransition, LedgerError, NotExecutable, NotFound, SignalConflict
from ..inputs import REASON_LENGTH_MAX, SignalFields, Tick, clean_time
from ..models import PaperTrade, Signal
from ..rules import ZERO
from .base import account_add, account_for_update, batches, record_executions, record_history


def _differences(signal: Signal, fields: SignalFields, *, timestamp_given: bool) -> list[str]:
    """The fields in which a replayed signal differs from the one recorded under its id."""
    names = [name for name in SignalFields.names() if name != "timestamp" or timestamp_given]
    return [name for name in names if getattr(signal, name) != getattr(fields, name)]


@transaction.atomic
def signal_record(*, signal: SignalFields, now: datetime | None = None) -> tuple[Signal, bool]:
    """Record a signal, idempotent on signal_id. Returns (signal, created). A signal sent without a time is
    stamped `now` (default: the clock's now).

    The same body again returns the recorded signal; a different body under the same id is refused.
    """
    fields = signal.clean(now=now)
    existing = Signal.objects.filter(signal_id=fields.signal_id).first()
    if existing is None:
        try:
            with transaction.atomic():
                recorded = Signal.objects.create(**fields.columns())
        except IntegrityError:  # another sender recorded the same id a moment ago
            existing = Signal.objects.get(signal_id=fields.signal_id)
        else:
            account_add(ZERO)
            return recorded, True
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


@transaction.atomic
def signal_intake(*, signal: SignalFields, execute: bool = True) -> Intake:
    """Record a signal and, if asked, open its trade, in ONE transaction. Bad input records nothing; an
    execution the market or the account refuses (rules: stale, levels passed, no cash, limits) leaves the
    signal EXPIRED with the reason, so it is visible rather than lost. A replay of a recorded signal (same
    body) returns its current state and executes nothing."""
    now = timezone.now()  # one moment for both: a signal stamped now is executed in its own trading day
    recorded, created = signal_record(signal=signal, now=now)
    if created and execute:
        try:
            trade = signal_execute(signal_id=recorded.signal_id, at=now)
        except NotExecutable as refusal:
            expired = signal_expire(signal_id=recorded.signal_id, reason=f"Not executed: {refusal.message}")
            return Intake(signal=expired, trade=None, created=True, refused=refusal.message)
        return Intake(signal=trade.signal, trade=trade, created=True)  # the rows as written
    return Intake(signal=recorded, trade=PaperTrade.objects.filter(signal=recorded).first(), created=created)


def _signal_for_update(signal_id: str) -> Signal:
    signal = Signal.objects.select_for_update().filter(signal_id=signal_id).first()
    if signal is None:
        raise NotFound(f"No signal with signal_id {signal_id!r}.", field="signal_id")
    return signal


@transaction.atomic
def signal_execute(*, signal_id: str, at: datetime | None = None) -> PaperTrade:
    """Open the paper trade of a GENERATED signal at the market, sized by the account's risk rules within its
    cash; the signal becomes EXECUTED in the same transaction (docs/fills.md).

    The fill is the symbol's last tick (its ask to buy, its bid to sell) or, without a recent one, the
    signal's own price while the signal is fresh, moved by slippage. The account row is locked first, so
    entries are sized one after another from what is really left. Refused with NotExecutable (nothing
    written): a stale signal, a fill past a level, no cash, a limit on open trades.
    """
    at = clean_time(at, field="at")
    signal = _signal_for_update(signal_id)
    plan = selectors.entry_plan(signal, account=account_for_update(), at=at)
    trade = PaperTrade(
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
    account_add(ZERO, open_cost=rules.held(trade))
    return trade


@transaction.atomic
def signal_expire(*, signal_id: str, reason: str = "Dismissed by hand.") -> Signal:
    """GENERATED -> EXPIRED, with the reason kept on the signal."""
    signal = _signal_for_update(signal_id)
    if signal.status != Signal.Status.GENERATED:
        raise InvalidTransition(
            f"Signal {signal_id} is {signal.get_status_display().lower()}; only a waiting signal can expire.",
            field="signal_id",
        )
    signal.status = Signal.Status.EXPIRED
    signal.status_reason = reason[:REASON_LENGTH_MAX]
    signal.save(update_fields=["status", "status_reason"])
    account_add(ZERO)
    return signal


def signals_lapse(*, ticks: dict[str, Tick], at: datetime) -> int:
    """Expire, with their reason, the waiting signals that can no longer be taken: those sent more than
    PAPER_SIGNAL_MAX_AGE before `at`, and those whose own stop or target the last tick of their symbol has
    passed (rules.check_fill_inside, at the fill that tick would give). Called by prices_apply in its
    transaction, so signals lapse as the prices arrive; returns how many did."""
    waiting = Signal.objects.select_for_update().filter(status=Signal.Status.GENERATED, timestamp__lte=at)
    too_old = f"Not taken within {rules.span_words(settings.PAPER_SIGNAL_MAX_AGE)} of being sent."
    reasons = {
        pk: too_old
        for pk in waiting.filter(timestamp__lt=at - settings.PAPER_SIGNAL_MAX_AGE).values_list("pk", flat=True)
    }
    with_levels = waiting.filter(symbol__in=ticks).filter(Q(stop_loss__isnull=False) | Q(take_profit__isnull=False))
    for signal in with_levels.exclude(pk__in=reasons):
        tick, direction = ticks[signal.symbol], rules.direction_for(signal.action)
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
    return len(reasons)
