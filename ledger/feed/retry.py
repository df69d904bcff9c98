"""Failures of the exchange or the network: each one log line, then a retry after a capped exponential backoff
with jitter, or after what the exchange asked for when it refused a request for its rate limit."""

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import ccxt

from .config import FeedConfig

RETRY_AFTER_MAX = 3600.0  # seconds: a Retry-After longer than this is taken as a mistake


def one_line(error: BaseException) -> str:
    """An error as one log line: its kind and its message, whitespace folded, 300 characters at most."""
    text = " ".join(str(error).split()) or "no message"
    return f"{type(error).__name__}: {text[:300]}"


def backoff(config: FeedConfig, failures: int) -> float:
    """Seconds to wait after `failures` failures in a row: doubled each time from `config.backoff`, at most
    `config.backoff_cap`, and between half and all of that, so that many feeds do not retry in step."""
    return min(config.backoff_cap, config.backoff * 2 ** (failures - 1)) * random.uniform(0.5, 1)


def retry_after(error: BaseException, headers: dict | None) -> float:
    """Seconds the exchange asked the feed to wait (its Retry-After header, in seconds or as an HTTP date) when
    it refused a request for its rate limit (429, or Binance's 418); 0 when it asked nothing."""
    if not isinstance(error, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
        return 0.0
    value = next((value for name, value in (headers or {}).items() if name.lower() == "retry-after"), None)
    if value is None:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return 0.0
    return min(max(seconds, 0.0), RETRY_AFTER_MAX)
