"""The price feed (`manage.py price_feed`): an exchange's prices read through ccxt and applied to the ledger in
batches by `services.prices_apply`, the same service as POST /api/v1/prices (docs/operations.md, "The price feed").

Two halves, so that the ORM never runs inside an event loop:
- `Stream`, in a thread of its own with its own asyncio loop, talks to the exchange: it maps the ledger's symbols to
  the exchange's markets (`load_markets`), streams tickers (ccxt.pro `watch_tickers`) or polls them
  (`fetch_tickers`, one request for all), turns each into a cleaned `Tick` and queues it, conflated (of each symbol's
  minute its first, highest, lowest and newest). Where it knows the exchange's ticker messages (Binance's, OKX's) it
  conflates the streamed tickers before reading them, so that under a flood it reads only those a batch keeps.
  Every failure (a timeout, a 5xx, a 429, a closed socket, a garbage body) is one log line and a retry after a
  capped exponential backoff with jitter; ccxt does not resubscribe by itself, so a failed stream is closed and
  subscribed anew.
- `run`, in the caller's thread, re-reads which symbols matter every few seconds, takes what the stream queued
  every `interval` seconds (on the interval, however long the last batch took to apply), applies it in batches,
  and logs a line a minute.
`backfill` fills, from the exchange's 1-minute OHLCV, the minutes of open trades that have no candle.

Its modules: `config` (FeedConfig), `markets` (the exchange made, symbols mapped, tickers read as ticks), `retry`
(one log line a failure, then a capped backoff with jitter), `stream` (the exchange side, in its own thread),
`apply` (the loop that applies ticks in batches: `run`), `history` (`backfill`).
"""

from .apply import Totals, run
from .config import FeedConfig
from .history import backfill
from .retry import one_line

__all__ = ["FeedConfig", "Totals", "backfill", "one_line", "run"]
