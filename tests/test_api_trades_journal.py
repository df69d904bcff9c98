"""PATCH /api/v1/trades/{id} (notes and tags), POST /api/v1/trades/{id}/levels, and the statistics by setup
in GET /api/v1/stats: numbers by hand, refusals with their status and nothing written."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client

from ledger import services
from ledger.models import PaperTrade

from .conftest import closed_trade_row
from .helpers import api_post, saved_closed

pytestmark = pytest.mark.django_db


def patch(client, trade_id, body):
    return client.patch(f"/api/v1/trades/{trade_id}", json.dumps(body), content_type="application/json")


def levels(client, trade_id, body):
    return api_post(client, f"trades/{trade_id}/levels", body)


def test_patch_sets_notes_and_tags_and_names_the_token_in_the_history(api_client, open_trade):
    trade = open_trade()

    response = patch(api_client, trade.pk, {"notes": "From the bot: breakout.", "tags": ["breakout", "bot"]})

    assert response.status_code == 200
    assert (response.json()["notes"], response.json()["tags"]) == ("From the bot: breakout.", ["breakout", "bot"])
    assert trade.history.first().history_change_reason == "notes and tags edited (API token tests)"


def test_patch_with_only_tags_leaves_the_notes(api_client, open_trade):
    trade = services.trade_annotate(trade_id=open_trade().pk, notes="Keep me.")
    response = patch(api_client, trade.pk, {"tags": ["news"]})
    assert (response.json()["notes"], response.json()["tags"]) == ("Keep me.", ["news"])


def test_patch_on_an_outdated_version_is_409_saying_what_changed_and_writes_nothing(api_client, open_trade):
    trade = open_trade()
    version = api_client.get(f"/api/v1/trades/{trade.pk}").json()["notes_version"]
    services.trade_annotate(trade_id=trade.pk, notes="Written in the browser.")

    response = patch(api_client, trade.pk, {"tags": ["bot"], "version": version})

    assert response.status_code == 409
    [detail] = response.json()["detail"]
    assert detail["field"] == "version"
    assert detail["message"].startswith(f"The notes of trade {trade.pk} changed since this edit began (notes edited,")
    trade.refresh_from_db()
    assert (trade.notes, trade.tags) == ("Written in the browser.", [])


def test_patch_on_the_current_version_is_written_and_answers_the_next_version(api_client, open_trade):
    trade = open_trade()
    version = api_client.get(f"/api/v1/trades/{trade.pk}").json()["notes_version"]

    response = patch(api_client, trade.pk, {"tags": ["bot"], "version": version})

    assert response.status_code == 200
    assert response.json()["notes_version"] not in (version, "")
    assert response.json()["notes_version"].split(".")[0] == version.split(".")[0]  # the notes did not change


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"tags": ["ok", "a,b"]}, 422, "tags[1]"),
        ({"tags": [""]}, 422, "tags[0]"),
        ({"tags": "FOMO"}, 422, "tags"),
        ({"notes": "x" * 20_001}, 422, "notes"),
        ({"notes": "bell\u0007"}, 422, "notes"),
    ],
)
def test_patch_refusals_name_the_field_and_write_nothing(api_client, open_trade, body, status, field):
    trade = open_trade()
    response = patch(api_client, trade.pk, body)
    assert response.status_code == status
    assert response.json()["detail"][0]["field"] == field
    trade.refresh_from_db()
    assert (trade.notes, trade.tags) == ("", [])


def test_patch_an_unknown_trade_is_404_and_without_a_token_401(api_client, open_trade):
    assert patch(api_client, 999, {"notes": "?"}).status_code == 404
    trade = open_trade()
    assert patch(Client(), trade.pk, {"notes": "?"}).status_code == 401
    assert PaperTrade.objects.get(pk=trade.pk).notes == ""


def test_levels_move_the_stop_and_keep_the_risk(api_client, open_trade):
    trade = open_trade()  # LONG 50 at 100: stop 98, target 104, risk 100

    response = levels(api_client, trade.pk, {"stop_loss": "99.5"})

    assert response.status_code == 200
    body = response.json()
    assert (body["stop_loss"], body["take_profit"], body["risk_amount"]) == (
        "99.50000000",
        "104.00000000",
        "100.00000000",
    )
    assert trade.history.first().history_change_reason == "moved stop 98 to 99.5 (API token tests)"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"stop_loss": "100"}, 422, "stop_loss"),  # at the last price: crossed
        ({"take_profit": 99}, 422, "take_profit"),
        ({"stop_loss": "-1"}, 422, "stop_loss"),
        ({}, 422, "stop_loss"),
        ({"take_profit": "99999999999"}, 422, "take_profit"),  # 50 units: a notional of 5e12 at the target
        ({"take_profit": "2000000000"}, 422, "take_profit"),  # 1e11 exactly: the first amount beyond the bound
    ],
)
def test_levels_refusals(api_client, open_trade, body, status, field):
    trade = open_trade()
    response = levels(api_client, trade.pk, body)
    assert (response.status_code, response.json()["detail"][0]["field"]) == (status, field)
    trade.refresh_from_db()
    assert (trade.stop_loss, trade.take_profit) == (Decimal("98"), Decimal("104"))


def test_levels_of_a_closed_trade_answer_409(api_client, open_trade):
    trade = open_trade()
    services.trade_close(trade_id=trade.pk, price=Decimal("101"))
    assert levels(api_client, trade.pk, {"stop_loss": "99"}).status_code == 409


def test_stats_answer_the_figures_by_setup(api_client, settings, make_signal):
    settings.PAPER_STARTING_BALANCE = Decimal("10000")
    noon = datetime(2026, 11, 20, 12, tzinfo=UTC)  # a Friday
    saved_closed(
        [
            closed_trade_row(
                exit_time=noon, realized_pnl=Decimal("4"), tags=["A+ setup"], signal=make_signal(confluences=["trend"])
            ),
            closed_trade_row(
                exit_time=noon, realized_pnl=Decimal("-2"), tags=[], max_price=Decimal("103"), min_price=Decimal("99")
            ),
        ]
    )  # risk 2 each: R +2 and -1; held an hour: entered at 11:00; the second saw 103 (MFE 3) and 99 (MAE -1)

    body = api_client.get("/api/v1/stats", {"from": "2026-11-20", "to": "2026-11-20"}).json()

    assert [(g["key"], g["trades"], g["realized_pnl"]) for g in body["by_tag"]] == [
        ("A+ setup", 1, "4.00000000"),
        (None, 1, "-2.00000000"),
    ]
    assert [(g["key"], g["trades"]) for g in body["by_confluence"]] == [("trend", 1), (None, 1)]
    assert [(g["key"], g["trades"]) for g in body["by_weekday"]] == [("Fri", 2)]
    assert [(g["key"], g["trades"]) for g in body["by_hour"]] == [("11", 2)]
    # MFE: 1 (the first: 101 - 100, as closed_trade_row's high) + 3 = 4 / 2; MAE: 0 - 1 = -1 / 2
    assert (body["average_mfe"], body["average_mae"]) == ("2.00000000", "-0.50000000")
    assert (body["longest_win_streak"], body["longest_loss_streak"], body["return_pct"]) == (
        1,
        1,
        "0.02000000",
    )  # 2 / 10000
    assert [(b["low"], b["high"], b["trades"]) for b in body["r_histogram"] if b["trades"]] == [
        ("-1.00000000", "-0.50000000", 1),
        ("2.00000000", "2.50000000", 1),
    ]
    assert body["weekly"] == [
        {
            "start": "2026-11-16",
            "trades": 2,
            "wins": 1,
            "realized_pnl": "2.00000000",
            "starting_balance": "10000.00000000",
            "return_pct": "0.02000000",
        }
    ]
    assert (body["sharpe"], body["sortino"]) == (None, None)  # one day
