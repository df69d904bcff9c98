"""A real exchange's prices for the ledger, through ccxt: `price_feed --exchange binance` (ledger/feed/)."""

import json
import signal
import sys
import threading

import ccxt
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledger import feed
from ledger.errors import InvalidInput
from ledger.inputs import clean_symbol


class Command(BaseCommand):
    help = (
        "Follow an exchange's prices (any exchange ccxt knows) for the symbols of open trades, of today's waiting "
        "signals and of a watchlist, and apply them as ticks; --backfill fills the minutes open trades missed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--exchange", required=True, help="A ccxt exchange id: binance, kraken, okx, bybit, coinbase, ..."
        )
        parser.add_argument("--symbols", help="The watchlist, comma-separated (default: PRICE_FEED_SYMBOLS).")
        parser.add_argument("--sandbox", action="store_true", help="The exchange's test network (ccxt's sandbox).")
        parser.add_argument(
            "--exchange-config",
            help=(
                "A JSON object merged into the ccxt exchange's configuration, e.g. another host's URLs "
                '\'{"urls": {"api": {"public": "http://127.0.0.1:9000/api/v3"}}}\' '
                "(default: PRICE_FEED_EXCHANGE_CONFIG)."
            ),
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="Seconds between batches of ticks, and between polls (default 1).",
        )
        parser.add_argument(
            "--poll", action="store_true", help="Poll tickers over REST even where the exchange streams them."
        )
        parser.add_argument(
            "--backfill",
            action="store_true",
            help=(
                "Fill the minutes since each open trade's entry that have no candle, "
                "from the exchange's 1-minute history, then exit."
            ),
        )

    def handle(
        self,
        *args,
        exchange: str,
        symbols: str | None,
        sandbox: bool,
        exchange_config: str | None,
        interval: float,
        poll: bool,
        backfill: bool,
        **options,
    ) -> None:
        if exchange not in ccxt.exchanges:
            raise CommandError(f"--exchange {exchange!r} is not an exchange ccxt knows (e.g. binance, kraken, okx).")
        if sandbox and not getattr(ccxt, exchange)().urls.get("test"):
            raise CommandError(f"--sandbox: ccxt knows no test network for {exchange}.")
        overrides = settings.PRICE_FEED_EXCHANGE_CONFIG if exchange_config is None else _json_object(exchange_config)
        if not 0.05 <= interval <= 3600:
            raise CommandError(f"--interval must be from 0.05 to 3600 seconds, not {interval:g}.")
        source = "--symbols" if symbols is not None else "PRICE_FEED_SYMBOLS"
        listed = symbols.split(",") if symbols is not None else settings.PRICE_FEED_SYMBOLS
        try:
            watchlist = sorted({clean_symbol(symbol) for symbol in listed if symbol.strip()})
        except InvalidInput as error:
            raise CommandError(f"{source}: {error.message}") from None
        config = feed.FeedConfig(
            exchange=exchange,
            watchlist=watchlist,
            sandbox=sandbox,
            exchange_config=overrides,
            interval=interval,
            stream=not poll,
        )
        if backfill:
            self._backfill(config)
            return

        # The process's two threads (feed.run's batches, the stream's reading) hand the interpreter over every
        # 0.5 ms rather than Python's 5: the batches' thread lets go of it at every database call, and while the
        # stream reads a flood it would wait that long to get it back each time, hundreds of times a batch.
        switching = sys.getswitchinterval()
        sys.setswitchinterval(0.0005)
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
        self.stdout.write(f"Following {exchange} prices; SIGTERM or Ctrl-C stops.")
        try:
            totals = feed.run(config, until=lambda totals: stop.is_set())
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            sys.setswitchinterval(switching)  # handed back as it was, like the signals
        self.stdout.write(
            f"Stopped: {totals.ticks} ticks applied, {totals.marks} marks, "
            f"{totals.closes} closes, {totals.ignored} ignored."
        )

    def _backfill(self, config: feed.FeedConfig) -> None:
        try:
            done, unknown = feed.backfill(config)
        except (ccxt.BaseError, OSError) as error:  # the history is read whole before anything is written
            raise CommandError(
                f"Reading {config.exchange}'s history failed, nothing was written: {feed.one_line(error)}"
            ) from error
        for symbol in unknown:
            self.stdout.write(f"{config.exchange} does not list {symbol}: skipped.")
        for result in done:
            self.stdout.write(
                f"{result.symbol}: {result.written} minutes filled"
                + (f", {result.unreadable} unreadable" if result.unreadable else "")
                + "."
            )
            for sentence in result.closed:
                self.stdout.write(f"  {sentence}")
        if not done and not unknown:
            self.stdout.write("No open trades: nothing to fill.")


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise CommandError(f"--exchange-config must be a JSON object: {error}.") from None
    if not isinstance(value, dict):
        raise CommandError(f"--exchange-config must be a JSON object, not {text!r}.")
    return value
