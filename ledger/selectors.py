"""Every read that the pages, the API and the commands share.

Each one is a query (or a small aggregate) over the two tables; a day is a [start, end) range on an
indexed time column. Nothing here loads a table to filter it in Python.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, FloatField, Func, Max, Min, Q, QuerySet, RowRange, Sum, Window
from django.db.models.functions import TruncDate
from django.utils.dateparse import parse_datetime

from .days import day_bounds, today, trading_day
from .errors import NotFound
from .models import ZERO, Account, PaperTrade, Signal


def equity() -> Decimal:
    """Starting balance plus the realized PnL of every closed trade (kept as a running total)."""
    total = Account.objects.filter(pk=1).values_list("realized_pnl_total", flat=True).first()
    return settings.PAPER_STARTING_BALANCE + (total or ZERO)


def ledger_version() -> int:
    """A number every write bumps: what the dashboard's parts make their ETags of."""
    return Account.objects.filter(pk=1).values_list("version", flat=True).first() or 0


def trade(trade_id: int) -> PaperTrade:
    trade = PaperTrade.objects.filter(pk=trade_id).first()
    if trade is None:
        raise NotFound(f"No trade with id {trade_id}.", field="trade_id")
    return trade


def last_price(symbol: str) -> Decimal | None:
    """The price the symbol's latest trade was last marked or closed at."""
    latest = PaperTrade.objects.filter(symbol=symbol).order_by("-entry_time")
    return latest.values_list("current_price", flat=True).first()


def trades_active() -> QuerySet[PaperTrade]:
    return PaperTrade.objects.filter(status=PaperTrade.Status.OPEN).order_by("entry_time", "pk")


