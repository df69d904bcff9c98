"""The statistics page through Django's test client: the period, its figures, the charts and the calendar."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ledger import services
from ledger.days import today
from ledger.inputs import Tick
from ledger.selectors import figures as group_figures
from tests.helpers import HTMX, saved_closed

from .conftest import NOW, T0, closed_trade_row

# The default period and the calendar end today: the clock stands still at NOW.
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]


def closes(*pnls: str, first=datetime(2026, 11, 20, 10, tzinfo=UTC)) -> None:
    """One close a day from `first`, with these realized PnLs."""
    saved_closed(
        closed_trade_row(exit_time=first + timedelta(days=i), realized_pnl=Decimal(p), fees=Decimal("1"))
        for i, p in enumerate(pnls)
    )


def page(client, **params) -> str:
    """The whole page with what needs the trades in it (its part's link, as a browser without script asks)."""
    response = client.get("/stats/", params | {"part": "trade-figures"})
    assert response.status_code == 200
    return response.content.decode()


def card(html: str, name: str) -> str:
    """A figure's card of the page, by its id."""
    start = html.index(f'id="{name}"')
    return html[start : html.index("</div>", start)]


def test_ten_thousand_distinct_tags_show_the_largest_fifty_and_one_row_for_the_rest(viewer_client):
    saved_closed(
        closed_trade_row(exit_time=NOW - timedelta(hours=1), realized_pnl=Decimal("1"), tags=[f"tag {n}"])
        for n in range(10_000)
    )

    html = page(viewer_client, period="all")

    assert "9950 others, added up" in html
    assert html.count("?tag=tag%20") == 50  # a link to the history of each tag shown
    assert len(html) < 300_000  # 6.9 MB when every tag had its row


def test_figures_of_a_from_to_period(viewer_client, monkeypatch):
    monkeypatch.setattr(group_figures, "SAMPLE_TRADES", 3)  # these three trades are the sample asked for
    closes("100", "-40", "30")

    html = page(viewer_client, start="2026-11-20", end="2026-11-22")

    figures = html[html.index('id="figures"') :]
    assert "+90.00" in figures  # realized 100 - 40 + 30
    assert "67%" in card(html, "win-rate")  # win rate 2 / 3
    assert "3.25" in card(html, "profit-factor")  # profit factor 130 / 40
    assert "40.00" in figures[figures.index('id="drawdown"') :]  # from 100 down to 60


def test_ratios_of_fewer_trades_than_their_sample_say_not_enough_data(viewer_client):
    closes(*["10", "-5"] * 9, "10")  # 19 trades, one a day: one short of the 20 asked for, on 19 days of 20

    html = page(viewer_client, start="2026-11-20", end="2026-12-09")

    for name in ("win-rate", "profit-factor", "expectancy", "expectancy-r"):
        assert "not enough data" in card(html, name)
        assert "19 of the 20 trades it needs" in card(html, name)
    assert "not enough data" in card(html, "sharpe")
    assert "19 of the 20 days with a close they need" in card(html, "sharpe")
    assert "+55.00" in card(html, "figures")  # realized PnL is a sum, not a ratio: 10 * 10 - 5 * 9
    by_symbol = html[html.index('id="by-symbol"') :]
    assert '<td class="num"><span aria-hidden="true">&mdash;</span><span class="visually-hidden">not enough data' in (
        by_symbol
    )


def test_ratios_of_a_full_sample_are_shown(viewer_client):
    closes(*["10", "-5"] * 10)  # 20 trades on 20 days

    html = page(viewer_client, start="2026-11-20", end="2026-12-09")

    assert "50%" in card(html, "win-rate")  # 10 of 20
    assert "2.00" in card(html, "profit-factor")  # 100 / 50
    assert "+2.50" in card(html, "expectancy")  # 50 / 20
    assert "not enough data" not in card(html, "sharpe")
    assert '<td class="num">50%</td>' in html[html.index('id="by-symbol"') :]


def test_the_equity_curve_has_one_point_per_day_of_the_period(viewer_client):
    closes("100", "-40", "30")

    html = page(viewer_client, start="2026-11-19", end="2026-11-25")  # 7 days, 3 of them with a close

    points = re.search(r'<polyline class="equity" points="([^"]*)"', html).group(1)
    assert len(points.split(" ")) == 7
    assert html.count('<rect class="bar ') == 7


def test_a_long_period_with_one_day_of_trades_is_drawn_by_month_and_its_tables_stay_a_screen_high(viewer_client):
    closes("100")  # 20 Nov 2026, in a period of almost seven years

    response = viewer_client.get("/stats/", {"start": "2020-01-01", "end": "2026-11-25"})
    html = response.content.decode()

    # January 2020 to November 2026: 6 * 12 + 11 = 83 months, a bar and a point each
    assert html.count('<rect class="bar ') == 83
    assert len(re.search(r'<polyline class="equity" points="([^"]*)"', html).group(1).split(" ")) == 83
    assert "Realized PnL by month" in html
    assert (
        '<a href="/journal/?start=2026-11-01&amp;end=2026-11-25"><title>1 Nov – 25 Nov 2026: +100.00, 1 closed' in html
    )
    assert 'id="weeks"' not in html  # some 360 weeks: the months alone
    assert '<div class="scroll screen-high"><table id="months">' in html
    assert len(response.content) < 150_000  # the daily bars alone weighed 397 KB


def test_a_half_year_is_drawn_by_week(viewer_client):
    closes("100", "-40")

    html = page(viewer_client, start="2026-06-01", end="2026-11-25")  # 178 days, Mon 1 Jun to Wed 25 Nov: 26 weeks

    assert html.count('<rect class="bar ') == 26
    assert "Realized PnL by week" in html
    assert "<title>16 Nov – 22 Nov 2026: +60.00, 2 closed</title>" in html  # Fri 20 and Sat 21 Nov
    assert 'id="weeks"' in html


def test_an_empty_period_says_so(viewer_client):
    closes("100")

    html = page(viewer_client, start="2026-10-01", end="2026-10-31")

    assert "No trades closed in this period." in html
    assert "<polyline" not in html


def test_default_is_the_last_30_days(viewer_client):
    html = page(viewer_client)

    assert f"{(today() - timedelta(days=29)):%a %-d %b %Y} – {today():%a %-d %b %Y}" in html


def test_a_preset_period_ends_today(viewer_client):
    closes("5", first=datetime.combine(today(), datetime.min.time(), tzinfo=UTC) + timedelta(hours=1))

    html = page(viewer_client, period="7")

    assert 'aria-current="page">Last 7 days' in html
    assert len(re.search(r'class="equity" points="([^"]*)"', html).group(1).split(" ")) == 7


def test_all_history_from_the_first_close(viewer_client):
    closes("100", "-40")

    html = page(viewer_client, period="all")

    assert "All history" in html
    assert "+60.00" in html


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2026-13-01", "end": "2026-11-20"}, "From: Enter a day as 25 Nov 2026 or 2026-11-25."),
        ({"start": "2026-11-20"}, "To: Give both the first and the last day of the period."),
        ({"start": "2026-11-20", "end": "2026-11-19"}, "To: The last day must be on or after the first."),
        ({"start": "1900-01-01", "end": "2026-11-19"}, "From: Enter a day from 1 Jan 1970 to 31 Dec 2199."),
        ({"start": "2000-01-01", "end": "2026-11-19"}, "To: A period is at most 3660 days."),
        ({"period": "365"}, "Period: Select a valid choice."),
        ({"month": "2026-13"}, "Month: Enter a month as YYYY-MM."),
    ],
)
def test_a_bad_period_is_a_form_error(viewer_client, params, message):
    response = viewer_client.get("/stats/", params)

    assert response.status_code == 400
    assert message in response.content.decode()


