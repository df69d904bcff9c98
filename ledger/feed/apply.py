"""The ledger side of the price feed (`run`): which symbols matter, re-read every few seconds; what the stream
queued, applied in batches by `services.prices_apply`; a log line a minute."""

import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import DatabaseError, close_old_connections

from .. import selectors, services
from ..days import today
from ..errors import AlreadyClosed, LedgerError
from ..inputs import TICKS_MAX, Tick
from .config import FeedConfig
from .retry import one_line
from .stream import Stream

log = logging.getLogger("ledger.feed")  # one logger for the whole feed, as operators filter it


@dataclass
class Totals:
    """What the feed applied (since it started, or in one report's minute)."""

    ticks: int = 0
    marks: int = 0
    closes: int = 0
    ignored: int = 0
    refused: int = 0
    lag: float = 0.0  # seconds from the newest tick of the last batch to its commit
    lag_max: float = 0.0

    def add(self, applied: int, result: services.TicksApplied, lag: float) -> None:
        self.ticks += applied - result.ignored - len(result.refused)
        self.marks += len(result.marked)
        self.closes += len(result.closed)
        self.ignored += result.ignored
        self.refused += len(result.refused)
        self.lag, self.lag_max = lag, max(self.lag_max, lag)


def _take(ticks: queue.Queue, seconds: float) -> list[Tick]:
    """What arrives in the next `seconds` (at least what is already there)."""
    taken, end = [], time.monotonic() + seconds
    while True:
        try:
            taken.append(ticks.get(timeout=max(0.0, end - time.monotonic())))
        except queue.Empty:
            return taken


def _apply(pending: list[Tick], totals: list[Totals]) -> list[Tick]:
    """Apply the ticks in batches of at most TICKS_MAX; returns those to try again (the database was away)."""
    for start in range(0, len(pending), TICKS_MAX):
        batch = pending[start : start + TICKS_MAX]
        try:
            result = services.prices_apply(ticks=batch)
        except (DatabaseError, AlreadyClosed) as error:
            log.warning("price feed: %d ticks not applied yet: %s", len(pending) - start, one_line(error))
            close_old_connections()
            return pending[start:][-100 * TICKS_MAX :]  # kept for the next round, the newest if it is long
        except LedgerError as error:  # a tick is refused alone (below): should never happen; never retried
            log.error("price feed: %d ticks refused: %s", len(batch), error.message)
            continue
        for refused in result.refused:  # the rest of the batch was applied
            log.warning("price feed: a %s tick refused, not applied: %s", refused.symbol, refused.message)
        lag = (datetime.now(UTC) - max(tick.at for tick in batch)).total_seconds()
        for total in totals:
            total.add(len(batch), result, lag)
    return []


def run(config: FeedConfig, *, until: Callable[[Totals], bool] = lambda totals: False) -> Totals:
    """Follow the symbols that matter and apply their prices until `until(totals)` says stop (checked every
    interval); the ticks already received are applied before it returns."""
    stream = Stream(config)
    stream.start()
    totals, minute = Totals(), Totals()
    pending: list[Tick] = []
    next_follow, next_report = 0.0, time.monotonic() + config.report
    try:
        while not until(totals) and stream.alive():
            if time.monotonic() >= next_follow:
                next_follow = time.monotonic() + config.refresh
                try:
                    stream.follow(selectors.symbols_followed(today(), config.watchlist))
                except DatabaseError as error:  # keep following what it followed; try again next time
                    log.warning("price feed: the symbols to follow could not be read: %s", one_line(error))
                    close_old_connections()
            pending = _apply(pending + _take(stream.ticks, config.interval), [totals, minute])
            if time.monotonic() >= next_report:
                log.info(
                    "price feed: %d symbols, %d ticks, %d marks, %d closes, %d ignored, %d refused, "
                    "lag %.1f s (max %.1f s), "
                    "%d errors and %d unreadable tickers so far",
                    len(stream.wanted),
                    minute.ticks,
                    minute.marks,
                    minute.closes,
                    minute.ignored,
                    minute.refused,
                    minute.lag,
                    minute.lag_max,
                    stream.errors,
                    stream.unparsed,
                )
                minute, next_report = Totals(), next_report + config.report
    finally:
        stream.stop()
        _apply(pending + _take(stream.ticks, 0), [totals])
    return totals
