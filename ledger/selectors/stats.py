"""How the closed trades of a period did (docs/statistics.md): a handful of aggregate queries whatever the
number of trades."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    Max,
    Min,
    QuerySet,
    RowRange,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.lookups import LessThan

from ..days import month_of, today, week_of
from ..models import Book, BookDay, Execution, PaperTrade
from ..rules import RATIO, ZERO
from ..sql import LocalPart, by_element, moment_from_db, money_from_db, r_multiple
from .core import DailyPnl, closed_between, pnl_daily_range
from .figures import (
    DAY_COLUMNS,
    NO_FIGURES,
    Figures,
    Group,
    added_up,
    figure_aggregates,
    figure_cells,
    figures_of,
    grouped,
)

PERCENT = Decimal("0.01")
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
R_EDGES = [Decimal(n) / 2 for n in range(-6, 7)]  # the R histogram's edges: -3R to 3R in half-R steps
# A trader invents tags and confluences freely: the largest this many are shown each, the rest in one row.
ELEMENT_GROUPS_SHOWN = 50
OTHERS = "others"
YEAR_DAYS = Decimal(365)  # crypto trades every day: daily ratios are annualised over 365 days
# Days with a close before Sharpe and Sortino say something about the trading rather than about luck (as
# figures.SAMPLE_TRADES for the ratios of trades; docs/statistics.md, "Thin data").
SAMPLE_DAYS = 20


@dataclass(frozen=True)
class SymbolPnl:
    symbol: str
    realized_pnl: Decimal
    trades: int


def _percent_of(amount: Decimal, equity: Decimal) -> Decimal | None:
    """`amount` as a percentage of the equity it was made from, to 2 places; None without equity above 0."""
    return (amount * 100 / equity).quantize(PERCENT) if equity > 0 else None


@dataclass(frozen=True)
class PeriodPnl:
    """A week (from its Monday) or a month of the period: its closes and the equity it started from."""

    start: date
    trades: int
    wins: int
    realized_pnl: Decimal
    starting_balance: Decimal

    @property
    def return_pct(self) -> Decimal | None:
        """Realized PnL as a percentage of the equity it started from, to 2 places."""
        return _percent_of(self.realized_pnl, self.starting_balance)


@dataclass(frozen=True)
class RBucket:
    """Trades whose R multiple lies in [low, high) (None: unbounded on that side)."""

    low: Decimal | None
    high: Decimal | None
    trades: int


@dataclass(frozen=True)
class Stats(Figures):
    """How the closed trades of a period did (all history when start and end are None).

    Equity is PAPER_STARTING_BALANCE plus the realized PnL of every trade closed before; the drawdown is the
    deepest fall of it, close by close, from its running peak (the equity the period started with counts).
    """

    start: date | None
    end: date | None
    starting_balance: Decimal
    max_drawdown: Decimal  # >= 0
    max_drawdown_percent: Decimal | None  # of the peak it fell from, 2 places; None without a drawdown
    drawdown_start: datetime | None  # the close that made that peak; None: the equity the period started with
    drawdown_end: datetime | None  # the close at the bottom
    daily: list[DailyPnl]  # one row per trading day of the period, days without a close as zeros
    by_symbol: list[Group]
    by_direction: list[Group]
    by_exit_reason: list[Group]
    by_tag: list[Group]  # a trade counts once in each of its tags; untagged trades under None
    by_confluence: list[Group]  # once in each of its signal's confluences; without any under None
    by_timeframe: list[Group]  # its signal's timeframe; without a signal or timeframe under None
    by_confidence: list[Group]  # its signal's confidence in bands of 0.1 ("0.5-0.6": 0.5 <= c < 0.6; 1 in 0.9-1.0)
    by_weekday: list[Group]  # the ISO weekday of the entry in TRADING_DAY_TZ, Monday first ("Mon")
    by_hour: list[Group]  # the hour of the entry in TRADING_DAY_TZ ("00" .. "23")
    r_histogram: list[RBucket]  # the trades with a risk, by R multiple in half-R steps from -3R to 3R
    longest_win_streak: int  # the most wins in a row, in exit order (a trade at 0 ends a streak)
    longest_loss_streak: int
    exits: list["Exits"]  # every exit of the period's trades by reason, partial exits included
    in_parts: int  # trades that exited in parts (a target's part before the close)
    trades_loaded: bool = True  # False: the headline alone (stats(trades=False)); the groups above are empty

    @property
    def ending_balance(self) -> Decimal:
        return self.starting_balance + self.realized_pnl

    @property
    def return_pct(self) -> Decimal | None:
        """The period's realized PnL as a percentage of the equity it started with, to 2 places."""
        return _percent_of(self.realized_pnl, self.starting_balance)

    @property
    def daily_returns(self) -> list[Decimal] | None:
        """Each day's realized PnL over the equity at the end of the day before (days without a close: 0);
        None if equity was not above 0 throughout."""
        equity, returns = self.starting_balance, []
        for day in self.daily:
            if equity <= 0:
                return None
            returns.append(day.realized_pnl / equity)
            equity += day.realized_pnl
        return returns

    @property
    def days_traded(self) -> int:
        """The period's days with at least one close."""
        return sum(1 for day in self.daily if day.trades)

    @property
    def days_sampled(self) -> bool:
        """Enough days with a close (SAMPLE_DAYS) for Sharpe and Sortino to mean something."""
        return self.days_traded >= SAMPLE_DAYS

    @property
    def sharpe(self) -> Decimal | None:
        """Mean daily return / its standard deviation (n - 1) * sqrt(365), to 4 places; None with fewer than
        two days or no variation."""
        returns = self.daily_returns
        if not returns or len(returns) < 2:
            return None
        mean = sum(returns) / len(returns)
        deviation = (sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)).sqrt()
        return (mean / deviation * YEAR_DAYS.sqrt()).quantize(RATIO) if deviation else None

    @property
    def sortino(self) -> Decimal | None:
        """Mean daily return / its downside deviation, sqrt(mean of min(r, 0)^2), * sqrt(365), to 4 places;
        None with fewer than two days or no losing day."""
        returns = self.daily_returns
        if not returns or len(returns) < 2:
            return None
        mean = sum(returns) / len(returns)
        downside = (sum(min(r, ZERO) ** 2 for r in returns) / len(returns)).sqrt()
        return (mean / downside * YEAR_DAYS.sqrt()).quantize(RATIO) if downside else None

    @property
    def weekly(self) -> list[PeriodPnl]:
        """The period's weeks, from their Monday (the first and last may be cut by the period)."""
        return self._periods(week_of)

    @property
    def monthly(self) -> list[PeriodPnl]:
        return self._periods(month_of)

    def _periods(self, start_of: Callable[[date], date]) -> list[PeriodPnl]:
        """The daily series added up by week or month: per day, not per trade."""
        periods: list[PeriodPnl] = []
        equity = self.starting_balance
        for day in self.daily:
            start = start_of(day.day)
            if not periods or periods[-1].start != start:
                periods.append(PeriodPnl(start, 0, 0, ZERO, equity))
            last = periods[-1]
            periods[-1] = replace(
                last,
                trades=last.trades + day.trades,
                wins=last.wins + day.wins,
                realized_pnl=last.realized_pnl + day.realized_pnl,
            )
            equity += day.realized_pnl
        return periods

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


