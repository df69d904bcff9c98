"""Books made, their webhook passphrases set, and users granted them (docs/books.md, "Commands")."""

import hashlib
import hmac
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from ..errors import Conflict, InvalidInput
from ..inputs import BOOK_RULES, clean_book_name, clean_book_rule, clean_book_slug, clean_passphrase
from ..models import Book, BookMember
from .base import book_for_update


def passphrase_hash(passphrase: str) -> str:
    """What a book keeps of its webhook passphrase, as api_token_hash keeps of a token."""
    return hashlib.sha256(passphrase.encode()).hexdigest()


def _check_passphrase_free(passphrase: str, *, book_id: int | None) -> str:
    """The passphrase's hash, if no other book (nor TRADINGVIEW_PASSPHRASE, the default book's) answers to it: the
    webhook tells books apart by their passphrase alone."""
    digest = passphrase_hash(clean_passphrase(passphrase))
    taken = Book.objects.filter(webhook_passphrase_hash=digest).exclude(pk=book_id).exists()
    setting = settings.TRADINGVIEW_PASSPHRASE
    if taken or (setting and hmac.compare_digest(passphrase.encode(), setting.encode())):
        raise Conflict(
            "Another book's webhook answers to that passphrase already; choose another.", field="webhook_passphrase"
        )
    return digest


@transaction.atomic
def book_create(
    *, slug: str, name: str = "", balance: Decimal | None = None, webhook_passphrase: str = "", **rules: Any
) -> Book:
    """A new book: its slug (unique), its name (default: the slug), its starting balance and its own rules (each
    left out follows its PAPER_* setting, as the default book's all do), and optionally the passphrase that leads
    TradingView's alerts into it. Refused, with nothing written, on a taken slug or any value out of bounds."""
    slug = clean_book_slug(slug)
    values = {"starting_balance": clean_book_rule("starting_balance", balance)}
    for rule, value in rules.items():
        if rule not in BOOK_RULES or rule == "starting_balance":
            raise InvalidInput(f"{rule!r} is not one of a book's rules: {', '.join(BOOK_RULES)}.", field=rule)
        values[rule] = clean_book_rule(rule, value)
    values["limit_fill"] = values.get("limit_fill") or ""  # empty: PAPER_LIMIT_FILL
    if Book.objects.filter(slug=slug).exists():
        raise Conflict(f"A book {slug!r} exists already.", field="slug")
    book = Book(slug=slug, name=clean_book_name(name or slug), **values)
    if webhook_passphrase:
        book.webhook_passphrase_hash = _check_passphrase_free(webhook_passphrase, book_id=None)
    book._change_reason = "created"
    try:
        with transaction.atomic():
            book.save()
    except IntegrityError:  # made a moment ago by someone else
        raise Conflict(f"A book {slug!r} exists already.", field="slug") from None
    return book


@transaction.atomic
def book_passphrase_set(*, book_id: int, passphrase: str) -> Book:
    """Set the book's webhook passphrase (replacing any it had), or clear it with an empty one."""
    book = book_for_update(book_id)
    book.webhook_passphrase_hash = _check_passphrase_free(passphrase, book_id=book.pk) if passphrase else ""
    book._change_reason = "webhook passphrase set" if passphrase else "webhook passphrase cleared"
    book.save(update_fields=["webhook_passphrase_hash"])
    return book


@transaction.atomic
def book_grant(*, user: Any, book_id: int, can_trade: bool = False) -> BookMember:
    """Grant the user the book, to view it or to trade in it too (trading also takes the ledger.trade
    permission); granting again changes what the grant allows."""
    grant = BookMember.objects.select_for_update().filter(user=user, book_id=book_id).first()
    if grant is None:
        grant = BookMember(user=user, book_id=book_id)
    elif grant.can_trade == can_trade:
        return grant
    grant.can_trade = can_trade
    grant.save()
    return grant


@transaction.atomic
def book_revoke(*, user: Any, book_id: int) -> bool:
    """Take the book from the user; False if they had no grant of it. (A user left with no grant at all sees
    the default book, as before books: selectors.books_visible.)"""
    grant = BookMember.objects.filter(user=user, book_id=book_id).first()
    if grant is None:
        return False
    grant.delete()  # one row: its history keeps who removed it
    return True


@transaction.atomic
def book_update(*, book_id: int, changes: dict[str, Any]) -> Book:
    """Change a book's name or rules (a rule set to None follows its setting again), kept in its history with who
    and when. Its totals and slug are not changed here: the totals follow from its trades, the slug is in URLs."""
    book = book_for_update(book_id)
    for field, value in changes.items():
        if field == "name":
            book.name = clean_book_name(value)
        elif field in BOOK_RULES:
            cleaned = clean_book_rule(field, value)
            setattr(book, field, "" if field == "limit_fill" and cleaned is None else cleaned)
        else:
            raise InvalidInput(f"{field!r} is not a book's name or one of its rules.", field=field)
    if changes:
        book._change_reason = "changed"
        book.save(update_fields=list(changes))
    return book
