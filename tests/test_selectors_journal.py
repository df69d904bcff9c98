"""A trade's chart (ledger/selectors/journal.py: trade_chart, chart_span) on a long span: bounded by longer
candles merged in SQL, on both databases, with numbers computed by hand."""

from datetime import timedelta
from decimal import Decimal

import pytest

from ledger import selectors
from ledger.models import PriceCandle
from ledger.selectors.journal import CHART_CANDLES_MAX

from .conftest import T0

pytestmark = pytest.mark.django_db

YEAR = timedelta(days=365)


def hourly(start, hours: int) -> None:
    """A candle at the start of each hour: its open 100 + (7h + 5) mod 24 for the hour h of its day (each of 100
    to 123 once a day, first 105 at 00:00, 122 at 23:00), high one more, low one less, close half more."""
    rows = []
    for n in range(hours):
        minute = start + timedelta(hours=n)
        level = Decimal(100 + (7 * minute.hour + 5) % 24)
        rows.append(
            PriceCandle(
                symbol="BTCUSDT",
                minute=minute,
                open=level,
                high=level + 1,
                low=level - 1,
                close=level + Decimal("0.5"),
                ticks=1,
            )
        )
    PriceCandle.objects.bulk_create(rows, batch_size=2000)


def test_a_year_long_trade_s_chart_is_at_most_720_day_candles_each_merged_by_the_database(open_trade):
    trade = open_trade()  # entered 20 Nov 2026 10:01, open a year: a margin of a quarter year before it
    first_day = (T0 - timedelta(days=92)).replace(hour=0)
    hourly(first_day, 24 * (92 + 366))

    chart = selectors.trade_chart(trade, T0 + YEAR)

    # 365 days held and 91.25 before: 456.25 days, 657,000 minutes; 4-hour candles would be 2,738, days are 457
    assert chart.minutes == 1440
    assert len(chart.candles) <= CHART_CANDLES_MAX
    assert len(chart.candles) == 457  # 21 Aug 2026 to 20 Nov 2027, both included
    day = next(c for c in chart.candles if c.time == T0.replace(hour=0))  # 20 Nov 2026, all 24 hours
    # the first open (00:00: 105), the highest high (123 + 1), the lowest low (100 - 1), the last close (23:00: 122.5)
    assert (day.open, day.high, day.low, day.close) == (Decimal("105"), Decimal("124"), Decimal("99"), Decimal("122.5"))
    first = chart.candles[0]  # the span starts at 04:01 on 21 Aug (10:01 less 91 days 6 hours): from 05:00 on
    assert first.time == chart.start.replace(hour=0, minute=0)
    assert first.open == Decimal("116")  # 05:00: (35 + 5) mod 24 = 16


def test_a_span_beyond_720_days_takes_candles_of_as_many_whole_days_as_keep_it_within_720(open_trade):
    trade = open_trade()  # open three years: 1,095 days held and a quarter of that before, 1,368.75 days

    start, end, minutes = selectors.chart_span(trade, T0 + 3 * YEAR)

    assert minutes == 2 * 1440  # 1,368.75 / 720 = 1.9: two-day candles, 685 of them
    assert (end - start) / timedelta(minutes=minutes) <= CHART_CANDLES_MAX