def test_calendar_shows_the_periods_last_month_with_links_to_each_day(viewer_client):
    closes("100", "-40", first=datetime(2026, 10, 20, 10, tzinfo=UTC))

    html = page(viewer_client, start="2026-10-01", end="2026-10-31")

    calendar = html[html.index('id="calendar"') :]
    assert "October 2026" in calendar
    assert calendar.count('<a href="/day/2026-10-') == 31  # every day of October has begun
    assert 'class="day gain-4"' in calendar
    assert 'class="day loss-2"' in calendar


def test_calendar_month_can_be_chosen(viewer_client):
    html = page(viewer_client, start="2026-11-01", end="2026-11-30", month="2026-10")

    assert "October 2026" in html
    assert 'href="?start=2026-11-01&amp;end=2026-11-30&amp;month=2026-09"' in html  # the previous month, same period


def test_calendar_does_not_link_days_to_come(viewer_client):
    html = page(viewer_client, period="7", month=f"{today():%Y-%m}")

    linked = re.findall(r'<a href="/day/(\d{4}-\d{2}-\d{2})/"><title>', html)
    assert linked
    assert max(linked) == str(today())


def test_breakdowns_by_symbol_direction_exit_reason_and_setup(viewer_client):
    closes("100", "-40")

    html = page(viewer_client, start="2026-11-20", end="2026-11-21")

    assert [
        title for title in re.findall(r'<section class="card breakdown" id="[^"]+">\s*<h2>([^<]+?) <span', html)
    ] == [
        "By symbol",
        "By direction",
        "By exit reason",
        "By tag",
        "By confluence",
        "By timeframe",
        "By confidence",
        "By weekday of entry",
        "By hour of entry",
    ]
    # a group lists its trades in the journal's history, for the same period; an exit is named as every page names it
    assert '<a href="/journal/?reason=MANUAL_CLOSE&amp;start=2026-11-20&amp;end=2026-11-21">Manual close</a>' in html
    assert '<span class="hint">no tag</span>' in html  # the rows have no tag


