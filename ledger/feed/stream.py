"""The exchange side of the price feed, in a thread of its own with its own asyncio loop: the markets mapped, the
tickers streamed (ccxt.pro `watch_tickers`) or polled, each turned into a cleaned tick and queued for `apply`."""

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import ccxt

from ..errors import InvalidInput
from ..inputs import Tick
from . import markets as exchanges
from .config import FeedConfig
from .retry import backoff, one_line

log = logging.getLogger("ledger.feed")  # one logger for the whole feed, as operators filter it


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
        exchange = self._exchange = exchanges.make_exchange(self.config)
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
                        self._index, self._mapped = exchanges.market_index(exchange.markets), None
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
                    delay = backoff(self.config, self._failures)
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
            market = exchanges.market_for(self._index, symbol)
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
                    self.ticks.put(exchanges.tick_from(symbol, ticker, received=received))
                except InvalidInput as error:
                    self.unparsed += 1
                    log.warning("price feed: a %s ticker is not a price, not applied: %s", market, error.message)
