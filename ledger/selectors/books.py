"""Books and who may see them (docs/books.md, "Who sees what"): a superuser sees every book; a user granted books
sees those; a user granted none sees the default book alone, as before there were books. Trading in a book takes
the ledger.trade permission and, for a granted book, a grant to trade."""

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Exists, F, Max, Min, Q, QuerySet, Sum

from ..days import day_bounds
from ..errors import NotFound
from ..models import Book, BookDay, BookMember, PaperTrade
from ..rules import RATIO, ZERO
from ..sql import WeekOf, by_element, money_from_db
from .core import trades_active
from .figures import DAY_COLUMNS, Figures, Group, figure_cells, grouped
from .stats import PERCENT, day_sums, figures_from_days


def book(slug: str) -> Book:
    """The book of that slug (for the commands, which see every book), or NotFound naming it."""
    row = Book.objects.only("pk", "slug").filter(slug=slug).first()
    if row is None:
        known = ", ".join(Book.objects.values_list("slug", flat=True)) or "none yet"
        raise NotFound(f"No book {slug!r}; the books are: {known}.", field="book")
    return row


def books_visible(user: Any) -> QuerySet[Book]:
    """The books the user may see, in id order (the default book first): one query."""
    if not user.is_authenticated:
        return Book.objects.none()
    if user.is_superuser:
        return Book.objects.all()
    grants = BookMember.objects.filter(user=user)
    return Book.objects.filter(Q(pk__in=grants.values("book")) | Q(slug=Book.DEFAULT_SLUG) & ~Exists(grants))


def book_visible(user: Any, slug: str) -> Book:
    """The book of that slug if the user may see it, or NotFound (never a word of a book they may not see)."""
    book = books_visible(user).filter(slug=slug).first()
    if book is None:
        raise NotFound(f"No book {slug!r}.", field="book")
    return book


def books_tradable(user: Any) -> QuerySet[Book]:
    """The books the user may trade in: those they see, with the ledger.trade permission, and, for granted books,
    a grant to trade."""
    if not user.is_authenticated or not user.has_perm("ledger.trade"):
        return Book.objects.none()
    visible = books_visible(user)
    if user.is_superuser or not BookMember.objects.filter(user=user).exists():
        return visible
    return visible.filter(grants__user=user, grants__can_trade=True)


CHART_DAYS = 400  # days with a close a book's chart line draws each; past them, a point a week


@dataclass(frozen=True)
class BookFigures(Figures):
    """A book over a period, as /books/ compares it (docs/books.md, "Comparing books"): its figures, its balance
    at the end of each day with a close, the deepest fall of that balance, and what it has open now."""

    book: Book
    starting_balance: Decimal
    curve: list[tuple[date, Decimal]]  # the balance at the period's start, then at the end of each day with a close
    max_drawdown: Decimal  # the deepest fall of the day-end balance from its running peak (>= 0)
    max_drawdown_percent: Decimal | None  # of that peak, 2 places
    open_trades: int
    open_notional: Decimal  # the open trades' entry notional
    unrealized_pnl: Decimal

    @property
    def ending_balance(self) -> Decimal:
        return self.starting_balance + self.realized_pnl

    @property
    def return_pct(self) -> Decimal | None:
        return (
            (self.realized_pnl * 100 / self.starting_balance).quantize(PERCENT) if self.starting_balance > 0 else None
        )

    @property
    def chart_curve(self) -> list[tuple[date, Decimal]]:
        """The curve as the chart draws it: every day's point, or past CHART_DAYS of them the last of each week
        (and the first point), so a chart over years stays a few hundred points a book whatever the trades."""
        if len(self.curve) <= CHART_DAYS:
            return self.curve
        weekly = {day - timedelta(days=day.weekday()): (day, balance) for day, balance in self.curve[1:]}
        return [self.curve[0], *weekly.values()]

    @property
    def exposure(self) -> Decimal | None:
        """Open notional as a fraction of equity (the balance now and the open trades' unrealized PnL)."""
        equity = self.book.balance + self.unrealized_pnl
        return (self.open_notional / equity).quantize(RATIO) if equity > 0 else None


def _drawdown(curve: list[tuple[date, Decimal]]) -> tuple[Decimal, Decimal | None]:
    """The deepest fall of a balance series from its running peak, and that fall as a percentage of the peak."""
    peak, deepest, deepest_peak = None, ZERO, ZERO
    for _, balance in curve:
        peak = balance if peak is None or balance > peak else peak
        if peak - balance > deepest:
            deepest, deepest_peak = peak - balance, peak
    return deepest, (deepest * 100 / deepest_peak).quantize(PERCENT) if deepest and deepest_peak > 0 else None


