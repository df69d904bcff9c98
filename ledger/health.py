"""`/healthz` for a load balancer or monitor, public like the login page and the TradingView webhook (whose
passphrase is its credential). It says whether the process can make a write durable (it commits one), and
never why not (that goes to the log); and how old the newest price is (`feed_lag_s`), which a monitor can alert on
without taking the server out of service."""

import logging

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import selectors, services

log = logging.getLogger(__name__)


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        services.health_probe_write()
        newest = selectors.newest_tick_at()
    except DatabaseError:
        log.exception("health check: the database refused a write")
        return JsonResponse({"status": "unavailable"}, status=503)
    lag = None if newest is None else round((timezone.now() - newest).total_seconds(), 1)
    return JsonResponse({"status": "ok", "feed_lag_s": lag})
