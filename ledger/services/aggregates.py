"""The per-book, per-day figures of the closed trades (models.BookDay, docs/books.md "Aggregates"), kept in the
transaction of every close and correction: the figures of the trades a write closed are added to their days
(book_days_add, one INSERT ... SELECT ... ON CONFLICT per batch, however many trades), and a correction takes its
trades' figures out before it writes them and adds them back after (book_days_moved). Both read the trades'
rows as they stand, so a day holds what its trades say; an upsert adds to a row atomically, so two writers of one
day never lose each other's closes."""

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime

from django.db import connection, transaction
from django.db.models import Max, Min, Q, QuerySet

from ..days import day_bounds, trading_day
from ..models import Book, BookDay, PaperTrade
from ..selectors.figures import DAY_COLUMNS, day_figures
from .events import writers_lock

DAYS_PER_STATEMENT = 200  # days recounted by one INSERT ... SELECT: a short OR of exit-time ranges
ID_BATCH = 10_000  # trade ids per statement, well below SQLite's 32,766 variables


def book_days_add(trade_ids: Sequence[int], *, sign: int = 1) -> None:
    """Add the figures of the closed ones among the trades to their books' days (sign -1: take them out), grouped
    by book and day in the database: per batch of ids, the span of their exits (SQLite's time zone shift needs
    it) and one INSERT ... SELECT ... ON CONFLICT DO UPDATE that adds to each row."""
    quote = connection.ops.quote_name
    ids = sorted(set(trade_ids))
    for start in range(0, len(ids), ID_BATCH):
        trades = PaperTrade.objects.filter(pk__in=ids[start : start + ID_BATCH], exit_time__isnull=False)
        span = trades.aggregate(first=Min("exit_time"), last=Max("exit_time"))
        if span["first"] is None:
            continue  # none of them closed
        sql, params = day_figures(trades, (span["first"], span["last"])).query.sql_with_params()
        table = quote(BookDay._meta.db_table)
        columns = ", ".join(quote(column) for column in ["book_id", "day", *DAY_COLUMNS])
        sums = ", ".join(f"{sign} * COALESCE({quote(alias)}, 0)" for alias in DAY_COLUMNS.values())
        added = ", ".join(
            f"{quote(column)} = {table}.{quote(column)} + excluded.{quote(column)}" for column in DAY_COLUMNS
        )
        with connection.cursor() as cursor:
            cursor.execute(
                # WHERE true: SQLite's parser would take ON CONFLICT for a join's ON without it
                f"INSERT INTO {table} ({columns}) SELECT book_id, day, {sums} FROM ({sql}) days WHERE true "
                f"ON CONFLICT (book_id, day) DO UPDATE SET {added}",
                params,
            )


@contextmanager
def book_days_moved(trade_ids: Sequence[int]) -> Iterator[None]:
    """Around a write that corrects trades: their figures out of their days before (as their rows stand), back in
    after (as the write left them; a corrected exit time moves them to another day), and the days left without a
    close removed."""
    book_days_add(trade_ids, sign=-1)
    yield
    book_days_add(trade_ids)
    books = PaperTrade.objects.filter(pk__in=list(trade_ids)[:ID_BATCH]).values("book_id")
    BookDay.objects.filter(book__in=books, trades=0).delete()


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
    SELECT per DAYS_PER_STATEMENT days (for writes around the services, such as the benchmark's). The caller holds
    the book's row (book_for_update)."""
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
    Also what migration 0028 fills the table with from the trades there were."""
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
    writers_lock()  # before the book's row, as every writer takes them
    Book.objects.select_for_update().get(pk=book_id)
    BookDay.objects.filter(book_id=book_id).delete()
    closed = PaperTrade.objects.filter(book_id=book_id, exit_time__isnull=False)
    span = closed.aggregate(first=Min("exit_time"), last=Max("exit_time"))
    if span["first"] is not None:
        insert_day_figures(closed, (span["first"], span["last"]))
    return BookDay.objects.filter(book_id=book_id).count()
