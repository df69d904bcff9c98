"""The trader's dashboard. One view renders the page and, for an HTMX request, any one of its parts
(`ledger/dashboard.html#<part>`); the action views call one service each and say what happened."""

import functools
import time
from collections.abc import Callable
from datetime import date, timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.views.decorators.http import condition, require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from . import selectors, services
from .days import today
from .errors import LedgerError, NotPermitted
from .models import PaperTrade, Signal
from .stats_views import DayField
from .templatetags.ledger_format import money, price, r_multiple, signed, trade_link

# The one permission for acting on the ledger from a page (models.PaperTrade.Meta.permissions).
TRADE_PERMISSION = "ledger.trade"
SIGNALS_SHOWN = 20  # rows of the day's signals on its page; the rest are a link away
SIGNALS_PAGE = 100  # rows of a page of all the day's signals


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _signals(day: date) -> dict:
    return {
        "signals": selectors.signals_board(day, size=SIGNALS_SHOWN),
        "signal_counts": selectors.signals_summary(day),
    }


# Each part's context on today's page and on a past day's, queried only when that part is rendered. A past day
# shows how it ended (no live figure): the equity at its end, and the trades that were open then.
TODAY_PARTS: dict[str, Callable[[date], dict]] = {
    "summary": lambda day: {"summary": selectors.dashboard_summary(day)},
    "active-trades": lambda day: {"active_trades": selectors.trades_active_with_last_tick()},
    "signals": _signals,
    "journal": lambda day: {"journal": selectors.journal_for_day(day), "journal_day": selectors.pnl_daily(day)},
    "diary": lambda day: {"diary": selectors.day_note(day)},
}
PAST_PARTS = TODAY_PARTS | {"summary": lambda day: {"day_end": selectors.day_end(day)}, "active-trades": lambda day: {}}


def page_context(day: date, *, notice: str = "", failed: bool = False) -> dict:
    """What every part of a day's page needs besides its own rows."""
    current = today()
    return {
        "day": day,
        "is_today": day == current,
        "previous_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1) if day < current else None,
        "poll_ms": settings.DASHBOARD_POLL_MS,
        "trading_tz": settings.TRADING_DAY_TZ,
        "fee_rate": settings.PAPER_FEE_RATE,
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
    context = page_context(day, notice=notice, failed=status >= 400)
    for name, build in (TODAY_PARTS if context["is_today"] else PAST_PARTS).items():
        if part in (None, name):
            context |= build(day)
    return render_page(request, "ledger/dashboard.html", context, part=part, status=status)


def day_url(day: date) -> str:
    """A day's page: today's at /, any other at /day/<date>/."""
    return reverse("dashboard") if day == today() else reverse("dashboard-day", args=[day])


def asked_part(request: HtmxHttpRequest, parts=TODAY_PARTS) -> str | None:
    """The part of the page an HTMX request asked for, if it is one of `parts`; None: the whole page."""
    return request.htmx.target if request.htmx and request.htmx.target in parts else None


def _part_etag(request: HtmxHttpRequest, day: date | None = None) -> str | None:
    """What a part's content depends on: the ledger's version, the day, the viewer, and for the active
    trades (whose ages tick on) the minute. A poll that matches it gets 304 from this one small query."""
    part = asked_part(request)
    if part is None:
        return None
    minute = int(time.time() // 60) if part == "active-trades" else 0
    return f"{part}.{day or today()}.{selectors.ledger_version()}.{request.user.pk}.{minute}"


class DayForm(forms.Form):
    """The date picker's plain GET form."""

    date = DayField()


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
    signals = selectors.signals_for_day(day).select_related("trade")
    page = Paginator(signals, SIGNALS_PAGE).get_page(request.GET.get("page"))
    context = page_context(day) | {"signals": page.object_list, "page": page}
    return render_page(request, "ledger/signals.html", context)


def refused(request: HtmxHttpRequest, error: LedgerError) -> HttpResponse:
    """A refused action: HTMX gets the notice (and a `ledgerChanged` event, as the row may have changed under
    the trader); a plain form post gets today's page with the message, with the error's status."""
    if request.htmx:
        response = render_page(
            request,
            "ledger/dashboard.html",
            {"notice": error.message, "failed": True},
            part="notice",
            status=error.status_code,
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


def _act(request: HtmxHttpRequest, action: Callable[[], SafeString]) -> HttpResponse:
    """Run one service for a button; `action` returns the sentence that says what it did, with its numbers.
    HTMX gets the notice and a `ledgerChanged` event that makes the parts refresh themselves; a plain form post
    is redirected back (or shown the error)."""
    try:
        done = action()
    except LedgerError as error:
        return refused(request, error)
    if request.htmx:
        response = render_page(request, "ledger/dashboard.html", {"notice": done}, part="notice")
        response["HX-Trigger"] = "ledgerChanged"
        return response
    messages.success(request, done)
    return redirect("dashboard")


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
@require_POST
@trade_required
def trade_close(request: HtmxHttpRequest, trade_id: int) -> HttpResponse:
    return _act(request, lambda: _closed(services.trade_close(trade_id=trade_id)))


@login_required
@require_http_methods(["GET", "POST"])
@trade_required
def signal_execute(request: HtmxHttpRequest, signal_id: str) -> HttpResponse:
    """GET: what executing the signal now would do (the fill, size, risk and the signal's age), to confirm; in a
    dialog for HTMX, as a page without JavaScript. POST: execute it (services.signal_execute)."""
    if request.method == "POST":
        return _act(request, lambda: _opened(services.signal_execute(signal_id=signal_id)))
    now = timezone.now()
    context = {"in_dialog": bool(request.htmx)}
    try:
        signal = selectors.signal(signal_id)
        context |= {"signal": signal, "plan": selectors.entry_plan(signal, account=selectors.account(), at=now)}
        status = 200
    except LedgerError as error:
        context |= {"refusal": error.message}
        status = error.status_code
    if request.htmx:
        return render_page(request, "ledger/dashboard.html", context, part="execute-confirm", status=status)
    return render_page(request, "ledger/execute.html", context, status=status)


@login_required
@require_POST
@trade_required
def signal_expire(request: HtmxHttpRequest, signal_id: str) -> HttpResponse:
    reason = f"Dismissed by {request.user.get_username()}."
    return _act(request, lambda: _expired(services.signal_expire(signal_id=signal_id, reason=reason)))
