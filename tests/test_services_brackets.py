"""Brackets through the services, hand-computed (issue 25): targets' parts, break-even, the trailing stop, and the
executions each write records. PAPER_FEE_RATE 0.001, no slippage (tests/settings.py); the account risks 1% of
10,000 = 100, so BUY at 100 with its stop at 98 opens 50 units."""

from datetime import timedelta
from decimal import Decimal

import pytest

from ledger import selectors, services
from ledger.errors import InvalidInput
from ledger.inputs import SignalFields, Tick
from ledger.models import Execution, MarketLot, PaperTrade
from tests.helpers import book

from .conftest import T0, assert_ledger_consistent

pytestmark = pytest.mark.django_db
LADDER = {
    "stop_loss": Decimal("98"),
    "targets": [{"price": "110", "fraction": "0.5"}, {"price": "120", "fraction": "0.5"}],
    "break_even_after": 1,
}


def at(minutes: int):
    return T0 + timedelta(minutes=minutes)


def ticks(*prices: str, start: int = 2) -> list[Tick]:
    return [Tick("BTCUSDT", Decimal(price), at(start + n)) for n, price in enumerate(prices)]


def executions(trade: PaperTrade) -> list[tuple]:
    return list(trade.executions.values_list("kind", "price", "size", "fee", "pnl", "reason"))


def test_half_at_110_moves_the_stop_to_break_even_and_a_tick_at_the_entry_closes_the_rest(open_trade):
    trade = open_trade(**LADDER)

    services.prices_apply(ticks=ticks("110"))
    trade.refresh_from_db()
    assert (trade.status, trade.stop_loss, trade.take_profit) == ("OPEN", Decimal("100.2"), Decimal("120"))
    # Half realized: 10 x 25 - its exit fee 2.75 - its share of the entry fee 2.5 = 244.75, already in the balance;
    # the open cost gives back the 25 units' entry cost, 2,500 + 2.5 (5,005 held for 50 -> 2,502.5).
    account = book()
    assert (account.realized_pnl_total, account.open_cost) == (Decimal("244.75"), Decimal("2502.5"))

    services.prices_apply(ticks=ticks("100", start=3))
    trade.refresh_from_db()

    assert executions(trade) == [
        ("entry", Decimal("100"), Decimal("50"), Decimal("5"), Decimal("0"), "ENTRY"),
        ("exit", Decimal("110"), Decimal("25"), Decimal("2.75"), Decimal("244.75"), "TAKE_PROFIT"),
        ("exit", Decimal("100"), Decimal("25"), Decimal("2.5"), Decimal("-5"), "STOP_LOSS"),  # 0 - 2.5 - 2.5
    ]
    assert trade.realized_pnl == Decimal("239.75") == Decimal("244.75") + Decimal("-5")
    assert (trade.status, trade.exit_price, trade.fees) == ("STOP_LOSS", Decimal("105"), Decimal("10.25"))
    assert trade.risk_amount == Decimal("100")  # the risk it opened with, whatever its later stops
    account = book()
    assert (account.realized_pnl_total, account.open_cost) == (Decimal("239.75"), Decimal("0"))
    assert selectors.ledger_violations(book()) == []


def test_a_two_percent_trailing_stop_follows_105_to_102_9_and_never_moves_back(open_trade):
    trade = open_trade(stop_loss=Decimal("98"), take_profit=Decimal("120"), trailing_stop={"percent": "2"})

    services.prices_apply(ticks=ticks("105", "103", "104"))
    trade.refresh_from_db()
    assert trade.stop_loss == Decimal("102.9")  # 105 x 0.98; 104 x 0.98 = 101.92 does not move it back

    services.prices_apply(ticks=ticks("102.8", start=6))
    trade.refresh_from_db()
    # A market order at 102.8 (no slippage): 2.8 x 50 - 5 - 0.001 x 102.8 x 50 (5.14) = 129.86.
    assert (trade.status, trade.exit_price, trade.realized_pnl) == ("STOP_LOSS", Decimal("102.8"), Decimal("129.86"))
    assert selectors.ledger_violations(book()) == []


def test_a_close_by_hand_of_a_half_closed_trade_closes_the_rest_once(open_trade):
    trade = open_trade(**LADDER)
    services.prices_apply(ticks=ticks("110"))

    closed = services.trade_close(trade_id=trade.pk, price=Decimal("112"), at=at(4))

    # The rest at 112: 12 x 25 - 2.5 - 2.8 = 294.7; with the first half's 244.75, 539.45.
    assert (closed.status, closed.realized_pnl) == ("MANUAL_CLOSE", Decimal("539.45"))
    assert closed.exit_price == Decimal("111")
    assert [row[-1] for row in executions(closed)] == ["ENTRY", "TAKE_PROFIT", "MANUAL_CLOSE"]
    assert book().realized_pnl_total == Decimal("539.45")
    assert selectors.ledger_violations(book()) == []


