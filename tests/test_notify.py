"""The notifier (ledger/notify/): what each message says, how a channel is paced and retried, and the worker
sending the outbox's events to a fake Telegram and a fake SMTP server on loopback (tests/fake_notify.py)."""

import logging
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from apprise.plugins.telegram import NotifyTelegram
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.utils import timezone

from ledger import selectors, services
from ledger.inputs import SignalFields, Tick
from ledger.models import Event, NotifyChannel, PaperTrade
from ledger.notify import messages
from ledger.notify.worker import (
    BACKOFF_CAP,
    MAX_FAILURES,
    TokenBucket,
    Worker,
    backoff,
    channel_key,
    open_channels,
    per_period,
)

from .conftest import EXIT_AT, T0
from .fake_notify import FakeSmtp, FakeTelegram

# --- What the messages say -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_fill_says_side_size_fill_levels_and_risk(open_trade):
    trade = open_trade()  # LONG 50 BTCUSDT at 100, stop 98, target 104: risk (100 - 98) * 50 = 100

    message = messages.fill(trade)

    assert message == messages.Message(
        "fills",
        "Filled: LONG BTCUSDT",
        f"Trade {trade.pk}: bought 50.00 BTCUSDT at 100.00. Stop 98.00, target 104.00, risk 100.00.",
    )


@pytest.mark.django_db
def test_an_exit_says_the_exit_the_reason_and_the_pnl_in_money_and_r(closed_trade):
    message = messages.exit_(closed_trade)  # closed by hand at 101: +39.95, risk 100: +0.40R

    assert message.kind == "exits"
    assert message.title == "Manual close: LONG BTCUSDT +39.95"
    assert message.body == f"Trade {closed_trade.pk} closed at 101.00 (manual close): +39.95 (+0.40R)."


def test_a_liquidation_is_its_own_kind():
    trade = PaperTrade(
        pk=7,
        symbol="ETHUSDT",
        direction="SHORT",
        status=PaperTrade.Status.LIQUIDATION,
        exit_price=Decimal("199.5"),
        realized_pnl=Decimal("-995"),
        risk_amount=Decimal("100"),
    )

    message = messages.exit_(trade)

    assert message == messages.Message(
        "liquidations",
        "Liquidated: SHORT ETHUSDT \u2212995.00",
        "Trade 7 was liquidated at 199.50: \u2212995.00 (\u22129.95R).",
    )


def test_a_refusal_says_which_signal_and_why():
    message = messages.refusal(
        signal_id="tv-7", action="BUY", symbol="ETHUSDT", reason="Not executed: no price for ETHUSDT."
    )

    assert message == messages.Message(
        "refusals", "Signal refused: BUY ETHUSDT", "Signal tv-7: Not executed: no price for ETHUSDT."
    )


def test_a_stalled_feed_says_how_long_and_what_it_means():
    message = messages.feed_stalled(lag_seconds=75, last_at=datetime(2026, 12, 3, 12, 1, 5, tzinfo=UTC))

    assert message.title == "Price feed stalled"
    assert message.body.startswith("No price has arrived for 75 s (the last at 12:01:05 UTC)")


def test_the_digest_sums_up_the_day():
    message = messages.digest(
        day=date(2026, 12, 3), closes=3, wins=2, realized=Decimal("-12.5"), balance=Decimal("9987.5"), still_open=1
    )

    assert message.title == "Day 2026-12-03: \u221212.50"
    assert message.body == "3 trades closed, 2 won; realized \u221212.50. Balance 9,987.50; 1 trade still open."


# --- Pacing and retries ----------------------------------------------------------------------------


def test_a_rate_is_messages_over_seconds():
    assert per_period("20/min") == (20, 60.0)
    assert per_period("5/s") == (5, 1.0)


