"""The API's bearer tokens: the scope each operation needs, and the throttle on wrong tokens per address."""

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import Throttled
from ninja.security import HttpBearer
from ninja.throttling import AuthRateThrottle, SimpleRateThrottle

from .. import services
from ..models import ApiToken
from ..proxy import client_ip


class ByClientAddress:
    """A throttle that tells clients apart as the lockouts do (proxy.client_ip), not by ninja's own reading of
    X-Forwarded-For, which would believe a client that reaches gunicorn directly."""

    def get_ident(self, request: HttpRequest) -> str | None:
        return client_ip(request)


class TokenRate(ByClientAddress, AuthRateThrottle):
    """API_RATE_LIMIT per token; the webhook, which has none, per client address."""


class WrongTokens(ByClientAddress, SimpleRateThrottle):
    """Wrong bearer tokens per client address, counted in Django's cache as ninja's throttles count (per process
    with the default cache): past API_AUTH_FAILURE_LIMIT, the address gets 429 before any token is looked up."""

    def get_cache_key(self, request: HttpRequest) -> str:
        return f"throttle_wrong_token_{self.get_ident(request)}"

    def refuse_if_over(self, request: HttpRequest) -> None:
        """Throttled while the address has had its fill of wrong tokens; counts nothing."""
        self.key, self.now = self.get_cache_key(request), self.timer()
        self.history = [moment for moment in self.cache.get(self.key, []) if moment > self.now - self.duration]
        if len(self.history) >= self.num_requests:
            raise Throttled(wait=self.wait())

    def count(self, request: HttpRequest) -> None:
        self.allow_request(request)  # records one more wrong token


WRONG_TOKENS = WrongTokens(settings.API_AUTH_FAILURE_LIMIT)


class BearerToken(HttpBearer):
    """A token of the scope the operation needs: `read` for every GET, `trade` for every write."""

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        WRONG_TOKENS.refuse_if_over(request)
        row = services.api_token_authenticate(token=token, scope=self.scope)
        if row is None:
            WRONG_TOKENS.count(request)
        return row


READ, TRADE = BearerToken(ApiToken.Scope.READ), BearerToken(ApiToken.Scope.TRADE)
