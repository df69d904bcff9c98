"""A replay (docs/replay.md): what a set of signals would have done under other rules, on the recorded 1-minute
candles, as a fresh account. Pure, like ledger/rules.py: values in, values out, nothing read from or written to
the database. Every price, fee, PnL and size is the ledger's own rules' (ledger/rules.py, ledger/sizing.py, a
bracket's ledger/brackets.py, an entry order's ledger/orders.py): this module only walks time and decides which
rule applies when.

The candles of each symbol are streamed oldest first and merged by minute; only the open positions are kept.
Within a minute the order of the high and the low is unknown: a position whose stop and target both lie inside
one candle is closed on the adverse path (the stop first, what the replay counts) and its favourable outcome (the
target) is kept beside it, so the result is a band. Minutes without a candle while a position is open are counted
on it (the feed may have been down); nothing fills on a price no candle shows. Its figures and its differences from
the ledger are ledger/replay_report.py.
"""

import gc
import heapq
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timedelta
from decimal import Decimal
from operator import attrgetter
from typing import Any, NamedTuple

from . import brackets, orders, rules, sizing
from .days import day_bounds, last_moment, trading_day
from .errors import InvalidInput, LedgerError
from .inputs import DAY, LIMIT, MARKET, STOP, TARGETS_MAX, OrderFields, Tick
from .rules import LONG, TAKE_PROFIT, ZERO, Quote

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
    # A bracket (ledger/brackets.py) instead of every signal's own: targets as (multiple of the stop's distance,
    # fraction closed there), in order away from the entry; the stop to break even once the n-th has filled; a
    # trailing stop at a fraction of the price (0.01: 1 %, as the bracket's {"percent": 1}).
    targets: tuple[tuple[Decimal, Decimal], ...] | None = None
    break_even_after: int | None = None
    trail_pct: Decimal | None = None
    # The entry: at the market, or a limit or stop order at the signal's price (ledger/orders.py) working until
    # `entry_expiry` (seconds, "day" or "gtc"; "day" by default).
    entry: str | None = None
    entry_expiry: int | str | None = None

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
        "trail_pct": (ZERO, Decimal("0.99")),
    }
    BRACKET = ("targets", "break_even_after", "trail_pct", "entry", "entry_expiry")  # checked together

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> "Overrides":
        """From a form's, a command's or a request's values (strings or numbers; None or "" for the ledger's own),
        each checked against the range its setting accepts; refused naming the field."""
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise InvalidInput(f"{unknown[0]} is not a rule a replay can change.", field=unknown[0])
        cleaned: dict[str, Any] = {}
        for name, value in values.items():
            if value is None or value == "" or name in cls.BRACKET:
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
        given = {name: values[name] for name in cls.BRACKET if values.get(name) not in (None, "")}
        if "trail_pct" in given:
            cleaned |= cls._number(given["trail_pct"], "trail_pct")
        return cls(**cleaned | _bracket(given, reward_risk=cleaned.get("reward_risk")))

    @classmethod
    def _number(cls, value: Any, name: str) -> dict[str, Decimal]:
        try:
            number = Decimal(str(value))
        except ArithmeticError:
            number = None
        low, high = cls.LIMITS[name]
        if number is None or not number.is_finite() or not low < number <= high:
            raise InvalidInput(
                f"{name} must be a number above {rules.plain(low)}, at most {rules.plain(high)}.", field=name
            )
        return {name: number}

    def as_json(self) -> dict[str, Any]:
        """The overrides given, as JSON keeps them (numbers as strings; targets as [{"r", "fraction"}, …])."""
        kept = {}
        for name, value in asdict(self).items():
            if name == "targets" and value is not None:
                kept[name] = [{"r": rules.plain(r), "fraction": rules.plain(part)} for r, part in value]
            elif value is not None:
                kept[name] = str(value) if isinstance(value, Decimal) else value
        return kept

    def targets_text(self) -> str:
        """The targets as a form or the command writes them: 1:0.5,2:0.5."""
        return ",".join(f"{rules.plain(r)}:{rules.plain(part)}" for r, part in self.targets or ())

    def over(self, base: rules.Terms) -> rules.Terms:
        """The rules of the replay: the book's (`base`) with these overrides."""
        return replace(
            base, **{rule: getattr(self, name) for name, rule in self.TERMS.items() if getattr(self, name) is not None}
        )