def test_the_end_of_day_closes_a_half_closed_trade_at_the_average_of_its_exits(open_trade):
    trade = open_trade(**LADDER)
    services.prices_apply(ticks=ticks("110", "108"))

    (closed,) = services.day_close(day=T0.date(), at=at(10)).closed
    trade.refresh_from_db()

    # The rest at its last mark 108: 8 x 25 - 2.5 - 2.7 = 194.8; 244.75 + 194.8 = 439.55; (2,750 + 2,700) / 50 = 109.
    assert (trade.status, trade.realized_pnl, trade.exit_price) == ("EOD_CLOSE", Decimal("439.55"), Decimal("109"))
    assert executions(trade)[-1] == ("exit", Decimal(108), Decimal(25), Decimal("2.7"), Decimal("194.8"), "EOD_CLOSE")
    assert selectors.ledger_violations(book()) == []
    assert_ledger_consistent()


def test_a_trade_without_a_bracket_has_one_entry_and_one_exit(closed_trade):
    # conftest's closed_trade: 50 from 100, closed by hand at 101, realized 39.95.
    assert executions(closed_trade) == [
        ("entry", Decimal("100"), Decimal("50"), Decimal("5"), Decimal("0"), "ENTRY"),
        ("exit", Decimal("101"), Decimal("50"), Decimal("5.05"), Decimal("39.95"), "MANUAL_CLOSE"),
    ]


def test_the_targets_parts_are_in_the_markets_lot_steps(open_trade):
    MarketLot.objects.create(symbol="BTCUSDT", step=Decimal("0.01"), source="test")
    trade = open_trade(
        stop_loss=Decimal("98"), targets=[{"price": "110", "fraction": "0.333"}, {"price": "120", "fraction": "0.667"}]
    )

    # 50 units: 0.333 x 50 = 16.65 (a multiple of 0.01); the last takes 33.35.
    assert [target["size"] for target in trade.bracket["targets"]] == ["16.65", "33.35"]


def test_a_corrected_exit_execution_recomputes_the_trade_and_the_account(open_trade):
    trade = open_trade(**LADDER)
    services.prices_apply(ticks=ticks("110", "100"))
    first_exit = trade.executions.get(reason="TAKE_PROFIT")

    services.execution_correct(execution_id=first_exit.pk, changes={"price": "111"})
    trade.refresh_from_db()

    # 11 x 25 - 2.775 - 2.5 = 269.725 for the first half; the rest's -5 as before: 264.725.
    assert trade.realized_pnl == Decimal("264.725")
    assert trade.exit_price == Decimal("105.5")  # (25 x 111 + 25 x 100) / 50
    assert book().realized_pnl_total == Decimal("264.725")
    assert first_exit.history.first().history_change_reason == "corrected"
    assert selectors.ledger_violations(book()) == []


@pytest.mark.parametrize(
    ("bracket", "field", "says"),
    [
        (
            {"targets": [{"price": "110", "fraction": "0.5"}, {"price": "120", "fraction": "0.4"}]},
            "targets",
            "add up to 0.9; they must add up to 1",
        ),
        ({"targets": [{"price": "90", "fraction": "1"}]}, "targets[0].price", "must be above the entry price 100"),
        (
            {"targets": [{"price": "120", "fraction": "0.5"}, {"price": "110", "fraction": "0.5"}]},
            "targets[1].price",
            "in order away from the entry",
        ),
        ({"targets": [{"price": "110", "fraction": "0"}]}, "targets[0].fraction", "above 0 and at most 1"),
        ({"take_profit": Decimal("110"), "targets": [{"price": "110", "fraction": "1"}]}, "take_profit", "not both"),
        ({"break_even_after": 1}, "break_even_after", "needs two targets"),
        ({"trailing_stop": {"distance": "1", "percent": "2"}}, "trailing_stop", "not both"),
        ({"trailing_stop": {"percent": "100"}}, "trailing_stop.percent", "below 100"),
        (
            {"trailing_stop": {"distance": "1", "activation_price": "99"}},
            "trailing_stop.activation_price",
            "profit side",
        ),
    ],
)
def test_a_bad_bracket_is_refused_naming_the_field(make_signal, bracket, field, says):
    with pytest.raises(InvalidInput) as refused:
        make_signal(**bracket)

    assert refused.value.field == field
    assert says in refused.value.message


def test_one_target_of_fraction_1_is_a_take_profit(make_signal):
    signal = make_signal(targets=[{"price": "110", "fraction": "1"}])

    assert (signal.take_profit, signal.bracket) == (Decimal("110"), {})


def test_a_replayed_bracket_signal_is_the_same_signal(make_signal):
    signal = make_signal(signal_id="ladder-1", **LADDER)

    again, created = services.signal_record(
        signal=SignalFields(
            signal_id="ladder-1",
            symbol="BTCUSDT",
            action="BUY",
            entry_price=Decimal("100"),
            confidence=Decimal("0.8"),
            timestamp=T0,
            timeframe="1h",
            confluences=["trend", "volume"],
            **LADDER,
        )
    )

    assert (again.pk, created) == (signal.pk, False)
    assert Execution.objects.count() == 0  # recorded, not executed
