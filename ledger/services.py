"""Every write to the ledger. Each service is one transaction and either does all of its work or none.

The rules of paper execution (DESIGN.md) are written here once: sizing, levels, fees and PnL.
Closing a trade is guarded by `status = OPEN`, so a trade closes exactly once whoever races to close it.
Lock order, to keep PostgreSQL free of deadlocks: signal rows, then trade rows (by id), then the account row.

Besides the services (`signal_record`, `trade_close`, ...), the import of old records (ledger/legacy.py)
builds on the same pieces: clean_signal, mark and settle (in memory), save_closes and account_add.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Iterable, Sequence

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from simple_history.models import HistoricalRecords

from . import selectors
from .days import day_bounds, last_moment, trading_day
from .errors import AlreadyClosed, InvalidInput, InvalidTransition, NotFound, SignalConflict
from .models import ZERO, Account, ApiToken, PaperTrade, Signal

QUANTUM = Decimal("0.00000001")  # 8 decimal places, as the columns
PRICE_MAX = Decimal("1e11")  # every price, size and amount stays below the columns' 12 integer digits
SYMBOL_RE = re.compile(r"^[A-Z0-9]{1,12}([/:_.-]?[A-Z0-9]{1,12})?$")
TIMEFRAME_RE = re.compile(r"^[0-9A-Za-z]{1,8}$")
SIGNAL_ID_RE = re.compile(r"^[\w.:@-]{1,64}$")  # URL-safe: it appears in paths
CONFLUENCES_MAX = 20
CONFLUENCE_LENGTH_MAX = 100
ID_BATCH = 10_000  # ids per `IN (...)` list, well below SQLite's 32,766 variables


# --- The rules ---------------------------------------------------------------------------------------


def money(value: Decimal) -> Decimal:
    return value.quantize(QUANTUM, rounding=ROUND_HALF_EVEN)


def fee(*, price: Decimal, size: Decimal) -> Decimal:
    """The fee of one side: PAPER_FEE_RATE of the notional."""
    return money(settings.PAPER_FEE_RATE * price * size)


def round_trip_fees(trade: PaperTrade, *, exit_price: Decimal) -> Decimal:
    return fee(price=trade.entry_price, size=trade.position_size) + fee(price=exit_price, size=trade.position_size)


def pnl(trade: PaperTrade, *, price: Decimal, fees: Decimal) -> Decimal:
    """The one PnL rule: sign * (price - entry) * size, less the entry and exit fees."""
    return money(trade.sign * (price - trade.entry_price) * trade.position_size) - fees


def exit_for_price(trade: PaperTrade, price: Decimal) -> tuple[str, Decimal] | None:
    """Whether a price reaches the trade's stop or target, and at what price it then fills.

    A stop is a market order, so a gap through it fills at the (worse) tick price; a target is a limit
    order, so it fills at its own price.
    """
    if trade.sign * (price - trade.stop_loss) <= 0:
        return PaperTrade.Status.STOP_LOSS, price
    if trade.sign * (price - trade.take_profit) >= 0:
        return PaperTrade.Status.TAKE_PROFIT, trade.take_profit
    return None


def mark(trade: PaperTrade, price: Decimal) -> None:
    """Value the open trade at a price: what closing there now would realize, fees included.

    A price that would make the trade's PnL or fees larger than the columns hold is refused: PostgreSQL
    would reject the write, and SQLite could not read the number back."""
    trade.current_price = price
    trade.fees = round_trip_fees(trade, exit_price=price)
    trade.unrealized_pnl = pnl(trade, price=price, fees=trade.fees)
    if max(abs(trade.unrealized_pnl), trade.fees) >= PRICE_MAX:
        raise InvalidInput(
            f"price {price} would value trade #{trade.pk or 'new'} of {trade.position_size} {trade.symbol} at "
            f"{trade.unrealized_pnl:.4E}, beyond what the ledger holds (below {PRICE_MAX:.0E}).",
            field="price",
        )


def settle(trade: PaperTrade, *, price: Decimal, reason: str, at: datetime) -> None:
    """Fill in the trade's close at a price, in memory: the values save_closes writes (this writes nothing)."""
    mark(trade, price)
    trade.status = reason
    trade.exit_price = price
    trade.exit_time = at
    trade.realized_pnl = trade.unrealized_pnl
    trade.unrealized_pnl = ZERO


