"""What a replay says (docs/replay.md): its figures and band, and how it differs from the ledger's own trades of the
same signals, each difference with its likeliest cause. Pure, like the engine in ledger/replay.py whose results it
reads."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from . import rules
from .replay import EOD_CLOSE, OPEN, Result, Trade, minute_of
from .rules import LIQUIDATION, QUANTUM, RATIO, STOP_LOSS, TAKE_PROFIT, ZERO


@dataclass(frozen=True)
class Closed:
    """A closed trade as the figures read it, replayed or live; closes at one moment (the end of day) are taken in
    the order of their signals' ids."""

    signal_id: str
    exit_time: datetime
    pnl: Decimal
    risk: Decimal | None


def figures(closed: list[Closed], *, starting_balance: Decimal, since: datetime) -> dict[str, Any]:
    """The statistics docs/statistics.md defines, of a list of closed trades: win rate (a fraction), expectancy in
    R, profit factor, the deepest fall of the equity from its running peak, and the return on the starting
    balance (percent); with the equity curve: the starting balance at `since`, then one point a close."""
    closed = sorted(closed, key=lambda trade: (trade.exit_time, trade.signal_id))
    wins = [trade.pnl for trade in closed if trade.pnl > 0]
    losses = [trade.pnl for trade in closed if trade.pnl < 0]
    multiples = [rules.r_multiple(trade.pnl, trade.risk) for trade in closed if trade.risk]
    total = sum((trade.pnl for trade in closed), ZERO)
    equity, peak, drawdown = starting_balance, starting_balance, ZERO
    curve = [[since.isoformat(), str(starting_balance)]]
    for trade in closed:
        equity += trade.pnl
        peak = max(peak, equity)
        drawdown = max(drawdown, peak - equity)
        curve.append([trade.exit_time.isoformat(), str(equity)])
    return {
        "trades": len(closed),
        "wins": len(wins),
        "losses": len(losses),
        "win_rate": _text((Decimal(len(wins)) / len(closed)).quantize(RATIO) if closed else None),
        "expectancy_r": _text((sum(multiples, ZERO) / len(multiples)).quantize(RATIO) if multiples else None),
        "profit_factor": _text((sum(wins, ZERO) / -sum(losses, ZERO)).quantize(RATIO) if losses else None),
        "max_drawdown": str(drawdown.quantize(QUANTUM)),
        "realized_pnl": str(total),
        "return_pct": _text((total * 100 / starting_balance).quantize(RATIO) if starting_balance else None),
        "curve": curve,
    }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def summary(result: Result, *, starting_balance: Decimal, since: datetime) -> dict[str, Any]:
    """The replay's figures on the adverse path, and the band: its realized PnL on the adverse and on the
    favourable path, how many trades depend on the path, and how many saw minutes without a candle."""
    closed = [trade for trade in result.trades if trade.exit_reason != OPEN]
    figures_ = figures(
        [Closed(trade.signal_id, trade.exit_time, trade.pnl, trade.risk) for trade in closed],
        starting_balance=starting_balance,
        since=since,
    )
    return figures_ | {
        "refused": len(result.refused),
        "open": len(result.trades) - len(closed),
        "worst_pnl": figures_["realized_pnl"],
        "best_pnl": str(sum((trade.best_pnl for trade in closed), ZERO)),
        "path_dependent": sum(trade.path_dependent for trade in result.trades),
        "missing_minutes_trades": sum(bool(trade.missing_minutes) for trade in result.trades),
    }


@dataclass(frozen=True)
class Live:
    """The ledger's own trade of a replayed signal."""

    trade_id: int
    signal_id: str
    entry_time: datetime
    entry_price: Decimal
    exit_time: datetime | None
    exit_price: Decimal | None
    exit_reason: str
    pnl: Decimal
    risk: Decimal


def differences(result: Result, live: Iterable[Live], *, own_rules: bool) -> list[dict[str, Any]]:
    """Each live trade whose replay differs (entry price, exit reason, exit price, PnL; exit minute), with the
    difference's likeliest cause, in the trader's words; `changed` says whether the outcome (the exit reason)
    changed. Under other rules than the ledger's own, those rules are the cause unless the path inside a minute
    decided."""
    replayed = {trade.signal_id: trade for trade in result.trades}
    refused = {refusal.signal_id: refusal.reason for refusal in result.refused}
    listed = []
    for trade in live:
        other = replayed.get(trade.signal_id)
        row = {
            "signal_id": trade.signal_id,
            "trade_id": trade.trade_id,
            "live_exit_reason": trade.exit_reason,
            "live_pnl": str(trade.pnl),
            "replay_exit_reason": other.exit_reason if other else "REFUSED",
            "replay_pnl": str(other.pnl) if other else None,
        }
        if other is None:
            listed.append(
                row | {"fields": ["entry"], "changed": True, "cause": f"not taken: {refused.get(trade.signal_id, '')}"}
            )
            continue
        differ = [
            name
            for name, mine, theirs in (
                ("entry_price", trade.entry_price, other.entry_price),
                ("exit_reason", trade.exit_reason, other.exit_reason),
                ("exit_price", trade.exit_price, other.exit_price),
                (
                    "exit_minute",
                    trade.exit_time and minute_of(trade.exit_time),
                    other.exit_time and minute_of(other.exit_time),
                ),
                ("pnl", trade.pnl, other.pnl),
            )
            if mine != theirs
        ]
        if differ:
            listed.append(
                row
                | {
                    "fields": differ,
                    "changed": "exit_reason" in differ,
                    "cause": _cause(trade, other, differ, own_rules=own_rules),
                }
            )
    return listed


def _cause(trade: Live, other: Trade, differ: list[str], *, own_rules: bool) -> str:
    if trade.exit_reason == "MANUAL_CLOSE":
        return "closed by hand in the ledger; the replay follows the rules alone"
    if other.path_dependent:
        return "its stop and target were both inside one minute's range: the replay takes the stop first"
    if not own_rules:
        level = {STOP_LOSS: "its stop", TAKE_PROFIT: "its target", LIQUIDATION: "its liquidation price"}
        where = level.get(other.exit_reason, "the end of day" if other.exit_reason == EOD_CLOSE else "no exit yet")
        stop, target = rules.plain(other.stop_loss), rules.plain(other.take_profit)
        return f"the replay's rules: {where}, {stop} stop and {target} target"
    if "entry_price" in differ:
        return "its entry was priced by a tick the candles do not show (a tick in the signal's own minute)"
    if trade.exit_time is not None and minute_of(trade.exit_time) == minute_of(trade.entry_time):
        return "closed inside its entry minute, which a candle cannot tell from the ticks before the entry"
    if trade.exit_reason == other.exit_reason and trade.exit_reason in (STOP_LOSS, LIQUIDATION):
        return (
            "the stop was crossed inside a minute: the ledger filled at the tick that crossed it, "
            "the candle shows only that the level was reached"
        )
    if other.missing_minutes:
        return (
            f"the candles miss {other.missing_minutes} minutes while it was open (the feed was down, or nothing traded)"
        )
    if trade.exit_reason == EOD_CLOSE or other.exit_reason == EOD_CLOSE:
        return "closed at a different end of day: the ledger's end of day ran at another time"
    return "the candles and the ticks the ledger saw differ here"
