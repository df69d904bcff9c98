"""A bad setting stops start-up with a sentence naming the variable."""

import os
import subprocess
import sys

import pytest


def start_with(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        capture_output=True,
        text=True,
        env=clean | {"DJANGO_SETTINGS_MODULE": "tradingsite.settings", "SECRET_KEY": "x"} | env,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PAPER_RISK_PER_TRADE", "lots"),
        ("PAPER_RISK_PER_TRADE", "1.5"),
        ("PAPER_STARTING_BALANCE", "-100"),
        ("PAPER_DEFAULT_STOP_PCT", "NaN"),
        ("PAPER_REWARD_RISK", "0"),
        ("PAPER_FEE_RATE", "-0.001"),
        ("PAPER_MIN_RISK_FRACTION", "2"),
        ("PAPER_LOT_STEP", "0"),
        ("PAPER_SHORT_MARGIN", "0"),
        ("PAPER_MAINTENANCE_MARGIN", "1"),
        ("TRADING_DAY_TZ", "Mars/Olympus"),
        ("DEBUG", "maybe"),
        ("LOG_LEVEL", "loud"),
        ("DATABASE_URL", "nosuchdb://x"),
        ("PRICE_FEED_EXCHANGE_CONFIG", "{urls"),
        ("PRICE_FEED_EXCHANGE_CONFIG", '["not", "an object"]'),
        ("PAPER_MAX_JUMP", "-0.1"),
        ("PAPER_NOTIFY_KINDS", "fills,parties"),
        ("PAPER_NOTIFY_RATE", "lots"),
    ],
)
def test_bad_value_stops_start_up_naming_the_variable(name, value):
    done = start_with(**{name: value})

    assert done.returncode != 0
    assert f"ImproperlyConfigured: {name}" in done.stderr


def test_a_maintenance_margin_at_or_above_the_short_margin_stops_start_up():
    done = start_with(PAPER_SHORT_MARGIN="0.1", PAPER_MAINTENANCE_MARGIN="0.1")

    assert done.returncode != 0
    assert "PAPER_MAINTENANCE_MARGIN (0.1) must be below PAPER_SHORT_MARGIN (0.1)" in done.stderr


def test_secret_key_is_required_when_debug_is_off():
    done = start_with(SECRET_KEY="", DEBUG="0")

    assert done.returncode != 0
    assert "SECRET_KEY must be set" in done.stderr


def test_good_values_start():
    done = start_with(
        PAPER_RISK_PER_TRADE="0.02",
        TRADING_DAY_TZ="Europe/Berlin",
        PAPER_FEE_RATE="0",
        PAPER_MAX_JUMP="0",
        PRICE_FEED_EXCHANGE_CONFIG='{"urls": {"api": {"public": "http://127.0.0.1:9000/api/v3"}}}',
    )

    assert done.returncode == 0, done.stderr


def test_a_refused_request_is_logged_once_even_with_debug_on():
    """`make run` (DEBUG=1) printed "Conflict: /signals/…/execute/" twice: Django's console handler and the root's."""
    logs = "import django, logging; django.setup(); logging.getLogger('django.request').warning('Conflict: /x')"
    clean = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done = subprocess.run(
        [sys.executable, "-c", logs],
        capture_output=True,
        text=True,
        env=clean | {"DJANGO_SETTINGS_MODULE": "tradingsite.settings", "DEBUG": "1"},
    )

    assert done.stderr.count("Conflict: /x") == 1, done.stderr
