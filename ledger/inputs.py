"""What the ledger accepts as input, described once: limits, patterns, and the cleaning of each value.

Every way in (the API, the TradingView webhook, the dashboard, the admin, the legacy import) hands its
values to the services, which clean them here before they write anything; the API's schemas take their
limits from here so the OpenAPI document says the same. A refusal is an InvalidInput naming the field.
"""

import dataclasses
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils import timezone

from .errors import InvalidInput
from .rules import BUY, PRICE_MAX, PRICE_MIN, SELL, ZERO, check_levels, direction_for, levels, money, plain, units

# Patterns are written once, without anchors, so that Python (fullmatch) and the OpenAPI document (^...$) say the same.
SYMBOL_TEXT = r"[A-Z0-9]{1,12}([/:_.-]?[A-Z0-9]{1,12})?"
SYMBOL_LENGTH_MAX = 20  # the symbol columns' width (models.py): the schema and the tables hold the same symbols
TIMEFRAME_TEXT = r"[0-9A-Za-z]{1,8}"
SIGNAL_ID_TEXT = r"[A-Za-z0-9_.:@-]{1,64}"  # ASCII and URL-safe: it appears in paths
DECIMAL_TEXT = r"[0-9]+(\.[0-9]+)?"  # a decimal written as a string: ASCII digits, an optional fraction, nothing else
CONTROL_TEXT = r"[\x00-\x1f\x7f]"  # control characters, NUL included: refused in every text
# A trading day from 1970 to 2199, and a time in ISO 8601 on such a day with a UTC offset within ±14:00 (the
# widest any zone uses; PostgreSQL refuses offsets past ±15:59, which SQLite would keep).
DAY_TEXT = r"(19[7-9][0-9]|2[01][0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
MOMENT_TEXT = (
    DAY_TEXT + r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9]|[+-]14:00)"
)
SYMBOL_RE, TIMEFRAME_RE, SIGNAL_ID_RE = re.compile(SYMBOL_TEXT), re.compile(TIMEFRAME_TEXT), re.compile(SIGNAL_ID_TEXT)
DECIMAL_RE, CONTROL_RE, DAY_RE, MOMENT_RE = (
    re.compile(DECIMAL_TEXT),
    re.compile(CONTROL_TEXT),
    re.compile(DAY_TEXT),
    re.compile(MOMENT_TEXT),
)
OFFSET_MAX = timedelta(hours=14)
NOTES_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # in notes: control characters but tab and line feed
CONFLUENCES_MAX = 20
CONFLUENCE_LENGTH_MAX = 100
REASON_LENGTH_MAX = 200  # an expiry reason, as signals.status_reason holds
TICKS_MAX = 1000  # ticks in one batch
RANGE_DAYS_MAX = 366  # days in one API range of daily PnL
PERIOD_DAYS_MAX = 3660  # days in one statistics period: its daily series is drawn day by day
EARLIEST_DAY, LATEST_DAY = date(1970, 1, 1), date(2199, 12, 31)
ID_MAX = 2**63 - 1  # the largest id a BigAutoField holds
NOTES_LENGTH_MAX = 20_000  # a trade's notes or a day's diary: pages of text, not a book
TAGS_MAX = 20  # tags on one trade
TAG_LENGTH_MAX = 40
# Entry orders (docs/fills.md, "Entry orders"): their types besides `market`, and how long one works.
MARKET, LIMIT, STOP = "market", "limit", "stop"
ORDER_TYPES = (MARKET, LIMIT, STOP)
DAY, GTC = "day", "gtc"  # expires_in: to the end of the trading day, or until cancelled
EXPIRES_IN_MAX = 366 * 86_400  # seconds: a year and a day
# What an operator may correct on a recorded trade; the PnL fields follow from these by the rules.
CORRECTABLE = ("entry_price", "position_size", "stop_loss", "take_profit", "exit_price", "exit_time", "fees", "status")


