"""Each market's lot rules, as its exchange lists them."""

from django.db import transaction

from .. import sizing
from ..inputs import clean_symbol
from ..models import MarketLot


@transaction.atomic
def market_lots_record(*, lots: dict[str, sizing.Lot], source: str) -> list[MarketLot]:
    """Keep the lot rules of the ledger's symbols (step, minimum amount, minimum cost), replacing what was kept
    for them: an exchange changes its steps now and then. Returns the rows written."""
    written = []
    for symbol, lot in sorted(lots.items()):
        row, _ = MarketLot.objects.update_or_create(
            symbol=clean_symbol(symbol),
            defaults={"step": lot.step, "min_amount": lot.min_amount, "min_cost": lot.min_cost, "source": source},
        )
        written.append(row)
    return written
