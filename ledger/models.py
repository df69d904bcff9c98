"""The ledger's tables: its two tables of record (docs/domain.md), `signals` and `paper_trades`, whose table and
column names are the original design's so existing SQL keeps working; the one-row `ledger_account`
(running totals derived from the trades, and the version every write bumps); `market_prices`, each
symbol's last tick; `price_candles`, the price history; `day_notes`, the trader's diary of each day; and
`api_tokens`, the API's credentials. The audit history of signals, trades and day notes lives in
simple_history's tables beside them.
"""

import hashlib
import json
from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q
from django.utils.functional import cached_property
from simple_history.models import HistoricalRecords

from . import rules, sizing
from .inputs import SYMBOL_LENGTH_MAX
from .rules import ZERO
from .sql import Tagged, r_multiple

# Prices, sizes and money share one shape: 8 decimal places. SQLite keeps numbers as 64-bit floats, which
# hold 15 significant digits exactly, so the rules round every value to at most that many (rules.money).
# A trade's numbers stay below rules.AMOUNT_MAX (12 integer digits); the account's totals below rules.TOTAL_MAX.
DECIMAL = {"max_digits": 20, "decimal_places": 8}
TOTAL = {"max_digits": 38, "decimal_places": 8}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class Signal(models.Model):
    class Action(models.TextChoices):  # as the pages write them
        BUY = "BUY", "BUY"
        SELL = "SELL", "SELL"

    class Status(models.TextChoices):  # the labels are what every page says; the counts say "waiting" too
        GENERATED = "GENERATED", "Waiting"
        EXECUTED = "EXECUTED", "Executed"
        EXPIRED = "EXPIRED", "Expired"
        CLOSED = "CLOSED", "Closed"

    signal_id = models.CharField(max_length=64, unique=True, help_text="The sender's id; the idempotency key.")
    # Its index is one of the composite ones below, which start with the book: a plain one would tempt the planner
    # into reading the book's whole history where a composite one reads a day's or the open trades'.
    book = models.ForeignKey(
        "Book", on_delete=models.PROTECT, related_name="+", db_index=False, help_text="The book it belongs to."
    )
    symbol = models.CharField(max_length=SYMBOL_LENGTH_MAX, db_column="crypto", db_index=True)
    action = models.CharField(max_length=4, choices=Action.choices)
    entry_price = models.DecimalField(**DECIMAL)
    confidence = models.DecimalField(max_digits=5, decimal_places=4)
    timestamp = models.DateTimeField(db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.GENERATED)
    status_reason = models.CharField(max_length=200, blank=True, help_text="Why it expired.")
    timeframe = models.CharField(max_length=8, blank=True)
    confluences = models.JSONField(default=list, blank=True)
    stop_loss = models.DecimalField(**DECIMAL, null=True, blank=True)
    take_profit = models.DecimalField(**DECIMAL, null=True, blank=True)
    # The exits the sender asked for beyond one stop and one target (ledger/brackets.py, docs/fills.md): its
    # targets with their fractions, break_even_after and trailing_stop, as inputs.clean_bracket wrote them
    # (numbers as strings); {} for one target that closes everything.
    bracket = models.JSONField(default=dict, blank=True)
    history = HistoricalRecords()  # state changes and corrections, not price marks (docs/admin.md)

    class Meta:
        db_table = "signals"
        ordering = ["-timestamp"]
        constraints = [
            models.CheckConstraint(condition=Q(entry_price__gt=0), name="signal_entry_price_positive"),
            models.CheckConstraint(condition=Q(confidence__gte=0, confidence__lte=1), name="signal_confidence_0_1"),
            models.CheckConstraint(condition=Q(action__in=["BUY", "SELL"]), name="signal_action_valid"),
            models.CheckConstraint(
                condition=Q(status__in=["GENERATED", "EXECUTED", "EXPIRED", "CLOSED"]), name="signal_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(stop_loss__isnull=True) | Q(stop_loss__gt=0), name="signal_stop_loss_positive"
            ),
            models.CheckConstraint(
                condition=Q(take_profit__isnull=True) | Q(take_profit__gt=0), name="signal_take_profit_positive"
            ),
        ]
        indexes = [
            # Today's GENERATED signals, and the end of day's expiry of them.
            models.Index(fields=["status", "timestamp"], name="signal_status_time"),
            # A book's signals of a day (its dashboard, its exports), and of one status (its waiting ones).
            models.Index(fields=["book", "timestamp"], name="signal_book_time"),
            models.Index(fields=["book", "status", "timestamp"], name="signal_book_status_time"),
        ]

    def __str__(self) -> str:
        return f"{self.signal_id} {self.action} {self.symbol} @ {rules.plain(self.entry_price)}"

    # The bracket's parts under the names a sender gives them (inputs.SignalFields).
    @property
    def targets(self) -> list[dict] | None:
        return self.bracket.get("targets")

    @property
    def break_even_after(self) -> int | None:
        return self.bracket.get("break_even_after")

    @property
    def trailing_stop(self) -> dict | None:
        return self.bracket.get("trailing_stop")