def _check_levels(direction: str, *, entry: Decimal, stop: Decimal | None, target: Decimal | None) -> None:
    """LONG needs stop < entry < target; SHORT needs target < entry < stop."""
    sign = 1 if direction == PaperTrade.Direction.LONG else -1
    side = "below" if sign == 1 else "above"
    other = "above" if sign == 1 else "below"
    if stop is not None and sign * (entry - stop) <= 0:
        raise InvalidInput(f"stop_loss {stop} must be {side} the entry price {entry} for a {direction}.", field="stop_loss")
    if target is not None and sign * (target - entry) <= 0:
        raise InvalidInput(
            f"take_profit {target} must be {other} the entry price {entry} for a {direction}.", field="take_profit"
        )


# --- Input checks (every service refuses bad input before it writes anything) ---------------------


def _decimal(value: Any, *, field: str) -> Decimal:
    """A finite Decimal read from its text. Floats (and bools) are refused: they cannot hold prices exactly."""
    if isinstance(value, (float, bool)) or value is None:
        raise InvalidInput(f"{field} must be a decimal number given as a string or Decimal, not {value!r}.", field=field)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidInput(f"{field} must be a decimal number, not {value!r}.", field=field) from None
    if not number.is_finite():
        raise InvalidInput(f"{field} must be a finite number, not {value}.", field=field)
    return number


def clean_price(value: Any, *, field: str, required: bool = True) -> Decimal | None:
    """A positive, finite Decimal rounded to 8 places."""
    if value is None or value == "":
        if required:
            raise InvalidInput(f"{field} is required.", field=field)
        return None
    price = _decimal(value, field=field)
    if price >= PRICE_MAX:
        raise InvalidInput(f"{field} {value} is too large (at most {PRICE_MAX:,.0f}).", field=field)
    price = money(price)
    if price <= 0:
        raise InvalidInput(f"{field} must be greater than 0 (at 8 decimal places), not {value}.", field=field)
    return price


def clean_symbol(value: Any) -> str:
    symbol = str(value or "").strip().upper()
    if not SYMBOL_RE.match(symbol):
        raise InvalidInput(
            f"symbol {value!r} is not a market symbol such as BTCUSDT or BTC/USDT (letters and digits, 20 at most).",
            field="symbol",
        )
    return symbol


def clean_time(value: datetime | None, *, field: str) -> datetime:
    if value is None:
        return timezone.now()
    if not isinstance(value, datetime) or timezone.is_naive(value):
        raise InvalidInput(f"{field} must be a date and time with a time zone, not {value!r}.", field=field)
    return value


def _clean_confidence(value: Any) -> Decimal:
    confidence = _decimal(value, field="confidence")
    if not 0 <= confidence <= 1:
        raise InvalidInput(f"confidence must be from 0 to 1, not {value}.", field="confidence")
    return confidence.quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)


def _clean_confluences(value: Iterable[str] | None) -> list[str]:
    items = list(value or [])
    if len(items) > CONFLUENCES_MAX or not all(
        isinstance(item, str) and 0 < len(item.strip()) <= CONFLUENCE_LENGTH_MAX for item in items
    ):
        raise InvalidInput(
            f"confluences must be a list of at most {CONFLUENCES_MAX} non-empty texts of at most "
            f"{CONFLUENCE_LENGTH_MAX} characters.",
            field="confluences",
        )
    return [item.strip() for item in items]


