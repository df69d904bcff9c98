"""The streams of events against a real server (gunicorn with uvicorn's worker, tradingsite/serve.py): a page's
stream needs its login and ends with it, Last-Event-ID resumes with nothing lost and nothing twice, a trade's
page hears only its trade; a program's stream needs a token that may read, and ends when it is revoked."""

import http.client
import json
import os
import time
import zlib
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection

from ledger import services
from ledger.inputs import Tick
from ledger.models import ApiToken
from tradingsite.serve import ROOT, Server, gunicorn

from .conftest import T0, database_url

pytestmark = pytest.mark.django_db(transaction=True)  # the server reads what the tests commit
HEARTBEAT = 1  # seconds: the server checks a stream's login this often


@pytest.fixture(scope="module")
def served(django_db_setup, django_db_blocker) -> Iterator[Server]:
    with django_db_blocker.unblock():
        url = database_url()
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": url,
        "PAPER_EVENTS_HEARTBEAT": str(HEARTBEAT),
        "PAPER_EVENTS_POLL_MS": "50",
    }
    (ROOT / "artifacts").mkdir(exist_ok=True)
    with gunicorn(env=env, log_path=ROOT / "artifacts" / "gunicorn-events.log", workers=1) as running:
        yield running


@pytest.fixture
def server(served: Server) -> str:
    return served.url


def logged_in(user) -> str:
    """The key of a session in which the user is logged in, as the login form would leave it."""
    session = SessionStore()
    session.update(
        {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
    )
    session.create()
    return session.session_key


@pytest.fixture
def session_key(trader) -> str:
    return logged_in(trader)


class Stream:
    """An open event stream, read message by message after its first (`stream.ready`)."""

    def __init__(self, url: str, path: str, headers: dict[str, str]) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        self.conn.request("GET", path, headers=headers | {"Accept": "text/event-stream"})
        self.response = self.conn.getresponse()
        # The first message says where the stream starts; once it is read, what commits next is streamed.
        plain = self.response.status == 200 and not self.response.getheader("Content-Encoding")
        self.ready = self.next()["data"] if plain else None

    def next(self, *, seconds: float = 10) -> dict:
        """The next message that is not a comment: its fields, with `data` parsed."""
        deadline = time.monotonic() + seconds
        fields: dict = {}
        while time.monotonic() < deadline:
            line = self.response.readline().decode()
            if line == "":
                raise EOFError("the stream ended")
            line = line.rstrip("\n")
            if not line:
                if "event" in fields or "data" in fields:
                    if "data" in fields:
                        fields["data"] = json.loads(fields["data"])
                    return fields
                fields = {}
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        raise TimeoutError("no message in time")

    def events(self, count: int) -> list[dict]:
        return [self.next() for _ in range(count)]

    def close(self) -> None:
        self.conn.close()


def page_stream(server: str, session_key: str, path: str = "/live/events", **headers: str) -> Stream:
    return Stream(server, path, {"Cookie": f"sessionid={session_key}"} | headers)


def note(day_offset: int, text: str) -> None:
    services.day_note_write(day=T0.date() - timedelta(days=day_offset), text=text)


def test_a_page_without_a_login_gets_403_and_no_events(server):
    stream = Stream(server, "/live/events", {})
    assert stream.response.status == 403
    assert "Log in" in stream.response.read().decode()


def test_a_last_event_id_that_is_not_an_id_is_refused_by_name(server, session_key):
    stream = page_stream(server, session_key, **{"Last-Event-ID": "12; DROP"})
    assert stream.response.status == 400
    assert "Last-Event-ID must be an event id" in stream.response.read().decode()


def test_a_stream_cut_and_resumed_with_last_event_id_misses_nothing_and_repeats_nothing(server, session_key):
    stream = page_stream(server, session_key)
    assert stream.response.status == 200
    assert stream.response.getheader("Content-Type") == "text/event-stream"
    for n in range(3):
        note(n, f"before the cut {n}")
    first = stream.events(3)
    assert [m["event"] for m in first] == ["journal.changed"] * 3
    # from the newest event at connect (none yet here; PostgreSQL's ids are not reset between tests)
    assert stream.ready["after"] < int(first[0]["id"])
    stream.close()  # the connection drops

    for n in range(3, 7):  # written while nobody listens
        note(n, f"during the cut {n}")
    resumed = page_stream(server, session_key, **{"Last-Event-ID": first[-1]["id"]})
    note(7, "after the reconnect")
    again = resumed.events(5)
    resumed.close()

    ids = [int(m["id"]) for m in first + again]
    assert ids == sorted(set(ids))  # in order, none twice
    assert ids == list(range(ids[0], ids[0] + 8))  # and none missing
    assert [m["data"]["payload"]["day"] for m in again] == [str(T0.date() - timedelta(days=n)) for n in range(3, 8)]


def test_a_stream_asked_for_gzip_sends_each_message_compressed_as_it_commits(server, session_key):
    stream = page_stream(server, session_key, **{"Accept-Encoding": "gzip"})
    assert stream.response.getheader("Content-Encoding") == "gzip"
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    received = b""

    def read_until(text: str) -> str:
        nonlocal received
        deadline = time.monotonic() + 10
        while text.encode() not in received:
            assert time.monotonic() < deadline, received
            received += inflate.decompress(stream.response.read1(65536))
        return received.decode()

    assert "event: stream.ready" in read_until("stream.ready")
    note(0, "compressed")
    # The stream is still open: the message was flushed whole as it was sent, not held for more.
    assert f'"payload":{{"day":"{T0.date()}"}}' in read_until("journal.changed\ndata:")
    assert read_until("\n\n").endswith("\n\n")
    stream.close()


def worker_threads(served: Server) -> int:
    (worker,) = Path(f"/proc/{served.process.pid}/task/{served.process.pid}/children").read_text().split()
    return int(Path(f"/proc/{worker}/status").read_text().split("Threads:", 1)[1].split()[0])


def test_open_streams_hold_no_thread_each(served, session_key):
    # Django answers each request in a thread-sensitive context whose thread lives until the answer ends; a stream
    # lets it go at its first message (ledger/views/events.py), or a thousand idle streams held a thousand threads.
    before = worker_threads(served)
    streams = [page_stream(served.url, session_key) for _ in range(10)]
    assert all(stream.ready is not None for stream in streams)
    time.sleep(0.5)  # the threads let go end
    held = worker_threads(served) - before
    for stream in streams:
        stream.close()
    assert held < 5  # at most the streams' own pool starting (4 threads, ledger/live.py); not one a stream


def server_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL counts them")
def test_open_streams_hold_no_database_connection_each(served, session_key):
    before = server_connections()
    streams = [page_stream(served.url, session_key) for _ in range(10)]
    assert all(stream.ready is not None for stream in streams)
    time.sleep(0.5)
    held = server_connections() - before
    for stream in streams:
        stream.close()
    assert held < 5  # the watcher's LISTEN and the streams' pool (ledger/live.py); not one a stream


def test_after_in_the_url_starts_a_fresh_connection_where_the_page_was_drawn(server, session_key):
    note(0, "drawn")
    drawn = services.event_record(kind="journal.changed", payload={"day": "marker"}).pk
    note(1, "after the page was drawn")
    stream = page_stream(server, session_key, f"/live/events?after={drawn}")
    message = stream.next()
    stream.close()
    assert int(message["id"]) == drawn + 1


def test_a_trades_page_hears_only_what_changes_that_trade(server, session_key, open_trade, many_trades):
    mine = open_trade(signal_id="mine")
    other = open_trade(signal_id="other", symbol="ETHUSDT")
    stream = page_stream(server, session_key, f"/live/events?trade={mine.pk}")
    services.prices_apply(ticks=[Tick("ETHUSDT", Decimal("100.5"), T0 + timedelta(minutes=2))])  # the other's
    services.trade_annotate(trade_id=other.pk, notes="not this page's")
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("100.5"), T0 + timedelta(minutes=3))])
    services.trade_close(trade_id=mine.pk, price=Decimal("101"), at=T0 + timedelta(minutes=4))
    heard = stream.events(2)
    stream.close()
    assert [m["event"] for m in heard] == ["prices.applied", "trade.closed"]
    assert heard[0]["data"]["payload"]["marked"] == [mine.pk]
    assert heard[1]["data"]["trade_id"] == mine.pk