def _targets(value: Any) -> tuple[tuple[Decimal, Decimal], ...]:
    """Targets as a form or the command write them ("1:0.5,2:0.5") or as JSON ([{"r": 1, "fraction": 0.5}, …]):
    each a multiple of the stop's distance and the fraction closed there, in order away from the entry, the
    fractions adding up to 1, at most TARGETS_MAX (as a signal's own, inputs.clean_bracket)."""
    shape = 'targets must be pairs of a multiple of the stop\'s distance and a fraction, as "1:0.5,2:0.5".'
    if isinstance(value, str):
        pairs = [item.split(":") for item in value.replace(" ", "").split(",") if item]
    elif isinstance(value, (list, tuple)):
        pairs = [[item.get("r"), item.get("fraction")] if isinstance(item, dict) else item for item in value]
    else:
        raise InvalidInput(shape, field="targets")
    if not 1 <= len(pairs) <= TARGETS_MAX:
        raise InvalidInput(f'targets must be 1 to {TARGETS_MAX} pairs, as "1:0.5,2:0.5".', field="targets")
    cleaned: list[tuple[Decimal, Decimal]] = []
    for pair in pairs:
        try:
            r, part = (Decimal(str(item)) for item in pair)
        except (ArithmeticError, TypeError, ValueError):
            raise InvalidInput(shape, field="targets") from None
        high = Overrides.LIMITS["reward_risk"][1]
        if not (r.is_finite() and ZERO < r <= high):
            raise InvalidInput(f"each target's multiple must be above 0, at most {rules.plain(high)}.", field="targets")
        if not (part.is_finite() and ZERO < part <= 1):
            raise InvalidInput("each target's fraction must be above 0 and at most 1.", field="targets")
        if cleaned and r <= cleaned[-1][0]:
            raise InvalidInput(
                "targets go in order away from the entry: each multiple above the one before.", field="targets"
            )
        cleaned.append((r, part))
    total = sum((part for _, part in cleaned), ZERO)
    if total != 1:
        raise InvalidInput(
            f"the targets' fractions add up to {rules.plain(total)}; they must add up to 1.", field="targets"
        )
    return tuple(cleaned)


def _bracket(given: dict[str, Any], *, reward_risk: Decimal | None) -> dict[str, Any]:
    """The bracket and entry overrides checked together, each refused naming its field."""
    cleaned: dict[str, Any] = {}
    if "targets" in given:
        if reward_risk is not None:
            raise InvalidInput("Give reward_risk for one target or targets for several, not both.", field="targets")
        cleaned["targets"] = _targets(given["targets"])
    if "break_even_after" in given:
        after, count = given["break_even_after"], len(cleaned.get("targets", ()))
        if isinstance(after, str) and after.isascii() and after.isdigit():
            after = int(after)
        if isinstance(after, bool) or not isinstance(after, int) or not 1 <= after < count:
            raise InvalidInput(
                f"break_even_after must be the number of a target before the last (1 to {count - 1})."
                if count > 1
                else "break_even_after needs targets, two or more: the stop moves after a target that leaves a rest.",
                field="break_even_after",
            )
        cleaned["break_even_after"] = after
    if "entry" in given or "entry_expiry" in given:
        try:
            order = OrderFields(given.get("entry") or MARKET, given.get("entry_expiry")).clean()
        except InvalidInput as error:
            raise InvalidInput(
                error.message.replace("order_type", "entry").replace("expires_in", "entry_expiry"),
                field={"order_type": "entry", "expires_in": "entry_expiry"}[error.field],
            ) from None
        cleaned["entry"] = order.order_type
        if order.working:
            cleaned["entry_expiry"] = order.expires_in
    return cleaned


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
    bracket: dict = field(default_factory=dict)  # its own targets, break-even and trailing stop (signals.bracket)


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
    bracket: dict = field(default_factory=dict)  # its targets with their sizes, break-even, trailing stop
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
    opened: tuple[Decimal, Decimal] = (ZERO, ZERO)  # its stop and (first) target when it opened


@dataclass
class _Working:
    """An entry order working (ledger/orders.py): the signal, the order as the fill rules read it, what it reserves
    of the cash, and the minute it was placed in (a later minute's candle may fill it)."""

    signal: Signal
    order: orders.Resting
    reserved: Decimal
    minute: datetime
    time_in_force: str


