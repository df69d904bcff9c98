"""The JSON API under /api/v1/ (docs/api.md): typed schemas, token auth, and one error shape for every 4xx.

Thin: each endpoint parses its input with a schema, calls one service or selector, and renders rows.
Numbers arrive as JSON numbers or strings and become Decimal exactly as written, never through a float.
"""

import functools
import hmac
import json
import logging
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Field, NinjaAPI, Query, Schema, Status
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer
from ninja.throttling import AuthRateThrottle, SimpleRateThrottle
from pydantic import AwareDatetime, BeforeValidator, ConfigDict, PlainSerializer, StrictBool, WithJsonSchema

from . import selectors, services
from .days import today
from .errors import InvalidInput, LedgerError, error_body
from .inputs import (
    CONFLUENCE_LENGTH_MAX,
    CONFLUENCES_MAX,
    CONTROL_TEXT,
    DAY_RE,
    DAY_TEXT,
    DECIMAL_RE,
    ID_MAX,
    MOMENT_RE,
    MOMENT_TEXT,
    NOTES_LENGTH_MAX,
    RANGE_DAYS_MAX,
    REASON_LENGTH_MAX,
    SIGNAL_ID_TEXT,
    SYMBOL_LENGTH_MAX,
    TAG_LENGTH_MAX,
    TAGS_MAX,
    TICKS_MAX,
    TIMEFRAME_TEXT,
    SignalFields,
    Tick,
    clean_symbol,
)
from .middleware import RETRY_AFTER
from .models import ApiToken
from .proxy import locked_out
from .rules import PRICE_MAX, PRICE_MIN

log = logging.getLogger(__name__)
JOURNAL_LIMIT_MAX = 500
CANDLES_SPAN_MAX = timedelta(days=1)  # 1,440 candles at most in one answer


# Input types: each refuses what the services would refuse, and says so in the OpenAPI document, so a client
# (or schemathesis) can tell from the document alone what is accepted. The services check every rule again.
def _written(pattern, example: str):
    """A value that must arrive as a string written exactly so (not a number, not a lookalike)."""

    def check(value: Any) -> Any:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise ValueError(f"must be written like {example}")
        return value

    return BeforeValidator(check)


def _number(value: Any) -> Any:
    """A JSON number (a Decimal, from DecimalParser) as it is; a string only as ASCII digits with an optional
    fraction: not "1_000", " 100 ", "1e3" or another script's digits."""
    if isinstance(value, str) and DECIMAL_RE.fullmatch(value) or isinstance(value, Decimal):
        return value
    raise ValueError("must be a number, or a string of digits with an optional fraction such as 97250.5")


def _either(number: dict, text: str) -> WithJsonSchema:
    return WithJsonSchema({"anyOf": [{"type": "number", **number}, {"type": "string", "pattern": f"^({text})$"}]})


# A price as a string: 1 to 99999999999.x, or 0.x with a digit other than 0 in its first 8 places.
PRICE_TEXT = r"0*[1-9][0-9]{0,10}(\.[0-9]+)?|0+\.[0-9]{0,7}[1-9][0-9]*"
CONFIDENCE_TEXT = r"0*1(\.0+)?|0+(\.[0-9]+)?"
Price = Annotated[
    Decimal,
    BeforeValidator(_number),
    Field(ge=PRICE_MIN, lt=PRICE_MAX, allow_inf_nan=False),
    # JSON Schema numbers, for the OpenAPI document only (a Decimal would be written as a string there); what
    # is accepted is decided by the Decimal bounds of the Field above
    _either({"minimum": float(PRICE_MIN), "exclusiveMaximum": float(PRICE_MAX)}, PRICE_TEXT),
]
Confidence = Annotated[
    Decimal, BeforeValidator(_number), Field(ge=0, le=1), _either({"minimum": 0, "maximum": 1}, CONFIDENCE_TEXT)
]
MOMENT_HELP = "ISO 8601 with a zone (2026-11-20T10:00:00Z), from 1970 to 2199, offset within ±14:00"
Moment = Annotated[
    AwareDatetime,
    _written(MOMENT_RE, "2026-11-20T10:00:00Z (from 1970 to 2199, a UTC offset within ±14:00)"),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": f"^{MOMENT_TEXT}$"}),
]
Day = Annotated[
    date,
    _written(DAY_RE, "2026-11-20 (a day from 1970 to 2199)"),
    WithJsonSchema({"type": "string", "format": "date", "pattern": f"^{DAY_TEXT}$"}),
]
Text = Annotated[str, Field(max_length=REASON_LENGTH_MAX, pattern=f"^[^{CONTROL_TEXT[1:-1]}]*$")]
Confluence = Annotated[
    str, Field(max_length=CONFLUENCE_LENGTH_MAX, pattern=f"^ *[^ {CONTROL_TEXT[1:-1]}][^{CONTROL_TEXT[1:-1]}]*$")
]
SignalId = Annotated[str, Field(pattern=f"^{SIGNAL_ID_TEXT}$")]
Timeframe = Annotated[str, Field(pattern=f"^({TIMEFRAME_TEXT})?$")]
# Symbols in either case (kept upper case); as long as the symbol columns are wide.
Symbol = Annotated[str, Field(max_length=SYMBOL_LENGTH_MAX, pattern="^[A-Za-z0-9]{1,12}([/:_.-]?[A-Za-z0-9]{1,12})?$")]


