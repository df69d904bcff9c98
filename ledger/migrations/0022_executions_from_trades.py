"""Every trade recorded before executions existed gets its entry execution and, if closed, its exit execution,
so that its columns are what its rows add up to (ledger/brackets.py; check_ledger holds them to it)."""

from decimal import ROUND_HALF_EVEN, Context, Decimal

from django.conf import settings
from django.db import migrations

# The rules this migration applies, as ledger/rules.py and ledger/brackets.py state them on 2026-12-03 (a fee, the
# entry's share of the trade's fees), frozen here so that it does the same on an old database whatever they become.
QUANTUM = Decimal("0.00000001")
DIGITS = 15
WIDE = Context(prec=60)
CHUNK = 2000


def _money(value):
    value = value.quantize(QUANTUM, rounding=ROUND_HALF_EVEN, context=WIDE)
    if value.adjusted() + 1 > DIGITS - 8:
        value = value.quantize(Decimal(1).scaleb(value.adjusted() + 1 - DIGITS), rounding=ROUND_HALF_EVEN, context=WIDE)
    return value


def _fills(trade, Execution):
    """The entry (its fee the rate's, at most what the trade's fees say was paid; its slippage against the
    signal's price) and, for a closed trade, the exit holding the rest of its fees, slippage and all its PnL."""
    entry_fee = min(_money(settings.PAPER_FEE_RATE * trade.entry_price * trade.position_size), trade.fees)
    entry_slippage = _money(trade.entry_slippage * trade.position_size)
    yield Execution(
        trade_id=trade.pk,
        kind="entry",
        time=trade.entry_time,
        price=trade.entry_price,
        size=trade.position_size,
        fee=entry_fee,
        slippage=entry_slippage,
        pnl=Decimal(0),
        reason="ENTRY",
    )
    if trade.status != "OPEN":
        yield Execution(
            trade_id=trade.pk,
            kind="exit",
            time=trade.exit_time,
            price=trade.exit_price,
            size=trade.position_size,
            fee=trade.fees - entry_fee,
            slippage=trade.slippage - entry_slippage,
            pnl=trade.realized_pnl,
            reason=trade.status,
        )


def executions_from_trades(apps, schema_editor):
    PaperTrade, Execution = apps.get_model("ledger", "PaperTrade"), apps.get_model("ledger", "Execution")
    trades = PaperTrade.objects.filter(executions__isnull=True).order_by("pk")
    batch = []
    for trade in trades.iterator(chunk_size=CHUNK):
        batch.extend(_fills(trade, Execution))
        if len(batch) >= CHUNK:
            Execution.objects.bulk_create(batch)
            batch = []
    Execution.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0021_brackets_and_executions"),
    ]

    operations = [migrations.RunPython(executions_from_trades, migrations.RunPython.noop)]
