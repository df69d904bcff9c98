"""The admin: an operator's tool for looking up records and correcting them (docs/admin.md).

Thin, as every transport: each correction and action calls one service, so the PnL fields follow from the
same rules the ledger uses and the account's running total stays the sum of realized PnL. Rows are never
added or deleted here (signals arrive through the API, trades open from signals, history must stay whole).
"""

import functools
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper

from . import rules, selectors, services, sizing
from .errors import LedgerError
from .inputs import (
    BOOK_RULES,
    CORRECTABLE,
    EARLIEST_DAY,
    LATEST_DAY,
    clean_book_name,
    clean_book_rule,
    clean_book_slug,
)
from .models import ApiToken, Book, BookMember, Execution, MarketLot, Order, PaperTrade, Signal
from .templatetags.ledger_format import money, percent, price, signed, trade_link

COUNT_CAP = 10_000  # rows a list page counts at most
ACTION_MAX = 1_000  # rows one action works on; more is a job for a command, not a request
SHOWN_IDS = 20  # ids named in an action's report


class CappedCountPaginator(Paginator):
    """Counts at most COUNT_CAP matching rows: a full COUNT(*) over a million trades on every page would
    cost more than the page. Filters, the date hierarchy and search narrow the list below the cap."""

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[:COUNT_CAP].count()


# How the admin writes a value, as the dashboard does (docs/admin.md): PnL to the cent with its sign, other money
# to the cent, prices and sizes without trailing zeros, times as 25 Nov 2026 14:03:05, nothing as a dash.
SIGNED = {"realized_pnl", "unrealized_pnl", "pnl"}
CENTS = {"fees", "risk_amount", "slippage", "reserved"}


def shown(name: str, value: Any) -> Any:
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return signed(value) if name in SIGNED else money(value) if name in CENTS else price(value)
    if isinstance(value, datetime):
        return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")
    return value


def column(name: str, description: str, *, ordering: str | None = None):
    """A list column or read-only field that writes the attribute `name` as `shown` does."""
    return admin.display(description=description, ordering=ordering)(
        lambda model_admin, row: shown(name, getattr(row, name))
    )


class HistoryValues(HistoricalRecordContextHelper):
    """A history page's before and after, written as the admin writes them elsewhere (`shown`), a status by its
    label: not 147.68000000, 0E-8 or 2026-11-25 23:32:02.914542+00:00."""

    def prepare_delta_change_value(self, change, value):
        field = self.model._meta.get_field(change.field)
        if field.choices and value is not None:
            return dict(field.flatchoices).get(value, value)
        return shown(change.field, value)


class PlainNumberInput(forms.NumberInput):
    """A price or size in a form box as it is, 147.68, not as its column holds it, 147.68000000."""

    def format_value(self, value):
        return rules.plain(value) if isinstance(value, Decimal) else super().format_value(value)


def _named(ids: list) -> str:
    shown = ", ".join(str(i) for i in ids[:SHOWN_IDS])
    return f"{shown}, …" if len(ids) > SHOWN_IDS else shown or "none"


def _report(model_admin: admin.ModelAdmin, request, *, done: str, skipped: list, why: str) -> None:
    """What an action did, and (as a warning) which rows it left alone and why."""
    model_admin.message_user(request, done)
    if skipped:
        model_admin.message_user(request, f"Skipped {len(skipped)} {why}: {_named(skipped)}.", messages.WARNING)


def seen_book_ids(request) -> list[int] | None:
    """The ids of the books the staff user may see (selectors.books_visible); None for a superuser, who sees all."""
    if request.user.is_superuser:
        return None
    if not hasattr(request, "_admin_books"):
        request._admin_books = list(selectors.books_visible(request.user).values_list("pk", flat=True))
    return request._admin_books


class SymbolFilter(admin.SimpleListFilter):
    """By symbol, offering the symbols the table holds in the books the user sees (read by a skip scan of the
    symbol index)."""

    title = "symbol"
    parameter_name = "symbol"

    def lookups(self, request, model_admin):
        if request.user.is_superuser:
            return [(symbol, symbol) for symbol in selectors.symbols(model_admin.model)]
        shown = {
            symbol
            for book in selectors.books_visible(request.user)
            for symbol in selectors.symbols(model_admin.model, book)
        }
        return [(symbol, symbol) for symbol in sorted(shown)]

    def queryset(self, request, queryset):
        return queryset.filter(symbol=self.value()) if self.value() else queryset


