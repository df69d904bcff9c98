"""/healthz: public, answers whether the database takes a write (committed), and nothing more."""

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import OperationalError

from ledger import services
from ledger.inputs import Tick
from ledger.models import HealthProbe

from .conftest import NOW

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok_without_a_login(client):
    response = client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok", "feed_lag_s": None})  # no price yet
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.time_machine(NOW, tick=False)
def test_healthz_commits_its_probe_write_in_one_row(client):
    client.get("/healthz")
    client.get("/healthz")

    # Committed (this test runs outside a transaction): a rolled-back probe would leave no row.
    assert list(HealthProbe.objects.values_list("pk", "at")) == [(1, NOW)]


@pytest.mark.time_machine(NOW, tick=False)
def test_healthz_reports_the_age_of_the_newest_tick_of_any_symbol(client):
    services.prices_apply(
        ticks=[
            Tick("BTCUSDT", Decimal("100"), NOW - timedelta(seconds=95)),
            Tick("ETHUSDT", Decimal("10"), NOW - timedelta(seconds=12.5)),
        ]
    )

    assert client.get("/healthz").json() == {"status": "ok", "feed_lag_s": 12.5}


def test_healthz_answers_503_when_the_database_does_not(client):
    unreachable = mock.Mock(**{"update_or_create.side_effect": OperationalError("connection refused")})

    with mock.patch.object(HealthProbe, "objects", unreachable):
        response = client.get("/healthz")

    assert (response.status_code, response.json()) == (503, {"status": "unavailable"})


def test_healthz_answers_503_when_the_database_reads_but_cannot_write(client, read_only_database):
    response = client.get("/healthz")

    assert (response.status_code, response.json()) == (503, {"status": "unavailable"})


def test_healthz_refuses_a_post(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.time_machine(NOW, tick=False)
def test_healthz_says_degraded_but_answers_200_when_the_newest_price_is_older_than_the_threshold(client, settings):
    settings.PRICE_FEED_DEGRADED_LAG = 60
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("100"), NOW - timedelta(seconds=60.5))])

    response = client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "degraded", "feed_lag_s": 60.5})


@pytest.mark.time_machine(NOW, tick=False)
def test_healthz_shows_what_the_price_feed_reported_of_itself(client):
    services.feed_report(
        exchange="okx",
        started_at=NOW - timedelta(hours=1),
        at=NOW - timedelta(seconds=30),
        clock_offset_ms=-60_250,
        suspect_prints=2,
    )

    assert client.get("/healthz").json()["feed"] == {
        "exchange": "okx",
        "reported_s_ago": 30.0,
        "clock_offset_s": -60.25,
        "suspect_prints": 2,
    }