def clean_signal(
    *,
    signal_id: str,
    symbol: str,
    action: str,
    entry_price: Any,
    confidence: Any,
    timestamp: datetime | None,
    timeframe: str,
    confluences: Iterable[str] | None,
    stop_loss: Any,
    take_profit: Any,
) -> dict[str, Any]:
    if not isinstance(signal_id, str) or not SIGNAL_ID_RE.match(signal_id):
        raise InvalidInput(
            "signal_id must be 1 to 64 letters, digits or . _ - : @ characters.", field="signal_id"
        )
    action_upper = str(action or "").strip().upper()
    if action_upper not in Signal.Action.values:
        raise InvalidInput(f"action must be BUY or SELL, not {action!r}.", field="action")
    timeframe = str(timeframe or "").strip()
    if timeframe and not TIMEFRAME_RE.match(timeframe):
        raise InvalidInput(f"timeframe {timeframe!r} must be up to 8 letters or digits, such as 15m or 4h.", field="timeframe")
    fields = {
        "signal_id": signal_id,
        "symbol": clean_symbol(symbol),
        "action": action_upper,
        "entry_price": clean_price(entry_price, field="entry_price"),
        "confidence": _clean_confidence(confidence),
        "timestamp": clean_time(timestamp, field="timestamp"),
        "timeframe": timeframe,
        "confluences": _clean_confluences(confluences),
        "stop_loss": clean_price(stop_loss, field="stop_loss", required=False),
        "take_profit": clean_price(take_profit, field="take_profit", required=False),
    }
    direction = PaperTrade.Direction.LONG if action_upper == Signal.Action.BUY else PaperTrade.Direction.SHORT
    _check_levels(direction, entry=fields["entry_price"], stop=fields["stop_loss"], target=fields["take_profit"])
    return fields


def _differences(signal: Signal, fields: dict[str, Any], *, timestamp_given: bool) -> list[str]:
    """The fields in which a replayed signal differs from the one recorded under its id."""
    names = [name for name in fields if name != "timestamp" or timestamp_given]
    return [name for name in names if getattr(signal, name) != fields[name]]


# --- Signals --------------------------------------------------------------------------------------


@transaction.atomic
def signal_record(
    *,
    signal_id: str,
    symbol: str,
    action: str,
    entry_price: Any,
    confidence: Any,
    timestamp: datetime | None = None,
    timeframe: str = "",
    confluences: Iterable[str] | None = None,
    stop_loss: Any = None,
    take_profit: Any = None,
) -> tuple[Signal, bool]:
    """Record a signal, idempotent on signal_id. Returns (signal, created).

    The same body again returns the recorded signal; a different body under the same id is refused.
    """
    fields = clean_signal(
        signal_id=signal_id,
        symbol=symbol,
        action=action,
        entry_price=entry_price,
        confidence=confidence,
        timestamp=timestamp,
        timeframe=timeframe,
        confluences=confluences,
        stop_loss=stop_loss,
        take_profit=take_profit,
    )
    existing = Signal.objects.filter(signal_id=signal_id).first()
    if existing is None:
        try:
            with transaction.atomic():
                signal = Signal.objects.create(**fields)
        except IntegrityError:  # another sender recorded the same id a moment ago
            existing = Signal.objects.get(signal_id=signal_id)
        else:
            account_add(ZERO)
            return signal, True
    differences = _differences(existing, fields, timestamp_given=timestamp is not None)
    if differences:
        raise SignalConflict(
            f"signal_id {signal_id!r} was already recorded with a different {', '.join(differences)}.",
            field="signal_id",
        )
    return existing, False


@dataclass(frozen=True)
class Intake:
    signal: Signal
    trade: PaperTrade | None
    created: bool


@transaction.atomic
def signal_intake(*, execute: bool = True, **fields: Any) -> Intake:
    """Record a signal and, if asked, open its trade, in ONE transaction: a refused execution records
    nothing. A replay of a recorded signal (same body) returns its current state and executes nothing."""
    signal, created = signal_record(**fields)
    if created and execute:
        trade = signal_execute(signal_id=signal.signal_id)
        return Intake(signal=trade.signal, trade=trade, created=True)  # the rows as written
    return Intake(signal=signal, trade=PaperTrade.objects.filter(signal=signal).first(), created=created)


def _signal_for_update(signal_id: str) -> Signal:
    signal = Signal.objects.select_for_update().filter(signal_id=signal_id).first()
    if signal is None:
        raise NotFound(f"No signal with signal_id {signal_id!r}.", field="signal_id")
    return signal


