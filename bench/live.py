"""Live push (issue 26), run by bench/run.py: a real gunicorn with uvicorn's worker on a loopback port and Debian's
Chromium (Playwright) on the dashboard, DATABASE_URL naming a scratch database, emptied first.

- Tick -> DOM: a tick posted through the API, timed from just before the POST to the moment the open trade's price
  cell shows it (a MutationObserver in the page stamps Date.now(): the same clock as this process's), with the
  page's stream alone and with 99 more streams of the same login read by plain HTTP clients (aiohttp). Each tick
  comes after a quiet spell longer than a poll's interval (the longest a part holds a batch of prices back,
  static/ledger/live.js): a lone tick, as the trader sees one. The floor is the same page polling beside it (its
  stream refused in the browser, as by a proxy that will not hold it), timed on the same ticks: what the stream
  replaces.
- Memory: the server's memory (its master's and workers' proportional set sizes, summed: shared pages counted once;
  their resident sizes beside) with 1,000 idle streams open, against none.
- Bytes: two tabs on the dashboard, one holding its stream and one polling, while `manage.py simulate` (the demo's
  feed: five symbols, a batch a second, a signal every 15) runs; each tab reaches the server through a counting
  proxy of its own, which sums what the server sends it (headers and bodies, compressed as sent), from the moment
  both are live; extrapolated to an hour.
Prints one JSON line. Only 127.0.0.1 is ever sent traffic.
"""

import asyncio
import itertools
import json
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import django

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
django.setup()

import aiohttp  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from bench import SMOKE  # noqa: E402
from ledger import services  # noqa: E402
from ledger.inputs import SignalFields, Tick  # noqa: E402
from ledger.models import ApiToken  # noqa: E402
from ledger.templatetags.ledger_format import price as shown  # noqa: E402
from tradingsite.serve import HOST, free_port, gunicorn  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LOG = Path(os.environ.get("BENCH_DATA", ROOT / "bench" / "data")) / "gunicorn-live.log"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
WORKERS = 2
# The smoke polls every half second so its ticks take seconds; `make bench` keeps the dashboard's default 5 s.
POLL_MS = 500 if SMOKE else 5000
SAMPLES, CROWD, IDLE, FEED_SECONDS = (2, 9, 20, 2) if SMOKE else (20, 99, 1000, 60)
PRICES = itertools.count(1)
JITTER = random.Random(1)
ENV = os.environ | {"DJANGO_SETTINGS_MODULE": "bench.settings", "DASHBOARD_POLL_MS": str(POLL_MS)}

# Stamps the moment each price the open trade's cell shows first appeared, by its text; and on a page holding its
# stream, when the next batch of prices arrived (its event, before the part's refresh).
OBSERVE = """(cell) => {
  window.stamps = {};
  const stamp = () => {
    const shown = document.querySelector(cell)?.textContent.trim();
    if (shown && !(shown in window.stamps)) window.stamps[shown] = Date.now();
  };
  new MutationObserver(stamp).observe(document.body, {subtree: true, childList: true, characterData: true});
  stamp();
  document.body.addEventListener("sse:prices.applied", () => { window.arrived ??= Date.now(); });
}"""


def prepare() -> tuple[str, str, int]:
    """An empty ledger but for one open trade (LONG BTCUSDT at 100, stop 90, target 110); a login's session cookie,
    an API token, and the trade's id."""
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    user = get_user_model().objects.create_user(username="bench")
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    _, token = services.api_token_create(name="bench", scope=ApiToken.Scope.TRADE)
    now = timezone.now()
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal(100), now)])
    intake = services.signal_intake(
        signal=SignalFields(
            signal_id="live-1",
            symbol="BTCUSDT",
            action="BUY",
            entry_price=Decimal(100),
            confidence=Decimal("0.8"),
            timestamp=now,
            stop_loss=Decimal(90),
            take_profit=Decimal(110),
        )
    )
    assert intake.trade, intake.refused
    return client.cookies["sessionid"].value, token, intake.trade.pk


