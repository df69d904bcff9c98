"""One scale of the benchmark: a database with N closed trades, served by gunicorn, measured with wrk.

Run by bench/run.py as `python -m bench.scale --closed N` with DATABASE_URL naming the database;
prints one JSON line with every measurement. Only 127.0.0.1 is ever sent traffic.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from pathlib import Path

import django

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import F, Max, Min  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench import SMOKE, generate  # noqa: E402
from ledger import selectors, services  # noqa: E402
from ledger.days import today  # noqa: E402
from ledger.models import ApiToken, Book, BookMember, PaperTrade, Signal  # noqa: E402

# The grouped queries selectors.stats runs, timed one by one (`ledger.selectors.stats` the module, not the function).
from ledger.selectors.figures import figure_aggregates, figure_cells  # noqa: E402
from ledger.selectors.stats import (  # noqa: E402
    _by_confluence,
    _by_elements,
    _by_entry_time,
    _confidence_band,
    _longest_streaks,
    _r_histogram,
)
from ledger.services import default_book as book  # noqa: E402
from tradingsite.serve import Server, gunicorn  # noqa: E402

HERE = Path(__file__).resolve().parent
PARTS = ["summary", "active-trades", "signals", "journal"]
WORKERS = 2  # the same for every endpoint and floor
ENV = os.environ | {"DJANGO_SETTINGS_MODULE": "bench.settings"}
LOG = Path(os.environ.get("BENCH_DATA", HERE / "data")) / "gunicorn.log"  # the smoke's: in its scratch directory
INTAKE_CLIENTS = 8
# The pages that read the per-day aggregates over all history (docs/books.md, "Aggregates"), at each scale.
AGGREGATED = {"books page": "/books/?period=all", "statistics all history": "/stats/?period=all"}
SECONDS = int(os.environ.get("BENCH_SECONDS", "1" if SMOKE else "4"))  # per measurement
WARM_UP = not SMOKE  # 1 s before each measurement; the smoke only checks the answers


def _prepare(closed: int) -> tuple[str, str]:
    """Migrate, collect the static files (the production storage serves pages from its manifest), fill (or
    reuse) the history, make today anew; returns a session cookie and an API token."""
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    generate.clear_today()
    if PaperTrade.objects.count() != closed or Book.objects.count() != generate.BOOKS:
        call_command("flush", interactive=False, verbosity=0)
        started = time.monotonic()
        generate.fill_history(closed)
        print(f"  generated {closed:,} closed trades in {time.monotonic() - started:.0f} s", file=sys.stderr)
    generate.add_today()
    user, _ = get_user_model().objects.get_or_create(username="bench")
    for each in Book.objects.all():  # /books/ compares the 20; the pages show the first, the default book
        BookMember.objects.get_or_create(book=each, user=user)
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    ApiToken.objects.filter(name="bench").delete()
    _, token = services.api_token_create(name="bench", scope=ApiToken.Scope.TRADE)
    return client.cookies["sessionid"].value, token


def journal_pages(closed: int) -> dict[str, tuple[str, str | None]]:
    """The journal's pages measured, each with its floor (the same view rendering rows held in memory): a trade
    from the middle of the history (two hours of minute candles made for it), its chart data, the history's
    first page and its deepest one (the 50 oldest closes, after the 51st oldest)."""
    trade = PaperTrade.objects.get(signal_id=f"h{closed // 2}")
    generate.add_candles(trade)
    closes = PaperTrade.objects.filter(status__in=PaperTrade.CLOSED_STATUSES).order_by("exit_time", "pk")
    deepest = closes.values_list("pk", flat=True)[50]
    return {
        "trade page": (f"/trades/{trade.pk}/", f"/bench/memory/trade/{trade.pk}/"),
        "trade chart.json": (f"/trades/{trade.pk}/chart.json", f"/bench/memory/trade-chart/{trade.pk}/"),
        "history first page": ("/journal/", None),
        "history deepest page": (f"/journal/?after={deepest}", f"/bench/memory/history/{deepest}/"),
    }


def _query_counts(cookie: str, token: str, journal: dict[str, tuple[str, str | None]]) -> dict[str, int]:
    """How many queries each part, each journal page, the statistics and one intake run (in this process,
    through the test client)."""
    client = Client()
    client.cookies["sessionid"] = cookie
    counts = {}
    for part in PARTS:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET=part).status_code == 200
        counts[part] = len(queries)
    for name, (url, _) in journal.items():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts[name] = len(queries)
    with CaptureQueriesContext(connection) as queries:
        selectors.stats(book(), today() - timedelta(days=STATS_DAYS - 1), today())
    counts["statistics"] = len(queries)
    for name, url in AGGREGATED.items():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts[name] = len(queries)
    body = {"signal_id": "count-1", "symbol": "BTCUSDT", "action": "BUY", "entry_price": "100", "confidence": "0.5"}
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            "/api/v1/signals", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )
        assert response.status_code == 201, response.content
    counts["intake"] = len(queries)
    _remove_intake()
    return counts


def _aggregates_apart() -> tuple[int, float]:
    """How many per-day aggregates of the books differ from a recomputation from the trades (check_ledger's
    selectors.day_violations, book by book), and the seconds that took."""
    started = time.monotonic()
    apart = sum(len(selectors.day_violations(each)) for each in Book.objects.all())
    return apart, time.monotonic() - started


def _remove_intake() -> None:
    """Take the benchmark's own signals and trades out again, so the database can be reused as it was."""
    mine = Signal.objects.filter(signal_id__regex=r"^(count|intake)-")
    PaperTrade.objects.filter(signal__in=mine).delete()
    mine.delete()


