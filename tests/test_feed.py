"""The price feed against a fake Binance on a loopback port (tests/fake_exchange.py): ccxt streams or polls it,
its failures are retried, and what it says reaches the ledger through services.prices_apply."""

import gc
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.db.models import Sum

from ledger import feed, selectors, services, sizing
from ledger.days import today
from ledger.inputs import Tick
from ledger.models import MarketLot, MarketPrice, PaperTrade, PriceCandle

from .conftest import NOW, T0, database_url
from .fake_exchange import MARKETS, FakeBinance, FakeOkx, kline, millis

pytestmark = pytest.mark.django_db
D = Decimal
ROOT = Path(__file__).resolve().parent.parent
START = T0 + timedelta(minutes=2)  # exchange times of the streamed ticks: after the fixture's trades open (10:01)


@pytest.fixture
def fake():
    exchange = FakeBinance()
    yield exchange
    exchange.close()


@pytest.fixture(params=[FakeBinance, FakeOkx], ids=["binance", "okx"])
def either(request):
    """Binance or OKX, for what their protocols do differently."""
    exchange = request.param()
    yield exchange
    exchange.close()


def config(fake: FakeBinance, **changes) -> feed.FeedConfig:
    """Quick: batches every 50 ms, retries from 10 ms, a stream silent for 1 s is dead."""
    return feed.FeedConfig(
        **{
            "exchange": "okx" if isinstance(fake, FakeOkx) else "binance",
            "interval": 0.05,
            "refresh": 0.2,
            "backoff": 0.01,
            "backoff_cap": 0.1,
            "stall": 1.0,
            "exchange_config": fake.exchange_config,
        }
        | changes
    )


def run_until(settings: feed.FeedConfig, done: Callable[[feed.Totals], bool], seconds: float = 10) -> feed.Totals:
    deadline = time.monotonic() + seconds
    totals = feed.run(settings, until=lambda totals: done(totals) or time.monotonic() > deadline)
    assert done(totals), f"the feed did not get there in {seconds} s: {totals}"
    return totals


def subscribed(fake: FakeBinance, times: int = 1) -> None:
    """Wait (10 s at most) until the feed has subscribed that many times."""
    deadline = time.monotonic() + 10
    while len(fake.subscriptions) < times and time.monotonic() < deadline:
        time.sleep(0.01)


def after_subscribing(fake: FakeBinance, script: Callable[[], None]) -> None:
    """Run `script` in the background once the feed has subscribed."""
    threading.Thread(target=lambda: [subscribed(fake), script()], daemon=True).start()


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def test_okx_aimed_at_with_its_rest_host_and_websocket_base_streams_and_polls(open_trade):
    okx = FakeOkx()
    trade = open_trade()  # LONG 50 BTCUSDT at 100, stop 98
    okx.ticker("ETHUSDT", "3200.5", at(0), bid="3200.4", ask="3200.6")
    after_subscribing(okx, lambda: okx.push("BTCUSDT", "97.9", at(1), bid="97.85", ask="97.95"))
    try:
        run_until(config(okx), lambda totals: totals.closes == 1)
        run_until(config(okx, stream=False, watchlist=["ETH-USDT"]), lambda totals: totals.ticks == 1)
    finally:
        okx.close()

    assert okx.exchange_config["urls"] == {"api": {"rest": okx.url, "ws": f"ws://127.0.0.1:{okx.port}/ws/v5"}}
    assert okx.subscriptions[0] == ["BTC-USDT"]
    trade.refresh_from_db()
    assert (trade.status, trade.exit_price) == (PaperTrade.Status.STOP_LOSS, D("97.85"))
    assert MarketPrice.objects.get(symbol="ETH-USDT").ask == D("3200.6")


def test_a_stream_applies_each_ticker_with_its_bid_and_ask_under_the_ledger_s_spelling(fake):
    def script():
        fake.push("BTCUSDT", "64000.12", at(0), bid="64000.11", ask="64000.13")
        fake.push("ETHUSDT", "3200.5", at(1), bid="3200.4", ask="3200.6")

    after_subscribing(fake, script)
    run_until(config(fake, watchlist=["BTCUSDT", "ETH-USDT"]), lambda totals: totals.ticks == 2)

    assert fake.subscriptions[0] == ["btcusdt@ticker", "ethusdt@ticker"]  # the full ticker: it has the bid and ask
    prices = {row.symbol: (row.price, row.bid, row.ask, row.at) for row in MarketPrice.objects.all()}
    assert prices == {
        "BTCUSDT": (D("64000.12"), D("64000.11"), D("64000.13"), at(0)),
        "ETH-USDT": (D("3200.5"), D("3200.4"), D("3200.6"), at(1)),  # the exchange's ETHUSDT, under the ledger's name
    }


def test_a_streamed_price_through_the_stop_closes_the_trade_at_the_bid(fake, open_trade):
    trade = open_trade()  # LONG 50 BTCUSDT at 100, stop 98, target 104

    def script():
        fake.push("BTCUSDT", "99.1", at(0), bid="99", ask="99.2")
        fake.push("BTCUSDT", "97.9", at(1), bid="97.85", ask="97.95")

    after_subscribing(fake, script)
    totals = run_until(config(fake), lambda totals: totals.closes == 1)  # open trades are followed without a watchlist

    trade.refresh_from_db()
    assert (trade.status, trade.exit_price, trade.exit_time) == (PaperTrade.Status.STOP_LOSS, D("97.85"), at(1))
    assert trade.realized_pnl == D("-117.3925")  # (97.85 - 100) * 50 - (5 + 0.001 * 97.85 * 50 = 4.8925)
    assert (trade.max_price, trade.min_price) == (D("100"), D("97.9"))
    assert totals.ticks == 2


