"""GET and PUT /api/v1/days/{date}/note: a trading day's diary through the API, kept in its history as the day's
page keeps it, token-scoped like every other read and write."""

import json
from datetime import date

import pytest

from ledger import services
from ledger.models import DayNote

from .conftest import NOW

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]  # today: 2026-11-25
URL = "/api/v1/days/2026-11-20/note"


def put(client, url, body):
    return client.put(url, json.dumps(body), content_type="application/json")


def test_a_day_nobody_wrote_about_reads_as_an_empty_diary(api_client):
    response = api_client.get(URL)

    assert response.status_code == 200
    assert response.json() == {"day": "2026-11-20", "text": "", "updated_at": None}
    assert not DayNote.objects.exists()  # reading writes nothing


def test_the_diary_the_page_wrote_is_read(api_client):
    services.day_note_write(day=date(2026, 11, 20), text="Range day.\nSat on my hands.")

    answer = api_client.get(URL).json()

    assert (answer["text"], answer["updated_at"]) == ("Range day.\nSat on my hands.", "2026-11-25T12:00:00Z")


def test_put_writes_then_rewrites_the_diary_keeping_each_version_with_the_token_s_name(api_client):
    first = put(api_client, URL, {"text": "  Plan: only breakouts.  "})
    second = put(api_client, URL, {"text": "Plan: only breakouts.\r\nBroke it at 11:00."})
    put(api_client, URL, {"text": "Plan: only breakouts.\nBroke it at 11:00."})  # what it holds: no new version

    assert (first.status_code, first.json()["text"]) == (200, "Plan: only breakouts.")  # the ends trimmed
    assert second.json()["text"] == "Plan: only breakouts.\nBroke it at 11:00."
    note = DayNote.objects.get(day=date(2026, 11, 20))
    assert [(h.text, h.history_type, h.history_change_reason) for h in note.history.all()] == [
        ("Plan: only breakouts.\nBroke it at 11:00.", "~", "diary (API token tests)"),
        ("Plan: only breakouts.", "+", "diary (API token tests)"),
    ]


def test_an_empty_text_clears_the_diary_and_its_history_keeps_what_it_was(api_client):
    put(api_client, URL, {"text": "Something"})

    response = put(api_client, URL, {"text": ""})

    assert (response.status_code, response.json()["text"]) == (200, "")
    assert list(DayNote.objects.get().history.values_list("text", flat=True)) == ["", "Something"]


@pytest.mark.parametrize(
    ("url", "body", "status", "field"),
    [
        ("/api/v1/days/2026-11-26/note", {"text": "Plans"}, 422, "date"),  # a day to come
        ("/api/v1/days/2026-13-01/note", {"text": "x"}, 422, "date"),
        ("/api/v1/days/20261120/note", {"text": "x"}, 422, "date"),
        (URL, {"text": "x" * 20_001}, 422, "text"),
        (URL, {"text": "bell\u0007"}, 422, "text"),
        (URL, {}, 422, "text"),
        (URL, {"text": "ok", "mood": "good"}, 422, "mood"),
    ],
)
def test_put_refusals_name_the_field_and_write_nothing(api_client, url, body, status, field):
    response = put(api_client, url, body)

    assert response.status_code == status
    assert response.json()["detail"][0]["field"] == field
    assert not DayNote.objects.exists()


def test_a_bad_date_is_refused_on_a_read_too(api_client):
    response = api_client.get("/api/v1/days/2026-02-30/note")
    assert (response.status_code, response.json()["detail"][0]["field"]) == (422, "date")


def test_the_diary_needs_a_token_to_read_and_a_trade_token_to_write(client):
    assert client.get(URL).status_code == 401
    _, token = services.api_token_create(name="reader", scope="read")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    assert client.get(URL, **bearer).status_code == 200
    refused = client.put(URL, json.dumps({"text": "no"}), content_type="application/json", **bearer)
    assert refused.status_code == 403
    assert not DayNote.objects.exists()
