"""The trading rules of docs/domain.md, written once: rounding, fills, fees, PnL, exits, marks, levels and the
account's limits (docs/fills.md says how each fill is priced, beside Freqtrade's dry-run); a trade's size and a
market's lot rules are in ledger/sizing.py.

Pure: values in, values out. Nothing here reads or writes the database (the services lock, load, call these
and write); the rates are the book's (`terms()`: its own rules, or the PAPER_* settings where it has none),
read when a rule is applied. `mark`, `settle` and
`close_at_quote` fill in a trade object in memory, which is what the services then save. A value a rule
refuses raises the ledger's own errors (ledger/errors.py), naming the input at fault.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal
from typing import Any, Protocol

from django.conf import settings

from .errors import InvalidInput, NotExecutable

ZERO = Decimal(0)
QUANTUM = Decimal("0.00000001")  # 8 decimal places, as the columns
DIGITS = 15  # significant digits that both databases keep exactly (SQLite stores 64-bit floats)
# The numeric envelope (README, "Numbers"). Every price and size is from PRICE_MIN to below PRICE_MAX, and so is
# every amount of one trade: its notional at its entry, stop and target, its risk, fees, slippage and PnL, which
# the trades' columns (12 integer digits) hold. The account's running totals add up at most 2**63 trades' PnL
# and costs, below TOTAL_MAX, which their columns (30 integer digits) hold: no sequence of trades overflows them.
PRICE_MIN = Decimal("0.00000001")
PRICE_MAX = AMOUNT_MAX = Decimal("1e11")
TOTAL_MAX = Decimal("1e30")
WIDE = Context(prec=60)  # enough digits to round any value below TOTAL_MAX to 8 places without overflowing
RATIO = Decimal("0.0001")  # R multiples and percentages, to 4 places

LONG, SHORT = "LONG", "SHORT"
BUY, SELL = "BUY", "SELL"
STOP_LOSS, TAKE_PROFIT, LIQUIDATION = "STOP_LOSS", "TAKE_PROFIT", "LIQUIDATION"


@dataclass(frozen=True)
class Terms:
    """A book's rules in force (docs/books.md): its own, or the PAPER_* setting where the book has none. The
    services apply a book's rules `under` its terms; elsewhere (a replay's fresh account, a command with no book)
    the settings' apply."""

    starting_balance: Decimal
    risk_per_trade: Decimal
    default_stop_pct: Decimal
    reward_risk: Decimal
    fee_rate: Decimal
    slippage: Decimal
    max_open_trades: int
    one_trade_per_symbol: bool
    min_notional: Decimal
    limit_fill: str

    @classmethod
    def of(cls, book: Any = None) -> "Terms":
        """A book's terms (a Book, or anything with the same attributes); None: the settings' alone."""
        values = {}
        for rule in fields(cls):
            own = getattr(book, rule.name, None)
            values[rule.name] = getattr(settings, f"PAPER_{rule.name.upper()}") if own in (None, "") else own
        return cls(**values)


_in_force: ContextVar[Terms | None] = ContextVar("terms", default=None)


def terms() -> Terms:
    """The rules in force: the book's whose write is under way, or the settings'."""
    return _in_force.get() or Terms.of()


@contextmanager
def under(book_terms: Terms) -> Iterator[None]:
    """Apply `book_terms` to every rule called inside (a context variable: each thread and task has its own)."""
    token = _in_force.set(book_terms)
    try:
        yield
    finally:
        _in_force.reset(token)


class Position(Protocol):
    """What the rules read and write of a trade (a PaperTrade, saved or not)."""

    pk: int | None
    symbol: str
    direction: str
    entry_price: Decimal
    entry_slippage: Decimal
    position_size: Decimal
    stop_loss: Decimal
    take_profit: Decimal
    current_price: Decimal
    max_price: Decimal
    min_price: Decimal
    exit_quote: Decimal
    fees: Decimal
    slippage: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal | None
    exit_price: Decimal | None
    exit_time: datetime | None
    status: str
    risk_amount: Decimal
    margin: Decimal
    bracket: dict
    targets_filled: int
    exited_size: Decimal
    exited_value: Decimal
    exited_pnl: Decimal
    exited_fees: Decimal
    exited_slippage: Decimal