def test_an_absurd_tick_is_refused_and_logged_alone_and_a_stop_crossed_beside_it_still_closes(fake, open_trade, caplog):
    tiny = open_trade(action="SELL", entry_price=D("0.0001"))  # 5e7 units: a price of 1e10 values it beyond 1e11
    long = open_trade(symbol="ETHUSDT")  # LONG at 100, stop 98

    def script():
        fake.push("BTCUSDT", "10000000000", at(0))
        fake.push("ETHUSDT", "97.9", at(0), bid="97.85", ask="97.95")

    after_subscribing(fake, script)
    totals = run_until(config(fake), lambda totals: totals.closes == 1 and totals.refused == 1)

    long.refresh_from_db()
    tiny.refresh_from_db()
    assert (long.status, long.exit_price) == (PaperTrade.Status.STOP_LOSS, D("97.85"))
    assert (tiny.status, tiny.current_price) == (PaperTrade.Status.OPEN, D("0.0001"))
    assert totals.ticks == 1
    refusals = [r.getMessage() for r in caplog.records if "tick refused" in r.getMessage()]
    assert len(refusals) == 1
    assert "a BTCUSDT tick refused, not applied: tick 0: price 10000000000" in refusals[0]


def test_mfe_and_mae_of_a_trade_through_a_streamed_path(fake, open_trade):
    trade = open_trade()  # LONG 50 at 100: 1R = 100
    path = ["100.6", "101.9", "99.3", "100.2", "102.4", "101"]
    after_subscribing(fake, lambda: [fake.push("BTCUSDT", price, at(n)) for n, price in enumerate(path)])

    totals = run_until(config(fake), lambda totals: totals.ticks + totals.conflated == len(path))

    trade.refresh_from_db()
    # MFE (102.4 - 100) * 50 = 120 = 1.2R; MAE (99.3 - 100) * 50 = -35 = -0.35R; still open at 101
    assert (trade.status, trade.current_price) == (PaperTrade.Status.OPEN, D("101"))
    assert (trade.excursions.favourable, trade.excursions.favourable_r) == (D("120"), D("1.2"))
    assert (trade.excursions.adverse, trade.excursions.adverse_r) == (D("-35"), D("-0.35"))
    assert totals.ticks >= 4  # a minute's ticks waiting together are conflated to its first, high, low and newest


def test_candles_of_a_ten_minute_stream_are_the_hand_computed_ones(fake):
    # A tick every 40 s of exchange time for ten minutes: 10:02:00, :40, 10:03:20, ...; price 100 + n/4 - (n % 3)
    prices = [D(100) + D(n) / 4 - n % 3 for n in range(15)]
    after_subscribing(fake, lambda: [fake.push("BTCUSDT", str(p), at(40 * n)) for n, p in enumerate(prices)])

    run_until(config(fake, watchlist=["BTCUSDT"]), lambda totals: totals.ticks == 15)

    rows = [(c.minute - START, c.open, c.high, c.low, c.close, c.ticks) for c in PriceCandle.objects.order_by("minute")]
    minute = timedelta(minutes=1)
    # n: time, price — 0: 0:00 100; 1: 0:40 99.25; 2: 1:20 98.5; 3: 2:00 100.75; 4: 2:40 100; 5: 3:20 99.25;
    # 6: 4:00 101.5; 7: 4:40 100.75; 8: 5:20 100; 9: 6:00 102.25; 10: 6:40 101.5; 11: 7:20 100.75; 12: 8:00 103;
    # 13: 8:40 102.25; 14: 9:20 101.5
    assert rows == [
        (0 * minute, D("100"), D("100"), D("99.25"), D("99.25"), 2),
        (1 * minute, D("98.5"), D("98.5"), D("98.5"), D("98.5"), 1),
        (2 * minute, D("100.75"), D("100.75"), D("100"), D("100"), 2),
        (3 * minute, D("99.25"), D("99.25"), D("99.25"), D("99.25"), 1),
        (4 * minute, D("101.5"), D("101.5"), D("100.75"), D("100.75"), 2),
        (5 * minute, D("100"), D("100"), D("100"), D("100"), 1),
        (6 * minute, D("102.25"), D("102.25"), D("101.5"), D("101.5"), 2),
        (7 * minute, D("100.75"), D("100.75"), D("100.75"), D("100.75"), 1),
        (8 * minute, D("103"), D("103"), D("102.25"), D("102.25"), 2),
        (9 * minute, D("101.5"), D("101.5"), D("101.5"), D("101.5"), 1),
    ]


def test_a_dropped_connection_is_made_again_and_subscribed_anew(fake):
    def script():
        fake.push("BTCUSDT", "100", at(0))
        time.sleep(0.15)
        fake.drop_connections()
        subscribed(fake, 2)
        fake.push("BTCUSDT", "101", at(5))

    after_subscribing(fake, script)
    run_until(config(fake, watchlist=["BTCUSDT"]), lambda totals: totals.ticks == 2)

    assert fake.subscriptions == [["btcusdt@ticker"], ["btcusdt@ticker"]]
    assert MarketPrice.objects.get().price == D("101")


def test_a_late_tick_after_a_newer_one_is_ignored_and_counted(fake):
    # A reconnect's replay: the 10:02:05 price arrives after the 10:02:09 one was applied.
    after_subscribing(
        fake, lambda: [fake.push("BTCUSDT", "101", at(9)), time.sleep(0.2), fake.push("BTCUSDT", "90", at(5))]
    )

    totals = run_until(config(fake, watchlist=["BTCUSDT"]), lambda totals: totals.ticks + totals.ignored == 2)

    assert (totals.ticks, totals.ignored) == (1, 1)
    assert (MarketPrice.objects.get().price, PriceCandle.objects.get().low) == (D("101"), D("101"))


def test_garbage_on_the_socket_is_one_line_then_a_new_connection(fake, caplog):
    def script():
        fake.send_text('{"e": "24hrTicker", "s": "BTC')  # cut off: not JSON
        subscribed(fake, 2)
        fake.push("BTCUSDT", "100", at(0))

    after_subscribing(fake, script)
    run_until(config(fake, watchlist=["BTCUSDT"]), lambda totals: totals.ticks == 1)

    warnings = [r.getMessage() for r in caplog.records if r.name == "ledger.feed" and r.levelname == "WARNING"]
    unreadable = [line for line in warnings if "an unreadable message: JSONDecodeError" in line]
    assert unreadable
    assert all("\n" not in line for line in unreadable)  # one line each, no traceback
    assert len(fake.subscriptions) >= 2