def post_tick(url: str, token: str, price: str) -> None:
    body = json.dumps({"ticks": [{"symbol": "BTCUSDT", "price": price}]}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with urllib.request.urlopen(urllib.request.Request(f"{url}/api/v1/prices", data=body, headers=headers)) as answer:
        assert answer.status == 200


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


class Loop:
    """An event loop in a thread of its own, beside Playwright's: the extra streams and the counting proxies."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine, timeout: float = 120):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)


@contextmanager
def streams(loop: Loop, url: str, cookie: str, count: int) -> Iterator[list[int]]:
    """`count` streams of /live/events on one login, each read to the end as a page's would be, open for the block
    (each has received "stream.ready" when the block starts); yields the bytes each has received so far."""
    received = [0] * count
    ready = asyncio.Event()
    opened = 0
    session: aiohttp.ClientSession | None = None

    async def hold(n: int, gate: asyncio.Semaphore) -> None:
        nonlocal opened
        await gate.acquire()  # a few dozen connect at a time: a thousand at once is a SYN flood, not a measure
        async with session.get(f"{url}/live/events", headers={"Accept": "text/event-stream"}) as response:
            try:
                assert response.status == 200, response.status
                first = await response.content.readuntil(b"\n\n")
                assert b"stream.ready" in first, first
            finally:
                gate.release()
            received[n] += len(first)
            opened += 1
            if opened == count:
                ready.set()
            async for chunk in response.content.iter_any():
                received[n] += len(chunk)

    async def start() -> list[asyncio.Task]:
        nonlocal session
        connector = aiohttp.TCPConnector(limit=0)
        session = aiohttp.ClientSession(
            connector=connector, cookies={"sessionid": cookie}, timeout=aiohttp.ClientTimeout(total=None)
        )
        gate = asyncio.Semaphore(50)
        tasks = [asyncio.create_task(hold(n, gate)) for n in range(count)]
        waiting = asyncio.create_task(ready.wait())
        await asyncio.wait([waiting, *tasks], return_when=asyncio.FIRST_COMPLETED)
        failed = [task for task in tasks if task.done() and task.exception()]
        if failed:
            raise failed[0].exception()
        return tasks

    async def stop(tasks: list[asyncio.Task]) -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await session.close()

    tasks = loop.run(start()) if count else []
    try:
        yield received
    finally:
        if count:
            loop.run(stop(tasks))


class Meter:
    """A TCP proxy on a loopback port in front of the server, summing the bytes the server sends through it."""

    def __init__(self, loop: Loop, port: int) -> None:
        self.received = 0
        self.port = free_port()

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, counted: bool) -> None:
            try:
                while data := await reader.read(65536):
                    if counted:
                        self.received += len(data)
                    writer.write(data)
                    await writer.drain()
            except ConnectionError:
                pass
            finally:
                writer.close()

        async def connection(client_reader, client_writer) -> None:
            server_reader, server_writer = await asyncio.open_connection(HOST, port)
            await asyncio.gather(pipe(client_reader, server_writer, False), pipe(server_reader, client_writer, True))

        async def listen() -> asyncio.Server:
            return await asyncio.start_server(connection, HOST, self.port)

        self.server = loop.run(listen())
        self.url = f"http://{HOST}:{self.port}"


def server_memory_mb(server: subprocess.Popen) -> dict:
    """The server's memory, its master and its workers: the resident memory of each (VmRSS in /proc) summed, which
    counts a page the workers share with the master (the application, loaded once: --preload) once in each; and
    their proportional set size summed (Pss in /proc/<pid>/smaps_rollup: each page divided among the processes that
    share it), which counts it once. The second is the memory the server holds; the first, with the workers' own, is
    given beside it."""
    pids = [server.pid, *Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()]

    def kb(path: str, field: str, pid) -> int:
        return int(re.search(rf"^{field}:\s+(\d+) kB", Path(f"/proc/{pid}/{path}").read_text(), re.M).group(1))

    rss = [kb("status", "VmRSS", pid) for pid in pids]
    pss = [kb("smaps_rollup", "Pss", pid) for pid in pids]
    return {"pss": sum(pss) / 1024, "rss": sum(rss) / 1024, "workers_rss": sum(rss[1:]) / 1024}


def dashboard(browser, url: str, cookie: str, *, stream: bool):
    """A fresh tab on the dashboard, logged in, holding its stream (or polling: the stream refused, as by a proxy
    that will not hold it), once it is live."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": cookie, "url": url}])
    page = context.new_page()
    if not stream:
        page.route("**/live/events**", lambda route: route.abort())
    page.goto(f"{url}/")
    page.wait_for_selector(f"body[data-live={'stream' if stream else 'poll'}]")
    return page


def tick_to_dom(pages: list, url: str, token: str, trade: int, *, polled: bool = False) -> list[dict]:
    """Milliseconds from a tick's POST to its price in the trade's row, on each page, for SAMPLES ticks, each once
    the pages have been left alone for longer than a part's coalescing of prices (a poll's interval, live.js). With
    a polling page among them (`polled`) each tick also waits a random part of a poll's interval, so that the ticks
    fall anywhere between two polls (a tick sent a fixed time after the poll that showed the last one would always
    wait as long for the next)."""
    for page in pages:
        page.evaluate(OBSERVE, f"#trade-{trade} td:nth-of-type(4)")
    latencies = [{"dom": [], "event": []} for _ in pages]
    for _ in range(SAMPLES):
        quiet = POLL_MS + 500 + (JITTER.random() * POLL_MS if polled else 0)
        pages[0].wait_for_timeout(quiet)  # (Playwright's wait: the pages' events are handled meanwhile)
        price = Decimal(100) + Decimal(next(PRICES)) / 10_000  # a price never shown before: 100.0001, 100.0002, ...
        for page in pages:
            page.evaluate("window.arrived = null")
        sent = time.time() * 1000
        post_tick(url, token, str(price))
        for page, measured in zip(pages, latencies, strict=True):
            wait_shown(page, shown(price))
            measured["dom"].append(page.evaluate("(p) => window.stamps[p]", shown(price)) - sent)
            if arrived := page.evaluate("window.arrived"):
                measured["event"].append(arrived - sent)
    return latencies


