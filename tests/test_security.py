"""Secure by default: deploy checks pass with DEBUG off, every page needs a login or a token, logins and
tokens are rate-limited, and the pages carry a Content-Security-Policy they keep."""

import os
import re
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from html.parser import HTMLParser
from ipaddress import ip_network
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver

from ledger import services
from ledger.api import api
from ledger.api.auth import WRONG_TOKENS
from ledger.models import Signal
from tradingsite.serve import ASGI, free_port, gunicorn
from tradingsite.startup import refuse_untrusted_forwarding

from .conftest import NOW, PASSWORD, database_url
from .helpers import api_post

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[1]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """manage.py with nothing but the given variables set (and PATH), as on a fresh server."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


PRODUCTION = {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "ledger.example.com"}
SHOW = (
    "from django.conf import settings as s; "
    "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS)"
)


# --- Settings -----------------------------------------------------------------------------------


def test_the_deploy_checks_pass_with_only_debug_secret_key_and_allowed_hosts_set():
    checked = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert checked.returncode == 0, checked.stderr
    assert "no issues" in checked.stdout


def test_with_debug_off_cookies_are_https_only_and_http_is_redirected():
    shown = manage("shell", "--no-imports", "-c", SHOW, **PRODUCTION)

    assert shown.stdout.split() == ["True", "True", "True", "31536000"]


def test_make_run_with_debug_on_stays_plain_http():
    shown = manage("shell", "--no-imports", "-c", SHOW, DEBUG="1")

    assert shown.stdout.split() == ["False", "False", "False", "0"]


def test_without_a_secret_key_the_site_refuses_to_start():
    refused = manage("check", DEBUG="0", ALLOWED_HOSTS="ledger.example.com")

    assert refused.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in refused.stderr


def test_a_short_tradingview_passphrase_stops_start_up_with_a_sentence():
    refused = manage("check", **PRODUCTION, TRADINGVIEW_PASSPHRASE="fifteen-chars!!")

    assert refused.returncode != 0
    assert "TRADINGVIEW_PASSPHRASE must be at least 16 characters (it has 15)" in refused.stderr
    assert manage("check", **PRODUCTION, TRADINGVIEW_PASSPHRASE="sixteen-chars!!!").returncode == 0


def test_a_malformed_api_rate_limit_stops_start_up_naming_the_variable():
    refused = manage("check", **PRODUCTION, API_RATE_LIMIT="lots")

    assert refused.returncode != 0
    assert "API_RATE_LIMIT must be requests per period" in refused.stderr


@override_settings(SECURE_SSL_REDIRECT=True)
def test_plain_http_is_redirected_to_https_but_the_health_check_is_not(client):
    assert client.get("/login/").headers["Location"] == "https://testserver/login/"
    assert client.get("/healthz").status_code == 200


@override_settings(SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_behind_a_tls_proxy_a_request_it_forwarded_as_https_is_served(client):
    assert client.get("/login/", headers={"X-Forwarded-Proto": "https"}).status_code == 200


# --- Content-Security-Policy ----------------------------------------------------------------------


class InlineCode(HTMLParser):
    """Collects what a strict CSP would block: inline scripts, style elements and attributes, on* handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._script_without_src = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self._script_without_src = True
        if tag == "style":
            self.found.append("<style>")
        self.found += [f"{tag} {name}=" for name in names if name == "style" or name.startswith("on")]

    def handle_data(self, data):
        if self._script_without_src and data.strip():
            self.found.append(f"inline script: {data.strip()[:60]}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._script_without_src = False


def test_the_dashboard_sends_a_strict_content_security_policy_and_has_no_inline_code(
    admin_client, open_trade, make_signal
):
    open_trade()
    make_signal(symbol="ETHUSDT")

    response = admin_client.get("/")

    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    parser = InlineCode()
    parser.feed(response.content.decode())
    assert parser.found == []


def test_the_login_page_has_no_inline_code(client):
    parser = InlineCode()
    parser.feed(client.get("/login/").content.decode())

    assert parser.found == []


# --- Rate limits ----------------------------------------------------------------------------------


def login(client, password: str):
    return client.post("/login/", {"username": "trader", "password": password})


def test_five_failed_logins_lock_the_username_out_even_with_the_right_password(client, trader):
    for _ in range(4):
        assert login(client, "wrong").status_code == 200  # the form again, with its error

    assert login(client, "wrong").status_code == 429  # the fifth failure locks the pair out
    assert login(client, PASSWORD).status_code == 429


def test_a_successful_login_resets_the_count_of_failures(client, trader):
    for _ in range(4):
        login(client, "wrong")
    assert login(client, PASSWORD).status_code == 302
    client.logout()

    for _ in range(4):
        login(client, "wrong")
    assert login(client, PASSWORD).status_code == 302


def test_without_a_proxy_a_forged_x_forwarded_for_does_not_escape_the_lock(client, trader):
    for n in range(5):
        client.post("/login/", {"username": "trader", "password": "wrong"}, headers={"X-Forwarded-For": f"10.0.0.{n}"})

    assert (
        client.post(
            "/login/", {"username": "trader", "password": PASSWORD}, headers={"X-Forwarded-For": "10.0.0.9"}
        ).status_code
        == 429
    )


@override_settings(BEHIND_TLS_PROXY=True)
def test_behind_the_proxy_the_lock_falls_on_the_address_the_proxy_saw(client, trader):
    attacker = {"X-Forwarded-For": "6.6.6.6, 10.0.0.1"}  # the client wrote the first, the proxy appended the last
    for _ in range(5):
        client.post("/login/", {"username": "trader", "password": "wrong"}, headers=attacker)

    assert client.post("/login/", {"username": "trader", "password": PASSWORD}, headers=attacker).status_code == 429
    neighbour = {"X-Forwarded-For": "6.6.6.6, 10.0.0.2"}  # another address behind the same proxy
    assert client.post("/login/", {"username": "trader", "password": PASSWORD}, headers=neighbour).status_code == 302


@pytest.fixture
def three_requests_a_minute(monkeypatch):
    (throttle,) = api.throttle
    monkeypatch.setattr(throttle, "num_requests", 3)
    monkeypatch.setattr(throttle, "duration", 60)


def test_a_token_past_its_rate_limit_gets_429_with_retry_after(api_client, three_requests_a_minute):
    for _ in range(3):
        assert api_client.get("/api/v1/trades/active").status_code == 200

    response = api_client.get("/api/v1/trades/active")

    assert response.status_code == 429
    assert response.json() == {"detail": [{"field": None, "message": "Too many requests."}]}
    assert int(response.headers["Retry-After"]) > 0


def test_each_token_has_its_own_rate_limit(api_client, client, three_requests_a_minute):
    for _ in range(4):
        api_client.get("/api/v1/trades/active")
    _, other = services.api_token_create(name="another bot")

    assert client.get("/api/v1/trades/active", headers={"Authorization": f"Bearer {other}"}).status_code == 200


# --- Nobody in without a login or a token ---------------------------------------------------------

PUBLIC = {
    "login/": "the login page",
    "logout/": "logging out needs no login",
    "healthz": "the load balancer's health check",
    "favicon.ico": "a redirect to the site's icon, a static file",
    "admin/login/": "the admin's login page",
    "admin/logout/": "logging out needs no login",
    "api/v1/<path:rest>": "the API's catch-all: a JSON 404 for a path the API does not have",
    "api/v1/webhooks/tradingview": "TradingView sends no headers: the passphrase in the body is its credential",
}
SAMPLES = {
    "int": "1",
    "day": "2026-11-20",
    "path": "x/y",
    "str": "x",
    "slug": "x",
    "uuid": "00000000-0000-0000-0000-000000000000",
}


def every_url(resolvers=None, prefix=""):
    """(route, a concrete path) for every pattern in the URL conf, the admin's and the API's included."""
    for entry in resolvers if resolvers is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from every_url(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            path = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLES.get(m.group(1) or "str", "x"), route)
            if path.startswith("^"):  # the admin's regex routes
                path = re.sub(r"\(\?P<\w+>[^)]*\)", "1", path).strip("^$").replace("\\", "")
            yield route, "/" + path


def test_every_url_needs_a_login_or_a_token(client):
    open_doors = []
    for route, path in every_url():
        if route in PUBLIC or route.startswith("admin/") and path in ("/admin/login/", "/admin/logout/"):
            continue
        for method in (client.get, client.post):
            response = method(path)
            to_login = response.status_code == 302 and "login" in response.headers["Location"]
            # 415: the API refuses a body that is not JSON before anything else, reading and writing nothing.
            if not (to_login or response.status_code in (401, 403, 404, 405, 415)):
                open_doors.append(f"{method.__name__.upper()} {path} ({route}): {response.status_code}")

    assert open_doors == []


def test_the_walk_covers_the_dashboard_the_admin_and_the_api():
    routes = {route for route, _ in every_url()}

    assert {"", "trades/<int:trade_id>/close/", "api/v1/prices", "api/v1/signals", "healthz"} <= routes
    assert any(route.startswith("admin/ledger/papertrade/") for route in routes)


# --- Guessing: webhook passphrases and bearer tokens -------------------------------------------------------

PASSPHRASE = "the-right-passphrase-24c"
ALERT = {"ticker": "BTCUSDT", "action": "buy", "price": "100", "order_id": "lock-1"}


def alert(client, passphrase: str, address: str):
    return api_post(client, "webhooks/tradingview", ALERT | {"passphrase": passphrase}, REMOTE_ADDR=address)


@pytest.mark.time_machine(NOW, tick=False)
def test_wrong_webhook_passphrases_lock_their_address_out_and_no_other(client, settings):
    settings.TRADINGVIEW_PASSPHRASE = PASSPHRASE
    for _ in range(4):
        assert alert(client, "guess", "10.0.0.66").status_code == 403

    locked = alert(client, "guess", "10.0.0.66")  # the fifth failure locks the address out

    assert locked.status_code == 429
    assert locked.json()["detail"][0] == {
        "field": "passphrase",
        "message": "Too many wrong passphrases from this address; it is locked out for 15 minutes.",
    }
    assert int(locked["Retry-After"]) == 900
    assert alert(client, PASSPHRASE, "10.0.0.66").status_code == 429  # even the right one, from there
    assert alert(client, PASSPHRASE, "10.0.0.7").status_code == 201  # TradingView's own address is not locked
    assert Signal.objects.count() == 1


@pytest.fixture
def three_wrong_tokens_a_minute(monkeypatch):
    monkeypatch.setattr(WRONG_TOKENS, "num_requests", 3)
    monkeypatch.setattr(WRONG_TOKENS, "duration", 60)


def test_wrong_bearer_tokens_are_throttled_per_address_before_any_lookup(
    client, three_wrong_tokens_a_minute, django_assert_num_queries
):
    _, token = services.api_token_create(name="bot")
    for n in range(3):
        assert (
            client.get(
                "/api/v1/trades/active", HTTP_AUTHORIZATION=f"Bearer guess-{n}", REMOTE_ADDR="10.0.0.66"
            ).status_code
            == 401
        )

    with django_assert_num_queries(0):  # no token is looked up for the throttled address
        throttled = client.get("/api/v1/trades/active", HTTP_AUTHORIZATION=f"Bearer {token}", REMOTE_ADDR="10.0.0.66")

    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    assert (
        client.get("/api/v1/trades/active", HTTP_AUTHORIZATION=f"Bearer {token}", REMOTE_ADDR="10.0.0.7").status_code
        == 200
    )


@override_settings(BEHIND_TLS_PROXY=True, TRUSTED_PROXIES=[ip_network("10.0.0.1/32")])
def test_behind_a_named_proxy_a_direct_connection_rotating_x_forwarded_for_is_locked_out_by_its_own_address(
    client, django_user_model
):
    django_user_model.objects.create_user("trader", password="the-right-one")
    for n in range(5):  # straight to gunicorn, not through the proxy at 10.0.0.1
        client.post(
            "/login/",
            {"username": "trader", "password": "wrong"},
            REMOTE_ADDR="10.9.9.9",
            HTTP_X_FORWARDED_FOR=f"1.1.1.{n}",
        )

    direct = {"REMOTE_ADDR": "10.9.9.9", "HTTP_X_FORWARDED_FOR": "1.1.1.99"}
    assert client.post("/login/", {"username": "trader", "password": "the-right-one"}, **direct).status_code == 429
    proxied = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "1.1.1.99"}  # someone else, through the proxy
    assert client.post("/login/", {"username": "trader", "password": "the-right-one"}, **proxied).status_code == 302


