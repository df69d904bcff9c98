"""The price feed (`manage.py price_feed`): an exchange's prices read through ccxt and applied to the ledger in
batches by `services.prices_apply`, the same service as POST /api/v1/prices (docs/operations.md, "The price feed").

Two halves, so that the ORM never runs inside an event loop:
- `Stream`, in a thread of its own with its own asyncio loop, talks to the exchange: it maps the ledger's symbols to
  the exchange's markets (`load_markets`), streams tickers (ccxt.pro `watch_tickers`) or polls them
  (`fetch_tickers`, one request for all), turns each into a cleaned `Tick` and queues it. Every failure (a timeout,
  a 5xx, a 429, a closed socket, a garbage body) is one log line and a retry after a capped exponential backoff
  with jitter; ccxt does not resubscribe by itself, so a failed stream is closed and subscribed anew.
- `run`, in the caller's thread, re-reads which symbols matter every few seconds, takes what the stream queued
  every `interval` seconds, applies it in batches, and logs a line a minute.
`backfill` fills, from the exchange's 1-minute OHLCV, the minutes of open trades that have no candle.
"""

import asyncio
import logging
import queue
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import ccxt
import ccxt.async_support
import ccxt.pro
from django.conf import settings
from django.db import DatabaseError, close_old_connections

from . import selectors, services
from .days import today
from .errors import AlreadyClosed, InvalidInput, LedgerError
from .inputs import TICKS_MAX, Candle, Tick, clean_ticks

log = logging.getLogger(__name__)

# Options some exchanges need to send what the ledger needs: Binance's default ticker stream (miniTicker) has no
# bid and ask; its full ticker stream has both.
EXCHANGE_OPTIONS = {name: {"watchTickers": {"name": "ticker"}} for name in ("binance", "binanceus")}
OHLCV_PAGE = 1000  # minutes asked for in one fetch_ohlcv request (Binance's most)


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


def make_exchange(config: FeedConfig):
    """The ccxt exchange, streaming-capable (ccxt.pro) where ccxt has it, rate-limited, spot markets by default,
    and reading numbers as the exchange wrote them (strings), never through float."""
    cls = getattr(ccxt.pro, config.exchange, None) or getattr(ccxt.async_support, config.exchange)
    exchange = cls(
        {"enableRateLimit": True, "options": {"defaultType": "spot", **EXCHANGE_OPTIONS.get(config.exchange, {})}}
    )
    exchange.number = str
    if config.configure:
        config.configure(exchange)
    return exchange