def test_a_ticker_without_a_price_is_not_applied(fake, caplog):
    after_subscribing(
        fake,
        lambda: [
            fake.push("BTCUSDT", "-3", at(0)),
            fake.push("ETHUSDT", "NaN", at(0)),
            fake.push("BTCUSDT", "100", at(1)),
        ],
    )

    totals = run_until(config(fake, watchlist=["BTCUSDT", "ETHUSDT"]), lambda totals: totals.ticks == 1)

    assert list(MarketPrice.objects.values_list("symbol", "price")) == [("BTCUSDT", D("100"))]
    assert sum("is not a price, not applied" in r.getMessage() for r in caplog.records) == 2
    assert totals.ignored == 0


def test_polling_backs_off_after_a_429_and_a_5xx_and_then_applies(fake, caplog):
    fake.ticker("BTCUSDT", "100.5", at(0), bid="100.4", ask="100.6")
    tickers = "/api/v3/ticker/24hr"
    fake.fail_rest(tickers, 429, '{"code": -1003, "msg": "Too many requests"}')
    fake.fail_rest(tickers, 503, "Service Unavailable")
    fake.fail_rest(tickers, 200, "<html>not json")  # a garbage body with a 200

    run_until(config(fake, watchlist=["BTCUSDT"], stream=False), lambda totals: totals.ticks == 1)

    retries = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    # ccxt's names: Binance's 429 is DDoSProtection; the HTML body breaks its parser (an AttributeError, one line too)
    assert [line.split(":")[1].strip() for line in retries] == [
        "DDoSProtection",
        "ExchangeNotAvailable",
        "AttributeError",
    ]
    delays = [float(line.rsplit("retrying in ", 1)[1].split()[0]) for line in retries]
    # base 10 ms doubled per failure in a row, each with jitter of up to half: [5, 10], [10, 20], [20, 40] ms
    assert 0.005 <= delays[0] <= 0.01
    assert 0.01 <= delays[1] <= 0.02
    assert 0.02 <= delays[2] <= 0.04
    assert [path.split("?")[0] for path in fake.requests].count(
        "/api/v3/ticker/24hr"
    ) >= 4  # one request for all symbols
    assert MarketPrice.objects.get().bid == D("100.4")


def test_a_symbol_the_exchange_does_not_list_is_reported_once_and_skipped(fake, caplog):
    fake.ticker("BTCUSDT", "100", at(0))

    run_until(
        config(fake, watchlist=["BTCUSDT", "NOPEUSDT"], stream=False),
        lambda totals: totals.ticks >= 1 and len(fake.requests) >= 4,
    )

    assert sum("does not list NOPEUSDT; it is skipped" in r.getMessage() for r in caplog.records) == 1
    assert list(MarketPrice.objects.values_list("symbol", flat=True)) == ["BTCUSDT"]


def test_a_new_open_trade_is_followed_without_a_restart(fake, open_trade):
    fake.ticker("BTCUSDT", "100", at(0))
    fake.ticker("ETHUSDT", "100.5", at(0))
    opened = []

    def open_eth_after_btc(totals: feed.Totals) -> bool:
        if totals.ticks >= 1 and not opened:
            opened.append(open_trade(symbol="ETHUSDT"))  # in the feed's own thread, between two batches
        return MarketPrice.objects.filter(symbol="ETHUSDT").exists()

    run_until(config(fake, watchlist=["BTCUSDT"], stream=False), open_eth_after_btc)

    opened[0].refresh_from_db()
    assert opened[0].current_price == D("100.5")


def test_the_exchange_s_clock_ahead_of_ours_never_stamps_a_tick_in_the_future(fake):
    after_subscribing(fake, lambda: fake.push("BTCUSDT", "100", datetime.now(UTC) + timedelta(hours=1)))

    run_until(config(fake, watchlist=["BTCUSDT"]), lambda totals: totals.ticks == 1)

    assert MarketPrice.objects.get().at <= datetime.now(UTC)


def test_markets_that_fail_to_load_or_come_back_empty_are_asked_for_again(fake, caplog):
    fake.ticker("BTCUSDT", "100", at(0))
    fake.fail_rest("/api/v3/exchangeInfo", 502, "Bad Gateway")
    fake.fail_rest("/api/v3/exchangeInfo", 200, "garbage")  # no markets at all: not an exchange that lists nothing

    run_until(config(fake, watchlist=["BTCUSDT"], stream=False), lambda totals: totals.ticks == 1)

    assert [path.split("?")[0] for path in fake.requests].count("/api/v3/exchangeInfo") == 3
    assert sum("retrying in" in r.getMessage() for r in caplog.records) == 2


def feed_command(fake: FakeBinance, *arguments: str, **options) -> None:
    """`price_feed --exchange binance` aimed at the fake with --exchange-config, as an operator aims it at a proxy."""
    config = json.dumps(fake.exchange_config)
    call_command("price_feed", "--exchange", "binance", "--exchange-config", config, *arguments, **options)