def decimal(value: Any, *, field: str) -> Decimal:
    """A finite Decimal read from its text. Floats (and bools) are refused: they cannot hold prices exactly; a
    string must be ASCII digits with an optional fraction ("1_000", " 100 " and other scripts' digits are not)."""
    if isinstance(value, (float, bool)) or value is None:
        raise InvalidInput(
            f"{field} must be a decimal number given as a string or Decimal, not {value!r}.", field=field
        )
    if isinstance(value, str) and not DECIMAL_RE.fullmatch(value):
        raise InvalidInput(
            f"{field} must be written as digits with an optional fraction, such as 97250.5, not {value!r}.", field=field
        )
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"{field} must be a decimal number, not {value!r}.", field=field) from None
    if not number.is_finite():
        raise InvalidInput(f"{field} must be a finite number, not {value}.", field=field)
    return number


def clean_price(value: Any, *, field: str, required: bool = True) -> Decimal | None:
    """A price or size from PRICE_MIN (0.00000001) to below PRICE_MAX, rounded to 8 places and 15 digits (down,
    at the very top, so that no value below the bound rounds up onto it)."""
    if value is None or value == "":
        if required:
            raise InvalidInput(f"{field} is required.", field=field)
        return None
    price = decimal(value, field=field)
    if not PRICE_MIN <= price < PRICE_MAX:
        raise InvalidInput(f"{field} must be from {PRICE_MIN:f} to below {PRICE_MAX:,.0f}, not {value}.", field=field)
    rounded = money(price)
    return rounded if rounded < PRICE_MAX else units(price)


def clean_fees(value: Any) -> Decimal:
    """Fees paid, corrected by hand: a Decimal of 0 or more (zero is allowed, unlike a price)."""
    fees = decimal(value, field="fees")
    if not ZERO <= fees < PRICE_MAX:
        raise InvalidInput(f"fees must be a decimal number of 0 or more, not {value!r}.", field="fees")
    return money(fees)


def clean_symbol(value: Any) -> str:
    symbol = str(value or "").strip().upper()
    if len(symbol) > SYMBOL_LENGTH_MAX or not SYMBOL_RE.fullmatch(symbol):
        raise InvalidInput(
            f"symbol {value!r} is not a market symbol such as BTCUSDT or BTC/USDT (letters and digits, "
            f"{SYMBOL_LENGTH_MAX} at most).",
            field="symbol",
        )
    return symbol


def clean_time(value: datetime | None, *, field: str) -> datetime:
    """An aware datetime on a day from 1970 to 2199, with a UTC offset within ±14:00; None is now."""
    if value is None:
        return timezone.now()
    if not isinstance(value, datetime) or timezone.is_naive(value):
        raise InvalidInput(f"{field} must be a date and time with a time zone, not {value!r}.", field=field)
    if abs(value.utcoffset()) > OFFSET_MAX:
        raise InvalidInput(f"{field} has the UTC offset {value:%z}; offsets go from -14:00 to +14:00.", field=field)
    if not EARLIEST_DAY <= value.date() <= LATEST_DAY:
        raise InvalidInput(
            f"{field} must fall from {EARLIEST_DAY} to {LATEST_DAY}, not on {value.date()}.", field=field
        )
    return value


def not_ahead(moment: datetime, *, field: str) -> datetime:
    """A time a sender stamped (a signal's, a tick's) that is not later than now by more than MAX_CLOCK_SKEW:
    a tick from the future would close trades at a time no day's journal shows, and a signal would belong to
    a day that has not begun."""
    skew = settings.MAX_CLOCK_SKEW
    if moment > timezone.now() + skew:
        raise InvalidInput(
            f"{field} {moment.isoformat()} is in the future (more than {skew.total_seconds():g} s ahead of the "
            "ledger's clock, MAX_CLOCK_SKEW); check the sender's clock.",
            field=field,
        )
    return moment


def check_period(start: date, end: date, *, field: str = "end") -> None:
    """A statistics period, both days included: its last day on or after its first, and at most PERIOD_DAYS_MAX
    days (its daily series is drawn day by day). The page and the API hold a period to this one bound."""
    if end < start:
        raise InvalidInput("The last day must be on or after the first.", field=field)
    if (end - start).days >= PERIOD_DAYS_MAX:
        raise InvalidInput(f"A period is at most {PERIOD_DAYS_MAX} days.", field=field)


def clean_confidence(value: Any) -> Decimal:
    confidence = decimal(value, field="confidence")
    if not 0 <= confidence <= 1:
        raise InvalidInput(f"confidence must be from 0 to 1, not {value}.", field="confidence")
    return confidence.quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)


