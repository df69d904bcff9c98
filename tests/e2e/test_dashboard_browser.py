"""A trader's day in a real browser: log in, watch PnL move, close a trade, execute a signal, look back.

Playwright's clock drives the page's poll timer, so each refresh happens when the test says, not by luck.
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from ledger import services
from ledger.days import day_bounds, today
from ledger.inputs import Tick
from ledger.models import PaperTrade

from .conftest import POLL, assert_accessible, confirm_close, log_in, screenshot, trade_now, without_stream

pytestmark = pytest.mark.django_db(transaction=True)


def test_price_tick_moves_pnl_without_reload_and_close_moves_row_to_journal(logged_in, open_trade):
    page = logged_in
    trade = trade_now(open_trade)
    page.reload()
    row = page.locator(f"#trade-{trade.pk}")
    expect(row.locator(".pnl")).to_have_text("\u221210.00")  # entry and exit fee at 100: 5 + 5

    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("102"), timezone.now())])
    page.clock.run_for(POLL)

    expect(row.locator(".pnl")).to_have_text("+89.90")  # 2*50 - (5 + 5.10)
    screenshot(page, "dashboard-live-trade")

    row.get_by_role("button", name="Close").click()
    confirm_close(page)

    # at the last tick, 102: 2*50 - (5 + 5.10) = 89.90, on 100 risked
    expect(page.locator("#notice")).to_contain_text(
        f"Closed trade #{trade.pk} (LONG BTCUSDT) at 102.00: +89.90 (+0.90R)."
    )
    expect(page.locator(f"#trade-{trade.pk}")).to_have_count(0)
    journal_row = page.locator(f"#journal-{trade.pk}")
    expect(journal_row).to_contain_text("Manual close")
    expect(journal_row.locator(".pnl")).to_have_text("+89.90")
    expect(page.locator("#summary")).to_contain_text("10,089.90")
    screenshot(page, "dashboard-after-close")


def test_a_trade_without_a_recent_price_is_flagged_stale_until_a_tick_comes(logged_in, open_trade):
    page = logged_in
    trade = trade_now(open_trade)  # priced at its signal: no tick for BTCUSDT yet
    page.reload()
    age = page.locator(f"#trade-{trade.pk} .price-age")
    expect(age).to_have_text("stale: no price")
    screenshot(page, "dashboard-stale-price")

    services.prices_apply(
        ticks=[Tick("BTCUSDT", Decimal("101"), timezone.now()), Tick("BTCUSDT", Decimal("99.6"), timezone.now())]
    )
    page.clock.run_for(POLL)

    expect(age).to_have_text("0s")
    services.trade_close(trade_id=trade.pk)
    page.clock.run_for(POLL)
    # MFE (101 - 100) * 50 = 50 = 0.5R; MAE (99.6 - 100) * 50 = -20 = -0.2R
    expect(page.locator(f"#journal-{trade.pk} .mfe")).to_have_text("+50.00 · +0.50R")
    expect(page.locator(f"#journal-{trade.pk} .mae")).to_have_text("\u221220.00 · \u22120.20R")
    screenshot(page, "dashboard-journal-excursions")


def test_closing_a_trade_that_a_tick_just_closed_shows_why(logged_in, open_trade):
    page = logged_in
    trade = trade_now(open_trade)
    without_stream(page)  # the page has not caught up with the tick below when the trader clicks
    page.reload()
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("97"), timezone.now())])  # through the stop at 98

    page.locator(f"#trade-{trade.pk}").get_by_role("button", name="Close").click()

    dialog = page.get_by_role("dialog")
    refusal = dialog.locator("#confirm-refusal")
    expect(refusal).to_contain_text(f"Trade #{trade.pk} is closed already (Stop loss at 97.00")
    expect(dialog.get_by_role("button", name="Confirm: close")).to_have_count(0)
    expect(page.locator(f"#journal-{trade.pk}")).to_contain_text("Stop loss")  # the parts refreshed behind it
    assert PaperTrade.objects.get(pk=trade.pk).exit_price == Decimal("97")
    screenshot(page, "dashboard-failed-close")


def test_execute_confirms_with_the_fill_size_risk_and_age_then_opens_the_trade(logged_in, make_signal):
    page = logged_in
    sent = max(timezone.now() - timedelta(seconds=30), day_bounds(today())[0])  # of today, even just after midnight
    signal = make_signal(symbol="ETHUSDT", entry_price=Decimal("3000"), timestamp=sent)
    page.reload()

    execute = page.locator(f"#signal-{signal.signal_id}").get_by_role("button", name="Execute")
    dialog = page.get_by_role("dialog")
    execute.click()
    dialog.get_by_role("button", name="Cancel").click()  # Cancel leaves it waiting, focus back on its button
    expect(dialog).to_be_hidden()
    expect(execute).to_be_focused()

    execute.click()

    expect(dialog).to_be_visible()
    # No tick for ETHUSDT: the fill is the signal's 3000 (slippage off in the tests). The default stop is 2% below,
    # 2940, so 1% of 10,000 = 100 at risk over 60 a unit is 1.66666666 units (rounded down), 5,000.00 notional.
    expect(dialog.locator("#confirm-fill")).to_have_text("3,000.00")
    expect(dialog.locator("#confirm-size")).to_have_text("1.66666666")
    expect(dialog.locator("#confirm-risk")).to_have_text("100.00")
    expect(dialog).to_contain_text("1.00% of the balance, to the stop 2,940.00")
    expect(dialog.locator("#confirm-age")).to_contain_text(f"sent {sent.astimezone(settings.TRADING_DAY_TZ):%H:%M:%S}")
    expect(dialog.locator("#confirm-age")).to_have_text(re.compile(r"sent \d\d:\d\d:\d\d: \d+s ago, at 3,000.00"))
    assert not PaperTrade.objects.exists()  # nothing happens before the confirmation
    screenshot(page, "dashboard-execute-confirm")
    dialog.get_by_role("button", name="Confirm: execute").click()

    expect(dialog).to_be_hidden()
    expect(page.locator("#notice")).to_contain_text(
        "LONG 1.66666666 ETHUSDT at 3,000.00, stop 2,940.00, target 3,120.00, risking 100.00."
    )
    trade = PaperTrade.objects.get(signal=signal)
    expect(page.locator("#notice")).to_contain_text(f"Opened trade #{trade.pk}:")
    expect(page.locator(f"#signal-{signal.signal_id}")).to_contain_text("Executed")
    expect(page.locator("#signals h2")).to_be_focused()  # its button is gone, and no other signal waits
    expect(page.locator(f"#trade-{trade.pk}")).to_contain_text("ETHUSDT")
    expect(page.locator("#summary .stat").nth(4)).to_contain_text("1")  # open trades


def test_previous_day_link_shows_yesterdays_journal(logged_in, server_url, open_trade):
    page = logged_in
    yesterday = today() - timedelta(days=1)
    noon = day_bounds(yesterday)[0] + timedelta(hours=12)
    trade = open_trade(timestamp=noon, at=noon)
    services.trade_close(trade_id=trade.pk, price=Decimal("103"), at=noon + timedelta(minutes=30))

    page.locator("a[rel=prev]").click()

    expect(page).to_have_url(f"{server_url}/day/{yesterday}/")
    expect(page.locator(f"#journal-{trade.pk} .pnl")).to_have_text("+139.85")  # 3*50 - (5 + 5.15)
    expect(page.locator("#active-trades")).to_contain_text("Trades open now are on today's page")
    screenshot(page, "dashboard-yesterday")


def test_a_read_only_person_sees_the_ledger_without_its_buttons(
    browser, server_url, readonly_staff, open_trade, make_signal, one_trading_day
):
    trade = trade_now(open_trade)
    make_signal(symbol="ETHUSDT", timestamp=timezone.now())
    page = browser.new_page()
    page.goto(f"{server_url}/login/")
    log_in(page, "readonly-staff")

    expect(page.locator(f"#trade-{trade.pk}")).to_be_visible()
    expect(page.locator("#signals tbody tr")).to_have_count(2)
    expect(page.get_by_role("button", name="Close")).to_have_count(0)
    expect(page.get_by_role("button", name="Execute")).to_have_count(0)
    screenshot(page, "dashboard-read-only")
    page.close()


def test_a_liquidated_short_s_deficit_is_said_beside_cash(logged_in, open_trade):
    page = logged_in
    trade = trade_now(open_trade, action="SELL", stop_loss=Decimal("102"))  # SHORT 50 at 100
    page.reload()

    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("1000"), timezone.now())])  # a gap far past 199.5
    page.clock.run_for(POLL)

    expect(page.locator("#cash")).to_have_text("-35,055.00")  # 10000 - 900 * 50 - (5 + 50) fees
    expect(page.locator("#cash")).to_have_class(re.compile(r"\bloss\b"))
    expect(page.locator("#deficit")).to_contain_text("35,055.00")
    expect(page.locator("#deficit")).to_contain_text("no new entry until cash is positive again")
    expect(page.locator(f"#journal-{trade.pk}")).to_contain_text("Liquidation")
    assert_accessible(page, "#summary")
    screenshot(page, "dashboard-deficit")
