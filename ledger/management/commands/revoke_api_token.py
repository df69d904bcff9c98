"""Revoke a named API token: from now on it answers 401."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledger import services
from ledger.errors import LedgerError


class Command(BaseCommand):
    help = "Revoke a named API token. Revoking a revoked token again changes nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The token's name, as given to create_api_token.")

    def handle(self, *args, name: str, **options) -> None:
        try:
            row = services.api_token_revoke(name=name)
        except LedgerError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"Token {row.name!r} ({row.prefix}…) is revoked since {row.revoked_at:%Y-%m-%d %H:%M:%S %Z}.")
