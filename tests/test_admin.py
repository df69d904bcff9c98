"""The admin: corrections keep PnL and the account's running total consistent, actions close exactly once,
every change is kept in the history, and only staff (and the read-only group only to look) get in.

Numbers are worked out by hand from the rules of docs/domain.md: fee = 0.001 * price * size per side.
"""

import re
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from ledger import selectors, services, sizing
from ledger.errors import InvalidInput
from ledger.inputs import CORRECTABLE, Tick
from ledger.models import ApiToken, MarketLot, PaperTrade, Signal
from tests.helpers import book

from .conftest import EXIT_AT, T0

pytestmark = pytest.mark.django_db

TRADE_FIELDS = (
    "status",
    "entry_price",
    "position_size",
    "stop_loss",
    "take_profit",
    "exit_price",
    "exit_time",
    "fees",
    "realized_pnl",
    "unrealized_pnl",
    "risk_amount",
    "current_price",
)


def change_url(trade: PaperTrade) -> str:
    return reverse("admin:ledger_papertrade_change", args=[trade.pk])


def form_data(trade: PaperTrade, **changes) -> dict[str, str]:
    """The trade's change form as the browser posts it, with some fields changed."""
    values = {name: getattr(trade, name) for name in CORRECTABLE} | changes
    data = {name: "" if value is None else str(value) for name, value in values.items() if name != "exit_time"}
    exit_time = values["exit_time"]
    data["exit_time_0"] = exit_time.strftime("%Y-%m-%d") if exit_time else ""
    data["exit_time_1"] = exit_time.strftime("%H:%M:%S") if exit_time else ""
    return data


def snapshot(trade: PaperTrade) -> dict:
    trade.refresh_from_db()
    return {name: getattr(trade, name) for name in TRADE_FIELDS}


def account_total() -> Decimal:
    return book().realized_pnl_total


def bulk_closed_trades(count: int) -> None:
    """Rows enough to show whether a page's queries grow with the table (made in bulk, not via services)."""
    Signal.objects.bulk_create(
        Signal(
            book=book(),
            signal_id=f"bulk-{i}",
            symbol="BTCUSDT" if i % 2 else "ETHUSDT",
            action="BUY",
            entry_price=Decimal("100"),
            confidence=Decimal("0.5"),
            timestamp=T0 + timedelta(days=i % 40),
            status=Signal.Status.CLOSED,
        )
        for i in range(count)
    )
    PaperTrade.objects.bulk_create(
        PaperTrade(
            book=book(),
            signal_id=f"bulk-{i}",
            symbol="BTCUSDT" if i % 2 else "ETHUSDT",
            direction="LONG",
            entry_price=Decimal("100"),
            position_size=Decimal("50"),
            stop_loss=Decimal("98"),
            take_profit=Decimal("104"),
            entry_time=T0 + timedelta(days=i % 40),
            exit_time=T0 + timedelta(days=i % 40, hours=1),
            exit_price=Decimal("101"),
            status=PaperTrade.Status.EOD_CLOSE,
            realized_pnl=Decimal("39.95"),
            current_price=Decimal("101"),
            exit_quote=Decimal("101"),
            max_price=Decimal("101"),
            min_price=Decimal("100"),
            risk_amount=Decimal("100"),
            fees=Decimal("10.05"),
        )
        for i in range(count)
    )


# --- Lists and pages at many rows -------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?status__exact=EOD_CLOSE",
        "?symbol=ETHUSDT",
        "?q=btc",
        "?q=bulk-7",
        "?exit_time__year=2026&exit_time__month=12",
    ],
)
def test_trade_list_renders_many_rows_in_a_bounded_number_of_queries(
    admin_client, django_assert_max_num_queries, query
):
    bulk_closed_trades(300)

    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse("admin:ledger_papertrade_changelist") + query)

    assert response.status_code == 200
    assert response.context["cl"].result_list  # rows were shown, not an empty page


def test_signal_list_renders_many_rows_in_a_bounded_number_of_queries(admin_client, django_assert_max_num_queries):
    bulk_closed_trades(300)

    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse("admin:ledger_signal_changelist"))

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 100  # one page


