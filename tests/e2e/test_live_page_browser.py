"""A live page that holds up all day (issue 18): a login that ends while the tab polls, focus and the pointer kept
across polls, bounded parts, a past day's own figures, phones, notices, and no console error or CSP refusal.

Playwright's clock drives the page's poll timer, so each refresh happens when the test says, not by luck.
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ledger import services
from ledger.days import day_bounds, today
from ledger.inputs import Tick
from ledger.models import PaperTrade
from tests.conftest import closed_trade_row

from .conftest import (
    AXE,
    PHONE,
    POLL,
    RECORD_VIOLATIONS,
    assert_accessible,
    assert_no_csp_violation,
    confirm_close,
    log_in,
    screenshot,
    trade_now,
    without_stream,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_tab_whose_login_ended_goes_to_the_login_page_and_comes_back(logged_in, server_url, open_trade):
    page = logged_in
    trade = trade_now(open_trade)
    without_stream(page)  # the poll meets the ended login (the stream's own end: tests/test_views_events.py)
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


def focused_is(page, name: str) -> bool:
    return page.evaluate(f"document.activeElement === window.{name} && window.{name}.isConnected")


def test_focus_stays_on_its_button_across_three_polls_and_goes_to_the_next_row_after_an_action(
    logged_in, open_trade, many_trades
):
    page = logged_in
    first, second = trade_now(open_trade), trade_now(open_trade, symbol="ETHUSDT")
    without_stream(page)  # the polls of the test's clock refresh the parts, not the stream's events
    page.reload()
    page.keyboard.press("Tab")  # the first stop: a skip link past the header
    expect(page.get_by_role("link", name="Skip to the content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.locator(f"#trade-{first.pk}").get_by_role("button", name="Close").focus()
    page.evaluate("window.kept = document.activeElement")

    for n, price in enumerate(["101", "102", "103"], start=1):
        services.prices_apply(ticks=[Tick("BTCUSDT", Decimal(price), timezone.now())])
        page.clock.run_for(POLL)
        # the part was really swapped: (p - 100) * 50 - (5 + p * 0.05)
        expect(page.locator(f"#trade-{first.pk} .pnl")).to_have_text(["+39.95", "+89.90", "+139.85"][n - 1])
        assert focused_is(page, "kept"), f"focus lost after poll {n}"

    page.keyboard.press("Enter")  # Close: its confirmation opens, with Confirm focused
    expect(page.get_by_role("button", name="Confirm: close")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.locator(f"#trade-{first.pk}")).to_have_count(0)
    expect(
        page.locator(f"#trade-{second.pk}").get_by_role("button", name="Close")
    ).to_be_focused()  # the row now in its place
    assert_no_csp_violation(page)


def test_a_confirmation_whose_row_a_tick_closed_gives_focus_to_the_row_now_in_its_place(logged_in, open_trade):
    page = logged_in
    first, second = trade_now(open_trade), trade_now(open_trade, symbol="ETHUSDT")
    without_stream(page)
    page.reload()
    page.locator(f"#trade-{first.pk}").get_by_role("button", name="Close").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Confirm: close")).to_be_focused()

    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("97"), timezone.now())])  # through its stop, meanwhile
    page.clock.run_for(POLL)
    expect(page.locator(f"#trade-{first.pk}")).to_have_count(0)  # the button that opened the dialog is gone
    page.keyboard.press("Escape")

    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page.locator(f"#trade-{second.pk}").get_by_role("button", name="Close")).to_be_focused()


def test_rows_stay_still_under_the_pointer_and_the_part_catches_up_when_it_leaves(logged_in, make_signal):
    page = logged_in
    older = make_signal(timestamp=timezone.now())
    page.reload()
    button = page.locator(f"#signal-{older.signal_id}").get_by_role("button", name="Execute")
    button.hover()
    where = button.bounding_box()["y"]

    newer = make_signal(symbol="ETHUSDT", timestamp=timezone.now())  # the latest waiting signal comes first
    page.clock.run_for(POLL)
    page.clock.run_for(POLL)

    expect(page.locator("#signals")).to_have_class(re.compile(r"\bheld\b"))
    expect(page.locator(f"#signal-{newer.signal_id}")).to_have_count(0)
    assert button.bounding_box()["y"] == where  # the button has not moved under the pointer
    page.mouse.move(5, 5)  # the pointer leaves: the part catches up at once
    expect(page.locator(f"#signal-{newer.signal_id}")).to_have_count(1)
    expect(page.locator("#signals")).not_to_have_class(re.compile(r"\bheld\b"))


def test_the_signals_part_stays_one_page_after_500_signals(logged_in, server_url, make_signal):
    page = logged_in
    now = timezone.now()
    for n in range(500):
        make_signal(symbol=["BTCUSDT", "ETHUSDT", "SOLUSDT"][n % 3], timestamp=now)
    page.reload()

    rows = page.locator("#signals tbody tr")
    expect(rows).to_have_count(20)
    expect(rows.get_by_role("button", name="Execute")).to_have_count(20)
    expect(page.locator("#signal-counts")).to_contain_text("500: 500 waiting")
    size = page.evaluate(
        "fetch('/', {headers: {'HX-Request': 'true', 'HX-Target': 'signals'}}).then(r => r.text()).then(t => t.length)"
    )
    assert size < 30_000, size  # a poll of the part: 20 rows (each with its age, twice for a phone), not 500
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.locator("#signals").bounding_box()["height"] < 1600  # a phone scrolls past it in a few swipes
    screenshot(page, "dashboard-500-signals-phone")

    page.get_by_role("link", name="All 500 signals of the day").click()
    expect(page.locator("#all-signals tbody tr")).to_have_count(100)
    page.get_by_role("link", name="Earlier").click()
    expect(page).to_have_url(f"{server_url}/day/{today()}/signals/?page=2")
    assert_accessible(page)
    assert_no_csp_violation(page)


def test_a_past_day_shows_how_it_ended_against_a_hand_computation(logged_in, server_url, open_trade):
    page = logged_in
    yesterday = today() - timedelta(days=1)
    ten = day_bounds(yesterday)[0] + timedelta(hours=10)
    levels = {
        "entry_price": Decimal("100"),
        "stop_loss": Decimal("90"),
        "take_profit": Decimal("120"),
    }  # 100 risked over 10: size 10
    won = open_trade(timestamp=ten, at=ten, **levels)
    lost = open_trade(symbol="ETHUSDT", timestamp=ten, at=ten, **levels)
    held = open_trade(symbol="SOLUSDT", timestamp=ten, at=ten, **levels)  # never closed: open at the day's end, and now
    services.trade_close(
        trade_id=won.pk, price=Decimal("105"), at=ten + timedelta(hours=1)
    )  # 5*10 - (1 + 1.05) = 47.95
    services.trade_close(
        trade_id=lost.pk, price=Decimal("96"), at=ten + timedelta(hours=2)
    )  # -4*10 - (1 + 0.96) = -41.96
    today_trade = trade_now(open_trade, symbol="XRPUSDT", **levels)
    services.trade_close(trade_id=today_trade.pk, price=Decimal("110"))  # today's: not part of yesterday

    page.goto(f"{server_url}/day/{yesterday}/")

    expect(page.locator("#day-end-balance")).to_have_text("10,005.99")  # 10,000 + 47.95 - 41.96
    expect(page.locator("#day-realized")).to_have_text("+5.99")
    expect(page.locator("#day-closes")).to_have_text("2")
    expect(page.locator("#day-win-rate")).to_have_text("50%")  # 1 of 2
    expect(page.locator("#day-open")).to_have_text("1")
    expect(page.locator(f"#open-at-end-{held.pk}")).to_contain_text("open still")
    expect(page.locator("#journal-total")).to_have_text("+5.99")
    for live in ("Cash", "unrealized", "exposure"):  # nothing of today's
        expect(page.locator("#summary")).not_to_contain_text(live)
    assert_accessible(page)
    screenshot(page, "dashboard-past-day")

    future = today() + timedelta(days=30)
    notices = []
    for url in (f"/day/{future}/", f"/?date={future}", f"/?date={future:%d %b %Y}"):
        response = page.goto(f"{server_url}{url}")
        assert response.status == 404, url
        notices.append(page.locator("#notice .notice").inner_text().split(" ", 1)[1])  # after the time
    assert len(set(notices)) == 1
    assert "has not happened yet" in notices[0]
    assert_no_csp_violation(page)


# Every visible cell of a table's priority columns (those without .opt) and the buttons: what a phone must show.
NO_SIDEWAYS = """() => {
  const wide = [...document.querySelectorAll('.scroll')].filter((box) => box.scrollWidth > box.clientWidth + 1);
  const cut = [...document.querySelectorAll('td, th, button')].filter((cell) => {
    const box = cell.getBoundingClientRect();
    return box.width > 0 && (box.left < 0 || box.right > window.innerWidth);
  });
  return {
    page: document.documentElement.scrollWidth,
    wide: wide.length,
    cut: cut.map((cell) => cell.textContent.trim()).slice(0, 5),
  };
}"""


def test_a_phone_sees_symbol_side_pnl_and_the_buttons_without_sideways_scrolling(
    browser, server_url, trader, open_trade, make_signal, many_trades, one_trading_day
):
    held = trade_now(open_trade)
    closed = trade_now(open_trade, symbol="DOGEUSDT", entry_price=Decimal("0.15234567"))
    services.trade_close(trade_id=closed.pk, price=Decimal("0.15311"))
    make_signal(symbol="ETHUSDT", timestamp=timezone.now())
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{server_url}/login/")
    log_in(page)
    expect(page.locator("#summary")).to_be_visible()

    for path in ("/", f"/day/{today()}/signals/", f"/trades/{held.pk}/", "/journal/", "/stats/?period=7"):
        page.goto(f"{server_url}{path}")
        fit = page.evaluate(NO_SIDEWAYS)
        assert fit == {"page": PHONE["width"], "wide": 0, "cut": []}, path
    page.goto(f"{server_url}/")
    row = page.locator(f"#trade-{held.pk}")
    for cell in (
        row.get_by_role("link", name="BTCUSDT"),
        row.locator(".side"),
        row.locator(".pnl"),
        row.get_by_role("button", name="Close"),
    ):
        expect(cell).to_be_in_viewport()
    # the journal's total sits under its Realized column, as on a desktop
    total, realized = (
        page.locator("#journal-total").bounding_box(),
        page.locator("#journal th", has_text="Realized").bounding_box(),
    )
    assert abs((total["x"] + total["width"]) - (realized["x"] + realized["width"])) < 1
    screenshot(page, "dashboard-phone")
    context.close()


WIDE = {"width": 1366, "height": 900}


def test_no_page_logs_an_error_or_is_refused_by_the_csp_and_the_admin_reads_like_the_dashboard(
    page, server_url, django_user_model, open_trade, make_signal, many_trades, one_trading_day
):
    held = trade_now(open_trade, entry_price=Decimal("147.68"), stop_loss=Decimal("145"), take_profit=Decimal("152"))
    for symbol in ["ETHUSDT", "SOLUSDT", "DOGEUSDT"]:
        closed = trade_now(open_trade, symbol=symbol, entry_price=Decimal("0.15234567"))
        services.trade_close(trade_id=closed.pk, price=Decimal("0.153"))
    waiting = make_signal(symbol="XRPUSDT", timestamp=timezone.now())
    django_user_model.objects.create_superuser("operator", password="pw-for-e2e")
    version = PaperTrade.history.filter(id=closed.pk).order_by("history_id").first().history_id
    page.set_viewport_size(WIDE)
    errors = []
    page.on(
        "console",
        lambda message: errors.append(f"{page.url}: {message.text}") if message.type in ("error", "warning") else None,
    )
    page.on(
        "response",
        lambda response: errors.append(f"{response.status} {response.url}") if response.status >= 400 else None,
    )
    page.goto(f"{server_url}/login/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "pw-for-e2e")
    page.click("button[type=submit]")

    pages = [
        "/",
        f"/day/{today() - timedelta(days=1)}/",
        f"/day/{today()}/signals/",
        f"/trades/{held.pk}/",
        f"/trades/{closed.pk}/",
        "/journal/",
        "/stats/",
        f"/signals/{waiting.signal_id}/execute/",
        "/api/v1/docs",
        "/admin/",
        f"/admin/ledger/papertrade/{closed.pk}/change/",
        f"/admin/ledger/papertrade/{closed.pk}/history/",
        f"/admin/ledger/papertrade/{closed.pk}/history/{version}/",
        "/admin/ledger/signal/",
        f"/admin/ledger/signal/{closed.signal.pk}/change/",
        f"/admin/ledger/signal/{closed.signal.pk}/history/",
        "/admin/ledger/apitoken/",
        "/admin/ledger/apitoken/add/",
    ]
    for path in pages:
        page.goto(f"{server_url}{path}")
        assert_no_csp_violation(page)

    page.goto(f"{server_url}/admin/ledger/papertrade/")
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDE["width"]
    assert page.locator("#changelist .results").evaluate(
        "(box) => box.scrollWidth <= box.clientWidth"
    )  # every column in view
    expect(page.locator(f"#result_list tr:has(a[href='/trades/{held.pk}/']) .field-entry")).to_have_text("147.68")
    assert_accessible(page)
    screenshot(page, "admin-trades")
    page.goto(f"{server_url}/admin/ledger/papertrade/{held.pk}/change/")
    expect(page.locator("#id_entry_price")).to_have_value("147.68")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_have_text(f"Nothing changed: trade #{held.pk} is as it was.")
    page.goto(f"{server_url}/admin/ledger/papertrade/{closed.pk}/change/")
    exit_date = page.get_by_label("Exit date")  # the browser's date picker, not the admin's calendar box
    expect(exit_date).to_have_attribute("type", "date")
    expect(exit_date).to_have_value(str(today()))
    screenshot(page, "admin-trade-correction")
    page.goto(f"{server_url}/admin/ledger/papertrade/{closed.pk}/history/")
    expect(page.locator("#change-history")).not_to_contain_text("00000000")
    assert_accessible(page)
    screenshot(page, "admin-trade-history")
    page.set_viewport_size(PHONE)
    page.goto(f"{server_url}/admin/ledger/papertrade/{held.pk}/change/")
    screenshot(page, "admin-trade-phone")

    page.set_viewport_size(WIDE)
    page.goto(f"{server_url}/")
    page.locator(f"#trade-{held.pk}").get_by_role("button", name="Close").click()
    confirm_close(page)  # an action and the refresh it sets off
    expect(page.locator("#notice")).to_contain_text(f"Closed trade #{held.pk}")
    expect(page.locator(f"#journal-{held.pk}")).to_have_count(1)
    assert_no_csp_violation(page)
    assert errors == []


def test_every_page_at_1366_and_390_px_in_light_and_dark_with_legible_charts(
    browser, server_url, trader, open_trade, make_signal, many_trades, one_trading_day
):
    held = trade_now(open_trade)
    PaperTrade.objects.bulk_create(
        closed_trade_row(exit_time=timezone.now() - timedelta(days=n), realized_pnl=Decimal(p))
        for n, p in enumerate(["120.5", "-45"], start=1)
    )
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("101.5"), timezone.now())])
    closed = trade_now(open_trade, symbol="ETHUSDT")
    services.trade_close(trade_id=closed.pk, price=Decimal("103"))
    services.trade_annotate(trade_id=closed.pk, notes="Took the breakout.", tags=["A+ setup"])
    make_signal(symbol="SOLUSDT", timestamp=timezone.now())
    # a bitcoin-sized trade: long prices and a long size, as the demo feed opens them
    trade_now(
        open_trade,
        symbol="BNBUSDT",
        entry_price=Decimal("64468.42"),
        stop_loss=Decimal("62528.11"),
        take_profit=Decimal("68329.69"),
    )
    services.prices_apply(
        ticks=[Tick("BNBUSDT", Decimal("63317.15"), timezone.now(), bid=Decimal("63317.14"), ask=Decimal("63317.16"))]
    )
    for scheme in ("light", "dark"):  # as the system is set
        context = browser.new_context(viewport=WIDE, color_scheme=scheme)
        context.add_init_script(RECORD_VIOLATIONS)
        context.add_init_script(AXE)
        page = context.new_page()
        page.goto(f"{server_url}/login/")
        log_in(page)
        background = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
        assert (background == "rgb(18, 22, 29)") == (scheme == "dark")  # --bg follows the system's setting
        # at 1366 px every column of the active trades is in view, Close included, without scrolling the table
        assert page.locator("#active-trades .scroll").evaluate("(box) => box.scrollWidth <= box.clientWidth")

        for name, path in (
            ("dashboard", "/"),
            ("trade", f"/trades/{held.pk}/"),
            ("journal", "/journal/"),
            ("stats", "/stats/?period=7"),
        ):
            for width, viewport in (("1366", WIDE), ("390", PHONE)):
                page.set_viewport_size(viewport)
                page.goto(f"{server_url}{path}")
                screenshot(page, f"{name}-{width}-{scheme}")
            assert_accessible(page)  # colour contrast included, in this scheme
        # the statistics' charts at 390 px: each label's size in screen pixels, its size in the drawing's units
        # times the drawing's scale on the screen
        sizes = page.evaluate(
            "[...document.querySelectorAll('svg text')]"
            ".map((t) => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)"
        )
        assert len(sizes) > 20, sizes
        assert min(sizes) >= 11, sizes
        context.close()