def test_backfill_fills_the_minutes_an_open_trade_missed_and_closes_it_where_they_reached_its_stop(fake, open_trade):
    trade = open_trade()  # LONG 50 at 100 from 10:01, stop 98, target 104
    services.prices_apply(
        ticks=[Tick("BTCUSDT", D("100.2"), T0 + timedelta(minutes=2, seconds=5))]
    )  # 10:02 was seen live
    minute = [T0 + timedelta(minutes=m) for m in range(7)]
    fake.klines["BTCUSDT"] = [
        kline(minute[0], "99", "99.5", "98.9", "99.4"),  # 10:00: before the entry, not asked for
        kline(minute[1], "100", "100.4", "99.8", "100.1"),
        kline(minute[2], "100.1", "109", "90", "100.2"),  # 10:02 has a candle from live ticks: kept as it is
        kline(minute[3], "100.2", "101.7", "99.9", "101.5"),
        kline(minute[4], "101.5", "101.6", "97.6", "98.4"),  # the gap reached the stop (98)
        kline(minute[5], "98.4", "bad", "98", "98.8"),  # not a price: skipped
        kline(minute[6], "98.8", "120", "96", "99"),  # after the close: not in the trade's high and low
    ]

    out = StringIO()
    feed_command(fake, "--backfill", stdout=out)

    assert out.getvalue().splitlines() == [
        "BTCUSDT: 4 minutes filled, 1 unreadable.",  # 10:01, 10:03, 10:04 and 10:06
        f"  #{trade.pk} LONG BTCUSDT: closed at 98, its stop reached in the 2026-11-20 10:04 candle while the feed "
        "was down",
    ]
    rows = {c.minute: (c.open, c.high, c.low, c.close, c.ticks) for c in PriceCandle.objects.all()}
    assert rows[minute[2]] == (D("100.2"), D("100.2"), D("100.2"), D("100.2"), 1)  # the live minute wins
    assert rows[minute[4]] == (D("101.5"), D("101.6"), D("97.6"), D("98.4"), 0)  # 0 ticks: from the exchange's history
    assert sorted(rows) == [*minute[1:5], minute[6]]
    trade.refresh_from_db()
    # as its resting stop would have: at the level (10:04 opened above it), stamped with that minute
    assert (trade.status, trade.exit_price, trade.exit_time) == (PaperTrade.Status.STOP_LOSS, D("98"), minute[4])
    assert trade.realized_pnl == D("-109.9")  # (98 - 100) * 50 - fees (5 + 0.001 * 98 * 50 = 4.9)
    # the minutes filled up to the close: highs 100.4, 101.7, 101.6; lows 99.8, 99.9, 97.6
    assert (trade.max_price, trade.min_price) == (D("101.7"), D("97.6"))
    assert trade.history.first().history_change_reason == "filled from 1-minute candles"


def test_backfill_without_open_trades_has_nothing_to_do(fake):
    out = StringIO()
    feed_command(fake, "--backfill", stdout=out)

    assert out.getvalue() == "No open trades: nothing to fill.\n"


def test_sigterm_stops_the_command_cleanly_with_the_ticks_received_applied(fake, open_trade):
    open_trade()

    def script():
        fake.push("BTCUSDT", "101", at(0))
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGTERM)

    after_subscribing(fake, script)
    out = StringIO()
    feed_command(fake, "--interval", "0.05", stdout=out)

    assert out.getvalue().splitlines()[-1] == "Stopped: 1 ticks applied, 1 marks, 0 closes, 0 ignored."
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handed back as it was


