"""Server-Sent Events: the outbox streamed to pages and programs (docs/design.md, "Events"; docs/api.md).

A stream sends the events after an id (the browser's `Last-Event-ID` after a reconnect, else `?after=`, else the
newest at connect), each as `id`, `event` (its kind) and `data` (its JSON), then waits for more. The outbox is read
once per server process, not once per stream: a hub, shared by every stream the process serves, reads the events
after the newest it has handed out and hands each new batch to every stream, which keeps those it wants (a trade's
page those of its trade). What wakes the hub is, on PostgreSQL, a LISTEN on the channel the writes NOTIFY at their
commit; on SQLite, its own read every PAPER_EVENTS_POLL_MS. So a hundred open streams cost one read per wake, not a
hundred (bench/RESULTS.md). Between events a stream sends a heartbeat comment every PAPER_EVENTS_HEARTBEAT seconds,
so proxies keep it open, and checks that its session still holds: the stream ends with the session. The database
reads run on a small pool of threads of their own, so a thousand idle streams hold neither a thread nor a
connection each.
"""

import asyncio
import copy
import json
import logging
import time
import weakref
from collections import deque
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
PAGE = 200  # events read at a time
BACKLOG_BATCHES = 1_000  # batches a stream may leave unread before the hub lets it go (it then reads the table)


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


def event_data(event: Event, *, for_page: bool = False) -> dict[str, Any]:
    """An event as the API and the streams give it; for a page's stream, a batch of prices without its prices."""
    payload = event.payload
    if for_page and event.kind == Event.Kind.PRICES_APPLIED and "prices" in payload:
        payload = {name: value for name, value in payload.items() if name != "prices"}
    return {
        "id": event.pk,
        "kind": event.kind,
        "trade_id": event.trade_id,
        "signal_id": event.signal_id or None,
        "payload": payload,
        "created_at": event.created_at,
    }


def sse_message(event: Event, *, for_page: bool = False) -> str:
    """An event as an SSE message; made once per event however many streams send it (the hub's batches are shared).
    A page's stream (`for_page`) leaves out a batch's prices, every symbol's last (15 KB a batch at 500 symbols),
    which no page reads: the parts an event refreshes read the ledger, and programs have the API's stream."""
    cached = "_sse_page" if for_page else "_sse"
    message = getattr(event, cached, None)
    if message is None:
        data = json.dumps(event_data(event, for_page=for_page), cls=DjangoJSONEncoder, separators=(",", ":"))
        message = f"id: {event.pk}\nevent: {event.kind}\ndata: {data}\n\n"
        setattr(event, cached, message)
    return message


def _newer(after: int) -> list[Event]:
    """The hub's read: the next page of events after the newest it handed out."""
    return list(selectors.events_after(after, limit=PAGE))


def _backlog(after: int) -> list[Event]:
    """A stream's own read: the next page of what it missed before it joined the hub."""
    return list(selectors.events_after(after, limit=PAGE))


def seen_by(event: Event, book_id: int) -> Event:
    """The event as a book's page or token gets it: a batch of prices (an event of every book) names only the
    book's own trades among those it marked and closed, never another book's ids."""
    if event.kind != Event.Kind.PRICES_APPLIED or "books" not in event.payload:
        return event
    copies = event.__dict__.setdefault("_seen_by", {})  # one a book, shared by the book's streams (sse_message)
    if book_id in copies:
        return copies[book_id]
    shown = copies[book_id] = copy.copy(event)
    for cached in ("_seen_by", "_sse", "_sse_page"):
        shown.__dict__.pop(cached, None)
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


class Listener:
    """A stream's place in the hub: the batches of events handed out since it joined and not yet sent, at most
    BACKLOG_BATCHES (a stream that stops reading is let go, `overflowed`, and reads the table again from where it
    was). Small on purpose (a deque, and a future only while it waits): a thousand idle streams hold one each."""

    __slots__ = ("start", "batches", "overflowed", "_waiting")

    def __init__(self, start: int) -> None:
        self.start = start  # the hub's position when it joined: every event after it comes through `batches`
        self.batches: deque[list[Event]] = deque()
        self.overflowed = False
        self._waiting: asyncio.Future | None = None

    def put(self, events: list[Event]) -> bool:
        """Hand it a batch; False if it already holds BACKLOG_BATCHES unsent (it is then `overflowed`)."""
        if len(self.batches) >= BACKLOG_BATCHES:
            self.overflowed = True
            return False
        self.batches.append(events)
        if self._waiting is not None and not self._waiting.done():
            self._waiting.set_result(None)
        return True

    @property
    def let_go(self) -> bool:
        """Overflowed, and every batch it was handed is sent: it must join again."""
        return self.overflowed and not self.batches

    async def next(self, timeout: float) -> list[Event]:
        """The next batch, or [] after `timeout` seconds (at once if it was let go)."""
        if not self.batches and not self.overflowed:
            self._waiting = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(self._waiting, timeout)
            except TimeoutError:
                pass
            finally:
                self._waiting = None
        return self.batches.popleft() if self.batches else []


