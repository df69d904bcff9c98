"""Every refusal is a clear LedgerError naming the field, and nothing is written."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from ledger import services
from ledger.errors import AlreadyClosed, InvalidInput, InvalidTransition, NotFound, SignalConflict
from ledger.inputs import SignalFields, Tick
from ledger.models import PaperTrade, Signal
from tests.helpers import book

from .conftest import T0, row_counts

pytestmark = pytest.mark.django_db

GOOD = {
    "signal_id": "s-1",
    "symbol": "BTCUSDT",
    "action": "BUY",
    "entry_price": Decimal("100"),
    "confidence": Decimal("0.5"),
    "timestamp": T0,
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"action": "HOLD"}, "action"),
        ({"entry_price": Decimal("0")}, "entry_price"),
        ({"entry_price": Decimal("-5")}, "entry_price"),
        ({"entry_price": Decimal("NaN")}, "entry_price"),
        ({"entry_price": Decimal("Infinity")}, "entry_price"),
        ({"entry_price": Decimal("1e30")}, "entry_price"),
        ({"entry_price": 100.5}, "entry_price"),  # a float: refused, prices are exact decimals
        ({"entry_price": "abc"}, "entry_price"),
        ({"confidence": Decimal("2")}, "confidence"),
        ({"confidence": Decimal("-0.1")}, "confidence"),
        ({"symbol": "BTC USDT"}, "symbol"),
        ({"symbol": ""}, "symbol"),
        ({"signal_id": ""}, "signal_id"),
        ({"signal_id": "x" * 65}, "signal_id"),
        ({"timeframe": "1 hour"}, "timeframe"),
        ({"confluences": ["ok", ""]}, "confluences"),
        ({"stop_loss": Decimal("101")}, "stop_loss"),  # a BUY's stop above entry
        ({"take_profit": Decimal("99")}, "take_profit"),  # a BUY's target below entry
        ({"action": "SELL", "stop_loss": Decimal("99")}, "stop_loss"),  # a SELL's stop below entry
        ({"action": "SELL", "take_profit": Decimal("101")}, "take_profit"),
    ],
)
def test_bad_signal_is_refused_naming_the_field(change, field):
    with pytest.raises(InvalidInput) as refused:
        services.signal_record(signal=SignalFields(**(GOOD | change)))

    assert refused.value.field == field
    assert row_counts() == (0, 0)


def test_naive_timestamp_is_refused():
    with pytest.raises(InvalidInput) as refused:
        services.signal_record(signal=SignalFields(**(GOOD | {"timestamp": T0.replace(tzinfo=None)})))

    assert refused.value.field == "timestamp"
    assert row_counts() == (0, 0)


def test_replayed_signal_id_with_a_different_body_is_a_conflict(make_signal):
    make_signal(signal_id="dup", entry_price=Decimal("100"))

    with pytest.raises(SignalConflict) as refused:
        services.signal_record(signal=SignalFields(**(GOOD | {"signal_id": "dup", "entry_price": Decimal("101")})))

    assert "entry_price" in refused.value.message
    assert Signal.objects.get(signal_id="dup").entry_price == Decimal("100")
    assert row_counts() == (1, 0)


def test_executing_an_expired_signal_is_refused(make_signal):
    signal = make_signal()
    services.signal_expire(signal_id=signal.signal_id)

    with pytest.raises(InvalidTransition, match="is expired; only a waiting signal"):
        services.signal_execute(signal_id=signal.signal_id, at=T0)

    assert row_counts() == (1, 0)
    assert Signal.objects.get().status == Signal.Status.EXPIRED


def test_executing_a_signal_twice_is_refused(open_trade):
    trade = open_trade()

    with pytest.raises(InvalidTransition, match="is executed; only a waiting signal"):
        services.signal_execute(signal_id=trade.signal_id, at=T0)

    assert row_counts() == (1, 1)


def test_executing_a_signal_of_a_day_that_ended_is_refused(make_signal):
    signal = make_signal()

    with pytest.raises(InvalidTransition, match="has ended"):
        services.signal_execute(signal_id=signal.signal_id, at=T0 + timedelta(days=1))

    assert row_counts() == (1, 0)


def test_executing_an_unknown_signal_is_not_found():
    with pytest.raises(NotFound):
        services.signal_execute(signal_id="nope", at=T0)


def test_closing_a_closed_trade_is_refused_and_changes_nothing(open_trade):
    trade = open_trade()
    services.trade_close(trade_id=trade.pk, price=Decimal("102"), at=T0 + timedelta(minutes=2))
    before = PaperTrade.objects.values().get(pk=trade.pk), book().realized_pnl_total

    with pytest.raises(AlreadyClosed):
        services.trade_close(trade_id=trade.pk, price=Decimal("90"), at=T0 + timedelta(minutes=3))

    assert (PaperTrade.objects.values().get(pk=trade.pk), book().realized_pnl_total) == before


def test_expiring_an_executed_signal_is_refused(open_trade):
    trade = open_trade()

    with pytest.raises(InvalidTransition):
        services.signal_expire(signal_id=trade.signal_id)

    assert Signal.objects.get().status == Signal.Status.EXECUTED


def test_a_bad_tick_is_refused_alone_and_the_others_of_its_batch_are_applied(open_trade):
    trade = open_trade()
    ticks = [Tick("BTCUSDT", Decimal("99"), T0 + timedelta(minutes=5)), Tick("BTCUSDT", Decimal("-1"), T0)]

    result = services.prices_apply(ticks=ticks)

    assert [(r.number, r.symbol, r.field) for r in result.refused] == [(1, "BTCUSDT", "ticks[1].price")]
    assert result.refused[0].message.startswith("tick 1: price must be from")
    trade.refresh_from_db()
    assert trade.current_price == Decimal("99")  # the good tick was applied


def test_database_refuses_a_closed_trade_without_exit(open_trade):
    trade = open_trade()
    with pytest.raises(IntegrityError), transaction.atomic():
        PaperTrade.objects.filter(pk=trade.pk).update(status=PaperTrade.Status.MANUAL_CLOSE)

    assert PaperTrade.objects.get().status == PaperTrade.Status.OPEN


def test_an_entry_price_that_would_buy_more_units_than_the_ledger_holds_is_refused(settings, make_signal):
    settings.PAPER_STARTING_BALANCE = Decimal("1000000000")  # risk 1% = 10,000,000
    signal = make_signal(entry_price=Decimal("0.001"), stop_loss=Decimal("0.00098"))  # 1e7 / 0.00002 = 5e11 units

    with pytest.raises(InvalidInput) as refused:
        services.signal_execute(signal_id=signal.signal_id, at=T0)

    assert refused.value.field == "entry_price"
    assert row_counts() == (1, 0)


def test_a_tick_that_would_value_a_trade_beyond_the_columns_is_refused_and_the_batch_still_stops_out_another(
    open_trade,
):
    tiny = open_trade(action="SELL", entry_price=Decimal("0.0001"))  # stop 0.000102: 100 / 0.000002 = 5e7 units
    long = open_trade(symbol="ETHUSDT")  # LONG at 100, stop 98
    at = T0 + timedelta(minutes=5)
    gap = Tick("BTCUSDT", Decimal("99999999999"), at)  # a stop fills at the tick: a loss of ~5e18
    through_stop = Tick("ETHUSDT", Decimal("97"), at)

    result = services.prices_apply(ticks=[gap, through_stop])

    assert [(r.number, r.field) for r in result.refused] == [(0, "ticks[0].price")]
    assert "beyond what the ledger holds" in result.refused[0].message
    tiny.refresh_from_db()
    long.refresh_from_db()
    assert (tiny.status, tiny.current_price) == (PaperTrade.Status.OPEN, Decimal("0.0001"))
    assert (long.status, long.exit_price) == (PaperTrade.Status.STOP_LOSS, Decimal("97"))  # no slippage in tests


def test_an_intake_the_market_refuses_is_recorded_expired_with_the_reason():
    # GOOD is stamped on the tests' fixed day, which has ended by now: executing it now is refused.
    intake = services.signal_intake(signal=SignalFields(**GOOD))

    assert (intake.created, intake.trade) == (True, None)
    assert "has ended" in intake.refused
    signal = Signal.objects.get()
    assert (signal.status, signal.status_reason) == (Signal.Status.EXPIRED, f"Not executed: {intake.refused}")
    assert row_counts() == (1, 0)
