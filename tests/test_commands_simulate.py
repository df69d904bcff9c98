"""`simulate` feeds the demo through the real services."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from ledger import selectors
from ledger.days import today
from ledger.management.commands.simulate import START_PRICES
from ledger.models import PaperTrade, PriceCandle, Signal
from tests.helpers import book

from .conftest import NOW, assert_ledger_consistent

# The feed closes the day itself when the day turns, which would close the open trades a test looks for.
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]


def test_simulate_records_signals_opens_moves_and_closes_trades():
    out = StringIO()

    call_command("simulate", steps=300, tick_ms=0, signal_every=3, seed=1, stdout=out)

    assert Signal.objects.count() == 100  # one signal every 3 of 300 ticks
    assert Signal.objects.filter(status=Signal.Status.GENERATED).exists()  # some wait for the trader
    assert PaperTrade.objects.filter(status__in=[PaperTrade.Status.STOP_LOSS, PaperTrade.Status.TAKE_PROFIT]).exists()
    assert PaperTrade.objects.filter(status=PaperTrade.Status.OPEN).exclude(current_price=F("entry_price")).exists()
    assert "Opened #" in out.getvalue()
    assert_ledger_consistent()
    # the ticks went into candles: the clock stands still, so one candle per symbol, of the 300 ticks less those
    # that repeated the price before them at the same instant (ignored as the same tick again)
    candles = {c.symbol: (c.minute, c.ticks) for c in PriceCandle.objects.all()}
    assert sorted(candles) == sorted(START_PRICES)
    assert {minute for minute, _ in candles.values()} == {NOW}, candles
    assert all(250 <= ticks <= 300 for _, ticks in candles.values()), candles


def test_simulated_signals_are_at_the_market_with_stops_that_pay_the_fees():
    call_command("simulate", steps=60, tick_ms=0, signal_every=3, seed=3, stdout=StringIO())

    for trade in PaperTrade.objects.select_related("signal"):
        # the fill is the ask or bid a basis point from the signal's price, the price of that moment
        assert abs(trade.entry_price - trade.signal.entry_price) / trade.signal.entry_price <= Decimal("0.0002")
        # the stop is 3% away: fifteen round trips of the 0.1% fee
        assert abs(trade.signal.entry_price - trade.stop_loss) / trade.signal.entry_price >= Decimal("0.0299")
    refused = Signal.objects.filter(status=Signal.Status.EXPIRED)
    assert all(signal.status_reason.startswith("Not executed: ") for signal in refused)
    # sized at 1% risk, a trade takes a third of the cash, so the demo keeps several open, not one that takes it all
    assert PaperTrade.objects.filter(status=PaperTrade.Status.OPEN).count() >= 2


def test_simulate_refuses_nonsense_options():
    with pytest.raises(CommandError, match="--signal-every"):
        call_command("simulate", steps=1, signal_every=0)


def test_the_demo_leaves_the_trader_signals_to_take_and_trades_that_end():
    call_command("simulate", steps=900, tick_ms=0, seed=11, stdout=StringIO())

    waiting = [
        s for s in selectors.signals_board(book(), today(), size=20, at=NOW) if s.status == Signal.Status.GENERATED
    ]
    assert [s for s in waiting if s.plan], [s.refusal for s in waiting]  # some the trader can take now
    assert PaperTrade.objects.filter(status__in=[PaperTrade.Status.STOP_LOSS, PaperTrade.Status.TAKE_PROFIT]).exists()
    assert PaperTrade.objects.filter(status=PaperTrade.Status.OPEN).count() <= 2  # the bot leaves a trade's cash free
