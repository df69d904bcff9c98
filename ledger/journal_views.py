"""The journal's pages (docs/journal.md): a trade's page with its chart, notes, tags and levels; the diary of a
day on its dashboard; and the history of closed trades, filtered, sorted, paged and exported.

Thin, as the dashboard: each view parses its input, calls one service or selector and renders a template
part. Every write needs the `ledger.trade` permission, and its controls are hidden without it.
"""

import functools
import time
from collections.abc import Callable
from datetime import date
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import condition, require_GET, require_http_methods, require_POST

from . import rules, selectors, services
from .days import today
from .errors import LedgerError, NotFound
from .exports import JOURNAL, export
from .inputs import clean_symbol
from .models import PaperTrade
from .stats_views import DayField
from .views import (
    TRADE_PERMISSION,
    HtmxHttpRequest,
    asked_part,
    day_url,
    page_context,
    render_dashboard,
    render_page,
    trade_required,
)

TRADE_PARTS = ("facts", "levels", "notes")  # the trade page's parts an HTMX request may ask for
HISTORY_PAGE = 50  # closed trades on a page of the history


def _trade(trade_id: int) -> PaperTrade:
    try:
        return selectors.trade(trade_id)
    except NotFound as missing:
        raise Http404(missing.message) from None


# --- The trade page -------------------------------------------------------------------------------


def trade_context(
    trade: PaperTrade, *, now=None, editing: bool = False, notice: str = "", failed: bool = False
) -> dict:
    """Everything the trade page shows about a trade, and whether its chart has any history to draw."""
    now = now or timezone.now()
    start, end, _ = selectors.chart_span(trade, now)
    return {
        "trade": trade,
        "signal": trade.signal,
        "excursions": trade.excursions,
        "notional": rules.money(trade.entry_price * trade.position_size),
        "held": (trade.exit_time or now) - trade.entry_time,
        "chart_from": start,
        "chart_to": min(end, now),
        # asked by the template only where the whole page is drawn, not by a part's refresh; once however often
        "has_history": functools.cache(selectors.candles(trade.symbol, start, end).exists),
        "poll_ms": settings.DASHBOARD_POLL_MS if trade.is_open else 0,
        "trading_tz": settings.TRADING_DAY_TZ,
        "editing": editing,
        "tag_choices": selectors.tags_used() if editing else [],
        "notice": notice,
        "failed": failed,
    }


def _trade_etag(request: HtmxHttpRequest, trade_id: int) -> str | None:
    """A live part's content depends on the ledger's version, the viewer and (time held) the minute."""
    target = asked_part(request, TRADE_PARTS)
    if target is None:
        return None
    return f"trade.{trade_id}.{target}.{selectors.ledger_version()}.{request.user.pk}.{int(time.time() // 60)}"


@login_required
@require_GET
@condition(etag_func=_trade_etag)
def trade_page(request: HtmxHttpRequest, trade_id: int) -> HttpResponse:
    """/trades/<id>/: everything about one trade. An open trade's facts refresh with the dashboard's poll."""
    trade = _trade(trade_id)
    editing = request.GET.get("edit") == "notes" and request.user.has_perm(
        TRADE_PERMISSION
    )  # the form without JavaScript
    return render_page(
        request, "ledger/trade.html", trade_context(trade, editing=editing), part=asked_part(request, TRADE_PARTS)
    )


def _unix(moment) -> int:
    """A moment as the chart's time: seconds since 1970 of the trading day's wall clock, which the chart
    (which knows only UTC) then shows as the page's other times."""
    return int(moment.timestamp()) + int(moment.astimezone(settings.TRADING_DAY_TZ).utcoffset().total_seconds())


