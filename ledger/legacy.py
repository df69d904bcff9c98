"""Import a trader's history from the old system (docs/legacy-import.md).

The old system kept a SQLite `paper_trades` table and, in its process, the collections live_signals,
archived_signals, trading_journal, active_paper_trades and completed_paper_trades, dumped as JSON. Each
file is read, cleaned by the same rules as the services, merged with what the ledger already holds (the
most advanced state wins) and written in ONE transaction: a bad row stops its file and nothing of that
file is written. Running it again imports nothing: signals match on signal_id, trades on their key.
This module reads and decides; the writes are services (ledger/services/imports.py), which keep the audit
history and bump the ledger's version like every other write.
"""

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import DatabaseError, transaction

from . import rules, services
from .errors import InvalidInput
from .inputs import CONTROL_RE, SignalFields, clean_price, clean_symbol
from .models import Book, PaperTrade, Signal
from .rules import PRICE_MAX, ZERO
from .selectors import CENT  # recorded PnL further than this from the rules is reported, as check_ledger does

EXPIRED_REASON = "Expired in the old system."

# The old values, upper-cased, and what they become (docs/legacy-import.md, "Statuses").
SIGNAL_STATUSES = {status: status for status in Signal.Status.values}
TRADE_STATUSES = {status: status for status in PaperTrade.Status.values} | {"CLOSED": PaperTrade.Status.MANUAL_CLOSE}
ACTIONS = {"BUY": Signal.Action.BUY, "SELL": Signal.Action.SELL, "LONG": Signal.Action.BUY, "SHORT": Signal.Action.SELL}
DIRECTIONS = {
    "LONG": PaperTrade.Direction.LONG,
    "SHORT": PaperTrade.Direction.SHORT,
    "BUY": PaperTrade.Direction.LONG,
    "SELL": PaperTrade.Direction.SHORT,
}
# GENERATED < EXECUTED < EXPIRED/CLOSED; a trade: OPEN < closed. A state never moves down.
SIGNAL_RANK = {Signal.Status.GENERATED: 0, Signal.Status.EXECUTED: 1, Signal.Status.EXPIRED: 2, Signal.Status.CLOSED: 2}
TRADE_KEY_FIELDS = ["symbol", "direction", "entry_price", "position_size", "entry_time"]
EXIT_FIELDS = ["exit_price", "exit_time", "realized_pnl"]


class LegacyFileError(Exception):
    """A file that cannot be imported; nothing of it was written. The message names the file and row."""


# --- Old values to new ones -------------------------------------------------------------------------


def to_decimal(value: Any, *, field: str) -> Decimal | None:
    """An old number as a Decimal, never through float arithmetic: a REAL through its shortest repr
    (0.1 is "0.1", not 0.1000000000000000055...), a JSON number through its own text."""
    if value is None or value == "":
        return None
    if isinstance(value, float):
        digits = repr(value)
    elif isinstance(value, (int, Decimal, str)) and not isinstance(value, bool):
        digits = str(value).strip()
    else:
        raise InvalidInput(f"{field} must be a number, not {value!r}.", field=field)
    try:
        number = Decimal(digits)
    except InvalidOperation:
        raise InvalidInput(f"{field} must be a number, not {value!r}.", field=field) from None
    if not number.is_finite() or abs(number) >= PRICE_MAX:
        limit = f"{PRICE_MAX:,.0f}"
        raise InvalidInput(f"{field} must be a finite number below {limit}, not {value!r}.", field=field)
    return number


def to_money(value: Any, *, field: str) -> Decimal | None:
    number = to_decimal(value, field=field)
    return None if number is None else rules.money(number)


def to_price(value: Any, *, field: str, required: bool = True) -> Decimal | None:
    return clean_price(to_decimal(value, field=field), field=field, required=required)


def to_time(value: Any, *, field: str, required: bool = True) -> datetime | None:
    """An ISO 8601 text as an aware UTC datetime; a time without an offset is taken as UTC."""
    if value is None or value == "":
        if required:
            raise InvalidInput(f"{field} is required.", field=field)
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except (AttributeError, ValueError):
        raise InvalidInput(f"{field} must be an ISO 8601 date and time, not {value!r}.", field=field) from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def to_choice(table: dict[str, str], value: Any, *, field: str) -> str:
    choice = table.get(str(value or "").strip().upper())
    if choice is None:
        raise InvalidInput(f"{field} must be one of {', '.join(table)}, not {value!r}.", field=field)
    return choice


