"""Entry orders (docs/fills.md, "Entry orders"): whether a tick fills a working limit or stop order, and at what
price; when an order expires. Pure, like ledger/rules.py, whose market fill it uses: values in, value out.

A limit order rests at its price: a BUY fills when the market trades below it (`through`, the default of
PAPER_LIMIT_FILL: a real queue needs the price to go beyond the order) or at it (`touch`), at the limit, or at
the tick's better price when the market gapped through the limit (the price before the tick was on the far side
of it). A stop order is a breakout: it triggers when the market reaches its price and fills at once as a market
order, against the trader (the ask or the bid, or the price moved by slippage).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from .inputs import DAY, GTC, STOP, Tick
from .rules import market_fill, span_words, terms

THROUGH, TOUCH = "through", "touch"
GTD = "gtd"  # good till a date: `expires_in` seconds
CANDLE = timedelta(minutes=1)  # a candle's span


@dataclass(frozen=True)
class Resting:
    """What the fill rules read of a working order."""

    order_type: str  # LIMIT or STOP
    buying: bool  # a BUY opens a LONG, a SELL a SHORT
    price: Decimal
    placed_at: datetime
    expires_at: datetime | None


def beyond(*, buying: bool, price: Decimal, level: Decimal, touch: bool) -> bool:
    """Whether a traded price reached a BUY limit from above (a SELL limit from below): at it counts only under
    `touch`."""
    if price == level:
        return touch
    return price < level if buying else price > level


def limit_fill(*, buying: bool, limit: Decimal, price: Decimal, before: Decimal | None, touch: bool) -> Decimal | None:
    """Where a tick trading at `price` fills a limit order, or None. `before` is the last price seen before the
    tick (None: none known). A BUY limit at 100: a tick at 100 fills it only under touch, at 100; a tick at
    99.9 after one at 100 fills it at 100; a gap from 101 to 99 fills it at 99, the better price."""
    if not beyond(buying=buying, price=price, level=limit, touch=touch):
        return None
    gapped = before is not None and beyond(buying=not buying, price=before, level=limit, touch=False)
    return price if gapped else limit


def stop_triggered(*, buying: bool, stop: Decimal, price: Decimal) -> bool:
    """A BUY stop triggers when the market trades at or above its price, a SELL stop at or below."""
    return price >= stop if buying else price <= stop


def fill(
    order: Resting, tick: Tick, *, before: Decimal | None, touch: bool | None = None, arriving: bool = False
) -> Decimal | None:
    """Where this tick fills the order, or None: not before it was placed, not at or after its expiry. A stop
    fills as a market order at this tick (rules.market_fill). `arriving`: the order is being placed at this tick's
    market; a limit already beyond it takes the market's price (its ask to buy, its bid to sell, or the price moved
    by slippage) up to its limit, as a marketable limit order does."""
    if tick.at < order.placed_at or expired(order.expires_at, at=tick.at):
        return None
    at_market = market_fill(buying=order.buying, price=tick.price, bid=tick.bid, ask=tick.ask)
    if order.order_type == STOP:
        return at_market if stop_triggered(buying=order.buying, stop=order.price, price=tick.price) else None
    touch = terms().limit_fill == TOUCH if touch is None else touch
    if arriving:
        if not beyond(buying=order.buying, price=tick.price, level=order.price, touch=touch):
            return None
        return min(at_market, order.price) if order.buying else max(at_market, order.price)
    return limit_fill(buying=order.buying, limit=order.price, price=tick.price, before=before, touch=touch)


def within_reach(order: Resting, *, low: Decimal, high: Decimal, touch: bool | None = None) -> bool:
    """Whether prices from `low` to `high` (a batch of ticks' range) could fill the order at all: most working
    orders are far from the market, and this one comparison spares them a look at every tick."""
    if order.order_type == STOP:
        return stop_triggered(buying=order.buying, stop=order.price, price=high if order.buying else low)
    touch = terms().limit_fill == TOUCH if touch is None else touch
    return beyond(buying=order.buying, price=low if order.buying else high, level=order.price, touch=touch)


def candle_fill(order: Resting, candle: object, *, before: Decimal | None, touch: bool | None = None) -> Decimal | None:
    """Where a 1-minute candle (minute, open, high, low) of a later minute than the order's placement fills it, or
    None. Only a candle that ends by the order's expiry may fill it (one that ends after cannot say whether the
    price came before the expiry). Its open is the minute's first tick, after `before` (the close before it): a
    limit it gapped through fills at the open, a stop it opened beyond at the open, as a market order (`fill`).
    Otherwise a range that reaches the order (`within_reach`) fills a limit at its limit, a stop at its price as a
    market order: where the price passed, not the candle's extreme."""
    if order.expires_at is not None and candle.minute + CANDLE > order.expires_at:
        return None
    opened = fill(order, Tick(symbol="", price=candle.open, at=candle.minute), before=before, touch=touch)
    if opened is not None or not within_reach(order, low=candle.low, high=candle.high, touch=touch):
        return opened
    return order.price if order.order_type != STOP else market_fill(buying=order.buying, price=order.price)


def expired(expires_at: datetime | None, *, at: datetime) -> bool:
    return expires_at is not None and at >= expires_at


def time_in_force(expires_in: str | int) -> str:
    """DAY, GTC, or GTD for a number of seconds."""
    return expires_in if expires_in in (DAY, GTC) else GTD


def expires_at(expires_in: str | int, *, placed_at: datetime, day_end: datetime) -> datetime | None:
    """When an order placed at `placed_at` expires: `expires_in` seconds after it, the end of its trading day
    ("day"), or never ("gtc", until cancelled)."""
    if expires_in == GTC:
        return None
    if expires_in == DAY:
        return day_end
    return placed_at + timedelta(seconds=int(expires_in))


def expiry_words(*, time_in_force: str, placed_at: datetime, expires_at: datetime, day: object) -> str:
    """Why an order expired, in the trader's words."""
    if time_in_force == DAY:
        return f"Not filled before the end of trading day {day}."
    return f"Not filled within {span_words(expires_at - placed_at)} of being placed."
