"""What every page's views share: the request type, rendering a page or a part of it, the day's page that a
refusal falls back to, and the permission check on every view that acts.

The day's page (`ledger/dashboard.html`) is drawn here, not in dashboard.py, because every refused action, on
whichever page, answers with it (refused, trade_required); dashboard.py holds the views that serve it.
"""

import functools
from collections.abc import Callable
from datetime import date, timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django_htmx.middleware import HtmxDetails

from .. import selectors
from ..days import today
from ..errors import LedgerError, NotPermitted
from ..models import Book

# The one permission for acting on the ledger from a page (models.PaperTrade.Meta.permissions).
TRADE_PERMISSION = "ledger.trade"
SIGNALS_SHOWN = 20  # rows of the day's signals on its page; the rest are a link away


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def books_context(request: HttpRequest) -> dict:
    """The book switcher's: the book the pages show and every book the user may see (read only if drawn)."""
    if not request.user.is_authenticated or not hasattr(request, "book"):
        return {}
    return {"book": request.book, "books": request.books}


def seen_books(request: HttpRequest) -> list[int]:
    """The ids of the books the user may see: what every lookup by id is limited to (another book's row is a 404)."""
    return [book.pk for book in request.books]


def traded_books(request: HttpRequest) -> list[int]:
    """The ids of the books the user may trade in: what every action on a row by id is limited to."""
    if not hasattr(request, "_traded_books"):
        request._traded_books = list(selectors.books_tradable(request.user).values_list("pk", flat=True))
    return request._traded_books


def _signals(book: Book, day: date) -> dict:
    """Today's waiting signals say whether they can be taken now, and why not (selectors.signals_board)."""
    at = timezone.now() if day == today() else None
    return {
        "signals": selectors.signals_board(book, day, size=SIGNALS_SHOWN, at=at),
        "signal_counts": selectors.signals_summary(book, day),
    }


# Each part's context on today's page and on a past day's, queried only when that part is rendered. A past day
# shows how it ended (no live figure): the balance at its end, and the trades that were open then.
TODAY_PARTS: dict[str, Callable[[Book, date], dict]] = {
    "summary": lambda book, day: {"summary": selectors.dashboard_summary(book, day)},
    "active-trades": lambda book, day: {"active_trades": selectors.trades_active_with_last_tick(book)},
    "working-orders": lambda book, day: {"working_orders": selectors.orders_working(book)},
    "signals": _signals,
    "journal": lambda book, day: {
        "journal": selectors.journal_for_day(book, day),
        "journal_day": selectors.pnl_daily(book, day),
    },
    "diary": lambda book, day: {"diary": selectors.day_note(book, day)},
}
# The events that change each live part: its hx-trigger="sse:<kind>, ..." (docs/dashboard.md, "Live"). A trade's
# page hears only its own trade's events (its stream's ?trade=), so its facts take every batch of prices it gets.
LIVE_KINDS = {
    "summary": ["prices.applied", "trade.opened", "trade.closed", "trade.corrected", "day.closed", "imported"],
    "active-trades": [
        "prices.applied",
        "trade.opened",
        "trade.closed",
        "trade.moved",
        "trade.corrected",
        "day.closed",
        "imported",
    ],
    "signals": ["signal.recorded", "signal.refused", "signal.expired", "trade.opened", "day.closed", "imported"],
    "journal": ["trade.closed", "trade.reduced", "trade.corrected", "journal.changed", "day.closed", "imported"],
    "working-orders": ["order.placed", "order.ended", "prices.applied", "day.closed"],
    "facts": ["prices.applied", "trade.moved", "trade.reduced", "trade.closed", "trade.corrected"],
    "executions": ["trade.reduced", "trade.corrected"],
}
# As the templates read them (a key without a dash): "sse:prices.applied, sse:trade.opened, ...".
SSE_TRIGGERS = {name.replace("-", "_"): ", ".join(f"sse:{k}" for k in kinds) for name, kinds in LIVE_KINDS.items()}
# The working orders hear prices only while they show an order (prices move its distance to fill): the demo's feed
# would otherwise refresh an empty part with every batch (bench/README.md, "Live push").
SSE_TRIGGERS["no_working_orders"] = ", ".join(f"sse:{k}" for k in LIVE_KINDS["working-orders"] if k != "prices.applied")