def symbols(model: type[Signal] | type[PaperTrade]) -> list[str]:
    """The distinct symbols of a table, in order: a skip scan that asks its symbol index for the next
    symbol after the last one (a probe per symbol), not a DISTINCT that reads a million rows."""
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model._meta.get_field("symbol").column)
    sql = (
        f"WITH RECURSIVE s(symbol) AS (SELECT MIN({column}) FROM {table} UNION ALL "
        f"SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > s.symbol) FROM s WHERE s.symbol IS NOT NULL) "
        "SELECT symbol FROM s WHERE symbol IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [symbol for (symbol,) in cursor.fetchall()]


def _between(rows: QuerySet, column: str, start: date | None, end: date | None) -> QuerySet:
    """Rows whose time falls from the start of trading day `start` to the end of `end` (None: unbounded)."""
    if start is not None:
        rows = rows.filter(**{f"{column}__gte": day_bounds(start)[0]})
    if end is not None:
        rows = rows.filter(**{f"{column}__lt": day_bounds(end)[1]})
    return rows


def _closed_between(start: date | None, end: date | None) -> QuerySet[PaperTrade]:
    return _between(PaperTrade.objects.filter(status__in=PaperTrade.CLOSED_STATUSES).order_by(), "exit_time", start, end)


def signals_for_day(day: date) -> QuerySet[Signal]:
    return _between(Signal.objects.all(), "timestamp", day, day).order_by("-timestamp", "-pk")


def journal_for_day(day: date) -> QuerySet[PaperTrade]:
    """The trades closed during the day, the latest first."""
    return _closed_between(day, day).order_by("-exit_time", "-pk")


@dataclass(frozen=True)
class SignalsSummary:
    day: date
    total: int
    by_status: dict[str, int]
    by_action: dict[str, int]


def signals_summary(day: date) -> SignalsSummary:
    """Counts of the day's signals by status and by action, in one aggregate query."""
    counts = {f"status_{s}": Count("pk", filter=Q(status=s)) for s in Signal.Status.values}
    counts |= {f"action_{a}": Count("pk", filter=Q(action=a)) for a in Signal.Action.values}
    row = signals_for_day(day).aggregate(total=Count("pk"), **counts)
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


@dataclass(frozen=True)
class DashboardSummary:
    equity: Decimal
    day: DailyPnl
    open_trades: int
    unrealized_pnl: Decimal


def dashboard_summary(day: date) -> DashboardSummary:
    """The header of the dashboard: equity, the day's realized PnL and win rate, and the open trades."""
    open_row = trades_active().aggregate(count=Count("pk"), unrealized=Sum("unrealized_pnl"))
    return DashboardSummary(
        equity=equity(),
        day=pnl_daily(day),
        open_trades=open_row["count"],
        unrealized_pnl=open_row["unrealized"] or ZERO,
    )


def pnl_daily_range(start: date, end: date) -> list[DailyPnl]:
    """One row per trading day from start to end (both included), days without a close as zeros.

    One grouped query over the range of exit times; the day is the exit time's date in TRADING_DAY_TZ.
    """
    rows = (
        _closed_between(start, end)
        .annotate(day=TruncDate("exit_time", tzinfo=settings.TRADING_DAY_TZ))
        .values("day")
        .annotate(realized=Sum("realized_pnl"), trades=Count("pk"), wins=Count("pk", filter=Q(realized_pnl__gt=0)))
        .order_by("day")
    )
    by_day = {row["day"]: DailyPnl(row["day"], row["realized"], row["trades"], row["wins"]) for row in rows}
    days = (start + timedelta(days=n) for n in range((end - start).days + 1))
    return [by_day.get(day) or DailyPnl(day=day, realized_pnl=ZERO, trades=0, wins=0) for day in days]


RATIO = Decimal("0.0001")
MONEY = Decimal("0.00000001")  # as the columns
PERCENT = Decimal("0.01")


def _money(value: object) -> Decimal:
    """A sum from the database as Decimal to 8 places. SQLite hands raw queries floats (15 significant
    digits, as Django's own converter) and its Sum of decimals may come back with more places."""
    if value is None:
        return ZERO
    amount = (Decimal(repr(value)) if isinstance(value, float) else Decimal(value)).quantize(MONEY)
    return amount or ZERO  # 0, not 0E-8


def _moment(value: datetime | str | None) -> datetime | None:
    """A time from a raw query: PostgreSQL gives an aware datetime, SQLite a naive UTC one or its text."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else parse_datetime(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
    holding_total: timedelta  # the sum of exit_time - entry_time

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
        return (self.realized_pnl / self.trades).quantize(MONEY) if self.trades else None

    @property
    def average_win(self) -> Decimal | None:
        return (self.gross_profit / self.wins).quantize(MONEY) if self.wins else None

    @property
    def average_loss(self) -> Decimal | None:
        """The average PnL of a losing trade: a negative number."""
        return (-self.gross_loss / self.losses).quantize(MONEY) if self.losses else None

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


def journal_between(start: date | None, end: date | None) -> QuerySet[PaperTrade]:
    """The trades closed from trading day start to end (both included; None: no bound), oldest close first."""
    return _closed_between(start, end).order_by("exit_time", "pk")


def signals_between(start: date | None, end: date | None) -> QuerySet[Signal]:
    """The signals of trading days start to end (both included; None: no bound), oldest first."""
    return _between(Signal.objects.all(), "timestamp", start, end).order_by("timestamp", "pk")


class _HeldSeconds(Func):
    """exit_time - entry_time in seconds, by the database itself: Django's own duration arithmetic calls a
    Python function for every row on SQLite, which a million rows feel. SQLite answers a float, read back
    through its repr like every raw number here (_money)."""

    arg_joiner = " - "
    template = "EXTRACT(EPOCH FROM (%(expressions)s))"
    output_field = FloatField()

    def __init__(self) -> None:
        super().__init__(F("exit_time"), F("entry_time"))

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="((julianday(%(expressions)s)) * 86400)", arg_joiner=") - julianday(", **extra)


def _figure_aggregates() -> dict:
    won, lost = Q(realized_pnl__gt=0), Q(realized_pnl__lt=0)
    return {
        "trades": Count("pk"),
        "wins": Count("pk", filter=won),
        "losses": Count("pk", filter=lost),
        "realized": Sum("realized_pnl"),
        "profit": Sum("realized_pnl", filter=won),
        "loss": Sum("realized_pnl", filter=lost),
        "fees_paid": Sum("fees"),
        "held": Sum(_HeldSeconds()),
    }


def _figures(row: dict) -> dict:
    return {
        "trades": row["trades"],
        "wins": row["wins"],
        "losses": row["losses"],
        "realized_pnl": _money(row["realized"]),
        "gross_profit": _money(row["profit"]),
        "gross_loss": -_money(row["loss"]),
        "fees": _money(row["fees_paid"]),
        "holding_total": timedelta(milliseconds=int(_money(row["held"]) * 1000)),
    }


NO_FIGURES = _figures({"trades": 0, "wins": 0, "losses": 0, "realized": None, "profit": None, "loss": None, "fees_paid": None, "held": None})


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
    if row is None or _money(row[0]) <= 0:
        return Drawdown(ZERO, ZERO, None, None)
    fall, peak, peak_time, bottom_time = row
    return Drawdown(_money(fall), _money(peak), _moment(peak_time), _moment(bottom_time))


def stats(start: date | None = None, end: date | None = None) -> Stats:
    """The figures of the trades closed between start and end (trading days, both included), the same per
    symbol, direction and exit reason, the drawdown and the daily series: a handful of aggregate queries
    whatever the number of trades. The figures come from ONE scan grouped by symbol, direction and exit
    reason (a few rows per symbol), added up here per symbol, per direction, per reason and in total."""
    trades = _closed_between(start, end)
    groups = trades.values("symbol", "direction", "status").annotate(**_figure_aggregates(), first=Min("exit_time"), last=Max("exit_time"))
    cells = [(row, _figures(row)) for row in groups.order_by()]
    before = _money(_closed_between(None, start - timedelta(days=1)).aggregate(r=Sum("realized_pnl"))["r"]) if start else ZERO
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

CENT = Decimal("0.01")
CHECK_CHUNK = 2000  # rows per fetch when PnL is recomputed in Python: memory stays flat at any size


@dataclass(frozen=True)
class Violation:
    kind: str
    subject: str  # "signal <signal_id>", "trade #<id>" or "account"
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}: {self.detail}"


def ledger_violations() -> list[Violation]:
    """Every way the two tables and the running total disagree with each other or with the rules.

    Links and states are checked by queries; PnL is recomputed row by row with the services' own rule
    (streamed, so a million trades do not load at once). An empty list means the ledger is consistent.
    """
    from . import services  # services imports this module; the PnL rule is written there once

    found: list[Violation] = []
    executed = Signal.objects.filter(status=Signal.Status.EXECUTED).exclude(trade__status=PaperTrade.Status.OPEN)
    for signal_id, trade_id in executed.values_list("signal_id", "trade").order_by("pk"):
        what = f"its trade #{trade_id} is closed" if trade_id else "it has no trade"
        found.append(Violation("executed-without-open-trade", f"signal {signal_id}", f"EXECUTED but {what}."))
    closed = Signal.objects.filter(status=Signal.Status.CLOSED).exclude(trade__status__in=PaperTrade.CLOSED_STATUSES)
    for signal_id, trade_id in closed.values_list("signal_id", "trade").order_by("pk"):
        what = f"its trade #{trade_id} is OPEN" if trade_id else "it has no trade"
        found.append(Violation("closed-signal-trade-not-closed", f"signal {signal_id}", f"CLOSED but {what}."))
    unlinked = PaperTrade.objects.filter(signal__status__in=[Signal.Status.GENERATED, Signal.Status.EXPIRED])
    for pk, status, signal_id, signal_status in unlinked.values_list("pk", "status", "signal", "signal__status").order_by("pk"):
        found.append(Violation("signal-disagrees", f"trade #{pk}", f"{status}, but its signal {signal_id} is {signal_status}."))
    no_exit = PaperTrade.objects.filter(status__in=PaperTrade.CLOSED_STATUSES).filter(
        Q(exit_price__isnull=True) | Q(exit_time__isnull=True) | Q(realized_pnl__isnull=True)
    )
    for pk, status in no_exit.values_list("pk", "status").order_by("pk"):
        found.append(Violation("closed-without-exit", f"trade #{pk}", f"{status} without exit price, time or realized PnL."))

    rule_fields = ["direction", "entry_price", "position_size", "exit_price", "current_price", "fees", "realized_pnl", "unrealized_pnl", "status"]
    closed_trades = PaperTrade.objects.filter(status__in=PaperTrade.CLOSED_STATUSES, exit_price__isnull=False, realized_pnl__isnull=False)
    for trade in closed_trades.only(*rule_fields).order_by("pk").iterator(chunk_size=CHECK_CHUNK):
        expected = services.pnl(trade, price=trade.exit_price, fees=trade.fees)
        if abs(trade.realized_pnl - expected) > CENT:
            found.append(Violation("realized-pnl", f"trade #{trade.pk}", f"realized PnL {trade.realized_pnl}, the rules give {expected}."))
    for trade in trades_active().only(*rule_fields).order_by("pk").iterator(chunk_size=CHECK_CHUNK):
        fees = services.round_trip_fees(trade, exit_price=trade.current_price)
        expected = services.pnl(trade, price=trade.current_price, fees=fees)
        if abs(trade.fees - fees) > CENT or abs(trade.unrealized_pnl - expected) > CENT:
            found.append(
                Violation(
                    "unrealized-pnl",
                    f"trade #{trade.pk}",
                    f"at current price {trade.current_price}: fees {trade.fees} and unrealized PnL "
                    f"{trade.unrealized_pnl}, the rules give {fees} and {expected}.",
                )
            )

    total = PaperTrade.objects.filter(status__in=PaperTrade.CLOSED_STATUSES).aggregate(total=Sum("realized_pnl"))["total"] or ZERO
    kept = Account.objects.filter(pk=1).values_list("realized_pnl_total", flat=True).first() or ZERO
    if abs(kept - total) > CENT:
        found.append(Violation("account-total", "account", f"running total {kept}, the closed trades sum to {total}."))
    return found
