"""A replay (docs/replay.md): what a set of signals would have done under other rules, on the recorded 1-minute
candles, as a fresh account. Pure, like ledger/rules.py: values in, values out, nothing read from or written to
the database. Every price, fee, PnL and size is the ledger's own rules' (ledger/rules.py, ledger/sizing.py): this
module only walks time and decides which rule applies when.

The candles of each symbol are streamed oldest first and merged by minute; only the open positions are kept.
Within a minute the order of the high and the low is unknown: a position whose stop and target both lie inside
one candle is closed on the adverse path (the stop first, what the replay counts) and its favourable outcome (the
target) is kept beside it, so the result is a band. Minutes without a candle while a position is open are counted
on it (the feed may have been down); nothing fills on a price no candle shows. Its figures and its differences from
the ledger are ledger/replay_report.py.
"""

import heapq
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timedelta
from decimal import Decimal
from operator import attrgetter
from typing import Any, NamedTuple

from . import rules, sizing
from .days import day_bounds, last_moment, trading_day
from .errors import InvalidInput, LedgerError
from .rules import TAKE_PROFIT, ZERO, Quote

MINUTE = timedelta(minutes=1)
EOD_CLOSE, OPEN = "EOD_CLOSE", "OPEN"


@dataclass(frozen=True)
class Overrides:
    """The rules a replay changes; None keeps the book's own (rules.Terms). Percentages and rates are
    fractions (0.01 is 1 %). A stop distance (PAPER_DEFAULT_STOP_PCT) replaces every signal's own stop; a target
    distance, as a multiple of the stop's (PAPER_REWARD_RISK), every signal's own target. A signal keeps its own
    target under a new stop unless a target distance is given; one without a target gets the default's."""

    stop_pct: Decimal | None = None
    reward_risk: Decimal | None = None
    risk: Decimal | None = None
    slippage: Decimal | None = None
    fee_rate: Decimal | None = None
    max_open: int | None = None
    one_per_symbol: bool | None = None

    TERMS = {  # the book's rule (rules.Terms) each override replaces
        "stop_pct": "default_stop_pct",
        "reward_risk": "reward_risk",
        "risk": "risk_per_trade",
        "slippage": "slippage",
        "fee_rate": "fee_rate",
        "max_open": "max_open_trades",
        "one_per_symbol": "one_trade_per_symbol",
    }
    LIMITS = {  # the ranges tradingsite/settings.py accepts for the same settings
        "stop_pct": (ZERO, Decimal("0.99")),
        "reward_risk": (ZERO, Decimal(100)),
        "risk": (ZERO, Decimal(1)),
        "slippage": (ZERO, Decimal("0.1")),
        "fee_rate": (ZERO, Decimal("0.1")),
    }

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> "Overrides":
        """From a form's, a command's or a request's values (strings or numbers; None or "" for the ledger's own),
        each checked against the range its setting accepts; refused naming the field."""
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise InvalidInput(f"{unknown[0]} is not a rule a replay can change.", field=unknown[0])
        cleaned: dict[str, Any] = {}
        for name, value in values.items():
            if value is None or value == "":
                continue
            if name == "one_per_symbol":
                if not isinstance(value, bool):
                    raise InvalidInput("one_per_symbol must be true or false.", field=name)
                cleaned[name] = value
            elif name == "max_open":
                if isinstance(value, bool) or not str(value).isdigit():
                    raise InvalidInput("max_open must be a whole number, 0 or more (0: no limit).", field=name)
                cleaned[name] = int(value)
            else:
                try:
                    number = Decimal(str(value))
                except ArithmeticError:
                    number = None
                low, high = cls.LIMITS[name]
                if number is None or not number.is_finite() or not low <= number <= high:
                    raise InvalidInput(
                        f"{name} must be a number from {rules.plain(low)} to {rules.plain(high)}.", field=name
                    )
                if name in ("stop_pct", "reward_risk") and number == 0:
                    raise InvalidInput(f"{name} must be above 0.", field=name)
                cleaned[name] = number
        return cls(**cleaned)

    def as_json(self) -> dict[str, Any]:
        """The overrides given, as JSON keeps them (numbers as strings)."""
        return {
            name: str(value) if isinstance(value, Decimal) else value
            for name, value in asdict(self).items()
            if value is not None
        }

    def over(self, base: rules.Terms) -> rules.Terms:
        """The rules of the replay: the book's (`base`) with these overrides."""
        return replace(
            base, **{rule: getattr(self, name) for name, rule in self.TERMS.items() if getattr(self, name) is not None}
        )


