"""The ledger's consistency check: the first thing to run after an incident (docs/operations.md)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from ledger import selectors


class Command(BaseCommand):
    help = (
        "Check that signals, trades and the running total agree with each other and with the PnL rules. "
        "Lists every violation and exits 1 if there is any; prints 'ledger consistent' otherwise, and the "
        "account's state if it is in deficit."
    )

    def handle(self, *args, **options) -> None:
        try:
            violations = selectors.ledger_violations()
            state = selectors.account_state()
        except DatabaseError as error:
            raise CommandError(f"Could not read the ledger to check it: {error}") from error
        if not violations:
            self.stdout.write("ledger consistent")
            if state:
                self.stdout.write(state)
            return
        for violation in violations:
            self.stdout.write(str(violation))
        raise CommandError(f"{len(violations)} violations found; docs/operations.md says how to repair them.")
