"""Who may act: the dashboard's actions need the `ledger.trade` permission, the API's writes a `trade` token.
Every write path is walked as a read-only person and a read-only token: 403, and nothing changes."""

import json
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.urls import URLPattern, get_resolver
from django.utils import timezone

from ledger import services
from ledger.api import api
from ledger.models import ApiToken, Book, DayNote, PaperTrade, Signal

from .conftest import NOW

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]


def ledger_state() -> tuple:
    """Everything a write would change: the rows, their states and marks, and the version every write bumps."""
    return (
        list(Signal.objects.order_by("pk").values_list("signal_id", "status")),
        list(PaperTrade.objects.order_by("pk").values_list("pk", "status", "current_price")),
        Book.objects.values_list("version", flat=True).first(),
        list(DayNote.objects.values_list("day", "text")),
    )


@pytest.fixture
def rows(open_trade, make_signal):
    """An open trade and a GENERATED signal of today, which every action could change."""
    now = timezone.now()
    trade = open_trade(timestamp=now - timedelta(minutes=1), at=now)
    signal = make_signal(timestamp=now - timedelta(seconds=30), symbol="ETHUSDT")
    return trade, signal


def dashboard_routes():
    """(route, view name) of every page of the ledger app: the dashboard, its actions, statistics, exports."""
    for entry in get_resolver("ledger.urls").url_patterns:
        assert isinstance(entry, URLPattern)
        yield str(entry.pattern), entry.name


def test_a_read_only_person_is_refused_every_dashboard_action_and_nothing_changes(readonly_staff_client, rows):
    trade, signal = rows
    samples = {"int": str(trade.pk), "str": signal.signal_id, "day": str(NOW.date())}
    before = ledger_state()
    refused = []
    for route, name in dashboard_routes():
        path = "/" + re.sub(r"<(\w+):\w+>", lambda m: samples[m.group(1)], route)
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):  # a plain form post and the button's HTMX post
            response = readonly_staff_client.post(path, **headers)
            # 403, or to HTMX the notice that says so (a 4xx would be an error in the browser's console)
            assert response.status_code in ((200, 405) if headers else (403, 405)), (
                f"POST {path}: {response.status_code}"
            )
            if response.status_code != 405:
                refused.append(name)
                assert "may look but not trade" in response.content.decode()

    assert {"trade-close", "signal-execute", "signal-expire"} <= set(refused)
    assert ledger_state() == before


def test_the_buttons_are_not_shown_to_a_read_only_person(readonly_staff_client, trader_client, rows):
    trading, looking = trader_client.get("/").content.decode(), readonly_staff_client.get("/").content.decode()

    for action in ("/close/", "/execute/", "/expire/"):
        assert action in trading
        assert action not in looking
    assert f'id="trade-{rows[0].pk}"' in looking  # the rows themselves are shown


def test_a_person_with_the_trade_permission_may_act(trader_client, rows):
    assert trader_client.post(f"/trades/{rows[0].pk}/close/").status_code == 302
    assert PaperTrade.objects.get(pk=rows[0].pk).status == PaperTrade.Status.MANUAL_CLOSE


def test_the_read_only_group_never_holds_the_trade_permission_even_if_given_it():
    call_command("readonly_group", stdout=StringIO())
    group = Group.objects.get(name="ledger read-only")
    group.permissions.add(Permission.objects.get(codename="trade"))  # by hand, by mistake

    call_command("readonly_group", stdout=StringIO())

    assert not group.permissions.filter(codename="trade").exists()


# --- API tokens -------------------------------------------------------------------------------------


def api_writes():
    """(method, path) of every operation of the API that is not a read; the webhook has no token."""
    for path, operations in api.get_openapi_schema(path_prefix="/api/v1")["paths"].items():
        for method in operations:
            if method != "get" and path != "/api/v1/webhooks/tradingview":
                yield method, path


def test_a_read_only_token_is_refused_every_write_and_nothing_changes(client, rows):
    trade, signal = rows
    _, token = services.api_token_create(name="dashboard-reader", scope=ApiToken.Scope.READ)
    bodies = {
        "/api/v1/signals": {
            "signal_id": "new-1",
            "symbol": "BTCUSDT",
            "action": "BUY",
            "entry_price": "100",
            "confidence": "0.5",
        },
        "/api/v1/signals/{signal_id}/expire": {"reason": "not wanted"},
        "/api/v1/prices": {"ticks": [{"symbol": "BTCUSDT", "price": "101"}]},
        "/api/v1/trades/{trade_id}/close": {"price": "101"},
        "/api/v1/trades/{trade_id}": {"notes": "read-only people cannot write this", "tags": ["nope"]},
        "/api/v1/trades/{trade_id}/levels": {"stop_loss": "95"},
        "/api/v1/days/{date}/note": {"text": "read-only people cannot write this"},
        "/api/v1/orders/{order_id}/cancel": {"reason": "not wanted"},
        "/api/v1/replays": {"start": "2026-11-20", "end": "2026-11-20"},
        "/api/v1/replays/{replay_id}/cancel": {},
    }
    assert {path for _, path in api_writes()} == set(bodies)  # a new write is walked here too
    before = ledger_state()

    for method, path in api_writes():
        url = path.format(signal_id=signal.signal_id, trade_id=trade.pk, date=NOW.date(), order_id=1, replay_id=1)
        response = getattr(client, method)(
            url, json.dumps(bodies[path]), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )
        assert response.status_code == 403, f"{method.upper()} {url}: {response.status_code}"
        assert "may only read" in response.json()["detail"][0]["message"]

    assert ledger_state() == before
    assert (
        client.get("/api/v1/trades/active", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    )  # reads are fine


def test_create_api_token_makes_a_read_token_unless_asked_for_trade():
    call_command("create_api_token", "reader", stdout=StringIO(), stderr=StringIO())
    call_command("create_api_token", "bot", "--scope", "trade", stdout=StringIO(), stderr=StringIO())

    assert dict(ApiToken.objects.values_list("name", "scope")) == {"reader": "read", "bot": "trade"}