def test_trade_search_finds_exact_signal_id_and_symbol_prefix_only(admin_client):
    bulk_closed_trades(20)
    url = reverse("admin:ledger_papertrade_changelist")

    by_signal = admin_client.get(url + "?q=bulk-7").context["cl"].result_list
    by_prefix = admin_client.get(url + "?q=eth").context["cl"].result_list
    by_middle = admin_client.get(url + "?q=USDT").context["cl"].result_list

    assert [trade.signal_id for trade in by_signal] == ["bulk-7"]  # not bulk-17 as well
    assert len(by_prefix) == 10
    assert {trade.symbol for trade in by_prefix} == {"ETHUSDT"}
    assert list(by_middle) == []  # a prefix, not a LIKE '%USDT%' over the whole table


def test_symbol_filter_offers_each_symbol_once_and_filters_by_it(admin_client):
    bulk_closed_trades(20)
    url = reverse("admin:ledger_papertrade_changelist")

    assert selectors.symbols(PaperTrade) == ["BTCUSDT", "ETHUSDT"]
    assert selectors.symbols(Signal) == ["BTCUSDT", "ETHUSDT"]
    shown = admin_client.get(url + "?symbol=BTCUSDT").context["cl"].result_list
    assert len(shown) == 10
    assert {trade.symbol for trade in shown} == {"BTCUSDT"}


def test_trade_list_counts_no_more_than_the_cap(admin_client, monkeypatch):
    monkeypatch.setattr("ledger.admin.COUNT_CAP", 50)
    bulk_closed_trades(120)

    response = admin_client.get(reverse("admin:ledger_papertrade_changelist"))

    assert response.context["cl"].result_count == 50


def test_trade_change_page_renders_in_a_bounded_number_of_queries(admin_client, django_assert_max_num_queries):
    bulk_closed_trades(300)
    trade = PaperTrade.objects.order_by("pk").first()

    with django_assert_max_num_queries(10):
        response = admin_client.get(change_url(trade))

    assert response.status_code == 200
    assert b"bulk-0" in response.content  # the signal link


# --- Corrections recompute PnL ----------------------------------------------------------------------


def test_correcting_exit_price_recomputes_realized_pnl_and_moves_the_account(admin_client, closed_trade):
    assert account_total() == Decimal("39.95")

    response = admin_client.post(change_url(closed_trade), form_data(closed_trade, exit_price=Decimal("102")))

    assert response.status_code == 302
    closed_trade.refresh_from_db()
    assert closed_trade.fees == Decimal("10.1")  # 5 + 0.001*102*50
    assert closed_trade.realized_pnl == Decimal("89.9")  # (102-100)*50 - 10.1
    assert account_total() == Decimal("89.9")  # 39.95 + (89.9 - 39.95)
    assert closed_trade.executions.get(kind="exit").pnl == Decimal("89.9")  # the exit execution follows
    assert selectors.ledger_violations(book()) == []


def test_correcting_an_execution_recomputes_its_trade_and_the_account(admin_client, closed_trade):
    row = closed_trade.executions.get(kind="exit")  # 50 at 101, fee 5.05, realized 39.95
    url = reverse("admin:ledger_execution_change", args=[row.pk])
    time = timezone.localtime(row.time)

    response = admin_client.post(
        url, {"price": "102", "fee": "5.05", "time_0": time.strftime("%Y-%m-%d"), "time_1": time.strftime("%H:%M:%S")}
    )

    assert response.status_code == 302
    closed_trade.refresh_from_db()
    # The fee follows the price unless it is corrected too: 0.001 x 102 x 50 = 5.1; 2 x 50 - 5 - 5.1 = 89.9.
    assert (closed_trade.exit_price, closed_trade.realized_pnl) == (Decimal("102"), Decimal("89.9"))
    assert account_total() == Decimal("89.9")
    assert row.history.first().history_user.username == "admin"
    assert selectors.ledger_violations(book()) == []


