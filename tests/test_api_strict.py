"""The API reads its input strictly, the same on both databases, and its OpenAPI document says what it refuses:
unknown fields, non-object bodies, lookalike numbers and ids, strings for booleans, other content types, times
beyond ±14:00 or from the future, days outside 1970 to 2199, symbols wider than their columns."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ledger.api import api
from ledger.models import MarketPrice, PaperTrade, Signal

from .conftest import NOW, row_counts
from .helpers import api_post, signal_body

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]


def fields(response) -> list[str]:
    return [item["field"] for item in response.json()["detail"]]


@pytest.fixture
def trade(open_trade):
    now = timezone.now()
    return open_trade(timestamp=now - timedelta(minutes=1), at=now)


# --- Bodies the application cannot read -------------------------------------------------------------------


def test_a_close_sent_in_chunks_is_refused_411_and_the_trade_stays_open(api_client, trade):
    response = api_client.post(
        f"/api/v1/trades/{trade.pk}/close",
        '{"price": "10.3"}',
        content_type="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
    )

    assert (response.status_code, fields(response)) == (411, ["body"])
    assert PaperTrade.objects.get(pk=trade.pk).status == PaperTrade.Status.OPEN


def test_a_form_sent_in_chunks_is_refused_411(admin_client):
    response = admin_client.post("/", {"x": "1"}, HTTP_TRANSFER_ENCODING="chunked")

    assert response.status_code == 411


# --- Unknown fields and bodies that are not objects -------------------------------------------------------


def test_a_mistyped_field_on_close_is_refused_and_the_trade_stays_open(api_client, trade):
    response = api_post(api_client, f"trades/{trade.pk}/close", {"prce": "12.5"})

    assert (response.status_code, fields(response)) == (422, ["prce"])
    assert PaperTrade.objects.get(pk=trade.pk).status == PaperTrade.Status.OPEN


def test_a_mistyped_stop_on_a_signal_is_refused_not_replaced_by_the_default(api_client):
    response = api_post(api_client, "signals", signal_body(stop_los="95"))

    assert (response.status_code, fields(response)) == (422, ["stop_los"])
    assert row_counts() == (0, 0)


@pytest.mark.parametrize("path", ["ticks[0].bidd", "ticks"], ids=["in a tick", "beside the ticks"])
def test_unknown_fields_are_refused_in_every_body(api_client, path):
    tick = {"symbol": "BTCUSDT", "price": "100"}
    body = {"ticks": [tick | {"bidd": "99"}]} if path.startswith("ticks[0]") else {"ticks": [tick], "extra": 1}

    response = api_post(api_client, "prices", body)

    assert response.status_code == 422
    assert fields(response) == [path if "[" in path else "extra"]
    assert not MarketPrice.objects.exists()


@pytest.mark.parametrize("body", ["[]", "null", '"x"', "1", "true"])
def test_close_and_expire_refuse_a_body_that_is_not_an_object(api_client, trade, make_signal, body):
    signal = make_signal(timestamp=timezone.now())

    closed = api_post(api_client, f"trades/{trade.pk}/close", body)
    expired = api_post(api_client, f"signals/{signal.signal_id}/expire", body)

    assert (closed.status_code, expired.status_code) == (422, 422)
    assert fields(closed) == fields(expired) == ["body"]
    assert PaperTrade.objects.get(pk=trade.pk).status == PaperTrade.Status.OPEN
    assert Signal.objects.get(pk=signal.pk).status == Signal.Status.GENERATED


def test_close_and_expire_without_a_body_still_work(api_client, trade):
    assert api_client.post(f"/api/v1/trades/{trade.pk}/close", "", content_type="application/json").status_code == 200


# --- Numbers, ids, booleans -----------------------------------------------------------------------------


@pytest.mark.parametrize("price", ["1_000", "\u0661\u0660\u0660", " 100 ", "1e3", "+100", "100.", ".5", "0x10", True])
def test_a_price_must_be_a_number_or_plain_ascii_digits(api_client, price):
    response = api_post(api_client, "prices", {"ticks": [{"symbol": "BTCUSDT", "price": price}]})

    assert (response.status_code, fields(response)) == (422, ["ticks[0].price"])
    assert not MarketPrice.objects.exists()


@pytest.mark.parametrize("price", ["100", "0100.50", "0.00000001", "99999999999.99999999", 100.5, 7])
def test_numbers_and_digit_strings_in_range_are_read(api_client, price):
    response = api_post(api_client, "prices", {"ticks": [{"symbol": "BTCUSDT", "price": price}]})

    assert response.status_code == 200
    assert MarketPrice.objects.get().price < 100_000_000_000  # never rounded up onto the bound


@pytest.mark.parametrize("price", ["0.000000009", "0", "100000000000"])
def test_prices_outside_the_envelope_are_refused(api_client, price):
    response = api_post(api_client, "prices", {"ticks": [{"symbol": "BTCUSDT", "price": price}]})

    assert (response.status_code, fields(response)) == (422, ["ticks[0].price"])


@pytest.mark.parametrize("signal_id", ["\u00dfignal-\u00fc", "\uff46\uff55\uff4c\uff4c", "sig\n", "sig 1", "a" * 65])
def test_signal_ids_are_ascii_from_the_documented_set(api_client, signal_id):
    response = api_post(api_client, "signals", signal_body(signal_id=signal_id))

    assert (response.status_code, fields(response)) == (422, ["signal_id"])
    assert row_counts() == (0, 0)


@pytest.mark.parametrize("execute", ["no", "false", 0, "0"])
def test_execute_must_be_a_json_boolean(api_client, execute):
    response = api_post(api_client, "signals", signal_body(execute=execute))

    assert (response.status_code, fields(response)) == (422, ["execute"])
    assert row_counts() == (0, 0)


@pytest.mark.parametrize("query", ["limit=1_0", "limit=%2010%20", "offset=-0"])
def test_whole_numbers_in_a_query_are_plain_digits(api_client, query):
    assert api_client.get(f"/api/v1/journal?{query}").status_code == 422


# --- Content types ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["text/plain", "text/csv", "application/x-www-form-urlencoded", "application/xml"]
)
def test_the_api_reads_only_json_bodies(api_client, content_type):
    response = api_post(api_client, "signals", signal_body(), content_type=content_type)

    assert response.status_code == 415
    assert response.json()["detail"][0]["field"] == "body"
    assert row_counts() == (0, 0)


# --- Symbols, offsets, days, the future -------------------------------------------------------------------


@pytest.mark.parametrize("symbol", ["ABCDEFGHIJKL/ABCDEFGH", "ABCDEFGHIJKLMNOPQRSTU"])
def test_a_symbol_wider_than_its_column_is_refused_on_both_databases(api_client, symbol):
    signal = api_post(api_client, "signals", signal_body(symbol=symbol))
    tick = api_post(api_client, "prices", {"ticks": [{"symbol": symbol, "price": "100"}]})

    assert (signal.status_code, tick.status_code) == (422, 422)
    assert row_counts() == (0, 0)
    assert not MarketPrice.objects.exists()


@pytest.mark.parametrize("offset", ["+15:00", "-15:30", "+23:59", "+14:01"])
def test_utc_offsets_beyond_14_hours_are_refused_on_both_databases(api_client, offset):
    signal = api_post(api_client, "signals", signal_body() | {"timestamp": f"2026-11-25T11:00:00{offset}"})
    tick = api_post(
        api_client, "prices", {"ticks": [{"symbol": "BTCUSDT", "price": "100", "time": f"2026-11-25T11:00:00{offset}"}]}
    )

    assert (signal.status_code, fields(signal)) == (422, ["timestamp"])
    assert (tick.status_code, fields(tick)) == (422, ["ticks[0].time"])
    assert row_counts() == (0, 0)
    assert not MarketPrice.objects.exists()


def test_an_offset_of_14_hours_is_read(api_client):
    response = api_post(api_client, "signals", signal_body(timestamp="2026-11-26T01:59:00+14:00", execute=False))

    assert response.status_code == 201
    assert Signal.objects.get().timestamp == NOW - timedelta(minutes=1)  # 01:59 at +14:00 is 11:59 UTC


@pytest.mark.parametrize(
    "moment", ["1700000000", "2026-11-25 11:00:00Z", "2026-11-25T11:00:00", "1969-12-31T23:59:59Z"]
)
def test_a_time_is_iso_8601_with_a_zone_from_1970_on(api_client, moment):
    response = api_post(api_client, "prices", {"ticks": [{"symbol": "BTCUSDT", "price": "100", "time": moment}]})

    assert (response.status_code, fields(response)) == (422, ["ticks[0].time"])


def test_a_tick_from_the_future_is_refused_and_closes_nothing(api_client, trade):
    response = api_post(
        api_client, "prices", {"ticks": [{"symbol": "BTCUSDT", "price": "200", "time": "2199-01-01T00:00:00Z"}]}
    )

    assert (response.status_code, fields(response)) == (422, ["ticks[0].time"])
    assert "in the future" in response.json()["detail"][0]["message"]
    assert PaperTrade.objects.get(pk=trade.pk).status == PaperTrade.Status.OPEN
    assert not MarketPrice.objects.filter(at__gt=NOW).exists()


def test_a_signal_from_the_future_is_refused(api_client):
    response = api_post(api_client, "signals", signal_body(timestamp="2199-01-01T00:00:00Z"))

    assert (response.status_code, fields(response)) == (422, ["timestamp"])
    assert row_counts() == (0, 0)


def test_a_tick_within_the_clock_skew_is_read(api_client):
    ahead = NOW + timedelta(seconds=5)  # MAX_CLOCK_SKEW, to the second

    response = api_post(
        api_client, "prices", {"ticks": [{"symbol": "BTCUSDT", "price": "100", "time": ahead.isoformat()}]}
    )

    assert response.status_code == 200
    price = MarketPrice.objects.get(symbol="BTCUSDT")
    assert price.price == Decimal("100")
    assert price.at == ahead  # applied with the time it was sent, not refused or moved back to now


@pytest.mark.parametrize(
    "day", ["0", "1", "20261120", "0001-01-01", "1969-12-31", "2200-01-01", "2026-02-30", "2026-11-20T00:00"]
)
def test_a_day_in_a_query_is_yyyy_mm_dd_from_1970_to_2199(api_client, day):
    for path in ("signals", "journal", "pnl/daily"):
        response = api_client.get(f"/api/v1/{path}", {"date": day})
        assert (response.status_code, fields(response)) == (422, ["date"]), path


# --- The document says it -----------------------------------------------------------------------------------


def test_the_openapi_document_states_the_bounds_the_server_enforces():
    document = api.get_openapi_schema(path_prefix="/api/v1")
    schemas = document["components"]["schemas"]
    day = next(p for p in document["paths"]["/api/v1/signals"]["get"]["parameters"] if p["name"] == "date")["schema"][
        "anyOf"
    ][0]
    moment = schemas["TickIn"]["properties"]["time"]["anyOf"][0]
    price = schemas["TickIn"]["properties"]["price"]["anyOf"]

    assert day["pattern"].startswith("^(19[7-9][0-9]|2[01][0-9]{2})-")  # 1970 to 2199
    assert moment["pattern"].endswith("(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9]|[+-]14:00)$")
    assert price[0] == {"type": "number", "minimum": 1e-08, "exclusiveMaximum": 1e11}
    assert schemas["TickIn"]["properties"]["symbol"]["maxLength"] == 20
    assert all(
        schemas[name]["additionalProperties"] is False
        for name in ("SignalIn", "TickIn", "TicksIn", "CloseIn", "ExpireIn", "TradingViewAlert")
    )
    assert schemas["SignalIn"]["properties"]["execute"]["type"] == "boolean"
    assert "stop_loss < entry_price < take_profit" in " ".join(schemas["SignalIn"]["description"].split())
