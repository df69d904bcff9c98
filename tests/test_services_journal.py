"""The journal's writes: a trade's notes and tags, a day's diary, and moving an open trade's stop or target."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from ledger import selectors, services
from ledger.errors import AlreadyClosed, InvalidInput, NotFound
from ledger.inputs import Tick
from ledger.models import DayNote, PaperTrade
from tests.helpers import book

from .conftest import NOW, T0

pytestmark = pytest.mark.django_db


def test_notes_and_tags_are_kept_with_who_and_when_and_the_before_is_in_the_history(open_trade, trader):
    trade = open_trade()

    services.trade_annotate(
        trade_id=trade.pk, notes="Took it on the retest.\n\nToo early.", tags=["A+ setup", "news"], by=trader
    )

    trade.refresh_from_db()
    assert (trade.notes, trade.tags) == ("Took it on the retest.\n\nToo early.", ["A+ setup", "news"])
    after, before = trade.history.all()[:2]
    assert (after.notes, after.tags, after.history_user, after.history_change_reason) == (
        trade.notes,
        trade.tags,
        trader,
        "notes and tags edited",
    )
    assert (before.notes, before.tags) == ("", [])


def test_only_what_is_given_changes_and_the_same_again_writes_nothing(open_trade):
    trade = open_trade()
    services.trade_annotate(trade_id=trade.pk, notes="First thoughts.", tags=["FOMO"])
    version, history = selectors.ledger_version(book().pk), trade.history.count()

    services.trade_annotate(trade_id=trade.pk, tags=["FOMO"])  # the same tags, notes not given
    assert (selectors.ledger_version(book().pk), trade.history.count()) == (version, history)

    services.trade_annotate(trade_id=trade.pk, tags=[])
    trade.refresh_from_db()
    assert (trade.notes, trade.tags) == ("First thoughts.", [])
    assert trade.history.first().history_change_reason == "tags edited"


def test_a_closed_trade_takes_notes_too(open_trade):
    trade = open_trade()
    services.trade_close(trade_id=trade.pk, price=Decimal("99"), at=T0 + timedelta(minutes=5))

    services.trade_annotate(trade_id=trade.pk, notes="Stopped out by the news.")

    trade.refresh_from_db()
    assert (trade.status, trade.notes, trade.realized_pnl) == (
        "MANUAL_CLOSE",
        "Stopped out by the news.",
        Decimal("-59.95"),
    )


def test_tags_are_trimmed_and_kept_once_whatever_their_case(open_trade):
    trade = services.trade_annotate(trade_id=open_trade().pk, tags=["  A+   setup ", "FOMO", "fomo", "news"])
    assert trade.tags == ["A+ setup", "FOMO", "news"]


def test_tags_are_kept_in_composed_form_so_one_written_two_ways_is_one(open_trade):
    decomposed, composed = "cafe\u0301", "caf\u00e9"  # e and a combining accent; é

    trade = services.trade_annotate(trade_id=open_trade().pk, tags=[decomposed, composed])

    assert trade.tags == [composed]


def test_a_new_tag_takes_the_spelling_already_in_use(open_trade, many_trades):
    first, second = open_trade(), open_trade()
    services.trade_annotate(trade_id=first.pk, tags=["FOMO"])

    assert services.trade_annotate(trade_id=second.pk, tags=["fomo", "Late entry"]).tags == ["FOMO", "Late entry"]


@pytest.mark.parametrize(
    ("tags", "field"),
    [
        (["ok", ""], "tags[1]"),
        (["a, b"], "tags[0]"),
        (["x" * 41], "tags[0]"),
        (["bell\x07"], "tags[0]"),
        (["ok", "FO\u200bMO"], "tags[1]"),  # a zero-width space: reads as FOMO
        (["\u202eputs"], "tags[0]"),  # a right-to-left override: reads as "stup"
        (["win\u2066ner"], "tags[0]"),  # an isolate: invisible
        (["soft\u00adhyphen"], "tags[0]"),
        ([f"t{n}" for n in range(21)], "tags"),
        ("FOMO", "tags"),  # a text, not a list
    ],
)
def test_bad_tags_are_refused_naming_the_field_and_nothing_is_written(open_trade, tags, field):
    trade = open_trade()
    with pytest.raises(InvalidInput) as refused:
        services.trade_annotate(trade_id=trade.pk, notes="kept?", tags=tags)
    assert refused.value.field == field
    trade.refresh_from_db()
    assert (trade.notes, trade.tags) == ("", [])


def test_notes_keep_their_paragraphs_and_refuse_control_characters_and_novels(open_trade):
    trade = open_trade()
    assert (
        services.trade_annotate(trade_id=trade.pk, notes="  one\r\n\r\ntwo\tcolumns  ").notes == "one\n\ntwo\tcolumns"
    )
    for notes in ("nul\x00", "x" * 20_001):
        with pytest.raises(InvalidInput) as refused:
            services.trade_annotate(trade_id=trade.pk, notes=notes)
        assert refused.value.field == "notes"


def test_an_unknown_trade_is_not_found():
    with pytest.raises(NotFound):
        services.trade_annotate(trade_id=999, notes="?")
    with pytest.raises(NotFound):
        services.trade_move_levels(trade_id=999, stop_loss="1")


# --- Moving the levels. The trade of `open_trade`: LONG 50 BTCUSDT at 100, stop 98, target 104, risk 100.


def test_moving_the_stop_keeps_the_initial_risk_so_r_is_measured_against_it(open_trade, trader):
    trade = open_trade()
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("102"), T0 + timedelta(minutes=2))])

    moved = services.trade_move_levels(trade_id=trade.pk, stop_loss="100.5", take_profit="106", by=trader)

    assert (moved.stop_loss, moved.take_profit, moved.risk_amount) == (Decimal("100.5"), Decimal("106"), Decimal("100"))
    latest = moved.history.first()
    assert (latest.stop_loss, latest.history_user, latest.history_change_reason) == (
        Decimal("100.5"),
        trader,
        "moved stop 98 to 100.5, target 104 to 106",
    )
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("100.4"), T0 + timedelta(minutes=3))])  # through the new stop
    closed = PaperTrade.objects.get(pk=trade.pk)
    # a stop fills at the tick (no slippage in tests): 0.4 * 50 - (100 * 50 + 100.4 * 50) * 0.001 = 20 - 10.02 = 9.98
    assert (closed.status, closed.realized_pnl, closed.r_multiple) == ("STOP_LOSS", Decimal("9.98"), Decimal("0.0998"))


def test_moving_only_the_target_leaves_the_stop(open_trade):
    trade = open_trade()
    moved = services.trade_move_levels(trade_id=trade.pk, take_profit="103")
    assert (moved.stop_loss, moved.take_profit) == (Decimal("98"), Decimal("103"))


@pytest.mark.parametrize(
    ("levels", "field", "says"),
    [
        ({"stop_loss": "100"}, "stop_loss", "must be below the last price 100 of this LONG"),  # at the price: crossed
        ({"stop_loss": "101"}, "stop_loss", "the price has already crossed it"),
        ({"take_profit": "99"}, "take_profit", "must be above the last price 100"),
        ({"stop_loss": "0"}, "stop_loss", "from 0.00000001"),
        ({}, "stop_loss", "Give a stop, a target or both"),
    ],
)
def test_a_level_on_the_wrong_side_of_the_price_is_refused_and_nothing_moves(open_trade, levels, field, says):
    trade = open_trade()
    version = selectors.ledger_version(book().pk)
    with pytest.raises(InvalidInput) as refused:
        services.trade_move_levels(trade_id=trade.pk, **levels)
    assert refused.value.field == field
    assert says in refused.value.message
    trade.refresh_from_db()
    assert (trade.stop_loss, trade.take_profit, selectors.ledger_version(book().pk)) == (
        Decimal("98"),
        Decimal("104"),
        version,
    )


def test_a_short_s_stop_lies_above_its_price(open_trade):
    trade = open_trade(action="SELL")  # SHORT at 100: stop 102, target 96
    with pytest.raises(InvalidInput, match="must be above the last price 100 of this SHORT"):
        services.trade_move_levels(trade_id=trade.pk, stop_loss="99.5")
    assert services.trade_move_levels(trade_id=trade.pk, stop_loss="100.5").stop_loss == Decimal("100.5")


def test_a_closed_trade_s_levels_do_not_move(open_trade):
    trade = open_trade()
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("97"), T0 + timedelta(minutes=2))])  # stopped out
    with pytest.raises(AlreadyClosed, match=r"closed \(stop loss\); only an open trade"):
        services.trade_move_levels(trade_id=trade.pk, stop_loss="95")


# --- The diary of a day.


@pytest.mark.time_machine(NOW, tick=False)
def test_a_day_s_diary_is_written_then_rewritten_with_its_history(trader):
    day = NOW.date()

    services.day_note_write(day=day, text="Plan: only breakouts.", by=trader)
    services.day_note_write(day=day, text="Plan: only breakouts.\nBroke it at 11:00.", by=trader)

    note = DayNote.objects.get(day=day)
    assert note.text == "Plan: only breakouts.\nBroke it at 11:00."
    assert [(h.text, h.history_type, h.history_user) for h in note.history.all()] == [
        ("Plan: only breakouts.\nBroke it at 11:00.", "~", trader),
        ("Plan: only breakouts.", "+", trader),
    ]


@pytest.mark.time_machine(NOW, tick=False)
def test_a_day_that_has_not_begun_has_no_diary():
    with pytest.raises(InvalidInput) as refused:
        services.day_note_write(day=NOW.date() + timedelta(days=1), text="Tomorrow I will...")
    assert refused.value.field == "date"
    assert not DayNote.objects.exists()


@pytest.mark.time_machine(NOW, tick=False)
def test_emptying_a_diary_keeps_its_row_and_history():
    services.day_note_write(day=date(2026, 11, 20), text="Something")
    services.day_note_write(day=date(2026, 11, 20), text="   ")
    note = DayNote.objects.get()
    assert (note.text, note.history.count()) == ("", 2)
