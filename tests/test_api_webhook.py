"""POST /api/v1/webhooks/tradingview: the alert body TradingView sends, as JSON or as text/plain."""

from decimal import Decimal

import pytest

from ledger import services
from ledger.inputs import Tick
from ledger.models import Signal

from .conftest import NOW, row_counts
from .helpers import api_post

# An alert is stamped and executed "now", which must stay one trading day.
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]

URL = "/api/v1/webhooks/tradingview"
PASSPHRASE = "let-me-in-with-24-chars"
ALERT = {
    "passphrase": PASSPHRASE,
    "ticker": "BTCUSDT",
    "action": "buy",
    "price": 100,
    "order_id": "Long-2026-11-20T10:00:00Z",
    "interval": "15",
}


@pytest.fixture(autouse=True)
def passphrase(settings):
    settings.TRADINGVIEW_PASSPHRASE = PASSPHRASE


def send(client, alert, content_type="application/json"):
    return api_post(client, "webhooks/tradingview", alert, content_type=content_type)


def test_json_alert_opens_a_trade_with_default_levels(client):
    response = send(client, ALERT)

    assert response.status_code == 201
    signal, trade = response.json()["signal"], response.json()["trade"]
    assert (signal["signal_id"], signal["symbol"], signal["action"], signal["timeframe"]) == (
        "Long-2026-11-20T10:00:00Z",
        "BTCUSDT",
        "BUY",
        "15",
    )
    assert Decimal(signal["confidence"]) == Decimal("0.5")  # TradingView sends none
    assert Decimal(trade["stop_loss"]) == Decimal("98")  # 100 * (1 - 0.02)
    assert Decimal(trade["position_size"]) == Decimal("50")  # 100 / 2


def test_text_plain_alert_is_read_as_json(client):
    response = send(client, ALERT, content_type="text/plain")

    assert response.status_code == 201
    assert Signal.objects.get().signal_id == ALERT["order_id"]


def test_sl_and_tp_become_the_trades_levels(client):
    response = send(client, ALERT | {"action": "SELL", "price": "200", "sl": "210", "tp": "180"})

    trade = response.json()["trade"]
    assert trade["direction"] == "SHORT"
    assert (Decimal(trade["stop_loss"]), Decimal(trade["take_profit"])) == (Decimal("210"), Decimal("180"))
    assert Decimal(trade["position_size"]) == Decimal("10")  # risk 100 / |200 - 210|


def test_the_same_alert_again_is_deduplicated_by_order_id(client):
    first = send(client, ALERT)

    again = send(client, ALERT)

    assert again.status_code == 200
    assert again.json() == first.json()
    assert row_counts() == (1, 1)


def test_an_alert_the_account_refuses_is_recorded_expired_with_the_reason(client):
    send(client, ALERT)

    response = send(client, ALERT | {"order_id": "Short-1", "action": "sell"})  # a trade on BTCUSDT is open

    assert response.status_code == 201
    assert response.json()["trade"] is None
    assert response.json()["refused"] == "a trade on BTCUSDT is open already, and the account takes one trade a symbol."
    assert Signal.objects.get(signal_id="Short-1").status == Signal.Status.EXPIRED


def test_another_alert_with_a_used_order_id_is_409(client):
    send(client, ALERT)

    response = send(client, ALERT | {"price": 101})

    assert response.status_code == 409
    assert row_counts() == (1, 1)


@pytest.mark.parametrize("wrong", ["let-me-out", "", "let-me-in ", "lét-me-in"])
def test_wrong_passphrase_is_403_and_writes_nothing(client, wrong):
    response = send(client, ALERT | {"passphrase": wrong})

    assert response.status_code == 403
    assert response.json()["detail"][0]["message"] == "The passphrase is wrong."
    assert row_counts() == (0, 0)


def test_webhook_is_off_while_no_passphrase_is_set(client, settings):
    settings.TRADINGVIEW_PASSPHRASE = ""

    response = send(client, ALERT | {"passphrase": ""})

    assert response.status_code == 403
    assert "TRADINGVIEW_PASSPHRASE" in response.json()["detail"][0]["message"]
    assert row_counts() == (0, 0)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"action": "hold"}, "action"),
        ({"price": "NaN"}, "price"),
        ({"ticker": "no such!"}, "ticker"),
        ({"sl": "101"}, "sl"),
        ({"sl": "-1"}, "sl"),
    ],
)
def test_bad_alert_is_422_naming_the_field(client, changes, field):
    response = send(client, ALERT | changes)

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == field
    assert row_counts() == (0, 0)


def test_text_plain_that_is_not_json_is_400(client):
    response = client.post(URL, "BTCUSDT buy 100", content_type="text/plain")

    assert response.status_code == 400
    assert response.json()["detail"][0]["field"] == "body"


def test_an_alert_places_a_stop_order_that_works_until_the_end_of_the_day(client):
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("101"), NOW)])
    response = send(client, ALERT | {"order_type": "stop", "expires_in": "day", "price": 102, "sl": 99})
    assert response.status_code == 201
    order = response.json()["order"]
    assert (order["order_type"], order["price"], order["time_in_force"]) == ("stop", "102.00000000", "day")
    assert PASSPHRASE not in response.content.decode()


def test_an_alert_with_targets_and_a_trailing_stop_opens_a_bracket(client):
    ladder = {"sl": 98, "targets": [{"price": 110, "fraction": 0.5}, {"price": 120, "fraction": 0.5}]}

    response = send(client, ALERT | ladder | {"break_even_after": 1, "trailing_stop": {"percent": 2}})

    assert response.status_code == 201
    trade = response.json()["trade"]
    assert [target["size"] for target in trade["targets"]] == ["25.00000000", "25.00000000"]  # 50 units, half each
    assert (trade["break_even_after"], trade["trailing_stop"]) == (1, {"percent": "2"})


def test_an_alert_whose_fractions_do_not_add_up_is_422_naming_targets(client):
    ladder = {"targets": [{"price": 110, "fraction": 0.5}, {"price": 120, "fraction": 0.25}]}

    response = send(client, ALERT | ladder)

    assert response.status_code == 422
    assert [item["field"] for item in response.json()["detail"]] == ["targets"]
