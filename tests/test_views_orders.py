"""The dashboard's working-orders part and its Cancel button, through Django's test client."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from ledger import services
from ledger.inputs import Tick
from ledger.models import Order, Signal

from .conftest import NOW
from .helpers import HTMX, place_order

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]


@pytest.fixture
def order(time_machine) -> Order:
    """A BUY limit at 100 placed two minutes ago with the market at 101, working for an hour."""
    time_machine.move_to(NOW - timedelta(minutes=2), tick=False)
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("101"), NOW - timedelta(minutes=2))])
    placed = place_order("limit-1", expires_in=3600)
    time_machine.move_to(NOW, tick=False)
    return placed


def part(client: Client):
    return client.get(reverse("dashboard"), HTTP_HX_TARGET="working-orders", **HTMX)


def test_the_part_shows_distance_to_fill_age_expiry_and_reservation(trader_client, order):
    html = part(trader_client).content.decode()
    row = html[html.index(f'id="order-{order.pk}"') :]
    assert "Limit BTCUSDT" in row
    # the market at 101 is 1 from 100: 0.99 % of 101
    assert '<td class="num">0.99%</td>' in row
    assert '<td class="num opt">2m</td>' in row  # placed two minutes ago
    assert '<time datetime="2026-11-25T12:58:00+00:00">25 Nov 12:58:00</time>' in row
    assert '<td class="num opt">2,002.00</td>' in row  # 20 × 100 + the 2 fee
    assert reverse("order-cancel", args=[order.pk]) in row


def test_the_summary_says_what_working_orders_reserve(trader_client, order):
    html = trader_client.get(reverse("dashboard"), HTTP_HX_TARGET="summary", **HTMX).content.decode()
    assert '<span class="num" id="reserved">2,002.00</span> reserved by working orders' in html


def section_triggers(html: str) -> str:
    return html.split('id="working-orders"', 1)[1].split('hx-trigger="', 1)[1].split('"', 1)[0]


def test_the_part_hears_prices_while_an_order_works(trader_client, order):
    assert "sse:prices.applied" in section_triggers(part(trader_client).content.decode())  # its distance to fill


def test_the_part_with_no_order_does_not_hear_prices(trader_client):
    triggers = section_triggers(part(trader_client).content.decode())
    assert "sse:prices.applied" not in triggers  # a batch of prices cannot change an empty part
    assert "sse:order.placed" in triggers


def test_the_part_says_when_nothing_works(trader_client):
    assert "No working orders" in part(trader_client).content.decode()


def test_a_viewer_sees_the_orders_without_a_cancel_button(viewer_client, order):
    html = part(viewer_client).content.decode()
    assert f'id="order-{order.pk}"' in html
    assert reverse("order-cancel", args=[order.pk]) not in html


def test_cancel_button_cancels_the_order_and_tells_the_page(trader_client, trader, order):
    response = trader_client.post(reverse("order-cancel", args=[order.pk]), **HTMX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "ledgerChanged"
    assert "Cancelled the limit order to buy BTCUSDT at 100.00; 2,002.00 is no longer reserved." in (
        response.content.decode()
    )
    order.refresh_from_db()
    assert (order.status, order.reason) == (Order.Status.CANCELLED, f"Cancelled by {trader.username}.")
    assert Signal.objects.get(signal_id="limit-1").status == Signal.Status.EXPIRED


def test_cancelling_an_order_already_ended_says_so_and_409_to_a_plain_post(trader_client, order):
    services.order_cancel(order_id=order.pk)
    response = trader_client.post(reverse("order-cancel", args=[order.pk]), **HTMX)
    plain = trader_client.post(reverse("order-cancel", args=[order.pk]))
    assert response.status_code == 200
    assert "is cancelled; only a working order can be cancelled" in response.content.decode()
    assert 'class="notice error"' in response.content.decode()
    assert plain.status_code == 409


def test_a_viewer_may_not_cancel(viewer_client, order):
    response = viewer_client.post(reverse("order-cancel", args=[order.pk]))
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == Order.Status.WORKING


def test_the_signals_part_points_a_waiting_signal_to_its_order_instead_of_execute(trader_client, order):
    html = trader_client.get(reverse("dashboard"), HTTP_HX_TARGET="signals", **HTMX).content.decode()
    assert "Cannot be taken: its limit order is working (see Working orders)." in html
    assert reverse("signal-execute", args=["limit-1"]) not in html
