"""`make bench`'s floors (bench/views.py) render what the pages they stand for render, from rows held in memory.

A floor that no longer matches its view (a renamed helper, a new argument) answers an error page in a
millisecond, and every ratio against it reads as a regression; these tests catch that where CI runs.
"""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from bench import views as floors
from ledger import services

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def bench_client(client, trader, settings, open_trade, many_trades):
    """A logged-in client on the benchmark's URLs, a trade open and one closed today, frozen at NOW."""
    settings.ROOT_URLCONF = "bench.urls"
    floors._rows_in_memory.cache_clear()
    floors._page_in_memory.cache_clear()
    with time_machine.travel(NOW, tick=False):
        held = open_trade(timestamp=NOW - timedelta(hours=1))
        closed = open_trade(symbol="ETHUSDT", timestamp=NOW - timedelta(hours=1))
        services.trade_close(trade_id=closed.pk, price=Decimal("103"))
        client.force_login(trader)
        yield client, held, closed


def same_page(real: bytes, floor: bytes) -> None:
    """The two answers alike but for the address a part polls (its own URL) and the CSRF token, masked anew
    for each answer."""
    alike = [re.sub(r'hx-get="[^"]*"|[A-Za-z0-9]{64}', "", body.decode()) for body in (real, floor)]
    assert alike[0] == alike[1]


@pytest.mark.parametrize("part", ["summary", "active-trades", "signals", "journal"])
def test_a_dashboard_part_and_its_floor_render_the_same(bench_client, part):
    client, _, _ = bench_client
    real = client.get("/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET=part)
    floor = client.get(f"/bench/memory/{part}/")

    assert (real.status_code, floor.status_code) == (200, 200)
    assert f'id="{part}"' in real.content.decode()
    same_page(real.content, floor.content)


def test_the_journal_pages_and_their_floors_render_the_same(bench_client):
    client, held, closed = bench_client
    for real, floor in [
        (f"/trades/{held.pk}/", f"/bench/memory/trade/{held.pk}/"),
        (f"/trades/{closed.pk}/chart.json", f"/bench/memory/trade-chart/{closed.pk}/"),
        (f"/journal/?after={held.pk}", f"/bench/memory/history/{held.pk}/"),
    ]:
        real, floor = client.get(real), client.get(floor)
        assert (real.status_code, floor.status_code) == (200, 200)
        same_page(real.content, floor.content)
