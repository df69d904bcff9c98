"""The replay's pure engine (ledger/replay.py) and its report (ledger/replay_report.py): numbers worked by hand, on
candles held in memory."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ledger import replay, replay_report
from ledger.errors import InvalidInput

DAY = datetime(2026, 11, 20, tzinfo=UTC)
NOW = datetime(2026, 11, 25, tzinfo=UTC)  # the day is over: its end of day has run
SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "ADAUSDT"]


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return DAY.replace(hour=hour, minute=minute, second=second)


def candle(symbol: str, minute: datetime, low: str, high: str, close: str) -> replay.Candle:
    return replay.Candle(symbol, minute, Decimal(close), Decimal(high), Decimal(low), Decimal(close))


def five_signals() -> list[replay.Signal]:
    """BUY at 100 on four symbols and SELL at 100 on XRPUSDT, all at 10:00:30, without levels of their own."""
    return [
        replay.Signal(
            f"s-{symbol}", symbol, "SELL" if symbol == "XRPUSDT" else "BUY", Decimal(100), None, None, at(10, 0, 30)
        )
        for symbol in SYMBOLS
    ]


def a_day_of_candles() -> list[list[replay.Candle]]:
    """Each symbol closes at 100 in the minute before the signals; then one minute each that decides."""
    before = {symbol: candle(symbol, at(9, 59), "100", "100", "100") for symbol in SYMBOLS}
    later = {
        "BTCUSDT": [candle("BTCUSDT", at(10, 5), "98.9", "100", "99.5")],  # through a 1 % stop, not a 2 % one
        "ETHUSDT": [candle("ETHUSDT", at(10, 10), "100", "102.5", "102")],  # through the 1 % stop's target, 102
        "SOLUSDT": [candle("SOLUSDT", at(10, 20), "98.5", "102.5", "100")],  # both: path-dependent
        "XRPUSDT": [candle("XRPUSDT", at(10, 30), "100", "101.2", "101")],  # through a SHORT's stop, 101
        "ADAUSDT": [candle("ADAUSDT", at(11, 0), "100.2", "100.8", "100.5")],  # neither: closed at the end of day
    }
    return [[before[symbol], *later[symbol]] for symbol in SYMBOLS]


def run(**overrides) -> replay.Result:
    return replay.run(
        signals=five_signals(),
        candles=a_day_of_candles(),
        overrides=replay.Overrides.from_values(overrides),
        starting_balance=Decimal(10000),
        lots={},
        now=NOW,
    )


def test_five_signals_with_a_one_percent_stop_give_the_trades_worked_by_hand():
    # risk 0.1 % of 10,000 = 10 a trade; fill 100 (no slippage); stop 1 % away = 99 (SHORT: 101), target 2R = 102
    # (SHORT: 98); size 10 / 1 = 10 units; fee 0.1 % a side: 1 at entry.
    result = run(stop_pct="0.01", risk="0.001")
    trades = {trade.signal_id: trade for trade in result.trades}
    assert {(t.symbol, t.stop_loss, t.take_profit, t.size) for t in result.trades} == {
        (symbol, Decimal(99), Decimal(102), Decimal(10)) for symbol in SYMBOLS if symbol != "XRPUSDT"
    } | {("XRPUSDT", Decimal(101), Decimal(98), Decimal(10))}
    outcomes = {sid: (t.exit_reason, t.exit_price, t.pnl) for sid, t in trades.items()}
    assert outcomes == {
        # (99 - 100) * 10 - 1 - 0.99 = -11.99
        "s-BTCUSDT": ("STOP_LOSS", Decimal("99.00000000"), Decimal("-11.99000000")),
        # (102 - 100) * 10 - 1 - 1.02 = 17.98
        "s-ETHUSDT": ("TAKE_PROFIT", Decimal("102.00000000"), Decimal("17.98000000")),
        # both in one minute: the stop first, -11.99
        "s-SOLUSDT": ("STOP_LOSS", Decimal("99.00000000"), Decimal("-11.99000000")),
        # -(101 - 100) * 10 - 1 - 1.01 = -12.01
        "s-XRPUSDT": ("STOP_LOSS", Decimal("101.00000000"), Decimal("-12.01000000")),
        # at the last close, 100.5, at the day's end: 0.5 * 10 - 1 - 1.005 = 2.995
        "s-ADAUSDT": ("EOD_CLOSE", Decimal("100.50000000"), Decimal("2.99500000")),
    }
    assert trades["s-ADAUSDT"].exit_time == datetime(2026, 11, 20, 23, 59, 59, 999999, tzinfo=UTC)
    assert trades["s-BTCUSDT"].missing_minutes == 4  # 10:01 to 10:04 have no candle


def test_the_ledgers_two_percent_stop_keeps_the_btc_trade_open_to_the_end_of_day():
    # stop 98, target 104, size 10 / 2 = 5: the 10:05 low of 98.9 does not reach the stop; closed at 99.5:
    # (99.5 - 100) * 5 - 0.5 - 0.4975 = -3.4975
    trade = next(t for t in run(risk="0.001").trades if t.signal_id == "s-BTCUSDT")
    assert (trade.exit_reason, trade.size, trade.pnl) == ("EOD_CLOSE", Decimal("5.00000000"), Decimal("-3.49750000"))


def test_a_candle_covering_stop_and_target_gives_both_outcomes_in_the_band():
    result = run(stop_pct="0.01", risk="0.001")
    sol = next(t for t in result.trades if t.signal_id == "s-SOLUSDT")
    assert sol.path_dependent
    assert (sol.exit_reason, sol.pnl) == ("STOP_LOSS", Decimal("-11.99000000"))
    assert (sol.best_exit_reason, sol.best_pnl) == ("TAKE_PROFIT", Decimal("17.98000000"))
    summary = replay_report.summary(result, starting_balance=Decimal(10000), since=DAY)
    # -11.99 + 17.98 - 11.99 - 12.01 + 2.995 = -15.015; the best path swaps SOL's -11.99 for 17.98: 14.955
    assert (summary["worst_pnl"], summary["best_pnl"]) == ("-15.01500000", "14.95500000")
    assert summary["path_dependent"] == 1
    assert (summary["wins"], summary["losses"], summary["win_rate"]) == (2, 3, "0.4000")


def test_the_summary_figures_are_the_statistics_pages_definitions():
    summary = replay_report.summary(run(stop_pct="0.01", risk="0.001"), starting_balance=Decimal(10000), since=DAY)
    # R: -1.199, 1.798, -1.199, -1.201, 0.2995: sum -1.5015, mean -0.3003
    assert summary["expectancy_r"] == "-0.3003"
    # gross profit 17.98 + 2.995 = 20.975; gross loss 11.99 + 11.99 + 12.01 = 35.99: 0.58280 to 4 places
    assert summary["profit_factor"] == "0.5828"
    # equity by exit time: -11.99 (10:05), +17.98 (10:10): peak 10005.99, then -11.99 and -12.01 down to
    # 9981.99: a fall of 24
    assert summary["max_drawdown"] == "24.00000000"
    assert summary["return_pct"] == "-0.1502"  # -15.015 / 10,000 = -0.15015 %, to 4 places half to even


def test_a_limit_of_open_trades_refuses_what_it_would_refuse_live():
    result = run(stop_pct="0.01", risk="0.001", max_open=3)
    assert [r.signal_id for r in result.refused] == ["s-XRPUSDT", "s-ADAUSDT"]
    assert "3 trades are open" in result.refused[0].reason


@pytest.mark.parametrize(
    ("values", "field"),
    [({"stop_pct": "0"}, "stop_pct"), ({"risk": "2"}, "risk"), ({"max_open": "-1"}, "max_open"), ({"fee": "1"}, "fee")],
)
def test_overrides_out_of_range_are_refused_naming_the_field(values, field):
    with pytest.raises(InvalidInput) as refused:
        replay.Overrides.from_values(values)
    assert refused.value.field == field


def test_a_day_not_over_leaves_its_positions_open():
    result = replay.run(
        signals=five_signals()[:1],
        candles=[a_day_of_candles()[0]],
        overrides=replay.Overrides(),
        starting_balance=Decimal(10000),
        lots={},
        now=at(12, 0),
    )
    assert [t.exit_reason for t in result.trades] == ["OPEN"]
    assert result.trades[0].exit_time is None
