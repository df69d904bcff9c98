"""POST prices, GET trades/active and trades/{id}, POST trades/{id}/close: numbers by hand, refusals with
their status and nothing written."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from ledger import rules
from ledger.models import PaperTrade, Signal
from tests.helpers import book

from .conftest import NOW, T0, row_counts
from .helpers import api_post

pytestmark = pytest.mark.django_db

TICK_TIME = (T0 + timedelta(minutes=5)).isoformat()


def post_prices(client, ticks):
    return api_post(client, "prices", {"ticks": ticks})


def close(client, trade_id, data=None):
    return api_post(client, f"trades/{trade_id}/close", data)


def test_tick_marks_an_open_trade(api_client, open_trade):
    trade = open_trade()  # BUY 100: size 50, stop 98, target 104

    response = post_prices(api_client, [{"symbol": "BTCUSDT", "price": "101", "time": TICK_TIME}])

    assert response.status_code == 200
    [marked] = response.json()["marked"]
    assert response.json()["closed"] == []
    assert marked["id"] == trade.pk
    assert Decimal(marked["current_price"]) == Decimal("101")
    assert Decimal(marked["fees"]) == Decimal("10.05")  # 5 + 0.001*101*50
    assert Decimal(marked["unrealized_pnl"]) == Decimal("39.95")  # (101-100)*50 - 10.05


def test_tick_through_the_stop_answers_the_close_with_reason_and_pnl(api_client, open_trade):
    trade = open_trade()

    response = post_prices(api_client, [{"symbol": "btcusdt", "price": 97.5, "time": TICK_TIME}])

    [closed] = response.json()["closed"]
    assert response.json()["marked"] == []
    assert closed["id"] == trade.pk
    assert closed["status"] == "STOP_LOSS"
    assert Decimal(closed["exit_price"]) == Decimal("97.5")  # a stop fills at the gap price
    assert Decimal(closed["realized_pnl"]) == Decimal("-134.875")  # (97.5-100)*50 - (5 + 4.875)
    assert Signal.objects.get().status == Signal.Status.CLOSED


def test_ticks_of_a_batch_apply_in_time_order(api_client, open_trade):
    open_trade()
    later = (T0 + timedelta(minutes=9)).isoformat()

    response = post_prices(
        api_client,
        [
            {"symbol": "BTCUSDT", "price": "105", "time": later},  # sent first, happened last
            {"symbol": "BTCUSDT", "price": "101", "time": TICK_TIME},
        ],
    )

    [closed] = response.json()["closed"]
    assert closed["status"] == "TAKE_PROFIT"
    assert Decimal(closed["exit_price"]) == Decimal("104")  # a target fills at its own price
    assert Decimal(closed["realized_pnl"]) == Decimal("189.8")  # (104-100)*50 - (5 + 0.001*104*50)


GOOD = {"symbol": "BTCUSDT", "price": "97", "time": TICK_TIME}  # alone, it would close the trade


@pytest.mark.parametrize(
    ("ticks", "field"),
    [
        ([], "ticks"),
        ([GOOD, {"symbol": "BTCUSDT", "price": "-1"}], "ticks[1].price"),
        ([GOOD, {"symbol": "BTCUSDT", "price": "NaN"}], "ticks[1].price"),
        ([GOOD, {"symbol": "BTCUSDT", "price": "1e30"}], "ticks[1].price"),
        ([GOOD, {"symbol": "BTCUSDT"}], "ticks[1].price"),
        ([GOOD, {"symbol": "not a symbol", "price": "1"}], "ticks[1].symbol"),
        ([GOOD, {"symbol": "BTCUSDT", "price": "1", "time": "yesterday"}], "ticks[1].time"),
    ],
)
def test_an_unreadable_tick_refuses_the_whole_request(api_client, open_trade, ticks, field):
    trade = open_trade()

    response = post_prices(api_client, ticks)

    assert response.status_code == 422
    assert [item["field"] for item in response.json()["detail"]] == [field]
    trade.refresh_from_db()
    assert trade.is_open
    assert trade.current_price == Decimal("100")


def test_a_tick_the_ledger_refuses_is_listed_with_its_reason_and_the_rest_of_the_batch_applies(api_client, open_trade):
    trade = open_trade()  # LONG 50 BTCUSDT at 100, stop 98
    tiny = open_trade(symbol="ETHUSDT", action="SELL", entry_price=Decimal("0.0001"))  # 5e7 units
    absurd = {"symbol": "ETHUSDT", "price": "99999999999", "time": TICK_TIME}  # values the SHORT at ~5e18

    response = post_prices(api_client, [absurd, GOOD])

    assert response.status_code == 200
    answer = response.json()
    assert [(r["number"], r["symbol"], r["field"]) for r in answer["refused"]] == [(0, "ETHUSDT", "ticks[0].price")]
    assert "beyond what the ledger holds" in answer["refused"][0]["message"]
    assert [closed["id"] for closed in answer["closed"]] == [trade.pk]  # GOOD took the LONG through its stop
    tiny.refresh_from_db()
    assert tiny.current_price == Decimal("0.0001")


@pytest.mark.parametrize(
    ("book", "field", "says"),
    [
        ({"bid": "101", "ask": "100.5"}, "ticks[1].bid", "a crossed book"),
        ({"bid": "99.8"}, "ticks[1].bid", "bid 99.8 is 0.81% from the price 99"),  # a stop would fill above it
        ({"ask": "90.1"}, "ticks[1].ask", "ask 90.1 is 8.99% from the price 99"),  # a buy would fill 9% cheap
    ],
)
def test_a_tick_whose_quote_is_crossed_or_far_from_its_price_is_refused_with_the_reason(
    api_client, open_trade, book, field, says
):
    trade = open_trade()  # LONG at 100, stop 98
    second = (T0 + timedelta(minutes=6)).isoformat()

    answer = post_prices(
        api_client,
        [
            {"symbol": "BTCUSDT", "price": "101", "time": TICK_TIME},
            {"symbol": "BTCUSDT", "price": "99", "time": second, **book},
        ],
    ).json()

    assert [(r["field"], says in r["message"]) for r in answer["refused"]] == [(field, True)]
    trade.refresh_from_db()
    assert (trade.current_price, trade.exit_quote) == (Decimal("101"), Decimal("101"))  # the first tick's mark


def test_a_batch_whose_every_tick_is_refused_answers_422_naming_the_first(api_client, open_trade):
    open_trade()

    response = post_prices(api_client, [{"symbol": "BTCUSDT", "price": "97", "ask": "88", "time": TICK_TIME}])

    assert (response.status_code, response.json()["detail"][0]["field"]) == (422, "ticks[0].ask")
    assert PaperTrade.objects.get().is_open


def test_more_than_a_thousand_ticks_are_refused(api_client):
    ticks = [{"symbol": "BTCUSDT", "price": "1"}] * 1001

    response = post_prices(api_client, ticks)

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "ticks"


def test_active_trades_lists_the_open_ones_oldest_first(api_client, open_trade, many_trades):
    first = open_trade()
    second = open_trade(symbol="ETHUSDT", timestamp=T0 + timedelta(minutes=2))
    gone = open_trade(symbol="SOLUSDT", timestamp=T0 + timedelta(minutes=3))
    close(api_client, gone.pk)

    response = api_client.get("/api/v1/trades/active")

    assert [trade["id"] for trade in response.json()] == [first.pk, second.pk]


def test_one_trade_by_id(api_client, open_trade):
    trade = open_trade()

    response = api_client.get(f"/api/v1/trades/{trade.pk}")

    assert response.json()["id"] == trade.pk
    assert response.json()["signal_id"] == trade.signal_id
    assert response.json()["status"] == "OPEN"


def test_a_trade_s_excursions_are_computed_once_per_trade_of_an_answer(
    api_client, open_trade, many_trades, monkeypatch
):
    trades = [open_trade(), open_trade(symbol="ETHUSDT")]
    computed = []
    monkeypatch.setattr(
        rules, "excursions", lambda trade, compute=rules.excursions: computed.append(trade.pk) or compute(trade)
    )

    one = api_client.get(f"/api/v1/trades/{trades[0].pk}").json()
    assert computed == [trades[0].pk]  # once for mfe, mae, mfe_r and mae_r
    both = api_client.get("/api/v1/trades/active").json()
    assert computed == [trades[0].pk, *[trade.pk for trade in trades]]
    # Entered at the fill 100, no tick since: neither ahead nor behind.
    assert [Decimal(value) for value in (one["mfe"], one["mae"], both[1]["mfe_r"])] == [0, 0, 0]


def test_unknown_trade_id_is_404(api_client):
    response = api_client.get("/api/v1/trades/999")

    assert response.status_code == 404
    assert response.json()["detail"] == [{"field": "trade_id", "message": "No trade with id 999."}]


@pytest.mark.parametrize("trade_id", ["0", "99999999999999999999999"])
def test_impossible_trade_id_is_422(api_client, trade_id):
    response = api_client.get(f"/api/v1/trades/{trade_id}")

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "trade_id"


def test_close_at_a_given_price_realizes_its_pnl(api_client, open_trade):
    trade = open_trade()

    response = close(api_client, trade.pk, {"price": "102"})

    assert response.status_code == 200
    assert response.json()["status"] == "MANUAL_CLOSE"
    assert Decimal(response.json()["exit_price"]) == Decimal("102")
    assert Decimal(response.json()["realized_pnl"]) == Decimal("89.9")  # (102-100)*50 - (5 + 0.001*102*50)
    assert book().realized_pnl_total == Decimal("89.9")


def test_close_without_a_price_uses_the_last_mark(api_client, open_trade):
    trade = open_trade()
    post_prices(api_client, [{"symbol": "BTCUSDT", "price": "101", "time": TICK_TIME}])

    response = close(api_client, trade.pk)

    assert Decimal(response.json()["exit_price"]) == Decimal("101")
    assert Decimal(response.json()["realized_pnl"]) == Decimal("39.95")  # the last unrealized PnL


def test_closing_a_closed_trade_again_is_409_and_changes_nothing(api_client, open_trade):
    trade = open_trade()
    close(api_client, trade.pk, {"price": "102"})

    response = close(api_client, trade.pk, {"price": "90"})

    assert response.status_code == 409
    assert response.json()["detail"][0]["field"] == "trade_id"
    trade.refresh_from_db()
    assert trade.exit_price == Decimal("102")
    assert book().realized_pnl_total == Decimal("89.9")


@pytest.mark.parametrize(
    ("data", "status"), [({"price": "0"}, 422), ({"price": "Infinity"}, 422), ({"price": "x"}, 422)]
)
def test_close_at_a_bad_price_is_refused(api_client, open_trade, data, status):
    trade = open_trade()

    response = close(api_client, trade.pk, data)

    assert response.status_code == status
    assert response.json()["detail"][0]["field"] == "price"
    trade.refresh_from_db()
    assert trade.is_open


def test_close_of_an_unknown_trade_is_404(api_client):
    response = close(api_client, 999)

    assert response.status_code == 404
    assert row_counts() == (0, 0)
    assert not PaperTrade.objects.exists()


@pytest.mark.time_machine(NOW, tick=False)  # the token's last use is written once a minute: before the fault
def test_a_database_fault_is_503_in_the_api_shape_with_retry_after(api_client, request):
    assert api_client.get("/api/v1/trades/active").status_code == 200
    request.getfixturevalue("read_only_database")  # from now on every write fails, as on a full disk

    response = api_client.post(
        "/api/v1/prices",
        json.dumps({"ticks": [{"symbol": "BTCUSDT", "price": "101"}]}),
        content_type="application/json",
    )

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json()["detail"][0]["message"].startswith(
        "The database could not serve this request; nothing was written."
    )
    assert int(response["Retry-After"]) > 0


def test_close_with_the_expected_price_closes_while_the_fill_is_within_the_deviation(api_client, open_trade):
    trade = open_trade()
    post_prices(api_client, [{"symbol": "BTCUSDT", "price": "101", "time": TICK_TIME}])  # exit quote 101

    response = close(api_client, trade.pk, {"expected_price": "101.5"})  # -0.5 / 101.5 = -0.49%: accepted

    assert response.status_code == 200
    assert Decimal(response.json()["exit_price"]) == Decimal("101")


def test_close_past_the_expected_price_is_409_with_the_new_fill_and_nothing_written(api_client, open_trade):
    trade = open_trade()
    post_prices(api_client, [{"symbol": "BTCUSDT", "price": "101", "time": TICK_TIME}])
    before = row_counts(), book().version

    response = close(api_client, trade.pk, {"expected_price": "100"})  # +1 / 100 = +1%, past 0.5%

    assert response.status_code == 409
    assert response.json()["detail"][0] == {
        "field": "expected_price",
        "message": "The fill moved from 100 to 101 (+1.00%), more than the 0.5% you accept; nothing was done. "
        "Confirm again at 101 if it still suits you.",
    }
    trade.refresh_from_db()
    assert trade.is_open
    assert (row_counts(), book().version) == before  # nothing written, not even a version


def test_a_bad_expected_price_is_refused_naming_it(api_client, open_trade):
    trade = open_trade()

    response = close(api_client, trade.pk, {"expected_price": "-1"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "expected_price"
    trade.refresh_from_db()
    assert trade.is_open