class BookFilter(admin.SimpleListFilter):
    """By book, offering the books the user sees; shown only to whom sees more than one."""

    title = "book"
    parameter_name = "book"

    def lookups(self, request, model_admin):
        books = selectors.books_visible(request.user).values_list("slug", "name")
        return list(books) if len(books) > 1 else []

    def queryset(self, request, queryset):
        return queryset.filter(book__slug=self.value()) if self.value() else queryset


class BookScoped:
    """Every list, change page, history page and action of the model's admin holds only the rows of the books the
    staff user may see (docs/books.md, "Who sees what"); a superuser sees every book. Another book's row is not
    there: its change page sends back to the list as for a row that does not exist, its history pages are 404."""

    books_lookup = "book_id__in"  # how a row is found among the books' ids

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        books = seen_book_ids(request)
        return rows if books is None else rows.filter(**{self.books_lookup: books})

    def _check_seen(self, request, object_id) -> None:
        try:
            seen = self.get_queryset(request).filter(pk=object_id).exists()
        except (ValueError, ValidationError):  # not an id at all
            seen = False
        if not seen:
            raise Http404(f"No {self.model._meta.verbose_name} {object_id}.")

    def history_view(self, request, object_id, extra_context=None):
        self._check_seen(request, object_id)  # simple-history would show a row it cannot find from its history
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._check_seen(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)


class LedgerAdmin(BookScoped, SimpleHistoryAdmin):
    """What the signal and trade pages share: lists that stay quick on a million rows, a history page per
    record (who, when, before and after), and no add, delete or revert-from-history."""

    list_per_page = 100
    show_full_result_count = False
    paginator = CappedCountPaginator
    search_fields = ("signal_id", "symbol")  # searched by get_search_results, so that an index serves it
    search_help_text = "An exact signal_id, or the start of a symbol (BTC finds BTCUSDT)."

    def get_search_results(self, request, queryset, search_term):
        """Exact signal_id or a symbol prefix (symbols are stored upper case): both served by an index,
        unlike the default case-insensitive LIKE '%term%'."""
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(signal_id=term) | Q(symbol__startswith=term.upper())), False

    def changelist_view(self, request, extra_context=None):
        self._check_dates(request)
        return super().changelist_view(request, extra_context)

    def _check_dates(self, request) -> None:
        """The date hierarchy's year, month and day in the URL must make a day from 1970 to 2199, else 400: a year
        of 20 digits or past 9999 makes Django's own list fail with a 500."""
        given = {part: request.GET.get(f"{self.date_hierarchy}__{part}") for part in ("year", "month", "day")}
        if not any(given.values()):
            return
        try:
            day = date(int(given["year"] or 0), int(given["month"] or 1), int(given["day"] or 1))
        except (ValueError, OverflowError):
            day = None
        if day is None or not EARLIEST_DAY <= day <= LATEST_DAY:
            raise BadRequest(
                f"{self.date_hierarchy}: the year, month and day must make a day from {EARLIEST_DAY} to {LATEST_DAY}."
            )

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def revert_disabled(self, request, obj=None) -> bool:
        return True  # a correction goes through the change form and its service, never a raw revert

    def get_historical_record_context_helper(self, request, historical_record) -> HistoricalRecordContextHelper:
        return HistoryValues(self.model, historical_record)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            raise PermissionDenied("Past versions can be looked at, not saved; correct the record instead.")
        return super().history_form_view(request, object_id, version_id, extra_context)

    def _selected_ids(self, request, queryset) -> list[int] | None:
        """The selected rows' ids, or None (with a message) when there are more than one action should take."""
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[: ACTION_MAX + 1])
        if len(ids) > ACTION_MAX:
            self.message_user(request, f"Select at most {ACTION_MAX} rows for one action.", messages.ERROR)
            return None
        return ids


