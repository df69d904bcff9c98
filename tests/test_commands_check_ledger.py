"""check_ledger: silent on a ledger the services wrote, and names every kind of damage done behind their back."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from ledger import selectors, services
from ledger.inputs import Tick
from ledger.models import Book, PaperTrade, Signal
from tests.helpers import book

from .conftest import T0

pytestmark = pytest.mark.django_db

# A BUY at 100 with the default rules: stop 98, risk 1% of 10000 = 100, size 100 / (100 - 98) = 50,
# entry fee 0.001 * 100 * 50 = 5.


def kinds() -> list[str]:
    return [violation.kind for violation in selectors.ledger_violations(book())]


@pytest.fixture
def without_check_constraints():
    """Let a test write a row the table's CHECK constraints would refuse (a damaged or hand-edited database)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA ignore_check_constraints = ON")
        else:  # dropped inside the test's transaction, which is rolled back
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred checks pending before ALTER TABLE
            cursor.execute("ALTER TABLE paper_trades DROP CONSTRAINT trade_exit_matches_status")
    yield
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA ignore_check_constraints = OFF")


def test_a_ledger_written_by_the_services_is_consistent(open_trade, make_signal, capsys, many_trades):
    open_trade(symbol="ETHUSDT")
    stopped = open_trade(symbol="SOLUSDT")
    manual = open_trade(symbol="BTCUSDT")
    make_signal()  # GENERATED, no trade
    services.prices_apply(ticks=[Tick("SOLUSDT", Decimal("97"), T0 + timedelta(minutes=3))])
    services.prices_apply(ticks=[Tick("ETHUSDT", Decimal("101.37"), T0 + timedelta(minutes=3))])
    services.trade_close(trade_id=manual.pk, price=Decimal("103"), at=T0 + timedelta(minutes=4))
    stopped.refresh_from_db()
    assert stopped.status == PaperTrade.Status.STOP_LOSS

    call_command("check_ledger")

    assert capsys.readouterr().out.strip() == "ledger consistent"


def test_an_end_of_day_close_leaves_the_ledger_consistent(open_trade):
    open_trade()
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("100.5"), T0 + timedelta(minutes=3))])

    services.day_close(day=T0.date(), at=T0 + timedelta(hours=1))

    assert kinds() == []


def test_an_executed_signal_without_a_trade_is_reported(make_signal):
    signal = make_signal()
    Signal.objects.filter(pk=signal.pk).update(status=Signal.Status.EXECUTED)

    (violation,) = selectors.ledger_violations(book())

    assert (violation.kind, violation.subject) == ("executed-without-open-trade", f"signal {signal.signal_id}")


def test_an_executed_signal_whose_trade_is_closed_is_reported(closed_trade):
    Signal.objects.filter(trade=closed_trade).update(status=Signal.Status.EXECUTED)

    assert kinds() == ["executed-without-open-trade"]


def test_a_closed_signal_whose_trade_is_open_is_reported(open_trade):
    trade = open_trade()
    Signal.objects.filter(trade=trade).update(status=Signal.Status.CLOSED)

    (violation,) = selectors.ledger_violations(book())

    assert violation.kind == "closed-signal-trade-not-closed"
    assert f"trade #{trade.pk} is OPEN" in violation.detail


def test_a_trade_whose_signal_is_still_generated_is_reported(open_trade):
    trade = open_trade()
    Signal.objects.filter(trade=trade).update(status=Signal.Status.GENERATED)

    (violation,) = selectors.ledger_violations(book())

    assert (violation.kind, violation.subject) == ("signal-disagrees", f"trade #{trade.pk}")


def test_a_closed_trade_without_exit_price_is_reported(closed_trade, without_check_constraints):
    PaperTrade.objects.filter(pk=closed_trade.pk).update(exit_price=None)

    assert kinds() == ["closed-without-exit"]


