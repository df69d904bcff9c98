"""The life of a signal and its trade, by numbers worked out by hand from the rules of docs/domain.md."""

from datetime import timedelta
from decimal import Decimal

import pytest

from ledger import selectors, services
from ledger.days import trading_day
from ledger.inputs import SignalFields, Tick
from ledger.models import PaperTrade, Signal
from tests.helpers import book

from .conftest import T0

pytestmark = pytest.mark.django_db


def test_buy_signal_opens_long_with_default_levels_size_risk_and_fee(open_trade):
    trade = open_trade(entry_price=Decimal("100"))

    assert trade.direction == PaperTrade.Direction.LONG
    assert trade.stop_loss == Decimal("98")  # 100 * (1 - 0.02)
    assert trade.take_profit == Decimal("104")  # 100 + 2 * |100 - 98|
    assert trade.risk_amount == Decimal("100")  # 10000 * 0.01
    assert trade.position_size == Decimal("50")  # 100 / |100 - 98|
    assert trade.fees == Decimal("10")  # entry 0.001*100*50 = 5, and 5 more to exit at 100
    assert trade.unrealized_pnl == Decimal("-10")  # closing at entry costs both fees
    assert trade.current_price == Decimal("100")
    assert Signal.objects.get(signal_id=trade.signal_id).status == Signal.Status.EXECUTED


def test_tick_marks_unrealized_pnl_to_the_cent(open_trade):
    trade = open_trade()

    result = services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("101"), T0 + timedelta(minutes=5))])

    trade.refresh_from_db()
    assert [t.pk for t in result.marked] == [trade.pk]
    assert trade.current_price == Decimal("101")
    assert trade.fees == Decimal("10.05")  # 5 + 0.001*101*50
    assert trade.unrealized_pnl == Decimal("39.95")  # (101-100)*50 - 10.05


def test_tick_through_stop_closes_at_tick_price(open_trade):
    trade = open_trade()

    result = services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("97.5"), T0 + timedelta(minutes=5))])

    trade.refresh_from_db()
    assert [t.pk for t in result.closed] == [trade.pk]
    assert trade.status == PaperTrade.Status.STOP_LOSS
    assert trade.exit_price == Decimal("97.5")  # a stop fills at the gap price, not at 98
    assert trade.fees == Decimal("9.875")  # 5 + 0.001*97.5*50
    assert trade.realized_pnl == Decimal("-134.875")  # (97.5-100)*50 - 9.875
    assert trade.unrealized_pnl == 0
    assert trade.exit_time == T0 + timedelta(minutes=5)
    assert Signal.objects.get(signal_id=trade.signal_id).status == Signal.Status.CLOSED


def test_short_closes_take_profit_at_its_target_and_equity_adds_up(open_trade):
    long = open_trade()
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("97.5"), T0 + timedelta(minutes=5))])
    assert book().balance == Decimal("9865.125")  # 10000 - 134.875

    short = open_trade(
        symbol="ETHUSDT", action="SELL", entry_price=Decimal("200"), timestamp=T0 + timedelta(minutes=10)
    )
    assert short.direction == PaperTrade.Direction.SHORT
    assert short.stop_loss == Decimal("204")  # 200 * 1.02
    assert short.take_profit == Decimal("192")  # 200 - 2*4
    assert short.risk_amount == Decimal("98.65125")  # 9865.125 * 0.01
    assert short.position_size == Decimal("24.6628125")  # 98.65125 / 4

    services.prices_apply(ticks=[Tick("ETHUSDT", Decimal("191"), T0 + timedelta(minutes=20))])

    short.refresh_from_db()
    assert short.status == PaperTrade.Status.TAKE_PROFIT
    assert short.exit_price == Decimal("192")  # a limit order fills at its own price, not at 191
    # gross 8*24.6628125 = 197.3025; fees 4.9325625 + 4.73526 (0.001*192*24.6628125)
    assert short.realized_pnl == Decimal("187.6346775")
    day = selectors.pnl_daily(book(), trading_day(T0))
    assert day.realized_pnl == Decimal("52.7596775")  # -134.875 + 187.6346775
    assert (day.trades, day.wins) == (2, 1)
    assert book().balance == Decimal("10052.7596775")  # 10000 + 52.7596775
    assert long.pk != short.pk


def test_size_is_shrunk_so_notional_and_entry_fee_fit_in_cash(open_trade, settings):
    settings.PAPER_MIN_RISK_FRACTION = Decimal(0)  # keep the shrunk trade, however little it risks
    trade = open_trade(entry_price=Decimal("100"), stop_loss=Decimal("99.9"))

    # 100/0.1 = 1000 units would cost 100,100; cash 10000 pays 10000 / (100 * 1.001) = 99.90009990 (rounded down):
    # 9990.00999 notional + 9.99000999 fee = 9999.99999999
    assert trade.position_size == Decimal("99.9000999")
    assert trade.risk_amount == Decimal("9.99000999")  # what 99.9000999 units really risk: * 0.1
    assert book().cash == Decimal("0.00000001")


def test_signal_levels_are_used_when_given(open_trade):
    trade = open_trade(action="SELL", entry_price=Decimal("50"), stop_loss=Decimal("55"), take_profit=Decimal("40"))

    assert (trade.stop_loss, trade.take_profit) == (Decimal("55"), Decimal("40"))
    assert trade.position_size == Decimal("20")  # 100 / |50 - 55|


def test_manual_close_at_current_price_realizes_the_last_unrealized_pnl(open_trade):
    trade = open_trade()
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("101"), T0 + timedelta(minutes=5))])

    closed = services.trade_close(trade_id=trade.pk, at=T0 + timedelta(minutes=6))

    assert closed.status == PaperTrade.Status.MANUAL_CLOSE
    assert closed.exit_price == Decimal("101")
    assert closed.realized_pnl == Decimal("39.95")  # the unrealized PnL marked at 101
    assert book().balance == Decimal("10039.95")