def test_the_token_bucket_lets_a_burst_through_then_paces_the_rest():
    bucket = TokenBucket(3, 60.0)  # 3 a minute: one every 20 s once the burst is spent

    for _ in range(3):
        assert bucket.wait(0.0) == 0
        bucket.take()

    assert bucket.wait(0.0) == pytest.approx(20.0)
    assert bucket.wait(15.0) == pytest.approx(5.0)
    assert bucket.wait(20.0) == 0


def test_the_token_bucket_never_holds_more_than_its_capacity():
    bucket = TokenBucket(2, 1.0)

    bucket.wait(1000.0)  # idle for long: still only two at once
    bucket.take()
    bucket.take()

    assert bucket.wait(1000.0) == pytest.approx(0.5)


def test_the_backoff_doubles_with_jitter_up_to_its_cap():
    assert 0.5 <= backoff(1) <= 1.0
    assert 4.0 <= backoff(4) <= 8.0
    assert BACKOFF_CAP / 2 <= backoff(40) <= BACKOFF_CAP


# --- The worker, in this process, against the fakes ----------------------------------------------------


@pytest.fixture
def telegram(monkeypatch):
    fake = FakeTelegram()
    monkeypatch.setattr(NotifyTelegram, "notify_url", fake.base_url)
    yield fake
    fake.close()


@pytest.fixture
def smtp():
    fake = FakeSmtp()
    yield fake
    fake.close()