def clean_confluences(value: Iterable[str] | None) -> list[str]:
    items = list(value or [])
    if len(items) > CONFLUENCES_MAX or not all(
        isinstance(item, str) and 0 < len(item.strip(" ")) <= CONFLUENCE_LENGTH_MAX and not CONTROL_RE.search(item)
        for item in items
    ):
        raise InvalidInput(
            f"confluences must be a list of at most {CONFLUENCES_MAX} texts of 1 to {CONFLUENCE_LENGTH_MAX} "
            "characters, without control characters.",
            field="confluences",
        )
    return unique_confluences(items)


def unique_confluences(items: Iterable[str]) -> list[str]:
    """A signal's confluences are a set: each trimmed name once, in the order first seen, so the statistics count
    a trade once per confluence without searching for repeats."""
    return list(dict.fromkeys(item.strip(" ") for item in items))


def clean_notes(value: Any, *, field: str = "notes") -> str:
    """Plain text of several paragraphs: line breaks kept (as \\n), other control characters refused, the
    ends trimmed."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text, not {value!r}.", field=field)
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > NOTES_LENGTH_MAX:
        raise InvalidInput(f"{field} is {len(text):,} characters long; at most {NOTES_LENGTH_MAX:,}.", field=field)
    if NOTES_CONTROL_RE.search(text):
        raise InvalidInput(f"{field} holds a control character; write plain text.", field=field)
    return text


def _invisible(text: str) -> bool:
    """Whether text holds a character that is not shown as itself: a control or format character (a zero-width
    space, a right-to-left override), a surrogate, a private or unassigned code point. A tag holding one can
    read as another tag."""
    return any(unicodedata.category(character).startswith("C") for character in text)


def clean_tags(value: Iterable[Any] | None) -> list[str]:
    """Short labels the trader invents (`A+ setup`, `FOMO`): in Unicode's composed form (NFC: an é typed two
    ways is one tag), inner spaces collapsed, no commas (a form writes tags separated by commas) and no control
    or invisible characters, each once whatever its case (the first spelling is kept), in the order given."""
    if isinstance(value, str) or value is None:
        raise InvalidInput("tags must be a list of texts.", field="tags")
    tags: list[str] = []
    seen: set[str] = set()  # each tag's casefold: a list of any length is read once
    for number, item in enumerate(value):
        tag = " ".join(unicodedata.normalize("NFC", item).split()) if isinstance(item, str) else None
        if not tag or len(tag) > TAG_LENGTH_MAX or "," in tag or _invisible(tag):
            raise InvalidInput(
                f"tags[{number}] {item!r} must be 1 to {TAG_LENGTH_MAX} characters, "
                "without commas, control or invisible characters (such as a zero-width space or a "
                "right-to-left override).",
                field=f"tags[{number}]",
            )
        if tag.casefold() not in seen:
            seen.add(tag.casefold())
            tags.append(tag)
    if len(tags) > TAGS_MAX:
        raise InvalidInput(f"A trade has at most {TAGS_MAX} tags, not {len(tags)}.", field="tags")
    return tags


def clean_signal_id(value: Any) -> str:
    if not isinstance(value, str) or not SIGNAL_ID_RE.fullmatch(value):
        raise InvalidInput(
            "signal_id must be 1 to 64 ASCII letters, digits or . _ - : @ characters.", field="signal_id"
        )
    return value


@dataclass(frozen=True)
class SignalFields:
    """A signal as a sender describes it: the one list of its fields that every way in fills in.

    `clean()` returns the same signal with every value checked and normalised (upper-case symbol and action,
    Decimals to their places, `now` when no time was given), or refuses it naming the field.
    """

    signal_id: str
    symbol: str
    action: str
    entry_price: Any
    confidence: Any
    timestamp: datetime | None = None
    timeframe: str = ""
    confluences: Iterable[str] | None = None
    stop_loss: Any = None
    take_profit: Any = None
    targets: list[dict] | None = None  # [{"price", "fraction"}, ...]: a bracket (ledger/brackets.py)
    break_even_after: Any = None
    trailing_stop: dict | None = None  # {"distance"} or {"percent"}, optionally "activation_price"

    BRACKET = ("targets", "break_even_after", "trailing_stop")

    @classmethod
    def names(cls) -> list[str]:
        return [field.name for field in fields(cls)]

    def clean(self, *, now: datetime | None = None) -> "SignalFields":
        action = str(self.action or "").strip().upper()
        if action not in (BUY, SELL):
            raise InvalidInput(f"action must be BUY or SELL, not {self.action!r}.", field="action")
        timeframe = str(self.timeframe or "").strip()
        if timeframe and not TIMEFRAME_RE.fullmatch(timeframe):
            raise InvalidInput(
                f"timeframe {timeframe!r} must be up to 8 letters or digits, such as 15m or 4h.", field="timeframe"
            )
        cleaned = replace(
            self,
            signal_id=clean_signal_id(self.signal_id),
            symbol=clean_symbol(self.symbol),
            action=action,
            entry_price=clean_price(self.entry_price, field="entry_price"),
            confidence=clean_confidence(self.confidence),
            timestamp=not_ahead(clean_time(self.timestamp or now, field="timestamp"), field="timestamp"),
            timeframe=timeframe,
            confluences=clean_confluences(self.confluences),
            stop_loss=clean_price(self.stop_loss, field="stop_loss", required=False),
            take_profit=clean_price(self.take_profit, field="take_profit", required=False),
        )
        direction = direction_for(action)
        cleaned = replace(cleaned, **clean_bracket(cleaned, direction=direction))
        check_levels(direction, entry=cleaned.entry_price, stop=cleaned.stop_loss, target=cleaned.take_profit)
        levels(
            direction, fill=cleaned.entry_price, stop=cleaned.stop_loss, target=cleaned.take_profit
        )  # defaults in range
        return cleaned

    def columns(self) -> dict[str, Any]:
        """The values as the signals table's columns take them: the bracket's in one JSON column."""
        bracket = {name: getattr(self, name) for name in self.BRACKET if getattr(self, name) is not None}
        return {name: getattr(self, name) for name in self.names() if name not in self.BRACKET} | {"bracket": bracket}


TARGETS_MAX = 10  # take-profits in one bracket


def _fraction(value: Any, *, field: str) -> Decimal:
    fraction = decimal(value, field=field)
    if not ZERO < fraction <= 1:
        raise InvalidInput(
            f"{field} must be above 0 and at most 1 (a share of the position), not {value}.", field=field
        )
    return fraction


def _clean_targets(signal: "SignalFields", *, direction: str) -> tuple[list[dict] | None, Decimal | None]:
    """The targets in order away from the entry, each a price beyond it and a fraction, the fractions adding up
    to 1; and the first one's price, the signal's take_profit. One target closing everything is a take_profit."""
    if signal.targets is None:
        return None, signal.take_profit
    if signal.take_profit is not None:
        raise InvalidInput("Send take_profit for one target or targets for several, not both.", field="take_profit")
    if not isinstance(signal.targets, (list, tuple)) or not 1 <= len(signal.targets) <= TARGETS_MAX:
        raise InvalidInput(f"targets must be a list of 1 to {TARGETS_MAX} {{price, fraction}}.", field="targets")
    side, cleaned = (1 if direction == "LONG" else -1), []
    for number, target in enumerate(signal.targets):
        if not isinstance(target, dict) or set(target) != {"price", "fraction"}:
            raise InvalidInput(f"targets[{number}] must have a price and a fraction.", field=f"targets[{number}]")
        price = clean_price(target["price"], field=f"targets[{number}].price")
        fraction = _fraction(target["fraction"], field=f"targets[{number}].fraction")
        try:
            check_levels(direction, entry=signal.entry_price, stop=None, target=price)
        except InvalidInput as wrong:
            raise InvalidInput(wrong.message, field=f"targets[{number}].price") from None
        if cleaned and side * (price - Decimal(cleaned[-1]["price"])) <= 0:
            raise InvalidInput(
                f"targets[{number}].price {plain(price)} must be beyond the target before it "
                f"({cleaned[-1]['price']}): targets go in order away from the entry.",
                field=f"targets[{number}].price",
            )
        cleaned.append({"price": plain(price), "fraction": plain(fraction)})
    total = sum((Decimal(target["fraction"]) for target in cleaned), ZERO)
    if total != 1:
        raise InvalidInput(f"The targets' fractions add up to {plain(total)}; they must add up to 1.", field="targets")
    first = Decimal(cleaned[0]["price"])
    return (cleaned if len(cleaned) > 1 else None), first


def _clean_trailing(value: Any, *, direction: str, entry: Decimal) -> dict | None:
    if value is None:
        return None
    given = {name for name, item in value.items() if item is not None} if isinstance(value, dict) else set()
    ways = given & {"distance", "percent"}
    if len(ways) != 1 or given - {"distance", "percent", "activation_price"}:
        raise InvalidInput(
            "trailing_stop must have a distance (in price) or a percent, not both, and may have an activation_price.",
            field="trailing_stop",
        )
    (way,) = ways
    amount = clean_price(value[way], field=f"trailing_stop.{way}")
    if way == "percent" and amount >= 100:
        raise InvalidInput(
            f"trailing_stop.percent must be below 100, not {plain(amount)}.", field="trailing_stop.percent"
        )
    trailing = {way: plain(amount)}
    if value.get("activation_price") is not None:
        activation = clean_price(value["activation_price"], field="trailing_stop.activation_price")
        try:
            check_levels(direction, entry=entry, stop=None, target=activation)
        except InvalidInput:
            raise InvalidInput(
                f"trailing_stop.activation_price {plain(activation)} must be on the profit side of the entry price "
                f"{plain(entry)} for a {direction}.",
                field="trailing_stop.activation_price",
            ) from None
        trailing["activation_price"] = plain(activation)
    return trailing


def clean_bracket(signal: "SignalFields", *, direction: str) -> dict[str, Any]:
    """A signal's bracket (ledger/brackets.py), refused naming the field: targets, break_even_after (the number of
    a target that is not the last) and trailing_stop; with take_profit the first target's price."""
    targets, take_profit = _clean_targets(signal, direction=direction)
    after = signal.break_even_after
    if after is not None:
        count = len(targets or [None])
        if isinstance(after, bool) or not isinstance(after, int) or not 1 <= after < count:
            raise InvalidInput(
                f"break_even_after must be the number of a target before the last (1 to {count - 1})."
                if count > 1
                else "break_even_after needs two targets or more: the stop moves after a target that leaves a rest.",
                field="break_even_after",
            )
    trailing = _clean_trailing(signal.trailing_stop, direction=direction, entry=signal.entry_price)
    return {"targets": targets, "take_profit": take_profit, "break_even_after": after, "trailing_stop": trailing}