def to_confluences(value: Any) -> list[str]:
    """A JSON list, or the old TEXT column: a JSON list in text, or names separated by commas."""
    if isinstance(value, str):
        raw = value.strip()
        try:
            value = json.loads(raw) if raw.startswith("[") else [item for item in raw.split(",") if item.strip()]
        except ValueError:
            raise InvalidInput(f"confluences is not a JSON list: {raw!r}.", field="confluences") from None
    if value is not None and not isinstance(value, list):
        raise InvalidInput(f"confluences must be a list of texts, not {value!r}.", field="confluences")
    return value or []


def text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def readable(value: Any) -> str:
    """A text without control characters, each replaced by a space: a NUL byte, which the old SQLite kept and
    PostgreSQL cannot store, or a line break in what is shown on one line."""
    return " ".join(CONTROL_RE.sub(" ", text(value)).split())


# --- Reading the files ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """One file to import. kind: "signals", "db" (the paper_trades table), "trades" or "journal"."""

    kind: str
    path: Path

    @property
    def label(self) -> str:
        return f"{self.path.name} (paper_trades)" if self.kind == "db" else f"{self.path.name} ({self.kind})"

    def rows(self) -> list[tuple[str, dict[str, Any]]]:
        """(where, record) per row, in the file's order; `where` names the row for messages."""
        if self.kind == "db":
            return self._table_rows()
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"), parse_float=Decimal)
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise LegacyFileError(f"{self.label}: cannot read it as JSON: {error}.") from None
        if isinstance(data, dict):  # a collection kept as a dict keyed by id
            items = [(key, value) for key, value in data.items()]
        elif isinstance(data, list):
            items = [(None, value) for value in data]
        else:
            raise LegacyFileError(f"{self.label}: the top level must be a JSON list or object of records.")
        rows = []
        for number, (key, record) in enumerate(items, start=1):
            if not isinstance(record, dict):
                raise LegacyFileError(f"{self.label} row {number}: a record must be a JSON object, not {record!r}.")
            if key is not None and self.kind == "signals":
                record = {"signal_id": key} | record
            rows.append((f"{self.label} row {number}", record))
        return rows

    def _table_rows(self) -> list[tuple[str, dict[str, Any]]]:
        try:
            # Read-only, so that a mistyped path fails instead of creating an empty database.
            with sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True) as old:
                old.row_factory = sqlite3.Row
                records = [dict(row) for row in old.execute("SELECT * FROM paper_trades ORDER BY id")]
        except sqlite3.Error as error:
            raise LegacyFileError(f"{self.label}: cannot read the paper_trades table: {error}.") from None
        return [(f"{self.label} row {n} (id {r.get('id')})", r) for n, r in enumerate(records, start=1)]


# Signals first, so that trades find them; then the old table, the trade dumps and the journal. Between
# two closed versions of a trade, the first one imported stays: so the table wins over the dumps.
ORDER = ["signals", "db", "trades", "journal"]


def sources(**paths: list[Path]) -> list[Source]:
    """The files to import, in the order above; within a kind, in the order given."""
    return [Source(kind, Path(path)) for kind in ORDER for path in paths.get(kind, [])]


# --- The report -------------------------------------------------------------------------------------


@dataclass
class FileReport:
    label: str
    read: int = 0
    created: int = 0
    advanced: int = 0
    unchanged: int = 0
    realized_pnl: Decimal = ZERO  # of the trades this file created or closed
    conflicts: list[str] = field(default_factory=list)
    pnl_differences: list[str] = field(default_factory=list)
    error: str | None = None

    def conflict(self, where: str, subject: str, settled: str) -> None:
        self.conflicts.append(f"{where}: {subject}: {settled}.")

    def kept_ledger(self, where: str, subject: str, row: Any, values: dict[str, Any]) -> None:
        """Fields of a record already in the ledger that differ from it: the ledger's stay, as imported first."""
        differences = [name for name, value in values.items() if getattr(row, name) != value]
        if differences:
            ledger = ", ".join(f"{name} {getattr(row, name)}" for name in differences)
            here = ", ".join(f"{name} {values[name]}" for name in differences)
            self.conflict(where, subject, f"{ledger} in the ledger, {here} here: kept the ledger's, imported first")


