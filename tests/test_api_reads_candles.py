"""GET candles and the excursions in trade answers, by numbers worked out by hand."""

from datetime import timedelta
from decimal import Decimal

import pytest

from ledger import services
from ledger.inputs import Tick

from .conftest import NOW, T0

pytestmark = pytest.mark.django_db
START = T0 + timedelta(minutes=2)  # 10:02 UTC


@pytest.fixture
def three_minutes():
    """Two ticks in each of 10:02, 10:03 and 10:04 (at :10 and :50): prices below, in order."""
    prices = ["100", "101", "99", "98.5", "102", "101.5"]
    services.prices_apply(
        ticks=[
            Tick("BTCUSDT", Decimal(p), START + timedelta(minutes=n // 2, seconds=10 + 40 * (n % 2)))
            for n, p in enumerate(prices)
        ]
    )


def test_candles_answer_the_minutes_oldest_first_with_8_places(api_client, three_minutes):
    response = api_client.get(
        "/api/v1/candles", {"symbol": "btcusdt", "from": "2026-11-20T10:03:00Z", "to": "2026-11-20T10:05:00Z"}
    )

    assert response.status_code == 200
    assert [(c["minute"][11:16], c["open"], c["high"], c["low"], c["close"], c["ticks"]) for c in response.json()] == [
        ("10:03", "99.00000000", "99.00000000", "98.50000000", "98.50000000", 2),  # 10:02 is before from
        ("10:04", "102.00000000", "102.00000000", "101.50000000", "101.50000000", 2),
    ]


def test_to_is_excluded_and_a_zone_other_than_utc_is_the_same_moment(api_client, three_minutes):
    response = api_client.get(
        "/api/v1/candles", {"symbol": "BTCUSDT", "from": "2026-11-20T11:02:00+01:00", "to": "2026-11-20T11:04:00+01:00"}
    )

    assert [c["minute"][11:16] for c in response.json()] == ["10:02", "10:03"]


@pytest.mark.time_machine(NOW, tick=False)
def test_without_from_and_to_the_last_day_is_answered(api_client):
    services.prices_apply(
        ticks=[
            Tick("BTCUSDT", Decimal("1"), NOW - timedelta(days=1, minutes=1)),
            Tick("BTCUSDT", Decimal("2"), NOW - timedelta(minutes=3)),
        ]
    )

    response = api_client.get("/api/v1/candles", {"symbol": "BTCUSDT"})

    assert [c["close"] for c in response.json()] == ["2.00000000"]  # a day and a minute ago is outside


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"symbol": "BTCUSDT", "from": "2026-11-20T10:00:00Z", "to": "2026-11-21T10:01:00Z"}, "to"),  # more than a day
        ({"symbol": "BTCUSDT", "from": "2026-11-20T10:00:00Z", "to": "2026-11-20T10:00:00Z"}, "to"),  # empty
        ({"symbol": "BTCUSDT", "from": "2026-11-20T10:00:00"}, "from"),  # no zone
        ({"symbol": "BTCUSDT", "to": "yesterday"}, "to"),
        ({"symbol": "BTC USDT"}, "symbol"),
        ({}, "symbol"),
    ],
)
def test_a_bad_query_answers_422_naming_the_field(api_client, query, field):
    response = api_client.get("/api/v1/candles", query)

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == field


def test_candles_need_a_token(client):
    assert client.get("/api/v1/candles", {"symbol": "BTCUSDT"}).status_code == 401


def test_a_trade_answers_its_excursions_in_money_and_r(api_client, open_trade):
    trade = open_trade()  # LONG 50 at 100, 1R = 100
    services.prices_apply(
        ticks=[
            Tick("BTCUSDT", Decimal(p), START + timedelta(seconds=n)) for n, p in enumerate(["101.4", "98.8", "100"])
        ]
    )

    answer = api_client.get(f"/api/v1/trades/{trade.pk}").json()

    # MFE (101.4 - 100) * 50 = 70 = 0.7R; MAE (98.8 - 100) * 50 = -60 = -0.6R
    assert [answer[k] for k in ("max_price", "min_price", "mfe", "mfe_r", "mae", "mae_r")] == [
        "101.40000000",
        "98.80000000",
        "70.00000000",
        "0.70000000",
        "-60.00000000",
        "-0.60000000",
    ]
