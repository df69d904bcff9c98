"""Floors, served by the same gunicorn as the app so that each measurement has a baseline from the same run.

- `hello`: the least a Django view can do (GET and POST), no database.
- `memory_part`: a dashboard part rendered by the same view code and template from rows loaded once per
  worker and held in memory, so the gap to the real part is what the database adds.
"""

from functools import cache

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from ledger import views
from ledger.days import today


@csrf_exempt
def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("hello")


@cache
def _rows_in_memory() -> dict:
    """Each part's context, queried once per worker process and then reused for every request."""
    day = today()
    contexts = {name: build(day) for name, build in views.PARTS.items()}
    for context in contexts.values():  # materialise querysets: no query after this
        for key, value in context.items():
            if hasattr(value, "_fetch_all"):
                context[key] = list(value)
    return contexts


@login_required
def memory_part(request: HttpRequest, part: str) -> HttpResponse:
    return views.render_page(request, views.page_context(today()) | _rows_in_memory()[part], part=part)
