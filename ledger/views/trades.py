"""A trade's page (docs/journal.md): everything about one trade, its chart's data, and the forms that write its
notes and tags and move its stop and target.

Thin, as the dashboard: each view parses its input, calls one service or selector and renders a template
part. Every write needs the `ledger.trade` permission, and its controls are hidden without it.
"""

import functools
import time
from collections.abc import Callable
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import condition, require_GET, require_http_methods, require_POST

from .. import rules, selectors, services
from ..errors import InvalidInput, LedgerError, NotFound, Outdated, error_body
from ..models import PaperTrade
from .base import (
    TRADE_PERMISSION,
    HtmxHttpRequest,
    asked_part,
    live_context,
    refusal_status,
    render_page,
    seen_books,
    trade_required,
    traded_books,
)

# The parts an HTMX request may ask for.
TRADE_PARTS = ("facts", "levels", "notes", "trade-status", "manage", "executions", "chart-legend")


def _trade(request: HtmxHttpRequest, trade_id: int, *, acting: bool = False) -> PaperTrade:
    """The trade, if of a book the user may see (to act on it: may trade in), or 404."""
    try:
        return selectors.trade(trade_id, books=traded_books(request) if acting else seen_books(request))
    except NotFound as missing:
        raise Http404(missing.message) from None


def trade_context(
    trade: PaperTrade, *, now=None, editing: bool = False, notice: str = "", failed: bool = False
) -> dict:
    """Everything the trade page shows about a trade, and whether its chart has any history to draw."""
    now = now or timezone.now()
    start, end, _ = selectors.chart_span(trade, now)
    return live_context(live=trade.is_open, book=trade.book, trade_id=trade.pk) | {
        "trade": trade,
        "signal": trade.signal,
        "excursions": trade.excursions,
        "notional": rules.money(trade.entry_price * trade.position_size),
        "executions": selectors.trade_executions(trade),
        # the stops a trail or break-even moved to, replayed on the chart's candles: only for a trade that has one
        "stop_moves": functools.cache(lambda: selectors.stop_moves(trade, selectors.trade_executions(trade), now)),
        "held": (trade.exit_time or now) - trade.entry_time,
        "chart_from": start,
        "chart_to": min(end, now),
        # asked by the template only where the whole page is drawn, not by a part's refresh; once however often
        "has_history": functools.cache(selectors.candles(trade.symbol, start, end).exists),
        "poll_ms": settings.DASHBOARD_POLL_MS if trade.is_open else 0,
        "trading_tz": settings.TRADING_DAY_TZ,
        "editing": editing,
        "tag_choices": selectors.tags_used(trade.book) if editing else [],
        "notice": notice,
        "failed": failed,
    }


def _trade_etag(request: HtmxHttpRequest, trade_id: int) -> str | None:
    """A live part's content depends on the ledger's version, the viewer and (time held) the minute."""
    target = asked_part(request, TRADE_PARTS)
    if target is None:
        return None
    book_id = _trade(request, trade_id).book_id
    return f"trade.{trade_id}.{target}.{selectors.ledger_version(book_id)}.{request.user.pk}.{int(time.time() // 60)}"


@login_required
@require_GET
@condition(etag_func=_trade_etag)
def trade_page(request: HtmxHttpRequest, trade_id: int) -> HttpResponse:
    """/trades/<id>/: everything about one trade. An open trade's facts refresh with the dashboard's poll; the
    refresh that finds it closed tells the page (`tradeClosed`), whose badge and Manage card then draw themselves
    closed."""
    trade = _trade(request, trade_id)
    editing = request.GET.get("edit") == "notes" and request.user.has_perm(
        TRADE_PERMISSION
    )  # the form without JavaScript
    part = asked_part(request, TRADE_PARTS)
    response = render_page(request, "ledger/trade.html", trade_context(trade, editing=editing), part=part)
    if part == "facts" and not trade.is_open:
        response["HX-Trigger"] = "tradeClosed"
    return response


def _unix(moment) -> int:
    """A moment as the chart's time: seconds since 1970 of the trading day's wall clock, which the chart
    (which knows only UTC) then shows as the page's other times."""
    return int(moment.timestamp()) + int(moment.astimezone(settings.TRADING_DAY_TZ).utcoffset().total_seconds())


def chart_data(trade: PaperTrade, now, *, after: datetime | None = None) -> dict:
    """The chart's data: candles (prices as strings, exactly as stored), a marker for each execution (the entry
    and each exit, partial ones included) and for each stop a trail or break-even moved to, at the start of the
    candle they fall in, and the entry, stop, target and exit lines. With `after`, only the candles that start
    after it. `after` in the answer is what to send next time for what is new: the start of its last candle but
    one (Unix seconds), since the last may still be growing."""
    chart = selectors.trade_chart(trade, now, after=after)
    step = chart.minutes * 60

    def candle_time(moment) -> int:
        return _unix(moment) // step * step

    executions = selectors.trade_executions(trade)

    def fill_marker(fill) -> dict:
        marker = {"kind": fill.kind, "time": candle_time(fill.time), "price": str(fill.price)}
        return marker | ({"reason": PaperTrade.Status(fill.reason).label} if fill.kind == "exit" else {})

    moments = [(fill.time, 0, fill_marker(fill)) for fill in executions]  # at one moment, a fill before a stop
    moments += [
        (moment, 1, {"kind": "stop", "time": candle_time(moment), "price": str(level)})
        for moment, level in selectors.stop_moves(trade, executions, now)
    ]
    markers = [marker for *_, marker in sorted(moments, key=lambda item: item[:2])]
    lines = [
        {"kind": "entry", "price": str(trade.entry_price)},
        {"kind": "stop", "price": str(trade.stop_loss)},
        {"kind": "target", "price": str(trade.take_profit)},
    ]
    if trade.exit_price:
        lines.append({"kind": "exit", "price": str(trade.exit_price)})
    settled = chart.candles[-2].time if len(chart.candles) > 1 else after
    return {
        "direction": trade.direction,
        "open": trade.is_open,
        "minutes": chart.minutes,
        "precision": min(max(2, -trade.entry_price.normalize().as_tuple().exponent), 8),
        "candles": [
            {"time": _unix(c.time), "open": str(c.open), "high": str(c.high), "low": str(c.low), "close": str(c.close)}
            for c in chart.candles
        ],
        "after": int(settled.timestamp()) if settled else None,
        "markers": markers,
        "lines": lines,
    }


