"""The dashboard page, its HTMX parts and its buttons, through Django's test client."""

import gzip
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ledger import services
from ledger.days import today
from ledger.inputs import Tick
from ledger.models import PaperTrade, Signal

from .conftest import LAST_SECOND, MIDNIGHT, NOW
from .helpers import HTMX

# Today's page and its parts' ETags depend on the day and on the minute: the clock stands still at NOW.
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]


@pytest.fixture
def now_trade(open_trade):
    """A trade opened a minute ago, so it belongs to today's page."""

    def make(**overrides) -> PaperTrade:
        now = timezone.now()
        return open_trade(timestamp=now - timedelta(minutes=1), at=now, **overrides)

    return make


def part(client: Client, name: str, *, etag: str | None = None):
    """One part of today's page as HTMX asks for it; with an earlier answer's ETag, as a poll does."""
    poll = {"HTTP_IF_NONE_MATCH": etag} if etag else {}
    return client.get(reverse("dashboard"), HTTP_HX_TARGET=name, **HTMX, **poll)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/"),
        ("get", "/day/2026-11-20/"),
        ("post", "/trades/1/close/"),
        ("post", "/signals/s-1/execute/"),
        ("post", "/signals/s-1/expire/"),
    ],
)
def test_every_page_and_button_requires_login(method, url):
    response = getattr(Client(), method)(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(("method", "url"), [("get", "/"), ("post", "/trades/1/close/")])
def test_a_poll_or_button_whose_login_is_gone_sends_the_whole_tab_to_the_login_page_and_back(method, url):
    tab = "http://testserver/day/2026-11-20/?from=bookmark"

    response = getattr(Client(), method)(url, HTTP_HX_CURRENT_URL=tab, **HTMX)

    assert response.status_code == 200
    assert response.content == b""
    assert response["HX-Redirect"] == "/login/?next=/day/2026-11-20/%3Ffrom%3Dbookmark"


def test_the_login_page_after_a_login_ended_says_why_and_a_first_visit_is_just_asked_to_log_in():
    tab = Client()
    tab.get("/", **HTMX)  # a poll whose login is gone
    ended = tab.get("/login/?next=/").content.decode()

    first = Client().get("/", follow=True).content.decode()

    assert "Your login ended (it timed out, or you logged out in another tab), so nothing more was done." in ended
    assert "Your login ended" not in first
    assert "Log in" in first


def test_a_page_opened_with_a_session_whose_login_timed_out_says_why_on_the_login_page(trader_client):
    trader_client.logout()  # the server forgets the login; the browser still sends its session cookie
    trader_client.cookies[settings.SESSION_COOKIE_NAME] = "timed-out-session"

    page = trader_client.get("/", follow=True).content.decode()

    assert "Your login ended" in page


def test_a_tab_on_another_site_is_not_where_the_login_sends_it_back():
    response = Client().get("/", HTTP_HX_CURRENT_URL="https://elsewhere.example/phish/", **HTMX)

    assert response["HX-Redirect"] == "/login/?next=/"


def test_a_button_posted_with_an_out_of_date_csrf_token_reloads_the_page_and_says_why(trader, now_trade):
    trade = now_trade()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(trader)

    response = strict.post(reverse("trade-close", args=[trade.pk]), HTTP_X_CSRFTOKEN="stale" * 8, **HTMX)

    assert (response.status_code, response["HX-Refresh"]) == (403, "true")
    assert PaperTrade.objects.get().status == PaperTrade.Status.OPEN
    assert "nothing was done" in strict.get(reverse("dashboard")).content.decode()  # the reloaded page says it


def test_full_page_has_every_part_with_the_selectors_numbers(trader_client, now_trade):
    trade = now_trade()
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("101"), trade.entry_time + timedelta(seconds=1))])

    html = trader_client.get(reverse("dashboard")).content.decode()

    for name in ("summary", "active-trades", "signals", "journal"):
        assert f'id="{name}"' in html
    assert "10,000.00" in html  # equity: nothing realized yet
    assert "+39.95" in html  # unrealized at 101: (101-100)*50 - (5 + 5.05)
    assert f'id="trade-{trade.pk}"' in html
    assert f'id="signal-{trade.signal_id}"' in html


def test_htmx_request_renders_only_the_asked_part(trader_client, now_trade):
    trade = now_trade()

    response = part(trader_client, "active-trades")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="active-trades"')
    assert f'id="trade-{trade.pk}"' in html
    assert 'id="journal"' not in html
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]
    assert "HX-Target" in response["Vary"]


def test_summary_part_shows_equity_and_todays_realized_pnl(trader_client, now_trade):
    trade = now_trade()
    services.trade_close(trade_id=trade.pk, price=Decimal("103"))

    html = part(trader_client, "summary").content.decode()

    assert "10,139.85" in html  # 10000 + (3*50 - (5 + 5.15))
    assert "+139.85" in html
    assert "100%" in html
    assert "1 of 1 closed" in html


