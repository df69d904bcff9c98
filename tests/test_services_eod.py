"""End of day: the service and the `close_eod` command for cron."""

import subprocess
import sys
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ledger import selectors, services
from ledger.days import last_moment, trading_day
from ledger.inputs import Tick
from ledger.models import Book, PaperTrade, PriceCandle, Signal
from ledger.selectors import DailyPnl
from tests.helpers import book

from .conftest import LAST_SECOND, MIDNIGHT, T0, TOKYO

pytestmark = pytest.mark.django_db
DAY = trading_day(T0)


def close_eod(*args: str) -> str:
    out = StringIO()
    call_command("close_eod", *args, stdout=out)
    return out.getvalue()


def test_close_eod_closes_open_trades_at_their_current_price(open_trade, make_signal, many_trades):
    marked = open_trade()
    never_marked = open_trade(symbol="ETHUSDT", entry_price=Decimal("200"))
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("101"), T0 + timedelta(minutes=5))])
    waiting = make_signal(symbol="SOLUSDT")

    out = close_eod("--date", str(DAY))

    marked.refresh_from_db()
    never_marked.refresh_from_db()
    assert (marked.status, marked.exit_price, marked.realized_pnl) == (
        PaperTrade.Status.EOD_CLOSE,
        Decimal("101"),
        Decimal("39.95"),  # (101-100)*50 - (5 + 5.05)
    )
    # never marked: closes at entry, paying both fees: 0.001*200*25 twice
    assert (never_marked.exit_price, never_marked.realized_pnl) == (Decimal("200"), Decimal("-10"))
    assert marked.exit_time == last_moment(DAY)  # a day already over closes at its last instant
    assert Signal.objects.get(signal_id=marked.signal_id).status == Signal.Status.CLOSED
    waiting.refresh_from_db()
    assert waiting.status == Signal.Status.EXPIRED
    assert str(DAY) in waiting.status_reason
    assert selectors.pnl_daily(book(), DAY).realized_pnl == Decimal("29.95")  # 39.95 - 10
    assert book().balance == Decimal("1000029.95")  # the roomy account's 1,000,000 + 29.95
    assert f"closed #{marked.pk} LONG BTCUSDT" in out
    assert "closed 2 trades, realized pnl +29.95" in out
    assert "expired 1 signals" in out


def test_close_eod_twice_closes_nothing_the_second_time(open_trade):
    open_trade()
    close_eod("--date", str(DAY))
    total = book().realized_pnl_total

    out = close_eod("--date", str(DAY))

    assert "No open trades to close" in out
    assert "closed 0 trades" in out
    assert book().realized_pnl_total == total == Decimal("-10")


def test_dry_run_reports_and_writes_nothing(open_trade, make_signal):
    trade = open_trade()
    make_signal()

    def everything():
        return [list(model.objects.values()) for model in (PaperTrade, Signal, Book)]

    before = everything()

    out = close_eod("--date", str(DAY), "--dry-run")

    assert f"would close #{trade.pk}" in out
    assert "Dry run" in out
    assert "would expire 1 signals" in out
    assert everything() == before


def test_a_past_date_leaves_trades_opened_after_it_alone(open_trade, many_trades):
    earlier = open_trade()
    later = open_trade(timestamp=T0 + timedelta(days=1))

    close_eod("--date", str(DAY))

    earlier.refresh_from_db()
    later.refresh_from_db()
    assert (earlier.status, later.status) == (PaperTrade.Status.EOD_CLOSE, PaperTrade.Status.OPEN)


@pytest.mark.parametrize("value", ["2026-13-01", "soon"])
def test_a_bad_date_is_a_command_error(value):
    with pytest.raises(CommandError, match="--date must be YYYY-MM-DD"):
        close_eod("--date", value)


def test_a_future_date_is_refused():
    with pytest.raises(CommandError, match="in the future"):
        close_eod("--date", "2999-01-01")


def test_close_eod_exits_non_zero_with_a_sentence_on_failure():
    done = subprocess.run(
        [sys.executable, "manage.py", "close_eod", "--date", "yesterday-ish"],
        capture_output=True,
        text=True,
        env={"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": ""},
    )

    assert done.returncode != 0
    assert "--date must be YYYY-MM-DD, today or yesterday" in done.stderr


