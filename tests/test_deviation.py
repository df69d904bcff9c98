"""How far a fill may move from the price the trader confirmed (ledger/deviation.py), with numbers alone."""

from decimal import Decimal

import pytest

from ledger.deviation import check_deviation, moved
from ledger.errors import PriceMoved


def test_a_move_is_a_signed_fraction_of_the_price_seen():
    assert moved(seen=Decimal("200"), fill=Decimal("201")) == Decimal("0.005")  # 1 / 200
    assert moved(seen=Decimal("200"), fill=Decimal("198")) == Decimal("-0.01")  # -2 / 200


@pytest.mark.parametrize(
    "fill",
    [
        Decimal("100"),  # no move
        Decimal("100.5"),  # exactly 0.5% up: at the limit is accepted
        Decimal("99.5"),  # exactly 0.5% down
        Decimal("100.49999999"),
    ],
)
def test_a_fill_within_the_deviation_passes(fill):
    check_deviation(seen=Decimal("100"), fill=fill)  # PAPER_MAX_DEVIATION 0.005


def test_the_refusal_names_both_prices_and_the_move():
    with pytest.raises(PriceMoved) as refused:
        check_deviation(seen=Decimal("138.601"), fill=Decimal("140.91"))  # +2.309 / 138.601 = +1.666%
    assert refused.value.price == Decimal("140.91")
    assert refused.value.field == "expected_price"
    assert refused.value.status_code == 409
    assert refused.value.message == (
        "The fill moved from 138.601 to 140.91 (+1.67%), more than the 0.5% you accept; nothing was done. "
        "Confirm again at 140.91 if it still suits you."
    )


def test_a_fall_past_the_deviation_is_refused_too():
    with pytest.raises(PriceMoved, match=r"from 100 to 99.49 \(-0.51%\)"):
        check_deviation(seen=Decimal("100"), fill=Decimal("99.49"))  # -0.51 / 100


def test_the_limit_is_the_setting(settings):
    settings.PAPER_MAX_DEVIATION = Decimal("0.02")
    check_deviation(seen=Decimal("100"), fill=Decimal("102"))  # exactly 2%
    with pytest.raises(PriceMoved, match="more than the 2% you accept"):
        check_deviation(seen=Decimal("100"), fill=Decimal("102.01"))


def test_without_a_price_seen_nothing_is_compared():
    check_deviation(seen=None, fill=Decimal("1000000"))
