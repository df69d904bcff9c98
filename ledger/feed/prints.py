"""Bad prints: a price further than PAPER_MAX_JUMP from its symbol's price of the minute before is held as suspect,
and neither marks nor closes anything, until the tick after it says whether the move was real."""

import logging
from datetime import datetime
from decimal import Decimal

from django.db import DatabaseError, close_old_connections

from .. import rules, selectors
from ..inputs import Tick
from .retry import one_line

log = logging.getLogger("ledger.feed")  # one logger for the whole feed, as operators filter it


class Prints:
    """Each symbol's last price believed, and the print held as suspect (one at most per symbol)."""

    def __init__(self) -> None:
        self.held = 0  # prints held as suspect since the feed started
        self._last: dict[str, tuple[Decimal, datetime]] = {}
        self._suspect: dict[str, Tick] = {}

    def sift(self, ticks: list[Tick]) -> list[Tick]:
        """The ticks (in time order) to apply: a suspect print is held; the tick after it confirms it (it is near
        the print: both are applied) or not (it is near the price before: the print is dropped, or far from both:
        it is held in its place)."""
        self._learn({tick.symbol for tick in ticks} - self._last.keys())
        believed = []
        for tick in ticks:
            suspect = self._suspect.pop(tick.symbol, None)
            if suspect is not None:
                if not _jump(suspect.price, suspect.at, tick):
                    log.warning(
                        "price feed: %s's print %s was confirmed by the next tick", tick.symbol, _text(suspect.price)
                    )
                    believed.append(suspect)
                    self._last[tick.symbol] = suspect.price, suspect.at
                else:
                    log.warning(
                        "price feed: %s's print %s was not confirmed (next tick %s); dropped",
                        tick.symbol,
                        _text(suspect.price),
                        _text(tick.price),
                    )
            last = self._last.get(tick.symbol)
            if last is not None and _jump(*last, tick):
                self.held += 1
                self._suspect[tick.symbol] = tick
                log.warning(
                    "price feed: %s's print %s at %s is %s from %s: held as suspect until the next tick",
                    tick.symbol,
                    _text(tick.price),
                    tick.at.isoformat(timespec="milliseconds"),
                    f"{(tick.price - last[0]) / last[0]:+.1%}",
                    _text(last[0]),
                )
                continue
            believed.append(tick)
            self._last[tick.symbol] = tick.price, tick.at
        return believed

    def _learn(self, symbols: set[str]) -> None:
        """The ledger's last price of symbols first seen, to judge their first print by."""
        if not symbols:
            return
        try:
            self._last.update(selectors.prices_last(symbols))
        except DatabaseError as error:  # judged from the next tick on
            log.warning("price feed: the last prices could not be read: %s", one_line(error))
            close_old_connections()


def _jump(last: Decimal, last_at: datetime, tick: Tick) -> bool:
    return rules.suspect_print(last=last, last_at=last_at, price=tick.price, at=tick.at)


def _text(price: Decimal) -> str:
    return f"{price.normalize():f}"  # 100.5, not the columns' 100.50000000
