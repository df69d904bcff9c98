"""`make run`: the demo feed and gunicorn together, on one terminal.

Starts `manage.py simulate` and gunicorn (and `manage.py notify`, the trader's notifications, when PAPER_NOTIFY_URLS
is set), waits until each has started, then prints where the site is and the demo login as the last lines, and
again every three minutes, so they are never buried for long under the feed's lines.
The live pages' refreshes are left out of gunicorn's access log (QuietPolls).
Ctrl-C (or SIGTERM) stops them all and exits 0: every process of the terminal's group gets the signal, each stops
quietly, and this one waits for them.
"""

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

from gunicorn.glogging import Logger

from ledger.management.commands.demo_login import DEMO_PASSWORD, DEMO_USERNAME
from tradingsite.asgi import REFRESH
from tradingsite.serve import ASGI


class QuietPolls(Logger):
    """gunicorn's logger, less the access lines of the live pages' refreshes (an HTMX GET of a part that answered 200
    or 304: a tab's parts after each event, or every 5 s while it polls). uvicorn's worker writes its access lines
    through this logger's handlers as records of its own, so a filter on them drops those of a refresh
    (tradingsite.asgi marks the request). Errors and everything else are logged; LOG_POLLS=1 logs them all."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        if os.environ.get("LOG_POLLS") != "1":
            for handler in self.access_log.handlers:  # uvicorn's worker takes the handlers, not the logger
                handler.addFilter(_not_a_refresh)
        self.error_log.addFilter(_not_a_socket_closed_twice)


def _not_a_socket_closed_twice(record: logging.LogRecord) -> bool:
    """At a stop, uvicorn's worker has closed its listening socket before gunicorn closes it again, which gunicorn
    reports (at INFO) as "Error while closing socket [Errno 9] Bad file descriptor": nothing went wrong."""
    return not (record.msg == "Error while closing socket %s" and "[Errno 9]" in str(record.args))


def _not_a_refresh(record: logging.LogRecord) -> bool:
    status = record.args[-1] if isinstance(record.args, tuple) and record.args else None
    return not (REFRESH.get() and status in (200, 304))


def banner(url: str) -> str:
    return f"\n  Paper ledger at {url}/  log in as {DEMO_USERNAME} / {DEMO_PASSWORD}  (Ctrl-C stops it)\n"


def wait_until_up(url: str, server: subprocess.Popen, *, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while server.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                return True
        except OSError:  # not listening yet
            time.sleep(0.2)
    return False


def relayed(command: str) -> tuple[subprocess.Popen, threading.Event]:
    """`manage.py <command>` started, its lines passing through here; the event is set once its first one is out,
    which says it has started (so the banner cannot come before it)."""
    process = subprocess.Popen(
        [sys.executable, "manage.py", command],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    started = threading.Event()

    def relay() -> None:
        for line in process.stdout:
            print(line, end="", flush=True)
            started.set()  # after the line is out, so the banner can't come before it

    threading.Thread(target=relay, daemon=True).start()
    return process, started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--banner-every", type=float, default=180, help="Seconds between reminders of the URL and login."
    )
    args = parser.parse_args(argv)
    url = f"http://{args.host}:{args.port}"
    stopping = False

    def stop(signum, frame) -> None:  # Ctrl-C reaches the children by itself; SIGTERM is passed on
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    feed, feed_started = relayed("simulate")
    # The trader's notifications, when there is somewhere to send them.
    notifier = relayed("notify") if os.environ.get("PAPER_NOTIFY_URLS") else None
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            *ASGI,
            "--bind",
            f"{args.host}:{args.port}",
            "--workers",
            "2",
            "--timeout",
            "300",
            "--graceful-timeout",
            "5",  # open event streams end at a stop instead of holding it for gunicorn's 30 s
            "--access-logfile",
            "-",
            "--logger-class",
            "tradingsite.run.QuietPolls",
        ]
    )
    children = (feed, server, *([notifier[0]] if notifier else []))
    started = (feed_started, *([notifier[1]] if notifier else []))
    if wait_until_up(url, server) and all(each.wait(timeout=60) for each in started):
        next_banner = time.monotonic()
        while not stopping and all(child.poll() is None for child in children):
            if time.monotonic() >= next_banner:
                print(banner(url), flush=True)
                next_banner = time.monotonic() + args.banner_every
            time.sleep(0.2)
    for child in children:
        if child.poll() is None:
            child.terminate()
        child.wait()
    if not stopping:  # a child ended by itself: its own lines above say why
        print("make run: the server, the demo feed or the notifier stopped; all are stopped now.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
