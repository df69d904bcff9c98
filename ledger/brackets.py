"""Exits as a bracket (docs/fills.md, "Brackets"), and the executions a trade's columns add up to.

A trade has one stop and one or more targets, each closing a fraction of the position; the sizes are fixed
when it opens (`sized`, in the market's lot steps) and kept in `trade.bracket` with the targets. The stop and
the next target in force are the trade's `stop_loss` and `take_profit`, so a tick compares them as it always
did (rules.reached). A target that is not the last closes its part (`take_part`): a partial exit, recorded in
the `exited_` columns and as an execution, after which the rest keeps its stop, the next target is in force,
and `break_even_after: n` moves the stop to the entry plus the round-trip fees once the n-th target filled. A
trailing stop (`trail`) follows every tick in the trader's favour, never back. Whatever fills first takes its
part: a stop or a close closes all that is left, so the targets left never fill (one-cancels-other).

Pure, as rules.py: values in, values out, a trade filled in in memory; the services write. A `Fill` is an
execution's values (ledger.models.Execution); `entry_fill` and `closing_fill` read them off a trade's columns,
`exit_pnls` recomputes what each exit realized from the rows alone.
"""

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from . import rules
from .errors import NotExecutable
from .rules import LIQUIDATION, STOP_LOSS, TAKE_PROFIT, ZERO, Position, fee, money, remaining, sign

ENTRY, EXIT = "entry", "exit"
OPEN = "OPEN"


@dataclass(frozen=True)
class Fill:
    """One execution: an entry or an exit, its time, price, size, fee, slippage, what it realized and why."""

    kind: str
    time: datetime
    price: Decimal
    size: Decimal
    fee: Decimal
    slippage: Decimal
    pnl: Decimal
    reason: str


@dataclass(frozen=True)
class Target:
    price: Decimal
    fraction: Decimal
    size: Decimal


def targets(trade: Position) -> list[Target]:
    """The trade's targets in order, each with the size it closes; one target closing everything without a
    bracket (the trade's take_profit)."""
    listed = trade.bracket.get("targets")
    if not listed:
        return [Target(trade.take_profit, Decimal(1), trade.position_size)]
    return [Target(Decimal(t["price"]), Decimal(t["fraction"]), Decimal(t["size"])) for t in listed]