@dataclass(frozen=True)
class OrderFields:
    """How a signal's entry is to be made: `order_type` market (at once, the default), limit or stop at the
    signal's entry_price; `expires_in` for a limit or stop: a number of seconds, "day" (the default: to the end of
    the trading day) or "gtc" (until cancelled)."""

    order_type: str = MARKET
    expires_in: Any = None

    def clean(self) -> "OrderFields":
        order_type = str(self.order_type or MARKET).strip().lower()
        if order_type not in ORDER_TYPES:
            raise InvalidInput(
                f"order_type must be market, limit or stop, not {self.order_type!r}.", field="order_type"
            )
        if order_type == MARKET:
            if self.expires_in is not None:
                raise InvalidInput(
                    "expires_in is for a limit or stop order; a market order fills at once.", field="expires_in"
                )
            return OrderFields(MARKET)
        return OrderFields(order_type, clean_expires_in(self.expires_in))

    @property
    def working(self) -> bool:
        """Whether the entry is an order that works until the market reaches it."""
        return self.order_type != MARKET


def clean_expires_in(value: Any) -> str | int:
    """A number of seconds from 1 to EXPIRES_IN_MAX (as an integer or its digits), "day" or "gtc"; None is "day"."""
    if value is None:
        return DAY
    if isinstance(value, str) and value.strip().lower() in (DAY, GTC):
        return value.strip().lower()
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= EXPIRES_IN_MAX:
        return value
    raise InvalidInput(
        f'expires_in must be a number of seconds from 1 to {EXPIRES_IN_MAX}, "day" or "gtc", not {value!r}.',
        field="expires_in",
    )