@dataclass(frozen=True)
class _Plan:
    """An entry as selectors.entry_plan makes it: the fill, levels, size and risk, and the bracket sized."""

    direction: str
    fill: Decimal
    stop: Decimal
    target: Decimal
    size: Decimal
    risk: Decimal
    bracket: dict


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
    """One replay's account, open positions and working orders, walked through the events in time order."""

    def __init__(
        self, *, overrides: Overrides, starting_balance: Decimal, lots: dict[str, sizing.Lot], now: datetime
    ) -> None:
        self.overrides, self.starting_balance, self.lots, self.now = overrides, starting_balance, lots, now
        self.realized = self.open_cost = self.reserved = ZERO
        self.open: dict[str, list[Position]] = {}
        self.open_count = 0
        self.working: dict[str, list[_Working]] = {}
        self.next_expiry: datetime | None = None  # the soonest a working order expires
        self.last: dict[str, Candle] = {}
        self.day_end: datetime | None = None
        self.result = Result()

    # The account, as models.Account computes it from its running totals.
    @property
    def balance(self) -> Decimal:
        return self.starting_balance + self.realized

    def enter(self, signal: Signal) -> None:
        self.end_days(signal.at)
        self.expire(signal.at)
        try:
            if self.overrides.entry in (LIMIT, STOP):
                self._place(signal)
            else:
                self._market(signal)
        except LedgerError as refusal:
            self.result.refused.append(Refusal(signal.signal_id, signal.symbol, signal.at, refusal.message))

    def _market(self, signal: Signal) -> None:
        """A market entry at its entry time, as services.signal_execute makes it: priced from the symbol's last
        candle if fresh, else from the signal's own price."""
        last = _quote(self.last.get(signal.symbol), at=signal.at)
        quote = rules.reference(last=last, signal_price=signal.entry_price, signal_time=signal.at, at=signal.at)
        buying = rules.opening_buys(rules.direction_for(signal.action))
        fill = rules.market_fill(buying=buying, price=quote.price, bid=quote.bid, ask=quote.ask)
        self._open(signal, self._plan(signal, fill=fill), quote=quote, at=signal.at)

    def _plan(self, signal: Signal, *, fill: Decimal) -> _Plan:
        """The signal's entry at `fill` as selectors.entry_plan makes it (its levels, the limits on open trades, the
        size from the replay's balance and cash, the bracket's parts), or the refusal the ledger would give."""
        overrides = self.overrides
        direction = rules.direction_for(signal.action)
        own_targets = overrides.reward_risk is None and overrides.targets is None
        stop = None if overrides.stop_pct is not None else signal.stop_loss
        first = overrides.targets[0][0] if overrides.targets else None
        stop, target = rules.levels(
            direction, fill=fill, stop=stop, target=signal.take_profit if own_targets else None, reward_risk=first
        )
        bracket = dict(signal.bracket)
        if not own_targets:
            bracket.pop("targets", None)
            bracket.pop("break_even_after", None)
        if overrides.targets and len(overrides.targets) > 1:
            bracket["targets"] = [
                {"price": rules.plain(price), "fraction": rules.plain(part)}
                for price, part in (
                    (rules.levels(direction, fill=fill, stop=stop, target=None, reward_risk=r)[1], part)
                    for r, part in overrides.targets
                )
            ]
        if overrides.break_even_after is not None:
            bracket["break_even_after"] = overrides.break_even_after
        if overrides.trail_pct is not None:
            bracket["trailing_stop"] = {"percent": rules.plain(overrides.trail_pct * 100)}
        rules.check_fill_inside(direction, fill=fill, stop=stop, target=target)
        rules.check_limits(
            symbol=signal.symbol, open_trades=self.open_count, symbol_open=bool(self.open.get(signal.symbol))
        )
        lot = self.lots.get(signal.symbol) or sizing.lot_default()
        sized = sizing.size(
            symbol=signal.symbol,
            direction=direction,
            balance=self.balance,
            cash=self.balance - self.open_cost - self.reserved,
            fill=fill,
            stop=stop,
            target=Decimal(bracket["targets"][-1]["price"]) if bracket.get("targets") else target,  # the farthest
            lot=lot,
        )
        bracket = brackets.sized(bracket, size=sized.size, step=lot.step)
        return _Plan(direction, fill, stop, target, sized.size, sized.risk, bracket)

    def _open(self, signal: Signal, plan: _Plan, *, quote: Quote, at: datetime) -> None:
        """The position of a plan (services.base.open_trade), marked at the quote that priced it."""
        position = Position(
            signal_id=signal.signal_id,
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
            last_minute=minute_of(at),
            opened=(plan.stop, plan.target),
        )
        position.max_price = position.min_price = quote.price
        rules.mark(position, quote.price, bid=quote.bid, ask=quote.ask)
        self.open.setdefault(signal.symbol, []).append(position)
        self.open_count += 1
        self.open_cost = rules.money(self.open_cost + rules.held(position))
        self.day_end = self.day_end or day_bounds(trading_day(at))[1]

    def _place(self, signal: Signal) -> None:
        """A limit or stop entry at the signal's price, as services.order_place places it: sized at its price from
        the cash not reserved, it reserves that entry's cost; a fresh last price already beyond it fills it at once,
        as a marketable order."""
        plan = self._plan(signal, fill=signal.entry_price)
        expiry = self.overrides.entry_expiry or DAY
        day_end = day_bounds(trading_day(signal.at))[1]
        working = _Working(
            signal=signal,
            order=orders.Resting(
                order_type=self.overrides.entry,
                buying=rules.opening_buys(plan.direction),
                price=signal.entry_price,
                placed_at=signal.at,
                expires_at=orders.expires_at(expiry, placed_at=signal.at, day_end=day_end),
            ),
            reserved=rules.entry_cost(price=plan.fill, size=plan.size, margin=rules.margin_for(plan.direction)),
            minute=minute_of(signal.at),
            time_in_force=orders.time_in_force(expiry),
        )
        self.reserved += working.reserved
        last = _quote(self.last.get(signal.symbol), at=signal.at)
        if last is not None and rules.fresh(last.at, at=signal.at):
            tick = Tick(symbol=signal.symbol, price=last.price, at=signal.at, bid=last.bid, ask=last.ask)
            price = orders.fill(working.order, tick, before=None, arriving=True)
            if price is not None:
                self._fill(working, price=price, quote=last, at=signal.at)
                return
        self.working.setdefault(signal.symbol, []).append(working)
        expires = working.order.expires_at
        if expires is not None and (self.next_expiry is None or expires < self.next_expiry):
            self.next_expiry = expires

    def _fill(self, working: _Working, *, price: Decimal, quote: Quote, at: datetime) -> None:
        """The order fills: its reservation is released and the trade sized again at the fill from the account as
        it stands (services.orders); refused by the rules then, it is cancelled with the reason."""
        self.reserved -= working.reserved
        signal = working.signal
        try:
            plan = self._plan(signal, fill=price)
        except LedgerError as refusal:
            self.result.refused.append(Refusal(signal.signal_id, signal.symbol, at, f"Not filled: {refusal.message}"))
            return
        self._open(signal, plan, quote=quote, at=at)

    def expire(self, moment: datetime) -> None:
        """Working orders whose time is up by `moment` expire (services.orders_expire), releasing what they held."""
        if self.next_expiry is None or moment < self.next_expiry:
            return
        self.next_expiry = None
        for waiting in self.working.values():
            for working in list(waiting):
                expires = working.order.expires_at
                if expires is not None and expires <= moment:
                    waiting.remove(working)
                    self._expired(working)
                elif expires is not None and (self.next_expiry is None or expires < self.next_expiry):
                    self.next_expiry = expires

    def _expired(self, working: _Working) -> None:
        self.reserved -= working.reserved
        order = working.order
        reason = orders.expiry_words(
            time_in_force=working.time_in_force,
            placed_at=order.placed_at,
            expires_at=order.expires_at,
            day=trading_day(order.placed_at),
        )
        self.result.refused.append(Refusal(working.signal.signal_id, working.signal.symbol, order.expires_at, reason))

    def candle(self, candle: Candle) -> None:
        """A minute of a symbol: each of its positions entered before that minute takes it (its targets' parts,
        then its stop or last target: brackets.candle_parts), each of its working orders placed before that minute
        may fill (orders.candle_fill); then the candle is the symbol's last."""
        minute = candle.minute
        self.end_days(minute)
        if self.next_expiry is not None and minute >= self.next_expiry:
            self.expire(minute)
        symbol = candle.symbol
        positions = self.open.get(symbol)
        if positions:
            self._exits(candle, positions)
        waiting = self.working.get(symbol)
        if waiting:
            self._orders(candle, waiting)
        self.last[symbol] = candle

    def _exits(self, candle: Candle, positions: list[Position]) -> None:
        minute = candle.minute
        for position in list(positions):
            if minute <= position.last_minute:  # the entry's own minute: its range mixes earlier ticks
                continue
            position.missing_minutes += (minute - position.last_minute) // MINUTE - 1
            position.last_minute, position.last = minute, candle
            long = position.direction == LONG
            # A candle reaching the target in force may fill parts and decide on a path: the position as it was
            # before it is kept for the favourable path.
            before = (
                _copy(position)
                if (candle.high >= position.take_profit if long else candle.low <= position.take_profit)
                else None
            )
            if position.bracket.get("trailing_stop"):
                rules.widen(position, candle.high, candle.low)  # a trail's activation reads the best price seen
            parts, fill = brackets.candle_parts(position, candle, at_open=False)
            if parts:
                self.realized = rules.money(self.realized + sum((part.pnl for part in parts), ZERO))
                self.open_cost = rules.money(self.open_cost - (rules.held(before) - rules.held(position)))
            if fill is not None:
                if fill.both and before is not None:
                    position.best = _closed(self._favourable(before, candle))
                self._exit(position, fill)

    def _orders(self, candle: Candle, waiting: list[_Working]) -> None:
        previous = self.last.get(candle.symbol)
        for working in list(waiting):
            if candle.minute <= working.minute:  # the placement's own minute: its range mixes earlier ticks
                continue
            price = orders.candle_fill(working.order, candle, before=previous.close if previous else None)
            if price is not None:
                waiting.remove(working)
                self._fill(working, price=price, quote=Quote(price, None, None, candle.minute), at=candle.minute)

    def _favourable(self, before: Position, candle: Candle) -> Position:
        """The position on the candle's favourable path: to its best price first (the targets there fill, the last
        closing all: brackets.step), then to its worst (the stop in force, moved by a target perhaps, closes the
        rest)."""
        best = _copy(before)
        long = best.direction == LONG
        extreme = candle.high if long else candle.low
        brackets.step(best, extreme, bid=None, ask=None, at=candle.minute)
        if best.status == OPEN:
            down = Candle(candle.symbol, candle.minute, extreme, candle.high, candle.low, candle.close)
            fill = rules.candle_fill(best, (down,))
            if fill is not None:
                self._fill_exit(best, fill)
        return best

    @staticmethod
    def _fill_exit(position: Position, fill: rules.CandleFill) -> None:
        """A stop or a liquidation is a market order at the level (or the open beyond it), as a tick at that price
        would fill it; a target a limit order at the target."""
        if fill.reason == TAKE_PROFIT:
            rules.settle(position, price=position.take_profit, reason=TAKE_PROFIT, at=fill.minute)
        else:
            rules.mark(position, fill.price)
            rules.close_at_quote(position, reason=fill.reason, at=fill.minute)

    def _exit(self, position: Position, fill: rules.CandleFill) -> None:
        self._fill_exit(position, fill)
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
        """The account takes what the close realized beyond its partial exits (services.base.closed_amount) and
        gives back the rest's entry cost."""
        self.realized = rules.money(self.realized + position.realized_pnl - position.exited_pnl)
        self.open_cost = rules.money(self.open_cost - rules.held(position))
        self.open[position.symbol].remove(position)
        self.open_count -= 1
        self.result.trades.append(_trade(position))

    def finish(self) -> Result:
        """The candles have ended: a day that is over closes as at its end; a day still going leaves its positions
        open, valued at their last mark; orders whose time is up by now expire, the others are listed as working."""
        if self.day_end is not None and self.day_end <= self.now:
            self.end_days(self.day_end)
        self.expire(self.now)
        for waiting in self.working.values():
            for working in waiting:
                signal = working.signal
                self.result.refused.append(
                    Refusal(signal.signal_id, signal.symbol, signal.at, "Still working when the candles end.")
                )
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
        stop_loss=position.opened[0],
        take_profit=position.opened[1],
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


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while a replay runs: it makes millions of candles, positions and rows that
    reference counting frees (none is in a cycle), and each of the collector's passes would walk every candle still
    held (a page of each symbol, the positions' last ones): a third of the time it took to read them, measured. It
    runs once at the end for whatever a cycle kept."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
            gc.collect(0)


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
    with rules.under(overrides.over(terms or rules.terms())), _collector_paused():
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
