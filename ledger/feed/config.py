"""How the price feed runs: the exchange, what it follows besides the ledger's own symbols, its timings."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FeedConfig:
    exchange: str
    watchlist: list[str] = field(default_factory=list)  # followed besides open trades and waiting signals
    interval: float = 1.0  # seconds between batches, and between polls
    stream: bool = True  # stream when the exchange can (ccxt.pro); False polls
    refresh: float = 5.0  # seconds between re-reads of the symbols that matter
    backoff: float = 1.0  # the first retry's delay; doubled per failure in a row, up to backoff_cap
    backoff_cap: float = 60.0
    stall: float = 30.0  # a stream silent this long is taken as dead, and reconnected
    report: float = 60.0  # seconds between the log's summary lines
    configure: Callable[[Any], None] | None = (
        None  # called with the ccxt exchange before use (tests point it at a fake)
    )
