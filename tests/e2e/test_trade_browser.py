"""The trade page and the journal's history in a real browser: the chart is drawn with its markers and lines
under the strict Content-Security-Policy, notes and tags are edited in place, a stop is moved, the history is
filtered; at a desktop's width and a phone's."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ledger import brackets, services
from ledger.inputs import Tick
from ledger.models import PaperTrade, PriceCandle
from ledger.services.base import record_executions
from tests.conftest import T0, closed_trade_row

from .conftest import PHONE, POLL, assert_accessible, assert_no_csp_violation, screenshot, without_stream

pytestmark = pytest.mark.django_db(transaction=True)
LAPTOP = {"width": 1366, "height": 768}  # the laptop


def candles(symbol: str, start, count: int, price: Decimal = Decimal("100")) -> None:
    """A minute candle each from `start`, a gentle zigzag around `price`."""
    rows = []
    for n in range(count):
        drift = Decimal((n % 10) - 5) / 10 + Decimal(n) / 40
        open_, close = price + drift, price + drift + Decimal("0.3") * (1 if n % 3 else -1)
        rows.append(
            PriceCandle(
                symbol=symbol,
                minute=start + timedelta(minutes=n),
                open=open_,
                close=close,
                high=max(open_, close) + Decimal("0.2"),
                low=min(open_, close) - Decimal("0.2"),
                ticks=5,
            )
        )
    PriceCandle.objects.bulk_create(rows)


def test_a_closed_trade_s_chart_is_drawn_with_its_markers_and_lines_under_the_csp(logged_in, server_url, open_trade):
    page = logged_in
    trade = open_trade(timeframe="15m", confluences=["breakout", "volume"])  # LONG 50 BTCUSDT at 100 from 10:01
    services.trade_close(trade_id=trade.pk, price=Decimal("102.5"), at=T0 + timedelta(hours=1))
    PaperTrade.objects.filter(pk=trade.pk).update(
        max_price=Decimal("103"), min_price=Decimal("99.5")
    )  # as the feed records them
    services.trade_annotate(
        trade_id=trade.pk, notes="Breakout above the range.\n\nTook half the move.", tags=["A+ setup", "breakout"]
    )
    candles("BTCUSDT", T0 - timedelta(minutes=29), 119)  # 09:31 to 11:29: the whole span, 30 minutes either side

    page.goto(f"{server_url}/trades/{trade.pk}/")

    chart = page.locator("#trade-chart")
    expect(chart).to_have_attribute("data-candles", "119")
    expect(chart).to_have_attribute("data-markers", "entry exit")
    expect(chart).to_have_attribute("data-lines", "entry:100 stop:98 target:104 exit:102.5")
    canvas = chart.locator("canvas").first
    assert canvas.bounding_box()["width"] > 600
    assert canvas.bounding_box()["height"] > 300
    expect(page.locator("#trade-pnl")).to_have_text("+114.88")  # 2.5 * 50 - (5 + 5.125)
    assert_accessible(page)
    assert_no_csp_violation(page)
    screenshot(page, "trade-closed")

    page.set_viewport_size(PHONE)
    page.reload()  # as a phone loads it: the chart fits its candles to the narrow width
    expect(chart).to_have_attribute("data-candles", "119")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert chart.bounding_box()["width"] <= PHONE["width"]
    screenshot(page, "trade-closed-phone")


def test_an_open_trade_s_chart_refreshes_and_a_moved_stop_moves_its_line(logged_in, server_url, open_trade):
    page = logged_in
    now = timezone.now()
    trade = open_trade(timestamp=now, at=now)
    minute = now.replace(second=0, microsecond=0)
    candles("BTCUSDT", minute - timedelta(minutes=20), 19)  # to the minute before this one
    without_stream(page)  # the candles below are written by hand, with no event: the page's poll fetches them
    page.goto(f"{server_url}/trades/{trade.pk}/")
    chart = page.locator("#trade-chart")
    expect(chart).to_have_attribute("data-candles", "19")

    candles("BTCUSDT", minute, 1)  # this minute's candle, as the feed writes it
    page.clock.run_for(POLL)  # the page's poll
    expect(chart).to_have_attribute("data-candles", "20")
    expect(chart).to_have_attribute("data-fetched", "2")  # not the whole chart: its last candle again, and the new one

    page.locator("#levels input[name=stop_loss]").fill("99.5")
    page.locator("#levels").get_by_role("button", name="Move").click()

    expect(page.locator("#levels .notice")).to_have_text("Stop 99.5, target 104.")
    expect(page.locator("#trade-levels")).to_contain_text("99.50 / 104.00")  # the facts refresh (ledgerChanged)
    expect(chart).to_have_attribute("data-lines", "entry:100 stop:99.5 target:104")  # and the chart's line moves
    assert PaperTrade.objects.get(pk=trade.pk).stop_loss == Decimal("99.5")

    page.locator("#levels input[name=stop_loss]").fill("100.5")  # above the last price (100): crossed
    page.locator("#levels").get_by_role("button", name="Move").click()
    expect(page.locator("#levels .notice.error")).to_contain_text("must be below the last price 100")
    assert_accessible(page)
    assert_no_csp_violation(page)
    screenshot(page, "trade-open-moved-stop")


def test_notes_and_tags_are_edited_in_place_with_tags_suggested(logged_in, server_url, open_trade, many_trades):
    page = logged_in
    now = timezone.now()
    earlier, trade = open_trade(timestamp=now, at=now), open_trade(timestamp=now, at=now)
    services.trade_annotate(trade_id=earlier.pk, tags=["FOMO", "news"])
    page.goto(f"{server_url}/trades/{trade.pk}/")
    expect(page.locator("#trade-notes")).to_have_text("No notes yet.")

    page.locator("#notes").get_by_role("link", name="Edit").click()
    expect(page.locator("#tag-choices option")).to_have_count(2)  # FOMO, news: the tags in use
    page.locator("#notes-text").fill("Chased the candle.\n\nWait for the retest next time.")
    page.locator("input[name=new_tags]").fill("fomo, late entry")
    screenshot(page, "trade-notes-editing")
    page.get_by_role("button", name="Save").click()

    expect(page.locator("#trade-tags .chip")).to_have_text(["FOMO", "late entry"])  # the spelling in use
    expect(page.locator("#trade-notes p")).to_have_text(["Chased the candle.", "Wait for the retest next time."])
    assert PaperTrade.objects.get(pk=trade.pk).tags == ["FOMO", "late entry"]
    screenshot(page, "trade-notes")

    page.locator("#notes").get_by_role("link", name="Edit").click()
    page.locator("#notes label.chip", has_text="late entry").locator("input").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#trade-tags .chip")).to_have_text(["FOMO"])
    assert_accessible(page)
    assert_no_csp_violation(page)


def test_a_save_after_an_edit_elsewhere_says_what_changed_keeps_the_text_and_a_second_save_replaces_it(
    logged_in, server_url, open_trade
):
    page = logged_in
    trade = open_trade(timestamp=timezone.now(), at=timezone.now())
    page.goto(f"{server_url}/trades/{trade.pk}/")
    page.locator("#notes").get_by_role("link", name="Edit").click()
    page.locator("#notes-text").fill("Typed here while a bot tagged it.")
    services.trade_annotate(trade_id=trade.pk, tags=["news"], via="API token bot")  # meanwhile, from a program

    page.get_by_role("button", name="Save").click()

    notice = page.locator("#notes .notice.error")
    expect(notice).to_contain_text(f"The tags of trade {trade.pk} changed since this edit began")
    expect(notice).to_contain_text("Now: tags news")
    expect(page.locator("#notes-text")).to_have_value("Typed here while a bot tagged it.")
    assert PaperTrade.objects.get(pk=trade.pk).tags == ["news"]  # the bot's edit stands
    screenshot(page, "trade-notes-conflict")
    assert_accessible(page)

    page.get_by_role("button", name="Save").click()  # now on what is there: deliberate

    expect(page.locator("#trade-notes p")).to_have_text(["Typed here while a bot tagged it."])
    expect(page.locator("#trade-tags .chip")).to_have_text(["news"])  # still ticked in the form drawn afresh
    assert_no_csp_violation(page)


def test_the_history_is_filtered_in_place_and_fits_a_phone(logged_in, server_url):
    page = logged_in
    at = T0
    PaperTrade.objects.bulk_create(
        closed_trade_row(
            exit_time=at + timedelta(hours=n),
            realized_pnl=Decimal(n if n % 2 else -n),
            symbol=["BTCUSDT", "ETHUSDT", "SOLUSDT"][n % 3],
            direction=PaperTrade.Direction.SHORT if n % 4 == 0 else PaperTrade.Direction.LONG,
            tags=["FOMO"] if n % 5 == 0 else [],
            notes="Faded the news." if n == 7 else "",
        )
        for n in range(1, 21)
    )
    page.goto(f"{server_url}/journal/")
    rows = page.locator("#history-results tbody tr")
    expect(rows).to_have_count(20)

    page.locator("select[name=side]").select_option("SHORT")  # n = 4, 8, 12, 16, 20
    expect(rows).to_have_count(5)
    expect(page).to_have_url(f"{server_url}/journal/?side=SHORT&sort=-closed")  # without the empty fields
    page.locator("input[name=tag]").focus()
    expect(page.locator("#tag-choices option")).to_have_count(1)  # the tags in use, fetched on the first focus
    page.locator("input[name=tag]").fill("FOMO")
    page.locator("input[name=tag]").press("Enter")  # n = 20 (SHORT, tagged)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("FOMO")

    page.get_by_role("link", name="Clear").click()
    page.locator("input[name=q]").fill("news")
    page.locator("input[name=q]").press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link")).to_contain_text("ETHUSDT")  # n = 7
    rows.first.get_by_role("link").click()
    expect(page.locator("h1")).to_contain_text("ETHUSDT")

    page.goto(f"{server_url}/journal/?sort=-r")
    expect(rows).to_have_count(20)
    screenshot(page, "history")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "history-phone")
    assert_accessible(page)
    assert_no_csp_violation(page)


def rising(symbol: str, start, count: int, low: Decimal, high: Decimal) -> None:
    """A minute candle each from `start`, rising steadily from `low` to `high`."""
    step = (high - low) / (count - 1)
    PriceCandle.objects.bulk_create(
        PriceCandle(
            symbol=symbol,
            minute=start + timedelta(minutes=n),
            open=low + step * n,
            close=low + step * n + Decimal("0.1"),
            high=low + step * n + Decimal("0.3"),
            low=low + step * n - Decimal("0.2"),
            ticks=5,
        )
        for n in range(count)
    )


def test_the_chart_fits_its_scale_to_what_it_draws_with_labels_apart_and_the_exit_in_view(logged_in, server_url):
    """The issue's short: candles from 136 to 147.5, stop 141.2, target 129.9, stopped out at 141.2 at the
    last candle of the chart (closed a moment ago): the scale spans 129.9 to 147.8 and a little more, no two
    price labels overlap, and the exit marker is clear of the price scale's labels."""
    page = logged_in
    entry = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=1)
    trade = closed_trade_row(
        exit_time=entry + timedelta(hours=1),
        held=timedelta(hours=1),
        realized_pnl=Decimal("-32.00"),
        symbol="SOLUSDT",
        direction=PaperTrade.Direction.SHORT,
        status=PaperTrade.Status.STOP_LOSS,
        entry_price=Decimal("138.00"),
        exit_price=Decimal("141.20"),
        stop_loss=Decimal("141.20"),
        take_profit=Decimal("129.90"),
        max_price=Decimal("141.20"),
        min_price=Decimal("137.80"),
        position_size=Decimal("10"),
        risk_amount=Decimal("32"),
    )
    trade.save()
    record_executions(trade, [brackets.entry_fill(trade, at=trade.entry_time), brackets.closing_fill(trade)])
    rising("SOLUSDT", entry - timedelta(minutes=30), 91, Decimal("136"), Decimal("147.5"))  # to the exit's minute

    for size, name in ((LAPTOP, "trade-chart-range"), (PHONE, "trade-chart-range-phone")):
        page.set_viewport_size(size)
        page.goto(f"{server_url}/trades/{trade.pk}/")
        chart = page.locator("#trade-chart")
        expect(chart).to_have_attribute("data-candles", "91")
        expect(chart).to_have_attribute("data-range", re.compile(r"\d"))  # once the chart has laid them out
        low, high = (float(value) for value in chart.get_attribute("data-range").split())
        drawn = 147.8 - 129.9  # from the target to the highest high
        assert 129.9 - drawn * 0.1 <= low <= 129.9, (low, high)  # everything drawn, and little more
        assert 147.8 <= high <= 147.8 + drawn * 0.1, (low, high)
        labels = sorted(float(y) for y in chart.get_attribute("data-label-ys").split())
        pane = float(chart.get_attribute("data-pane-height"))
        assert all(0 <= y <= pane for y in labels)
        assert all(b - a >= 16 for a, b in zip(labels, labels[1:], strict=False)), labels  # a label's height
        exit_x, labels_x = (float(chart.get_attribute(name)) for name in ("data-exit-x", "data-pane-width"))
        assert exit_x < labels_x - 40  # the marker's arrow and text clear of the right edge
        screenshot(page, name)
    assert_accessible(page)
    assert_no_csp_violation(page)