def _key(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", text.upper())


def market_for(index: dict[str, str], symbol: str) -> str | None:
    """The exchange's market for one of the ledger's spellings of a symbol, as market_index finds it."""
    return index.get(symbol) or index.get(_key(symbol))


def market_index(markets: dict[str, dict]) -> dict[str, str]:
    """How the ledger's spellings of a symbol find the exchange's market: `BTC/USDT` as ccxt names it, and
    `BTCUSDT`, `BTC-USDT` or the exchange's own id with the separators taken out (spot markets first)."""
    index: dict[str, str] = {}
    for market in sorted(markets.values(), key=lambda m: not m.get("spot")):
        if market.get("active") is False:
            continue
        index.setdefault(market["symbol"], market["symbol"])
        index.setdefault(_key(market["base"] + market["quote"]), market["symbol"])
        index.setdefault(_key(market["id"]), market["symbol"])
    return index


def tick_from(symbol: str, ticker: dict, *, received: datetime) -> Tick:
    """A ccxt ticker as the ledger's tick for `symbol`, cleaned (InvalidInput if it cannot be read): its last
    price with the bid and ask, at the exchange's time, never later than it arrived (a clock ahead of ours
    must not make prices look newer than they are)."""
    stamp = ticker.get("timestamp")
    at = received if not isinstance(stamp, int) else min(datetime.fromtimestamp(stamp / 1000, UTC), received)
    price = ticker.get("last") if ticker.get("last") is not None else ticker.get("close")
    return clean_ticks([Tick(symbol, price, at, bid=ticker.get("bid"), ask=ticker.get("ask"))])[0]


def one_line(error: BaseException) -> str:
    """An error as one log line: its kind and its message, whitespace folded, 300 characters at most."""
    text = " ".join(str(error).split()) or "no message"
    return f"{type(error).__name__}: {text[:300]}"


class _Recorder(dict):
    """A dict that tells `seen` about every value stored in it."""

    def __init__(self, seen: Callable[[str, dict], None]) -> None:
        super().__init__()
        self.seen = seen

    def __setitem__(self, key: str, value: dict) -> None:
        super().__setitem__(key, value)
        self.seen(key, value)


class Stalled(Exception):
    """The stream sent nothing for FeedConfig.stall seconds."""


class Stream:
    """The exchange side of the feed, in its own thread and event loop: ticks go out through `ticks`."""

    def __init__(self, config: FeedConfig) -> None:
        self.config = config
        self.ticks: queue.Queue[Tick] = queue.Queue()
        self.errors = 0  # failures so far (each logged)
        self.unparsed = 0  # tickers that were not a price
        self.wanted: frozenset[str] = frozenset()  # the ledger's symbols to follow, set by `follow`
        self._failures = 0  # in a row, for the backoff
        self._unknown: set[str] = set()  # reported once
        self._sent: dict[str, tuple] = {}  # market -> the last ticker queued, so none goes twice
        self._targets_now: dict[str, list[str]] = {}  # what the stream is subscribed to, for the recorder
        self._index: dict[str, str] = {}  # market_index of the exchange's markets
        self._mapped: tuple[frozenset[str], dict[str, list[str]]] | None = None  # the last symbols mapped, and how
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(self._unreadable)
        self._exchange = None
        self._stopping = threading.Event()
        self._task: asyncio.Task | None = None
        self._thread = threading.Thread(target=self._main, name="price-feed", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def follow(self, symbols: list[str]) -> None:
        self.wanted = frozenset(symbols)

    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop now, even in the middle of a wait for the exchange, and close its connections."""
        self._stopping.set()
        try:
            if self._task is not None:
                self._loop.call_soon_threadsafe(self._task.cancel)
        except RuntimeError:
            pass  # its loop has ended already
        self._thread.join(timeout=10)

    def _main(self) -> None:
        self._task = self._loop.create_task(self._run())
        try:
            self._loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass  # stopped
        finally:
            self._loop.close()

    async def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self._stopping.is_set() and (left := end - time.monotonic()) > 0:
            await asyncio.sleep(min(left, 0.05))

    def _unreadable(self, loop: asyncio.AbstractEventLoop, context: dict) -> None:
        """An error in a ccxt callback, such as a websocket message that is not JSON: it stops ccxt reading the
        socket, so say so in one line and drop the connection, which the stream then makes anew."""
        error = context.get("exception") or Exception(context.get("message"))
        self.errors += 1
        log.warning("price feed: an unreadable message: %s; reconnecting", one_line(error))
        if self._exchange is not None:
            loop.create_task(self._exchange.close_ws_clients())

    async def _run(self) -> None:
        exchange = self._exchange = make_exchange(self.config)
        streaming = self.config.stream and bool(exchange.has.get("watchTickers"))
        # Every ticker ccxt parses from the stream is stored in exchange.tickers; a `watch_tickers` call returns only
        # the one that woke it, so a burst handled at once would lose the others. Recording each store keeps them all.
        exchange.tickers = _Recorder(lambda market, ticker: self._queue({market: ticker}, self._targets_now))
        subscribed: list[str] = []
        silent = 0.0
        try:
            while not self._stopping.is_set():
                try:
                    if not exchange.markets:
                        if not await exchange.load_markets(reload=True):  # a garbage answer parses as no markets
                            raise ccxt.BadResponse(f"{exchange.id} listed no markets")
                        self._index, self._mapped = market_index(exchange.markets), None
                        log.info(
                            "price feed: %s lists %d markets; %s",
                            exchange.id,
                            len(exchange.markets),
                            "streaming tickers" if streaming else f"polling tickers every {self.config.interval:g} s",
                        )
                    targets = self._targets(exchange)
                    markets = sorted(targets)
                    if not markets:
                        await self._sleep(self.config.refresh)
                        continue
                    if not streaming:
                        self._queue(await self._poll(exchange, markets), targets)
                        self._failures = 0
                        await self._sleep(self.config.interval)
                        continue
                    if markets != subscribed and subscribed:
                        await exchange.close_ws_clients()  # subscribe anew to the new set
                    subscribed = markets
                    try:  # wake up at least every `refresh` seconds to see whether the set changed
                        self._targets_now = targets
                        await asyncio.wait_for(exchange.watch_tickers(markets), self.config.refresh)
                        silent = 0.0
                    except asyncio.CancelledError:
                        if asyncio.current_task().cancelling():
                            raise
                        raise ConnectionResetError("the stream was closed under the watch") from None
                    except TimeoutError:
                        silent += self.config.refresh
                        if silent < self.config.stall:
                            continue
                        silent = 0.0
                        raise Stalled(f"no ticker in {self.config.stall:g} s") from None
                    self._failures = 0  # what arrived went out through the recorder
                except Exception as error:  # noqa: BLE001 - whatever the exchange or the network did, retry
                    self._failures += 1
                    self.errors += 1
                    delay = min(
                        self.config.backoff_cap, self.config.backoff * 2 ** (self._failures - 1)
                    ) * random.uniform(0.5, 1)
                    log.warning("price feed: %s; retrying in %.2f s", one_line(error), delay)
                    if streaming:
                        await exchange.close_ws_clients()  # a fresh connection, subscribed anew
                        subscribed = []
                    await self._sleep(delay)
        finally:
            await exchange.close()

    def _targets(self, exchange) -> dict[str, list[str]]:
        """The exchange's markets for the symbols wanted, each with the ledger's spellings of it (worked out again
        only when the symbols change); a symbol the exchange does not list is reported once and skipped."""
        wanted = self.wanted
        if self._mapped is not None and self._mapped[0] == wanted:
            return self._mapped[1]
        targets: dict[str, list[str]] = {}
        for symbol in sorted(wanted):
            market = market_for(self._index, symbol)
            if market is None:
                if symbol not in self._unknown:
                    self._unknown.add(symbol)
                    log.warning("price feed: %s does not list %s; it is skipped", exchange.id, symbol)
                continue
            targets.setdefault(market, []).append(symbol)
        self._mapped = wanted, targets
        return targets

    async def _poll(self, exchange, markets: list[str]) -> dict[str, dict]:
        if exchange.has.get("fetchTickers"):
            return await exchange.fetch_tickers(markets)  # one request for all
        return {market: await exchange.fetch_ticker(market) for market in markets}

    def _queue(self, tickers: dict[str, dict], targets: dict[str, list[str]]) -> None:
        received = datetime.now(UTC)
        for market, ticker in tickers.items():
            seen = (ticker.get("timestamp"), ticker.get("last"), ticker.get("bid"), ticker.get("ask"))
            if market not in targets or self._sent.get(market) == seen:
                continue
            self._sent[market] = seen
            for symbol in targets[market]:
                try:
                    self.ticks.put(tick_from(symbol, ticker, received=received))
                except InvalidInput as error:
                    self.unparsed += 1
                    log.warning("price feed: a %s ticker is not a price, not applied: %s", market, error.message)


@dataclass
class Totals:
    """What the feed applied (since it started, or in one report's minute)."""

    ticks: int = 0
    marks: int = 0
    closes: int = 0
    ignored: int = 0
    lag: float = 0.0  # seconds from the newest tick of the last batch to its commit
    lag_max: float = 0.0

    def add(self, applied: int, result: services.TicksApplied, lag: float) -> None:
        self.ticks += applied - result.ignored
        self.marks += len(result.marked)
        self.closes += len(result.closed)
        self.ignored += result.ignored
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
        except LedgerError as error:  # cleaned already: should never happen; never retried
            log.error("price feed: %d ticks refused: %s", len(batch), error.message)
            continue
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
                    "price feed: %d symbols, %d ticks, %d marks, %d closes, %d ignored, lag %.1f s (max %.1f s), "
                    "%d errors and %d unreadable tickers so far",
                    len(stream.wanted),
                    minute.ticks,
                    minute.marks,
                    minute.closes,
                    minute.ignored,
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


# --- Backfill --------------------------------------------------------------------------------------


async def _history(
    config: FeedConfig, since: dict[str, datetime], until: datetime
) -> tuple[dict[str, list[list]], list[str]]:
    """Each symbol's 1-minute OHLCV rows from `since` to `until`, page by page; and the symbols not listed."""
    exchange = make_exchange(config)
    rows: dict[str, list[list]] = {}
    unknown = []
    try:
        await exchange.load_markets()
        index = market_index(exchange.markets)
        for symbol, start in since.items():
            market = market_for(index, symbol)
            if market is None:
                unknown.append(symbol)
                continue
            cursor, end = int(start.timestamp() * 1000), int(until.timestamp() * 1000)
            rows[symbol] = []
            while cursor < end:
                page = await exchange.fetch_ohlcv(market, "1m", since=cursor, limit=OHLCV_PAGE)
                page = [row for row in page if isinstance(row[0], int) and cursor <= row[0] < end]
                if not page:
                    break
                rows[symbol] += page
                cursor = page[-1][0] + 60_000
    finally:
        await exchange.close()
    return rows, unknown


def backfill(config: FeedConfig) -> tuple[list[services.CandlesBackfilled], list[str]]:
    """Fill, from the exchange's 1-minute OHLCV, the minutes since each open trade's entry (at most
    PRICE_HISTORY_DAYS back) that have no candle, widening the trades' high and low with them. Returns what was
    done per symbol, and the symbols the exchange does not list."""
    now = datetime.now(UTC)
    oldest = now - timedelta(days=settings.PRICE_HISTORY_DAYS)
    since = {symbol: max(entered, oldest) for symbol, entered in selectors.open_since().items()}
    rows, unknown = asyncio.run(_history(config, since, now))
    done = []
    for symbol, history in rows.items():
        candles = [Candle(datetime.fromtimestamp(row[0] / 1000, UTC), *row[1:5]) for row in history]
        done.append(services.candles_backfill(symbol=symbol, candles=candles))
    return done, unknown
