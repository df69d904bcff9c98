"""The size of a new trade (ledger/sizing.py), with numbers alone: the risk asked of the balance, what cash pays
for, the numeric envelope, a market's lot steps and minimums, an account in deficit."""

from decimal import Decimal

import pytest

from ledger import rules, sizing
from ledger.errors import NotExecutable

FINE = sizing.Lot(step=Decimal("0.00000001"), min_amount=Decimal(0), min_cost=Decimal(0))  # the settings' default


def sized(**changes) -> tuple[Decimal, Decimal]:
    """(size, risk) of a LONG at 100, stop 98, target 104, on an account of 10000 balance and cash, 1% at risk."""
    values = {
        "symbol": "BTCUSDT",
        "direction": "LONG",
        "balance": Decimal("10000"),
        "cash": Decimal("10000"),
        "fill": Decimal("100"),
        "stop": Decimal("98"),
        "target": Decimal("104"),
        "lot": FINE,
    } | changes
    result = sizing.size(**values)
    return result.size, result.risk


def test_size_risks_one_percent_of_the_balance_between_the_fill_and_the_stop():
    # risk 10000 * 0.01 = 100; 100 / |100 - 98| = 50 units, 5000 + 5 fee well within cash
    assert sized() == (Decimal("50"), Decimal("100"))


def test_size_shrinks_to_what_cash_pays_for_with_its_fee():
    # 50 units cost 5005; cash 3003 pays 3003 / (100 * 1.001) = 30 units (3000 + 3 fee); they risk 30 * 2 = 60,
    # 0.6 of the 100 asked
    assert sized(cash=Decimal("3003")) == (Decimal("30"), Decimal("60"))


def test_what_cash_leaves_below_the_minimum_notional_is_not_executed(settings):
    settings.PAPER_MIN_RISK_FRACTION = Decimal(0)
    with pytest.raises(
        NotExecutable, match="below the smallest trade the account makes, 10"
    ):  # 9.99 cash pays < 10 notional
        sized(cash=Decimal("9.99"))


def test_a_size_shrunk_below_half_the_risk_asked_is_refused_with_the_reason():
    # cash 2000 pays 2000 / 100.1 = 19.98001998 units (1998.001998 + 1.998002 fee); they risk 39.96003996, below
    # 0.5 of the 100 asked
    with pytest.raises(NotExecutable) as refused:
        sized(cash=Decimal("2000"))

    assert refused.value.message == (
        "19.98001998 BTCUSDT, what cash 2000 pays for in steps of 0.00000001, risks 39.96003996 of the 100 asked: "
        "less than the 0.5 of it a trade must risk to count."
    )


def test_the_minimum_risk_fraction_is_a_setting(settings):
    settings.PAPER_MIN_RISK_FRACTION = Decimal("0.3")

    assert sized(cash=Decimal("2000")) == (Decimal("19.98001998"), Decimal("39.96003996"))  # 0.3996 of 100


def test_a_size_is_rounded_down_to_the_market_s_step_and_risks_what_it_keeps():
    # risk 1% of 1234 = 12.34; 12.34 / |1000 - 900| = 0.1234 units; in steps of 0.01: 0.12, risking 0.12 * 100 = 12
    lot = sizing.Lot(step=Decimal("0.01"), min_amount=Decimal("0.01"), min_cost=Decimal(5))
    size = sized(balance=Decimal("1234"), cash=Decimal("1234"), fill=Decimal("1000"), stop=Decimal("900"), lot=lot)

    assert size == (Decimal("0.12"), Decimal("12"))


@pytest.mark.parametrize(
    ("lot", "message"),
    [
        (
            sizing.Lot(step=Decimal("0.01"), min_amount=Decimal("0.5"), min_cost=Decimal(0)),
            "a size of 0.12 BTCUSDT is below the market's minimum amount 0.5.",
        ),
        (
            sizing.Lot(step=Decimal("0.01"), min_amount=Decimal(0), min_cost=Decimal(200)),
            "0.12 BTCUSDT at 1000 is a notional of 120, below the market's minimum cost, 200.",
        ),
    ],
)
def test_a_size_below_a_market_s_minimum_is_refused_naming_it(lot, message):
    with pytest.raises(NotExecutable) as refused:  # 0.1234 units in steps of 0.01: 0.12, a notional of 120
        sized(balance=Decimal("1234"), cash=Decimal("1234"), fill=Decimal("1000"), stop=Decimal("900"), lot=lot)

    assert refused.value.message == message


@pytest.mark.parametrize(
    ("size", "step", "expected"),
    [("0.1234", "0.01", "0.12"), ("7", "5", "5"), ("0.99999999", "1", "0"), ("3.5", "0.5", "3.5")],
)
def test_to_step_rounds_down_to_a_multiple_of_the_step(size, step, expected):
    assert sizing.to_step(Decimal(size), Decimal(step)) == Decimal(expected)


def test_a_short_holds_its_margin_as_collateral(settings):
    settings.PAPER_SHORT_MARGIN = Decimal("0.5")
    # 50 units at 100: 0.5 * 5000 = 2500 collateral + 5 fee
    assert rules.entry_cost(price=Decimal("100"), size=Decimal("50"), margin=Decimal("0.5")) == Decimal("2505")
    # so cash 3003, which pays for 30 units of a LONG, pays for the whole 50 of a SHORT at 100, stop 102
    short = sized(direction="SHORT", cash=Decimal("3003"), stop=Decimal("102"), target=Decimal("96"))
    assert short == (Decimal("50"), Decimal("100"))


def test_size_shrinks_so_that_the_notional_at_every_level_stays_below_the_envelope():
    # risk 1% of 1e11 = 1e9, / 2 = 5e8 units; at the target 99999999999 only 1e11 / 99999999999 = 1.00000000001
    # units fit, rounded down to 8 places: 1; it risks 1 * 2 = 2 (the envelope is the ledger's limit: not refused).
    assert sized(balance=Decimal("1e11"), cash=Decimal("1e11"), target=Decimal("99999999999")) == (
        Decimal("1"),
        Decimal("2"),
    )


def test_a_huge_balance_never_sizes_a_risk_beyond_the_envelope():
    # risk 1% of 1e14 = 1e12: the notional at 104 caps the size at 1e11 / 104 = 961538461.538461, rounded down to
    # 15 digits; it risks 961538461.538461 * 2 = 1923076923.07692 (15 digits).
    size = sized(balance=Decimal("1e14"), cash=Decimal("1e14"))

    assert size == (Decimal("961538461.538461"), Decimal("1923076923.07692"))


def test_no_balance_no_size():
    with pytest.raises(NotExecutable):
        sized(balance=Decimal("0"), cash=Decimal("0"))


def test_an_account_in_deficit_takes_no_entry():
    with pytest.raises(NotExecutable) as refused:
        sized(balance=Decimal("500"), cash=Decimal("-20"))

    assert refused.value.message == (
        "the account is in deficit (balance 500, cash -20): no entry until its cash is positive again."
    )
