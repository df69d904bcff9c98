"""selectors.stats over hand-built closed trades (written straight to the table, so the numbers are round).

The six trades of `week` (starting balance 10000, trading days in UTC):
  A 2026-11-20 10:00  BTCUSDT LONG  TAKE_PROFIT  +100  fees 2  held 1h   risk 50 (+2R)   slippage 0.5   cumulative  100
  B 2026-11-20 12:00  ETHUSDT SHORT STOP_LOSS     -40  fees 1  held 30m  risk 40 (-1R)   slippage 0.25  cumulative   60
  C 2026-11-21 09:00  BTCUSDT LONG  STOP_LOSS     -80  fees 2  held 2h   risk 80 (-1R)   slippage 1     cumulative  -20
  D 2026-11-21 23:59  ETHUSDT LONG  EOD_CLOSE       0  fees 1  held 6h   risk 10 (0R)    slippage 0     cumulative  -20
  (2026-11-22: no close)
  E 2026-11-23 15:00  SOLUSDT SHORT TAKE_PROFIT  +150  fees 3  held 4h   risk 50 (+3R)   slippage 0.75  cumulative  130
  F 2026-11-23 16:00  BTCUSDT SHORT MANUAL_CLOSE  -30  fees 1  held 30m  risk 60 (-0.5R) slippage 0.5   cumulative  100
The cumulative pnl peaks at A (100), bottoms at C (-20) and peaks again at E (130).
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from ledger import selectors
from ledger.days import trading_day
from ledger.models import PaperTrade
from ledger.selectors.core import closed_between
from ledger.selectors.figures import NO_FIGURES, figures_for
from tests.helpers import book, saved_closed

from .conftest import closed_trade_row

pytestmark = pytest.mark.django_db
LONG, SHORT = PaperTrade.Direction.LONG, PaperTrade.Direction.SHORT
S = PaperTrade.Status
FIRST, LAST = date(2026, 11, 20), date(2026, 11, 23)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def close(when: datetime, pnl: str, **fields) -> PaperTrade:
    (trade,) = saved_closed([closed_trade_row(exit_time=when, realized_pnl=Decimal(pnl), **fields)])
    return trade


@pytest.fixture
def week(settings):
    settings.PAPER_STARTING_BALANCE = Decimal("10000")
    h = timedelta(hours=1)

    def costs(fees: str, risk: str, slippage: str) -> dict:
        return {"fees": Decimal(fees), "risk_amount": Decimal(risk), "slippage": Decimal(slippage)}

    return {
        "A": close(
            at(20, 10), "100", symbol="BTCUSDT", direction=LONG, status=S.TAKE_PROFIT, held=h, **costs("2", "50", "0.5")
        ),
        "B": close(
            at(20, 12),
            "-40",
            symbol="ETHUSDT",
            direction=SHORT,
            status=S.STOP_LOSS,
            held=h / 2,
            **costs("1", "40", "0.25"),
        ),
        "C": close(
            at(21, 9), "-80", symbol="BTCUSDT", direction=LONG, status=S.STOP_LOSS, held=2 * h, **costs("2", "80", "1")
        ),
        "D": close(
            at(21, 23, 59),
            "0",
            symbol="ETHUSDT",
            direction=LONG,
            status=S.EOD_CLOSE,
            held=6 * h,
            **costs("1", "10", "0"),
        ),
        "E": close(
            at(23, 15),
            "150",
            symbol="SOLUSDT",
            direction=SHORT,
            status=S.TAKE_PROFIT,
            held=4 * h,
            **costs("3", "50", "0.75"),
        ),
        "F": close(
            at(23, 16),
            "-30",
            symbol="BTCUSDT",
            direction=SHORT,
            status=S.MANUAL_CLOSE,
            held=h / 2,
            **costs("1", "60", "0.5"),
        ),
    }


def week_stats() -> selectors.Stats:
    return selectors.stats(book(), FIRST, LAST)


def test_expectancy_and_averages_in_r_and_slippage_paid(week):
    stats = week_stats()

    assert stats.expectancy_r == Decimal("0.4167")  # (2 - 1 - 1 + 0 + 3 - 0.5) / 6 = 0.41666...
    assert stats.average_win_r == Decimal("2.5")  # (2 + 3) / 2
    assert stats.average_loss_r == Decimal("-0.8333")  # (-1 - 1 - 0.5) / 3
    assert stats.slippage == Decimal("3")  # 0.5 + 0.25 + 1 + 0 + 0.75 + 0.5
    btc = next(group for group in stats.by_symbol if group.key == "BTCUSDT")
    assert btc.expectancy_r == Decimal("0.1667")  # A, C, F: (2 - 1 - 0.5) / 3


def test_counts_a_zero_pnl_trade_as_neither_win_nor_loss(week):
    stats = week_stats()

    assert (stats.trades, stats.wins, stats.losses) == (6, 2, 3)  # wins A, E; losses B, C, F; D is 0


def test_sums_realized_profit_loss_and_fees(week):
    stats = week_stats()

    assert stats.realized_pnl == Decimal("100")  # 100 - 40 - 80 + 0 + 150 - 30
    assert stats.gross_profit == Decimal("250")  # 100 + 150
    assert stats.gross_loss == Decimal("150")  # 40 + 80 + 30
    assert stats.fees == Decimal("10")  # 2 + 1 + 2 + 1 + 3 + 1


def test_ratios_are_rounded_to_four_places(week):
    stats = week_stats()

    assert stats.win_rate == Decimal("0.3333")  # 2 / 6
    assert stats.profit_factor == Decimal("1.6667")  # 250 / 150 = 1.66666...


def test_expectancy_and_average_win_and_loss(week):
    stats = week_stats()

    assert stats.expectancy == Decimal("16.66666667")  # 100 / 6 = 16.666666666..., to 8 places
    assert stats.average_win == Decimal("125")  # 250 / 2
    assert stats.average_loss == Decimal("-50")  # -(40 + 80 + 30) / 3


def test_average_holding_time(week):
    # 1h + 30m + 2h + 6h + 4h + 30m = 14h, over 6 trades = 2h 20m
    assert week_stats().average_holding == timedelta(hours=2, minutes=20)


def test_max_drawdown_in_money_and_percent_of_the_peak_equity_with_its_times(week):
    stats = week_stats()

    assert stats.max_drawdown == Decimal("120")  # from the peak 100 after A down to -20 after C
    assert stats.max_drawdown_percent == Decimal("1.19")  # 120 / (10000 + 100) * 100 = 1.18811...
    assert (stats.drawdown_start, stats.drawdown_end) == (at(20, 10), at(21, 9))  # A's close, C's close


def test_best_and_worst_day_are_among_days_with_a_close(week):
    stats = week_stats()

    assert (stats.best_day.day, stats.best_day.realized_pnl) == (LAST, Decimal("120"))  # 150 - 30
    assert (stats.worst_day.day, stats.worst_day.realized_pnl) == (date(2026, 11, 21), Decimal("-80"))  # -80 + 0


def test_daily_series_has_every_day_of_the_period(week):
    daily = week_stats().daily

    assert [(d.day.day, d.realized_pnl, d.trades) for d in daily] == [
        (20, Decimal("60"), 2),  # 100 - 40
        (21, Decimal("-80"), 2),
        (22, Decimal("0"), 0),
        (23, Decimal("120"), 2),
    ]


def test_equity_at_the_start_of_a_period_counts_every_earlier_close(week):
    stats = selectors.stats(book(), date(2026, 11, 21), LAST)

    assert stats.starting_balance == Decimal("10060")  # 10000 + 100 - 40 from the 20th
    assert stats.ending_balance == Decimal("10100")  # 10060 - 80 + 0 + 150 - 30


def test_drawdown_percent_is_of_the_equity_at_the_peak_including_earlier_closes(week):
    stats = selectors.stats(book(), date(2026, 11, 21), LAST)

    # cumulative in the period: -80, -80, 70, 40. The peak is the start (10060): fall 80, then 30 from 70.
    assert stats.max_drawdown == Decimal("80")
    assert stats.max_drawdown_percent == Decimal("0.80")  # 80 / 10060 * 100 = 0.79522...
    assert (stats.drawdown_start, stats.drawdown_end) == (None, at(21, 9))  # None: from the period's start


def test_figures_by_symbol(week):
    rows = [(g.key, g.trades, g.wins, g.losses, g.realized_pnl, g.fees) for g in week_stats().by_symbol]

    assert rows == [
        ("BTCUSDT", 3, 1, 2, Decimal("-10"), Decimal("5")),  # A, C, F: 100 - 80 - 30; fees 2 + 2 + 1
        ("ETHUSDT", 2, 0, 1, Decimal("-40"), Decimal("2")),  # B, D: -40 + 0
        ("SOLUSDT", 1, 1, 0, Decimal("150"), Decimal("3")),  # E
    ]


def test_a_groups_ratios_and_means_are_its_own(week):
    btc = week_stats().by_symbol[0]

    assert btc.win_rate == Decimal("0.3333")  # 1 / 3
    assert btc.profit_factor == Decimal("0.9091")  # 100 / (80 + 30) = 0.90909...
    assert (btc.average_win, btc.average_loss) == (Decimal("100"), Decimal("-55"))  # -(80 + 30) / 2
    assert btc.expectancy == Decimal("-3.33333333")  # -10 / 3
    assert btc.average_holding == timedelta(hours=1, minutes=10)  # (1h + 2h + 30m) / 3


def test_best_and_worst_symbol(week):
    stats = week_stats()

    assert (stats.best_symbol.symbol, stats.best_symbol.realized_pnl) == ("SOLUSDT", Decimal("150"))
    assert (stats.worst_symbol.symbol, stats.worst_symbol.realized_pnl) == ("ETHUSDT", Decimal("-40"))


def test_figures_by_direction(week):
    rows = [(g.key, g.trades, g.wins, g.losses, g.realized_pnl) for g in week_stats().by_direction]

    assert rows == [
        ("LONG", 3, 1, 1, Decimal("20")),  # A, C, D: 100 - 80 + 0
        ("SHORT", 3, 1, 2, Decimal("80")),  # B, E, F: -40 + 150 - 30
    ]


def test_figures_by_exit_reason(week):
    rows = [(g.key, g.trades, g.realized_pnl) for g in week_stats().by_exit_reason]

    assert rows == [
        ("EOD_CLOSE", 1, Decimal("0")),  # D
        ("MANUAL_CLOSE", 1, Decimal("-30")),  # F
        ("STOP_LOSS", 2, Decimal("-120")),  # B, C: -40 - 80
        ("TAKE_PROFIT", 2, Decimal("250")),  # A, E: 100 + 150
    ]


def test_a_period_counts_only_its_closes(week):
    stats = selectors.stats(book(), LAST, LAST)

    assert (stats.trades, stats.realized_pnl) == (2, Decimal("120"))  # E and F: 150 - 30
    assert stats.max_drawdown == Decimal("30")  # 150 down to 120


def test_an_empty_period_has_zeros_nones_and_its_days(week):
    stats = selectors.stats(book(), date(2026, 11, 1), date(2026, 11, 3))

    assert (stats.trades, stats.realized_pnl, stats.fees, stats.max_drawdown) == (0, 0, 0, 0)
    assert stats.win_rate is stats.expectancy is stats.average_win is stats.average_holding is None
    assert stats.max_drawdown_percent is stats.best_day is stats.best_symbol is None
    assert stats.by_symbol == stats.by_direction == stats.by_exit_reason == []
    assert [d.trades for d in stats.daily] == [0, 0, 0]


def test_all_history_without_trades_has_no_days(settings):
    stats = selectors.stats(book())

    assert stats.trades == 0
    assert stats.daily == []
    assert stats.starting_balance == settings.PAPER_STARTING_BALANCE


def test_all_history_runs_from_the_first_close(week):
    stats = selectors.stats(book())

    assert stats.trades == 6
    assert stats.daily[0].day == FIRST


# --- The drawdown of a curve with two peaks -------------------------------------------------------


def curve(*pnls: str) -> None:
    for hour, pnl in enumerate(pnls):
        close(at(20, hour), pnl)


def test_deepest_fall_after_the_first_peak_wins_over_a_higher_later_peak(settings):
    settings.PAPER_STARTING_BALANCE = Decimal("1000")
    curve("100", "-80", "150", "-50")  # cumulative 100, 20, 170, 120

    stats = selectors.stats(book())

    assert stats.max_drawdown == Decimal("80")  # 100 -> 20, deeper than 170 -> 120
    assert stats.max_drawdown_percent == Decimal("7.27")  # 80 / (1000 + 100) * 100 = 7.2727...
    assert (stats.drawdown_start, stats.drawdown_end) == (at(20, 0), at(20, 1))


def test_deepest_fall_from_the_second_higher_peak(settings):
    settings.PAPER_STARTING_BALANCE = Decimal("1000")
    curve("100", "-30", "150", "-120", "10")  # cumulative 100, 70, 220, 100, 110

    stats = selectors.stats(book())

    assert stats.max_drawdown == Decimal("120")  # 220 -> 100, measured from the second peak, not the first
    assert stats.max_drawdown_percent == Decimal("9.84")  # 120 / (1000 + 220) * 100 = 9.8360...
    assert (stats.drawdown_start, stats.drawdown_end) == (at(20, 2), at(20, 3))


def test_a_curve_that_only_rises_has_no_drawdown(settings):
    curve("10", "20")

    stats = selectors.stats(book())

    assert stats.max_drawdown == 0
    assert stats.max_drawdown_percent is stats.drawdown_start is stats.drawdown_end is None


def test_the_api_shows_the_same_figures(week, api_client):
    body = api_client.get("/api/v1/stats", {"from": "2026-11-20", "to": "2026-11-23"}).json()

    assert [Decimal(body[name]) for name in ("average_win", "average_loss", "fees", "max_drawdown_percent")] == [
        Decimal("125"),  # 250 / 2
        Decimal("-50"),  # -150 / 3
        Decimal("10"),
        Decimal("1.19"),  # 120 / 10100 * 100
    ]
    assert (body["drawdown_start"], body["drawdown_end"]) == ("2026-11-20T10:00:00Z", "2026-11-21T09:00:00Z")
    assert body["average_holding"] == "P0DT02H20M00S"  # ISO 8601: 14h / 6
    assert (body["best_day"]["day"], body["worst_day"]["day"]) == ("2026-11-23", "2026-11-21")
    assert [(g["key"], g["trades"]) for g in body["by_direction"]] == [("LONG", 3), ("SHORT", 3)]
    assert [g["key"] for g in body["by_exit_reason"]] == ["EOD_CLOSE", "MANUAL_CLOSE", "STOP_LOSS", "TAKE_PROFIT"]
    assert body["by_symbol"][2]["key"] == "SOLUSDT"
    assert Decimal(body["by_symbol"][2]["realized_pnl"]) == 150


def test_all_history_from_the_aggregates_equals_the_scan_of_the_trades():
    """The headline figures and the daily series read the per-day aggregates; the trades' own sums say the same."""
    saved_closed(
        closed_trade_row(
            exit_time=datetime(2026, 10, 1, 9, tzinfo=UTC) + timedelta(hours=7 * i),
            realized_pnl=Decimal(f"{(i * 37) % 23 - 11}.{i % 100:02d}"),
            fees=Decimal(f"0.{i % 90 + 10}"),
            risk_amount=Decimal(i % 5),  # 0: no R
            max_price=Decimal("103"),
            min_price=Decimal("99"),
            held=timedelta(minutes=13 * (i % 11) + 1),
        )
        for i in range(300)
    )
    scanned = figures_for(closed_between(book(), None, None))

    kept = selectors.stats(book(), trades=False)

    assert {name: getattr(kept, name) for name in NO_FIGURES} == {name: getattr(scanned, name) for name in NO_FIGURES}
    assert kept.trades == 300
    days = closed_between(book(), None, None).values_list("exit_time", "realized_pnl")
    by_day: dict = {}
    for moment, pnl in days:
        by_day[trading_day(moment)] = by_day.get(trading_day(moment), Decimal(0)) + pnl
    assert {day.day: day.realized_pnl for day in kept.daily if day.trades} == by_day


def test_a_period_from_the_aggregates_starts_from_the_balance_its_earlier_closes_left():
    close(datetime(2026, 11, 19, 12, tzinfo=UTC), "100")
    close(datetime(2026, 11, 20, 12, tzinfo=UTC), "-30")

    kept = selectors.stats(book(), FIRST, LAST, trades=False)

    assert kept.starting_balance == Decimal("10100")  # 10,000 and the 19th's +100
    assert kept.realized_pnl == Decimal("-30")
    assert kept.trades_loaded is False
    assert kept.by_symbol == []
