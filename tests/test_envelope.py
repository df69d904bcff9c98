"""The numeric envelope (README, "Numbers"): no sequence of legal trades overflows a column, every computed level
is a price, and check_ledger reports a number outside the envelope instead of crashing on it."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from ledger import selectors, services
from ledger.errors import InvalidInput
from ledger.models import PaperTrade
from tests.helpers import book

from .conftest import NOW, T0
from .helpers import api_post

pytestmark = pytest.mark.django_db

TARGET = "99999999999"  # the largest whole price


def test_a_dozen_legal_round_trips_to_the_largest_target_fit_the_account_on_both_databases(
    api_client, admin_client, time_machine
):
    # Each BUY at 100 with its target at 99999999999 is sized to 1 unit (the notional at the target must stay
    # below 1e11) and realizes (99999999999 - 100) - (0.1 + 99999999.999) = 99899999898.901 at its target.
    for n in range(11):
        time_machine.move_to(NOW + timedelta(minutes=n), tick=False)
        opened = api_post(
            api_client,
            "signals",
            {
                "signal_id": f"far-{n}",
                "symbol": "BTCUSDT",
                "action": "BUY",
                "entry_price": "100",
                "confidence": "0.5",
                "take_profit": TARGET,
            },
        )
        assert Decimal(opened.json()["trade"]["position_size"]) == 1
        time_machine.move_to(NOW + timedelta(minutes=n, seconds=1), tick=False)
        closed = api_post(api_client, "prices", {"ticks": [{"symbol": "BTCUSDT", "price": TARGET}]})
        assert closed.status_code == 200
        assert closed.json()["closed"][0]["realized_pnl"] == "99899999898.90100000"
        time_machine.move_to(NOW + timedelta(minutes=n, seconds=2), tick=False)
        api_post(api_client, "prices", {"ticks": [{"symbol": "BTCUSDT", "price": "100"}]})  # back, for the next entry

    # 11 * 99899999898.901 = 1098899998887.911, kept to 15 digits: past the 12 integer digits the column had.
    assert book().realized_pnl_total == Decimal("1098899998887.91")
    assert selectors.ledger_violations(book()) == []
    assert admin_client.get("/").status_code == 200
    assert api_client.get("/api/v1/stats").json()["realized_pnl"] == "1098899998887.91000000"  # the same 15 digits
    assert api_client.get("/healthz").status_code == 200


def test_a_default_target_beyond_the_largest_price_is_refused(api_client):
    # A BUY at 99,000,000,000: stop 2% below, 97,020,000,000; target 2 * 1,980,000,000 above: 102,960,000,000.
    response = api_post(
        api_client,
        "signals",
        {"signal_id": "s-1", "symbol": "BTCUSDT", "action": "BUY", "entry_price": "99000000000", "confidence": "0.5"},
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "take_profit"
    assert not PaperTrade.objects.exists()


def test_a_correction_that_would_value_a_trade_beyond_the_envelope_is_refused(open_trade):
    trade = open_trade()
    services.trade_close(trade_id=trade.pk, price=Decimal("102"), at=T0 + timedelta(minutes=5))

    with pytest.raises(InvalidInput) as refused:  # 9e10 units * 2 up = 1.8e11 of PnL
        services.trade_correct(trade_id=trade.pk, changes={"position_size": Decimal("90000000000")})

    assert refused.value.field == "position_size"
    assert PaperTrade.objects.get(pk=trade.pk).position_size == Decimal("50")


def test_a_size_correction_that_takes_an_open_trade_beyond_the_envelope_names_the_size(open_trade):
    trade = open_trade()  # LONG 50 at 100, stop 98

    with pytest.raises(InvalidInput) as refused:  # risk 9e10 units * 2 = 1.8e11
        services.trade_correct(trade_id=trade.pk, changes={"position_size": Decimal("90000000000")})

    assert refused.value.field == "position_size"
    assert refused.value.message.startswith("position_size 90000000000 would value")
    assert PaperTrade.objects.get(pk=trade.pk).position_size == Decimal("50")


def test_a_form_s_unchanged_fields_sent_first_are_not_blamed_for_the_size(open_trade):
    trade = open_trade()
    services.trade_close(trade_id=trade.pk, price=Decimal("102"), at=T0 + timedelta(minutes=5))
    changes = {"entry_price": Decimal("100"), "fees": Decimal("1"), "position_size": Decimal("90000000000")}

    with pytest.raises(InvalidInput) as refused:
        services.trade_correct(trade_id=trade.pk, changes=changes)

    assert refused.value.field == "position_size"


def write_by_hand(sql: str, *params) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_check_ledger_reports_a_trade_number_beyond_the_envelope_instead_of_crashing(open_trade):
    trade = open_trade()
    closed = services.trade_close(trade_id=trade.pk, price=Decimal("102"), at=T0 + timedelta(minutes=5))
    # 500,000,000,000: beyond the envelope on both databases; beyond what Django reads back on SQLite if larger.
    huge = "500000000000" if connection.vendor == "postgresql" else "1e15"
    write_by_hand(f"UPDATE paper_trades SET realized_pnl = {huge} WHERE id = %s", closed.pk)

    violations = selectors.ledger_violations(book())

    assert [(v.kind, v.subject) for v in violations] == [("out-of-range", f"trade #{closed.pk}")]
    with pytest.raises(CommandError, match="1 violations found"):
        call_command("check_ledger", stdout=(out := StringIO()))
    assert f"out-of-range: trade #{closed.pk}" in out.getvalue()


@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="PostgreSQL's numeric(38, 8) refuses the write itself")
def test_check_ledger_reports_an_account_total_sqlite_kept_beyond_its_column():
    book()
    write_by_hand("UPDATE ledger_books SET realized_pnl_total = 1e31 WHERE slug = 'default'")

    unreadable = selectors.book("default")  # its names only: the total cannot be read
    assert [(v.kind, v.subject) for v in selectors.ledger_violations(unreadable)] == [("out-of-range", "account")]