def test_correcting_entry_price_recomputes_fees_and_realized_pnl(admin_client, closed_trade):
    admin_client.post(change_url(closed_trade), form_data(closed_trade, entry_price=Decimal("99.5")))

    closed_trade.refresh_from_db()
    assert closed_trade.fees == Decimal("10.025")  # 0.001*99.5*50 = 4.975, + 5.05
    assert closed_trade.realized_pnl == Decimal("64.975")  # (101-99.5)*50 = 75, - 10.025
    assert closed_trade.risk_amount == Decimal("75")  # 50 * |99.5 - 98|
    assert account_total() == Decimal("64.975")


def test_correcting_size_recomputes_fees_risk_and_realized_pnl(admin_client, closed_trade):
    admin_client.post(change_url(closed_trade), form_data(closed_trade, position_size=Decimal("40")))

    closed_trade.refresh_from_db()
    assert closed_trade.fees == Decimal("8.04")  # 0.001*100*40 = 4, + 0.001*101*40 = 4.04
    assert closed_trade.realized_pnl == Decimal("31.96")  # (101-100)*40 - 8.04
    assert closed_trade.risk_amount == Decimal("80")  # 40 * |100 - 98|
    assert account_total() == Decimal("31.96")


def test_corrected_fees_are_used_as_given(admin_client, closed_trade):
    admin_client.post(change_url(closed_trade), form_data(closed_trade, exit_price=Decimal("102"), fees=Decimal("12")))

    closed_trade.refresh_from_db()
    assert closed_trade.fees == Decimal("12")  # not the 10.1 the rule would charge at 102
    assert closed_trade.realized_pnl == Decimal("88")  # (102-100)*50 - 12
    assert account_total() == Decimal("88")


def test_correcting_a_short_uses_its_sign(admin_client, open_trade):
    short = open_trade(action="SELL", entry_price=Decimal("200"))  # stop 204, target 192, size 100/4 = 25
    short = services.trade_close(trade_id=short.pk, price=Decimal("196"), at=EXIT_AT)
    assert short.realized_pnl == Decimal("90.1")  # (200-196)*25 = 100, - (5 + 4.9)

    admin_client.post(change_url(short), form_data(short, exit_price=Decimal("198")))

    short.refresh_from_db()
    assert short.realized_pnl == Decimal("40.05")  # (200-198)*25 = 50, - (5 + 0.001*198*25 = 4.95)
    assert account_total() == Decimal("40.05")


def test_relabelling_a_closed_trade_keeps_its_pnl(admin_client, closed_trade):
    admin_client.post(change_url(closed_trade), form_data(closed_trade, status="TAKE_PROFIT"))

    closed_trade.refresh_from_db()
    assert closed_trade.status == PaperTrade.Status.TAKE_PROFIT
    assert closed_trade.realized_pnl == Decimal("39.95")
    assert account_total() == Decimal("39.95")


def test_correcting_an_open_trade_re_marks_it_at_its_current_price(admin_client, open_trade):
    trade = open_trade()
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("101"), T0 + timedelta(minutes=5))])
    trade.refresh_from_db()

    admin_client.post(change_url(trade), form_data(trade, entry_price=Decimal("100.5")))

    trade.refresh_from_db()
    assert trade.status == PaperTrade.Status.OPEN
    assert trade.fees == Decimal("10.075")  # 0.001*100.5*50 = 5.025, + 0.001*101*50 = 5.05
    assert trade.unrealized_pnl == Decimal("14.925")  # (101-100.5)*50 = 25, - 10.075
    assert trade.realized_pnl is None
    assert book().balance == Decimal("10000")  # nothing realized: the running total is untouched


def test_correction_message_names_the_new_pnl(admin_client, closed_trade):
    response = admin_client.post(
        change_url(closed_trade), form_data(closed_trade, exit_price=Decimal("102")), follow=True
    )

    # (102-100)*50 - (5 + 5.10) = 89.90, to the cent with its sign; it was 39.95
    assert "realized PnL +89.90, unrealized PnL 0.00, fees 10.10 (realized PnL was +39.95)" in response.content.decode()


