"""The statistics by setup (tag, confluence, timeframe, confidence, weekday and hour of entry) and the figures
that came with them (excursions, streaks, R histogram, period return, Sharpe and Sortino, weeks and months),
over hand-built closed trades with round numbers. Trading days in UTC unless a test says otherwise.

The six trades of `setups` (all LONG at 100 but T2; starting balance 10000), in exit order on 2026-11-20:
  id  exit   PnL  risk  R     size  high  low   MFE  MAE   tags               signal: confidence timeframe confluences
  T1  10:00   +4   2    +2    1     105   99     5   -1    A+ setup           0.8   1h   trend, volume
  T3  11:00   +1   2    +0.5  1     101   100    1    0    -                  (no signal)
  T5  12:00    0   0    -     1     100   100    0    0    news               0.5   1h   volume
  T6  13:00   +3   2    +1.5  1     104   99.5   4   -0.5  A+ setup, news     0.65  4h   breakout, trend
  T2  14:00   -4   4    -1    2     102   97     6   -4    FOMO, news         0.55  15m  trend (sent twice)
  T4  15:00   -2   2    -1    1     100.5 98   0.5   -2    FOMO               1     -    -
T2 is SHORT: its favourable move is down to 97 (3 * 2 = 6), its adverse one up to 102 (-2 * 2 = -4).
"""

import importlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from ledger import selectors
from ledger.models import PaperTrade
from tests.helpers import book, saved_closed

from .conftest import closed_trade_row

pytestmark = pytest.mark.django_db
stats_module = importlib.import_module("ledger.selectors.stats")  # the package exports its function `stats`
DAY = date(2026, 11, 20)


def at(hour: int, day: int = 20) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


@pytest.fixture
def setups(settings, make_signal):
    settings.PAPER_STARTING_BALANCE = Decimal("10000")

    def signal(confidence: str, timeframe: str, confluences: list[str]):
        return make_signal(confidence=Decimal(confidence), timeframe=timeframe, confluences=confluences)

    def close(
        hour: int, pnl: str, *, risk: str, high: str, low: str, tags: list[str], size: str = "1", **fields
    ) -> PaperTrade:
        return closed_trade_row(
            exit_time=at(hour),
            realized_pnl=Decimal(pnl),
            risk_amount=Decimal(risk),
            max_price=Decimal(high),
            min_price=Decimal(low),
            position_size=Decimal(size),
            tags=tags,
            **fields,
        )

    rows = {
        "T1": close(
            10, "4", risk="2", high="105", low="99", tags=["A+ setup"], signal=signal("0.8", "1h", ["trend", "volume"])
        ),
        "T3": close(11, "1", risk="2", high="101", low="100", tags=[]),
        "T5": close(12, "0", risk="0", high="100", low="100", tags=["news"], signal=signal("0.5", "1h", ["volume"])),
        "T6": close(
            13,
            "3",
            risk="2",
            high="104",
            low="99.5",
            tags=["A+ setup", "news"],
            signal=signal("0.65", "4h", ["breakout", "trend"]),
        ),
        "T2": close(
            14,
            "-4",
            risk="4",
            high="102",
            low="97",
            size="2",
            tags=["FOMO", "news"],
            direction=PaperTrade.Direction.SHORT,
            signal=signal("0.55", "15m", ["trend", "trend"]),
        ),
        "T4": close(15, "-2", risk="2", high="100.5", low="98", tags=["FOMO"], signal=signal("1", "", [])),
    }
    saved_closed(rows.values())
    return rows


def day_stats() -> selectors.Stats:
    return selectors.stats(book(), DAY, DAY)


def table(groups: list[selectors.Group]) -> dict:
    return {group.key: (group.trades, group.realized_pnl) for group in groups}


def test_by_tag_a_trade_counts_once_in_each_of_its_tags_and_untagged_ones_under_none(setups):
    assert table(day_stats().by_tag) == {
        "A+ setup": (2, Decimal("7")),  # T1 +4, T6 +3
        "FOMO": (2, Decimal("-6")),  # T2 -4, T4 -2
        "news": (3, Decimal("-1")),  # T5 0, T6 +3, T2 -4
        None: (1, Decimal("1")),  # T3
    }


