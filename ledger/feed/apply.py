"""The ledger side of the price feed (`run`): which symbols matter, re-read every few seconds; what the stream
left waiting, sifted for bad prints and applied in batches by `services.prices_apply`; a log line a minute; and
what the feed says of itself for /healthz (`services.feed_report`)."""

import gc
import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

import ccxt
from django.db import DatabaseError, close_old_connections

from .. import selectors, services, sizing
from ..days import today
from ..errors import AlreadyClosed, LedgerError
from ..inputs import TICKS_MAX, Tick
from . import history
from .config import FeedConfig
from .prints import Prints
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
    refused: int = 0  # refused one by one by services.prices_apply (the rest of their batch applied)
    conflated: int = 0  # received, but not needed: a newer tick of the same minute said the same
    held: int = 0  # prints held as suspect
    newest: datetime | None = None  # the time of the newest tick applied
    lag_max: float = 0.0  # seconds from the newest tick of a batch to its commit, at most

    def add(self, applied: int, result: services.TicksApplied, newest: datetime) -> None:
        self.ticks += applied - result.ignored - len(result.refused)
        self.marks += len(result.marked)
        self.closes += len(result.closed)
        self.ignored += result.ignored
        self.refused += len(result.refused)
        self.newest = max(self.newest or newest, newest)
        self.lag_max = max(self.lag_max, (datetime.now(UTC) - newest).total_seconds())


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
        for total in totals:
            total.add(len(batch), result, max(tick.at for tick in batch))
    return []


def _record_lots(lots: queue.Queue, pending: dict[str, sizing.Lot], source: str) -> dict[str, sizing.Lot]:
    """Keep the lot rules the stream found for newly followed symbols; returns those to try again."""
    while not lots.empty():
        symbol, lot = lots.get()
        pending[symbol] = lot
    if not pending:
        return pending
    try:
        services.market_lots_record(lots=pending, source=source)
    except DatabaseError as error:
        log.warning("price feed: the lot rules of %d symbols not kept yet: %s", len(pending), one_line(error))
        close_old_connections()
        return pending
    return {}


class _Status:
    """The feed's row for /healthz, written when what it says changes and with each summary line."""

    def __init__(self, config: FeedConfig) -> None:
        self.exchange, self.started = config.exchange, datetime.now(UTC)
        self.said: tuple | None = None

    def write(self, stream: Stream, prints: Prints, *, always: bool = False) -> None:
        offset_ms = None if stream.offset is None else round(stream.offset.total_seconds() * 1000)
        saying = offset_ms, prints.held
        if saying == self.said and not always:
            return
        try:
            services.feed_report(
                exchange=self.exchange,
                started_at=self.started,
                at=datetime.now(UTC),
                clock_offset_ms=offset_ms,
                suspect_prints=prints.held,
            )
        except DatabaseError as error:  # said again next time
            log.warning("price feed: its status could not be written: %s", one_line(error))
            close_old_connections()
            return
        self.said = saying


def _history_ends(symbols: list[str]) -> dict[str, datetime]:
    """Where each symbol's history stops: its last candle, or its open trade's entry if it has none."""
    opened = selectors.open_since()
    return {symbol: opened[symbol] for symbol in symbols if symbol in opened} | selectors.candles_newest(symbols)


def _fill_gaps(stream: Stream, ends: dict[str, datetime], stopping: Callable[[], bool]) -> None:
    """After a gap (the feed's start, a recovery from a failure), every followed symbol's minutes that have no
    candle, from the exchange's 1-minute history: since where its history ended (`ends`, read before the first
    tick) at the start, since the newest tick before the failure after one; a minute that reached an open trade's
    level closes it. Given up, with nothing written, once `stopping()` says so."""
    starts = [stream.gaps.popleft() for _ in range(len(stream.gaps))]
    symbols = sorted(stream.wanted)
    if not starts or not symbols:
        return
    try:
        if None in starts:
            since = {symbol: ends[symbol] for symbol in symbols if symbol in ends}
        else:
            since = dict.fromkeys(symbols, min(starts).replace(second=0, microsecond=0))
        read = partial(stream.history, stopping=stopping)
        done, _ = history.fill(since, read)  # the stream has said which symbols are not listed
    except DatabaseError as error:
        log.warning("price feed: the gap's minutes could not be filled: %s", one_line(error))
        close_old_connections()
        return
    except (ccxt.BaseError, OSError, TimeoutError) as error:
        log.warning("price feed: the gap's minutes could not be read from the exchange: %s", one_line(error))
        return
    for result in done:
        if result.written or result.unreadable:
            log.info("price feed: %s: %d minutes filled from the exchange's history", result.symbol, result.written)
        for sentence in result.closed:
            log.warning("price feed: %s", sentence)