@dataclass(frozen=True)
class Signal:
    """A signal as the replay takes it, and when it is entered: when the ledger executed it (its trade's entry
    time), else when it was sent."""

    signal_id: str
    symbol: str
    action: str
    entry_price: Decimal
    stop_loss: Decimal | None
    take_profit: Decimal | None
    at: datetime


class Candle(NamedTuple):
    """One recorded minute of a symbol: its start, open, high, low, close, and the bid and ask of its close. A named
    tuple: a replay makes millions of them, and a tuple is the cheapest object to make."""

    symbol: str
    minute: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    bid: Decimal | None = None
    ask: Decimal | None = None


@dataclass
class Position:
    """A replayed trade while open, in the shape the rules read and write (rules.Position)."""

    signal_id: str
    symbol: str
    direction: str
    entry_price: Decimal
    entry_slippage: Decimal
    position_size: Decimal
    stop_loss: Decimal
    take_profit: Decimal
    entry_time: datetime
    risk_amount: Decimal
    margin: Decimal
    current_price: Decimal = ZERO
    max_price: Decimal = ZERO
    min_price: Decimal = ZERO
    exit_quote: Decimal = ZERO
    fees: Decimal = ZERO
    slippage: Decimal = ZERO
    unrealized_pnl: Decimal = ZERO
    realized_pnl: Decimal | None = None
    exit_price: Decimal | None = None
    exit_time: datetime | None = None
    status: str = OPEN
    # A replayed trade has one target (docs/replay.md): no bracket, so nothing exits in parts.
    bracket: dict = field(default_factory=dict)
    targets_filled: int = 0
    exited_size: Decimal = ZERO
    exited_value: Decimal = ZERO
    exited_pnl: Decimal = ZERO
    exited_fees: Decimal = ZERO
    exited_slippage: Decimal = ZERO
    pk: int | None = None
    last_minute: datetime | None = None  # the last candle's minute it has seen
    last: Candle | None = None  # ... and that candle: its close is the last mark
    missing_minutes: int = 0
    best: tuple[str, Decimal, Decimal] | None = None  # (reason, price, pnl) on the favourable path, if it differs


@dataclass(frozen=True)
class Trade:
    """A replayed trade, closed (or still open when the candles end, on a day not over). `pnl` is the adverse
    path's; `best_*` the favourable path's, equal unless `path_dependent`."""

    signal_id: str
    symbol: str
    direction: str
    entry_time: datetime
    entry_price: Decimal
    size: Decimal
    stop_loss: Decimal
    take_profit: Decimal
    risk: Decimal
    exit_time: datetime | None
    exit_price: Decimal | None
    exit_reason: str
    pnl: Decimal
    fees: Decimal
    r: Decimal | None
    path_dependent: bool
    best_exit_reason: str
    best_exit_price: Decimal | None
    best_pnl: Decimal
    missing_minutes: int

    def as_json(self) -> dict[str, Any]:
        return _as_json(self)


@dataclass(frozen=True)
class Refusal:
    signal_id: str
    symbol: str
    at: datetime
    reason: str

    def as_json(self) -> dict[str, Any]:
        return _as_json(self)


def _as_json(row: Any) -> dict[str, Any]:
    # Not dataclasses.asdict: it deep-copies every value (half a second at 10,000 trades), and these rows are flat.
    return {f.name: _json(getattr(row, f.name)) for f in fields(row)}


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


@dataclass
class Result:
    trades: list[Trade] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


# --- Entries and exits, each by the ledger's rules ----------------------------------------------------------


def minute_of(moment: datetime) -> datetime:
    """The start of the minute a moment falls in: its candle's key."""
    return moment.replace(second=0, microsecond=0)


def _quote(candle: Candle | None, *, at: datetime) -> Quote | None:
    """The last recorded price before `at`: the close of the symbol's last candle that ended by then, taken as
    seen at the end of its minute (its close, bid and ask are its last tick's)."""
    if candle is None:
        return None
    return Quote(price=candle.close, bid=candle.bid, ask=candle.ask, at=min(candle.minute + MINUTE, at))


def _closed(position: Position) -> tuple[str, Decimal, Decimal]:
    return position.status, position.exit_price, position.realized_pnl