@transaction.atomic
def signal_execute(*, signal_id: str, at: datetime | None = None) -> PaperTrade:
    """Open the paper trade of a GENERATED signal, sized by the account's risk rules; the signal
    becomes EXECUTED in the same transaction."""
    at = clean_time(at, field="at")
    signal = _signal_for_update(signal_id)
    if signal.status != Signal.Status.GENERATED:
        raise InvalidTransition(
            f"Signal {signal_id} is {signal.status}; only a GENERATED signal can be executed.", field="signal_id"
        )
    if trading_day(signal.timestamp) < trading_day(at):
        raise InvalidTransition(
            f"Signal {signal_id} belongs to trading day {trading_day(signal.timestamp)}, which has ended.",
            field="signal_id",
        )
    direction = PaperTrade.Direction.LONG if signal.action == Signal.Action.BUY else PaperTrade.Direction.SHORT
    sign = 1 if direction == PaperTrade.Direction.LONG else -1
    entry = signal.entry_price
    stop = signal.stop_loss or money(entry * (1 - sign * settings.PAPER_DEFAULT_STOP_PCT))
    target = signal.take_profit or money(entry + sign * settings.PAPER_REWARD_RISK * abs(entry - stop))
    _check_levels(direction, entry=entry, stop=stop, target=target)

    equity = selectors.equity()
    if equity <= 0:
        raise InvalidTransition(f"Equity is {equity}; there is nothing to risk on a new trade.")
    risk = money(equity * settings.PAPER_RISK_PER_TRADE)
    size = (risk / abs(entry - stop)).quantize(QUANTUM, rounding=ROUND_DOWN)
    affordable = (equity / entry).quantize(QUANTUM, rounding=ROUND_DOWN)
    if size > affordable:  # never more notional than equity; the risk is then what the smaller size risks
        size = affordable
        risk = money(size * abs(entry - stop))
    if size <= 0:
        raise InvalidTransition(f"Equity {equity} buys no unit of {signal.symbol} at {entry}.", field="entry_price")
    if size >= PRICE_MAX:
        raise InvalidInput(
            f"entry_price {entry} is too small: equity {equity} would buy {size:.4E} units, more than the ledger holds.",
            field="entry_price",
        )

    trade = PaperTrade(
        signal=signal,
        symbol=signal.symbol,
        direction=direction,
        entry_price=entry,
        position_size=size,
        stop_loss=stop,
        take_profit=target,
        entry_time=at,
        risk_amount=risk,
    )
    mark(trade, entry)
    trade.save()  # save() starts the trade's history, and records the signal's execution in its own
    signal.status = Signal.Status.EXECUTED
    signal.save(update_fields=["status"])
    account_add(ZERO)
    return trade


@transaction.atomic
def signal_expire(*, signal_id: str, reason: str = "Dismissed by hand.") -> Signal:
    """GENERATED -> EXPIRED, with the reason kept on the signal."""
    signal = _signal_for_update(signal_id)
    if signal.status != Signal.Status.GENERATED:
        raise InvalidTransition(
            f"Signal {signal_id} is {signal.status}; only a GENERATED signal can expire.", field="signal_id"
        )
    signal.status = Signal.Status.EXPIRED
    signal.status_reason = reason[:200]
    signal.save(update_fields=["status", "status_reason"])
    account_add(ZERO)
    return signal


# --- Trades ---------------------------------------------------------------------------------------

CLOSE_FIELDS = ["status", "exit_price", "exit_time", "realized_pnl", "unrealized_pnl", "current_price", "fees"]


def account_add(amount: Decimal) -> None:
    """Every write calls this in its transaction: it adds realized PnL (zero for a write that realizes
    none) to the running total, read and added in Decimal, and bumps the version that the dashboard's
    ETags are made of, so a poll can tell "nothing changed" from one row."""
    if not amount and Account.objects.filter(pk=1).update(version=F("version") + 1):
        return  # nothing realized: one statement, no read (integer arithmetic in SQL is exact)
    account, _ = Account.objects.select_for_update().get_or_create(pk=1)
    account.realized_pnl_total += amount
    account.version += 1
    account.save(update_fields=["realized_pnl_total", "version"])


def _batches(items: Sequence) -> Iterable[Sequence]:
    """Slices small enough for one `IN (...)` list."""
    for start in range(0, len(items), ID_BATCH):
        yield items[start : start + ID_BATCH]


def _acting_user() -> Any:
    """The logged-in user of the request being served (simple_history's middleware exposes it); None for
    commands, the price feed and API token clients."""
    user = getattr(getattr(HistoricalRecords.context, "request", None), "user", None)
    return user if user is not None and user.is_authenticated else None


