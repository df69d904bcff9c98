"""The exchange side of the price feed, in a thread of its own with its own asyncio loop: the markets mapped (and
reloaded hourly), the exchange's clock measured, the tickers streamed (ccxt.pro `watch_tickers`) or polled, each
turned into a cleaned tick and left, conflated, for `apply` to take. Where the exchange's ticker messages are
known (markets.TICKER_MESSAGES), a streamed ticker is conflated before it is read: only those still kept when a
batch is taken are read and cleaned."""

import asyncio
import concurrent.futures
import logging
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Hashable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from operator import itemgetter

import ccxt

from .. import sizing
from ..errors import InvalidInput
from ..inputs import Tick
from . import markets as exchanges
from .config import FeedConfig
from .history import History, rows_since
from .retry import backoff, one_line, retry_after

log = logging.getLogger("ledger.feed")  # one logger for the whole feed, as operators filter it
# An offset smaller than this is the measure's own noise (half a round trip): both clocks are taken to agree.
CLOCK_TOLERANCE = timedelta(seconds=1)
HISTORY_TIMEOUT = 300  # seconds a gap's history may take to read
# Seconds a stop gives the exchange's connections to close politely before it cuts them: a websocket's closing
# handshake waits behind everything the exchange sent before its answer, which under a flood never ends.
CLOSE_WAIT = 1
READ_WAIT = 1  # seconds a batch waits for the stream's loop to read the tickers kept unread
# A streamed ticker received this long after its time (told in ours) says the stream reads slower than the exchange
# sends: more than the network's delay and the clock offset's noise (CLOCK_TOLERANCE, not corrected) add up to.
BEHIND = timedelta(seconds=2)
EPOCH, MICROSECOND = datetime(1970, 1, 1, tzinfo=UTC), timedelta(microseconds=1)


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