def test_the_tag_breakdown_sums_to_one_count_per_tag_of_each_trade(setups):
    groups = day_stats().by_tag
    # T1 1 + T3 1 (untagged) + T5 1 + T6 2 + T2 2 + T4 1 = 8 trade-tags; PnL 4 + 1 + 0 + 2*3 + 2*(-4) + (-2) = 1
    assert sum(group.trades for group in groups) == 8
    assert sum(group.realized_pnl for group in groups) == Decimal("1")


def test_past_the_largest_tags_the_rest_are_added_up_in_one_row(setups, monkeypatch):
    monkeypatch.setattr(stats_module, "ELEMENT_GROUPS_SHOWN", 2)

    groups = day_stats().by_tag

    assert [(group.key, group.gathered, group.trades, group.realized_pnl) for group in groups] == [
        ("A+ setup", 0, 2, Decimal("7")),  # the largest two: news (3 trades), then A+ setup before FOMO (2, a tie)
        ("news", 0, 3, Decimal("-1")),
        ("others", 1, 2, Decimal("-6")),  # FOMO: T2 -4, T4 -2
        (None, 0, 1, Decimal("1")),
    ]


def test_by_confluence_counts_a_trade_once_in_each_confluence_of_its_signal(setups):
    assert table(day_stats().by_confluence) == {
        "breakout": (1, Decimal("3")),  # T6
        "trend": (3, Decimal("3")),  # T1 +4, T6 +3, T2 -4 (sent twice, kept once at intake)
        "volume": (2, Decimal("4")),  # T1 +4, T5 0
        None: (2, Decimal("-1")),  # T3 has no signal +1, T4's signal has no confluence -2
    }
    # T1 2 + T3 1 + T5 1 + T6 2 + T2 1 + T4 1 = 8
    assert sum(group.trades for group in day_stats().by_confluence) == 8


def test_by_timeframe_and_by_confidence_band_of_the_signal(setups):
    stats = day_stats()
    assert table(stats.by_timeframe) == {
        "15m": (1, Decimal("-4")),  # T2
        "1h": (2, Decimal("4")),  # T1 +4, T5 0
        "4h": (1, Decimal("3")),  # T6
        None: (2, Decimal("-1")),  # T3 (no signal) +1, T4 (no timeframe) -2
    }
    assert table(stats.by_confidence) == {
        "0.5–0.6": (2, Decimal("-4")),  # T5 0.5 (the band's low edge is in it), T2 0.55
        "0.6–0.7": (1, Decimal("3")),  # T6 0.65
        "0.8–0.9": (1, Decimal("4")),  # T1 0.8
        "0.9–1.0": (1, Decimal("-2")),  # T4: a confidence of 1 is in the top band
        None: (1, Decimal("1")),  # T3, no signal
    }
    assert sum(group.trades for group in stats.by_timeframe) == sum(group.trades for group in stats.by_confidence) == 6


def test_a_setup_group_has_the_figures_of_its_own_trades(setups):
    fomo = next(group for group in day_stats().by_tag if group.key == "FOMO")
    assert (fomo.wins, fomo.losses, fomo.win_rate) == (0, 2, Decimal("0"))
    assert fomo.expectancy_r == Decimal("-1")  # (-1 + -1) / 2
    assert fomo.average_mae == Decimal("-3")  # (-4 + -2) / 2


def test_average_excursions_in_money_and_in_r(setups):
    stats = day_stats()
    assert stats.average_mfe == Decimal("2.75")  # (5 + 1 + 0 + 4 + 6 + 0.5) / 6 = 16.5 / 6
    assert stats.average_mae == Decimal("-1.25")  # (-1 + 0 + 0 - 0.5 - 4 - 2) / 6 = -7.5 / 6
    # In R, the five trades with a risk (T5 has none): MFE 5/2 + 1/2 + 4/2 + 6/4 + 0.5/2 = 6.75,
    # MAE -0.5 + 0 - 0.25 - 1 - 1 = -2.75
    assert stats.average_mfe_r == Decimal("1.35")  # 6.75 / 5
    assert stats.average_mae_r == Decimal("-0.55")  # -2.75 / 5


