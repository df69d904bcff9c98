"""A trade closes exactly once, whoever races to close it. Real threads on a real database file or server."""

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from ledger import selectors, services
from ledger.days import trading_day
from ledger.errors import AlreadyClosed, InvalidTransition
from ledger.inputs import OrderFields, SignalFields, Tick
from ledger.models import Order, PaperTrade, Signal
from tests.helpers import book

from .conftest import T0, assert_ledger_consistent
from .helpers import place_order

pytestmark = pytest.mark.django_db(transaction=True)


def race(*jobs: Callable[[], object]) -> list[object]:
    """Start every job at the same instant, each in its own thread with its own connection.
    Returns what each returned or raised."""
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def run(index: int, job: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = job()
        except Exception as error:  # noqa: BLE001 - the race's outcome is what the test inspects
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_people_closing_one_trade_close_it_once(open_trade):
    trade = open_trade()

    def close(price):
        return lambda: services.trade_close(trade_id=trade.pk, price=Decimal(price), at=T0 + timedelta(minutes=5))

    results = race(close("101"), close("99"))

    assert sum(isinstance(r, PaperTrade) for r in results) == 1
    assert sum(isinstance(r, AlreadyClosed) for r in results) == 1
    winner = next(r for r in results if isinstance(r, PaperTrade))
    trade.refresh_from_db()
    assert (trade.exit_price, trade.realized_pnl) == (winner.exit_price, winner.realized_pnl)
    assert_ledger_consistent()


def test_a_tick_and_the_end_of_day_close_each_trade_once(open_trade, many_trades):
    trades = [open_trade(symbol=f"COIN{i}USDT") for i in range(20)]
    through_stops = [Tick(t.symbol, Decimal("90"), T0 + timedelta(minutes=5)) for t in trades]

    results = race(
        lambda: services.prices_apply(ticks=through_stops),
        lambda: services.day_close(day=T0.date()),
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    ticked, ended = results
    closed_by_tick, closed_by_eod = {t.pk for t in ticked.closed}, {t.pk for t in ended.closed}
    assert closed_by_tick.isdisjoint(closed_by_eod)
    assert closed_by_tick | closed_by_eod == {t.pk for t in trades}
    assert not PaperTrade.objects.filter(status=PaperTrade.Status.OPEN).exists()
    assert_ledger_consistent()


def test_a_liquidation_and_a_close_by_hand_at_the_same_moment_close_the_short_once(open_trade):
    trade = open_trade(action="SELL", stop_loss=Decimal("102"))  # SHORT 50 at 100, liquidated from 199.5
    at = T0 + timedelta(minutes=5)

    ticked, by_hand = race(
        lambda: services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("250"), at)]),
        lambda: services.trade_close(trade_id=trade.pk, price=Decimal("101"), at=at),
    )

    trade.refresh_from_db()
    liquidated = isinstance(by_hand, AlreadyClosed)
    assert liquidated == bool(ticked.closed)  # one of them closed it, never both
    assert liquidated or isinstance(by_hand, PaperTrade)
    # liquidated: -(250 - 100) * 50 - 17.5 fees; by hand at 101: -(101 - 100) * 50 - (5 + 5.05) fees
    expected = (
        (PaperTrade.Status.LIQUIDATION, Decimal("-7517.5"))
        if liquidated
        else (PaperTrade.Status.MANUAL_CLOSE, Decimal("-60.05"))
    )
    assert (trade.status, trade.realized_pnl) == expected
    assert_ledger_consistent()


def test_two_end_of_day_runs_close_each_trade_once(open_trade, many_trades):
    trades = [open_trade(symbol=f"COIN{i}USDT") for i in range(10)]

    first, second = race(lambda: services.day_close(day=T0.date()), lambda: services.day_close(day=T0.date()))

    assert sorted(len(r.closed) for r in (first, second)) == [0, len(trades)]
    assert book().realized_pnl_total == Decimal("-100")  # 10 trades, each paying 5 + 5 in fees
    assert_ledger_consistent()


