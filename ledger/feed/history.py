"""The exchange's 1-minute history for minutes the ledger has no candle of: `backfill` (`price_feed --backfill`:
since each open trade's entry) and `fill` (the running feed, after a gap: since where each followed symbol's
history stops)."""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.conf import settings

from .. import selectors, services
from ..inputs import Candle
from . import markets as exchanges
from .config import FeedConfig

OHLCV_PAGE = 1000  # minutes asked for in one fetch_ohlcv request (Binance's most)
History = tuple[dict[str, list[list]], list[str]]  # each symbol's OHLCV rows, and the symbols not listed


async def rows_since(exchange, index: dict[str, str], since: dict[str, datetime], until: datetime) -> History:
    """Each symbol's 1-minute OHLCV rows from `since` to `until`, page by page, from an exchange whose markets are
    loaded (`index`: their market_index); and the symbols it does not list."""
    rows: dict[str, list[list]] = {}
    unknown = []
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
    return rows, unknown


def fill(
    since: dict[str, datetime], read: Callable[[dict[str, datetime], datetime], History]
) -> tuple[list[services.CandlesBackfilled], list[str]]:
    """Fill each symbol's minutes from `since` (at most PRICE_HISTORY_DAYS back) to now that have no candle, with
    what `read` gets from the exchange; the open trades those minutes reached close (services.candles_backfill).
    Returns what was done per symbol, and the symbols the exchange does not list."""
    now = datetime.now(UTC)
    oldest = now - timedelta(days=settings.PRICE_HISTORY_DAYS)
    rows, unknown = read({symbol: max(start, oldest) for symbol, start in since.items()}, now)
    done = []
    for symbol, history in rows.items():
        candles = [Candle(datetime.fromtimestamp(row[0] / 1000, UTC), *row[1:5]) for row in history]
        done.append(services.candles_backfill(symbol=symbol, candles=candles))
    return done, unknown


def backfill(config: FeedConfig) -> tuple[list[services.CandlesBackfilled], list[str]]:
    """`fill` since each open trade's entry, through an exchange of its own."""

    async def read(since: dict[str, datetime], until: datetime) -> History:
        exchange = exchanges.make_exchange(config)
        try:
            await exchange.load_markets()
            return await rows_since(exchange, exchanges.market_index(exchange.markets), since, until)
        finally:
            await exchange.close()

    return fill(selectors.open_since(), lambda since, until: asyncio.run(read(since, until)))
