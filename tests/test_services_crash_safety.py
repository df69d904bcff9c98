"""kill -9 in the middle of a write: nothing half-written, the ledger consistent, a rerun finishes the work once.

A child process runs the real command or request path against the test database. It stops at a chosen
point inside a transaction (just before its COMMIT, or right after its first, second, ... write), says so,
and is killed there. The database must then hold exactly what it held
before the killed transaction (SQLite's WAL and PostgreSQL both drop an uncommitted transaction).
"""

import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from ledger import selectors, services
from ledger.models import ApiToken, Book, PaperTrade, Signal
from tests.helpers import book

from .conftest import database_url, roomy_environment, wait_out_the_day

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[1]
TRADES = 60  # open trades for the end of day and the tick batch
INTAKE = 20  # signals posted one after another; the pause is inside the 11th

CHILD = r"""
import sys, time
from datetime import UTC, datetime
from decimal import Decimal
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from django.test import Client
from ledger import services
from ledger.inputs import Tick

work, pause, token, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
where, _, number = pause.partition(":")  # "commit:N": before the N-th COMMIT; "write:N": after the N-th write

def stop_here():
    print("INSIDE", flush=True)  # a transaction is open with some or all of its writes done, not committed
    time.sleep(120)

commits = writes = 0
real_commit = connection._commit
def commit():
    global commits
    commits += 1
    if where == "commit" and commits == int(number):
        stop_here()
    return real_commit()

def count_writes(execute, sql, params, many, context):
    global writes
    result = execute(sql, params, many, context)
    if sql.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")):
        writes += 1
        if where == "write" and writes == int(number):
            stop_here()
    return result

connection._commit = commit
with connection.execute_wrapper(count_writes):
    if work == "eod":
        call_command("close_eod", date="2026-11-20")
    elif work == "ticks":  # one batch: a tick at 101 for every symbol, then one through the stop for the even ones
        ticks = [Tick(f"COIN{i}USDT", Decimal("101"), datetime(2026, 11, 20, 10, 5, tzinfo=UTC)) for i in range(count)]
        ticks += [
            Tick(f"COIN{i}USDT", Decimal("97"), datetime(2026, 11, 20, 10, 6, tzinfo=UTC)) for i in range(0, count, 2)
        ]
        services.prices_apply(ticks=ticks)
    elif work == "intake":
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", SERVER_NAME="127.0.0.1")
        for i in range(count):
            body = {
                "signal_id": f"crash-{i}",
                "symbol": "BTCUSDT",
                "action": "BUY",
                "entry_price": "100",
                "confidence": "0.7",
            }
            response = client.post("/api/v1/signals", body, content_type="application/json")
            assert response.status_code in (200, 201), response.content
print("DONE", flush=True)
"""


def run_child(work: str, *, pause: str = "-", token: str = "-", count: int = 0) -> str:
    """Run the work in a child process; with a pause ("commit:N" or "write:N"), kill -9 it as soon as it
    says it stopped there. Returns what it printed."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, work, pause, token, str(count)],
        cwd=ROOT,
        env=os.environ
        | roomy_environment()
        | {"DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": database_url()},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    try:
        for line in child.stdout:
            lines.append(line.strip())
            if line.startswith("INSIDE"):
                child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    expected = -signal.SIGKILL if pause != "-" else 0
    assert child.returncode == expected, child.stderr.read()
    return "\n".join(lines)


def snapshot() -> tuple:
    """Every column of every row the ledger writes, the history included."""
    return (
        list(Signal.objects.order_by("pk").values_list()),
        list(PaperTrade.objects.order_by("pk").values_list()),
        list(Book.objects.values_list()),
        Signal.history.count(),
        PaperTrade.history.count(),
    )


@pytest.fixture
def many_open_trades(open_trade, many_trades):
    return [open_trade(symbol=f"COIN{i}USDT") for i in range(TRADES)]


def test_an_end_of_day_killed_inside_its_transaction_writes_nothing_and_a_rerun_closes_each_trade_once(
    many_open_trades,
):
    before = snapshot()

    run_child("eod", pause="commit:1")

    assert snapshot() == before
    assert selectors.ledger_violations(book()) == []
    run_child("eod")
    assert PaperTrade.objects.filter(status=PaperTrade.Status.EOD_CLOSE).count() == TRADES
    assert "No open trades to close" in run_child("eod")
    # Each trade closed at its entry price 100 with size 50: realized -(5 + 5) = -10; 60 trades: -600.
    assert book().realized_pnl_total == Decimal("-600")
    assert selectors.ledger_violations(book()) == []


# Each write of the two batch services, in order. The end of day: the trades' UPDATE, the signals' UPDATE,
# the two history INSERTs, the running total's UPDATE. A tick batch: the marks' UPDATE first, then the same five.
WRITES = [("eod", n) for n in range(1, 6)] + [("ticks", n) for n in range(1, 7)]


@pytest.mark.parametrize(("work", "write"), WRITES)
def test_a_batch_killed_after_any_one_of_its_writes_leaves_every_row_as_it_was(many_open_trades, work, write):
    before = snapshot()

    run_child(work, pause=f"write:{write}", count=TRADES)

    assert snapshot() == before
    assert selectors.ledger_violations(book()) == []


def test_a_tick_batch_killed_inside_its_transaction_writes_nothing_and_a_rerun_applies_it_once(many_open_trades):
    before = snapshot()

    run_child("ticks", pause="commit:1", count=TRADES)

    assert snapshot() == before
    assert selectors.ledger_violations(book()) == []
    run_child("ticks", count=TRADES)
    run_child("ticks", count=TRADES)  # the same batch again: the stopped trades are closed already
    # 30 even-numbered trades stopped at 97: (97 - 100) * 50 = -150, fees 5 + 0.001 * 97 * 50 = 9.85,
    # realized -159.85 each, -4795.5 in all. The 30 others stay open, marked at 101.
    assert PaperTrade.objects.filter(status=PaperTrade.Status.STOP_LOSS).count() == TRADES // 2
    assert book().realized_pnl_total == Decimal("-4795.5")
    assert set(PaperTrade.objects.filter(status=PaperTrade.Status.OPEN).values_list("current_price", flat=True)) == {
        Decimal("101")
    }
    assert selectors.ledger_violations(book()) == []


def test_a_signal_intake_killed_inside_a_request_keeps_the_signals_before_it_and_a_resend_adds_each_once(many_trades):
    _, token = services.api_token_create(name="crash", scope=ApiToken.Scope.TRADE)
    # The children stamp and execute each signal on the real clock, in one request: keep them in one trading day.
    wait_out_the_day(30)

    run_child("intake", pause=f"commit:{INTAKE // 2 + 1}", token=token, count=INTAKE)

    # The 10 requests before the killed one are complete (signal EXECUTED with its open trade); the 11th left nothing.
    assert sorted(Signal.objects.values_list("signal_id", flat=True)) == sorted(
        f"crash-{i}" for i in range(INTAKE // 2)
    )
    assert PaperTrade.objects.filter(status=PaperTrade.Status.OPEN).count() == INTAKE // 2
    assert selectors.ledger_violations(book()) == []
    run_child("intake", token=token, count=INTAKE)  # the sender resends everything: replays answer 200
    assert Signal.objects.filter(signal_id__startswith="crash-", status=Signal.Status.EXECUTED).count() == INTAKE
    assert PaperTrade.objects.count() == INTAKE
    assert selectors.ledger_violations(book()) == []
