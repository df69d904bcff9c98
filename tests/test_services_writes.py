"""Every write moves the ledger's version (what the dashboard's ETags are made of) and, when it changes a
signal's or trade's state, leaves a row in their audit history: no write path, the import included, can
leave an open dashboard answering 304 with stale parts or a change without its who and when."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from ledger import legacy, selectors, services
from ledger.inputs import SignalFields, Tick
from ledger.models import DayNote, PaperTrade, Signal
from tests.helpers import book

from .conftest import T0

pytestmark = pytest.mark.django_db
LEGACY = Path(__file__).parent / "fixtures" / "legacy"


def history_rows() -> int:
    return Signal.history.count() + PaperTrade.history.count() + DayNote.history.count()


def new_signal(signal_id: str = "w-1") -> SignalFields:
    return SignalFields(
        signal_id=signal_id,
        symbol="BTCUSDT",
        action="BUY",
        entry_price=Decimal("100"),
        confidence=Decimal("0.7"),
        timestamp=T0,
    )


# Each case: (name, the write, whether it changes a state and so must leave history). A case receives the
# fixtures and returns nothing; what it did is read back from the version and the history.
def _record(make_signal, open_trade):
    services.signal_record(signal=new_signal())


def _intake(make_signal, open_trade):
    services.signal_intake(signal=new_signal(), execute=False)


def _execute(make_signal, open_trade):
    services.signal_execute(signal_id=make_signal().signal_id, at=T0 + timedelta(minutes=1))


def _expire(make_signal, open_trade):
    services.signal_expire(signal_id=make_signal().signal_id)


def _mark(make_signal, open_trade):
    open_trade()
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("101"), T0 + timedelta(minutes=5))])


def _tick_close(make_signal, open_trade):
    open_trade()
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("97"), T0 + timedelta(minutes=5))])


def _close(make_signal, open_trade):
    services.trade_close(trade_id=open_trade().pk, at=T0 + timedelta(minutes=5))


def _day_close(make_signal, open_trade):
    open_trade()
    services.day_close(day=T0.date())


def _day_expire(make_signal, open_trade):
    make_signal()
    services.day_close(day=T0.date())


def _correct(make_signal, open_trade):
    services.trade_correct(trade_id=open_trade().pk, changes={"stop_loss": Decimal("97")})


def _recompute(make_signal, open_trade):
    trade = open_trade()
    PaperTrade.objects.filter(pk=trade.pk).update(unrealized_pnl=Decimal("1"))  # a wrong value to put right
    services.trades_recompute(trade_ids=[trade.pk])


def _annotate(make_signal, open_trade):
    services.trade_annotate(trade_id=open_trade().pk, notes="Took it on the retest.", tags=["A+ setup"])


def _move_levels(make_signal, open_trade):
    services.trade_move_levels(trade_id=open_trade().pk, stop_loss=Decimal("99"))


def _day_note(make_signal, open_trade):
    services.day_note_write(day=T0.date(), text="Choppy morning.")


def _import_signals(make_signal, open_trade):
    report = legacy.legacy_import(sources=legacy.sources(signals=[LEGACY / "live_signals.json"]))
    assert not report.failed


def _import_advance(make_signal, open_trade):
    make_signal(signal_id="S3", symbol="ETHUSDT", action="SELL", entry_price=Decimal("200"))
    report = legacy.legacy_import(sources=legacy.sources(signals=[LEGACY / "archived_signals.json"]))
    assert not report.failed
    assert report.files[0].advanced
    assert Signal.history.filter(signal_id="S3").count() == 2  # recorded, then advanced by the import


def _import_trades(make_signal, open_trade):
    report = legacy.legacy_import(
        sources=legacy.sources(signals=[LEGACY / "live_signals.json", LEGACY / "archived_signals.json"])
    )
    before = selectors.ledger_version(book().pk), history_rows()
    report = legacy.legacy_import(sources=legacy.sources(trades=[LEGACY / "completed_paper_trades.json"]))
    assert not report.failed
    assert report.files[0].created
    assert (selectors.ledger_version(book().pk), history_rows()) > before


WRITES = [
    (_record, False),
    (_intake, False),
    (_execute, True),
    (_expire, True),
    (_mark, False),  # price marks are deliberately not history (docs/admin.md)
    (_tick_close, True),
    (_close, True),
    (_day_close, True),
    (_day_expire, True),
    (_correct, True),
    (_recompute, True),
    (_annotate, True),
    (_move_levels, True),
    (_day_note, True),
    (_import_signals, True),
    (_import_advance, True),
    (_import_trades, True),
]


@pytest.mark.parametrize(("write", "changes_state"), WRITES, ids=[write.__name__.strip("_") for write, _ in WRITES])
def test_every_write_moves_the_version_and_keeps_history(write, changes_state, make_signal, open_trade):
    version, history = selectors.ledger_version(book().pk), history_rows()
    fixtures_version, fixtures_history = version, history

    def counting(factory):  # the fixtures' own writes are not the write under test
        def made(*args, **kwargs):
            nonlocal fixtures_version, fixtures_history
            row = factory(*args, **kwargs)
            fixtures_version, fixtures_history = selectors.ledger_version(book().pk), history_rows()
            return row

        return made

    write(counting(make_signal), counting(open_trade))

    assert selectors.ledger_version(book().pk) > fixtures_version
    if changes_state:
        assert history_rows() > fixtures_history
