"""The trade page (/trades/<id>/): its facts, its chart's data, its notes and tags, moving its levels; and a
day's diary on the dashboard. Through Django's test client; the browser tests draw the chart."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from ledger import services
from ledger.inputs import Tick
from ledger.models import DayNote, PaperTrade, PriceCandle

from .conftest import NOW, T0
from .helpers import HTMX

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]


def candle(minute: datetime, open_: str, high: str, low: str, close: str, symbol: str = "BTCUSDT") -> PriceCandle:
    return PriceCandle(
        symbol=symbol,
        minute=minute,
        open=Decimal(open_),
        high=Decimal(high),
        low=Decimal(low),
        close=Decimal(close),
        ticks=3,
    )


@pytest.fixture
def closed_hour(open_trade):
    """LONG 50 BTCUSDT at 100 (10:01), closed by hand at 102.5 at 11:00, having seen 103 and 99.5; tagged."""
    trade = open_trade(confluences=["trend", "volume"], timeframe="15m", confidence=Decimal("0.65"))
    services.trade_close(trade_id=trade.pk, price=Decimal("102.5"), at=T0 + timedelta(hours=1))
    # The high and low a trade saw are written by the price feed's ticks (another change); set here.
    PaperTrade.objects.filter(pk=trade.pk).update(max_price=Decimal("103"), min_price=Decimal("99.5"))
    return services.trade_annotate(
        trade_id=trade.pk, notes="Entered on the retest.\n\nExit was early.", tags=["A+ setup"]
    )


def test_the_page_says_everything_about_a_closed_trade(viewer_client, closed_hour):
    html = viewer_client.get(reverse("trade", args=[closed_hour.pk])).content.decode()

    assert f"Trade #{closed_hour.pk}" in html
    assert "+114.88" in html  # realized: 2.5 * 50 - (5 + 5.125) = 114.875
    assert "+2.30% &middot; +1.15R" in html  # 114.875 / 5000 notional; / 100 risk
    assert "notional 5,000.00" in html
    assert "98.00 / 104.00" in html  # stop / target
    assert "100.00" in html
    assert "10.12" in html
    assert "+150.00" in html
    assert "+1.50R &middot; high 103.00" in html
    assert "\u221225.00" in html
    assert "\u22120.25R &middot; low 99.50" in html
    assert "59m" in html  # held 10:01 to 11:00
    assert "trend</span>" in html
    assert "15m" in html
    assert "65%" in html
    assert closed_hour.signal_id in html
    assert "<p>Entered on the retest.</p>" in html
    assert "<p>Exit was early.</p>" in html
    assert 'href="/journal/?tag=A%2B%20setup"' in html


def test_a_shorts_best_excursion_is_its_low_and_its_worst_its_high(viewer_client, open_trade):
    """SELL 50 BTCUSDT at 100 that saw 103 and 99.5: its MFE is measured at the low, its MAE at the high."""
    trade = open_trade(action="SELL")
    PaperTrade.objects.filter(pk=trade.pk).update(max_price=Decimal("103"), min_price=Decimal("99.5"))

    html = viewer_client.get(reverse("trade", args=[trade.pk])).content.decode()

    # MFE: (100 - 99.5) * 50 = 25 = +0.25R of 100; MAE: (100 - 103) * 50 = -150 = -1.50R
    assert "+0.25R &middot; low 99.50" in html
    assert "\u22121.50R &middot; high 103.00" in html


def test_an_excursion_of_nothing_is_not_coloured_as_a_loss(viewer_client, open_trade):
    trade = open_trade()  # LONG at 100 that has seen only 100: no excursion either way
    PaperTrade.objects.filter(pk=trade.pk).update(max_price=Decimal("100"), min_price=Decimal("100"))

    html = viewer_client.get(reverse("trade", args=[trade.pk])).content.decode()

    assert '<span class="value num flat">0.00</span>' in html  # the MAE
    assert '<span class="value num loss">' not in html


def test_an_unknown_trade_is_not_found_and_the_page_needs_a_login(viewer_client, client):
    assert viewer_client.get(reverse("trade", args=[999])).status_code == 404
    assert client.get(reverse("trade", args=[1])).status_code == 302


def test_without_price_history_the_page_says_so_instead_of_a_chart(viewer_client, closed_hour):
    html = viewer_client.get(reverse("trade", args=[closed_hour.pk])).content.decode()

    assert 'id="no-history"' in html
    assert "No price history of BTCUSDT from 20 Nov 09:31 to 20 Nov 11:30" in html
    assert "data-trade-chart" not in html
    assert "lightweight-charts" not in html


def test_with_price_history_the_page_has_the_chart_its_script_and_the_attribution(viewer_client, closed_hour):
    PriceCandle.objects.bulk_create([candle(T0, "100", "100.5", "99.8", "100.2")])

    html = viewer_client.get(reverse("trade", args=[closed_hour.pk])).content.decode()

    assert f'data-url="/trades/{closed_hour.pk}/chart.json"' in html
    assert "vendor/lightweight-charts/lightweight-charts.standalone.production.js" in html
    assert '<a href="https://www.tradingview.com/">TradingView Lightweight Charts™</a>' in html


def test_the_chart_data_has_the_candles_of_the_span_the_markers_and_the_levels(viewer_client, closed_hour):
    PriceCandle.objects.bulk_create(
        [
            candle(T0 - timedelta(minutes=31), "1", "1", "1", "1"),  # 09:29: before the span (from 09:31)
            candle(T0, "100", "100.5", "99.8", "100.2"),
            candle(T0 + timedelta(minutes=1), "100.2", "101", "100.1", "100.9"),
            candle(T0 + timedelta(minutes=1), "5", "5", "5", "5", symbol="ETHUSDT"),  # another symbol
        ]
    )

    data = viewer_client.get(reverse("trade-chart", args=[closed_hour.pk])).json()

    ten = int(T0.timestamp())  # the chart's time: seconds since 1970 on the trading day's clock (UTC here)
    assert data["minutes"] == 1
    assert data["candles"] == [
        {"time": ten, "open": "100.00000000", "high": "100.50000000", "low": "99.80000000", "close": "100.20000000"},
        {
            "time": ten + 60,
            "open": "100.20000000",
            "high": "101.00000000",
            "low": "100.10000000",
            "close": "100.90000000",
        },
    ]
    assert data["markers"] == [
        {"kind": "entry", "time": ten + 60, "price": "100.00000000"},
        {"kind": "exit", "time": ten + 3600, "price": "102.50000000", "reason": "Manual close"},
    ]
    assert [(line["kind"], line["price"]) for line in data["lines"]] == [
        ("entry", "100.00000000"),
        ("stop", "98.00000000"),
        ("target", "104.00000000"),
        ("exit", "102.50000000"),
    ]
    assert (data["direction"], data["open"], data["precision"]) == ("LONG", False, 2)


def test_a_long_trade_s_chart_merges_minutes_into_longer_candles(viewer_client, open_trade):
    trade = open_trade()  # entered 10:01
    services.trade_close(trade_id=trade.pk, price=Decimal("101"), at=T0 + timedelta(hours=20))
    # held 20 h: a margin of 5 h each side, 30 h in all, 1,800 minutes: more than 720 candles, so 5-minute ones
    prices = [
        ("100", "101", "99", "100.5"),
        ("100.5", "102", "100", "101"),
        ("101", "101.5", "98", "99"),
        ("99", "99.5", "97", "98"),
        ("98", "99", "97.5", "98.5"),
        ("98.5", "103", "98", "102"),
        ("102", "102.5", "101", "101.5"),
    ]
    PriceCandle.objects.bulk_create(candle(T0 + timedelta(minutes=n), *p) for n, p in enumerate(prices))

    data = viewer_client.get(reverse("trade-chart", args=[trade.pk])).json()

    ten = int(T0.timestamp())
    assert data["minutes"] == 5
    assert data["candles"] == [
        # 10:00-10:04: the first open, the highest high, the lowest low, the last close
        {"time": ten, "open": "100.00000000", "high": "102.00000000", "low": "97.00000000", "close": "98.50000000"},
        {
            "time": ten + 300,
            "open": "98.50000000",
            "high": "103.00000000",
            "low": "98.00000000",
            "close": "101.50000000",
        },
    ]
    assert data["markers"][0]["time"] == ten  # the entry at 10:01 is in the candle of 10:00


def test_the_chart_shows_times_on_the_trading_day_s_clock(viewer_client, closed_hour, settings):
    from zoneinfo import ZoneInfo

    settings.TRADING_DAY_TZ = ZoneInfo("Asia/Tokyo")
    PriceCandle.objects.bulk_create([candle(T0, "100", "100.5", "99.8", "100.2")])

    data = viewer_client.get(reverse("trade-chart", args=[closed_hour.pk])).json()

    assert data["candles"][0]["time"] == int(T0.timestamp()) + 9 * 3600  # 19:00 in Tokyo, drawn as 19:00


def test_an_open_trade_s_facts_refresh_and_answer_304_while_nothing_changed(viewer_client, open_trade):
    trade = open_trade()
    first = viewer_client.get(reverse("trade", args=[trade.pk]), HTTP_HX_TARGET="facts", **HTMX)
    assert first.status_code == 200
    assert 'id="facts"' in first.content.decode()
    assert "<html" not in first.content.decode()

    again = viewer_client.get(
        reverse("trade", args=[trade.pk]), HTTP_HX_TARGET="facts", HTTP_IF_NONE_MATCH=first["ETag"], **HTMX
    )
    assert again.status_code == 304

    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("102"), NOW)])
    moved = viewer_client.get(
        reverse("trade", args=[trade.pk]), HTTP_HX_TARGET="facts", HTTP_IF_NONE_MATCH=first["ETag"], **HTMX
    )
    assert moved.status_code == 200
    assert "+89.90" in moved.content.decode()


# --- Notes and tags


def test_editing_notes_and_tags_in_place(trader_client, open_trade):
    trade = open_trade()
    services.trade_annotate(trade_id=trade.pk, tags=["news", "FOMO"])
    form = trader_client.get(reverse("trade-notes", args=[trade.pk]), **HTMX).content.decode()
    assert 'name="tags" value="news" checked' in form
    assert '<datalist id="tag-choices"><option value="FOMO"><option value="news">' in form

    response = trader_client.post(
        reverse("trade-notes", args=[trade.pk]),
        {
            "notes": "Chased it.\r\nNever again.",
            "tags": ["FOMO"],  # news unticked
            "new_tags": "late entry, A+ setup",
            "version": version_in(form),
        },
        **HTMX,
    )

    assert response.status_code == 200
    assert response["HX-Trigger"] == "ledgerChanged"
    assert "<p>Chased it.<br>Never again.</p>" in response.content.decode()
    trade.refresh_from_db()
    assert (trade.notes, trade.tags) == ("Chased it.\nNever again.", ["FOMO", "late entry", "A+ setup"])
    assert trade.history.first().history_user.username == "trader"


def version_in(form: str) -> str:
    return re.search(r'name="version" value="([^"]+)"', form).group(1)


@pytest.mark.parametrize(
    ("posted", "field"),
    [({}, "notes"), ({"version": "x"}, "notes"), ({"notes": "only the notes"}, "version")],
)
def test_a_notes_form_missing_a_field_is_refused_naming_it_and_empties_nothing(
    trader_client, open_trade, posted, field
):
    trade = services.trade_annotate(trade_id=open_trade().pk, notes="Kept.", tags=["FOMO"])

    response = trader_client.post(reverse("trade-notes", args=[trade.pk]), posted, **HTMX)
    plain = trader_client.post(reverse("trade-notes", args=[trade.pk]), posted)

    assert response.status_code == 200  # HTMX: the part that says why
    assert f"The form sent no {field}; nothing was saved." in response.content.decode()
    assert plain.status_code == 422
    trade.refresh_from_db()
    assert (trade.notes, trade.tags) == ("Kept.", ["FOMO"])


def test_a_form_saved_after_an_api_edit_is_refused_saying_what_changed_and_a_second_save_is_deliberate(
    trader_client, open_trade
):
    trade = open_trade()
    form = trader_client.get(reverse("trade-notes", args=[trade.pk]), **HTMX).content.decode()
    services.trade_annotate(trade_id=trade.pk, tags=["news"], via="API token bot")  # meanwhile, from a program
    typed = {"notes": "Typed in the form.", "new_tags": "FOMO", "version": version_in(form)}

    refused = trader_client.post(reverse("trade-notes", args=[trade.pk]), typed, **HTMX)

    assert refused.status_code == 200  # HTMX: the part that says why
    html = refused.content.decode()
    assert f"The tags of trade {trade.pk} changed since this edit began (tags edited (API token bot)," in html
    assert "Now: tags news; notes of 0 characters." in html
    assert "Typed in the form.</textarea>" in html  # nothing the trader typed is lost
    trade.refresh_from_db()
    assert (trade.notes, trade.tags) == ("", ["news"])  # the API's edit stands
    assert trader_client.post(reverse("trade-notes", args=[trade.pk]), typed).status_code == 409  # a plain post

    again = trader_client.post(reverse("trade-notes", args=[trade.pk]), typed | {"version": version_in(html)}, **HTMX)

    assert again.status_code == 200
    trade.refresh_from_db()
    assert (trade.notes, trade.tags) == ("Typed in the form.", ["FOMO"])


def test_a_bad_tag_shows_the_form_again_with_the_reason_and_writes_nothing(trader_client, open_trade):
    trade = open_trade()
    response = trader_client.post(
        reverse("trade-notes", args=[trade.pk]),
        {"notes": "kept in the form", "new_tags": "x" * 41, "version": trade.notes_version},
        **HTMX,
    )

    assert response.status_code == 200  # HTMX: the part that says why
    html = response.content.decode()
    assert "must be 1 to 40 characters" in html
    assert "kept in the form</textarea>" in html
    trade.refresh_from_db()
    assert (trade.notes, trade.tags) == ("", [])


def test_notes_work_without_javascript(trader_client, open_trade):
    trade = open_trade()
    assert 'name="notes"' in trader_client.get(reverse("trade", args=[trade.pk]), {"edit": "notes"}).content.decode()

    response = trader_client.post(
        reverse("trade-notes", args=[trade.pk]), {"notes": "Plain post.", "version": trade.notes_version}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("trade", args=[trade.pk])
    assert PaperTrade.objects.get(pk=trade.pk).notes == "Plain post."


def test_without_the_trade_permission_the_controls_are_hidden_and_writes_refused(viewer_client, open_trade):
    trade = open_trade()
    html = viewer_client.get(reverse("trade", args=[trade.pk]), {"edit": "notes"}).content.decode()
    assert "Edit</a>" not in html
    assert 'name="notes"' not in html
    assert 'name="stop_loss"' not in html

    assert (
        viewer_client.get(reverse("trade-notes", args=[trade.pk]), **HTMX).status_code == 200
    )  # the notice that says so
    assert viewer_client.post(reverse("trade-notes", args=[trade.pk]), {"notes": "no"}).status_code == 403
    assert viewer_client.post(reverse("trade-levels", args=[trade.pk]), {"stop_loss": "99"}).status_code == 403
    trade.refresh_from_db()
    assert (trade.notes, trade.stop_loss) == ("", Decimal("98"))


# --- Levels


def test_moving_the_stop_from_the_page(trader_client, open_trade):
    trade = open_trade()
    html = trader_client.get(reverse("trade", args=[trade.pk])).content.decode()
    assert 'name="stop_loss" inputmode="decimal" autocomplete="off" value="98"' in html

    response = trader_client.post(
        reverse("trade-levels", args=[trade.pk]), {"stop_loss": "99.25", "take_profit": ""}, **HTMX
    )

    assert response.status_code == 200
    assert response["HX-Trigger"] == "ledgerChanged"
    assert "Stop 99.25, target 104." in response.content.decode()
    trade.refresh_from_db()
    assert (trade.stop_loss, trade.take_profit, trade.risk_amount) == (Decimal("99.25"), Decimal("104"), Decimal("100"))


def test_a_stop_already_crossed_is_refused_with_the_reason(trader_client, open_trade):
    trade = open_trade()
    response = trader_client.post(reverse("trade-levels", args=[trade.pk]), {"stop_loss": "100.5"}, **HTMX)

    assert response.status_code == 200  # HTMX: the part that says why
    assert "The stop 100.5 must be below the last price 100 of this LONG" in response.content.decode()
    assert PaperTrade.objects.get(pk=trade.pk).stop_loss == Decimal("98")


def test_moving_a_closed_trade_s_levels_is_refused_with_the_reason(trader_client, closed_hour):
    response = trader_client.post(reverse("trade-levels", args=[closed_hour.pk]), {"stop_loss": "99"}, **HTMX)
    assert response.status_code == 200  # HTMX: the part that says why
    assert "only an open trade" in response.content.decode()


# --- Links and the journal


def test_the_dashboard_links_its_trades_to_their_pages_and_shows_tags_and_notes(
    viewer_client, open_trade, closed_hour, many_trades
):
    live = open_trade(timestamp=NOW - timedelta(minutes=2), at=NOW - timedelta(minutes=1))
    today = viewer_client.get(reverse("dashboard")).content.decode()
    assert f'<a href="/trades/{live.pk}/"><span class="trade-id">#{live.pk}</span> BTCUSDT</a>' in today

    day = viewer_client.get(reverse("dashboard-day", args=["2026-11-20"])).content.decode()
    assert f'<a href="/trades/{closed_hour.pk}/"><span class="trade-id">#{closed_hour.pk}</span> BTCUSDT</a>' in day
    assert '<span class="chip">A+ setup</span>' in day
    assert 'title="Entered on the retest.' in day


def test_the_admin_list_links_each_trade_to_its_page(admin_client, closed_hour):
    html = admin_client.get(reverse("admin:ledger_papertrade_changelist")).content.decode()
    assert f'href="/trades/{closed_hour.pk}/"' in html


# --- The diary of a day


def test_the_diary_is_written_on_the_day_s_page(trader_client):
    html = trader_client.get(reverse("dashboard-day", args=["2026-11-20"])).content.decode()
    assert 'action="/day/2026-11-20/diary/"' in html

    response = trader_client.post(
        reverse("day-diary", args=["2026-11-20"]), {"text": "Range day; sat on my hands."}, **HTMX
    )

    assert response.status_code == 200
    assert "Saved." in response.content.decode()
    assert DayNote.objects.get().text == "Range day; sat on my hands."
    assert (
        "Range day; sat on my hands.</textarea>"
        in trader_client.get(reverse("dashboard-day", args=["2026-11-20"])).content.decode()
    )


def test_the_diary_of_a_day_to_come_is_refused(trader_client):
    response = trader_client.post(reverse("day-diary", args=["2026-11-26"]), {"text": "Plans"}, **HTMX)
    assert response.status_code == 200  # HTMX: the part that says why
    assert "has not begun" in response.content.decode()
    assert not DayNote.objects.exists()


def test_without_the_permission_the_diary_is_read_not_written(viewer_client):
    services.day_note_write(day=datetime(2026, 11, 20, tzinfo=UTC).date(), text="Read me.")
    html = viewer_client.get(reverse("dashboard-day", args=["2026-11-20"])).content.decode()
    assert "<p>Read me.</p>" in html
    assert 'name="text"' not in html
    assert viewer_client.post(reverse("day-diary", args=["2026-11-20"]), {"text": "no"}).status_code == 403


def test_close_is_one_form_on_the_dashboard_and_the_trade_page_that_asks_first(trader_client, open_trade):
    trade = open_trade(timestamp=NOW - timedelta(minutes=2), at=NOW - timedelta(minutes=1))
    form = (
        f'<form method="get" action="/trades/{trade.pk}/close/" class="inline close-form"\n'
        f'      hx-get="/trades/{trade.pk}/close/" hx-target="#confirm" hx-swap="innerHTML">'
    )

    for html in (
        trader_client.get(reverse("dashboard")).content.decode(),
        trader_client.get(reverse("trade", args=[trade.pk])).content.decode(),
    ):
        assert form in html
        assert '<dialog id="confirm" class="card" aria-labelledby="confirm-title"></dialog>' in html


def test_the_facts_refresh_that_finds_the_trade_closed_tells_the_page_whose_badge_and_manage_card_follow(
    trader_client, open_trade
):
    trade = open_trade()
    page = trader_client.get(reverse("trade", args=[trade.pk])).content.decode()
    assert f'hx-get="/trades/{trade.pk}/" hx-trigger="tradeClosed from:body"' in page  # the badge and the card
    open_facts = trader_client.get(reverse("trade", args=[trade.pk]), HTTP_HX_TARGET="facts", **HTMX)
    assert "HX-Trigger" not in open_facts

    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("104"), T0 + timedelta(minutes=5))])  # the target

    facts = trader_client.get(reverse("trade", args=[trade.pk]), HTTP_HX_TARGET="facts", **HTMX)
    assert facts["HX-Trigger"] == "tradeClosed"
    badge = trader_client.get(reverse("trade", args=[trade.pk]), HTTP_HX_TARGET="trade-status", **HTMX)
    # closed: no refresh any more, but an answer still on its way morphs the part rather than filling it
    assert (
        badge.content.decode()
        == '<span class="status take_profit" id="trade-status" hx-swap="morph">Take profit</span>'
    )
    manage = trader_client.get(reverse("trade", args=[trade.pk]), HTTP_HX_TARGET="manage", **HTMX)
    assert re.fullmatch(r'<div id="manage" hx-swap="morph">\s*</div>', manage.content.decode().strip())  # no Move
    executions = trader_client.get(reverse("trade", args=[trade.pk]), HTTP_HX_TARGET="executions", **HTMX)
    assert "Exit: Take profit" in executions.content.decode()
    assert "hx-get" not in executions.content.decode()


def test_the_chart_after_a_time_holds_only_the_candles_that_start_after_it(viewer_client, open_trade):
    start = NOW - timedelta(minutes=5)  # 11:55 on the day of NOW
    trade = open_trade(timestamp=start - timedelta(minutes=2), at=start - timedelta(minutes=1))  # 1-minute candles
    PriceCandle.objects.bulk_create(
        candle(start + timedelta(minutes=n), p, p, p, p) for n, p in enumerate(["100", "101", "102", "103"])
    )
    ten = int(start.timestamp())

    whole = viewer_client.get(reverse("trade-chart", args=[trade.pk])).json()
    assert [c["time"] for c in whole["candles"]] == [ten, ten + 60, ten + 120, ten + 180]
    assert whole["after"] == ten + 120  # its last candle but one: the last (11:58) may still grow

    PriceCandle.objects.filter(minute=start + timedelta(minutes=3)).update(close=Decimal("103.5"))  # 11:58 grew
    PriceCandle.objects.bulk_create([candle(start + timedelta(minutes=4), "104", "104", "104", "104")])
    newer = viewer_client.get(reverse("trade-chart", args=[trade.pk]), {"after": whole["after"]}).json()

    assert [(c["time"], c["close"]) for c in newer["candles"]] == [
        (ten + 180, "103.50000000"),  # 11:58 again, as it is now
        (ten + 240, "104.00000000"),  # and 11:59, new
    ]
    assert newer["after"] == ten + 180
    assert [m["kind"] for m in newer["markers"]] == ["entry"]  # the markers and lines come whole: they are few
    nothing = viewer_client.get(reverse("trade-chart", args=[trade.pk]), {"after": ten + 240}).json()
    assert (nothing["candles"], nothing["after"]) == ([], ten + 240)  # nothing new: the same cursor again


def test_the_chart_after_longer_candles_starts_at_the_next_candle(viewer_client, open_trade):
    trade = open_trade()
    services.trade_close(trade_id=trade.pk, price=Decimal("101"), at=T0 + timedelta(hours=20))  # 5-minute candles
    PriceCandle.objects.bulk_create(
        candle(T0 + timedelta(minutes=n), "100", str(100 + n), "99", "100") for n in range(12)
    )
    ten = int(T0.timestamp())

    data = viewer_client.get(reverse("trade-chart", args=[trade.pk]), {"after": ten + 60}).json()

    # 10:01 lies in the candle of 10:00: the next ones start at 10:05 (highs 105 to 109) and 10:10 (110, 111)
    assert data["minutes"] == 5
    assert [(c["time"], c["high"]) for c in data["candles"]] == [
        (ten + 300, "109.00000000"),
        (ten + 600, "111.00000000"),
    ]


@pytest.mark.parametrize("after", ["soon", "-5", "1.5", "100000000000"])
def test_a_chart_after_that_is_not_a_time_is_refused_naming_it(viewer_client, open_trade, after):
    trade = open_trade()

    response = viewer_client.get(reverse("trade-chart", args=[trade.pk]), {"after": after})

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "after"
    assert "after must be a time in whole seconds since 1970" in response.json()["detail"][0]["message"]


PRICES = ["106", "111"]


def test_a_bracket_trades_chart_marks_each_exit_and_each_stop_the_trail_moved_to(viewer_client, open_trade):
    trade = open_trade(
        stop_loss=Decimal("98"),
        targets=[{"price": "110", "fraction": "0.5"}, {"price": "120", "fraction": "0.5"}],
        trailing_stop={"distance": "5"},
    )
    at = trade.entry_time + timedelta(minutes=1)
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal(p), at + timedelta(minutes=n)) for n, p in enumerate(PRICES)])

    data = viewer_client.get(reverse("trade-chart", args=[trade.pk])).json()
    page = viewer_client.get(reverse("trade", args=[trade.pk])).content.decode()

    # The trail: 106 - 5 = 101, then 111 - 5 = 106; the first target's half exits at 110.
    assert [(m["kind"], m["price"]) for m in data["markers"]] == [
        ("entry", "100.00000000"),
        ("stop", "101.00000000"),
        ("exit", "110.00000000"),
        ("stop", "106.00000000"),
    ]
    assert "Exit: Take profit" in page
    assert 'id="stop-moves">The stop moved to 101' in page
