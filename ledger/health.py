"""`/healthz` for a load balancer or monitor, public like the login page and the TradingView webhook (whose
passphrase is its credential). It says whether the process can make a write durable (it commits one), and
never why not (that goes to the log); how old the newest price is (`feed_lag_s`), "degraded" when that passes
PRICE_FEED_DEGRADED_LAG; and what the price feed says of itself (`feed`: its exchange's clock offset, the prints it
held as suspect), which a monitor can alert on without taking the server out of service."""

import logging

from django.conf import settings
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
        newest, feed = selectors.newest_tick_at(), selectors.feed_status()
    except DatabaseError:
        log.exception("health check: the database refused a write")
        return JsonResponse({"status": "unavailable"}, status=503)
    lag = None if newest is None else round((timezone.now() - newest).total_seconds(), 1)
    late = lag is not None and lag > settings.PRICE_FEED_DEGRADED_LAG
    answer = {"status": "degraded" if late else "ok", "feed_lag_s": lag}
    if feed is not None:
        answer["feed"] = {
            "exchange": feed.exchange,
            "reported_s_ago": round((timezone.now() - feed.reported_at).total_seconds(), 1),
            "clock_offset_s": None if feed.clock_offset_ms is None else feed.clock_offset_ms / 1000,
            "suspect_prints": feed.suspect_prints,
        }
    return JsonResponse(answer)
