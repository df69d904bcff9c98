"""The original design's four reads, as raw SQL over the two tables, agree with the selectors."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from ledger import selectors, services
from ledger.days import day_bounds, trading_day
from ledger.inputs import Tick
from tests.helpers import book

from .conftest import T0

pytestmark = pytest.mark.django_db
DAY = trading_day(T0)


def sql(query: str, *params):
    adapted = [connection.ops.adapt_datetimefield_value(p) for p in params]
    with connection.cursor() as cursor:
        cursor.execute(query, adapted)
        return cursor.fetchall()


@pytest.fixture
def history(open_trade, make_signal, many_trades):
    """Trades closed yesterday, today and still open, and signals in every state."""
    yesterday = open_trade(timestamp=T0 - timedelta(days=1))
    services.trade_close(trade_id=yesterday.pk, price=Decimal("103"), at=T0 - timedelta(days=1, minutes=-5))
    won = open_trade()
    lost = open_trade(symbol="ETHUSDT", action="SELL", entry_price=Decimal("50"))
    open_trade(symbol="SOLUSDT", entry_price=Decimal("20"))
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("104.5"), T0 + timedelta(minutes=30))])
    services.trade_close(trade_id=lost.pk, price=Decimal("50.7"), at=T0 + timedelta(minutes=40))
    services.signal_expire(signal_id=make_signal(action="SELL").signal_id)
    make_signal()
    return won


def test_daily_pnl_matches_raw_sql(history):
    start, end = day_bounds(DAY)
    ((total, count),) = sql(
        "SELECT COALESCE(SUM(realized_pnl), 0), COUNT(*) FROM paper_trades WHERE exit_time >= %s AND exit_time < %s",
        start,
        end,
    )
    daily = selectors.pnl_daily(book(), DAY)

    assert daily.trades == count == 2
    assert daily.realized_pnl == Decimal(str(total)).quantize(Decimal("0.00000001"))
    # Yesterday's close (+139.85) made equity 1,000,139.85, so risk 0.0001 of it = 100.013985:
    # won: LONG 50.0069925 @ 100, target 104: 4*50.0069925 - (5.00069925 + 5.20072722) = 189.82654353
    # lost: SHORT 100.013985 @ 50 closed 50.7: -0.7*100.013985 - (5.00069925 + 5.07070904) = -80.08119779
    assert daily.realized_pnl == Decimal("109.74534574")


def test_active_trades_match_raw_sql(history):
    rows = sql("SELECT id FROM paper_trades WHERE status = 'OPEN' ORDER BY entry_time, id")

    assert [t.pk for t in selectors.trades_active()] == [r[0] for r in rows]
    assert len(rows) == 1


def test_signals_summary_matches_raw_sql(history):
    start, end = day_bounds(DAY)
    rows = sql(
        "SELECT status, action, COUNT(*) FROM signals WHERE timestamp >= %s AND timestamp < %s GROUP BY status, action",
        start,
        end,
    )
    ids = sql(
        "SELECT signal_id FROM signals WHERE timestamp >= %s AND timestamp < %s ORDER BY timestamp DESC, id DESC",
        start,
        end,
    )
    summary = selectors.signals_summary(book(), DAY)

    by_status, by_action = {}, {}
    for status, action, count in rows:
        by_status[status] = by_status.get(status, 0) + count
        by_action[action] = by_action.get(action, 0) + count
    assert summary.total == sum(by_status.values()) == 5
    assert {k: v for k, v in summary.by_status.items() if v} == by_status
    assert {k: v for k, v in summary.by_action.items() if v} == by_action == {"BUY": 3, "SELL": 2}
    assert [s.signal_id for s in selectors.signals_for_day(book(), DAY)] == [r[0] for r in ids]


def test_journal_matches_raw_sql(history):
    start, end = day_bounds(DAY)
    rows = sql(
        "SELECT id, realized_pnl FROM paper_trades WHERE exit_time >= %s AND exit_time < %s "
        "ORDER BY exit_time DESC, id DESC",
        start,
        end,
    )
    journal = list(selectors.journal_for_day(book(), DAY))

    assert [t.pk for t in journal] == [r[0] for r in rows]
    assert journal[-1].pk == history.pk  # closed first, listed last
