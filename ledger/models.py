"""The ledger's tables: its two tables of record (DESIGN.md), `signals` and `paper_trades`, whose table and
column names are the original design's so existing SQL keeps working; the one-row `ledger_account`
(a running total derived from the trades, and the version every write bumps); and `api_tokens`, the API's
credentials. The audit history of signals and trades lives in simple_history's tables beside them.
"""

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from .rules import ZERO

# Prices, sizes and money share one shape: 8 decimal places. SQLite keeps numbers as 64-bit floats, so
# on SQLite only 15 significant digits round-trip (README, "Numbers"); PostgreSQL's numeric is exact.
DECIMAL = {"max_digits": 20, "decimal_places": 8}


class Signal(models.Model):
    class Action(models.TextChoices):
        BUY = "BUY"
        SELL = "SELL"

    class Status(models.TextChoices):
        GENERATED = "GENERATED"
        EXECUTED = "EXECUTED"
        EXPIRED = "EXPIRED"
        CLOSED = "CLOSED"

    signal_id = models.CharField(max_length=64, unique=True, help_text="The sender's id; the idempotency key.")
    symbol = models.CharField(max_length=20, db_column="crypto", db_index=True)
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
        ]

    def __str__(self) -> str:
        return f"{self.signal_id} {self.action} {self.symbol} @ {self.entry_price}"


class PaperTrade(models.Model):
    class Direction(models.TextChoices):
        LONG = "LONG"
        SHORT = "SHORT"

    class Status(models.TextChoices):
        OPEN = "OPEN"
        STOP_LOSS = "STOP_LOSS"
        TAKE_PROFIT = "TAKE_PROFIT"
        EOD_CLOSE = "EOD_CLOSE"
        MANUAL_CLOSE = "MANUAL_CLOSE"

    CLOSED_STATUSES = [Status.STOP_LOSS, Status.TAKE_PROFIT, Status.EOD_CLOSE, Status.MANUAL_CLOSE]

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
    symbol = models.CharField(max_length=20, db_index=True)
    direction = models.CharField(max_length=5, choices=Direction.choices)
    entry_price = models.DecimalField(**DECIMAL)
    position_size = models.DecimalField(**DECIMAL, help_text="Units of the base asset.")
    stop_loss = models.DecimalField(**DECIMAL)
    take_profit = models.DecimalField(**DECIMAL)
    entry_time = models.DateTimeField()
    exit_time = models.DateTimeField(null=True, blank=True, db_index=True)
    exit_price = models.DecimalField(**DECIMAL, null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    realized_pnl = models.DecimalField(**DECIMAL, null=True, blank=True)
    # While open: PnL and fees as if closed at current_price (entry and exit fee), so that closing at the
    # last mark copies these columns unchanged. Once closed: unrealized is 0 and fees are what was paid.
    unrealized_pnl = models.DecimalField(**DECIMAL, default=ZERO)
    current_price = models.DecimalField(**DECIMAL)
    risk_amount = models.DecimalField(**DECIMAL)
    fees = models.DecimalField(**DECIMAL, default=ZERO)
    created_date = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()  # state changes and corrections, not price marks (docs/admin.md)

    class Meta:
        db_table = "paper_trades"
        ordering = ["-entry_time"]
        constraints = [
            models.CheckConstraint(condition=Q(entry_price__gt=0), name="trade_entry_price_positive"),
            models.CheckConstraint(condition=Q(position_size__gt=0), name="trade_position_size_positive"),
            models.CheckConstraint(condition=Q(stop_loss__gt=0), name="trade_stop_loss_positive"),
            models.CheckConstraint(condition=Q(take_profit__gt=0), name="trade_take_profit_positive"),
            models.CheckConstraint(condition=Q(current_price__gt=0), name="trade_current_price_positive"),
            models.CheckConstraint(condition=Q(risk_amount__gte=0), name="trade_risk_amount_not_negative"),
            models.CheckConstraint(condition=Q(fees__gte=0), name="trade_fees_not_negative"),
            models.CheckConstraint(condition=Q(direction__in=["LONG", "SHORT"]), name="trade_direction_valid"),
            # Open: no exit at all. Closed: a known status, with exit price, time and PnL.
            models.CheckConstraint(
                condition=(
                    Q(status="OPEN", exit_price__isnull=True, exit_time__isnull=True, realized_pnl__isnull=True)
                    | Q(
                        status__in=["STOP_LOSS", "TAKE_PROFIT", "EOD_CLOSE", "MANUAL_CLOSE"],
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
            models.Index(fields=["entry_time"], condition=Q(status="OPEN"), name="trade_open_by_entry"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.direction} {self.symbol} @ {self.entry_price} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class Account(models.Model):
    """One row: the sum of realized PnL of closed trades, kept by every close in the same transaction.

    It is derived from paper_trades (equity = starting balance + this), so sizing a trade reads one row
    instead of scanning years of history; the consistency check recomputes it.
    """

    realized_pnl_total = models.DecimalField(**DECIMAL, default=ZERO)
    # Bumped by every write: the dashboard's parts answer 304 Not Modified while it stands still.
    version = models.BigIntegerField(default=0)

    class Meta:
        db_table = "ledger_account"

    def __str__(self) -> str:
        return f"realized total {self.realized_pnl_total}"


class ApiToken(models.Model):
    """A named API credential. Only a SHA-256 hash of the token is stored; the token is shown once."""

    name = models.CharField(max_length=100, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text="The token's first characters, to recognise it by.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "api_tokens"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…{' revoked' if self.revoked_at else ''})"
