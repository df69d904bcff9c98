"""/healthz: public, answers whether the database answers, and nothing more."""

from unittest import mock

import pytest
from django.db import OperationalError

from ledger import health

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok_without_a_login(client):
    response = client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert "no-cache" in response["Cache-Control"]


def test_healthz_answers_503_when_the_database_does_not(client):
    unreachable = mock.Mock(**{"cursor.side_effect": OperationalError("connection refused")})

    with mock.patch.object(health, "connection", unreachable):
        response = client.get("/healthz")

    assert (response.status_code, response.json()) == (503, {"status": "unavailable"})


def test_healthz_refuses_a_post(client):
    assert client.post("/healthz").status_code == 405
