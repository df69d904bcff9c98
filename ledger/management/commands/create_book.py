"""Make a book: an account of its own with its starting balance and rules (docs/books.md, "Commands")."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledger import services
from ledger.errors import LedgerError

# Each rule's option, what it sets and its setting (a rule not given follows the setting, now and later).
RULE_OPTIONS = {
    "risk": ("risk_per_trade", "Risk per trade, a fraction of the balance (0.01 is 1 %%): PAPER_RISK_PER_TRADE."),
    "stop-pct": ("default_stop_pct", "A signal's stop without one, a fraction from the fill: PAPER_DEFAULT_STOP_PCT."),
    "reward-risk": ("reward_risk", "A signal's target without one, in multiples of the stop: PAPER_REWARD_RISK."),
    "fee-rate": ("fee_rate", "The fee of one side, a fraction of the notional: PAPER_FEE_RATE."),
    "slippage": ("slippage", "A market order's slippage without a bid or ask, a fraction: PAPER_SLIPPAGE."),
    "min-notional": ("min_notional", "The smallest entry, in money: PAPER_MIN_NOTIONAL."),
}


def flag(value: str) -> bool:
    """yes/no, true/false, 1/0 for --one-per-symbol."""
    if value.lower() in ("yes", "true", "1", "on"):
        return True
    if value.lower() in ("no", "false", "0", "off"):
        return False
    raise ValueError(value)


flag.__name__ = "yes or no"  # argparse names the type in its refusal: "invalid yes or no value: 'maybe'"


class Command(BaseCommand):
    help = (
        "Create a book with its own balance and rules; a rule not given follows its PAPER_* setting. Refused, with "
        "nothing written, if the slug is taken or a value is out of bounds."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The book's slug: lower-case letters, digits and hyphens (tv-strategy).")
        parser.add_argument("--name", default="", help="Its name on the pages; default: the slug.")
        parser.add_argument("--balance", help="Its starting balance; default: PAPER_STARTING_BALANCE.")
        for option, (_, help_text) in RULE_OPTIONS.items():
            parser.add_argument(f"--{option}", help=help_text)
        parser.add_argument(
            "--max-open", type=int, help="The most trades open at once, 0 no limit: PAPER_MAX_OPEN_TRADES."
        )
        parser.add_argument(
            "--one-per-symbol",
            type=flag,
            help="yes or no: at most one open trade a symbol: PAPER_ONE_TRADE_PER_SYMBOL.",
        )
        parser.add_argument(
            "--limit-fill", choices=["through", "touch"], help="When a limit entry fills: PAPER_LIMIT_FILL."
        )
        parser.add_argument(
            "--webhook-passphrase",
            default="",
            help="The passphrase that leads TradingView's alerts into this book (16 characters or more).",
        )

    def handle(self, *args, slug: str, name: str, balance: str | None, webhook_passphrase: str, **options) -> None:
        rules = {rule: options[option.replace("-", "_")] for option, (rule, _) in RULE_OPTIONS.items()}
        rules |= {
            "max_open_trades": options["max_open"],
            "one_trade_per_symbol": options["one_per_symbol"],
            "limit_fill": options["limit_fill"],
        }
        try:
            book = services.book_create(
                slug=slug,
                name=name,
                balance=balance,
                webhook_passphrase=webhook_passphrase,
                **{rule: value for rule, value in rules.items() if value is not None},
            )
        except LedgerError as error:
            raise CommandError(f"Book {slug!r} not created: {error.message}") from error
        terms = book.terms
        self.stdout.write(
            f"Book {book.slug!r} ({book.name}) created: balance {terms.starting_balance}, risk {terms.risk_per_trade}, "
            f"fee rate {terms.fee_rate}, max open {terms.max_open_trades or 'no limit'}"
            f"{', webhook passphrase set' if webhook_passphrase else ''}. "
            f"Grant it with: manage.py grant_book USER {book.slug} [--trade]"
        )
