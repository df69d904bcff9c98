"""What the trader acts on is live (issue 26, item 3), in a real browser: a trade page whose trade a tick closes turns
its badge to the exit and loses Move and Close without a reload; Close's and Execute's confirmations show the fill
now and what it would realize, follow the price while open, and are refused with the new fill past the deviation
the trader accepts (PAPER_MAX_DEVIATION, 0.5%). Slippage is off in the tests: a fill without a bid or ask is the
price itself."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ledger import services
from ledger.inputs import Tick
from ledger.models import PaperTrade, Signal

from .conftest import POLL, assert_accessible, assert_no_csp_violation, screenshot, trade_now, without_stream

pytestmark = pytest.mark.django_db(transaction=True)


def tick(price: str, symbol: str = "BTCUSDT") -> None:
    services.prices_apply(ticks=[Tick(symbol, Decimal(price), timezone.now())])


def test_a_trade_closed_by_a_tick_turns_its_page_s_badge_to_the_exit_and_removes_move_and_close(
    logged_in, server_url, open_trade
):
    page = logged_in
    trade = trade_now(open_trade)  # LONG 50 BTCUSDT at 100, stop 98, target 104
    page.goto(f"{server_url}/trades/{trade.pk}/")
    expect(page.locator("#trade-status")).to_have_text("Open")
    expect(page.get_by_role("button", name="Move")).to_be_visible()
    expect(page.get_by_role("button", name="Close")).to_be_visible()

    tick("104.5")  # through the target: a limit order, filled at 104
    page.clock.run_for(POLL)

    expect(page.locator("#trade-status")).to_have_text("Take profit")
    expect(page.get_by_role("button", name="Move")).to_have_count(0)
    expect(page.get_by_role("button", name="Close")).to_have_count(0)
    expect(page.locator("#levels")).to_have_count(0)
    expect(page.locator("#facts")).to_contain_text("Take profit")
    expect(page.locator("#trade-pnl")).to_have_text("+189.80")  # 4 * 50 - (5 + 5.20)
    page.reload()  # what was drawn without a reload is what the page says
    expect(page.locator("#trade-status")).to_have_text("Take profit")
    expect(page.get_by_role("button", name="Move")).to_have_count(0)
    assert_accessible(page)
    assert_no_csp_violation(page)
    screenshot(page, "trade-closed-by-a-tick")


def test_close_confirmation_follows_the_price_while_open_and_closes_at_the_fill_shown(
    logged_in, server_url, open_trade
):
    page = logged_in
    trade = trade_now(open_trade)
    tick("102")
    page.goto(f"{server_url}/trades/{trade.pk}/")
    page.locator("#facts").get_by_role("button", name="Close").click()

    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#confirm-fill")).to_have_text("102.00")
    expect(dialog.locator("#confirm-pnl")).to_have_text("+89.90")  # 2 * 50 - (5 + 5.10)
    expect(dialog.get_by_role("button", name="Confirm: close")).to_be_focused()
    assert_accessible(page, "#confirm")
    screenshot(page, "trade-close-confirm")

    tick("102.3")  # within 0.5% of 102: the dialog follows it
    page.clock.run_for(POLL)

    expect(dialog.locator("#confirm-fill")).to_have_text("102.30")
    expect(dialog.locator("#confirm-pnl")).to_have_text("+104.88")  # 2.3 * 50 - (5 + 5.115) = 104.885, half-even
    expect(dialog.locator("input[name=expected_price]")).to_have_value("102.3")
    expect(dialog.get_by_role("button", name="Confirm: close")).to_be_focused()  # the refresh kept the focus
    assert PaperTrade.objects.get(pk=trade.pk).is_open
    dialog.get_by_role("button", name="Confirm: close").click()

    expect(dialog).to_be_hidden()
    expect(page.locator("#notice")).to_contain_text(f"Closed trade #{trade.pk} (LONG BTCUSDT) at 102.30: +104.88")
    expect(page.locator("body")).not_to_have_attribute("sse-connect", re.compile(".*"))  # the close's event came
    expect(page.locator("#notice")).to_contain_text("Closed trade")  # and the page was not drawn again under it
    expect(page.locator("#chart-legend")).to_contain_text("exit price")  # the parts that follow the close did
    expect(page.locator("#executions tbody tr")).to_have_count(2)
    expect(page.locator("#trade-status")).to_have_text("Manual close")
    expect(page.get_by_role("button", name="Move")).to_have_count(0)
    assert PaperTrade.objects.get(pk=trade.pk).exit_price == Decimal("102.3")
    assert_no_csp_violation(page)


def test_close_past_the_deviation_is_refused_in_the_dialog_with_the_new_fill(logged_in, open_trade):
    page = logged_in
    trade = trade_now(open_trade)
    tick("102")
    without_stream(page)  # the dialog follows the polls the test makes, so the price can move unseen before a click
    page.reload()
    page.locator(f"#trade-{trade.pk}").get_by_role("button", name="Close").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("#confirm-fill")).to_have_text("102.00")

    tick("101")  # -1 / 102 = -0.98%, and no poll comes before the click
    dialog.get_by_role("button", name="Confirm: close").click()

    expect(dialog).to_be_visible()  # open again, saying why, with the fill now
    expect(dialog.locator("#confirm-notice")).to_have_text(
        "The fill moved from 102 to 101 (-0.98%), more than the 0.5% you accept; nothing was done. "
        "Confirm again at 101 if it still suits you."
    )
    expect(dialog.locator("#confirm-fill")).to_have_text("101.00")
    expect(dialog.locator("#confirm-pnl")).to_have_text("+39.95")  # 50 - (5 + 5.05)
    assert PaperTrade.objects.get(pk=trade.pk).is_open
    assert_accessible(page, "#confirm")
    screenshot(page, "dashboard-close-price-moved")
    page.clock.run_for(POLL)  # a refresh keeps the reason above the numbers
    expect(dialog.locator("#confirm-notice")).to_be_visible()

    dialog.get_by_role("button", name="Confirm: close").click()

    expect(page.locator("#notice")).to_contain_text(f"Closed trade #{trade.pk} (LONG BTCUSDT) at 101.00: +39.95")
    assert PaperTrade.objects.get(pk=trade.pk).exit_price == Decimal("101")


def test_execute_confirmation_follows_the_price_and_is_refused_with_the_new_fill_past_the_deviation(
    logged_in, make_signal
):
    page = logged_in
    signal = make_signal(symbol="ETHUSDT", entry_price=Decimal("3000"), timestamp=timezone.now())
    tick("3000", "ETHUSDT")
    without_stream(page)  # the dialog follows the polls the test makes, so the price can move unseen before a click
    page.reload()
    page.locator(f"#signal-{signal.signal_id}").get_by_role("button", name="Execute").click()
    dialog = page.get_by_role("dialog")
    # 1% of 10,000 = 100 at risk over a 2% stop: 100 / 60 = 1.66666666 at 3000
    expect(dialog.locator("#confirm-fill")).to_have_text("3,000.00")
    expect(dialog.locator("#confirm-size")).to_have_text("1.66666666")

    tick("3010", "ETHUSDT")  # +0.33%: the dialog follows it; stop 2949.8, 100 / 60.2 = 1.66112956
    page.clock.run_for(POLL)

    expect(dialog.locator("#confirm-fill")).to_have_text("3,010.00")
    expect(dialog.locator("#confirm-size")).to_have_text("1.66112956")
    assert_accessible(page, "#confirm")

    tick("3030", "ETHUSDT")  # +20 / 3010 = +0.66%, and no poll before the click
    dialog.get_by_role("button", name="Confirm: execute").click()

    expect(dialog.locator("#confirm-notice")).to_contain_text(
        "The fill moved from 3010 to 3030 (+0.66%), more than the 0.5% you accept; nothing was done."
    )
    expect(dialog.locator("#confirm-fill")).to_have_text("3,030.00")
    expect(dialog.locator("#confirm-size")).to_have_text("1.65016501")  # 100 / 60.6
    assert not PaperTrade.objects.exists()
    assert Signal.objects.get(pk=signal.pk).status == Signal.Status.GENERATED
    assert_accessible(page, "#confirm")
    screenshot(page, "dashboard-execute-price-moved")

    dialog.get_by_role("button", name="Confirm: execute").click()

    expect(page.locator("#notice")).to_contain_text("LONG 1.65016501 ETHUSDT at 3,030.00")
    assert PaperTrade.objects.get().entry_price == Decimal("3030")
    assert_no_csp_violation(page)
