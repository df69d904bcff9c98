"""Consistency (`manage.py check_ledger`, docs/operations.md): every way the tables and the running total
disagree with each other or with the rules."""

import copy
import operator
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import reduce

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Max, Min, Model, Q, QuerySet, Sum

from .. import rules
from ..models import Book, BookDay, Execution, Order, PaperTrade, Signal
from ..rules import ZERO
from ..sql import money_from_db
from .core import trades_active
from .figures import DAY_COLUMNS, NO_FIGURES, day_figures, figures_of

CENT = Decimal("0.01")
CHECK_CHUNK = 2000  # rows per fetch when PnL is recomputed in Python: memory stays flat at any size


@dataclass(frozen=True)
class Violation:
    kind: str
    subject: str  # "signal <signal_id>", "trade #<id>" or "account"
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}: {self.detail}"


def _beyond(model: type[Model], limit: Decimal) -> Q:
    """Rows with a number at or beyond the limit, either way, in any decimal column: found by the database
    itself, without reading the number (SQLite keeps whatever was written, and Django could not read it back)."""
    columns = [field.name for field in model._meta.concrete_fields if isinstance(field, DecimalField)]
    return reduce(operator.or_, (Q(**{f"{name}__gte": limit}) | Q(**{f"{name}__lte": -limit}) for name in columns))


