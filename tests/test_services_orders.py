"""Entry orders through the services (services/orders.py): placed from a signal, filled by ticks, expired, cancelled,
and the cash they reserve. Numbers worked out by hand: balance 10,000, risk 1 % (100), fee 0.1 % a side, no
slippage unless a test sets it."""

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledger import selectors, services
from ledger.errors import InvalidInput, InvalidTransition
from ledger.inputs import OrderFields, SignalFields, Tick
from ledger.models import Book, Order, PaperTrade, Signal
from tests.helpers import book

from .conftest import NOW

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]

D = Decimal
_ids = itertools.count(1)


@pytest.fixture
def clock(time_machine):
    """Move the ledger's clock to `seconds` after NOW and return that moment."""

    def at(seconds: float):
        moment = NOW + timedelta(seconds=seconds)
        time_machine.move_to(moment, tick=False)
        return moment

    return at


def place(order_type: str = "limit", *, expires_in=None, symbol="BTCUSDT", action="BUY", price="100", **levels):
    fields = {"stop_loss": D("95"), "take_profit": D("120")} if action == "BUY" else {}
    fields |= {name: D(value) for name, value in levels.items()}
    signal = SignalFields(
        signal_id=f"ord-{next(_ids)}", symbol=symbol, action=action, entry_price=D(price), confidence=D("0.8"), **fields
    )
    return services.signal_intake(signal=signal, order=OrderFields(order_type, expires_in))


def tick(price: str, at, *, symbol="BTCUSDT", bid=None, ask=None):
    bid, ask = (D(bid) if bid else None), (D(ask) if ask else None)
    return services.prices_apply(ticks=[Tick(symbol, D(price), at, bid=bid, ask=ask)])


def account() -> Book:
    return book()


def test_a_buy_limit_at_100_with_the_market_at_101_works_and_reserves_its_cost():
    tick("101", NOW)
    intake = place()
    order = intake.order
    # 100 risked over 100 - 95 = 20 units; 20 × 100 + its 0.1 % fee = 2,002 held back
    assert (order.status, order.size, order.reserved) == (Order.Status.WORKING, D("20"), D("2002"))
    assert intake.trade is None
    assert intake.signal.status == Signal.Status.GENERATED
    assert (account().reserved, account().available) == (D("2002"), D("7998"))
    assert selectors.ledger_violations(book()) == []


def test_a_tick_at_the_limit_leaves_it_working_under_through(clock):
    tick("101", NOW)
    order = place().order
    tick("100", clock(1))
    order.refresh_from_db()
    assert order.status == Order.Status.WORKING


def test_a_tick_at_the_limit_fills_it_under_touch(clock, settings):
    settings.PAPER_LIMIT_FILL = "touch"
    tick("101", NOW)
    order = place().order
    tick("100", clock(1))
    order.refresh_from_db()
    assert (order.status, order.trade.entry_price) == (Order.Status.FILLED, D("100"))


def test_a_tick_at_99_9_after_100_fills_it_at_100(clock):
    tick("101", NOW)
    order = place().order
    tick("100", clock(1))
    applied = tick("99.9", filled_at := clock(2))
    order.refresh_from_db()
    trade = order.trade
    assert applied.filled == [trade]
    assert (order.status, order.filled_at) == (Order.Status.FILLED, filled_at)
    # sized again at the fill, its reservation released: 100 / (100 - 95) = 20 units at 100, marked at 99.9
    assert (trade.entry_price, trade.position_size, trade.entry_slippage, trade.current_price) == (
        D("100"),
        D("20"),
        D("0"),
        D("99.9"),
    )
    assert trade.signal.status == Signal.Status.EXECUTED
    # the reservation became the trade's entry cost: 2,000 + 2 fee
    assert (account().reserved, account().open_cost) == (D("0"), D("2002"))
    assert selectors.ledger_violations(book()) == []


def test_a_gap_to_99_fills_it_at_99(clock):
    tick("101", NOW)
    order = place().order
    tick("99", clock(1))
    order.refresh_from_db()
    # 100 / (99 - 95) = 25 units; 1 better than the signal's price: slippage -1 (against the trader: negative)
    assert (order.trade.entry_price, order.trade.position_size, order.trade.entry_slippage) == (
        D("99"),
        D("25"),
        D("-1"),
    )


def test_it_expires_after_expires_in_as_expired_with_its_reason(clock):
    tick("101", NOW)
    order = place(expires_in=120).order
    assert order.expires_at == NOW + timedelta(seconds=120)
    tick("100.5", clock(60))
    order.refresh_from_db()
    assert order.status == Order.Status.WORKING
    applied = tick("99", clock(120))  # at its expiry: too late to fill it
    order.refresh_from_db()
    assert applied.expired == 1
    assert applied.filled == []
    assert (order.status, order.reason, order.cancelled_at) == (
        Order.Status.EXPIRED,
        "Not filled within 2 min of being placed.",
        NOW + timedelta(seconds=120),
    )
    signal = Signal.objects.get(signal_id=order.signal_id)
    assert (signal.status, signal.status_reason) == (Signal.Status.EXPIRED, "Not filled within 2 min of being placed.")
    assert account().reserved == D("0")
    assert selectors.ledger_violations(book()) == []


def test_a_stop_entry_triggers_at_its_price_and_fills_at_the_ask_against_the_trader(clock):
    tick("99", NOW, bid="98.9", ask="99.1")
    order = place("stop").order
    assert order.status == Order.Status.WORKING
    tick("99.9", clock(1), bid="99.8", ask="100")
    order.refresh_from_db()
    assert order.status == Order.Status.WORKING
    tick("100.2", clock(2), bid="100.1", ask="100.3")
    order.refresh_from_db()
    trade = order.trade
    # a market buy at the ask 100.3: 0.3 against the trader; 100 / (100.3 - 95) = 18.86792452 units (rounded down)
    assert (trade.entry_price, trade.entry_slippage, trade.position_size) == (D("100.3"), D("0.3"), D("18.86792452"))