def direction_for(action: str) -> str:
    """A BUY signal opens a LONG trade, a SELL signal a SHORT one."""
    return LONG if action == BUY else SHORT


def sign(direction: str) -> int:
    """+1 for LONG, -1 for SHORT: the side's stake in a price move."""
    return 1 if direction == LONG else -1


# --- Numbers ----------------------------------------------------------------------------------------


def _round(value: Decimal, rounding: str) -> Decimal:
    """To the columns' 8 places, and to at most DIGITS significant digits (values of 10,000,000 or more lose
    decimal places), so that what is answered is what either database stores and reads back."""
    value = value.quantize(QUANTUM, rounding=rounding, context=WIDE)
    if value.adjusted() + 1 > DIGITS - 8:
        value = value.quantize(Decimal(1).scaleb(value.adjusted() + 1 - DIGITS), rounding=rounding, context=WIDE)
    return value


def plain(value: Decimal) -> str:
    """A number as a sentence shows it: 105.0525, not 105.05250000 or 1.0E+2."""
    return f"{value.normalize():f}"


def money(value: Decimal) -> Decimal:
    """Money and prices, rounded half to even."""
    return _round(value, ROUND_HALF_EVEN)


def units(value: Decimal) -> Decimal:
    """A position size: always rounded down, never to more than was sized."""
    return _round(value, ROUND_DOWN)


def against(value: Decimal, *, buying: bool) -> Decimal:
    """A price rounded against the trader: up when buying, down when selling (never below the smallest price)."""
    return max(_round(value, ROUND_CEILING if buying else ROUND_FLOOR), QUANTUM)


# --- Fills, fees and PnL ----------------------------------------------------------------------------


def market_fill(*, buying: bool, price: Decimal, bid: Decimal | None = None, ask: Decimal | None = None) -> Decimal:
    """Where a market order fills: a buy at the ask, a sell at the bid; without them, at the price moved
    against the trader by PAPER_SLIPPAGE."""
    quote = ask if buying else bid
    if quote is not None:
        return quote
    slip = terms().slippage
    return against(price * (1 + slip if buying else 1 - slip), buying=buying)


def opening_buys(direction: str) -> bool:
    """A LONG opens with a buy and closes with a sell; a SHORT the other way round."""
    return direction == LONG


def fee(*, price: Decimal, size: Decimal) -> Decimal:
    """The fee of one side: PAPER_FEE_RATE of the notional."""
    return money(terms().fee_rate * price * size)


def margin_for(direction: str) -> Decimal:
    """The share of its notional a trade holds out of cash: all of it for a LONG (spot), PAPER_SHORT_MARGIN for a
    SHORT (the collateral a margin account holds against the borrowed units)."""
    return settings.PAPER_SHORT_MARGIN if direction == SHORT else Decimal(1)


def entry_cost(*, price: Decimal, size: Decimal, margin: Decimal = Decimal(1)) -> Decimal:
    """What opening a trade takes out of cash: its collateral (margin × notional; a LONG's is its notional)
    and its entry fee."""
    return money(margin * price * size) + fee(price=price, size=size)


def remaining(trade: Position) -> Decimal:
    """The units still open: the size opened less what partial exits closed (ledger/brackets.py)."""
    return trade.position_size - trade.exited_size


def held(trade: Position) -> Decimal:
    """What an open trade holds out of cash: the entry cost of its units still open, at the margin it opened with."""
    return entry_cost(price=trade.entry_price, size=remaining(trade), margin=trade.margin)


def liquidation_price(trade: Position) -> Decimal | None:
    """Where a SHORT is liquidated: the price at which its loss, (price - entry) × size, reaches its collateral
    less the maintenance margin, entry × (1 + margin - PAPER_MAINTENANCE_MARGIN). A LONG (spot) has none: it
    cannot lose more than it paid."""
    if trade.direction != SHORT:
        return None
    return trade.entry_price * (1 + trade.margin - settings.PAPER_MAINTENANCE_MARGIN)


def round_trip_fees(trade: Position, *, exit_price: Decimal) -> Decimal:
    return fee(price=trade.entry_price, size=trade.position_size) + fee(price=exit_price, size=trade.position_size)


