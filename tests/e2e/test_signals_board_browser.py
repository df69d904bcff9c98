"""The signals board in a real browser (issue 24): which signals can be taken and why not, said before the click,
on a desktop and on a phone; signals that lapse say why; the button under a resting pointer stays that button; a
refused action says why without an error in the console.

Playwright's clock drives the page's poll timer, so each refresh happens when the test says, not by luck.
"""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ledger import services
from ledger.inputs import Tick

from .conftest import PHONE, POLL, assert_accessible, assert_no_csp_violation, screenshot, trade_now, without_stream
from .test_live_page_browser import NO_SIDEWAYS, WIDE

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_board_says_which_signals_can_be_taken_and_why_not_and_lapsed_ones_say_why(
    logged_in, open_trade, make_signal
):
    page = logged_in
    trade_now(open_trade)  # BTCUSDT is open: one trade a symbol
    now = timezone.now()
    blocked = make_signal(timestamp=now)
    takeable = make_signal(symbol="ETHUSDT", timestamp=now, stop_loss=Decimal("98"), take_profit=Decimal("104"))
    page.set_viewport_size(WIDE)
    page.reload()

    row = page.locator(f"#signal-{takeable.signal_id}")
    expect(row.get_by_role("button", name="Execute")).to_be_visible()
    expect(row.locator(".signal-age")).to_have_text("<1m")
    row = page.locator(f"#signal-{blocked.signal_id}")
    expect(row.get_by_role("button", name="Execute")).to_have_count(0)
    expect(row.locator(".why")).to_have_text(
        "Cannot be taken: a trade on BTCUSDT is open already, and the account takes one trade a symbol."
    )
    expect(row.get_by_role("button", name="Expire")).to_be_visible()
    assert_accessible(page, "#signals")
    screenshot(page, "dashboard-1366")

    page.set_viewport_size(PHONE)
    for signal in (blocked, takeable):  # a phone shows the price and age under the symbol
        expect(page.locator(f"#signal-{signal.signal_id} .phone.meta")).to_have_text("at 100.00 · <1m")
    expect(page.locator(f"#signal-{blocked.signal_id} .why")).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS) == {"page": PHONE["width"], "wide": 0, "cut": []}
    assert_accessible(page, "#signals")
    screenshot(page, "dashboard-390")

    services.prices_apply(ticks=[Tick("ETHUSDT", Decimal("97"), timezone.now())])  # through its own stop, 98
    page.clock.run_for(POLL)

    row = page.locator(f"#signal-{takeable.signal_id}")
    expect(row.locator(".status")).to_have_text("Expired")
    expect(row.locator(".why")).to_have_text("Not executed: price 97 is past the stop 98.")
    assert_no_csp_violation(page)


def test_the_button_under_a_resting_pointer_stays_the_same_when_a_trade_above_closes(
    logged_in, open_trade, make_signal
):
    page = logged_in
    # stops far away: small trades, which leave the cash for the signal (the server has the default account)
    first = trade_now(open_trade, stop_loss=Decimal("50"))
    second = trade_now(open_trade, symbol="ETHUSDT", stop_loss=Decimal("50"))
    signal = make_signal(symbol="SOLUSDT", timestamp=timezone.now())
    page.set_viewport_size(WIDE)
    page.reload()
    button = page.locator(f"#signal-{signal.signal_id}").get_by_role("button", name="Execute")
    button.hover()
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    services.trade_close(trade_id=first.pk)  # the row above goes: the part would shrink by a row
    page.clock.run_for(POLL)
    page.clock.run_for(POLL)
    expect(page.locator(f"#journal-{first.pk}")).to_have_count(1)  # the parts below the pointer have refreshed

    under = page.evaluate(f"document.elementFromPoint({x}, {y}).closest('tr').id")
    assert under == f"signal-{signal.signal_id}"  # the same button under the pointer
    assert button.bounding_box()["y"] == box["y"]
    expect(page.locator("#active-trades")).to_have_class(re.compile(r"\bheld\b.*\babove\b|\babove\b.*\bheld\b"))
    expect(page.locator("#active-trades h2")).to_be_visible()
    expect(page.locator(f"#trade-{first.pk}")).to_have_count(1)  # not refreshed while the pointer rests below

    page.mouse.move(5, 5)  # the pointer leaves: every part catches up
    page.clock.run_for(10)

    expect(page.locator(f"#trade-{first.pk}")).to_have_count(0)
    expect(page.locator(f"#trade-{second.pk}")).to_have_count(1)
    expect(page.locator("#active-trades")).not_to_have_class(re.compile(r"\bheld\b"))


def test_a_refused_action_says_why_in_the_notice_without_a_console_error(logged_in, make_signal):
    page = logged_in
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    signal = make_signal(timestamp=timezone.now())
    without_stream(page)  # the page has not caught up with the expiry below when the trader clicks
    page.reload()
    services.signal_expire(signal_id=signal.signal_id, reason="Dismissed elsewhere.")  # behind the page's back

    page.locator(f"#signal-{signal.signal_id}").get_by_role("button", name="Expire").click()

    expect(page.locator("#notice .notice.error")).to_contain_text(
        f"Signal {signal.signal_id} is expired; only a waiting signal can expire."
    )
    expect(page.locator(f"#signal-{signal.signal_id} .status")).to_have_text("Expired")  # the parts refreshed
    # The stream refused on purpose (without_stream) is logged by the browser and by htmx's SSE extension; nothing else.
    assert [error for error in errors if "ERR_FAILED" not in error and error != "[object Event]"] == []
    assert_no_csp_violation(page)
