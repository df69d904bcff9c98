"""The replay's speed (issue 28, docs/replay.md), in process (run by bench/run.py).

COUNTS signals (BUY and SELL, without levels of their own, spread evenly) over DAYS days of 1-minute candles for
SYMBOLS symbols (30 days of 50 symbols: 2,160,000 candles, generated once, COPY on PostgreSQL), replayed by
services.replay_run as the worker runs it (signals and candles read from the database, the result written), at
each count of COUNTS. The floor: the same rules on the same candles held in memory (made before the clock starts
from the numbers they were written with), replay.run alone, no database at all. Each is timed REPEATS times and the
fastest kept: the machine is shared, and a slower run measures its neighbours.

The targets: the service within 3x of its floor, and linear in the number of signals. Reading every candle costs
the same whatever the count, so the time alone would pass "twice the signals, at most 2.2x the time" however the
signals' own part grew: linearity is judged on what the signals add, the CPU time of a count less that of BASE
(one signal a symbol: every candle read and walked, next to nothing replayed). The rules let every signal trade
(no limit on open trades, a risk small enough that the cash holds a trade on every symbol), so that twice the
signals are twice the trades, not twice the refusals.
DATABASE_URL names the database of its own that bench/run.py makes; its signals are rewritten on each count.
"""

import argparse
import functools
import gc
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import django

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench import SMOKE, generate  # noqa: E402
from ledger import replay, services  # noqa: E402
from ledger.models import Execution, Order, PaperTrade, PriceCandle, Replay, Signal  # noqa: E402

SYMBOLS, DAYS = (5, 1) if SMOKE else (50, 30)
COUNTS = (100, 200) if SMOKE else (5_000, 10_000)
BASE = SYMBOLS  # one signal a symbol: every candle read, next to nothing replayed
REPEATS = 1 if SMOKE else 3
START = datetime(2025, 3, 3, tzinfo=UTC)
MINUTES = DAYS * 24 * 60
PRICES = [Decimal(100) + Decimal(step) / 20 for step in range(500)]  # every price a candle is written with
# No limit on open trades, and 0.03 % risk a trade (1.5 % of the balance at a 2 % stop): the cash holds a trade on
# every symbol at once, so that each signal trades unless its symbol's trade before it is still open.
RULES = {"risk": "0.0003", "max_open": 0}


def symbol(n: int) -> str:
    return f"R{n:02d}USDT"


def price_at(n: int, m: int) -> int:
    """The index in PRICES of symbol n's close at minute m: a zigzag of 10 % over 400 minutes, so that stops and
    targets are reached."""
    wave = (m + 37 * n) % 400
    return wave if wave < 200 else 400 - wave


def candles_of(n: int) -> Iterator[tuple]:
    """Symbol n's minutes as (minute, open, high, low, close): each opens at the last close."""
    for m in range(MINUTES):
        close, before = price_at(n, m), price_at(n, m - 1)
        yield (
            START + timedelta(minutes=m),
            PRICES[before],
            PRICES[min(max(close, before) + 3, 499)],
            PRICES[max(min(close, before) - 3, 0)],
            PRICES[close],
        )


def _fill_candles() -> None:
    call_command("migrate", verbosity=0)
    if PriceCandle.objects.count() == SYMBOLS * MINUTES:
        return
    PriceCandle.objects.all().delete()
    adapt = connection.ops.adapt_datetimefield_value
    columns = ["symbol", "minute", "open", "high", "low", "close", "ticks", "bid", "ask"]
    with transaction.atomic():
        for n in range(SYMBOLS):
            rows = [(symbol(n), adapt(m), o, h, low, c, 5, None, None) for m, o, h, low, c in candles_of(n)]
            generate.insert("price_candles", columns, rows)
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE price_candles" if connection.vendor == "postgresql" else "PRAGMA wal_checkpoint(TRUNCATE)"
        )


@functools.cache
def in_memory() -> list[list[replay.Candle]]:
    """Every symbol's candles as the engine takes them, made once and held (about 100 bytes a candle: the prices
    and minutes are shared objects)."""
    minutes = [START + timedelta(minutes=m) for m in range(MINUTES)]
    return [
        [replay.Candle(symbol(n), minutes[m], *prices) for m, (_, *prices) in enumerate(candles_of(n))]
        for n in range(SYMBOLS)
    ]


