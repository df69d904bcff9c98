"""A live demo with no exchange: random-walk prices and now-and-then signals, through the real services.

Everything it does goes through the same services as real input, so the dashboard shows what it would
show for a real feed: trades open, move with each tick, and close at their stop or target.
"""

import random
import time
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ledger import selectors, services
from ledger.days import today
from ledger.errors import LedgerError
from ledger.inputs import SignalFields, Tick

START_PRICES = {
    "BTCUSDT": Decimal("64000"),
    "ETHUSDT": Decimal("3200"),
    "SOLUSDT": Decimal("150"),
    "XRPUSDT": Decimal("0.6"),
    "DOGEUSDT": Decimal("0.15"),
}
CONFLUENCES = ["trend", "volume spike", "RSI divergence", "support bounce", "breakout", "VWAP reclaim"]
STEP_BPS = 15  # each tick moves a price by up to 0.15% either way
STOP_BPS, TARGET_BPS = 30, 60  # the demo's signals carry tight levels, so trades close within about a minute


class Command(BaseCommand):
    help = "Feed random-walk prices and occasional signals through the ledger's services (a live demo)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tick-ms", type=int, default=1000, help="Milliseconds between ticks (default 1000).")
        parser.add_argument("--signal-every", type=int, default=5, help="Ticks between signals (default 5).")
        parser.add_argument("--steps", type=int, default=0, help="Stop after this many ticks (default: run until stopped).")
        parser.add_argument("--seed", type=int, default=None, help="Random seed, for a repeatable run.")

    def handle(self, *args, tick_ms: int, signal_every: int, steps: int, seed: int | None, **options) -> None:
        if tick_ms < 0 or signal_every < 1 or steps < 0:
            raise CommandError("--tick-ms and --steps must be 0 or more, and --signal-every at least 1.")
        rng = random.Random(seed)
        prices = self._last_prices()
        day = today()
        step = 0
        self.stdout.write(f"Simulating {', '.join(prices)}; Ctrl-C stops.")
        while not steps or step < steps:
            step += 1
            if today() != day:  # the demo closes its own days; in production cron runs close_eod
                result = services.day_close(day=day)
                self.stdout.write(f"End of {day}: closed {len(result.closed)} trades, expired {result.expired} signals.")
                day = today()
            self._tick(rng, prices)
            if step % signal_every == 0:
                self._signal(rng, prices, step)
            if tick_ms:
                time.sleep(tick_ms / 1000)

    def _last_prices(self) -> dict[str, Decimal]:
        """Carry on from the last marked prices, so a restart does not jump."""
        return {symbol: selectors.last_price(symbol) or start for symbol, start in START_PRICES.items()}

    def _tick(self, rng: random.Random, prices: dict[str, Decimal]) -> None:
        now = timezone.now()
        for symbol, price in prices.items():
            moved = price * (1 + Decimal(rng.randint(-STEP_BPS, STEP_BPS)) / 10000)
            prices[symbol] = moved.quantize(Decimal(1).scaleb(_places(price)))
        result = services.prices_apply(ticks=[Tick(symbol, price, now) for symbol, price in prices.items()])
        for trade in result.closed:
            self.stdout.write(f"{trade.status} #{trade.pk} {trade.symbol} at {trade.exit_price}: {trade.realized_pnl:+.2f}")

    def _signal(self, rng: random.Random, prices: dict[str, Decimal], step: int) -> None:
        symbol = rng.choice(list(prices))
        action = rng.choice(["BUY", "SELL"])
        price = prices[symbol]
        sign = 1 if action == "BUY" else -1
        quantum = Decimal(1).scaleb(_places(price))
        signal, _ = services.signal_record(signal=SignalFields(
            signal_id=f"sim-{timezone.now():%Y%m%d%H%M%S}-{step}",
            symbol=symbol,
            action=action,
            entry_price=price,
            confidence=Decimal(rng.randint(50, 95)) / 100,
            timeframe=rng.choice(["5m", "15m", "1h"]),
            confluences=rng.sample(CONFLUENCES, k=rng.randint(1, 3)),
            stop_loss=(price * (1 - sign * Decimal(STOP_BPS) / 10000)).quantize(quantum),
            take_profit=(price * (1 + sign * Decimal(TARGET_BPS) / 10000)).quantize(quantum),
        ))
        if rng.randrange(3) < 2:  # most are executed at once, as a bot would; the rest wait for the trader
            try:
                trade = services.signal_execute(signal_id=signal.signal_id)
            except LedgerError as error:
                self.stdout.write(f"Signal {signal.signal_id} not executed: {error.message}")
                return
            self.stdout.write(f"Opened #{trade.pk} {trade.direction} {symbol} at {price} (equity {selectors.equity():.2f})")
        else:
            self.stdout.write(f"Signal {signal.signal_id}: {action} {symbol} at {price}, waiting for the trader")


def _places(price: Decimal) -> int:
    """Enough decimal places for a price to move by a basis point: 2 for 64000, 6 for 0.15."""
    return -max(2, 4 - price.adjusted() + 1)
