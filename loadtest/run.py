"""A bounded load test against gunicorn on loopback (docs/operations.md, "Load test").

Client threads mix what the ledger sees in production: signal intake (POST /api/v1/signals, some of them
replays), price ticks (POST /api/v1/prices), dashboard polls (GET / as HTMX asks for one part) and manual
closes (the dashboard's Close button); `close_eod` runs once halfway. Afterwards it asserts that no answer
was a 5xx or otherwise unexpected, that no log says "database is locked", that check_ledger is clean and
that every accepted signal is in the database exactly once, and prints throughput and latencies.

    python -m loadtest.run                       # 20 clients, 60 s, on a fresh SQLite file
    python -m loadtest.run --postgres URL        # the same, then on a fresh database on that server

It talks only to 127.0.0.1, and stops by itself: each client stops at the deadline, each request times out.
"""

import argparse
import http.client
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from http.cookies import SimpleCookie
from pathlib import Path

from tradingsite.serve import HOST, gunicorn

ROOT = Path(__file__).resolve().parents[1]
SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]
PARTS = ["summary", "active-trades", "signals", "journal"]
USERNAME = "loadtest"
REQUEST_TIMEOUT = 30
# What each kind of request may answer. Anything else (a 5xx above all) fails the run.
EXPECTED = {
    "intake": {200, 201},
    "replay": {200},
    "ticks": {200},
    "poll": {200, 304},
    "close": {200, 409},  # 409: a tick or the end of day closed the trade first
}


@dataclass
class Report:
    seconds: float = 0.0
    samples: list[tuple[str, int, float]] = field(default_factory=list)  # (kind, status, seconds)
    accepted: dict[str, bool] = field(default_factory=dict)  # signal_id -> whether its answer had a trade
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, status: int, seconds: float) -> None:
        with self.lock:
            self.samples.append((kind, status, seconds))

    def summary(self) -> str:
        lines = [
            f"{len(self.samples)} requests in {self.seconds:.1f} s: {len(self.samples) / self.seconds:.1f} requests/s"
        ]
        by_kind: dict[str, list[float]] = defaultdict(list)
        for kind, _, seconds in self.samples:
            by_kind[kind].append(seconds)
        for kind, latencies in sorted(by_kind.items()) + [("all", [s for _, _, s in self.samples])]:
            lines.append(
                f"  {kind:7} {len(latencies):6} requests  "
                f"p50 {percentile(latencies, 50):7.1f} ms  p99 {percentile(latencies, 99):7.1f} ms"
            )
        statuses = Counter(status for _, status, _ in self.samples)
        lines.append("  statuses: " + ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items())))
        return "\n".join(lines)


def percentile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return 1000 * (values[0] if values else 0.0)
    return 1000 * statistics.quantiles(values, n=100, method="inclusive")[p - 1]


class Market:
    """Prices that wander, shared by the clients so that signals arrive near the price the ticks set."""

    def __init__(self, rng: random.Random) -> None:
        self.prices = dict.fromkeys(SYMBOLS, Decimal(100))
        self.rng = rng
        self.lock = threading.Lock()

    def move(self) -> dict[str, Decimal]:
        with self.lock:
            for symbol, price in self.prices.items():  # up to 1% a step: stops (2%) and targets (4%) are reached
                self.prices[symbol] = (price * Decimal(1 + self.rng.uniform(-0.01, 0.01))).quantize(Decimal("0.01"))
            return dict(self.prices)

    def price(self, symbol: str) -> Decimal:
        with self.lock:
            return self.prices[symbol]


