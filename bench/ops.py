"""The write paths, in process, each beside a floor on the same database (run by bench/run.py).

- Ticks: 10,000 ticks over 100 symbols with 1,000 open trades, 1,000 open brackets (two targets and a trailing
  stop each, ledger/brackets.py) and 1,000 working entry orders (limits the ticks never reach) through
  services.prices_apply (in API-sized batches of 1,000), against the same rows written with the same values by raw
  executemany, after the same locking read of the batch's working orders.
- End of day: closing 10,000 open trades with services.day_close, against closing them one at a time
  through the ORM (services.trade_close per trade); and day_close's query count at 1,000 and 10,000.
DATABASE_URL names a scratch database; this empties it.
"""

import json
import os
import random
import time
from datetime import timedelta
from decimal import Decimal

import django

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench import SMOKE, generate  # noqa: E402
from ledger import services  # noqa: E402
from ledger.days import today  # noqa: E402
from ledger.inputs import Tick  # noqa: E402
from ledger.models import Order, PaperTrade, Signal  # noqa: E402

TICKS, TICK_SYMBOLS, TICK_TRADES, TICK_BATCH = (1_000, 10, 100, 1_000) if SMOKE else (10_000, 100, 1_000, 1_000)
TICK_ORDERS = TICK_TRADES  # working entry orders beside the open trades
EOD_TRADES = 100 if SMOKE else 10_000


def _empty() -> None:
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)


def _open_trades(count: int, symbols: int, *, brackets: int = 0) -> None:
    """`count` open trades (with their EXECUTED signals) spread over `symbols` symbols, entered a minute ago, and
    as many more with `brackets`."""
    entered = timezone.now() - timedelta(minutes=1)
    rng = random.Random(3)
    names = [f"S{n:03d}USDT" for n in range(symbols)]
    times = iter(lambda: entered, None)
    pairs = [
        *generate.rows(rng, "o", count, times, hold=timedelta(0), open_=True, symbols=names, entry=Decimal(100)),
        *generate.rows(
            rng, "b", brackets, times, hold=timedelta(0), open_=True, symbols=names, entry=Decimal(100), brackets=True
        ),
    ]
    with transaction.atomic():
        generate.write(pairs)


def _tick_batches() -> list[list[Tick]]:
    """Prices that wander within 1% of 100: they mark every trade and close none (levels are 2% away), and move
    the brackets' trails from 100.05 (98 + 2.05) up, which stay below 99 for a LONG (above 101 for a SHORT)."""
    rng = random.Random(4)
    symbols = [f"S{n:03d}USDT" for n in range(TICK_SYMBOLS)]
    prices = dict.fromkeys(symbols, Decimal(100))
    start = timezone.now()
    ticks = []
    for n in range(TICKS):
        symbol = symbols[n % TICK_SYMBOLS]
        prices[symbol] = min(max(prices[symbol] + Decimal(rng.randint(-5, 5)) / 100, Decimal(99)), Decimal(101))
        ticks.append(Tick(symbol, prices[symbol], start + timedelta(microseconds=n)))
    return [ticks[i : i + TICK_BATCH] for i in range(0, TICKS, TICK_BATCH)]


def ticks() -> dict:
    _empty()
    _open_trades(TICK_TRADES, TICK_SYMBOLS, brackets=TICK_TRADES)
    with transaction.atomic():
        generate.working_orders(
            TICK_ORDERS, [f"S{n:03d}USDT" for n in range(TICK_SYMBOLS)], placed_at=timezone.now() - timedelta(minutes=1)
        )
    batches = _tick_batches()
    started = time.perf_counter()
    writes = []  # what the service wrote, batch by batch: the floor writes the same rows with the same values
    for batch in batches:
        result = services.prices_apply(ticks=batch)
        writes.append(
            [(str(t.current_price), str(t.unrealized_pnl), str(t.fees), str(t.stop_loss), t.pk) for t in result.marked]
        )
    service_s = time.perf_counter() - started
    assert not PaperTrade.objects.exclude(status="OPEN").exists(), "the benchmark's ticks must not close trades"
    assert Order.objects.filter(status="WORKING").count() == TICK_ORDERS, "the benchmark's ticks must not fill orders"

    lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    started = time.perf_counter()
    for batch, rows in zip(batches, writes, strict=True):
        symbols = sorted({tick.symbol for tick in batch})
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(  # the working orders the batch could fill, read once
                "SELECT id, signal_id, order_type, side, price, created_at, expires_at FROM ledger_orders "
                f"WHERE status = 'WORKING' AND symbol IN ({', '.join(['%s'] * len(symbols))}) ORDER BY id{lock}",
                symbols,
            )
            cursor.fetchall()
            cursor.executemany(
                "UPDATE paper_trades SET current_price = %s, unrealized_pnl = %s, fees = %s, stop_loss = %s "
                "WHERE id = %s AND status = 'OPEN'",
                rows,
            )
    floor_s = time.perf_counter() - started
    trailed = PaperTrade.objects.exclude(bracket={}).exclude(stop_loss__in=[98, 102]).count()
    assert trailed, "the benchmark's ticks must move the brackets' trails"
    return {
        "ticks": TICKS,
        "trades": TICK_TRADES,
        "orders": TICK_ORDERS,
        "brackets": TICK_TRADES,
        "service_s": service_s,
        "floor_s": floor_s,
        "ratio": service_s / floor_s,
    }


def _day_close_queries(count: int) -> tuple[float, int]:
    _empty()
    _open_trades(count, 40)
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        closed = services.day_close(day=today())
        seconds = time.perf_counter() - started
    assert len(closed.closed) == count
    return seconds, len(queries)


def end_of_day() -> dict:
    small_s, small_queries = _day_close_queries(EOD_TRADES // 10)
    bulk_s, bulk_queries = _day_close_queries(EOD_TRADES)

    _empty()
    _open_trades(EOD_TRADES, 40)
    ids = list(PaperTrade.objects.values_list("pk", flat=True))
    started = time.perf_counter()
    for pk in ids:
        services.trade_close(trade_id=pk, reason=PaperTrade.Status.EOD_CLOSE)
    loop_s = time.perf_counter() - started
    assert not Signal.objects.filter(status="EXECUTED").exists()
    return {
        "trades": EOD_TRADES,
        "day_close_s": bulk_s,
        "one_at_a_time_s": loop_s,
        "speedup": loop_s / bulk_s,
        "queries_1k": small_queries,
        "queries_10k": bulk_queries,
        "day_close_1k_s": small_s,
    }


if __name__ == "__main__":
    print("BENCH_JSON " + json.dumps({"ticks": ticks(), "end_of_day": end_of_day()}))
