"""A fake of Binance's public spot API on a loopback port, for the price feed's tests: REST (markets, tickers,
1-minute klines) and the market-data websocket, with switches that make it fail the way real ones do.

It runs its own event loop in a thread; the test's thread steers it with the methods below. `exchange_config`
is what `price_feed --exchange-config` takes to aim ccxt's binance here.
"""

import asyncio
import json
import random
import threading
from collections import deque
from datetime import UTC, datetime, timedelta

from aiohttp import WSMsgType, web

MARKETS = {"BTCUSDT": ("BTC", "USDT"), "ETHUSDT": ("ETH", "USDT"), "SOLUSDT": ("SOL", "USDT")}


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class FakeBinance:
    def __init__(self) -> None:
        self.tickers: dict[str, dict] = {}  # market id -> the 24hr ticker REST answers
        self.klines: dict[str, list[list]] = {}  # market id -> [[open ms, o, h, l, c, volume, close ms], ...]
        self.markets = dict(MARKETS)  # what exchangeInfo lists: a test may list or delist one
        self.clock = timedelta(0)  # the exchange's clock, ahead of ours (negative: behind)
        # path -> (status, body, headers) answered before successes
        self.rest_failures: dict[str, deque[tuple[int, str, dict]]] = {}
        self.requests: list[str] = []  # paths (and queries) asked, in order
        self.subscriptions: list[list[str]] = []  # the params of every SUBSCRIBE, in order
        self.sockets: list[web.WebSocketResponse] = []
        self.kline_wait = 0.0  # seconds each klines answer takes: a history paced by the exchange's rate limit
        self.flooded = 0  # ticker events the flood has sent
        self._flood: asyncio.Task | None = None
        self.loop = asyncio.new_event_loop()
        self.runner: web.AppRunner | None = None
        ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(10)

    # --- The test's controls (called from the test's thread) ----------------------------------------

    def ticker(self, market: str, last: str, at: datetime, *, bid: str | None = None, ask: str | None = None) -> None:
        """What the next REST poll answers for the market."""
        self.tickers[market] = {
            "symbol": market,
            "lastPrice": last,
            "openPrice": last,  # ccxt works out the change from it, as from a real one
            "bidPrice": bid,
            "askPrice": ask,
            "openTime": millis(at) - 86_400_000,
            "closeTime": millis(at),
            "count": 1,
        }

    def push(self, market: str, last: str, at: datetime, *, bid: str | None = None, ask: str | None = None) -> None:
        """A 24hr ticker event to every socket."""
        self.send_text(self._event(market, last, at, bid, ask))

    def push_all(self, tickers: list[tuple[str, str, datetime]]) -> None:
        """Ticker events (market, last price, time) to every socket, back to back: a burst."""
        self._call(self._send_each([self._event(market, last, at, None, None) for market, last, at in tickers]))

    def _event(self, market: str, last: str, at: datetime, bid: str | None, ask: str | None) -> str:
        event = {
            "e": "24hrTicker",
            "E": millis(at),
            "s": market,
            "c": last,
            "o": last,
            "b": bid,
            "a": ask,
            "C": millis(at),
            "O": millis(at) - 86_400_000,
        }
        return json.dumps(event)

    def flood(self, markets: list[str], per_second: int) -> None:
        """Ticker events for the markets in turn, `per_second` of them in all, to every socket until `unflood`:
        each stamped when it is sent, at a price within 1% of 100 (a stop or target 2% away is never reached). A
        feed that reads slower than that holds the sender back, as a real exchange's socket would be."""
        self.flooded = 0
        self._flood = asyncio.run_coroutine_threadsafe(self._flooding(markets, per_second), self.loop)

    def unflood(self) -> int:
        """Stop the flood; returns how many events it sent."""
        self._flood.cancel()
        self._flood = None
        return self.flooded

    def send_text(self, text: str) -> None:
        self._call(self._send_all(text))

    def drop_connections(self) -> None:
        """Every open socket closed by the server, as an exchange does at maintenance or after 24 hours."""
        self._call(self._close_all())

    def fail_rest(self, path: str, status: int, body: str = "", times: int = 1, headers: dict | None = None) -> None:
        """The next `times` requests to `path` answer this instead."""
        self.rest_failures.setdefault(path, deque()).extend([(status, body, headers or {})] * times)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def exchange_config(self) -> dict:
        """ccxt's binance aimed here: its REST and spot websocket URLs, spot markets only (the fake has no futures),
        no pacing (ccxt's 50 ms per weight unit against real Binance) and no wait at close (there is no TLS)."""
        return {
            "urls": {"api": {"public": f"{self.url}/api/v3", "ws": {"spot": f"ws://127.0.0.1:{self.port}/ws"}}},
            "options": {"fetchMarkets": {"types": ["spot"]}},
            "enableRateLimit": False,
            "timeout_on_exit": 0,
        }

    def close(self) -> None:
        self._call(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    # --- The server (its own thread) ----------------------------------------------------------------

    def _call(self, coroutine) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        self._route(app.router)
        self.runner = web.AppRunner(app, shutdown_timeout=0.1)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    def _route(self, router: web.UrlDispatcher) -> None:
        router.add_get("/api/v3/exchangeInfo", self._exchange_info)
        router.add_get("/api/v3/time", self._time)
        router.add_get("/api/v3/ticker/24hr", self._tickers)
        router.add_get("/api/v3/klines", self._klines)
        router.add_get("/ws/{stream}", self._socket)

    async def _stop(self) -> None:
        await self._close_all()
        await self.runner.cleanup()

    def _failure(self, request: web.Request) -> web.Response | None:
        self.requests.append(request.path_qs)
        if self.rest_failures.get(request.path):
            status, body, headers = self.rest_failures[request.path].popleft()
            return web.Response(status=status, text=body, headers={"Content-Type": "application/json", **headers})
        return None

    async def _exchange_info(self, request: web.Request) -> web.Response:
        symbols = [
            {
                "symbol": market,
                "status": "TRADING",
                "baseAsset": base,
                "quoteAsset": quote,
                "baseAssetPrecision": 8,
                "quotePrecision": 8,
                "quoteAssetPrecision": 8,
                "orderTypes": ["LIMIT", "MARKET"],
                "isSpotTradingAllowed": True,
                "isMarginTradingAllowed": False,
                "permissions": ["SPOT"],
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000", "tickSize": "0.01"},
                    {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000", "stepSize": "0.00001"},
                ],
            }
            for market, (base, quote) in self.markets.items()
        ]
        return self._failure(request) or web.json_response(
            {"timezone": "UTC", "serverTime": 0, "rateLimits": [], "symbols": symbols}
        )

    async def _time(self, request: web.Request) -> web.Response:
        return self._failure(request) or web.json_response({"serverTime": millis(datetime.now(UTC) + self.clock)})

    async def _tickers(self, request: web.Request) -> web.Response:
        failure = self._failure(request)
        if failure:
            return failure
        wanted = json.loads(request.query.get("symbols", "null")) or list(self.tickers)
        return web.json_response([self.tickers[market] for market in wanted if market in self.tickers])

    async def _klines(self, request: web.Request) -> web.Response:
        failure = self._failure(request)
        if failure:
            return failure
        await asyncio.sleep(self.kline_wait)
        start, limit = int(request.query.get("startTime", 0)), int(request.query.get("limit", 500))
        end = int(request.query.get("endTime", 2**62))
        rows = [row for row in self.klines.get(request.query["symbol"], []) if start <= row[0] <= end]
        return web.json_response(rows[:limit])

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets.append(socket)
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                command = json.loads(message.data)
                if command.get("method") == "SUBSCRIBE":
                    self.subscriptions.append(command["params"])
                    await socket.send_str(json.dumps({"result": None, "id": command["id"]}))
        return socket

    async def _send_all(self, text: str) -> None:
        for socket in list(self.sockets):
            if not socket.closed:
                await socket.send_str(text)

    async def _send_each(self, texts: list[str]) -> None:
        for text in texts:
            await self._send_all(text)

    async def _flooding(self, markets: list[str], per_second: int) -> None:
        rng, started = random.Random(7), self.loop.time()
        event = '{"e":"24hrTicker","E":%d,"s":"%s","c":"%s","o":"100","b":"%s","a":"%s","C":%d,"O":%d}'
        while True:
            due = int((self.loop.time() - started) * per_second)
            stamp = millis(datetime.now(UTC))
            for n in range(self.flooded, due):
                cents = 10000 + rng.randint(-90, 90)  # last, bid and ask a cent apart
                last, bid, ask = (f"{c // 100}.{c % 100:02d}" for c in (cents, cents - 1, cents + 1))
                text = event % (stamp, markets[n % len(markets)], last, bid, ask, stamp, stamp - 86_400_000)
                await self._send_all(text)
                self.flooded = n + 1
            await asyncio.sleep(0.005)

    async def _close_all(self) -> None:
        for socket in list(self.sockets):
            await socket.close()
        self.sockets.clear()


class FakeOkx(FakeBinance):
    """The same server and switches, speaking OKX's v5 API from its documentation: REST (instruments, tickers,
    time) and the public websocket (`{"op": "subscribe", "args": [{"channel": "tickers", "instId": ...}]}`, text
    pings). Its markets are OKX's instrument ids (BTC-USDT); its controls take Binance's names (BTCUSDT), so that a
    test runs against either."""

    def __init__(self) -> None:
        super().__init__()
        self.markets = {f"{base}-{quote}": (base, quote) for base, quote in MARKETS.values()}

    def _okx_ticker(self, market: str, last: str, at: datetime, bid: str | None, ask: str | None) -> dict:
        return {
            "instType": "SPOT",
            "instId": market,
            "last": last,
            "lastSz": "0.1",
            "askPx": ask or "",
            "askSz": "1",
            "bidPx": bid or "",
            "bidSz": "1",
            "open24h": last,  # ccxt works out the change from it, as from a real one
            "high24h": last,
            "low24h": last,
            "volCcy24h": "100",
            "vol24h": "1",
            "ts": str(millis(at)),
            "sodUtc0": last,
            "sodUtc8": last,
        }

    def ticker(self, market: str, last: str, at: datetime, *, bid: str | None = None, ask: str | None = None) -> None:
        market = "-".join(MARKETS[market])
        self.tickers[market] = self._okx_ticker(market, last, at, bid, ask)

    def _event(self, market: str, last: str, at: datetime, bid: str | None, ask: str | None) -> str:
        market = "-".join(MARKETS[market])
        arg = {"channel": "tickers", "instId": market}
        return json.dumps({"arg": arg, "data": [self._okx_ticker(market, last, at, bid, ask)]})

    @property
    def exchange_config(self) -> dict:
        """ccxt's okx aimed here, as the issue's example: its REST host and websocket base, spot markets only."""
        return {
            "urls": {"api": {"rest": self.url, "ws": f"ws://127.0.0.1:{self.port}/ws/v5"}},
            "options": {"fetchMarkets": {"types": ["spot"]}},
            "enableRateLimit": False,
            "timeout_on_exit": 0,
        }

    def _route(self, router: web.UrlDispatcher) -> None:
        router.add_get("/api/v5/public/instruments", self._instruments)
        router.add_get("/api/v5/public/time", self._time)
        router.add_get("/api/v5/market/tickers", self._tickers)
        router.add_get("/api/v5/market/candles", self._no_candles)
        router.add_get("/api/v5/market/history-candles", self._no_candles)
        router.add_get("/ws/v5/public", self._socket)

    @staticmethod
    def _answer(data: list) -> web.Response:
        return web.json_response({"code": "0", "msg": "", "data": data})

    async def _instruments(self, request: web.Request) -> web.Response:
        instruments = [
            {
                "instType": "SPOT",
                "instId": market,
                "baseCcy": base,
                "quoteCcy": quote,
                "settleCcy": "",
                "ctVal": "",
                "ctMult": "",
                "ctValCcy": "",
                "listTime": "1606468572000",
                "expTime": "",
                "lever": "10",
                "tickSz": "0.01",
                "lotSz": "0.00000001",
                "minSz": "0.00001",
                "ctType": "",
                "alias": "",
                "state": "live",
                "uly": "",
                "instFamily": "",
            }
            for market, (base, quote) in self.markets.items()
        ]
        return self._failure(request) or self._answer(instruments)

    async def _time(self, request: web.Request) -> web.Response:
        return self._failure(request) or self._answer([{"ts": str(millis(datetime.now(UTC) + self.clock))}])

    async def _tickers(self, request: web.Request) -> web.Response:
        return self._failure(request) or self._answer(list(self.tickers.values()))

    async def _no_candles(self, request: web.Request) -> web.Response:
        return self._failure(request) or self._answer([])

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets.append(socket)
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                continue
            if message.data == "ping":
                await socket.send_str("pong")
                continue
            command = json.loads(message.data)
            if command.get("op") == "subscribe":
                self.subscriptions.append([arg["instId"] for arg in command["args"]])
                for arg in command["args"]:
                    await socket.send_str(json.dumps({"event": "subscribe", "arg": arg, "connId": "fake"}))
        return socket


def kline(at: datetime, o: str, h: str, l: str, c: str) -> list:  # noqa: E741 - the exchange's own letters
    """One 1-minute kline row as Binance answers it."""
    start = millis(at)
    return [start, o, h, l, c, "1.0", start + 59_999, "100.0", 1, "0.5", "50.0", "0"]
