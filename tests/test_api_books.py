"""GET /api/v1/books, and the TradingView webhook's passphrase of each book (docs/books.md, "API")."""

from decimal import Decimal

import pytest
from django.test import Client

from ledger import services
from ledger.inputs import SignalFields, Tick
from ledger.models import ApiToken, Signal

from .conftest import NOW
from .helpers import api_post

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]

PASSPHRASE_A = "book-a-passphrase-0123"
PASSPHRASE_B = "book-b-passphrase-4567"
ALERT = {"ticker": "BTCUSDT", "action": "buy", "price": 100, "order_id": "tv-1", "interval": "15"}


def token_client(book, scope=ApiToken.Scope.READ) -> Client:
    _, token = services.api_token_create(name=f"token-{book.slug}-{scope}", scope=scope, book=book)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def books():
    """Book a (8,000, risk 1.5 %) and book b (20,000, the settings' rules), each with its webhook passphrase."""
    a = services.book_create(
        slug="a", balance=Decimal("8000"), risk_per_trade=Decimal("0.015"), webhook_passphrase=PASSPHRASE_A
    )
    b = services.book_create(slug="b", balance=Decimal("20000"), webhook_passphrase=PASSPHRASE_B)
    return a, b


def test_books_answers_the_token_s_own_book_with_its_balance_equity_and_cash(books):
    a, _ = books
    signal = SignalFields(
        signal_id="s-1",
        symbol="BTCUSDT",
        action="BUY",
        entry_price=Decimal("100"),
        confidence=Decimal("0.8"),
        stop_loss=Decimal("98"),
        take_profit=Decimal("104"),
    )
    services.signal_intake(signal=signal, book=a)  # 1.5 % of 8,000 = 120 at risk, 2 a unit: 60 BTCUSDT at 100
    services.prices_apply(ticks=[Tick(symbol="BTCUSDT", price=Decimal("101"), at=NOW)])

    response = token_client(a).get("/api/v1/books")

    assert response.status_code == 200
    assert response.json() == [
        {
            "slug": "a",
            "name": "a",
            "starting_balance": "8000.00000000",
            "balance": "8000.00000000",  # nothing realized yet
            "equity": "8047.94000000",  # and unrealized (101 - 100) * 60 less fees 6 in and 6.06 out = 47.94
            "cash": "1994.00000000",  # 8,000 less what the trade holds: 6,000 and its entry fee 6
        }
    ]


def test_books_never_names_another_book(books):
    _, b = books

    body = token_client(b).get("/api/v1/books").json()

    assert [book["slug"] for book in body] == ["b"]
    assert "8000" not in str(body)  # book a's balance


def test_books_needs_a_token():
    assert Client().get("/api/v1/books").status_code == 401


def send(passphrase: str, **changes):
    return api_post(Client(), "webhooks/tradingview", ALERT | {"passphrase": passphrase} | changes)


def test_an_alert_goes_into_the_book_its_passphrase_leads_to(books):
    a, b = books

    assert send(PASSPHRASE_A, order_id="tv-a").status_code == 201
    assert send(PASSPHRASE_B, order_id="tv-b").status_code == 201

    assert Signal.objects.get(signal_id="tv-a").book == a
    assert Signal.objects.get(signal_id="tv-b").book == b


def test_the_same_alert_is_sized_by_each_book_s_balance_and_risk(books):
    first = send(PASSPHRASE_A, order_id="tv-a").json()["trade"]
    second = send(PASSPHRASE_B, order_id="tv-b").json()["trade"]

    assert Decimal(first["position_size"]) == Decimal("60")  # 1.5 % of 8,000 = 120 at risk, 2 a unit (stop 98)
    assert Decimal(second["position_size"]) == Decimal("100")  # 1 % of 20,000 = 200 at risk, 2 a unit


def test_the_setting_s_passphrase_still_leads_to_the_default_book(books, settings):
    settings.TRADINGVIEW_PASSPHRASE = "the-setting-s-passphrase"

    assert send("the-setting-s-passphrase").status_code == 201

    assert Signal.objects.get().book.slug == "default"


def test_a_book_s_passphrase_opens_the_webhook_without_the_setting(books, settings):
    settings.TRADINGVIEW_PASSPHRASE = ""

    assert send(PASSPHRASE_A).status_code == 201
    assert send("").status_code == 403  # the setting's empty passphrase is no passphrase


def test_a_wrong_passphrase_is_403_and_counted_toward_the_lockout(books):
    for _ in range(4):
        assert send("not-any-book-passphrase").status_code == 403

    locked = send("not-any-book-passphrase")  # the fifth failure (AXES_FAILURE_LIMIT) locks the address out

    assert locked.status_code == 429
    assert send(PASSPHRASE_A).status_code == 429  # then even a right one, until the cool-off
    assert not Signal.objects.exists()


def test_webhook_is_off_while_no_book_has_a_passphrase_and_the_setting_is_empty(settings, db):
    settings.TRADINGVIEW_PASSPHRASE = ""
    services.book_create(slug="quiet")

    response = send("")

    assert response.status_code == 403
    assert "webhook is off" in response.json()["detail"][0]["message"]


def test_a_cleared_passphrase_leads_nowhere(books, settings):
    a, _ = books
    services.book_passphrase_set(book_id=a.pk, passphrase="")

    assert send(PASSPHRASE_A).status_code == 403
    assert not Signal.objects.exists()
