"""/books/ (docs/books.md, "Comparing books"): every book the user may see, side by side over a period.

Thin: PeriodForm reads the period, selectors.books_compared computes from the per-day aggregates, and
static/ledger/books-chart.js draws the equity curves from the page's JSON (the CSP allows script files only). The
best and worst setup of each book need the trades: their part is asked for once the page shows.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.http import require_GET

from .. import selectors
from ..forms import LAST_DAYS, PeriodForm
from .base import HtmxHttpRequest, render_page

SETUPS = "book-setups"


@login_required
@require_GET
def books_page(request: HtmxHttpRequest) -> HttpResponse:
    form = PeriodForm(request.GET)
    context = {
        "form": form,
        "presets": LAST_DAYS,
        "trading_tz": settings.TRADING_DAY_TZ,
        "sample_trades": selectors.SAMPLE_TRADES,
    }
    if not form.is_valid():
        return render_page(request, "ledger/books.html", context, status=400)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    books = list(request.books)  # every book the user may see, read once per request (middleware.current_book)
    context |= {"query": form.query(), "start": start, "end": end}
    if request.htmx and request.GET.get("part") == SETUPS:
        setups = selectors.books_setups(books, start, end)
        context["setups"] = [(book, setups[book.pk]) for book in books]
        return render_page(request, "ledger/books.html", context, part=SETUPS)
    compared = selectors.books_compared(books, start, end)
    context |= {
        "compared": compared,
        "curves": [
            {"name": row.book.name, "points": [[day.isoformat(), str(balance)] for day, balance in row.chart_curve]}
            for row in compared
        ],
    }
    return render_page(request, "ledger/books.html", context)
