"""The pure trading rules (ledger/rules.py), with numbers alone: no database. Expected values by hand."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ledger import rules
from ledger.errors import InvalidInput, InvalidTransition
from ledger.models import PaperTrade

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def position(direction: str = "LONG", **values) -> PaperTrade:
    """An unsaved trade: LONG 50 units at 100, stop 98, target 104 (PaperTrade() touches no database)."""
    fields = {"symbol": "BTCUSDT", "direction": direction, "entry_price": Decimal("100"), "position_size": Decimal("50"),
              "stop_loss": Decimal("98"), "take_profit": Decimal("104")} | values  # fmt: skip
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
        ("LONG", Decimal("98"), ("STOP_LOSS", Decimal("98"))),  # at the stop
        ("LONG", Decimal("97"), ("STOP_LOSS", Decimal("97"))),  # a gap through it fills at the worse price
        ("LONG", Decimal("105"), ("TAKE_PROFIT", Decimal("104"))),  # a target fills at its own price
        ("LONG", Decimal("101"), None),
        ("SHORT", Decimal("103"), ("STOP_LOSS", Decimal("103"))),
        ("SHORT", Decimal("95"), ("TAKE_PROFIT", Decimal("96"))),
    ],
)
def test_exit_for_a_price(direction, price, reached):
    trade = position(direction) if direction == "LONG" else position(direction, stop_loss=Decimal("102"), take_profit=Decimal("96"))
    assert rules.exit_for_price(trade, price) == reached


def test_mark_values_the_trade_as_a_close_there_would():
    trade = position()
    rules.mark(trade, Decimal("101"))
    assert (trade.current_price, trade.fees, trade.unrealized_pnl) == (Decimal("101"), Decimal("10.05"), Decimal("39.95"))


def test_mark_refuses_a_price_that_values_the_trade_beyond_the_columns():
    with pytest.raises(InvalidInput) as refused:
        rules.mark(position(position_size=Decimal("1000000")), Decimal("99999999999"))
    assert refused.value.field == "price"


def test_settle_realizes_what_the_mark_at_that_price_shows():
    trade = position()
    rules.settle(trade, price=Decimal("97.5"), reason="STOP_LOSS", at=AT)
    # (97.5 - 100) * 50 = -125, fees 5 + 4.875
    assert (trade.status, trade.exit_price, trade.exit_time) == ("STOP_LOSS", Decimal("97.5"), AT)
    assert (trade.realized_pnl, trade.unrealized_pnl, trade.fees) == (Decimal("-134.875"), 0, Decimal("9.875"))


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
    assert rules.levels("LONG", entry=Decimal("100"), stop=None, target=None) == (Decimal("98"), Decimal("104"))
    assert rules.levels("SHORT", entry=Decimal("200"), stop=None, target=None) == (Decimal("204"), Decimal("192"))
    assert rules.levels("LONG", entry=Decimal("100"), stop=Decimal("95"), target=None) == (Decimal("95"), Decimal("110"))


def test_size_risks_one_percent_of_equity_between_entry_and_stop():
    # risk 10000 * 0.01 = 100; 100 / |100 - 98| = 50 units
    assert rules.size(equity=Decimal("10000"), entry=Decimal("100"), stop=Decimal("98")) == (Decimal("50"), Decimal("100"))


def test_size_is_capped_at_equity_and_the_risk_follows():
    # 100 / 0.1 = 1000 units would cost 100000; 10000 / 100 = 100 units risk 100 * 0.1 = 10
    assert rules.size(equity=Decimal("10000"), entry=Decimal("100"), stop=Decimal("99.9")) == (Decimal("100"), Decimal("10"))


def test_no_equity_no_size():
    with pytest.raises(InvalidTransition):
        rules.size(equity=Decimal("0"), entry=Decimal("100"), stop=Decimal("98"))


def test_action_and_direction():
    assert (rules.direction_for("BUY"), rules.direction_for("SELL")) == ("LONG", "SHORT")
    assert (rules.sign("LONG"), rules.sign("SHORT")) == (1, -1)
