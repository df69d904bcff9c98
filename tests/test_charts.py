"""The chart geometry: one point or bar per day, placed by hand-computed coordinates.

The box: x from 96 to 750 (654 wide), y from 10 (top) to 178 (bottom, 168 high). Two days give slots of
327 with centres at 96 + 654 * 1/4 = 259.5 and 96 + 654 * 3/4 = 586.5.
"""

from datetime import date, timedelta
from decimal import Decimal

from ledger.charts import equity_chart, month_calendar, pnl_bars, r_histogram, slots
from ledger.selectors import DailyPnl, RBucket

D1 = date(2026, 11, 20)


def series(*pnls: str, first: date = D1) -> list[DailyPnl]:
    """A day per PnL; "-" is a day without a close."""
    return [
        DailyPnl(first + timedelta(days=i), Decimal(0 if p == "-" else p), trades=0 if p == "-" else 1, wins=0)
        for i, p in enumerate(pnls)
    ]


def test_equity_curve_has_one_point_per_day_at_the_equity_of_its_end():
    chart = equity_chart(series("100", "-50", "0", "25"), Decimal("1000"))

    assert [p.day for p in chart.points] == [D1 + timedelta(days=i) for i in range(4)]
    assert [p.value for p in chart.points] == [Decimal("1100"), Decimal("1050"), Decimal("1050"), Decimal("1075")]
    assert len(chart.polyline.split(" ")) == 4


def test_equity_curve_coordinates():
    chart = equity_chart(series("100", "-50"), Decimal("1000"))  # equity 1100, 1050; the range 1000..1100

    # y(1100) = 10; y(1050) = 10 + (1100 - 1050) * 168 / 100 = 94; y(1000) = 178
    assert chart.polyline == "259.5,10.0 586.5,94.0"
    assert chart.baseline == "178.0"
    assert [(t.value, t.y) for t in chart.ticks] == [(Decimal("1100"), "10.0"), (Decimal("1000"), "178.0")]


def test_drawdown_area_runs_along_the_peak_and_back_along_the_equity():
    chart = equity_chart(series("100", "-50"), Decimal("1000"))

    # the peak stays at 1100 (y 10): forward along the peak, back along the equity
    assert chart.drawdown == "259.5,10.0 586.5,10.0 586.5,94.0 259.5,10.0"


def test_drawdown_from_the_starting_balance_when_the_first_day_loses():
    chart = equity_chart(series("-50", "100"), Decimal("1000"))  # equity 950, 1050; range 950..1050

    # the peak is 1000 on day 1 (y = 10 + 50 * 168 / 100 = 94) and 1050 on day 2 (y 10); equity y 178, 10
    assert chart.drawdown == "259.5,94.0 586.5,10.0 586.5,10.0 259.5,178.0"


def test_a_flat_curve_sits_in_the_middle():
    chart = equity_chart(series("0"), Decimal("1000"))  # the range widens to 999..1001

    assert chart.polyline == "423.0,94.0"  # x = 96 + 654 / 2; y = 10 + 1 * 168 / 2


def test_no_days_no_chart():
    assert equity_chart([], Decimal("1000")) is None
    assert pnl_bars([]) is None


def test_pnl_bars_rise_from_zero_for_a_gain_and_hang_from_it_for_a_loss():
    chart = pnl_bars(series("100", "-50"))  # range -50..100: y(100) = 10, y(0) = 10 + 100 * 168 / 150 = 122

    # width 327 * 0.8 = 261.6, centred: 259.5 - 130.8 = 128.7 and 586.5 - 130.8 = 455.7
    assert [(b.x, b.y, b.width, b.height, b.css) for b in chart.bars] == [
        ("128.7", "10.0", "261.6", "112.0", "gain"),  # from 10 down to 122
        ("455.7", "122.0", "261.6", "56.0", "loss"),  # from 122 down to y(-50) = 178
    ]
    assert chart.zero == "122.0"


def test_pnl_bars_one_per_day_including_days_without_a_close():
    chart = pnl_bars(series("10", "-", "0"))

    assert [(b.trades, b.css, b.height) for b in chart.bars][1:] == [(0, "flat", "0.0"), (1, "flat", "0.0")]
    assert len(chart.bars) == 3


def november(*pnls: str) -> list[DailyPnl]:
    return series(*pnls, *["-"] * (30 - len(pnls)), first=date(2026, 11, 1))


