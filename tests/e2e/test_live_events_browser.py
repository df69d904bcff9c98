"""Live pages pushed by the server (issue 26): a real server (gunicorn with uvicorn's worker) streams the outbox to
the page, whose parts refresh on the events that touch them and on nothing else; a tick posted through the API
reaches the dashboard and the trade page without a poll; a trade closed by a tick shows its exit; a stream cut and
reopened misses nothing; a blocked stream falls back to polling.

Playwright's clock holds the page's timers (its poll, the stream's retry), so nothing happens by a timer unless the
test advances it: what refreshes without that was pushed."""

import json
import re
import urllib.request
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ledger import services
from ledger.models import ApiToken, Event

from .conftest import POLL, assert_accessible, assert_no_csp_violation, screenshot, trade_now, without_stream

pytestmark = pytest.mark.django_db(transaction=True)
PARTS = ("summary", "active-trades", "signals", "journal")


def post_tick(server_url: str, token: str, price: str, symbol: str = "BTCUSDT") -> None:
    body = json.dumps({"ticks": [{"symbol": symbol, "price": price}]})  # seen when it arrives
    request = urllib.request.Request(
        f"{server_url}/api/v1/prices",
        data=body.encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=20) as answer:
        assert answer.status == 200


@pytest.fixture
def token() -> str:
    return services.api_token_create(name="feed", scope=ApiToken.Scope.TRADE)[1]


def part_requests(page) -> list[str]:
    """The HX-Target of every part refresh the page sends from now on."""
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.headers.get("hx-target", "")))
    return sent


def streaming(page) -> None:
    expect(page.locator("body")).to_have_attribute("data-live", "stream")


def test_a_tick_through_the_api_reaches_the_dashboards_price_with_no_poll(logged_in, server_url, open_trade, token):
    page = logged_in
    trade = trade_now(open_trade)
    page.reload()
    streaming(page)
    sent = part_requests(page)
    page.clock.run_for(3 * POLL)  # three polls' time: a page that polled would have asked for every part
    assert [target for target in sent if target] == []

    post_tick(server_url, token, "100.75")
    price = page.locator(f"#trade-{trade.pk} td").nth(3)
    expect(price).to_have_text("100.75")
    expect(page.locator("#summary")).to_contain_text("Equity")
    refreshed = {target for target in sent if target}
    # the parts a batch of prices touches (working orders: their distance to fill); no poll asked the rest
    assert refreshed <= {"summary", "active-trades", "working-orders"}
    assert "active-trades" in refreshed
    assert_no_csp_violation(page)
    assert_accessible(page)
    screenshot(page, "live-dashboard-pushed")


def test_the_trade_page_follows_its_ticks_and_shows_the_exit_when_a_tick_closes_it(
    logged_in, server_url, open_trade, token
):
    page = logged_in
    trade = trade_now(open_trade)  # LONG BTCUSDT from 100, stop 98
    page.goto(f"{server_url}/trades/{trade.pk}/")
    streaming(page)
    sent = part_requests(page)
    post_tick(server_url, token, "101.25")
    expect(page.locator("#trade-price")).to_have_text("101.25")
    assert [target for target in sent if target] == ["facts"]  # pushed, not polled
    assert_accessible(page)

    post_tick(server_url, token, "97.5")  # through the stop
    expect(page.locator("#trade-status")).to_have_text("Stop loss")
    expect(page.locator("#executions tbody tr")).to_have_count(2)  # the entry, and now the exit
    expect(page.locator("#executions tbody tr").last).to_contain_text("Stop loss")
    expect(page.locator("body")).not_to_have_attribute("sse-connect", re.compile(".*"))  # closed: no stream held
    assert_no_csp_violation(page)
    screenshot(page, "live-trade-closed-by-a-tick")


