"""`manage.py notify`, a real process: 100 fills make exactly 100 messages at a fake Telegram and a fake SMTP
server on loopback, also when the worker is killed with -9 in the middle of a send and started again."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledger import services
from ledger.models import Event, NotifyChannel
from ledger.notify.worker import channel_key

from .conftest import database_url
from .fake_notify import FakeSmtp, FakeTelegram

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[1]
FILLS = 100

# The command itself, with Apprise's Telegram aimed at the fake (it has no setting for another host).
CHILD = r"""
import sys
import django
from apprise.plugins.telegram import NotifyTelegram
NotifyTelegram.notify_url = sys.argv[1]
django.setup()
from django.core.management import call_command
call_command("notify")
"""


@pytest.fixture
def telegram():
    fake = FakeTelegram()
    yield fake
    fake.close()


@pytest.fixture
def smtp():
    fake = FakeSmtp()
    yield fake
    fake.close()


def start_worker(telegram: FakeTelegram, smtp: FakeSmtp) -> subprocess.Popen:
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "PAPER_NOTIFY_URLS": f"{telegram.url} {smtp.url}",
        "PAPER_NOTIFY_RATE": "1000/s",
        "PYTHONUNBUFFERED": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, telegram.base_url],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


WAIT = 300  # seconds at most for a phase: 100 sends to two servers take tens of seconds on a busy machine


def wait_for(condition, *, seconds: float = WAIT) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_100_fills_make_exactly_100_messages_at_each_server_across_a_kill_9_in_the_middle_of_a_send(
    open_trade, many_trades, telegram, smtp
):
    # Both channels begin before the fills (a channel new to the worker starts after the newest event).
    for url in (telegram.url, smtp.url):
        services.notify_channel_open(key=channel_key(url), name=url, start_after=0)
    trades = [open_trade(symbol=f"COIN{n}USDT") for n in range(FILLS)]
    telegram.hold = FILLS // 2  # the 50th message arrives, and its answer waits

    worker = start_worker(telegram, smtp)
    try:
        assert telegram.holding.wait(WAIT), worker.stdout.read() if worker.poll() is not None else "no 50th message"
    finally:
        worker.send_signal(signal.SIGKILL)  # it sent the 50th and never heard back
        worker.wait(10)
        telegram.release()
    assert len(telegram.messages) == FILLS // 2
    worker = start_worker(telegram, smtp)
    try:
        wait_for(lambda: len(telegram.messages) >= FILLS and len(smtp.messages) >= FILLS)
        time.sleep(2)  # time for a message too many to arrive
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=20)
    finally:
        if worker.poll() is None:
            worker.kill()

    assert worker.returncode == 0, out
    assert len(telegram.messages) == len(smtp.messages) == FILLS
    titles = [f"Filled: LONG {trade.symbol}" for trade in trades]
    assert sorted(text.split("\r\n")[0] for text in telegram.texts()) == sorted(f"<b>{t}</b>" for t in titles)
    assert sorted(smtp.subjects()) == sorted(titles)
    held = Event.objects.filter(kind="trade.opened", trade_id=trades[FILLS // 2 - 1].pk).get()
    assert f"event {held.pk} was being sent when the worker stopped" in out
    last = Event.objects.filter(kind="trade.opened").latest("pk").pk
    assert set(NotifyChannel.objects.values_list("done_id", "sending_id")) == {(last, None)}