@override_settings(BEHIND_TLS_PROXY=True, TRUSTED_PROXIES=[ip_network("10.0.0.1/32")])
def test_behind_a_named_proxy_wrong_tokens_from_a_direct_connection_are_counted_by_its_own_address(
    client, three_wrong_tokens_a_minute
):
    answers = [
        client.get(
            "/api/v1/trades/active",
            HTTP_AUTHORIZATION="Bearer guess",
            REMOTE_ADDR="10.9.9.9",
            HTTP_X_FORWARDED_FOR=f"1.1.1.{n}",
        ).status_code
        for n in range(4)
    ]

    assert answers == [401, 401, 401, 429]


@pytest.mark.parametrize(
    ("binds", "trusted", "refused"),
    [
        (["0.0.0.0:8000"], [], True),
        (["127.0.0.1:8000", "[::]:8000"], [], True),
        (["ledger.internal:8000"], [], True),  # a name may resolve anywhere
        (["0.0.0.0:8000"], [ip_network("10.0.0.1/32")], False),
        (["127.0.0.1:8000", "[::1]:8000", "localhost:8000", "unix:/run/ledger.sock"], [], False),
    ],
)
def test_start_up_refuses_to_trust_x_forwarded_for_from_whoever_reaches_gunicorn(binds, trusted, refused):
    def check():
        refuse_untrusted_forwarding(binds, behind_proxy=True, trusted=trusted)

    if refused:
        with pytest.raises(RuntimeError, match="Set TRUSTED_PROXIES to the proxy's addresses"):
            check()
    else:
        check()
    refuse_untrusted_forwarding(binds, behind_proxy=False, trusted=[])  # without the proxy nothing is trusted


