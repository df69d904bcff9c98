"""The price feed's path and the price history's reads, in process (run by bench/run.py).

- `--ticks`: 500 symbols ticking once a second with 200 open trades, candles included: two minutes of market time
  as 120 batches of 500 ticks through services.prices_apply (what price_feed sends), sustained ticks per second;
  against the floor, the same rows written by raw executemany (last prices, candles, marks) in the same batches.
- `--chart ROWS`: the candle query of one trade's chart (selectors.candles: one symbol, two hours) over a table of
  ROWS candles for 50 symbols (26,280,000 = a year of minutes; 10,000 for the comparison), p50 of 200 queries.
  The candles are generated once (bulk inserts, COPY on PostgreSQL) and kept in the database DATABASE_URL names.
DATABASE_URL names a scratch database; `--ticks` empties it.
"""

import argparse
import json
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import django

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench import SMOKE, generate  # noqa: E402
from ledger import brackets, rules, selectors, services  # noqa: E402
from ledger.inputs import Tick  # noqa: E402
from ledger.models import PaperTrade, PriceCandle  # noqa: E402
from ledger.services.base import record_fills  # noqa: E402
from ledger.services.prices import CANDLES_SQL, EXTREMES, LAST_PRICE_SQL, MARKS_SQL, minute_of  # noqa: E402

SYMBOLS, TRADES, SECONDS = (50, 20, 1) if SMOKE else (500, 200, 120)  # the smoke: one batch
CHART_SYMBOLS, CHART_MINUTES, CHART_QUERIES = 50, 120, 20 if SMOKE else 200
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)


def _batches() -> list[list[Tick]]:
    """One tick a second per symbol, prices within 1% of 100 (the trades' levels are 2% away: nothing closes), over
    the two minutes just past: the ledger refuses ticks from the future (MAX_CLOCK_SKEW)."""
    rng = random.Random(5)
    names = [f"F{n:03d}USDT" for n in range(SYMBOLS)]
    start = minute_of(timezone.now()) - timedelta(seconds=SECONDS + 59)
    batches = []
    for second in range(SECONDS):
        at = start + timedelta(seconds=second)
        batch = []
        for name in names:
            price = Decimal(10000 + rng.randint(-90, 90)) / 100
            batch.append(Tick(name, price, at, bid=price - Decimal("0.01"), ask=price + Decimal("0.01")))
        batches.append(batch)
    return batches


def open_trades(count: int) -> None:
    """An empty ledger but for `count` trades open at 100 on the first `count` symbols, entered five minutes ago
    (before the first tick), their stops and targets 2% and 4% away, and the account's open cost theirs."""
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    entered = timezone.now() - timedelta(minutes=5)
    pairs = generate.rows(
        random.Random(3),
        "f",
        count,
        iter(lambda: entered, None),
        hold=timedelta(0),
        open_=True,
        symbols=[f"F{n:03d}USDT" for n in range(count)],
        entry=Decimal(100),
    )
    with transaction.atomic():
        generate.write(pairs)
        trades = list(PaperTrade.objects.all())
        record_fills([(trade, brackets.entry_fill(trade, at=trade.entry_time)) for trade in trades])
        account = services.default_book()
        account.open_cost = sum((rules.held(trade) for trade in trades), Decimal(0))
        account.save()  # a consistent ledger, each trade with its entry execution: check_ledger passes