@dataclass(frozen=True)
class Tick:
    """A price seen for a symbol at a moment, with the book's best bid and ask if known (they price fills).
    `number` is its place in the batch it came in (from 0), which a refusal names."""

    symbol: str
    price: Any
    at: datetime | None = None
    bid: Any = None
    ask: Any = None
    number: int | None = dataclasses.field(default=None, compare=False)


@dataclass(frozen=True)
class TickRefused:
    """A tick of a batch that was not applied, and why; the batch's other ticks were."""

    number: int
    symbol: str
    field: str  # ticks[3].bid
    message: str


def _check_quote(price: Decimal, bid: Decimal | None, ask: Decimal | None) -> None:
    """A book that is not crossed (bid not above ask) and whose bid and ask lie within PAPER_QUOTE_BAND of the
    traded price: a quote further away is stale or mistyped, and would fill a stop or an entry at a price the
    market never offered."""
    if bid is not None and ask is not None and bid > ask:
        raise InvalidInput(f"bid {plain(bid)} is above ask {plain(ask)}: a crossed book.", field="bid")
    band = settings.PAPER_QUOTE_BAND
    for name, quote in (("bid", bid), ("ask", ask)):
        if quote is not None and abs(quote - price) > band * price:
            raise InvalidInput(
                f"{name} {plain(quote)} is {abs(quote - price) * 100 / price:.2f}% from the price {plain(price)}, "
                f"further than PAPER_QUOTE_BAND ({plain(band * 100)}%): a stale or mistyped quote.",
                field=name,
            )


