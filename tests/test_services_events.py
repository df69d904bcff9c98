"""The outbox: every write records its events in its own transaction, so an event exists exactly when its change
committed; a batch's events are a few statements however many; old events are pruned."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ledger import selectors, services
from ledger.errors import AlreadyClosed, InvalidInput
from ledger.inputs import SignalFields, Tick
from ledger.models import Event

from .conftest import EXIT_AT, T0

pytestmark = pytest.mark.django_db

D = Decimal


def kinds() -> list[str]:
    return list(Event.objects.order_by("pk").values_list("kind", flat=True))


def test_recording_and_executing_a_signal_records_its_two_events_with_their_facts(make_signal):
    make_signal(signal_id="evt-1")
    trade = services.signal_execute(signal_id="evt-1", at=T0 + timedelta(minutes=1))

    recorded, opened = Event.objects.order_by("pk")
    assert (recorded.kind, recorded.signal_id, recorded.trade_id) == ("signal.recorded", "evt-1", None)
    assert recorded.payload == {"symbol": "BTCUSDT", "action": "BUY", "price": "100.00000000"}
    assert (opened.kind, opened.signal_id, opened.trade_id) == ("trade.opened", "evt-1", trade.pk)
    # The fixture's fill: 100 (no tick, no slippage); 1% of 10,000 risked over a 2% stop = 50.
    assert (opened.payload["entry_price"], opened.payload["position_size"]) == ("100.00000000", "50.00000000")
    assert opened.created_at.tzinfo is not None


def test_a_replayed_signal_records_no_second_event(make_signal):
    make_signal(signal_id="evt-2")
    make_signal(signal_id="evt-2")  # the same body again
    assert kinds() == ["signal.recorded"]


def test_a_closed_trade_records_its_exit_and_realized_pnl_as_decimal_strings(closed_trade):
    closed = Event.objects.get(kind="trade.closed")
    assert closed.trade_id == closed_trade.pk
    # conftest: closed by hand at 101; fees 5 + 5.05 = 10.05, realized (101 - 100) * 50 - 10.05 = 39.95.
    assert closed.payload["status"] == "MANUAL_CLOSE"
    assert closed.payload["exit_price"] == "101.00000000"
    assert D(closed.payload["realized_pnl"]) == D("39.95")
    assert closed.payload["exit_time"].startswith(EXIT_AT.isoformat()[:19])


def test_a_refused_service_records_no_event(closed_trade):
    before = kinds()
    with pytest.raises(AlreadyClosed):
        services.trade_close(trade_id=closed_trade.pk, price=D("102"))
    with pytest.raises(InvalidInput):
        services.trade_move_levels(trade_id=closed_trade.pk)
    assert kinds() == before


def test_an_intake_the_market_refuses_records_the_refusal_not_a_trade():
    stale = SignalFields(
        signal_id="evt-old",
        symbol="ETHUSDT",
        action="BUY",
        entry_price=D("100"),
        confidence=D("0.8"),
        timestamp=timezone.now() - timedelta(hours=2),
    )
    intake = services.signal_intake(signal=stale)
    assert intake.refused
    assert kinds() == ["signal.recorded", "signal.refused"]
    refused = Event.objects.get(kind="signal.refused")
    assert (refused.signal_id, refused.payload["reason"]) == ("evt-old", intake.signal.status_reason)


def test_a_transaction_rolled_back_around_writes_leaves_no_event(open_trade):
    trade = open_trade()
    before = kinds()

    written_inside = []

    class Abandoned(Exception):
        pass

    @transaction.atomic
    def close_then_give_up() -> None:
        services.trade_close(trade_id=trade.pk, price=D("101"), at=EXIT_AT)
        services.day_note_write(day=T0.date(), text="gone with the rollback")
        written_inside.append(Event.objects.count())
        raise Abandoned

    with pytest.raises(Abandoned):
        close_then_give_up()
    assert written_inside == [len(before) + 2]  # written inside the transaction...
    assert kinds() == before  # ...and gone with it


def test_a_failure_inside_a_service_after_its_event_leaves_no_event(open_trade, monkeypatch):
    trade = open_trade()
    before = kinds()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("ledger.services.base.book_add", broken)
    with pytest.raises(RuntimeError):
        services.trade_close(trade_id=trade.pk, price=D("101"), at=EXIT_AT)  # its event is written before the total
    assert kinds() == before


def _open_many(open_trade, count: int) -> list[int]:
    return [open_trade(signal_id=f"many-{count}-{n}").pk for n in range(count)]


@pytest.mark.usefixtures("many_trades")
def test_a_tick_batch_that_closes_many_trades_records_its_events_in_a_constant_number_of_statements(open_trade):
    def statements_to_close(count: int) -> int:
        _open_many(open_trade, count)
        stop = Tick("BTCUSDT", D("90"), T0 + timedelta(minutes=5 + count))  # below every stop (98)
        with CaptureQueriesContext(connection) as queries:
            result = services.prices_apply(ticks=[stop])
        assert len(result.closed) == count
        return len(queries)

    assert statements_to_close(3) == statements_to_close(30)
    assert Event.objects.filter(kind="trade.closed").count() == 33
    applied = Event.objects.filter(kind="prices.applied")
    assert applied.count() == 2  # one per batch, not one per mark
    assert len(applied.last().payload["closed"]) == 30


def test_a_tick_batch_records_one_prices_event_with_the_symbols_and_trades_it_touched(open_trade):
    trade = open_trade()
    services.prices_apply(
        ticks=[
            Tick("BTCUSDT", D("100.5"), T0 + timedelta(minutes=2)),
            Tick("BTCUSDT", D("100.7"), T0 + timedelta(minutes=3)),
            Tick("ETHUSDT", D("2000"), T0 + timedelta(minutes=3)),
        ]
    )
    applied = Event.objects.get(kind="prices.applied")
    assert applied.payload == {
        "prices": {"BTCUSDT": "100.70000000", "ETHUSDT": "2000.00000000"},  # each symbol's last
        "marked": [trade.pk],
        "closed": [],
        "books": {str(trade.book_id): {"marked": [trade.pk], "closed": []}},  # what each book's readers get
    }


def test_the_end_of_day_records_its_closes_its_expiries_and_itself(open_trade, make_signal):
    trade = open_trade()
    make_signal(signal_id="evt-waiting")
    services.day_close(day=T0.date(), at=T0 + timedelta(hours=1))
    assert Event.objects.get(kind="trade.closed").trade_id == trade.pk
    assert Event.objects.get(kind="signal.expired").signal_id == "evt-waiting"
    day = Event.objects.get(kind="day.closed")
    assert (day.payload["day"], day.payload["closed"], day.payload["expired"]) == (str(T0.date()), 1, 1)
    assert kinds()[-1] == "day.closed"


def test_moving_a_stop_and_editing_notes_are_told_apart(open_trade):
    trade = open_trade()
    services.trade_move_levels(trade_id=trade.pk, stop_loss=D("99"))
    services.trade_annotate(trade_id=trade.pk, notes="patient")
    moved, noted = Event.objects.filter(trade_id=trade.pk).order_by("pk")[1:]
    assert (moved.kind, moved.payload["fields"]) == ("trade.moved", ["stop_loss"])
    assert (noted.kind, noted.payload["fields"]) == ("journal.changed", ["notes"])


def test_events_after_reads_in_id_order_from_an_id_with_a_limit_and_kinds(closed_trade):
    every = list(selectors.events_after(0))
    assert [event.kind for event in every] == ["signal.recorded", "trade.opened", "trade.closed"]
    assert [e.pk for e in selectors.events_after(every[0].pk, limit=1)] == [every[1].pk]
    assert [e.kind for e in selectors.events_after(0, kinds=["trade.closed"])] == ["trade.closed"]
    assert list(selectors.events_after(every[-1].pk)) == []
    assert selectors.events_newest_id() == every[-1].pk


def test_prune_events_deletes_only_events_older_than_the_days_kept(settings, make_signal):
    settings.PAPER_EVENTS_KEEP_DAYS = 30
    make_signal(signal_id="evt-new")
    old = services.event_record(kind="journal.changed", payload={"day": "2026-01-01"})
    Event.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))

    out = StringIO()
    call_command("prune_events", stdout=out)
    assert "1 event(s) older than 30 day(s) deleted." in out.getvalue()
    assert kinds() == ["signal.recorded"]
    assert services.events_prune(keep_days=1) == 0


def test_prune_events_refuses_a_number_of_days_below_one():
    with pytest.raises(Exception, match="at least 1"):
        call_command("prune_events", "--keep-days", "0")


def test_events_survive_the_trades_they_name_and_need_no_lock_on_them(closed_trade):
    # Plain ids: reading an event never joins its trade.
    with CaptureQueriesContext(connection) as queries:
        [event.trade_id for event in selectors.events_after(0)]
    assert len(queries) == 1
