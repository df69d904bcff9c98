"""The event streams and books (docs/books.md, "Who sees what"), against a real server as tests/test_views_events.py
runs it: a page of book A and a token of book A hear nothing of book B, and a batch of prices names only A's
trades."""

from datetime import timedelta
from decimal import Decimal

import pytest

from ledger import services
from ledger.inputs import SignalFields, Tick
from ledger.models import ApiToken

from .conftest import T0
from .test_views_events import Stream, logged_in, page_stream, served  # noqa: F401 (the module's server, shared)

pytestmark = pytest.mark.django_db(transaction=True)  # the server reads what the tests commit


@pytest.fixture
def server(served):  # noqa: F811
    return served.url


def record(book, signal_id: str, symbol: str):
    fields = SignalFields(
        signal_id=signal_id,
        symbol=symbol,
        action="BUY",
        entry_price=Decimal("100"),
        confidence=Decimal("0.8"),
        stop_loss=Decimal("90"),
        take_profit=Decimal("120"),
        timestamp=T0,
    )
    return services.signal_record(signal=fields, book=book)[0]


@pytest.fixture
def books(trader, many_trades):
    a, b = services.book_create(slug="book-a"), services.book_create(slug="book-b")
    services.book_grant(user=trader, book_id=a.pk, can_trade=True)
    return a, b


@pytest.fixture
def session_of_a(trader, books) -> str:
    """A login of the trader, who is granted book A alone."""
    return logged_in(trader)


def test_a_page_of_book_a_hears_nothing_of_book_b(server, books, session_of_a):
    a, b = books
    stream = page_stream(server, session_of_a)
    assert stream.response.status == 200

    record(b, "bravo-1", "BRAVOUSDT")  # first: a stream that let it through would send it first
    record(a, "alpha-1", "ALPHAUSDT")
    heard = stream.next()
    stream.close()

    assert (heard["event"], heard["data"]["signal_id"]) == ("signal.recorded", "alpha-1")


def test_a_token_of_book_a_hears_nothing_of_book_b(server, books):
    a, b = books
    _, token = services.api_token_create(name="a-watcher", scope=ApiToken.Scope.READ, book=a)
    stream = Stream(server, "/api/v1/events/stream", {"Authorization": f"Bearer {token}"})
    assert stream.response.status == 200

    record(b, "bravo-1", "BRAVOUSDT")
    record(a, "alpha-1", "ALPHAUSDT")
    heard = stream.next()
    stream.close()

    assert (heard["event"], heard["data"]["signal_id"]) == ("signal.recorded", "alpha-1")


def test_a_batch_of_prices_names_a_book_s_own_trades_alone(server, books, session_of_a):
    a, b = books
    mine = services.signal_execute(signal_id=record(a, "alpha-1", "ALPHAUSDT").signal_id, at=T0 + timedelta(minutes=1))
    theirs = services.signal_execute(
        signal_id=record(b, "bravo-1", "BRAVOUSDT").signal_id, at=T0 + timedelta(minutes=1)
    )
    stream = page_stream(server, session_of_a)

    services.prices_apply(
        ticks=[
            Tick("ALPHAUSDT", Decimal("100.5"), T0 + timedelta(minutes=2)),
            Tick("BRAVOUSDT", Decimal("100.5"), T0 + timedelta(minutes=2)),
        ]
    )
    heard = stream.next()
    stream.close()

    assert heard["event"] == "prices.applied"
    assert heard["data"]["payload"]["marked"] == [mine.pk]
    assert theirs.pk not in heard["data"]["payload"]["closed"]
    assert "books" not in heard["data"]["payload"]