class Client:
    """One simulated user: a bot with the API token and a trader logged in to the dashboard."""

    def __init__(self, number: int, port: int, token: str, market: Market, report: Report) -> None:
        self.number, self.port, self.token, self.market, self.report = number, port, token, market, report
        self.rng = random.Random(number)
        self.cookies: dict[str, str] = {}
        self.etags: dict[str, str] = {}
        self.sent: list[dict] = []  # signal bodies accepted, for replays
        self.trades: list[int] = []  # trades this client opened, for manual closes
        self.count = 0

    def request(
        self, kind: str, method: str, path: str, body: dict | str | None = None, headers: dict | None = None
    ) -> tuple[int, dict, bytes]:
        # As the TLS proxy in front of gunicorn would forward it (production settings redirect plain HTTP).
        headers = {"X-Forwarded-Proto": "https", "Origin": f"https://{HOST}:{self.port}", **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        if isinstance(body, dict):
            body, headers["Content-Type"] = json.dumps(body), "application/json"
        elif isinstance(body, str):
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection(HOST, self.port, timeout=REQUEST_TIMEOUT)
        started = time.monotonic()
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        self.report.record(kind, response.status, time.monotonic() - started)
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        if response.status not in EXPECTED.get(kind, {200, 302}):
            with self.report.lock:
                self.report.errors.append(f"{kind} {method} {path}: {response.status} {content[:300]!r}")
        return response.status, dict(response.headers), content

    def login(self, password: str) -> None:
        self.request("login", "GET", "/login/")
        form = urllib.parse.urlencode(
            {"username": USERNAME, "password": password, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}
        )
        status, _, _ = self.request("login", "POST", "/login/", form)
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"client {self.number} could not log in (status {status})")

    def api(self, kind: str, path: str, body: dict) -> tuple[int, dict]:
        status, _, content = self.request(
            kind, "POST", f"/api/v1/{path}", body, {"Authorization": f"Bearer {self.token}"}
        )
        return status, (json.loads(content) if content.startswith(b"{") else {})

    def intake(self) -> None:
        if self.sent and self.rng.random() < 0.1:  # a sender retrying: the same body again
            self.api("replay", "signals", self.rng.choice(self.sent))
            return
        self.count += 1
        symbol = self.rng.choice(SYMBOLS)
        body = {
            "signal_id": f"lt-{self.number}-{self.count}",
            "symbol": symbol,
            "action": self.rng.choice(["BUY", "SELL"]),
            "entry_price": str(self.market.price(symbol)),
            "confidence": "0.7",
        }
        status, answer = self.api("intake", "signals", body)
        if status == 201:
            self.sent.append(body)
            trade = answer.get("trade")
            with self.report.lock:
                self.report.accepted[body["signal_id"]] = trade is not None
            if trade:
                self.trades.append(trade["id"])

    def ticks(self) -> None:
        prices = self.market.move()
        self.api("ticks", "prices", {"ticks": [{"symbol": s, "price": str(p)} for s, p in prices.items()]})

    def poll(self) -> None:
        part = self.rng.choice(PARTS)
        headers = {"HX-Request": "true", "HX-Target": part}
        if part in self.etags:
            headers["If-None-Match"] = self.etags[part]
        status, response_headers, _ = self.request("poll", "GET", "/", headers=headers)
        if status == 200 and "ETag" in response_headers:
            self.etags[part] = response_headers["ETag"]

    def close(self) -> None:
        if not self.trades:
            return self.poll()
        trade_id = self.trades.pop(self.rng.randrange(len(self.trades)))
        headers = {"HX-Request": "true", "X-CSRFToken": self.cookies.get("csrftoken", "")}
        self.request("close", "POST", f"/trades/{trade_id}/close/", "", headers)

    def run(self, deadline: float) -> None:
        actions = [self.intake] * 3 + [self.ticks] * 3 + [self.poll] * 3 + [self.close]
        while time.monotonic() < deadline:
            try:
                self.rng.choice(actions)()
            except Exception as error:  # noqa: BLE001 - refused, reset, timed out, garbled: all fail the run
                with self.report.lock:
                    self.report.errors.append(f"client {self.number}: {type(error).__name__}: {error}")


def manage(env: dict, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def server_env(database_url: str, settings_module: str) -> dict:
    """Production settings (DEBUG off, behind a TLS proxy) against the given database, with a throwaway
    secret, and an API rate limit the one token of all the clients together stays under."""
    return os.environ | {
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": HOST,
        "BEHIND_TLS_PROXY": "1",
        "API_RATE_LIMIT": "100000/min",
    }


def prepare(env: dict, *, collect_static: bool) -> tuple[str, str]:
    """Migrate, make the dashboard login and an API token. Returns (password, token)."""
    password = secrets.token_urlsafe(16)
    steps = [
        ["migrate", "--noinput"],
        ["createsuperuser", "--noinput", f"--username={USERNAME}", "--email=loadtest@localhost"],
    ]
    if collect_static:
        steps.append(["collectstatic", "--noinput", "--verbosity=0"])
    for step in steps:
        done = manage(env | {"DJANGO_SUPERUSER_PASSWORD": password}, *step)
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(step)} failed:\n{done.stderr}")
    made = manage(env, "create_api_token", f"loadtest-{secrets.token_hex(4)}", "--scope", "trade")
    if made.returncode:
        raise RuntimeError(f"create_api_token failed:\n{made.stderr}")
    return password, made.stdout.strip()


def drive(
    port: int, *, token: str, password: str, clients: int, seconds: float, env: dict
) -> tuple[Report, subprocess.CompletedProcess]:
    """Run the clients for `seconds`, with close_eod halfway. Returns the report and close_eod's outcome."""
    report, market = Report(), Market(random.Random(0))
    users = [Client(number, port, token, market, report) for number in range(clients)]
    for user in users:
        user.login(password)
    report.samples.clear()  # the logins are not part of the measured mix
    started = time.monotonic()
    deadline = started + seconds
    threads = [threading.Thread(target=user.run, args=(deadline,), daemon=True) for user in users]
    for thread in threads:
        thread.start()
    time.sleep(seconds / 2)
    eod = manage(env, "close_eod", timeout=seconds + 60)
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + REQUEST_TIMEOUT + 5)
    report.seconds = time.monotonic() - started
    if any(thread.is_alive() for thread in threads):
        report.errors.append("a client did not stop within its request timeout")
    return report, eod


