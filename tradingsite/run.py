"""`make run`: the demo feed and gunicorn together, on one terminal.

Starts `manage.py simulate` and gunicorn (and `manage.py notify`, the trader's notifications, when PAPER_NOTIFY_URLS
is set), waits until each has started, then prints where the site is and the demo login as the last lines, and
again every three minutes, so they are never buried for long under the feed's lines.
The live pages' refreshes are left out of gunicorn's access log (QuietPolls).
Ctrl-C (or SIGTERM) stops them all and exits 0: every process of the terminal's group gets the signal, each stops
quietly, and this one waits for them.
"""

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

from gunicorn.glogging import Logger

from ledger.management.commands.demo_login import DEMO_PASSWORD, DEMO_USERNAME


class QuietPolls(Logger):
    """gunicorn's logger, less the access lines of the live pages' refreshes (an HTMX GET of a part that answered 200
    or 304: four a tab every 5 s, all day). Errors and everything else are logged; LOG_POLLS=1 logs them all."""

    def access(self, resp, req, environ, request_time) -> None:
        refresh = (
            environ.get("REQUEST_METHOD") == "GET" and "HTTP_HX_TARGET" in environ and resp.status_code in (200, 304)
        )
        if refresh and os.environ.get("LOG_POLLS") != "1":
            return
        super().access(resp, req, environ, request_time)


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
            "tradingsite.wsgi",
            "--bind",
            f"{args.host}:{args.port}",
            "--workers",
            "2",
            "--timeout",
            "300",
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
