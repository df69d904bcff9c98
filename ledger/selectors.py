"""Every read that the pages, the API and the commands share.

Each one is a query (or a small aggregate) over the two tables; a day is a [start, end) range on an
indexed time column. Nothing here loads a table to filter it in Python.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum

from .days import day_bounds
from .models import ZERO, Account, PaperTrade, Signal


def equity() -> Decimal:
    """Starting balance plus the realized PnL of every closed trade (kept as a running total)."""
    total = Account.objects.filter(pk=1).values_list("realized_pnl_total", flat=True).first()
    return settings.PAPER_STARTING_BALANCE + (total or ZERO)


def trades_active() -> QuerySet[PaperTrade]:
    return PaperTrade.objects.filter(status=PaperTrade.Status.OPEN).order_by("entry_time", "pk")


def signals_for_day(day: date) -> QuerySet[Signal]:
    start, end = day_bounds(day)
    return (
        Signal.objects.filter(timestamp__gte=start, timestamp__lt=end)
        .select_related("trade")
        .order_by("-timestamp", "-pk")
    )


def journal_for_day(day: date) -> QuerySet[PaperTrade]:
    """The trades closed during the day, in the order they closed."""
    start, end = day_bounds(day)
    return PaperTrade.objects.filter(
        status__in=PaperTrade.CLOSED_STATUSES, exit_time__gte=start, exit_time__lt=end
    ).order_by("exit_time", "pk")


@dataclass(frozen=True)
class SignalsSummary:
    day: date
    total: int
    by_status: dict[str, int]
    by_action: dict[str, int]


def signals_summary(day: date) -> SignalsSummary:
    """Counts of the day's signals by status and by action, in one aggregate query."""
    start, end = day_bounds(day)
    counts = {f"status_{s}": Count("pk", filter=Q(status=s)) for s in Signal.Status.values}
    counts |= {f"action_{a}": Count("pk", filter=Q(action=a)) for a in Signal.Action.values}
    row = Signal.objects.filter(timestamp__gte=start, timestamp__lt=end).aggregate(total=Count("pk"), **counts)
    return SignalsSummary(
        day=day,
        total=row["total"],
        by_status={s: row[f"status_{s}"] for s in Signal.Status.values},
        by_action={a: row[f"action_{a}"] for a in Signal.Action.values},
    )


@dataclass(frozen=True)
class DailyPnl:
    day: date
    realized_pnl: Decimal
    trades: int
    wins: int

    @property
    def win_rate(self) -> Decimal | None:
        """Wins per closed trade, as a fraction; None when no trade closed."""
        return Decimal(self.wins) / Decimal(self.trades) if self.trades else None


def pnl_daily(day: date) -> DailyPnl:
    """Realized PnL of the trades whose exit falls in the day, with counts, in one aggregate query."""
    row = journal_for_day(day).aggregate(
        realized=Sum("realized_pnl"), trades=Count("pk"), wins=Count("pk", filter=Q(realized_pnl__gt=0))
    )
    return DailyPnl(day=day, realized_pnl=row["realized"] or ZERO, trades=row["trades"], wins=row["wins"])


def unrealized_pnl_open() -> Decimal:
    return trades_active().aggregate(total=Sum("unrealized_pnl"))["total"] or ZERO