def ticks() -> dict:
    open_trades(TRADES)  # 200 of the 500 symbols have a trade open
    batches = _batches()

    started = time.perf_counter()
    writes = []  # what the service wrote, batch by batch: the floor writes the same rows with the same values
    for batch in batches:
        result = services.prices_apply(ticks=batch)
        writes.append((batch, result.marked))
    service_s = time.perf_counter() - started
    assert not PaperTrade.objects.exclude(status="OPEN").exists(), "the benchmark's ticks must not close trades"
    assert PriceCandle.objects.count() == SYMBOLS * (SECONDS // 60 + 1)  # the batches start a second into a minute

    moment = connection.ops.adapt_datetimefield_value
    candles_sql = CANDLES_SQL.format(**EXTREMES[connection.vendor])
    started = time.perf_counter()
    for batch, marked in writes:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(LAST_PRICE_SQL, [(t.symbol, t.price, t.bid, t.ask, moment(t.at)) for t in batch])
            cursor.executemany(
                candles_sql,
                [
                    (t.symbol, moment(minute_of(t.at)), t.price, t.price, t.price, t.price, 1, t.bid, t.ask)
                    for t in batch
                ],
            )
            cursor.executemany(
                MARKS_SQL,
                [
                    (
                        t.current_price,
                        t.exit_quote,
                        t.unrealized_pnl,
                        t.fees,
                        t.slippage,
                        t.max_price,
                        t.min_price,
                        t.stop_loss,
                        t.pk,
                    )
                    for t in marked
                ],
            )
    floor_s = time.perf_counter() - started
    count = SYMBOLS * SECONDS
    return {
        "ticks": count,
        "symbols": SYMBOLS,
        "trades": TRADES,
        "service_s": service_s,
        "floor_s": floor_s,
        "ticks_per_s": count / service_s,
        "floor_ticks_per_s": count / floor_s,
        "ratio": floor_s / service_s,
    }


def _fill_candles(rows: int) -> None:
    """`rows` candles over CHART_SYMBOLS symbols, each a run of consecutive minutes from YEAR_START (skipped when
    the table already holds them). Symbol by symbol in minute order, as the feed writes them over time."""
    call_command("migrate", verbosity=0)
    if PriceCandle.objects.count() == rows:
        return
    PriceCandle.objects.all().delete()
    per_symbol = rows // CHART_SYMBOLS
    adapt = connection.ops.adapt_datetimefield_value
    columns = ["symbol", "minute", "open", "high", "low", "close", "ticks", "bid", "ask"]
    chunk = []
    with transaction.atomic():
        for n in range(CHART_SYMBOLS):
            symbol = f"H{n:02d}USDT"
            for m in range(per_symbol):
                price = 100 + (m * 7 + n) % 500 / 100  # cheap, plausible, never a Decimal on the way in
                chunk.append(
                    (
                        symbol,
                        adapt(YEAR_START + timedelta(minutes=m)),
                        price,
                        price + 0.05,
                        price - 0.05,
                        price,
                        12,
                        price - 0.01,
                        price + 0.01,
                    )
                )
                if len(chunk) == 200_000:
                    generate.insert("price_candles", columns, chunk)
                    chunk = []
        generate.insert("price_candles", columns, chunk)
    with connection.cursor() as cursor:  # as a live database is: statistics known, the write-ahead log written back
        cursor.execute(
            "ANALYZE price_candles" if connection.vendor == "postgresql" else "PRAGMA wal_checkpoint(TRUNCATE)"
        )


def chart(rows: int) -> dict:
    _fill_candles(rows)
    per_symbol = rows // CHART_SYMBOLS
    rng = random.Random(6)
    timings = []
    for _ in range(CHART_QUERIES):
        start = YEAR_START + timedelta(minutes=rng.randrange(per_symbol - CHART_MINUTES))
        symbol = f"H{rng.randrange(CHART_SYMBOLS):02d}USDT"
        began = time.perf_counter()
        candles = list(selectors.candles(symbol, start, start + timedelta(minutes=CHART_MINUTES)))
        timings.append(time.perf_counter() - began)
        assert len(candles) == CHART_MINUTES
    return {
        "rows": rows,
        "p50_ms": statistics.median(timings) * 1000,
        "queries": CHART_QUERIES,
        "candles_each": CHART_MINUTES,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--ticks", action="store_true")
    parser.add_argument("--chart", type=int)
    args = parser.parse_args()
    print("BENCH_JSON " + json.dumps(ticks() if args.ticks else chart(args.chart)))
