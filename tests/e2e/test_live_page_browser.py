"""A live page that holds up all day (issue 18): a login that ends while the tab polls, focus and the pointer kept
across polls, bounded parts, a past day's own figures, phones, notices, and no console error or CSP refusal.

Playwright's clock drives the page's poll timer, so each refresh happens when the test says, not by luck.
"""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ledger import services
from ledger.inputs import Tick
from ledger.models import PaperTrade

from .conftest import POLL, assert_accessible, assert_no_csp_violation, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def trade_now(open_trade, **fields) -> PaperTrade:
    now = timezone.now()
    return open_trade(timestamp=now, at=now, **fields)


def log_in(page) -> None:
    page.fill("#id_username", "trader")
    page.fill("#id_password", "pw-for-tests")
    page.click("button[type=submit]")


def test_a_tab_whose_login_ended_goes_to_the_login_page_and_comes_back(logged_in, server_url, open_trade):
    page = logged_in
    trade = trade_now(open_trade)
    page.goto(f"{server_url}/trades/{trade.pk}/")  # an open trade's page polls its figures
    page.context.clear_cookies()  # the session is gone, as after it expires or a log-out in another tab

    page.clock.run_for(POLL)

    expect(page).to_have_url(f"{server_url}/login/?next=/trades/{trade.pk}/")
    expect(page.locator("form")).to_have_count(1)  # the login page itself, no form inside a part
    log_in(page)
    expect(page).to_have_url(f"{server_url}/trades/{trade.pk}/")

    page.goto(f"{server_url}/")
    page.context.clear_cookies()
    page.locator(f"#trade-{trade.pk}").get_by_role("button", name="Close").click()  # an action, not a poll

    expect(page).to_have_url(f"{server_url}/login/?next=/")
    expect(page.locator("#summary")).to_have_count(0)
    assert PaperTrade.objects.get(pk=trade.pk).status == PaperTrade.Status.OPEN
    assert_no_csp_violation(page)
