"""The Content-Security-Policy in a real browser: the pages work under it and it reports no violation."""

from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ledger import services
from ledger.inputs import Tick

from .conftest import POLL, assert_no_csp_violation, confirm_close

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_dashboard_works_under_its_csp_with_no_violation(logged_in, open_trade):
    page = logged_in
    now = timezone.now()
    trade = open_trade(timestamp=now, at=now)  # an earlier signal could belong to yesterday just after midnight
    console = []
    page.on("console", lambda message: console.append(message.text))

    page.reload()
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("102"), timezone.now())])
    page.clock.run_for(POLL)  # a poll: htmx (from static/) swaps the parts in
    expect(page.locator(f"#trade-{trade.pk} .pnl")).to_have_text("+89.90")  # 2*50 - (5 + 5.10)
    page.locator(f"#trade-{trade.pk}").get_by_role("button", name="Close").click()
    confirm_close(page)
    expect(page.locator("#notice")).to_contain_text(f"Closed trade #{trade.pk}")

    assert_no_csp_violation(page)
    assert [text for text in console if "Content Security Policy" in text] == []
