"""Who sees what (docs/books.md): a user granted only book A, and a token of book A, find nothing of book B
anywhere: its rows by id are 404 (read and every write), and no page, part, export, API answer or event names its
symbol, its signal ids, its trades' ids or counts its rows.

Both books hold the same kinds of rows, made through the services at NOW: a waiting signal, an open trade, a closed
trade, a working entry order, a diary and a replay. Book A's are the control: each page that would show B's rows
is shown to show A's."""

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import reverse

from ledger import live, selectors, services
from ledger.inputs import OrderFields, SignalFields, Tick
from ledger.models import ApiToken, Event, Order, PaperTrade, Replay, Signal
from ledger.views.base import TODAY_PARTS

from .conftest import NOW, client_logged_in_as
from .helpers import API, api_post

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]
DAY = NOW.date()


def make_book_rows(book, name: str) -> SimpleNamespace:
    """In `book`, symbol <NAME>USDT priced 100: `<name>-waiting` (GENERATED), `<name>-open` (its trade open),
    `<name>-closed` (its trade closed at 101), `<name>-order` (a limit at 95, working), a diary and a replay."""
    symbol = f"{name.upper()}USDT"
    services.prices_apply(ticks=[Tick(symbol=symbol, price=Decimal("100"), at=NOW - timedelta(seconds=1))])

    def signal(suffix: str, price: str = "100") -> SignalFields:
        return SignalFields(
            signal_id=f"{name}-{suffix}",
            symbol=symbol,
            action="BUY",
            entry_price=Decimal(price),
            confidence=Decimal("0.8"),
            stop_loss=Decimal("90"),
            take_profit=Decimal("120"),
            timestamp=NOW,
        )

    waiting, _ = services.signal_record(signal=signal("waiting"), book=book)
    opened = services.signal_intake(signal=signal("open"), book=book).trade
    closed = services.signal_intake(signal=signal("closed"), book=book).trade
    closed = services.trade_close(trade_id=closed.pk, price=Decimal("101"), at=NOW)
    order = services.signal_intake(signal=signal("order", "95"), book=book, order=OrderFields("limit", None)).order
    services.day_note_write(day=DAY, text=f"{name} diary", book=book)
    replay = services.replay_queue(parameters={"start": DAY.isoformat(), "end": DAY.isoformat()}, book=book)
    _, token = services.api_token_create(name=f"{name}-token", scope=ApiToken.Scope.TRADE, book=book)
    return SimpleNamespace(
        book=book,
        symbol=symbol,
        waiting=waiting,
        open=opened,
        closed=closed,
        order=order,
        replay=replay,
        api=Client(HTTP_AUTHORIZATION=f"Bearer {token}"),
    )


@pytest.fixture
def books(many_trades, trader):
    """Book A (alpha) and book B (bravo), each with its rows; the trader is granted A alone, to trade."""
    a = make_book_rows(services.book_create(slug="book-a", name="Alpha book"), "alpha")
    b = make_book_rows(services.book_create(slug="book-b", name="Bravo book"), "bravo")
    services.book_grant(user=trader, book_id=a.book.pk, can_trade=True)
    return SimpleNamespace(a=a, b=b, client=client_logged_in_as(trader))