# Every element of these that holds text ends inside its own box (a table inside its scroller).
OVERFLOWING = """(selector) => [...document.querySelectorAll(selector)]
  .filter((box) => box.scrollWidth > box.clientWidth + 1)
  .map((box) => `${box.id || box.className}: ${box.scrollWidth} in ${box.clientWidth}`)"""


def test_long_sizes_tags_and_notes_stay_inside_their_boxes_on_a_laptop_and_a_phone(logged_in, server_url):
    """The issue's cut-offs: a size of 21,640.16560940 ran past its card, and the journal's tags and notes past
    its table's box at 1366 px (the scrollbar at the foot of fifty rows, out of sight): the history's and the
    day's."""
    page = logged_in
    PaperTrade.objects.bulk_create(
        closed_trade_row(
            exit_time=T0 + timedelta(minutes=n),
            realized_pnl=Decimal("-12.34567"),
            symbol="1000SHIBUSDT",
            position_size=Decimal("21640.1656094"),
            entry_price=Decimal("0.01234567"),
            exit_price=Decimal("0.01229876"),
            max_price=Decimal("0.01241234"),
            min_price=Decimal("0.01225432"),
            tags=["A+ setup", "breakout retest", "news: CPI print", "FOMO", "late-entry-after-the-news-spike-again"],
            notes="https://www.tradingview.com/chart/BTCUSDT/aBcDeFgH-breakout-retest-after-cpi/ chased it. " * 3,
        )
        for n in range(50)
    )
    trade = PaperTrade.objects.order_by("pk").first()

    for size, name in ((LAPTOP, "laptop"), (PHONE, "phone")):
        page.set_viewport_size(size)
        page.goto(f"{server_url}/journal/")
        expect(page.locator("#history-results tbody tr")).to_have_count(50)
        expect(page.locator("#history-totals")).to_contain_text("50 trades")
        assert page.evaluate(OVERFLOWING, "#history-results .scroll, .totals") == []
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
        screenshot(page, f"history-long-{name}")
        page.goto(f"{server_url}/day/{T0:%Y-%m-%d}/")  # the day's journal draws the same rows
        expect(page.locator("#journal tbody tr")).not_to_have_count(0)
        assert page.evaluate(OVERFLOWING, "#journal .scroll") == []
        screenshot(page, f"day-long-{name}")
        page.goto(f"{server_url}/trades/{trade.pk}/")
        expect(page.locator("#facts")).to_contain_text("21,640.1656094")
        assert page.evaluate(OVERFLOWING, "#facts .stat, #notes") == []
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
        screenshot(page, f"trade-long-{name}")
    assert_accessible(page)