def _by_elements(trades: QuerySet, path: str) -> list[Group]:
    """A trade counts once in each element of the JSON list at `path` (its tags), and once under None without
    any; the largest shown (_largest)."""
    rows, element = by_element(trades, path)
    return _largest(grouped(figure_cells(rows, element=element), "element"))


def _largest(groups: list[Group]) -> list[Group]:
    """The ELEMENT_GROUPS_SHOWN groups with the most trades (in their order), the rest added up in one row (a trade
    counts there once for each of its elements among them): ten thousand tags would otherwise be ten thousand
    rows."""
    named = [group for group in groups if group.key is not None]
    if len(named) <= ELEMENT_GROUPS_SHOWN:
        return groups
    largest = sorted(named, key=lambda group: -group.trades)[:ELEMENT_GROUPS_SHOWN]  # stable: ties in key order
    shown = {group.key for group in largest}
    rest = [group for group in named if group.key not in shown]
    others = Group(key=OTHERS, gathered=len(rest), **added_up([_as_figures(group) for group in rest]))
    return [*(group for group in groups if group.key in shown), others, *(g for g in groups if g.key is None)]


def _as_figures(group: Group) -> dict:
    return {name: getattr(group, name) for name in NO_FIGURES}


def _by_confluence(trades: QuerySet) -> list[Group]:
    """A trade counts once in each confluence of its signal, and once under None without any. Grouped by the
    signal's whole list (a set since intake deduplicates it), then each list's figures added to each of its
    confluences here: the join to the signal is the only cost beyond the figures, no list is unnested row by row,
    and the lists a sender uses are few (its setups repeat)."""
    lists = figure_cells(trades, confluences=F("signal__confluences"))
    cells = [({"confluence": name}, figures) for row, figures in lists for name in row["confluences"] or [None]]
    return _largest(grouped(cells, "confluence"))