def pnl(trade: Position, *, price: Decimal, fees: Decimal) -> Decimal:
    """The one PnL rule: sign * (price - entry) * size, less the entry and exit fees."""
    return money(sign(trade.direction) * (price - trade.entry_price) * trade.position_size) - fees


def r_multiple(pnl: Decimal | None, risk: Decimal) -> Decimal | None:
    """PnL in units of the risk taken at entry (risk_amount); None without a risk."""
    return None if pnl is None or not risk else (pnl / risk).quantize(RATIO)


def return_pct(pnl: Decimal | None, *, price: Decimal, size: Decimal) -> Decimal | None:
    """PnL as a percentage of the entry notional."""
    notional = price * size
    return None if pnl is None or not notional else (pnl * 100 / notional).quantize(RATIO)


def distance_pct(*, price: Decimal, level: Decimal) -> Decimal:
    """How far a level is from the price, as a percentage of the price (an open trade's price lies between
    its stop and its target)."""
    return (abs(level - price) * 100 / price).quantize(RATIO)


def _entry_slippage_paid(trade: Position) -> Decimal:
    return money(trade.entry_slippage * trade.position_size)


def check_envelope(trade: Position, *, field: str = "price", value: Decimal | None = None) -> None:
    """A trade whose PnL, fees, slippage or risk would reach AMOUNT_MAX is refused, naming the input that took it
    there (a tick's or a close's price, a corrected size): PostgreSQL would refuse the write, and SQLite could
    not read the number back. Sizing keeps a trade's stop and target inside (`size`); only a price beyond them
    (a gap, a close by hand) or a correction can get here."""
    amounts = (trade.unrealized_pnl, trade.realized_pnl or ZERO, trade.fees, trade.slippage, trade.risk_amount or ZERO)
    if max(abs(amount) for amount in amounts) >= AMOUNT_MAX:
        pnl = trade.realized_pnl if trade.realized_pnl is not None else trade.unrealized_pnl
        given = f"{field} {plain(value)}" if isinstance(value, Decimal) else field
        raise InvalidInput(
            f"{given} would value trade #{trade.pk or 'new'} of "
            f"{plain(trade.position_size)} {trade.symbol} at {pnl:.4E}, "
            f"beyond what the ledger holds (amounts below {AMOUNT_MAX:.0E}).",
            field=field,
        )


def widen(trade: Position, *prices: Decimal) -> None:
    """The trade's high and low while open, widened by prices it traded at (a tick, a candle's low and high)."""
    trade.max_price, trade.min_price = max(trade.max_price, *prices), min(trade.min_price, *prices)


def mark(trade: Position, price: Decimal, *, bid: Decimal | None = None, ask: Decimal | None = None) -> None:
    """Value the open trade at a tick: `exit_quote` is where a market exit would fill now (the bid for a
    LONG, the ask for a SHORT, or the price moved by slippage); then revalue at it."""
    trade.current_price = price
    trade.exit_quote = market_fill(buying=not opening_buys(trade.direction), price=price, bid=bid, ask=ask)
    revalue(trade)


def revalue(trade: Position, *, field: str = "price") -> None:
    """The open trade's fees, slippage and unrealized PnL: what a market exit of its rest at its exit quote
    would pay and realize, with what its partial exits paid and realized (the `exited_` columns; 0 without).
    So closing at the last mark realizes exactly the last unrealized PnL. Beyond the envelope, refused naming
    `field`: the price that moved it, or the correction that did (a size)."""
    rest, side = remaining(trade), sign(trade.direction)
    exit_fee = fee(price=trade.exit_quote, size=rest)
    trade.fees = fee(price=trade.entry_price, size=trade.position_size) + trade.exited_fees + exit_fee
    exit_slippage = money(side * (trade.current_price - trade.exit_quote) * rest)
    trade.slippage = _entry_slippage_paid(trade) + trade.exited_slippage + exit_slippage
    rest_pnl = money(side * (trade.exit_quote - trade.entry_price) * rest) - fee(price=trade.entry_price, size=rest)
    trade.unrealized_pnl = trade.exited_pnl + rest_pnl - exit_fee
    check_envelope(trade, field=field, value=getattr(trade, "current_price" if field == "price" else field))


