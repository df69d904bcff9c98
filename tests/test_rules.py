"""The pure trading rules (ledger/rules.py), with numbers alone: no database. Expected values by hand."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ledger import rules
from ledger.errors import InvalidInput, NotExecutable
from ledger.inputs import Candle
from ledger.models import PaperTrade

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def position(direction: str = "LONG", **values) -> PaperTrade:
    """An unsaved trade: LONG 50 units at 100, stop 98, target 104, seen only at 100 (PaperTrade() touches no
    database)."""
    fields = {
        "symbol": "BTCUSDT",
        "direction": direction,
        "entry_price": Decimal("100"),
        "position_size": Decimal("50"),
        "stop_loss": Decimal("98"),
        "take_profit": Decimal("104"),
        "max_price": Decimal("100"),
        "min_price": Decimal("100"),
    } | values
    return PaperTrade(**fields)


def test_money_rounds_half_to_even_at_8_places():
    assert rules.money(Decimal("0.000000125")) == Decimal("0.00000012")
    assert rules.money(Decimal("0.000000135")) == Decimal("0.00000014")


def test_a_side_pays_the_fee_rate_of_its_notional():
    assert rules.fee(price=Decimal("101"), size=Decimal("50")) == Decimal("5.05")  # 0.001 * 101 * 50


def test_pnl_of_a_long_and_a_short_less_fees():
    assert rules.pnl(position(), price=Decimal("103"), fees=Decimal("10.15")) == Decimal("139.85")  # 3*50 - 10.15
    short = position("SHORT", stop_loss=Decimal("102"), take_profit=Decimal("96"))
    assert rules.pnl(short, price=Decimal("103"), fees=Decimal("10.15")) == Decimal("-160.15")  # -3*50 - 10.15


@pytest.mark.parametrize(
    ("direction", "price", "reached"),
    [
        ("LONG", Decimal("98"), "STOP_LOSS"),  # at the stop
        ("LONG", Decimal("97"), "STOP_LOSS"),  # a gap through it
        ("LONG", Decimal("105"), "TAKE_PROFIT"),
        ("LONG", Decimal("101"), None),
        ("SHORT", Decimal("103"), "STOP_LOSS"),
        ("SHORT", Decimal("95"), "TAKE_PROFIT"),
    ],
)
def test_a_price_reaches_the_stop_or_the_target(direction, price, reached):
    trade = (
        position(direction)
        if direction == "LONG"
        else position(direction, stop_loss=Decimal("102"), take_profit=Decimal("96"))
    )
    assert rules.reached(trade, price) == reached


def test_mark_values_the_trade_as_a_close_there_would(settings):
    settings.PAPER_SLIPPAGE = Decimal(0)
    trade = position()
    rules.mark(trade, Decimal("101"))
    assert (trade.current_price, trade.exit_quote, trade.fees, trade.unrealized_pnl) == (
        Decimal("101"),
        Decimal("101"),
        Decimal("10.05"),
        Decimal("39.95"),
    )


def test_mark_refuses_a_price_that_values_the_trade_beyond_the_columns():
    with pytest.raises(InvalidInput) as refused:
        rules.mark(position(position_size=Decimal("1000000")), Decimal("99999999999"))
    assert refused.value.field == "price"


def test_a_long_is_quoted_at_the_bid_and_revalued_there():
    trade = position()
    rules.mark(trade, Decimal("101"), bid=Decimal("100.9"), ask=Decimal("101.1"))
    # a market exit of a LONG sells at the bid: fees 5 + 0.001*100.9*50 = 10.045; PnL 0.9*50 - 10.045 = 34.955;
    # slippage against the last price: (101 - 100.9) * 50 = 5
    assert (trade.exit_quote, trade.fees, trade.unrealized_pnl, trade.slippage) == (
        Decimal("100.9"),
        Decimal("10.045"),
        Decimal("34.955"),
        Decimal("5"),
    )


def test_without_a_book_a_short_is_quoted_at_the_price_plus_slippage(slippage):
    trade = position("SHORT", stop_loss=Decimal("102"), take_profit=Decimal("96"))
    rules.mark(trade, Decimal("99"))  # the default slippage 0.0005: buying back at 99 * 1.0005 = 99.0495
    assert trade.exit_quote == Decimal("99.0495")
    assert trade.unrealized_pnl == Decimal("37.572525")  # 0.9505*50 - (5 + 4.952475)


def test_closing_at_the_quote_realizes_exactly_the_last_unrealized_pnl():
    trade = position()
    rules.mark(trade, Decimal("101"), bid=Decimal("100.9"), ask=Decimal("101.1"))
    rules.close_at_quote(trade, reason="EOD_CLOSE", at=AT)
    assert (trade.exit_price, trade.realized_pnl, trade.unrealized_pnl) == (Decimal("100.9"), Decimal("34.955"), 0)


def test_settle_fills_exactly_at_the_price_without_exit_slippage():
    trade = position()
    rules.settle(trade, price=Decimal("104"), reason="TAKE_PROFIT", at=AT)
    # a limit order at its target: 4*50 - (5 + 5.2)
    assert (trade.status, trade.exit_price, trade.exit_time) == ("TAKE_PROFIT", Decimal("104"), AT)
    assert (trade.realized_pnl, trade.unrealized_pnl, trade.fees, trade.slippage) == (
        Decimal("189.8"),
        0,
        Decimal("10.2"),
        0,
    )
    assert (trade.max_price, trade.min_price) == (Decimal("104"), Decimal("100"))  # the exit traded: it widens the high


@pytest.mark.parametrize(
    ("buying", "bid", "ask", "fill"),
    [
        (True, None, None, Decimal("105.0525")),  # 105 * 1.0005
        (False, None, None, Decimal("104.9475")),  # 105 * 0.9995
        (True, Decimal("104.9"), Decimal("105.2"), Decimal("105.2")),  # a buy takes the ask
        (False, Decimal("104.9"), Decimal("105.2"), Decimal("104.9")),  # a sell hits the bid
    ],
)
def test_a_market_order_fills_against_the_trader(buying, bid, ask, fill, slippage):
    assert rules.market_fill(buying=buying, price=Decimal("105"), bid=bid, ask=ask) == fill


def test_slippage_rounds_against_the_trader(slippage):
    # 0.33333333 * 1.0005 = 0.333499996...: up to 0.33350000 to buy; * 0.9995 = 0.33316666...: down to 0.33316666
    assert rules.market_fill(buying=True, price=Decimal("0.33333333")) == Decimal("0.33350000")
    assert rules.market_fill(buying=False, price=Decimal("0.33333333")) == Decimal("0.33316666")


QUOTE = rules.Quote(price=Decimal("105"), bid=Decimal("104.9"), ask=Decimal("105.1"), at=AT)


def test_an_entry_is_priced_from_a_recent_tick():
    assert (
        rules.reference(last=QUOTE, signal_price=Decimal("100"), signal_time=AT, at=AT + timedelta(seconds=120))
        == QUOTE
    )


def test_a_tick_stamped_ahead_within_the_clock_skew_prices_an_entry():
    ahead = rules.Quote(price=Decimal("105"), bid=None, ask=None, at=AT + timedelta(seconds=5))  # MAX_CLOCK_SKEW 5 s

    assert rules.reference(last=ahead, signal_price=Decimal("110"), signal_time=AT, at=AT) == ahead


def test_a_tick_stamped_further_ahead_than_the_clock_skew_does_not_price_an_entry():
    ahead = rules.Quote(price=Decimal("105"), bid=None, ask=None, at=AT + timedelta(seconds=6))

    quote = rules.reference(last=ahead, signal_price=Decimal("110"), signal_time=AT, at=AT)

    assert quote.price == Decimal("110")  # the signal's own: a tick from after the entry is no market it had


def test_without_a_recent_tick_a_fresh_signal_is_priced_at_its_own_price():
    quote = rules.reference(last=QUOTE, signal_price=Decimal("100"), signal_time=AT, at=AT + timedelta(seconds=121))
    assert (quote.price, quote.bid, quote.ask) == (Decimal("100"), None, None)


def test_a_signal_older_than_five_minutes_is_not_executed():
    rules.check_signal_age(signal_time=AT, at=AT + timedelta(minutes=5))  # five minutes: still in time
    with pytest.raises(NotExecutable) as refused:
        rules.check_signal_age(signal_time=AT, at=AT + timedelta(minutes=7))
    assert refused.value.message == "the signal is 7 min old; a signal can be taken for 5 min after it is sent."


@pytest.mark.parametrize(
    ("direction", "stop", "target", "field"),
    [
        ("LONG", Decimal("101"), None, "stop_loss"),
        ("LONG", None, Decimal("100"), "take_profit"),
        ("SHORT", Decimal("99"), None, "stop_loss"),
        ("SHORT", None, Decimal("101"), "take_profit"),
    ],
)
def test_levels_on_the_wrong_side_are_refused_naming_the_level(direction, stop, target, field):
    with pytest.raises(InvalidInput) as refused:
        rules.check_levels(direction, entry=Decimal("100"), stop=stop, target=target)
    assert refused.value.field == field


def test_default_levels_are_two_percent_and_twice_that_beyond():
    assert rules.levels("LONG", fill=Decimal("100"), stop=None, target=None) == (Decimal("98"), Decimal("104"))
    assert rules.levels("SHORT", fill=Decimal("200"), stop=None, target=None) == (Decimal("204"), Decimal("192"))
    assert rules.levels("LONG", fill=Decimal("100"), stop=Decimal("95"), target=None) == (Decimal("95"), Decimal("110"))


def test_the_default_stop_is_rounded_toward_the_fill():
    # 0.12345679 * 0.98 = 0.1209876542: up to 0.12098766 (half-even would give 0.12098765, further than 2%)
    stop, _ = rules.levels("LONG", fill=Decimal("0.12345679"), stop=None, target=None)
    assert stop == Decimal("0.12098766")
    # a SHORT's: 0.12345679 * 1.02 = 0.1259259258: down to 0.12592592
    stop, _ = rules.levels("SHORT", fill=Decimal("0.12345679"), stop=None, target=None)
    assert stop == Decimal("0.12592592")


def test_a_default_target_at_or_below_zero_is_refused_naming_it():
    with pytest.raises(InvalidInput) as refused:  # SELL at 100, stop 150: 100 - 2 * 50 = 0
        rules.levels("SHORT", fill=Decimal("100"), stop=Decimal("150"), target=None)
    assert refused.value.field == "take_profit"


@pytest.mark.parametrize(
    ("direction", "fill", "field", "message"),
    [
        ("LONG", Decimal("105"), "take_profit", "price 105 is past the target 104."),
        ("LONG", Decimal("98"), "stop_loss", "price 98 is past the stop 98."),
        ("SHORT", Decimal("96"), "take_profit", "price 96 is past the target 96."),
    ],
)
def test_a_fill_past_a_level_is_not_executed(direction, fill, field, message):
    stop, target = (Decimal("98"), Decimal("104")) if direction == "LONG" else (Decimal("102"), Decimal("96"))
    with pytest.raises(NotExecutable) as refused:
        rules.check_fill_inside(direction, fill=fill, stop=stop, target=target)
    assert (refused.value.field, refused.value.message) == (field, message)


def test_money_rounds_totals_far_beyond_a_trade_without_overflowing():
    assert rules.money(Decimal("123456789012345678901234.56789")) == Decimal("1.23456789012346E+23")  # 15 digits


def test_a_short_is_liquidated_where_its_loss_reaches_its_collateral_less_the_maintenance_margin(settings):
    settings.PAPER_MAINTENANCE_MARGIN = Decimal("0.005")
    short = position("SHORT", stop_loss=Decimal("300"), take_profit=Decimal("90"), margin=Decimal("1"))

    # 100 * (1 + 1 - 0.005) = 199.5: a loss of 99.5 a unit, the collateral of 100 less 0.5
    assert rules.liquidation_price(short) == Decimal("199.5")
    assert rules.reached(short, Decimal("199.49")) is None
    assert rules.reached(short, Decimal("199.5")) == rules.LIQUIDATION  # before its stop at 300
    assert rules.liquidation_price(position("LONG")) is None  # spot: a LONG cannot lose more than it paid


def test_a_size_keeps_15_significant_digits_rounded_down():
    # risk 100 / 0.000002 = 50,000,000 units exactly: 16 digits at 8 places, so the last place goes
    assert rules.units(Decimal("50000000.12345679")) == Decimal("50000000.1234567")
    assert rules.money(Decimal("12345678.123456785")) == Decimal("12345678.1234568")


def test_limits_on_open_trades():
    rules.check_limits(symbol="BTCUSDT", open_trades=9, symbol_open=False)
    with pytest.raises(NotExecutable, match="10 trades are open"):
        rules.check_limits(symbol="BTCUSDT", open_trades=10, symbol_open=False)
    with pytest.raises(NotExecutable, match="a trade on BTCUSDT is open already"):
        rules.check_limits(symbol="BTCUSDT", open_trades=1, symbol_open=True)


def test_excursions_of_a_long_and_a_short_in_money_and_r():
    long = position(max_price=Decimal("103"), min_price=Decimal("99"), risk_amount=Decimal("100"))
    # best 103: (103 - 100) * 50 = 150 (1.5R); worst 99: (99 - 100) * 50 = -50 (-0.5R)
    assert rules.excursions(long) == rules.Excursions(
        Decimal("150"),
        Decimal("-50"),
        Decimal("1.5"),
        Decimal("-0.5"),
        best_price=Decimal("103"),
        worst_price=Decimal("99"),
    )
    short = position(
        "SHORT",
        stop_loss=Decimal("102"),
        take_profit=Decimal("96"),
        max_price=Decimal("101"),
        min_price=Decimal("97"),
        risk_amount=Decimal("100"),
    )
    # best 97: (100 - 97) * 50 = 150; worst 101: (100 - 101) * 50 = -50
    assert rules.excursions(short) == rules.Excursions(
        Decimal("150"),
        Decimal("-50"),
        Decimal("1.5"),
        Decimal("-0.5"),
        best_price=Decimal("97"),
        worst_price=Decimal("101"),
    )


def test_a_price_that_never_went_against_the_trade_has_no_adverse_excursion():
    never = position(max_price=Decimal("102"), min_price=Decimal("100"), risk_amount=Decimal("100"))
    assert (rules.excursions(never).adverse, rules.excursions(never).favourable) == (0, Decimal("100"))


def test_r_multiple_and_return():
    assert rules.r_multiple(Decimal("150"), Decimal("100")) == Decimal("1.5")
    assert rules.return_pct(Decimal("150"), price=Decimal("100"), size=Decimal("50")) == Decimal("3")  # 150 / 5000


def test_action_and_direction():
    assert (rules.direction_for("BUY"), rules.direction_for("SELL")) == ("LONG", "SHORT")
    assert (rules.sign("LONG"), rules.sign("SHORT")) == (1, -1)


@pytest.mark.parametrize(
    ("last", "seconds", "price", "suspect"),
    [
        ("100", 1, "120", False),  # +20 %: at the limit, believed
        ("100", 1, "120.01", True),  # past it
        ("100", 1, "79.99", True),  # -20.01 %
        ("151.55", 1, "151625", True),  # a thousandfold print
        ("100", 61, "150", False),  # the last price is more than a minute old: no reference
    ],
)
def test_a_print_further_than_the_max_jump_within_a_minute_is_suspect(settings, last, seconds, price, suspect):
    settings.PAPER_MAX_JUMP = Decimal("0.2")

    verdict = rules.suspect_print(
        last=Decimal(last), last_at=AT, price=Decimal(price), at=AT + timedelta(seconds=seconds)
    )

    assert verdict is suspect


def test_no_print_is_suspect_when_the_max_jump_is_zero(settings):
    settings.PAPER_MAX_JUMP = Decimal(0)

    assert not rules.suspect_print(last=Decimal("100"), last_at=AT, price=Decimal("100000"), at=AT)


def minute(n: int, o: str, h: str, low: str) -> Candle:
    """The n-th minute from AT (its close is not read)."""
    return Candle(AT + timedelta(minutes=n), Decimal(o), Decimal(h), Decimal(low), Decimal(o))


@pytest.mark.parametrize(
    ("direction", "candles", "fill"),
    [
        # LONG at 100, stop 98, target 104
        ("LONG", [("100", "101", "99"), ("99.5", "100", "97")], ("STOP_LOSS", "98", 1, False)),  # at the stop
        ("LONG", [("100", "101", "99"), ("97", "99", "96")], ("STOP_LOSS", "97", 1, False)),  # opened beyond: the open
        ("LONG", [("103", "105", "102")], ("TAKE_PROFIT", "104", 0, False)),  # the target
        ("LONG", [("106", "107", "97")], ("TAKE_PROFIT", "106", 0, False)),  # opened beyond the target: known first
        ("LONG", [("100", "105", "97")], ("STOP_LOSS", "98", 0, True)),  # both in one minute: the stop assumed
        ("LONG", [("100", "103.9", "98.1")], None),  # neither reached
        # SHORT at 100, stop 102, target 96
        ("SHORT", [("101", "102.5", "100")], ("STOP_LOSS", "102", 0, False)),
        ("SHORT", [("99", "100", "95")], ("TAKE_PROFIT", "96", 0, False)),
        ("SHORT", [("100", "103", "95")], ("STOP_LOSS", "102", 0, True)),
    ],
)
def test_the_first_candle_to_reach_a_level_fills_it_as_the_resting_order_would(direction, candles, fill):
    levels = {"stop_loss": Decimal("102"), "take_profit": Decimal("96")} if direction == "SHORT" else {}
    trade = position(direction, **levels)

    result = rules.candle_fill(trade, [minute(n, *candle) for n, candle in enumerate(candles)])

    expected = fill and rules.CandleFill(fill[0], Decimal(fill[1]), AT + timedelta(minutes=fill[2]), both=fill[3])
    assert result == expected
