"""Entry orders in the admin: listed, filtered and searched in a bounded number of queries, read-only, cancelled only
through the service (the reservation released and the signal expired exactly once), every change in the history.

Numbers worked out by hand: balance 10,000, risk 1 % (100), fee 0.1 % a side. A BUY limit at 100 with its stop at
95 is sized 100 / 5 = 20 units and reserves 20 × 100 + 2 (its fee) = 2,002.
"""

import itertools
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from ledger import selectors, services
from ledger.inputs import Tick
from ledger.models import Event, Order, Signal
from tests.helpers import book

from .helpers import place_order
from .test_admin import post_action, texts

pytestmark = pytest.mark.django_db

D = Decimal
_ids = itertools.count(1)


def place(*, symbol: str = "BTCUSDT") -> Order:
    """A working BUY limit at 100 (stop 95, target 120), a day order: no price seen, so it cannot fill at once."""
    return place_order(f"lim-{next(_ids)}", symbol)


def bulk_orders(count: int) -> None:
    """Rows enough to show whether a page's queries grow with the table (made in bulk, not via services)."""
    placed = timezone.now()
    Signal.objects.bulk_create(
        Signal(
            book=book(),
            signal_id=f"bulk-{i}",
            symbol="BTCUSDT" if i % 2 else "ETHUSDT",
            action="BUY",
            entry_price=D("90"),
            confidence=D("0.5"),
            timestamp=placed,
        )
        for i in range(count)
    )
    Order.objects.bulk_create(
        Order(
            book=book(),
            signal_id=f"bulk-{i}",
            symbol="BTCUSDT" if i % 2 else "ETHUSDT",
            order_type="limit" if i % 3 else "stop",
            side="BUY",
            price=D("90"),
            size=D("1"),
            reserved=D("90.09"),
            time_in_force="gtc",
            created_at=placed,
        )
        for i in range(count)
    )


def change_url(order: Order) -> str:
    return reverse("admin:ledger_order_change", args=[order.pk])


@pytest.mark.parametrize(
    "query", ["", "?status__exact=WORKING", "?order_type__exact=stop", "?side__exact=BUY", "?q=eth", "?q=bulk-7"]
)
def test_order_list_renders_many_rows_in_a_bounded_number_of_queries(
    admin_client, django_assert_max_num_queries, query
):
    bulk_orders(300)

    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse("admin:ledger_order_changelist") + query)

    assert response.status_code == 200
    assert response.context["cl"].result_list  # rows were shown, not an empty page


def test_order_search_finds_exact_signal_id_and_symbol_prefix_only(admin_client):
    bulk_orders(20)
    url = reverse("admin:ledger_order_changelist")

    by_signal = admin_client.get(url + "?q=bulk-7").context["cl"].result_list
    by_prefix = admin_client.get(url + "?q=eth").context["cl"].result_list

    assert [order.signal_id for order in by_signal] == ["bulk-7"]  # not bulk-17 as well
    assert len(by_prefix) == 10
    assert {order.symbol for order in by_prefix} == {"ETHUSDT"}


def test_order_filters_narrow_the_list_by_status(admin_client):
    working, cancelled = place(), place(symbol="ETHUSDT")
    services.order_cancel(order_id=cancelled.pk)
    url = reverse("admin:ledger_order_changelist")

    shown = admin_client.get(url + "?status__exact=CANCELLED").context["cl"].result_list

    assert [order.pk for order in shown] == [cancelled.pk]
    assert working.pk not in [order.pk for order in shown]


def test_the_order_list_writes_prices_and_money_as_the_dashboard_does(admin_client):
    place()

    html = admin_client.get(reverse("admin:ledger_order_changelist")).content.decode()

    assert '<td class="field-limit">100.00</td>' in html
    assert '<td class="field-size_">20.00</td>' in html
    assert '<td class="field-held">2,002.00</td>' in html
    assert "100.00000000" not in html  # not as the column holds it