def test_summary_shows_the_balance_and_the_equity_with_the_open_pnl_under_names_that_say_which(
    trader_client, now_trade
):
    trade = now_trade()  # 50 units at 100
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("102"), timezone.now())])  # 2*50 - (5 + 5.1) = +89.90 open

    html = part(trader_client, "summary").content.decode()

    assert '<span class="value num" id="equity">10,089.90</span>' in html  # the balance and the open +89.90
    assert 'balance <span class="num" id="balance">10,000.00</span> and open PnL' in html  # nothing realized yet
    assert PaperTrade.objects.get(pk=trade.pk).unrealized_pnl == Decimal("89.9")


def test_summary_part_shows_cash_and_exposure(trader_client, now_trade):
    now_trade()  # 50 units at 100: 5000 notional and a 5 fee out of 10000

    html = part(trader_client, "summary").content.decode()

    assert '<span class="value num" id="cash">4,995.00</span>' in html
    assert "exposure 50% of equity" in html  # 5000 / 10000


def test_summary_part_says_a_deficit_a_gap_left(trader_client, now_trade):
    trade = now_trade(action="SELL", stop_loss=Decimal("102"))  # SHORT 50 at 100
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("1000"), timezone.now())])  # liquidated far beyond it

    html = part(trader_client, "summary").content.decode()

    assert PaperTrade.objects.get(pk=trade.pk).status == PaperTrade.Status.LIQUIDATION
    assert '<span class="value num loss" id="cash">-35,055.00</span>' in html  # 10000 - 900 * 50 - (5 + 50) fees
    deficit = re.search(r'<div class="stat" id="deficit" role="alert">.*?</div>', html, re.S).group()
    assert '<span class="value num loss">35,055.00</span>' in deficit
    assert "no new entry until cash is positive again" in deficit


def test_summary_part_says_nothing_of_a_deficit_without_one(trader_client, now_trade):
    now_trade()

    assert 'id="deficit"' not in part(trader_client, "summary").content.decode()


def test_active_trades_part_shows_return_r_and_the_distance_to_the_levels(trader_client, now_trade):
    trade = now_trade()
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("100.5"), timezone.now())])

    html = part(trader_client, "active-trades").content.decode()

    # unrealized 0.5 * 50 - (5 + 5.025) = 14.975: 14.975 / 5000 = +0.30%, 14.975 / 100 risked = +0.15R
    assert "+14.98" in html
    assert "+0.30% &middot; +0.15R" in html
    assert "2.49%" in html
    assert "3.48%" in html
    assert f'id="trade-{trade.pk}"' in html


def test_active_trades_show_how_old_each_price_is_and_flag_a_stale_one(
    trader_client, now_trade, many_trades, time_machine
):
    fresh, stale, never = now_trade(), now_trade(symbol="ETHUSDT"), now_trade(symbol="SOLUSDT")
    services.prices_apply(ticks=[Tick("ETHUSDT", Decimal("100"), NOW - timedelta(seconds=121))])  # past the 120 s
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("100"), NOW - timedelta(seconds=7))])

    html = part(trader_client, "active-trades").content.decode()

    rows = {trade.pk: html.split(f'id="trade-{trade.pk}"')[1].split("</tr>")[0] for trade in (fresh, stale, never)}
    assert '<td class="num price-age opt">7s</td>' in rows[fresh.pk]
    assert ">stale: 2m</span>" in rows[stale.pk]  # 121 s
    assert ">stale: no price</span>" in rows[never.pk]  # no tick at all: priced at its signal


def test_journal_shows_each_trade_s_excursions_in_money_and_r(trader_client, now_trade):
    trade = now_trade()  # LONG 50 at 100: 1R = 100
    now = timezone.now()
    services.prices_apply(
        ticks=[Tick("BTCUSDT", Decimal(p), now + timedelta(seconds=n)) for n, p in enumerate(["101.2", "99.5"])]
    )
    services.trade_close(trade_id=trade.pk, at=now + timedelta(seconds=5))

    row = part(trader_client, "journal").content.decode().split(f'id="journal-{trade.pk}"')[1].split("</tr>")[0]

    # MFE (101.2 - 100) * 50 = 60 = 0.6R; MAE (99.5 - 100) * 50 = -25 = -0.25R
    assert '<td class="num opt wide mfe">+60.00 &middot; +0.60R</td>' in row
    assert '<td class="num opt wide mae">\u221225.00 &middot; \u22120.25R</td>' in row


