"""order_type and expires_in on POST signals and the webhook; GET orders and POST orders/{id}/cancel: answers by
hand-computed numbers, refusals with their status and field, and nothing written."""

from decimal import Decimal

import pytest
from django.test import Client

from ledger import services
from ledger.inputs import Tick
from ledger.models import ApiToken, Order, Signal

from .conftest import NOW
from .helpers import api_post, signal_body

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]


@pytest.fixture(autouse=True)
def market_at_101():
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("101"), NOW)])


def place(client, **fields):
    body = signal_body(order_type="limit", stop_loss="95", take_profit="120") | fields
    return api_post(client, "signals", body)


def test_a_limit_signal_answers_201_with_its_working_order_and_no_trade(api_client):
    response = place(api_client, expires_in=600)
    assert response.status_code == 201
    answer = response.json()
    assert answer["trade"] is None
    assert answer["signal"]["status"] == "GENERATED"
    order = answer["order"]
    assert (order["order_type"], order["side"], order["status"], order["time_in_force"]) == (
        "limit",
        "BUY",
        "WORKING",
        "gtd",
    )
    # 100 risked over 100 - 95 = 20 units; 20 × 100 and the 0.1 % fee
    assert (Decimal(order["size"]), Decimal(order["reserved"])) == (Decimal("20"), Decimal("2002"))
    assert order["expires_at"] == "2026-11-25T12:10:00Z"


def test_get_orders_lists_the_working_ones_with_their_distance_to_fill(api_client):
    place(api_client)
    place(api_client, signal_id="s-2", symbol="ETHUSDT", order_type="stop", expires_in="gtc")
    response = api_client.get("/api/v1/orders")
    assert response.status_code == 200
    rows = response.json()
    assert [row["signal_id"] for row in rows] == ["s-1", "s-2"]
    # BTCUSDT last traded at 101: 1 away from 100, 1 % of 100... of the last price: 1 / 101 = 0.9901 %
    assert (Decimal(rows[0]["last_price"]), Decimal(rows[0]["to_fill_pct"])) == (Decimal("101"), Decimal("0.9901"))
    assert rows[1]["last_price"] is None
    assert rows[1]["to_fill_pct"] is None


def test_cancel_answers_the_cancelled_order_then_409_and_404_naming_order_id(api_client):
    order_id = place(api_client).json()["order"]["id"]
    response = api_post(api_client, f"orders/{order_id}/cancel", {"reason": "Missed the move."})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["reason"]) == ("CANCELLED", "Missed the move.")
    assert Signal.objects.get(signal_id="s-1").status_reason == "Missed the move."
    again = api_post(api_client, f"orders/{order_id}/cancel")
    assert again.status_code == 409
    assert again.json()["detail"][0]["field"] == "order_id"
    missing = api_post(api_client, "orders/999/cancel")
    assert missing.status_code == 404
    assert missing.json()["detail"][0]["field"] == "order_id"
    assert api_client.get("/api/v1/orders").json() == []


def test_cancel_needs_a_trading_token(api_client):
    order_id = place(api_client).json()["order"]["id"]
    _, token = services.api_token_create(name="reader", scope=ApiToken.Scope.READ)
    reader = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert reader.get("/api/v1/orders").status_code == 200
    assert api_post(reader, f"orders/{order_id}/cancel").status_code == 403
    assert Order.objects.get(pk=order_id).status == Order.Status.WORKING


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"order_type": "iceberg"}, "order_type"),
        ({"expires_in": 0}, "expires_in"),
        ({"expires_in": "week"}, "expires_in"),
        ({"expires_in": 1.5}, "expires_in"),
        ({"order_type": "market", "expires_in": 60}, "expires_in"),
        ({"execute": False}, "execute"),
    ],
)
def test_a_bad_order_answers_422_naming_the_field_and_records_nothing(api_client, fields, field):
    response = place(api_client, **fields)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == field
    assert not Signal.objects.exists()
    assert not Order.objects.exists()