def _digits(value: Any) -> Any:
    """A whole number in a path or query string: ASCII digits only, not "1_0", " 10 " or "+10"."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("must be written as digits, such as 42")
    return value


TradeId = Annotated[
    int, Field(ge=1, le=ID_MAX), BeforeValidator(_digits)
]  # in this order, the document says the bounds
Count = Annotated[int, BeforeValidator(_digits)]
# Every number in an answer is a string with 8 decimal places, whichever database it came from.
Amount = Annotated[Decimal, PlainSerializer(lambda value: f"{value:.8f}", return_type=str)]
JSON = "application/json"


class Body(Schema):
    """A request body: a field the schema does not have is refused (422 naming it), never ignored."""

    model_config = ConfigDict(extra="forbid")


class NotAnObject(ValueError):
    """A body that is JSON but not an object: every body of this API is one (422, not read as empty)."""


class DecimalParser(Parser):
    """JSON whose numbers are all Decimal, never float: 0.1 stays 0.1. NaN, Infinity and integers of any
    length become Decimal too, so the schema refuses them with 422 naming the field. Every body is an object."""

    def parse_body(self, request: HttpRequest) -> Any:
        body = json.loads(request.body, parse_float=Decimal, parse_int=Decimal, parse_constant=Decimal)
        if not isinstance(body, dict):
            kind = {list: "an array", str: "a string", bool: "true or false", type(None): "null"}.get(
                type(body), "a number"
            )
            raise NotAnObject(f"body must be a JSON object ({{...}}), not {kind}.")
        return body


class WrongTokens(SimpleRateThrottle):
    """Wrong bearer tokens per client address, counted in Django's cache as ninja's throttles count (per process
    with the default cache): past API_AUTH_FAILURE_LIMIT, the address gets 429 before any token is looked up."""

    def get_cache_key(self, request: HttpRequest) -> str:
        return f"throttle_wrong_token_{self.get_ident(request)}"

    def refuse_if_over(self, request: HttpRequest) -> None:
        """Throttled while the address has had its fill of wrong tokens; counts nothing."""
        self.key, self.now = self.get_cache_key(request), self.timer()
        self.history = [moment for moment in self.cache.get(self.key, []) if moment > self.now - self.duration]
        if len(self.history) >= self.num_requests:
            raise Throttled(wait=self.wait())

    def count(self, request: HttpRequest) -> None:
        self.allow_request(request)  # records one more wrong token


WRONG_TOKENS = WrongTokens(settings.API_AUTH_FAILURE_LIMIT)


class BearerToken(HttpBearer):
    """A token of the scope the operation needs: `read` for every GET, `trade` for every write."""

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        WRONG_TOKENS.refuse_if_over(request)
        row = services.api_token_authenticate(token=token, scope=self.scope)
        if row is None:
            WRONG_TOKENS.count(request)
        return row


READ, TRADE = BearerToken(ApiToken.Scope.READ), BearerToken(ApiToken.Scope.TRADE)

api = NinjaAPI(
    title="Paper-trading ledger",
    version="1",
    description="Signals, price ticks and every read of the ledger. See docs/api.md.",
    auth=READ,
    throttle=[AuthRateThrottle(settings.API_RATE_LIMIT)],  # per token; the webhook, without one, per address
    parser=DecimalParser(),
    docs_decorator=login_required,  # the document and its page are for logged-in people, not tokens
    urls_namespace="api",
)


# --- Errors: one shape for every 4xx -------------------------------------------------------------


class ErrorItem(Schema):
    field: str | None = Field(description="The input at fault, e.g. entry_price or ticks[3].price; null if none.")
    message: str


class ErrorOut(Schema):
    detail: list[ErrorItem]


# The 4xx and 503 answers each operation documents (405 for a wrong method comes from ninja before any
# operation; 415 from _checked, below).
ERRORS = {frozenset({400, 401, 404, 409, 413, 422, 429, 503}): ErrorOut}
WRITE_ERRORS = {frozenset({400, 401, 403, 404, 409, 413, 415, 422, 429, 503}): ErrorOut}
WEBHOOK_ERRORS = {frozenset({400, 403, 409, 413, 415, 422, 429, 503}): ErrorOut}


def _error(request: HttpRequest, status: int, message: str, field: str | None = None) -> HttpResponse:
    return api.create_response(request, error_body(message, field), status=status)


def _field(loc: list[Any]) -> str:
    """ninja's error location as the client wrote it: ("body", "body", "ticks", 3, "price") -> ticks[3].price."""
    parts = list(loc[1:]) if loc and loc[0] in {"body", "query", "path", "header"} else list(loc)
    if loc and loc[0] == "body" and len(parts) > 1:
        parts = parts[1:]  # the handler's parameter name, which the client never sees
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else f".{part}" if name else str(part)
    return name or "body"