@pytest.mark.django_db(transaction=True)  # the command, a process of its own, reads what the fixtures committed
def test_sigterm_under_a_flood_stops_the_command_well_within_its_unit_s_timeout_with_every_batch_whole(
    fake, open_trade
):
    open_trade()  # LONG BTCUSDT from 100, stop 98, target 104: the flood's prices (99.10 to 100.90) mark it
    fake.kline_wait = 60  # and the minutes it missed since its entry are still being read at the SIGTERM
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
            ",".join(MARKETS),
        ],
        cwd=ROOT,
        env=os.environ | {"DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": database_url()},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120  # the command's start (Django, ccxt, the markets) on a busy machine
        while not fake.subscriptions and time.monotonic() < deadline and command.poll() is None:
            time.sleep(0.05)
        fake.flood(list(MARKETS), 3000)  # a thousand tickers a second per symbol
        while not MarketPrice.objects.exists() and time.monotonic() < deadline and command.poll() is None:
            time.sleep(0.05)
        assert MarketPrice.objects.exists(), "the command applied no price: it never started streaming"
        time.sleep(2)  # batches applied under the flood
        command.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        out, err = command.communicate(timeout=30)  # the systemd unit's TimeoutStopSec
        stopped_in = time.monotonic() - signalled
    finally:
        fake.unflood()
        if command.poll() is None:
            command.kill()
            command.communicate()

    assert command.returncode == 0, err[-3000:]
    assert stopped_in < 10
    applied = int(re.search(r"^Stopped: (\d+) ticks applied", out, re.MULTILINE).group(1))
    assert applied > 0
    # Every tick it counted as applied is in a committed candle, and nothing more: no batch half-written.
    assert PriceCandle.objects.aggregate(ticks=Sum("ticks"))["ticks"] == applied
    call_command("check_ledger", stdout=StringIO())  # CommandError on any violation


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--exchange", "nowhere"], "--exchange 'nowhere' is not an exchange ccxt knows"),
        (
            ["--exchange", "binance", "--symbols", "BTCUSDT,BTC USDT"],
            "--symbols: symbol 'BTC USDT' is not a market symbol",
        ),
        (["--exchange", "binance", "--interval", "0"], "--interval must be from 0.05 to 3600 seconds, not 0."),
        (["--exchange", "kraken", "--sandbox"], "--sandbox: ccxt knows no test network for kraken."),
        (["--exchange", "binance", "--exchange-config", "{urls"], "--exchange-config must be a JSON object: Expecting"),
        (["--exchange", "binance", "--exchange-config", "[1]"], "--exchange-config must be a JSON object, not '[1]'."),
    ],
)
def test_bad_arguments_stop_with_a_sentence(arguments, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("price_feed", *arguments)


def test_a_bad_watchlist_setting_is_named(settings):
    settings.PRICE_FEED_SYMBOLS = ["BTC$USDT"]

    with pytest.raises(CommandError, match="^PRICE_FEED_SYMBOLS: symbol 'BTC\\$USDT'"):
        call_command("price_feed", "--exchange", "binance")


@pytest.mark.django_db(transaction=True)  # the feed closes a connection that failed: not the test's own transaction
def test_the_database_going_away_keeps_the_ticks_for_the_next_round(fake, monkeypatch, caplog):
    fake.ticker("BTCUSDT", "100", at(0))
    real_apply, real_followed, calls = services.prices_apply, selectors.symbols_followed, []

    def flaky_apply(*, ticks):
        calls.append(len(ticks))
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real_apply(ticks=ticks)

    def flaky_followed(day, watchlist):
        if len(calls) == 0 and not getattr(flaky_followed, "failed", False):
            flaky_followed.failed = True
            raise OperationalError("could not connect to server")
        return real_followed(day, watchlist)

    monkeypatch.setattr(services, "prices_apply", flaky_apply)
    monkeypatch.setattr(selectors, "symbols_followed", flaky_followed)
    run_until(config(fake, watchlist=["BTCUSDT"], stream=False, refresh=0.05), lambda totals: totals.ticks >= 1)

    messages = [r.getMessage() for r in caplog.records]
    assert any("the symbols to follow could not be read: OperationalError" in m for m in messages)
    assert any("ticks not applied yet: OperationalError" in m for m in messages)
    assert MarketPrice.objects.get().price == D("100")  # the tick that failed went in on the next round


@pytest.mark.time_machine(NOW, tick=False)
def test_the_symbols_followed_are_open_trades_today_s_waiting_signals_and_the_watchlist(
    open_trade, make_signal, many_trades
):
    open_trade(symbol="BTCUSDT", timestamp=NOW - timedelta(days=2), at=NOW - timedelta(days=2))  # open since two days
    make_signal(symbol="ETHUSDT", timestamp=NOW - timedelta(hours=1))  # waiting, today
    make_signal(symbol="XRPUSDT", timestamp=NOW - timedelta(days=1))  # waiting, but yesterday's
    services.signal_expire(signal_id=make_signal(symbol="ADAUSDT", timestamp=NOW).signal_id, reason="no")  # not waiting

    assert selectors.symbols_followed(today(), ["SOL/USDT", "BTCUSDT"]) == ["BTCUSDT", "ETHUSDT", "SOL/USDT"]


def test_the_exchange_config_is_merged_into_ccxt_s_own_and_the_sandbox_is_its_test_network():
    exchange = feed.markets.make_exchange(
        feed.FeedConfig(
            exchange="binance",
            sandbox=True,
            exchange_config={"urls": {"test": {"public": "http://127.0.0.1:9000/api/v3"}}, "timeout": 3000},
        )
    )

    assert exchange.urls["api"]["public"] == "http://127.0.0.1:9000/api/v3"  # the test network's URL, overridden
    assert exchange.urls["api"]["private"] == "https://testnet.binance.vision/api/v3"  # ccxt's own test URL, kept
    assert exchange.timeout == 3000
    assert exchange.options["watchTickers"] == {"name": "ticker"}  # the feed's own options, kept


def test_the_exchange_config_setting_aims_the_command(fake, settings, open_trade):
    settings.PRICE_FEED_EXCHANGE_CONFIG = fake.exchange_config
    open_trade()
    fake.klines["BTCUSDT"] = [kline(T0 + timedelta(minutes=1), "100", "100.4", "99.8", "100.1")]
    out = StringIO()

    call_command("price_feed", "--exchange", "binance", "--backfill", stdout=out)

    assert out.getvalue() == "BTCUSDT: 1 minutes filled.\n"
    assert "symbol=BTCUSDT" in fake.requests[-1]  # the fake was asked, not Binance


def test_the_ledger_s_spellings_find_the_spot_market_before_a_swap():
    markets = {
        "BTC/USDT:USDT": {"symbol": "BTC/USDT:USDT", "base": "BTC", "quote": "USDT", "id": "BTCUSDT", "spot": False},
        "BTC/USDT": {"symbol": "BTC/USDT", "base": "BTC", "quote": "USDT", "id": "BTCUSDT", "spot": True},
        "XBT/EUR": {"symbol": "BTC/EUR", "base": "BTC", "quote": "EUR", "id": "XXBTZEUR", "spot": True},
        "OLD/USDT": {
            "symbol": "OLD/USDT",
            "base": "OLD",
            "quote": "USDT",
            "id": "OLDUSDT",
            "spot": True,
            "active": False,
        },
    }

    index = feed.markets.market_index(markets)

    assert [index.get(key) for key in ("BTC/USDT", "BTCUSDT", "BTC/USDT:USDT", "BTCEUR", "XXBTZEUR", "OLDUSDT")] == [
        "BTC/USDT",
        "BTC/USDT",
        "BTC/USDT:USDT",
        "BTC/EUR",
        "BTC/EUR",
        None,
    ]
    assert feed.markets._key("btc-usdt") == "BTCUSDT"


def test_a_backfill_that_cannot_read_the_history_says_so_and_writes_nothing(fake, open_trade):
    open_trade()
    fake.fail_rest("/api/v3/klines", 502, "Bad Gateway")

    with pytest.raises(
        CommandError, match="^Reading binance's history failed, nothing was written: ExchangeNotAvailable: "
    ):
        feed_command(fake, "--backfill")
    assert not PriceCandle.objects.exists()


def test_the_feed_keeps_the_lot_rules_of_the_symbols_it_follows(fake):
    after_subscribing(fake, lambda: fake.push("BTCUSDT", "64000.12", at(0)))

    run_until(config(fake, watchlist=["BTCUSDT", "ETH-USDT"]), lambda totals: totals.ticks == 1)

    # the fake's LOT_SIZE filter: stepSize and minQty 0.00001; no minimum notional
    kept = {row.symbol: (row.step, row.min_amount, row.min_cost, row.source) for row in MarketLot.objects.all()}
    assert kept == {
        "BTCUSDT": (D("0.00001"), D("0.00001"), D(0), "binance"),
        "ETH-USDT": (D("0.00001"), D("0.00001"), D(0), "binance"),
    }
    assert selectors.market_lot("ETH-USDT") == sizing.Lot(step=D("0.00001"), min_amount=D("0.00001"), min_cost=D(0))


@pytest.mark.parametrize(
    ("market", "mode", "lot"),
    [
        (  # ccxt's TICK_SIZE mode: the precision is the step, as the exchange wrote it
            {"precision": {"amount": "0.001"}, "limits": {"amount": {"min": "0.001"}, "cost": {"min": "5"}}},
            4,
            sizing.Lot(step=D("0.001"), min_amount=D("0.001"), min_cost=D(5)),
        ),
        (  # DECIMAL_PLACES mode: a count of places; no limits given
            {"precision": {"amount": 2}, "limits": {}},
            2,
            sizing.Lot(step=D("0.01"), min_amount=D(0), min_cost=D(0)),
        ),
        ({"precision": {"amount": None}}, 4, None),  # no step: the settings apply
        ({"precision": {"amount": "0.000000001"}}, 4, None),  # finer than the ledger's 8 places
    ],
)
def test_a_ccxt_market_s_lot_rules(market, mode, lot):
    assert feed.markets.lot_from(market, precision_mode=mode) == lot


# --- A real exchange's faults (issue 23) ---------------------------------------------------------------


def feed_lines(caplog, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "ledger.feed" and text in r.getMessage()]


def test_a_bad_print_is_held_and_dropped_when_the_next_tick_does_not_confirm_it(fake, open_trade, client, caplog):
    trade = open_trade()  # LONG 50 BTCUSDT at 100, stop 98, target 104
    after_subscribing(
        fake,
        lambda: [
            fake.push("BTCUSDT", "100.5", at(0)),
            fake.push("BTCUSDT", "100500", at(1)),  # a thousandfold print: through the target if believed
            fake.push("BTCUSDT", "100.4", at(2)),
        ],
    )

    run_until(config(fake), lambda totals: totals.ticks == 2 and totals.held == 1)

    trade.refresh_from_db()
    assert (trade.status, trade.current_price, trade.max_price) == (PaperTrade.Status.OPEN, D("100.4"), D("100.5"))
    assert PriceCandle.objects.get().high == D("100.5")  # the print is not in the chart either
    assert len(feed_lines(caplog, "BTCUSDT's print 100500 at 2026-11-20T10:02:01.000+00:00 is +99900.0% from")) == 1
    assert len(feed_lines(caplog, "BTCUSDT's print 100500 was not confirmed (next tick 100.4); dropped")) == 1
    assert client.get("/healthz").json()["feed"]["suspect_prints"] == 1


def test_a_jump_the_next_tick_confirms_is_applied_with_it(fake, open_trade, caplog):
    trade = open_trade()  # LONG 50 BTCUSDT at 100, stop 98, target 104
    after_subscribing(
        fake,
        lambda: [
            fake.push("BTCUSDT", "100.5", at(0)),
            fake.push("BTCUSDT", "130", at(1)),  # +29%: more than PAPER_MAX_JUMP (20 %) in a second
            fake.push("BTCUSDT", "129", at(2)),  # near it: the move was real
        ],
    )

    totals = run_until(config(fake), lambda totals: totals.closes == 1)

    trade.refresh_from_db()
    # the confirmed print reached the target: a limit order, filled at the target
    assert (trade.status, trade.exit_price, trade.exit_time) == (PaperTrade.Status.TAKE_PROFIT, D("104"), at(1))
    assert totals.held == 1
    assert len(feed_lines(caplog, "BTCUSDT's print 130 was confirmed by the next tick")) == 1


def test_the_last_price_the_ledger_applied_judges_the_feed_s_first_print(fake, settings):
    settings.PAPER_MAX_JUMP = D("0.1")
    services.prices_apply(ticks=[Tick("BTCUSDT", D("100"), at(0))])  # before the feed started
    after_subscribing(fake, lambda: [fake.push("BTCUSDT", "89", at(30)), fake.push("BTCUSDT", "100.2", at(31))])

    run_until(config(fake, watchlist=["BTCUSDT"]), lambda totals: totals.ticks == 1 and totals.held == 1)

    assert MarketPrice.objects.get().price == D("100.2")  # -11 % against the ledger's 100: held, then dropped


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "poll"])
def test_an_unreadable_ticker_costs_only_its_own_symbol_and_one_log_line(either, caplog, stream):
    fake = either
    # ccxt works out each ticker's change while it reads it: NaN, Infinity or abc raised there for the whole message
    # (the socket's) or answer (the poll's)
    bad = [("ETHUSDT", "Infinity", 0), ("ETHUSDT", "abc", 1), ("ETHUSDT", "NaN", 2)]
    good = [("BTCUSDT", "100", 3), ("SOLUSDT", "20", 3)]
    if stream:
        after_subscribing(fake, lambda: [fake.push(market, price, at(s)) for market, price, s in bad + good])
    else:
        for market, price, s in [bad[1], *good]:
            fake.ticker(market, price, at(s))

    run_until(
        config(fake, watchlist=["BTCUSDT", "ETHUSDT", "SOLUSDT"], stream=stream),
        lambda totals: totals.ticks == 2 and (stream or len(fake.requests) >= 5),
    )

    assert sorted(MarketPrice.objects.values_list("symbol", "price")) == [("BTCUSDT", D("100")), ("SOLUSDT", D("20"))]
    assert len(feed_lines(caplog, "a ETH/USDT ticker is not a price")) == 1  # once, however often it comes
    assert feed_lines(caplog, "retrying in") == []  # the others' stream was never dropped
    assert len(fake.subscriptions) == stream