def test_a_pages_batch_of_prices_leaves_out_the_prices_that_a_programs_keeps(server, session_key, open_trade):
    trade = open_trade()
    _, token = services.api_token_create(name="prices", scope=ApiToken.Scope.READ)
    page = page_stream(server, session_key)
    program = Stream(server, f"/api/v1/events/stream?after={page.ready['after']}", {"Authorization": f"Bearer {token}"})
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("100.5"), T0 + timedelta(minutes=2))])
    on_page, for_program = page.next(), program.next()
    page.close()
    program.close()
    assert on_page["event"] == for_program["event"] == "prices.applied"
    assert on_page["data"]["payload"] == {"marked": [trade.pk], "closed": []}  # no page reads the prices
    assert for_program["data"]["payload"]["prices"] == {"BTCUSDT": "100.50000000"}


def test_the_stream_ends_with_its_session(server, session_key):
    stream = page_stream(server, session_key)
    assert stream.response.status == 200
    Session.objects.filter(session_key=session_key).delete()  # logged out elsewhere, or expired
    ended = stream.next(seconds=HEARTBEAT * 5)
    assert ended["event"] == "session.ended"
    with pytest.raises(EOFError):
        stream.next()


def test_a_program_streams_with_a_token_that_may_read_and_not_without(server):
    _, token = services.api_token_create(name="watcher", scope=ApiToken.Scope.READ)
    refused = Stream(server, "/api/v1/events/stream", {"Authorization": "Bearer pt_wrong"})
    assert refused.response.status == 401
    assert json.loads(refused.response.read())["detail"][0]["message"].startswith("A valid API token")

    stream = Stream(server, "/api/v1/events/stream?after=0", {"Authorization": f"Bearer {token}"})
    note(0, "for a program")
    message = stream.next()
    assert (message["event"], message["data"]["payload"]) == ("journal.changed", {"day": str(T0.date())})

    services.api_token_revoke(name="watcher")
    assert stream.next(seconds=HEARTBEAT * 5)["event"] == "session.ended"
    stream.close()
