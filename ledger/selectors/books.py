"""Books and who may see them (docs/books.md, "Who sees what"): a superuser sees every book; a user granted books
sees those; a user granted none sees the default book alone, as before there were books. Trading in a book takes
the ledger.trade permission and, for a granted book, a grant to trade."""

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Exists, Q, QuerySet, Sum

from ..errors import NotFound
from ..models import Book, BookMember, PaperTrade
from ..sql import money_from_db


def book(slug: str) -> Book:
    """The book of that slug (for the commands, which see every book), or NotFound naming it."""
    row = Book.objects.only("pk", "slug").filter(slug=slug).first()
    if row is None:
        known = ", ".join(Book.objects.values_list("slug", flat=True)) or "none yet"
        raise NotFound(f"No book {slug!r}; the books are: {known}.", field="book")
    return row


def books_visible(user: Any) -> QuerySet[Book]:
    """The books the user may see, in id order (the default book first): one query."""
    if not user.is_authenticated:
        return Book.objects.none()
    if user.is_superuser:
        return Book.objects.all()
    grants = BookMember.objects.filter(user=user)
    return Book.objects.filter(Q(pk__in=grants.values("book")) | Q(slug=Book.DEFAULT_SLUG) & ~Exists(grants))


def book_visible(user: Any, slug: str) -> Book:
    """The book of that slug if the user may see it, or NotFound (never a word of a book they may not see)."""
    book = books_visible(user).filter(slug=slug).first()
    if book is None:
        raise NotFound(f"No book {slug!r}.", field="book")
    return book


def books_tradable(user: Any) -> QuerySet[Book]:
    """The books the user may trade in: those they see, with the ledger.trade permission, and, for granted books,
    a grant to trade."""
    if not user.is_authenticated or not user.has_perm("ledger.trade"):
        return Book.objects.none()
    visible = books_visible(user)
    if user.is_superuser or not BookMember.objects.filter(user=user).exists():
        return visible
    return visible.filter(grants__user=user, grants__can_trade=True)


@dataclass(frozen=True)
class BookBalance:
    """A book's money now: its balance (starting balance and every realized PnL), equity (and the open trades'
    unrealized PnL) and cash (what a new trade may spend: the balance less what the open trades hold)."""

    book: Book
    unrealized_pnl: Decimal

    @property
    def balance(self) -> Decimal:
        return self.book.balance

    @property
    def equity(self) -> Decimal:
        return self.book.balance + self.unrealized_pnl

    @property
    def cash(self) -> Decimal:
        return self.book.cash


def books_balances(books: QuerySet[Book]) -> list[BookBalance]:
    """Each book's balance, equity and cash: the books' rows, and their open trades' unrealized PnL summed by book
    (two queries however many books)."""
    rows = list(books)
    unrealized = dict(
        PaperTrade.objects.filter(status=PaperTrade.Status.OPEN, book_id__in=[row.pk for row in rows])
        .order_by()
        .values("book_id")
        .annotate(total=Sum("unrealized_pnl"))
        .values_list("book_id", "total")
    )
    return [BookBalance(book=row, unrealized_pnl=money_from_db(unrealized.get(row.pk))) for row in rows]


def webhook_passphrases() -> list[tuple[int, str]]:
    """The books whose TradingView webhook has a passphrase: (id, its hash), a few rows."""
    return list(Book.objects.exclude(webhook_passphrase_hash="").values_list("pk", "webhook_passphrase_hash"))


def book_of_passphrase(passphrase: str, among: Iterable[tuple[int, str]]) -> int | None:
    """The id of the book (of `among`, webhook_passphrases()) whose passphrase this is, compared in constant time
    with every one of them, so the answer's timing says nothing of which came close."""
    given = hashlib.sha256(passphrase.encode()).hexdigest().encode()
    found = None
    for book_id, stored in among:
        if hmac.compare_digest(given, stored.encode()):
            found = book_id
    return found