@dataclass
class ImportReport:
    files: list[FileReport]
    dry_run: bool

    @property
    def failed(self) -> list[FileReport]:
        return [file for file in self.files if file.error]

    def lines(self) -> list[str]:
        """The reconciliation report: counts per source, conflicts and PnL differences with how each was settled."""
        new, added = ("would be new", "would be added") if self.dry_run else ("new", "added")
        lines = ["Dry run: nothing is written." if self.dry_run else "Imported:"]
        for file in self.files:
            if file.error:
                lines.append(f"  {file.label}: FAILED, nothing of it {'would be' if self.dry_run else 'was'} written.")
                continue
            lines.append(
                f"  {file.label}: {file.read} read, {file.created} {new}, {file.advanced} advanced, "
                f"{file.unchanged} already in the ledger, realized pnl {file.realized_pnl:+}"
            )
        conflicts = [line for file in self.files if not file.error for line in file.conflicts]
        lines.append(f"Conflicts: {len(conflicts)}")
        lines += [f"  {line}" for line in conflicts]
        differences = [line for file in self.files if not file.error for line in file.pnl_differences]
        lines.append(f"PnL differing from the rules by more than {CENT}: {len(differences)}")
        lines += [f"  {line}" for line in differences]
        done = [file for file in self.files if not file.error]
        lines.append(
            f"Total: {sum(f.created for f in done)} {new}, {sum(f.advanced for f in done)} advanced, "
            f"realized pnl {sum((f.realized_pnl for f in done), ZERO):+} {added} to the account."
        )
        lines += [f"Error: {file.error}" for file in self.failed]
        return lines


# --- The import -------------------------------------------------------------------------------------


def legacy_import(*, sources: list[Source], dry_run: bool = False, book: Book | None = None) -> ImportReport:
    """Import each file in its own transaction into the book (default: the default book), valued by its rules. A
    dry run does the same work and rolls it all back, so that it reports exactly what a real run would, conflicts
    between its files included."""
    if not dry_run:
        return ImportReport([_import_file(source, book=book) for source in sources], dry_run=False)
    with transaction.atomic():
        report = ImportReport([_import_file(source, book=book) for source in sources], dry_run=True)
        transaction.set_rollback(True)
    return report


def _import_file(source: Source, *, book: Book | None) -> FileReport:
    report = FileReport(source.label)
    importer = _import_signal if source.kind == "signals" else _import_trade
    try:
        rows = source.rows()
        book = book or services.default_book()  # once the file is read: an unreadable file says so first
        with transaction.atomic(), rules.under(book.terms):
            for where, record in rows:
                try:
                    importer(record, where=where, report=report, book=book)
                except (InvalidInput, DatabaseError) as error:
                    raise LegacyFileError(f"{where}: {getattr(error, 'message', error)}") from None
                report.read += 1
    except LegacyFileError as error:
        return FileReport(source.label, error=str(error))
    return report


def _in_book(signal: Signal, book: Book) -> Signal:
    """A signal already in the ledger must be of the book imported into: a signal belongs to one book."""
    if signal.book_id != book.pk:
        raise InvalidInput(
            f"signal {signal.signal_id} is in another book than {book.slug!r}: import it into its own book (--book).",
            field="signal_id",
        )
    return signal


def _import_signal(record: dict[str, Any], *, where: str, report: FileReport, book: Book) -> None:
    fields = SignalFields(
        signal_id=text(record.get("signal_id")),
        symbol=record.get("crypto", record.get("symbol")),
        action=to_choice(ACTIONS, record.get("action"), field="action"),
        entry_price=to_decimal(record.get("entry_price"), field="entry_price"),
        confidence=to_decimal(record.get("confidence"), field="confidence"),
        timestamp=to_time(record.get("timestamp"), field="timestamp"),
        timeframe=text(record.get("timeframe")),
        confluences=to_confluences(record.get("confluences")),
        stop_loss=to_decimal(record.get("stop_loss"), field="stop_loss"),
        take_profit=to_decimal(record.get("take_profit"), field="take_profit"),
    ).clean()
    status = to_choice(SIGNAL_STATUSES, record.get("status"), field="status")
    signal = Signal.objects.select_for_update().filter(signal_id=fields.signal_id).first()
    if signal is None:
        reason = ""
        if status == Signal.Status.EXPIRED:
            given = text(record.get("status_reason"))
            reason = readable(given) or EXPIRED_REASON
            if CONTROL_RE.search(given):
                fixed = f"status_reason held control characters: imported as {reason!r}"
                report.conflict(where, f"signal {fields.signal_id}", fixed)
        services.signal_import(signal=fields, status=status, reason=reason, book=book)
        report.created += 1
        return
    _in_book(signal, book)
    name = f"signal {signal.signal_id}"
    report.kept_ledger(where, name, signal, fields.columns())
    was = signal.status
    if _advance_signal(signal, status):
        report.advanced += 1
        report.conflict(where, name, f"{was} in the ledger, {status} here: set to {status}, the most advanced")
        return
    if status != was:
        report.conflict(where, name, f"{was} in the ledger, {status} here: kept {was}, the most advanced")
    report.unchanged += 1