# --- Refused corrections leave the row unchanged ---------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"exit_price": None}, "exit_price", "needs an exit price"),
        ({"exit_time": None}, "exit_time", "needs an exit time"),
        ({"exit_time": T0 - timedelta(hours=1)}, "exit_time", "before the entry time"),
        ({"stop_loss": Decimal("100.5")}, "stop_loss", "must be below the entry price"),
        ({"take_profit": Decimal("99")}, "take_profit", "must be above the entry price"),
        ({"entry_price": Decimal("97")}, "stop_loss", "below the entry price"),  # the stop 98 is now above it
        ({"status": "OPEN"}, "status", "never reopens"),
        ({"fees": Decimal("-1")}, "fees", ""),
    ],
)
def test_refused_correction_of_a_closed_trade_leaves_it_unchanged(admin_client, closed_trade, changes, field, message):
    before = snapshot(closed_trade)
    history = closed_trade.history.count()

    response = admin_client.post(change_url(closed_trade), form_data(closed_trade, **changes))

    assert response.status_code == 200  # the form again, with the error
    errors = response.context["adminform"].form.errors
    assert field in errors
    assert message in " ".join(errors[field])
    assert snapshot(closed_trade) == before
    assert account_total() == Decimal("39.95")
    assert closed_trade.history.count() == history


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"status": "MANUAL_CLOSE"}, "status", "Close selected open trades"),
        ({"exit_price": Decimal("101")}, "exit_price", "has no exit price"),
        ({"fees": Decimal("3")}, "fees", "follow its current price"),
        ({"stop_loss": Decimal("0")}, "stop_loss", ""),
    ],
)
def test_refused_correction_of_an_open_trade_leaves_it_unchanged(admin_client, open_trade, changes, field, message):
    trade = open_trade()
    before = snapshot(trade)

    response = admin_client.post(change_url(trade), form_data(trade, **changes))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors
    assert message in " ".join(errors[field])
    assert snapshot(trade) == before


def test_service_refuses_a_field_that_is_not_correctable(closed_trade):
    with pytest.raises(InvalidInput) as refused:
        services.trade_correct(trade_id=closed_trade.pk, changes={"realized_pnl": Decimal("1000")})

    assert refused.value.field == "realized_pnl"
    assert snapshot(closed_trade)["realized_pnl"] == Decimal("39.95")


# --- Actions --------------------------------------------------------------------------------------


def post_action(client, model: str, action: str, rows) -> object:
    return client.post(
        reverse(f"admin:ledger_{model}_changelist"),
        {"action": action, "_selected_action": [row.pk for row in rows]},
        follow=True,
    )


