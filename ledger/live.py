"""Server-Sent Events: the outbox streamed to pages and programs (docs/design.md, "Events"; docs/api.md).

A stream sends the events after an id (the browser's `Last-Event-ID` after a reconnect, else `?after=`, else the
newest at connect), each as `id`, `event` (its kind) and `data` (its JSON), then waits for more. What wakes it is
one watcher per server process, shared by every stream it serves: on PostgreSQL a LISTEN on the channel the writes
NOTIFY at their commit; on SQLite a read of the newest id every PAPER_EVENTS_POLL_MS. Between events it sends a
heartbeat comment every PAPER_EVENTS_HEARTBEAT seconds, so proxies keep it open, and checks that its session still
holds: the stream ends with the session. The database reads run on a small pool of threads of their own, so a
thousand idle streams hold neither a thread nor a connection each.
"""

import asyncio
import copy
import json
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import InterfaceError, OperationalError, connection, connections

from . import selectors
from .models import Event
from .services.events import EVENTS_CHANNEL

log = logging.getLogger(__name__)
READS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="events")  # every stream's reads, per process
PAGE = 200  # events a stream reads at a time


def _read(function: Callable, *args: Any) -> Any:
    """Run a read on the streams' pool. Each of its threads keeps its connection (no request ends there to close
    it); one that was lost (a database restart) is opened again, once."""

    def run() -> Any:
        try:
            return function(*args)
        except (InterfaceError, OperationalError):
            connection.close()
            return function(*args)

    return sync_to_async(run, thread_sensitive=False, executor=READS)()


def event_data(event: Event) -> dict[str, Any]:
    """An event as the API and the streams give it."""
    return {
        "id": event.pk,
        "kind": event.kind,
        "trade_id": event.trade_id,
        "signal_id": event.signal_id or None,
        "payload": event.payload,
        "created_at": event.created_at,
    }


def sse_message(event: Event) -> str:
    data = json.dumps(event_data(event), cls=DjangoJSONEncoder, separators=(",", ":"))
    return f"id: {event.pk}\nevent: {event.kind}\ndata: {data}\n\n"


def seen_by(event: Event, book_id: int) -> Event:
    """The event as a book's page or token gets it: a batch of prices (an event of every book) names only the
    book's own trades among those it marked and closed, never another book's ids."""
    if event.kind != Event.Kind.PRICES_APPLIED or "books" not in event.payload:
        return event
    shown = copy.copy(event)
    own = event.payload["books"].get(str(book_id), {})
    shown.payload = {name: value for name, value in event.payload.items() if name != "books"} | {
        "marked": own.get("marked", []),
        "closed": own.get("closed", []),
    }
    return shown


def of_book(event: Event, book_id: int) -> bool:
    """Whether a page or a token of the book hears the event: the book's own, and those of every book (prices)."""
    return event.book_id is None or event.book_id == book_id


def about_trade(event: Event, trade_id: int) -> bool:
    """Whether an event changes what a trade's page shows: its own events, and a batch of prices that marked or
    closed it."""
    if event.trade_id == trade_id:
        return True
    if event.kind == Event.Kind.PRICES_APPLIED:
        payload = event.payload
        return trade_id in payload.get("marked", ()) or trade_id in payload.get("closed", ())
    return False


class Watcher:
    """One per server process (per event loop): the newest event id, and a wake-up for the streams waiting for a
    newer one. It runs while at least one stream waits."""

    def __init__(self) -> None:
        self.newest = 0
        self.waiting = 0
        self._arrived = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def wait_beyond(self, after: int, timeout: float) -> None:
        """Return when an event newer than `after` has committed, or after `timeout` seconds."""
        if self.newest > after:
            return
        self.waiting += 1
        try:
            if self._task is None or self._task.done():
                self._task = asyncio.create_task(self._watch())
            arrived = self._arrived
            await asyncio.wait_for(arrived.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            self.waiting -= 1

    def _publish(self, newest: int) -> None:
        if newest > self.newest:
            self.newest = newest
            self._arrived.set()
            self._arrived = asyncio.Event()

    async def _watch(self) -> None:
        try:
            if connections["default"].vendor == "postgresql":
                await self._listen()
            else:
                await self._poll()
        except Exception:  # the streams fall back to their own timeouts; the next waiter restarts the watch
            log.exception("events: the watch on the outbox stopped")

    async def _poll(self) -> None:
        while self.waiting:
            self._publish(await _read(selectors.events_newest_id))
            await asyncio.sleep(settings.PAPER_EVENTS_POLL_MS / 1000)

    async def _listen(self) -> None:
        import psycopg  # only PostgreSQL's watch needs it

        params = connections["default"].settings_dict
        async with await psycopg.AsyncConnection.connect(
            dbname=params["NAME"],
            user=params["USER"] or None,
            password=params["PASSWORD"] or None,
            host=params["HOST"] or None,
            port=params["PORT"] or None,
            autocommit=True,
        ) as conn:
            await conn.execute(f"LISTEN {EVENTS_CHANNEL}")
            newest = "SELECT COALESCE(MAX(id), 0) FROM ledger_events"
            while self.waiting:
                cursor = await conn.execute(newest)  # also after each wake: NOTIFYs coalesce, ids are in the table
                self._publish((await cursor.fetchone())[0])
                async for _ in conn.notifies(timeout=settings.PAPER_EVENTS_HEARTBEAT, stop_after=1):
                    pass


_watchers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Watcher]" = weakref.WeakKeyDictionary()


def watcher() -> Watcher:
    loop = asyncio.get_running_loop()
    if loop not in _watchers:
        _watchers[loop] = Watcher()
    return _watchers[loop]


def start_after(last_event_id: str | None, after: str | None) -> int | None:
    """Where a stream starts: after the browser's Last-Event-ID, else `?after=`, else None (the newest event at
    connect). A value that is not a whole number is refused with ValueError naming it."""
    for name, value in (("Last-Event-ID", last_event_id), ("after", after)):
        if value not in (None, ""):
            if not value.isdigit():
                raise ValueError(f"{name} must be an event id (a whole number), not {value!r}.")
            return int(value)
    return None


async def stream(
    *,
    after: int | None,
    holds: Callable[[], bool],
    wanted: Callable[[Event], bool] = lambda event: True,
    shown: Callable[[Event], Event] = lambda event: event,
) -> AsyncIterator[str]:
    """The SSE text of the events after `after` (None: from now on) that `wanted` keeps, each as `shown` gives it
    (seen_by: as a book sees it), as they commit, with a heartbeat between them; ends when `holds()` (run on the
    pool: the session's check) turns false."""
    if after is None:
        after = await _read(selectors.events_newest_id)
    yield f'retry: 2000\nevent: stream.ready\ndata: {{"after":{after}}}\n\n'  # no id: the last one received stands
    heartbeat = settings.PAPER_EVENTS_HEARTBEAT
    beat = time.monotonic() + heartbeat
    watch = watcher()
    while True:
        events = await _read(lambda start: list(selectors.events_after(start, limit=PAGE)), after)
        for event in events:
            after = event.pk
            if wanted(event):
                yield sse_message(shown(event))
        if len(events) == PAGE:
            continue
        if time.monotonic() >= beat:
            if not await _read(holds):
                yield "event: session.ended\ndata: {}\n\n"
                return
            yield ": heartbeat\n\n"
            beat = time.monotonic() + heartbeat
        await watch.wait_beyond(after, max(0.0, beat - time.monotonic()))
