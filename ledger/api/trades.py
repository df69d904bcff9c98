"""Trades and the prices that move them: apply ticks, list the open trades, read, close, annotate, move levels."""

from typing import Annotated

from django.http import HttpRequest
from ninja import Field, Router

from .. import selectors, services
from ..errors import InvalidInput
from ..inputs import NOTES_LENGTH_MAX, TAG_LENGTH_MAX, TAGS_MAX, TICKS_MAX, Tick
from .auth import TRADE
from .errors import ERRORS, WRITE_ERRORS
from .schemas import TicksOut, TradeDetailOut, TradeOut
from .types import MOMENT_HELP, Body, Moment, Price, Symbol, TradeId

router = Router()


class TickIn(Body):
    """Also refused, each tick alone (listed in `refused`, the others applied): a bid above the ask, a bid or ask
    further than PAPER_QUOTE_BAND from the price, a price that would value an open trade at 100,000,000,000 or
    more (docs/api.md, "Numbers")."""

    symbol: Symbol
    price: Price = Field(description="The last traded price: what stops and targets are compared with.")
    bid: Price | None = Field(None, description="The best bid: where a market sell fills (optional; not above ask).")
    ask: Price | None = Field(None, description="The best ask: where a market buy fills (optional).")
    time: Moment | None = Field(
        None,
        description=f"When the price was seen ({MOMENT_HELP}), at most MAX_CLOCK_SKEW ahead; default: when it arrives.",
    )


class TicksIn(Body):
    ticks: list[TickIn] = Field(min_length=1, max_length=TICKS_MAX)


@router.post("/prices", auth=TRADE, response={200: TicksOut, **WRITE_ERRORS}, tags=["trades"])
def prices_apply(request: HttpRequest, body: TicksIn):
    """Mark the open trades of each tick's symbol, in time order, closing those that reach stop or target. A tick
    the ledger refuses is listed in `refused` with its reason, and the others are applied; a batch whose every
    tick is refused answers 422 naming the first."""
    ticks = [
        Tick(symbol=tick.symbol, price=tick.price, at=tick.time, bid=tick.bid, ask=tick.ask) for tick in body.ticks
    ]
    result = services.prices_apply(ticks=ticks)
    if len(result.refused) == len(ticks):  # nothing was written
        first = result.refused[0]
        raise InvalidInput(first.message, field=first.field)
    return result


@router.get("/trades/active", response={200: list[TradeOut], **ERRORS}, tags=["trades"])
def trade_list_active(request: HttpRequest):
    """The open trades, oldest first."""
    return selectors.trades_active(request.auth.book)


@router.get("/trades/{trade_id}", response={200: TradeDetailOut, **ERRORS}, tags=["trades"])
def trade_detail(request: HttpRequest, trade_id: TradeId):
    return selectors.trade(trade_id, books=[request.auth.book_id])


class CloseIn(Body):
    price: Price | None = Field(
        None,
        description=(
            "The exit price; default: a market order at the last mark. "
            "Refused (422) if it would value the trade at 100,000,000,000 or more."
        ),
    )
    expected_price: Price | None = Field(
        None,
        description=(
            "The fill you expect a market close to get (the trade's exit_quote when you read it); refused (409, "
            "with the fill now) if the fill has moved further than PAPER_MAX_DEVIATION (0.5 %) from it. Ignored "
            "with a `price`."
        ),
    )


@router.post("/trades/{trade_id}/close", auth=TRADE, response={200: TradeDetailOut, **WRITE_ERRORS}, tags=["trades"])
def trade_close(request: HttpRequest, trade_id: TradeId, body: CloseIn = CloseIn()):  # optional, never null
    """Close an open trade by hand (MANUAL_CLOSE). A trade closes once: again answers 409."""
    trade = selectors.trade(trade_id, books=[request.auth.book_id])  # another book's trade is not there: 404
    return services.trade_close(trade_id=trade.pk, price=body.price, expected_price=body.expected_price)


class TradeEditIn(Body):
    notes: str | None = Field(
        None, max_length=NOTES_LENGTH_MAX, description="Replaces the notes; null or absent: unchanged."
    )
    tags: list[Annotated[str, Field(min_length=1, max_length=TAG_LENGTH_MAX)]] | None = Field(
        None,
        max_length=TAGS_MAX,
        description="Replaces the tags; null or absent: unchanged. A tag in use under another case keeps its spelling.",
    )
    version: str | None = Field(
        None,
        max_length=100,
        description="The trade's notes_version this edit was made on: refused with 409, saying what changed, if "
        "the notes or tags changed since. Absent: the edit is written whatever is there.",
    )


@router.patch("/trades/{trade_id}", auth=TRADE, response={200: TradeDetailOut, **WRITE_ERRORS}, tags=["trades"])
def trade_edit(request: HttpRequest, trade_id: TradeId, body: TradeEditIn):
    """Set a trade's notes, its tags, or both (open or closed). Kept in the trade's history with the token's name."""
    return services.trade_annotate(
        trade_id=selectors.trade(trade_id, books=[request.auth.book_id]).pk,
        notes=body.notes,
        tags=body.tags,
        version=body.version,
        via=f"API token {request.auth.name}",
    )


class LevelsIn(Body):
    stop_loss: Price | None = Field(None, description="The new stop; absent: unchanged.")
    take_profit: Price | None = Field(None, description="The new target; absent: unchanged.")


@router.post("/trades/{trade_id}/levels", auth=TRADE, response={200: TradeDetailOut, **WRITE_ERRORS}, tags=["trades"])
def trade_levels(request: HttpRequest, trade_id: TradeId, body: LevelsIn):
    """Move an open trade's stop, target or both. A level the last price has crossed is refused (422);
    risk_amount keeps the risk at entry, so R stays measured against it."""
    return services.trade_move_levels(
        trade_id=selectors.trade(trade_id, books=[request.auth.book_id]).pk,
        stop_loss=body.stop_loss,
        take_profit=body.take_profit,
        via=f"API token {request.auth.name}",
    )
