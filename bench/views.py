"""Floors, served by the same gunicorn as the app so that each measurement has a baseline from the same run.

- `hello`: the least a Django view can do (GET and POST), no database.
- `memory_part`: a dashboard part rendered by the same view code and template from rows loaded once per
  worker and held in memory, so the gap to the real part is what the database adds.
- `memory_page`: the same for the journal's pages: a trade's page and its chart data, and a page of the
  history (the deepest one, as measured).
"""

from functools import cache

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from ledger import selectors, services
from ledger.days import today
from ledger.forms import HistoryForm
from ledger.views import base, history, trades


@csrf_exempt
def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("hello")


@cache
def _rows_in_memory() -> dict:
    """Each part's context, queried once per worker process and then reused for every request."""
    day, book = today(), services.default_book()
    contexts = {name: build(book, day) for name, build in base.TODAY_PARTS.items()}
    for context in contexts.values():  # materialise querysets: no query after this
        for key, value in context.items():
            if hasattr(value, "_fetch_all"):
                context[key] = list(value)
    return contexts


@login_required
def memory_part(request: HttpRequest, part: str) -> HttpResponse:
    return base.render_page(
        request, "ledger/dashboard.html", base.page_context(request.book, today()) | _rows_in_memory()[part], part=part
    )


@cache
def _page_in_memory(name: str, key: str) -> tuple[str, dict]:
    """A journal page's template and complete context, built once per worker (every query run then)."""
    if name == "history":
        return "ledger/history.html", history.history_context(HistoryForm({"after": key}), services.default_book())
    trade = selectors.trade(int(key))
    if name == "trade-chart":
        return "", trades.chart_data(trade, timezone.now())
    return "ledger/trade.html", trades.trade_context(trade)


@login_required
def memory_page(request: HttpRequest, name: str, key: str) -> HttpResponse:
    template, context = _page_in_memory(name, key)
    if not template:
        return JsonResponse(context)
    return base.render_page(request, template, context)
