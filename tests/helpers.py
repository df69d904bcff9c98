"""Plain functions and values the tests share; the fixtures are in tests/conftest.py.

The default book's row (`book`), closed trades saved by hand with their aggregates (`saved_closed`), the API's
JSON poster and the signal body it most often sends, the entry order the order tests place, the headers
of an htmx request, and a streamed CSV read back into rows.
"""

import csv
import io
import json
from decimal import Decimal

from django.http import StreamingHttpResponse

from ledger import services
from ledger.inputs import OrderFields, SignalFields
from ledger.models import Book, Order, PaperTrade

API = "/api/v1/"
HTMX = {"HTTP_HX_REQUEST": "true"}  # what htmx adds to a request for a part of a page


def book() -> Book:
    """The default book's row as committed now: its running totals, balance, cash and reserve."""
    return services.default_book()


def saved_closed(rows) -> list[PaperTrade]:
    """Closed trades made by hand (conftest.closed_trade_row) saved in one INSERT, in the default book unless they
    name theirs, and their books' per-day aggregates written again from them (services.book_days_rebuild), as a
    close through the services would have kept them: for the reads that sum columns, at any number of rows."""
    rows = list(rows)
    for row in rows:
        row.book_id = row.book_id or book().pk
    PaperTrade.objects.bulk_create(rows)
    for book_id in sorted({row.book_id for row in rows}):
        services.book_days_rebuild(book_id=book_id)
    return rows


def api_post(client, path: str, body=None, *, content_type: str = "application/json", **extra):
    """POST to the API at `path` (after /api/v1/): a dict or a list as JSON, a str or bytes as it is (what
    JSON cannot say: malformed bodies, numbers written as the client chose), None as an empty body."""
    if body is None:
        payload = ""
    elif isinstance(body, (str, bytes)):
        payload = body
    else:
        payload = json.dumps(body)
    return client.post(API + path, payload, content_type=content_type, **extra)


def signal_body(**fields) -> dict:
    """A signal as a bot posts it: `s-1`, BUY BTCUSDT at 100 with confidence 0.8, unless told otherwise."""
    return {
        "signal_id": "s-1",
        "symbol": "BTCUSDT",
        "action": "BUY",
        "entry_price": "100",
        "confidence": "0.8",
    } | fields


def place_order(signal_id: str, symbol: str = "BTCUSDT", order_type: str = "limit", expires_in=None) -> Order:
    """A BUY at 100 (stop 95, target 120, confidence 0.8) placed as an entry order: a limit for the day unless told
    otherwise. It works until a price reaches it (none seen: it cannot fill at once)."""
    signal = SignalFields(
        signal_id=signal_id,
        symbol=symbol,
        action="BUY",
        entry_price=Decimal("100"),
        confidence=Decimal("0.8"),
        stop_loss=Decimal("95"),
        take_profit=Decimal("120"),
    )
    return services.signal_intake(signal=signal, order=OrderFields(order_type, expires_in)).order


def read_csv(response) -> list[dict]:
    """The rows of a CSV answer, which is streamed (a StreamingHttpResponse) rather than built in memory."""
    assert isinstance(response, StreamingHttpResponse)
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
