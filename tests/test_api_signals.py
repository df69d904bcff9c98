"""POST /api/v1/signals, signals/{id}/expire and GET signals: answers by hand-computed numbers, refusals
with their status and nothing written."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ledger.models import PaperTrade, Signal

from .conftest import NOW, T0, row_counts
from .helpers import api_post, signal_body

# A signal sent without a timestamp is stamped and executed "now", which must stay one trading day.
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]

URL = "/api/v1/signals"


def test_signal_opens_long_with_default_levels_size_and_fees(api_client):
    response = api_post(api_client, "signals", signal_body())

    assert response.status_code == 201
    signal, trade = response.json()["signal"], response.json()["trade"]
    assert signal["status"] == "EXECUTED"
    assert trade["signal_id"] == "s-1"
    assert trade["direction"] == "LONG"
    assert Decimal(trade["stop_loss"]) == Decimal("98")  # 100 * (1 - 0.02)
    assert Decimal(trade["take_profit"]) == Decimal("104")  # 100 + 2 * |100 - 98|
    assert Decimal(trade["position_size"]) == Decimal("50")  # risk 100 / |100 - 98|
    assert Decimal(trade["risk_amount"]) == Decimal("100")  # 10000 * 0.01
    assert Decimal(trade["fees"]) == Decimal("10")  # entry 0.001*100*50 = 5, and 5 to exit at 100
    assert Decimal(trade["unrealized_pnl"]) == Decimal("-10")  # closing at entry costs both fees


def test_json_numbers_are_read_exactly_not_through_float(api_client):
    response = api_post(
        api_client,
        "signals",
        '{"signal_id": "s-1", "symbol": "BTCUSDT", "action": "SELL", '
        '"entry_price": 0.3, "confidence": 0.1, "execute": false}',
    )

    assert response.status_code == 201
    assert Signal.objects.get().entry_price == Decimal("0.3")  # a float would be 0.299999999999999988...
    assert Decimal(response.json()["signal"]["entry_price"]) == Decimal("0.3")


def test_execute_false_records_the_signal_without_a_trade(api_client):
    response = api_post(api_client, "signals", signal_body(execute=False))

    assert response.status_code == 201
    assert response.json()["trade"] is None
    assert response.json()["signal"]["status"] == "GENERATED"
    assert row_counts() == (1, 0)


def test_same_body_again_answers_200_with_the_same_signal_and_trade(api_client):
    first = api_post(api_client, "signals", signal_body())

    again = api_post(api_client, "signals", signal_body())

    assert again.status_code == 200
    assert again.json() == first.json()
    assert row_counts() == (1, 1)


def test_replay_never_executes_a_signal_recorded_without_execution(api_client):
    api_post(api_client, "signals", signal_body(execute=False))

    again = api_post(api_client, "signals", signal_body(execute=True))

    assert again.status_code == 200
    assert again.json()["trade"] is None
    assert row_counts() == (1, 0)


def test_same_signal_id_with_another_body_is_409_and_changes_nothing(api_client):
    api_post(api_client, "signals", signal_body())

    response = api_post(api_client, "signals", signal_body(entry_price="101"))

    assert response.status_code == 409
    assert response.json()["detail"][0]["field"] == "signal_id"
    assert "entry_price" in response.json()["detail"][0]["message"]
    assert row_counts() == (1, 1)
    assert Signal.objects.get().entry_price == Decimal("100")


def test_a_signal_of_a_day_that_has_ended_is_recorded_expired_with_the_reason(api_client):
    yesterday = (timezone.now() - timedelta(days=1)).isoformat()

    response = api_post(api_client, "signals", signal_body(timestamp=yesterday))

    assert response.status_code == 201  # recorded, so the sender sees it was refused and why
    answer = response.json()
    assert answer["trade"] is None
    assert answer["signal"]["status"] == "EXPIRED"
    assert "which has ended" in answer["refused"]
    assert answer["signal"]["status_reason"] == f"Not executed: {answer['refused']}"
    assert row_counts() == (1, 0)


def test_levels_on_the_wrong_side_are_refused_naming_the_field(api_client):
    response = api_post(api_client, "signals", signal_body(stop_loss="101"))

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["field"] == "stop_loss"
    assert "must be below the entry price" in error["message"]
    assert row_counts() == (0, 0)


@pytest.mark.parametrize(
    ("raw_entry_price", "why"),
    [
        ('"-1"', "negative, as a string"),
        ("-1", "negative, as a number"),
        ("0", "zero"),
        ("NaN", "NaN literal"),
        ('"NaN"', "NaN as a string"),
        ("Infinity", "Infinity literal"),
        ('"-Infinity"', "Infinity as a string"),
        ("1e400", "beyond any float"),
        ("123456789012345678901234567890", "more than the columns hold"),
        ("9" * 5000, "more digits than Python reads as an int"),
        ('"abc"', "not a number"),
        ("true", "a boolean"),
        ("[1]", "a list"),
        ("0.000000001", "zero at 8 decimal places"),
    ],
)
def test_bad_entry_price_is_422_naming_the_field(api_client, raw_entry_price, why):
    raw = (
        f'{{"signal_id": "s-1", "symbol": "BTCUSDT", "action": "BUY", '
        f'"entry_price": {raw_entry_price}, "confidence": 1}}'
    )

    response = api_post(api_client, "signals", raw)

    assert response.status_code == 422, why
    assert [item["field"] for item in response.json()["detail"]] == ["entry_price"]
    assert row_counts() == (0, 0)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"symbol": "BTC USDT!"}, "symbol"),
        ({"symbol": 42}, "symbol"),
        ({"action": "HOLD"}, "action"),
        ({"confidence": "1.5"}, "confidence"),
        ({"signal_id": "has space"}, "signal_id"),
        ({"signal_id": "x" * 65}, "signal_id"),
        ({"timestamp": "2026-11-20T10:00:00"}, "timestamp"),  # no time zone
        ({"timestamp": "9999-12-31T23:00:00-05:00"}, "timestamp"),  # beyond any sensible date
        ({"confluences": ["ok", "bad\u0000"]}, "confluences[1]"),
        ({"confluences": "trend"}, "confluences"),
        ({"timeframe": "1 hour"}, "timeframe"),
        ({"execute": "perhaps"}, "execute"),
    ],
)
def test_bad_field_is_422_naming_it(api_client, overrides, field):
    response = api_post(api_client, "signals", signal_body(**overrides))

    assert response.status_code == 422
    assert [item["field"] for item in response.json()["detail"]] == [field]
    assert row_counts() == (0, 0)


def test_missing_fields_are_each_named(api_client):
    response = api_post(api_client, "signals", {"signal_id": "s-1"})

    assert response.status_code == 422
    fields = sorted(item["field"] for item in response.json()["detail"])
    assert fields == ["action", "confidence", "entry_price", "symbol"]


@pytest.mark.parametrize("raw", ['{"signal_id": ', "not json", '{"a": 1}}'])
def test_malformed_json_is_400_on_the_body(api_client, raw):
    response = api_post(api_client, "signals", raw)

    assert response.status_code == 400
    assert response.json()["detail"][0]["field"] == "body"
    assert row_counts() == (0, 0)


def test_body_that_is_not_an_object_is_422(api_client):
    response = api_post(api_client, "signals", "[1, 2]")

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"field": "body", "message": "body must be a JSON object ({...}), not an array."}
    ]
    assert row_counts() == (0, 0)


def test_oversized_body_is_413(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = api_post(api_client, "signals", signal_body(confluences=["x" * 100] * 20))

    assert response.status_code == 413
    assert response.json()["detail"][0]["field"] == "body"
    assert row_counts() == (0, 0)


def test_wrong_method_is_405_in_the_error_shape(api_client):
    response = api_client.delete(URL)

    assert response.status_code == 405
    assert response.json()["detail"][0]["message"] == "DELETE is not allowed here; allowed: GET, POST."


def test_unknown_path_is_a_json_404(api_client):
    response = api_client.get("/api/v1/no/such/thing")

    assert response.status_code == 404
    assert response.json()["detail"][0]["field"] is None


# --- expire --------------------------------------------------------------------------------------


def test_expire_marks_a_generated_signal_expired_with_the_reason(api_client):
    api_post(api_client, "signals", signal_body(execute=False))

    response = api_client.post(f"{URL}/s-1/expire", {"reason": "Setup invalidated."}, content_type="application/json")

    assert response.status_code == 200
    assert response.json()["status"] == "EXPIRED"
    assert Signal.objects.get().status_reason == "Setup invalidated."


def test_expire_without_a_body_gives_a_default_reason(api_client):
    api_post(api_client, "signals", signal_body(execute=False))

    response = api_client.post(f"{URL}/s-1/expire", content_type="application/json")

    assert response.status_code == 200
    assert Signal.objects.get().status_reason == "Expired through the API."


def test_expire_of_an_executed_signal_is_409_and_changes_nothing(api_client):
    api_post(api_client, "signals", signal_body())

    response = api_client.post(f"{URL}/s-1/expire", content_type="application/json")

    assert response.status_code == 409
    assert Signal.objects.get().status == Signal.Status.EXECUTED
    assert PaperTrade.objects.get().is_open


def test_expire_of_an_unknown_signal_is_404(api_client):
    response = api_client.post(f"{URL}/nope/expire", content_type="application/json")

    assert response.status_code == 404
    assert response.json()["detail"][0]["field"] == "signal_id"


# --- GET signals ---------------------------------------------------------------------------------


def test_signals_of_a_day_filtered_by_status(api_client, make_signal, open_trade):
    make_signal(signal_id="a", timestamp=T0)
    open_trade(signal_id="b", timestamp=T0 + timedelta(minutes=1))
    make_signal(signal_id="other-day", timestamp=T0 + timedelta(days=1))

    every = api_client.get(URL, {"date": "2026-11-20"})
    executed = api_client.get(URL, {"date": "2026-11-20", "status": "EXECUTED"})

    assert [s["signal_id"] for s in every.json()] == ["b", "a"]  # newest first
    assert [s["signal_id"] for s in executed.json()] == ["b"]


def test_signals_default_to_today(api_client, make_signal):
    make_signal(signal_id="old", timestamp=T0)
    api_post(api_client, "signals", signal_body(signal_id="now", execute=False))

    response = api_client.get(URL)

    assert [s["signal_id"] for s in response.json()] == ["now"]


@pytest.mark.parametrize(("query", "field"), [({"date": "2026-13-01"}, "date"), ({"status": "OPEN"}, "status")])
def test_signals_with_a_bad_query_is_422(api_client, query, field):
    response = api_client.get(URL, query)

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == field


LADDER = {
    "stop_loss": "98",
    "targets": [{"price": "110", "fraction": "0.5"}, {"price": "120", "fraction": "0.5"}],
    "break_even_after": 1,
    "trailing_stop": {"distance": "3", "activation_price": "115"},
}


def test_a_bracket_opens_with_its_targets_sizes_and_its_entry_execution(api_client):
    response = api_post(api_client, "signals", signal_body(**LADDER))

    assert response.status_code == 201
    signal, trade = response.json()["signal"], response.json()["trade"]
    assert signal["targets"] == LADDER["targets"]
    assert (signal["take_profit"], signal["break_even_after"]) == ("110.00000000", 1)
    # 50 units (100 at risk, 2 a unit): 25 at each target.
    assert trade["targets"] == [
        {"price": "110.00000000", "fraction": "0.50000000", "size": "25.00000000"},
        {"price": "120.00000000", "fraction": "0.50000000", "size": "25.00000000"},
    ]
    assert (trade["take_profit"], trade["targets_filled"]) == ("110.00000000", 0)
    assert trade["trailing_stop"] == {"distance": "3", "activation_price": "115"}
    assert [(e["kind"], e["price"], e["size"], e["fee"]) for e in trade["executions"]] == [
        ("entry", "100.00000000", "50.00000000", "5.00000000")  # 0.001 x 100 x 50
    ]


def test_a_trades_answer_carries_each_partial_exit(api_client):
    trade_id = api_post(api_client, "signals", signal_body(**LADDER)).json()["trade"]["id"]
    at = timezone.now()
    api_post(api_client, "prices", {"ticks": [{"symbol": "BTCUSDT", "price": "110", "time": at.isoformat()}]})

    trade = api_client.get(f"/api/v1/trades/{trade_id}").json()

    assert (trade["status"], trade["stop_loss"], trade["exited_size"]) == ("OPEN", "100.20000000", "25.00000000")
    # 25 at 110: 250 - 2.75 - 2.5 = 244.75
    assert [(e["reason"], e["price"], e["size"], e["pnl"]) for e in trade["executions"]][1:] == [
        ("TAKE_PROFIT", "110.00000000", "25.00000000", "244.75000000")
    ]


@pytest.mark.parametrize(
    ("bracket", "field"),
    [
        ({"targets": [{"price": "110", "fraction": "0.5"}, {"price": "120", "fraction": "0.6"}]}, "targets"),
        ({"targets": [{"price": "99", "fraction": "1"}]}, "targets[0].price"),
        ({"targets": [{"price": "110", "fraction": "1.5"}]}, "targets[0].fraction"),
        ({"targets": [{"price": "110"}]}, "targets[0].fraction"),
        ({"targets": []}, "targets"),
        ({"break_even_after": 1}, "break_even_after"),
        ({"break_even_after": "1"}, "break_even_after"),
        ({"trailing_stop": {"percent": "2", "distance": "1"}}, "trailing_stop"),
        ({"trailing_stop": {"percent": "150"}}, "trailing_stop.percent"),
        ({"trailing_stop": {"step": "1"}}, "trailing_stop.step"),
    ],
)
def test_a_bad_bracket_is_422_naming_the_field(api_client, bracket, field):
    response = api_post(api_client, "signals", signal_body(**bracket))

    assert response.status_code == 422
    assert [item["field"] for item in response.json()["detail"]] == [field]
    assert row_counts() == (0, 0)
