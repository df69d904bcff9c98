"""/healthz: public, answers whether the database takes a write (rolled back), and nothing more."""

from unittest import mock

import pytest
from django.db import OperationalError

from ledger import health
from ledger.models import Account

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok_without_a_login_and_keeps_nothing(client):
    response = client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert "no-cache" in response["Cache-Control"]
    assert not Account.objects.filter(pk=health.PROBE_ID).exists()  # the probe's write was rolled back


def test_healthz_answers_503_when_the_database_does_not(client):
    unreachable = mock.Mock(**{"create.side_effect": OperationalError("connection refused")})

    with mock.patch.object(Account, "objects", unreachable):
        response = client.get("/healthz")

    assert (response.status_code, response.json()) == (503, {"status": "unavailable"})


def test_healthz_answers_503_when_the_database_reads_but_cannot_write(client, read_only_database):
    response = client.get("/healthz")

    assert (response.status_code, response.json()) == (503, {"status": "unavailable"})


def test_healthz_refuses_a_post(client):
    assert client.post("/healthz").status_code == 405
