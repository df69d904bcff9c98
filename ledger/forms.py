"""The pages' forms: what a page reads from a query string, cleaned and checked, each error naming its field.

The day box (DayField) serves every page that asks for a day: the dashboard's picker (DayForm), the statistics'
period and the exports' (PeriodForm), and the journal's history filters (HistoryForm).
"""

from datetime import date, timedelta
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.utils.dateformat import format as date_format

from . import selectors
from .days import today
from .errors import InvalidInput, LedgerError
from .inputs import EARLIEST_DAY, LATEST_DAY, check_period, clean_symbol
from .models import Book, PaperTrade

LAST_DAYS = {"7": 7, "30": 30, "90": 90}  # the presets: this many trading days up to today


class DayField(forms.DateField):
    """A trading day from 1970 to 2199, typed as the pages write days, 25 Nov 2026 (or Wed 25 Nov 2026, or
    2026-11-25), in a text box (parts.html#day-input) rather than the browser's date box, which shows the day in
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
        else:
            try:
                check_period(start, end)
            except InvalidInput as refused:
                self.add_error(refused.field, refused.message)
        data["period"] = period
        return data

    def query(self) -> str:
        """The period as a query string, for the export links and the calendar's months."""
        if self.cleaned_data["period"]:
            return urlencode({"period": self.cleaned_data["period"]})
        return urlencode({"start": self.cleaned_data["start"], "end": self.cleaned_data["end"]})


class DayForm(forms.Form):
    """The date picker's plain GET form."""

    date = DayField()


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

    def filters(self, book: Book) -> selectors.HistoryFilter:
        """The book's closed trades the valid form asks for."""
        data = self.cleaned_data
        return selectors.HistoryFilter(
            book=book,
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

    def address(self) -> str:
        """The query string as sent, without its empty fields: what the address bar should say."""
        return urlencode({name: value for name, value in self.data.items() if value})