def test_a_signal_and_a_close_at_23_59_59_belong_to_that_day_and_at_midnight_to_the_next(around_midnight):
    m = around_midnight
    friday, saturday = date(2026, 11, 20), date(2026, 11, 21)

    assert [t.pk for t in selectors.journal_for_day(book(), friday)] == [m.won.pk]
    assert [t.pk for t in selectors.journal_for_day(book(), saturday)] == [m.lost.pk]
    friday_pnl = DailyPnl(friday, Decimal("139.85"), trades=1, wins=1)  # won alone: 3*50 - (5 + 5.15)
    saturday_pnl = DailyPnl(saturday, Decimal("-59.95"), trades=1, wins=0)  # lost alone: -1*50 - (5 + 4.95)
    assert [selectors.pnl_daily(book(), friday), selectors.pnl_daily(book(), saturday)] == [friday_pnl, saturday_pnl]
    assert selectors.pnl_daily_range(book(), friday, saturday) == [friday_pnl, saturday_pnl]
    # newest first: late at 23:59:59, then the trades' own signals of 22:00 (the later id first)
    assert [s.signal_id for s in selectors.signals_for_day(book(), friday)] == [
        m.late.signal_id,
        m.lost.signal_id,
        m.won.signal_id,
    ]
    assert [s.signal_id for s in selectors.signals_for_day(book(), saturday)] == [m.early.signal_id]


@pytest.mark.time_machine(LAST_SECOND, tick=False)
def test_close_eod_today_at_23_59_59_closes_that_day_at_that_second(settings, open_trade, make_signal):
    settings.TRADING_DAY_TZ = TOKYO
    trade = open_trade(timestamp=datetime(2026, 11, 20, 22, 0, tzinfo=TOKYO))
    waiting = make_signal(timestamp=LAST_SECOND)

    out = close_eod("--date", "today")

    trade.refresh_from_db()
    waiting.refresh_from_db()
    assert (trade.status, trade.exit_time) == (
        PaperTrade.Status.EOD_CLOSE,
        LAST_SECOND,
    )  # now, not the day's last instant
    assert waiting.status == Signal.Status.EXPIRED
    assert selectors.pnl_daily(book(), date(2026, 11, 20)).trades == 1
    assert "2026-11-20: closed 1 trades" in out


@pytest.mark.time_machine(MIDNIGHT, tick=False)
def test_close_eod_yesterday_at_midnight_closes_what_came_by_23_59_59_and_not_what_came_at_midnight(
    settings, open_trade, make_signal
):
    settings.TRADING_DAY_TZ = TOKYO
    late, early = (
        open_trade(timestamp=LAST_SECOND, at=LAST_SECOND),
        open_trade(symbol="ETHUSDT", timestamp=MIDNIGHT, at=MIDNIGHT),
    )
    waiting_late, waiting_early = make_signal(timestamp=LAST_SECOND), make_signal(timestamp=MIDNIGHT)

    out = close_eod("--date", "yesterday")

    for row in (late, early, waiting_late, waiting_early):
        row.refresh_from_db()
    assert (late.status, late.exit_time) == (
        PaperTrade.Status.EOD_CLOSE,
        datetime(2026, 11, 20, 23, 59, 59, 999999, tzinfo=TOKYO),
    )
    assert early.status == PaperTrade.Status.OPEN
    assert (waiting_late.status, waiting_early.status) == (Signal.Status.EXPIRED, Signal.Status.GENERATED)
    assert "2026-11-20: closed 1 trades" in out
    assert "expired 1 signals" in out


@pytest.mark.time_machine(MIDNIGHT, tick=False)
def test_close_eod_today_at_midnight_closes_the_new_day(settings, open_trade):
    settings.TRADING_DAY_TZ = TOKYO
    trade = open_trade(timestamp=MIDNIGHT, at=MIDNIGHT)

    out = close_eod("--date", "today")

    trade.refresh_from_db()
    assert (trade.status, trade.exit_time) == (PaperTrade.Status.EOD_CLOSE, MIDNIGHT)
    assert (
        selectors.pnl_daily(book(), date(2026, 11, 20)).trades,
        selectors.pnl_daily(book(), date(2026, 11, 21)).trades,
    ) == (0, 1)
    assert "2026-11-21: closed 1 trades" in out


def test_the_end_of_day_prunes_candles_older_than_the_history_kept_but_not_those_of_an_open_trade(
    settings, open_trade, many_trades
):
    settings.PRICE_HISTORY_DAYS = 2
    end = last_moment(DAY) + timedelta(microseconds=1)  # 2026-11-21 00:00 UTC: the cutoff is 2026-11-19 00:00
    old, kept = end - timedelta(days=2, minutes=1), end - timedelta(days=2)
    services.prices_apply(ticks=[Tick(s, Decimal("100"), at) for s in ("BTCUSDT", "ETHUSDT") for at in (old, kept)])
    open_trade(
        symbol="ETHUSDT", timestamp=end + timedelta(minutes=1), at=end + timedelta(minutes=2)
    )  # opened the next day

    dry = close_eod("--date", str(DAY), "--dry-run")
    assert "would prune 1 candles older than 2 days" in dry
    assert "pruned 1 candles" in close_eod("--date", str(DAY))

    # BTCUSDT's 23:59 candle of the 18th went; ETHUSDT has a trade open, so all of its history stays.
    assert sorted(PriceCandle.objects.values_list("symbol", "minute")) == [
        ("BTCUSDT", kept),
        ("ETHUSDT", old),
        ("ETHUSDT", kept),
    ]
