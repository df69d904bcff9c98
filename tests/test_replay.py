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


# --- A bracket and an entry order instead of the signals' own (issue 28's rules) ----------------------------


def one_buy(*later: replay.Candle, **overrides) -> replay.Result:
    """A BUY at 100 on BTCUSDT at 10:00:30 (the market at 100 in the minute before), 0.1 % risk, 1 % stop: stop 99,
    size 10 / 1 = 10; then the candles given."""
    return replay.run(
        signals=five_signals()[:1],
        candles=[[candle("BTCUSDT", at(9, 59), "100", "100", "100"), *later]],
        overrides=replay.Overrides.from_values({"stop_pct": "0.01", "risk": "0.001"} | overrides),
        starting_balance=Decimal(10000),
        lots={},
        now=NOW,
    )


def test_two_targets_and_break_even_close_half_at_the_first_and_half_at_break_even():
    # targets 1R = 101 and 2R = 102, 5 units each; after the first fills the stop moves to break even, the entry
    # plus the round-trip fees: 100 * (1 + 2 * 0.001) = 100.2. The price reaches 101, then comes back to 100.
    result = one_buy(
        replay.Candle("BTCUSDT", at(10, 5), Decimal("100.5"), Decimal("101.2"), Decimal("100.5"), Decimal(101)),
        replay.Candle("BTCUSDT", at(10, 6), Decimal("100.8"), Decimal("100.8"), Decimal(100), Decimal(100)),
        targets="1:0.5,2:0.5",
        break_even_after="1",
    )
    [trade] = result.trades
    # T1: 5 * (101 - 100) - its share of the entry fee (1 - 0.5 = 0.5) - its exit fee 0.505 = 3.995
    # the rest at 100.2 (a market order at the stop: no slippage here): 5 * 0.2 - 0.5 - 0.501 = -0.001
    assert (trade.exit_reason, trade.pnl) == ("STOP_LOSS", Decimal("3.99400000"))
    assert trade.exit_price == Decimal("100.60000000")  # (5 * 101 + 5 * 100.2) / 10
    assert (trade.stop_loss, trade.take_profit, trade.size) == (Decimal(99), Decimal(101), Decimal(10))
    assert not trade.path_dependent
    summary = replay_report.summary(result, starting_balance=Decimal(10000), since=DAY)
    assert summary["realized_pnl"] == "3.99400000"


def test_both_targets_reached_close_everything_at_their_prices():
    result = one_buy(
        replay.Candle("BTCUSDT", at(10, 5), Decimal("100.5"), Decimal("102.2"), Decimal("100.5"), Decimal(102)),
        targets="1:0.5,2:0.5",
        break_even_after="1",
    )
    [trade] = result.trades
    # 3.995 at 101, then 5 * 2 - 0.5 - 0.51 = 8.99 at 102: 12.985
    assert (trade.exit_reason, trade.exit_price, trade.pnl) == (
        "TAKE_PROFIT",
        Decimal("101.50000000"),
        Decimal("12.98500000"),
    )


def test_a_minute_reaching_the_first_target_and_the_moved_stop_depends_on_its_path():
    # 10:05 reaches 101 (T1) and 102 (T2) and falls to 100: the adverse path fills T1, then the stop at 100.2
    # (3.994); the favourable path fills both targets (12.985)
    [trade] = one_buy(
        replay.Candle("BTCUSDT", at(10, 5), Decimal("100.5"), Decimal("102.2"), Decimal(100), Decimal(101)),
        targets="1:0.5,2:0.5",
        break_even_after="1",
    ).trades
    assert trade.path_dependent
    assert (trade.exit_reason, trade.pnl) == ("STOP_LOSS", Decimal("3.99400000"))
    assert (trade.best_exit_reason, trade.best_pnl) == ("TAKE_PROFIT", Decimal("12.98500000"))


def test_a_trailing_stop_follows_the_best_price_of_each_minute():
    # a 1 % trail: 10:05's high of 103 moves the stop to 101.97 (103 * 0.99); 10:06 falls to 101.5 and closes
    # the 10 units there: 10 * 1.97 - 1 - 1.0197 = 17.6803
    [trade] = one_buy(
        replay.Candle("BTCUSDT", at(10, 5), Decimal("100.5"), Decimal(103), Decimal("100.5"), Decimal(103)),
        replay.Candle("BTCUSDT", at(10, 6), Decimal("102.8"), Decimal("102.8"), Decimal("101.5"), Decimal("101.5")),
        reward_risk="10",
        trail_pct="0.01",
    ).trades
    assert (trade.exit_reason, trade.exit_price, trade.pnl) == (
        "STOP_LOSS",
        Decimal("101.97000000"),
        Decimal("17.68030000"),
    )


