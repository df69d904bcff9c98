"""CSV exports of the journal and of the signals for a period (docs/statistics.md, "Export").

Streamed: the rows come from the database a chunk at a time (.iterator) and leave as CSV lines one by one,
so an export of years of history never builds in memory. Times are ISO 8601 in UTC, money and prices
plain decimal strings exactly as stored.
"""

import csv
import json
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from itertools import islice

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.core.handlers.asgi import ASGIRequest
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.views.decorators.http import require_GET

from .. import selectors
from ..days import today
from ..forms import PeriodForm
from ..models import Book
from ..rules import RATIO

CHUNK = 2000  # rows per fetch
# Columns the database computes (not stored), to the places the API gives them: SQLite hands them back with 15
# significant digits, PostgreSQL with as many as its division makes.
PLACES = {"r": RATIO}

# (header, column): the journal's columns in its order, then what the page leaves out.
JOURNAL = [
    ("closed_at", "exit_time"),
    ("symbol", "symbol"),
    ("side", "direction"),
    ("entry_price", "entry_price"),
    ("exit_price", "exit_price"),
    ("reason", "status"),
    ("size", "position_size"),
    ("fees", "fees"),
    ("realized_pnl", "realized_pnl"),
    ("held_seconds", "held_seconds"),
    ("trade_id", "id"),
    ("signal_id", "signal_id"),
    ("opened_at", "entry_time"),
    ("stop_loss", "stop_loss"),
    ("take_profit", "take_profit"),
    ("risk_amount", "risk_amount"),
    ("mfe", "mfe"),
    ("mae", "mae"),
    ("mfe_r", "mfe_r"),
    ("mae_r", "mae_r"),
    ("r_multiple", "r"),
    ("tags", "tags"),
    ("notes", "notes"),
]
# The dashboard's signals table in its order, then the rest.
SIGNALS = [
    ("time", "timestamp"),
    ("symbol", "symbol"),
    ("action", "action"),
    ("price", "entry_price"),
    ("confidence", "confidence"),
    ("timeframe", "timeframe"),
    ("confluences", "confluences"),
    ("status", "status"),
    ("signal_id", "signal_id"),
    ("stop_loss", "stop_loss"),
    ("take_profit", "take_profit"),
    ("status_reason", "status_reason"),
    ("trade_id", "trade__id"),
]


class _Echo:
    """A file whose write() returns the line: csv.writer then hands each row back instead of storing it."""

    def write(self, line: str) -> str:
        return line


# What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    """A value as its CSV cell. Numbers stay numbers (a negative PnL keeps its minus); text that a spreadsheet
    would run as a formula (an expiry reason "=HYPERLINK(...)", a signal id "-x") gets a leading ' so it is shown
    as the text it is, as OWASP advises."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")  # never 1E-8
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        value = json.dumps(value)  # the confluences, as a JSON list
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _lines(columns: list[tuple[str, str]], rows: Iterable[tuple]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([header for header, _ in columns])
    places = [PLACES.get(column) for _, column in columns]
    for row in rows:
        yield writer.writerow(
            [
                _cell(value if value is None or place is None else value.quantize(place))
                for value, place in zip(row, places, strict=False)
            ]
        )


async def _handed_over(lines: Iterator[str]) -> AsyncIterator[str]:
    """The lines for an ASGI server, CHUNK at a time: Django would read a synchronous iterator whole before sending
    any of it. Each chunk is read in the thread the request's database connection belongs to."""
    take = sync_to_async(lambda: "".join(islice(lines, CHUNK)), thread_sensitive=True)
    while chunk := await take():
        yield chunk


def export(
    request: HttpRequest, rows: QuerySet, columns: list[tuple[str, str]], *, filename: str
) -> StreamingHttpResponse:
    """The rows' columns as a streamed CSV file, read CHUNK rows at a time, however the server serves it."""
    values = rows.values_list(*(column for _, column in columns)).iterator(chunk_size=CHUNK)
    lines = _lines(columns, values)
    content = _handed_over(lines) if isinstance(request, ASGIRequest) else lines
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def filename(name: str, start: date | None, end: date | None) -> str:
    """A CSV's name by the trading days it covers, both included: `journal-2026-11-01-to-2026-11-30.csv`; from a
    day with no last one, to today; up to a day with no first one, `journal-until-2026-11-30.csv`; all of
    history, `journal-all.csv`."""
    if start:
        return f"{name}-{start}-to-{end or today()}.csv"
    return f"{name}-until-{end}.csv" if end else f"{name}-all.csv"


def _export(
    request: HttpRequest,
    name: str,
    columns: list[tuple[str, str]],
    rows_between: Callable[[Book, date | None, date | None], QuerySet],
) -> HttpResponse:
    form = PeriodForm(request.GET)
    if not form.is_valid():
        errors = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in form.errors.items())
        return HttpResponseBadRequest(errors, content_type="text/plain; charset=utf-8")
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    return export(request, rows_between(request.book, start, end), columns, filename=filename(name, start, end))


@login_required
@require_GET
def journal_csv(request: HttpRequest) -> HttpResponse:
    """The book's trades closed in the period, oldest close first."""
    return _export(request, "journal", JOURNAL, selectors.journal_between)


@login_required
@require_GET
def signals_csv(request: HttpRequest) -> HttpResponse:
    """The book's signals of the period, oldest first."""
    return _export(request, "signals", SIGNALS, selectors.signals_between)
