"""Browser notifications (static/ledger/notify.js): opt-in on today's dashboard, then a notification for each fill
and each exit a refresh brings, and none for what was on the page before."""

from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ledger import services
from ledger.inputs import Tick

from .conftest import PHONE, POLL, assert_accessible, assert_no_csp_violation, screenshot, trade_now

pytestmark = pytest.mark.django_db(transaction=True)

# The browser's own Notification, kept, with each one shown also recorded for the test to read.
RECORD_NOTIFICATIONS = """
window.shown = [];
if (window.Notification) {
  const Real = window.Notification;
  window.Notification = class extends Real {
    constructor(title, options) {
      super(title, options);
      window.shown.push([title, options.body]);
    }
  };
}
"""


@pytest.fixture
def notifying(logged_in, server_url):
    page = logged_in
    page.context.grant_permissions(["notifications"], origin=server_url)
    page.context.add_init_script(RECORD_NOTIFICATIONS)
    return page


def test_after_opting_in_a_fill_and_an_exit_each_raise_one_notification_and_earlier_trades_none(
    notifying, open_trade, many_trades
):
    page = notifying
    earlier = trade_now(open_trade, symbol="ETHUSDT")
    page.reload()
    toggle = page.locator("#browser-notify")
    expect(toggle).to_have_text("Notify me of fills and exits")

    toggle.click()

    expect(toggle).to_have_text("Notifying fills and exits")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    trade = trade_now(open_trade)  # LONG 50 BTCUSDT at 100, target 104
    page.clock.run_for(POLL)
    expect(page.locator(f"#trade-{trade.pk}")).to_have_count(1)
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("104"), timezone.now())])
    page.clock.run_for(POLL)
    expect(page.locator(f"#journal-{trade.pk}")).to_have_count(1)

    # Closed at the target: (104 - 100) * 50 - (5 + 5.2) fees = +189.80
    # Read from here, not page.wait_for_function: its polling evaluates a string, which the page's CSP forbids.
    for _ in range(100):
        if page.evaluate("window.shown.length") >= 2:
            break
        page.wait_for_timeout(50)
    assert page.evaluate("window.shown") == [
        [f"Filled: LONG #{trade.pk} BTCUSDT", "Entry 100.00"],
        [f"Take profit: LONG #{trade.pk} BTCUSDT +189.80", "Exit 104.00"],
    ]
    assert f"#{earlier.pk} " not in str(page.evaluate("window.shown"))
    screenshot(page, "dashboard-notifications-on")
    assert_accessible(page, ".day-nav")
    assert_no_csp_violation(page)


def test_without_opting_in_nothing_is_shown_and_the_choice_outlasts_a_reload(notifying, open_trade):
    page = notifying
    page.reload()
    trade_now(open_trade)
    page.clock.run_for(POLL)
    expect(page.locator("#active-trades tbody tr")).to_have_count(1)
    assert page.evaluate("window.shown") == []

    page.locator("#browser-notify").click()
    page.reload()
    expect(page.locator("#browser-notify")).to_have_attribute("aria-pressed", "true")
    page.set_viewport_size(PHONE)
    screenshot(page, "dashboard-notify-toggle-phone")
    page.locator("#browser-notify").click()  # and off again
    expect(page.locator("#browser-notify")).to_have_text("Notify me of fills and exits")
    expect(page.locator("#browser-notify")).to_have_attribute("aria-pressed", "false")