@admin.register(Signal)
class SignalAdmin(LedgerAdmin):
    list_display = (
        "signal_id",
        "book",
        "symbol",
        "action",
        "status",
        "price",
        "confidence_pct",
        "timestamp",
        "trade_link",
    )
    # Read-only (a signal changes by its actions): every field shown, numbers as the dashboard writes them.
    fields = (
        "signal_id",
        "book",
        "symbol",
        "action",
        "status",
        "status_reason",
        "price",
        "confidence_pct",
        "stop",
        "target",
        "timestamp",
        "timeframe",
        "confluences",
        "trade_link",
    )
    readonly_fields = ("price", "confidence_pct", "stop", "target", "trade_link")
    list_filter = ("status", "action", SymbolFilter, BookFilter)
    list_select_related = ("trade", "book")
    date_hierarchy = "timestamp"
    ordering = ("-timestamp", "-pk")
    actions = ["expire_selected"]

    def has_change_permission(self, request, obj=None) -> bool:
        """A signal changes only through its actions (expire): the change page shows it read-only."""
        return obj is None and super().has_change_permission(request)

    price = column("entry_price", "price", ordering="entry_price")
    stop = column("stop_loss", "stop loss")
    target = column("take_profit", "take profit")

    @admin.display(description="confidence", ordering="confidence")
    def confidence_pct(self, signal: Signal) -> str:
        return percent(signal.confidence)

    @admin.display(description="trade")
    def trade_link(self, signal: Signal) -> str:
        trade = getattr(signal, "trade", None)
        if trade is None:
            return "-"
        url = reverse("admin:ledger_papertrade_change", args=[trade.pk])
        return format_html('<a href="{}">#{} {}</a>', url, trade.pk, trade.get_status_display())

    @admin.action(description="Expire selected GENERATED signals", permissions=["change"])
    def expire_selected(self, request, queryset) -> None:
        ids = self._selected_ids(request, queryset)
        if ids is None:
            return
        expired, skipped = [], []
        for signal in Signal.objects.filter(pk__in=ids).order_by("pk").only("signal_id"):
            try:
                services.signal_expire(signal_id=signal.signal_id, reason=f"Expired by {request.user} in the admin.")
                expired.append(signal.signal_id)
            except LedgerError:  # not GENERATED (any more): executed, closed or expired already
                skipped.append(signal.signal_id)
        done = f"Expired {len(expired)} signal(s): {_named(expired)}."
        _report(self, request, done=done, skipped=skipped, why="that were not GENERATED")


class TradeCorrectionForm(forms.ModelForm):
    """The trade's change form. The correction service checks the edit (locking the row) while the form
    validates, so a refusal shows on its field and the save that follows cannot be refused."""

    class Meta:
        model = PaperTrade
        fields = CORRECTABLE
        # The exit's date and time in the browser's own pickers (the admin's calendar writes only 2026-11-25, never the
        # project's 25 Nov 2026; a picker shows the trader's format and sends the standard one), each box with a
        # name of its own; prices, sizes and fees as they are, without the columns' trailing zeros.
        widgets = {
            "exit_time": forms.SplitDateTimeWidget(
                date_attrs={"type": "date", "aria-label": "Exit date", "min": "1970-01-01", "max": "2199-12-31"},
                time_attrs={"type": "time", "step": "1", "aria-label": "Exit time"},
                date_format="%Y-%m-%d",
                time_format="%H:%M:%S",
            )
        } | {
            name: PlainNumberInput(attrs={"step": "any"})
            for name in ("entry_price", "position_size", "stop_loss", "take_profit", "exit_price", "fees")
        }

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.changed_data}

    def clean(self):
        cleaned = super().clean()
        if self.changed_data and not self.errors:
            try:
                services.trade_correct(trade_id=self.instance.pk, changes=self.changes(), dry_run=True)
            except LedgerError as error:
                self.add_error(error.field if error.field in self.fields else None, error.message)
        return cleaned