def _out_of_envelope(book: Book) -> tuple[list[Violation], list[int], bool]:
    """Numbers outside the envelope (rules.AMOUNT_MAX for a trade's, rules.TOTAL_MAX for the account's), which
    only a write around the services can leave: reported, and those trades (and whether the account) left out of
    the checks that read them."""
    found = []
    trades = list(
        PaperTrade.objects.filter(_beyond(PaperTrade, rules.AMOUNT_MAX), book=book)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for pk in trades:
        found.append(
            Violation(
                "out-of-range", f"trade #{pk}", f"a number at or beyond {rules.AMOUNT_MAX:.0E}; correct it in SQL."
            )
        )
    account_unreadable = Book.objects.filter(_beyond(Book, rules.TOTAL_MAX), pk=book.pk).exists()
    if account_unreadable:
        found.append(
            Violation(
                "out-of-range",
                "account",
                f"a running total at or beyond {rules.TOTAL_MAX:.0E}; recompute it (SQL below).",
            )
        )
    return found, trades, account_unreadable


def ledger_violations(book: Book) -> list[Violation]:
    """Every way the book's two tables and its running totals disagree with each other or with its rules.

    Links and states are checked by queries; PnL is recomputed row by row with the services' own rule
    (streamed, so a million trades do not load at once). An empty list means the ledger is consistent.
    """
    found, unreadable, account_unreadable = _out_of_envelope(book)
    signals, trades = Signal.objects.filter(book=book), PaperTrade.objects.filter(book=book)
    elsewhere = trades.exclude(signal__book=book).filter(signal__isnull=False)
    for pk, signal_id in elsewhere.values_list("pk", "signal").order_by("pk"):
        found.append(Violation("book-disagrees", f"trade #{pk}", f"its signal {signal_id} is another book's."))
    executed = signals.filter(status=Signal.Status.EXECUTED).exclude(trade__status=PaperTrade.Status.OPEN)
    for signal_id, trade_id in executed.values_list("signal_id", "trade").order_by("pk"):
        what = f"its trade #{trade_id} is closed" if trade_id else "it has no trade"
        found.append(Violation("executed-without-open-trade", f"signal {signal_id}", f"EXECUTED but {what}."))
    closed = signals.filter(status=Signal.Status.CLOSED).exclude(trade__status__in=PaperTrade.CLOSED_STATUSES)
    for signal_id, trade_id in closed.values_list("signal_id", "trade").order_by("pk"):
        what = f"its trade #{trade_id} is OPEN" if trade_id else "it has no trade"
        found.append(Violation("closed-signal-trade-not-closed", f"signal {signal_id}", f"CLOSED but {what}."))
    unlinked = trades.filter(signal__status__in=[Signal.Status.GENERATED, Signal.Status.EXPIRED])
    for pk, status, signal_id, signal_status in unlinked.values_list(
        "pk", "status", "signal", "signal__status"
    ).order_by("pk"):
        found.append(
            Violation("signal-disagrees", f"trade #{pk}", f"{status}, but its signal {signal_id} is {signal_status}.")
        )
    no_exit = trades.filter(status__in=PaperTrade.CLOSED_STATUSES).filter(
        Q(exit_price__isnull=True) | Q(exit_time__isnull=True) | Q(realized_pnl__isnull=True)
    )
    for pk, status in no_exit.values_list("pk", "status").order_by("pk"):
        found.append(
            Violation("closed-without-exit", f"trade #{pk}", f"{status} without exit price, time or realized PnL.")
        )

    rule_fields = [
        "direction",
        "entry_price",
        "position_size",
        "margin",
        "exit_price",
        "exit_quote",
        "fees",
        "realized_pnl",
        "unrealized_pnl",
        "status",
        "current_price",
        "entry_slippage",
        "exited_size",
        "exited_pnl",
        "exited_fees",
        "exited_slippage",
    ]
    closed_trades = trades.filter(
        status__in=PaperTrade.CLOSED_STATUSES, exit_price__isnull=False, realized_pnl__isnull=False
    )
    closed_trades = closed_trades.exclude(pk__in=unreadable)
    for trade in closed_trades.only(*rule_fields).order_by("pk").iterator(chunk_size=CHECK_CHUNK):
        expected = rules.pnl(trade, price=trade.exit_price, fees=trade.fees)
        if abs(trade.realized_pnl - expected) > CENT:
            found.append(
                Violation(
                    "realized-pnl",
                    f"trade #{trade.pk}",
                    f"realized PnL {trade.realized_pnl}, the rules give {expected}.",
                )
            )
    open_cost = ZERO
    active = trades_active().filter(book=book).exclude(pk__in=unreadable).only(*rule_fields).order_by("pk")
    for trade in active.iterator(chunk_size=CHECK_CHUNK):
        open_cost += rules.held(trade)
        valued = copy.copy(trade)
        with rules.under(book.terms):
            rules.revalue(valued)  # what a market exit of its rest at its exit quote would pay and realize
        fees, expected = valued.fees, valued.unrealized_pnl
        if abs(trade.fees - fees) > CENT or abs(trade.unrealized_pnl - expected) > CENT:
            found.append(
                Violation(
                    "unrealized-pnl",
                    f"trade #{trade.pk}",
                    f"at exit quote {trade.exit_quote}: fees {trade.fees} and unrealized PnL "
                    f"{trade.unrealized_pnl}, the rules give {fees} and {expected}.",
                )
            )

    found.extend(execution_violations(book, exclude=unreadable))
    if unreadable or account_unreadable:
        return found  # the running totals and the days' figures cannot be compared with trades that cannot be read
    found.extend(day_violations(book))
    total = money_from_db(
        trades.filter(status__in=PaperTrade.CLOSED_STATUSES).aggregate(total=Sum("realized_pnl"))["total"]
    ) + money_from_db(trades_active().filter(book=book).aggregate(total=Sum("exited_pnl"))["total"])
    kept = Book.objects.get(pk=book.pk)
    if abs(kept.realized_pnl_total - total) > CENT:
        found.append(
            Violation(
                "account-total",
                "account",
                f"running total {kept.realized_pnl_total}, the closed trades and partial exits sum to {total}.",
            )
        )
    if abs(kept.open_cost - open_cost) > CENT:
        found.append(
            Violation(
                "open-cost", "account", f"open cost {kept.open_cost}, the open trades' entry costs sum to {open_cost}."
            )
        )
    reserved = money_from_db(
        Order.objects.filter(book=book, status=Order.Status.WORKING).aggregate(total=Sum("reserved"))["total"]
    )
    if abs(kept.reserved - reserved) > CENT:
        found.append(
            Violation(
                "reserved", "account", f"reserved {kept.reserved}, the working orders' reservations sum to {reserved}."
            )
        )
    return found  # cash below 0, with totals that agree with the trades, is the account's state (account_state)


def day_violations(book: Book) -> list[Violation]:
    """The book's per-day aggregates (models.BookDay) against a recomputation from its closed trades: one grouped
    scan and one read of a row per day. A day missing, extra, or with any count or sum apart is reported."""
    closed = PaperTrade.objects.filter(book=book, exit_time__isnull=False)
    span = closed.aggregate(first=Min("exit_time"), last=Max("exit_time"))
    expected = (
        {row["day"]: figures_of(row) for row in day_figures(closed, (span["first"], span["last"]))}
        if span["first"] is not None
        else {}
    )
    kept = {
        row["day"]: figures_of(row | {alias: row[column] for column, alias in DAY_COLUMNS.items()})
        for row in BookDay.objects.filter(book=book).values("day", *DAY_COLUMNS)
    }
    found = []
    for day in sorted({*expected, *kept}, key=str):
        want, have = expected.get(day, NO_FIGURES), kept.get(day, NO_FIGURES)
        apart = [name for name in NO_FIGURES if not _close(want[name], have[name])]
        if apart:
            name = apart[0]
            found.append(
                Violation(
                    "day-aggregate",
                    f"day {day}",
                    f"{name} {have[name]} kept, the closed trades give {want[name]}"
                    + (f" ({len(apart) - 1} more apart)" if len(apart) > 1 else "")
                    + "; `manage.py check_ledger --recount` writes them again.",
                )
            )
    return found


def _close(want: object, have: object) -> bool:
    """Equal counts; sums equal to the cent (SQLite sums floats in whatever order it reads the rows)."""
    if isinstance(want, Decimal):
        return abs(want - have) <= CENT
    if isinstance(want, timedelta):
        return abs(want - have) <= timedelta(seconds=1)
    return want == have


def _sums(rows: QuerySet) -> dict[int, dict]:
    """Per trade, what its executions of one kind add up to, summed by the database (one grouped query)."""
    return {
        row["trade"]: row
        for row in rows.values("trade").annotate(
            n=Count("id"),
            units=Sum("size"),
            fees=Sum("fee"),
            realized=Sum("pnl"),
            value=Sum(ExpressionWrapper(F("price") * F("size"), output_field=DecimalField())),
            top=Max("price"),
        )
    }


def execution_violations(book: Book, *, exclude: Iterable[int] = ()) -> list[Violation]:
    """Each trade's columns against its executions (ledger/brackets.py): one entry at its entry price and size; its
    exits' sizes adding up to its size once closed (to its partial exits' while open), their PnL to its realized
    PnL (its partial exits' while open), every fee to its fees once closed, and their size-weighted price to its
    exit price. Two grouped queries and the trades' columns, streamed."""
    entries = _sums(Execution.objects.filter(trade__book=book, kind=Execution.Kind.ENTRY))
    exits = _sums(Execution.objects.filter(trade__book=book, kind=Execution.Kind.EXIT))
    found = []
    columns = ["status", "entry_price", "position_size", "exit_price", "realized_pnl", "fees", "exited_size"]
    trades = (
        PaperTrade.objects.filter(book=book)
        .exclude(pk__in=list(exclude))
        .exclude(  # closed-without-exit
            Q(status__in=PaperTrade.CLOSED_STATUSES) & (Q(exit_price__isnull=True) | Q(realized_pnl__isnull=True))
        )
    )
    trades = trades.only(*columns, "exited_pnl").order_by("pk")
    for trade in trades.iterator(chunk_size=CHECK_CHUNK):
        subject, entry = f"trade #{trade.pk}", entries.get(trade.pk)
        if entry is None or entry["n"] != 1:
            found.append(Violation("executions", subject, f"{entry['n'] if entry else 0} entry executions, not 1."))
            continue
        if entry["top"] != trade.entry_price or money_from_db(entry["units"]) != trade.position_size:
            found.append(
                Violation(
                    "executions",
                    subject,
                    f"entry {trade.position_size} at {trade.entry_price}, its entry execution "
                    f"{money_from_db(entry['units'])} at {entry['top']}.",
                )
            )
        done = exits.get(trade.pk, {"units": ZERO, "realized": ZERO, "fees": ZERO, "value": ZERO})
        size, pnl = money_from_db(done["units"]), money_from_db(done["realized"])
        if trade.is_open:
            expected = {"size": (size, trade.exited_size), "PnL": (pnl, trade.exited_pnl)}
        else:
            fees = money_from_db(entry["fees"]) + money_from_db(done["fees"])
            average = money_from_db(done["value"]) / size if size else ZERO
            expected = {
                "size": (size, trade.position_size),
                "PnL": (pnl, trade.realized_pnl),
                "fees": (fees, trade.fees),
                "exit price": (average, trade.exit_price),
            }
        for name, (rows, column) in expected.items():
            if abs(rows - column) > CENT:
                found.append(
                    Violation("executions", subject, f"{name} {rules.plain(column)}, its executions give {rows:.8f}.")
                )
    return found


def account_state(book: Book) -> str | None:
    """The book's state when it needs saying: a deficit (cash below 0) that a gap left. It is not a broken
    ledger when the running totals agree with the trades, which ledger_violations checks."""
    kept = Book.objects.get(pk=book.pk)
    if not kept.deficit:
        return None
    return (
        f"account in deficit: cash {rules.plain(kept.cash)}, balance {rules.plain(kept.balance)}; a gap took a loss "
        "beyond its collateral, and no entry is taken until cash is positive again."
    )