def test_the_same_signal_sent_twice_at_once_is_recorded_once(make_signal):
    body = {
        "signal_id": "twice",
        "symbol": "BTCUSDT",
        "action": "BUY",
        "entry_price": Decimal("100"),
        "confidence": Decimal("0.5"),
        "timestamp": T0,
    }

    results = race(
        lambda: services.signal_record(signal=SignalFields(**body)),
        lambda: services.signal_record(signal=SignalFields(**body)),
    )

    assert sorted(created for _, created in results) == [False, True]
    assert Signal.objects.filter(signal_id="twice").count() == 1


def test_ticks_a_cancel_and_the_end_of_day_fill_or_end_each_working_order_once():
    now = timezone.now()
    symbols = [f"COIN{i}USDT" for i in range(5)]
    services.prices_apply(ticks=[Tick(symbol, Decimal("101"), now - timedelta(seconds=10)) for symbol in symbols])
    orders = [place_order(f"limit-{symbol}", symbol) for symbol in symbols]  # day orders
    gap = [Tick(symbol, Decimal("99"), timezone.now()) for symbol in symbols]  # fills each at 99

    ticked, cancelled, ended = race(
        lambda: services.prices_apply(ticks=gap),
        lambda: services.order_cancel(order_id=orders[0].pk),
        lambda: services.day_close(day=trading_day(timezone.now())),
    )

    assert not isinstance(ticked, Exception), ticked
    assert not isinstance(ended, Exception), ended
    assert isinstance(cancelled, (Order, InvalidTransition)), cancelled
    filled = {trade.signal_id for trade in ticked.filled}
    for order in Order.objects.order_by("pk"):
        signal = Signal.objects.get(signal_id=order.signal_id)
        if order.status == Order.Status.FILLED:  # the tick won; the end of day may have closed its trade since
            assert order.signal_id in filled
            assert order.trade.entry_price == Decimal("99")
            assert signal.status in (Signal.Status.EXECUTED, Signal.Status.CLOSED)
        else:  # cancelled by hand or expired by the end of day, once, and nothing opened
            assert order.status in (Order.Status.CANCELLED, Order.Status.EXPIRED)
            assert order.signal_id not in filled
            assert signal.status == Signal.Status.EXPIRED
            assert not PaperTrade.objects.filter(signal=signal).exists()
    assert (Order.objects.get(pk=orders[0].pk).status == Order.Status.CANCELLED) == isinstance(cancelled, Order)
    assert PaperTrade.objects.count() == len(filled)
    assert book().reserved == Decimal(0)
    assert selectors.ledger_violations(book()) == []
    assert_ledger_consistent()


def test_a_tick_a_close_by_hand_and_the_end_of_day_on_a_half_closed_trade_close_each_part_once(open_trade):
    trade = open_trade(
        stop_loss=Decimal("98"),
        targets=[{"price": "110", "fraction": "0.5"}, {"price": "120", "fraction": "0.5"}],
        break_even_after=1,
    )
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("110"), T0 + timedelta(minutes=2))])  # half at 110
    at = T0 + timedelta(minutes=5)

    ticked, by_hand, ended = race(
        lambda: services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("121"), at)]),  # the second target
        lambda: services.trade_close(trade_id=trade.pk, price=Decimal("115"), at=at),
        lambda: services.day_close(day=T0.date(), at=at),
    )

    assert not isinstance(ticked, Exception), ticked
    assert not isinstance(ended, Exception), ended
    closers = [bool(ticked.closed), isinstance(by_hand, PaperTrade), bool(ended.closed)]
    assert closers.count(True) == 1, (closers, by_hand)
    assert isinstance(by_hand, (PaperTrade, AlreadyClosed))
    trade.refresh_from_db()
    exits = list(trade.executions.filter(kind="exit").values_list("size", "pnl"))
    assert [size for size, _ in exits] == [Decimal("25"), Decimal("25")]  # each half exited once
    assert trade.realized_pnl == sum(pnl for _, pnl in exits)
    assert selectors.ledger_violations(book()) == []
    assert_ledger_consistent()


