"""The trader's notifications: `manage.py notify` sends the outbox's events through Apprise (ledger/notify/)."""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ledger.notify.worker import Worker, open_channels


class Command(BaseCommand):
    help = (
        "Send fills, exits, liquidations, refused signals, a stalled feed and each day's digest to the Apprise URLs "
        "of PAPER_NOTIFY_URLS (the kinds of PAPER_NOTIFY_KINDS), each event once; SIGTERM or Ctrl-C stops it."
    )
    requires_system_checks = []  # a worker: the site's checks (its URLs, its views) are the server's to run

    def handle(self, *args, **options) -> None:
        if not settings.PAPER_NOTIFY_URLS:
            raise CommandError("PAPER_NOTIFY_URLS is empty: there is nowhere to send notifications.")
        try:
            channels = open_channels(settings.PAPER_NOTIFY_URLS)
        except ValueError as error:
            raise CommandError(str(error)) from None
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
        names = ", ".join(channel.name for channel in channels)
        self.stdout.write(f"Notifying {names} of {', '.join(settings.PAPER_NOTIFY_KINDS) or 'nothing'}.")
        try:
            sent = Worker(channels, kinds=settings.PAPER_NOTIFY_KINDS).run(until=stop.is_set, sleep=stop.wait)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write(f"Stopped: {sent} messages sent.")