def test_cancel_action_cancels_working_orders_through_the_service_and_skips_the_rest(admin_client):
    working, ended = place(), place(symbol="ETHUSDT")
    services.order_cancel(order_id=ended.pk)
    assert book().reserved == D("2002")  # the working one's, the other released

    first = post_action(admin_client, "order", "cancel_selected", [working, ended])
    second = post_action(admin_client, "order", "cancel_selected", [working])

    working.refresh_from_db()
    signal = Signal.objects.get(signal_id=working.signal_id)
    assert (working.status, working.reason) == (Order.Status.CANCELLED, "Cancelled by admin in the admin.")
    assert (signal.status, signal.status_reason) == (Signal.Status.EXPIRED, "Cancelled by admin in the admin.")
    assert book().reserved == D("0")  # released once, not twice
    assert Event.objects.filter(kind=Event.Kind.ORDER_ENDED, payload__order_id=working.pk).count() == 1
    assert texts(first) == [f"Cancelled 1 order(s): {working.pk}.", f"Skipped 1 that were not working: {ended.pk}."]
    assert texts(second) == ["Cancelled 0 order(s): none.", f"Skipped 1 that were not working: {working.pk}."]
    assert selectors.ledger_violations(book()) == []


def test_cancel_action_leaves_a_filled_order_and_its_trade_alone(admin_client):
    order = place()
    services.prices_apply(ticks=[Tick("BTCUSDT", D("99"), timezone.now())])  # no price before it: filled at 100
    order.refresh_from_db()

    response = post_action(admin_client, "order", "cancel_selected", [order])

    order.refresh_from_db()
    assert order.status == Order.Status.FILLED
    assert order.trade.entry_price == D("100")
    assert texts(response)[1] == f"Skipped 1 that were not working: {order.pk}."


def test_an_order_s_history_keeps_its_placing_and_its_cancel_with_the_user(admin_client, admin_user):
    order = place()

    post_action(admin_client, "order", "cancel_selected", [order])

    cancelled, placed = order.history.all()
    assert (placed.history_type, placed.status) == ("+", Order.Status.WORKING)
    assert (cancelled.status, cancelled.history_user) == (Order.Status.CANCELLED, admin_user)
    assert cancelled.history_change_reason == "Cancelled by admin in the admin."
    page = admin_client.get(reverse("admin:ledger_order_history", args=[order.pk])).content.decode()
    assert re.search(r"Status:</strong>\s+Working\s+&nbsp;&rarr;&nbsp;&nbsp;Cancelled", page)  # by their labels


def test_an_order_s_history_names_the_trade_it_filled_into_and_its_expiry(admin_client):
    filled, expiring = place(), place(symbol="ETHUSDT")
    later = timezone.now() + timedelta(seconds=1)

    services.prices_apply(ticks=[Tick("BTCUSDT", D("99"), later)])
    services.orders_expire(at=later, until=later + timedelta(days=2))  # the day order's day is over

    filled.refresh_from_db()
    assert filled.history.first().history_change_reason == f"filled: trade #{filled.trade_id}"
    assert filled.history.first().status == Order.Status.FILLED
    assert expiring.history.first().status == Order.Status.EXPIRED
    assert expiring.history.first().history_change_reason == Order.objects.get(pk=expiring.pk).reason


def test_an_order_s_page_is_read_only_and_links_its_signal_and_trade(admin_client):
    order = place()
    services.prices_apply(ticks=[Tick("BTCUSDT", D("99"), timezone.now())])
    order.refresh_from_db()
    signal = Signal.objects.get(signal_id=order.signal_id)

    page = admin_client.get(change_url(order))

    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    html = page.content.decode()
    assert reverse("admin:ledger_signal_change", args=[signal.pk]) in html
    assert reverse("admin:ledger_papertrade_change", args=[order.trade_id]) in html
    assert admin_client.post(change_url(order), {"status": "CANCELLED"}).status_code == 403
    assert admin_client.get(reverse("admin:ledger_order_add")).status_code == 403
    assert admin_client.post(reverse("admin:ledger_order_delete", args=[order.pk])).status_code == 403
    assert Order.objects.get(pk=order.pk).status == Order.Status.FILLED


def test_a_past_version_of_an_order_cannot_be_saved_back(admin_client):
    order = place()
    services.order_cancel(order_id=order.pk)
    url = reverse("admin:ledger_order_simple_history", args=[order.pk, order.history.last().history_id])

    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"status": "WORKING"}).status_code == 403
    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED


def test_read_only_group_looks_at_orders_and_their_history_but_cannot_cancel(readonly_staff_client):
    order = place()

    assert readonly_staff_client.get(reverse("admin:ledger_order_changelist")).status_code == 200
    assert readonly_staff_client.get(change_url(order)).status_code == 200
    assert readonly_staff_client.get(reverse("admin:ledger_order_history", args=[order.pk])).status_code == 200
    post_action(readonly_staff_client, "order", "cancel_selected", [order])

    assert Order.objects.get(pk=order.pk).status == Order.Status.WORKING
    assert "view_order" in Group.objects.get(name="ledger read-only").permissions.values_list("codename", flat=True)
