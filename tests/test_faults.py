"""Faults injected into real things: gunicorn on loopback (tradingsite/serve.py) serving a database this test
owns (a fresh PostgreSQL database on the suite's server, or a SQLite file), which is then taken away or filled
up. In-process tests cannot show these: Django's test client never loses its database mid-request."""

import http.client
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from tradingsite.serve import ROOT, gunicorn

# Made in the database by a short Django script: a trader, a logged-in session and a `trade` token.
PEOPLE = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.models import Permission
from django.contrib.sessions.backends.db import SessionStore
from ledger import services
user = get_user_model().objects.create_user("trader", password="pw-for-tests")
user.user_permissions.add(Permission.objects.get(codename="trade", content_type__app_label="ledger"))
session = SessionStore()
session.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
    HASH_SESSION_KEY: user.get_session_auth_hash()})
session.create()
_, token = services.api_token_create(name="faults", scope="trade")
print(json.dumps({"session": session.session_key, "token": token}))
"""


SIGNAL = {"signal_id": "full-1", "symbol": "BTCUSDT", "action": "BUY", "entry_price": "100", "confidence": "0.5"}


@dataclass
class OwnDatabase:
    url: str
    session: str  # a logged-in trader's session cookie
    token: str  # an API token that may trade
    sqlite_path: Path | None = None


def _environment(url: str) -> dict[str, str]:
    return os.environ | {"DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": url}


def _prepare(url: str) -> tuple[str, str]:
    """Migrate the database and make the trader's session and the token in it."""
    env = _environment(url)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    made = subprocess.run(
        [*manage, "shell", "-c", PEOPLE], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    people = json.loads(made.stdout.strip().splitlines()[-1])
    return people["session"], people["token"]


def _postgres_admin() -> psycopg.Connection:
    s = settings.DATABASES["default"]
    return psycopg.connect(host=s["HOST"], port=s["PORT"] or 5432, user=s["USER"], dbname="postgres", autocommit=True)


def _postgres_url(name: str) -> str:
    s = settings.DATABASES["default"]
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT'] or 5432}/{name}"


@pytest.fixture
def own_database(tmp_path, worker_id) -> Iterator[OwnDatabase]:
    """A database of this test's own, on the suite's kind of database, migrated, with a trader and a token."""
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        folder = tmp_path / "db"
        folder.mkdir()
        url = f"sqlite:///{folder / 'ledger.sqlite3'}"
        yield OwnDatabase(url, *_prepare(url), sqlite_path=folder / "ledger.sqlite3")
        return
    name = f"ledger_faults_{os.getpid()}_{worker_id}"
    with _postgres_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield OwnDatabase(_postgres_url(name), *_prepare(_postgres_url(name)))
    finally:
        with _postgres_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _take_away(database: OwnDatabase) -> None:
    """The database becomes unreachable: PostgreSQL refuses every connection to it (and ends those open);
    the SQLite file's folder is moved away."""
    if database.sqlite_path is not None:
        database.sqlite_path.parent.rename(database.sqlite_path.parent.with_name("gone"))
        return
    name = database.url.rsplit("/", 1)[-1]
    with _postgres_admin() as admin:
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])


def fetch(url: str, *, headers: dict | None = None, data: bytes | None = None) -> tuple[int, dict, bytes]:
    """Status, headers and body of one request, whatever its status."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def serving(own_database, tmp_path):
    with gunicorn(env=_environment(own_database.url), log_path=tmp_path / "gunicorn.log", workers=1) as server:
        yield server


def test_an_unreachable_database_answers_503_everywhere_never_500(own_database, serving):
    cookie = {"Cookie": f"sessionid={own_database.session}"}
    bearer = {"Authorization": f"Bearer {own_database.token}"}
    assert fetch(f"{serving.url}/", headers=cookie)[0] == 200  # logged in while the database is there

    _take_away(own_database)

    for path, headers in [("/", cookie), ("/stats/", cookie), ("/api/v1/trades/active", bearer), ("/healthz", {})]:
        status, answer_headers, _ = fetch(serving.url + path, headers=headers)
        assert (path, status, answer_headers.get("Retry-After", "30")) == (path, 503, "30")
    status, answer_headers, body = fetch(f"{serving.url}/", headers=cookie)
    assert "no-store" in answer_headers["Cache-Control"]  # what a login would have unlocked stays private
    assert b"try again" in body.lower()


@pytest.fixture
def full_disk(tmp_path) -> Iterator[Path]:
    """A 4 MB file system (tmpfs), to be filled up by the test."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small file system needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], check=True)
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


def _fill(disk: Path) -> None:
    with open(disk / "filler", "wb", buffering=0) as filler:
        try:
            while True:
                filler.write(b"\0" * 4096)
        except OSError:  # ENOSPC: the disk is full
            pass


def test_healthz_answers_503_on_a_full_disk_as_every_write_does(tmp_path, full_disk):
    source = tmp_path / "ledger.sqlite3"
    session, token = _prepare(f"sqlite:///{source}")
    shutil.copy(source, full_disk / "ledger.sqlite3")
    url = f"sqlite:///{full_disk / 'ledger.sqlite3'}"
    # Held open, as a busy server's connections hold it: the write-ahead log and its index stay in place.
    holder = sqlite3.connect(full_disk / "ledger.sqlite3")
    holder.execute("SELECT count(*) FROM api_tokens").fetchone()
    try:
        with gunicorn(env=_environment(url), log_path=tmp_path / "gunicorn.log", workers=1) as server:
            _fill(full_disk)
            health = fetch(f"{server.url}/healthz")
            signal = fetch(
                f"{server.url}/api/v1/signals",
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                data=json.dumps(SIGNAL).encode(),
            )
    finally:
        holder.close()

    assert (signal[0], health[0], json.loads(health[2])) == (503, 503, {"status": "unavailable"})


def test_a_body_sent_in_chunks_straight_to_gunicorn_is_refused_and_nothing_is_recorded(own_database, serving):
    bearer = {"Authorization": f"Bearer {own_database.token}"}
    for content_type, body in [("application/json", json.dumps(SIGNAL)), ("application/xml", "<signal/>")]:
        connection = http.client.HTTPConnection("127.0.0.1", serving.port, timeout=20)
        connection.request(
            "POST",
            "/api/v1/signals",
            body=iter([body.encode()]),
            encode_chunked=True,
            headers=bearer | {"Content-Type": content_type, "Transfer-Encoding": "chunked"},
        )
        assert (content_type, connection.getresponse().status) == (content_type, 411)
        connection.close()

    assert json.loads(fetch(f"{serving.url}/api/v1/signals", headers=bearer)[2]) == []
