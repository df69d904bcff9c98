"""Where the notifier stands on each channel (`manage.py notify`, docs/operations.md, "Notifications").

Each event goes to a channel in three steps, each its own transaction: `notify_claim` records the event as being
sent, the worker sends it, and `notify_sent` (or `notify_failed`) records the outcome and moves the channel past
it. Every step is an UPDATE guarded by the state the step expects, so of two workers only one sends an event.
A worker killed between the claim and the outcome leaves the event "being sent": `notify_channel_open`, at the next
start, settles it as sent without sending it again (it may well have arrived: sending it twice is the one thing
the trader would see), and says which it was.
"""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..models import NotifyChannel


@transaction.atomic
def notify_channel_open(*, key: str, name: str, start_after: int) -> tuple[NotifyChannel, int | None]:
    """The channel's row, made for a new channel to start after `start_after` (the newest event: history is not
    sent). Returns the row and the event a killed worker left being sent, now settled as sent (None if none)."""
    now = timezone.now()
    channel, _ = NotifyChannel.objects.get_or_create(
        key=key, defaults={"name": name, "done_id": start_after, "updated_at": now}
    )
    unsettled = channel.sending_id
    if unsettled is not None:
        NotifyChannel.objects.filter(pk=channel.pk, sending_id=unsettled).update(
            done_id=unsettled, sending_id=None, failures=0, updated_at=now
        )
    NotifyChannel.objects.filter(pk=channel.pk).exclude(name=name).update(name=name)
    return NotifyChannel.objects.get(pk=channel.pk), unsettled


@transaction.atomic
def notify_claim(*, channel_id: int, event_id: int, after: int) -> bool:
    """Record that the event is being sent, before it is: True for the one worker that finds the channel where
    it left it (done with `after`, nothing being sent)."""
    return bool(
        NotifyChannel.objects.filter(pk=channel_id, done_id=after, sending_id__isnull=True).update(
            sending_id=event_id, updated_at=timezone.now()
        )
    )


@transaction.atomic
def notify_sent(*, channel_id: int, event_id: int) -> bool:
    """The event arrived: the channel is done with it."""
    return bool(
        NotifyChannel.objects.filter(pk=channel_id, sending_id=event_id).update(
            done_id=event_id, sending_id=None, failures=0, updated_at=timezone.now()
        )
    )


@transaction.atomic
def notify_failed(*, channel_id: int, event_id: int, give_up: bool) -> bool:
    """The channel refused the event or could not be reached: it is tried again (one more failure in a row), or,
    with `give_up`, left behind and the channel moves on."""
    changes = {"done_id": event_id, "failures": 0} if give_up else {"failures": F("failures") + 1}
    return bool(
        NotifyChannel.objects.filter(pk=channel_id, sending_id=event_id).update(
            sending_id=None, updated_at=timezone.now(), **changes
        )
    )


@transaction.atomic
def notify_skip(*, channel_id: int, after: int, upto: int) -> bool:
    """Events after `after` up to `upto` carry nothing for this channel (other kinds, or kinds the trader turned
    off): the channel moves past them without sending."""
    return bool(
        NotifyChannel.objects.filter(pk=channel_id, done_id=after, sending_id__isnull=True).update(
            done_id=upto, updated_at=timezone.now()
        )
    )
