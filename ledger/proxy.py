"""The client's address, for the login and webhook lockouts (docs/operations.md, "Security"), and the answer
to a locked-out address."""

from ipaddress import ip_address

from axes.helpers import get_lockout_message
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from .errors import error_body


def _from_proxy(address: str | None) -> bool:
    """Whether a connection comes from the TLS proxy: from one of TRUSTED_PROXIES, or from anywhere when none
    is set (then gunicorn listens on loopback only, which start-up enforces: tradingsite/startup.py)."""
    if not settings.TRUSTED_PROXIES:
        return True
    try:
        return any(ip_address(address or "") in network for network in settings.TRUSTED_PROXIES)
    except ValueError:
        return False


def client_ip(request: HttpRequest) -> str | None:
    """The connection's address; behind the TLS proxy (BEHIND_TLS_PROXY=1), on a connection from it, the
    address the proxy appended to X-Forwarded-For. That is the last one: a client can put anything before it,
    but not after. Every lockout (logins, the webhook, wrong tokens) and the webhook's rate limit count by it."""
    remote = request.META.get("REMOTE_ADDR")
    trusted = settings.BEHIND_TLS_PROXY and _from_proxy(remote)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "") if trusted else ""
    return forwarded.rsplit(",", 1)[-1].strip() or remote


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """django-axes's answer to an address it has locked out (AXES_LOCKOUT_CALLABLE), 429 with Retry-After (the
    cool-off): a login gets axes's own sentence; the TradingView webhook the API's JSON error."""
    wait = int(settings.AXES_COOLOFF_TIME.total_seconds())
    if request.path.startswith("/api/"):
        message = f"Too many wrong passphrases from this address; it is locked out for {wait // 60} minutes."
        response = JsonResponse(error_body(message, "passphrase"), status=429)
    else:
        response = HttpResponse(get_lockout_message(), status=429)
    response["Retry-After"] = str(wait)
    return response