def _record_history(rows: QuerySet, *, reason: str, by: Any = None) -> None:
    """Copy the rows' current state into their history table with one INSERT ... SELECT.

    State changes written by set-based UPDATEs (closes, the end of day, recomputes) are kept as save() would
    keep them, without a statement per row. Price marks are deliberately not recorded (docs/admin.md).
    """
    model, history = rows.model, rows.model.history.model
    columns = [field.column for field in history.tracked_fields]
    extra = [history._meta.get_field(name).column for name in ("history_date", "history_type", "history_change_reason", "history_user")]
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


def _record_closes(trades: Sequence[PaperTrade], *, reason: str) -> None:
    """After trades closed: their signals become CLOSED, and both new states go into the history.
    Three statements per batch, however many trades closed. Signals are found by their own unique
    signal_id, which the trades carry (a join through the trades is slow on SQLite at 10,000 ids)."""
    for batch in _batches(trades):
        signal_ids = [trade.signal_id for trade in batch if trade.signal_id]
        Signal.objects.filter(status=Signal.Status.EXECUTED, signal_id__in=signal_ids).update(status=Signal.Status.CLOSED)
        _record_history(PaperTrade.objects.filter(pk__in=[trade.pk for trade in batch]), reason=reason)
        _record_history(Signal.objects.filter(signal_id__in=signal_ids), reason=reason)


def save_closes(trades: Sequence[PaperTrade]) -> int:
    """Write closes computed in memory, each guarded by status OPEN; returns how many this call won."""
    won = PaperTrade.objects.filter(status=PaperTrade.Status.OPEN).bulk_update(trades, CLOSE_FIELDS)
    if won:
        _record_closes(trades, reason="closed")
        account_add(sum((trade.realized_pnl for trade in trades), ZERO))
    return won


@transaction.atomic
def trade_close(
    *,
    trade_id: int,
    price: Any = None,
    reason: str = PaperTrade.Status.MANUAL_CLOSE,
    at: datetime | None = None,
) -> PaperTrade:
    """Close an open trade at a price (its current price when none is given); the signal becomes CLOSED."""
    at = clean_time(at, field="at")
    trade = PaperTrade.objects.filter(pk=trade_id).first()
    if trade is None:
        raise NotFound(f"No trade with id {trade_id}.", field="trade_id")
    if not trade.is_open:
        raise AlreadyClosed(f"Trade {trade_id} is already closed ({trade.status}).", field="trade_id")
    exit_price = clean_price(price, field="price", required=False) or trade.current_price
    settle(trade, price=exit_price, reason=reason, at=at)
    if not save_closes([trade]):
        raise AlreadyClosed(f"Trade {trade_id} was closed a moment ago by someone else.", field="trade_id")
    return trade


# What an operator may correct on a recorded trade; the PnL fields follow from these by the rules.
CORRECTABLE = ("entry_price", "position_size", "stop_loss", "take_profit", "exit_price", "exit_time", "fees", "status")


def _clean_fees(value: Any) -> Decimal:
    """Fees paid, corrected by hand: a Decimal of 0 or more (zero is allowed, unlike a price)."""
    fees = _decimal(value, field="fees")
    if not ZERO <= fees < PRICE_MAX:
        raise InvalidInput(f"fees must be a decimal number of 0 or more, not {value!r}.", field="fees")
    return money(fees)