def test_journal_part_lists_the_days_closed_trades_and_total(trader_client, now_trade, many_trades):
    won, lost = now_trade(), now_trade(symbol="ETHUSDT")
    services.trade_close(trade_id=won.pk, price=Decimal("103"))
    services.trade_close(trade_id=lost.pk, price=Decimal("99"))

    html = part(trader_client, "journal").content.decode()

    assert f'id="journal-{won.pk}"' in html
    assert f'id="journal-{lost.pk}"' in html
    # both opened at equity 10000, size 50: won 3*50 - (5 + 5.15) = 139.85; lost -1*50 - (5 + 4.95) = -59.95
    assert "2 trades, 1 won" in html
    assert "+79.90" in html  # 139.85 - 59.95


def test_signals_part_offers_execute_and_expire_on_a_generated_signal(trader_client, make_signal):
    signal = make_signal(timestamp=timezone.now())

    html = part(trader_client, "signals").content.decode()

    assert reverse("signal-execute", args=[signal.signal_id]) in html
    assert reverse("signal-expire", args=[signal.signal_id]) in html


@pytest.mark.parametrize("name", ["summary", "active-trades", "signals", "journal"])
def test_a_part_runs_the_same_few_queries_however_many_rows(
    trader_client, now_trade, name, django_assert_max_num_queries, many_trades
):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert part(trader_client, name).status_code == 200
        return len(queries)

    now_trade()
    few = count()
    for i in range(15):
        trade = now_trade(symbol=f"C{i}USDT")
        if i % 2:
            services.trade_close(trade_id=trade.pk)

    assert count() == few
    with django_assert_max_num_queries(6):  # session, user, and at most 4 for the part itself
        part(trader_client, name)


def test_close_button_closes_the_trade_and_tells_the_page(trader_client, now_trade):
    trade = now_trade()

    response = trader_client.post(reverse("trade-close", args=[trade.pk]), **HTMX)

    assert response.status_code == 200
    assert response["HX-Trigger"] == "ledgerChanged"
    # 50 at 100 closed at 100: the fees alone, 5 + 5 = -10, a tenth of the 100 risked
    link = f'<a href="/trades/{trade.pk}/">#{trade.pk}</a>'
    assert f"Closed trade {link} (LONG BTCUSDT) at 100.00: \u221210.00 (\u22120.10R)." in response.content.decode()
    assert (
        '<time datetime="2026-11-25T12:00:00+00:00">12:00:00</time>' in response.content.decode()
    )  # when, in the trading zone
    trade.refresh_from_db()
    assert (trade.status, trade.exit_price) == (PaperTrade.Status.MANUAL_CLOSE, Decimal("100"))


def test_closing_a_trade_a_tick_already_closed_says_so_in_the_notice_and_409_to_a_plain_post(trader_client, now_trade):
    trade = now_trade()
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("90"), trade.entry_time + timedelta(seconds=1))])

    response = trader_client.post(reverse("trade-close", args=[trade.pk]), **HTMX)
    plain = trader_client.post(reverse("trade-close", args=[trade.pk]))

    # HTMX's answer is the notice that says why: a 4xx would be an error in the browser's console
    assert response.status_code == 200
    assert "already closed (Stop loss)" in response.content.decode()
    assert 'class="notice error"' in response.content.decode()
    assert response["HX-Trigger"] == "ledgerChanged"
    assert plain.status_code == 409
    assert "already closed (Stop loss)" in plain.content.decode()
    trade.refresh_from_db()
    assert (trade.status, trade.exit_price) == (PaperTrade.Status.STOP_LOSS, Decimal("90"))


def test_closing_an_unknown_trade_is_404_with_a_message(trader_client):
    response = trader_client.post(reverse("trade-close", args=[999999]))

    assert response.status_code == 404
    assert "No trade with id 999999" in response.content.decode()


def test_execute_button_opens_the_trade(trader_client, make_signal):
    signal = make_signal(timestamp=timezone.now())

    response = trader_client.post(reverse("signal-execute", args=[signal.signal_id]), **HTMX)

    assert response.status_code == 200
    assert PaperTrade.objects.get().signal_id == signal.signal_id


def test_executing_an_expired_signal_is_409_and_writes_nothing(trader_client, make_signal):
    signal = make_signal(timestamp=timezone.now())
    services.signal_expire(signal_id=signal.signal_id)

    response = trader_client.post(reverse("signal-execute", args=[signal.signal_id]))

    assert response.status_code == 409
    assert "is expired; only a waiting signal can be executed" in response.content.decode()
    assert not PaperTrade.objects.exists()


def test_expire_button_records_who_dismissed_it(trader_client, make_signal):
    signal = make_signal(timestamp=timezone.now())

    trader_client.post(reverse("signal-expire", args=[signal.signal_id]), **HTMX)

    signal.refresh_from_db()
    assert (signal.status, signal.status_reason) == (Signal.Status.EXPIRED, "Dismissed by trader.")


