"""`make bench` (bench/README.md). BENCH_SMOKE=1, set by `make bench-smoke`, shrinks every size so the whole
pipeline runs in seconds: a check that the benchmark runs, not a measurement."""

import os

SMOKE = os.environ.get("BENCH_SMOKE") == "1"