def _corrected(trade: PaperTrade, changes: dict[str, Any]) -> None:
    """Apply an operator's changes to the trade in memory, refusing any that break the rules."""
    unknown = sorted(set(changes) - set(CORRECTABLE))
    if unknown:
        raise InvalidInput(f"{', '.join(unknown)} cannot be corrected; only {', '.join(CORRECTABLE)}.", field=unknown[0])
    status = changes.get("status", trade.status)
    if status != trade.status:
        if status not in PaperTrade.CLOSED_STATUSES and status != PaperTrade.Status.OPEN:
            raise InvalidInput(f"status {status!r} is not a trade status.", field="status")
        if status == PaperTrade.Status.OPEN:
            raise InvalidTransition(f"A closed trade never reopens (it is {trade.status}).", field="status")
        if trade.is_open:
            raise InvalidTransition(
                "An open trade is closed with the action 'Close selected open trades at their current price', "
                "not by editing its status.",
                field="status",
            )
    for name in ("entry_price", "position_size", "stop_loss", "take_profit"):
        if name in changes:
            setattr(trade, name, clean_price(changes[name], field=name))
    _check_levels(trade.direction, entry=trade.entry_price, stop=trade.stop_loss, target=trade.take_profit)
    if {"entry_price", "position_size", "stop_loss"} & set(changes):  # what the corrected size really risks
        trade.risk_amount = money(trade.position_size * abs(trade.entry_price - trade.stop_loss))

    if trade.is_open:
        for name, why in (("exit_price", "has no exit price"), ("exit_time", "has no exit time")):
            if changes.get(name) is not None:
                raise InvalidInput(f"An open trade {why}; close it with the close action.", field=name)
        if "fees" in changes:
            raise InvalidInput("An open trade's fees follow its current price; they cannot be set.", field="fees")
        mark(trade, trade.current_price)
        return

    if "exit_price" in changes:
        if changes["exit_price"] is None or changes["exit_price"] == "":
            raise InvalidInput(f"A closed trade ({status}) needs an exit price.", field="exit_price")
        trade.exit_price = clean_price(changes["exit_price"], field="exit_price")
    if "exit_time" in changes:
        if changes["exit_time"] is None:
            raise InvalidInput(f"A closed trade ({status}) needs an exit time.", field="exit_time")
        trade.exit_time = clean_time(changes["exit_time"], field="exit_time")
    if trade.exit_time < trade.entry_time:
        raise InvalidInput(f"exit_time must not be before the entry time {trade.entry_time}.", field="exit_time")
    if "fees" in changes:
        trade.fees = _clean_fees(changes["fees"])  # what was really paid, as given
    elif {"entry_price", "exit_price", "position_size"} & set(changes):
        trade.fees = round_trip_fees(trade, exit_price=trade.exit_price)
    trade.status = status
    trade.realized_pnl = pnl(trade, price=trade.exit_price, fees=trade.fees)


@transaction.atomic
def trade_correct(*, trade_id: int, changes: dict[str, Any], by: Any = None, dry_run: bool = False) -> PaperTrade:
    """Correct a recorded trade (an operator's fix); its PnL follows by the same rules as a close.

    A closed trade's realized PnL is recomputed with pnl() from the corrected prices and size, its fees too
    unless they are corrected themselves, and the account's running total moves by the difference. An open
    trade is re-marked at its current price. Refused, with the field named: unknown fields, a closed trade
    without exit, levels on the wrong side, a status change outside the life cycle (closing goes through the
    close path; a closed trade never reopens). The row is locked first; with dry_run nothing is written, so
    a form can check the changes inside the transaction in which it then saves them.
    """
    trade = PaperTrade.objects.select_for_update().filter(pk=trade_id).first()
    if trade is None:
        raise NotFound(f"No trade with id {trade_id}.", field="trade_id")
    before = trade.realized_pnl or ZERO
    _corrected(trade, changes)
    if dry_run:
        return trade
    trade._change_reason = "corrected"
    if by is not None:
        trade._history_user = by
    trade.save()
    account_add((trade.realized_pnl or ZERO) - before)
    return trade


@dataclass(frozen=True)
class TradesRecomputed:
    changed: list[PaperTrade]
    unchanged: list[PaperTrade]


@transaction.atomic
def trades_recompute(*, trade_ids: Sequence[int], by: Any = None) -> TradesRecomputed:
    """Recompute the PnL of trades by the rules from what they store: a closed trade's realized PnL from its
    prices, size and the fees it paid; an open trade's valuation at its current price. The account's running
    total moves by the difference; trades that were already right are left alone and reported as such."""
    ids = sorted(set(trade_ids))
    trades = [t for batch in _batches(ids) for t in PaperTrade.objects.select_for_update().filter(pk__in=batch).order_by("pk")]
    result = TradesRecomputed(changed=[], unchanged=[])
    difference = ZERO
    for trade in trades:
        before = (trade.realized_pnl, trade.unrealized_pnl, trade.fees)
        if trade.is_open:
            mark(trade, trade.current_price)
        else:
            trade.realized_pnl = pnl(trade, price=trade.exit_price, fees=trade.fees)
            difference += trade.realized_pnl - before[0]
        same = (trade.realized_pnl, trade.unrealized_pnl, trade.fees) == before
        (result.unchanged if same else result.changed).append(trade)
    PaperTrade.objects.bulk_update(result.changed, ["realized_pnl", "unrealized_pnl", "fees"])
    for batch in _batches([trade.pk for trade in result.changed]):
        _record_history(PaperTrade.objects.filter(pk__in=batch), reason="PnL recomputed", by=by)
    account_add(difference)
    return result