class PaperTrade(models.Model):
    class Direction(models.TextChoices):  # as the pages write them
        LONG = "LONG", "LONG"
        SHORT = "SHORT", "SHORT"

    class Status(models.TextChoices):  # the labels are what every page says
        OPEN = "OPEN", "Open"
        STOP_LOSS = "STOP_LOSS", "Stop loss"
        TAKE_PROFIT = "TAKE_PROFIT", "Take profit"
        EOD_CLOSE = "EOD_CLOSE", "End of day"
        MANUAL_CLOSE = "MANUAL_CLOSE", "Manual close"
        LIQUIDATION = "LIQUIDATION", "Liquidation"

    CLOSED_STATUSES = [Status.STOP_LOSS, Status.TAKE_PROFIT, Status.EOD_CLOSE, Status.MANUAL_CLOSE, Status.LIQUIDATION]

    # Its index is one of the composite ones below, which start with the book: a plain one would tempt the planner
    # into reading the book's whole history where a composite one reads a day's or the open trades'.
    book = models.ForeignKey(
        "Book", on_delete=models.PROTECT, related_name="+", db_index=False, help_text="The book it belongs to."
    )
    signal = models.OneToOneField(
        Signal,
        to_field="signal_id",
        db_column="signal_id",
        related_name="trade",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text="The signal it was opened from; empty for a trade opened by hand.",
    )
    symbol = models.CharField(max_length=SYMBOL_LENGTH_MAX, db_index=True)
    direction = models.CharField(max_length=5, choices=Direction.choices)
    entry_price = models.DecimalField(
        **DECIMAL, help_text="The fill: the market's price at execution, against the trader."
    )
    entry_slippage = models.DecimalField(
        **DECIMAL, default=ZERO, help_text="The fill minus the signal's price, per unit, signed against the trader."
    )
    position_size = models.DecimalField(**DECIMAL, help_text="Units of the base asset.")
    stop_loss = models.DecimalField(**DECIMAL)
    take_profit = models.DecimalField(**DECIMAL)
    entry_time = models.DateTimeField()
    exit_time = models.DateTimeField(null=True, blank=True, db_index=True)
    exit_price = models.DecimalField(**DECIMAL, null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    realized_pnl = models.DecimalField(**DECIMAL, null=True, blank=True)
    # While open: PnL, fees and slippage as if closed now by a market order at exit_quote (the last tick's bid
    # for a LONG, ask for a SHORT, or its price moved by slippage), so that closing at the last mark copies
    # these columns unchanged. Once closed: unrealized is 0, fees and slippage are what was paid.
    unrealized_pnl = models.DecimalField(**DECIMAL, default=ZERO)
    current_price = models.DecimalField(**DECIMAL, help_text="The last traded price seen.")
    # The highest and lowest traded price seen while open (every tick counts), as Freqtrade's max_rate/min_rate:
    # the trade's excursions (rules.excursions) are measured from them.
    max_price = models.DecimalField(**DECIMAL, help_text="The highest price traded while open.")
    min_price = models.DecimalField(**DECIMAL, help_text="The lowest price traded while open.")
    exit_quote = models.DecimalField(**DECIMAL, help_text="Where a market exit would fill at the last mark.")
    risk_amount = models.DecimalField(
        **DECIMAL, help_text="What the size risked between the fill and the stop at entry."
    )
    margin = models.DecimalField(
        **DECIMAL,
        default=Decimal(1),
        help_text="The share of the entry notional held as collateral while open: 1 for a LONG (spot), "
        "PAPER_SHORT_MARGIN at entry for a SHORT.",
    )
    fees = models.DecimalField(**DECIMAL, default=ZERO)
    slippage = models.DecimalField(
        **DECIMAL,
        default=ZERO,
        help_text="Paid against the signal's price at entry and the last price at a market exit.",
    )
    # The exits as a bracket (ledger/brackets.py): its targets (price, fraction and the size each closes),
    # break_even_after and trailing_stop, fixed when the trade opens; {} for one target that closes everything.
    # stop_loss and take_profit are the stop and the next target in force, targets_filled how many have filled.
    bracket = models.JSONField(default=dict, blank=True)
    targets_filled = models.PositiveSmallIntegerField(default=0)
    # What the partial exits before the last one add up to (their executions' sums), so that a tick values and
    # closes the rest from the row alone: the size they closed, its price × size, the PnL they realized (their
    # share of the entry fee included), their exit fees and their slippage. All 0 for a trade closed in one exit.
    exited_size = models.DecimalField(**DECIMAL, default=ZERO)
    exited_value = models.DecimalField(**DECIMAL, default=ZERO)
    exited_pnl = models.DecimalField(**DECIMAL, default=ZERO)
    exited_fees = models.DecimalField(**DECIMAL, default=ZERO)
    exited_slippage = models.DecimalField(**DECIMAL, default=ZERO)
    created_date = models.DateTimeField(auto_now_add=True)
    # The trader's own account of the trade (docs/journal.md): why it was taken, what went wrong, and labels
    # such as "A+ setup" or "FOMO" that the statistics group by. Tags are a JSON list, as a signal's
    # confluences, which both databases unnest in SQL (json_each, jsonb_array_elements_text).
    notes = models.TextField(blank=True, default="")
    tags = models.JSONField(default=list, blank=True)
    history = HistoricalRecords()  # state changes and corrections, not price marks (docs/admin.md)

    class Meta:
        db_table = "paper_trades"
        # The ledger's one permission for people: to act on it from the dashboard and the trade page (execute,
        # expire, close, move a level, write notes). Staff in "ledger read-only" may only look.
        permissions = [("trade", "Can trade: execute and expire signals, close trades, edit levels and notes")]
        ordering = ["-entry_time"]
        constraints = [
            models.CheckConstraint(condition=Q(entry_price__gt=0), name="trade_entry_price_positive"),
            models.CheckConstraint(condition=Q(position_size__gt=0), name="trade_position_size_positive"),
            models.CheckConstraint(condition=Q(stop_loss__gt=0), name="trade_stop_loss_positive"),
            models.CheckConstraint(condition=Q(take_profit__gt=0), name="trade_take_profit_positive"),
            models.CheckConstraint(condition=Q(current_price__gt=0), name="trade_current_price_positive"),
            models.CheckConstraint(condition=Q(exit_quote__gt=0), name="trade_exit_quote_positive"),
            models.CheckConstraint(condition=Q(risk_amount__gte=0), name="trade_risk_amount_not_negative"),
            models.CheckConstraint(condition=Q(fees__gte=0), name="trade_fees_not_negative"),
            models.CheckConstraint(condition=Q(margin__gt=0), name="trade_margin_positive"),
            models.CheckConstraint(
                condition=Q(exited_size__gte=0, exited_size__lt=F("position_size")), name="trade_exited_below_size"
            ),
            models.CheckConstraint(condition=Q(direction__in=["LONG", "SHORT"]), name="trade_direction_valid"),
            # Open: no exit at all. Closed: a known status, with exit price, time and PnL.
            models.CheckConstraint(
                condition=(
                    Q(status="OPEN", exit_price__isnull=True, exit_time__isnull=True, realized_pnl__isnull=True)
                    | Q(
                        status__in=["STOP_LOSS", "TAKE_PROFIT", "EOD_CLOSE", "MANUAL_CLOSE", "LIQUIDATION"],
                        exit_price__gt=0,
                        exit_time__isnull=False,
                        realized_pnl__isnull=False,
                    )
                ),
                name="trade_exit_matches_status",
            ),
        ]
        indexes = [
            # The active trades: a small partial index however long the history grows.
            models.Index(fields=["symbol"], condition=Q(status="OPEN"), name="trade_open_by_symbol"),
            models.Index(fields=["book", "entry_time"], condition=Q(status="OPEN"), name="trade_open_by_book"),
            models.Index(fields=["book", "symbol"], name="trade_book_symbol"),  # a book's symbols (selectors.symbols)
            models.Index(fields=["book", "exit_time"], name="trade_book_exit"),  # a book's closes of a day or period
            # A book's history in its other orders (/journal/ by PnL or by R), paged by keyset however deep.
            models.Index(fields=["book", "realized_pnl", "id"], name="trade_by_pnl"),
            models.Index(F("book"), r_multiple(indexed=True), F("id"), name="trade_by_r"),
            # A book's tagged trades only, newest first: where the tags in use are read (selectors.tags_used).
            models.Index(F("book"), F("id").desc(), condition=Q(Tagged()), name="trade_tagged"),
        ]

    def __str__(self) -> str:
        return (
            f"#{self.pk} {self.direction} {self.symbol} @ {rules.plain(self.entry_price)} ({self.get_status_display()})"
        )

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def open_size(self) -> Decimal:
        """What is still open: the size less what its targets have closed so far (for the templates)."""
        return rules.remaining(self)

    @property
    def pnl(self) -> Decimal:
        """Realized once closed, unrealized while open."""
        return self.unrealized_pnl if self.is_open else self.realized_pnl

    @property
    def r_multiple(self) -> Decimal | None:
        return rules.r_multiple(self.pnl, self.risk_amount)

    @property
    def return_pct(self) -> Decimal | None:
        return rules.return_pct(self.pnl, price=self.entry_price, size=self.position_size)

    @cached_property
    def excursions(self) -> rules.Excursions:
        """Once per loaded row: an API answer reads four figures of it (mfe, mae and each in R). The services
        load a trade afresh after each write, so a row never carries excursions of prices it no longer has."""
        return rules.excursions(self)

    @property
    def liquidation_price(self) -> Decimal | None:
        return rules.liquidation_price(self)

    @property
    def notes_version(self) -> str:
        """The notes and the tags in short (a digest of each, "notes.tags"): a form or a client sends it back
        with an edit, so that an edit made on an older version is refused, not written over a newer one."""
        return f"{_digest(self.notes)}.{_digest(json.dumps(self.tags))}"

    @property
    def to_stop_pct(self) -> Decimal:
        return rules.distance_pct(price=self.current_price, level=self.stop_loss)

    @property
    def to_target_pct(self) -> Decimal:
        return rules.distance_pct(price=self.current_price, level=self.take_profit)


class Execution(models.Model):
    """One fill of a trade: its entry, or one of its exits (a target's part, the stop, a close by hand, the end of
    day, a liquidation). The trade's columns are what its rows add up to (brackets.totals); check_ledger holds
    them to it."""

    class Kind(models.TextChoices):
        ENTRY = "entry", "Entry"
        EXIT = "exit", "Exit"

    trade = models.ForeignKey(PaperTrade, on_delete=models.PROTECT, related_name="executions")
    kind = models.CharField(max_length=5, choices=Kind.choices)
    time = models.DateTimeField()
    price = models.DecimalField(**DECIMAL)
    size = models.DecimalField(**DECIMAL)
    fee = models.DecimalField(**DECIMAL, default=ZERO, help_text="The fee of this fill alone.")
    slippage = models.DecimalField(
        **DECIMAL, default=ZERO, help_text="Paid against the signal's price (entry) or the last price (exit)."
    )
    pnl = models.DecimalField(
        **DECIMAL,
        default=ZERO,
        help_text="What an exit realized: its move times its size, less its fee and its share of the entry fee; "
        "0 for the entry. A trade's realized PnL is the sum.",
    )
    reason = models.CharField(
        max_length=12, help_text="ENTRY, or why it exited: TAKE_PROFIT, STOP_LOSS, EOD_CLOSE, MANUAL_CLOSE, ..."
    )
    history = HistoricalRecords()  # an operator's corrections, with who and when

    class Meta:
        db_table = "trade_executions"
        ordering = ["time", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0, size__gt=0, fee__gte=0), name="execution_positive"),
            models.CheckConstraint(condition=Q(kind__in=["entry", "exit"]), name="execution_kind_valid"),
            # One entry a trade: a second would be a second trade.
            models.UniqueConstraint(fields=["trade"], condition=Q(kind="entry"), name="execution_one_entry"),
        ]

    def __str__(self) -> str:
        return f"#{self.trade_id} {self.kind} {rules.plain(self.size)} @ {rules.plain(self.price)} ({self.reason})"

    @property
    def label(self) -> str:
        """As the pages say it: Entry, or Exit: Take profit, Exit: Stop loss, ..."""
        return "Entry" if self.kind == self.Kind.ENTRY else f"Exit: {PaperTrade.Status(self.reason).label}"


