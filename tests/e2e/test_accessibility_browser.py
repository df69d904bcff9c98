"""Pages are for everyone: every page and every live part, rendered by gunicorn in Chromium, has no serious or
critical axe-core violation (tests/e2e/conftest.py, assert_accessible), and the ledger's own pages no
Content-Security-Policy violation."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ledger import services
from ledger.days import today
from ledger.inputs import Tick

from .conftest import POLL, assert_accessible, assert_no_csp_violation

pytestmark = pytest.mark.django_db(transaction=True)
PARTS = ("#summary", "#active-trades", "#working-orders", "#signals", "#journal")


@pytest.fixture
def a_full_day(open_trade, make_signal, many_trades):
    """Every kind of row the pages show: an open trade, a closed one, a waiting signal, an expired one."""
    now = timezone.now()
    open_trade(timestamp=now, at=now)
    closed = open_trade(symbol="ETHUSDT", timestamp=now, at=now)
    services.trade_close(trade_id=closed.pk, price=Decimal("101"))
    make_signal(symbol="SOLUSDT", timestamp=now)
    services.signal_expire(signal_id=make_signal(symbol="XRPUSDT", timestamp=now).signal_id, reason="Too late.")
    return closed


def test_the_login_page(page, server_url):
    page.goto(f"{server_url}/login/")
    assert_accessible(page)
    assert_no_csp_violation(page)


def test_the_dashboard_and_each_of_its_parts_after_a_poll(logged_in, a_full_day):
    page = logged_in
    page.reload()
    assert_accessible(page)

    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("101"), timezone.now())])
    page.clock.run_for(POLL)
    expect(page.locator("#active-trades .pnl").first).to_have_text("+39.95")  # swapped in by the poll
    for part in PARTS:
        assert_accessible(page, part)
    assert_no_csp_violation(page)


def test_a_past_day_and_the_statistics(logged_in, server_url, a_full_day):
    page = logged_in
    page.goto(f"{server_url}/day/{today() - timedelta(days=1)}/")
    assert_accessible(page)
    page.get_by_role("link", name="Statistics").click()
    expect(page.locator("h1")).to_contain_text("Statistics")
    assert_accessible(page)
    assert_no_csp_violation(page)


def test_the_admin_pages(page, server_url, django_user_model, a_full_day):
    django_user_model.objects.create_superuser("operator", password="pw-for-e2e")
    page.goto(f"{server_url}/admin/login/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "pw-for-e2e")
    page.click("input[type=submit]")
    for path in (
        "/admin/",
        "/admin/ledger/papertrade/",
        "/admin/ledger/signal/",
        "/admin/ledger/apitoken/",
        f"/admin/ledger/papertrade/{a_full_day.pk}/change/",
        f"/admin/ledger/papertrade/{a_full_day.pk}/history/",
    ):
        page.goto(f"{server_url}{path}")
        assert_accessible(page)
