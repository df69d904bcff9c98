"""Failures of the exchange or the network: each one log line, then a retry after a capped exponential backoff
with jitter."""

import random

from .config import FeedConfig


def one_line(error: BaseException) -> str:
    """An error as one log line: its kind and its message, whitespace folded, 300 characters at most."""
    text = " ".join(str(error).split()) or "no message"
    return f"{type(error).__name__}: {text[:300]}"


def backoff(config: FeedConfig, failures: int) -> float:
    """Seconds to wait after `failures` failures in a row: doubled each time from `config.backoff`, at most
    `config.backoff_cap`, and between half and all of that, so that many feeds do not retry in step."""
    return min(config.backoff_cap, config.backoff * 2 ** (failures - 1)) * random.uniform(0.5, 1)