def test_a_limit_entry_fills_at_its_price_when_a_later_minute_trades_through_it():
    # the market is at 100.5 when the BUY limit at 100 is placed; 10:03 trades down to 99.8: filled at 100, stop 99,
    # target 102; 10:07 reaches 102: 10 * 2 - 1 - 1.02 = 17.98
    result = replay.run(
        signals=five_signals()[:1],
        candles=[
            [
                candle("BTCUSDT", at(9, 59), "100.5", "100.5", "100.5"),
                replay.Candle("BTCUSDT", at(10, 3), Decimal("100.4"), Decimal("100.4"), Decimal("99.8"), Decimal(100)),
                candle("BTCUSDT", at(10, 7), "100.5", "102.1", "102"),
            ]
        ],
        overrides=replay.Overrides.from_values(
            {"stop_pct": "0.01", "risk": "0.001", "entry": "limit", "entry_expiry": "3600"}
        ),
        starting_balance=Decimal(10000),
        lots={},
        now=NOW,
    )
    [trade] = result.trades
    assert (trade.entry_time, trade.entry_price, trade.size) == (at(10, 3), Decimal(100), Decimal(10))
    assert (trade.exit_reason, trade.pnl) == ("TAKE_PROFIT", Decimal("17.98000000"))


def test_a_limit_entry_not_reached_before_its_expiry_expires_with_the_ledgers_reason():
    result = replay.run(
        signals=five_signals()[:1],
        candles=[
            [
                candle("BTCUSDT", at(9, 59), "100.5", "100.5", "100.5"),
                candle("BTCUSDT", at(10, 30), "100.2", "100.6", "100.4"),
                candle("BTCUSDT", at(11, 0), "99", "100.6", "99.5"),  # through 100, but it ends after 11:00:30
                candle("BTCUSDT", at(11, 1), "99", "100.6", "99.5"),  # the order has expired
            ]
        ],
        overrides=replay.Overrides.from_values(
            {"stop_pct": "0.01", "risk": "0.001", "entry": "limit", "entry_expiry": 3600}
        ),
        starting_balance=Decimal(10000),
        lots={},
        now=NOW,
    )
    assert result.trades == []
    [refusal] = result.refused
    assert (refusal.at, refusal.reason) == (at(11, 0, 30), "Not filled within 60 min of being placed.")


def test_a_stop_entry_fills_as_a_market_order_when_a_later_minute_reaches_it():
    # a BUY stop at 100 with the market at 99.5: 10:03 opens at 99.6 and reaches 100.3: filled at 100 (a market
    # order at the stop; slippage 0 here), 10 units; the end of day closes them at 10:10's close, 100.3:
    # 3 - 1 - 1.003 = 0.997
    result = replay.run(
        signals=five_signals()[:1],
        candles=[
            [
                candle("BTCUSDT", at(9, 59), "99.5", "99.5", "99.5"),
                replay.Candle(
                    "BTCUSDT", at(10, 3), Decimal("99.6"), Decimal("100.3"), Decimal("99.6"), Decimal("100.3")
                ),
                candle("BTCUSDT", at(10, 10), "100.3", "100.3", "100.3"),
            ]
        ],
        overrides=replay.Overrides.from_values({"stop_pct": "0.01", "risk": "0.001", "entry": "stop"}),
        starting_balance=Decimal(10000),
        lots={},
        now=NOW,
    )
    [trade] = result.trades
    assert (trade.entry_price, trade.exit_reason, trade.pnl) == (Decimal(100), "EOD_CLOSE", Decimal("0.99700000"))


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"targets": "1:0.5,2:0.4"}, "targets"),
        ({"targets": "2:0.5,1:0.5"}, "targets"),
        ({"targets": "1-0.5"}, "targets"),
        ({"targets": "1:1", "reward_risk": "2"}, "targets"),
        ({"break_even_after": "1"}, "break_even_after"),
        ({"targets": "1:0.5,2:0.5", "break_even_after": "2"}, "break_even_after"),
        ({"trail_pct": "0"}, "trail_pct"),
        ({"trail_pct": "1"}, "trail_pct"),
        ({"entry": "iceberg"}, "entry"),
        ({"entry_expiry": "3600"}, "entry_expiry"),
        ({"entry": "limit", "entry_expiry": "soon"}, "entry_expiry"),
    ],
)
def test_bracket_and_entry_overrides_out_of_range_are_refused_naming_the_field(values, field):
    with pytest.raises(InvalidInput) as refused:
        replay.Overrides.from_values(values)
    assert refused.value.field == field


def test_bracket_overrides_keep_their_json_and_read_it_back():
    given = replay.Overrides.from_values(
        {"targets": "1:0.5, 2:0.5", "break_even_after": 1, "trail_pct": "0.01", "entry": "limit", "entry_expiry": 600}
    )
    assert given.as_json() == {
        "targets": [{"r": "1", "fraction": "0.5"}, {"r": "2", "fraction": "0.5"}],
        "break_even_after": 1,
        "trail_pct": "0.01",
        "entry": "limit",
        "entry_expiry": 600,
    }
    assert replay.Overrides.from_values(given.as_json()) == given
