"""Books and who may see them (docs/books.md, "Who sees what"): a superuser sees every book; a user granted books
sees those; a user granted none sees the default book alone, as before there were books. Trading in a book takes
the ledger.trade permission and, for a granted book, a grant to trade."""

from typing import Any

from django.db.models import Exists, Q, QuerySet

from ..errors import NotFound
from ..models import Book, BookMember


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