class Clock:
    """The worker's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def worker_for(*urls: str, kinds=("fills", "exits", "liquidations", "refusals", "feed", "digest"), clock=None):
    """A worker whose channels begin at the outbox's start, so that the test's own events are theirs."""
    for url in urls:
        services.notify_channel_open(key=channel_key(url), name=url, start_after=0)
    return Worker(open_channels(list(urls)), kinds=list(kinds), clock=clock or Clock())


def drain(worker: Worker) -> list[float]:
    """Step every channel until none has anything to do now; returns what each would wait then."""
    while True:
        waits = [worker.step(channel) for channel in worker.channels]
        if all(waits):
            return waits


@pytest.mark.django_db
def test_every_kind_the_trader_wants_goes_once_to_every_channel_in_order(telegram, smtp, open_trade):
    trade = open_trade()
    services.trade_close(trade_id=trade.pk, price=Decimal("101"), at=EXIT_AT)
    services.signal_intake(  # stamped on a day that has ended: refused
        signal=SignalFields(
            signal_id="late", symbol="ETHUSDT", action="SELL", entry_price="2000", confidence="0.5", timestamp=T0
        )
    )
    services.day_close(day=T0.date(), at=T0 + timedelta(days=1))
    worker = worker_for(telegram.url, smtp.url)

    drain(worker)
    drain(worker)  # nothing new: nothing more

    titles = [
        "Filled: LONG BTCUSDT",
        "Manual close: LONG BTCUSDT +39.95",
        "Signal refused: SELL ETHUSDT",
        "Day 2026-11-20: +39.95",
    ]
    assert smtp.subjects() == titles
    assert [text.split("\r\n")[0] for text in telegram.texts()] == [f"<b>{title}</b>" for title in titles]
    assert set(NotifyChannel.objects.values_list("done_id", flat=True)) == {selectors.events_newest_id()}


@pytest.mark.django_db
def test_kinds_the_trader_turned_off_are_passed_over(smtp, open_trade):
    trade = open_trade()
    services.trade_close(trade_id=trade.pk, price=Decimal("101"), at=EXIT_AT)
    worker = worker_for(smtp.url, kinds=["exits"])

    drain(worker)

    assert smtp.subjects() == ["Manual close: LONG BTCUSDT +39.95"]
    assert NotifyChannel.objects.get().done_id == selectors.events_newest_id()


@pytest.mark.django_db
def test_a_failing_channel_is_retried_after_a_backoff_and_holds_up_only_itself(telegram, smtp, open_trade):
    telegram.failures = 2
    open_trade()
    clock = Clock()
    worker = worker_for(telegram.url, smtp.url, clock=clock)

    first_wait, _ = drain(worker)
    assert (len(telegram.messages), len(smtp.messages)) == (0, 1)
    assert 0.5 <= first_wait <= 1.0  # the first backoff
    clock.now += first_wait
    second_wait, _ = drain(worker)
    assert 1.0 <= second_wait <= 2.0  # doubled
    clock.now += second_wait
    drain(worker)

    assert telegram.texts()[0].startswith("<b>Filled: LONG BTCUSDT</b>")
    assert (len(telegram.messages), len(smtp.messages)) == (1, 1)
    assert set(NotifyChannel.objects.values_list("failures", "sending_id")) == {(0, None)}


@pytest.mark.django_db
def test_an_event_that_keeps_failing_is_given_up_and_the_channel_moves_on(telegram, open_trade, caplog):
    telegram.failures = MAX_FAILURES
    open_trade()
    open_trade(symbol="ETHUSDT")
    clock = Clock()
    worker = worker_for(telegram.url, clock=clock)

    with caplog.at_level(logging.ERROR, logger="ledger.notify"):
        for _ in range(MAX_FAILURES + 1):
            clock.now += BACKOFF_CAP
            drain(worker)

    assert [text.split("\r\n")[0] for text in telegram.texts()] == ["<b>Filled: LONG ETHUSDT</b>"]
    assert f"failed {MAX_FAILURES} times; given up" in caplog.text


@pytest.mark.django_db
def test_each_channel_is_paced_by_its_token_bucket(smtp, open_trade, many_trades, settings):
    settings.PAPER_NOTIFY_RATE = "2/min"
    for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
        open_trade(symbol=symbol)
    clock = Clock()
    worker = worker_for(smtp.url, clock=clock)

    (wait,) = drain(worker)
    assert len(smtp.messages) == 2  # the burst
    assert wait == pytest.approx(30.0)  # a token every 30 s
    clock.now += 30
    drain(worker)

    assert len(smtp.messages) == 3


@pytest.mark.django_db
def test_a_stalled_feed_is_told_once_per_stall(smtp, settings):
    settings.PRICE_FEED_DEGRADED_LAG = 60
    now = timezone.now()
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("100"), now - timedelta(seconds=75))])
    worker = worker_for(smtp.url)

    assert services.feed_stall_record(now=now) is not None
    assert services.feed_stall_record(now=now + timedelta(seconds=30)) is None  # the same stall
    drain(worker)
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("101"), now)])
    assert services.feed_stall_record(now=now + timedelta(seconds=30)) is None  # prices are back
    assert services.feed_stall_record(now=now + timedelta(seconds=61)) is not None  # and stopped again

    assert smtp.subjects() == ["Price feed stalled"]
    assert smtp.messages[0].get_payload(decode=True).decode().startswith("No price has arrived for 75 s")
    assert Event.objects.filter(kind="feed.stalled").count() == 2


def test_a_url_apprise_does_not_know_is_refused_naming_its_place():
    with pytest.raises(ValueError, match="URL 2 \\(nosuch://…\\) is not one Apprise knows"):
        open_channels(["json://127.0.0.1:9/", "nosuch://x"])


def test_the_command_needs_somewhere_to_send(settings):
    settings.PAPER_NOTIFY_URLS = []

    with pytest.raises(CommandError, match="PAPER_NOTIFY_URLS is empty"):
        call_command("notify")


@pytest.mark.django_db
def test_a_send_whose_outcome_the_database_failed_to_take_is_recorded_at_the_next_step_not_sent_again(
    smtp, open_trade, monkeypatch
):
    open_trade()
    worker = worker_for(smtp.url)
    real = services.notify_sent
    calls = []

    def flaky(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise OperationalError("database is locked")
        return real(**kwargs)

    monkeypatch.setattr(services, "notify_sent", flaky)

    with pytest.raises(OperationalError):
        drain(worker)
    drain(worker)

    assert smtp.subjects() == ["Filled: LONG BTCUSDT"]
    assert NotifyChannel.objects.values_list("done_id", "sending_id").get() == (selectors.events_newest_id(), None)
