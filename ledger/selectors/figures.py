"""The figures of a group of closed trades (win rate, profit factor, expectancy, R, excursions, ...), summed in
SQL (docs/statistics.md defines each one): a period's, or one symbol's, direction's, tag's, hour's of it."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum

from ..models import PaperTrade
from ..rules import QUANTUM, RATIO
from ..sql import HeldSeconds, LocalPart, Ratio, excursions_in_money, money_from_db

# The least sample before a ratio says something about the trading rather than about luck (docs/statistics.md,
# "Thin data"): below it the pages say "not enough data"; the API gives the numbers with the counts beside them.
SAMPLE_TRADES = 20  # closed trades, for the win rate, profit factor and expectancy (in money and in R)


@dataclass(frozen=True)
class Figures:
    """The core figures of a set of closed trades: a period, or one symbol, direction or exit reason of it.

    A trade with realized PnL exactly 0 is neither a win nor a loss. Ratios and means are None when
    undefined (no trade, no win, no loss). docs/statistics.md defines each one.
    """

    trades: int
    wins: int
    losses: int
    realized_pnl: Decimal
    gross_profit: Decimal  # sum of the winning trades' PnL
    gross_loss: Decimal  # minus the sum of the losing trades' PnL (a positive number)
    fees: Decimal  # entry and exit fees paid (already inside realized_pnl)
    slippage: Decimal  # paid against the signals' prices at entry and the last prices at market exits
    holding_total: timedelta  # the sum of exit_time - entry_time
    r_trades: int  # trades with a risk at entry (every one the ledger opened), which have an R multiple
    r_total: Decimal  # the sum of their R multiples, realized_pnl / risk_amount
    r_won: Decimal  # ... of the winners among them
    r_lost: Decimal  # ... of the losers among them (a negative number)
    r_wins: int
    r_losses: int
    mfe_total: Decimal  # the sum of the trades' maximum favourable excursions (rules.excursions), >= 0
    mae_total: Decimal  # ... of their maximum adverse excursions, <= 0
    mfe_r_total: Decimal  # ... in R, of the trades with a risk
    mae_r_total: Decimal

    @property
    def sampled(self) -> bool:
        """Enough trades (SAMPLE_TRADES) for the win rate, profit factor and expectancy to mean something."""
        return self.trades >= SAMPLE_TRADES

    @property
    def win_rate(self) -> Decimal | None:
        """Wins per closed trade, as a fraction rounded to 4 places."""
        return (Decimal(self.wins) / self.trades).quantize(RATIO) if self.trades else None

    @property
    def profit_factor(self) -> Decimal | None:
        """Gross profit per unit of gross loss, rounded to 4 places; None without a loss."""
        return (self.gross_profit / self.gross_loss).quantize(RATIO) if self.gross_loss else None

    @property
    def expectancy(self) -> Decimal | None:
        """The average realized PnL per closed trade."""
        return (self.realized_pnl / self.trades).quantize(QUANTUM) if self.trades else None

    @property
    def average_win(self) -> Decimal | None:
        return (self.gross_profit / self.wins).quantize(QUANTUM) if self.wins else None

    @property
    def average_loss(self) -> Decimal | None:
        """The average PnL of a losing trade: a negative number."""
        return (-self.gross_loss / self.losses).quantize(QUANTUM) if self.losses else None

    @property
    def expectancy_r(self) -> Decimal | None:
        """The average R multiple per closed trade: what a trade is expected to make, in units of its risk."""
        return (self.r_total / self.r_trades).quantize(RATIO) if self.r_trades else None

    @property
    def average_win_r(self) -> Decimal | None:
        return (self.r_won / self.r_wins).quantize(RATIO) if self.r_wins else None

    @property
    def average_loss_r(self) -> Decimal | None:
        """A negative number."""
        return (self.r_lost / self.r_losses).quantize(RATIO) if self.r_losses else None

    @property
    def average_mfe(self) -> Decimal | None:
        """How far the price went for a trade while it was open, on average, in money (before fees)."""
        return (self.mfe_total / self.trades).quantize(QUANTUM) if self.trades else None

    @property
    def average_mae(self) -> Decimal | None:
        """How far it went against a trade, on average: 0 or a negative number."""
        return (self.mae_total / self.trades).quantize(QUANTUM) if self.trades else None

    @property
    def average_mfe_r(self) -> Decimal | None:
        return (self.mfe_r_total / self.r_trades).quantize(RATIO) if self.r_trades else None

    @property
    def average_mae_r(self) -> Decimal | None:
        return (self.mae_r_total / self.r_trades).quantize(RATIO) if self.r_trades else None

    @property
    def average_holding(self) -> timedelta | None:
        """From entry to exit, on average, to the second."""
        return timedelta(seconds=round(self.holding_total.total_seconds() / self.trades)) if self.trades else None


@dataclass(frozen=True)
class Group(Figures):
    key: str | None  # the symbol, direction, exit reason, tag, ...; None: trades without one (no tag, no signal)
    gathered: int = 0  # the smaller tags (or confluences) this row adds up, under the key "others"; 0: one key


def figure_aggregates() -> dict:
    won, lost, risked = Q(realized_pnl__gt=0), Q(realized_pnl__lt=0), Q(risk_amount__gt=0)
    r = Ratio(F("realized_pnl"), F("risk_amount"))
    mfe, mae = excursions_in_money()
    return {
        "trades": Count("pk"),
        "wins": Count("pk", filter=won),
        "losses": Count("pk", filter=lost),
        "realized": Sum("realized_pnl"),
        "profit": Sum("realized_pnl", filter=won),
        "loss": Sum("realized_pnl", filter=lost),
        "fees_paid": Sum("fees"),
        "slippage_paid": Sum("slippage"),
        "held": Sum(HeldSeconds()),
        "r_trades": Count("pk", filter=risked),
        "r_total": Sum(r, filter=risked),
        "r_won": Sum(r, filter=risked & won),
        "r_lost": Sum(r, filter=risked & lost),
        "r_wins": Count("pk", filter=risked & won),
        "r_losses": Count("pk", filter=risked & lost),
        "mfe": Sum(mfe),
        "mae": Sum(mae),
        "mfe_r": Sum(Ratio(mfe, F("risk_amount")), filter=risked),
        "mae_r": Sum(Ratio(mae, F("risk_amount")), filter=risked),
    }


# models.BookDay's columns, each the figure_aggregates() sum (or count) it keeps for its book's day.
DAY_COLUMNS = {
    "trades": "trades",
    "wins": "wins",
    "losses": "losses",
    "realized_pnl": "realized",
    "profit": "profit",
    "loss": "loss",
    "fees": "fees_paid",
    "slippage": "slippage_paid",
    "held_seconds": "held",
    "r_trades": "r_trades",
    "r_wins": "r_wins",
    "r_losses": "r_losses",
    "r_total": "r_total",
    "r_won": "r_won",
    "r_lost": "r_lost",
    "mfe": "mfe",
    "mae": "mae",
    "mfe_r": "mfe_r",
    "mae_r": "mae_r",
}


def figures_of(row: dict) -> dict:
    return {
        "trades": row["trades"],
        "wins": row["wins"],
        "losses": row["losses"],
        "realized_pnl": money_from_db(row["realized"]),
        "gross_profit": money_from_db(row["profit"]),
        "gross_loss": -money_from_db(row["loss"]),
        "fees": money_from_db(row["fees_paid"]),
        "slippage": money_from_db(row["slippage_paid"]),
        "holding_total": timedelta(milliseconds=int(money_from_db(row["held"]) * 1000)),
        "r_trades": row["r_trades"],
        "r_total": money_from_db(row["r_total"]),
        "r_won": money_from_db(row["r_won"]),
        "r_lost": money_from_db(row["r_lost"]),
        "r_wins": row["r_wins"],
        "r_losses": row["r_losses"],
        "mfe_total": money_from_db(row["mfe"]),
        "mae_total": money_from_db(row["mae"]),
        "mfe_r_total": money_from_db(row["mfe_r"]),
        "mae_r_total": money_from_db(row["mae_r"]),
    }


NO_FIGURES = figures_of(
    dict.fromkeys(figure_aggregates())
    | {"trades": 0, "wins": 0, "losses": 0, "r_trades": 0, "r_wins": 0, "r_losses": 0}
)


def figures_for(trades: QuerySet) -> Figures:
    """The figures of any set of closed trades, in one aggregate query (the history's totals of its matches)."""
    return Figures(**figures_of(trades.aggregate(**figure_aggregates())))


def added_up(parts: list[dict]) -> dict:
    """Figures added up: every one of them is a count or a sum."""
    return {name: sum((part[name] for part in parts), zero) for name, zero in NO_FIGURES.items()}


def grouped(cells: list[tuple[dict, dict]], key: str, *, label: Callable[[Any], str] = str) -> list[Group]:
    """The figures per value of `key` (a symbol, a tag, an hour, ...), added up from the finer groups, in the
    value's order, and those without one (None or "": no tag, no signal) last, under None."""
    parts: dict[Any, list[dict]] = {}
    for row, figures in cells:
        parts.setdefault(None if row[key] in (None, "") else row[key], []).append(figures)
    ordered = sorted(parts, key=lambda value: (value is None, value if value is not None else 0))
    return [Group(key=None if value is None else label(value), **added_up(parts[value])) for value in ordered]


def day_figures(trades: QuerySet[PaperTrade], span: tuple[datetime, datetime]) -> QuerySet:
    """The trades' figures grouped by book and trading day of their exit: what a BookDay row holds, one grouped
    scan. `span`: the exit times they fall between (sql.LocalPart)."""
    return (
        trades.filter(status__in=PaperTrade.CLOSED_STATUSES)
        .annotate(day=LocalPart("exit_time", "date", span=span))
        .values("book_id", "day")
        .annotate(**figure_aggregates())
        .order_by()
    )


def figure_cells(rows: QuerySet, **keys: Any) -> list[tuple[dict, dict]]:
    """The figures of `rows` grouped by `keys` (a name for each expression), one scan."""
    return [(row, figures_of(row)) for row in rows.values(**keys).annotate(**figure_aggregates()).order_by()]
