"""Entry orders: the working ones, and cancelling one (docs/fills.md, "Entry orders")."""

from django.http import HttpRequest
from ninja import Router

from .. import selectors, services
from .auth import TRADE
from .errors import ERRORS, WRITE_ERRORS
from .schemas import OrderOut
from .types import Body, OrderId, Text

router = Router()


@router.get("/orders", response={200: list[OrderOut], **ERRORS}, tags=["orders"])
def order_list(request: HttpRequest):
    """The working entry orders, oldest first, each with its symbol's last price and its distance to fill."""
    return selectors.orders_working(request.auth.book)


class CancelIn(Body):
    reason: Text = "Cancelled through the API."


@router.post("/orders/{order_id}/cancel", auth=TRADE, response={200: OrderOut, **WRITE_ERRORS}, tags=["orders"])
def order_cancel(request: HttpRequest, order_id: OrderId, body: CancelIn = CancelIn()):  # optional, never null
    """A working order becomes CANCELLED, its reservation released and its signal EXPIRED with the reason. An
    order no longer working (filled, cancelled, expired) answers 409; an unknown id 404."""
    order = selectors.order(order_id, books=[request.auth.book_id])  # another book's order is not there: 404
    return services.order_cancel(order_id=order.pk, reason=body.reason)
