"""manage.py create_book, grant_book and book_passphrase (docs/books.md, "Commands"): each refuses bad input with a
sentence and exit code 1, writing nothing."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ledger import selectors, services
from ledger.models import Book, BookMember


def run(*args, stdin: str | None = None) -> str:
    out = io.StringIO()
    extra = {"stdin": io.StringIO(stdin)} if stdin is not None else {}
    call_command(*args, stdout=out, stderr=io.StringIO(), **extra)
    return out.getvalue()


def test_create_book_keeps_its_balance_and_rules_and_leaves_the_others_to_the_settings(settings, db):
    settings.PAPER_MAX_OPEN_TRADES = 7

    said = run(
        "create_book",
        "tv-strategy",
        "--name",
        "TV strategy",
        "--balance",
        "2500",
        "--risk",
        "0.02",
        "--fee-rate",
        "0",
        "--one-per-symbol",
        "no",
        "--limit-fill",
        "touch",
    )

    book = Book.objects.get(slug="tv-strategy")
    assert book.name == "TV strategy"
    assert book.terms.starting_balance == Decimal("2500")
    assert book.terms.risk_per_trade == Decimal("0.02")
    assert book.terms.fee_rate == Decimal("0")
    assert book.terms.one_trade_per_symbol is False
    assert book.terms.limit_fill == "touch"
    assert book.max_open_trades is None  # left to the setting, now and later
    assert book.terms.max_open_trades == 7
    assert book.balance == book.cash == Decimal("2500")
    assert "Book 'tv-strategy' (TV strategy) created" in said
    assert book.history.get().history_change_reason == "created"


def test_create_book_names_the_book_after_its_slug_without_a_name(db):
    run("create_book", "channel")

    assert Book.objects.get(slug="channel").name == "channel"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["default"], "A book 'default' exists already."),
        (["Two Words"], "slug must be 1 to 40 lower-case letters"),
        (["ok", "--balance", "lots"], "starting_balance must be written as digits"),
        (["ok", "--balance", "0"], "starting_balance must be above 0 and at most 1E+12, not 0."),
        (["ok", "--risk", "1.5"], "risk_per_trade must be above 0 and at most 1, not 1.5."),
        (["ok", "--fee-rate", "0.000000001"], "fee_rate has at most 8 decimal places"),
        (["ok", "--max-open", "-1"], "max_open_trades must be a whole number from 0"),
        (["ok", "--webhook-passphrase", "short"], "the webhook passphrase must be 16 to 200 characters"),
    ],
)
def test_create_book_refuses_bad_input_with_a_sentence_and_writes_nothing(db, args, said):
    services.default_book()
    before = list(Book.objects.values_list("slug", flat=True))

    with pytest.raises(CommandError, match=f"^Book '{args[0]}' not created: .*") as refused:
        run("create_book", *args)

    assert said in str(refused.value)
    assert list(Book.objects.values_list("slug", flat=True)) == before


def test_create_book_refuses_an_unreadable_flag_before_it_writes(db):
    with pytest.raises(CommandError, match="invalid yes or no value: 'maybe'"):
        run("create_book", "ok", "--one-per-symbol", "maybe")

    assert not Book.objects.filter(slug="ok").exists()


def test_create_book_refuses_a_passphrase_another_book_answers_to(db):
    run("create_book", "first", "--webhook-passphrase", "a-long-passphrase-1")

    with pytest.raises(CommandError, match="Another book's webhook answers to that passphrase already"):
        run("create_book", "second", "--webhook-passphrase", "a-long-passphrase-1")

    assert not Book.objects.filter(slug="second").exists()


def test_create_book_refuses_the_default_book_s_setting_as_a_passphrase(settings, db):
    settings.TRADINGVIEW_PASSPHRASE = "the-setting-s-passphrase"

    with pytest.raises(CommandError, match="Another book's webhook answers"):
        run("create_book", "second", "--webhook-passphrase", "the-setting-s-passphrase")


def test_create_book_keeps_only_the_passphrase_s_hash(db):
    run("create_book", "tv", "--webhook-passphrase", "a-long-passphrase-1")

    book = Book.objects.get(slug="tv")
    assert book.webhook_passphrase_hash == services.passphrase_hash("a-long-passphrase-1")
    assert "a-long-passphrase-1" not in str(Book.objects.filter(slug="tv").values().get())


def test_book_passphrase_sets_replaces_and_clears_a_book_s_passphrase(db):
    run("create_book", "tv")

    assert run("book_passphrase", "tv", stdin="first-passphrase-123\n") == "The webhook passphrase of tv is set.\n"
    assert Book.objects.get(slug="tv").webhook_passphrase_hash == services.passphrase_hash("first-passphrase-123")
    run("book_passphrase", "tv", stdin="second-passphrase-45\n")
    assert Book.objects.get(slug="tv").webhook_passphrase_hash == services.passphrase_hash("second-passphrase-45")
    assert run("book_passphrase", "tv", "--clear") == "The webhook passphrase of tv is cleared.\n"
    assert Book.objects.get(slug="tv").webhook_passphrase_hash == ""


def test_book_passphrase_refuses_an_unknown_book_and_an_empty_input(db):
    services.default_book()
    with pytest.raises(CommandError, match="No book 'nope'; the books are: default."):
        run("book_passphrase", "nope", stdin="first-passphrase-123\n")
    with pytest.raises(CommandError, match="Give the passphrase on standard input"):
        run("book_passphrase", "default", stdin="")


def test_grant_book_grants_to_view_then_to_trade_then_takes_it_back(trader):
    run("create_book", "tv")
    book = selectors.book("tv")

    assert run("grant_book", "trader", "tv") == "trader may view tv.\n"
    assert list(selectors.books_visible(trader)) == [book]
    assert not selectors.books_tradable(trader).exists()

    assert run("grant_book", "trader", "tv", "--trade") == "trader may trade in tv.\n"
    assert list(selectors.books_tradable(trader)) == [book]
    assert BookMember.objects.get().history.count() == 2  # granted, then changed: both kept

    assert run("grant_book", "trader", "tv", "--revoke") == "trader no longer sees tv.\n"
    assert not BookMember.objects.exists()
    assert [book.slug for book in selectors.books_visible(trader)] == ["default"]  # no grant: the default alone


def test_grant_book_refuses_an_unknown_user_or_book(trader):
    services.default_book()
    with pytest.raises(CommandError, match="No user 'nobody'."):
        run("grant_book", "nobody", "default")
    with pytest.raises(CommandError, match="No book 'nope'"):
        run("grant_book", "trader", "nope")
    assert not BookMember.objects.exists()


def test_grant_book_to_trade_warns_a_user_without_the_trade_permission(viewer):
    run("create_book", "tv")
    err = io.StringIO()

    call_command("grant_book", "viewer", "tv", "--trade", stdout=io.StringIO(), stderr=err)

    assert "viewer lacks the ledger.trade permission" in err.getvalue()
    assert not selectors.books_tradable(viewer).exists()
