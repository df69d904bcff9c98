"""The streams' hub (ledger/live.py) in process: one read of the outbox per wake for every stream a process serves,
and a stream that resumes reads its backlog from the table once, then joins the hub's batches with no event
missed and none twice, also while events keep coming."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from ledger import live, services
from ledger.models import Event

pytestmark = pytest.mark.django_db(transaction=True)  # the streams read on threads of their own


@pytest.fixture(autouse=True)
def reads(monkeypatch, settings) -> Iterator[list[int]]:
    """The `after` of every read a stream made of the outbox itself (the hub's reads are counted in `hub().reads`).
    The reads and the test's writes run on one thread of the test's own, whose connection is closed at the end."""
    settings.PAPER_EVENTS_POLL_MS = 20
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-events")
    monkeypatch.setattr(live, "READS", pool)
    made: list[int] = []
    backlog = live._backlog
    monkeypatch.setattr(live, "_backlog", lambda after: made.append(after) or backlog(after))
    yield made
    pool.submit(connections.close_all).result()
    pool.shutdown()


def apart(run):
    """asyncio.run(run()) on a thread of its own: a browser test before it in this process (Playwright's sync API)
    leaves this thread's event loop marked as running, where asyncio.run refuses to start."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-loop") as thread:
        return thread.submit(asyncio.run, run()).result()


async def record(n: int) -> int:
    """An event written as a service writes one, on the reads' thread."""

    def write() -> int:
        return services.event_record(kind=Event.Kind.JOURNAL_CHANGED, payload={"n": n}).pk

    return await sync_to_async(write, thread_sensitive=False, executor=live.READS)()


async def take(messages: AsyncIterator[str], count: int) -> list[int]:
    """The ids of the next `count` events a stream sends (its heartbeats and first message skipped)."""
    ids: list[int] = []
    while len(ids) < count:
        message = await asyncio.wait_for(anext(messages), 10)
        if message.startswith("id: "):
            ids.append(int(message.split("\n", 1)[0][4:]))
    return ids


async def joined(count: int) -> None:
    """Until `count` streams listen to the hub (a stream joins it once its first message has been read)."""
    while len(live.hub()._listeners) < count:
        await asyncio.sleep(0.01)


def stream(after: int | None) -> AsyncIterator[str]:
    return live.stream(after=after, holds=lambda: True)


def test_a_hundred_streams_cost_the_hub_reads_and_no_read_of_their_own(reads):
    async def run() -> list[list[int]]:
        streams = [stream(None) for _ in range(100)]
        for messages in streams:
            assert "stream.ready" in await anext(messages)
        taking = [asyncio.create_task(take(messages, 3)) for messages in streams]
        await joined(100)
        before = live.hub().reads
        written = [await record(n) for n in range(3)]
        got = await asyncio.gather(*taking)
        by_the_hub = live.hub().reads - before
        for messages in streams:
            await messages.aclose()
        return [written, *got, [by_the_hub]]

    written, *got, (by_the_hub,) = apart(run)
    assert got == [written] * 100  # every stream got every event, in order
    assert reads == []  # no stream read the table itself
    # Three events written one by one, each read at the hub's next wake (every 20 ms here): a few reads, not 300.
    assert 1 <= by_the_hub <= 20


def test_a_stream_resumed_behind_the_hub_reads_its_backlog_once_then_follows_without_gap_or_repeat(reads):
    async def run() -> tuple[list[int], list[int]]:
        first = stream(None)  # keeps the hub running and ahead of the resumed stream
        await anext(first)
        following = asyncio.create_task(take(first, 8))
        await joined(1)
        written = [await record(n) for n in range(4)]
        while live.hub().position < written[-1]:  # the hub has handed them out
            await asyncio.sleep(0.01)
        resumed = stream(written[0])  # as after a reconnect with Last-Event-ID: the first of the four
        await anext(resumed)
        resuming = asyncio.create_task(take(resumed, 7))
        for n in range(4, 8):  # written while it reads its backlog and joins
            written.append(await record(n))
            await asyncio.sleep(0)
        got = await resuming
        await following
        await resumed.aclose()
        await first.aclose()
        return written, got

    written, got = apart(run)
    assert got == written[1:]  # nothing missed, nothing twice, in order
    assert reads == [written[0]]  # the resumed stream's backlog, in one read of the table


def test_a_stream_that_stops_reading_is_let_go_and_catches_up_from_the_table(reads, monkeypatch):
    monkeypatch.setattr(live, "BACKLOG_BATCHES", 2)

    async def run() -> tuple[list[int], list[int], bool]:
        idle = stream(None)
        await anext(idle)
        idle_first = asyncio.create_task(take(idle, 1))
        await joined(1)
        written = [await record(0)]
        await idle_first  # it has joined the hub and read one batch; now it reads nothing for a while
        (listener,) = live.hub()._listeners
        keeper = stream(None)  # keeps the hub running
        await anext(keeper)
        keeping = asyncio.create_task(take(keeper, 5))
        await joined(2)
        for n in range(1, 6):  # five batches: more than its queue holds
            written.append(await record(n))
            while live.hub().position < written[-1]:
                await asyncio.sleep(0.01)
        await keeping
        let_go = listener.overflowed
        got = await take(idle, 5)
        await idle.aclose()
        await keeper.aclose()
        return written, got, let_go

    written, got, let_go = apart(run)
    assert let_go
    assert got == written[1:]
    assert reads == [written[2]]  # after the two batches it held: what it missed while let go, read once