def _advance_signal(signal: Signal, status: str) -> bool:
    """Move the signal to a more advanced status; a tie or a step back changes nothing."""
    if SIGNAL_RANK[status] <= SIGNAL_RANK[signal.status]:
        return False
    services.signal_advance(
        signal=signal, status=status, reason=EXPIRED_REASON if status == Signal.Status.EXPIRED else ""
    )
    return True


def _follow_trade(signal: Signal | None, trade: PaperTrade, *, where: str, report: FileReport) -> None:
    """The signal of an imported trade is EXECUTED while the trade is open and CLOSED once it closed."""
    if signal is None:
        return
    status = Signal.Status.EXECUTED if trade.is_open else Signal.Status.CLOSED
    was = signal.status
    if was == status:
        return
    name = f"signal {signal.signal_id}"
    if not _advance_signal(signal, status):
        settled = f"kept {was}, the most advanced"
        report.conflict(where, name, f"{was} in the ledger but its trade is {trade.status}: {settled}")
    elif was == Signal.Status.GENERATED:  # EXECUTED -> CLOSED is the ordinary life of a signal, not a conflict
        report.conflict(where, name, f"GENERATED in the ledger but its trade is {trade.status}: set to {status}")


def _parse_trade(record: dict[str, Any], *, book: Book) -> tuple[PaperTrade, Signal | None]:
    """The trade a record describes, of the book, valued by its rules, in memory; a recorded realized PnL is kept."""
    signal_id = text(record.get("signal_id")) or None
    signal = None
    if signal_id:
        signal = Signal.objects.select_for_update().filter(signal_id=signal_id).first()
        if signal is None:
            raise InvalidInput(
                f"signal_id {signal_id!r} names no signal in the ledger: import its signals file in the same run "
                "(or before), or remove signal_id to import it as a trade opened by hand.",
                field="signal_id",
            )
        _in_book(signal, book)
    status = to_choice(TRADE_STATUSES, record.get("status"), field="status")
    entry_price = to_price(record.get("entry_price"), field="entry_price")
    position_size = to_price(record.get("position_size"), field="position_size")
    stop_loss = to_price(record.get("stop_loss"), field="stop_loss", required=False) or (signal and signal.stop_loss)
    take_profit = to_price(record.get("take_profit"), field="take_profit", required=False) or (
        signal and signal.take_profit
    )
    if not stop_loss or not take_profit:
        raise InvalidInput("stop_loss and take_profit are required (from the trade or its signal).", field="stop_loss")
    risk_amount = to_money(record.get("risk_amount"), field="risk_amount")
    if risk_amount is not None and risk_amount < 0:
        raise InvalidInput(f"risk_amount must not be negative, not {risk_amount}.", field="risk_amount")
    trade = PaperTrade(
        book_id=book.pk,
        signal_id=signal_id,
        symbol=clean_symbol(record.get("symbol", record.get("crypto"))),
        direction=to_choice(DIRECTIONS, record.get("direction"), field="direction"),
        entry_price=entry_price,
        position_size=position_size,
        stop_loss=stop_loss,
        take_profit=take_profit,
        entry_time=to_time(record.get("entry_time"), field="entry_time"),
        risk_amount=risk_amount,
        max_price=entry_price,  # all it knows of the trade's high and low: the prices below widen them
        min_price=entry_price,
    )
    if risk_amount is None:  # what the size risks between entry and stop
        trade.risk_amount = rules.money(abs(entry_price - stop_loss) * position_size)
    if status == PaperTrade.Status.OPEN:
        # The old system wrote 0 for "not yet"; anything else is an exit that an OPEN trade cannot have.
        exits = [f"{name} {record[name]}" for name in EXIT_FIELDS if record.get(name) not in (None, "", 0)]
        if exits:
            raise InvalidInput(f"an OPEN trade has no exit, but this one has {', '.join(exits)}.", field="status")
        current_price = to_price(record.get("current_price"), field="current_price", required=False) or entry_price
        rules.widen(trade, current_price)
        rules.mark(trade, current_price)
        return trade, signal
    exit_time = to_time(record.get("exit_time"), field="exit_time")
    if exit_time < trade.entry_time:
        raise InvalidInput(f"exit_time {exit_time} is before entry_time {trade.entry_time}.", field="exit_time")
    exit_price = to_price(record.get("exit_price"), field="exit_price")
    rules.settle(trade, price=exit_price, reason=status, at=exit_time)  # widens the high and low by the exit
    _keep_recorded_pnl(trade, record)
    return trade, signal


