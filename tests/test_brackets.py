"""The bracket's rules (ledger/brackets.py) with numbers alone: targets' parts, break-even, the trailing stop, the
executions a trade's columns add up to. PAPER_FEE_RATE 0.001 and no slippage (tests/settings.py)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ledger import brackets, rules
from ledger.errors import NotExecutable
from ledger.inputs import Candle

from .test_rules import position

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LADDER = {
    "targets": [
        {"price": "110", "fraction": "0.5", "size": "25"},
        {"price": "120", "fraction": "0.5", "size": "25"},
    ],
    "break_even_after": 1,
}


def laddered(**values):
    """LONG 50 at 100, stop 98, targets 25 at 110 and 25 at 120, the stop to break even after the first."""
    trade = position(take_profit=Decimal("110"), bracket=LADDER, **values)
    rules.mark(trade, Decimal("100"))
    return trade


def tick(trade, price: str, *, at: datetime = AT) -> list[brackets.Fill]:
    rules.widen(trade, Decimal(price))
    fills = brackets.step(trade, Decimal(price), bid=None, ask=None, at=at)
    if trade.status == "OPEN":
        rules.mark(trade, Decimal(price))
    return fills


def test_sizes_are_the_fractions_in_lot_steps_the_last_target_taking_the_rest():
    bracket = {"targets": [{"price": "110", "fraction": "0.3"}, {"price": "120", "fraction": "0.7"}]}

    sized = brackets.sized(bracket, size=Decimal("0.1234"), step=Decimal("0.01"))

    # 0.3 x 0.1234 = 0.03702, down to the step 0.03; the last takes 0.1234 - 0.03 = 0.0934.
    assert [t["size"] for t in sized["targets"]] == ["0.03", "0.0934"]


def test_a_part_smaller_than_a_lot_step_is_refused_naming_the_target():
    bracket = {"targets": [{"price": "110", "fraction": "0.1"}, {"price": "120", "fraction": "0.9"}]}

    with pytest.raises(NotExecutable) as refused:
        brackets.sized(bracket, size=Decimal("0.05"), step=Decimal("0.01"))

    assert refused.value.field == "targets[0].fraction"
    assert "target 1 (10% of 0.05) is less than one lot step of 0.01" in refused.value.message


def test_the_first_target_closes_its_part_and_the_stop_moves_to_break_even():
    trade = laddered()

    (part,) = tick(trade, "110")

    # 25 at 110: 10 x 25 = 250, less its exit fee 0.001 x 110 x 25 = 2.75 and its share of the entry fee
    # (0.001 x 100 x 50 = 5 for 50 units, 2.5 for 25 left): 244.75.
    assert (part.size, part.price, part.fee, part.pnl, part.reason) == (
        Decimal("25"),
        Decimal("110"),
        Decimal("2.75"),
        Decimal("244.75"),
        "TAKE_PROFIT",
    )
    assert trade.status == "OPEN"
    assert trade.stop_loss == Decimal("100.2")  # 100 + the round-trip fees per unit, 2 x 0.001 x 100
    assert trade.take_profit == Decimal("120")  # the next target
    assert (trade.targets_filled, trade.exited_size, trade.exited_pnl) == (1, Decimal("25"), Decimal("244.75"))
    # Valued at 110: 244.75 + the rest's 250 - 2.5 - 2.75 = 489.5; fees 5 + 2.75 + 2.75 = 10.5.
    assert (trade.unrealized_pnl, trade.fees) == (Decimal("489.5"), Decimal("10.5"))


def test_a_tick_back_at_the_entry_closes_the_rest_at_break_even():
    trade = laddered()
    tick(trade, "110")

    assert tick(trade, "100", at=AT + timedelta(minutes=1)) == []  # the close's execution is read off the trade

    rest = brackets.closing_fill(trade)
    # The rest, 25 at 100: 0 - its entry fee 2.5 - its exit fee 2.5 = -5. Realized 244.75 - 5 = 239.75.
    assert (trade.status, rest.size, rest.price, rest.fee, rest.pnl) == (
        "STOP_LOSS",
        Decimal("25"),
        Decimal("100"),
        Decimal("2.5"),
        Decimal("-5"),
    )
    assert trade.realized_pnl == Decimal("239.75") == Decimal("244.75") + rest.pnl
    assert trade.exit_price == Decimal("105")  # (25 x 110 + 25 x 100) / 50
    assert trade.fees == Decimal("10.25")  # 5 + 2.75 + 2.5


def test_a_tick_through_both_targets_fills_each_at_its_price():
    trade = laddered()

    (first,) = tick(trade, "125")

    assert first.price == Decimal("110")
    # The last target closes the rest at 120: 20 x 25 - 2.5 - 0.001 x 120 x 25 (3) = 494.5; 244.75 + 494.5.
    assert (trade.status, trade.exit_quote, trade.realized_pnl) == ("TAKE_PROFIT", Decimal("120"), Decimal("739.25"))


def test_the_stop_before_any_target_closes_everything():
    trade = laddered()

    tick(trade, "98")

    # 50 at 98: -2 x 50 - 5 - 4.9 = -109.9, as a trade without a bracket.
    assert (trade.status, trade.realized_pnl, trade.exited_size) == ("STOP_LOSS", Decimal("-109.9"), Decimal("0"))


def test_a_two_percent_trailing_stop_follows_105_to_102_9_and_never_moves_back():
    trade = position(take_profit=Decimal("120"), bracket={"trailing_stop": {"percent": "2"}})
    rules.mark(trade, Decimal("100"))

    tick(trade, "105")
    assert trade.stop_loss == Decimal("102.9")  # 105 x 0.98
    tick(trade, "103")
    tick(trade, "104")  # 104 x 0.98 = 101.92, below the stop: it stays
    assert trade.stop_loss == Decimal("102.9")

    tick(trade, "102.9")
    assert (trade.status, trade.exit_price) == ("STOP_LOSS", Decimal("102.9"))


def test_a_shorts_trail_by_distance_waits_for_its_activation_price():
    trade = position(
        "SHORT",
        stop_loss=Decimal("102"),
        take_profit=Decimal("80"),
        bracket={"trailing_stop": {"distance": "1.5", "activation_price": "97"}},
    )
    rules.mark(trade, Decimal("100"))

    tick(trade, "98")
    assert trade.stop_loss == Decimal("102")  # 98 has not reached 97
    tick(trade, "96")
    assert trade.stop_loss == Decimal("97.5")  # 96 + 1.5
    tick(trade, "97")
    assert trade.stop_loss == Decimal("97.5")  # never back up


def test_exit_pnls_recompute_what_each_exit_realized_from_the_rows():
    entry = brackets.Fill("entry", AT, Decimal("100"), Decimal("50"), Decimal("5"), Decimal("0"), Decimal("0"), "ENTRY")
    exits = [
        brackets.Fill(
            "exit", AT, Decimal("110"), Decimal("25"), Decimal("2.75"), Decimal(0), Decimal(0), "TAKE_PROFIT"
        ),
        brackets.Fill("exit", AT, Decimal("100"), Decimal("25"), Decimal("2.5"), Decimal(0), Decimal(0), "STOP_LOSS"),
    ]

    assert brackets.exit_pnls("LONG", entry=entry, exits=exits) == [Decimal("244.75"), Decimal("-5")]


def test_a_candle_through_the_first_target_exits_its_part_and_the_next_candle_the_rest():
    trade = laddered()
    minute = AT.replace(second=0)
    candles = [
        Candle(minute, Decimal("101"), Decimal("111"), Decimal("101"), Decimal("109")),
        Candle(minute + timedelta(minutes=1), Decimal("105"), Decimal("106"), Decimal("100"), Decimal("100")),
    ]

    parts, fill = brackets.candle_step(trade, candles)

    assert [(p.price, p.size) for p in parts] == [(Decimal("110"), Decimal("25"))]
    # The rest at its break-even stop 100.2: 0.2 x 25 = 5, less 2.5 and 0.001 x 100.2 x 25 = 2.505: -0.005.
    assert (fill.reason, fill.price, trade.realized_pnl) == ("STOP_LOSS", Decimal("100.2"), Decimal("244.745"))


def test_a_target_the_trader_moved_fills_at_its_new_price():
    trade = laddered()
    trade.take_profit = Decimal("112")  # moved from 110 on the trade page

    assert tick(trade, "111") == []
    (part,) = tick(trade, "112")

    assert (part.price, trade.take_profit) == (Decimal("112"), Decimal("120"))
