"""The statistics page (/stats/): the figures of a period, its charts and a month's calendar (docs/statistics.md).

Thin: PeriodForm reads the period from the query string, selectors.stats computes, ledger.charts places
the shapes, and ledger/templates/ledger/stats.html draws them as inline SVG (no script).
"""

import calendar as months
from datetime import date, timedelta
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.views.decorators.http import require_GET

from . import charts, selectors
from .days import today
from .inputs import EARLIEST_DAY, LATEST_DAY, PERIOD_DAYS_MAX

LAST_DAYS = {"7": 7, "30": 30, "90": 90}  # the presets: this many trading days up to today


class DayField(forms.DateField):
    """A trading day from 1970 to 2199, typed as the pages write days, 25 Nov 2026 (or Wed 25 Nov 2026, or
    2026-11-25), in a text box (stats.html#day-input) rather than the browser's date box, which shows the day in
    the browser's own format (11/25/2026) beside the page's."""

    input_formats = ["%d %b %Y", "%a %d %b %Y", "%Y-%m-%d"]
    default_error_messages = {"invalid": "Enter a day as 25 Nov 2026 or 2026-11-25."}

    def validate(self, value: date | None) -> None:
        super().validate(value)
        if value is not None and not EARLIEST_DAY <= value <= LATEST_DAY:
            raise ValidationError(
                f"Enter a day from {date_format(EARLIEST_DAY, 'j M Y')} to {date_format(LATEST_DAY, 'j M Y')}."
            )


class PeriodForm(forms.Form):
    """?period=7|30|90|all, or ?start=YYYY-MM-DD&end=YYYY-MM-DD (both days included); the last 30 days by
    default. ?month=YYYY-MM picks the calendar's month (default: the period's last)."""

    period = forms.ChoiceField(required=False, choices=[(p, f"Last {p} days") for p in LAST_DAYS] + [("all", "All")])
    start = DayField(required=False, label="From")
    end = DayField(required=False, label="To")
    month = forms.RegexField(r"^\d{4}-\d{2}$", required=False, error_messages={"invalid": "Enter a month as YYYY-MM."})

    def clean_month(self) -> date | None:
        if not self.cleaned_data["month"]:
            return None
        year, month = map(int, self.cleaned_data["month"].split("-"))
        try:
            first = date(year, month, 1)
        except ValueError:  # month 13, year 0
            raise ValidationError("Enter a month as YYYY-MM.") from None
        DayField().validate(first)
        return first

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if self.errors:
            return data
        period = data.get("period") or ("" if start or end else "30")
        if period in LAST_DAYS:
            data["start"], data["end"] = today() - timedelta(days=LAST_DAYS[period] - 1), today()
        elif period == "all":
            data["start"] = data["end"] = None
        elif start is None or end is None:
            self.add_error("start" if start is None else "end", "Give both the first and the last day of the period.")
        elif end < start:
            self.add_error("end", "The last day must be on or after the first.")
        elif (end - start).days >= PERIOD_DAYS_MAX:
            self.add_error("end", f"A period is at most {PERIOD_DAYS_MAX} days.")
        data["period"] = period
        return data

    def query(self) -> str:
        """The period as a query string, for the export links and the calendar's months."""
        if self.cleaned_data["period"]:
            return urlencode({"period": self.cleaned_data["period"]})
        return urlencode({"start": self.cleaned_data["start"], "end": self.cleaned_data["end"]})


@login_required
@require_GET
def stats_page(request: HttpRequest) -> HttpResponse:
    form = PeriodForm(request.GET)
    if not form.is_valid():
        return render(request, "ledger/stats.html", {"form": form, "presets": LAST_DAYS}, status=400)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    stats = selectors.stats(start, end)
    month = form.cleaned_data["month"] or (end or today()).replace(day=1)
    month_end = month.replace(day=months.monthrange(month.year, month.month)[1])
    context = {
        "form": form,
        "presets": LAST_DAYS,
        "query": form.query(),
        "stats": stats,
        "equity": charts.equity_chart(stats.daily, stats.starting_equity),
        "bars": charts.pnl_bars(stats.daily),
        "calendar": charts.month_calendar(month, selectors.pnl_daily_range(month, month_end), today()),
        "histogram": charts.r_histogram(stats.r_histogram),
        # (title, groups, what a group without a key holds, the history's filter that lists a group's trades)
        "breakdowns": [
            ("By symbol", stats.by_symbol, "", "symbol"),
            ("By direction", stats.by_direction, "", "side"),
            ("By exit reason", stats.by_exit_reason, "", "reason"),
            ("By tag", stats.by_tag, "no tag", "tag"),
            ("By confluence", stats.by_confluence, "none", None),
            ("By timeframe", stats.by_timeframe, "none", None),
            ("By confidence", stats.by_confidence, "no signal", None),
            ("By weekday of entry", stats.by_weekday, "", None),
            ("By hour of entry", stats.by_hour, "", None),
        ],
        "history_period": urlencode({"start": start, "end": end}) if start else "",
        "period_tables": [("Weeks", stats.weekly, "\\W\\e\\e\\k \\o\\f j M Y"), ("Months", stats.monthly, "F Y")],
        "trading_tz": settings.TRADING_DAY_TZ,
    }
    with timezone.override(settings.TRADING_DAY_TZ):  # the drawdown's times in the trading day's zone
        return render(request, "ledger/stats.html", context)