STORED_SIGNALS = (
    "import json; from ledger.models import Signal, PaperTrade; "
    "print(json.dumps({'signals': list(Signal.objects.values_list('signal_id', flat=True)), "
    "'traded': list(PaperTrade.objects.exclude(signal=None).values_list('signal_id', flat=True))}))"
)


def verdict(report: Report, eod: subprocess.CompletedProcess, env: dict, log_path: Path) -> list[str]:
    """Everything that went wrong; empty when the run passed."""
    problems = list(report.errors[:20])
    if len(report.errors) > 20:
        problems.append(f"... and {len(report.errors) - 20} more unexpected answers or failed requests")
    server_errors = sum(1 for _, status, _ in report.samples if status >= 500)
    if server_errors:
        problems.append(f"{server_errors} answers were 5xx")
    if eod.returncode:
        problems.append(f"close_eod failed halfway: {eod.stderr.strip()}")
    locked = log_path.read_text().count("database is locked") + (eod.stdout + eod.stderr).count("database is locked")
    if locked:
        problems.append(f'"database is locked" appears {locked} times in the logs ({log_path})')
    checked = manage(env, "check_ledger")
    if checked.returncode:
        problems.append(f"check_ledger is not clean:\n{checked.stdout}{checked.stderr}")
    stored = json.loads(manage(env, "shell", "--no-imports", "-c", STORED_SIGNALS).stdout)
    if sorted(stored["signals"]) != sorted(report.accepted):
        missing = set(report.accepted) - set(stored["signals"])
        extra = Counter(stored["signals"]) - Counter(report.accepted)
        problems.append(
            f"accepted signals not stored exactly once: {len(missing)} missing, {sum(extra.values())} unexpected"
        )
    if sorted(stored["traded"]) != sorted(sid for sid, traded in report.accepted.items() if traded):
        problems.append("the trades in the database are not exactly those the intake answered with")
    return problems


def run(
    database_url: str,
    *,
    clients: int,
    seconds: float,
    log_path: Path,
    settings_module: str = "tradingsite.settings",
    workers: int = 4,
) -> tuple[Report, list[str]]:
    """The whole load test against one database, which should hold no other signals."""
    env = server_env(database_url, settings_module)
    password, token = prepare(env, collect_static=settings_module == "tradingsite.settings")
    with gunicorn(env=env, log_path=log_path, workers=workers) as server:
        report, eod = drive(server.port, token=token, password=password, clients=clients, seconds=seconds, env=env)
    return report, verdict(report, eod, env, log_path)


def fresh_postgres(url: str) -> str:
    """A new, empty database `<name>_loadtest` beside the one the URL names (on a loopback server only)."""
    import psycopg

    parts = urllib.parse.urlsplit(url)
    if parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise SystemExit(f"the load test runs against a loopback PostgreSQL only, not {parts.hostname}")
    name = f"{parts.path.lstrip('/') or 'ledger'}_loadtest"
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return parts._replace(path=f"/{name}").geturl()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--postgres", metavar="URL", help="also run on a fresh database on this PostgreSQL server")
    parser.add_argument("--skip-sqlite", action="store_true")
    options = parser.parse_args()
    if not 1 <= options.clients <= 200 or not 1 <= options.seconds <= 600:
        parser.error("--clients must be 1 to 200 and --seconds 1 to 600")
    (ROOT / "artifacts").mkdir(exist_ok=True)
    failed = False
    with tempfile.TemporaryDirectory(prefix="loadtest-") as folder:
        targets = [] if options.skip_sqlite else [("sqlite", f"sqlite:///{folder}/ledger.sqlite3")]
        if options.postgres:
            targets.append(("postgres", fresh_postgres(options.postgres)))
        for name, url in targets:
            log_path = ROOT / "artifacts" / f"loadtest-{name}.log"
            print(
                f"== {name}: {options.clients} clients for {options.seconds:g} s, "
                f"gunicorn with {options.workers} workers",
                flush=True,
            )
            report, problems = run(
                url, clients=options.clients, seconds=options.seconds, log_path=log_path, workers=options.workers
            )
            print(report.summary())
            print(f"  accepted signals: {len(report.accepted)}")
            for problem in problems:
                print(f"  FAIL {problem}")
            print(
                f"  FAILED; gunicorn's log: {log_path}"
                if problems
                else "  PASS: no 5xx, no lock errors, ledger consistent, each signal stored once",
                flush=True,
            )
            failed |= bool(problems)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