def chart_data(trade: PaperTrade, now) -> dict:
    """The chart's data: candles (prices as strings, exactly as stored), the entry and exit markers at the
    start of the candle they fall in, and the entry, stop, target and exit lines."""
    chart = selectors.trade_chart(trade, now)
    step = chart.minutes * 60

    def candle_time(moment) -> int:
        return _unix(moment) // step * step

    markers = [{"kind": "entry", "time": candle_time(trade.entry_time), "price": str(trade.entry_price)}]
    if trade.exit_time:
        markers.append(
            {
                "kind": "exit",
                "time": candle_time(trade.exit_time),
                "price": str(trade.exit_price),
                "reason": trade.get_status_display(),
            }
        )
    lines = [
        {"kind": "entry", "price": str(trade.entry_price)},
        {"kind": "stop", "price": str(trade.stop_loss)},
        {"kind": "target", "price": str(trade.take_profit)},
    ]
    if trade.exit_price:
        lines.append({"kind": "exit", "price": str(trade.exit_price)})
    return {
        "direction": trade.direction,
        "open": trade.is_open,
        "minutes": chart.minutes,
        "precision": min(max(2, -trade.entry_price.normalize().as_tuple().exponent), 8),
        "candles": [
            {"time": _unix(c.time), "open": str(c.open), "high": str(c.high), "low": str(c.low), "close": str(c.close)}
            for c in chart.candles
        ],
        "markers": markers,
        "lines": lines,
    }


@login_required
@require_GET
def trade_chart(request: HtmxHttpRequest, trade_id: int) -> JsonResponse:
    """/trades/<id>/chart.json, what trade-chart.js draws."""
    response = JsonResponse(chart_data(_trade(trade_id), timezone.now()))
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
            status=error.status_code,
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
        return render_page(request, "ledger/trade.html#notes-form", trade_context(_trade(trade_id), editing=True))
    notes, tags = request.POST.get("notes", ""), _tags_from(request)

    def as_typed(error: LedgerError) -> dict:
        context = trade_context(_trade(trade_id), editing=True, notice=error.message, failed=True)
        context["trade"].notes, context["typed_tags"] = notes, request.POST.get("new_tags", "")
        return context

    return _edit(
        request,
        trade_id,
        lambda: services.trade_annotate(trade_id=trade_id, notes=notes, tags=tags, by=request.user),
        done=("notes", trade_context),
        refused=("notes-form", as_typed),
    )


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
        refused=("levels", lambda error: trade_context(_trade(trade_id), notice=error.message, failed=True)),
    )


# --- The diary of a day ---------------------------------------------------------------------------


@login_required
@trade_required
@require_POST
def day_diary(request: HtmxHttpRequest, day: date) -> HttpResponse:
    """Save a day's diary (services.day_note_write), written in the form at the foot of its dashboard."""
    text = request.POST.get("text", "")
    try:
        note = services.day_note_write(day=day, text=text, by=request.user)
    except LedgerError as error:
        if not request.htmx:
            return render_dashboard(request, min(day, today()), status=error.status_code, notice=error.message)
        context = page_context(day) | {
            "diary": selectors.day_note(day),
            "diary_text": text,
            "diary_notice": error.message,
            "diary_failed": True,
        }
        return render_page(request, "ledger/dashboard.html#diary", context, status=error.status_code)
    if not request.htmx:
        return redirect(day_url(day))
    return render_page(
        request, "ledger/dashboard.html#diary", page_context(day) | {"diary": note, "diary_notice": "Saved."}
    )


# --- The history of closed trades -----------------------------------------------------------------


