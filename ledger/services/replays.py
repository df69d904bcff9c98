"""Replays (docs/replay.md): queued with their parameters, claimed by one worker, run on the recorded candles by
the pure engine (ledger/replay.py; what it says, ledger/replay_report.py), cancelled. They write only their own
row in `replays`: never the signals, the trades or the account.

Running a replay is long, so `replay_run` is not one transaction: each of its writes (progress, the result) is one
guarded UPDATE of the replay's row on `status = 'running'`, so a cancel that lands meanwhile wins and is kept."""

import logging
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from .. import replay, replay_report, selectors
from ..errors import InvalidInput, InvalidTransition, LedgerError, NotFound
from ..inputs import check_period, clean_confluences, clean_symbol, clean_tags
from ..models import Book, Replay
from .base import default_book

logger = logging.getLogger(__name__)
Status = Replay.Status


def _day(value: Any, *, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{field} must be a day, YYYY-MM-DD, not {value!r}.", field=field) from None


def _texts(value: Any, *, field: str) -> list[str]:
    """A list, or one text of items separated by commas (a form's field, a command's option)."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [item.strip() for item in value.split(",") if item.strip()]
    if not isinstance(value, list):
        raise InvalidInput(f"{field} must be a list of texts.", field=field)
    return value


def replay_parameters(values: dict[str, Any]) -> dict[str, Any]:
    """A replay's request checked and made plain JSON: its first and last trading day (at most a statistics
    period apart), its filters (symbols, confluences, the trades' tags; refused signals or not) and the rules it
    changes (replay.Overrides). Refused naming the field."""
    known = {"start", "end", "symbols", "confluences", "tags", "include_refused", "rules"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InvalidInput(f"{unknown[0]} is not a replay's parameter.", field=unknown[0])
    for name in ("start", "end"):
        if values.get(name) in (None, ""):
            raise InvalidInput(
                f"{name} is required: the replay's {'first' if name == 'start' else 'last'} day.", field=name
            )
    start, end = _day(values["start"], field="start"), _day(values["end"], field="end")
    check_period(start, end)
    try:
        symbols = sorted({clean_symbol(symbol) for symbol in _texts(values.get("symbols"), field="symbols")})
    except InvalidInput as error:
        raise InvalidInput(error.message, field="symbols") from None
    include_refused = values.get("include_refused", False)
    if not isinstance(include_refused, bool):
        raise InvalidInput("include_refused must be true or false.", field="include_refused")
    rules = values.get("rules") or {}
    if not isinstance(rules, dict):
        raise InvalidInput("rules must be an object of the rules changed.", field="rules")
    try:
        overrides = replay.Overrides.from_values(rules)
    except InvalidInput as error:
        raise InvalidInput(error.message, field=f"rules.{error.field}") from None
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "symbols": symbols,
        "confluences": clean_confluences(_texts(values.get("confluences"), field="confluences")),
        "tags": clean_tags(_texts(values.get("tags"), field="tags")),
        "include_refused": include_refused,
        "rules": overrides.as_json(),
    }


def _selection(parameters: dict[str, Any], *, book_id: int) -> selectors.Selection:
    return selectors.Selection(
        book_id=book_id,
        start=date.fromisoformat(parameters["start"]),
        end=date.fromisoformat(parameters["end"]),
        symbols=tuple(parameters["symbols"]),
        confluences=tuple(parameters["confluences"]),
        tags=tuple(parameters["tags"]),
        include_refused=parameters["include_refused"],
    )


@transaction.atomic
def replay_queue(*, parameters: dict[str, Any], by: Any = None, book: Book | None = None) -> Replay:
    """A replay of the book's signals (default: the default book's) waiting for the worker, its parameters checked
    (replay_parameters)."""
    return Replay.objects.create(book=book or default_book(), parameters=replay_parameters(parameters), created_by=by)


@transaction.atomic
def replay_claim(*, replay_id: int | None = None) -> Replay | None:
    """The oldest queued replay (or the one named), taken for running by one guarded UPDATE: of two workers
    that race for it, one gets it and the other the next one, or None."""
    queued = Replay.objects.filter(status=Status.QUEUED).order_by("id")
    if replay_id is not None:
        queued = queued.filter(pk=replay_id)
    for candidate in queued.values_list("pk", flat=True)[:20]:
        if Replay.objects.filter(pk=candidate, status=Status.QUEUED).update(
            status=Status.RUNNING, started_at=timezone.now()
        ):
            return Replay.objects.get(pk=candidate)
    return None


@transaction.atomic
def replay_cancel(*, replay_id: int) -> Replay:
    """A queued or running replay stops: a running one at its next progress report. A finished one is refused."""
    row = selectors.replay_get(replay_id)
    if not Replay.objects.filter(pk=replay_id, status__in=[Status.QUEUED, Status.RUNNING]).update(
        status=Status.CANCELLED, finished_at=timezone.now()
    ):
        row.refresh_from_db()
        raise InvalidTransition(
            f"Replay #{replay_id} is {row.get_status_display().lower()}; only a waiting or running replay can be "
            "cancelled.",
            field="replay_id",
        )
    row.refresh_from_db()
    return row


class _Cancelled(Exception):
    pass


def _finish(replay_id: int, **columns: Any) -> None:
    """The last write of a run, guarded: a replay cancelled meanwhile stays cancelled."""
    Replay.objects.filter(pk=replay_id, status=Status.RUNNING).update(finished_at=timezone.now(), **columns)


def replay_run(*, replay_id: int, now: datetime | None = None) -> Replay:
    """Run a claimed replay to its end: the selected signals on the candles of their symbols, by the rules with
    its overrides, from its book's starting balance; its progress (percent of the period) written as it goes; then its
    summary (the replay's figures and band, and the ledger's own figures for the same signals) and its result
    (trades, refusals, and every difference from the ledger's trades with its cause). Stops at a cancel."""
    row = Replay.objects.filter(pk=replay_id).first()
    if row is None:
        raise NotFound(f"No replay with id {replay_id}.", field="replay_id")
    if row.status != Status.RUNNING:
        raise InvalidTransition(f"Replay #{replay_id} is {row.status}; claim it first.", field="replay_id")
    selection = _selection(row.parameters, book_id=row.book_id)
    overrides = replay.Overrides.from_values(row.parameters["rules"])
    start, end = selection.span
    terms = row.book.terms
    starting_balance = terms.starting_balance

    def progress(minute: datetime) -> None:
        percent = min(max(int((minute - start) * 100 / (end - start)), 0), 99)
        if not Replay.objects.filter(pk=replay_id, status=Status.RUNNING).update(progress=percent):
            raise _Cancelled

    symbols = selectors.replay_symbols(selection)
    try:
        result = replay.run(
            signals=selectors.replay_signals(selection),
            candles=selectors.replay_candles(symbols, start, end),
            overrides=overrides,
            starting_balance=starting_balance,
            terms=terms,
            lots=selectors.replay_lots(symbols),
            now=now or timezone.now(),
            progress=progress,
        )
        live = selectors.replay_live(selection)
    except _Cancelled:
        return Replay.objects.get(pk=replay_id)
    except LedgerError as error:
        _finish(replay_id, status=Status.FAILED, error=error.message)
        return Replay.objects.get(pk=replay_id)
    except Exception as error:  # the worker goes on with the next replay; the trader reads why this one stopped
        logger.exception("replay #%s failed", replay_id)
        _finish(replay_id, status=Status.FAILED, error=f"The replay stopped on an error: {error}")
        return Replay.objects.get(pk=replay_id)
    closed = [
        replay_report.Closed(t.signal_id, t.exit_time, t.pnl, t.risk) for t in live if t.exit_reason != replay.OPEN
    ]
    _finish(
        replay_id,
        status=Status.DONE,
        progress=100,
        summary={
            "replay": replay_report.summary(result, starting_balance=starting_balance, since=start),
            "actual": replay_report.figures(closed, starting_balance=starting_balance, since=start),
            "starting_balance": str(starting_balance),
        },
        result={
            "trades": [trade.as_json() for trade in result.trades],
            "refused": [refusal.as_json() for refusal in result.refused],
            "differences": replay_report.differences(result, live, own_rules=not row.parameters["rules"]),
        },
    )
    return Replay.objects.get(pk=replay_id)
