"""The per-book, per-day aggregates (models.BookDay, docs/books.md "Aggregates"): every close path and every
correction keeps them equal to a recomputation from the trades, and check_ledger catches a row that is not."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ledger import selectors, services
from ledger.days import trading_day
from ledger.inputs import SignalFields, Tick
from ledger.models import Book, BookDay, PaperTrade

from .conftest import EXIT_AT, T0
from .helpers import book

DAY = trading_day(T0)
pytestmark = pytest.mark.django_db


def days(of: Book) -> dict:
    """The book's kept rows, day -> (trades, wins, realized PnL, fees)."""
    return {row.day: (row.trades, row.wins, row.realized_pnl, row.fees) for row in BookDay.objects.filter(book=of)}


def assert_recounted(*books: Book) -> None:
    for each in books or Book.objects.all():
        assert selectors.day_violations(each) == []


def test_a_close_by_hand_counts_in_its_day(closed_trade):
    # LONG 50 from 100 closed at 101: fees 5 + 5.05 = 10.05, realized 50 - 10.05 = 39.95, a win.
    assert days(book()) == {DAY: (1, 1, Decimal("39.95"), Decimal("10.05"))}
    assert_recounted()


def test_a_second_close_of_the_day_adds_to_its_row(open_trade, many_trades):
    first, second = open_trade(), open_trade(symbol="ETHUSDT")
    services.trade_close(trade_id=first.pk, price=Decimal("101"), at=EXIT_AT)
    services.trade_close(trade_id=second.pk, price=Decimal("99"), at=EXIT_AT)

    ((trades, wins, realized, fees),) = days(book()).values()
    assert (trades, wins) == (2, 1)
    # 39.95 and (99 - 100) x 50 - 5 - 4.95 = -59.95: -20.00
    assert realized == Decimal("-20")
    assert_recounted()


def test_a_tick_through_the_stop_counts_its_close(open_trade):
    open_trade()
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("97.5"), T0 + timedelta(minutes=5))])

    ((trades, wins, realized, _),) = days(book()).values()
    assert (trades, wins) == (1, 0)
    assert realized < 0
    assert_recounted()


def test_the_end_of_day_counts_its_closes_in_the_day(open_trade, many_trades):
    for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
        open_trade(symbol=symbol)

    services.day_close(day=DAY)

    assert list(days(book())) == [DAY]
    assert days(book())[DAY][0] == 3
    assert_recounted()


def test_a_corrected_exit_time_moves_the_close_to_its_new_day(closed_trade):
    services.trade_correct(trade_id=closed_trade.pk, changes={"exit_time": EXIT_AT + timedelta(days=2)})

    assert days(book()) == {DAY + timedelta(days=2): (1, 1, Decimal("39.95"), Decimal("10.05"))}
    assert_recounted()


def test_a_corrected_exit_price_moves_the_days_pnl(closed_trade):
    services.trade_correct(trade_id=closed_trade.pk, changes={"exit_price": Decimal("99")})

    # (99 - 100) x 50 = -50, fees 5 + 4.95 = 9.95: -59.95, a loss now
    assert days(book()) == {DAY: (1, 0, Decimal("-59.95"), Decimal("9.95"))}
    assert_recounted()


def test_a_recompute_moves_the_day_a_tampered_trade_counted_in(closed_trade):
    PaperTrade.objects.filter(pk=closed_trade.pk).update(realized_pnl=Decimal("1000"))
    services.book_days_rebuild(book_id=book().pk)  # the aggregates as the tampered row says
    assert days(book())[DAY][2] == Decimal("1000")

    services.trades_recompute(trade_ids=[closed_trade.pk])

    assert days(book())[DAY][2] == Decimal("39.95")
    assert_recounted()


def test_a_corrected_execution_moves_the_day(closed_trade):
    exit_row = closed_trade.executions.get(kind="exit")
    services.execution_correct(execution_id=exit_row.pk, changes={"price": "102"})

    # (102 - 100) x 50 = 100, fees 5 + 5.10 = 10.10: 89.90
    assert days(book())[DAY][2] == Decimal("89.9")
    assert_recounted()


def test_each_book_counts_its_own_closes(open_trade):
    other = Book.objects.create(slug="other", name="Other", starting_balance=Decimal("5000"))
    mine = open_trade()
    signal, _ = services.signal_record(
        signal=SignalFields(
            signal_id="other-1",
            symbol="ETHUSDT",
            action="BUY",
            entry_price=Decimal("100"),
            confidence=Decimal("0.8"),
            timestamp=T0,
            timeframe="1h",
            confluences=[],
        ),
        book=other,
    )
    theirs = services.signal_execute(signal_id=signal.signal_id, at=T0 + timedelta(minutes=1))
    services.trade_close(trade_id=mine.pk, price=Decimal("101"), at=EXIT_AT)
    services.trade_close(trade_id=theirs.pk, price=Decimal("99"), at=EXIT_AT)

    assert days(book())[DAY][2] == Decimal("39.95")
    assert days(other)[DAY][2] < 0
    assert_recounted(book(), other)


def test_check_ledger_reports_a_tampered_day_row(closed_trade):
    BookDay.objects.filter(book=book()).update(trades=7)

    (violation,) = selectors.ledger_violations(book())

    assert violation.kind == "day-aggregate"
    assert violation.subject == f"day {DAY}"
    assert violation.detail.startswith("trades 7 kept, the closed trades give 1")


def test_check_ledger_reports_a_missing_day_row(closed_trade):
    BookDay.objects.all().delete()

    with pytest.raises(CommandError):
        call_command("check_ledger")
    call_command("check_ledger", "--recount")  # written again from the trades: consistent

    assert days(book()) == {DAY: (1, 1, Decimal("39.95"), Decimal("10.05"))}


def test_a_close_in_a_batch_of_many_recounts_its_day_in_a_few_statements(
    open_trade, many_trades, django_assert_max_num_queries
):
    trades = [open_trade(symbol=f"S{n}USDT") for n in range(30)]
    for trade in trades:
        trade.refresh_from_db()
    with django_assert_max_num_queries(40):  # as many with 3 trades: no statement per trade
        services.day_close(day=DAY)
    assert days(book())[DAY][0] == 30
