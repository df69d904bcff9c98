"""The working entry orders (docs/fills.md, "Entry orders"): what the dashboard's part and GET /api/v1/orders show."""

from collections.abc import Iterable

from django.db.models import OuterRef, QuerySet, Subquery

from ..errors import NotFound
from ..models import Book, MarketPrice, Order


def order(order_id: int, *, books: Iterable[int] | None = None) -> Order:
    """The entry order, if it is of one of `books` (ids; None: of any book), or NotFound."""
    rows = Order.objects.all() if books is None else Order.objects.filter(book__in=list(books))
    row = rows.filter(pk=order_id).first()
    if row is None:
        raise NotFound(f"No order with id {order_id}.", field="order_id")
    return row


def orders_working(book: Book) -> QuerySet[Order]:
    """The book's working orders, oldest first, each with `last_price`, its symbol's last traded price (None: never
    seen), read from market_prices by its unique symbol: how far the market is from filling it."""
    last = MarketPrice.objects.filter(symbol=OuterRef("symbol")).values("price")[:1]
    return (
        Order.objects.filter(book=book, status=Order.Status.WORKING)
        .select_related("signal")
        .annotate(last_price=Subquery(last))
        .order_by("created_at", "pk")
    )
