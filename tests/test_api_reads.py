"""GET journal, pnl/daily and stats over three closed trades whose numbers are worked out by hand.

Each trade is a BUY at 100 opened while equity is 10000: size 50 (risk 100 / stop distance 2), entry fee 5.
  BTCUSDT closed at 102 on 2026-11-20 10:00+1h:  2*50 - (5 + 5.10) =  89.90
  ETHUSDT closed at 99  on 2026-11-20 10:00+2h: -1*50 - (5 + 4.95) = -59.95
  SOLUSDT closed at 101 on 2026-11-21:            1*50 - (5 + 5.05) =  39.95
"""

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from ledger import services

from .conftest import T0

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_closed(open_trade, many_trades):
    btc, eth, sol = (open_trade(symbol=symbol) for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT"))
    services.trade_close(trade_id=btc.pk, price=Decimal("102"), at=T0 + timedelta(hours=1))
    services.trade_close(trade_id=eth.pk, price=Decimal("99"), at=T0 + timedelta(hours=2))
    services.trade_close(trade_id=sol.pk, price=Decimal("101"), at=T0 + timedelta(days=1))
    return btc, eth, sol


def decimals(row: dict, *names: str) -> list[Decimal | None]:
    return [None if row[name] is None else Decimal(row[name]) for name in names]


def test_journal_lists_the_days_closed_trades_latest_first(api_client, three_closed):
    btc, eth, _ = three_closed

    response = api_client.get("/api/v1/journal", {"date": "2026-11-20"})

    assert response.json()["count"] == 2
    assert [trade["id"] for trade in response.json()["items"]] == [eth.pk, btc.pk]
    assert decimals(response.json()["items"][0], "realized_pnl") == [Decimal("-59.95")]


def test_journal_pages_with_limit_and_offset(api_client, three_closed):
    btc, _, _ = three_closed

    response = api_client.get("/api/v1/journal", {"date": "2026-11-20", "limit": 1, "offset": 1})

    assert response.json()["count"] == 2
    assert [trade["id"] for trade in response.json()["items"]] == [btc.pk]


@pytest.mark.parametrize(
    ("query", "field"), [({"limit": 0}, "limit"), ({"limit": 501}, "limit"), ({"offset": -1}, "offset")]
)
def test_journal_refuses_a_bad_page(api_client, query, field):
    response = api_client.get("/api/v1/journal", query)

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == field


def test_daily_pnl_of_one_day(api_client, three_closed):
    response = api_client.get("/api/v1/pnl/daily", {"date": "2026-11-20"})

    [row] = response.json()
    assert row["day"] == "2026-11-20"
    assert decimals(row, "realized_pnl") == [Decimal("29.95")]  # 89.90 - 59.95
    assert (row["trades"], row["wins"]) == (2, 1)


def test_daily_pnl_over_a_range_has_a_row_for_every_day(api_client, three_closed):
    response = api_client.get("/api/v1/pnl/daily", {"from": "2026-11-19", "to": "2026-11-21"})

    rows = [(row["day"], Decimal(row["realized_pnl"]), row["trades"], row["wins"]) for row in response.json()]
    assert rows == [
        ("2026-11-19", Decimal("0"), 0, 0),
        ("2026-11-20", Decimal("29.95"), 2, 1),
        ("2026-11-21", Decimal("39.95"), 1, 1),
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-11-19"}, "to"),
        ({"to": "2026-11-19"}, "from"),
        ({"from": "2026-11-20", "to": "2026-11-19"}, "to"),
        ({"from": "2025-01-01", "to": "2026-11-19"}, "to"),  # more than 366 days
        ({"date": "2026-11-20", "from": "2026-11-19", "to": "2026-11-21"}, "date"),
        ({"date": "20-11-2026"}, "date"),
        ({"date": "9999-12-31"}, "date"),
    ],
)
def test_daily_pnl_refuses_a_bad_period(api_client, query, field):
    response = api_client.get("/api/v1/pnl/daily", query)

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == field