def test_reserved_cash_refuses_an_entry_that_would_overspend():
    tick("101", NOW)
    tick("2000", NOW, symbol="ETHUSDT")
    # a stop 1 below: 100 units asked, cash pays for 10,000 / (100 × 1.001) = 99.9000999 of them
    order = place(stop_loss="99").order
    assert (order.size, order.reserved) == (D("99.9000999"), D("9999.99999999"))
    refused = place("market", symbol="ETHUSDT", price="2000", stop_loss="1900", take_profit="2200")
    assert refused.trade is None
    assert refused.signal.status == Signal.Status.EXPIRED
    assert "below the smallest trade the account makes" in refused.refused
    assert PaperTrade.objects.count() == 0


def test_a_marketable_limit_fills_at_once_at_the_market_price():
    tick("99", NOW, bid="98.9", ask="99.1")
    intake = place()
    # the limit 100 is above the ask 99.1: bought at once at 99.1, as a marketable limit order is
    assert (intake.order.status, intake.trade.entry_price) == (Order.Status.FILLED, D("99.1"))
    assert intake.signal.status == Signal.Status.EXECUTED


def test_the_end_of_day_expires_day_orders_and_keeps_orders_until_cancelled():
    tick("101", NOW)
    day_order, gtc = place().order, place(expires_in="gtc", symbol="ETHUSDT").order
    closed = services.day_close(day=NOW.date())
    day_order.refresh_from_db()
    gtc.refresh_from_db()
    assert closed.orders_expired == 1
    assert (day_order.status, day_order.reason) == (
        Order.Status.EXPIRED,
        "Not filled before the end of trading day 2026-11-25.",
    )
    assert Signal.objects.get(signal_id=day_order.signal_id).status == Signal.Status.EXPIRED
    assert gtc.status == Order.Status.WORKING
    assert Signal.objects.get(signal_id=gtc.signal_id).status == Signal.Status.GENERATED
    assert account().reserved == gtc.reserved
    assert selectors.ledger_violations(book()) == []


def test_a_working_order_outlives_the_signals_age_limit(clock):
    tick("101", NOW)
    order = place().order
    tick("100.5", clock(600))  # twice PAPER_SIGNAL_MAX_AGE
    order.refresh_from_db()
    assert order.status == Order.Status.WORKING
    assert Signal.objects.get(signal_id=order.signal_id).status == Signal.Status.GENERATED


def test_cancel_releases_the_reservation_and_expires_the_signal_once():
    tick("101", NOW)
    order = place().order
    cancelled = services.order_cancel(order_id=order.pk)
    assert (cancelled.status, cancelled.reason) == (Order.Status.CANCELLED, "Cancelled by hand.")
    assert cancelled.signal.status == Signal.Status.EXPIRED
    assert account().reserved == D("0")
    with pytest.raises(InvalidTransition) as error:
        services.order_cancel(order_id=order.pk)
    assert error.value.field == "order_id"


def test_a_signal_with_a_working_order_is_not_executed_at_the_market():
    tick("101", NOW)
    order = place().order
    with pytest.raises(InvalidTransition):
        services.signal_execute(signal_id=order.signal_id)


def test_expiring_the_signal_by_hand_cancels_its_order():
    tick("101", NOW)
    order = place().order
    services.signal_expire(signal_id=order.signal_id, reason="Changed my mind.")
    order.refresh_from_db()
    assert (order.status, order.reason) == (Order.Status.CANCELLED, "Changed my mind.")
    assert account().reserved == D("0")


def test_a_limit_or_stop_needs_execute_and_a_market_order_no_expiry():
    signal = SignalFields(signal_id="x-1", symbol="BTCUSDT", action="BUY", entry_price=D("100"), confidence=D("1"))
    with pytest.raises(InvalidInput) as error:
        services.signal_intake(signal=signal, execute=False, order=OrderFields("limit"))
    assert error.value.field == "execute"
    with pytest.raises(InvalidInput) as error:
        services.signal_intake(signal=signal, order=OrderFields("market", 60))
    assert error.value.field == "expires_in"
    with pytest.raises(InvalidInput) as error:
        services.signal_intake(signal=signal, order=OrderFields("limit", "week"))
    assert error.value.field == "expires_in"
    assert not Signal.objects.exists()


def test_a_tick_costs_the_same_queries_however_many_orders_work_out_of_its_reach(clock, settings):
    settings.PAPER_RISK_PER_TRADE = D("0.001")  # 2 units each: cash holds them all
    tick("101", NOW)
    place()

    def queries(seconds: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            tick("100.5", clock(seconds))
        return len(captured)

    one = queries(1)
    for _ in range(20):
        place()
    assert queries(2) == one
    assert Order.objects.filter(status=Order.Status.WORKING).count() == 21


def test_an_order_the_rules_refuse_at_its_fill_is_cancelled_with_the_reason(clock):
    tick("101", NOW)
    order = place().order
    tick("94", clock(1))  # a gap from 101 to 94: the fill at 94 is past the stop, 95
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert order.reason.startswith("Not filled: ")
    assert "95" in order.reason
    signal = Signal.objects.get(signal_id=order.signal_id)
    assert (signal.status, signal.status_reason) == (Signal.Status.EXPIRED, order.reason)
    assert not PaperTrade.objects.exists()
    assert account().reserved == D("0")
    assert selectors.ledger_violations(book()) == []
