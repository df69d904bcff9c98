"""gunicorn serving this site on a free loopback port for a block of code: the browser tests, the
benchmark and the load test all run the real server this way, as production does (ASGI, uvicorn's worker).
Only 127.0.0.1 is ever a target."""

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# The application and the worker that serves it: the same in `make run`, here and in production. `--preload` loads
# the application once, in the master, before it forks the workers: they share its memory (frozen out of the
# garbage collector's writes, gunicorn.conf.py) instead of each loading a copy (bench/RESULTS.md, "Live push").
ASGI = ["tradingsite.asgi:application", "--worker-class", "tradingsite.worker.Worker", "--preload"]


@dataclass(frozen=True)
class Server:
    url: str
    port: int
    process: subprocess.Popen


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(*, env: dict, log_path: Path, workers: int, timeout: int = 30) -> Iterator[Server]:
    """Start gunicorn with `env`, wait until /healthz answers, and stop it when the block ends.
    `timeout` is gunicorn's worker timeout (a long CSV export needs more than its default 30 s)."""
    port = free_port()
    url = f"http://{HOST}:{port}"
    command = [sys.executable, "-m", "gunicorn", *ASGI, "--bind", f"{HOST}:{port}"]
    command += ["--workers", str(workers), "--timeout", str(timeout), "--graceful-timeout", "5"]
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60  # a loaded machine (CI beside other jobs) starts slowly
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                        break
                except OSError:  # not listening yet, or the database not ready (503)
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"gunicorn did not start; see {log_path}") from None
                    time.sleep(0.2)
            yield Server(url=url, port=port, process=process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
