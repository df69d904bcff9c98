"""End of the trading day, for cron: in every book (or one), close every open trade, close their signals, expire stale
signals."""

from datetime import date, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection, transaction

from ledger import services
from ledger.days import today
from ledger.errors import LedgerError
from ledger.models import Book


def parse_day(value: str) -> date:
    """YYYY-MM-DD, or `today` / `yesterday` in the trading day's zone."""
    if value == "today":
        return today()
    if value == "yesterday":
        return today() - timedelta(days=1)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date must be YYYY-MM-DD, today or yesterday, not {value!r}.") from None


LOCK_WAIT = 60  # seconds a book waits for a locked row (PostgreSQL; SQLite's own timeout is in its OPTIONS)


def waiting_at_most(seconds: int) -> None:
    """In the transaction under way, a locked row waits `seconds` at most, then fails (PostgreSQL's lock_timeout):
    a book whose trade someone holds is reported failed instead of holding up every book after it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{max(seconds, 1) * 1000}ms"])


class Command(BaseCommand):
    help = (
        "Close the trading day: every OPEN trade at its last mark's exit quote (EOD_CLOSE), "
        "and expire the GENERATED signals of the day and before."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date", default="today", help="The trading day to close: YYYY-MM-DD, today (default) or yesterday."
        )
        parser.add_argument("--dry-run", action="store_true", help="Print what would be closed and write nothing.")
        parser.add_argument("--book", help="Close this book only (its slug); default: every book, one at a time.")
        parser.add_argument(
            "--lock-wait",
            type=int,
            default=LOCK_WAIT,
            metavar="SECONDS",
            help=f"On PostgreSQL, how long a book waits for a row another transaction holds before it is reported "
            f"failed and the next book is closed (default {LOCK_WAIT}).",
        )

    def handle(self, *args, date: str, dry_run: bool, book: str | None, lock_wait: int, **options) -> None:
        day = parse_day(date)
        if day > today():
            raise CommandError(f"--date {day} is in the future; a trading day can be closed once it has begun.")
        try:
            books = [services.book_named(book)] if book else list(Book.objects.all()) or [services.default_book()]
        except LedgerError as error:
            raise CommandError(error.message) from error
        failed = []
        for closing in books:  # each book in a transaction of its own: one book's failure leaves the others closed
            prefix = f"{closing.slug}: " if len(books) > 1 or book else ""
            try:
                with transaction.atomic():
                    waiting_at_most(lock_wait)
                    result = services.day_close(day=day, dry_run=dry_run, book=closing)
            except (LedgerError, DatabaseError) as error:
                self.stderr.write(f"{prefix}closing trading day {day} failed, nothing was written: {error}")
                failed.append(closing.slug)
                continue
            self._report(result, day=day, dry_run=dry_run, prefix=prefix)
        if failed:
            raise CommandError(f"Closing trading day {day} failed for {', '.join(failed)}; the other books closed.")

    def _report(self, result: services.DayClosed, *, day: date, dry_run: bool, prefix: str) -> None:
        verb = "would close" if dry_run else "closed"
        for trade in result.closed:
            self.stdout.write(
                f"{prefix}{verb} #{trade.pk} {trade.direction} {trade.symbol} size {trade.position_size} "
                f"entry {trade.entry_price} exit {trade.exit_price} pnl {trade.realized_pnl:+}"
            )
        if not result.closed:
            self.stdout.write(f"{prefix}No open trades to close for {day}.")
        self.stdout.write(
            f"{prefix}{'Dry run: ' if dry_run else ''}{day}: {verb} {len(result.closed)} trades, "
            f"realized pnl {result.realized_pnl:+}, "
            f"{'would expire' if dry_run else 'expired'} {result.expired} signals, "
            f"{'would prune' if dry_run else 'pruned'} {result.pruned} candles "
            f"older than {settings.PRICE_HISTORY_DAYS} days."
        )