def test_ticks_in_one_batch_apply_in_time_order(open_trade):
    trade = open_trade()
    later, earlier = T0 + timedelta(minutes=9), T0 + timedelta(minutes=8)

    # Sent out of order: 97 (through the stop) happened first, so the trade closes there.
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("103"), later), Tick("BTCUSDT", Decimal("97"), earlier)])

    trade.refresh_from_db()
    assert (trade.status, trade.exit_price, trade.exit_time) == (PaperTrade.Status.STOP_LOSS, Decimal("97"), earlier)


def test_tick_before_a_trade_opened_does_not_touch_it(open_trade):
    trade = open_trade()

    result = services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("90"), T0 - timedelta(minutes=1))])

    trade.refresh_from_db()
    assert result.closed == []
    assert result.marked == []
    assert trade.status == PaperTrade.Status.OPEN


def test_tick_for_another_symbol_leaves_trade_alone(open_trade):
    trade = open_trade()

    services.prices_apply(ticks=[Tick("ETHUSDT", Decimal("50"), T0 + timedelta(minutes=5))])

    trade.refresh_from_db()
    assert (trade.status, trade.current_price) == (PaperTrade.Status.OPEN, Decimal("100"))


def test_expire_keeps_the_reason(make_signal):
    signal = make_signal()

    services.signal_expire(signal_id=signal.signal_id, reason="Changed my mind.")

    signal.refresh_from_db()
    assert (signal.status, signal.status_reason) == (Signal.Status.EXPIRED, "Changed my mind.")


def test_replayed_signal_returns_the_first_record(make_signal):
    signal = make_signal(signal_id="tv-1")

    again, created = services.signal_record(
        signal=SignalFields(
            signal_id="tv-1",
            symbol="btcusdt",
            action="buy",
            entry_price="100.00",
            confidence="0.80",
            timestamp=T0,
            timeframe="1h",
            confluences=["trend", "volume"],
        )
    )

    assert (again.pk, created) == (signal.pk, False)
    assert Signal.objects.count() == 1


def test_confluences_are_kept_once_each_trimmed_in_the_order_first_sent(make_signal):
    signal = make_signal(signal_id="set-1", confluences=["trend", " volume", "trend ", "Trend", "volume"])

    assert Signal.objects.get(pk=signal.pk).confluences == ["trend", "volume", "Trend"]  # exact: case is kept


def test_a_replay_that_only_repeats_a_confluence_is_the_same_signal(make_signal):
    sent = {"signal_id": "set-2", "symbol": "BTCUSDT", "action": "BUY", "entry_price": "100", "confidence": "0.8"}
    signal = make_signal(**sent, timestamp=T0, confluences=["trend", "volume"])

    again, created = services.signal_record(
        signal=SignalFields(**sent, timestamp=T0, timeframe="1h", confluences=["trend", "volume", "trend"])
    )

    assert (again.pk, created) == (signal.pk, False)


def test_a_signal_sent_without_a_time_is_executed_at_the_moment_it_is_stamped():
    # One moment for both, so a signal arriving a microsecond before midnight is never executed "tomorrow".
    intake = services.signal_intake(
        signal=SignalFields(signal_id="now-1", symbol="BTCUSDT", action="BUY", entry_price="100", confidence="0.5")
    )

    assert intake.trade.entry_time == intake.signal.timestamp


# --- Signals that can no longer be taken lapse by themselves ------------------------------------------


def test_a_tick_expires_the_waiting_signals_older_than_five_minutes_with_the_reason(make_signal):
    old = make_signal(timestamp=T0)
    fresh = make_signal(symbol="ETHUSDT", timestamp=T0 + timedelta(minutes=1))

    applied = services.prices_apply(ticks=[Tick("SOLUSDT", Decimal("150"), T0 + timedelta(minutes=5, seconds=30))])

    assert applied.lapsed == 1
    old.refresh_from_db()
    assert (old.status, old.status_reason) == (Signal.Status.EXPIRED, "Not taken within 5 min of being sent.")
    assert Signal.objects.get(pk=fresh.pk).status == Signal.Status.GENERATED  # 4 min 30 s old: still in time
    assert old.history.latest().status == Signal.Status.EXPIRED  # kept in its history, as every change


def test_a_tick_past_a_waiting_signals_own_stop_expires_it_with_the_reason(make_signal):
    passed = make_signal(timestamp=T0, stop_loss=Decimal("98"), take_profit=Decimal("104"))  # a BUY at 100
    inside = make_signal(symbol="ETHUSDT", timestamp=T0, stop_loss=Decimal("98"), take_profit=Decimal("104"))
    without_levels = make_signal(symbol="SOLUSDT", timestamp=T0)  # its levels follow the fill: never passed

    services.prices_apply(
        ticks=[
            Tick("BTCUSDT", Decimal("97.5"), T0 + timedelta(seconds=30)),
            Tick("ETHUSDT", Decimal("101"), T0 + timedelta(seconds=30)),
            Tick("SOLUSDT", Decimal("50"), T0 + timedelta(seconds=30)),
        ]
    )

    passed.refresh_from_db()
    assert passed.status == Signal.Status.EXPIRED
    assert passed.status_reason == "Not executed: price 97.5 is past the stop 98."  # a BUY fills at 97.5 (no book)
    assert Signal.objects.get(pk=inside.pk).status == Signal.Status.GENERATED
    assert Signal.objects.get(pk=without_levels.pk).status == Signal.Status.GENERATED
