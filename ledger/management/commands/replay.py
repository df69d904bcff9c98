"""Replay a period's signals under other rules on the recorded candles (docs/replay.md), and print the result."""

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledger import services
from ledger.errors import LedgerError
from ledger.models import Replay

RULES = {  # option: (the override's name, what it sets)
    "stop_pct": "the stop's distance from the fill, a fraction (0.01 is 1 %), as PAPER_DEFAULT_STOP_PCT; "
    "replaces every signal's own stop",
    "reward_risk": "the target's distance in multiples of the stop's, as PAPER_REWARD_RISK; replaces every "
    "signal's own target",
    "risk": "the risk per trade, a fraction of the balance, as PAPER_RISK_PER_TRADE",
    "fee_rate": "the fee of one side, a fraction of the notional, as PAPER_FEE_RATE",
    "slippage": "a market order's slippage without a bid or ask, a fraction, as PAPER_SLIPPAGE",
    "max_open": "the most trades open at once (0: no limit), as PAPER_MAX_OPEN_TRADES",
    "targets": "targets instead of every signal's own: each a multiple of the stop's distance and the fraction "
    "closed there, in order, the fractions adding up to 1, as 1:0.5,2:0.5",
    "break_even_after": "the stop moves to break even (the entry plus the round-trip fees) once this target "
    "has filled: the number of a target before the last of --targets",
    "trail_pct": "a trailing stop this fraction of the price behind it (0.01 is 1 %), moving only in the "
    "trader's favour",
    "entry": "market (the default), or a limit or stop order at the signal's price",
    "entry_expiry": "how long a limit or stop entry works: seconds, day (the default: to the end of its trading "
    "day) or gtc",
}


class Command(BaseCommand):
    help = (
        "Replay the signals of a period under other rules on the recorded 1-minute candles, as a fresh account: "
        "it writes only its own replay row, never the signals, trades or account."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--start", required=True, help="The first trading day, YYYY-MM-DD.")
        parser.add_argument("--end", required=True, help="The last trading day, YYYY-MM-DD.")
        parser.add_argument("--book", default="default", help="Whose signals, by whose rules: a book's slug.")
        for name, text in RULES.items():
            # argparse formats help with %: "1 %" is written "1 %%" (--help failed on it)
            help_text = f"{text}. Default: the ledger's own.".replace("%", "%%")
            parser.add_argument(f"--{name.replace('_', '-')}", dest=name, help=help_text)
        parser.add_argument(
            "--one-per-symbol",
            choices=["yes", "no"],
            help="Whether a symbol holds one open trade at most, as PAPER_ONE_TRADE_PER_SYMBOL.",
        )
        parser.add_argument("--symbols", help="Only these symbols, separated by commas.")
        parser.add_argument("--confluences", help="Only signals with one of these confluences, separated by commas.")
        parser.add_argument("--tags", help="Only signals whose trade has one of these tags, separated by commas.")
        parser.add_argument(
            "--include-refused", action="store_true", help="Replay the signals the ledger did not execute too."
        )
        parser.add_argument("--json", action="store_true", help='Print {"trades": [...], "summary": {...}} as JSON.')
        parser.add_argument(
            "--background", action="store_true", help="Queue it for `manage.py replay_worker` and print its id."
        )

    def handle(self, *args, **options) -> None:
        rules = {name: options[name] for name in RULES if options[name] is not None}
        if options["one_per_symbol"]:
            rules["one_per_symbol"] = options["one_per_symbol"] == "yes"
        parameters = {
            "start": options["start"],
            "end": options["end"],
            "symbols": options["symbols"],
            "confluences": options["confluences"],
            "tags": options["tags"],
            "include_refused": options["include_refused"],
            "rules": rules,
        }
        try:
            queued = services.replay_queue(parameters=parameters, book=services.book_named(options["book"]))
        except LedgerError as error:
            flag = (error.field or "").removeprefix("rules.").replace("_", "-")
            raise CommandError(f"--{flag}: {error.message}" if flag else error.message) from error
        if options["background"]:
            self.stdout.write(f"Replay #{queued.pk} queued; `manage.py replay_worker` runs it.")
            return
        services.replay_claim(replay_id=queued.pk)
        done = services.replay_run(replay_id=queued.pk)
        if done.status != Replay.Status.DONE:
            raise CommandError(f"Replay #{done.pk} {done.get_status_display().lower()}: {done.error}")
        if options["json"]:
            body = {"id": done.pk, "trades": done.result["trades"], "summary": done.summary} | {
                key: done.result[key] for key in ("refused", "differences")
            }
            self.stdout.write(json.dumps(body, indent=2))
            return
        self._write(done)

    def _write(self, done: Replay) -> None:
        mine, theirs = done.summary["replay"], done.summary["actual"]
        for trade in done.result["trades"]:
            band = f" (best: {trade['best_exit_reason']} {trade['best_pnl']})" if trade["path_dependent"] else ""
            self.stdout.write(
                f"{trade['signal_id']} {trade['direction']} {trade['symbol']} entry {trade['entry_price']} "
                f"{trade['exit_reason']} {trade['exit_price'] or ''} pnl {trade['pnl']}{band}"
            )
        for refusal in done.result["refused"]:
            self.stdout.write(f"{refusal['signal_id']} not taken: {refusal['reason']}")
        for difference in done.result["differences"]:
            self.stdout.write(
                f"{difference['signal_id']} differs from trade #{difference['trade_id']} "
                f"({', '.join(difference['fields'])}): {difference['cause']}"
            )
        for name in ("trades", "win_rate", "expectancy_r", "profit_factor", "max_drawdown", "return_pct"):
            self.stdout.write(f"{name}: replay {mine[name]}, ledger {theirs[name]}")
        self.stdout.write(
            f"Replay #{done.pk}: pnl {mine['worst_pnl']} to {mine['best_pnl']} by the path inside minutes "
            f"({mine['path_dependent']} trades depend on it), {mine['missing_minutes_trades']} trades saw minutes "
            f"without a candle, {mine['refused']} signals not taken."
        )
