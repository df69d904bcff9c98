"""The trader's dashboard. One view renders the page and, for an HTMX request, any one of its parts
(`ledger/dashboard.html#<part>`); the action views call one service each and say what happened."""

import functools
import time
from collections.abc import Callable
from datetime import date, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.http import condition, require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from . import selectors, services
from .days import today
from .errors import LedgerError, NotPermitted
from .inputs import EARLIEST_DAY

# The one permission for acting on the ledger from a page (models.PaperTrade.Meta.permissions).
TRADE_PERMISSION = "ledger.trade"


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


# Each part's context, queried only when that part is rendered.
PARTS: dict[str, Callable[[date], dict]] = {
    "summary": lambda day: {"summary": selectors.dashboard_summary(day)},
    "active-trades": lambda day: {"active_trades": selectors.trades_active_with_last_tick()},
    "signals": lambda day: {"signals": selectors.signals_for_day(day), "signal_counts": selectors.signals_summary(day)},
    "journal": lambda day: {"journal": selectors.journal_for_day(day), "journal_day": selectors.pnl_daily(day)},
    "diary": lambda day: {"diary": selectors.day_note(day)},
}


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


def render_page(request: HtmxHttpRequest, context: dict, *, part: str | None, status: int = 200) -> HttpResponse:
    """The page, or one part of it, from a complete context."""
    template = "ledger/dashboard.html" + (f"#{part}" if part else "")
    with timezone.override(settings.TRADING_DAY_TZ):  # times shown in the trading day's zone
        response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    if part:
        patch_cache_control(response, private=True, no_cache=True)  # the browser asks again, with If-None-Match
    return response


def render_dashboard(request: HtmxHttpRequest, day: date, *, part: str | None = None, status: int = 200, notice: str = "") -> HttpResponse:
    """The day's page, or one part of it, querying only the parts it renders."""
    context = page_context(day, notice=notice, failed=status >= 400)
    for name, build in PARTS.items():
        live_only = name == "active-trades" and not context["is_today"]  # a past day's page links to today instead
        if part in (None, name) and not live_only:
            context |= build(day)
    return render_page(request, context, part=part, status=status)


def _asked_part(request: HtmxHttpRequest) -> str | None:
    return request.htmx.target if request.htmx and request.htmx.target in PARTS else None


def _part_etag(request: HtmxHttpRequest, day: date | None = None) -> str | None:
    """What a part's content depends on: the ledger's version, the day, the viewer, and for the active
    trades (whose ages tick on) the minute. A poll that matches it gets 304 from this one small query."""
    part = _asked_part(request)
    if part is None:
        return None
    minute = int(time.time() // 60) if part == "active-trades" else 0
    return f"{part}.{day or today()}.{selectors.ledger_version()}.{request.user.pk}.{minute}"


@login_required
@require_GET
@condition(etag_func=_part_etag)
def dashboard(request: HtmxHttpRequest, day: date | None = None) -> HttpResponse:
    """Today's dashboard at /, any past day at /day/YYYY-MM-DD/; an HTMX poll gets just its part."""
    if "date" in request.GET:  # the date picker's plain GET form
        return _go_to_day(request.GET["date"])
    day = day or today()
    if day > today():
        return render_dashboard(request, today(), status=404, notice=f"{day} has not happened yet.")
    return render_dashboard(request, day, part=_asked_part(request))


def _go_to_day(value: str) -> HttpResponse:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return redirect("dashboard")
    if day >= today() or day < EARLIEST_DAY:
        return redirect("dashboard")
    return redirect(reverse("dashboard-day", args=[day]))


def refused(request: HtmxHttpRequest, error: LedgerError) -> HttpResponse:
    """A refused action: HTMX gets the notice (and a `ledgerChanged` event, as the row may have changed under
    the trader); a plain form post gets today's page with the message, with the error's status."""
    if request.htmx:
        response = render(request, "ledger/dashboard.html#notice", {"notice": error.message, "failed": True}, status=error.status_code)
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
            why = f"{request.user.get_username()} may look but not trade: acting needs the permission {TRADE_PERMISSION}."
            return refused(request, NotPermitted(why))
        return view(request, *args, **kwargs)

    return wrapper


def _act(request: HtmxHttpRequest, action: Callable[[], object], *, done: str) -> HttpResponse:
    """Run one service for a button. HTMX gets the notice and a `ledgerChanged` event that makes the
    parts refresh themselves; a plain form post is redirected back (or shown the error)."""
    try:
        action()
    except LedgerError as error:
        return refused(request, error)
    if request.htmx:
        response = render(request, "ledger/dashboard.html#notice", {"notice": done})
        response["HX-Trigger"] = "ledgerChanged"
        return response
    messages.success(request, done)
    return redirect("dashboard")


@login_required
@require_POST
@trade_required
def trade_close(request: HtmxHttpRequest, trade_id: int) -> HttpResponse:
    return _act(request, lambda: services.trade_close(trade_id=trade_id), done=f"Closed trade #{trade_id} at its current price.")


@login_required
@require_POST
@trade_required
def signal_execute(request: HtmxHttpRequest, signal_id: str) -> HttpResponse:
    return _act(request, lambda: services.signal_execute(signal_id=signal_id), done=f"Executed signal {signal_id}.")


@login_required
@require_POST
@trade_required
def signal_expire(request: HtmxHttpRequest, signal_id: str) -> HttpResponse:
    return _act(
        request,
        lambda: services.signal_expire(signal_id=signal_id, reason=f"Dismissed by {request.user.get_username()}."),
        done=f"Expired signal {signal_id}.",
    )
