"""The ledger's consistency check: the first thing to run after an incident (docs/operations.md)."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from ledger import selectors, services
from ledger.errors import LedgerError
from ledger.models import Book


class Command(BaseCommand):
    help = (
        "Check that signals, trades and the running total agree with each other and with the PnL rules. "
        "Lists every violation and exits 1 if there is any; prints 'ledger consistent' otherwise, and the "
        "account's state if it is in deficit."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--book", help="Check this book only (its slug); default: every book.")
        parser.add_argument(
            "--recount",
            action="store_true",
            help="First write the per-day aggregates again from the trades (after a repair in SQL).",
        )

    def handle(self, *args, book: str | None, recount: bool = False, **options) -> None:
        violations, states = [], []
        try:
            # Only the names: a running total beyond its column (SQLite keeps it) cannot be read, and is reported.
            books = Book.objects.only("pk", "slug")
            books = [selectors.book(book)] if book else list(books)
            for checked in books:
                prefix = f"{checked.slug}: " if len(books) > 1 else ""
                if recount:
                    days = services.book_days_rebuild(book_id=checked.pk)
                    self.stdout.write(f"{checked.slug}: {days} days recounted")
                found = selectors.ledger_violations(checked)
                violations += [prefix + str(violation) for violation in found]
                if not found and (state := selectors.account_state(checked)):
                    states.append(prefix + state)
        except LedgerError as error:
            raise CommandError(error.message) from error
        except DatabaseError as error:
            raise CommandError(f"Could not read the ledger to check it: {error}") from error
        if not violations:
            self.stdout.write("ledger consistent")
            for state in states:
                self.stdout.write(state)
            return
        for violation in violations:
            self.stdout.write(violation)
        raise CommandError(f"{len(violations)} violations found; docs/operations.md says how to repair them.")