def test_calendar_starts_on_the_weekday_of_the_first_and_wraps_by_week():
    cal = month_calendar(date(2026, 11, 1), november(), today=date(2026, 11, 25))

    first, second, last = cal.cells[0], cal.cells[1], cal.cells[-1]
    assert (first.day, first.x, first.y) == (date(2026, 11, 1), 264, 18)  # a Sunday: column 6 * 44, week 0
    assert (second.x, second.y) == (0, 62)  # Monday the 2nd: column 0, week 1 at 18 + 44
    assert (last.x, last.y) == (0, 238)  # Monday the 30th: column 0, week 5 at 18 + 5 * 44
    assert cal.height == 278  # 18 + 6 weeks * 44 - the last gap of 4


def test_calendar_colours_a_day_by_its_quarter_of_the_months_largest_move():
    cal = month_calendar(date(2026, 11, 1), november("-", "100", "-30", "25", "0"), today=date(2026, 11, 25))

    assert [c.level for c in cal.cells[:6]] == [
        "none",  # no close
        "gain-4",  # the largest move
        "loss-2",  # 4 * 30 / 100 = 1.2, up to 2
        "gain-1",  # 4 * 25 / 100 = 1
        "flat",  # closes that sum to 0
        "none",
    ]


def test_calendar_links_only_days_that_have_begun():
    cal = month_calendar(date(2026, 11, 1), november(), today=date(2026, 11, 25))

    assert [c.day.day for c in cal.cells if c.linked] == list(range(1, 26))


def test_calendar_neighbours():
    cal = month_calendar(date(2026, 12, 1), series(*["-"] * 31, first=date(2026, 12, 1)), today=date(2026, 12, 2))

    assert (cal.previous, cal.next) == (date(2026, 11, 1), date(2027, 1, 1))


def test_r_histogram_columns_rise_from_zero_and_are_coloured_by_side():
    # two buckets: -1..-0.5 with 2 trades, 0.5..1 with 1. Range 0..2: y(2) = 10, y(1) = 10 + 168 / 2 = 94, y(0) = 178
    chart = r_histogram([RBucket(Decimal("-1"), Decimal("-0.5"), 2), RBucket(Decimal("0.5"), Decimal("1"), 1)])

    # width 327 * 0.85 = 277.95, centred: 259.5 - 138.975 = 120.525 and 586.5 - 138.975 = 447.525 (to 0.1, half to even)
    assert [(c.x, c.y, c.width, c.height, c.css, c.label) for c in chart.columns] == [
        ("120.5", "10.0", "278.0", "168.0", "loss", "-1"),
        ("447.5", "94.0", "278.0", "84.0", "gain", "0.5"),
    ]
    assert chart.zero == "178.0"


def test_no_trade_with_a_risk_no_histogram():
    assert r_histogram([RBucket(None, Decimal("-3"), 0), RBucket(Decimal("3"), None, 0)]) is None


def test_a_period_of_a_quarter_is_drawn_by_day_a_longer_one_by_week_and_over_two_years_by_month():
    quarter, half_year, three_years = series(*["1"] * 92), series(*["1"] * 93), series(*["1"] * 732)

    assert slots(quarter)[0] == "day"
    assert len(pnl_bars(quarter).bars) == 92
    unit, weeks = slots(half_year)
    # 93 days from Fri 20 Nov 2026: the first week is Fri to Sun (3 days), then 12 whole weeks, then Mon to Fri
    assert unit == "week"
    assert [(w.first, w.last, w.realized_pnl, w.trades) for w in weeks[:2]] == [
        (date(2026, 11, 20), date(2026, 11, 22), Decimal(3), 3),
        (date(2026, 11, 23), date(2026, 11, 29), Decimal(7), 7),
    ]
    assert (len(weeks), weeks[-1].last) == (14, date(2027, 2, 20))
    assert sum(w.trades for w in weeks) == 93
    unit, months = slots(three_years)
    assert unit == "month"  # Nov 2026 (from the 20th) to Nov 2028 (to the 20th): 25 months
    assert (len(months), months[0].first, months[0].last, months[1].first) == (
        25,
        date(2026, 11, 20),
        date(2026, 11, 30),
        date(2026, 12, 1),
    )
    chart = equity_chart(three_years, Decimal("1000"))
    assert (chart.unit, len(chart.points), chart.points[0].day, chart.points[0].value) == (
        "month",
        25,
        date(2026, 11, 30),
        Decimal("1011"),  # 11 days of 1 to the end of November
    )
