"""The trader's dashboard. One view renders a day's page and, for an HTMX request, any one of its parts
(`ledger/dashboard.html#<part>`, each part's query in base.py's TODAY_PARTS); beside it the page of all the
day's signals, the day's diary, and the action views (Execute, Expire, Close), which call one service each and
say what happened."""

import time
from collections.abc import Callable
from datetime import date

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.views.decorators.http import condition, require_GET, require_http_methods, require_POST

from .. import rules, selectors, services
from ..days import today
from ..errors import AlreadyClosed, LedgerError, NotPermitted, PriceMoved
from ..forms import DayForm
from ..models import Order, PaperTrade, Signal
from ..templatetags.ledger_format import money, price, r_multiple, signed, trade_link
from .base import (
    HtmxHttpRequest,
    asked_part,
    day_url,
    page_context,
    refusal_status,
    refused,
    render_dashboard,
    render_page,
    trade_required,
    traded_books,
)

SIGNALS_PAGE = 100  # rows of a page of all the day's signals


def _part_etag(request: HtmxHttpRequest, day: date | None = None) -> str | None:
    """What a part's content depends on: the ledger's version, the day, the viewer, and for the active trades
    and the signals (whose ages tick on, and whose signals run out of time) the minute. A poll that matches it
    gets 304 from this one small query."""
    part = asked_part(request)
    if part is None:
        return None
    minute = int(time.time() // 60) if part in ("active-trades", "working-orders", "signals") else 0
    book = request.book  # read in this request: its version is the one committed now
    return f"{part}.{book.pk}.{day or today()}.{book.version}.{request.user.pk}.{minute}"


@login_required
@require_GET
@condition(etag_func=_part_etag)
def dashboard(request: HtmxHttpRequest, day: date | None = None) -> HttpResponse:
    """Today's dashboard at /, any past day at /day/YYYY-MM-DD/; an HTMX poll gets just its part. Every way to a
    day that has not happened (its URL, the date picker) ends in the same 404 page."""
    if "date" in request.GET:
        picked = DayForm(request.GET)
        if not picked.is_valid():
            return render_dashboard(request, today(), status=400, notice=f"Date: {picked.errors['date'][0]}")
        return redirect(day_url(picked.cleaned_data["date"]))
    day = day or today()
    if day > today():
        return not_yet(request, day)
    return render_dashboard(request, day, part=asked_part(request))


def not_yet(request: HtmxHttpRequest, day: date) -> HttpResponse:
    """The one answer for a day that has not happened: today's page, 404, saying so."""
    return render_dashboard(request, today(), status=404, notice=f"{date_format(day, 'D j M Y')} has not happened yet.")


@login_required
@require_GET
def day_signals(request: HtmxHttpRequest, day: date) -> HttpResponse:
    """/day/YYYY-MM-DD/signals/: every signal of the day, the latest first, a page at a time (the day's page
    shows the waiting ones and the latest handled)."""
    if day > today():
        return not_yet(request, day)
    signals = selectors.signals_for_day(request.book, day).select_related("trade")
    page = Paginator(signals, SIGNALS_PAGE).get_page(request.GET.get("page"))
    context = page_context(request.book, day) | {"signals": page.object_list, "page": page}
    return render_page(request, "ledger/signals.html", context)


def _act(
    request: HtmxHttpRequest, action: Callable[[], SafeString], *, confirm: Callable[..., HttpResponse] | None = None
) -> HttpResponse:
    """Run one service for a button; `action` returns the sentence that says what it did, with its numbers.
    HTMX gets the notice and a `ledgerChanged` event that makes the parts refresh themselves; a plain form post
    is redirected back (or shown the error). A confirmed order whose fill moved past what the trader accepts
    (PriceMoved) shows its confirmation again, `confirm`, with the new fill and why: in the dialog for HTMX, on
    its page with 409 for a plain post."""
    try:
        done = action()
    except LedgerError as error:
        if not (isinstance(error, PriceMoved) and confirm):
            return refused(request, error)
        response = confirm(request, notice=error.message, status=refusal_status(request, error))
        if request.htmx:
            response["HX-Retarget"], response["HX-Reswap"] = "#confirm", "innerHTML"
            response["HX-Trigger"] = "ledgerChanged"
        return response
    if request.htmx:
        response = render_page(request, "ledger/dashboard.html", {"notice": done}, part="notice")
        response["HX-Trigger"] = "ledgerChanged"
        return response
    messages.success(request, done)
    return redirect("dashboard")


def _confirmation(
    request: HtmxHttpRequest, part: str, title: str, context: dict, *, refusal: LedgerError | None, status: int
) -> HttpResponse:
    """A confirmation, `parts.html#<part>`: in the dialog for HTMX (its first drawing and each refresh while it is
    open), as a page of its own without JavaScript. A refusal shows why instead, with the refusal's status; when
    the dialog opens on one (the row changed under the trader), the parts refresh too."""
    context |= {"in_dialog": bool(request.htmx), "max_deviation": settings.PAPER_MAX_DEVIATION}
    if refusal is not None:
        context["refusal"] = refusal.message
        status = refusal_status(request, refusal)
    if request.htmx:
        response = render_page(request, "ledger/parts.html", context, part=part, status=status)
        if refusal is not None and request.htmx.target == "confirm":  # opened on a row that changed: refresh it
            response["HX-Trigger"] = "ledgerChanged"
        return response
    context |= {"confirm_part": f"ledger/parts.html#{part}", "confirm_title": title}
    return render_page(request, "ledger/confirm.html", context, status=status)


def _close_confirmation(request: HtmxHttpRequest, trade_id: int, *, notice: str = "", status: int = 200):
    """What closing the trade now would do: where a market exit fills at its last mark and what that realizes
    after fees (the trade's exit_quote and unrealized PnL, exactly what trade_close writes at that mark)."""
    context: dict = {"trade_id": trade_id, "notice": notice}
    refusal = None
    try:
        # named in the title, whatever the refusal; another book's, or one the user may only see: not found
        context["trade"] = trade = selectors.trade(trade_id, books=traded_books(request))
        if not trade.is_open:
            raise AlreadyClosed(
                f"Trade #{trade_id} is closed already ({trade.get_status_display()} at {price(trade.exit_price)}, "
                f"{signed(trade.realized_pnl)}).",
                field="trade_id",
            )
        context["quote"] = selectors.market_quote(trade.symbol)
    except LedgerError as error:
        refusal = error
    return _confirmation(request, "close-confirm", f"Close #{trade_id}", context, refusal=refusal, status=status)


def _execute_confirmation(request: HtmxHttpRequest, signal_id: str, *, notice: str = "", status: int = 200):
    """What executing the signal now would do (the fill, size, risk and the signal's age): selectors.entry_plan,
    the very function signal_execute writes from."""
    context: dict = {"signal_id": signal_id, "notice": notice}
    refusal = None
    try:
        context["signal"] = signal = selectors.signal(signal_id, books=traded_books(request))  # named in the title
        book = selectors.book_totals(signal.book)
        with rules.under(book.terms):
            context["plan"] = selectors.entry_plan(signal, account=book, at=timezone.now())
    except LedgerError as error:
        refusal = error
    return _confirmation(request, "execute-confirm", f"Execute {signal_id}", context, refusal=refusal, status=status)


def _closed(trade: PaperTrade) -> SafeString:
    return format_html(
        "Closed trade {} ({} {}) at {}: {} ({}).",
        trade_link(trade),
        trade.direction,
        trade.symbol,
        price(trade.exit_price),
        signed(trade.realized_pnl),
        r_multiple(trade.r_multiple),
    )


def _opened(trade: PaperTrade) -> SafeString:
    return format_html(
        "Opened trade {}: {} {} {} at {}, stop {}, target {}, risking {}.",
        trade_link(trade),
        trade.direction,
        price(trade.position_size),
        trade.symbol,
        price(trade.entry_price),
        price(trade.stop_loss),
        price(trade.take_profit),
        money(trade.risk_amount),
    )


def _expired(signal: Signal) -> SafeString:
    return format_html(
        "Expired signal {}: {} {} at {}.", signal.signal_id, signal.action, signal.symbol, price(signal.entry_price)
    )


@login_required
@require_http_methods(["GET", "POST"])
@trade_required
def trade_close(request: HtmxHttpRequest, trade_id: int) -> HttpResponse:
    """GET: what closing the trade now would do, to confirm; in a dialog for HTMX, as a page without JavaScript.
    POST: close it at the market (services.trade_close), held to the fill the confirmation showed."""
    if request.method == "GET":
        return _close_confirmation(request, trade_id)
    seen = request.POST.get("expected_price")
    return _act(
        request,
        lambda: _closed(
            services.trade_close(
                trade_id=selectors.trade(trade_id, books=traded_books(request)).pk, expected_price=seen
            )
        ),
        confirm=lambda request, **shown: _close_confirmation(request, trade_id, **shown),
    )


@login_required
@require_http_methods(["GET", "POST"])
@trade_required
def signal_execute(request: HtmxHttpRequest, signal_id: str) -> HttpResponse:
    """GET: what executing the signal now would do, to confirm; in a dialog for HTMX, as a page without
    JavaScript. POST: execute it (services.signal_execute), held to the fill the confirmation showed."""
    if request.method == "GET":
        return _execute_confirmation(request, signal_id)
    seen = request.POST.get("expected_price")
    return _act(
        request,
        lambda: _opened(
            services.signal_execute(
                signal_id=selectors.signal(signal_id, books=traded_books(request)).signal_id, expected_price=seen
            )
        ),
        confirm=lambda request, **shown: _execute_confirmation(request, signal_id, **shown),
    )


def _cancelled(order: Order) -> SafeString:
    return format_html(
        "Cancelled the {} order to {} {} at {}; {} is no longer reserved.",
        order.order_type,
        order.side.lower(),
        order.symbol,
        price(order.price),
        money(order.reserved),
    )


@login_required
@require_POST
@trade_required
def order_cancel(request: HtmxHttpRequest, order_id: int) -> HttpResponse:
    reason = f"Cancelled by {request.user.get_username()}."
    return _act(
        request,
        lambda: _cancelled(
            services.order_cancel(order_id=selectors.order(order_id, books=traded_books(request)).pk, reason=reason)
        ),
    )


@login_required
@require_POST
@trade_required
def signal_expire(request: HtmxHttpRequest, signal_id: str) -> HttpResponse:
    reason = f"Dismissed by {request.user.get_username()}."

    def expire() -> SafeString:
        signal = selectors.signal(signal_id, books=traded_books(request))
        return _expired(services.signal_expire(signal_id=signal.signal_id, reason=reason))

    return _act(request, expire, confirm=refused)


@login_required
@trade_required
@require_POST
def day_diary(request: HtmxHttpRequest, day: date) -> HttpResponse:
    """Save a day's diary (services.day_note_write), written in the form at the foot of its dashboard."""
    text = request.POST.get("text", "")
    try:
        if request.book.pk not in traded_books(request):
            raise NotPermitted(f"{request.user.get_username()} may look at {request.book} but not write in it.")
        note = services.day_note_write(day=day, text=text, by=request.user, book=request.book)
    except LedgerError as error:
        if not request.htmx:
            return render_dashboard(request, min(day, today()), status=error.status_code, notice=error.message)
        context = page_context(request.book, day) | {
            "diary": selectors.day_note(request.book, day),
            "diary_text": text,
            "diary_notice": error.message,
            "diary_failed": True,
        }
        return render_page(request, "ledger/dashboard.html#diary", context, status=refusal_status(request, error))
    if not request.htmx:
        return redirect(day_url(day))
    return render_page(
        request,
        "ledger/dashboard.html#diary",
        page_context(request.book, day) | {"diary": note, "diary_notice": "Saved."},
    )
