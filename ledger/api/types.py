"""The API's input types: each refuses what the services would refuse, and says so in the OpenAPI document, so a
client (or schemathesis) can tell from the document alone what is accepted. The services check every rule again.

Numbers arrive as JSON numbers or strings and become Decimal exactly as written, never through a float
(DecimalParser); every number in an answer is a string (Amount).
"""

import json
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Schema
from ninja.parser import Parser
from pydantic import AwareDatetime, BeforeValidator, ConfigDict, PlainSerializer, PlainValidator, WithJsonSchema

from ..errors import LedgerError
from ..inputs import (
    CONFLUENCE_LENGTH_MAX,
    CONTROL_TEXT,
    DAY_RE,
    DAY_TEXT,
    DECIMAL_RE,
    DECIMAL_TEXT,
    EXPIRES_IN_MAX,
    ID_MAX,
    MOMENT_RE,
    MOMENT_TEXT,
    REASON_LENGTH_MAX,
    SIGNAL_ID_TEXT,
    SYMBOL_LENGTH_MAX,
    TARGETS_MAX,
    TIMEFRAME_TEXT,
    clean_expires_in,
)
from ..rules import PRICE_MAX, PRICE_MIN


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


def bounded(low: Decimal, high: Decimal) -> Any:
    """A number from `low` to `high` (both included), as a JSON number or a string of digits: a rate or a
    multiple a replay changes (replay.Overrides)."""
    return Annotated[
        Decimal,
        BeforeValidator(_number),
        Field(ge=low, le=high, allow_inf_nan=False),
        _either({"minimum": float(low), "maximum": float(high)}, DECIMAL_TEXT),
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


Fraction = Annotated[
    Decimal,
    BeforeValidator(_number),
    Field(gt=0, le=1, allow_inf_nan=False),
    _either({"exclusiveMinimum": 0, "maximum": 1}, CONFIDENCE_TEXT),
]
Percent = Annotated[Decimal, BeforeValidator(_number), Field(gt=0, lt=100, allow_inf_nan=False)]


TradeId = Annotated[
    int, Field(ge=1, le=ID_MAX), BeforeValidator(_digits)
]  # in this order, the document says the bounds
OrderId = TradeId  # the same bounds: a BigAutoField's ids
OrderType = Annotated[
    Literal["market", "limit", "stop"],
    Field(
        description="market fills at once (the default); limit and stop are orders at entry_price that ticks fill "
        "(docs/fills.md, Entry orders)."
    ),
]


def _expires_in(value: Any) -> int | str | None:
    """inputs.clean_expires_in's answer, the JSON number read as the API reads it (a Decimal) taken if whole; a
    refusal is a ValueError, which names the field alone (a union of types would name each of its members)."""
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        value = int(value)
    if value is None:
        return None
    if isinstance(value, Decimal):
        raise ValueError(f'must be a whole number of seconds, "day" or "gtc", not {value}')
    try:
        return clean_expires_in(value)
    except LedgerError as error:
        raise ValueError(error.message) from None


ExpiresIn = Annotated[
    int | str | None,
    PlainValidator(_expires_in),
    WithJsonSchema(
        {
            "oneOf": [
                {"type": "integer", "minimum": 1, "maximum": EXPIRES_IN_MAX},
                {"type": "string", "enum": ["day", "gtc"]},
                {"type": "null"},
            ],
            "description": 'How long a limit or stop order works: seconds, "day" (the default: to the end of the '
            'trading day) or "gtc" (until cancelled). Not for a market order.',
        }
    ),
]
Count = Annotated[int, BeforeValidator(_digits)]
# Every number in an answer is a string with 8 decimal places, whichever database it came from.
Amount = Annotated[Decimal, PlainSerializer(lambda value: f"{value:.8f}", return_type=str)]


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


class Target(Body):
    price: Price
    fraction: Fraction = Field(description="The share of the position this target closes; the fractions add up to 1.")


class TrailingStop(Body):
    """Exactly one of distance (in price) and percent; the stop follows every price in the trade's favour at
    that distance, from the moment the best price reached activation_price, if one is given."""

    distance: Price | None = None
    percent: Percent | None = None
    activation_price: Price | None = None


BRACKET_HELP = {
    "targets": "Take-profits in order away from the entry, each closing its fraction of the position; instead of "
    "take_profit.",
    "break_even_after": "After this many targets have filled, the stop moves to the entry plus the round-trip fees.",
    "trailing_stop": "A stop that follows the price in the trade's favour only.",
}


Targets = Annotated[list[Target], Field(min_length=1, max_length=TARGETS_MAX)]


def _whole(value: Any) -> int:
    """A whole JSON number from 1 (DecimalParser reads every number as a Decimal): 1, not "1", 1.5, 0 or true."""
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value() and value >= 1:
        return int(value)
    raise ValueError("must be a whole number from 1, such as 1")


TargetNumber = Annotated[int, PlainValidator(_whole), WithJsonSchema({"type": "integer", "minimum": 1})]
