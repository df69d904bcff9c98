"""Each book is an account of its own (docs/books.md): its balance and rules size its trades, its cash alone limits
them, and the end of the day closes each book in a transaction of its own."""

import io
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError, connection, connections

from ledger import services
from ledger.inputs import SignalFields
from ledger.models import Book, PaperTrade

from .conftest import NOW

pytestmark = pytest.mark.time_machine(NOW, tick=False)


def signal(signal_id: str, **fields) -> SignalFields:
    """BUY BTCUSDT at 100, stop 98, target 104: 2 of risk a unit."""
    return SignalFields(
        **{
            "signal_id": signal_id,
            "symbol": "BTCUSDT",
            "action": "BUY",
            "entry_price": Decimal("100"),
            "confidence": Decimal("0.8"),
            "stop_loss": Decimal("98"),
            "take_profit": Decimal("104"),
            "timestamp": NOW,
        }
        | fields
    )


@pytest.mark.django_db
def test_two_books_size_the_same_signal_by_their_own_balance_and_risk():
    small = services.book_create(slug="small", balance=Decimal("10000"), risk_per_trade=Decimal("0.01"))
    large = services.book_create(slug="large", balance=Decimal("100000"), risk_per_trade=Decimal("0.005"))

    in_small = services.signal_intake(signal=signal("same-small"), book=small).trade
    in_large = services.signal_intake(signal=signal("same-large"), book=large).trade

    assert in_small.position_size == Decimal("50")  # 1 % of 10,000 = 100 at risk, 2 a unit
    assert in_large.position_size == Decimal("250")  # 0.5 % of 100,000 = 500 at risk, 2 a unit
    assert (in_small.book, in_large.book) == (small, large)


@pytest.mark.django_db
def test_two_books_charge_their_own_fee_rate():
    free = services.book_create(slug="free", fee_rate=Decimal("0"))
    dear = services.book_create(slug="dear", fee_rate=Decimal("0.002"))

    in_free = services.signal_intake(signal=signal("fee-free"), book=free).trade
    in_dear = services.signal_intake(signal=signal("fee-dear"), book=dear).trade

    assert in_free.position_size == in_dear.position_size == Decimal("50")  # fees do not size a trade
    assert in_free.fees == Decimal("0")
    assert in_dear.fees == Decimal("20")  # 0.002 * 100 * 50 = 10 in, and 10 out at the mark, 100


@pytest.mark.django_db
def test_a_losing_book_s_cash_never_limits_another_book(settings):
    settings.PAPER_ONE_TRADE_PER_SYMBOL = False
    loser = services.book_create(slug="loser", balance=Decimal("1000"), risk_per_trade=Decimal("0.02"))
    other = services.book_create(slug="other", balance=Decimal("10000"))
    first = services.signal_intake(signal=signal("lose-1"), book=loser).trade  # all its cash: 9.99 of the 10 asked
    services.trade_close(trade_id=first.pk, price=Decimal("60"), at=NOW + timedelta(minutes=1))  # a heavy loss
    services.signal_intake(signal=signal("lose-2"), book=loser)  # what is left
    refused = services.signal_intake(signal=signal("lose-3"), book=loser)

    taken = services.signal_intake(signal=signal("other-1"), book=other).trade

    assert refused.trade is None
    assert refused.refused  # the loser has no cash left for it
    assert Book.objects.get(pk=loser.pk).cash < Decimal("10")
    assert taken.position_size == Decimal("50")  # 1 % of 10,000 at 2 a unit: as if the loser did not exist
    assert Book.objects.get(pk=other.pk).cash == Decimal("4995")  # 10,000 less 5,000 and the entry fee 5


def two_books_with_open_trades() -> tuple[Book, Book, PaperTrade, PaperTrade]:
    first = services.book_create(slug="first")
    second = services.book_create(slug="second")
    in_first = services.signal_intake(signal=signal("eod-first"), book=first).trade
    in_second = services.signal_intake(signal=signal("eod-second"), book=second).trade
    return first, second, in_first, in_second


@pytest.mark.django_db
def test_close_eod_closes_the_other_books_when_one_fails_and_exits_1_naming_it(monkeypatch):
    first, second, in_first, in_second = two_books_with_open_trades()
    day_close = services.day_close

    def failing_for_first(*, book, **kwargs):
        if book.slug == "first":
            raise OperationalError("database is locked")
        return day_close(book=book, **kwargs)

    monkeypatch.setattr(services, "day_close", failing_for_first)
    err = io.StringIO()

    with pytest.raises(CommandError, match="failed for first; the other books closed") as failed:
        call_command("close_eod", stdout=io.StringIO(), stderr=err)

    assert failed.value.returncode == 1
    assert "first: closing trading day 2026-11-25 failed, nothing was written: database is locked" in err.getvalue()
    assert PaperTrade.objects.get(pk=in_first.pk).status == PaperTrade.Status.OPEN
    assert PaperTrade.objects.get(pk=in_second.pk).status == PaperTrade.Status.EOD_CLOSE


@pytest.mark.django_db(transaction=True)
def test_close_eod_with_one_book_s_trade_locked_by_another_connection_closes_the_other_book():
    if connection.vendor != "postgresql":
        pytest.skip("a row lock held by another connection is PostgreSQL's (SQLite locks the whole file)")
    first, second, in_first, in_second = two_books_with_open_trades()
    locked, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute("SELECT id FROM paper_trades WHERE id = %s FOR UPDATE", [in_first.pk])
                locked.set()
                release.wait(30)
                cursor.execute("ROLLBACK")
        finally:
            other.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    assert locked.wait(10)
    err = io.StringIO()
    try:
        with pytest.raises(CommandError, match="failed for first; the other books closed"):
            call_command("close_eod", "--lock-wait", "1", stdout=io.StringIO(), stderr=err)
    finally:
        release.set()
        holder.join()

    assert "first: closing trading day 2026-11-25 failed, nothing was written" in err.getvalue()
    assert "lock timeout" in err.getvalue()
    assert PaperTrade.objects.get(pk=in_first.pk).status == PaperTrade.Status.OPEN
    assert PaperTrade.objects.get(pk=in_second.pk).status == PaperTrade.Status.EOD_CLOSE