class _Run:
    """One replay's account and open positions, walked through the events in time order."""

    def __init__(
        self, *, overrides: Overrides, starting_balance: Decimal, lots: dict[str, sizing.Lot], now: datetime
    ) -> None:
        self.overrides, self.starting_balance, self.lots, self.now = overrides, starting_balance, lots, now
        self.realized = self.open_cost = ZERO
        self.open: dict[str, list[Position]] = {}
        self.open_count = 0
        self.last: dict[str, Candle] = {}
        self.day_end: datetime | None = None
        self.result = Result()

    # The account, as models.Account computes it from its running totals.
    @property
    def balance(self) -> Decimal:
        return self.starting_balance + self.realized

    def enter(self, signal: Signal) -> None:
        self.end_days(signal.at)
        try:
            position = self._position(signal)
        except LedgerError as refusal:
            self.result.refused.append(Refusal(signal.signal_id, signal.symbol, signal.at, refusal.message))
            return
        self.open.setdefault(signal.symbol, []).append(position)
        self.open_count += 1
        self.open_cost = rules.money(self.open_cost + rules.held(position))
        self.day_end = self.day_end or day_bounds(trading_day(signal.at))[1]

    def _position(self, signal: Signal) -> Position:
        """The signal's trade at its entry time as services.signal_execute opens it (selectors.entry_plan's
        rules), or the refusal the ledger would give."""
        direction = rules.direction_for(signal.action)
        last = _quote(self.last.get(signal.symbol), at=signal.at)
        quote = rules.reference(last=last, signal_price=signal.entry_price, signal_time=signal.at, at=signal.at)
        fill = rules.market_fill(buying=rules.opening_buys(direction), price=quote.price, bid=quote.bid, ask=quote.ask)
        stop = None if self.overrides.stop_pct is not None else signal.stop_loss
        target = None if self.overrides.reward_risk is not None else signal.take_profit
        stop, target = rules.levels(direction, fill=fill, stop=stop, target=target)
        rules.check_fill_inside(direction, fill=fill, stop=stop, target=target)
        rules.check_limits(
            symbol=signal.symbol, open_trades=self.open_count, symbol_open=bool(self.open.get(signal.symbol))
        )
        sized = sizing.size(
            symbol=signal.symbol,
            direction=direction,
            balance=self.balance,
            cash=self.balance - self.open_cost,
            fill=fill,
            stop=stop,
            target=target,
            lot=self.lots.get(signal.symbol) or sizing.lot_default(),
        )
        position = Position(
            signal_id=signal.signal_id,
            symbol=signal.symbol,
            direction=direction,
            entry_price=fill,
            entry_slippage=rules.sign(direction) * (fill - signal.entry_price),
            position_size=sized.size,
            stop_loss=stop,
            take_profit=target,
            entry_time=signal.at,
            risk_amount=sized.risk,
            margin=rules.margin_for(direction),
            last_minute=minute_of(signal.at),
        )
        position.max_price = position.min_price = quote.price
        rules.mark(position, quote.price, bid=quote.bid, ask=quote.ask)
        return position

    def candle(self, candle: Candle) -> None:
        """A minute of a symbol: each of its positions entered before that minute is closed if the candle reaches
        its stop or target (rules.candle_fill: the stop first if both); then the candle is the symbol's last."""
        self.end_days(candle.minute)
        self.last[candle.symbol] = candle
        positions = self.open.get(candle.symbol)
        if not positions:
            return
        for position in list(positions):
            if candle.minute <= position.last_minute:  # the entry's own minute: its range mixes earlier ticks
                continue
            position.missing_minutes += (candle.minute - position.last_minute) // MINUTE - 1
            position.last_minute, position.last = candle.minute, candle
            fill = rules.candle_fill(position, (candle,))
            if fill is not None:
                self._exit(position, fill)

    def _exit(self, position: Position, fill: rules.CandleFill) -> None:
        """A stop or a liquidation is a market order at the level (or the open beyond it), as a tick at that price
        would fill it; a target a limit order at the target. Where the candle reached both, the target's outcome
        is kept as the favourable path's."""
        if fill.both:
            best = _copy(position)
            rules.settle(best, price=position.take_profit, reason=TAKE_PROFIT, at=fill.minute)
            position.best = _closed(best)
        if fill.reason == TAKE_PROFIT:
            rules.settle(position, price=position.take_profit, reason=TAKE_PROFIT, at=fill.minute)
        else:
            rules.mark(position, fill.price)
            rules.close_at_quote(position, reason=fill.reason, at=fill.minute)
        self._close(position)

    def end_days(self, moment: datetime) -> None:
        """At the first event past the end of the positions' trading day, the end of day closes them at their last
        mark (services.day_close), at the day's last instant."""
        if self.day_end is None or moment < self.day_end:
            return
        at = last_moment(trading_day(self.day_end - MINUTE))
        for positions in list(self.open.values()):
            for position in list(positions):
                self._close_at_mark(position, at=at)
        self.day_end = None

    def _close_at_mark(self, position: Position, *, at: datetime) -> None:
        if position.last is not None:
            candle = position.last
            rules.mark(position, candle.close, bid=candle.bid, ask=candle.ask)
        rules.close_at_quote(position, reason=EOD_CLOSE, at=at)
        self._close(position)

    def _close(self, position: Position) -> None:
        self.realized = rules.money(self.realized + position.realized_pnl)
        self.open_cost = rules.money(self.open_cost - rules.held(position))
        self.open[position.symbol].remove(position)
        self.open_count -= 1
        self.result.trades.append(_trade(position))

    def finish(self) -> Result:
        """The candles have ended: a day that is over closes as at its end; a day still going leaves its positions
        open, valued at their last mark."""
        if self.day_end is not None and self.day_end <= self.now:
            self.end_days(self.day_end)
        for positions in self.open.values():
            for position in positions:
                if position.last is not None:
                    rules.mark(position, position.last.close, bid=position.last.bid, ask=position.last.ask)
                self.result.trades.append(_trade(position))
        self.result.trades.sort(key=lambda trade: (trade.entry_time, trade.signal_id))
        return self.result


