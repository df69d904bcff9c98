"""Signals: record one (opening its paper trade), expire one, list a day's."""

from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Status
from pydantic import StrictBool

from .. import selectors, services
from ..days import today
from ..inputs import CONFLUENCES_MAX, OrderFields, SignalFields
from ..models import Book
from .auth import TRADE
from .errors import ERRORS, WRITE_ERRORS
from .schemas import SignalOut, SignalTradeOut
from .types import (
    BRACKET_HELP,
    MOMENT_HELP,
    Body,
    Confidence,
    Confluence,
    Day,
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


class SignalIn(Body):
    """Also refused, with 422 naming the field, by rules across fields: a BUY needs stop_loss < entry_price <
    take_profit, a SELL take_profit < entry_price < stop_loss; a default level (PAPER_DEFAULT_STOP_PCT,
    PAPER_REWARD_RISK) must be a price too; timestamp must not be more than MAX_CLOCK_SKEW (5 s) ahead of the
    ledger's clock. A bracket (docs/fills.md, "Brackets"): targets beyond entry_price in order away from it, their
    fractions adding up to 1, instead of take_profit; break_even_after the number of a target before the last;
    trailing_stop one of distance and percent, its activation_price on the profit side."""

    signal_id: SignalId = Field(description="Your id for the signal; sending it again is safe (idempotent).")
    symbol: Symbol
    action: Literal["BUY", "SELL"]
    entry_price: Price
    confidence: Confidence
    timestamp: Moment | None = Field(
        None,
        description=(
            f"When the signal was made ({MOMENT_HELP}), at most MAX_CLOCK_SKEW ahead; default: when it arrives."
        ),
    )
    timeframe: Timeframe = ""
    confluences: list[Confluence] = Field([], max_length=CONFLUENCES_MAX)
    stop_loss: Price | None = Field(None, description="Below entry_price for a BUY, above it for a SELL.")
    take_profit: Price | None = Field(None, description="Above entry_price for a BUY, below it for a SELL.")
    targets: Targets | None = Field(None, description=BRACKET_HELP["targets"])
    break_even_after: TargetNumber | None = Field(None, ge=1, description=BRACKET_HELP["break_even_after"])
    trailing_stop: TrailingStop | None = Field(None, description=BRACKET_HELP["trailing_stop"])
    execute: StrictBool = Field(True, description="false records the signal without opening its trade.")
    order_type: OrderType = "market"
    expires_in: ExpiresIn = None


def intake_status(signal: SignalFields, *, execute: bool, order: OrderFields, book: Book | None) -> Status:
    """201 with the signal and its trade (or its order) on first receipt into the book; 200 with their current
    state on a replay."""
    intake = services.signal_intake(signal=signal, execute=execute, order=order, book=book)
    return Status(
        201 if intake.created else 200,
        {"signal": intake.signal, "trade": intake.trade, "refused": intake.refused, "order": intake.order},
    )


@router.post(
    "/signals", auth=TRADE, response={201: SignalTradeOut, 200: SignalTradeOut, **WRITE_ERRORS}, tags=["signals"]
)
def signal_create(request: HttpRequest, body: SignalIn):
    """Record a signal and, unless `execute` is false, open its paper trade.

    201 on first receipt; the same body again answers 200 with the signal and trade as they are now;
    another body under the same signal_id answers 409 and changes nothing."""
    signal = SignalFields(**body.dict(exclude={"execute", "order_type", "expires_in"}))
    order = OrderFields(body.order_type, body.expires_in)
    return intake_status(signal, execute=body.execute, order=order, book=request.auth.book)


class ExpireIn(Body):
    reason: Text = "Expired through the API."


@router.post("/signals/{signal_id}/expire", auth=TRADE, response={200: SignalOut, **WRITE_ERRORS}, tags=["signals"])
def signal_expire(request: HttpRequest, signal_id: SignalId, body: ExpireIn = ExpireIn()):  # optional, never null
    """A GENERATED signal becomes EXPIRED, with the reason kept on it."""
    signal = selectors.signal(signal_id, books=[request.auth.book_id])  # another book's signal is not there: 404
    return services.signal_expire(signal_id=signal.signal_id, reason=body.reason)


@router.get("/signals", response={200: list[SignalOut], **ERRORS}, tags=["signals"])
def signal_list(
    request: HttpRequest,
    day: Day | None = Query(
        None, alias="date", description="A trading day, YYYY-MM-DD from 1970 to 2199; default today."
    ),
    status: Literal["GENERATED", "EXECUTED", "EXPIRED", "CLOSED"] | None = None,
):
    """The signals of a trading day, newest first, optionally of one status."""
    return selectors.signals_for_day(request.auth.book, day or today(), status=status)
