"""`manage.py notify`: the outbox's events to the trader's channels, through Apprise.

One loop, one process: for each channel (an Apprise URL of PAPER_NOTIFY_URLS) it finds the next event after the
one the channel is done with, turns it into a message (ledger/notify/messages.py), and sends it when the channel's
token bucket has a token and its backoff allows; between sends it waits at most a second for new events. The
channel's progress is in the database (services/notify.py): an event is recorded as being sent before the send
and as sent after it, so a restart neither skips nor repeats one (a worker killed during a send leaves that one
event settled as sent). A failed send is tried again after a backoff (1 s doubled per failure in a row up to
5 minutes, jittered); after MAX_FAILURES in a row it is given up with an error line and the channel moves on.
"""

import hashlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import apprise
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from .. import selectors, services
from ..models import Event, NotifyChannel
from .messages import Message, message_for

log = logging.getLogger("ledger.notify")

IDLE = 1.0  # seconds between looks at the outbox when nothing is waiting
BACKOFF, BACKOFF_CAP = 1.0, 300.0  # seconds: the first retry, the longest wait between two
STALL_EVERY = 10.0  # seconds between looks at the feed's lag
MAX_FAILURES = 10  # failed sends of one event in a row (about 14 minutes of backoff) before it is given up
# The kinds of event a notification can be about (messages.message_for); the rest are passed over in one step.
EVENT_KINDS = [
    Event.Kind.TRADE_OPENED,
    Event.Kind.TRADE_CLOSED,
    Event.Kind.SIGNAL_REFUSED,
    Event.Kind.FEED_STALLED,
    Event.Kind.DAY_CLOSED,
]
PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def per_period(rate: str) -> tuple[int, float]:
    """ "20/min" -> (20, 60.0): messages and the seconds they are spread over (settings.env_rate checked it)."""
    count, _, period = rate.partition("/")
    return int(count), float(PERIODS[period])


def backoff(failures: int) -> float:
    """Seconds before the next try after `failures` failed sends in a row: doubled each time from BACKOFF, at most
    BACKOFF_CAP, between half and all of that (channels that failed together do not retry in step)."""
    return min(BACKOFF_CAP, BACKOFF * 2 ** (failures - 1)) * random.uniform(0.5, 1)


@dataclass
class TokenBucket:
    """A channel's rate limit: `capacity` tokens, refilled at capacity per `period` seconds; a send takes one."""

    capacity: int
    period: float
    tokens: float = field(init=False)
    at: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.tokens = float(self.capacity)

    def wait(self, now: float) -> float:
        """Seconds until a token is there (0: take one now with `take`)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.capacity / self.period)
        self.at = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) * self.period / self.capacity

    def take(self) -> None:
        self.tokens -= 1


@dataclass
class Channel:
    """One Apprise URL, as the loop holds it; `done_id` and `failures` mirror its row (NotifyChannel)."""

    pk: int
    name: str
    plugin: apprise.plugins.NotifyBase
    bucket: TokenBucket
    done_id: int
    failures: int
    retry_at: float = 0.0
    outcome: tuple[int, str, bool] | None = None  # the last send's (event, kind, arrived) until it is recorded


def channel_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


def plugin_for(url: str) -> apprise.plugins.NotifyBase | None:
    """Apprise's sender for the URL, or None if Apprise does not understand it. Its own throttle (a pause of up
    to 5.5 s before every message) is off: the token bucket paces each channel instead."""
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin:
        plugin.request_rate_per_sec = 0
    return plugin or None


def open_channels(urls: list[str]) -> list[Channel]:
    """A channel per URL, each where it left off (a new one starts after the newest event). Raises ValueError
    naming the URL's position when Apprise does not understand one, before anything is written."""
    plugins = [plugin_for(url) for url in urls]
    for number, (url, plugin) in enumerate(zip(urls, plugins, strict=True), start=1):
        if plugin is None:
            raise ValueError(f"PAPER_NOTIFY_URLS: URL {number} ({url.split('://')[0]}://…) is not one Apprise knows.")
    capacity, period = per_period(settings.PAPER_NOTIFY_RATE)
    newest = selectors.events_newest_id()
    channels = []
    for url, plugin in zip(urls, plugins, strict=True):
        name = plugin.url(privacy=True).split("?")[0]  # its options are noise in every line
        row, unsettled = services.notify_channel_open(key=channel_key(url), name=name, start_after=newest)
        if unsettled is not None:
            log.warning(
                "notify: %s: event %s was being sent when the worker stopped; it may have arrived, so it is not "
                "sent again",
                name,
                unsettled,
            )
        channels.append(Channel(row.pk, name, plugin, TokenBucket(capacity, period), row.done_id, row.failures))
    return channels