MARKS_SQL = "UPDATE paper_trades SET current_price = %s, unrealized_pnl = %s, fees = %s WHERE id = %s AND status = 'OPEN'"


def _write_marks(trades: Sequence[PaperTrade]) -> None:
    """One prepared UPDATE per trade, sent with executemany, still guarded by status OPEN.

    bulk_update would write the same rows, but builds a CASE expression per field whose cost grows with
    the batch: profiled at 90% of a 1,000-tick batch (README, "Benchmark"). The values are Decimals
    already rounded to the columns' 8 places, which both database drivers take as they are.
    """
    with connection.cursor() as cursor:
        cursor.executemany(MARKS_SQL, [(t.current_price, t.unrealized_pnl, t.fees, t.pk) for t in trades])


@dataclass(frozen=True)
class Tick:
    symbol: str
    price: Decimal
    at: datetime


@dataclass
class TicksApplied:
    marked: list[PaperTrade] = field(default_factory=list)
    closed: list[PaperTrade] = field(default_factory=list)


def clean_ticks(ticks: Iterable[Tick]) -> list[Tick]:
    cleaned = []
    for number, tick in enumerate(ticks):
        try:
            cleaned.append(
                Tick(
                    symbol=clean_symbol(tick.symbol),
                    price=clean_price(tick.price, field="price"),
                    at=clean_time(tick.at, field="time"),
                )
            )
        except InvalidInput as error:
            raise InvalidInput(f"tick {number}: {error.message}", field=f"ticks[{number}].{error.field}") from None
    return sorted(cleaned, key=lambda tick: tick.at)


@transaction.atomic
def prices_apply(*, ticks: Iterable[Tick]) -> TicksApplied:
    """Mark every OPEN trade of each tick's symbol, in time order, closing those a tick takes through
    their stop or target. Ticks older than a trade's entry do not touch it."""
    ordered = clean_ticks(ticks)
    open_trades = list(
        PaperTrade.objects.select_for_update()
        .filter(status=PaperTrade.Status.OPEN, symbol__in={tick.symbol for tick in ordered})
        .order_by("pk")
    )
    by_symbol: dict[str, list[PaperTrade]] = {}
    for trade in open_trades:
        by_symbol.setdefault(trade.symbol, []).append(trade)
    result = TicksApplied()
    last_price: dict[int, tuple[PaperTrade, Decimal]] = {}  # each trade is valued once, at its last tick
    for tick in ordered:
        for trade in by_symbol.get(tick.symbol, []):
            if not trade.is_open or tick.at < trade.entry_time:
                continue
            exit = exit_for_price(trade, tick.price)  # a comparison per tick: cheap
            if exit is None:
                last_price[trade.pk] = trade, tick.price
            else:
                reason, exit_price = exit
                settle(trade, price=exit_price, reason=reason, at=tick.at)
                result.closed.append(trade)
    for trade, price in last_price.values():
        if trade.is_open:
            mark(trade, price)
            result.marked.append(trade)
    _write_marks(result.marked)
    if result.closed and save_closes(result.closed) != len(result.closed):
        # Impossible while the rows are locked; refuse to write a partial batch if it ever happens.
        raise AlreadyClosed("A trade in this batch was closed by someone else; nothing was applied.")
    if result.marked and not result.closed:  # closes have counted themselves
        account_add(ZERO)
    return result


@dataclass(frozen=True)
class DayClosed:
    day: date
    closed: list[PaperTrade]
    expired: int
    dry_run: bool

    @property
    def realized_pnl(self) -> Decimal:
        return sum((trade.realized_pnl for trade in self.closed), ZERO)


