"""`make run`'s runner (tradingsite/run.py): the demo feed and gunicorn together (and the notifier, given somewhere to
send), the URL and the login printed last
and again, the live pages' refreshes kept out of the access log, and Ctrl-C stopping everything without an error."""

import os
import select
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tradingsite.serve import ROOT, free_port

from .conftest import database_url
from .fake_notify import FakeSmtp

pytestmark = pytest.mark.django_db(transaction=True)  # the feed writes from another process
BANNER = "log in as demo / demo-trader"


def read_until(process: subprocess.Popen, text: str, *, seconds: float = 120) -> str:
    """The process's output until `text` has appeared, or the time is up (on a busy machine the three processes
    take long to start)."""
    out, deadline = "", time.monotonic() + seconds
    while text not in out and time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            out += os.read(process.stdout.fileno(), 65536).decode()
    return out


def test_the_url_and_login_come_last_and_again_polls_stay_out_of_the_log_and_ctrl_c_ends_it_all_cleanly():
    port, smtp = free_port(), FakeSmtp()
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "DEBUG": "1",
        "PAPER_NOTIFY_URLS": smtp.url,
    }
    command = [sys.executable, "-m", "tradingsite.run", "--port", str(port), "--banner-every", "1"]
    run = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        started = read_until(run, BANNER)
        assert "Simulating" in started.split(BANNER)[0]  # the feed had started: the login comes after its first line
        poll = urllib.request.Request(
            f"http://127.0.0.1:{port}/login/?next=/", headers={"HX-Request": "true", "HX-Target": "summary"}
        )
        urllib.request.urlopen(poll).close()  # a live part's refresh, as far as the log can tell
        urllib.request.urlopen(f"http://127.0.0.1:{port}/login/").close()  # a page
        later = read_until(run, '"GET /login/ HTTP/1.1" 200')
        later += read_until(run, BANNER)  # a second time, a second later

        os.killpg(run.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole group
        ended = run.stdout.read().decode()
        assert run.wait(timeout=20) == 0
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
        smtp.close()
    assert BANNER in later
    assert '"GET /login/?next=/' not in started + later
    assert "Demo feed stopped." in ended
    assert f"Notifying mailto://127.0.0.1:{smtp.port}" in started.split(BANNER)[0]  # the notifier, before the banner
    assert "messages sent." in ended
    assert "Shutting down: Master" in ended
    assert "Traceback" not in started + later + ended
    assert "Error" not in ended