def _confidence_band() -> Case:
    """'0.5–0.6' for 0.5 <= confidence < 0.6, and so on; a confidence of 1 is in '0.9–1.0'; None: no signal."""
    edges = [Decimal(n) / 10 for n in range(1, 10)]
    bands = [When(signal__confidence__lt=edge, then=Value(f"{edge - Decimal('0.1'):.1f}–{edge:.1f}")) for edge in edges]
    return Case(When(signal__isnull=True, then=Value(None)), *bands, default=Value("0.9–1.0"), output_field=CharField())


def _by_entry_time(trades: QuerySet, entered: tuple[datetime, datetime]) -> tuple[list[Group], list[Group]]:
    """By weekday and by hour of the entry in TRADING_DAY_TZ: one scan grouped by both (168 groups at most),
    added up each way here."""
    parts = {part: LocalPart("entry_time", part, span=entered) for part in ("isodow", "hour")}
    cells = figure_cells(trades, **parts)
    return grouped(cells, "isodow", label=lambda day: WEEKDAYS[day - 1]), grouped(
        cells, "hour", label=lambda hour: f"{hour:02d}"
    )


def _r_histogram(trades: QuerySet) -> list[RBucket]:
    """The trades with a risk counted by R multiple, in the buckets of R_EDGES: one grouped scan."""
    r = r_multiple()
    bucket = Case(
        *[When(LessThan(r, edge), then=Value(n)) for n, edge in enumerate(R_EDGES)], default=Value(len(R_EDGES))
    )
    counts = dict(
        trades.filter(risk_amount__gt=0)
        .annotate(bucket=bucket)
        .values("bucket")
        .annotate(n=Count("pk"))
        .values_list("bucket", "n")
        .order_by()
    )
    bounds = [None, *R_EDGES, None]
    return [RBucket(low, high, counts.get(n, 0)) for n, (low, high) in enumerate(zip(bounds, bounds[1:], strict=False))]


def _longest_streaks(trades: QuerySet) -> tuple[int, int]:
    """The most wins and the most losses in a row, in exit order, by the database: each close is a win (1), a
    loss (-1) or neither (0); the difference of two row numbers is the same along a run of one kind (gaps and
    islands), so the runs are groups."""
    sql, params = trades.values("realized_pnl", "exit_time", "id").query.sql_with_params()
    kind = "CASE WHEN realized_pnl > 0 THEN 1 WHEN realized_pnl < 0 THEN -1 ELSE 0 END"
    in_order = "ORDER BY exit_time, id"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT kind, MAX(run) FROM ("
            " SELECT kind, COUNT(*) AS run FROM ("
            f"  SELECT kind, ROW_NUMBER() OVER ({in_order}) "
            f"- ROW_NUMBER() OVER (PARTITION BY kind {in_order}) AS island"
            f"  FROM (SELECT {kind} AS kind, exit_time, id FROM ({sql}) closes) kinds"
            " ) islands GROUP BY kind, island"
            ") runs GROUP BY kind",
            params,
        )
        longest = dict(cursor.fetchall())
    return longest.get(1, 0), longest.get(-1, 0)


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


@dataclass(frozen=True)
class Exits:
    reason: str
    count: int
    realized_pnl: Decimal  # what those exits realized (brackets.exit_pnls)


def _exits(trades: QuerySet[PaperTrade]) -> list[Exits]:
    """Every exit execution of the trades, by reason: one grouped query. A trade that took one target's part
    and was then stopped counts a take-profit and a stop; a liquidation is a reason of its own."""
    rows = (
        Execution.objects.filter(kind=Execution.Kind.EXIT, trade__in=trades.values("pk"))
        .values("reason")
        .annotate(count=Count("id"), pnl=Sum("pnl"))
        .order_by("reason")
    )
    return [Exits(row["reason"], row["count"], money_from_db(row["pnl"])) for row in rows]


def day_rows(book: Book, start: date | None, end: date | None) -> QuerySet[BookDay]:
    """The book's per-day figures (models.BookDay) of trading days start to end (both included; None: no bound)."""
    rows = BookDay.objects.filter(book=book)
    if start is not None:
        rows = rows.filter(day__gte=start)
    if end is not None:
        rows = rows.filter(day__lte=end)
    return rows.order_by()


def day_sums() -> dict:
    """BookDay's columns added up, under the names figure_aggregates gives the trades' own sums."""
    return {alias: Sum(column) for column, alias in DAY_COLUMNS.items()}