def live_context(*, live: bool, book: Book, trade_id: int | None = None) -> dict:
    """What a live page's <body> needs to hold its stream (`sse-connect`): the newest event id when the page is
    drawn (asked only by a whole page), so the stream starts where the page stands, its book, and the parts'
    triggers. `book` is the page's: what the switcher shows and what its own requests send (base.html)."""
    if not live:
        return {"sse_triggers": SSE_TRIGGERS, "book": book}
    query = f"&book={book.slug}" + ("" if trade_id is None else f"&trade={trade_id}")
    return {
        "sse_triggers": SSE_TRIGGERS,
        "book": book,
        "events_url": lambda: f"{reverse('live-events')}?after={selectors.events_newest_id()}{query}",
    }


PAST_PARTS = TODAY_PARTS | {
    "summary": lambda book, day: {"day_end": selectors.day_end(book, day)},
    "active-trades": lambda book, day: {},
    "working-orders": lambda book, day: {},  # orders work now: a past day's page has none
}


def page_context(book: Book, day: date, *, notice: str = "", failed: bool = False) -> dict:
    """What every part of a day's page needs besides its own rows."""
    current = today()
    return live_context(live=day == current, book=book) | {
        "day": day,
        "is_today": day == current,
        "previous_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1) if day < current else None,
        "poll_ms": settings.DASHBOARD_POLL_MS,
        "trading_tz": settings.TRADING_DAY_TZ,
        "fee_rate": book.terms.fee_rate,
        "price_max_age": int(settings.PAPER_PRICE_MAX_AGE.total_seconds()),
        "notice": notice,
        "failed": failed,
    }


def render_page(
    request: HtmxHttpRequest, template: str, context: dict, *, part: str | None = None, status: int = 200
) -> HttpResponse:
    """A page, or one part of it, from a complete context, with times in the trading day's zone."""
    with timezone.override(settings.TRADING_DAY_TZ):
        response = render(request, template + (f"#{part}" if part else ""), context, status=status)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    if part:
        patch_cache_control(response, private=True, no_cache=True)  # the browser asks again, with If-None-Match
    return response


def render_dashboard(
    request: HtmxHttpRequest, day: date, *, part: str | None = None, status: int = 200, notice: str = ""
) -> HttpResponse:
    """The day's page, or one part of it, querying only the parts it renders."""
    context = page_context(request.book, day, notice=notice, failed=status >= 400)
    for name, build in (TODAY_PARTS if context["is_today"] else PAST_PARTS).items():
        if part in (None, name):
            context |= build(request.book, day)
    return render_page(request, "ledger/dashboard.html", context, part=part, status=status)


def day_url(day: date) -> str:
    """A day's page: today's at /, any other at /day/<date>/."""
    return reverse("dashboard") if day == today() else reverse("dashboard-day", args=[day])


def asked_part(request: HtmxHttpRequest, parts=TODAY_PARTS) -> str | None:
    """The part of the page an HTMX request asked for, if it is one of `parts`; None: the whole page."""
    return request.htmx.target if request.htmx and request.htmx.target in parts else None


def refusal_status(request: HtmxHttpRequest, error: LedgerError) -> int:
    """The status of a page's answer to a refused action: the error's own (403, 404, 409, 422) for a plain form post;
    200 for HTMX, whose answer is the part that says why. A browser logs every 4xx an XHR gets as an error in its
    console ("Failed to load resource"), which a refusal the trader reads in the page is not."""
    return 200 if request.htmx else error.status_code


def refused(request: HtmxHttpRequest, error: LedgerError) -> HttpResponse:
    """A refused action: HTMX gets the notice (and a `ledgerChanged` event, as the row may have changed under
    the trader); a plain form post gets today's page with the message, with the error's status."""
    if request.htmx:
        response = render_page(
            request,
            "ledger/dashboard.html",
            {"notice": error.message, "failed": True},
            part="notice",
            status=refusal_status(request, error),
        )
        response["HX-Trigger"] = "ledgerChanged"
        return response
    return render_dashboard(request, today(), status=error.status_code, notice=error.message)


def trade_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For every view that acts on the ledger (the dashboard's buttons, the trade page's edits): without the
    `ledger.trade` permission the answer is 403 with a sentence and the view does not run. Put it under
    @login_required; staff in "ledger read-only" have no such permission."""

    @functools.wraps(view)
    def wrapper(request: HtmxHttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.has_perm(TRADE_PERMISSION):
            why = (
                f"{request.user.get_username()} may look but not trade: acting needs the permission {TRADE_PERMISSION}."
            )
            return refused(request, NotPermitted(why))
        return view(request, *args, **kwargs)

    return wrapper