def test_gunicorn_behind_the_proxy_bound_beyond_loopback_without_trusted_proxies_does_not_start():
    env = os.environ | {"DJANGO_SETTINGS_MODULE": "tests.settings", "BEHIND_TLS_PROXY": "1", "TRUSTED_PROXIES": ""}
    command = [sys.executable, "-m", "gunicorn", *ASGI, "--bind", f"0.0.0.0:{free_port()}"]  # as served

    refused = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    assert refused.returncode == 1
    assert "BEHIND_TLS_PROXY=1 with gunicorn listening on 0.0.0.0:" in refused.stderr
    assert "Listening at" not in refused.stderr  # refused before it opened the port


@pytest.mark.django_db(transaction=True)
def test_through_gunicorn_a_direct_client_rotating_x_forwarded_for_is_throttled_by_its_own_address(tmp_path):
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "BEHIND_TLS_PROXY": "1",
        "TRUSTED_PROXIES": "10.0.0.1",  # the proxy is elsewhere: the test's connections come straight in
        "API_AUTH_FAILURE_LIMIT": "3/min",
    }
    with gunicorn(env=env, log_path=tmp_path / "gunicorn.log", workers=1) as server:
        answers = []
        for n in range(4):
            request = urllib.request.Request(
                f"{server.url}/api/v1/trades/active",
                headers={"Authorization": "Bearer guess", "X-Forwarded-For": f"1.1.1.{n}"},
            )
            try:
                urllib.request.urlopen(request, timeout=20)
            except urllib.error.HTTPError as error:
                answers.append(error.code)

    assert answers == [401, 401, 401, 429]