def content(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body.decode()


def marks_of(rows: SimpleNamespace) -> list[str]:
    """What would betray a book on a page: its symbol, its signal ids, its book's name, links to its rows."""
    return [
        rows.symbol,
        rows.waiting.signal_id,
        f"{rows.book.name}",
        f"/trades/{rows.open.pk}/",
        f"/trades/{rows.closed.pk}/",
        f"/replay/{rows.replay.pk}/",
        f"{rows.symbol.lower()[:5]} diary",
    ]


def assert_nothing_of(rows: SimpleNamespace, text: str) -> None:
    found = [mark for mark in marks_of(rows) if mark in text]
    assert found == [], f"{found} of {rows.book.slug} shown"


def scrubbed(text: str, *asked: str) -> str:
    """The answer less what the request itself named (a 404 may repeat the id it was asked for, as it does for an
    id that does not exist): what is left must say nothing of the book."""
    for words in asked:
        text = text.replace(words, "")
    return text


def assert_unchanged(b: SimpleNamespace) -> None:
    assert Signal.objects.get(pk=b.waiting.pk).status == Signal.Status.GENERATED
    open_trade = PaperTrade.objects.get(pk=b.open.pk)
    assert (open_trade.status, open_trade.notes, open_trade.stop_loss) == (PaperTrade.Status.OPEN, "", Decimal("90"))
    assert Order.objects.get(pk=b.order.pk).status == Order.Status.WORKING
    assert Replay.objects.get(pk=b.replay.pk).status == Replay.Status.QUEUED


# --- Pages, parts and exports: nothing of B, and A's rows where the page lists rows -----------------------------

PAGES = {
    # url: the marks of A the page must show (the control that it would show B's)
    "/": ["alpha-waiting", "ALPHAUSDT"],
    f"/day/{DAY}/": ["ALPHAUSDT"],
    f"/day/{DAY}/signals/": ["alpha-waiting"],
    "/journal/": ["ALPHAUSDT"],
    "/journal/choices/": ["ALPHAUSDT"],
    "/journal/export.csv": ["ALPHAUSDT"],
    "/stats/?period=all": [],
    "/replay/": [],
    "/export/journal.csv": ["ALPHAUSDT"],
    "/export/signals.csv": ["alpha-waiting"],
    "/api/v1/docs": [],
}


@pytest.mark.parametrize("url", list(PAGES))
def test_a_page_of_book_a_shows_nothing_of_book_b(books, url):
    response = books.client.get(url)

    assert response.status_code == 200
    text = content(response)
    assert_nothing_of(books.b, text)
    for mark in PAGES[url]:
        assert mark in text


@pytest.mark.parametrize("part", list(TODAY_PARTS))
def test_each_part_of_the_dashboard_shows_nothing_of_book_b(books, part):
    response = books.client.get("/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET=part)

    assert response.status_code == 200
    assert_nothing_of(books.b, content(response))


def test_the_dashboard_counts_book_a_s_rows_alone(books):
    context = books.client.get("/").context

    assert context["summary"].open_trades == 1  # A's open trade; B's is not counted
    assert context["summary"].day.trades == 1  # A's closed trade
    assert context["book"] == books.a.book
    assert list(context["books"]) == [books.a.book]  # the switcher offers A alone


def test_book_a_s_own_trade_and_replay_pages_show_nothing_of_book_b(books):
    for url in (
        f"/trades/{books.a.open.pk}/",
        f"/trades/{books.a.open.pk}/chart.json",
        f"/trades/{books.a.closed.pk}/",
        f"/replay/{books.a.replay.pk}/",
    ):
        response = books.client.get(url)
        assert response.status_code == 200, url
        assert_nothing_of(books.b, content(response))


@pytest.mark.parametrize("url", ["/", f"/day/{DAY}/", "/journal/", "/stats/", "/replay/", "/export/journal.csv"])
def test_asking_for_book_b_by_its_slug_is_404(books, url):
    response = books.client.get(url, {"book": "book-b"})

    assert response.status_code == 404
    assert_nothing_of(books.b, content(response))


# --- Book B's rows by id: 404 to read and to every write -------------------------------------------------------


def b_urls(b: SimpleNamespace) -> list[tuple[str, str, dict]]:
    """(method, url, form) of every URL of ledger/urls.py that names a row of book B."""
    trade, signal, order, replay = b.open.pk, b.waiting.signal_id, b.order.pk, b.replay.pk
    return [
        ("get", reverse("trade", args=[trade]), {}),
        ("get", reverse("trade", args=[b.closed.pk]), {}),
        ("get", reverse("trade-chart", args=[trade]), {}),
        ("get", reverse("trade-notes", args=[trade]), {}),
        ("post", reverse("trade-notes", args=[trade]), {"notes": "mine now", "tags": "x"}),
        ("post", reverse("trade-levels", args=[trade]), {"stop_loss": "91"}),
        ("get", reverse("trade-close", args=[trade]), {}),
        ("post", reverse("trade-close", args=[trade]), {}),
        ("get", reverse("signal-execute", args=[signal]), {}),
        ("post", reverse("signal-execute", args=[signal]), {}),
        ("post", reverse("signal-expire", args=[signal]), {}),
        ("post", reverse("order-cancel", args=[order]), {}),
        ("get", reverse("replay-detail", args=[replay]), {}),
        ("post", reverse("replay-cancel", args=[replay]), {}),
    ]


def b_url_ids() -> list[str]:
    return [
        "trade",
        "closed-trade",
        "chart",
        "notes-get",
        "notes-post",
        "levels-post",
        "close-get",
        "close-post",
        "execute-get",
        "execute-post",
        "expire",
        "order-cancel",
        "replay",
        "replay-cancel",
    ]


@pytest.mark.parametrize("number", range(len(b_url_ids())), ids=b_url_ids())
def test_every_url_naming_a_row_of_book_b_is_404_and_changes_nothing(books, number):
    method, url, form = b_urls(books.b)[number]

    response = getattr(books.client, method)(url, form)

    assert response.status_code == 404, url
    assert_nothing_of(books.b, scrubbed(content(response), url, books.b.waiting.signal_id))
    assert_unchanged(books.b)


def test_every_url_naming_a_row_of_book_b_is_404_for_htmx_too(books):
    for method, url, form in b_urls(books.b):
        response = getattr(books.client, method)(url, form, HTTP_HX_REQUEST="true")
        assert response.status_code in (200, 404), url  # htmx: an answer that says why, never the row
        assert_nothing_of(books.b, scrubbed(content(response), url, books.b.waiting.signal_id))
    assert_unchanged(books.b)


# --- The API: a token of book A --------------------------------------------------------------------------------


def api_b_calls(b: SimpleNamespace) -> list[tuple[str, str, dict | None]]:
    trade, signal, order, replay = b.open.pk, b.waiting.signal_id, b.order.pk, b.replay.pk
    return [
        ("get", f"trades/{trade}", None),
        ("get", f"trades/{b.closed.pk}", None),
        ("post", f"trades/{trade}/close", {}),
        ("patch", f"trades/{trade}", {"notes": "mine now"}),
        ("post", f"trades/{trade}/levels", {"stop_loss": "91"}),
        ("post", f"signals/{signal}/expire", {}),
        ("post", f"orders/{order}/cancel", {}),
        ("get", f"replays/{replay}", None),
        ("post", f"replays/{replay}/cancel", None),
    ]


@pytest.mark.parametrize("number", range(9))
def test_a_token_of_book_a_gets_404_for_every_row_of_book_b(books, number):
    method, path, body = api_b_calls(books.b)[number]

    if method == "get":
        response = books.a.api.get(API + path)
    elif method == "patch":
        response = books.a.api.patch(API + path, body, content_type="application/json")
    else:
        response = api_post(books.a.api, path, body)

    assert response.status_code == 404, path
    assert_nothing_of(books.b, scrubbed(response.content.decode(), path, books.b.waiting.signal_id))
    assert_unchanged(books.b)


@pytest.mark.parametrize(
    "path",
    [
        "trades/active",
        "signals",
        "orders",
        "journal",
        "pnl/daily",
        "stats",
        f"days/{DAY}/note",
        "books",
        "candles?symbol=ALPHAUSDT",
    ],
)
def test_every_read_of_a_token_of_book_a_holds_nothing_of_book_b(books, path):
    response = books.a.api.get(API + path)

    assert response.status_code == 200
    assert_nothing_of(books.b, response.content.decode())
    for trade in (books.b.open, books.b.closed):
        assert f'"id":{trade.pk},' not in response.content.decode().replace(" ", "")


def test_the_token_s_reads_hold_its_own_book_s_rows(books):
    assert [trade["id"] for trade in books.a.api.get(API + "trades/active").json()] == [books.a.open.pk]
    assert {signal["signal_id"] for signal in books.a.api.get(API + "signals").json()} == {
        "alpha-waiting",
        "alpha-open",
        "alpha-closed",
        "alpha-order",
    }
    assert books.a.api.get(API + "journal").json()["count"] == 1
    assert books.a.api.get(API + "stats").json()["trades"] == 1


def test_a_token_of_book_a_cannot_post_into_book_b(books):
    taken = api_post(
        books.a.api,
        "signals",
        {
            "signal_id": "bravo-waiting",
            "symbol": "BRAVOUSDT",
            "action": "BUY",
            "entry_price": "100",
            "confidence": "0.8",
        },
    )
    sent = api_post(
        books.a.api,
        "signals",
        {
            "signal_id": "new-one",
            "symbol": "ALPHAUSDT",
            "action": "BUY",
            "entry_price": "100",
            "confidence": "0.8",
            "stop_loss": "90",
        },
    )
    written = books.a.api.put(API + f"days/{DAY}/note", {"text": "A's words"}, content_type="application/json")

    assert taken.status_code == 409  # the id is taken, without a word of the signal that holds it
    assert "bravo" not in taken.json()["detail"][0]["message"].replace("'bravo-waiting'", "")
    assert sent.status_code == 201
    assert Signal.objects.get(signal_id="new-one").book == books.a.book
    assert written.status_code == 200
    assert selectors.day_note(books.b.book, DAY).text == "bravo diary"
    assert_unchanged(books.b)


# --- Events: a batch of prices names only the reader's own trades ---------------------------------------------


def test_a_price_batch_event_names_each_book_its_own_trades_alone(books):
    services.prices_apply(
        ticks=[
            Tick(symbol="ALPHAUSDT", price=Decimal("100.5"), at=NOW),
            Tick(symbol="BRAVOUSDT", price=Decimal("100.5"), at=NOW),
        ]
    )
    event = Event.objects.filter(kind=Event.Kind.PRICES_APPLIED).latest("pk")

    assert live.seen_by(event, books.a.book.pk).payload["marked"] == [books.a.open.pk]
    assert live.seen_by(event, books.b.book.pk).payload["marked"] == [books.b.open.pk]
    assert "books" not in live.seen_by(event, books.a.book.pk).payload
    items = books.a.api.get(API + "events", {"kind": "prices.applied"}).json()["items"]
    assert items[-1]["payload"]["marked"] == [books.a.open.pk]
    assert books.b.open.pk not in [marked for item in items for marked in item["payload"]["marked"]]


def test_the_events_api_gives_a_token_none_of_another_book_s_events(books):
    items = books.a.api.get(API + "events", {"limit": 1000}).json()["items"]

    # Prices are the market's, every book's (Event.book_id null): a price batch names its symbols for all, and
    # only the reader's own trades (the test above). Every other event is a book's own.
    assert_nothing_of(books.b, str([item for item in items if item["kind"] != "prices.applied"]))
    assert {item["signal_id"] for item in items if item["signal_id"]} == {
        "alpha-waiting",
        "alpha-open",
        "alpha-closed",
        "alpha-order",
    }
    assert {item["trade_id"] for item in items if item["trade_id"]} == {books.a.open.pk, books.a.closed.pk}
