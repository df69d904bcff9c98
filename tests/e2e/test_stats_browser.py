"""The statistics page in a real browser: the charts draw, nothing breaks the Content-Security-Policy, and a
calendar day opens that day's dashboard."""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from ledger.days import today
from ledger.models import PaperTrade
from tests.conftest import closed_trade_row
from tests.helpers import saved_closed

from .conftest import assert_accessible, log_in, screenshot

pytestmark = pytest.mark.django_db(transaction=True)
PNLS = ["120", "-45.5", "80", "0", "-130", "60", "210", "-20", "-75", "140", "35", "-60", "90", "15"]


@pytest.fixture
def month_of_closes(one_trading_day):
    """Two closes a day over the last four weeks, cycling through PNLS, a few days without any."""
    first = today() - timedelta(days=27)
    rows = []
    for n in range(28):
        if n % 6 == 5:
            continue
        noon = datetime.combine(first + timedelta(days=n), time(12), tzinfo=UTC)
        for k, symbol in enumerate(["BTCUSDT", "ETHUSDT"]):
            direction = PaperTrade.Direction.LONG if (n + k) % 3 else PaperTrade.Direction.SHORT
            rows.append(
                closed_trade_row(
                    exit_time=noon + timedelta(hours=k),
                    realized_pnl=Decimal(PNLS[(n + k) % len(PNLS)]),
                    symbol=symbol,
                    direction=direction,
                    fees=Decimal("1.2"),
                )
            )
    saved_closed(rows)


def test_statistics_page_draws_its_charts_and_a_calendar_day_opens_the_dashboard(
    page, server_url, viewer, month_of_closes
):
    refused = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.goto(f"{server_url}/login/?next=/stats/")
    log_in(page, "viewer")

    expect(page.locator("h1")).to_have_text("Statistics")
    page.get_by_role("link", name="Last 30 days").click()
    expect(page.locator("#equity polyline.equity")).to_be_visible()
    expect(page.locator("#daily-pnl rect.bar")).to_have_count(30)
    assert page.locator("#equity svg").bounding_box()["width"] > 300  # the chart fills its card
    screenshot(page, "stats-30-days")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # a phone: nothing wider than the screen
    screenshot(page, "stats-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    day = today()  # in the calendar whatever the date
    page.locator(f'#calendar a[href="/day/{day}/"]').click()

    expect(page.locator("h1")).to_contain_text(f"{day:%a} {day.day} {day:%b %Y}")
    assert refused == []


def test_past_the_fifty_largest_tags_the_rest_are_one_row(page, server_url, viewer, one_trading_day):
    at = datetime.combine(today(), time(0, 30), tzinfo=UTC)
    saved_closed(
        closed_trade_row(exit_time=at, realized_pnl=Decimal(1), tags=[f"setup {n:02d}"] + (["A+"] if n < 3 else []))
        for n in range(60)
    )
    page.goto(f"{server_url}/login/?next=/stats/%3Fperiod%3Dall")
    log_in(page, "viewer")

    rows = page.locator("#by-tag tbody tr")
    expect(rows).to_have_count(51)  # A+ (3 trades) and 49 more of one each, the other 11 in one row, no untagged
    expect(rows.nth(50).locator("th")).to_have_text("11 others, added up")
    expect(rows.nth(50).locator("td").first).to_have_text("11")
    rows.nth(50).scroll_into_view_if_needed()
    screenshot(page, "stats-tags-gathered")
    assert_accessible(page)