def wait_shown(page, price: str) -> None:
    """Until the page has stamped the price (its stamp, not this wait, is the measurement). Asked from here:
    Playwright's wait_for_function polls by evaluating a string, which the page's CSP may refuse."""
    deadline = time.monotonic() + (3 * POLL_MS + 10_000) / 1000
    while not page.evaluate("(p) => p in window.stamps", price):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{price} never reached the page")
        page.wait_for_timeout(20)


def summary(latencies: dict[str, list[float]]) -> dict:
    """Tick -> DOM's p50, p95 and max; and for a page holding its stream, tick -> its event's arrival."""
    dom, event = latencies["dom"], latencies["event"]
    measured = {"p50_ms": statistics.median(dom), "p95_ms": percentile(dom, 95), "max_ms": max(dom)}
    measured["samples"] = len(dom)
    if event:
        measured |= {"event_p50_ms": statistics.median(event), "event_p95_ms": percentile(event, 95)}
    return measured


def feed_bytes(browser, loop: Loop, port: int, cookie: str) -> dict:
    """Bytes per hour a tab receives holding its stream and polling, side by side under the demo's feed."""
    metered = {way: Meter(loop, port) for way in ("stream", "poll")}
    pages = {way: dashboard(browser, meter.url, cookie, stream=way == "stream") for way, meter in metered.items()}
    requests = {way: [] for way in pages}
    for way, page in pages.items():
        page.on("request", lambda request, way=way: requests[way].append(request.url))
    command = subprocess.Popen(
        [sys.executable, "manage.py", "simulate", "--tick-ms", "1000", "--seed", "1"],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        pages["stream"].wait_for_timeout(1000)  # its first batch: both tabs start counting from the same state
        start = {way: meter.received for way, meter in metered.items()}
        for lists in requests.values():
            lists.clear()
        started = time.monotonic()
        pages["stream"].wait_for_timeout(1000 * FEED_SECONDS)  # (Playwright reports the requests while it waits)
        seconds = time.monotonic() - started
        counted = {way: meter.received - start[way] for way, meter in metered.items()}
        asked = {way: len(lists) for way, lists in requests.items()}
    finally:
        command.terminate()
        _, err = command.communicate(timeout=30)
    if command.returncode not in (0, -15):
        raise SystemExit(f"simulate exited {command.returncode}: {err[-3000:]}")
    for page in pages.values():
        page.context.close()
    hour = 3600 / seconds
    return {
        "seconds": round(seconds, 1),
        "stream_bytes": counted["stream"],
        "poll_bytes": counted["poll"],
        "stream_requests": asked["stream"],
        "poll_requests": asked["poll"],
        "stream_mb_per_hour": counted["stream"] * hour / 1e6,
        "poll_mb_per_hour": counted["poll"] * hour / 1e6,
    }


def measure() -> dict:
    cookie, token, trade = prepare()
    loop = Loop()
    results = {"poll_ms": POLL_MS, "crowd": CROWD + 1, "idle": IDLE}
    with gunicorn(env=ENV, log_path=LOG, workers=WORKERS) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = dashboard(browser, server.url, cookie, stream=True)
        polling = dashboard(browser, server.url, cookie, stream=False)
        alone, polled = tick_to_dom([page, polling], server.url, token, trade, polled=True)
        results["stream_1"], results["poll"] = summary(alone), summary(polled)
        polling.context.close()
        with streams(loop, server.url, cookie, CROWD):
            results["stream_crowd"] = summary(tick_to_dom([page], server.url, token, trade)[0])
        page.context.close()

        time.sleep(1)
        results["memory_none_mb"] = server_memory_mb(server.process)
        with streams(loop, server.url, cookie, IDLE):
            time.sleep(POLL_MS / 1000)  # settled: every stream has sent its first message and waits
            results["memory_idle_mb"] = server_memory_mb(server.process)
        results["bytes"] = feed_bytes(browser, loop, server.port, cookie)
        browser.close()
    return results


if __name__ == "__main__":
    print("BENCH_JSON " + json.dumps(measure()))