class Waiting:
    """The ticks waiting for `apply`, conflated: of each symbol's minute only the ticks that make its candle are
    kept (its first, highest, lowest and newest; its first only in the batch that opens the minute), so that a burst
    beyond what the database takes costs neither memory nor delay (each batch carries every symbol's newest price),
    while the candles, the trades' highs and lows and the stops and targets a tick reaches come out as if every tick
    had been applied. The stream keeps the tickers it has not read yet in one too (`keep`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[Hashable, list[tuple]] = {}  # (symbol, minute) -> [first, high, low, newest]
        self._opened: set[Hashable] = set()  # the minutes the last take handed out: their first went then
        self._received = 0

    def put(self, tick: Tick) -> None:
        self.keep((tick.symbol, tick.at.replace(second=0, microsecond=0)), tick.at, tick.price, tick)

    def keep(self, minute: Hashable, at, price: Decimal, item) -> None:
        """Keep `item`, of a symbol's `minute`, at `at` and `price`, if it is so far its first, highest, lowest
        or newest (the later of two at the same time)."""
        entry = (at, price, item)
        with self._lock:
            self._received += 1
            kept = self._kept.get(minute)
            if kept is None:
                self._kept[minute] = [entry] * 4
                return
            if at < kept[0][0]:
                kept[0] = entry
            if price > kept[1][1]:
                kept[1] = entry
            if price < kept[2][1]:
                kept[2] = entry
            if at >= kept[3][0]:
                kept[3] = entry

    def conflated_before(self, count: int) -> None:
        """Count tickers conflated away before they were read as ticks: received, like those put."""
        with self._lock:
            self._received += count

    def take(self) -> tuple[list, int]:
        """Every tick (or item) kept, in time order, but a minute's first when the last take handed out that
        minute already (its candle has its open; what the tick reached, the minute's highest, lowest and newest
        since hold); and how many received since the last take were conflated away."""
        with self._lock:
            kept, self._kept = self._kept, {}
            received, self._received = self._received, 0
            opened, self._opened = self._opened, set(kept)
        entries = sorted(
            {id(entry): entry for minute, four in kept.items() for entry in four[minute in opened :]}.values(),
            key=itemgetter(0),
        )
        return [item for _, _, item in entries], received - len(entries)


class Stream:
    """The exchange side of the feed, in its own thread and event loop: ticks go out through `take`."""

    def __init__(self, config: FeedConfig) -> None:
        self.config = config
        self.waiting = Waiting()
        # Streamed tickers not read yet (`_received`), by market and minute: (market, ticker, microseconds received)
        self.unread = Waiting()
        self.errors = 0  # failures so far (each logged)
        self.unparsed = 0  # tickers that were not a price
        self.lots: queue.Queue[tuple[str, sizing.Lot]] = queue.Queue()  # each followed symbol's lot rules, once
        self.offset: timedelta | None = None  # the exchange's clock minus ours, once measured
        self._correction = timedelta(0)  # what tick times are corrected by: the offset, unless within its noise
        self.wanted: frozenset[str] = frozenset()  # the ledger's symbols to follow, set by `follow`
        # Gaps for `apply` to fill from the exchange's history: None at the start (since each symbol's last candle),
        # then at each recovery from a failure the time of the newest tick before it.
        self.gaps: deque[datetime | None] = deque()
        self._newest_at: datetime | None = None  # the newest tick's time so far
        self._down_from: datetime | None = None  # the newest tick's time when the failures in a row began
        self._failures = 0  # in a row, for the backoff
        self._unknown: set[str] = set()  # reported once
        self._followed: set[str] = set()  # the symbols the exchange listed when last mapped
        self._unreadable: set[str] = set()  # markets whose last ticker was not a price: reported once
        self._sent: dict[str, tuple] = {}  # market -> the last ticker queued, so none goes twice
        self._targets_now: dict[str, list[str]] = {}  # what the stream is subscribed to, for the recorder
        self._heard = 0.0  # time.monotonic() of the last ticker streamed
        self._tickers_in = exchanges.TICKER_MESSAGES.get(config.exchange)  # None: every message is ccxt's at once
        self._listening = False  # subscribed: tickers are kept unread (not before: the subscription awaits one)
        self._delay = 0  # microseconds between the last ticker kept unread's time and its arrival
        self._by_id: dict[str, str] = {}  # the exchange's id of each market followed -> the market
        self._fallback = False  # polling over REST while the stream is away
        self._index: dict[str, str] = {}  # market_index of the exchange's markets
        self._mapped: tuple[frozenset[str], dict[str, list[str]]] | None = None  # the last symbols mapped, and how
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(self._broken_message)
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

    def loaded(self) -> bool:
        """Whether the exchange's markets have been loaded."""
        return bool(self._index)

    def behind(self) -> bool:
        """Whether the last ticker kept unread arrived over BEHIND after its time: the stream reads behind."""
        return self._delay > BEHIND // MICROSECOND

    def take(self) -> tuple[list[Tick], int]:
        """The ticks waiting (Waiting.take), the tickers kept unread read first, in the stream's loop (what it
        keeps of each market is its own); once the stream has stopped, it has read them already."""
        if self.alive():
            read: concurrent.futures.Future = concurrent.futures.Future()
            try:
                self._loop.call_soon_threadsafe(self._read_unread, read)
                read.result(timeout=READ_WAIT)
            except (RuntimeError, TimeoutError):
                pass  # its loop has ended (it read them), or is slow: read for the next batch
        return self.waiting.take()

    def history(self, since: dict[str, datetime], until: datetime, *, stopping: Callable[[], bool]) -> History:
        """The symbols' 1-minute history (history.rows_since), read in the stream's loop by its exchange, while
        the stream goes on; from the caller's thread, which gives up (InterruptedError) once `stopping()` says so:
        a long history, or one read slowly beside a flood of tickers, never holds a stop back."""
        read = asyncio.run_coroutine_threadsafe(rows_since(self._exchange, self._index, since, until), self._loop)
        deadline = time.monotonic() + HISTORY_TIMEOUT
        try:
            while True:
                try:
                    return read.result(timeout=0.1)
                except TimeoutError:
                    if stopping():
                        raise InterruptedError("stopped while the exchange's history was read") from None
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"the exchange's history took over {HISTORY_TIMEOUT} s") from None
        finally:
            read.cancel()

    def stop(self) -> None:
        """Stop now, even in the middle of a wait for the exchange, and close its connections."""
        self._stopping.set()
        try:
            if self._task is not None:
                self._loop.call_soon_threadsafe(self._task.cancel)
        except RuntimeError:
            pass  # its loop has ended already
        self._thread.join(timeout=CLOSE_WAIT + 2)  # the close, and time for a busy loop to get to it

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

    def _broken_message(self, loop: asyncio.AbstractEventLoop, context: dict) -> None:
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
        # the one that woke it. Recording each store keeps them all, so the stream subscribes once and then only
        # listens, instead of asking ccxt again for every ticker (half the feed's time under load).
        exchange.tickers = _Recorder(self._streamed)
        self._read = exchange.handle_message  # ccxt's own reading of a message, for what `_received` does not keep
        exchange.handle_message = self._received
        subscribed: list[str] = []
        next_load = 0.0
        try:
            while not self._stopping.is_set():
                try:
                    if time.monotonic() >= next_load:
                        await self._load(exchange, streaming)
                        next_load = time.monotonic() + self.config.hourly
                    targets = self._targets_now = self._targets(exchange)  # a new spelling of a market counts at once
                    markets = sorted(targets)
                    if not markets:
                        await self._sleep(self.config.refresh)
                        continue
                    if not streaming:
                        self._queue(await self._poll(exchange, markets), targets)
                        self._recovered()
                        await self._sleep(self.config.interval)
                    elif markets != subscribed:
                        self._listening = False
                        if subscribed:
                            await exchange.close_ws_clients()  # subscribe anew to the new set
                            subscribed = []
                        await self._subscribe(exchange, markets)
                        subscribed, self._listening = markets, True
                    else:
                        await self._listen(exchange)
                except Exception as error:  # noqa: BLE001 - whatever the exchange or the network did, retry
                    if not self._failures:
                        self._down_from = self._newest_at  # the gap to fill once prices arrive again
                    self._failures += 1
                    self.errors += 1
                    asked = retry_after(error, exchange.last_response_headers)  # a rate limit's Retry-After
                    delay = max(backoff(self.config, self._failures), asked)
                    log.warning("price feed: %s; retrying in %.2f s", one_line(error), delay)
                    if not streaming:
                        await self._sleep(delay)
                        continue
                    self._listening = False
                    await exchange.close_ws_clients()  # a fresh connection, subscribed anew
                    subscribed = []
                    await self._poll_meanwhile(exchange, delay)
        finally:
            self._read_unread()  # for the stop's last batch: what arrives from now on is not read
            await self._close(exchange)

    async def _close(self, exchange) -> None:
        """Close the exchange's connections politely, or cut them after CLOSE_WAIT: aiohttp reads on until the
        exchange answers the close, and under a flood that read alone would keep the stream busy for ever."""
        try:
            await asyncio.wait_for(exchange.close(), CLOSE_WAIT)
        except TimeoutError:
            await exchange.close()  # the websockets cut: the rest closes at once

    async def _load(self, exchange, streaming: bool) -> None:
        """The exchange's markets, loaded at the start and reloaded hourly (a market listed since is followed, a
        delisted one reported); and its clock's offset from ours, which every tick's time is corrected by."""
        try:
            if not await exchange.load_markets(reload=True):  # a garbage answer parses as no markets
                raise ccxt.BadResponse(f"{exchange.id} listed no markets")
        except Exception as error:
            if not self._index:
                raise  # nothing to follow without them: retried
            log.warning("price feed: the markets could not be reloaded: %s; the ones loaded are kept", one_line(error))
        else:
            if not self._index:
                self.gaps.append(None)  # the feed was down until now
            self._index, self._mapped = exchanges.market_index(exchange.markets), None
            log.info(
                "price feed: %s lists %d markets; %s",
                exchange.id,
                len(exchange.markets),
                "streaming tickers" if streaming else f"polling tickers every {self.config.interval:g} s",
            )
        if exchange.has.get("fetchTime"):
            try:
                asked = time.time()
                served = await exchange.fetch_time()
                answered = time.time()
            except (ccxt.BaseError, OSError, TimeoutError) as error:
                log.warning("price feed: %s's clock could not be read: %s", exchange.id, one_line(error))
                return
            # the exchange's time was read about halfway between the question and the answer
            self.offset = timedelta(milliseconds=served - (asked + answered) * 500)
            self._correction = self.offset if abs(self.offset) >= CLOCK_TOLERANCE else timedelta(0)
            log.info("price feed: %s's clock is %+.3f s from ours", exchange.id, self.offset.total_seconds())

    async def _subscribe(self, exchange, markets: list[str]) -> None:
        """Subscribe to the markets' tickers; returns when the first arrives."""
        try:
            await asyncio.wait_for(exchange.watch_tickers(markets), self.config.stall)
        except asyncio.CancelledError:
            if asyncio.current_task().cancelling():
                raise
            raise ConnectionResetError("the stream was closed under the watch") from None
        except TimeoutError:
            raise Stalled(f"no ticker in {self.config.stall:g} s") from None
        self._heard = time.monotonic()
        self._recovered()
        self._leave_fallback()

    def _recovered(self) -> None:
        """Prices arrive: after failures, the gap since the newest tick before them is to be filled."""
        if self._failures:
            self.gaps.append(self._down_from)
        self._failures = 0

    async def _listen(self, exchange) -> None:
        """A moment of listening (the recorder takes what arrives); a closed or silent stream is a failure."""
        await self._sleep(min(self.config.refresh, 0.1))
        if not any(not client.closed() for client in exchange.clients.values()):
            raise ConnectionResetError("the exchange closed the stream")
        if time.monotonic() - self._heard > self.config.stall:
            raise Stalled(f"no ticker in {self.config.stall:g} s")

    async def _poll_meanwhile(self, exchange, seconds: float) -> None:
        """While the stream is away (for the retry's delay), poll the tickers over REST every interval."""
        end = time.monotonic() + seconds
        if not self._fallback and self._index:
            self._fallback = True
            log.warning("price feed: polling tickers over REST until the stream is back")
        while self._fallback and not self._stopping.is_set() and time.monotonic() < end:
            targets = self._targets(exchange)
            try:
                if targets:
                    self._queue(await self._poll(exchange, sorted(targets)), targets)
            except Exception as error:  # noqa: BLE001 - the stream's retry goes on; it reports its own failures
                log.warning("price feed: the REST poll failed too: %s", one_line(error))
                break
            await self._sleep(min(self.config.interval, end - time.monotonic()))
        await self._sleep(end - time.monotonic())

    def _leave_fallback(self) -> None:
        if self._fallback:
            self._fallback = False
            log.info("price feed: the stream is back; REST polling stopped")

    def _targets(self, exchange) -> dict[str, list[str]]:
        """The exchange's markets for the symbols wanted, each with the ledger's spellings of it (worked out again
        only when the symbols or the markets change); a symbol the exchange does not list, or no longer lists, is
        reported once and skipped, and followed again once listed."""
        wanted = self.wanted
        if self._mapped is not None and self._mapped[0] == wanted:
            return self._mapped[1]
        targets: dict[str, list[str]] = {}
        sent = self._mapped[0] if self._mapped is not None else frozenset()  # whose lot rules went out already
        for symbol in sorted(wanted):
            market = exchanges.market_for(self._index, symbol)
            if market is None:
                if symbol not in self._unknown:
                    self._unknown.add(symbol)
                    gone = "no longer lists" if symbol in self._followed else "does not list"
                    log.warning("price feed: %s %s %s; it is skipped", exchange.id, gone, symbol)
                continue
            if symbol in self._unknown:
                self._unknown.discard(symbol)
                log.info("price feed: %s now lists %s; it is followed", exchange.id, symbol)
            targets.setdefault(market, []).append(symbol)
            lot = exchanges.lot_from(exchange.markets[market], precision_mode=exchange.precisionMode)
            if lot is not None and symbol not in sent:
                self.lots.put((symbol, lot))  # kept by the ledger (services.market_lots_record)
        self._mapped = wanted, targets
        self._followed = {symbol for symbols in targets.values() for symbol in symbols}
        ids = {market: exchange.markets[market]["id"] for market in targets}
        shared = Counter(ids.values())  # an id two markets share (a spot market's and a swap's) is left to ccxt
        self._by_id = {market_id: market for market, market_id in ids.items() if shared[market_id] == 1}
        return targets

    async def _poll(self, exchange, markets: list[str]) -> dict[str, dict]:
        if exchange.has.get("fetchTickers"):
            return await exchange.fetch_tickers(markets)  # one request for all
        return {market: await exchange.fetch_ticker(market) for market in markets}

    def _received(self, client, message) -> None:
        """Each message the stream receives, in place of ccxt's handle_message. Once subscribed, the tickers of an
        exchange whose messages are known are kept unread, conflated with the others of their market and minute;
        only those kept when a batch is taken are read (`_read_unread`): under a flood most never are. Anything
        else, or a ticker whose market, time or price does not read, is ccxt's at once (which reports what is
        wrong with it, as always). Times are counted here in microseconds, as `markets.tick_time` counts them."""
        if self._stopping.is_set():
            return  # ccxt reads all the socket holds in one go: under a flood, seconds a stop would wait for
        read = self._tickers_in if self._listening and isinstance(message, dict) else None
        tickers = read(message) if read else None
        unread = tickers and [(self._by_id.get(market), _price(ticker["last"]), ticker) for market, ticker in tickers]
        if not unread or not all(market and price and isinstance(t["timestamp"], int) for market, price, t in unread):
            self._read(client, message)
            return
        received = time.time_ns() // 1000
        correction = self._correction // MICROSECOND
        self._heard = time.monotonic()
        for market, price, ticker in unread:
            at = min(ticker["timestamp"] * 1000 - correction, received)
            self.unread.keep((market, at // 60_000_000), at, price, (market, ticker, received))
        self._delay = received - at

    def _read_unread(self, done: concurrent.futures.Future | None = None) -> None:
        """The tickers kept unread, read (ccxt's `safe_ticker`, as for any ticker) and queued in the order they
        came, each as when it arrived: as if each had been read at once."""
        try:
            unread, conflated = self.unread.take()
            self.waiting.conflated_before(conflated)
            for market, ticker, received in sorted(unread, key=itemgetter(2)):
                read = self._exchange.safe_ticker(ticker)
                self._queue({market: read}, self._targets_now, received=EPOCH + received * MICROSECOND)
        finally:
            if done is not None:
                done.set_result(None)

    def _streamed(self, market: str, ticker: dict) -> None:
        self._heard = time.monotonic()
        self._queue({market: ticker}, self._targets_now)

    def _queue(self, tickers: dict[str, dict], targets: dict[str, list[str]], received: datetime | None = None) -> None:
        received, offset = received or datetime.now(UTC), self._correction
        for market, ticker in tickers.items():
            seen = (ticker.get("timestamp"), ticker.get("last"), ticker.get("bid"), ticker.get("ask"))
            if market not in targets or self._sent.get(market) == seen:
                continue
            self._sent[market] = seen
            for symbol in targets[market]:
                try:
                    tick = exchanges.tick_from(symbol, ticker, received=received, offset=offset)
                except InvalidInput as error:
                    self.unparsed += 1
                    if market not in self._unreadable:  # once until it reads again: a broken symbol costs one line
                        self._unreadable.add(market)
                        log.warning("price feed: a %s ticker is not a price, not applied: %s", market, error.message)
                else:
                    self._unreadable.discard(market)
                    self.waiting.put(tick)
                    self._newest_at = max(self._newest_at or tick.at, tick.at)


def _price(text) -> Decimal | None:
    """A ticker's last price as written, to conflate by; None if it is not a positive number."""
    try:
        price = Decimal(text) if isinstance(text, str) else None
    except InvalidOperation:
        return None
    return price if price is not None and price.is_finite() and price > 0 else None
