"""API tokens: made (shown once, stored as a hash), revoked, and checked on each request."""

import hashlib
import logging
import secrets
from contextlib import nullcontext
from datetime import timedelta

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from ..errors import InvalidInput, NotFound, NotPermitted
from ..models import ApiToken, Book
from .base import default_book

log = logging.getLogger(__name__)
TOKEN_USE_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most this often per token


def api_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, name: str, scope: str = ApiToken.Scope.READ, book: Book | None = None) -> tuple[ApiToken, str]:
    """Make a named token of one book (default: the default book) that may read (`read`, the default) or also
    write (`trade`) in it, and nothing of another book. Returns the row and the token itself, which is shown once
    and never stored."""
    name = name.strip()
    if not 0 < len(name) <= 100:
        raise InvalidInput("name must be 1 to 100 characters.", field="name")
    if scope not in ApiToken.Scope.values:
        raise InvalidInput(f"scope must be one of {', '.join(ApiToken.Scope.values)}, not {scope!r}.", field="scope")
    if ApiToken.objects.filter(name=name).exists():
        raise InvalidInput(f"A token named {name!r} exists already; revoke it or choose another name.", field="name")
    token = "pt_" + secrets.token_urlsafe(32)
    row = ApiToken.objects.create(
        name=name, scope=scope, book=book or default_book(), key_hash=api_token_hash(token), prefix=token[:10]
    )
    return row, token


@transaction.atomic
def api_token_revoke(*, name: str) -> ApiToken:
    row = ApiToken.objects.select_for_update().filter(name=name).first()
    if row is None:
        raise NotFound(f"No token named {name!r}.", field="name")
    if row.revoked_at is None:
        row.revoked_at = timezone.now()
        row.save(update_fields=["revoked_at"])
    return row


def api_token_authenticate(*, token: str, scope: str = ApiToken.Scope.READ) -> ApiToken | None:
    """The unrevoked token row a presented token belongs to, or None; records when it was last used (at most
    once a minute, and only if the database takes the write: a read never depends on one). A token without the
    scope asked for (a `read` token, for a write) is refused with NotPermitted.

    The lookup is by the token's SHA-256, so its timing says nothing about the token itself.
    """
    row = ApiToken.objects.filter(key_hash=api_token_hash(token), revoked_at__isnull=True).first()
    if row is None:
        return None
    if scope == ApiToken.Scope.TRADE and row.scope != ApiToken.Scope.TRADE:
        raise NotPermitted(f"The token {row.name!r} may only read; writing needs a token made with --scope trade.")
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_USE_RESOLUTION:
        # One statement in autocommit (a request has no transaction); inside a caller's transaction, a savepoint,
        # so that a refused write does not break it.
        guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
        try:
            with guard:
                ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
            row.last_used_at = now
        except DatabaseError as error:  # read-only or full: the request goes on, the next one tries again
            log.warning("API token %r: its last use was not recorded: %s", row.name, error)
    return row