def _eod_exit(trade: PaperTrade, at: datetime) -> None:
    """In memory, what the set-based update below writes: close at the last mark, copying its valuation."""
    trade.status = PaperTrade.Status.EOD_CLOSE
    trade.exit_price = trade.current_price
    trade.exit_time = at
    trade.realized_pnl = trade.unrealized_pnl
    trade.unrealized_pnl = ZERO


@transaction.atomic
def day_close(*, day: date, at: datetime | None = None, dry_run: bool = False) -> DayClosed:
    """End of a trading day: close every OPEN trade opened before the day's end at its current price
    (EOD_CLOSE), mark their signals CLOSED, and expire the GENERATED signals of the day and before.

    Set-based: one locking read and a fixed number of UPDATEs, however many trades are open. A day
    that is already over is closed at its last instant, so its PnL counts in that day.
    """
    at = min(clean_time(at, field="at"), last_moment(day))
    end = day_bounds(day)[1]
    open_trades = PaperTrade.objects.filter(status=PaperTrade.Status.OPEN, entry_time__lt=end).order_by("pk")
    stale_signals = Signal.objects.filter(status=Signal.Status.GENERATED, timestamp__lt=end)
    if not dry_run:
        open_trades = open_trades.select_for_update()
    trades = list(open_trades)
    for trade in trades:
        _eod_exit(trade, at)
    if dry_run:
        return DayClosed(day=day, closed=trades, expired=stale_signals.count(), dry_run=True)

    ids = [trade.pk for trade in trades]
    for start in range(0, len(ids), ID_BATCH):
        PaperTrade.objects.filter(pk__in=ids[start : start + ID_BATCH], status=PaperTrade.Status.OPEN).update(
            status=PaperTrade.Status.EOD_CLOSE,
            exit_price=F("current_price"),
            exit_time=at,
            realized_pnl=F("unrealized_pnl"),
            unrealized_pnl=ZERO,
        )
    if trades:
        _record_closes(trades, reason="closed at the end of the day")
        account_add(sum((trade.realized_pnl for trade in trades), ZERO))
    expired = 0
    for batch in _batches(list(stale_signals.order_by("pk").values_list("pk", flat=True))):  # ids: history follows
        expired += Signal.objects.filter(pk__in=batch, status=Signal.Status.GENERATED).update(
            status=Signal.Status.EXPIRED, status_reason=f"Not executed before the end of trading day {day}."
        )
        _record_history(Signal.objects.filter(pk__in=batch, status=Signal.Status.EXPIRED), reason="expired")
    if expired and not trades:  # closes have counted themselves
        account_add(ZERO)
    return DayClosed(day=day, closed=trades, expired=expired, dry_run=False)


# --- API tokens -----------------------------------------------------------------------------------


def api_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, name: str) -> tuple[ApiToken, str]:
    """Make a named token. Returns the row and the token itself, which is shown once and never stored."""
    name = name.strip()
    if not 0 < len(name) <= 100:
        raise InvalidInput("name must be 1 to 100 characters.", field="name")
    if ApiToken.objects.filter(name=name).exists():
        raise InvalidInput(f"A token named {name!r} exists already; revoke it or choose another name.", field="name")
    token = "pt_" + secrets.token_urlsafe(32)
    row = ApiToken.objects.create(name=name, key_hash=api_token_hash(token), prefix=token[:10])
    return row, token


@transaction.atomic
def api_token_revoke(*, name: str) -> ApiToken:
    row = ApiToken.objects.select_for_update().filter(name=name).first()
    if row is None:
        raise NotFound(f"No token named {name!r}.", field="name")
    if row.revoked_at is None:
        row.revoked_at = timezone.now()
        row.save(update_fields=["revoked_at"])
    return row


TOKEN_USE_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most this often per token


def api_token_authenticate(*, token: str) -> ApiToken | None:
    """The unrevoked token row a presented token belongs to, or None; records when it was last used.

    The lookup is by the token's SHA-256, so its timing says nothing about the token itself.
    """
    row = ApiToken.objects.filter(key_hash=api_token_hash(token), revoked_at__isnull=True).first()
    if row is None:
        return None
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_USE_RESOLUTION:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        row.last_used_at = now
    return row
