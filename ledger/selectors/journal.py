"""The reads of the journal (docs/journal.md): a trade's chart, the tags in use, a day's diary, and the history
of closed trades filtered, sorted and paged by keyset, so that a page deep in a million rows costs what the
first one does."""

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import F, Q, QuerySet, Subquery

from .. import brackets
from ..models import Book, DayNote, Execution, PaperTrade
from ..sql import HasElement, Tagged, by_element, money_from_db, r_multiple
from .core import candles as minute_candles
from .core import closed_between, with_export_columns
from .figures import Figures, figures_for

TAG_SUGGESTIONS_FROM = 1000  # the latest tagged trades whose tags the editor suggests
CHART_CANDLES_MAX = 720  # candles in a chart at most: longer spans take longer candles
CANDLE_MINUTES = (1, 5, 15, 60, 240, 1440)  # beyond 720 days of span: candles of as many whole days as it takes
DAY_MINUTES = 1440


def tags_used(book: Book) -> list[str]:
    """The tags of the book's latest TAG_SUGGESTIONS_FROM tagged trades, alphabetically: what the tag editor and the
    history's filter suggest. A partial index holds the tagged trades only, so this costs the same at any
    size of history."""
    latest = PaperTrade.objects.filter(Tagged(), book=book).order_by("-pk").values("pk")[:TAG_SUGGESTIONS_FROM]
    rows, tag = by_element(PaperTrade.objects.filter(pk__in=Subquery(latest)).order_by(), "tags")
    found = rows.annotate(tag=tag).filter(tag__isnull=False).values_list("tag", flat=True).distinct()
    return sorted(found, key=str.casefold)


def day_note(book: Book, day: date) -> DayNote | None:
    return DayNote.objects.filter(book=book, day=day).first()


# --- A trade's chart -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Candle:
    time: datetime  # the candle's start, UTC
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


@dataclass(frozen=True)
class Chart:
    """A trade's price history: from before its entry to after its exit (to now while open), in candles of
    `minutes` minutes, at most CHART_CANDLES_MAX of them."""

    start: datetime
    end: datetime
    minutes: int
    candles: list[Candle]


def chart_span(trade: PaperTrade, now: datetime) -> tuple[datetime, datetime, int]:
    """Where a trade's chart starts and ends and how long its candles are: a margin of a quarter of the time
    held (at least 30 minutes) before the entry and after the exit; an open trade's ends now."""
    until = trade.exit_time or now
    margin = max((until - trade.entry_time) / 4, timedelta(minutes=30))
    start = (trade.entry_time - margin).replace(second=0, microsecond=0)
    end = until + margin if trade.exit_time else now + timedelta(minutes=1)
    span_minutes = (end - start).total_seconds() / 60
    days = DAY_MINUTES * math.ceil(span_minutes / DAY_MINUTES / CHART_CANDLES_MAX)  # whole days, for the longest
    minutes = next((m for m in CANDLE_MINUTES if span_minutes / m <= CHART_CANDLES_MAX), days)
    return start, end, minutes