@admin.register(PaperTrade)
class PaperTradeAdmin(LedgerAdmin):
    form = TradeCorrectionForm
    # Fits a 1366 px screen beside the admin's menu and filters; the rest is on the change page and the trade's page.
    list_display = ("id", "page_link", "book", "symbol", "side", "status", "entry", "exit", "pnl", "closed")
    list_filter = ("status", "direction", SymbolFilter, BookFilter)
    list_select_related = ("book",)
    date_hierarchy = "exit_time"  # indexed (the journal's day); entry_time is indexed only for open trades
    ordering = ("-pk",)  # newest first, served by the primary key
    fieldsets = (
        ("Correctable (the PnL fields follow)", {"fields": CORRECTABLE}),
        ("Follows from the rules", {"fields": ("realized", "unrealized", "current", "risk")}),
        ("Recorded", {"fields": ("book", "signal_link", "symbol", "direction", "entry_time", "created_date")}),
    )
    readonly_fields = (
        "realized",
        "unrealized",
        "current",
        "risk",
        "book",
        "signal_link",
        "symbol",
        "direction",
        "entry_time",
        "created_date",
    )
    actions = ["close_at_current_price", "recompute_pnl"]

    @admin.display(description="page")
    def page_link(self, trade: PaperTrade) -> str:
        """The trade's own page, with its chart, notes and tags."""
        return trade_link(trade)

    @admin.display(description="signal")
    def signal_link(self, trade: PaperTrade) -> str:
        if trade.signal_id is None:
            return "—"
        url = reverse("admin:ledger_signal_change", args=[trade.signal.pk])
        return format_html('<a href="{}">{}</a>', url, trade.signal_id)

    @admin.display(description="side", ordering="direction")
    def side(self, trade: PaperTrade) -> str:
        return trade.direction

    entry = column("entry_price", "entry", ordering="entry_price")
    exit = column("exit_price", "exit", ordering="exit_price")
    pnl = column("pnl", "PnL", ordering="realized_pnl")  # realized once closed, unrealized while open
    realized = column("realized_pnl", "realized PnL")
    unrealized = column("unrealized_pnl", "unrealized PnL")
    current = column("current_price", "current price")
    risk = column("risk_amount", "risk amount")

    @admin.display(description="closed", ordering="exit_time")
    def closed(self, trade: PaperTrade) -> str:
        return (
            "—"
            if trade.exit_time is None
            else formats.date_format(timezone.localtime(trade.exit_time), "SHORT_DATETIME_FORMAT")
        )

    def save_model(self, request, obj, form, change) -> None:
        if not form.changed_data:
            request.nothing_changed = True  # read by response_change and log_change
            return
        trade = services.trade_correct(trade_id=obj.pk, changes=form.changes(), by=request.user)
        self.message_user(
            request,
            f"Trade #{trade.pk} now: realized PnL {shown('realized_pnl', trade.realized_pnl)}, unrealized PnL "
            f"{shown('unrealized_pnl', trade.unrealized_pnl)}, fees {shown('fees', trade.fees)} "
            f"(realized PnL was {shown('realized_pnl', obj.realized_pnl)}).",
        )

    def log_change(self, request, obj, message):
        """A save that changed nothing is not a change: no entry in the admin's log."""
        if not getattr(request, "nothing_changed", False):
            return super().log_change(request, obj, message)
        return None

    def response_change(self, request, obj):
        """A save that changed nothing says so, rather than "was changed successfully"."""
        if not getattr(request, "nothing_changed", False):
            return super().response_change(request, obj)
        self.message_user(request, f"Nothing changed: trade #{obj.pk} is as it was.", messages.INFO)
        return (
            HttpResponseRedirect(request.path)
            if "_continue" in request.POST
            else self.response_post_save_change(request, obj)
        )

    @admin.action(description="Close selected open trades at the market", permissions=["change"])
    def close_at_current_price(self, request, queryset) -> None:
        ids = self._selected_ids(request, queryset)
        if ids is None:
            return
        closed, skipped = [], []
        for trade_id in ids:
            try:
                services.trade_close(trade_id=trade_id, reason=PaperTrade.Status.MANUAL_CLOSE)
                closed.append(trade_id)
            except LedgerError:  # closed already, or a moment ago by a tick or the end of day
                skipped.append(trade_id)
        done = f"Closed {len(closed)} trade(s) at the market: {_named(closed)}."
        _report(self, request, done=done, skipped=skipped, why="that were not open")

    @admin.action(description="Recompute PnL of selected trades", permissions=["change"])
    def recompute_pnl(self, request, queryset) -> None:
        ids = self._selected_ids(request, queryset)
        if ids is None:
            return
        result = services.trades_recompute(trade_ids=ids, by=request.user)
        changed = [trade.pk for trade in result.changed]
        done = f"Recomputed the PnL of {len(changed)} trade(s): {_named(changed)}."
        unchanged = [trade.pk for trade in result.unchanged]
        _report(self, request, done=done, skipped=unchanged, why="whose PnL was already right")


