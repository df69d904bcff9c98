"""A new trade's size (docs/fills.md, "The account" and "Lot sizes"): the risk asked of the balance, shrunk to
what cash pays for and to the numeric envelope, in a market's lot steps, and refused below its minimums. Pure,
like ledger/rules.py, whose rounding and costs it uses."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from . import rules
from .errors import InvalidInput, NotExecutable
from .rules import AMOUNT_MAX, PRICE_MAX, ZERO, entry_cost, margin_for, money, plain, units


def _largest(size: Decimal, fits: Callable[[Decimal], bool]) -> Decimal:
    """`size` made smaller by its last unit until it fits (rounding can tip a size over by a unit)."""
    while size > 0 and not fits(size):
        size -= Decimal(1).scaleb(size.as_tuple().exponent)
    return max(size, ZERO)


def _affordable(*, cash: Decimal, fill: Decimal, margin: Decimal) -> Decimal:
    """The largest size whose collateral and entry fee fit in cash."""
    size = units(cash / (fill * (margin + rules.terms().fee_rate))) if cash > 0 else ZERO
    return _largest(size, lambda size: entry_cost(price=fill, size=size, margin=margin) <= cash)


def _in_envelope(*, highest: Decimal) -> Decimal:
    """The largest size whose notional at the trade's highest level (entry, stop or target) stays below
    AMOUNT_MAX: then its PnL and fees at its stop or target, and its risk, do too."""
    return _largest(units(AMOUNT_MAX / highest), lambda size: size * highest < AMOUNT_MAX)


@dataclass(frozen=True)
class Lot:
    """A market's rules for an order's size, as ccxt gives them: the step every size is a multiple of
    (`precision.amount`), the smallest amount (`limits.amount.min`) and the smallest cost, price × amount
    (`limits.cost.min`)."""

    step: Decimal
    min_amount: Decimal
    min_cost: Decimal


def lot_default() -> Lot:
    """The rules of a market the ledger knows nothing about: PAPER_LOT_STEP, PAPER_MIN_AMOUNT, no minimum cost
    (PAPER_MIN_NOTIONAL, the account's own floor, applies to every market)."""
    return Lot(step=settings.PAPER_LOT_STEP, min_amount=settings.PAPER_MIN_AMOUNT, min_cost=ZERO)


def to_step(size: Decimal, step: Decimal) -> Decimal:
    """A size rounded down to a multiple of the market's step: 0.1234 with a step of 0.01 is 0.12."""
    return units((size // step) * step)


def check_lot(*, symbol: str, size: Decimal, price: Decimal, lot: Lot) -> None:
    """A size below the market's minimum amount, or whose cost is below its minimum cost or below
    PAPER_MIN_NOTIONAL, is refused with the minimum it misses."""
    notional = money(size * price)
    floor, name = max(
        (rules.terms().min_notional, "the smallest trade the account makes"),
        (lot.min_cost, "the market's minimum cost"),
    )
    if notional < floor:
        raise NotExecutable(
            f"{plain(size)} {symbol} at {plain(price)} is a notional of {plain(notional)}, below {name}, "
            f"{plain(floor)}.",
            field="signal_id",
        )
    if size < lot.min_amount or size <= 0:
        raise NotExecutable(
            f"a size of {plain(size)} {symbol} is below the market's minimum amount {plain(lot.min_amount)}.",
            field="signal_id",
        )


@dataclass(frozen=True)
class Sized:
    size: Decimal
    risk: Decimal  # what the size risks between the fill and the stop: the trade's R


def size(
    *,
    symbol: str,
    direction: str,
    balance: Decimal,
    cash: Decimal,
    fill: Decimal,
    stop: Decimal,
    target: Decimal,
    lot: Lot,
) -> Sized:
    """The position size and the risk it takes. PAPER_RISK_PER_TRADE of the balance (realized PnL only: open
    trades' marks do not move it) between the fill and the stop,
    rounded down; kept inside the numeric envelope (the notional at every level below AMOUNT_MAX); shrunk to
    what cash pays for (collateral and entry fee) and rounded down to the market's step. Refused: an account
    in deficit (cash below 0) or without a balance; a size below the market's minimums (`check_lot`); a size
    risking less than PAPER_MIN_RISK_FRACTION of the risk asked, which would count as a whole trade in R."""
    if balance <= 0 or cash < 0:
        raise NotExecutable(
            f"the account is in deficit (balance {plain(balance)}, cash {plain(cash)}): no entry until its cash is "
            "positive again.",
            field="signal_id",
        )
    distance, asked_risk = abs(fill - stop), money(balance * rules.terms().risk_per_trade)
    full = units(asked_risk / distance)
    # The envelope is the ledger's own limit, not the account's: what it leaves is the risk asked.
    asked = min(full, _in_envelope(highest=max(fill, stop, target)))
    sized = to_step(min(asked, _affordable(cash=cash, fill=fill, margin=margin_for(direction))), lot.step)
    if sized >= PRICE_MAX:
        raise InvalidInput(
            f"entry_price {plain(fill)} is too small: the balance {plain(balance)} would buy {sized:.4E} units, "
            "more than the ledger holds.",
            field="entry_price",
        )
    check_lot(symbol=symbol, size=sized, price=fill, lot=lot)
    if sized == full:
        return Sized(size=sized, risk=asked_risk)
    wanted, risk = money(asked * distance), money(sized * distance)
    least = settings.PAPER_MIN_RISK_FRACTION
    if risk < least * wanted:
        raise NotExecutable(
            f"{plain(sized)} {symbol}, what cash {plain(cash)} pays for in steps of {plain(lot.step)}, risks "
            f"{plain(risk)} of the {plain(wanted)} asked: less than the {plain(least)} of it a trade must risk "
            "to count.",
            field="signal_id",
        )
    return Sized(size=sized, risk=risk)