def test_ticks_a_cancel_and_close_eod_at_once_fill_or_end_a_working_order_and_a_half_closed_trade_once(open_trade):
    """The issue's race in one: a batch of ticks that reaches both a working limit order (a gap through it) and the
    second target of a trade half closed at its first, a cancel of the order and `close_eod`, at the same moment."""
    trade = open_trade(
        stop_loss=Decimal("98"),
        targets=[{"price": "110", "fraction": "0.5"}, {"price": "120", "fraction": "0.5"}],
        break_even_after=1,
    )
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("110"), T0 + timedelta(minutes=2))])  # half at 110
    services.prices_apply(ticks=[Tick("ETHUSDT", Decimal("101"), timezone.now() - timedelta(seconds=10))])
    order = services.signal_intake(
        signal=SignalFields(
            signal_id="limit-eth",
            symbol="ETHUSDT",
            action="BUY",
            entry_price=Decimal("100"),
            confidence=Decimal("0.5"),
            stop_loss=Decimal("95"),
            take_profit=Decimal("120"),
        ),
        order=OrderFields("limit"),  # a day order: close_eod expires it
    ).order
    now = timezone.now()
    ticks = [Tick("BTCUSDT", Decimal("121"), now), Tick("ETHUSDT", Decimal("99"), now)]  # the 2nd target; a gap
    said = StringIO()

    ticked, cancelled, ended = race(
        lambda: services.prices_apply(ticks=ticks),
        lambda: services.order_cancel(order_id=order.pk),
        lambda: call_command("close_eod", stdout=said),
    )

    assert not isinstance(ticked, Exception), ticked
    assert not isinstance(ended, Exception), ended
    assert isinstance(cancelled, (Order, InvalidTransition)), cancelled
    order.refresh_from_db()
    endings = [
        order.status == Order.Status.FILLED and [t.signal_id for t in ticked.filled] == ["limit-eth"],
        order.status == Order.Status.CANCELLED and isinstance(cancelled, Order),
        order.status == Order.Status.EXPIRED and isinstance(cancelled, InvalidTransition),  # close_eod was first
    ]
    assert endings.count(True) == 1, (order.status, order.reason, ticked.filled, cancelled)
    assert PaperTrade.objects.filter(signal_id="limit-eth").count() == (order.status == Order.Status.FILLED)
    assert book().reserved == Decimal(0)  # released once, whichever ended it
    trade.refresh_from_db()
    by_tick = trade.pk in [t.pk for t in ticked.closed]
    by_eod = f"closed #{trade.pk} " in said.getvalue()
    assert [by_tick, by_eod].count(True) == 1, (trade.status, said.getvalue())
    assert trade.status == (PaperTrade.Status.TAKE_PROFIT if by_tick else PaperTrade.Status.EOD_CLOSE)
    exits = list(trade.executions.filter(kind="exit").order_by("pk").values_list("size", "pnl", "reason"))
    assert [size for size, _, _ in exits] == [Decimal("25"), Decimal("25")]  # each half exited once
    assert exits[-1][2] == trade.status
    assert trade.realized_pnl == sum(pnl for _, pnl, _ in exits)
    assert selectors.ledger_violations(book()) == []
    assert_ledger_consistent()


def test_a_tick_that_fills_one_order_and_a_cancel_of_another_whose_time_is_up_end_each_once():
    """The tick fills a BTC order (taking the account's lock) and expires an ETH order whose seconds ran out, which
    a cancel takes at the same moment: neither waits for the other in a circle (a deadlock on PostgreSQL)."""
    seen = timezone.now() - timedelta(seconds=10)
    services.prices_apply(ticks=[Tick(symbol, Decimal("101"), seen) for symbol in ("BTC", "ETH")])

    filling, due = place_order("limit-BTC", "BTC", expires_in="gtc"), place_order("limit-ETH", "ETH", expires_in=1)
    time.sleep(1.1)  # the ETH order's second is up when the tick comes

    ticked, cancelled = race(
        lambda: services.prices_apply(ticks=[Tick("BTC", Decimal("99"), timezone.now())]),
        lambda: services.order_cancel(order_id=due.pk),
    )

    assert not isinstance(ticked, Exception), ticked
    assert isinstance(cancelled, (Order, InvalidTransition)), cancelled
    assert [trade.signal_id for trade in ticked.filled] == [filling.signal_id]
    due.refresh_from_db()
    assert due.status == (Order.Status.CANCELLED if isinstance(cancelled, Order) else Order.Status.EXPIRED)
    assert ticked.expired == (due.status == Order.Status.EXPIRED)
    assert book().reserved == Decimal(0)
    assert selectors.ledger_violations(book()) == []
    assert_ledger_consistent()