def _copy(position: Position) -> Position:
    return Position(**{f.name: getattr(position, f.name) for f in fields(Position)})


def _trade(position: Position) -> Trade:
    is_open = position.status == OPEN
    pnl = position.unrealized_pnl if is_open else position.realized_pnl
    reason, price, best_pnl = position.best or (position.status, position.exit_price, pnl)
    return Trade(
        signal_id=position.signal_id,
        symbol=position.symbol,
        direction=position.direction,
        entry_time=position.entry_time,
        entry_price=position.entry_price,
        size=position.position_size,
        stop_loss=position.stop_loss,
        take_profit=position.take_profit,
        risk=position.risk_amount,
        exit_time=position.exit_time,
        exit_price=position.exit_price,
        exit_reason=position.status,
        pnl=pnl,
        fees=position.fees,
        r=rules.r_multiple(pnl, position.risk_amount),
        path_dependent=position.best is not None,
        best_exit_reason=reason,
        best_exit_price=price,
        best_pnl=best_pnl,
        missing_minutes=position.missing_minutes,
    )


def run(
    *,
    signals: Iterable[Signal],
    candles: Iterable[Iterable[Candle]],
    overrides: Overrides,
    starting_balance: Decimal,
    lots: dict[str, sizing.Lot],
    now: datetime,
    terms: rules.Terms | None = None,
    progress: Callable[[datetime], None] | None = None,
    every: int = 20_000,
) -> Result:
    """Replay the signals (in the order of their entry time) on the candles (one iterable a symbol, each oldest
    first), as a fresh account holding `starting_balance`, by the book's rules (`terms`; default: those in force)
    with the overrides. A signal enters before the candles of its own minute (from the last candle before it);
    `progress`, if given, is called with the time reached every `every` candles (it may raise to stop the
    replay)."""
    with rules.under(overrides.over(terms or rules.terms())):
        replay = _Run(overrides=overrides, starting_balance=starting_balance, lots=lots, now=now)
        waiting = iter(signals)
        upcoming = next(waiting, None)
        entered_by = minute_of(upcoming.at) if upcoming else None  # the upcoming signal enters before this minute
        for count, candle in enumerate(heapq.merge(*candles, key=attrgetter("minute")), start=1):
            while upcoming is not None and entered_by <= candle.minute:
                replay.enter(upcoming)
                upcoming = next(waiting, None)
                entered_by = minute_of(upcoming.at) if upcoming else None
            replay.candle(candle)
            if progress is not None and not count % every:
                progress(candle.minute)
        while upcoming is not None:
            replay.enter(upcoming)
            upcoming = next(waiting, None)
        return replay.finish()