def test_plain_form_post_redirects_back_with_a_message(trader_client, now_trade):
    trade = now_trade()

    response = trader_client.post(reverse("trade-close", args=[trade.pk]), follow=True)

    assert response.redirect_chain == [(reverse("dashboard"), 302)]
    assert f'Closed trade <a href="/trades/{trade.pk}/">#{trade.pk}</a>' in response.content.decode()


def test_plain_form_post_that_fails_shows_the_page_with_the_error(trader_client, now_trade):
    trade = now_trade()
    services.trade_close(trade_id=trade.pk)

    response = trader_client.post(reverse("trade-close", args=[trade.pk]))

    assert response.status_code == 409
    assert 'class="notice error"' in response.content.decode()


def test_posts_without_the_csrf_token_are_refused(trader, now_trade):
    trade = now_trade()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(trader)

    assert strict.post(reverse("trade-close", args=[trade.pk]), **HTMX).status_code == 403
    assert PaperTrade.objects.get().status == PaperTrade.Status.OPEN

    strict.get(reverse("dashboard"))  # sets the CSRF cookie, as the page does
    token = strict.cookies["csrftoken"].value
    assert strict.post(reverse("trade-close", args=[trade.pk]), HTTP_X_CSRFTOKEN=token, **HTMX).status_code == 200


def test_a_past_day_shows_its_journal_and_signals_and_does_not_poll(trader_client, open_trade):
    trade = open_trade()  # on 2026-11-20, the fixed day of the tests
    services.trade_close(trade_id=trade.pk, price=Decimal("103"), at=trade.entry_time + timedelta(minutes=5))

    html = trader_client.get(reverse("dashboard-day", args=["2026-11-20"])).content.decode()

    assert f'id="journal-{trade.pk}"' in html
    assert f'id="signal-{trade.signal_id}"' in html
    assert "+139.85" in html
    assert "data-poll-ms" not in html
    assert "hx-trigger" not in html
    assert 'href="/day/2026-11-19/"' in html
    assert 'href="/day/2026-11-21/"' in html


def test_an_empty_day_says_so(trader_client):
    html = trader_client.get(reverse("dashboard-day", args=["2026-01-05"])).content.decode()

    assert "No signals on this day." in html
    assert "No trades closed on this day." in html


def test_today_polls_and_has_no_next_day(trader_client):
    html = trader_client.get(reverse("dashboard")).content.decode()

    assert "data-poll-ms=" in html
    assert 'rel="next"' not in html


def test_date_picker_redirects_to_the_bookmarkable_day_url(trader_client):
    response = trader_client.get(reverse("dashboard"), {"date": "2026-11-19"})

    assert response.status_code == 302
    assert response["Location"] == "/day/2026-11-19/"


@pytest.mark.parametrize("url", ["/day/2026-02-31/", "/day/20261119/"])
def test_an_impossible_date_is_404(trader_client, url):
    assert trader_client.get(url).status_code == 404


def test_a_future_day_is_404_with_a_message(trader_client):
    future = today() + timedelta(days=3)

    response = trader_client.get(reverse("dashboard-day", args=[future]))

    assert response.status_code == 404
    assert "has not happened yet" in response.content.decode()


@pytest.mark.parametrize("name", ["summary", "active-trades", "signals", "journal"])
def test_a_poll_that_finds_nothing_changed_gets_304_from_one_query(
    trader_client, now_trade, name, django_assert_num_queries
):
    now_trade()
    first = part(trader_client, name)
    etag = first["ETag"]

    with django_assert_num_queries(3):  # session, user, and the ledger's version
        again = part(trader_client, name, etag=etag)

    assert again.status_code == 304
    assert "no-cache" in first["Cache-Control"]


def test_a_write_changes_every_parts_etag(trader_client, now_trade):
    trade = now_trade()
    before = {name: part(trader_client, name)["ETag"] for name in ("summary", "active-trades", "signals", "journal")}

    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("101"), trade.entry_time + timedelta(seconds=1))])

    for name, etag in before.items():
        assert part(trader_client, name, etag=etag).status_code == 200, name


def test_the_active_trades_etag_holds_within_a_minute_and_turns_with_it(trader_client, now_trade, time_machine):
    now_trade()  # opened at NOW, the start of a minute
    etag = part(trader_client, "active-trades")["ETag"]

    time_machine.move_to(NOW + timedelta(seconds=59), tick=False)
    within = part(trader_client, "active-trades", etag=etag)
    time_machine.move_to(NOW + timedelta(minutes=1), tick=False)
    turned = part(trader_client, "active-trades", etag=etag)

    assert within.status_code == 304
    assert turned.status_code == 200
    assert turned["ETag"] != etag
    assert ">1m</td>" in turned.content.decode()  # the trade's age: why the minute is in this ETag


