"""The journal's history (/journal/, docs/journal.md): every closed trade, filtered, sorted and paged by keyset,
the filters' suggestions, and the filtered set as CSV. HistoryForm (ledger/forms.py) reads the query string.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from .. import selectors
from ..forms import HistoryForm
from ..models import Book, PaperTrade
from .base import HtmxHttpRequest, asked_part, render_page
from .exports import JOURNAL, export, filename

HISTORY_PAGE = 50  # closed trades on a page of the history


def history_context(form: HistoryForm, book: Book) -> dict:
    """The history page's context: a page of the filters and order of a valid form, or the form's errors."""
    context = {"form": form, "trading_tz": settings.TRADING_DAY_TZ}
    if not form.is_valid():
        return context
    data = form.cleaned_data
    page = selectors.history_page(
        form.filters(book), sort=form.order(), after=data["after"], before=data["before"], size=HISTORY_PAGE
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
    the results gets them alone, one whose target is the totals gets those (asked for once the results are
    shown: a scan of every match, which the page itself does not wait for). The address keeps only the
    fields that say something: a plain form's GET with empty fields is sent to it, an HTMX one is told it."""
    form = HistoryForm(request.GET)
    address = f"{request.path}?{form.address()}" if form.address() else request.path
    if not request.htmx and any(not value for value in request.GET.values()):
        return redirect(address)
    if asked_part(request, ["history-totals"]) and form.is_valid():
        totals = selectors.history_totals(form.filters(request.book))
        return render_page(request, "ledger/history.html", {"totals": totals}, part="history-totals")
    part = asked_part(request, ["history-results"])
    response = render_page(
        request,
        "ledger/history.html",
        history_context(form, request.book),
        part=part,
        status=200 if form.is_valid() else 400,
    )
    if part:
        response["HX-Push-Url"] = address
    return response


@login_required
@require_GET
def history_choices(request: HtmxHttpRequest) -> HttpResponse:
    """The symbols and tags in use, which the history's filters suggest: fetched when the trader first
    focuses a filter, so the page itself does not read them."""
    context = {"tag_choices": selectors.tags_used(request.book), "symbols": selectors.symbols(PaperTrade, request.book)}
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
    data = form.cleaned_data
    rows = selectors.history_rows(form.filters(request.book), sort=form.order())
    return export(request, rows, JOURNAL, filename=filename("journal", data["start"], data["end"]))
