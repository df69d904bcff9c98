"""Set or clear a book's TradingView webhook passphrase (docs/books.md, "Commands")."""

import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledger import services
from ledger.errors import LedgerError


class Command(BaseCommand):
    help = (
        "Set the passphrase that leads TradingView's alerts into the book SLUG, read from standard input (one line; "
        "kept out of the shell's history), or clear it with --clear."
    )

    stealth_options = ("stdin",)  # a test's input, as createsuperuser takes it

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The book's slug.")
        parser.add_argument("--clear", action="store_true", help="No passphrase leads into the book any more.")

    def handle(self, *args, slug: str, clear: bool, **options) -> None:
        passphrase = "" if clear else (options.get("stdin") or sys.stdin).readline().rstrip("\r\n")
        if not clear and not passphrase:
            raise CommandError("Give the passphrase on standard input (or --clear to remove it).")
        try:
            book = services.book_passphrase_set(book_id=services.book_named(slug).pk, passphrase=passphrase)
        except LedgerError as error:
            raise CommandError(f"Passphrase of {slug!r} not changed: {error.message}") from error
        done = "set" if book.webhook_passphrase_hash else "cleared"
        self.stdout.write(f"The webhook passphrase of {slug} is {done}.")
