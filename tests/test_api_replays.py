"""POST /api/v1/replays, GET /api/v1/replays/{id} and its cancel: queued with a trade token, read with any,
refused naming the field."""

import pytest
from django.test import Client

from ledger import services
from ledger.models import ApiToken, Replay

from .helpers import api_post
from .test_services_replays import live_day  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db
DAY = {"start": "2026-11-20", "end": "2026-11-20"}


@pytest.fixture
def read_client() -> Client:
    _, token = services.api_token_create(name="reader", scope=ApiToken.Scope.READ)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_replay_is_queued_then_read_once_the_worker_has_run_it(api_client, live_day):  # noqa: F811
    answer = api_post(api_client, "replays", DAY | {"rules": {"stop_pct": 0.01, "max_open": 3}})
    assert answer.status_code == 202
    body = answer.json()
    assert (body["status"], body["progress"], body["parameters"]["rules"]) == (
        "queued",
        0,
        {"stop_pct": "0.01", "max_open": 3},
    )
    services.replay_claim(replay_id=body["id"])
    services.replay_run(replay_id=body["id"])
    done = api_client.get(f"/api/v1/replays/{body['id']}").json()
    assert done["status"] == "done"
    # the three first trades fill the three places; XRP and ADA are refused
    assert [row["signal_id"] for row in done["result"]["refused"]] == ["s-XRPUSDT", "s-ADAUSDT"]
    assert done["summary"]["replay"]["trades"] == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (DAY | {"end": "2026-11-19"}, "end"),
        (DAY | {"rules": {"stop_pct": "0"}}, "rules.stop_pct"),
        (DAY | {"rules": {"risk": 2}}, "risk"),
        (DAY | {"rules": {"leverage": 5}}, "leverage"),
        ({"end": "2026-11-20"}, "start"),
        (DAY | {"rules": {"targets": [{"r": 1, "fraction": "0.5"}, {"r": 2, "fraction": "0.4"}]}}, "rules.targets"),
        (DAY | {"rules": {"targets": [{"r": 1}]}}, "fraction"),
        (DAY | {"rules": {"break_even_after": 1}}, "rules.break_even_after"),
        (DAY | {"rules": {"trail_pct": "1.5"}}, "trail_pct"),
        (DAY | {"rules": {"entry": "iceberg"}}, "entry"),
        (DAY | {"rules": {"entry_expiry": 600}}, "rules.entry_expiry"),
    ],
)
def test_bad_bodies_are_refused_naming_the_field_and_nothing_is_queued(api_client, body, field):
    answer = api_post(api_client, "replays", body)
    assert answer.status_code == 422
    assert field in answer.json()["detail"][0]["field"]
    assert not Replay.objects.exists()


def test_a_read_token_may_read_but_not_queue_or_cancel(read_client):
    assert api_post(read_client, "replays", DAY).status_code == 403
    queued = services.replay_queue(parameters=DAY)
    assert read_client.get(f"/api/v1/replays/{queued.pk}").json()["status"] == "queued"
    assert api_post(read_client, f"replays/{queued.pk}/cancel").status_code == 403


def test_cancel_stops_a_queued_replay_and_a_second_cancel_is_a_conflict(api_client):
    queued = services.replay_queue(parameters=DAY)
    assert api_post(api_client, f"replays/{queued.pk}/cancel").json()["status"] == "cancelled"
    again = api_post(api_client, f"replays/{queued.pk}/cancel")
    assert (again.status_code, again.json()["detail"][0]["field"]) == (409, "replay_id")


def test_an_unknown_replay_is_a_404_naming_it(api_client):
    answer = api_client.get("/api/v1/replays/12345")
    assert (answer.status_code, answer.json()["detail"][0]["field"]) == (404, "replay_id")


def test_a_bracket_and_an_entry_order_are_rules_a_replay_takes(api_client):
    rules = {
        "targets": [{"r": "1", "fraction": "0.5"}, {"r": 2, "fraction": 0.5}],
        "break_even_after": 1,
        "trail_pct": "0.01",
        "entry": "limit",
        "entry_expiry": 3600,
    }
    answer = api_post(api_client, "replays", DAY | {"rules": rules})
    assert answer.status_code == 202
    assert answer.json()["parameters"]["rules"] == rules | {
        "targets": [{"r": "1", "fraction": "0.5"}, {"r": "2", "fraction": "0.5"}]
    } | {"trail_pct": "0.01"}
