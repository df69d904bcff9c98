"""What the API answers: the rows of the ledger as the OpenAPI document describes them."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from ninja import Field, Schema

from .. import brackets
from .types import Amount


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
    targets: list[dict] | None = Field(description="The take-profits with their fractions; null for one target.")
    break_even_after: int | None
    trailing_stop: dict | None


class TargetOut(Schema):
    price: Amount
    fraction: Amount
    size: Amount = Field(description="The units it closes: its fraction of the size, in the market's lot steps.")


class ExecutionOut(Schema):
    kind: str = Field(description="entry or exit.")
    time: datetime
    price: Amount
    size: Amount
    fee: Amount
    slippage: Amount
    pnl: Amount = Field(description="What an exit realized (its share of the entry fee included); 0 for the entry.")
    reason: str = Field(description="ENTRY, or why it exited: TAKE_PROFIT, STOP_LOSS, LIQUIDATION, EOD_CLOSE, ...")


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
    stop_loss: Amount = Field(description="The stop in force (a trail or break-even may have moved it).")
    take_profit: Amount = Field(description="The next target in force.")
    targets: list[TargetOut] = Field(description="Every take-profit, in order, with the units each closes.")
    targets_filled: int = Field(description="How many targets have filled.")
    break_even_after: int | None = Field(description="The target after which the stop moves to break even.")
    trailing_stop: dict | None = Field(description='{"distance"} or {"percent"}, and "activation_price" if given.')
    exited_size: Amount = Field(description="Units closed by targets' partial exits while the trade is open.")
    margin: Amount = Field(description="The share of the entry notional held as collateral (1 for a LONG).")
    liquidation_price: Amount | None = Field(description="Where a SHORT is liquidated; null for a LONG.")
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
    notes_version: str = Field(
        description="The notes and tags in short: send it back as `version` with an edit (PATCH), and an edit "
        "made on notes or tags that changed since is refused (409) instead of undoing that change."
    )

    @staticmethod
    def resolve_targets(trade) -> list:
        return brackets.targets(trade)

    @staticmethod
    def resolve_break_even_after(trade) -> int | None:
        return trade.bracket.get("break_even_after")

    @staticmethod
    def resolve_trailing_stop(trade) -> dict | None:
        return trade.bracket.get("trailing_stop")

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


class TradeDetailOut(TradeOut):
    """One trade, with every execution that made it (a list of trades leaves them out: one query a trade)."""

    executions: list[ExecutionOut] = Field(description="Its entry and each exit, in time order.")

    @staticmethod
    def resolve_executions(trade) -> list:
        return list(trade.executions.order_by("time", "pk"))


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


class OrderOut(Schema):
    id: int
    signal_id: str
    symbol: str
    order_type: str = Field(description="limit or stop.")
    side: str = Field(description="BUY (opens a LONG) or SELL (opens a SHORT).")
    price: Amount = Field(description="The limit, or the stop's trigger: the signal's entry_price.")
    size: Amount = Field(description="Sized at placement at its price; the fill sizes the trade again.")
    reserved: Amount = Field(description="The cash it holds back while working: its entry cost at its price.")
    status: str = Field(description="WORKING, FILLED, CANCELLED or EXPIRED.")
    reason: str = Field(description="Why it was cancelled or expired.")
    time_in_force: str = Field(description="day, gtc (until cancelled) or gtd (expires_in seconds).")
    expires_at: datetime | None
    created_at: datetime
    filled_at: datetime | None
    cancelled_at: datetime | None = Field(description="When it was cancelled or expired.")
    trade_id: int | None = Field(description="The trade its fill opened.")
    last_price: Amount | None = Field(None, description="In the list of working orders: its symbol's last price.")
    to_fill_pct: Amount | None = Field(
        None, description="In the list of working orders: how far last_price is from its price, in % of it."
    )


class SignalTradeOut(Schema):
    signal: SignalOut
    trade: TradeDetailOut | None
    refused: str | None = Field(
        None, description="Why the market or the account refused to execute it (it is EXPIRED)."
    )
    order: OrderOut | None = Field(None, description="Its entry order, for order_type limit or stop.")


class TickRefusedOut(Schema):
    number: int = Field(description="The tick's place in the batch, from 0.")
    symbol: str
    field: str = Field(description="The value at fault, such as ticks[3].bid.")
    message: str


class TicksOut(Schema):
    marked: list[TradeOut] = Field(description="Open trades the ticks re-valued.")
    closed: list[TradeOut] = Field(description="Trades a tick took through their stop or target.")
    ignored: int = Field(
        description="Ticks older than the last one applied for their symbol: prices only move forward."
    )
    refused: list[TickRefusedOut] = Field(
        description="Ticks not applied, each with its reason (a crossed book, a quote further than PAPER_QUOTE_BAND "
        "from the price, a time ahead of the clock, a price that would value a trade at 1e11 or more); the batch's "
        "other ticks were applied. A batch whose every tick is refused answers 422."
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
    gathered: int = Field(
        description="by_tag and by_confluence show their 50 largest groups; the rest are added up in one row whose "
        "key is 'others' and whose gathered is how many it holds (a trade counts there once for each of its own). "
        "0 in every other row."
    )


class PeriodPnlOut(Schema):
    start: date = Field(
        description="The week's Monday, or the month's first day (the period may cut the first and last)."
    )
    trades: int
    wins: int
    realized_pnl: Amount
    starting_balance: Amount
    return_pct: Amount | None = Field(description="realized_pnl / starting_balance * 100, 2 places.")


class RBucketOut(Schema):
    low: Amount | None = Field(description="R from (included); null: no lower bound.")
    high: Amount | None = Field(description="R to (excluded); null: no upper bound.")
    trades: int


class StatsOut(FiguresOut):
    """The figures are defined in docs/statistics.md."""

    start: date | None
    end: date | None
    starting_balance: Amount
    ending_balance: Amount
    max_drawdown: Amount
    max_drawdown_percent: Amount | None = Field(description="Of the balance at the peak it fell from, 2 places.")
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
    return_pct: Amount | None = Field(description="realized_pnl / starting_balance * 100, 2 places.")
    sharpe: Amount | None = Field(description="Of daily returns: mean / standard deviation * sqrt(365), 4 places.")
    sortino: Amount | None = Field(description="Of daily returns: mean / downside deviation * sqrt(365), 4 places.")


class DayNoteOut(Schema):
    day: date = Field(description="The trading day, in TRADING_DAY_TZ.")
    text: str = Field(description="The diary; empty for a day nobody wrote about (or whose diary was emptied).")
    updated_at: datetime | None = Field(description="When it was last written; null if it never was.")


class EventOut(Schema):
    id: int = Field(description="The event's id: events are numbered in the order their changes committed.")
    kind: str = Field(description="What changed: trade.opened, trade.closed, prices.applied, ... (docs/api.md).")
    trade_id: int | None = Field(description="The trade it is about, if any.")
    signal_id: str | None = Field(description="The signal it is about (the sender's signal_id), if any.")
    payload: dict = Field(description="A few facts about the change; amounts as decimal strings.")
    created_at: datetime

    @staticmethod
    def resolve_signal_id(event) -> str | None:
        return event.signal_id or None


class EventsOut(Schema):
    items: list[EventOut]
    last_id: int = Field(description="The id to ask after next time: the last event's, or `after` if none came.")


class BookOut(Schema):
    slug: str
    name: str
    starting_balance: Amount = Field(description="What it started with (its own, or PAPER_STARTING_BALANCE).")
    balance: Amount = Field(description="The starting balance and the realized PnL of every closed trade.")
    equity: Amount = Field(description="The balance and the open trades' unrealized PnL.")
    cash: Amount = Field(description="The balance less what the open trades hold: what a new trade may spend.")

    @staticmethod
    def resolve_slug(row) -> str:
        return row.book.slug

    @staticmethod
    def resolve_name(row) -> str:
        return row.book.name

    @staticmethod
    def resolve_starting_balance(row) -> Decimal:
        return row.book.terms.starting_balance
