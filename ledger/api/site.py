"""The one NinjaAPI object: every module of the package registers on it, as models register on admin.site.

Here, apart from the URLs (ledger/api/urls.py), because the error handlers (ledger/api/errors.py) render with it
and the endpoints' routers need those handlers' schemas: the object comes first, then everything else.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from ninja import NinjaAPI
from ninja.operation import Operation

from .auth import READ, TokenRate
from .types import DecimalParser


class LedgerApi(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        """ledger_api_<view> (ledger_api_signal_create), whichever module of the package holds the view: clients
        generated from the OpenAPI document keep their names when code moves."""
        return f"ledger_api_{operation.view_func.__name__}"


api = LedgerApi(
    title="Paper-trading ledger",
    version="1",
    description="Signals, price ticks and every read of the ledger. See docs/api.md.",
    auth=READ,
    throttle=[TokenRate(settings.API_RATE_LIMIT)],  # per token; the webhook, without one, per address
    parser=DecimalParser(),
    docs_decorator=login_required,  # the document and its page are for logged-in people, not tokens
    urls_namespace="api",
)