def test_the_history_pages_in_place_forward_back_and_to_the_first_page(logged_in, server_url):
    page = logged_in
    PaperTrade.objects.bulk_create(
        closed_trade_row(exit_time=T0 + timedelta(minutes=n), realized_pnl=Decimal(n), notes=f"trade {n}")
        for n in range(1, 121)
    )  # 120 closes: pages of 50, 50 and 20, latest first
    page.goto(f"{server_url}/journal/")
    rows = page.locator("#history-results tbody tr")
    pager = page.get_by_role("navigation", name="Pages")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("trade 120")
    page.evaluate("window.stillThisPage = true")  # gone if a link loaded a whole page instead of swapping the results

    pager.get_by_role("link", name="Next").click()
    expect(rows.first).to_contain_text("trade 70")
    expect(page).to_have_url(re.compile(r"/journal/\?.*after=\d+"))  # the address follows, to bookmark or share
    pager.get_by_role("link", name="Next").click()
    expect(rows).to_have_count(20)
    expect(rows.last).to_contain_text("trade 1")
    expect(pager.get_by_role("link", name="Next")).to_have_count(0)  # the last page

    pager.get_by_role("link", name="Previous").click()
    expect(rows.first).to_contain_text("trade 70")
    screenshot(page, "history-paged")
    pager.get_by_role("link", name="First page").click()
    expect(rows.first).to_contain_text("trade 120")
    expect(pager.get_by_role("link", name="Previous")).to_have_count(0)
    assert page.evaluate("window.stillThisPage") is True
    assert_no_csp_violation(page)


