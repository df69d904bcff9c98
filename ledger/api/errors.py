"""One shape for every 4xx and 503 of the API (ErrorOut), and the handlers that turn each refusal into it: the
ledger's own (LedgerError), ninja's (validation, authentication, throttling), and the database's faults."""

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Field, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from ..errors import LedgerError, error_body
from ..middleware import RETRY_AFTER
from .site import api
from .types import NotAnObject

log = logging.getLogger(__name__)


class ErrorItem(Schema):
    field: str | None = Field(description="The input at fault, e.g. entry_price or ticks[3].price; null if none.")
    message: str


class ErrorOut(Schema):
    detail: list[ErrorItem]


# The 4xx and 503 answers each operation documents (405 for a wrong method comes from ninja before any
# operation; 415 from _checked, in urls.py).
ERRORS = {frozenset({400, 401, 404, 409, 413, 422, 429, 503}): ErrorOut}
WRITE_ERRORS = {frozenset({400, 401, 403, 404, 409, 413, 415, 422, 429, 503}): ErrorOut}
WEBHOOK_ERRORS = {frozenset({400, 403, 409, 413, 415, 422, 429, 503}): ErrorOut}


def error_response(request: HttpRequest, status: int, message: str, field: str | None = None) -> HttpResponse:
    return api.create_response(request, error_body(message, field), status=status)


def _field(loc: list[Any]) -> str:
    """ninja's error location as the client wrote it: ("body", "body", "ticks", 3, "price") -> ticks[3].price."""
    parts = list(loc[1:]) if loc and loc[0] in {"body", "query", "path", "header"} else list(loc)
    if loc and loc[0] == "body" and len(parts) > 1:
        parts = parts[1:]  # the handler's parameter name, which the client never sees
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else f".{part}" if name else str(part)
    return name or "body"


@api.exception_handler(ValidationError)
def _on_invalid(request: HttpRequest, error: ValidationError) -> HttpResponse:
    detail = []
    for item in error.errors:
        field = _field(item.get("loc", []))
        message = item.get("msg", "is not valid").removeprefix("Value error, ")
        if item.get("type") == "extra_forbidden":
            message = "is not a field of this body; nothing was done"
        detail.append({"field": field, "message": f"{field}: {message}."})
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(LedgerError)
def _on_refused(request: HttpRequest, error: LedgerError) -> HttpResponse:
    return error_response(request, error.status_code, error.message, error.field)


@api.exception_handler(AuthenticationError)
def _on_unauthenticated(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    response = error_response(
        request, 401, "A valid API token is required: send the header Authorization: Bearer <token>."
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def _on_http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    if isinstance(error.__cause__, NotAnObject):
        return error_response(request, 422, str(error.__cause__), "body")
    if error.status_code == 400:  # ninja's only 400: the body could not be parsed
        return error_response(request, 400, f"The request body is not valid JSON: {error.__cause__}.", "body")
    response = error_response(request, error.status_code, error.message)
    if isinstance(error, Throttled) and error.wait:
        response["Retry-After"] = str(max(1, round(error.wait)))
    return response


@api.exception_handler(RequestDataTooBig)
def _on_too_big(request: HttpRequest, error: RequestDataTooBig) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return error_response(request, 413, f"The request body is larger than {limit} bytes.", "body")


@api.exception_handler(Http404)
def _on_not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    return error_response(request, 404, str(error) or "Not found.")


@api.exception_handler(DatabaseError)
def _on_database_fault(request: HttpRequest, error: DatabaseError) -> HttpResponse:
    """The database failed (unreachable, read-only, full): 503 in the API's shape, to be retried; the
    transaction was rolled back, so nothing was written. The cause goes to the log, not to the client."""
    log.error("API: database fault on %s %s", request.method, request.path, exc_info=error)
    response = error_response(
        request, 503, f"The database could not serve this request; nothing was written. Try again in {RETRY_AFTER} s."
    )
    response["Retry-After"] = str(RETRY_AFTER)
    return response
