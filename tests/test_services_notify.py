"""Where the notifier stands on a channel: each step a guarded write, so an event is claimed by one worker only,
moves the channel on only for the worker that claimed it, and a send cut short by a kill is settled once."""

import threading

import pytest
from django.db import connection

from ledger import services
from ledger.models import NotifyChannel

pytestmark = pytest.mark.django_db


def open_channel(start_after: int = 10) -> NotifyChannel:
    channel, unsettled = services.notify_channel_open(key="k" * 64, name="tgram://1...n/", start_after=start_after)
    assert unsettled is None
    return channel


def test_a_new_channel_starts_after_the_event_it_is_given_and_an_old_one_where_it_was():
    channel = open_channel(start_after=10)
    services.notify_skip(channel_id=channel.pk, after=10, upto=15)

    again, unsettled = services.notify_channel_open(key="k" * 64, name="tgram://1...n/", start_after=99)

    assert (channel.done_id, again.done_id, unsettled) == (10, 15, None)


def test_a_claimed_event_sent_moves_the_channel_past_it():
    channel = open_channel()

    assert services.notify_claim(channel_id=channel.pk, event_id=12, after=10)
    assert services.notify_sent(channel_id=channel.pk, event_id=12)

    channel.refresh_from_db()
    assert (channel.done_id, channel.sending_id, channel.failures) == (12, None, 0)


def test_an_event_is_claimed_once_and_not_from_a_place_the_channel_has_left():
    channel = open_channel()

    assert services.notify_claim(channel_id=channel.pk, event_id=12, after=10)
    assert not services.notify_claim(channel_id=channel.pk, event_id=12, after=10)  # being sent already
    services.notify_sent(channel_id=channel.pk, event_id=12)
    assert not services.notify_claim(channel_id=channel.pk, event_id=13, after=10)  # it is past 10 now
    assert not services.notify_skip(channel_id=channel.pk, after=10, upto=20)


def test_a_failed_send_counts_and_is_tried_again_until_given_up():
    channel = open_channel()

    services.notify_claim(channel_id=channel.pk, event_id=12, after=10)
    services.notify_failed(channel_id=channel.pk, event_id=12, give_up=False)
    channel.refresh_from_db()
    assert (channel.done_id, channel.sending_id, channel.failures) == (10, None, 1)

    services.notify_claim(channel_id=channel.pk, event_id=12, after=10)
    services.notify_failed(channel_id=channel.pk, event_id=12, give_up=True)
    channel.refresh_from_db()
    assert (channel.done_id, channel.sending_id, channel.failures) == (12, None, 0)


def test_an_event_left_being_sent_by_a_killed_worker_is_settled_as_sent_at_the_next_start():
    channel = open_channel()
    services.notify_claim(channel_id=channel.pk, event_id=12, after=10)  # ... and the worker was killed

    again, unsettled = services.notify_channel_open(key="k" * 64, name="tgram://1...n/", start_after=99)

    assert unsettled == 12
    assert (again.done_id, again.sending_id) == (12, None)
    assert services.notify_channel_open(key="k" * 64, name="tgram://1...n/", start_after=99)[1] is None


def test_an_outcome_for_an_event_not_being_sent_changes_nothing():
    channel = open_channel()

    assert not services.notify_sent(channel_id=channel.pk, event_id=12)
    assert not services.notify_failed(channel_id=channel.pk, event_id=12, give_up=True)

    channel.refresh_from_db()
    assert (channel.done_id, channel.sending_id) == (10, None)


@pytest.mark.django_db(transaction=True)
def test_of_workers_racing_to_claim_one_event_exactly_one_wins():
    channel = open_channel()
    start, results = threading.Barrier(4), []

    def claim() -> None:
        start.wait()
        try:
            results.append(services.notify_claim(channel_id=channel.pk, event_id=11, after=10))
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [False, False, False, True]
