"""Reads of the ledger: a symbol's candles, the journal of a day, PnL per day, the statistics, the events."""

from datetime import UTC, datetime, timedelta

from django.http import HttpRequest
from ninja import Query, Router

from .. import live, selectors
from ..days import today
from ..errors import InvalidInput
from ..inputs import ID_MAX, PERIOD_DAYS_MAX, RANGE_DAYS_MAX, check_period, clean_symbol
from ..models import Event
from .errors import ERRORS
from .schemas import CandleOut, DailyPnlOut, EventsOut, JournalOut, StatsOut
from .types import Count, Day, Moment, Symbol

JOURNAL_LIMIT_MAX = 500
CANDLES_SPAN_MAX = timedelta(days=1)  # 1,440 candles at most in one answer
router = Router()


@router.get("/candles", response={200: list[CandleOut], **ERRORS}, tags=["reads"])
def candles(
    request: HttpRequest,
    symbol: Symbol,
    start: Moment | None = Query(
        None, alias="from", description="ISO 8601 with a zone, included; default: `to` less a day."
    ),
    end: Moment | None = Query(None, alias="to", description="ISO 8601 with a zone, excluded; default: now."),
):
    """A symbol's 1-minute candles from `from` to `to`, oldest first: at most a day of minutes per request."""
    end = end or datetime.now(UTC)
    start = start or end - CANDLES_SPAN_MAX
    if not timedelta(0) < end - start <= CANDLES_SPAN_MAX:
        raise InvalidInput(f"to must be after from, and at most {CANDLES_SPAN_MAX.days} day after it.", field="to")
    return selectors.candles(clean_symbol(symbol), start, end)


@router.get("/journal", response={200: JournalOut, **ERRORS}, tags=["reads"])
def journal(
    request: HttpRequest,
    day: Day | None = Query(
        None, alias="date", description="A trading day, YYYY-MM-DD from 1970 to 2199; default today."
    ),
    limit: Count = Query(100, ge=1, le=JOURNAL_LIMIT_MAX),
    offset: Count = Query(0, ge=0, le=ID_MAX),
):
    """The trades closed during a trading day (in the journal's order, latest first), a page at a time."""
    day = day or today()
    trades = selectors.journal_for_day(request.auth.book, day)
    return {"day": day, "count": trades.count(), "items": trades[offset : offset + limit]}


@router.get("/pnl/daily", response={200: list[DailyPnlOut], **ERRORS}, tags=["reads"])
def pnl_daily(
    request: HttpRequest,
    day: Day | None = Query(None, alias="date", description="One trading day; default today. Not with from and to."),
    start: Day | None = Query(None, alias="from", description="First day of a range; only with `to`, not with `date`."),
    end: Day | None = Query(
        None,
        alias="to",
        description=(
            f"Last day of a range, included; only with `from`, on or after it "
            f"and less than {RANGE_DAYS_MAX} days after."
        ),
    ),
):
    """Realized PnL, closed trades and wins per trading day: one row for `date`, or one per day of from..to."""
    if start is None and end is None:
        return [selectors.pnl_daily(request.auth.book, day or today())]
    if day is not None:
        raise InvalidInput("Give either date, or from and to; not both.", field="date")
    if start is None or end is None:
        raise InvalidInput(
            "from and to go together: give both, as YYYY-MM-DD.", field="from" if start is None else "to"
        )
    if not timedelta(0) <= end - start < timedelta(days=RANGE_DAYS_MAX):
        raise InvalidInput(f"to must be on or after from, and at most {RANGE_DAYS_MAX} days after it.", field="to")
    return selectors.pnl_daily_range(request.auth.book, start, end)


@router.get("/stats", response={200: StatsOut, **ERRORS}, tags=["reads"])
def stats(
    request: HttpRequest,
    start: Day | None = Query(None, alias="from", description="First trading day; default: all history."),
    end: Day | None = Query(
        None,
        alias="to",
        description=(
            f"Last trading day, included, on or after `from` and less than {PERIOD_DAYS_MAX} days after it; "
            "default: today."
        ),
    ),
):
    """Trade count, win rate, averages, profit factor, expectancy, fees, max drawdown, best and worst day and
    symbol, holding time, excursions, streaks, return, Sharpe and Sortino; the same by symbol, direction, exit
    reason, tag, confluence, timeframe, confidence, weekday and hour; weekly and monthly tables; an R
    histogram (docs/statistics.md)."""
    # All history (up to `to`) is the page's "All"; a period from a day is bounded as the page bounds it.
    if start is not None and end is not None:
        check_period(start, end, field="to")
    elif start is not None:
        check_period(start, max(start, today()), field="from")  # `to` is today
    return selectors.stats(request.auth.book, start, end)


@router.get("/events", response={200: EventsOut, **ERRORS}, tags=["reads"])
def events(
    request: HttpRequest,
    after: Count = Query(0, ge=0, le=ID_MAX, description="The last event id already seen; 0 for the oldest kept."),
    limit: Count = Query(100, ge=1, le=selectors.EVENTS_PAGE_MAX),
    kind: list[str] | None = Query(None, description="Only these kinds (repeat the parameter for several)."),
):
    """The events after `after`, oldest first, at once (no waiting): a program asks again with `last_id`, and so
    misses none and gets none twice. For a push instead, GET /api/v1/events/stream (docs/api.md)."""
    unknown = sorted(set(kind or ()) - set(Event.Kind.values))
    if unknown:
        raise InvalidInput(f"kind {unknown[0]!r} is not one of {', '.join(Event.Kind.values)}.", field="kind")
    found = selectors.events_after(after, limit=limit, kinds=kind, books=[request.auth.book_id])
    items = [live.seen_by(event, request.auth.book_id) for event in found]  # no other book's trade ids
    return {"items": items, "last_id": items[-1].pk if items else after}
