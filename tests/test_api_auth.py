"""Token authentication, revocation, the token commands, CSRF and the logged-in-only OpenAPI document."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from ledger import services
from ledger.models import ApiToken

from .conftest import NOW, row_counts
from .helpers import api_post, signal_body

# A signal sent without a timestamp is stamped and executed "now", which must stay one trading day; a
# token's last use is written by the minute.
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]


def post_signal(client, **headers):
    return api_post(client, "signals", signal_body(), **headers)


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong-token", "Token pt_abc", "Basic dXNlcjpwYXNz"],
)
def test_missing_or_wrong_token_is_401_and_writes_nothing(client, authorization):
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}

    response = post_signal(client, **headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["detail"][0]["message"].startswith("A valid API token is required")
    assert row_counts() == (0, 0)


@pytest.mark.parametrize("path", ["trades/active", "trades/1", "signals", "journal", "pnl/daily", "stats"])
def test_every_read_needs_a_token_too(client, path):
    assert client.get(f"/api/v1/{path}").status_code == 401


def test_valid_token_is_accepted_and_its_use_recorded(client):
    row, token = services.api_token_create(name="bot", scope=ApiToken.Scope.TRADE)

    response = post_signal(client, HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 201
    row.refresh_from_db()
    assert row.last_used_at is not None


def test_last_use_is_written_at_most_once_a_minute(client):
    row, token = services.api_token_create(name="bot")
    recent = timezone.now() - timedelta(seconds=30)
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=recent)

    client.get("/api/v1/trades/active", HTTP_AUTHORIZATION=f"Bearer {token}")

    row.refresh_from_db()
    assert row.last_used_at == recent


@pytest.mark.parametrize("path", ["trades/active", "journal", "pnl/daily", "stats"])
def test_reads_answer_on_a_read_only_database_though_the_last_use_cannot_be_written(
    client, unused_token, read_only_database, path
):
    response = client.get(f"/api/v1/{path}", HTTP_AUTHORIZATION=f"Bearer {unused_token}")

    assert response.status_code == 200


@pytest.fixture
def unused_token() -> str:
    """A token never used: its first use would be written."""
    return services.api_token_create(name="bot")[1]


def test_revoked_token_is_401(client):
    _, token = services.api_token_create(name="bot")
    services.api_token_revoke(name="bot")

    response = post_signal(client, HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 401
    assert row_counts() == (0, 0)


def test_token_posts_without_csrf_even_when_checks_are_enforced():
    _, token = services.api_token_create(name="bot", scope=ApiToken.Scope.TRADE)
    client = Client(enforce_csrf_checks=True)

    response = post_signal(client, HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 201


def test_a_logged_in_session_without_a_token_is_still_401(trader_client):
    assert post_signal(trader_client).status_code == 401


def test_openapi_document_and_docs_page_need_a_login_not_a_token(client, viewer):
    _, token = services.api_token_create(name="bot")
    with_token = client.get("/api/v1/openapi.json", HTTP_AUTHORIZATION=f"Bearer {token}")
    client.force_login(viewer)

    assert with_token.status_code == 302  # to the login page
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "Paper-trading ledger"
    assert "/static/ninja/swagger-ui-bundle.js" in client.get("/api/v1/docs").content.decode()  # not a CDN


def test_create_api_token_prints_a_token_that_works(client):
    out = io.StringIO()

    call_command("create_api_token", "signal-bot", stdout=out, stderr=io.StringIO())

    token = out.getvalue().strip()
    row = ApiToken.objects.get(name="signal-bot")
    assert row.key_hash == services.api_token_hash(token)  # only the hash is stored
    assert token not in {row.key_hash, row.prefix}
    assert client.get("/api/v1/stats", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def test_create_api_token_refuses_a_name_in_use():
    services.api_token_create(name="bot")

    with pytest.raises(CommandError, match="exists already"):
        call_command("create_api_token", "bot", stdout=io.StringIO(), stderr=io.StringIO())


def test_revoke_api_token_command_revokes(client):
    _, token = services.api_token_create(name="bot")

    call_command("revoke_api_token", "bot", stdout=io.StringIO())

    assert ApiToken.objects.get(name="bot").revoked_at is not None
    assert client.get("/api/v1/stats", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_revoke_api_token_of_an_unknown_name_fails():
    with pytest.raises(CommandError, match="No token named"):
        call_command("revoke_api_token", "nobody", stdout=io.StringIO())
