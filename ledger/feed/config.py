"""How the price feed runs: the exchange and where it is, what it follows besides the ledger's own symbols, its
timings."""

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FeedConfig:
    exchange: str
    watchlist: list[str] = field(default_factory=list)  # followed besides open trades and waiting signals
    sandbox: bool = False  # the exchange's test network (ccxt's sandbox mode)
    exchange_config: dict[str, Any] = field(default_factory=dict)  # deep-merged into ccxt's (URLs, options, ...)
    interval: float = 1.0  # seconds between batches, and between polls
    stream: bool = True  # stream when the exchange can (ccxt.pro); False polls
    refresh: float = 5.0  # seconds between re-reads of the symbols that matter
    backoff: float = 1.0  # the first retry's delay; doubled per failure in a row, up to backoff_cap
    backoff_cap: float = 60.0
    stall: float = 10.0  # a stream silent this long is taken as dead: polled over REST, and reconnected
    fallback: float = 60.0  # seconds of REST polling after a stream failed, before streaming is tried again
    hourly: float = 3600.0  # seconds between reloads of the markets and measures of the exchange's clock
    report: float = 60.0  # seconds between the log's summary lines