def trade_chart(trade: PaperTrade, now: datetime, *, after: datetime | None = None) -> Chart:
    """The trade's candles, read from the symbol's 1-minute candles (selectors.candles) and merged by the
    database into candles of `minutes` when the span is long: first open, highest high, lowest low, last
    close of each (each starting at a whole multiple of `minutes` since 1970, UTC). With `after`, only the
    candles that start after it: what an open trade's page adds to the chart it has. Read raw and turned into
    Decimal once (money_from_db): the ORM's converters would cost more than the read itself."""
    start, end, minutes = chart_span(trade, now)
    seconds = minutes * 60
    if after is not None:  # from the start of the first candle after `after`, read no earlier minute
        start = max(start, datetime.fromtimestamp((int(after.timestamp()) // seconds + 1) * seconds, UTC))
    sql, params = (
        minute_candles(trade.symbol, start, end)
        .values("minute", "open", "high", "low", "close")
        .query.sql_with_params()
    )
    epoch = (
        "CAST(strftime('%%s', minute) AS INTEGER)"
        if connection.vendor == "sqlite"
        else "CAST(EXTRACT(EPOCH FROM minute) AS BIGINT)"
    )
    whole = "PARTITION BY bucket ORDER BY minute ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING"
    merged = (
        "SELECT bucket * %s, open, high, low, close FROM ("
        " SELECT bucket, FIRST_VALUE(open) OVER w AS open, MAX(high) OVER w AS high, MIN(low) OVER w AS low,"
        "  LAST_VALUE(close) OVER w AS close, ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY minute) AS n"
        f" FROM (SELECT {epoch} / %s AS bucket, minute, open, high, low, close FROM ({sql}) one) minutes"
        f" WINDOW w AS ({whole})"
        ") buckets WHERE n = 1 ORDER BY bucket"
    )
    with connection.cursor() as cursor:
        if minutes == 1:
            cursor.execute(f"SELECT {epoch}, open, high, low, close FROM ({sql}) one ORDER BY minute", params)
        else:
            cursor.execute(merged, [seconds, seconds, *params])
        candles = [
            Candle(datetime.fromtimestamp(int(at), UTC), *(money_from_db(value) for value in prices))
            for at, *prices in cursor.fetchall()
        ]
    return Chart(start, end, minutes, candles)


def trade_executions(trade: PaperTrade) -> list[Execution]:
    """The trade's entry and exits, in time order: what its page lists and its chart marks."""
    return list(trade.executions.order_by("time", "pk"))


def stop_moves(trade: PaperTrade, executions: list[Execution], now: datetime) -> list[tuple]:
    """The stops the trade's stop moved to, and when, replayed (brackets.stop_moves) on the 1-minute candles of its
    life, from the minute of its entry to its exit (to now while open), from the stop it opened with (its
    history's first row). None for a trade without a trail or a break-even."""
    if not trade.bracket.get("trailing_stop") and not trade.bracket.get("break_even_after"):
        return []
    opened = trade.history.order_by("history_date", "history_id").values_list("stop_loss", flat=True).first()
    start, end = trade.entry_time.replace(second=0, microsecond=0), trade.exit_time or now
    candles = [
        Candle(minute, open_, high, low, close)
        for minute, open_, high, low, close in minute_candles(trade.symbol, start, end).values_list(
            "minute", "open", "high", "low", "close"
        )
    ]
    return brackets.stop_moves(trade, first=opened or trade.stop_loss, candles=candles, fills=executions)


# --- The history -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryFilter:
    """Which closed trades of a book the history shows; None (or empty) is no condition."""

    book: Book
    start: date | None = None  # the first trading day of exits
    end: date | None = None  # the last, included
    symbol: str = ""
    side: str = ""  # LONG or SHORT
    reason: str = ""  # the closed status
    tag: str = ""
    r_min: Decimal | None = None
    r_max: Decimal | None = None
    text: str = ""  # in the notes, whatever its case


# The history's orders: a sort key (a column or an expression) and its direction. Each is served by an index
# (trade_book_exit; trade_by_pnl; trade_by_r, each starting with the book), with the id as the tie-breaker.
SORTS = {
    "-closed": ("exit_time", True),
    "closed": ("exit_time", False),
    "-r": ("r", True),
    "r": ("r", False),
    "-pnl": ("realized_pnl", True),
    "pnl": ("realized_pnl", False),
}


def _matching(filters: HistoryFilter) -> QuerySet[PaperTrade]:
    """The closed trades that match, each with its R multiple `r` (None without a risk), in no order."""
    rows = closed_between(filters.book, filters.start, filters.end).annotate(r=r_multiple())
    conditions = {
        "symbol": filters.symbol,
        "direction": filters.side,
        "status": filters.reason,
        "r__gte": filters.r_min,
        "r__lte": filters.r_max,
        "notes__icontains": filters.text,
    }
    rows = rows.filter(**{name: value for name, value in conditions.items() if value not in (None, "")})
    return rows.filter(HasElement("tags", filters.tag)) if filters.tag else rows


def history(filters: HistoryFilter) -> QuerySet[PaperTrade]:
    """The closed trades that match, each with its R multiple `r`, `held_seconds` and excursions (the export's
    columns), in no order."""
    return with_export_columns(_matching(filters))


def history_totals(filters: HistoryFilter) -> Figures:
    """The figures of every trade that matches, whatever page is shown: one aggregate query over them all
    (count, net, win rate and average R are what the history shows)."""
    return figures_for(_matching(filters))


@dataclass(frozen=True)
class HistoryPage:
    rows: list[PaperTrade]
    after: int | None  # the cursor of the next page (the last row's id), None on the last page
    before: int | None  # the cursor of the page before (the first row's id), None on the first page


def _in_order(filters: HistoryFilter, sort: str, *, backwards: bool = False) -> QuerySet[PaperTrade]:
    """The history in the sort's order (or against it), the id breaking ties; in an R order only the trades
    that have an R."""
    key, descending = SORTS[sort]
    rows = history(filters).filter(r__isnull=False) if key == "r" else history(filters)
    return rows.order_by(
        *([F(key).desc(), F("pk").desc()] if descending != backwards else [F(key).asc(), F("pk").asc()])
    )


def history_page(
    filters: HistoryFilter, *, sort: str = "-closed", after: int | None = None, before: int | None = None, size: int
) -> HistoryPage:
    """One page of the history in the sort's order: the first, the one after the row `after`, or the one
    before the row `before`. Keyset paging: the cursor is a row's id, and the page starts where the index
    holds that row's sort key (read by one primary-key lookup), so a page deep in a million rows costs what
    the first does. In the R order, trades without a risk (no R) are left out."""
    key, descending = SORTS[sort]
    forward = before is None  # reading away from the start of the order
    rows = _in_order(filters, sort, backwards=not forward)
    cursor = after if after is not None else before
    if cursor is not None:
        value = Subquery(PaperTrade.objects.filter(pk=cursor).annotate(r=r_multiple()).order_by().values(key)[:1])
        beyond, within = ("lt", "lte") if descending == forward else ("gt", "gte")
        # `within` bounds the index range; `beyond` or a tie broken by id keeps the rows past the cursor.
        rows = rows.filter(**{f"{key}__{within}": value}).filter(
            Q(**{f"{key}__{beyond}": value}) | Q(**{key: value, f"pk__{beyond}": cursor})
        )
    found = list(rows[: size + 1])
    more = len(found) > size
    found = found[:size]
    if not forward:
        found.reverse()
    if not found:
        return HistoryPage([], None, None)
    has_next = more if forward else True  # going back, the cursor's row lies ahead
    has_previous = cursor is not None if forward else more
    return HistoryPage(found, found[-1].pk if has_next else None, found[0].pk if has_previous else None)


def history_rows(filters: HistoryFilter, *, sort: str = "-closed") -> QuerySet[PaperTrade]:
    """Every row of the history in the sort's order, with the export's columns: streamed, never paged."""
    return _in_order(filters, sort)