def figures_from_days(row: dict) -> dict:
    """figures_of a sum of BookDay rows (a count with no row is None there)."""
    counts = {name: row[name] or 0 for name in ("trades", "wins", "losses", "r_trades", "r_wins", "r_losses")}
    return figures_of(row | counts)


def stats(book: Book, start: date | None = None, end: date | None = None, *, trades: bool = True) -> Stats:
    """The figures of the book's trades closed between start and end (trading days, both included), the same per
    symbol, direction and exit reason and per setup (tag, confluence, timeframe, confidence, weekday and hour
    of entry), the drawdown, the streaks, the R histogram and the daily series: a fixed number of aggregate
    queries whatever the number of trades.

    The headline figures, the balance the period started with and the daily series read the per-day aggregates
    (models.BookDay: a row per day, however many trades a day closed), so all history costs what a year does. With
    `trades` False that is all (what /stats/ draws at once; `trades_loaded` False): the rest needs the trades. Their
    figures by symbol, direction and exit reason come from ONE scan grouped by all three, added up here; each
    other breakdown is one grouped scan of its own."""
    days = day_rows(book, start, end)
    total = days.aggregate(**day_sums(), first=Min("day"), last=Max("day"))
    before = (
        money_from_db(day_rows(book, None, start - timedelta(days=1)).aggregate(r=Sum("realized_pnl"))["r"])
        if start
        else ZERO
    )
    starting_balance = book.terms.starting_balance + before
    if total["first"] is not None:
        daily = pnl_daily_range(book, start or total["first"], end or max(today(), total["last"]))
    else:  # an empty period: its days if it has bounds, none for all of an empty history
        daily = pnl_daily_range(book, start, end or today()) if start else []
    headline = Stats(
        start=start,
        end=end,
        **figures_from_days(total),
        starting_balance=starting_balance,
        max_drawdown=ZERO,
        max_drawdown_percent=None,
        drawdown_start=None,
        drawdown_end=None,
        daily=daily,
        by_symbol=[],
        by_direction=[],
        by_exit_reason=[],
        by_tag=[],
        by_confluence=[],
        by_timeframe=[],
        by_confidence=[],
        by_weekday=[],
        by_hour=[],
        r_histogram=[],
        longest_win_streak=0,
        longest_loss_streak=0,
        exits=[],
        in_parts=0,
        trades_loaded=False,
    )
    return _with_trades(headline, closed_between(book, start, end)) if trades else headline


def _with_trades(headline: Stats, trades: QuerySet[PaperTrade]) -> Stats:
    """The figures that need the trades themselves, added to the headline's."""
    spans = {"entered_first": Min("entry_time"), "entered_last": Max("entry_time")}
    groups = trades.values("symbol", "direction", "status").annotate(**figure_aggregates(), **spans)
    cells = [(row, figures_of(row)) for row in groups.order_by()]
    drawdown = _max_drawdown(trades)
    peak_equity = headline.starting_balance + drawdown.peak
    setups: dict[str, Any] = {}
    if cells:
        signal_cells = figure_cells(trades, timeframe=F("signal__timeframe"), band=_confidence_band())
        entered = (min(row["entered_first"] for row, _ in cells), max(row["entered_last"] for row, _ in cells))
        setups = {
            "by_tag": _by_elements(trades, "tags"),
            "by_confluence": _by_confluence(trades),
            "by_timeframe": grouped(signal_cells, "timeframe"),
            "by_confidence": grouped(signal_cells, "band"),
        }
        setups["by_weekday"], setups["by_hour"] = _by_entry_time(trades, entered)
    wins_in_a_row, losses_in_a_row = _longest_streaks(trades)
    return replace(
        headline,
        max_drawdown=drawdown.amount,
        max_drawdown_percent=(drawdown.amount * 100 / peak_equity).quantize(PERCENT)
        if drawdown.amount and peak_equity > 0
        else None,
        drawdown_start=drawdown.start,
        drawdown_end=drawdown.end,
        by_symbol=grouped(cells, "symbol"),
        by_direction=grouped(cells, "direction"),
        by_exit_reason=grouped(cells, "status"),
        **setups,
        r_histogram=_r_histogram(trades),
        longest_win_streak=wins_in_a_row,
        longest_loss_streak=losses_in_a_row,
        exits=_exits(trades) if cells else [],
        in_parts=trades.filter(exited_size__gt=0).count() if cells else 0,
        trades_loaded=True,
    )


# --- Consistency (`manage.py check_ledger`, docs/operations.md) -----------------------------------