class Book(models.Model):
    """An account of its own (docs/books.md): a name, a starting balance and its own rules, and the running totals
    of its trades, kept by every write in the same transaction. Signals, orders, trades (and through them their
    executions), day notes and events belong to one book; cash, equity, limits and every figure are a book's.

    The totals are derived from paper_trades (balance = starting balance + realized_pnl_total), so sizing a trade
    reads one row instead of scanning years of history; check_ledger recomputes them. A rule left empty follows
    its PAPER_* setting (the `default` book, made by the migration, leaves them all empty): `terms` is the rules
    in force."""

    DEFAULT_SLUG = "default"  # the book the migration made of the one account there was

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    starting_balance = models.DecimalField(**DECIMAL, null=True, blank=True, help_text="Empty: PAPER_STARTING_BALANCE.")
    risk_per_trade = models.DecimalField(
        max_digits=9, decimal_places=8, null=True, blank=True, help_text="Empty: PAPER_RISK_PER_TRADE."
    )
    default_stop_pct = models.DecimalField(
        max_digits=9, decimal_places=8, null=True, blank=True, help_text="Empty: PAPER_DEFAULT_STOP_PCT."
    )
    reward_risk = models.DecimalField(
        max_digits=11, decimal_places=8, null=True, blank=True, help_text="Empty: PAPER_REWARD_RISK."
    )
    fee_rate = models.DecimalField(
        max_digits=9, decimal_places=8, null=True, blank=True, help_text="Empty: PAPER_FEE_RATE."
    )
    slippage = models.DecimalField(
        max_digits=9, decimal_places=8, null=True, blank=True, help_text="Empty: PAPER_SLIPPAGE."
    )
    max_open_trades = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: PAPER_MAX_OPEN_TRADES.")
    one_trade_per_symbol = models.BooleanField(null=True, blank=True, help_text="Empty: PAPER_ONE_TRADE_PER_SYMBOL.")
    min_notional = models.DecimalField(**DECIMAL, null=True, blank=True, help_text="Empty: PAPER_MIN_NOTIONAL.")
    limit_fill = models.CharField(
        max_length=7,
        choices=[("through", "through"), ("touch", "touch")],
        blank=True,
        default="",
        help_text="Empty: PAPER_LIMIT_FILL.",
    )
    realized_pnl_total = models.DecimalField(**TOTAL, default=ZERO)
    # What the open trades took out of cash: their entry notional and entry fee (rules.entry_cost), kept by
    # every open and close, so cash = starting balance + realized_pnl_total - open_cost reads one row.
    open_cost = models.DecimalField(**TOTAL, default=ZERO)
    # What the working entry orders hold back (docs/fills.md, "Entry orders"), kept by every placement, fill,
    # cancellation and expiry: a new entry may spend only cash less this (`available`).
    reserved = models.DecimalField(**TOTAL, default=ZERO)
    # Bumped by every write: the dashboard's parts answer 304 Not Modified while it stands still.
    version = models.BigIntegerField(default=0)
    # The TradingView webhook's passphrase for this book (docs/books.md, "Commands"), kept as api_token_hash keeps a
    # token: its SHA-256, never the passphrase. Empty: no passphrase leads here (the default book also answers
    # TRADINGVIEW_PASSPHRASE).
    webhook_passphrase_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="BookMember", related_name="books")
    # Who changed its name or rules, and when (docs/admin.md, "Audit trail"); not its running totals, which every
    # write moves (services.book_add saves them without a history row).
    history = HistoricalRecords(excluded_fields=["realized_pnl_total", "open_cost", "reserved", "version"])

    class Meta:
        db_table = "ledger_books"
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def terms(self) -> rules.Terms:
        """The rules in force for this book: its own, and the settings' where it has none."""
        return rules.Terms.of(self)

    @property
    def balance(self) -> Decimal:
        """The starting balance plus the realized PnL of every closed trade: what the account holds with no trade
        open. Equity adds the open trades' unrealized PnL (selectors.dashboard_summary)."""
        return self.terms.starting_balance + self.realized_pnl_total

    @property
    def cash(self) -> Decimal:
        """The balance less what the open trades took out of it: what a new trade may spend."""
        return self.balance - self.open_cost

    @property
    def available(self) -> Decimal:
        """Cash less what working orders reserve: what a new entry may spend."""
        return self.cash - self.reserved

    @property
    def deficit(self) -> Decimal:
        """What the account owes when cash is below 0: a gap took a short's loss beyond its collateral (or
        legacy data did). No entry is taken until cash is positive again (sizing.size)."""
        return max(-self.cash, ZERO)


