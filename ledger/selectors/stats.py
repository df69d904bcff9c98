"""How the closed trades of a period did (docs/statistics.md): a handful of aggregate queries whatever the
number of trades."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Count, DecimalField, F, Func, Max, Min, Q, QuerySet, RowRange, Sum, Window

from ..days import today, trading_day
from ..models import PaperTrade
from ..rules import QUANTUM, RATIO, ZERO
from .core import DailyPnl, HeldSeconds, closed_between, moment_from_db, money_from_db, pnl_daily_range

PERCENT = Decimal("0.01")


@dataclass(frozen=True)
class SymbolPnl:
    symbol: str
    realized_pnl: Decimal
    trades: int


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
    def average_holding(self) -> timedelta | None:
        """From entry to exit, on average, to the second."""
        return timedelta(seconds=round(self.holding_total.total_seconds() / self.trades)) if self.trades else None


@dataclass(frozen=True)
class Group(Figures):
    key: str  # the symbol, direction or exit reason


@dataclass(frozen=True)
class Stats(Figures):
    """How the closed trades of a period did (all history when start and end are None).

    Equity is PAPER_STARTING_BALANCE plus the realized PnL of every trade closed before; the drawdown is the
    deepest fall of it, close by close, from its running peak (the equity the period started with counts).
    """

    start: date | None
    end: date | None
    starting_equity: Decimal
    max_drawdown: Decimal  # >= 0
    max_drawdown_percent: Decimal | None  # of the peak it fell from, 2 places; None without a drawdown
    drawdown_start: datetime | None  # the close that made that peak; None: the equity the period started with
    drawdown_end: datetime | None  # the close at the bottom
    daily: list[DailyPnl]  # one row per trading day of the period, days without a close as zeros
    by_symbol: list[Group]
    by_direction: list[Group]
    by_exit_reason: list[Group]

    @property
    def ending_equity(self) -> Decimal:
        return self.starting_equity + self.realized_pnl

    @property
    def best_day(self) -> DailyPnl | None:
        """The day with a close whose realized PnL is highest (the earliest of equals)."""
        return max((d for d in self.daily if d.trades), key=lambda d: d.realized_pnl, default=None)

    @property
    def worst_day(self) -> DailyPnl | None:
        return min((d for d in self.daily if d.trades), key=lambda d: d.realized_pnl, default=None)

    @property
    def best_symbol(self) -> SymbolPnl | None:
        best = min(self.by_symbol, key=lambda g: (-g.realized_pnl, g.key), default=None)
        return SymbolPnl(best.key, best.realized_pnl, best.trades) if best else None

    @property
    def worst_symbol(self) -> SymbolPnl | None:
        worst = min(self.by_symbol, key=lambda g: (g.realized_pnl, g.key), default=None)
        return SymbolPnl(worst.key, worst.realized_pnl, worst.trades) if worst else None


class Ratio(Func):
    """a / b in the database. SQLite keeps whole numbers as integers and would divide them as such (-30 / 60
    is 0 there), so it divides as REAL, read back through money_from_db like every raw number here."""

    arg_joiner = " / "
    template = "(%(expressions)s)"
    output_field = DecimalField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="(CAST(%(expressions)s)", arg_joiner=" AS REAL) / ", **extra)


def _figure_aggregates() -> dict:
    won, lost, risked = Q(realized_pnl__gt=0), Q(realized_pnl__lt=0), Q(risk_amount__gt=0)
    r = Ratio(F("realized_pnl"), F("risk_amount"))
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
    }


def _figures(row: dict) -> dict:
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
    }


NO_FIGURES = _figures(dict.fromkeys(_figure_aggregates()) | {"trades": 0, "wins": 0, "losses": 0, "r_trades": 0, "r_wins": 0, "r_losses": 0})


def _total(parts: list[dict]) -> dict:
    """Figures added up: every one of them is a count or a sum."""
    return {name: sum((part[name] for part in parts), zero) for name, zero in NO_FIGURES.items()}


def _groups(cells: list[tuple[dict, dict]], key: str) -> list[Group]:
    """The figures per symbol, direction or exit reason, added up from the finer groups."""
    parts: dict[str, list[dict]] = {}
    for row, figures in cells:
        parts.setdefault(row[key], []).append(figures)
    return [Group(key=value, **_total(parts[value])) for value in sorted(parts)]


@dataclass(frozen=True)
class Drawdown:
    amount: Decimal
    peak: Decimal  # cumulative realized PnL of the period at the peak
    start: datetime | None
    end: datetime | None


def _max_drawdown(trades: QuerySet[PaperTrade]) -> Drawdown:
    """The deepest fall of the period's cumulative realized PnL from its running peak, in the database: a
    running sum by exit order, its running peak (at least 0, where the period started), the time of that
    peak, then the row that fell furthest below it."""
    in_exit_order = [F("exit_time").asc(), F("pk").asc()]
    # ROWS frames: the running aggregate of the rows so far, without looking for peers (RANGE) at each row.
    curve = trades.annotate(cum=Window(Sum("realized_pnl"), order_by=in_exit_order, frame=RowRange(None, 0)))
    sql, params = curve.values("exit_time", "id", "cum").query.sql_with_params()
    so_far = "ORDER BY exit_time, id ROWS UNBOUNDED PRECEDING"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT peak - cum, peak, peak_time, exit_time FROM ("
            " SELECT cum, peak, exit_time, id,"
            f"  MAX(CASE WHEN cum = peak AND cum > 0 THEN exit_time END) OVER ({so_far}) AS peak_time"
            " FROM ("
            "  SELECT cum, exit_time, id,"
            "   CASE WHEN MAX(cum) OVER w > 0 THEN MAX(cum) OVER w ELSE 0 END AS peak"
            f"  FROM ({sql}) curve WINDOW w AS ({so_far})"
            " ) peaks"
            ") falls ORDER BY peak - cum DESC, exit_time, id LIMIT 1",
            params,
        )
        row = cursor.fetchone()  # the deepest fall
    if row is None or money_from_db(row[0]) <= 0:
        return Drawdown(ZERO, ZERO, None, None)
    fall, peak, peak_time, bottom_time = row
    return Drawdown(money_from_db(fall), money_from_db(peak), moment_from_db(peak_time), moment_from_db(bottom_time))


def stats(start: date | None = None, end: date | None = None) -> Stats:
    """The figures of the trades closed between start and end (trading days, both included), the same per
    symbol, direction and exit reason, the drawdown and the daily series: a handful of aggregate queries
    whatever the number of trades. The figures come from ONE scan grouped by symbol, direction and exit
    reason (a few rows per symbol), added up here per symbol, per direction, per reason and in total."""
    trades = closed_between(start, end)
    groups = trades.values("symbol", "direction", "status").annotate(**_figure_aggregates(), first=Min("exit_time"), last=Max("exit_time"))
    cells = [(row, _figures(row)) for row in groups.order_by()]
    before = money_from_db(closed_between(None, start - timedelta(days=1)).aggregate(r=Sum("realized_pnl"))["r"]) if start else ZERO
    starting_equity = settings.PAPER_STARTING_BALANCE + before
    drawdown = _max_drawdown(trades)
    peak_equity = starting_equity + drawdown.peak
    if cells:
        first = start or trading_day(min(row["first"] for row, _ in cells))
        daily = pnl_daily_range(first, end or max(today(), trading_day(max(row["last"] for row, _ in cells))))
    else:  # an empty period: its days if it has bounds, none for all of an empty history
        daily = pnl_daily_range(start, end or today()) if start else []
    return Stats(
        start=start,
        end=end,
        **_total([figures for _, figures in cells]),
        starting_equity=starting_equity,
        max_drawdown=drawdown.amount,
        max_drawdown_percent=(drawdown.amount * 100 / peak_equity).quantize(PERCENT) if drawdown.amount and peak_equity > 0 else None,
        drawdown_start=drawdown.start,
        drawdown_end=drawdown.end,
        daily=daily,
        by_symbol=_groups(cells, "symbol"),
        by_direction=_groups(cells, "direction"),
        by_exit_reason=_groups(cells, "status"),
    )


# --- Consistency (`manage.py check_ledger`, docs/operations.md) -----------------------------------