class Hub:
    """One per server process (per event loop): the outbox read once for every stream it serves, each new batch of
    events handed to each of them. It runs while at least one stream listens."""

    def __init__(self) -> None:
        self.position = 0  # the newest event id handed out
        self._listeners: set[Listener] = set()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task | None = None
        self.reads = 0  # reads of the outbox since the process started: for the tests and the curious

    async def join(self) -> Listener:
        """A listener that will receive every event after the hub's position at this moment (`listener.start`)."""
        async with self._lock:
            if self._task is None or self._task.done():
                self.position = await _read(selectors.events_newest_id)
                self._task = asyncio.create_task(self._run())
            listener = Listener(self.position)
            self._listeners.add(listener)
            return listener

    def leave(self, listener: Listener) -> None:
        self._listeners.discard(listener)

    def _publish(self, events: list[Event]) -> None:
        if not events:
            return
        self.position = events[-1].pk
        for listener in list(self._listeners):
            if not listener.put(events):  # it stopped reading: it catches up from the table, if it ever reads again
                self._listeners.discard(listener)

    async def _read_new(self) -> None:
        """Every event after the position, handed out a page at a time."""
        while True:
            events = await _read(_newer, self.position)
            self.reads += 1
            self._publish(events)
            if len(events) < PAGE:
                return

    async def _run(self) -> None:
        while self._listeners:
            try:
                if connections["default"].vendor == "postgresql":
                    await self._listen()
                else:
                    await self._poll()
            except Exception:  # the database went away: try again in a moment, from the same position
                log.exception("events: reading the outbox failed; trying again in 1 s")
                await asyncio.sleep(1)

    async def _poll(self) -> None:
        while self._listeners:
            await self._read_new()
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
            while self._listeners:
                await self._read_new()  # also after each wake: NOTIFYs coalesce, the events are in the table
                async for _ in conn.notifies(timeout=settings.PAPER_EVENTS_HEARTBEAT, stop_after=1):
                    pass


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """The running event loop's hub (a server worker runs one loop)."""
    loop = asyncio.get_running_loop()
    if loop not in _hubs:
        _hubs[loop] = Hub()
    return _hubs[loop]


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
    for_page: bool = False,
) -> AsyncIterator[str]:
    """The SSE text of the events after `after` (None: from now on) that `wanted` keeps, each as `shown` gives it
    (seen_by: as a book sees it), as they commit, with a heartbeat between them; ends when `holds()` (run on the
    pool: the session's check) turns false. `for_page`: as a page's stream sends them (sse_message).

    The stream joins its process's hub, which hands it every event after the hub's position at that moment; what
    came before that and after `after` (a resumed stream's backlog) it reads from the table itself, once. Ids only
    grow, so the two meet without a gap, and an id at or below the last one sent is never sent again."""
    if after is None:
        after = await _read(selectors.events_newest_id)
    yield f'retry: 2000\nevent: stream.ready\ndata: {{"after":{after}}}\n\n'  # no id: the last one received stands
    heartbeat = settings.PAPER_EVENTS_HEARTBEAT
    beat = time.monotonic() + heartbeat
    sent = after
    shared = hub()
    while True:  # joined once; again only after falling so far behind that the hub let it go
        listener = await shared.join()
        try:
            while sent < listener.start:  # the backlog: what the hub handed out before this stream joined
                events = await _read(_backlog, sent)
                for event in events:
                    sent = event.pk
                    if wanted(event):
                        yield sse_message(shown(event), for_page=for_page)
                if len(events) < PAGE:
                    break
            while not listener.let_go:
                if time.monotonic() >= beat:
                    if not await _read(holds):
                        yield "event: session.ended\ndata: {}\n\n"
                        return
                    yield ": heartbeat\n\n"
                    beat = time.monotonic() + heartbeat
                for event in await listener.next(max(0.0, beat - time.monotonic())):
                    if event.pk > sent:
                        sent = event.pk
                        if wanted(event):
                            yield sse_message(shown(event), for_page=for_page)
        finally:
            shared.leave(listener)