def test_a_partial_exit_reaches_the_trade_page_s_executions_and_size_without_a_poll(
    logged_in, server_url, open_trade, token
):
    page = logged_in
    trade = trade_now(
        open_trade,
        stop_loss=Decimal("98"),
        targets=[{"price": "103", "fraction": "0.5"}, {"price": "106", "fraction": "0.5"}],
    )  # LONG 50 BTCUSDT at 100: 25 out at 103, 25 at 106
    page.goto(f"{server_url}/trades/{trade.pk}/")
    streaming(page)
    rows = page.locator("#executions tbody tr")
    expect(rows).to_have_count(1)

    post_tick(server_url, token, "103.5")  # through the first target: half the position out at 103
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("Exit: Take profit")
    expect(page.locator("#trade-size")).to_have_text("25.00")  # what is still open
    expect(page.locator("#facts")).to_contain_text("of 50.00: 25.00 out after 1 target")
    expect(page.locator("#trade-status")).to_have_text("Open")  # the rest is still open
    assert_accessible(page, "#executions")


def test_a_stream_cut_and_reopened_misses_no_event_and_repeats_none(logged_in, make_signal):
    page = logged_in
    page.reload()
    streaming(page)
    page.evaluate("window.received = []")
    page.evaluate(
        "document.body.addEventListener('htmx:sseMessage', (e) => window.received.push(Number(e.detail.lastEventId)))"
    )
    now = timezone.now()
    make_signal(signal_id="before-the-cut", timestamp=now)
    rows = page.locator("#signals tbody tr")
    expect(rows).to_have_count(1)

    # The connection fails for good (as after a proxy's timeout): the extension opens a new one after its delay,
    # which Playwright's clock holds, so these signals are recorded while the page has no stream.
    page.evaluate("() => { const s = window.ledgerStream; s.close(); s.onerror(new Event('error')); }")
    for n in range(3):
        make_signal(signal_id=f"during-the-cut-{n}", timestamp=now)
    page.clock.run_for(1000)  # the retry: a new stream, resumed after the last event the page received
    expect(rows).to_have_count(4)
    received = page.evaluate("window.received")
    recorded = list(Event.objects.filter(kind="signal.recorded").order_by("pk").values_list("pk", flat=True))
    assert received == recorded  # the one before the cut and the three during it: none lost, none twice


def test_a_blocked_stream_falls_back_to_polling(logged_in, server_url, make_signal):
    page = logged_in
    without_stream(page)  # a proxy that will not hold it
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-live", "poll")
    sent = part_requests(page)
    make_signal(signal_id="seen-by-a-poll", timestamp=timezone.now())
    page.clock.run_for(POLL)
    expect(page.locator("#signals tbody tr")).to_have_count(1)
    assert {target for target in sent if target} >= set(PARTS)  # a poll refreshes every live part
    assert_no_csp_violation(page)
    screenshot(page, "live-dashboard-polling-fallback")


def test_each_event_refreshes_its_part_once_however_many_refreshes_came_before(logged_in, make_signal):
    # htmx processes a part again after each refresh, and its SSE extension then added one more listener: the
    # requests an event sent doubled with every refresh (static/ledger/live.js keeps one a part and kind).
    page = logged_in
    page.reload()
    streaming(page)
    sent = part_requests(page)
    rows = page.locator("#signals tbody tr")
    for n in range(1, 5):
        make_signal(signal_id=f"refresh-{n}", timestamp=timezone.now())
        expect(rows).to_have_count(n)
    page.wait_for_timeout(500)  # time for a second request of the last event, had one been sent
    assert [target for target in sent if target] == ["signals"] * 4


def test_batches_of_prices_within_a_polls_interval_refresh_a_part_once_more_at_its_end(
    logged_in, server_url, open_trade, token
):
    page = logged_in
    trade = trade_now(open_trade)
    page.reload()
    streaming(page)
    sent = part_requests(page)
    price = page.locator(f"#trade-{trade.pk} td").nth(3)
    post_tick(server_url, token, "100.25")
    expect(price).to_have_text("100.25")  # the first batch after a quiet spell: at once
    for moved in ("100.50", "100.75"):  # within the interval: held back
        post_tick(server_url, token, moved)
    page.wait_for_timeout(500)
    expect(price).to_have_text("100.25")

    page.clock.run_for(POLL)  # the interval's end: one refresh, with the last batch
    expect(price).to_have_text("100.75")
    assert [target for target in sent if target == "active-trades"] == ["active-trades"] * 2