def close_at_quote(trade: Position, *, reason: str, at: datetime) -> None:
    """Close the trade by a market order at its last mark's exit quote, in memory: a stop, the end of day, a
    close by hand without a price. Fees, slippage and PnL are the mark's; the exit price is the size-weighted
    average of the partial exits and this one (the exit quote itself without partial exits)."""
    trade.status = reason
    trade.exit_price = trade.exit_quote
    if trade.exited_size:
        trade.exit_price = money((trade.exited_value + trade.exit_quote * remaining(trade)) / trade.position_size)
    trade.exit_time = at
    trade.realized_pnl = trade.unrealized_pnl
    trade.unrealized_pnl = ZERO


def settle(trade: Position, *, price: Decimal, reason: str, at: datetime) -> None:
    """Close the trade at exactly `price`, in memory: a take-profit's limit order at its target, or a close
    by hand at a price the trader states. No exit slippage. The price traded, so it counts in the trade's high
    and low."""
    trade.current_price = trade.exit_quote = price
    widen(trade, price)
    revalue(trade)  # at the price itself: no exit slippage
    close_at_quote(trade, reason=reason, at=at)


def reached(trade: Position, price: Decimal) -> str | None:
    """Whether a traded price reaches the trade's liquidation price (LIQUIDATION), its stop (STOP_LOSS) or
    its target (TAKE_PROFIT).

    A liquidation and a stop are market orders: they then fill at the tick's bid or ask, or the tick's price
    moved by slippage (a gap through them fills at the worse price). A target is a resting limit order: it
    fills at its own price. A price at or beyond the liquidation price liquidates, whatever the stop; were a
    stop and a target both reached at once, the stop wins.
    """
    side = sign(trade.direction)
    if side == -1 and price >= liquidation_price(trade):
        return LIQUIDATION
    if side * (price - trade.stop_loss) <= 0:
        return STOP_LOSS
    if side * (price - trade.take_profit) >= 0:
        return TAKE_PROFIT
    return None


@dataclass(frozen=True)
class Excursions:
    """How far the price went for and against a trade while it was open, in money and in R (before fees)."""

    favourable: Decimal  # MFE, 0 or more
    adverse: Decimal  # MAE, 0 or less
    favourable_r: Decimal | None
    adverse_r: Decimal | None
    best_price: Decimal  # the price the MFE is measured at: a LONG's high, a SHORT's low
    worst_price: Decimal  # ... the MAE: a LONG's low, a SHORT's high


def excursions(trade: Position) -> Excursions:
    """MFE and MAE from the highest and lowest prices the trade saw (max_price, min_price): a LONG's best is
    its high and worst its low, a SHORT's the other way round; never better than 0 against, worse than 0 for."""
    best, worst = (trade.max_price, trade.min_price) if trade.direction == LONG else (trade.min_price, trade.max_price)
    side = sign(trade.direction)
    favourable = max(money(side * (best - trade.entry_price) * trade.position_size), ZERO)
    adverse = min(money(side * (worst - trade.entry_price) * trade.position_size), ZERO)
    return Excursions(
        favourable,
        adverse,
        r_multiple(favourable, trade.risk_amount),
        r_multiple(adverse, trade.risk_amount),
        best,
        worst,
    )


# --- Entries ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    """A symbol's last tick: its traded price, the book's bid and ask if known, and when it was seen."""

    price: Decimal
    bid: Decimal | None
    ask: Decimal | None
    at: datetime


def span_words(span: timedelta) -> str:
    minutes = span.total_seconds() / 60
    return f"{minutes:.0f} min" if minutes >= 1 else f"{span.total_seconds():.0f} s"


def fresh(seen: datetime, *, at: datetime) -> bool:
    """Whether a tick seen at `seen` may still price an entry at `at`: no older than PAPER_PRICE_MAX_AGE. A tick
    stamped ahead of `at` by no more than MAX_CLOCK_SKEW (the sender's clock runs a little fast) was accepted
    as the market's price, so it prices the entry too."""
    return -settings.MAX_CLOCK_SKEW <= at - seen <= settings.PAPER_PRICE_MAX_AGE