def test_right_tokens_are_never_counted_as_wrong_ones(client, three_wrong_tokens_a_minute):
    _, token = services.api_token_create(name="bot")

    answers = {client.get("/api/v1/trades/active", HTTP_AUTHORIZATION=f"Bearer {token}").status_code for _ in range(5)}

    assert answers == {200}


# --- Headers ----------------------------------------------------------------------------------------------


def test_logged_in_pages_exports_and_api_answers_are_private_and_never_stored(admin_client, api_client):
    for response in (
        admin_client.get("/"),
        admin_client.get("/stats/"),
        admin_client.get("/export/journal.csv", {"period": "all"}),
        admin_client.get("/admin/ledger/papertrade/"),
        api_client.get("/api/v1/trades/active"),
        api_client.get("/api/v1/nowhere"),
    ):
        assert set(response["Cache-Control"].replace(" ", "").split(",")) >= {"private", "no-store"}, response.request[
            "PATH_INFO"
        ]


def test_the_dashboards_live_parts_stay_revalidated_so_a_poll_can_be_304(admin_client):
    response = admin_client.get("/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="summary")

    assert response["Cache-Control"] == "private, no-cache"
    assert response.has_header("ETag")


def test_a_parts_answer_to_htmx_leaves_off_the_documents_headers_that_the_page_keeps(admin_client):
    page = admin_client.get("/")
    part = admin_client.get("/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="summary")

    for header in ("Content-Security-Policy", "Permissions-Policy", "X-Frame-Options", "Cross-Origin-Opener-Policy"):
        assert page.has_header(header), header
        assert not part.has_header(header), header
    assert part["X-Content-Type-Options"] == "nosniff"  # not a document's: every answer keeps it


def test_every_answer_denies_browser_features_the_app_never_uses(client, admin_client):
    for response in (client.get("/login/"), admin_client.get("/"), client.get("/healthz")):
        policy = response["Permissions-Policy"]
        assert "camera=()" in policy
        assert "geolocation=()" in policy
        assert "microphone=()" in policy
        assert "payment=()" in policy