class ExecutionCorrectionForm(forms.ModelForm):
    """An execution's change form: its price, fee and time; the service checks them while the form validates."""

    class Meta:
        model = Execution
        fields = services.EXECUTION_CORRECTABLE
        widgets = {name: PlainNumberInput(attrs={"step": "any"}) for name in ("price", "fee")}

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.changed_data}


@admin.register(Execution)
class ExecutionAdmin(BookScoped, SimpleHistoryAdmin):
    """Each entry and exit of a trade. Correcting one (a wrong fill price, fee or time) recomputes its trade's
    columns and the account's running total (services.execution_correct), with who and when in both histories."""

    books_lookup = "trade__book_id__in"  # an execution is its trade's book's

    form = ExecutionCorrectionForm
    list_display = ("id", "trade", "kind", "time", "price", "size", "fee", "pnl", "reason")
    list_filter = ("kind", "reason")
    list_select_related = ("trade",)
    search_fields = ("=trade__id",)
    search_help_text = "A trade's id."
    ordering = ("-pk",)
    fieldsets = (
        ("Correctable (the trade follows)", {"fields": services.EXECUTION_CORRECTABLE}),
        ("Recorded", {"fields": ("trade", "kind", "size", "slippage", "pnl", "reason")}),
    )
    readonly_fields = ("trade", "kind", "size", "slippage", "pnl", "reason")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def revert_disabled(self, request, obj=None) -> bool:
        return True

    def save_model(self, request, obj, form, change) -> None:
        if form.changed_data:
            row = services.execution_correct(execution_id=obj.pk, changes=form.changes(), by=request.user)
            trade = row.trade
            trade.refresh_from_db()
            self.message_user(
                request,
                f"Trade #{trade.pk} now: realized PnL {shown('realized_pnl', trade.realized_pnl)}, "
                f"unrealized PnL {shown('unrealized_pnl', trade.unrealized_pnl)}, fees {shown('fees', trade.fees)}.",
            )


@admin.register(Order)
class OrderAdmin(LedgerAdmin):
    """Entry orders, working and ended. Read-only: an order changes only by its life cycle (a tick fills it, its
    time expires it, someone cancels it), so the one change here is the cancel action, through the service that
    releases its reservation and expires its signal with it, exactly once whoever else gets there first."""

    list_display = (
        "id",
        "signal_link",
        "book",
        "symbol",
        "side",
        "order_type",
        "status",
        "limit",
        "size_",
        "held",
        "placed",
    )
    list_filter = ("status", "order_type", "side", "time_in_force", BookFilter)
    list_select_related = ("signal", "book")
    ordering = ("-pk",)  # newest first, served by the primary key
    fields = (
        "signal_link",
        "book",
        "symbol",
        "side",
        "order_type",
        "status",
        "reason",
        "limit",
        "size_",
        "held",
        "time_in_force",
        "placed",
        "expires",
        "filled",
        "ended",
        "trade_link",
    )
    readonly_fields = (
        "signal_link",
        "book",
        "limit",
        "size_",
        "held",
        "placed",
        "expires",
        "filled",
        "ended",
        "trade_link",
    )
    actions = ["cancel_selected"]

    def has_change_permission(self, request, obj=None) -> bool:
        """An order changes only through its life cycle (cancel): the change page shows it read-only."""
        return obj is None and super().has_change_permission(request)

    limit = column("price", "price (limit or trigger)", ordering="price")
    size_ = column("size", "size")
    held = column("reserved", "reserved")
    placed = column("created_at", "placed", ordering="created_at")
    expires = column("expires_at", "expires")
    filled = column("filled_at", "filled")
    ended = column("cancelled_at", "cancelled or expired")

    @admin.display(description="signal", ordering="signal_id")
    def signal_link(self, order: Order) -> str:
        url = reverse("admin:ledger_signal_change", args=[order.signal.pk])
        return format_html('<a href="{}">{}</a>', url, order.signal_id)

    @admin.display(description="trade")
    def trade_link(self, order: Order) -> str:
        """The trade it opened, where it is corrected; none while working or once cancelled or expired."""
        if order.trade_id is None:
            return "—"
        url = reverse("admin:ledger_papertrade_change", args=[order.trade_id])
        return format_html('<a href="{}">#{}</a>', url, order.trade_id)

    @admin.action(description="Cancel selected working orders", permissions=["change"])
    def cancel_selected(self, request, queryset) -> None:
        ids = self._selected_ids(request, queryset)
        if ids is None:
            return
        cancelled, skipped = [], []
        for order_id in ids:
            try:
                services.order_cancel(order_id=order_id, reason=f"Cancelled by {request.user} in the admin.")
                cancelled.append(order_id)
            except LedgerError:  # filled, cancelled or expired already, or a moment ago by a tick or the end of day
                skipped.append(order_id)
        done = f"Cancelled {len(cancelled)} order(s): {_named(cancelled)}."
        _report(self, request, done=done, skipped=skipped, why="that were not working")


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ("name", "scope", "book")