def texts(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_close_action_closes_open_trades_once_at_their_current_price(admin_client, open_trade, many_trades):
    trade = open_trade(symbol="ETHUSDT")
    closed_trade = open_trade()  # both sized from 10000: 50 units each
    services.trade_close(trade_id=closed_trade.pk, price=Decimal("101"), at=EXIT_AT)  # realizes 39.95
    services.prices_apply(ticks=[Tick("ETHUSDT", Decimal("102"), T0 + timedelta(minutes=5))])

    first = post_action(admin_client, "papertrade", "close_at_current_price", [trade, closed_trade])
    second = post_action(admin_client, "papertrade", "close_at_current_price", [trade, closed_trade])

    trade.refresh_from_db()
    assert trade.status == PaperTrade.Status.MANUAL_CLOSE
    assert trade.exit_price == Decimal("102")
    assert trade.realized_pnl == Decimal("89.9")  # (102-100)*50 - (5 + 5.1)
    assert account_total() == Decimal("129.85")  # 39.95 + 89.9, counted once
    assert Signal.objects.get(signal_id=trade.signal_id).status == Signal.Status.CLOSED
    assert texts(first) == [
        f"Closed 1 trade(s) at the market: {trade.pk}.",
        f"Skipped 1 that were not open: {closed_trade.pk}.",
    ]
    assert texts(second)[0] == "Closed 0 trade(s) at the market: none."


def test_expire_action_expires_generated_signals_and_skips_the_rest(admin_client, make_signal, open_trade):
    generated = make_signal()
    executed = Signal.objects.get(signal_id=open_trade().signal_id)

    response = post_action(admin_client, "signal", "expire_selected", [generated, executed])

    generated.refresh_from_db()
    executed.refresh_from_db()
    assert generated.status == Signal.Status.EXPIRED
    assert generated.status_reason == "Expired by admin in the admin."
    assert executed.status == Signal.Status.EXECUTED
    assert texts(response) == [
        f"Expired 1 signal(s): {generated.signal_id}.",
        f"Skipped 1 that were not GENERATED: {executed.signal_id}.",
    ]


def test_recompute_action_repairs_pnl_and_moves_the_account_by_the_difference(admin_client, closed_trade, open_trade):
    right = open_trade(symbol="ETHUSDT")
    PaperTrade.objects.filter(pk=closed_trade.pk).update(realized_pnl=Decimal("50"))  # drifted, e.g. a raw SQL fix

    response = post_action(admin_client, "papertrade", "recompute_pnl", [closed_trade, right])

    closed_trade.refresh_from_db()
    assert closed_trade.realized_pnl == Decimal("39.95")  # (101-100)*50 - 10.05 paid
    assert account_total() == Decimal("29.90")  # 39.95 + (39.95 - 50)
    assert texts(response) == [
        f"Recomputed the PnL of 1 trade(s): {closed_trade.pk}.",
        f"Skipped 1 whose PnL was already right: {right.pk}.",
    ]


def test_recompute_action_re_marks_an_open_trade_at_its_current_price(admin_client, open_trade):
    trade = open_trade()
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("101"), T0 + timedelta(minutes=5))])
    PaperTrade.objects.filter(pk=trade.pk).update(unrealized_pnl=Decimal("0"), fees=Decimal("0"))  # drifted

    post_action(admin_client, "papertrade", "recompute_pnl", [trade])

    trade.refresh_from_db()
    assert trade.fees == Decimal("10.05")  # 5 + 0.001*101*50
    assert trade.unrealized_pnl == Decimal("39.95")  # (101-100)*50 - 10.05
    assert book().balance == Decimal("10000")  # nothing realized
    assert trade.history.first().history_change_reason == "PnL recomputed"


def test_action_refuses_more_rows_than_it_takes(admin_client, open_trade, monkeypatch):
    monkeypatch.setattr("ledger.admin.ACTION_MAX", 1)
    trades = [open_trade(), open_trade(symbol="ETHUSDT")]

    response = post_action(admin_client, "papertrade", "close_at_current_price", trades)

    assert texts(response) == ["Select at most 1 rows for one action."]
    assert PaperTrade.objects.filter(status=PaperTrade.Status.OPEN).count() == 2


# --- History --------------------------------------------------------------------------------------


def test_admin_correction_keeps_before_and_after_with_the_user(admin_client, admin_user, closed_trade):
    admin_client.post(change_url(closed_trade), form_data(closed_trade, exit_price=Decimal("102")))

    after, before = closed_trade.history.all()[:2]
    assert (before.exit_price, before.realized_pnl) == (Decimal("101"), Decimal("39.95"))
    assert (after.exit_price, after.realized_pnl) == (Decimal("102"), Decimal("89.9"))
    assert after.history_user == admin_user
    assert after.history_change_reason == "corrected"
    page = admin_client.get(reverse("admin:ledger_papertrade_history", args=[closed_trade.pk])).content.decode()
    assert "89.9" in page
    assert "39.95" in page
    assert "admin" in page


def test_action_close_is_kept_in_history_with_the_user(admin_client, admin_user, open_trade):
    trade = open_trade()

    post_action(admin_client, "papertrade", "close_at_current_price", [trade])

    latest = trade.history.first()
    assert latest.status == PaperTrade.Status.MANUAL_CLOSE
    assert latest.history_user == admin_user
    signal = Signal.history.filter(signal_id=trade.signal_id).first()
    assert signal.status == Signal.Status.CLOSED
    assert signal.history_user == admin_user