AFTER_MAX = 10**11  # Unix seconds: far beyond any candle (the year 5138), and what a datetime holds


def _after(request: HtmxHttpRequest) -> datetime | None:
    """`?after=<Unix seconds>`: only the candles that start after it; absent: the whole chart."""
    raw = request.GET.get("after")
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) >= AFTER_MAX:
        raise InvalidInput(
            f"after must be a time in whole seconds since 1970 (as the chart's last answer gave it), not {raw!r}.",
            field="after",
        )
    return datetime.fromtimestamp(int(raw), UTC)


@login_required
@require_GET
def trade_chart(request: HtmxHttpRequest, trade_id: int) -> JsonResponse:
    """/trades/<id>/chart.json, what trade-chart.js draws; `?after=` for the candles it does not have yet."""
    try:
        after = _after(request)
    except InvalidInput as error:
        return JsonResponse(error_body(error.message, error.field), status=error.status_code)
    response = JsonResponse(chart_data(_trade(request, trade_id), timezone.now(), after=after))
    patch_cache_control(response, private=True, no_cache=True)
    return response


def _tags_from(request: HtmxHttpRequest) -> list[str]:
    """The tags a form sends: the kept ones (a checkbox each) and new ones typed separated by commas."""
    typed = [tag for tag in request.POST.get("new_tags", "").split(",") if tag.strip()]
    return [*request.POST.getlist("tags"), *typed]


def _edit(
    request: HtmxHttpRequest,
    trade_id: int,
    write: Callable[[], PaperTrade],
    *,
    done: tuple[str, Callable],
    refused: tuple[str, Callable],
) -> HttpResponse:
    """Run one service for a form of the trade page. HTMX gets a part back, `done` (part, context of the
    written trade) or `refused` (part, context of the reason), and a ledgerChanged event, so the live parts
    refresh (the trade may also have changed under the trader); a plain post is redirected to the page, or
    shown the page with the reason."""
    _trade(request, trade_id, acting=True)  # another book's trade, or one the user may only see: 404
    try:
        trade = write()
    except LedgerError as error:
        if error.status_code == 404:
            raise Http404(error.message) from None
        part, context = refused
        response = render_page(
            request,
            f"ledger/trade.html#{part}" if request.htmx else "ledger/trade.html",
            context(error),
            status=refusal_status(request, error),
        )
    else:
        if not request.htmx:
            return redirect("trade", trade_id=trade_id)
        part, context = done
        response = render_page(request, f"ledger/trade.html#{part}", context(trade))
    response["HX-Trigger"] = "ledgerChanged"
    return response


@login_required
@trade_required
@require_http_methods(["GET", "POST"])
def trade_notes(request: HtmxHttpRequest, trade_id: int) -> HttpResponse:
    """GET: the notes and tags as a form (the trade page's Edit). POST: save them (services.trade_annotate)."""
    if request.method == "GET":
        return render_page(
            request, "ledger/trade.html#notes-form", trade_context(_trade(request, trade_id), editing=True)
        )
    notes, version, tags = request.POST.get("notes"), request.POST.get("version"), _tags_from(request)

    def save() -> PaperTrade:
        # The form always sends its notes and the version it was drawn from; without them it is not this form
        # (a bare post would otherwise empty the notes and the tags). Unticked tags are simply not sent.
        for name, value in (("notes", notes), ("version", version)):
            if value is None:
                raise InvalidInput(f"The form sent no {name}; nothing was saved.", field=name)
        return services.trade_annotate(trade_id=trade_id, notes=notes, tags=tags, version=version, by=request.user)

    def as_typed(error: LedgerError) -> dict:
        trade = _trade(request, trade_id)
        # After a conflict the form is drawn on what is there now (the notice says what changed): saving again
        # then replaces it knowingly. After another refusal it keeps the version it was drawn from.
        context = trade_context(trade, editing=True, notice=error.message, failed=True)
        context["version"] = trade.notes_version if isinstance(error, Outdated) else version
        context["trade"].notes, context["typed_tags"] = notes or "", request.POST.get("new_tags", "")
        return context

    return _edit(request, trade_id, save, done=("notes", trade_context), refused=("notes-form", as_typed))


@login_required
@trade_required
@require_POST
def trade_levels(request: HtmxHttpRequest, trade_id: int) -> HttpResponse:
    """Move an open trade's stop or target (services.trade_move_levels); a blank field stays where it is."""
    stop, target = request.POST.get("stop_loss") or None, request.POST.get("take_profit") or None
    return _edit(
        request,
        trade_id,
        lambda: services.trade_move_levels(trade_id=trade_id, stop_loss=stop, take_profit=target, by=request.user),
        done=(
            "levels",
            lambda trade: trade_context(
                trade, notice=f"Stop {rules.plain(trade.stop_loss)}, target {rules.plain(trade.take_profit)}."
            ),
        ),
        refused=("levels", lambda error: trade_context(_trade(request, trade_id), notice=error.message, failed=True)),
    )