class HistoryForm(forms.Form):
    """The history's filters, order and cursor, from the query string; every one optional."""

    start = DayField(required=False, label="Closed from")
    end = DayField(required=False, label="to")
    symbol = forms.CharField(required=False, max_length=25)
    side = forms.ChoiceField(required=False, choices=[("", "Both sides"), *PaperTrade.Direction.choices])
    reason = forms.ChoiceField(
        required=False,
        label="Exit",
        choices=[("", "Any exit"), *((s.value, s.label) for s in PaperTrade.CLOSED_STATUSES)],
    )
    tag = forms.CharField(required=False, max_length=40)
    r_min = forms.DecimalField(required=False, label="R from", max_digits=12, decimal_places=4)
    r_max = forms.DecimalField(required=False, label="R to", max_digits=12, decimal_places=4)
    q = forms.CharField(required=False, label="Notes contain", max_length=200)
    sort = forms.ChoiceField(
        required=False,
        choices=[
            ("-closed", "Latest close first"),
            ("closed", "Oldest close first"),
            ("-r", "Best R first"),
            ("r", "Worst R first"),
            ("-pnl", "Best PnL first"),
            ("pnl", "Worst PnL first"),
        ],
    )
    after = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)
    before = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)

    def clean_symbol(self) -> str:
        value = self.cleaned_data["symbol"].strip()
        if not value:
            return ""
        try:
            return clean_symbol(value)
        except LedgerError as error:
            raise ValidationError(error.message) from None

    def clean(self) -> dict:
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "The last day must be on or after the first.")
        if data.get("r_min") is not None and data.get("r_max") is not None and data["r_max"] < data["r_min"]:
            self.add_error("r_max", "R to must be at least R from.")
        if data.get("after") and data.get("before"):
            self.add_error("before", "Page forward (after) or back (before), not both.")
        return data

    def filters(self) -> selectors.HistoryFilter:
        data = self.cleaned_data
        return selectors.HistoryFilter(
            start=data["start"],
            end=data["end"],
            symbol=data["symbol"],
            side=data["side"],
            reason=data["reason"],
            tag=data["tag"].strip(),
            r_min=data["r_min"],
            r_max=data["r_max"],
            text=data["q"].strip(),
        )

    def order(self) -> str:
        return self.cleaned_data["sort"] or "-closed"

    def query(self, **cursor: int) -> str:
        """The filters and order as a query string, with a cursor: a pager's link, or the export's."""
        kept = {name: value for name, value in self.data.items() if name not in ("after", "before") and value}
        return urlencode(kept | cursor)


def history_context(form: HistoryForm) -> dict:
    """The history page's context: a page of the filters and order of a valid form, or the form's errors."""
    context = {"form": form, "trading_tz": settings.TRADING_DAY_TZ}
    if not form.is_valid():
        return context
    data = form.cleaned_data
    page = selectors.history_page(
        form.filters(), sort=form.order(), after=data["after"], before=data["before"], size=HISTORY_PAGE
    )
    return context | {
        "page": page,
        "next_query": form.query(after=page.after) if page.after else "",
        "previous_query": form.query(before=page.before) if page.before else "",
        "first_query": form.query() if data["after"] or data["before"] else None,
        "export_query": form.query(),
        "r_order": form.order() in ("r", "-r"),
    }


@login_required
@require_GET
def history_page(request: HtmxHttpRequest) -> HttpResponse:
    """/journal/: every closed trade, filtered, sorted and paged by keyset; an HTMX request whose target is
    the results gets them alone."""
    form = HistoryForm(request.GET)
    partial = request.htmx and request.htmx.target == "history-results"
    context = history_context(form)
    return render_page(
        request,
        "ledger/history.html" + ("#history-results" if partial else ""),
        context,
        status=200 if form.is_valid() else 400,
    )


@login_required
@require_GET
def history_choices(request: HtmxHttpRequest) -> HttpResponse:
    """The symbols and tags in use, which the history's filters suggest: fetched when the trader first
    focuses a filter, so the page itself does not read them."""
    context = {"tag_choices": selectors.tags_used(), "symbols": selectors.symbols(PaperTrade)}
    return render_page(request, "ledger/history.html#choices", context)


@login_required
@require_GET
def history_csv(request: HtmxHttpRequest) -> HttpResponse:
    """The history's filtered set as CSV, every row of it in the page's order (the cursor is ignored), with the
    journal export's columns."""
    form = HistoryForm(request.GET)
    if not form.is_valid():
        errors = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in form.errors.items())
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    return export(selectors.history_rows(form.filters(), sort=form.order()), JOURNAL, filename="history.csv")
