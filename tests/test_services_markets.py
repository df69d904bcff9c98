"""Each market's lot rules, shorts on margin and their liquidation, and entries too small to count in R, through
the services on either database. Numbers worked out by hand (docs/fills.md)."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from ledger import services, sizing
from ledger.errors import NotExecutable
from ledger.inputs import Candle, SignalFields, Tick
from ledger.models import MarketLot, PaperTrade, Signal
from tests.helpers import book

from .conftest import T0

pytestmark = pytest.mark.django_db

LATER = T0 + timedelta(minutes=5)


def lots(**by_symbol: sizing.Lot) -> None:
    services.market_lots_record(lots=by_symbol, source="binance")


def check_ledger() -> str:
    out = StringIO()
    call_command("check_ledger", stdout=out)  # raises CommandError, exit 1, on any violation
    return out.getvalue()


# --- Lot sizes --------------------------------------------------------------------------------------


def test_a_size_is_rounded_down_to_its_market_s_step(open_trade, settings):
    settings.PAPER_STARTING_BALANCE = Decimal("1234")
    lots(ETHUSDT=sizing.Lot(step=Decimal("0.01"), min_amount=Decimal("0.01"), min_cost=Decimal("5")))

    trade = open_trade(symbol="ETHUSDT", entry_price=Decimal("1000"), stop_loss=Decimal("900"))

    # risk 1% of 1234 = 12.34 over |1000 - 900| = 0.1234 units; in steps of 0.01: 0.12
    assert trade.position_size == Decimal("0.12")
    assert trade.risk_amount == Decimal("12")  # what 0.12 really risks: 0.12 * 100
    assert book().cash == Decimal("1113.88")  # 1234 - 120 - 0.12 fee


def test_a_market_without_rules_follows_the_settings(open_trade, settings):
    settings.PAPER_STARTING_BALANCE = Decimal("1234")
    settings.PAPER_LOT_STEP = Decimal("0.001")
    lots(ETHUSDT=sizing.Lot(step=Decimal("0.01"), min_amount=Decimal(0), min_cost=Decimal(0)))

    trade = open_trade(symbol="SOLUSDT", entry_price=Decimal("1000"), stop_loss=Decimal("900"))

    assert trade.position_size == Decimal("0.123")  # 0.1234 in PAPER_LOT_STEP's steps of 0.001


def test_an_entry_below_the_market_s_minimum_amount_expires_with_the_reason(settings):
    settings.PAPER_STARTING_BALANCE = Decimal("1234")
    lots(ETHUSDT=sizing.Lot(step=Decimal("0.01"), min_amount=Decimal("0.5"), min_cost=Decimal(0)))

    intake = services.signal_intake(
        signal=SignalFields(
            signal_id="small-1", symbol="ETHUSDT", action="BUY", entry_price="1000", stop_loss="900", confidence="0.5"
        )
    )

    assert intake.trade is None
    assert intake.signal.status == Signal.Status.EXPIRED
    assert intake.signal.status_reason == (
        "Not executed: a size of 0.12 ETHUSDT is below the market's minimum amount 0.5."
    )
    assert not PaperTrade.objects.exists()


def test_a_market_s_rules_are_replaced_when_its_exchange_changes_them():
    lots(ETHUSDT=sizing.Lot(step=Decimal("0.01"), min_amount=Decimal(0), min_cost=Decimal(0)))
    lots(ETHUSDT=sizing.Lot(step=Decimal("0.001"), min_amount=Decimal("0.001"), min_cost=Decimal("5")))

    (row,) = MarketLot.objects.all()
    assert (row.step, row.min_amount, row.min_cost, row.source) == (
        Decimal("0.001"),
        Decimal("0.001"),
        Decimal("5"),
        "binance",
    )


# --- R that means what it says ----------------------------------------------------------------------


def test_a_trade_shrunk_to_a_tenth_of_its_risk_is_not_opened(make_signal):
    signal = make_signal(entry_price=Decimal("100"), stop_loss=Decimal("99.9"))

    # 100 / 0.1 = 1000 units wanted; cash 10000 pays 99.9000999, risking 9.99000999 of the 100 asked
    with pytest.raises(NotExecutable) as refused:
        services.signal_execute(signal_id=signal.signal_id, at=T0 + timedelta(minutes=1))

    assert "risks 9.99000999 of the 100 asked: less than the 0.5 of it a trade must risk" in refused.value.message
    assert Signal.objects.get(pk=signal.pk).status == Signal.Status.GENERATED  # Execute by hand: nothing written


# --- Shorts on margin -------------------------------------------------------------------------------


def test_a_short_holds_its_collateral_out_of_cash(open_trade, settings):
    settings.PAPER_SHORT_MARGIN = Decimal("0.5")

    trade = open_trade(action="SELL", entry_price=Decimal("100"), stop_loss=Decimal("102"))

    assert (trade.position_size, trade.margin) == (Decimal("50"), Decimal("0.5"))
    assert book().cash == Decimal("7495")  # 10000 - 0.5 * 5000 - 5 fee
    assert check_ledger() == "ledger consistent\n"


def test_a_short_gapped_to_two_and_a_half_times_its_entry_is_liquidated_and_the_ledger_checks(open_trade):
    trade = open_trade(action="SELL", entry_price=Decimal("100"), stop_loss=Decimal("102"))  # 50 units

    result = services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("250"), LATER)])

    trade.refresh_from_db()
    assert [t.pk for t in result.closed] == [trade.pk]
    assert (trade.status, trade.exit_price, trade.exit_time) == (PaperTrade.Status.LIQUIDATION, Decimal("250"), LATER)
    assert trade.fees == Decimal("17.5")  # 0.001 * 100 * 50 + 0.001 * 250 * 50
    assert trade.realized_pnl == Decimal("-7517.5")  # -(250 - 100) * 50 - 17.5: beyond its collateral of 5000
    assert Signal.objects.get(signal_id=trade.signal_id).status == Signal.Status.CLOSED
    account = book()
    assert (account.balance, account.cash, account.deficit) == (Decimal("2482.5"), Decimal("2482.5"), 0)
    assert check_ledger() == "ledger consistent\n"


def test_a_leveraged_short_is_liquidated_before_its_stop(open_trade, settings):
    settings.PAPER_SHORT_MARGIN = Decimal("0.1")
    trade = open_trade(action="SELL", entry_price=Decimal("100"), stop_loss=Decimal("115"), take_profit=Decimal("80"))

    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("109.49"), LATER)])
    assert PaperTrade.objects.get(pk=trade.pk).is_open  # below 100 * (1 + 0.1 - 0.005) = 109.5
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("109.5"), LATER + timedelta(seconds=1))])

    trade.refresh_from_db()
    # 100 / 15 = 6.66666666 units; a loss of 9.5 * 6.66666666 = 63.33333327, fees 0.66666667 + 0.73 (109.5 * 6.67e-3)
    assert (trade.status, trade.exit_price) == (PaperTrade.Status.LIQUIDATION, Decimal("109.5"))
    assert trade.realized_pnl == Decimal("-64.72999994")  # -63.33333327 - 1.39666667
    assert check_ledger() == "ledger consistent\n"


def test_a_gap_beyond_the_account_leaves_a_deficit_that_is_said_and_refuses_entries(open_trade, make_signal):
    trade = open_trade(action="SELL", entry_price=Decimal("100"), stop_loss=Decimal("102"))  # 50 units
    waiting = make_signal(symbol="ETHUSDT", timestamp=T0 + timedelta(minutes=5))

    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("1000"), LATER)])

    trade.refresh_from_db()
    assert trade.realized_pnl == Decimal("-45055")  # -(1000 - 100) * 50 - (5 + 50) fees
    account = book()
    assert (account.balance, account.cash, account.deficit) == (Decimal("-35055"), Decimal("-35055"), Decimal("35055"))
    assert check_ledger() == (
        "ledger consistent\naccount in deficit: cash -35055, balance -35055; a gap took a loss beyond its "
        "collateral, and no entry is taken until cash is positive again.\n"
    )
    with pytest.raises(NotExecutable, match="the account is in deficit"):
        services.signal_execute(signal_id=waiting.signal_id, at=LATER)


def test_a_backfill_liquidates_a_short_whose_missed_minutes_reached_its_liquidation_price(open_trade, settings):
    settings.PAPER_SHORT_MARGIN = Decimal("0.1")
    trade = open_trade(action="SELL", entry_price=Decimal("100"), stop_loss=Decimal("115"), take_profit=Decimal("80"))
    minute = T0 + timedelta(minutes=2)

    result = services.candles_backfill(
        symbol="BTCUSDT", candles=[Candle(minute, Decimal("100"), Decimal("110"), Decimal("99"), Decimal("101"))]
    )

    # 110 is past the liquidation price, 100 * (1 + 0.1 - 0.005) = 109.5, and short of the stop at 115
    assert result.closed == [
        f"#{trade.pk} SHORT BTCUSDT: closed at 109.5, its liquidation price reached in the "
        f"{minute:%Y-%m-%d %H:%M} candle while the feed was down"
    ]
    closed = PaperTrade.objects.get(pk=trade.pk)
    assert (closed.status, closed.exit_price, closed.exit_time) == (
        PaperTrade.Status.LIQUIDATION,
        Decimal("109.5"),
        minute,
    )
