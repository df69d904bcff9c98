"""The entry orders' fill rules (ledger/orders.py) with numbers alone: no database."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ledger import orders
from ledger.inputs import Tick

T = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def limit_buy(price: str = "100", *, expires_at: datetime | None = None) -> orders.Resting:
    return orders.Resting(order_type="limit", buying=True, price=Decimal(price), placed_at=T, expires_at=expires_at)


def tick(price: str, *, seconds: int = 1, bid: str | None = None, ask: str | None = None) -> Tick:
    return Tick(
        symbol="BTCUSDT",
        price=Decimal(price),
        at=T + timedelta(seconds=seconds),
        bid=Decimal(bid) if bid else None,
        ask=Decimal(ask) if ask else None,
    )


def test_a_buy_limit_at_100_works_while_the_market_trades_at_101():
    assert orders.fill(limit_buy(), tick("101"), before=Decimal("101"), touch=False) is None


def test_a_tick_at_the_limit_leaves_it_working_under_through():
    assert orders.fill(limit_buy(), tick("100"), before=Decimal("101"), touch=False) is None


def test_a_tick_at_the_limit_fills_it_at_the_limit_under_touch():
    assert orders.fill(limit_buy(), tick("100"), before=Decimal("101"), touch=True) == Decimal("100")


def test_a_tick_through_the_limit_after_one_at_it_fills_at_the_limit():
    # the market went 101, 100, 99.9: it traded through 100, where the order rests
    assert orders.fill(limit_buy(), tick("99.9"), before=Decimal("100"), touch=False) == Decimal("100")


def test_a_gap_through_the_limit_fills_at_the_better_price():
    # from 101 straight to 99: the order fills at 99, a point better than its limit
    assert orders.fill(limit_buy(), tick("99"), before=Decimal("101"), touch=False) == Decimal("99")


def test_without_a_price_before_a_tick_through_the_limit_fills_at_the_limit():
    assert orders.fill(limit_buy(), tick("99"), before=None, touch=False) == Decimal("100")


def test_a_sell_limit_fills_above_its_price_and_at_the_better_price_of_a_gap():
    sell = orders.Resting(order_type="limit", buying=False, price=Decimal("100"), placed_at=T, expires_at=None)
    assert orders.fill(sell, tick("100"), before=Decimal("99"), touch=False) is None
    assert orders.fill(sell, tick("100.1"), before=Decimal("100"), touch=False) == Decimal("100")
    assert orders.fill(sell, tick("101"), before=Decimal("99"), touch=False) == Decimal("101")


def test_a_buy_stop_triggers_at_its_price_and_fills_at_the_ask_against_the_trader():
    stop = orders.Resting(order_type="stop", buying=True, price=Decimal("100"), placed_at=T, expires_at=None)
    assert orders.fill(stop, tick("99.9"), before=Decimal("99"), touch=False) is None
    # reached at 100: a market buy at the ask, 100.2
    assert orders.fill(stop, tick("100", bid="99.9", ask="100.2"), before=Decimal("99.9")) == Decimal("100.2")


def test_a_buy_stop_without_a_book_fills_at_the_price_moved_by_slippage(settings):
    settings.PAPER_SLIPPAGE = Decimal("0.001")
    stop = orders.Resting(order_type="stop", buying=True, price=Decimal("100"), placed_at=T, expires_at=None)
    # a gap to 102: a market buy at 102 × 1.001 = 102.102
    assert orders.fill(stop, tick("102"), before=Decimal("99")) == Decimal("102.102")


def test_a_sell_stop_triggers_at_or_below_its_price_and_fills_at_the_bid():
    stop = orders.Resting(order_type="stop", buying=False, price=Decimal("100"), placed_at=T, expires_at=None)
    assert orders.fill(stop, tick("100.1", bid="100", ask="100.2"), before=None) is None
    assert orders.fill(stop, tick("99.5", bid="99.4", ask="99.6"), before=None) == Decimal("99.4")


def test_no_tick_fills_an_order_at_or_after_its_expiry_nor_before_it_was_placed():
    order = limit_buy(expires_at=T + timedelta(seconds=60))
    assert orders.fill(order, tick("99", seconds=60), before=Decimal("101"), touch=False) is None
    assert orders.fill(order, tick("99", seconds=-1), before=Decimal("101"), touch=False) is None
    assert orders.fill(order, tick("99", seconds=59), before=Decimal("101"), touch=False) == Decimal("99")


def test_an_arriving_limit_beyond_the_market_takes_the_market_price_up_to_its_limit():
    # placed at 100 while the ask is 99.05: a marketable limit buys at the ask
    assert orders.fill(limit_buy(), tick("99", bid="98.95", ask="99.05"), before=None, arriving=True) == Decimal(
        "99.05"
    )
    # the market at 101: it works
    assert orders.fill(limit_buy(), tick("101"), before=None, touch=False, arriving=True) is None


@pytest.mark.parametrize(
    ("expires_in", "expected"),
    [(90, T + timedelta(seconds=90)), ("day", T + timedelta(hours=14)), ("gtc", None)],
)
def test_an_order_expires_after_its_seconds_at_the_end_of_its_day_or_never(expires_in, expected):
    assert orders.expires_at(expires_in, placed_at=T, day_end=T + timedelta(hours=14)) == expected


def test_the_expiry_reason_says_how_long_the_order_worked():
    words = orders.expiry_words(time_in_force="gtd", placed_at=T, expires_at=T + timedelta(seconds=120), day=T.date())
    assert words == "Not filled within 2 min of being placed."
    assert orders.expiry_words(time_in_force="day", placed_at=T, expires_at=T, day=T.date()) == (
        "Not filled before the end of trading day 2026-11-20."
    )


def test_an_order_out_of_a_batchs_range_is_out_of_reach():
    buy_limit, buy_stop = limit_buy(), orders.Resting("stop", True, Decimal("100"), T, None)
    # a batch trading from 100 to 101
    assert not orders.within_reach(buy_limit, low=Decimal("100"), high=Decimal("101"), touch=False)
    assert orders.within_reach(buy_limit, low=Decimal("100"), high=Decimal("101"), touch=True)
    assert orders.within_reach(buy_stop, low=Decimal("100"), high=Decimal("101"))
    assert not orders.within_reach(buy_stop, low=Decimal("98"), high=Decimal("99.99"))