def _freeze() -> bool:
    """Set what the feed holds for its whole life (Django's and ccxt's modules, the exchange's markets, loaded by
    now) out of the garbage collector's sight: otherwise each full collection walks those few hundred thousand
    objects, holding the interpreter 0.1 to 0.2 s, and a flood's garbage sets one off every few batches
    (bench/RESULTS.md). Not collected first: that would hold the stream's thread up as long, once."""
    gc.freeze()
    return True


def _summary(stream: Stream, minute: Totals, totals: Totals) -> None:
    lag = "none yet" if totals.newest is None else f"{(datetime.now(UTC) - totals.newest).total_seconds():.1f} s"
    offset = "not measured" if stream.offset is None else f"{stream.offset.total_seconds():+.3f} s"
    log.info(
        "price feed: %d symbols, %d ticks, %d marks, %d closes, %d ignored, %d refused, %d conflated, "
        "%d held as suspect, lag %s (max %.1f s), clock offset %s, %d errors and %d unreadable tickers so far",
        len(stream.wanted),
        minute.ticks,
        minute.marks,
        minute.closes,
        minute.ignored,
        minute.refused,
        minute.conflated,
        minute.held,
        lag,
        minute.lag_max,
        offset,
        stream.errors,
        stream.unparsed,
    )


def run(config: FeedConfig, *, until: Callable[[Totals], bool] = lambda totals: False) -> Totals:
    """Follow the symbols that matter and apply their prices until `until(totals)` says stop (checked every
    interval); the ticks already received are applied before it returns."""
    stream, prints, status = Stream(config), Prints(), _Status(config)
    stream.start()
    totals, minute = Totals(), Totals()
    pending: list[Tick] = []
    lots: dict[str, sizing.Lot] = {}
    next_follow, next_report = 0.0, time.monotonic() + config.report
    next_batch = time.monotonic() + config.interval

    def apply(waited: float) -> None:
        nonlocal pending
        time.sleep(waited)
        ticks, conflated = stream.take()
        held = prints.held
        ticks = prints.sift(ticks)
        for total in (totals, minute):
            total.conflated += conflated
            total.held += prints.held - held
        pending = _apply(pending + ticks, [totals, minute])

    status.write(stream, prints, always=True)
    ends: dict[str, datetime] = {}
    frozen = False
    try:
        while not until(totals) and stream.alive():
            frozen = frozen or (stream.loaded() and _freeze())
            if time.monotonic() >= next_follow:
                next_follow = time.monotonic() + config.refresh
                try:
                    stream.follow(selectors.symbols_followed(today(), config.watchlist))
                    ends = ends or _history_ends(sorted(stream.wanted))  # before the first tick is applied
                except DatabaseError as error:  # keep following what it followed; try again next time
                    log.warning("price feed: the symbols to follow could not be read: %s", one_line(error))
                    close_old_connections()
            lots = _record_lots(stream.lots, lots, config.exchange)
            _fill_gaps(stream, ends, stopping=lambda: until(totals))
            # A batch every interval, not an interval after the last one's commit: the newest price is at most an
            # interval and a commit old. But while the stream reads behind, a batch is followed by a pause as long
            # as it took: its thread shares the interpreter with this one, and a stream that reads slower than the
            # exchange sends falls behind without bound, while a late batch only waits.
            started = time.monotonic()
            apply(max(next_batch - started, 0.0))
            took = time.monotonic() - max(next_batch, started)
            next_batch = max(next_batch + config.interval, time.monotonic() + (took if stream.behind() else 0.0))
            reporting = time.monotonic() >= next_report
            if reporting:
                _summary(stream, minute, totals)
                minute, next_report = Totals(), next_report + config.report
            status.write(stream, prints, always=reporting)
    finally:
        stream.stop()
        apply(0)
        _record_lots(stream.lots, lots, config.exchange)  # what the stream found since the last round
        if frozen:
            gc.unfreeze()  # back in the collector's sight, for a caller that goes on (a test)
    return totals