def test_a_realized_pnl_off_by_more_than_a_cent_is_reported(closed_trade):
    PaperTrade.objects.filter(pk=closed_trade.pk).update(realized_pnl=Decimal("39.97"))  # the rules give 39.95
    Book.objects.filter(slug="default").update(realized_pnl_total=Decimal("39.97"))  # the total agrees with the row

    violation, executions, day = selectors.ledger_violations(book())

    assert violation.kind == "realized-pnl"
    assert "the rules give 39.95000000" in violation.detail
    assert executions.kind == "executions"  # and its exit execution realized 39.95
    assert executions.detail == "PnL 39.97, its executions give 39.95000000."
    assert day.kind == "day-aggregate"  # and its day's figures kept 39.95
    assert day.detail.startswith("realized_pnl 39.95000000 kept, the closed trades give 39.97000000")


def test_a_realized_pnl_within_a_cent_is_accepted(closed_trade):
    PaperTrade.objects.filter(pk=closed_trade.pk).update(realized_pnl=Decimal("39.955"))
    Book.objects.filter(slug="default").update(realized_pnl_total=Decimal("39.955"))

    assert kinds() == []


def test_an_open_trade_not_valued_at_its_exit_quote_is_reported(open_trade):
    trade = open_trade()
    # Quoted at 101 the rules give fees 5 + 0.001 * 101 * 50 = 10.05 and PnL (101 - 100) * 50 - 10.05 = 39.95;
    # the row keeps the valuation at its entry price (fees 10, PnL -10).
    PaperTrade.objects.filter(pk=trade.pk).update(current_price=Decimal("101"), exit_quote=Decimal("101"))

    (violation,) = selectors.ledger_violations(book())

    assert violation.kind == "unrealized-pnl"
    assert "the rules give 10.05000000 and 39.95000000" in violation.detail


def test_an_open_cost_that_differs_from_the_open_trades_is_reported(open_trade):
    open_trade()  # 50 units at 100: 5000 notional + 5 fee
    Book.objects.filter(slug="default").update(open_cost=Decimal("4000"))

    (violation,) = selectors.ledger_violations(book())

    assert violation.kind == "open-cost"
    assert "open cost 4000" in violation.detail
    assert "sum to 5005" in violation.detail


def test_cash_below_zero_that_the_trades_explain_is_the_account_s_state_not_a_violation(open_trade):
    open_trade(symbol="BTCUSDT")  # LONG 50 at 100: 5005 of cash
    open_trade(symbol="ETHUSDT", action="SELL", stop_loss=Decimal("102"))  # SHORT 49.9000999 at 100, what is left
    services.prices_apply(ticks=[Tick("ETHUSDT", Decimal("250"), T0 + timedelta(minutes=5))])  # liquidated

    assert selectors.ledger_violations(book()) == []
    # realized -(250 - 100) * 49.9000999 - (4.99000999 + 12.47502498) fees = -7502.48001997; equity 2497.51998003,
    # less the LONG's 5005: cash -2507.48001997
    assert selectors.account_state(book()) == (
        "account in deficit: cash -2507.48001997, balance 2497.51998003; a gap took a loss beyond its collateral, "
        "and no entry is taken until cash is positive again."
    )


def test_a_running_total_that_differs_from_the_trades_is_reported(closed_trade):
    Book.objects.filter(slug="default").update(realized_pnl_total=Decimal("0"))

    (violation,) = selectors.ledger_violations(book())

    assert violation.kind == "account-total"
    assert "sum to 39.95000000" in violation.detail


def test_the_command_lists_every_violation_and_fails(open_trade, make_signal, capsys):
    trade = open_trade()
    Signal.objects.filter(trade=trade).update(status=Signal.Status.CLOSED)
    orphan = make_signal()
    Signal.objects.filter(pk=orphan.pk).update(status=Signal.Status.EXECUTED)

    with pytest.raises(CommandError, match="2 violations found"):
        call_command("check_ledger")

    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"executed-without-open-trade: signal {orphan.signal_id}: EXECUTED but it has no trade.",
        f"closed-signal-trade-not-closed: signal {trade.signal_id}: CLOSED but its trade #{trade.pk} is OPEN.",
    ]
