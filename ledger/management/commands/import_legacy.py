"""Move a trader's history off the old system: its SQLite paper_trades table and JSON dumps of its collections."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledger import legacy, selectors
from ledger.errors import LedgerError
from ledger.models import Book


class Command(BaseCommand):
    help = (
        "Import the old system's paper_trades table and JSON dumps of its collections, one transaction per file, "
        "and print a reconciliation report. Running it again imports nothing. See docs/legacy-import.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        files = {"action": "append", "default": [], "type": Path, "metavar": "FILE"}
        parser.add_argument("--db", **files, help="The old SQLite database (its paper_trades table).")
        parser.add_argument("--signals", **files, help="A JSON dump of live_signals or archived_signals.")
        parser.add_argument("--trades", **files, help="A JSON dump of active_paper_trades or completed_paper_trades.")
        parser.add_argument("--journal", **files, help="A JSON dump of trading_journal.")
        parser.add_argument("--book", default="default", help="The book to import into (its slug); default: default.")
        parser.add_argument("--dry-run", action="store_true", help="Report what would be imported and write nothing.")

    def handle(self, *args, db, signals, trades, journal, book: str, dry_run: bool, **options) -> None:
        sources = legacy.sources(signals=signals, db=db, trades=trades, journal=journal)
        if not sources:
            raise CommandError("Name at least one file to import: --db, --signals, --trades or --journal.")
        try:
            into = None if book == Book.DEFAULT_SLUG else selectors.book(book)  # None: the default book
        except LedgerError as error:
            raise CommandError(error.message) from error
        report = legacy.legacy_import(sources=sources, dry_run=dry_run, book=into)
        for line in report.lines():
            self.stdout.write(line)
        if report.failed:
            raise CommandError(
                f"{len(report.failed)} of {len(sources)} files could not be imported and nothing of them was written "
                "(the row and reason are above); fix them and run again: what was imported is skipped."
            )