def test_life_cycle_is_kept_in_history_but_price_marks_are_not(open_trade):
    trade = open_trade()
    ticks = [Tick("BTCUSDT", Decimal(p), T0 + timedelta(minutes=m)) for m, p in [(2, "100.5"), (3, "101"), (4, "99")]]
    services.prices_apply(ticks=ticks)
    assert trade.history.count() == 1  # opened; three marks added nothing

    services.trade_close(trade_id=trade.pk, at=EXIT_AT)

    assert [h.status for h in trade.history.order_by("history_id")] == ["OPEN", "MANUAL_CLOSE"]
    statuses = [h.status for h in Signal.history.filter(signal_id=trade.signal_id).order_by("history_id")]
    assert statuses == ["GENERATED", "EXECUTED", "CLOSED"]


def test_day_close_keeps_history_in_a_number_of_queries_that_does_not_grow(open_trade, make_signal, many_trades):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def close_day(trades: int) -> int:
        for _ in range(trades):
            open_trade()
        make_signal()  # one GENERATED signal to expire
        with CaptureQueriesContext(connection) as queries:
            services.day_close(day=T0.date(), at=T0 + timedelta(hours=12))
        return len(queries)

    book()  # so that neither run creates it
    few = close_day(1)
    many = close_day(25)

    assert many == few
    closed = PaperTrade.history.filter(status=PaperTrade.Status.EOD_CLOSE)
    assert closed.count() == 26
    assert not closed.filter(history_change_reason__isnull=True).exists()
    assert Signal.history.filter(status=Signal.Status.EXPIRED).count() == 2


# --- Permissions ------------------------------------------------------------------------------------


def test_non_staff_user_is_turned_away(viewer_client, closed_trade):
    response = viewer_client.get(reverse("admin:ledger_papertrade_changelist"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_read_only_group_holds_view_permissions_only():
    call_command("readonly_group", stdout=StringIO())
    call_command("readonly_group", stdout=StringIO())  # again: brought up to date, not doubled

    codenames = sorted(Group.objects.get(name="ledger read-only").permissions.values_list("codename", flat=True))
    assert codenames == [
        "view_historicalorder",
        "view_historicalpapertrade",
        "view_historicalsignal",
        "view_order",
        "view_papertrade",
        "view_signal",
    ]


def test_signal_page_and_history_are_shown_read_only(admin_client, open_trade):
    signal = Signal.objects.get(signal_id=open_trade().signal_id)

    page = admin_client.get(reverse("admin:ledger_signal_change", args=[signal.pk]))
    history = admin_client.get(reverse("admin:ledger_signal_history", args=[signal.pk])).content.decode()

    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert re.search(
        r"Status:</strong>\s+Waiting\s+&nbsp;&rarr;&nbsp;&nbsp;Executed", history
    )  # by the labels every page uses


def test_read_only_group_can_look_at_lists_pages_and_history(readonly_staff_client, closed_trade):
    assert readonly_staff_client.get(reverse("admin:ledger_papertrade_changelist")).status_code == 200
    assert readonly_staff_client.get(reverse("admin:ledger_signal_changelist")).status_code == 200
    page = readonly_staff_client.get(change_url(closed_trade))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert (
        readonly_staff_client.get(reverse("admin:ledger_papertrade_history", args=[closed_trade.pk])).status_code == 200
    )


def test_read_only_group_cannot_change_a_trade(readonly_staff_client, closed_trade):
    before = snapshot(closed_trade)

    response = readonly_staff_client.post(change_url(closed_trade), form_data(closed_trade, exit_price=Decimal("102")))

    assert response.status_code == 403
    assert snapshot(closed_trade) == before


def test_read_only_group_cannot_run_actions(readonly_staff_client, open_trade):
    trade = open_trade()

    post_action(readonly_staff_client, "papertrade", "close_at_current_price", [trade])

    trade.refresh_from_db()
    assert trade.status == PaperTrade.Status.OPEN


def test_nobody_adds_or_deletes_trades_in_the_admin(admin_client, closed_trade):
    assert admin_client.get(reverse("admin:ledger_papertrade_add")).status_code == 403
    assert admin_client.post(reverse("admin:ledger_papertrade_delete", args=[closed_trade.pk])).status_code == 403
    assert PaperTrade.objects.filter(pk=closed_trade.pk).exists()


def test_past_version_cannot_be_saved_back(admin_client, closed_trade):
    version = closed_trade.history.last()
    url = reverse("admin:ledger_papertrade_simple_history", args=[closed_trade.pk, version.history_id])
    before = snapshot(closed_trade)

    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, form_data(closed_trade, status="OPEN")).status_code == 403
    assert snapshot(closed_trade) == before


# --- API tokens -------------------------------------------------------------------------------------


def test_token_add_form_shows_the_token_once_and_stores_only_its_hash_and_scope(admin_client):
    response = admin_client.post(reverse("admin:ledger_apitoken_add"), {"name": "feed", "scope": "trade"}, follow=True)

    shown = [text for text in texts(response) if "Copy it now" in text]
    token = shown[0].split(" is ")[1].split(" ")[0]
    row = ApiToken.objects.get(name="feed")
    assert row.key_hash == services.api_token_hash(token)
    assert token.startswith(row.prefix)
    assert row.scope == ApiToken.Scope.TRADE
    assert token not in admin_client.get(reverse("admin:ledger_apitoken_changelist")).content.decode()


def test_token_revoke_action_revokes_and_skips_revoked_ones(admin_client):
    live, _ = services.api_token_create(name="live")
    old, _ = services.api_token_create(name="old")
    services.api_token_revoke(name="old")

    response = post_action(admin_client, "apitoken", "revoke_selected", [live, old])

    live.refresh_from_db()
    assert live.revoked_at is not None
    assert texts(response) == ["Revoked 1 token(s): live.", "Skipped 1 revoked already: old."]


# --- Filters in the URL: a 4xx, never a 500 ---------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "timestamp__year=" + "9" * 20,
        "timestamp__year=9999",
        "timestamp__year=1",
        "timestamp__year=2026&timestamp__month=" + "1" * 20,
    ],
)
def test_a_date_filter_outside_1970_to_2199_is_a_400(admin_client, query):
    response = admin_client.get(reverse("admin:ledger_signal_changelist") + "?" + query)

    assert response.status_code == 400


