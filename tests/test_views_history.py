"""The journal's history (/journal/): every closed trade, filtered, sorted, paged by keyset, and its CSV.

The twelve trades of `closes`, T1 .. T12, closed an hour apart from 2026-11-20 00:30 UTC, with PnL 1, -2, 3,
-4, ... (odd ones win) and risk 2, so R = PnL / 2; symbols alternate BTCUSDT / ETHUSDT, sides LONG / SHORT
every third, exits take profit (wins) or stop loss (losses); T3 and T6 are tagged FOMO, T4 "A+ setup";
T5's notes mention "news".
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ledger import selectors
from ledger.models import PaperTrade
from ledger.views import exports, history
from tests.helpers import book

from .conftest import closed_trade_row
from .helpers import HTMX, read_csv

pytestmark = pytest.mark.django_db
RESULTS = HTMX | {"HTTP_HX_TARGET": "history-results"}


@pytest.fixture
def closes() -> dict[str, PaperTrade]:
    rows = {}
    for n in range(1, 13):
        pnl = Decimal(n if n % 2 else -n)
        rows[f"T{n}"] = closed_trade_row(
            exit_time=datetime(2026, 11, 20, 0, 30, tzinfo=UTC) + timedelta(hours=n - 1),
            realized_pnl=pnl,
            risk_amount=Decimal("2"),
            symbol="BTCUSDT" if n % 2 else "ETHUSDT",
            direction=PaperTrade.Direction.SHORT if n % 3 == 0 else PaperTrade.Direction.LONG,
            status=PaperTrade.Status.TAKE_PROFIT if pnl > 0 else PaperTrade.Status.STOP_LOSS,
            tags={3: ["FOMO"], 6: ["FOMO", "news"], 4: ["A+ setup"]}.get(n, []),
            notes="Faded the NEWS spike." if n == 5 else "",
        )
    created = PaperTrade.objects.bulk_create(rows.values())
    return dict(zip(rows, created, strict=False))


def ids(response, trades: dict[str, PaperTrade]) -> list[str]:
    """The trades a page lists, by their fixture names, in its order."""
    names = {trade.pk: name for name, trade in trades.items()}
    html = response.content.decode()
    return [
        names[pk]
        for pk in sorted(names, key=lambda pk: html.find(f'id="history-{pk}"'))
        if f'id="history-{pk}"' in html
    ]


def page(client, **query):
    return client.get(reverse("history"), query)


def test_lists_every_closed_trade_latest_first_each_linking_to_its_page(viewer_client, closes, open_trade):
    open_trade()  # an open trade is not history
    response = page(viewer_client)
    assert ids(response, closes) == [f"T{n}" for n in range(12, 0, -1)]
    assert (
        f'<a href="/trades/{closes["T12"].pk}/"><span class="trade-id">#{closes["T12"].pk}</span> ETHUSDT</a>'
        in response.content.decode()
    )
    assert "\u22123.00R" in response.content.decode()  # T12: -12 / 2 = -6R; T6: -6 / 2 = -3R


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"symbol": "ethusdt"}, ["T12", "T10", "T8", "T6", "T4", "T2"]),  # any case
        ({"side": "SHORT"}, ["T12", "T9", "T6", "T3"]),
        ({"reason": "TAKE_PROFIT"}, ["T11", "T9", "T7", "T5", "T3", "T1"]),
        ({"tag": "FOMO"}, ["T6", "T3"]),
        ({"tag": "news"}, ["T6"]),
        ({"tag": "fomo"}, ["T6", "T3"]),  # any case
        ({"tag": "a+ SETUP"}, ["T4"]),
        ({"tag": "A+"}, []),  # a whole tag, not a part of one
        ({"r_min": "-2", "r_max": "2"}, ["T4", "T3", "T2", "T1"]),  # R -2, 1.5, -1, 0.5: both ends included
        ({"q": "news"}, ["T5"]),  # in the notes, whatever the case
        ({"start": "2026-11-20", "end": "2026-11-20"}, [f"T{n}" for n in range(12, 0, -1)]),
        ({"start": "2026-11-21"}, []),
        ({"symbol": "BTCUSDT", "reason": "STOP_LOSS"}, []),  # BTCUSDT's are the odd ones, all wins
    ],
)
def test_filters(viewer_client, closes, query, expected):
    assert ids(page(viewer_client, **query), closes) == expected


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("closed", [f"T{n}" for n in range(1, 13)]),
        ("-r", ["T11", "T9", "T7", "T5", "T3", "T1", "T2", "T4", "T6", "T8", "T10", "T12"]),
        ("pnl", ["T12", "T10", "T8", "T6", "T4", "T2", "T1", "T3", "T5", "T7", "T9", "T11"]),
    ],
)
def test_sorting(viewer_client, closes, sort, expected):
    assert ids(page(viewer_client, sort=sort), closes) == expected


def test_paging_forward_and_back_by_keyset_keeps_the_filters(viewer_client, closes, monkeypatch):
    monkeypatch.setattr(history, "HISTORY_PAGE", 3)
    first = page(viewer_client, reason="TAKE_PROFIT")  # T11, T9, T7, T5, T3, T1
    assert ids(first, closes) == ["T11", "T9", "T7"]
    html = first.content.decode()
    assert f'href="?reason=TAKE_PROFIT&amp;after={closes["T7"].pk}"' in html
    assert 'rel="prev"' not in html

    second = page(viewer_client, reason="TAKE_PROFIT", after=closes["T7"].pk)
    assert ids(second, closes) == ["T5", "T3", "T1"]
    html = second.content.decode()
    assert 'rel="next"' not in html
    assert f'href="?reason=TAKE_PROFIT&amp;before={closes["T5"].pk}"' in html

    back = page(viewer_client, reason="TAKE_PROFIT", before=closes["T5"].pk)
    assert ids(back, closes) == ["T11", "T9", "T7"]


def test_ties_in_the_order_are_paged_by_id_without_losing_or_repeating_a_row():
    at = datetime(2026, 11, 20, 23, 59, tzinfo=UTC)  # five trades closed by the end of the day at once
    trades = PaperTrade.objects.bulk_create(closed_trade_row(exit_time=at, realized_pnl=Decimal(n)) for n in range(5))
    seen, after = [], None
    for _ in range(3):
        rows = selectors.history_page(selectors.HistoryFilter(book()), after=after, size=2)
        seen += [trade.pk for trade in rows.rows]
        after = rows.after
    assert seen == sorted((trade.pk for trade in trades), reverse=True)
    assert after is None


def test_a_deep_page_costs_the_queries_of_the_first(viewer_client, closes):
    with CaptureQueriesContext(connection) as first:
        page(viewer_client)
    with CaptureQueriesContext(connection) as deep:
        page(viewer_client, after=closes["T2"].pk)
    assert len(deep) == len(first)
    assert "OFFSET" not in deep.captured_queries[-1]["sql"].upper()


def test_the_results_alone_for_htmx(viewer_client, closes):
    response = viewer_client.get(reverse("history"), {"tag": "FOMO"}, **RESULTS)
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="history-results">')
    assert "<html" not in html
    assert ids(response, closes) == ["T6", "T3"]


def test_each_row_keeps_its_close_day_under_the_trade_for_the_phone(viewer_client, closes):
    html = page(viewer_client, symbol="ETHUSDT").content.decode()
    row = html[html.index(f'id="history-{closes["T12"].pk}"') :]
    assert row.index('<span class="phone closed-on">20 Nov 2026</span>') < row.index("</tr>")  # T12 closed 11:30


def test_the_totals_add_up_every_match_not_only_the_page(viewer_client, closes, monkeypatch):
    monkeypatch.setattr(history, "HISTORY_PAGE", 1)
    response = viewer_client.get(reverse("history"), {"tag": "FOMO"}, **HTMX, HTTP_HX_TARGET="history-totals")
    html = response.content.decode()
    assert html.lstrip().startswith('<p class="totals" id="history-totals"')
    # T3 (+3, 1.5R) and T6 (-6, -3R): net -3, one win in two, average R (1.5 - 3) / 2 = -0.75
    assert '<b class="num">2</b> trades' in html
    assert "\u22123.00</b>" in html
    assert '<b class="num">50%</b>' in html
    assert "\u22120.75R</b>" in html


def test_the_page_asks_for_the_totals_of_its_filters_once_the_results_are_shown(viewer_client, closes):
    html = page(viewer_client, tag="FOMO", sort="pnl").content.decode()
    assert 'id="history-totals" aria-live="polite" hx-get="/journal/?tag=FOMO&amp;sort=pnl" hx-trigger="load"' in html


def test_an_address_with_empty_fields_is_sent_to_the_one_without_them(viewer_client, closes):
    response = viewer_client.get(reverse("history") + "?start=&end=&symbol=BTCUSDT&side=&tag=&q=&sort=")
    assert response.status_code == 302
    assert response["Location"] == "/journal/?symbol=BTCUSDT"
    assert viewer_client.get(reverse("history") + "?start=&side=").url == "/journal/"


def test_htmx_is_told_the_address_without_empty_fields(viewer_client, closes):
    response = viewer_client.get(reverse("history") + "?start=&symbol=BTCUSDT&side=&after=&sort=pnl", **RESULTS)
    assert response.status_code == 200
    assert response["HX-Push-Url"] == "/journal/?symbol=BTCUSDT&sort=pnl"


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"start": "2026-13-01"}, "Enter a day as 25 Nov 2026 or 2026-11-25."),
        ({"start": "2026-11-21", "end": "2026-11-20"}, "The last day must be on or after the first."),
        ({"r_min": "2", "r_max": "1"}, "R to must be at least R from."),
        ({"r_min": "lots"}, "Enter a number."),
        ({"symbol": "not a symbol!"}, "is not a market symbol"),
        ({"side": "UP"}, "Select a valid choice."),
        ({"after": "0"}, "greater than or equal to 1"),
        ({"after": "3", "before": "4"}, "Page forward (after) or back (before), not both."),
    ],
)
def test_bad_filters_are_a_form_error_not_a_500(viewer_client, query, says):
    response = page(viewer_client, **query)
    assert response.status_code == 400
    assert says in response.content.decode()


def test_the_csv_holds_exactly_the_filtered_set_in_the_page_s_order_on_all_pages(viewer_client, closes, monkeypatch):
    monkeypatch.setattr(history, "HISTORY_PAGE", 2)
    response = viewer_client.get(reverse("history-csv"), {"side": "LONG", "sort": "-r", "after": closes["T1"].pk})

    assert response["Content-Disposition"] == 'attachment; filename="journal-all.csv"'  # no days chosen
    rows = read_csv(response)
    # the LONG ones (not every third), best R first; the cursor is ignored
    assert [row["trade_id"] for row in rows] == [
        str(closes[n].pk) for n in ["T11", "T7", "T5", "T1", "T2", "T4", "T8", "T10"]
    ]
    assert (rows[0]["r_multiple"], rows[0]["tags"]) == ("5.5000", "[]")  # 11 / 2


def test_the_csv_is_named_by_its_days_as_the_dashboard_s_journal_is(viewer_client, closes):
    response = viewer_client.get(reverse("history-csv"), {"start": "20 Nov 2026", "end": "2026-11-21", "side": "LONG"})
    assert response["Content-Disposition"] == 'attachment; filename="journal-2026-11-20-to-2026-11-21.csv"'


@pytest.mark.parametrize(
    ("start", "end", "name"),
    [
        (date(2026, 11, 1), date(2026, 11, 30), "journal-2026-11-01-to-2026-11-30.csv"),
        (date(2026, 11, 1), None, "journal-2026-11-01-to-2026-11-20.csv"),  # to today
        (None, date(2026, 11, 30), "journal-until-2026-11-30.csv"),
        (None, None, "journal-all.csv"),
    ],
)
@pytest.mark.time_machine(datetime(2026, 11, 20, 12, tzinfo=UTC), tick=False)
def test_a_csv_s_name_says_its_days(start, end, name):
    assert exports.filename("journal", start, end) == name


def test_a_bad_filter_in_the_csv_answers_400(viewer_client):
    response = viewer_client.get(reverse("history-csv"), {"r_min": "x"})
    assert response.status_code == 400
    assert "r_min" in response.content.decode()


def test_the_filters_suggestions_are_the_symbols_and_tags_in_use(viewer_client, closes):
    html = viewer_client.get(reverse("history-choices"), **{"HTTP_HX_REQUEST": "true"}).content.decode()
    assert '<datalist id="symbol-choices"><option value="BTCUSDT"><option value="ETHUSDT"></datalist>' in html
    assert (
        '<datalist id="tag-choices"><option value="A+ setup"><option value="FOMO"><option value="news"></datalist>'
        in html
    )
    assert (
        'option value="FOMO"' not in page(viewer_client).content.decode()
    )  # fetched when a filter is focused, not with the page


def test_the_history_needs_a_login():
    assert Client().get(reverse("history")).status_code == 302
    assert Client().get(reverse("history-csv")).status_code == 302
