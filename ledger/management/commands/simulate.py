"""A live demo with no exchange: random-walk prices and now-and-then signals, through the real services.

Everything it does goes through the same services as real input, so the dashboard shows what it would
show for a real feed: trades open, move with each tick, and close at their stop or target.
"""

import random
import time
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ledger import selectors, services
from ledger.days import today
from ledger.inputs import SignalFields, Tick

START_PRICES = {
    "BTCUSDT": Decimal("64000"),
    "ETHUSDT": Decimal("3200"),
    "SOLUSDT": Decimal("150"),
    "XRPUSDT": Decimal("0.6"),
    "DOGEUSDT": Decimal("0.15"),
}
CONFLUENCES = ["trend", "volume spike", "RSI divergence", "support bounce", "breakout", "VWAP reclaim"]
STEP_BPS = 30  # each tick moves a price by up to 0.3% either way
SPREAD_BPS = 1  # the book's bid and ask sit this far either side of the price
# A stop fifteen round trips of fees away (3% at the default 0.1% a side), so a trade can pay its fees and, sized
# at the account's 1% risk, takes a third of the cash: three trades can be open at once. The target is twice as
# far. Trades still close within a few minutes at the simulated volatility.
FEES_PER_STOP = 15
# The demo's bot takes signals itself while fewer than this many trades are open, and leaves the rest to the trader:
# the cash of a third trade stays free for them, so what waits on the board can be taken.
BOT_TRADES = 2


class Command(BaseCommand):
    help = "Feed random-walk prices and occasional signals through the ledger's services (a live demo)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tick-ms", type=int, default=1000, help="Milliseconds between ticks (default 1000).")
        parser.add_argument("--signal-every", type=int, default=15, help="Ticks between signals (default 15).")
        parser.add_argument(
            "--steps", type=int, default=0, help="Stop after this many ticks (default: run until stopped)."
        )
        parser.add_argument("--seed", type=int, default=None, help="Random seed, for a repeatable run.")

    def handle(self, *args, tick_ms: int, signal_every: int, steps: int, seed: int | None, **options) -> None:
        if tick_ms < 0 or signal_every < 1 or steps < 0:
            raise CommandError("--tick-ms and --steps must be 0 or more, and --signal-every at least 1.")
        rng = random.Random(seed)
        prices = self._last_prices()
        self.stdout.write(f"Simulating {', '.join(prices)}; Ctrl-C stops.")
        try:
            self._run(rng, prices, tick_ms=tick_ms, signal_every=signal_every, steps=steps)
        except KeyboardInterrupt:  # Ctrl-C: a quiet stop; a write it interrupts is one transaction, rolled back whole
            self.stdout.write("Demo feed stopped.")

    def _run(
        self, rng: random.Random, prices: dict[str, Decimal], *, tick_ms: int, signal_every: int, steps: int
    ) -> None:
        day = today()
        step = 0
        while not steps or step < steps:
            step += 1
            if today() != day:  # the demo closes its own days; in production cron runs close_eod
                result = services.day_close(day=day)
                self.stdout.write(
                    f"End of {day}: closed {len(result.closed)} trades, expired {result.expired} signals."
                )
                day = today()
            self._tick(rng, prices)
            if step % signal_every == 0:
                self._signal(rng, prices, step)
            if tick_ms:
                time.sleep(tick_ms / 1000)

    def _last_prices(self) -> dict[str, Decimal]:
        """Carry on from the last prices, so a restart does not jump."""
        quotes = {symbol: selectors.market_quote(symbol) for symbol in START_PRICES}
        return {symbol: quotes[symbol].price if quotes[symbol] else start for symbol, start in START_PRICES.items()}

    def _tick(self, rng: random.Random, prices: dict[str, Decimal]) -> None:
        now = timezone.now()
        ticks = []
        for symbol, price in prices.items():
            quantum = Decimal(1).scaleb(_places(price))
            prices[symbol] = moved = (price * (1 + Decimal(rng.randint(-STEP_BPS, STEP_BPS)) / 10000)).quantize(quantum)
            half_spread = max(quantum, (moved * SPREAD_BPS / 10000).quantize(quantum))
            ticks.append(Tick(symbol, moved, now, bid=moved - half_spread, ask=moved + half_spread))
        result = services.prices_apply(ticks=ticks)
        for trade in result.closed:
            self.stdout.write(
                f"{trade.status} #{trade.pk} {trade.symbol} at {trade.exit_price}: {trade.realized_pnl:+.2f}"
            )

    def _signal(self, rng: random.Random, prices: dict[str, Decimal], step: int) -> None:
        """A signal at the current price, with levels wide enough to pay the fees, on a symbol no trade is open on
        (when there is one): executed at once, as a bot sending to the API would, while fewer than BOT_TRADES
        trades are open; else left for the trader, with the cash to take it."""
        open_symbols = list(selectors.trades_active().values_list("symbol", flat=True))
        symbol = rng.choice([symbol for symbol in prices if symbol not in open_symbols] or list(prices))
        action = rng.choice(["BUY", "SELL"])
        price = prices[symbol]
        sign = 1 if action == "BUY" else -1
        quantum = Decimal(1).scaleb(_places(price))
        stop = (
            FEES_PER_STOP * 2 * (settings.PAPER_FEE_RATE or Decimal("0.001"))
        )  # with fees off, as at the default rate
        intake = services.signal_intake(
            signal=SignalFields(
                signal_id=f"sim-{timezone.now():%Y%m%d%H%M%S}-{step}",
                symbol=symbol,
                action=action,
                entry_price=price,
                confidence=Decimal(rng.randint(50, 95)) / 100,
                timeframe=rng.choice(["5m", "15m", "1h"]),
                confluences=rng.sample(CONFLUENCES, k=rng.randint(1, 3)),
                stop_loss=(price * (1 - sign * stop)).quantize(quantum),
                take_profit=(price * (1 + sign * 2 * stop)).quantize(quantum),
            ),
            execute=len(open_symbols) < BOT_TRADES,
        )
        name = intake.signal.signal_id
        if intake.trade:
            trade = intake.trade
            self.stdout.write(
                f"Opened #{trade.pk} {trade.direction} {symbol} at {trade.entry_price} "
                f"(balance {selectors.book_totals(trade.book).balance:.2f})"
            )
        elif intake.refused:
            self.stdout.write(f"Signal {name} not executed: {intake.refused}")
        else:
            self.stdout.write(f"Signal {name}: {action} {symbol} at {price}, waiting for the trader")


def _places(price: Decimal) -> int:
    """Enough decimal places for a price to move by a basis point: 2 for 64000, 6 for 0.15."""
    return -max(2, 4 - price.adjusted() + 1)
