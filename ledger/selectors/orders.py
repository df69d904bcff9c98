"""The working entry orders (docs/fills.md, "Entry orders"): what the dashboard's part and GET /api/v1/orders show."""

from django.db.models import OuterRef, QuerySet, Subquery

from ..models import MarketPrice, Order


def orders_working() -> QuerySet[Order]:
    """The working orders, oldest first, each with `last_price`, its symbol's last traded price (None: never
    seen), read from market_prices by its unique symbol: how far the market is from filling it."""
    last = MarketPrice.objects.filter(symbol=OuterRef("symbol")).values("price")[:1]
    return (
        Order.objects.filter(status=Order.Status.WORKING)
        .select_related("signal")
        .annotate(last_price=Subquery(last))
        .order_by("created_at", "pk")
    )
