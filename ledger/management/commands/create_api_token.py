"""Make a named API token; it is printed once and only its hash is stored."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledger import services
from ledger.errors import LedgerError
from ledger.models import ApiToken


class Command(BaseCommand):
    help = "Create a named API token for Authorization: Bearer <token>. The token is shown once; keep it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Who or what uses the token, e.g. signal-bot.")
        parser.add_argument(
            "--scope",
            choices=ApiToken.Scope.values,
            default=ApiToken.Scope.READ,
            help="read (the default): every GET; trade: also send signals and prices, close trades, expire signals.",
        )
        parser.add_argument("--book", default="default", help="The one book the token reads and writes (its slug).")

    def handle(self, *args, name: str, scope: str, book: str, **options) -> None:
        try:
            row, token = services.api_token_create(name=name, scope=scope, book=services.book_named(book))
        except LedgerError as error:
            raise CommandError(error.message) from error
        self.stderr.write(
            f"Token {row.name!r} ({row.scope}, book {book}) created. It is shown only now; store it somewhere safe:"
        )
        self.stdout.write(token)