def test_the_setup_figures_their_histogram_and_the_weeks_and_months(viewer_client):
    closes("3", "-1", "2", "-4")  # risk 2 each (closed_trade_row): R 1.5, -0.5, 1, -2; Fri 20 to Mon 23 Nov

    html = page(viewer_client, start="2026-11-20", end="2026-11-23")

    figures = html[html.index('id="figures"') :]
    assert "0.00%" in figures[figures.index('id="period-return"') :]  # 0 / 10000
    streaks = figures[figures.index('id="streaks"') :]
    assert '<span class="gain">1</span> / <span class="loss">1</span>' in streaks  # they alternate
    # MFE of each: (101 - 100) * 1 = 1 = 0.5R; MAE 0
    assert "+0.50R / +0.00R" in figures[figures.index('id="excursions"') :]
    histogram = html[html.index('id="r-histogram"') :]
    assert histogram.count('<rect class="column ') == 14
    assert '<a href="/journal/?start=2026-11-20&amp;end=2026-11-23&amp;r_min=1.5&amp;r_max=2">' in histogram
    weeks = html[html.index('id="weeks"') :]
    assert "Week of 16 Nov 2026" in weeks
    assert "Week of 23 Nov 2026" in weeks
    assert '<th scope="row">November 2026</th>' in html[html.index('id="months"') :]


def test_export_links_carry_the_period(viewer_client):
    html = page(viewer_client, start="2026-11-20", end="2026-11-21")

    assert 'href="/export/journal.csv?start=2026-11-20&amp;end=2026-11-21"' in html
    assert 'href="/export/signals.csv?start=2026-11-20&amp;end=2026-11-21"' in html


def queries_for_page(client) -> tuple[int, int]:
    """The queries of the page, and of its part that needs the trades (asked for once the page shows)."""
    period = {"start": "2026-11-01", "end": "2026-11-30"}
    with CaptureQueriesContext(connection) as headline:
        assert client.get("/stats/", period).status_code == 200
    with CaptureQueriesContext(connection) as trades:
        assert client.get("/stats/", period | {"part": "trade-figures"}, **HTMX).status_code == 200
    return len(headline), len(trades)


def test_the_page_costs_the_same_few_queries_whatever_the_number_of_trades(viewer_client):
    closes("1", "-1")
    few = queries_for_page(viewer_client)
    saved_closed(
        closed_trade_row(
            exit_time=datetime(2026, 11, 1 + i % 28, 12, tzinfo=UTC),
            realized_pnl=Decimal(i % 7 - 3),
            symbol=f"S{i % 9}",
        )
        for i in range(300)
    )

    assert queries_for_page(viewer_client) == few
    # The page: session, user and their books; the per-day figures summed, the equity before, the daily series, the
    # calendar's month: nothing that reads a trade.
    assert few[0] <= 9
    # Its part, besides those: the grouped figures, the drawdown; by tag, by confluence, by the signal's timeframe
    # and confidence, by entry weekday and hour, the R histogram, the streaks; the exits by reason (partial ones
    # included) and the trades that exited in parts
    assert few[1] <= 19