def check_signal_age(*, signal_time: datetime, at: datetime) -> None:
    """A waiting signal can be taken for PAPER_SIGNAL_MAX_AGE after it was sent; after that it is an opportunity
    gone (and lapses by itself: services.signals_lapse)."""
    age, most = at - signal_time, settings.PAPER_SIGNAL_MAX_AGE
    if age > most:
        raise NotExecutable(
            f"the signal is {span_words(age)} old; a signal can be taken for {span_words(most)} after it is sent.",
            field="signal_id",
        )


def reference(*, last: Quote | None, signal_price: Decimal, signal_time: datetime, at: datetime) -> Quote:
    """What an entry at `at` is priced from: the symbol's last tick if it is no older than PAPER_PRICE_MAX_AGE,
    else the signal's own price (a signal is taken only while it is fresh: check_signal_age)."""
    if last is not None and fresh(last.at, at=at):
        return last
    return Quote(price=signal_price, bid=None, ask=None, at=signal_time)


def check_levels(direction: str, *, entry: Decimal, stop: Decimal | None, target: Decimal | None) -> None:
    """LONG needs stop < entry < target; SHORT needs target < entry < stop (a signal's levels against its price)."""
    side = sign(direction)
    below, above = ("below", "above") if side == 1 else ("above", "below")
    if stop is not None and side * (entry - stop) <= 0:
        raise InvalidInput(
            f"The stop {plain(stop)} must be {below} the entry price {plain(entry)} for a {direction}.",
            field="stop_loss",
        )
    if target is not None and side * (target - entry) <= 0:
        raise InvalidInput(
            f"The target {plain(target)} must be {above} the entry price {plain(entry)} for a {direction}.",
            field="take_profit",
        )


def _in_range(level: Decimal, *, field: str, why: str) -> Decimal:
    if not ZERO < level < PRICE_MAX:
        raise InvalidInput(
            f"the default {field} would be {plain(level)}, {why}; send a {field} or a nearer stop.", field=field
        )
    return level


def levels(
    direction: str,
    *,
    fill: Decimal,
    stop: Decimal | None,
    target: Decimal | None,
    reward_risk: Decimal | None = None,
) -> tuple[Decimal, Decimal]:
    """The trade's stop and target. A signal's own levels are absolute prices and kept; the defaults are
    PAPER_DEFAULT_STOP_PCT from the fill, rounded toward it (never further than that), and PAPER_REWARD_RISK (or
    `reward_risk`: a replay's targets, each at its own multiple) times that distance beyond it, rounded away from
    it. A default outside (0, PRICE_MAX) is refused."""
    side = sign(direction)
    why = f"outside what a price can be (above 0, below {PRICE_MAX:,.0f})"
    if stop is None:
        away = fill * (1 - side * terms().default_stop_pct)
        stop = _in_range(_round(away, ROUND_CEILING if side == 1 else ROUND_FLOOR), field="stop_loss", why=why)
    if target is None:
        multiple = terms().reward_risk if reward_risk is None else reward_risk
        beyond = fill + side * multiple * abs(fill - stop)
        target = _in_range(_round(beyond, ROUND_CEILING if side == 1 else ROUND_FLOOR), field="take_profit", why=why)
    return stop, target


def check_levels_around(direction: str, *, price: Decimal, stop: Decimal, target: Decimal) -> None:
    """An open trade's levels, moved by the trader, lie on either side of its last price: LONG needs
    stop < price < target, SHORT target < price < stop. A level at or beyond the price is on the wrong side
    of it, a level the price has already crossed: the next tick would close the trade at once."""
    side = sign(direction)
    below, above = ("below", "above") if side == 1 else ("above", "below")
    if side * (price - stop) <= 0:
        raise InvalidInput(
            f"The stop {plain(stop)} must be {below} the last price {plain(price)} of this {direction}: "
            "the price has already crossed it.",
            field="stop_loss",
        )
    if side * (target - price) <= 0:
        raise InvalidInput(
            f"The target {plain(target)} must be {above} the last price {plain(price)} of this {direction}: "
            "the price has already crossed it.",
            field="take_profit",
        )


