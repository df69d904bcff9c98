"""Price history: every applied tick goes into its symbol's 1-minute candle, and widens the high and low of the
open trades it touches; numbers worked out by hand."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledger import inputs, selectors, services
from ledger.inputs import Tick, clean_tick
from ledger.models import MarketPrice, PaperTrade, PriceCandle

from .conftest import T0

pytestmark = pytest.mark.django_db

D = Decimal
START = T0 + timedelta(minutes=2)  # 10:02:00, after the fixture's trades open at 10:01


def candle_rows(symbol: str = "BTCUSDT") -> list[tuple]:
    return [
        (c.minute, c.open, c.high, c.low, c.close, c.ticks, c.bid, c.ask)
        for c in selectors.candles(symbol, START - timedelta(hours=1), START + timedelta(hours=1))
    ]


def test_a_ten_minute_stream_in_batches_across_minutes_makes_the_hand_computed_candles():
    # Three ticks a minute, at :00, :20 and :40, for ten minutes: minute m's prices are written out below.
    prices = [
        ("100", "101", "99.5"),
        ("99.5", "98", "98.25"),
        ("98.25", "98.25", "98.25"),
        ("99", "102", "101"),
        ("101", "100", "103"),
        ("103", "104.5", "104"),
        ("104", "97", "99"),
        ("99", "99.01", "98.99"),
        ("98.99", "100", "100"),
        ("100", "100.5", "99.75"),
    ]
    ticks = [
        Tick(
            "BTCUSDT",
            D(price),
            START + timedelta(minutes=m, seconds=20 * n),
            bid=D(price) - D("0.01"),
            ask=D(price) + D("0.01"),
        )
        for m, minute in enumerate(prices)
        for n, price in enumerate(minute)
    ]
    for first in range(0, len(ticks), 4):  # batches of 4 ticks: most minutes are written by two batches
        services.prices_apply(ticks=ticks[first : first + 4])

    at = [START + timedelta(minutes=m) for m in range(10)]
    # (minute, open, high, low, close, ticks, bid and ask of the close): open = first, close = last, high/low over 3
    assert candle_rows() == [
        (at[0], D("100"), D("101"), D("99.5"), D("99.5"), 3, D("99.49"), D("99.51")),
        (at[1], D("99.5"), D("99.5"), D("98"), D("98.25"), 3, D("98.24"), D("98.26")),
        (at[2], D("98.25"), D("98.25"), D("98.25"), D("98.25"), 3, D("98.24"), D("98.26")),
        (at[3], D("99"), D("102"), D("99"), D("101"), 3, D("100.99"), D("101.01")),
        (at[4], D("101"), D("103"), D("100"), D("103"), 3, D("102.99"), D("103.01")),
        (at[5], D("103"), D("104.5"), D("103"), D("104"), 3, D("103.99"), D("104.01")),
        (at[6], D("104"), D("104"), D("97"), D("99"), 3, D("98.99"), D("99.01")),
        (at[7], D("99"), D("99.01"), D("98.99"), D("98.99"), 3, D("98.98"), D("99")),
        (at[8], D("98.99"), D("100"), D("98.99"), D("100"), 3, D("99.99"), D("100.01")),
        (at[9], D("100"), D("100.5"), D("99.75"), D("99.75"), 3, D("99.74"), D("99.76")),
    ]


def test_a_tick_cleaned_already_is_not_cleaned_again_and_the_others_are(monkeypatch):
    fed = clean_tick(Tick("btcusdt", "100.5", START, bid="100.4", ask="100.6"))  # as the price feed reads a ticker
    cleaned, real_clean = [], inputs.clean_tick
    monkeypatch.setattr(inputs, "clean_tick", lambda tick: cleaned.append(tick.symbol) or real_clean(tick))

    result = services.prices_apply(ticks=[fed, Tick("ethusdt", "10", START), Tick("SOLUSDT", "abc", START)])

    assert cleaned == ["ethusdt", "SOLUSDT"]  # the batch's other ticks, each checked as always
    assert [refused.field for refused in result.refused] == ["ticks[2].price"]
    prices = {row.symbol: (row.price, row.bid, row.ask) for row in MarketPrice.objects.all()}
    assert prices == {"BTCUSDT": (D("100.5"), D("100.4"), D("100.6")), "ETHUSDT": (D("10"), None, None)}


def test_a_batch_writes_one_candle_statement_whatever_its_number_of_ticks():
    ticks = [Tick(f"S{n % 5}USDT", D(100 + n % 7), START + timedelta(seconds=n)) for n in range(50)]

    with CaptureQueriesContext(connection) as queries:
        services.prices_apply(ticks=ticks)

    candle_writes = [q for q in queries.captured_queries if "price_candles" in q["sql"]]
    # executemany: one statement (its rows are the 5 symbol-minutes), not one per tick
    assert len(candle_writes) == 1
    assert PriceCandle.objects.count() == 5
    assert sum(PriceCandle.objects.values_list("ticks", flat=True)) == 50


def test_an_ignored_late_tick_leaves_the_candle_alone():
    services.prices_apply(ticks=[Tick("BTCUSDT", D("100"), START + timedelta(seconds=30))])

    result = services.prices_apply(ticks=[Tick("BTCUSDT", D("90"), START + timedelta(seconds=10))])

    assert result.ignored == 1
    assert candle_rows() == [(START, D("100"), D("100"), D("100"), D("100"), 1, None, None)]


def test_every_tick_of_a_batch_widens_the_trade_s_high_and_low_not_only_the_last(open_trade):
    trade = open_trade()  # LONG 50 at 100, stop 98, target 104, risk 100

    services.prices_apply(
        ticks=[Tick("BTCUSDT", D(p), START + timedelta(seconds=n)) for n, p in enumerate(["102", "99", "101"])]
    )

    trade.refresh_from_db()
    assert (trade.max_price, trade.min_price, trade.current_price) == (D("102"), D("99"), D("101"))


def test_a_tick_before_the_entry_does_not_widen_the_trade(open_trade):
    trade = open_trade()  # opened at 10:01 at 100

    services.prices_apply(ticks=[Tick("BTCUSDT", D("90"), T0), Tick("BTCUSDT", D("101"), START)])

    trade.refresh_from_db()
    assert (trade.max_price, trade.min_price) == (D("101"), D("100"))  # 90 came before the entry


def test_excursions_of_a_long_through_a_known_path_in_money_and_r(open_trade):
    trade = open_trade()  # LONG 50 at 100, stop 98, target 104: 1R = 100
    path = ["100.5", "101.8", "99.2", "100.4", "103.1", "102", "97.9"]  # the last goes through the stop

    for n, price in enumerate(path):  # one tick a batch, as a slow feed
        services.prices_apply(ticks=[Tick("BTCUSDT", D(price), START + timedelta(seconds=n))])

    trade.refresh_from_db()
    assert (trade.status, trade.max_price, trade.min_price) == (PaperTrade.Status.STOP_LOSS, D("103.1"), D("97.9"))
    # MFE: (103.1 - 100) * 50 = 155 = 1.55R; MAE: (97.9 - 100) * 50 = -105 = -1.05R (the gap below the stop counts)
    assert trade.excursions == trade.excursions.__class__(
        D("155"), D("-105"), D("1.55"), D("-1.05"), best_price=D("103.1"), worst_price=D("97.9")
    )


def test_excursions_of_a_short_through_a_known_path(open_trade):
    trade = open_trade(action="SELL")  # SHORT 50 at 100, stop 102, target 96: 1R = 100

    services.prices_apply(
        ticks=[Tick("BTCUSDT", D(p), START + timedelta(seconds=n)) for n, p in enumerate(["101.2", "98.6", "99"])]
    )

    trade.refresh_from_db()
    # MFE: (100 - 98.6) * 50 = 70 = 0.7R; MAE: (100 - 101.2) * 50 = -60 = -0.6R
    assert (trade.excursions.favourable, trade.excursions.adverse) == (D("70"), D("-60"))
    assert (trade.excursions.favourable_r, trade.excursions.adverse_r) == (D("0.7"), D("-0.6"))


def test_a_target_reached_keeps_the_price_that_went_past_it(open_trade):
    trade = open_trade()  # target 104

    services.prices_apply(ticks=[Tick("BTCUSDT", D("104.6"), START)])

    trade.refresh_from_db()
    assert (trade.status, trade.exit_price, trade.max_price) == (PaperTrade.Status.TAKE_PROFIT, D("104"), D("104.6"))


def test_the_same_tick_applied_twice_counts_once(open_trade):
    trade = open_trade()
    tick = Tick("BTCUSDT", D("101"), START, bid=D("100.99"), ask=D("101.01"))
    services.prices_apply(ticks=[tick])

    again = services.prices_apply(ticks=[tick])  # a second feed, or a batch sent again

    assert (again.ignored, again.marked) == (1, [])
    assert candle_rows()[0][5] == 1  # one tick in the candle
    other = services.prices_apply(
        ticks=[Tick("BTCUSDT", D("101.5"), START)]
    )  # another price at the same moment is news
    assert (other.ignored, [t.pk for t in other.marked]) == (0, [trade.pk])
