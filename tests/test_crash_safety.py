"""kill -9 in the middle of a write: nothing half-written, the ledger consistent, a rerun finishes the work once.

A child process runs the real command or request path against the test database. With a pause point it
stops inside the transaction, after all its UPDATEs and INSERTs, just before COMMIT, says so, and is
killed there; without one it is killed after a random delay. The database must then hold exactly what it held
before the killed transaction (SQLite's WAL and PostgreSQL both drop an uncommitted transaction).
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from ledger import selectors, services
from ledger.models import Account, PaperTrade, Signal

from .conftest import T0, database_url

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[1]
TRADES = 150  # open trades for the end of day and the tick batch
INTAKE = 20  # signals posted one after another; the pause is inside the 11th

CHILD = r"""
import json, sys, time
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from django.test import Client
from ledger import services

work, pause_at, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def pause():
    print("INSIDE", flush=True)  # the transaction is open and its writes are done; COMMIT has not run
    time.sleep(120)

commits = 0
def pause_before_commit(real):
    def wrapped():
        global commits
        commits += 1
        if commits == pause_at:
            pause()
        return real()
    return wrapped

if pause_at:  # stop just before the pause_at-th COMMIT, whatever the service wrote before it
    connection._commit = pause_before_commit(connection._commit)
print("READY", flush=True)
if work == "eod":
    call_command("close_eod", date="2026-11-20")
elif work == "ticks":  # one batch: a tick at 101 for every symbol, then one through the stop for the even ones
    ticks = [{"symbol": f"COIN{i}USDT", "price": "101", "time": "2026-11-20T10:05:00Z"} for i in range(int(sys.argv[4]))]
    ticks += [{"symbol": f"COIN{i}USDT", "price": "97", "time": "2026-11-20T10:06:00Z"} for i in range(0, int(sys.argv[4]), 2)]
    services.prices_apply(ticks=[services.Tick(t["symbol"], services.Decimal(t["price"]), services.datetime.fromisoformat(t["time"])) for t in ticks])
elif work == "intake":
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", SERVER_NAME="127.0.0.1")
    for i in range(int(sys.argv[4])):
        body = {"signal_id": f"crash-{i}", "symbol": "BTCUSDT", "action": "BUY", "entry_price": "100", "confidence": "0.7"}
        response = client.post("/api/v1/signals", body, content_type="application/json")
        assert response.status_code in (200, 201), response.content
print("DONE", flush=True)
"""


def run_child(work: str, *, pause_at: int = 0, kill_after: float | None = None, token: str = "-", count: int = 0) -> str:
    """Run the work in a child process. With pause_at, kill -9 it once it says it is inside the transaction;
    with kill_after, kill -9 it that many seconds after it is ready. Returns what it printed."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, work, str(pause_at), token, str(count)],
        cwd=ROOT,
        env=os.environ | {"DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": database_url()},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    try:
        for line in child.stdout:
            lines.append(line.strip())
            if line.startswith("READY") and kill_after is not None:
                time.sleep(kill_after)
                child.send_signal(signal.SIGKILL)
            if line.startswith("INSIDE"):
                child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    if pause_at or kill_after is not None:
        assert child.returncode in (-signal.SIGKILL, 0), child.stderr.read()
    else:
        assert child.returncode == 0, child.stderr.read()
    return "\n".join(lines)


def snapshot() -> tuple:
    """Every column of every row the ledger writes, the history included."""
    return (
        list(Signal.objects.order_by("pk").values_list()),
        list(PaperTrade.objects.order_by("pk").values_list()),
        list(Account.objects.values_list()),
        Signal.history.count(),
        PaperTrade.history.count(),
    )


@pytest.fixture
def many_open_trades(open_trade):
    return [open_trade(symbol=f"COIN{i}USDT") for i in range(TRADES)]


def test_an_end_of_day_killed_inside_its_transaction_writes_nothing_and_a_rerun_closes_each_trade_once(many_open_trades):
    before = snapshot()

    assert "INSIDE" in run_child("eod", pause_at=1)

    assert snapshot() == before
    assert selectors.ledger_violations() == []
    run_child("eod")
    assert PaperTrade.objects.filter(status=PaperTrade.Status.EOD_CLOSE).count() == TRADES
    assert "No open trades to close" in run_child("eod")
    # Each trade closed at its entry price 100 with size 50: realized -(5 + 5) = -10; 150 trades: -1500.
    assert Account.objects.get().realized_pnl_total == Decimal("-1500")
    assert selectors.ledger_violations() == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_an_end_of_day_killed_at_a_random_moment_closes_all_or_nothing(many_open_trades, seed):
    run_child("eod", kill_after=random.Random(seed).uniform(0, 0.4))

    statuses = set(PaperTrade.objects.values_list("status", flat=True))
    assert statuses in ({PaperTrade.Status.OPEN}, {PaperTrade.Status.EOD_CLOSE})
    assert selectors.ledger_violations() == []


def test_a_tick_batch_killed_inside_its_transaction_writes_nothing_and_a_rerun_applies_it_once(many_open_trades):
    before = snapshot()

    assert "INSIDE" in run_child("ticks", pause_at=1, count=TRADES)

    assert snapshot() == before
    assert selectors.ledger_violations() == []
    run_child("ticks", count=TRADES)
    run_child("ticks", count=TRADES)  # the same batch again: the stopped trades are closed already
    # 75 even-numbered trades stopped at 97: (97 - 100) * 50 = -150, fees 5 + 0.001 * 97 * 50 = 9.85,
    # realized -159.85 each, -11988.75 in all. The 75 others stay open, marked at 101.
    assert PaperTrade.objects.filter(status=PaperTrade.Status.STOP_LOSS).count() == TRADES // 2
    assert Account.objects.get().realized_pnl_total == Decimal("-11988.75")
    assert set(PaperTrade.objects.filter(status=PaperTrade.Status.OPEN).values_list("current_price", flat=True)) == {Decimal("101")}
    assert selectors.ledger_violations() == []


def test_a_signal_intake_killed_inside_a_request_keeps_the_signals_before_it_and_a_resend_adds_each_once():
    _, token = services.api_token_create(name="crash")

    assert "INSIDE" in run_child("intake", pause_at=INTAKE // 2 + 1, token=token, count=INTAKE)

    # The 10 requests before the killed one are complete (signal EXECUTED with its open trade); the 11th left nothing.
    assert sorted(Signal.objects.values_list("signal_id", flat=True)) == sorted(f"crash-{i}" for i in range(INTAKE // 2))
    assert PaperTrade.objects.filter(status=PaperTrade.Status.OPEN).count() == INTAKE // 2
    assert selectors.ledger_violations() == []
    run_child("intake", token=token, count=INTAKE)  # the sender resends everything: replays answer 200
    assert Signal.objects.filter(signal_id__startswith="crash-", status=Signal.Status.EXECUTED).count() == INTAKE
    assert PaperTrade.objects.count() == INTAKE
    assert selectors.ledger_violations() == []
