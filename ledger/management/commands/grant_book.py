"""Grant a user a book, to view or to trade in it, or take it back (docs/books.md, "Who sees what")."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledger import services
from ledger.errors import LedgerError


class Command(BaseCommand):
    help = (
        "Grant USER the book SLUG to view (with --trade, to trade in too), or take it back with --revoke. A user "
        "granted no book sees the default book alone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user", help="The username.")
        parser.add_argument("slug", help="The book's slug.")
        how = parser.add_mutually_exclusive_group()
        how.add_argument("--trade", action="store_true", help="Also trade in it (with the ledger.trade permission).")
        how.add_argument("--revoke", action="store_true", help="Take the book back from the user.")

    def handle(self, *args, user: str, slug: str, trade: bool, revoke: bool, **options) -> None:
        person = get_user_model().objects.filter(username=user).first()
        if person is None:
            raise CommandError(f"No user {user!r}.")
        try:
            book = services.book_named(slug)
        except LedgerError as error:
            raise CommandError(error.message) from error
        if revoke:
            taken = services.book_revoke(user=person, book_id=book.pk)
            self.stdout.write(f"{user} no longer sees {slug}." if taken else f"{user} had no grant of {slug}.")
            return
        services.book_grant(user=person, book_id=book.pk, can_trade=trade)
        self.stdout.write(f"{user} may {'trade in' if trade else 'view'} {slug}.")
        if trade and not person.has_perm("ledger.trade"):
            self.stderr.write(f"{user} lacks the ledger.trade permission: they will only view {slug} until given it.")
