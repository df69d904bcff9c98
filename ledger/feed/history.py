"""The backfill (`price_feed --backfill`): the minutes open trades missed, from the exchange's 1-minute OHLCV."""

import asyncio
from datetime import UTC, datetime, timedelta

from django.conf import settings

from .. import selectors, services
from ..inputs import Candle
from . import markets as exchanges
from .config import FeedConfig

OHLCV_PAGE = 1000  # minutes asked for in one fetch_ohlcv request (Binance's most)


async def _history(
    config: FeedConfig, since: dict[str, datetime], until: datetime
) -> tuple[dict[str, list[list]], list[str]]:
    """Each symbol's 1-minute OHLCV rows from `since` to `until`, page by page; and the symbols not listed."""
    exchange = exchanges.make_exchange(config)
    rows: dict[str, list[list]] = {}
    unknown = []
    try:
        await exchange.load_markets()
        index = exchanges.market_index(exchange.markets)
        for symbol, start in since.items():
            market = exchanges.market_for(index, symbol)
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
