"""The exchange as ccxt makes it, the ledger's symbols mapped to its markets, and its tickers read as ticks."""

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

import ccxt.async_support
import ccxt.pro
from ccxt.base.decimal_to_precision import DECIMAL_PLACES

from .. import rules, sizing
from ..inputs import Tick, clean_tick
from .config import FeedConfig

# Options some exchanges need to send what the ledger needs: Binance's default ticker stream (miniTicker) has no
# bid and ask; its full ticker stream has both.
EXCHANGE_OPTIONS = {name: {"watchTickers": {"name": "ticker"}} for name in ("binance", "binanceus")}


def merged(base: dict, extra: dict) -> dict:
    """`base` with `extra` merged in, dictionaries key by key at every depth, anything else replaced."""
    result = dict(base)
    for key, value in extra.items():
        both_dicts = isinstance(value, dict) and isinstance(result.get(key), dict)
        result[key] = merged(result[key], value) if both_dicts else value
    return result


def make_exchange(config: FeedConfig):
    """The ccxt exchange, streaming-capable (ccxt.pro) where ccxt has it, rate-limited, spot markets by default,
    and reading numbers as the exchange wrote them (strings), never through float; with the operator's
    configuration merged in (ccxt merges it into its own description: URLs, options, timeouts), and on its test
    network if asked (NotSupported where ccxt knows none)."""
    cls = getattr(ccxt.pro, config.exchange, None) or getattr(ccxt.async_support, config.exchange)
    ours = {"enableRateLimit": True, "options": {"defaultType": "spot", **EXCHANGE_OPTIONS.get(config.exchange, {})}}
    exchange = cls(merged(ours, config.exchange_config))
    if config.sandbox:
        exchange.set_sandbox_mode(True)
    exchange.number = str
    _read_prices_only(exchange)
    return exchange


def _read_prices_only(exchange) -> None:
    """ccxt completes every ticker it reads with figures worked out in string arithmetic (the change, percentage,
    average and VWAP): a part of what a streamed ticker costs to read (bench/RESULTS.md, "The price feed past its
    ceiling"), for figures the ledger never uses; and a price that is not a number (NaN, Infinity, abc)
    raises there, so that the whole message or answer is lost, every other symbol's ticker with it. Only the prices
    are read instead, as the exchange wrote them (a zero as none, as ccxt does), for the feed to clean and, if they
    are not a price, to refuse alone."""

    def safe_ticker(ticker: dict, market: dict | None = None) -> dict:
        last = exchange.omit_zero(exchange.safe_string_2(ticker, "close", "last"))
        bid, ask = (exchange.omit_zero(exchange.safe_string(ticker, side)) for side in ("bid", "ask"))
        return ticker | {"close": last, "last": last, "bid": bid, "ask": ask}

    exchange.safe_ticker = safe_ticker


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


def _number(value) -> Decimal | None:
    try:
        number = Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None
    return number if number is not None and number.is_finite() and number >= 0 else None


def lot_from(market: dict, *, precision_mode: int) -> sizing.Lot | None:
    """A ccxt market's lot rules: the amount's precision (a step, or a count of decimal places in exchanges that
    count them), `limits.amount.min` and `limits.cost.min`; None when the market gives no usable step, or one
    finer than the ledger's 8 places (the settings then apply)."""
    precision = _number((market.get("precision") or {}).get("amount"))
    if precision is None:
        return None
    step = Decimal(1).scaleb(-int(precision)) if precision_mode == DECIMAL_PLACES else precision
    if not rules.QUANTUM <= step < rules.PRICE_MAX:
        return None
    limits = market.get("limits") or {}
    least = {name: _number((limits.get(name) or {}).get("min")) or rules.ZERO for name in ("amount", "cost")}
    return sizing.Lot(step=step, min_amount=rules.units(least["amount"]), min_cost=rules.money(least["cost"]))


def tick_time(stamp, *, received: datetime, offset: timedelta) -> datetime:
    """When a ticker stamped `stamp` (the exchange's milliseconds, or None) happened, in our time: the exchange's
    time told in ours (`offset`: the exchange's clock minus ours), never later than it arrived (a clock ahead of
    ours must not make prices look newer than they are)."""
    if not isinstance(stamp, int):
        return received
    return min(datetime.fromtimestamp(stamp / 1000, UTC) - offset, received)


def tick_from(symbol: str, ticker: dict, *, received: datetime, offset: timedelta = timedelta(0)) -> Tick:
    """A ccxt ticker as the ledger's tick for `symbol`, cleaned (InvalidInput if it cannot be read): its last
    price with the bid and ask, at its time (`tick_time`)."""
    at = tick_time(ticker.get("timestamp"), received=received, offset=offset)
    price = ticker.get("last") if ticker.get("last") is not None else ticker.get("close")
    return clean_tick(Tick(symbol, price, at, bid=ticker.get("bid"), ask=ticker.get("ask")))


# A streamed ticker message read for what the feed uses of a ccxt ticker (its timestamp, last, bid and ask, from the
# fields ccxt's own parsing reads them from, as written), each with the exchange's id of its market; None for any
# other message. Where an exchange has one, the stream conflates tickers before anything else reads them, and only those
# kept for a batch go on to `safe_ticker` and the feed's cleaning (ledger/feed/stream.py, `Stream._received`):
# ccxt's reading and the cleaning are most of what a streamed ticker costs (bench/RESULTS.md).
TickerReader = Callable[[dict], list[tuple[object, dict]] | None]


def _binance_tickers(message: dict) -> list[tuple[object, dict]] | None:
    if message.get("e") != "24hrTicker":  # the full ticker stream (EXCHANGE_OPTIONS)
        return None
    stamp = message.get("C") if message.get("C") is not None else message.get("E")  # ccxt's order: close, event
    return [
        (
            message.get("s"),
            {"timestamp": stamp, "last": message.get("c"), "bid": message.get("b"), "ask": message.get("a")},
        )
    ]


def _okx_tickers(message: dict) -> list[tuple[object, dict]] | None:
    arg, data = message.get("arg"), message.get("data")
    if not isinstance(arg, dict) or arg.get("channel") != "tickers" or not isinstance(data, list):
        return None  # a subscription's answer, another channel
    if not all(isinstance(ticker, dict) for ticker in data):
        return None
    return [
        (
            ticker.get("instId"),
            {
                "timestamp": _millis(ticker.get("ts")),
                "last": ticker.get("last"),
                "bid": ticker.get("bidPx"),
                "ask": ticker.get("askPx"),
            },
        )
        for ticker in data
    ]


def _millis(text) -> int | None:
    return int(text) if isinstance(text, str) and text.isdigit() else None  # OKX writes its times as strings


TICKER_MESSAGES: dict[str, TickerReader] = {
    "binance": _binance_tickers,
    "binanceus": _binance_tickers,
    "okx": _okx_tickers,
}
