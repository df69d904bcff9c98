"""The replays' worker, beside the price feed (docs/replay.md): takes the queued replays one at a time."""

import time

from django.core.management.base import BaseCommand, CommandParser

from ledger import services


class Command(BaseCommand):
    help = (
        "Run the queued replays, oldest first, each claimed by a guarded update so that two workers never run "
        "the same one; with --once, stop when none is waiting."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Stop when no replay is waiting.")
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between looks for a replay.")

    def handle(self, *args, once: bool, interval: float, **options) -> None:
        while True:
            claimed = services.replay_claim()
            if claimed is None:
                if once:
                    return
                time.sleep(interval)
                continue
            done = services.replay_run(replay_id=claimed.pk)
            self.stdout.write(
                f"Replay #{done.pk}: {done.get_status_display().lower()}{f': {done.error}' if done.error else ''}"
            )