def test_stats_over_all_history(api_client, three_closed):
    response = api_client.get("/api/v1/stats")

    stats = response.json()
    assert (stats["trades"], stats["wins"], stats["losses"]) == (3, 2, 1)
    assert decimals(stats, "win_rate", "realized_pnl", "gross_profit", "gross_loss") == [
        Decimal("0.6667"),  # 2/3 to 4 places
        Decimal("69.9"),  # 89.90 - 59.95 + 39.95
        Decimal("129.85"),  # 89.90 + 39.95
        Decimal("59.95"),
    ]
    assert decimals(stats, "profit_factor", "expectancy", "max_drawdown") == [
        Decimal("2.1660"),  # 129.85 / 59.95 = 2.16597...
        Decimal("23.3"),  # 69.9 / 3
        Decimal("59.95"),  # cumulative 89.90 -> 29.95 -> 69.90: the fall from 89.90 to 29.95
    ]
    assert stats["best_symbol"] == {
        "symbol": "BTCUSDT",
        "realized_pnl": stats["best_symbol"]["realized_pnl"],
        "trades": 1,
    }
    assert Decimal(stats["best_symbol"]["realized_pnl"]) == Decimal("89.9")
    assert stats["worst_symbol"]["symbol"] == "ETHUSDT"
    assert Decimal(stats["worst_symbol"]["realized_pnl"]) == Decimal("-59.95")


def test_stats_of_a_period_count_only_its_closes(api_client, three_closed):
    response = api_client.get("/api/v1/stats", {"from": "2026-11-21", "to": "2026-11-21"})

    stats = response.json()
    assert (stats["trades"], stats["wins"], stats["losses"]) == (1, 1, 0)
    assert stats["profit_factor"] is None  # no loss to divide by
    assert decimals(stats, "max_drawdown", "expectancy") == [Decimal("0"), Decimal("39.95")]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "1970-01-01", "to": "2199-12-31"}, "to"),
        ({"from": "2000-01-01", "to": "2026-11-19"}, "to"),  # 9,820 days: the page refuses it too
        ({"from": "1970-01-01"}, "from"),  # to today
    ],
)
def test_stats_refuse_a_period_longer_than_the_page_allows(api_client, query, field):
    response = api_client.get("/api/v1/stats", query)

    assert response.status_code == 422
    assert response.json()["detail"] == [{"field": field, "message": "A period is at most 3660 days."}]


def test_stats_of_the_longest_period_the_page_allows_answer(api_client):
    assert api_client.get("/api/v1/stats", {"from": "2016-11-22", "to": "2026-11-21"}).status_code == 200  # 3,652 days


def test_stats_drawdown_counts_a_fall_below_the_start(api_client, open_trade):
    trade = open_trade()
    services.trade_close(trade_id=trade.pk, price=Decimal("99"), at=T0 + timedelta(hours=1))

    response = api_client.get("/api/v1/stats")

    assert Decimal(response.json()["max_drawdown"]) == Decimal("59.95")  # from 0 down to -59.95


def test_stats_without_trades_are_zeros_and_nulls(api_client):
    stats = api_client.get("/api/v1/stats").json()

    assert stats["trades"] == 0
    assert stats["win_rate"] is None
    assert stats["expectancy"] is None
    assert stats["best_symbol"] is None
    assert Decimal(stats["max_drawdown"]) == 0


def test_stats_refuse_an_end_before_the_start(api_client):
    response = api_client.get("/api/v1/stats", {"from": "2026-11-21", "to": "2026-11-20"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "to"


def test_daily_pnl_range_counts_a_close_in_the_trading_days_zone(api_client, open_trade, settings):
    settings.TRADING_DAY_TZ = ZoneInfo("America/New_York")
    trade = open_trade()  # 2026-11-20 10:00 UTC is 05:00 in New York
    services.trade_close(trade_id=trade.pk, price=Decimal("102"), at=T0 + timedelta(hours=17))  # 22:00 in New York

    response = api_client.get("/api/v1/pnl/daily", {"from": "2026-11-20", "to": "2026-11-21"})

    rows = [(row["day"], Decimal(row["realized_pnl"]), row["trades"]) for row in response.json()]
    assert rows == [("2026-11-20", Decimal("89.9"), 1), ("2026-11-21", Decimal("0"), 0)]  # 03:00 UTC on the 21st
