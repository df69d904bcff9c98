"""The trading rules of DESIGN.md, written once: rounding, fees, PnL, exits, marks, levels and sizing.

Pure: values in, values out. Nothing here reads or writes the database (the services lock, load, call these
and write); the rates are the PAPER_* settings, read when a rule is applied. `mark` and `settle` fill in a
trade object in memory, which is what the services then save. A value a rule refuses raises the ledger's
own errors (ledger/errors.py), naming the input at fault.
"""

from datetime import datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import Protocol

from django.conf import settings

from .errors import InvalidInput, InvalidTransition

ZERO = Decimal(0)
QUANTUM = Decimal("0.00000001")  # 8 decimal places, as the columns
PRICE_MAX = Decimal("1e11")  # every price, size and amount stays below the columns' 12 integer digits

LONG, SHORT = "LONG", "SHORT"
BUY, SELL = "BUY", "SELL"
STOP_LOSS, TAKE_PROFIT = "STOP_LOSS", "TAKE_PROFIT"


class Position(Protocol):
    """What the rules read and write of a trade (a PaperTrade, saved or not)."""

    pk: int | None
    symbol: str
    direction: str
    entry_price: Decimal
    position_size: Decimal
    stop_loss: Decimal
    take_profit: Decimal
    current_price: Decimal
    fees: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal | None
    exit_price: Decimal | None
    exit_time: datetime | None
    status: str


def direction_for(action: str) -> str:
    """A BUY signal opens a LONG trade, a SELL signal a SHORT one."""
    return LONG if action == BUY else SHORT


def sign(direction: str) -> int:
    """+1 for LONG, -1 for SHORT: the side's stake in a price move."""
    return 1 if direction == LONG else -1


def money(value: Decimal) -> Decimal:
    """Money and prices to the columns' 8 places, half to even."""
    return value.quantize(QUANTUM, rounding=ROUND_HALF_EVEN)


def fee(*, price: Decimal, size: Decimal) -> Decimal:
    """The fee of one side: PAPER_FEE_RATE of the notional."""
    return money(settings.PAPER_FEE_RATE * price * size)


def round_trip_fees(trade: Position, *, exit_price: Decimal) -> Decimal:
    return fee(price=trade.entry_price, size=trade.position_size) + fee(price=exit_price, size=trade.position_size)


def pnl(trade: Position, *, price: Decimal, fees: Decimal) -> Decimal:
    """The one PnL rule: sign * (price - entry) * size, less the entry and exit fees."""
    return money(sign(trade.direction) * (price - trade.entry_price) * trade.position_size) - fees


def exit_for_price(trade: Position, price: Decimal) -> tuple[str, Decimal] | None:
    """Whether a price reaches the trade's stop or target, and at what price it then fills.

    A stop is a market order, so a gap through it fills at the (worse) tick price; a target is a limit
    order, so it fills at its own price. Were both reached at once, the stop wins.
    """
    side = sign(trade.direction)
    if side * (price - trade.stop_loss) <= 0:
        return STOP_LOSS, price
    if side * (price - trade.take_profit) >= 0:
        return TAKE_PROFIT, trade.take_profit
    return None


def mark(trade: Position, price: Decimal) -> None:
    """Value the open trade at a price: what closing there now would realize, fees included.

    A price that would make its PnL or fees larger than the columns hold is refused: PostgreSQL would refuse
    the write, and SQLite could not read the number back."""
    trade.current_price = price
    trade.fees = round_trip_fees(trade, exit_price=price)
    trade.unrealized_pnl = pnl(trade, price=price, fees=trade.fees)
    if max(abs(trade.unrealized_pnl), trade.fees) >= PRICE_MAX:
        raise InvalidInput(
            f"price {price} would value trade #{trade.pk or 'new'} of {trade.position_size} {trade.symbol} at "
            f"{trade.unrealized_pnl:.4E}, beyond what the ledger holds (below {PRICE_MAX:.0E}).",
            field="price",
        )


def settle(trade: Position, *, price: Decimal, reason: str, at: datetime) -> None:
    """Fill in the trade's close at a price, in memory: the values a close writes."""
    mark(trade, price)
    trade.status = reason
    trade.exit_price = price
    trade.exit_time = at
    trade.realized_pnl = trade.unrealized_pnl
    trade.unrealized_pnl = ZERO


def check_levels(direction: str, *, entry: Decimal, stop: Decimal | None, target: Decimal | None) -> None:
    """LONG needs stop < entry < target; SHORT needs target < entry < stop."""
    side = sign(direction)
    below, above = ("below", "above") if side == 1 else ("above", "below")
    if stop is not None and side * (entry - stop) <= 0:
        raise InvalidInput(f"stop_loss {stop} must be {below} the entry price {entry} for a {direction}.", field="stop_loss")
    if target is not None and side * (target - entry) <= 0:
        raise InvalidInput(f"take_profit {target} must be {above} the entry price {entry} for a {direction}.", field="take_profit")


def levels(direction: str, *, entry: Decimal, stop: Decimal | None, target: Decimal | None) -> tuple[Decimal, Decimal]:
    """The trade's stop and target: the signal's own, else PAPER_DEFAULT_STOP_PCT from the entry and
    PAPER_REWARD_RISK times that distance beyond it."""
    side = sign(direction)
    stop = stop or money(entry * (1 - side * settings.PAPER_DEFAULT_STOP_PCT))
    target = target or money(entry + side * settings.PAPER_REWARD_RISK * abs(entry - stop))
    check_levels(direction, entry=entry, stop=stop, target=target)
    return stop, target


def size(*, equity: Decimal, entry: Decimal, stop: Decimal) -> tuple[Decimal, Decimal]:
    """(position size, risk amount): PAPER_RISK_PER_TRADE of equity between entry and stop, rounded down,
    and never more notional than equity; when capped, the risk is what the smaller size really risks."""
    if equity <= 0:
        raise InvalidTransition(f"Equity is {equity}; there is nothing to risk on a new trade.")
    risk = money(equity * settings.PAPER_RISK_PER_TRADE)
    units = (risk / abs(entry - stop)).quantize(QUANTUM, rounding=ROUND_DOWN)
    affordable = (equity / entry).quantize(QUANTUM, rounding=ROUND_DOWN)
    if units > affordable:
        units = affordable
        risk = money(units * abs(entry - stop))
    if units <= 0:
        raise InvalidTransition(f"Equity {equity} buys no unit at {entry}.", field="entry_price")
    if units >= PRICE_MAX:
        raise InvalidInput(
            f"entry_price {entry} is too small: equity {equity} would buy {units:.4E} units, more than the ledger holds.",
            field="entry_price",
        )
    return units, risk