def test_the_nav_bar_links_to_the_statistics(viewer_client):
    assert '<a href="/stats/">Statistics</a>' in page(viewer_client)


@pytest.mark.parametrize("url", ["/stats/", "/export/journal.csv", "/export/signals.csv"])
def test_every_new_page_needs_a_login(url):
    response = Client().get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("month", ["0000-01", "2026-13", "1969-12", "2200-01"])
def test_a_month_outside_1970_to_2199_is_a_form_error(viewer_client, month):
    response = viewer_client.get("/stats/", {"month": month})

    assert response.status_code == 400
    assert response.context["form"].errors["month"]


def test_a_day_is_typed_as_the_pages_write_it_or_as_iso(viewer_client):
    closes("100", "-40")

    written = page(viewer_client, start="20 Nov 2026", end="Sat 21 Nov 2026")

    def figures(html: str) -> str:
        return html.split('id="figures"')[1].split("</section>")[0]

    assert "+60.00" in figures(written)  # 100 - 40
    assert figures(written) == figures(page(viewer_client, start="2026-11-20", end="2026-11-21"))
    assert 'name="start" value="20 Nov 2026"' in written  # and shown back the same way


def test_the_exits_count_partial_exits_and_liquidations(viewer_client, open_trade, many_trades):
    ladder = open_trade(
        stop_loss=Decimal("98"), targets=[{"price": "110", "fraction": "0.5"}, {"price": "120", "fraction": "0.5"}]
    )
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("110"), ladder.entry_time + timedelta(minutes=1))])
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("97"), ladder.entry_time + timedelta(minutes=2))])
    short = open_trade(symbol="ETHUSDT", action="SELL", stop_loss=Decimal("110"), take_profit=Decimal("90"))
    services.prices_apply(ticks=[Tick("ETHUSDT", Decimal("250"), short.entry_time + timedelta(minutes=1))])

    html = page(viewer_client, start="2026-11-20", end="2026-11-20")

    exits = html[html.index('id="exits"') : html.index("</section>", html.index('id="exits"'))]
    assert "1 trade exited in parts" in exits
    assert re.search(r"Liquidation</th><td class=\"num\">1<", exits)
    assert re.search(r"Stop loss</th><td class=\"num\">1<", exits)
    assert re.search(r"Take profit</th><td class=\"num\">1<", exits)


def test_the_page_draws_the_headline_and_asks_for_what_needs_the_trades_once_shown(viewer_client):
    saved_closed([closed_trade_row(exit_time=T0 + timedelta(hours=n), realized_pnl=Decimal("10")) for n in range(3)])

    html = viewer_client.get("/stats/", {"period": "all"}).content.decode()

    assert 'id="figures"' in html
    assert ">+30.00<" in card(html, "figures")
    loading = html[html.index('id="trade-figures"') - 200 :]
    assert 'hx-trigger="load"' in loading
    assert 'aria-busy="true"' in loading
    assert "period=all&amp;book=default&amp;part=trade-figures" in loading  # this page's book, whatever the session's
    assert 'id="drawdown"' not in html
    assert 'id="by-symbol"' not in html


def test_the_trade_figures_part_alone_answers_htmx(viewer_client):
    saved_closed(
        [
            closed_trade_row(exit_time=T0 + timedelta(hours=n), realized_pnl=Decimal(p))
            for n, p in enumerate(["10", "-25", "5"])
        ]
    )

    response = viewer_client.get("/stats/", {"period": "all", "part": "trade-figures"}, **HTMX)
    html = response.content.decode()

    assert html.lstrip().startswith('<div id="trade-figures">')
    assert "<html" not in html
    assert 'id="figures"' not in html
    assert ">25.00<" in card(html, "drawdown")  # from +10 down to -15
    assert 'id="by-symbol"' in html
    assert "HX-Request" in response["Vary"]