@dataclass(frozen=True)
class CleanTick(Tick):
    """A tick as `clean_tick` returns it, its values checked: `clean_ticks` takes it as it is rather than checking
    it again (the price feed cleans each tick as it reads it, then hands its batches to services.prices_apply)."""


def clean_tick(tick: Tick) -> CleanTick:
    """The tick with its values checked, or refused naming the field."""
    bid, ask = clean_price(tick.bid, field="bid", required=False), clean_price(tick.ask, field="ask", required=False)
    price = clean_price(tick.price, field="price")
    _check_quote(price, bid, ask)
    at = not_ahead(clean_time(tick.at, field="time"), field="time")
    return CleanTick(symbol=clean_symbol(tick.symbol), price=price, at=at, bid=bid, ask=ask, number=tick.number)


def refusal(tick: Tick, number: int, error: InvalidInput) -> TickRefused:
    return TickRefused(number, str(tick.symbol), f"ticks[{number}].{error.field}", f"tick {number}: {error.message}")


def clean_ticks(ticks: Iterable[Tick]) -> tuple[list[Tick], list[TickRefused]]:
    """The ticks that pass (numbered by their place in the batch), in time order; and those refused, each
    with its reason: one bad tick never holds back the others. A CleanTick passes as it is."""
    cleaned, refused = [], []
    for number, tick in enumerate(ticks):
        if type(tick) is CleanTick:  # checked once already; its time, not ahead then, is not ahead now
            cleaned.append(CleanTick(tick.symbol, tick.price, tick.at, tick.bid, tick.ask, number))
            continue
        try:
            cleaned.append(clean_tick(replace(tick, number=number)))
        except InvalidInput as error:
            refused.append(refusal(tick, number, error))
    return sorted(cleaned, key=lambda tick: tick.at), refused


@dataclass(frozen=True)
class Candle:
    """A minute of an exchange's price history (its start, open, high, low, close), as price_feed --backfill reads
    it."""

    minute: datetime
    open: Any
    high: Any
    low: Any
    close: Any


def clean_candle(candle: Candle) -> Candle:
    """The candle with Decimal prices and its minute in UTC, or refused: prices must be prices, the low the lowest
    and the high the highest, and the minute a minute's start."""
    prices = {name: clean_price(getattr(candle, name), field=name) for name in ("open", "high", "low", "close")}
    if (
        not prices["low"]
        <= min(prices["open"], prices["close"])
        <= max(prices["open"], prices["close"])
        <= prices["high"]
    ):
        raise InvalidInput(f"low {prices['low']} and high {prices['high']} do not hold open and close.", field="low")
    minute = clean_time(candle.minute, field="minute")
    if minute.second or minute.microsecond:
        raise InvalidInput(f"minute {minute.isoformat()} is not the start of a minute.", field="minute")
    return Candle(minute.astimezone(UTC), **prices)


# --- Books (docs/books.md, "Commands") ------------------------------------------------------------------------