# The sums of a book's day, to 20 places: the per-day figures add up to the whole period's as the trades' own
# figures do (the R multiples and excursions have more places than money).
DAY_SUM = {"max_digits": 48, "decimal_places": 20, "default": ZERO}


class BookDay(models.Model):
    """The figures of a book's trades closed in one trading day (docs/books.md, "Aggregates"): the counts and sums
    that selectors.figures adds up, so the headline figures and the equity curve of any period read a row per day
    instead of every trade. Written only by services.aggregates, in the transaction of each close and correction,
    from the trades themselves; check_ledger recomputes them. A day without a close has no row. The counts are
    plain integers: a correction takes a trade out before it adds it back, and never stops on a drifted row
    (check_ledger reports it)."""

    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="+")
    day = models.DateField(help_text="The trading day of the closes (TRADING_DAY_TZ).")
    trades = models.IntegerField(default=0)
    wins = models.IntegerField(default=0)
    losses = models.IntegerField(default=0)
    realized_pnl = models.DecimalField(**DAY_SUM)
    profit = models.DecimalField(**DAY_SUM, help_text="The winners' realized PnL.")
    loss = models.DecimalField(**DAY_SUM, help_text="The losers' realized PnL (0 or negative).")
    fees = models.DecimalField(**DAY_SUM)
    slippage = models.DecimalField(**DAY_SUM)
    held_seconds = models.DecimalField(**DAY_SUM)
    r_trades = models.IntegerField(default=0)
    r_wins = models.IntegerField(default=0)
    r_losses = models.IntegerField(default=0)
    r_total = models.DecimalField(**DAY_SUM)
    r_won = models.DecimalField(**DAY_SUM)
    r_lost = models.DecimalField(**DAY_SUM)
    mfe = models.DecimalField(**DAY_SUM)
    mae = models.DecimalField(**DAY_SUM)
    mfe_r = models.DecimalField(**DAY_SUM)
    mae_r = models.DecimalField(**DAY_SUM)

    class Meta:
        db_table = "ledger_book_days"
        ordering = ["book", "day"]
        constraints = [models.UniqueConstraint(fields=["book", "day"], name="book_day_once")]

    def __str__(self) -> str:
        return f"{self.book_id} {self.day}: {self.trades} closed"