def test_ticks_are_stamped_by_the_exchange_s_clock_told_in_ours(either, open_trade, client):
    fake = either
    fake.clock = -timedelta(seconds=60)  # the exchange's clock a minute behind the ledger's
    now = datetime.now(UTC).replace(microsecond=0)
    trade = open_trade(timestamp=now - timedelta(seconds=5), at=now)  # LONG at 100, stop 98, opened now
    after_subscribing(fake, lambda: fake.push("BTCUSDT", "95", now - timedelta(seconds=59)))  # its now + 1 s

    run_until(config(fake), lambda totals: totals.closes == 1)

    trade.refresh_from_db()
    assert trade.status == PaperTrade.Status.STOP_LOSS
    assert now <= trade.exit_time <= now + timedelta(seconds=2)  # 1 s after the entry, give or take the measure
    assert -60.5 < client.get("/healthz").json()["feed"]["clock_offset_s"] < -59.5


def test_waiting_ticks_keep_of_each_minute_its_first_highest_lowest_and_newest():
    waiting = feed.stream.Waiting()
    prices = [D(100) + (n * 7919 % 1000) / D(100) for n in range(1000)]  # 1,000 ticks in one minute, 100 to 109.99
    for n, price in enumerate(prices):
        waiting.put(Tick("BTCUSDT", price, START + timedelta(milliseconds=50 * n)))
    waiting.put(Tick("BTCUSDT", D("101"), START + timedelta(minutes=1)))  # the next minute

    ticks, conflated = waiting.take()

    assert [(tick.price, tick.at - START) for tick in ticks] == [
        (D("100"), timedelta(0)),  # the first (n = 0)
        (D("109.99"), timedelta(milliseconds=50 * 321)),  # the highest: 321 * 7919 % 1000 = 999
        (D("100.81"), timedelta(milliseconds=50 * 999)),  # the newest: 999 * 7919 % 1000 = 81
        (D("101"), timedelta(minutes=1)),
    ]  # the lowest, 100, is the first
    assert conflated == 1001 - 4
    assert waiting.take() == ([], 0)


def test_a_minute_s_first_tick_goes_once_and_later_takes_carry_its_highest_lowest_and_newest():
    waiting = feed.stream.Waiting()
    waiting.put(Tick("BTCUSDT", D("100"), START))
    assert [tick.price for tick in waiting.take()[0]] == [D("100")]  # the minute's open
    for n, price in enumerate(["100.5", "101", "99.5", "100.2"], start=1):
        waiting.put(Tick("BTCUSDT", D(price), START + timedelta(seconds=n)))

    ticks, conflated = waiting.take()

    # 100.5 came first since the last take, but the minute's first went with it: only the highest, lowest, newest
    assert [tick.price for tick in ticks] == [D("101"), D("99.5"), D("100.2")]
    assert conflated == 1


def test_a_burst_of_streamed_tickers_is_conflated_before_it_is_read_and_each_minute_comes_out_whole(
    either, open_trade, monkeypatch
):
    fake = either
    trade = open_trade()  # LONG 50 BTCUSDT at 100 from 10:01, stop 98, target 104
    read = []  # the tickers the feed read into ticks
    tick_from = feed.markets.tick_from
    monkeypatch.setattr(
        feed.markets, "tick_from", lambda symbol, *a, **k: read.append(symbol) or tick_from(symbol, *a, **k)
    )
    # 300 tickers in the 10:02 minute, 0.1 s apart: 100.1 first, 101.25 at n = 100, 98.75 at n = 200, 100.05 last,
    # and between them 99.6 to 100.4 (n % 9 tenths above 99.6)
    burst = ["100.1"] + [str(D("99.6") + D(n % 9) / 10) for n in range(1, 299)] + ["100.05"]
    burst[100], burst[200] = "101.25", "98.75"

    def script():
        fake.push("BTCUSDT", "100", at(-30))  # 10:01:30: read at once, as the subscription awaits a first ticker
        time.sleep(0.5)  # subscribed by then; and within the second of silence after which the stream is stalled
        fake.push_all([("BTCUSDT", price, at(n / 10)) for n, price in enumerate(burst)])

    after_subscribing(fake, script)
    run_until(config(fake, interval=0.5), lambda totals: totals.ticks + totals.conflated == 301, seconds=30)

    assert len(read) < 50  # of 301: at most a minute's first, highest, lowest and newest per batch, and the first
    candle = PriceCandle.objects.get(minute=START)
    assert (candle.open, candle.high, candle.low, candle.close) == (D("100.1"), D("101.25"), D("98.75"), D("100.05"))
    trade.refresh_from_db()
    assert (trade.status, trade.max_price, trade.min_price) == (PaperTrade.Status.OPEN, D("101.25"), D("98.75"))
    assert MarketPrice.objects.get().price == D("100.05")


def test_tickers_arriving_without_a_pause_are_applied_every_interval(fake, monkeypatch):
    applied = []  # when each batch was committed, and the age of its newest tick then (both in seconds)
    real_apply = services.prices_apply

    def timed_apply(*, ticks):
        result = real_apply(ticks=ticks)
        applied.append((time.monotonic(), (datetime.now(UTC) - max(tick.at for tick in ticks)).total_seconds()))
        return result

    monkeypatch.setattr(services, "prices_apply", timed_apply)
    after_subscribing(fake, lambda: fake.flood(list(MARKETS), 600))  # 200 tickers a second per symbol, no pause
    try:
        run_until(
            config(fake, watchlist=list(MARKETS), interval=0.2),
            lambda totals: len(applied) > 1 and applied[-1][0] - applied[0][0] >= 3,
            seconds=30,
        )
    finally:
        fake.unflood()

    # 3 s of a stream that never paused: a batch each 0.2 s interval (15), not one at its end; none over 1 s late
    assert len(applied) >= 10
    gaps = [later - earlier for (earlier, _), (later, _) in zip(applied, applied[1:], strict=False)]
    assert max(gaps) < 1
    assert max(age for _, age in applied) < 2  # each batch's newest ticker committed soon after it was sent


def test_what_the_feed_holds_for_its_life_is_out_of_the_collector_s_sight_while_it_runs(fake):
    frozen = []  # objects the collector passes over, at each round of the feed
    after_subscribing(fake, lambda: fake.push("BTCUSDT", "100", at(0)))

    run_until(
        config(fake, watchlist=["BTCUSDT"]),
        lambda totals: frozen.append(gc.get_freeze_count()) or (totals.ticks == 1 and max(frozen) > 0),
    )

    assert max(frozen) > 100_000  # Django's and ccxt's modules and the markets, once the markets were loaded
    assert gc.get_freeze_count() == 0  # handed back to the collector when it returned


def test_the_stream_reads_behind_once_a_ticker_arrives_over_two_seconds_after_its_time():
    stream = feed.stream.Stream(feed.FeedConfig(exchange="binance"))
    stream._listening, stream._by_id = True, {"BTCUSDT": "BTC/USDT"}  # subscribed to BTCUSDT (never started)

    def arrives(late: timedelta) -> bool:
        stamp = millis(datetime.now(UTC) - late)
        stream._received(None, {"e": "24hrTicker", "E": stamp, "s": "BTCUSDT", "c": "100", "C": stamp})
        return stream.behind()

    assert [arrives(timedelta(seconds=1)), arrives(timedelta(seconds=3)), arrives(timedelta(0))] == [False, True, False]