BOOK_SLUG_RE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")  # lower case, digits and single hyphens: it appears in URLs
BOOK_SLUG_LENGTH_MAX = 40  # models.Book.slug
BOOK_NAME_LENGTH_MAX = 100
PASSPHRASE_LENGTH_MIN, PASSPHRASE_LENGTH_MAX = 16, 200  # a webhook passphrase: long enough not to be guessed
# A book's own rules and the bounds its PAPER_* setting has (tradingsite/settings.py): (low, high, low allowed).
BOOK_DECIMAL_RULES = {
    "starting_balance": (Decimal(0), Decimal("1e12"), False),
    "risk_per_trade": (Decimal(0), Decimal(1), False),
    "default_stop_pct": (Decimal(0), Decimal("0.99"), False),
    "reward_risk": (Decimal(0), Decimal(100), False),
    "fee_rate": (Decimal(0), Decimal("0.1"), True),
    "slippage": (Decimal(0), Decimal("0.1"), True),
    "min_notional": (Decimal(0), Decimal("1e9"), True),
}
BOOK_OPEN_TRADES_MAX = 100_000  # max_open_trades, 0 meaning no limit, as PAPER_MAX_OPEN_TRADES
BOOK_LIMIT_FILLS = ("through", "touch")
BOOK_RULES = (*BOOK_DECIMAL_RULES, "max_open_trades", "one_trade_per_symbol", "limit_fill")


def clean_book_slug(value: Any) -> str:
    slug = str(value or "")
    if not (len(slug) <= BOOK_SLUG_LENGTH_MAX and BOOK_SLUG_RE.fullmatch(slug)):
        raise InvalidInput(
            f"slug must be 1 to {BOOK_SLUG_LENGTH_MAX} lower-case letters, digits and single hyphens (such as "
            f"tv-strategy), not {value!r}.",
            field="slug",
        )
    return slug


def clean_book_name(value: Any) -> str:
    name = str(value or "").strip()
    if not 0 < len(name) <= BOOK_NAME_LENGTH_MAX or re.search(CONTROL_TEXT, name):
        raise InvalidInput(
            f"name must be 1 to {BOOK_NAME_LENGTH_MAX} characters without control characters, not {value!r}.",
            field="name",
        )
    return name


def clean_book_rule(name: str, value: Any) -> Any:
    """One of a book's rules (BOOK_RULES), in the bounds of its setting; None leaves it to the setting."""
    if value is None:
        return None
    if name in BOOK_DECIMAL_RULES:
        low, high, low_allowed = BOOK_DECIMAL_RULES[name]
        number = decimal(value, field=name)
        if not ((number >= low if low_allowed else number > low) and number <= high):
            raise InvalidInput(
                f"{name} must be {'at least' if low_allowed else 'above'} {low} and at most {high}, not {value}.",
                field=name,
            )
        if number.as_tuple().exponent < -8:
            raise InvalidInput(f"{name} has at most 8 decimal places, not {value}.", field=name)
        return number
    if name == "max_open_trades":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= BOOK_OPEN_TRADES_MAX:
            raise InvalidInput(
                f"max_open_trades must be a whole number from 0 (no limit) to {BOOK_OPEN_TRADES_MAX}, not {value!r}.",
                field=name,
            )
        return value
    if name == "one_trade_per_symbol":
        if not isinstance(value, bool):
            raise InvalidInput(f"one_trade_per_symbol must be true or false, not {value!r}.", field=name)
        return value
    if name == "limit_fill":
        if value not in BOOK_LIMIT_FILLS:
            raise InvalidInput(f"limit_fill must be one of {', '.join(BOOK_LIMIT_FILLS)}, not {value!r}.", field=name)
        return value
    raise InvalidInput(f"{name!r} is not one of a book's rules: {', '.join(BOOK_RULES)}.", field=name)


def clean_passphrase(value: Any) -> str:
    """A webhook passphrase as TradingView sends it in the alert's body: printable, and long enough."""
    passphrase = str(value or "")
    if not PASSPHRASE_LENGTH_MIN <= len(passphrase) <= PASSPHRASE_LENGTH_MAX or re.search(CONTROL_TEXT, passphrase):
        raise InvalidInput(
            f"the webhook passphrase must be {PASSPHRASE_LENGTH_MIN} to {PASSPHRASE_LENGTH_MAX} characters without "
            "control characters.",
            field="webhook_passphrase",
        )
    return passphrase