def sized(bracket: dict, *, size: Decimal, step: Decimal) -> dict:
    """A signal's bracket with the size each target closes: its fraction of the size, rounded down to the
    market's step, the last target taking what is left. A part that rounds to nothing is refused, naming it."""
    listed = bracket.get("targets")
    if not listed:
        return dict(bracket)
    parts, left = [], size
    for number, target in enumerate(listed):
        last = number == len(listed) - 1
        part = left if last else rules.units((size * Decimal(target["fraction"]) // step) * step)
        if part <= 0:
            raise NotExecutable(
                f"target {number + 1} ({rules.plain(Decimal(target['fraction']) * 100)}% of "
                f"{rules.plain(size)}) is less than one lot step of {rules.plain(step)}.",
                field=f"targets[{number}].fraction",
            )
        parts.append({**target, "size": rules.plain(part)})
        left -= part
    return {**bracket, "targets": parts}


def last_target(trade: Position) -> bool:
    """Whether the target in force is the last: it closes all that is left."""
    return trade.targets_filled >= len(targets(trade)) - 1


def break_even(trade: Position) -> Decimal:
    """The entry plus the round-trip fees per unit (PAPER_FEE_RATE on each side), rounded against the trader: a
    stop there gives back no more than it paid."""
    side = sign(trade.direction)
    return rules.against(trade.entry_price * (1 + side * 2 * rules.terms().fee_rate), buying=side > 0)


def _tighter(trade: Position, level: Decimal) -> None:
    """Move the stop to the level if that is in the trader's favour; never back."""
    if sign(trade.direction) * (level - trade.stop_loss) > 0:
        trade.stop_loss = level


def exit_part(trade: Position, *, size: Decimal, price: Decimal, reason: str, at: datetime) -> Fill:
    """Close `size` units of an open trade at `price` (a limit order: no slippage), in memory: what it realizes
    is its move times its size, less its exit fee and its share of the entry fee (the entry fee of the units
    left before it less that of the units left after it, so the shares add up to the entry fee)."""
    rest = remaining(trade)
    share = fee(price=trade.entry_price, size=rest) - fee(price=trade.entry_price, size=rest - size)
    exit_fee = fee(price=price, size=size)
    pnl = money(sign(trade.direction) * (price - trade.entry_price) * size) - share - exit_fee
    trade.exited_size += size
    trade.exited_value += money(price * size)
    trade.exited_pnl += pnl
    trade.exited_fees += exit_fee
    rules.widen(trade, price)
    return Fill(EXIT, at, price, size, exit_fee, ZERO, pnl, reason)


def take_part(trade: Position, *, at: datetime, price: Decimal | None = None) -> Fill:
    """The target in force fills (at its price, `take_profit`, which the trader may have moved, or at a better
    `price` a gap gave) and its part exits: the next target comes into force, and the stop moves to break even if
    this was the `break_even_after`-th."""
    listed = targets(trade)
    target = listed[trade.targets_filled]
    fill = exit_part(trade, size=target.size, price=price or trade.take_profit, reason=TAKE_PROFIT, at=at)
    trade.targets_filled += 1
    trade.take_profit = listed[trade.targets_filled].price
    if trade.bracket.get("break_even_after") == trade.targets_filled:
        _tighter(trade, break_even(trade))
    return fill


def trail(trade: Position, price: Decimal) -> None:
    """A trailing stop follows a traded price in the trader's favour: `distance` below it (a SHORT's above), or
    `percent` of it, rounded toward the price; from the moment the best price seen reached `activation_price`,
    if one was given. It never moves back."""
    config = trade.bracket.get("trailing_stop")
    if not config:
        return
    side = sign(trade.direction)
    best = trade.max_price if side > 0 else trade.min_price
    activation = config.get("activation_price")
    if activation is not None and side * (best - Decimal(activation)) < 0:
        return
    if "distance" in config:
        level = price - side * Decimal(config["distance"])
    else:
        level = price * (1 - side * Decimal(config["percent"]) / 100)
    if level > 0:
        _tighter(trade, rules.against(level, buying=side > 0))


def step(trade: Position, price: Decimal, *, bid: Decimal | None, ask: Decimal | None, at: datetime) -> list[Fill]:
    """One tick on an open trade (already widened by it): the targets it reaches fill in order, each at its
    price; the last one, or the stop, or a SHORT's liquidation price, closes the rest (the stop by a market
    order at this tick, rules.close_at_quote; a target at its price, rules.settle). A tick that closes nothing
    moves a trailing stop. Returns the partial exits' executions (the close's is read off the closed trade:
    closing_fill)."""
    fills = []
    reason = rules.reached(trade, price)
    while reason == TAKE_PROFIT and not last_target(trade):
        fills.append(take_part(trade, at=at))
        reason = rules.reached(trade, price)
    if reason in (STOP_LOSS, LIQUIDATION):
        rules.mark(trade, price, bid=bid, ask=ask)
        rules.close_at_quote(trade, reason=reason, at=at)
    elif reason == TAKE_PROFIT:
        rules.settle(trade, price=trade.take_profit, reason=reason, at=at)
    else:
        trail(trade, price)
    return fills


def candle_step(trade: Position, candles: Iterable) -> tuple[list[Fill], rules.CandleFill | None]:
    """Minutes the feed did not see (oldest first, already after the entry), on an open trade: each candle
    fills the targets it reached (rules.candle_fill: at the level, or the open beyond it), then its stop or last
    target closes the rest; a candle that closes nothing moves a trailing stop by its best price. The trade is
    widened by the candles up to the one that closed it. Returns the partial exits' executions, as `step`, and
    the fill that closed the trade (None if none did)."""
    fills = []
    for candle in candles:
        rules.widen(trade, candle.high, candle.low)
        parts, fill = candle_parts(trade, candle)
        fills += parts
        if fill is not None:
            rules.settle(trade, price=fill.price, reason=fill.reason, at=candle.minute)
            return fills, fill
    return fills, None


def candle_parts(
    trade: Position, candle: object, *, at_open: bool = True
) -> tuple[list[Fill], rules.CandleFill | None]:
    """One 1-minute candle on an open trade, up to what closes it: the targets before the last that it reaches
    fill in order (rules.candle_fill; a stop moved to break even by one of them may then be reached in the same
    minute), each at its level or, `at_open`, at the open beyond it (the backfill: a gap the feed did not see; a
    replay fills it at its price, as a tick beyond a target does). The fill that closes the rest is returned, not
    applied: the backfill settles it at its level (candle_step), a replay fills a stop as a market order
    (ledger/replay.py). A candle that closes nothing moves a trailing stop by its best price."""
    fills = []
    fill = rules.candle_fill(trade, (candle,))
    while fill is not None and fill.reason == TAKE_PROFIT and not last_target(trade):
        fills.append(take_part(trade, at=candle.minute, price=fill.price if at_open else None))
        fill = rules.candle_fill(trade, (candle,))
    if fill is None:
        trail(trade, candle.high if sign(trade.direction) > 0 else candle.low)
    return fills, fill


def entry_fill(trade: Position, *, at: datetime) -> Fill:
    """The entry's execution: the fill, the size opened, its fee (what the trade's fees say it paid, at most the
    rate's fee) and the slippage it paid against the signal's price."""
    paid = min(fee(price=trade.entry_price, size=trade.position_size), trade.fees)
    slipped = money(trade.entry_slippage * trade.position_size)
    return Fill(ENTRY, at, trade.entry_price, trade.position_size, paid, slipped, ZERO, "ENTRY")


def closing_fill(trade: Position) -> Fill:
    """The last exit of a closed trade, read off its columns: the rest at its exit quote, paying what the
    trade's fees and slippage hold beyond the entry's and the partial exits', realizing what its PnL holds
    beyond theirs."""
    entry = entry_fill(trade, at=trade.exit_time)
    return Fill(
        EXIT,
        trade.exit_time,
        trade.exit_quote,
        remaining(trade),
        trade.fees - entry.fee - trade.exited_fees,
        trade.slippage - entry.slippage - trade.exited_slippage,
        trade.realized_pnl - trade.exited_pnl,
        trade.status,
    )


def exit_pnls(direction: str, *, entry: Fill, exits: Sequence[Fill]) -> list[Decimal]:
    """What each exit (in time order) realized, from the rows alone: its move from the entry's price times its
    size, less its fee and its share of the entry's fee. The last exit of a closed trade takes what is left of
    the entry fee, so the shares add up to it."""
    pnls, rest, shared = [], entry.size, ZERO
    for fill in exits:
        after = rest - fill.size
        share = (
            entry.fee - shared if after <= 0 else fee(price=entry.price, size=rest) - fee(price=entry.price, size=after)
        )
        pnls.append(money(sign(direction) * (fill.price - entry.price) * fill.size) - share - fill.fee)
        rest, shared = after, shared + share
    return pnls


def stop_moves(trade: Position, *, first: Decimal, candles: Iterable, fills: Iterable[Fill]) -> list[tuple]:
    """The stops a trade's stop moved to, and when, replayed from the stop it opened with: each candle (time,
    high, low) of its life, oldest first, moves a trail by its best price, and the `break_even_after`-th target's
    exit moves the stop to break even. For the trade's chart: a trail moves at every tick, which is not
    recorded; at a candle's end its stop is the one its best price gave (the trail never moves back)."""
    replay = copy.copy(trade)
    replay.stop_loss, replay.max_price, replay.min_price = first, trade.entry_price, trade.entry_price
    side, filled, moves = sign(trade.direction), 0, []
    events = [(c.time, 1, c) for c in candles]
    events += [(f.time, 0, f) for f in fills if f.kind == EXIT and f.reason == TAKE_PROFIT]
    for moment, is_candle, item in sorted(events, key=lambda event: (event[0], event[1])):
        before = replay.stop_loss
        if is_candle:
            rules.widen(replay, item.high, item.low)
            trail(replay, item.high if side > 0 else item.low)
        else:
            filled += 1
            if trade.bracket.get("break_even_after") == filled:
                _tighter(replay, break_even(trade))
        if replay.stop_loss != before:
            moves.append((moment, replay.stop_loss))
    return moves