def _keep_recorded_pnl(trade: PaperTrade, record: dict[str, Any]) -> None:
    """A closed trade keeps the realized PnL the old system recorded; the rules' value fills a gap."""
    recorded = to_money(record.get("realized_pnl"), field="realized_pnl")
    if recorded is not None:
        trade.realized_pnl = recorded


def _check_pnl(trade: PaperTrade, record: dict[str, Any], *, where: str, report: FileReport) -> None:
    """Report a recorded PnL more than a cent away from the rules. An open trade's unrealized PnL is the
    rules' (it changes with every tick anyway); a closed trade's realized PnL stays as recorded."""
    if trade.is_open:
        name, ruled = "unrealized_pnl", trade.unrealized_pnl
        recorded = to_money(record.get(name), field=name)
        settled = "replaced by the rules' value"
    else:
        name, recorded = "realized_pnl", trade.realized_pnl
        ruled = rules.pnl(trade, price=trade.exit_price, fees=trade.fees)
        settled = "kept as recorded"
    if recorded is not None and abs(recorded - ruled) > CENT:
        report.pnl_differences.append(
            f"{where}: {_describe(trade)}: {name} recorded {recorded}, the rules give {ruled}: {settled}."
        )


def _describe(trade: PaperTrade) -> str:
    if trade.signal_id:
        return f"trade of signal {trade.signal_id}"
    return f"trade {trade.direction} {trade.symbol} entered {trade.entry_time:%Y-%m-%d %H:%M:%S}"


def _existing_trade(trade: PaperTrade) -> PaperTrade | None:
    """The same trade in the ledger: by its signal, or, opened by hand, by its book, symbol, direction and entry
    time."""
    trades = PaperTrade.objects.select_for_update()
    if trade.signal_id:
        return trades.filter(signal_id=trade.signal_id).first()
    return trades.filter(
        signal__isnull=True,
        book_id=trade.book_id,
        symbol=trade.symbol,
        direction=trade.direction,
        entry_time=trade.entry_time,
    ).first()


def _import_trade(record: dict[str, Any], *, where: str, report: FileReport, book: Book) -> None:
    trade, signal = _parse_trade(record, book=book)
    existing = _existing_trade(trade)
    if existing is None:
        _check_pnl(trade, record, where=where, report=report)
        created = to_time(record.get("created_date"), field="created_date", required=False) or trade.entry_time
        services.trade_import(trade=trade, created=created)
        _follow_trade(signal, trade, where=where, report=report)
        report.created += 1
        report.realized_pnl += trade.realized_pnl or ZERO
        return

    name = _describe(existing)
    report.kept_ledger(where, name, existing, {key: getattr(trade, key) for key in TRADE_KEY_FIELDS})
    if existing.is_open and not trade.is_open:
        # Closed here, open in the ledger: close it with this exit, as a close does (guarded by status OPEN,
        # signal CLOSED, running total) in this file's transaction.
        rules.settle(existing, price=trade.exit_price, reason=trade.status, at=trade.exit_time)
        _keep_recorded_pnl(existing, record)
        _check_pnl(existing, record, where=where, report=report)
        _follow_trade(signal, existing, where=where, report=report)
        if not services.save_closes([existing]):
            raise InvalidInput(f"{name} was closed by someone else during the import.")
        report.advanced += 1
        report.realized_pnl += existing.realized_pnl
        here = f"{trade.status} at {trade.exit_price}"
        report.conflict(where, name, f"OPEN in the ledger, {here} here: closed, the most advanced")
        return
    if not existing.is_open and trade.is_open:
        settled = f"kept {existing.status}, a closed trade never reopens"
        report.conflict(where, name, f"{existing.status} in the ledger, OPEN here: {settled}")
    elif not existing.is_open:
        report.kept_ledger(where, name, existing, {key: getattr(trade, key) for key in ["status", *EXIT_FIELDS]})
    report.unchanged += 1
