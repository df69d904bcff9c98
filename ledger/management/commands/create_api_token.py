"""Make a named API token; it is printed once and only its hash is stored."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledger import services
from ledger.errors import LedgerError


class Command(BaseCommand):
    help = "Create a named API token for Authorization: Bearer <token>. The token is shown once; keep it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Who or what uses the token, e.g. signal-bot.")

    def handle(self, *args, name: str, **options) -> None:
        try:
            row, token = services.api_token_create(name=name)
        except LedgerError as error:
            raise CommandError(error.message) from error
        self.stderr.write(f"Token {row.name!r} created. It is shown only now; store it somewhere safe:")
        self.stdout.write(token)