def test_a_date_filter_inside_the_range_still_filters(admin_client, closed_trade):
    response = admin_client.get(
        reverse("admin:ledger_papertrade_changelist") + "?exit_time__year=2026&exit_time__month=11"
    )

    assert [trade.pk for trade in response.context["cl"].result_list] == [closed_trade.pk]


@pytest.mark.parametrize("query", ["status=%00", "q=BTC%00", "symbol=a%01b", "o=1%00"])
def test_a_control_character_in_a_filter_is_a_400_on_both_databases(admin_client, query):
    response = admin_client.get(reverse("admin:ledger_papertrade_changelist") + "?" + query)

    assert response.status_code == 400
    assert b"control character" in response.content


# --- Reads like the dashboard ---------------------------------------------------------------------


def test_the_trade_list_writes_prices_without_trailing_zeros_and_pnl_to_the_cent_with_its_sign(
    admin_client, open_trade
):
    trade = open_trade(entry_price=Decimal("147.68"), stop_loss=Decimal("145"), take_profit=Decimal("152"))
    services.trade_close(trade_id=trade.pk, price=Decimal("150.1234"), at=EXIT_AT)

    html = admin_client.get(reverse("admin:ledger_papertrade_changelist")).content.decode()

    # 100 risked over 2.68: 37.31343283 units; (150.1234 - 147.68) * 37.31343283 = 91.17164153, less fees
    # 0.001 * 147.68 * 37.31343283 = 5.51044776 and 0.001 * 150.1234 * 37.31343283 = 5.60162686: +80.06
    assert '<td class="field-entry">147.68</td>' in html
    assert '<td class="field-exit">150.1234</td>' in html
    assert '<td class="field-pnl">+80.06</td>' in html
    assert "147.68000000" not in html
    assert '<td class="field-closed">20 Nov 2026 10:30</td>' in html  # as the pages write times


