"""The JSON API under /api/v1/ (docs/api.md): typed schemas, token auth, and one error shape for every 4xx.

Thin: each endpoint parses its input with a schema, calls one service or selector, and renders rows.
Numbers arrive as JSON numbers or strings and become Decimal exactly as written, never through a float.

What lives where:
- types.py: the input types and their validators (prices, moments, days, ids), the Decimal-only JSON parser,
  and Body, the base of every request body.
- auth.py: the bearer tokens by scope (READ for every GET, TRADE for every write), the wrong-token throttle.
- site.py: the one NinjaAPI object (`api`), which every other module registers on.
- errors.py: the error shape (ErrorOut), the errors each operation documents, the exception handlers.
- schemas.py: the answers' schemas (SignalOut, TradeOut, StatsOut, ...).
- signals.py, trades.py, reads.py, days.py, replays.py, webhook.py, books.py: the endpoints by resource, each a
  Router with its own request bodies: signals; prices and trades; candles, journal, PnL and statistics; a day's
  diary; replays; TradingView's alerts; the token's book.
- urls.py: the routers on the API, the JSON 404 for any other path, the URLs tradingsite/urls.py mounts.
"""

from .site import api
from .urls import urls

__all__ = ["api", "urls"]
