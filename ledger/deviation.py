"""How far a fill may move between the confirmation the trader read and the order it confirmed (docs/fills.md,
"The price you saw"). Pure, like ledger/rules.py: values in, values out; the services call it with the fill they
are about to write and the price the confirmation showed."""

from decimal import Decimal

from django.conf import settings

from .errors import PriceMoved
from .rules import plain


def moved(*, seen: Decimal, fill: Decimal) -> Decimal:
    """The fill's move from the price seen, as a signed fraction of it: 0.01 is 1 % higher."""
    return (fill - seen) / seen


def check_deviation(*, seen: Decimal | None, fill: Decimal) -> None:
    """Refuse a fill further than PAPER_MAX_DEVIATION from the price the trader saw, either way (a better price
    changes the size or the estimate as much as a worse one: the trader confirms the new one). Exactly at the
    limit is accepted; without a price seen (a program that sent none) there is nothing to compare."""
    if seen is None:
        return
    move, most = moved(seen=seen, fill=fill), settings.PAPER_MAX_DEVIATION
    if abs(move) > most:
        raise PriceMoved(
            f"The fill moved from {plain(seen)} to {plain(fill)} ({move * 100:+.2f}%), "
            f"more than the {plain(most * 100)}% you accept; nothing was done. Confirm again at {plain(fill)} "
            "if it still suits you.",
            price=fill,
            field="expected_price",
        )