class BookMember(models.Model):
    """A user granted a book: to view it, or to trade in it too (docs/books.md, "Who sees what"). A user with no
    grant at all sees the default book only, as before books; a superuser sees every book."""

    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="book_grants")
    can_trade = models.BooleanField(default=False, help_text="Also trade (with the ledger.trade permission).")
    history = HistoricalRecords()  # every grant, change and removal, with who and when

    class Meta:
        db_table = "ledger_book_members"
        constraints = [models.UniqueConstraint(fields=["book", "user"], name="book_member_once")]

    def __str__(self) -> str:
        return f"{self.user} on {self.book} ({'trade' if self.can_trade else 'view'})"


class Order(models.Model):
    """A signal's entry as a working order (docs/fills.md, "Entry orders"): a limit or a stop at the signal's
    entry_price, which ticks fill (services.prices_apply) unless it expires or is cancelled first. While it works it
    reserves what it would spend; its signal stays GENERATED. A market entry fills at once and has no row here."""

    class Type(models.TextChoices):
        LIMIT = "limit", "Limit"
        STOP = "stop", "Stop"

    class Status(models.TextChoices):
        WORKING = "WORKING", "Working"
        FILLED = "FILLED", "Filled"
        CANCELLED = "CANCELLED", "Cancelled"
        EXPIRED = "EXPIRED", "Expired"

    class TimeInForce(models.TextChoices):
        DAY = "day", "Day"
        GTC = "gtc", "Until cancelled"
        GTD = "gtd", "Seconds"

    # Its index is one of the composite ones below, which start with the book: a plain one would tempt the planner
    # into reading the book's whole history where a composite one reads a day's or the open trades'.
    book = models.ForeignKey(
        "Book", on_delete=models.PROTECT, related_name="+", db_index=False, help_text="The book it belongs to."
    )
    signal = models.OneToOneField(
        Signal, to_field="signal_id", db_column="signal_id", related_name="order", on_delete=models.PROTECT
    )
    symbol = models.CharField(max_length=SYMBOL_LENGTH_MAX)
    order_type = models.CharField(max_length=5, choices=Type.choices)
    side = models.CharField(max_length=4, choices=Signal.Action.choices)
    price = models.DecimalField(**DECIMAL, help_text="The limit, or the stop's trigger: the signal's entry_price.")
    size = models.DecimalField(**DECIMAL, help_text="Sized at placement at its price; sized again at the fill.")
    reserved = models.DecimalField(**DECIMAL, help_text="What it holds back while working: its entry cost.")
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.WORKING)
    reason = models.CharField(max_length=200, blank=True, help_text="Why it was cancelled or expired.")
    time_in_force = models.CharField(max_length=3, choices=TimeInForce.choices)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: until cancelled.")
    created_at = models.DateTimeField(help_text="When it was placed.")
    filled_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True, help_text="When it was cancelled or expired.")
    trade = models.OneToOneField(
        PaperTrade, null=True, blank=True, related_name="order", on_delete=models.PROTECT, help_text="What it opened."
    )
    history = HistoricalRecords()  # placed, filled, cancelled, expired: with why, who and when (docs/admin.md)

    class Meta:
        db_table = "ledger_orders"
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0, size__gt=0, reserved__gte=0), name="order_amounts"),
            models.CheckConstraint(condition=Q(order_type__in=["limit", "stop"]), name="order_type_valid"),
            models.CheckConstraint(
                condition=Q(status__in=["WORKING", "FILLED", "CANCELLED", "EXPIRED"]), name="order_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="FILLED", trade__isnull=False, filled_at__isnull=False) | ~Q(status="FILLED"),
                name="order_filled_has_trade",
            ),
        ]
        indexes = [
            # What a tick reads: the working orders of its symbols, a small partial index however many have been.
            models.Index(fields=["symbol"], condition=Q(status="WORKING"), name="order_working_by_symbol"),
            models.Index(fields=["book", "created_at"], condition=Q(status="WORKING"), name="order_working_by_book"),
            models.Index(fields=["expires_at"], condition=Q(status="WORKING"), name="order_working_by_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.order_type} {self.symbol} @ {rules.plain(self.price)} ({self.get_status_display()})"

    @property
    def is_working(self) -> bool:
        return self.status == self.Status.WORKING

    @property
    def to_fill_pct(self) -> Decimal | None:
        """How far the market (`last_price`, as selectors.orders_working annotates it) is from the order's price, as
        a percentage of it; None without a price seen."""
        last = getattr(self, "last_price", None)
        return None if last is None else rules.distance_pct(price=last, level=self.price)


class DayNote(models.Model):
    """The trader's diary of one trading day (docs/journal.md): what the market did, what was planned, what
    was learnt. A day is neither a signal nor a trade, and a day without any trade can have a note, so it has
    a small table of its own, one row per day that has been written about."""

    book = models.ForeignKey("Book", on_delete=models.PROTECT, related_name="+")
    day = models.DateField(help_text="A trading day, in TRADING_DAY_TZ.")
    text = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()  # every edit, with who and when

    class Meta:
        db_table = "day_notes"
        constraints = [models.UniqueConstraint(fields=["book", "day"], name="day_note_once_a_book")]

    def __str__(self) -> str:
        return f"{self.day}: {self.text[:40]}"


class PriceCandle(models.Model):
    """One minute of a symbol's applied ticks (open, high, low, close, how many), with the bid and ask of its
    close: the price history trades are charted and measured on."""

    symbol = models.CharField(max_length=SYMBOL_LENGTH_MAX)
    minute = models.DateTimeField(help_text="The minute's start, in UTC.")
    open = models.DecimalField(**DECIMAL)
    high = models.DecimalField(**DECIMAL)
    low = models.DecimalField(**DECIMAL)
    close = models.DecimalField(**DECIMAL)
    ticks = models.PositiveIntegerField()
    bid = models.DecimalField(**DECIMAL, null=True, blank=True)
    ask = models.DecimalField(**DECIMAL, null=True, blank=True)

    class Meta:
        db_table = "price_candles"
        constraints = [
            # Also the index a chart's range query (symbol, minute from .. to) reads.
            models.UniqueConstraint(fields=["symbol", "minute"], name="candle_symbol_minute"),
            models.CheckConstraint(condition=Q(low__gt=0, low__lte=F("high")), name="candle_low_high"),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.minute:%Y-%m-%d %H:%M} O {self.open} H {self.high} L {self.low} C {self.close}"


class MarketPrice(models.Model):
    """Each symbol's last tick applied, whether or not a trade is open: what entries are priced from, and the
    time a later tick must not be older than (prices only move forward)."""

    symbol = models.CharField(max_length=SYMBOL_LENGTH_MAX, unique=True)
    price = models.DecimalField(**DECIMAL)
    bid = models.DecimalField(**DECIMAL, null=True, blank=True)
    ask = models.DecimalField(**DECIMAL, null=True, blank=True)
    at = models.DateTimeField(help_text="When the price was seen.")

    class Meta:
        db_table = "market_prices"
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="market_price_positive"),
            models.CheckConstraint(condition=Q(bid__isnull=True) | Q(bid__gt=0), name="market_bid_positive"),
            models.CheckConstraint(condition=Q(ask__isnull=True) | Q(ask__gt=0), name="market_ask_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.price} at {self.at:%Y-%m-%d %H:%M:%S}"


class MarketLot(models.Model):
    """A market's rules for an order's size, as its exchange lists them (ccxt's `load_markets()`, kept by the
    price feed for the symbols it follows): what `sizing.size` rounds to and refuses below. A symbol without a
    row follows the settings (sizing.lot_default)."""

    symbol = models.CharField(max_length=SYMBOL_LENGTH_MAX, unique=True)
    step = models.DecimalField(**DECIMAL, help_text="Sizes are multiples of this (ccxt's precision.amount).")
    min_amount = models.DecimalField(**DECIMAL, default=ZERO, help_text="The smallest size (limits.amount.min).")
    min_cost = models.DecimalField(**DECIMAL, default=ZERO, help_text="The smallest price × size (limits.cost.min).")
    source = models.CharField(max_length=40, help_text="Where the rules came from: the exchange's id.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "market_lots"
        constraints = [
            models.CheckConstraint(
                condition=Q(step__gt=0),
                name="market_lot_step_positive",
                violation_error_message="step must be above 0.",
            ),
            models.CheckConstraint(
                condition=Q(min_amount__gte=0, min_cost__gte=0),
                name="market_lot_minimums",
                violation_error_message="min_amount and min_cost must not be below 0.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.symbol}: step {rules.plain(self.step)}, min {rules.plain(self.min_amount)} ({self.source})"

    @property
    def lot(self) -> sizing.Lot:
        return sizing.Lot(step=self.step, min_amount=self.min_amount, min_cost=self.min_cost)


class FeedStatus(models.Model):
    """What a running price feed says of itself, for /healthz (docs/operations.md, "Healthy or degraded"): one
    row per exchange, written when the feed starts and with each of its summary lines."""

    exchange = models.CharField(max_length=50, unique=True)
    started_at = models.DateTimeField()
    reported_at = models.DateTimeField()
    clock_offset_ms = models.BigIntegerField(
        null=True, blank=True, help_text="The exchange's clock minus ours, in milliseconds; null until measured."
    )
    suspect_prints = models.PositiveBigIntegerField(default=0, help_text="Prints held as suspect since it started.")

    class Meta:
        db_table = "feed_status"
        verbose_name_plural = "feed status"

    def __str__(self) -> str:
        return f"{self.exchange} feed, reported {self.reported_at:%Y-%m-%d %H:%M:%S}"


class ApiToken(models.Model):
    """A named API credential. Only a SHA-256 hash of the token is stored; the token is shown once. Its scope
    says what it may do: `read` every GET, `trade` also every write (signals, prices, closes, expiries)."""

    class Scope(models.TextChoices):
        READ = "read", "read: every read"
        TRADE = "trade", "trade: every read and write"

    name = models.CharField(max_length=100, unique=True)
    book = models.ForeignKey(
        "Book", on_delete=models.PROTECT, related_name="+", help_text="The one book it may read (and write)."
    )
    scope = models.CharField(max_length=5, choices=Scope.choices, default=Scope.READ)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text="The token's first characters, to recognise it by.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "api_tokens"

    def __str__(self) -> str:
        return f"{self.name} ({self.scope}, {self.prefix}…{' revoked' if self.revoked_at else ''})"


class HealthProbe(models.Model):
    """One row that `/healthz` writes and commits on every check: a write that reached the disk is the proof
    that the database takes writes (a rolled-back one never leaves memory, and passes on a full disk)."""

    at = models.DateTimeField(help_text="When a health check last committed a write.")

    class Meta:
        db_table = "health_probe"

    def __str__(self) -> str:
        return f"health probe at {self.at:%Y-%m-%d %H:%M:%S}"


class Event(models.Model):
    """The outbox: what each write changed, recorded in the write's own transaction, so an event exists exactly
    when its change committed (docs/design.md, "Events"). Streams to pages, the events API and the notifier read
    it in id order; `manage.py prune_events` removes events older than PAPER_EVENTS_KEEP_DAYS.

    Plain ids, not foreign keys: an event outlives what it names, and writing one takes no lock on that row."""

    class Kind(models.TextChoices):
        SIGNAL_RECORDED = "signal.recorded", "a signal was recorded"
        SIGNAL_REFUSED = "signal.refused", "a signal was refused at intake (it expired with the reason)"
        SIGNAL_EXPIRED = "signal.expired", "a waiting signal expired"
        TRADE_OPENED = "trade.opened", "a trade opened (the signal's fill)"
        TRADE_CLOSED = "trade.closed", "a trade closed (stop, target, liquidation, by hand, end of day)"
        TRADE_REDUCED = "trade.reduced", "a target's part of an open trade filled (a partial exit)"
        TRADE_MOVED = "trade.moved", "an open trade's stop or target moved"
        TRADE_CORRECTED = "trade.corrected", "an operator corrected or recomputed a trade"
        JOURNAL_CHANGED = "journal.changed", "a trade's notes or tags, or a day's diary, changed"
        PRICES_APPLIED = "prices.applied", "a batch of ticks (or backfilled candles) marked the open trades"
        ORDER_PLACED = "order.placed", "a signal's limit or stop entry order began to work"
        ORDER_ENDED = "order.ended", "a working entry order filled, was cancelled or expired"
        DAY_CLOSED = "day.closed", "a trading day was closed"
        FEED_STALLED = "feed.stalled", "no price applied for PRICE_FEED_DEGRADED_LAG seconds (told once a stall)"
        IMPORTED = "imported", "a row of the old system was imported"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    book_id = models.BigIntegerField(null=True, blank=True, help_text="The book's id; empty: every book's (prices).")
    trade_id = models.BigIntegerField(null=True, blank=True, help_text="The trade's id, if the event is a trade's.")
    signal_id = models.CharField(
        max_length=64, blank=True, default="", help_text="The sender's signal_id, if the event is a signal's."
    )
    payload = models.JSONField(
        default=dict, blank=True, encoder=DjangoJSONEncoder, help_text="A few facts; amounts as decimal strings."
    )
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "ledger_events"
        ordering = ["id"]  # the primary key's index serves `id > after`; created_at's serves the prune

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class NotifyChannel(models.Model):
    """Where `manage.py notify` stands on one channel (an Apprise URL): the last outbox event it is done with, and
    the one it is sending, recorded before the send (docs/operations.md, "Notifications": exactly once across
    restarts). The URL itself carries secrets (a bot's token, a password): only its digest and a redacted form
    are kept."""

    key = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the channel's URL.")
    name = models.CharField(max_length=500, help_text="The URL with its secrets masked, for the log and the admin.")
    done_id = models.BigIntegerField(help_text="The last event sent, skipped or given up on; the next is after it.")
    sending_id = models.BigIntegerField(
        null=True, blank=True, help_text="The event being sent: recorded before the send, cleared by its outcome."
    )
    failures = models.PositiveIntegerField(default=0, help_text="Failed sends of the next event, in a row.")
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "notify_channels"
        constraints = [
            models.CheckConstraint(
                condition=Q(sending_id__isnull=True) | Q(sending_id__gt=F("done_id")), name="notify_sending_after_done"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}: done with event {self.done_id}"


class Replay(models.Model):
    """A replay (docs/replay.md): signals of a period run again under other rules on the recorded candles, as a
    fresh account. Its parameters, its progress while the worker runs it, and its result, kept so it can be shown
    again and compared. It never writes to signals, paper_trades or the account."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for the worker"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = [Status.DONE, Status.FAILED, Status.CANCELLED]

    book = models.ForeignKey("Book", on_delete=models.PROTECT, related_name="+", help_text="Whose signals it replays.")
    parameters = models.JSONField(help_text="The period, the filters and the rules changed (services.replay_queue).")
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent of the period replayed.")
    summary = models.JSONField(null=True, blank=True, help_text="The replay's figures and band, and the ledger's.")
    result = models.JSONField(null=True, blank=True, help_text="Trades, refusals and differences from the ledger.")
    error = models.TextField(blank=True, default="", help_text="Why it failed.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "replays"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "done", "failed", "cancelled"]),
                name="replay_status_valid",
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="replay_progress_percent"),
        ]
        indexes = [models.Index(fields=["status", "id"], name="replay_by_status")]  # the worker's next queued one

    def __str__(self) -> str:
        return f"replay #{self.pk} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED
