"""Remove the outbox's old events (docs/operations.md, "Events")."""

from argparse import ArgumentTypeError

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from ledger import services


def _days(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ArgumentTypeError(f"give a whole number of days, at least 1, not {text!r}")
    return int(text)


class Command(BaseCommand):
    help = "Delete the events older than PAPER_EVENTS_KEEP_DAYS days (or --keep-days). Safe to run at any time."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--keep-days",
            type=_days,
            default=settings.PAPER_EVENTS_KEEP_DAYS,
            metavar="DAYS",
            help="Days of events to keep, at least 1 (default: PAPER_EVENTS_KEEP_DAYS, %(default)s).",
        )

    def handle(self, *args, keep_days: int, **options) -> None:
        deleted = services.events_prune(keep_days=keep_days)
        self.stdout.write(f"{deleted:,} event(s) older than {keep_days} day(s) deleted.")