def test_the_signals_etag_turns_with_the_minute_as_their_ages_and_time_left_do(
    trader_client, make_signal, time_machine
):
    make_signal(timestamp=NOW)
    etag = part(trader_client, "signals")["ETag"]

    time_machine.move_to(NOW + timedelta(minutes=2), tick=False)
    turned = part(trader_client, "signals", etag=etag)

    assert turned.status_code == 200
    assert ">2m</td>" in turned.content.decode()  # the signal's age


@pytest.mark.parametrize("name", ["summary", "journal"])
def test_the_other_parts_etags_hold_when_the_minute_turns(trader_client, now_trade, name, time_machine):
    now_trade()
    etag = part(trader_client, name)["ETag"]

    time_machine.move_to(NOW + timedelta(minutes=1), tick=False)

    assert part(trader_client, name, etag=etag).status_code == 304  # nothing in them ages


@pytest.mark.time_machine(LAST_SECOND, tick=False)
def test_at_23_59_59_todays_parts_show_that_seconds_signal_and_close(trader_client, around_midnight):
    m = around_midnight

    signals, journal, summary = (
        part(trader_client, name).content.decode() for name in ("signals", "journal", "summary")
    )

    assert f'id="signal-{m.late.signal_id}"' in signals
    assert f'id="signal-{m.early.signal_id}"' not in signals
    assert f'id="journal-{m.won.pk}"' in journal
    assert f'id="journal-{m.lost.pk}"' not in journal
    assert "+139.85" in summary
    assert "1 of 1 closed" in summary


@pytest.mark.time_machine(MIDNIGHT, tick=False)
def test_at_midnight_todays_parts_hold_only_that_seconds_signal_and_close(trader_client, around_midnight):
    m = around_midnight

    signals, journal, summary = (
        part(trader_client, name).content.decode() for name in ("signals", "journal", "summary")
    )

    assert f'id="signal-{m.early.signal_id}"' in signals
    assert f'id="signal-{m.late.signal_id}"' not in signals
    assert f'id="journal-{m.lost.pk}"' in journal
    assert f'id="journal-{m.won.pk}"' not in journal
    assert "\u221259.95" in summary
    assert "0 of 1 closed" in summary


def test_the_full_page_is_never_a_304(trader_client):
    response = trader_client.get(reverse("dashboard"))

    assert not response.has_header("ETag")


def test_signals_part_counts_the_days_signals_by_status_and_action(trader_client, make_signal, now_trade):
    now_trade()  # its signal: EXECUTED, BUY
    make_signal(timestamp=timezone.now(), action="SELL")  # GENERATED
    services.signal_expire(signal_id=make_signal(timestamp=timezone.now()).signal_id)  # EXPIRED, BUY

    html = part(trader_client, "signals").content.decode()

    assert "3:" in html
    assert "1 waiting, 1 executed, 0 closed, 1 expired" in html
    assert "2 buy, 1 sell" in html


def test_a_database_fault_on_a_page_is_a_plain_503_page(trader_client, now_trade, request):
    trade = now_trade()
    request.getfixturevalue("read_only_database")  # every write fails from now on, as on a full disk

    response = trader_client.post(f"/trades/{trade.pk}/close/")

    assert response.status_code == 503
    assert "The database is not answering" in response.content.decode()
    assert int(response["Retry-After"]) > 0


@pytest.mark.parametrize("day", ["0001-01-01", "1969-12-31", "9999-12-31"])
def test_a_day_outside_1970_to_2199_is_a_404(trader_client, day):
    assert trader_client.get(f"/day/{day}/").status_code == 404


@pytest.mark.parametrize(
    ("value", "message"),
    [("0001-01-01", "Enter a day from 1 Jan 1970"), ("next tuesday", "Enter a day as 25 Nov 2026")],
)
def test_the_date_picker_refuses_what_is_not_a_day_of_the_ledger_with_400_naming_the_field(
    trader_client, value, message
):
    response = trader_client.get("/", {"date": value})

    assert response.status_code == 400
    assert f"Date: {message}" in response.content.decode()


def test_a_control_character_in_a_form_is_refused_before_any_view(trader_client):
    response = trader_client.post(reverse("login"), {"username": "trader\x00", "password": "x"})

    assert response.status_code == 400
    assert b"username contains a control character" in response.content


def test_the_signals_part_shows_the_waiting_first_then_the_latest_handled_a_page_at_most(
    trader_client, make_signal, settings
):
    now = timezone.now()
    handled = [make_signal(timestamp=now - timedelta(minutes=30 - n)) for n in range(25)]
    for signal in handled:
        services.signal_expire(signal_id=signal.signal_id)
    waiting = [make_signal(timestamp=now - timedelta(minutes=40 - n)) for n in range(3)]  # older than every handled one

    html = part(trader_client, "signals").content.decode()

    shown = re.findall(r'<tr id="signal-([^"]+)"', html)
    # 3 waiting (the latest first), then the 17 latest of the 25 handled: 20 in all
    assert shown == [s.signal_id for s in reversed(waiting)] + [s.signal_id for s in reversed(handled)][:17]
    assert '<a href="/day/2026-11-25/signals/">All 28 signals of the day</a>' in html


