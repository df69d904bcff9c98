"""Books (docs/books.md, "API"): the ones a token may see, with their money now."""

from django.http import HttpRequest
from ninja import Router

from .. import selectors
from ..models import Book
from .errors import ERRORS
from .schemas import BookOut

router = Router()


@router.get("/books", response={200: list[BookOut], **ERRORS}, tags=["books"])
def book_list(request: HttpRequest):
    """The books the token may see (a token is bound to one book: its own), with balance, equity and cash."""
    return selectors.books_balances(Book.objects.filter(pk=request.auth.book_id))
