"""The admin and books (docs/books.md, "Who sees what"; docs/admin.md): staff see the rows of the books they may
see, in every list, change page and history; a superuser sees every book, makes books and grants them, each change
in its history."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from ledger import services
from ledger.models import ApiToken, Book, BookMember, Execution, PaperTrade

from .conftest import NOW, client_logged_in_as
from .test_books_isolation import assert_nothing_of, make_book_rows

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]
MODELS = ("signal", "papertrade", "order", "execution", "apitoken", "book", "bookmember")


@pytest.fixture
def books(many_trades, django_user_model):
    """Books A and B with their rows; `staff` (not a superuser) may view every ledger table and is granted A."""
    a = make_book_rows(services.book_create(slug="book-a", name="Alpha book"), "alpha")
    b = make_book_rows(services.book_create(slug="book-b", name="Bravo book"), "bravo")
    staff = django_user_model.objects.create_user("staff-a", password="pw", is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="ledger", codename__in=[f"view_{m}" for m in MODELS])
    )
    services.book_grant(user=staff, book_id=a.book.pk)
    someone = django_user_model.objects.create_user("someone-of-b", password="pw")
    services.book_grant(user=someone, book_id=b.book.pk)  # a grant of B: not the staff user's to see
    return SimpleNamespace(a=a, b=b, staff=client_logged_in_as(staff))


@pytest.mark.parametrize("model", MODELS)
def test_every_admin_list_holds_the_staff_user_s_books_alone(books, model):
    response = books.staff.get(reverse(f"admin:ledger_{model}_changelist"))

    assert response.status_code == 200
    text = response.content.decode()
    assert_nothing_of(books.b, text)
    assert "bravo-token" not in text
    assert response.context["cl"].queryset.count() >= 1  # A's rows are listed


def test_an_admin_list_counts_the_staff_user_s_rows_alone(books):
    response = books.staff.get(reverse("admin:ledger_papertrade_changelist"))

    assert set(response.context["cl"].queryset.values_list("pk", flat=True)) == {books.a.open.pk, books.a.closed.pk}


def test_the_symbol_filter_offers_the_staff_user_s_symbols_alone(books):
    response = books.staff.get(reverse("admin:ledger_signal_changelist"))

    filters = {
        spec.title: [choice[0] for choice in spec.lookup_choices]
        for spec in response.context["cl"].filter_specs
        if hasattr(spec, "lookup_choices")
    }
    assert filters["symbol"] == ["ALPHAUSDT"]


def b_rows(b: SimpleNamespace) -> list[tuple[str, int]]:
    execution = Execution.objects.filter(trade=b.open).first()
    token = ApiToken.objects.get(name="bravo-token")
    return [
        ("signal", b.waiting.pk),
        ("papertrade", b.open.pk),
        ("order", b.order.pk),
        ("execution", execution.pk),
        ("apitoken", token.pk),
        ("book", b.book.pk),
    ]


@pytest.mark.parametrize("number", range(6), ids=["signal", "papertrade", "order", "execution", "apitoken", "book"])
def test_another_book_s_change_page_and_history_are_not_there(books, number):
    model, pk = b_rows(books.b)[number]

    change = books.staff.get(reverse(f"admin:ledger_{model}_change", args=[pk]), follow=True)
    history = books.staff.get(reverse(f"admin:ledger_{model}_history", args=[pk]))

    assert change.redirect_chain[-1][0] == reverse("admin:index")  # as for a row that does not exist
    assert "doesn’t exist" in change.content.decode()
    assert_nothing_of(books.b, change.content.decode())
    assert history.status_code == 404
    assert_nothing_of(books.b, history.content.decode())


@pytest.mark.parametrize("model", ["signal", "papertrade", "order"])
def test_another_book_s_past_version_is_not_there(books, model):
    row = {"signal": books.b.waiting, "papertrade": books.b.open, "order": books.b.order}[model]
    version = type(row).history.filter(id=row.pk).order_by("-history_id").first()

    response = books.staff.get(reverse(f"admin:ledger_{model}_simple_history", args=[row.pk, version.history_id]))

    assert response.status_code == 404


def test_an_action_on_another_book_s_rows_does_nothing(books, django_user_model):
    staff = django_user_model.objects.get(username="staff-a")
    staff.user_permissions.add(Permission.objects.get(codename="change_papertrade"))
    selected = [books.a.open.pk, books.b.open.pk]

    client_logged_in_as(staff).post(
        reverse("admin:ledger_papertrade_changelist"),
        {"action": "close_at_current_price", "_selected_action": selected},
    )

    assert PaperTrade.objects.get(pk=books.a.open.pk).status == PaperTrade.Status.MANUAL_CLOSE
    assert PaperTrade.objects.get(pk=books.b.open.pk).status == PaperTrade.Status.OPEN  # not in the staff's list


def test_a_superuser_sees_every_book_s_rows(books, admin_client):
    response = admin_client.get(reverse("admin:ledger_papertrade_changelist"))

    shown = set(response.context["cl"].queryset.values_list("pk", flat=True))
    assert {books.a.open.pk, books.b.open.pk} <= shown
    assert admin_client.get(reverse("admin:ledger_signal_history", args=[books.b.waiting.pk])).status_code == 200


# --- Books and grants in the admin ----------------------------------------------------------------------------


def test_a_superuser_makes_a_book_through_the_service_with_its_rules(admin_client, db):
    response = admin_client.post(
        reverse("admin:ledger_book_add"),
        {
            "slug": "channel",
            "name": "Signal channel",
            "starting_balance": "2500",
            "risk_per_trade": "0.02",
            "limit_fill": "",
        },
        follow=True,
    )

    assert response.status_code == 200
    book = Book.objects.get(slug="channel")
    assert (book.name, book.starting_balance, book.risk_per_trade) == (
        "Signal channel",
        Decimal("2500"),
        Decimal("0.02"),
    )
    assert book.fee_rate is None  # left to PAPER_FEE_RATE
    assert book.history.get().history_change_reason == "created"


def test_the_book_form_refuses_a_rule_out_of_bounds_and_a_taken_slug(admin_client, db):
    services.default_book()

    response = admin_client.post(
        reverse("admin:ledger_book_add"), {"slug": "default", "name": "Again", "risk_per_trade": "2", "limit_fill": ""}
    )

    assert response.status_code == 200  # the form again, with its errors
    errors = response.context["adminform"].form.errors
    assert errors["slug"] == ["A book 'default' exists already."]
    assert errors["risk_per_trade"] == ["risk_per_trade must be above 0 and at most 1, not 2."]
    assert Book.objects.count() == 1


def test_a_superuser_s_change_of_a_book_s_rules_is_kept_in_its_history_with_who(admin_client, admin_user, db):
    book = services.book_create(slug="tv", risk_per_trade=Decimal("0.01"))
    form = {"name": "TV", "risk_per_trade": "0.03", "limit_fill": ""}

    admin_client.post(reverse("admin:ledger_book_change", args=[book.pk]), form)

    book.refresh_from_db()
    assert (book.name, book.risk_per_trade) == ("TV", Decimal("0.03"))
    versions = book.history.order_by("history_id").values_list("history_user", "risk_per_trade")
    assert list(versions) == [(None, Decimal("0.01")), (admin_user.pk, Decimal("0.03"))]  # made, then changed by whom


def test_staff_may_look_at_their_books_but_neither_make_nor_change_them(books):
    assert books.staff.get(reverse("admin:ledger_book_add")).status_code == 403
    response = books.staff.post(
        reverse("admin:ledger_book_change", args=[books.a.book.pk]), {"name": "Mine", "limit_fill": ""}
    )
    assert response.status_code == 403
    assert Book.objects.get(pk=books.a.book.pk).name == "Alpha book"


def test_a_superuser_grants_a_book_and_takes_it_back_each_in_the_grant_s_history(admin_client, trader, db):
    book = services.book_create(slug="tv")

    admin_client.post(reverse("admin:ledger_bookmember_add"), {"user": trader.pk, "book": book.pk, "can_trade": "on"})
    grant = BookMember.objects.get()
    admin_client.post(reverse("admin:ledger_bookmember_delete", args=[grant.pk]), {"post": "yes"})

    assert not BookMember.objects.exists()
    assert list(BookMember.history.order_by("history_id").values_list("history_type", "can_trade")) == [
        ("+", True),
        ("-", True),
    ]


def test_staff_may_not_grant(books, trader):
    response = books.staff.post(reverse("admin:ledger_bookmember_add"), {"user": trader.pk, "book": books.a.book.pk})

    assert response.status_code == 403
    assert not BookMember.objects.filter(user=trader).exists()


def test_a_token_made_in_the_admin_is_bound_to_the_book_chosen(admin_client, books):
    admin_client.post(reverse("admin:ledger_apitoken_add"), {"name": "bot", "scope": "read", "book": books.b.book.pk})

    assert ApiToken.objects.get(name="bot").book == books.b.book


def test_the_token_form_offers_the_staff_user_s_books_alone(books, django_user_model):
    staff = django_user_model.objects.get(username="staff-a")
    staff.user_permissions.add(Permission.objects.get(codename="add_apitoken"))

    response = client_logged_in_as(staff).get(reverse("admin:ledger_apitoken_add"))

    assert list(response.context["adminform"].form.fields["book"].queryset) == [books.a.book]
