"""End of day: the service and the `close_eod` command for cron."""

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from ledger import selectors, services
from ledger.days import last_moment, trading_day
from ledger.inputs import Tick
from ledger.models import Account, PaperTrade, Signal

from .conftest import T0

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
    assert selectors.pnl_daily(DAY).realized_pnl == Decimal("29.95")  # 39.95 - 10
    assert selectors.equity() == Decimal("1000029.95")  # the roomy account's 1,000,000 + 29.95
    assert f"closed #{marked.pk} LONG BTCUSDT" in out
    assert "closed 2 trades, realized pnl +29.95" in out
    assert "expired 1 signals" in out


def test_close_eod_twice_closes_nothing_the_second_time(open_trade):
    open_trade()
    close_eod("--date", str(DAY))
    total = Account.objects.get().realized_pnl_total

    out = close_eod("--date", str(DAY))

    assert "No open trades to close" in out
    assert "closed 0 trades" in out
    assert Account.objects.get().realized_pnl_total == total == Decimal("-10")


def test_dry_run_reports_and_writes_nothing(open_trade, make_signal):
    trade = open_trade()
    make_signal()
    def everything():
        return [list(model.objects.values()) for model in (PaperTrade, Signal, Account)]

    before = everything()

    out = close_eod("--date", str(DAY), "--dry-run")

    assert f"would close #{trade.pk}" in out
    assert "Dry run" in out and "would expire 1 signals" in out
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


def test_day_boundary_follows_trading_day_tz(settings, open_trade):
    settings.TRADING_DAY_TZ = ZoneInfo("America/New_York")  # EST, UTC-5, in November
    late = datetime(2026, 11, 20, 4, 30, tzinfo=UTC)  # 23:30 on the 19th in New York
    trade = open_trade(timestamp=late - timedelta(minutes=5), at=late - timedelta(minutes=4))
    services.trade_close(trade_id=trade.pk, at=late)
    after_midnight = open_trade(symbol="ETHUSDT", timestamp=late + timedelta(hours=1))

    assert trading_day(late) == date(2026, 11, 19)
    assert selectors.pnl_daily(date(2026, 11, 19)).trades == 1
    assert selectors.pnl_daily(date(2026, 11, 20)).trades == 0
    assert [s.signal_id for s in selectors.signals_for_day(date(2026, 11, 19))] == [trade.signal_id]

    services.day_close(day=date(2026, 11, 19))

    after_midnight.refresh_from_db()
    assert after_midnight.status == PaperTrade.Status.OPEN  # opened at 00:30 New York time, the next day