def check_levels_in_envelope(trade: Position, *, stop: Decimal, target: Decimal) -> None:
    """A moved stop or target is held to the bound sizing keeps a trade in: its notional at every level below
    AMOUNT_MAX, so that a fill there can be valued and stored."""
    for field, level in (("stop_loss", stop), ("take_profit", target)):
        if level * trade.position_size >= AMOUNT_MAX:
            raise InvalidInput(
                f"{field} {plain(level)} would put trade #{trade.pk}'s {plain(trade.position_size)} {trade.symbol} "
                f"at {level * trade.position_size:.4E}, beyond what the ledger holds (amounts below {AMOUNT_MAX:.0E}).",
                field=field,
            )


def check_fill_inside(direction: str, *, fill: Decimal, stop: Decimal, target: Decimal) -> None:
    """An entry whose fill is already at or beyond its stop or target is an opportunity gone: refused."""
    side = sign(direction)
    if side * (fill - stop) <= 0:
        raise NotExecutable(f"price {plain(fill)} is past the stop {plain(stop)}.", field="stop_loss")
    if side * (target - fill) <= 0:
        raise NotExecutable(f"price {plain(fill)} is past the target {plain(target)}.", field="take_profit")


def check_limits(*, symbol: str, open_trades: int, symbol_open: bool) -> None:
    """PAPER_MAX_OPEN_TRADES (0: no limit) and PAPER_ONE_TRADE_PER_SYMBOL."""
    book_terms = terms()
    limit = book_terms.max_open_trades
    if limit and open_trades >= limit:
        raise NotExecutable(f"{open_trades} trades are open, the most the account allows at once.", field="signal_id")
    if symbol_open and book_terms.one_trade_per_symbol:
        raise NotExecutable(
            f"a trade on {symbol} is open already, and the account takes one trade a symbol.", field="symbol"
        )


# --- Prints ------------------------------------------------------------------------------------------

JUMP_WINDOW = timedelta(minutes=1)


def suspect_print(*, last: Decimal, last_at: datetime, price: Decimal, at: datetime) -> bool:
    """Whether a price is too far from its symbol's price of at most a minute before to be believed alone: further
    than PAPER_MAX_JUMP of it, either way (0 turns the check off). A bad print (a thousandfold price, a lost decimal
    point) must neither mark nor close anything; a real move is confirmed by the tick after it."""
    limit = settings.PAPER_MAX_JUMP
    return bool(limit) and abs(at - last_at) <= JUMP_WINDOW and abs(price - last) > limit * last


# --- Fills from candles -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CandleFill:
    """Where a trade's stop or target would have filled in a minute the feed did not see."""

    reason: str  # LIQUIDATION, STOP_LOSS or TAKE_PROFIT
    price: Decimal
    minute: datetime
    both: bool  # the minute reached the stop and the target: the stop is assumed first (the adverse assumption)


def candle_fill(trade: Position, candles: Iterable) -> CandleFill | None:
    """The first of the 1-minute candles (oldest first, each with minute, open, high and low) to reach the trade's
    stop (or a SHORT's liquidation price short of it) or target closes it as the resting order would have: at the
    level, or at the candle's open if it opened beyond it. A candle that opened inside and reached both cannot say
    which came first: the stop is assumed."""
    side = sign(trade.direction)
    # A SHORT's liquidation price short of its stop is reached first on the way up: it is then the adverse level.
    liquidation = liquidation_price(trade)
    at_worst, worst = (
        (LIQUIDATION, liquidation)
        if liquidation is not None and liquidation < trade.stop_loss
        else (STOP_LOSS, trade.stop_loss)
    )
    for candle in candles:
        adverse, favourable = (candle.low, candle.high) if side > 0 else (candle.high, candle.low)
        if side * (candle.open - worst) <= 0:
            return CandleFill(at_worst, candle.open, candle.minute, both=False)
        if side * (candle.open - trade.take_profit) >= 0:
            return CandleFill(TAKE_PROFIT, candle.open, candle.minute, both=False)
        stop, target = side * (adverse - worst) <= 0, side * (favourable - trade.take_profit) >= 0
        if stop or target:
            level = worst if stop else trade.take_profit
            return CandleFill(at_worst if stop else TAKE_PROFIT, level, candle.minute, both=stop and target)
    return None
