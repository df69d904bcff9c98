"""The client's address, for the login rate limit (docs/operations.md, "Security")."""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The connection's address; behind the TLS proxy (BEHIND_TLS_PROXY=1), the address the proxy appended
    to X-Forwarded-For. That is the last one: a client can put anything before it, but not after."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "") if settings.BEHIND_TLS_PROXY else ""
    return forwarded.rsplit(",", 1)[-1].strip() or request.META.get("REMOTE_ADDR")