@api.exception_handler(ValidationError)
def _on_invalid(request: HttpRequest, error: ValidationError) -> HttpResponse:
    detail = []
    for item in error.errors:
        field = _field(item.get("loc", []))
        message = item.get("msg", "is not valid").removeprefix("Value error, ")
        if item.get("type") == "extra_forbidden":
            message = "is not a field of this body; nothing was done"
        detail.append({"field": field, "message": f"{field}: {message}."})
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(LedgerError)
def _on_refused(request: HttpRequest, error: LedgerError) -> HttpResponse:
    return _error(request, error.status_code, error.message, error.field)


@api.exception_handler(AuthenticationError)
def _on_unauthenticated(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    response = _error(request, 401, "A valid API token is required: send the header Authorization: Bearer <token>.")
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def _on_http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    if isinstance(error.__cause__, NotAnObject):
        return _error(request, 422, str(error.__cause__), "body")
    if error.status_code == 400:  # ninja's only 400: the body could not be parsed
        return _error(request, 400, f"The request body is not valid JSON: {error.__cause__}.", "body")
    response = _error(request, error.status_code, error.message)
    if isinstance(error, Throttled) and error.wait:
        response["Retry-After"] = str(max(1, round(error.wait)))
    return response


@api.exception_handler(RequestDataTooBig)
def _on_too_big(request: HttpRequest, error: RequestDataTooBig) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return _error(request, 413, f"The request body is larger than {limit} bytes.", "body")


@api.exception_handler(Http404)
def _on_not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    return _error(request, 404, str(error) or "Not found.")


@api.exception_handler(DatabaseError)
def _on_database_fault(request: HttpRequest, error: DatabaseError) -> HttpResponse:
    """The database failed (unreachable, read-only, full): 503 in the API's shape, to be retried; the
    transaction was rolled back, so nothing was written. The cause goes to the log, not to the client."""
    log.error("API: database fault on %s %s", request.method, request.path, exc_info=error)
    response = _error(
        request, 503, f"The database could not serve this request; nothing was written. Try again in {RETRY_AFTER} s."
    )
    response["Retry-After"] = str(RETRY_AFTER)
    return response


# --- Output schemas ------------------------------------------------------------------------------


class SignalOut(Schema):
    signal_id: str
    symbol: str
    action: str
    entry_price: Amount
    confidence: Amount
    timestamp: datetime
    status: str
    status_reason: str
    timeframe: str
    confluences: list[str]
    stop_loss: Amount | None
    take_profit: Amount | None


class TradeOut(Schema):
    id: int
    signal_id: str | None
    symbol: str
    direction: str
    status: str
    entry_price: Amount = Field(description="The fill: the market's price at execution, against the trader.")
    entry_slippage: Amount = Field(
        description="entry_price minus the signal's price, per unit, signed against the trader."
    )
    entry_time: datetime
    position_size: Amount
    stop_loss: Amount
    take_profit: Amount
    risk_amount: Amount = Field(description="What the size risked between the fill and the stop at entry: 1R.")
    current_price: Amount = Field(description="The last traded price seen.")
    exit_quote: Amount = Field(description="Where a market exit fills at the last mark: bid (LONG) or ask (SHORT).")
    unrealized_pnl: Amount = Field(description="What a market exit at exit_quote would realize, fees included.")
    fees: Amount = Field(description="Open: entry fee + exit fee at exit_quote. Closed: what was paid.")
    slippage: Amount = Field(
        description="Paid against the signal's price at entry and the last price at a market exit."
    )
    exit_price: Amount | None
    exit_time: datetime | None
    realized_pnl: Amount | None
    r_multiple: Amount | None = Field(description="PnL / risk_amount: realized once closed, unrealized while open.")
    return_pct: Amount | None = Field(description="PnL / entry notional * 100.")
    max_price: Amount = Field(description="The highest price traded while open (every tick counts).")
    min_price: Amount = Field(description="The lowest price traded while open.")
    mfe: Amount = Field(
        description="Maximum favourable excursion: the most the trade was ahead, in money, before fees (0 or more)."
    )
    mae: Amount = Field(
        description="Maximum adverse excursion: the most it was behind, in money, before fees (0 or less)."
    )
    mfe_r: Amount | None = Field(description="mfe / risk_amount.")
    mae_r: Amount | None = Field(description="mae / risk_amount.")

    notes: str = Field(description="The trader's notes: plain text, paragraphs separated by blank lines.")
    tags: list[str] = Field(description="The trader's labels, such as 'A+ setup' or 'FOMO'.")

    @staticmethod
    def resolve_mfe(trade) -> Decimal:
        return trade.excursions.favourable

    @staticmethod
    def resolve_mae(trade) -> Decimal:
        return trade.excursions.adverse

    @staticmethod
    def resolve_mfe_r(trade) -> Decimal | None:
        return trade.excursions.favourable_r

    @staticmethod
    def resolve_mae_r(trade) -> Decimal | None:
        return trade.excursions.adverse_r


class CandleOut(Schema):
    minute: datetime = Field(description="The minute's start, UTC.")
    open: Amount
    high: Amount
    low: Amount
    close: Amount
    ticks: int = Field(
        description=(
            "Ticks applied in the minute; 0 for a minute filled from the exchange's history (price_feed --backfill)."
        )
    )
    bid: Amount | None = Field(description="The best bid with the close, if the feed sent one.")
    ask: Amount | None


class SignalTradeOut(Schema):
    signal: SignalOut
    trade: TradeOut | None
    refused: str | None = Field(
        None, description="Why the market or the account refused to execute it (it is EXPIRED)."
    )


class TicksOut(Schema):
    marked: list[TradeOut] = Field(description="Open trades the ticks re-valued.")
    closed: list[TradeOut] = Field(description="Trades a tick took through their stop or target.")
    ignored: int = Field(
        description="Ticks older than the last one applied for their symbol: prices only move forward."
    )


class JournalOut(Schema):
    day: date
    count: int = Field(description="Trades closed in the day, on all pages.")
    items: list[TradeOut]


class DailyPnlOut(Schema):
    day: date
    realized_pnl: Amount
    trades: int
    wins: int


class SymbolPnlOut(Schema):
    symbol: str
    realized_pnl: Amount
    trades: int


class FiguresOut(Schema):
    trades: int
    wins: int = Field(description="Trades with realized_pnl > 0.")
    losses: int = Field(description="Trades with realized_pnl < 0; a trade at exactly 0 is neither.")
    win_rate: Amount | None
    realized_pnl: Amount
    gross_profit: Amount
    gross_loss: Amount = Field(description="Minus the sum of the losing trades' PnL: a positive number.")
    profit_factor: Amount | None
    expectancy: Amount | None
    average_win: Amount | None
    average_loss: Amount | None = Field(description="The average PnL of a losing trade: a negative number.")
    fees: Amount
    slippage: Amount = Field(
        description="Paid against the signals' prices at entry and the last prices at market exits."
    )
    expectancy_r: Amount | None = Field(description="The average R multiple (realized_pnl / risk_amount) per trade.")
    average_win_r: Amount | None
    average_loss_r: Amount | None = Field(description="A negative number.")
    average_mfe: Amount | None = Field(
        description="The trades' maximum favourable excursion, on average, in money before fees."
    )
    average_mae: Amount | None = Field(
        description="Their maximum adverse excursion, on average: 0 or a negative number."
    )
    average_mfe_r: Amount | None = Field(description="The same in R, over the trades with a risk.")
    average_mae_r: Amount | None
    average_holding: timedelta | None


class GroupOut(FiguresOut):
    key: str | None = Field(
        description="The symbol, direction, exit reason, tag, confluence, timeframe, confidence band "
        "('0.5–0.6'), weekday ('Mon') or hour ('00'); null: the trades without one (no tag, no signal)."
    )


class PeriodPnlOut(Schema):
    start: date = Field(
        description="The week's Monday, or the month's first day (the period may cut the first and last)."
    )
    trades: int
    wins: int
    realized_pnl: Amount
    starting_equity: Amount
    return_pct: Amount | None = Field(description="realized_pnl / starting_equity * 100, 2 places.")


class RBucketOut(Schema):
    low: Amount | None = Field(description="R from (included); null: no lower bound.")
    high: Amount | None = Field(description="R to (excluded); null: no upper bound.")
    trades: int


class StatsOut(FiguresOut):
    """The figures are defined in docs/statistics.md."""

    start: date | None
    end: date | None
    starting_equity: Amount
    ending_equity: Amount
    max_drawdown: Amount
    max_drawdown_percent: Amount | None = Field(description="Of the equity at the peak it fell from, 2 places.")
    drawdown_start: datetime | None = Field(description="The close that made the peak; null: the period's start.")
    drawdown_end: datetime | None
    best_day: DailyPnlOut | None
    worst_day: DailyPnlOut | None
    best_symbol: SymbolPnlOut | None
    worst_symbol: SymbolPnlOut | None
    by_symbol: list[GroupOut]
    by_direction: list[GroupOut]
    by_exit_reason: list[GroupOut]
    by_tag: list[GroupOut] = Field(description="A trade counts once in each of its tags; untagged ones under key null.")
    by_confluence: list[GroupOut] = Field(
        description="A trade counts once in each confluence of its signal; none: key null."
    )
    by_timeframe: list[GroupOut]
    by_confidence: list[GroupOut] = Field(
        description="By the signal's confidence in bands of 0.1: '0.5–0.6' holds 0.5 <= c < 0.6."
    )
    by_weekday: list[GroupOut] = Field(description="By the ISO weekday of the entry in TRADING_DAY_TZ, Monday first.")
    by_hour: list[GroupOut] = Field(description="By the hour of the entry in TRADING_DAY_TZ.")
    weekly: list[PeriodPnlOut]
    monthly: list[PeriodPnlOut]
    r_histogram: list[RBucketOut] = Field(
        description="The trades with a risk by R multiple, in half-R buckets from -3 to 3."
    )
    longest_win_streak: int = Field(description="The most wins in a row, in exit order; a trade at 0 ends a streak.")
    longest_loss_streak: int
    return_pct: Amount | None = Field(description="realized_pnl / starting_equity * 100, 2 places.")
    sharpe: Amount | None = Field(description="Of daily returns: mean / standard deviation * sqrt(365), 4 places.")
    sortino: Amount | None = Field(description="Of daily returns: mean / downside deviation * sqrt(365), 4 places.")


# --- Signals -------------------------------------------------------------------------------------


class SignalIn(Body):
    """Also refused, with 422 naming the field, by rules across fields: a BUY needs stop_loss < entry_price <
    take_profit, a SELL take_profit < entry_price < stop_loss; a default level (PAPER_DEFAULT_STOP_PCT,
    PAPER_REWARD_RISK) must be a price too; timestamp must not be more than MAX_CLOCK_SKEW (5 s) ahead of the
    ledger's clock."""

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
    execute: StrictBool = Field(True, description="false records the signal without opening its trade.")


def _intake(signal: SignalFields, *, execute: bool) -> Status:
    """201 with the signal and its trade on first receipt; 200 with their current state on a replay."""
    intake = services.signal_intake(signal=signal, execute=execute)
    return Status(
        201 if intake.created else 200, {"signal": intake.signal, "trade": intake.trade, "refused": intake.refused}
    )


@api.post("/signals", auth=TRADE, response={201: SignalTradeOut, 200: SignalTradeOut, **WRITE_ERRORS}, tags=["signals"])
def signal_create(request: HttpRequest, body: SignalIn):
    """Record a signal and, unless `execute` is false, open its paper trade.

    201 on first receipt; the same body again answers 200 with the signal and trade as they are now;
    another body under the same signal_id answers 409 and changes nothing."""
    return _intake(SignalFields(**body.dict(exclude={"execute"})), execute=body.execute)


class ExpireIn(Body):
    reason: Text = "Expired through the API."


@api.post("/signals/{signal_id}/expire", auth=TRADE, response={200: SignalOut, **WRITE_ERRORS}, tags=["signals"])
def signal_expire(request: HttpRequest, signal_id: SignalId, body: ExpireIn = ExpireIn()):  # optional, never null
    """A GENERATED signal becomes EXPIRED, with the reason kept on it."""
    return services.signal_expire(signal_id=signal_id, reason=body.reason)


@api.get("/signals", response={200: list[SignalOut], **ERRORS}, tags=["signals"])
def signal_list(
    request: HttpRequest,
    day: Day | None = Query(
        None, alias="date", description="A trading day, YYYY-MM-DD from 1970 to 2199; default today."
    ),
    status: Literal["GENERATED", "EXECUTED", "EXPIRED", "CLOSED"] | None = None,
):
    """The signals of a trading day, newest first, optionally of one status."""
    return selectors.signals_for_day(day or today(), status=status)


# --- Prices and trades ---------------------------------------------------------------------------


class TickIn(Body):
    """Also refused, with 422 naming the tick: a bid above the ask; a price that would value an open trade at
    100,000,000,000 or more (docs/api.md, "Numbers")."""

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


@api.post("/prices", auth=TRADE, response={200: TicksOut, **WRITE_ERRORS}, tags=["trades"])
def prices_apply(request: HttpRequest, body: TicksIn):
    """Mark the open trades of each tick's symbol, in time order, closing those that reach stop or target."""
    ticks = [
        Tick(symbol=tick.symbol, price=tick.price, at=tick.time, bid=tick.bid, ask=tick.ask) for tick in body.ticks
    ]
    return services.prices_apply(ticks=ticks)


@api.get("/candles", response={200: list[CandleOut], **ERRORS}, tags=["reads"])
def candles(
    request: HttpRequest,
    symbol: Symbol,
    start: Moment | None = Query(
        None, alias="from", description="ISO 8601 with a zone, included; default: `to` less a day."
    ),
    end: Moment | None = Query(None, alias="to", description="ISO 8601 with a zone, excluded; default: now."),
):
    """A symbol's 1-minute candles from `from` to `to`, oldest first: at most a day of minutes per request."""
    end = end or datetime.now(UTC)
    start = start or end - CANDLES_SPAN_MAX
    if not timedelta(0) < end - start <= CANDLES_SPAN_MAX:
        raise InvalidInput(f"to must be after from, and at most {CANDLES_SPAN_MAX.days} day after it.", field="to")
    return selectors.candles(clean_symbol(symbol), start, end)


@api.get("/trades/active", response={200: list[TradeOut], **ERRORS}, tags=["trades"])
def trade_list_active(request: HttpRequest):
    """The open trades, oldest first."""
    return selectors.trades_active()


@api.get("/trades/{trade_id}", response={200: TradeOut, **ERRORS}, tags=["trades"])
def trade_detail(request: HttpRequest, trade_id: TradeId):
    return selectors.trade(trade_id)


class CloseIn(Body):
    price: Price | None = Field(
        None,
        description=(
            "The exit price; default: a market order at the last mark. "
            "Refused (422) if it would value the trade at 100,000,000,000 or more."
        ),
    )


@api.post("/trades/{trade_id}/close", auth=TRADE, response={200: TradeOut, **WRITE_ERRORS}, tags=["trades"])
def trade_close(request: HttpRequest, trade_id: TradeId, body: CloseIn = CloseIn()):  # optional, never null
    """Close an open trade by hand (MANUAL_CLOSE). A trade closes once: again answers 409."""
    return services.trade_close(trade_id=trade_id, price=body.price)


class TradeEditIn(Body):
    notes: str | None = Field(
        None, max_length=NOTES_LENGTH_MAX, description="Replaces the notes; null or absent: unchanged."
    )
    tags: list[Annotated[str, Field(min_length=1, max_length=TAG_LENGTH_MAX)]] | None = Field(
        None,
        max_length=TAGS_MAX,
        description="Replaces the tags; null or absent: unchanged. A tag in use under another case keeps its spelling.",
    )


@api.patch("/trades/{trade_id}", auth=TRADE, response={200: TradeOut, **WRITE_ERRORS}, tags=["trades"])
def trade_edit(request: HttpRequest, trade_id: TradeId, body: TradeEditIn):
    """Set a trade's notes, its tags, or both (open or closed). Kept in the trade's history with the token's name."""
    return services.trade_annotate(
        trade_id=trade_id, notes=body.notes, tags=body.tags, via=f"API token {request.auth.name}"
    )


class LevelsIn(Body):
    stop_loss: Price | None = Field(None, description="The new stop; absent: unchanged.")
    take_profit: Price | None = Field(None, description="The new target; absent: unchanged.")


@api.post("/trades/{trade_id}/levels", auth=TRADE, response={200: TradeOut, **WRITE_ERRORS}, tags=["trades"])
def trade_levels(request: HttpRequest, trade_id: TradeId, body: LevelsIn):
    """Move an open trade's stop, target or both. A level the last price has crossed is refused (422);
    risk_amount keeps the risk at entry, so R stays measured against it."""
    return services.trade_move_levels(
        trade_id=trade_id, stop_loss=body.stop_loss, take_profit=body.take_profit, via=f"API token {request.auth.name}"
    )


# --- Reads ---------------------------------------------------------------------------------------


@api.get("/journal", response={200: JournalOut, **ERRORS}, tags=["reads"])
def journal(
    request: HttpRequest,
    day: Day | None = Query(
        None, alias="date", description="A trading day, YYYY-MM-DD from 1970 to 2199; default today."
    ),
    limit: Count = Query(100, ge=1, le=JOURNAL_LIMIT_MAX),
    offset: Count = Query(0, ge=0, le=ID_MAX),
):
    """The trades closed during a trading day (in the journal's order, latest first), a page at a time."""
    day = day or today()
    trades = selectors.journal_for_day(day)
    return {"day": day, "count": trades.count(), "items": trades[offset : offset + limit]}


@api.get("/pnl/daily", response={200: list[DailyPnlOut], **ERRORS}, tags=["reads"])
def pnl_daily(
    request: HttpRequest,
    day: Day | None = Query(None, alias="date", description="One trading day; default today. Not with from and to."),
    start: Day | None = Query(None, alias="from", description="First day of a range; only with `to`, not with `date`."),
    end: Day | None = Query(
        None,
        alias="to",
        description=(
            f"Last day of a range, included; only with `from`, on or after it "
            f"and less than {RANGE_DAYS_MAX} days after."
        ),
    ),
):
    """Realized PnL, closed trades and wins per trading day: one row for `date`, or one per day of from..to."""
    if start is None and end is None:
        return [selectors.pnl_daily(day or today())]
    if day is not None:
        raise InvalidInput("Give either date, or from and to; not both.", field="date")
    if start is None or end is None:
        raise InvalidInput(
            "from and to go together: give both, as YYYY-MM-DD.", field="from" if start is None else "to"
        )
    if not timedelta(0) <= end - start < timedelta(days=RANGE_DAYS_MAX):
        raise InvalidInput(f"to must be on or after from, and at most {RANGE_DAYS_MAX} days after it.", field="to")
    return selectors.pnl_daily_range(start, end)


@api.get("/stats", response={200: StatsOut, **ERRORS}, tags=["reads"])
def stats(
    request: HttpRequest,
    start: Day | None = Query(None, alias="from", description="First trading day; default: all history."),
    end: Day | None = Query(
        None, alias="to", description="Last trading day, included, on or after `from`; default: today."
    ),
):
    """Trade count, win rate, averages, profit factor, expectancy, fees, max drawdown, best and worst day and
    symbol, holding time, excursions, streaks, return, Sharpe and Sortino; the same by symbol, direction, exit
    reason, tag, confluence, timeframe, confidence, weekday and hour; weekly and monthly tables; an R
    histogram (docs/statistics.md)."""
    if start is not None and end is not None and end < start:
        raise InvalidInput("to must be on or after from.", field="to")
    return selectors.stats(start, end)


# --- TradingView ---------------------------------------------------------------------------------


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

    passphrase: Text = Field(description="TRADINGVIEW_PASSPHRASE; wrong ones lock the address out (docs/api.md).")
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
    confidence: Confidence = Decimal("0.5")
    execute: StrictBool = True


@api.post(
    "/webhooks/tradingview",
    auth=None,  # TradingView cannot send headers: the passphrase in the body is the credential
    response={201: SignalTradeOut, 200: SignalTradeOut, **WEBHOOK_ERRORS},
    tags=["signals"],
    url_name="tradingview",
)
def tradingview(request: HttpRequest, body: TradingViewAlert):
    """A TradingView alert (JSON, or text/plain holding JSON) becomes a signal, as POST signals does.

    The body's passphrase must equal TRADINGVIEW_PASSPHRASE; while that setting is empty this answers 403.
    Wrong passphrases are counted per address (django-axes, in the database): the AXES_FAILURE_LIMIT-th locks
    that address out for AXES_COOLOFF_TIME (429), and no other address."""
    expected = settings.TRADINGVIEW_PASSPHRASE
    if not expected:
        raise HttpError(403, "The TradingView webhook is off: TRADINGVIEW_PASSPHRASE is not set.")
    if AxesProxyHandler.is_locked(request, WEBHOOK_CREDENTIALS):
        return locked_out(request)
    if not hmac.compare_digest(body.passphrase.encode(), expected.encode()):
        user_login_failed.send(sender=__name__, credentials=WEBHOOK_CREDENTIALS, request=request)  # axes counts it
        raise HttpError(403, "The passphrase is wrong.")
    alert = body.dict()
    fields = {name: alert[key] for name in SignalFields.names() if (key := ALERT_FIELDS.get(name, name)) in alert}
    signal = SignalFields(**fields)
    try:
        return _intake(signal, execute=body.execute)
    except LedgerError as error:  # name the alert's own field, not the signal's
        raise type(error)(error.message, field=ALERT_FIELDS.get(error.field, error.field)) from None


# --- URLs ----------------------------------------------------------------------------------------


@api.api_operation(["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", auth=None, include_in_schema=False)
def unknown_path(request: HttpRequest, rest: str):
    """Last route: a path the API does not have is a JSON 404, not the site's HTML page."""
    raise Http404(f"The API has no /api/v1/{rest}; see docs/api.md.")


def _checked(view):
    """What ninja does not do for every API URL: a body must be JSON (the webhook's may also be text/plain, as
    TradingView sends it), else 415 before anything is read; a method the path does not take answers 405 in the
    API's error shape (ninja answers plain text)."""

    @functools.wraps(view)  # keeps ninja's csrf_exempt mark
    def wrapper(request: HttpRequest, *args, **kwargs):
        accepted = (JSON, "text/plain") if request.resolver_match.url_name == "tradingview" else (JSON,)
        if int(request.META.get("CONTENT_LENGTH") or 0) and request.content_type not in accepted:
            return _error(
                request,
                415,
                f"The body must be sent as {' or '.join(accepted)}, not {request.content_type or 'without a type'}.",
                "body",
            )
        response = view(request, *args, **kwargs)
        if response.status_code == 405:
            allowed = ", ".join(sorted(response.get("Allow", "").split(", ")))  # ninja's order is a set's
            response = _error(request, 405, f"{request.method} is not allowed here; allowed: {allowed}.")
            response["Allow"] = allowed
        return response

    return wrapper


def _urls() -> tuple[list, str, str]:
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        pattern.callback = _checked(pattern.callback)
    return patterns, app_name, namespace


urls = _urls()  # mounted at api/v1/ by tradingsite/urls.py