def test_a_rate_limit_s_retry_after_is_waited_for(fake, caplog):
    fake.ticker("BTCUSDT", "100", at(0))
    fake.fail_rest(
        "/api/v3/ticker/24hr", 429, '{"code": -1003, "msg": "Too many requests"}', headers={"Retry-After": "1"}
    )

    run_until(config(fake, watchlist=["BTCUSDT"], stream=False), lambda totals: totals.ticks == 1)

    assert [line.rsplit("retrying in ", 1)[1] for line in feed_lines(caplog, "retrying in")] == ["1.00 s"]


def test_a_silent_stream_is_polled_over_rest_until_it_speaks(fake, caplog):
    fake.ticker("BTCUSDT", "100", at(0))  # REST has a price; the socket, subscribed, sends nothing

    run_until(config(fake, watchlist=["BTCUSDT"], stall=0.5), lambda totals: totals.ticks == 1, seconds=5)

    assert feed_lines(caplog, "Stalled: no ticker in 0.5 s")
    assert feed_lines(caplog, "polling tickers over REST until the stream is back")
    assert MarketPrice.objects.get().price == D("100")


def test_a_stuck_feed_s_lag_grows_in_its_summary(fake, caplog):
    after_subscribing(fake, lambda: fake.push("BTCUSDT", "100", datetime.now(UTC)))  # then nothing

    def lags() -> list[float]:  # of the summaries since the tick
        lines = [line for line in feed_lines(caplog, ", lag ") if "lag none yet" not in line]
        return [float(line.split(", lag ")[1].split(" s")[0]) for line in lines]

    run_until(config(fake, watchlist=["BTCUSDT"], report=0.3), lambda totals: len(lags()) >= 4)

    assert lags() == sorted(lags())
    assert lags()[-1] - lags()[0] >= 0.6  # three summaries 0.3 s apart


def test_markets_are_reloaded_so_a_new_listing_is_followed_and_a_delisting_said(fake, caplog):
    fake.ticker("BTCUSDT", "100", at(0))
    fake.ticker("XRPUSDT", "0.5", at(0))
    del fake.markets["SOLUSDT"]  # listed later

    def listed(totals: feed.Totals) -> bool:
        if totals.ticks == 1 and "ETHUSDT" in fake.markets:
            fake.markets["SOLUSDT"] = ("SOL", "USDT")
            fake.ticker("SOLUSDT", "20", at(1))
            del fake.markets["ETHUSDT"]  # delisted
        return MarketPrice.objects.filter(symbol="SOLUSDT").exists() and bool(feed_lines(caplog, "no longer"))

    run_until(config(fake, watchlist=["BTCUSDT", "ETHUSDT", "SOLUSDT"], stream=False, hourly=0.2), listed)

    assert feed_lines(caplog, "binance does not list SOLUSDT; it is skipped")
    assert feed_lines(caplog, "binance now lists SOLUSDT; it is followed")
    assert feed_lines(caplog, "binance no longer lists ETHUSDT; it is skipped")


def stopped_out() -> bool:
    return PaperTrade.objects.filter(status=PaperTrade.Status.STOP_LOSS).exists()


def test_at_its_start_the_feed_fills_the_minutes_it_missed_and_closes_what_they_reached(fake, open_trade, caplog):
    trade = open_trade()  # LONG 50 BTCUSDT at 100 from 10:01, stop 98, target 104
    fake.ticker("BTCUSDT", "99", at(300))  # 10:07, back above the stop
    fake.klines["BTCUSDT"] = [
        kline(T0 + timedelta(minutes=2), "100", "100.5", "99.5", "100"),
        kline(T0 + timedelta(minutes=3), "97.5", "98.5", "97", "98.2"),  # opened through the stop: filled at 97.5
    ]

    run_until(config(fake, stream=False), lambda totals: stopped_out() and totals.ticks >= 1)

    trade.refresh_from_db()
    assert (trade.exit_price, trade.exit_time) == (D("97.5"), T0 + timedelta(minutes=3))
    assert feed_lines(caplog, "BTCUSDT: 2 minutes filled from the exchange's history")
    assert feed_lines(caplog, f"#{trade.pk} LONG BTCUSDT: closed at 97.5, its stop reached in the 2026-11-20 10:03")


def test_after_an_outage_the_feed_fills_every_followed_symbol_s_missed_minutes(fake, open_trade):
    trade = open_trade()  # LONG 50 BTCUSDT at 100 from 10:01, stop 98, target 104
    fake.ticker("BTCUSDT", "100.2", at(0))  # 10:02

    def outage(totals: feed.Totals) -> bool:
        started = any(path.startswith("/api/v3/klines") for path in fake.requests)  # its start's fill is done
        if totals.ticks == 1 and started and not fake.klines:  # the exchange away for three polls, back at 10:05:20
            fake.fail_rest("/api/v3/ticker/24hr", 503, "Service Unavailable", times=3)
            fake.klines["BTCUSDT"] = [
                kline(T0 + timedelta(minutes=3), "100.1", "100.3", "99.9", "100"),
                kline(T0 + timedelta(minutes=4), "100", "104.5", "97.9", "101"),  # both levels in one minute
            ]
            fake.klines["ETHUSDT"] = [kline(T0 + timedelta(minutes=3), "10", "10.5", "9.5", "10.1")]
            fake.ticker("BTCUSDT", "100.4", at(200))
        return stopped_out()

    run_until(config(fake, watchlist=["ETHUSDT"], stream=False), outage)

    trade.refresh_from_db()
    # the stop assumed first in the minute that reached both: at the stop, stamped 10:04
    assert (trade.exit_price, trade.exit_time) == (D("98"), T0 + timedelta(minutes=4))
    assert trade.history.first().history_change_reason == (
        "filled from 1-minute candles: stop and target in one minute, the stop assumed"
    )
    minutes = {(c.symbol, c.minute.minute, c.ticks) for c in PriceCandle.objects.all()}
    # live minutes (1 tick) and the gap's from the history (0 ticks), the watchlist's too: no hole in a chart
    assert minutes == {("BTCUSDT", 2, 1), ("BTCUSDT", 3, 0), ("BTCUSDT", 4, 0), ("BTCUSDT", 5, 1), ("ETHUSDT", 3, 0)}
