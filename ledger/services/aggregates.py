"""The per-book, per-day figures of the closed trades (models.BookDay, docs/books.md "Aggregates"): recounted from
the trades themselves in the transaction of every close and correction, by book_add, the call every write makes for
each book it changed. The book's row is locked first, so two writers of one book recount one after the other and
the second sees the first's closes."""

from collections.abc import Iterable
from datetime import date, datetime

from django.db import connection, transaction
from django.db.models import Max, Min, Q, QuerySet

from ..days import day_bounds, trading_day
from ..models import Book, BookDay, PaperTrade
from ..selectors.figures import DAY_COLUMNS, day_figures

DAYS_PER_STATEMENT = 200  # days recounted by one INSERT ... SELECT: a short OR of exit-time ranges


def days_of(trades: Iterable[PaperTrade]) -> set[date]:
    """The trading days the trades closed in (open ones have none)."""
    return {trading_day(trade.exit_time) for trade in trades if trade.exit_time is not None}


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive days, first and last: one exit-time range each."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and (day - runs[-1][1]).days == 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def book_days_recount(book_id: int, days: Iterable[date]) -> None:
    """Write the book's figures of those trading days again from its closed trades: a DELETE and an INSERT ...
    SELECT per DAYS_PER_STATEMENT days, however many trades closed. The caller holds the book's row (book_add)."""
    ordered = sorted(set(days))
    for start in range(0, len(ordered), DAYS_PER_STATEMENT):
        chunk = ordered[start : start + DAYS_PER_STATEMENT]
        BookDay.objects.filter(book_id=book_id, day__in=chunk).delete()
        ranges = Q()
        for first, last in _runs(chunk):
            ranges |= Q(exit_time__gte=day_bounds(first)[0], exit_time__lt=day_bounds(last)[1])
        span = (day_bounds(chunk[0])[0], day_bounds(chunk[-1])[1])
        insert_day_figures(PaperTrade.objects.filter(ranges, book_id=book_id), span)


def insert_day_figures(trades: QuerySet[PaperTrade], span: tuple[datetime, datetime]) -> None:
    """Insert the BookDay rows of the trades (day_figures) with one INSERT ... SELECT: none of them is read here.
    Also what migration 0027 fills the table with from the trades there were."""
    quote = connection.ops.quote_name
    sql, params = day_figures(trades, span).query.sql_with_params()
    columns = ", ".join(quote(column) for column in ["book_id", "day", *DAY_COLUMNS])
    sums = ", ".join(f"COALESCE({quote(alias)}, 0)" for alias in DAY_COLUMNS.values())
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(BookDay._meta.db_table)} ({columns}) SELECT book_id, day, {sums} FROM ({sql}) days",
            params,
        )


@transaction.atomic
def book_days_rebuild(*, book_id: int) -> int:
    """Write every BookDay row of the book again from its closed trades (`check_ledger --recount`, after a repair
    in SQL): the book's row locked, one DELETE and one INSERT ... SELECT. Returns how many days it holds now."""
    Book.objects.select_for_update().get(pk=book_id)
    BookDay.objects.filter(book_id=book_id).delete()
    closed = PaperTrade.objects.filter(book_id=book_id, exit_time__isnull=False)
    span = closed.aggregate(first=Min("exit_time"), last=Max("exit_time"))
    if span["first"] is not None:
        insert_day_figures(closed, (span["first"], span["last"]))
    return BookDay.objects.filter(book_id=book_id).count()