def test_average_r_is_the_expectancy_in_r(setups):
    assert day_stats().expectancy_r == Decimal("0.4")  # (2 + 0.5 + 1.5 - 1 - 1) / 5 trades with a risk


def test_longest_streaks_in_exit_order_and_a_zero_ends_one(setups):
    stats = day_stats()
    # + + 0 + - -: T5 at 0 cuts the wins into runs of 2 and 1; the losses are one run of 2
    assert (stats.longest_win_streak, stats.longest_loss_streak) == (2, 2)


def test_r_histogram_counts_the_trades_with_a_risk_in_half_r_buckets(setups):
    buckets = {(b.low, b.high): b.trades for b in day_stats().r_histogram if b.trades}
    assert buckets == {
        (Decimal("-1"), Decimal("-0.5")): 2,  # T2 and T4 at -1 (a bucket holds its low edge)
        (Decimal("0.5"), Decimal("1")): 1,  # T3 +0.5
        (Decimal("1.5"), Decimal("2")): 1,  # T6 +1.5
        (Decimal("2"), Decimal("2.5")): 1,  # T1 +2
    }
    histogram = day_stats().r_histogram
    assert len(histogram) == 14  # below -3, twelve half-R steps from -3 to 3, 3 and above
    assert (histogram[0].low, histogram[0].high, histogram[-1].low, histogram[-1].high) == (
        None,
        Decimal("-3"),
        Decimal("3"),
        None,
    )


def test_r_histogram_puts_the_far_ends_in_the_open_buckets(settings):
    saved_closed(
        [
            closed_trade_row(exit_time=at(10), realized_pnl=Decimal("-7"), risk_amount=Decimal("2")),  # -3.5R
            closed_trade_row(exit_time=at(11), realized_pnl=Decimal("6"), risk_amount=Decimal("2")),  # exactly 3R
        ]
    )
    histogram = day_stats().r_histogram
    assert (histogram[0].trades, histogram[-1].trades, sum(b.trades for b in histogram)) == (1, 1, 2)


def test_period_return_is_the_pnl_over_the_starting_balance(setups):
    assert day_stats().return_pct == Decimal("0.02")  # 2 / 10000 * 100


def test_by_weekday_and_hour_of_entry_in_the_trading_days_zone(settings):
    settings.TRADING_DAY_TZ = ZoneInfo("Asia/Tokyo")  # UTC+9 all year
    entries = {
        "a": datetime(2026, 11, 20, 14, 30, tzinfo=UTC),  # Fri 23:30 in Tokyo
        "b": datetime(2026, 11, 20, 15, 0, tzinfo=UTC),  # Sat 00:00 in Tokyo (Fri 15:00 in UTC, as a)
        "c": datetime(2026, 11, 22, 15, 59, tzinfo=UTC),  # Mon 00:59 in Tokyo (Sun in UTC)
    }
    pnl = {"a": "1", "b": "2", "c": "4"}
    saved_closed(
        closed_trade_row(
            exit_time=entered + timedelta(minutes=10), held=timedelta(minutes=10), realized_pnl=Decimal(pnl[k])
        )
        for k, entered in entries.items()
    )
    stats = selectors.stats(book(), None, None)
    assert table(stats.by_weekday) == {"Mon": (1, Decimal("4")), "Fri": (1, Decimal("1")), "Sat": (1, Decimal("2"))}
    assert [group.key for group in stats.by_weekday] == ["Mon", "Fri", "Sat"]  # in the week's order
    assert table(stats.by_hour) == {"00": (2, Decimal("6")), "23": (1, Decimal("1"))}


