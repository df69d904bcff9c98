"""What a notification says: one short title and a sentence or two, in the trader's words, for each kind the
trader can choose (PAPER_NOTIFY_KINDS):

- fills: a trade opened (its side, size, fill, stop, target and risk);
- exits: a trade closed at its stop, its target, the end of the day or by hand (the exit, the reason, the PnL);
- liquidations: a SHORT closed by liquidation;
- refusals: a signal the market or the account refused to execute (the reason);
- feed: the price feed stalled (no price for PRICE_FEED_DEGRADED_LAG seconds);
- digest: the end of a trading day (its closes, wins, realized PnL, the balance and what stays open).

The formatters are pure (values in, text out); `message_for` reads what an event names and calls them.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from .. import selectors
from ..models import Book, Event, PaperTrade
from ..templatetags.ledger_format import money, price, r_multiple, signed


@dataclass(frozen=True)
class Message:
    kind: str  # one of settings.NOTIFY_KINDS
    title: str
    body: str


def fill(trade: PaperTrade) -> Message:
    verb = "bought" if trade.direction == PaperTrade.Direction.LONG else "sold short"
    return Message(
        "fills",
        f"Filled: {trade.direction} {trade.symbol}",
        f"Trade {trade.pk}: {verb} {price(trade.position_size)} {trade.symbol} at {price(trade.entry_price)}. "
        f"Stop {price(trade.stop_loss)}, target {price(trade.take_profit)}, risk {money(trade.risk_amount)}.",
    )


def exit_(trade: PaperTrade) -> Message:
    reason = trade.get_status_display()
    outcome = f"{signed(trade.realized_pnl)} ({r_multiple(trade.r_multiple)})"
    if trade.status == PaperTrade.Status.LIQUIDATION:
        return Message(
            "liquidations",
            f"Liquidated: {trade.direction} {trade.symbol} {signed(trade.realized_pnl)}",
            f"Trade {trade.pk} was liquidated at {price(trade.exit_price)}: {outcome}.",
        )
    return Message(
        "exits",
        f"{reason}: {trade.direction} {trade.symbol} {signed(trade.realized_pnl)}",
        f"Trade {trade.pk} closed at {price(trade.exit_price)} ({reason.lower()}): {outcome}.",
    )


def refusal(*, signal_id: str, action: str, symbol: str, reason: str) -> Message:
    return Message("refusals", f"Signal refused: {action} {symbol}", f"Signal {signal_id}: {reason}")


def feed_stalled(*, lag_seconds: int, last_at: datetime) -> Message:
    return Message(
        "feed",
        "Price feed stalled",
        f"No price has arrived for {lag_seconds} s (the last at {last_at:%H:%M:%S} UTC): stops and targets "
        "cannot fire until prices come back.",
    )


def digest(*, day: date, closes: int, wins: int, realized: Decimal, balance: Decimal, still_open: int) -> Message:
    open_words = f"{still_open} trade{'s' if still_open != 1 else ''} still open" if still_open else "nothing open"
    return Message(
        "digest",
        f"Day {day:%Y-%m-%d}: {signed(realized)}",
        f"{closes} trade{'s' if closes != 1 else ''} closed, {wins} won; realized {signed(realized)}. "
        f"Balance {money(balance)}; {open_words}.",
    )


def message_for(event: Event) -> Message | None:
    """The message of an outbox event, read from the rows it names; None for an event no notification is about."""
    match event.kind:
        case Event.Kind.TRADE_OPENED:
            return fill(selectors.trade(event.trade_id))
        case Event.Kind.TRADE_CLOSED:
            return exit_(selectors.trade(event.trade_id))
        case Event.Kind.SIGNAL_REFUSED:
            signal = selectors.signal(event.signal_id)
            return refusal(
                signal_id=signal.signal_id, action=signal.action, symbol=signal.symbol, reason=signal.status_reason
            )
        case Event.Kind.FEED_STALLED:
            return feed_stalled(
                lag_seconds=event.payload["lag_seconds"], last_at=datetime.fromisoformat(event.payload["last_at"])
            )
        case Event.Kind.DAY_CLOSED:
            day = date.fromisoformat(event.payload["day"])
            end = selectors.day_end(Book.objects.get(pk=event.book_id), day)
            return digest(
                day=day,
                closes=end.day.trades,
                wins=end.day.wins,
                realized=end.day.realized_pnl,
                balance=end.balance,
                still_open=len(end.open_trades),
            )
    return None