@admin.register(MarketLot)
class MarketLotAdmin(admin.ModelAdmin):
    """Each market's lot rules: `price_feed` keeps its exchange's; an operator may set a market's by hand (whole
    shares: step 1), written through the service as the feed's are."""

    list_display = ("symbol", "step", "min_amount", "min_cost", "source", "updated_at")
    search_fields = ("=symbol",)
    fields = ("symbol", "step", "min_amount", "min_cost")

    def save_model(self, request, obj, form, change) -> None:
        lot = sizing.Lot(step=obj.step, min_amount=obj.min_amount, min_cost=obj.min_cost)
        (row,) = services.market_lots_record(lots={obj.symbol: lot}, source="admin")
        obj.pk, obj.source, obj.updated_at = row.pk, row.source, row.updated_at


@admin.register(ApiToken)
class ApiTokenAdmin(BookScoped, admin.ModelAdmin):
    """Tokens are made by the service, which returns the token once; only its hash is stored. Each is bound to one
    book, chosen among those the staff user sees."""

    form = ApiTokenForm
    list_display = ("name", "book", "scope", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("scope", ("revoked_at", admin.EmptyFieldListFilter), BookFilter)
    list_select_related = ("book",)
    search_fields = ("=name",)
    readonly_fields = ("name", "book", "scope", "prefix", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke_selected"]

    def get_fields(self, request, obj=None):
        return self.readonly_fields if obj else ("name", "scope", "book")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "book":
            kwargs["queryset"] = selectors.books_visible(request.user)
            kwargs["required"] = False
            kwargs["help_text"] = "The one book it reads and writes; empty: the first you see (the default book)."
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else ()

    def has_change_permission(self, request, obj=None) -> bool:
        """A token changes only by its revoke action: the change page shows it read-only."""
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead, so the name and its last use stay on record

    def save_model(self, request, obj, form, change) -> None:
        row, token = services.api_token_create(
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
            book=form.cleaned_data["book"] or selectors.books_visible(request.user).first(),
        )
        obj.pk, obj.prefix, obj.created_at = row.pk, row.prefix, row.created_at
        self.message_user(
            request,
            f"The API token for {row.name} ({row.scope}, book {row.book.slug}) is {token} . "
            "Copy it now: it is shown this once and not stored.",
            messages.WARNING,
        )

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke_selected(self, request, queryset) -> None:
        skipped = list(queryset.exclude(revoked_at=None).values_list("name", flat=True))
        live = queryset.filter(revoked_at=None).values_list("name", flat=True)
        revoked = [services.api_token_revoke(name=name).name for name in live]
        _report(
            self,
            request,
            done=f"Revoked {len(revoked)} token(s): {_named(revoked)}.",
            skipped=skipped,
            why="revoked already",
        )


class BookForm(forms.ModelForm):
    """A book's name and rules (a rule left empty follows its PAPER_* setting), checked by the rules' own bounds
    (ledger/inputs.py) while the form validates; the slug only when the book is made."""

    class Meta:
        model = Book
        fields = ("slug", "name", "starting_balance", *BOOK_RULES[1:])
        widgets = {
            name: PlainNumberInput(attrs={"step": "any"})
            for name in ("starting_balance", "risk_per_trade", "default_stop_pct", "reward_risk", "fee_rate")
            + ("slippage", "min_notional")
        }

    def clean(self):
        cleaned = super().clean()
        checks = {"name": clean_book_name}
        checks |= {rule: functools.partial(clean_book_rule, rule) for rule in BOOK_RULES}
        if not self.instance.pk:
            checks["slug"] = clean_book_slug
        for field, check in checks.items():
            if field not in cleaned or field in self.errors:
                continue
            try:
                check(None if cleaned[field] == "" and field != "name" else cleaned[field])
            except LedgerError as error:
                self.add_error(field, error.message)
        if not self.instance.pk and Book.objects.filter(slug=cleaned.get("slug")).exists():
            self.add_error("slug", f"A book {cleaned.get('slug')!r} exists already.")
        return cleaned


@admin.register(Book)
class BookAdmin(BookScoped, SimpleHistoryAdmin):
    """The books the staff user sees; a superuser makes them (services.book_create) and changes their name and
    rules (services.book_update), every change in the book's history. The running totals follow from the trades;
    the webhook passphrase is set by `manage.py book_passphrase`."""

    form = BookForm
    list_display = ("slug", "name", "balance_", "cash_", "open_cost_", "passphrase")
    search_fields = ("=slug",)
    ordering = ("pk",)
    books_lookup = "pk__in"

    def get_readonly_fields(self, request, obj=None):
        return ("slug", "balance_", "cash_", "open_cost_", "passphrase") if obj else ()

    def get_fields(self, request, obj=None):
        fields = list(BookForm.Meta.fields)
        return [*fields, "balance_", "cash_", "open_cost_", "passphrase"] if obj else fields

    def has_add_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # its rows hold the book (PROTECT): a book's history stays whole

    def revert_disabled(self, request, obj=None) -> bool:
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            raise PermissionDenied("Past versions can be looked at, not saved; change the book instead.")
        return super().history_form_view(request, object_id, version_id, extra_context)

    balance_ = column("balance", "balance")
    cash_ = column("cash", "cash")
    open_cost_ = column("open_cost", "held by open trades")

    @admin.display(description="webhook passphrase", boolean=True)
    def passphrase(self, book: Book) -> bool:
        return bool(book.webhook_passphrase_hash)

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            rules = {rule: form.cleaned_data.get(rule) for rule in BOOK_RULES[1:]}
            made = services.book_create(
                slug=form.cleaned_data["slug"],
                name=form.cleaned_data["name"],
                balance=form.cleaned_data.get("starting_balance"),
                **{rule: value for rule, value in rules.items() if value not in (None, "")},
            )
            obj.pk = made.pk
            return
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name != "slug"}
        services.book_update(book_id=obj.pk, changes={k: (None if v == "" else v) for k, v in changes.items()})


class BookMemberForm(forms.ModelForm):
    class Meta:
        model = BookMember
        fields = ("user", "book", "can_trade")


@admin.register(BookMember)
class BookMemberAdmin(BookScoped, SimpleHistoryAdmin):
    """Who is granted which book, to view or to trade (docs/books.md, "Who sees what"). Staff see the grants of
    the books they see; only a superuser grants, changes and takes back (services.book_grant, book_revoke), each
    in the grant's history."""

    form = BookMemberForm
    list_display = ("user", "book", "can_trade")
    list_filter = ("can_trade", BookFilter)
    list_select_related = ("user", "book")
    search_fields = ("=user__username",)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            raise PermissionDenied("Past versions can be looked at, not saved; change the grant instead.")
        return super().history_form_view(request, object_id, version_id, extra_context)

    def has_add_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def revert_disabled(self, request, obj=None) -> bool:
        return True

    def save_model(self, request, obj, form, change) -> None:
        if change and "user" in form.changed_data or change and "book" in form.changed_data:
            was = BookMember.objects.get(pk=obj.pk)
            services.book_revoke(user=was.user, book_id=was.book_id)
        grant = services.book_grant(user=obj.user, book_id=obj.book_id, can_trade=obj.can_trade)
        obj.pk = grant.pk

    def delete_model(self, request, obj) -> None:
        services.book_revoke(user=obj.user, book_id=obj.book_id)

    def delete_queryset(self, request, queryset) -> None:
        for grant in queryset.select_related("user"):
            services.book_revoke(user=grant.user, book_id=grant.book_id)
