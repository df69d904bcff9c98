"""The price feed past its ceiling (issue 23), run by bench/run.py: the real `manage.py price_feed` command streams
from the fake Binance of tests/fake_exchange.py on loopback, first at Binance's pace (a ticker a second per symbol)
until it has filled the minutes its open trades missed, then flooded with RATE tickers a second over SYMBOLS symbols
(TRADES of them with a trade open) for SECONDS: more than its stream reads, and far more than it would apply one by
one. Sampled every 0.1 s from outside: the command's resident memory (VmRSS) and the age of the newest price it
applied (what /healthz calls feed_lag_s). Then SIGTERM, still under the flood, timed to the command's exit; and
check_ledger. DATABASE_URL names a scratch database, emptied first. Also kept: the processor time the command used
during the flood, in cores, and the machine's load average: a feed that gets less of a core than it uses falls
behind, whatever it does.
"""

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import django

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db.models import Max  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench import SMOKE  # noqa: E402
from bench.feed import open_trades  # noqa: E402
from ledger.models import MarketPrice  # noqa: E402
from tests.fake_exchange import FakeBinance  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SYMBOLS, TRADES, RATE, SECONDS = (50, 20, 1_000, 3) if SMOKE else (500, 200, 8_000, 60)
INTERVAL = 1.0  # the command's default --interval: one batch a second
SAMPLE = 0.1  # seconds between samples


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:", 1)[1].split()[0]) / 1024


def cpu_seconds(pid: int) -> float:
    """The process's user and system time so far, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def newest_price_age() -> float | None:
    newest = MarketPrice.objects.aggregate(newest=Max("at"))["newest"]
    return None if newest is None else (timezone.now() - newest).total_seconds()


def filled(fake: FakeBinance) -> bool:
    """Whether the feed has read each open trade's history (one page of klines each)."""
    return sum(path.startswith("/api/v3/klines") for path in fake.requests) >= TRADES


def wait_for(condition, seconds: float, what: str, command: subprocess.Popen) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if command.poll() is not None or time.monotonic() > deadline:
            command.kill()
            raise SystemExit(f"the price feed {what} not within {seconds:g} s: {command.communicate()[1][-3000:]}")
        time.sleep(SAMPLE)


def flood() -> dict:
    open_trades(TRADES)
    names = [f"F{n:03d}USDT" for n in range(SYMBOLS)]
    fake = FakeBinance()
    fake.markets = {name: (name.removesuffix("USDT"), "USDT") for name in names}
    command = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "price_feed",
            "--exchange",
            "binance",
            "--exchange-config",
            json.dumps(fake.exchange_config),
            "--symbols",
            ",".join(names),
            "--interval",
            str(INTERVAL),
        ],
        cwd=ROOT,
        env=os.environ | {"DJANGO_SETTINGS_MODULE": "bench.settings"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: fake.subscriptions, 60, "subscribed", command)
        # A ticker a second per symbol (Binance's pace) while the feed fills the minutes its open trades missed
        # since their entry, which it does before it applies a tick after a gap: then the flood.
        fake.flood(names, SYMBOLS)
        wait_for(lambda: filled(fake) and newest_price_age() is not None, 60, "filled the missed minutes", command)
        time.sleep(2 * INTERVAL)
        fake.unflood()
        rss_before, cpu_before = rss_mb(command.pid), cpu_seconds(command.pid)
        fake.flood(names, RATE)
        started = time.monotonic()
        rss, ages = [], []
        while (elapsed := time.monotonic() - started) < SECONDS:
            rss.append((elapsed, rss_mb(command.pid)))
            ages.append(newest_price_age())
            time.sleep(SAMPLE)
        cpu = cpu_seconds(command.pid) - cpu_before
        command.send_signal(signal.SIGTERM)  # under the flood still
        stopping, sent = time.monotonic(), fake.flooded
        out, err = command.communicate(timeout=60)
        stop_s = time.monotonic() - stopping
        fake.unflood()
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
        fake.close()
    if command.returncode:
        raise SystemExit(f"price_feed exited {command.returncode}: {err[-3000:]}")
    applied = int(out.rsplit("Stopped: ", 1)[1].split()[0])
    checked = StringIO()
    call_command("check_ledger", stdout=checked)  # exits 1 (SystemExit) on any violation
    half = SECONDS / 2
    return {
        "symbols": SYMBOLS,
        "trades": TRADES,
        "seconds": SECONDS,
        "interval_s": INTERVAL,
        "offered_per_s": RATE,
        "sent_per_s": sent / (stopping - started),
        "applied_per_s": applied / (stopping - started),
        "rss_before_mb": rss_before,
        "rss_first_half_peak_mb": max(mb for at, mb in rss if at < half),
        "rss_second_half_peak_mb": max(mb for at, mb in rss if at >= half),
        "lag_p50_s": statistics.median(ages),
        "lag_max_s": max(ages),
        "sigterm_stop_s": stop_s,
        "feed_cpu_cores": cpu / (stopping - started),
        "load_average_1m": os.getloadavg()[0],
    }


if __name__ == "__main__":
    print("BENCH_JSON " + json.dumps(flood()))