def test_execute_first_shows_what_it_would_do_and_writes_nothing(trader_client, make_signal):
    signal = make_signal(timestamp=timezone.now() - timedelta(seconds=42))
    services.prices_apply(
        ticks=[
            Tick(
                "BTCUSDT",
                Decimal("100"),
                timezone.now() - timedelta(seconds=7),
                bid=Decimal("99.9"),
                ask=Decimal("100.1"),
            )
        ]
    )

    response = trader_client.get(reverse("signal-execute", args=[signal.signal_id]), **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert not PaperTrade.objects.exists()
    # a buy fills at the ask, 100.1; stop 2% below, rounded toward the fill: 98.098; 100 risked over 2.002 a unit
    assert '<span class="num" id="confirm-fill">100.10</span>' in html
    assert "the last price, 100.00 7s ago, at its ask" in html
    assert '<span class="num" id="confirm-size">49.95004995</span>' in html  # 100 / 2.002, rounded down
    assert '<span class="num" id="confirm-risk">100.00</span>' in html
    assert "1.00% of the balance, to the stop 98.098" in html
    assert "sent 11:59:18: 42s ago, at 100.00" in html


def test_execute_of_a_signal_that_cannot_be_taken_says_why_before_anything(trader_client, make_signal):
    signal = make_signal(
        timestamp=timezone.now() - timedelta(minutes=7)
    )  # no tick, and past the 5 minutes a signal's price holds

    response = trader_client.get(reverse("signal-execute", args=[signal.signal_id]), **HTMX)

    assert response.status_code == 200  # the dialog that says why
    assert "the signal is 7 min old; a signal can be taken for 5 min" in response.content.decode()
    assert "Confirm" not in response.content.decode()


def test_execute_without_javascript_confirms_on_a_page_of_its_own(trader_client, make_signal):
    signal = make_signal(timestamp=timezone.now())

    html = trader_client.get(reverse("signal-execute", args=[signal.signal_id])).content.decode()

    assert "<html" in html
    assert 'id="confirm-fill"' in html
    assert f'<form method="post" action="/signals/{signal.signal_id}/execute/"' in html


def quote_tick(price: str, bid: str, ask: str, seconds_ago: int = 7) -> None:
    tick = Tick("BTCUSDT", Decimal(price), timezone.now() - timedelta(seconds=seconds_ago), Decimal(bid), Decimal(ask))
    services.prices_apply(ticks=[tick])


@pytest.fixture
def minute_old_trade(open_trade):
    """A trade opened a minute ago, so ticks of the last seconds mark it."""
    return lambda: open_trade(timestamp=NOW - timedelta(minutes=2), at=NOW - timedelta(minutes=1))


def test_close_first_shows_the_fill_and_what_it_would_realize_and_writes_nothing(trader_client, minute_old_trade):
    trade = minute_old_trade()  # LONG 50 BTCUSDT at 100, stop 98: 1R = 100
    quote_tick("102.1", bid="102", ask="102.2")  # a LONG exits at the bid

    response = trader_client.get(reverse("trade-close", args=[trade.pk]), **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html  # the dialog's content
    assert f"Close trade #{trade.pk} (LONG BTCUSDT)?" in html
    assert '<span class="num" id="confirm-fill">102.00</span>' in html
    assert "the last price, 102.10 7s ago, at its bid" in html
    # (102 - 100) * 50 = 100, less fees 5 (entry) + 5.10 (0.001 * 102 * 50) = +89.90; / 100 risk; / 5,000 notional
    assert '<span class="num gain" id="confirm-pnl">+89.90</span>' in html
    assert "+0.90R, +1.80%, after fees of 10.10" in html
    assert '<input type="hidden" name="expected_price" value="102">' in html
    assert "more than 0.5% away from 102.00, nothing is done" in html
    assert (
        f'hx-get="/trades/{trade.pk}/close/" hx-trigger="sse:prices.applied, poll from:body"' in html
    )  # refreshed while open
    assert PaperTrade.objects.get(pk=trade.pk).is_open


def test_the_close_confirmation_refreshed_shows_the_market_now(trader_client, minute_old_trade):
    trade = minute_old_trade()
    quote_tick("102.1", bid="102", ask="102.2")
    quote_tick("99.1", bid="99", ask="99.2", seconds_ago=1)

    html = trader_client.get(reverse("trade-close", args=[trade.pk]), HTTP_HX_TARGET="confirm-live", **HTMX)
    html = html.content.decode()

    # (99 - 100) * 50 = -50, less fees 5 + 4.95 = -59.95
    assert '<span class="num" id="confirm-fill">99.00</span>' in html
    assert '<span class="num loss" id="confirm-pnl">\u221259.95</span>' in html
    assert '<input type="hidden" name="expected_price" value="99">' in html


def test_the_close_confirmation_of_a_closed_trade_says_so_with_only_cancel(trader_client, minute_old_trade):
    trade = minute_old_trade()
    services.trade_close(trade_id=trade.pk, price=Decimal("104"), reason=PaperTrade.Status.TAKE_PROFIT)

    html = trader_client.get(reverse("trade-close", args=[trade.pk]), **HTMX).content.decode()

    assert f"Trade #{trade.pk} is closed already (Take profit at 104.00, +189.80)." in html  # 200 - (5 + 5.2)
    assert "Confirm" not in html


def test_close_without_javascript_confirms_on_a_page_of_its_own(trader_client, minute_old_trade):
    trade = minute_old_trade()

    html = trader_client.get(reverse("trade-close", args=[trade.pk])).content.decode()

    assert "<html" in html
    assert f"<title>Close #{trade.pk} · Paper ledger</title>" in html
    assert '<span class="num" id="confirm-fill">100.00</span>' in html
    assert f'<form method="post" action="/trades/{trade.pk}/close/"' in html
    assert '<a href="/">Cancel</a>' in html


def test_close_confirmed_at_the_fill_seen_closes_there(trader_client, minute_old_trade):
    trade = minute_old_trade()
    quote_tick("102.1", bid="102", ask="102.2")

    response = trader_client.post(reverse("trade-close", args=[trade.pk]), {"expected_price": "102"}, **HTMX)

    assert "Closed trade" in response.content.decode()
    assert PaperTrade.objects.get(pk=trade.pk).exit_price == Decimal("102")


def test_close_past_the_deviation_shows_the_confirmation_again_with_the_new_fill(trader_client, minute_old_trade):
    trade = minute_old_trade()
    quote_tick("102.1", bid="102", ask="102.2")
    quote_tick("102.7", bid="102.6", ask="102.8", seconds_ago=1)  # the bid moved 0.6 / 102 = +0.59%

    response = trader_client.post(reverse("trade-close", args=[trade.pk]), {"expected_price": "102"}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200  # HTMX: the dialog again, which says why
    assert (response["HX-Retarget"], response["HX-Reswap"]) == ("#confirm", "innerHTML")
    assert "The fill moved from 102 to 102.6 (+0.59%), more than the 0.5% you accept; nothing was done." in html
    assert '<span class="num" id="confirm-fill">102.60</span>' in html
    assert '<input type="hidden" name="expected_price" value="102.6">' in html
    assert PaperTrade.objects.get(pk=trade.pk).is_open

    plain = trader_client.post(reverse("trade-close", args=[trade.pk]), {"expected_price": "102"})
    assert plain.status_code == 409
    assert "<html" in plain.content.decode()
    assert "The fill moved from 102 to 102.6" in plain.content.decode()
    assert PaperTrade.objects.get(pk=trade.pk).is_open


def test_execute_past_the_deviation_is_refused_with_the_new_fill_and_nothing_written(trader_client, make_signal):
    signal = make_signal(timestamp=timezone.now() - timedelta(seconds=10))
    quote_tick("100", bid="99.9", ask="100.1")
    seen = trader_client.get(reverse("signal-execute", args=[signal.signal_id]), **HTMX).content.decode()
    assert '<input type="hidden" name="expected_price" value="100.1">' in seen
    quote_tick("100.7", bid="100.6", ask="100.8", seconds_ago=1)  # the ask moved 0.7 / 100.1 = +0.70%

    response = trader_client.post(
        reverse("signal-execute", args=[signal.signal_id]), {"expected_price": "100.1"}, **HTMX
    )

    html = response.content.decode()
    assert "The fill moved from 100.1 to 100.8 (+0.70%)" in html
    assert '<span class="num" id="confirm-fill">100.80</span>' in html
    assert not PaperTrade.objects.exists()
    assert Signal.objects.get(pk=signal.pk).status == Signal.Status.GENERATED

    plain = trader_client.post(reverse("signal-execute", args=[signal.signal_id]), {"expected_price": "100.1"})
    assert plain.status_code == 409
    assert not PaperTrade.objects.exists()

    taken = trader_client.post(reverse("signal-execute", args=[signal.signal_id]), {"expected_price": "100.8"})
    assert taken.status_code == 302
    assert PaperTrade.objects.get().entry_price == Decimal("100.8")


@pytest.mark.parametrize(
    "url",
    [
        "/day/2026-11-26/",
        "/day/2199-12-31/",
        "/day/9999-12-31/",
        "/?date=2026-11-26",
        "/?date=26 Nov 2026",
        "/day/2026-12-25/signals/",
    ],
)
def test_every_way_to_a_day_that_has_not_happened_answers_the_same_404(trader_client, url):
    response = trader_client.get(url, follow=True)

    assert response.status_code == 404
    assert "has not happened yet." in response.content.decode()


def test_all_the_signals_of_a_day_a_page_at_a_time(trader_client, make_signal):
    for n in range(101):
        make_signal(timestamp=timezone.now() - timedelta(seconds=n))

    first = trader_client.get("/day/2026-11-25/signals/").content.decode()
    second = trader_client.get("/day/2026-11-25/signals/", {"page": 2}).content.decode()

    assert first.count('<tr id="signal-') == 100
    assert second.count('<tr id="signal-') == 1
    assert "<h2>101 signals <span" in first
    assert "page 2 of 2" in second
    assert "Execute" not in first  # the day's page is where they are acted on


def test_a_past_days_summary_is_how_it_ended_with_nothing_live(trader_client, open_trade, time_machine):
    trade = open_trade()  # 2026-11-20, 50 at 100
    services.trade_close(trade_id=trade.pk, price=Decimal("103"), at=trade.entry_time + timedelta(minutes=5))  # +139.85
    later = open_trade(symbol="ETHUSDT", timestamp=NOW - timedelta(minutes=1), at=NOW)
    services.trade_close(trade_id=later.pk, price=Decimal("99"))  # today's close, after the 20th

    html = trader_client.get("/day/2026-11-20/").content.decode()

    assert '<span class="value num" id="day-end-balance">10,139.85</span>' in html  # 10,000 + 139.85, not today's
    assert 'id="day-open">0</span>' in html
    assert "Cash" not in html
    assert "unrealized" not in html


def test_a_poll_is_sent_gzipped_and_its_weakened_etag_still_answers_304(trader_client, now_trade):
    now_trade()
    plain = part(trader_client, "active-trades")

    zipped = trader_client.get(
        reverse("dashboard"), HTTP_HX_TARGET="active-trades", HTTP_ACCEPT_ENCODING="gzip", **HTMX
    )
    again = trader_client.get(
        reverse("dashboard"),
        HTTP_HX_TARGET="active-trades",
        HTTP_ACCEPT_ENCODING="gzip",
        HTTP_IF_NONE_MATCH=zipped["ETag"],
        **HTMX,
    )

    assert zipped["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped["Vary"]
    assert len(zipped.content) < len(plain.content) / 2  # one row: the padding (up to 99 bytes) weighs
    assert (
        gzip.decompress(zipped.content).split(b"csrfmiddlewaretoken")[0]
        == plain.content.split(b"csrfmiddlewaretoken")[0]
    )
    assert zipped["ETag"] == f"W/{plain['ETag']}"
    assert again.status_code == 304


def test_a_csv_export_is_streamed_as_it_is(trader_client, now_trade):
    response = trader_client.get(reverse("export-journal"), HTTP_ACCEPT_ENCODING="gzip")

    assert response.status_code == 200
    assert not response.has_header("Content-Encoding")


def signal_row(html: str, signal: Signal) -> str:
    return re.search(rf'<tr id="signal-{signal.signal_id}".*?</tr>', html, re.S).group(0)


def test_the_board_says_before_the_click_which_signals_can_be_taken_and_why_not_the_others(
    trader_client, now_trade, make_signal
):
    now_trade()  # BTCUSDT is open: the account takes one trade a symbol
    on_open_symbol = make_signal(timestamp=NOW)
    takeable = make_signal(symbol="ETHUSDT", timestamp=NOW - timedelta(minutes=2))
    too_old = make_signal(symbol="SOLUSDT", timestamp=NOW - timedelta(minutes=6))

    html = part(trader_client, "signals").content.decode()

    row = signal_row(html, takeable)
    assert 'class="takeable"' in row
    assert ">Execute</button>" in row
    assert ">2m</td>" in row  # its age, beside its price
    assert "at 100.00 &middot; 2m" in row  # the same, where a phone shows them: under the symbol
    row = signal_row(html, on_open_symbol)
    assert "Execute" not in row
    assert "Cannot be taken: a trade on BTCUSDT is open already, and the account takes one trade a symbol." in row
    assert ">Expire</button>" in row  # it can still be dismissed
    row = signal_row(html, too_old)
    assert "Execute" not in row
    assert "Cannot be taken: the signal is 6 min old; a signal can be taken for 5 min after it is sent." in row


def test_a_refused_executes_dialog_names_the_signal(trader_client, make_signal):
    old = make_signal(timestamp=NOW - timedelta(minutes=7))

    response = trader_client.get(reverse("signal-execute", args=[old.signal_id]), **HTMX)

    assert response.status_code == 200
    assert f"Cannot execute signal {old.signal_id} (BUY BTCUSDT at 100.00)" in response.content.decode()