def test_a_bracket_trade_s_chart_marks_its_exits_and_trail_and_the_page_lists_them(logged_in, server_url, open_trade):
    page = logged_in
    trade = open_trade(
        stop_loss=Decimal("98"),
        targets=[{"price": "103", "fraction": "0.5"}, {"price": "106", "fraction": "0.5"}],
        trailing_stop={"distance": "1.5"},
    )  # LONG 50 BTCUSDT at 100 from 10:01: 25 at 103, 25 at 106, a stop trailing 1.5 behind
    ticks = [("102", 5), ("103.5", 10), ("104", 15), ("102.4", 20)]  # half at 103, the trail to 102.5, the rest out
    for price, minute in ticks:
        services.prices_apply(ticks=[Tick("BTCUSDT", Decimal(price), T0 + timedelta(minutes=minute))])

    page.goto(f"{server_url}/trades/{trade.pk}/")

    chart = page.locator("#trade-chart")
    expect(chart).to_have_attribute("data-markers", "entry stop exit stop stop exit")
    rows = page.locator("#executions tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(1)).to_contain_text("Exit: Take profit")
    expect(rows.nth(2)).to_contain_text("Exit: Stop loss")
    expect(page.locator("#facts")).to_contain_text("Exit (average)102.70")  # 25 at 103 and 25 at 102.40
    moves = "The stop moved to 100.50 (20 Nov 10:05), 102.00 (20 Nov 10:10), 102.50 (20 Nov 10:15)."
    expect(page.locator("#stop-moves")).to_have_text(moves)  # 102 - 1.5, then 103.5 - 1.5, 104 - 1.5
    assert_accessible(page)
    assert_no_csp_violation(page)
    screenshot(page, "trade-bracket")