def test_the_change_form_shows_a_price_as_it_is(admin_client, open_trade):
    trade = open_trade(entry_price=Decimal("147.68"), stop_loss=Decimal("145"), take_profit=Decimal("152"))

    html = admin_client.get(change_url(trade)).content.decode()

    assert 'name="entry_price" value="147.68"' in html
    # 100 risked over 2.68: 37.31343283 units; unmarked, it would pay two fees of 0.001 * 147.68 * 37.31343283 = 5.51
    assert re.search(r'Unrealized PnL:</label>\s+<div class="readonly">\u221211.02</div>', html)


def test_a_save_that_changes_nothing_says_so_and_logs_nothing(admin_client, closed_trade):
    history = closed_trade.history.count()

    response = admin_client.post(change_url(closed_trade), form_data(closed_trade), follow=True)

    assert texts(response) == [f"Nothing changed: trade #{closed_trade.pk} is as it was."]
    assert closed_trade.history.count() == history
    assert not LogEntry.objects.exists()


def test_a_history_page_writes_its_values_as_the_admin_does(admin_client, closed_trade):
    html = admin_client.get(reverse("admin:ledger_papertrade_history", args=[closed_trade.pk])).content.decode()

    def change(field: str, before: str, after: str) -> bool:
        return bool(re.search(rf"{field}:</strong>\s+{before}\s+&nbsp;&rarr;&nbsp;&nbsp;{after}\s", html))

    assert change("Realized pnl", "—", r"\+39\.95")
    assert change("Unrealized pnl", "\u221210.00", "0.00")
    assert "0E-8" not in html
    assert change("Exit time", "—", "20 Nov 2026 10:30:00")
    assert change("Status", "Open", "Manual close")
    assert "style=" not in html
    assert "simple-history" not in html


def test_an_operator_sets_a_market_s_lot_rules_and_entries_follow_them(admin_client, open_trade, settings):
    settings.PAPER_STARTING_BALANCE = Decimal("1234")
    response = admin_client.post(
        reverse("admin:ledger_marketlot_add"),
        {"symbol": "GOOG", "step": "1", "min_amount": "1", "min_cost": "0"},
    )

    assert response.status_code == 302
    assert selectors.market_lot("GOOG") == sizing.Lot(step=Decimal(1), min_amount=Decimal(1), min_cost=Decimal(0))
    # risk 12.34 over |100 - 98| = 6.17 shares, in whole shares: 6, risking 12 (0.97 of what was asked)
    assert open_trade(symbol="GOOG", entry_price=Decimal("100")).position_size == Decimal("6")


def test_a_lot_step_of_zero_is_a_form_error(admin_client):
    response = admin_client.post(
        reverse("admin:ledger_marketlot_add"), {"symbol": "GOOG", "step": "0", "min_amount": "0", "min_cost": "0"}
    )

    assert response.status_code == 200
    assert "step must be above 0." in response.content.decode()
    assert not MarketLot.objects.exists()


def test_the_exit_time_is_picked_with_the_browser_s_date_and_time_pickers(admin_client, closed_trade):
    html = admin_client.get(change_url(closed_trade)).content.decode()

    # The browser shows the day in the trader's format and sends it as YYYY-MM-DD; no admin calendar is attached.
    date_box = re.search(r'<input type="date" name="exit_time_0" value="2026-11-20"[^>]*>', html)
    assert date_box
    assert 'aria-label="Exit date"' in date_box.group()
    assert re.search(r'<input type="time" name="exit_time_1" value="10:30:00"[^>]*step="1"', html)
    assert "vDateField" not in html

    response = admin_client.post(
        change_url(closed_trade), form_data(closed_trade) | {"exit_time_1": "10:45"}, follow=True
    )  # a picker may leave the seconds out

    assert response.status_code == 200
    closed_trade.refresh_from_db()
    assert closed_trade.exit_time == EXIT_AT + timedelta(minutes=15)  # 10:45 UTC