def _signals(count: int) -> list[replay.Signal]:
    """`count` signals, evenly spread over the days (never in a day's last hour), each on the next symbol."""
    step = timedelta(minutes=(MINUTES - 60 * DAYS) / count)
    rows = []
    for k in range(count):
        at = START + timedelta(minutes=1) + step * k
        day_minute = (at - START).total_seconds() // 60 % 1440
        at += timedelta(minutes=60) if day_minute >= 1380 else timedelta(0)
        n = k % SYMBOLS
        action = "BUY" if k % 2 else "SELL"
        at = at.replace(second=30, microsecond=0)
        rows.append(replay.Signal(f"b-{k}", symbol(n), action, PRICES[20], None, None, at))
    return sorted(rows, key=lambda row: (row.at, row.signal_id))


def _write_signals(signals: list[replay.Signal]) -> None:
    Replay.objects.all().delete()
    for held in (Execution, Order, PaperTrade):  # the smoke's earlier steps leave trades, which hold their signals
        held.objects.all().delete()
    Signal.objects.all().delete()
    book = services.default_book()
    Signal.objects.bulk_create(
        [
            Signal(
                book=book,
                signal_id=s.signal_id,
                symbol=s.symbol,
                action=s.action,
                entry_price=s.entry_price,
                confidence=Decimal("0.5"),
                timestamp=s.at,
                status=Signal.Status.EXPIRED,
                status_reason="bench",
            )
            for s in signals
        ],
        batch_size=5_000,
    )


def _service(parameters: dict) -> tuple[float, float, Replay]:
    began, cpu = time.perf_counter(), time.process_time()
    queued = services.replay_queue(parameters=parameters)
    services.replay_claim(replay_id=queued.pk)
    done = services.replay_run(replay_id=queued.pk)
    return time.perf_counter() - began, time.process_time() - cpu, done


def _floor(signals: list[replay.Signal]) -> tuple[float, replay.Result]:
    began = time.perf_counter()
    floor = replay.run(
        signals=signals,
        candles=[iter(candles) for candles in in_memory()],
        overrides=replay.Overrides.from_values(RULES),
        starting_balance=settings.PAPER_STARTING_BALANCE,
        lots={},
        now=timezone.now(),
    )
    return time.perf_counter() - began, floor


def measure(count: int) -> dict:
    signals = _signals(count)
    _write_signals(signals)
    last_day = (START + timedelta(days=DAYS - 1)).date().isoformat()
    parameters = {"start": START.date().isoformat(), "end": last_day, "include_refused": True, "rules": RULES}
    services_s, cpus_s, floors_s = [], [], []
    for _ in range(REPEATS):
        service_s, cpu_s, done = _service(parameters)
        assert done.status == Replay.Status.DONE, done.error
        floor_s, floor = _floor(signals)
        services_s.append(service_s)
        cpus_s.append(cpu_s)
        floors_s.append(floor_s)
    summary = done.summary["replay"]
    assert summary["trades"] == len([t for t in floor.trades if t.exit_reason != replay.OPEN])
    return {
        "signals": count,
        "candles": SYMBOLS * MINUTES,
        "trades": summary["trades"],
        "refused": summary["refused"],
        "service_s": min(services_s),
        "service_cpu_s": min(cpus_s),
        "floor_s": min(floors_s),
        "ratio": min(services_s) / min(floors_s),
        "repeats": {"service_s": services_s, "floor_s": floors_s},
    }


def replays() -> dict:
    _fill_candles()
    in_memory()
    # The floor's millions of candles stay held for the whole run: out of the garbage collector's sight, so that
    # the service's collections do not walk them (a worker running a replay holds no such thing).
    gc.freeze()
    base = measure(BASE)
    runs = [measure(count) for count in COUNTS]
    few, many = runs[0], runs[-1]
    growth = (many["service_cpu_s"] - base["service_cpu_s"]) / (few["service_cpu_s"] - base["service_cpu_s"])
    return {"base": base, "runs": runs, "growth": growth, "counts": list(COUNTS)}


if __name__ == "__main__":
    argparse.ArgumentParser().parse_args()
    print("BENCH_JSON " + json.dumps(replays()))