def test_weekday_and_hour_follow_a_daylight_saving_change(settings):
    settings.TRADING_DAY_TZ = ZoneInfo("Europe/Paris")  # UTC+1, then UTC+2 from 2026-03-29 01:00 UTC
    before = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # Sun 29 Mar 00:30 in Paris (UTC+1)
    after = datetime(2026, 3, 29, 22, 30, tzinfo=UTC)  # Mon 30 Mar 00:30 in Paris (UTC+2); 23:30 Sun at UTC+1
    saved_closed(
        closed_trade_row(exit_time=entered + timedelta(hours=1), realized_pnl=Decimal("1"))
        for entered in (before, after)
    )
    stats = selectors.stats(book(), None, None)
    assert table(stats.by_weekday) == {"Sun": (1, Decimal("1")), "Mon": (1, Decimal("1"))}
    assert table(stats.by_hour) == {"00": (2, Decimal("2"))}


@pytest.fixture
def four_days(settings):
    """Daily returns of exactly +1%, -1%, 0 and +1% on Sun 29 Nov to Wed 2 Dec 2026, from equity 10000:
    +100 on 10000, -101 on 10100, nothing on 9999, +99.99 on 9999."""
    settings.PAPER_STARTING_BALANCE = Decimal("10000")
    noon = [datetime(2026, 11, 29, 12, tzinfo=UTC) + timedelta(days=n) for n in range(4)]
    saved_closed(
        closed_trade_row(exit_time=when, realized_pnl=Decimal(pnl))
        for when, pnl in zip(noon, ["100", "-101", "0", "99.99"], strict=False)
        if pnl != "0"
    )
    return selectors.stats(book(), date(2026, 11, 29), date(2026, 12, 2))


def test_sharpe_of_daily_returns(four_days):
    # returns 0.01, -0.01, 0, 0.01: mean 0.0025; deviations 0.0075, -0.0125, -0.0025, 0.0075, squares summing to
    # 0.000275, / 3 = 0.0000916667, sd 0.00957427; 0.0025 / 0.00957427 = 0.2611165 * sqrt(365) 19.1049732 = 4.98862
    assert four_days.sharpe == Decimal("4.9886")


def test_sortino_of_daily_returns(four_days):
    # downside: mean of min(r, 0)^2 = 0.0001 / 4 = 0.000025, its root 0.005; 0.0025 / 0.005 = 0.5 * 19.1049732 = 9.55249
    assert four_days.sortino == Decimal("9.5525")


def test_no_sharpe_or_sortino_without_variation_or_a_losing_day(settings):
    saved_closed([closed_trade_row(exit_time=at(12), realized_pnl=Decimal("10"))])
    one_day = selectors.stats(book(), DAY, DAY)
    assert (one_day.sharpe, one_day.sortino) == (None, None)  # one day: no deviation
    three_days = selectors.stats(book(), DAY - timedelta(days=1), DAY + timedelta(days=1))
    assert three_days.sharpe is not None
    assert three_days.sortino is None


def test_weekly_and_monthly_tables_with_their_returns(four_days):
    weeks = [(w.start, w.trades, w.realized_pnl, w.starting_balance, w.return_pct) for w in four_days.weekly]
    assert weeks == [
        (
            date(2026, 11, 23),
            1,
            Decimal("100"),
            Decimal("10000"),
            Decimal("1.00"),
        ),  # Sunday 29th, in the week from Mon 23rd
        (date(2026, 11, 30), 2, Decimal("-1.01"), Decimal("10100"), Decimal("-0.01")),  # -101 + 99.99; -1.01 / 10100
    ]
    months = [(m.start, m.trades, m.realized_pnl, m.return_pct) for m in four_days.monthly]
    assert months == [
        (date(2026, 11, 1), 2, Decimal("-1"), Decimal("-0.01")),  # 100 - 101 on 10000
        (date(2026, 12, 1), 1, Decimal("99.99"), Decimal("1.00")),  # on 9999
    ]