def _wrk(
    url: str,
    *,
    connections: int = WORKERS,
    headers: dict[str, str] | None = None,
    script: str = "report.lua",
    args: list[str] = (),
    failures_counted: bool = False,
) -> dict:
    """wrk's latencies and counts for `url`. A timing of failed answers measures nothing, so any error or 4xx/5xx
    stops the benchmark, unless the caller counts failures as a target of their own (`failures_counted`)."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{SECONDS}s", "--timeout", "10s", "-s", str(HERE / script)]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if WARM_UP:
        subprocess.run(command[:3] + ["-d1s"] + command[4:] + [url, *args], capture_output=True, check=True)
    out = subprocess.run(command + [url, *args], capture_output=True, text=True, check=True).stdout
    found = re.search(r"^WRK_JSON (.*)$", out, re.M)
    result = json.loads(found.group(1))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    if not failures_counted and result["errors"] + result["non_2xx_3xx"]:
        raise SystemExit(
            f"{url}: {result['non_2xx_3xx']} answers not 2xx/3xx and {result['errors']} errors "
            f"of {result['requests']} (see {LOG})"
        )
    return result


def _worker_peak_rss_mb(server: subprocess.Popen) -> float:
    """The largest peak resident size (VmHWM) among the gunicorn workers."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    peaks = []
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text()
        peaks.append(int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024)
    return max(peaks)


def _wait_for_minute_with(seconds: float) -> None:
    """Sleep into the next clock minute if fewer than `seconds` are left of this one."""
    left = 60 - time.time() % 60
    if left < seconds:
        time.sleep(left)


def _etag(url: str, cookie: str, part: str) -> str:
    request = urllib.request.Request(
        url + "/", headers={"Cookie": f"sessionid={cookie}", "HX-Request": "true", "HX-Target": part}
    )
    return urllib.request.urlopen(request).headers["ETag"]


def _export_peak_rss_mb(cookie: str) -> tuple[float, int]:
    """Stream the whole journal as CSV from a fresh one-worker gunicorn; its peak RSS and the rows sent."""
    with gunicorn(env=ENV, log_path=LOG, workers=1, timeout=600) as server:  # 1M rows stream for ~30 s
        request = urllib.request.Request(
            f"{server.url}/export/journal.csv?period=all", headers={"Cookie": f"sessionid={cookie}"}
        )
        with urllib.request.urlopen(request, timeout=600) as response:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: response.read(1 << 20), b""))
        return _worker_peak_rss_mb(server.process), lines - 1  # less the header


STATS_DAYS = 30  # the statistics page's default period
STATS_RUNS = 3  # each statistic is timed this many times; the median counts


