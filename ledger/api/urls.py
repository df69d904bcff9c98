"""The API's URLs: each resource's router on the one NinjaAPI, a JSON 404 for any other path, and the checks
ninja does not make on every URL (the body's type, a wrong method in the API's error shape)."""

import functools

from django.http import Http404, HttpRequest
from ninja import Router

from . import books, days, orders, reads, replays, signals, trades, webhook
from .errors import error_response
from .site import api

JSON = "application/json"

# In this order the OpenAPI document lists them; the router of unknown paths goes last.
api.add_router("", signals.router)
api.add_router("", trades.router)
api.add_router("", orders.router)
api.add_router("", reads.router)
api.add_router("", days.router)
api.add_router("", replays.router)
api.add_router("", webhook.router)
api.add_router("", books.router)
unknown = Router()


@unknown.api_operation(["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", auth=None, include_in_schema=False)
def unknown_path(request: HttpRequest, rest: str):
    """Last route: a path the API does not have is a JSON 404, not the site's HTML page."""
    raise Http404(f"The API has no /api/v1/{rest}; see docs/api.md.")


api.add_router("", unknown)


def _checked(view):
    """What ninja does not do for every API URL: a body must be JSON (the webhook's may also be text/plain, as
    TradingView sends it), else 415 before anything is read; a method the path does not take answers 405 in the
    API's error shape (ninja answers plain text)."""

    @functools.wraps(view)  # keeps ninja's csrf_exempt mark
    def wrapper(request: HttpRequest, *args, **kwargs):
        accepted = (JSON, "text/plain") if request.resolver_match.url_name == "tradingview" else (JSON,)
        if int(request.META.get("CONTENT_LENGTH") or 0) and request.content_type not in accepted:
            return error_response(
                request,
                415,
                f"The body must be sent as {' or '.join(accepted)}, not {request.content_type or 'without a type'}.",
                "body",
            )
        response = view(request, *args, **kwargs)
        if response.status_code == 405:
            allowed = ", ".join(sorted(response.get("Allow", "").split(", ")))  # ninja's order is a set's
            response = error_response(request, 405, f"{request.method} is not allowed here; allowed: {allowed}.")
            response["Allow"] = allowed
        return response

    return wrapper


def _urls() -> tuple[list, str, str]:
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        pattern.callback = _checked(pattern.callback)
    return patterns, app_name, namespace


urls = _urls()  # mounted at api/v1/ by tradingsite/urls.py
