"""Working orders in a real browser: the part shows a working limit order with its distance to fill, axe-core finds
nothing serious in it, a poll swaps in its fill, and its Cancel button cancels another."""

from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ledger import services
from ledger.inputs import Tick
from ledger.models import Order
from tests.helpers import place_order

from .conftest import POLL, assert_accessible, assert_no_csp_violation, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def place(symbol: str, order_type: str = "limit", expires_in=None) -> Order:
    return place_order(f"{order_type}-{symbol}", symbol, order_type, expires_in)


def test_working_orders_show_fill_and_cancel(logged_in):
    page = logged_in
    services.prices_apply(
        ticks=[Tick("BTCUSDT", Decimal("101"), timezone.now()), Tick("ETHUSDT", Decimal("99"), timezone.now())]
    )
    limit, stop = place("BTCUSDT", expires_in=3600), place("ETHUSDT", "stop", "gtc")
    page.reload()
    orders = page.locator("#working-orders")
    expect(orders.locator(f"#order-{limit.pk}")).to_contain_text("0.99%")  # 101 is 1 from 100: 0.99 % of 101
    expect(orders.locator(f"#order-{stop.pk}")).to_contain_text("until cancelled")
    expect(page.locator("#reserved")).to_have_text("4,004.00")  # twice 20 × 100 + 2
    assert_accessible(page, "#working-orders")
    screenshot(page, "dashboard-working-orders")

    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("99.5"), timezone.now())])  # through 100 from 101: at 99.5
    page.clock.run_for(POLL)
    expect(orders.locator(f"#order-{limit.pk}")).to_have_count(0)
    expect(page.locator("#active-trades")).to_contain_text("99.50")

    orders.locator(f"#order-{stop.pk}").get_by_role("button", name=f"Cancel order {stop.pk}").click()
    expect(page.locator("#notice")).to_contain_text(
        "Cancelled the stop order to buy ETHUSDT at 100.00; 2,002.00 is no longer reserved."
    )
    expect(orders).to_contain_text("No working orders")
    assert_accessible(page, "#working-orders")
    assert_no_csp_violation(page)
    screenshot(page, "dashboard-order-cancelled")
    assert Order.objects.get(pk=stop.pk).status == Order.Status.CANCELLED