def _timed(query, runs: int = STATS_RUNS) -> float:
    """The median time of a query (a callable that runs it to the end), in ms."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        query()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _statistics() -> dict:
    """Each statistic by setup (one grouped query each, as selectors.stats runs them) over the last 30 days and
    over all history, in this process, beside its floor: the same figures of the same rows in one ungrouped
    aggregate, so the ratio is what the setup's grouping adds (unnesting a JSON list, joining the signal,
    the time of day in the trading zone, a window over the closes)."""
    result = {}
    for period, start in (("30 days", today() - timedelta(days=STATS_DAYS - 1)), ("all history", None)):
        trades = selectors.core.closed_between(book(), start, today() if start else None)
        entered = trades.aggregate(first=Min("entry_time"), last=Max("entry_time"))
        queries = {
            "by tag": lambda: _by_elements(trades, "tags"),
            "by confluence": lambda: _by_confluence(trades),
            "by timeframe and confidence": lambda: figure_cells(
                trades, timeframe=F("signal__timeframe"), band=_confidence_band()
            ),
            "by weekday and hour": lambda: _by_entry_time(trades, (entered["first"], entered["last"])),
            "R histogram": lambda: _r_histogram(trades),
            "streaks": lambda: _longest_streaks(trades),
        }
        floor = _timed(lambda: trades.aggregate(**figure_aggregates()))
        result[period] = {"rows": trades.count(), "floor_ms": floor} | {
            name: _timed(query) for name, query in queries.items()
        }
        result[period]["whole page's stats"] = _timed(
            lambda: selectors.stats(book(), start, today() if start else None), runs=1
        )  # for the record
    return result


def measure(closed: int, *, full: bool) -> dict:
    """Every part, the journal's pages and the intake; with `full`, also the floors, the 304 polls, the page,
    the statistics by setup and memory."""
    cookie, token = _prepare(closed)
    journal = journal_pages(closed)
    result: dict = {"closed": closed, "queries": _query_counts(cookie, token, journal)}
    result["aggregates_apart"], result["aggregates_check_s"] = _aggregates_apart()
    if full:
        result["statistics"] = _statistics()
    try:
        with gunicorn(env=ENV, log_path=LOG, workers=WORKERS) as server:
            _measure_served(server, result, cookie, token, journal, full=full)
    finally:
        _remove_intake()
    result["locked"] = LOG.read_text().count("database is locked")
    if full:
        result["export_peak_rss_mb"], result["export_rows"] = _export_peak_rss_mb(cookie)
    return result


def _unchanged_poll(url: str, cookie: str, part: str, headers: dict[str, str]) -> dict:
    """A part polled with the ETag it answered last: 304s."""
    if part == "active-trades":  # its ETag holds for a clock minute (the ages): measure inside one
        _wait_for_minute_with(SECONDS + 3)
    return _wrk(f"{url}/", headers=headers | {"If-None-Match": _etag(url, cookie, part)})


def _measure_served(server: Server, result: dict, cookie: str, token: str, journal: dict, *, full: bool) -> None:
    """The wrk measurements against a running server, into `result`: one after another, or all at once in the
    smoke, which only checks the answers (a few seconds of wrk instead of half a minute)."""
    url = server.url
    session = {"Cookie": f"sessionid={cookie}"}
    measures: dict[str, Callable[[], dict]] = {}
    if full:
        measures["hello"] = partial(_wrk, f"{url}/bench/hello/")
        measures["hello_post"] = partial(_wrk, f"{url}/bench/hello/", connections=INTAKE_CLIENTS, script="post.lua")
        measures["page"] = partial(_wrk, f"{url}/", headers=session)
    for part in PARTS:
        htmx = session | {"HX-Request": "true", "HX-Target": part}
        measures[part] = partial(_wrk, f"{url}/", headers=htmx)
        if full:
            measures[f"{part}:memory"] = partial(_wrk, f"{url}/bench/memory/{part}/", headers=session)
            measures[f"{part}:304"] = partial(_unchanged_poll, url, cookie, part, htmx)
    for name, (path, floor) in journal.items():
        measures[name] = partial(_wrk, f"{url}{path}", headers=session)
        if full and floor:
            measures[f"{name}:memory"] = partial(_wrk, f"{url}{floor}", headers=session)
    for name, path in AGGREGATED.items():
        measures[name] = partial(_wrk, f"{url}{path}", headers=session)
    intake = partial(_wrk, connections=INTAKE_CLIENTS, script="intake.lua", args=[token], failures_counted=True)
    measures["intake"] = partial(intake, f"{url}/api/v1/signals")
    if SMOKE:
        with ThreadPoolExecutor(max_workers=len(measures)) as pool:
            running = {key: pool.submit(measure) for key, measure in measures.items()}
        result |= {key: future.result() for key, future in running.items()}
    else:
        result |= {key: measure() for key, measure in measures.items()}
    result["polls_served"] = sum(result[key]["requests"] for key in result if key.startswith(tuple(PARTS)))
    result["worker_peak_rss_mb"] = _worker_peak_rss_mb(server.process)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--closed", type=int, required=True)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--statistics", action="store_true", help="only the statistics by setup")
    args = parser.parse_args()
    if args.statistics:
        _prepare(args.closed)
        result = {"statistics": _statistics()}
    else:
        result = measure(args.closed, full=args.full)
    print("BENCH_JSON " + json.dumps(result))
