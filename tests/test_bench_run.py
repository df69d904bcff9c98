"""`make bench-smoke`: the whole benchmark at a small scale runs on the suite's kind of database, and a failed
answer fails it (issue 29: `make bench` had broken twice unseen)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from bench import run as bench

from .conftest import database_url

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(not shutil.which("wrk"), reason="the benchmark needs wrk: apt-get install -y wrk")
@pytest.mark.django_db
def test_the_smoke_run_goes_through_every_step_on_this_database():
    # Its own scratch database on the suite's server (the test database's name is only where it lives).
    server = database_url().rsplit("/", 1)[0] + "/postgres" if connection.vendor == "postgresql" else ""
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke"],
        cwd=ROOT,
        env=os.environ | {"DATABASE_URL": server},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    assert "every step ran, every answer 2xx/3xx" in done.stdout


def test_a_refused_signal_in_the_smoke_fails_it(monkeypatch):
    monkeypatch.delenv("BENCH_SMOKE", raising=False)  # smoke() sets it for its steps: gone again after the test
    intake = {"errors": 0, "non_2xx_3xx": 3}  # three signals answered 4xx/5xx while wrk posted them
    monkeypatch.setattr(
        bench, "run", lambda module, *args, name: {"intake": intake, "locked": 0, "aggregates_apart": 0}
    )

    with pytest.raises(SystemExit, match="3 answers not 2xx/3xx"):
        bench.smoke()


def test_a_flooded_feed_whose_memory_grows_or_whose_prices_lag_fails_those_targets():
    flood = {
        "offered_per_s": 8000,
        "symbols": 500,
        "seconds": 60,
        "interval_s": 1.0,
        "rss_first_half_peak_mb": 160.0,
        "rss_second_half_peak_mb": 180.0,  # 1.125x: the queue grew
        "lag_max_s": 2.5,  # two and a half batches late
        "sigterm_stop_s": 3.0,
    }

    rows = bench.evaluate_flood(flood)

    assert [(row["target"], row["pass"]) for row in rows] == [
        ("<= 1.1x", False),
        ("<= 2 batches", False),
        ("< 10 s", True),
    ]
