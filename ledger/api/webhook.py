"""TradingView's alerts: a webhook with a passphrase in the body, as TradingView cannot send headers."""

import hmac
from decimal import Decimal

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest
from ninja import Field, Router
from ninja.errors import HttpError
from pydantic import StrictBool

from .. import selectors, services
from ..errors import LedgerError
from ..inputs import OrderFields, SignalFields
from ..models import Book
from ..proxy import locked_out
from .errors import WEBHOOK_ERRORS
from .schemas import SignalTradeOut
from .signals import intake_status
from .types import (
    BRACKET_HELP,
    MOMENT_HELP,
    Body,
    Confidence,
    ExpiresIn,
    Moment,
    OrderType,
    Price,
    SignalId,
    Symbol,
    TargetNumber,
    Targets,
    Text,
    Timeframe,
    TrailingStop,
)

router = Router()


# What django-axes counts the webhook's wrong passphrases under, per address: a name no user can have (it has a space).
WEBHOOK_CREDENTIALS = {"username": "tradingview webhook"}
# The signal's fields as the alert names them (the alert's confidence and ticker's action keep their names).
ALERT_FIELDS = {
    "signal_id": "order_id",
    "symbol": "ticker",
    "entry_price": "price",
    "timeframe": "interval",
    "timestamp": "time",
    "stop_loss": "sl",
    "take_profit": "tp",
}


class TradingViewAlert(Body):
    """Refused across fields as POST /signals is (levels around price, time not ahead of the clock)."""

    passphrase: Text = Field(
        description="A book's webhook passphrase, or TRADINGVIEW_PASSPHRASE (the default book's); wrong ones lock the "
        "address out (docs/api.md)."
    )
    ticker: Symbol
    action: str = Field(
        pattern="^([Bb][Uu][Yy]|[Ss][Ee][Ll][Ll])$", description="buy or sell ({{strategy.order.action}})."
    )
    price: Price
    order_id: SignalId = Field(description="De-duplicates alerts: the same order_id is the same signal.")
    interval: Timeframe = ""
    time: Moment | None = Field(None, description=MOMENT_HELP)
    sl: Price | None = None
    tp: Price | None = None
    targets: Targets | None = Field(None, description=BRACKET_HELP["targets"])
    break_even_after: TargetNumber | None = Field(None, ge=1, description=BRACKET_HELP["break_even_after"])
    trailing_stop: TrailingStop | None = Field(None, description=BRACKET_HELP["trailing_stop"])
    confidence: Confidence = Decimal("0.5")
    execute: StrictBool = True
    order_type: OrderType = "market"
    expires_in: ExpiresIn = None


@router.post(
    "/webhooks/tradingview",
    auth=None,  # TradingView cannot send headers: the passphrase in the body is the credential
    response={201: SignalTradeOut, 200: SignalTradeOut, **WEBHOOK_ERRORS},
    tags=["signals"],
    url_name="tradingview",
)
def tradingview(request: HttpRequest, body: TradingViewAlert):
    """A TradingView alert (JSON, or text/plain holding JSON) becomes a signal of the book its passphrase leads to,
    as POST signals does.

    The body's passphrase must be a book's (`create_book --webhook-passphrase`, `book_passphrase`) or equal
    TRADINGVIEW_PASSPHRASE, which leads to the default book; while neither is set this answers 403. Wrong
    passphrases are counted per address (django-axes, in the database): the AXES_FAILURE_LIMIT-th locks that address
    out for AXES_COOLOFF_TIME (429), and no other address."""
    expected = settings.TRADINGVIEW_PASSPHRASE
    books = selectors.webhook_passphrases()
    if not expected and not books:
        raise HttpError(
            403, "The TradingView webhook is off: no book has a passphrase and TRADINGVIEW_PASSPHRASE is not set."
        )
    if AxesProxyHandler.is_locked(request, WEBHOOK_CREDENTIALS):
        return locked_out(request)
    book_id = selectors.book_of_passphrase(body.passphrase, books)
    # The setting is compared whatever the books answered, so the time taken does not tell which matched.
    the_setting = bool(expected) and hmac.compare_digest(body.passphrase.encode(), expected.encode())
    if book_id is None and not the_setting:
        user_login_failed.send(sender=__name__, credentials=WEBHOOK_CREDENTIALS, request=request)  # axes counts it
        raise HttpError(403, "The passphrase is wrong.")
    book = Book.objects.get(pk=book_id) if book_id is not None else services.default_book()
    alert = body.dict()
    fields = {name: alert[key] for name in SignalFields.names() if (key := ALERT_FIELDS.get(name, name)) in alert}
    signal = SignalFields(**fields)
    try:
        order = OrderFields(body.order_type, body.expires_in)
        return intake_status(signal, execute=body.execute, order=order, book=book)
    except LedgerError as error:  # name the alert's own field, not the signal's
        raise type(error)(error.message, field=ALERT_FIELDS.get(error.field, error.field)) from None