def books_compared(books: Sequence[Book], start: date | None, end: date | None) -> list[BookFigures]:
    """Each book over trading days start to end (None: all history), from the per-day aggregates (models.BookDay)
    and the open trades: four queries whatever the number of books, days and trades (the figures summed per book,
    the days or, past CHART_DAYS, the weeks, the balance before the period per book, the open trades)."""
    ids = [book.pk for book in books]
    days = BookDay.objects.filter(book__in=ids)
    days = days.filter(day__gte=start) if start else days
    days = days.filter(day__lte=end) if end else days
    spans = {"first": Min("day"), "last": Max("day")}
    sums = {row["book"]: row for row in days.values("book").annotate(**day_sums(), **spans).order_by()}
    firsts = [row["first"] for row in sums.values()]
    lasts = [row["last"] for row in sums.values()]
    # Past CHART_DAYS days, a point a week (each week's PnL at its last close): a row per book and week, whatever the
    # trades; the drawdown is then the week-end balance's.
    weekly = bool(sums) and ((end or max(lasts)) - (start or min(firsts))).days > CHART_DAYS
    group = {"week": WeekOf("day")} if weekly else {}
    points = days.annotate(**group).values("book", *(group or ["day"]))
    points = points.annotate(at=Max("day"), realized=Sum("realized_pnl")).order_by("book", "at")
    curves: dict[int, list[tuple[date, Decimal]]] = {pk: [] for pk in ids}
    for row in points.values_list("book", "at", "realized"):
        curves[row[0]].append((row[1], money_from_db(row[2])))
    before: dict[int, Decimal] = {}
    if start:
        earlier = BookDay.objects.filter(book__in=ids, day__lt=start).values("book").annotate(r=Sum("realized_pnl"))
        before = {row["book"]: money_from_db(row["r"]) for row in earlier.order_by()}
    # Every book's open trades by the partial index of the open ones (a filter on the book would lead SQLite to the
    # book's index, every trade the book ever had), added up here: open trades are few.
    opened: dict[int, dict] = {}
    for book_id, unrealized, price, size in (
        trades_active().order_by().values_list("book_id", "unrealized_pnl", "entry_price", "position_size")
    ):
        if book_id in curves:
            row = opened.setdefault(book_id, {"n": 0, "unrealized": ZERO, "notional": ZERO})
            row["n"] += 1
            row["unrealized"] += unrealized
            row["notional"] += price * size
    compared = []
    for book in books:
        starting = book.terms.starting_balance + before.get(book.pk, ZERO)
        balance, curve = starting, []
        if curves[book.pk]:
            curve.append((start or sums[book.pk]["first"] - timedelta(days=1), starting))  # before its first close
        for day, realized in curves[book.pk]:
            balance += realized
            curve.append((day, balance))
        deepest, percent = _drawdown(curve)
        row = opened.get(book.pk, {})
        compared.append(
            BookFigures(
                **figures_from_days(sums.get(book.pk, dict.fromkeys(DAY_COLUMNS.values()))),
                book=book,
                starting_balance=starting,
                curve=curve,
                max_drawdown=deepest,
                max_drawdown_percent=percent,
                open_trades=row.get("n", 0),
                open_notional=money_from_db(row.get("notional")),
                unrealized_pnl=money_from_db(row.get("unrealized")),
            )
        )
    return compared


@dataclass(frozen=True)
class BookSetups:
    """A book's best and worst setup (tag) of a period, by realized PnL (None: no tagged trade)."""

    best: Group | None
    worst: Group | None


def books_setups(books: Sequence[Book], start: date | None, end: date | None) -> dict[int, BookSetups]:
    """Each book's best and worst tag over the period by realized PnL (the earliest name of equals): one grouped
    scan of the books' tagged closes (the tags are the trades' own, not in the per-day aggregates)."""
    trades = PaperTrade.objects.filter(book__in=[book.pk for book in books], status__in=PaperTrade.CLOSED_STATUSES)
    if start:
        trades = trades.filter(exit_time__gte=day_bounds(start)[0])
    if end:
        trades = trades.filter(exit_time__lt=day_bounds(end)[1])
    rows, element = by_element(trades.order_by(), "tags")
    cells = figure_cells(rows, book_ref=F("book_id"), element=element)
    setups = {}
    for book in books:
        groups = [g for g in grouped([c for c in cells if c[0]["book_ref"] == book.pk], "element") if g.key is not None]
        setups[book.pk] = BookSetups(
            best=min(groups, key=lambda g: (-g.realized_pnl, g.key), default=None),
            worst=min(groups, key=lambda g: (g.realized_pnl, g.key), default=None),
        )
    return setups


@dataclass(frozen=True)
class BookBalance:
    """A book's money now: its balance (starting balance and every realized PnL), equity (and the open trades'
    unrealized PnL) and cash (what a new trade may spend: the balance less what the open trades hold)."""

    book: Book
    unrealized_pnl: Decimal

    @property
    def balance(self) -> Decimal:
        return self.book.balance

    @property
    def equity(self) -> Decimal:
        return self.book.balance + self.unrealized_pnl

    @property
    def cash(self) -> Decimal:
        return self.book.cash


def books_balances(books: QuerySet[Book]) -> list[BookBalance]:
    """Each book's balance, equity and cash: the books' rows, and their open trades' unrealized PnL summed by book
    (two queries however many books)."""
    rows = list(books)
    unrealized = dict(
        PaperTrade.objects.filter(status=PaperTrade.Status.OPEN, book_id__in=[row.pk for row in rows])
        .order_by()
        .values("book_id")
        .annotate(total=Sum("unrealized_pnl"))
        .values_list("book_id", "total")
    )
    return [BookBalance(book=row, unrealized_pnl=money_from_db(unrealized.get(row.pk))) for row in rows]


def webhook_passphrases() -> list[tuple[int, str]]:
    """The books whose TradingView webhook has a passphrase: (id, its hash), a few rows."""
    return list(Book.objects.exclude(webhook_passphrase_hash="").values_list("pk", "webhook_passphrase_hash"))


def book_of_passphrase(passphrase: str, among: Iterable[tuple[int, str]]) -> int | None:
    """The id of the book (of `among`, webhook_passphrases()) whose passphrase this is, compared in constant time
    with every one of them, so the answer's timing says nothing of which came close."""
    given = hashlib.sha256(passphrase.encode()).hexdigest().encode()
    found = None
    for book_id, stored in among:
        if hmac.compare_digest(given, stored.encode()):
            found = book_id
    return found