class Worker:
    def __init__(self, channels: list[Channel], *, kinds: list[str], clock: Callable[[], float] = time.monotonic):
        self.channels = channels
        self.kinds = set(kinds)
        self.clock = clock
        self.messages: dict[int, Message | None] = {}  # the last events' messages, shared by the channels
        self.sent = 0
        self.feed_checked = float("-inf")

    def message(self, event) -> Message | None:
        if event.pk not in self.messages:
            if len(self.messages) > 100:
                self.messages.clear()
            made = message_for(event)
            self.messages[event.pk] = made if made and made.kind in self.kinds else None
        return self.messages[event.pk]

    def step(self, channel: Channel) -> float:
        """Move the channel on by at most one event: 0 if it did (call again), else seconds it can wait."""
        if channel.outcome:  # the database failed while the last send's outcome was being recorded
            return self.settle(channel)
        now = self.clock()
        if now < channel.retry_at:
            return channel.retry_at - now
        newest = selectors.events_newest_id()  # read first: an event after it is left for the next look
        if newest <= channel.done_id:
            return IDLE
        event = next(iter(selectors.events_after(channel.done_id, limit=1, kinds=EVENT_KINDS)), None)
        if event is None or self.message(event) is None:
            upto = newest if event is None else event.pk
            if services.notify_skip(channel_id=channel.pk, after=channel.done_id, upto=upto):
                channel.done_id = upto
            else:
                self.reload(channel)
            return 0.0
        wait = channel.bucket.wait(now)
        if wait:
            return wait
        return self.send(channel, event.pk, self.message(event))

    def send(self, channel: Channel, event_id: int, message: Message) -> float:
        if not services.notify_claim(channel_id=channel.pk, event_id=event_id, after=channel.done_id):
            self.reload(channel)  # another worker moved it: carry on from where it is
            return 0.0
        channel.bucket.take()
        try:
            arrived = bool(
                channel.plugin.notify(title=message.title, body=message.body, body_format=apprise.NotifyFormat.TEXT)
            )
        except Exception:  # a plugin's own bug must not stop the other channels: it counts as a failure
            log.exception("notify: %s: Apprise failed on event %s", channel.name, event_id)
            arrived = False
        channel.outcome = (event_id, message.kind, arrived)
        return self.settle(channel)

    def settle(self, channel: Channel) -> float:
        """Record the outcome of the channel's last send; kept until the database has taken it, so that a failing
        database never leaves the event "being sent" under a running worker."""
        event_id, kind, arrived = channel.outcome
        if arrived:
            services.notify_sent(channel_id=channel.pk, event_id=event_id)
            channel.outcome, channel.done_id, channel.failures = None, event_id, 0
            self.sent += 1
            log.info("notify: %s: sent event %s (%s)", channel.name, event_id, kind)
            return 0.0
        give_up = channel.failures + 1 >= MAX_FAILURES
        services.notify_failed(channel_id=channel.pk, event_id=event_id, give_up=give_up)
        channel.outcome, channel.failures = None, channel.failures + 1
        if give_up:
            log.error("notify: %s: event %s failed %s times; given up", channel.name, event_id, MAX_FAILURES)
            channel.done_id, channel.failures = event_id, 0
            return 0.0
        delay = backoff(channel.failures)
        channel.retry_at = self.clock() + delay
        log.warning("notify: %s: event %s not sent; retrying in %.2f s", channel.name, event_id, delay)
        return delay

    def watch_feed(self) -> None:
        """Every STALL_EVERY seconds, when the trader wants to hear of it: a stalled feed becomes an event (once
        per stall), which the channels then send like any other."""
        if "feed" in self.kinds and self.clock() >= self.feed_checked + STALL_EVERY:
            self.feed_checked = self.clock()
            services.feed_stall_record(now=timezone.now())

    def reload(self, channel: Channel) -> None:
        row = NotifyChannel.objects.get(pk=channel.pk)
        channel.done_id, channel.failures = row.done_id, row.failures

    def run(self, *, until: Callable[[], bool], sleep: Callable[[float], None] = time.sleep) -> int:
        """Until `until()` says stop: returns how many messages were sent. The database going away costs a
        warning and a retry after a backoff, as the price feed does."""
        failures = 0
        while not until():
            try:
                self.watch_feed()
                wait = min((self.step(channel) for channel in self.channels), default=IDLE)
                failures = 0
            except DatabaseError as error:
                failures += 1
                connection.close()
                wait = backoff(failures)
                log.warning("notify: the database failed (%s); retrying in %.2f s", error, wait)
            if wait:
                sleep(min(wait, IDLE))
        return self.sent
