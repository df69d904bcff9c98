"""GET /api/v1/events: the outbox for programs, a page at a time after the last id seen; a token that may read."""

from decimal import Decimal

import pytest
from django.test import Client

from ledger import services
from ledger.models import ApiToken

from .helpers import API

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader() -> Client:
    _, token = services.api_token_create(name="reader", scope=ApiToken.Scope.READ)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def test_events_need_a_token(client, closed_trade):
    assert client.get(API + "events").status_code == 401


def test_a_reader_pages_through_the_events_with_last_id_and_misses_none(reader, closed_trade):
    first = reader.get(API + "events", {"limit": 2}).json()
    assert [e["kind"] for e in first["items"]] == ["signal.recorded", "trade.opened"]
    rest = reader.get(API + "events", {"after": first["last_id"]}).json()
    assert [e["kind"] for e in rest["items"]] == ["trade.closed"]
    closed = rest["items"][0]
    assert closed["trade_id"] == closed_trade.pk
    assert closed["signal_id"] == closed_trade.signal_id
    # conftest: closed by hand at 101; realized (101 - 100) * 50 - 10.05 = 39.95
    assert Decimal(closed["payload"]["realized_pnl"]) == Decimal("39.95")
    empty = reader.get(API + "events", {"after": rest["last_id"]}).json()
    assert empty == {"items": [], "last_id": rest["last_id"]}


def test_events_can_be_asked_by_kind(reader, closed_trade):
    answer = reader.get(API + "events", {"kind": ["trade.closed", "trade.opened"]}).json()
    assert [e["kind"] for e in answer["items"]] == ["trade.opened", "trade.closed"]


def test_an_unknown_kind_or_a_bad_after_is_refused_naming_the_field(reader):
    unknown = reader.get(API + "events", {"kind": "trade.exploded"})
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["field"] == "kind"
    bad = reader.get(API + "events", {"after": "-1"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "after"
