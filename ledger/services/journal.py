"""The trader's journal: a trade's notes and tags, a day's diary, and moving an open trade's stop or target.

Each write keeps history (who, when, before and after, in simple_history's tables) and bumps the ledger's
version like every other write, so the dashboard's parts and the trade page refresh.
"""

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import transaction

from .. import rules, selectors
from ..days import today
from ..errors import AlreadyClosed, InvalidInput, Outdated
from ..inputs import clean_notes, clean_price, clean_tags
from ..models import Book, DayNote, Event, PaperTrade
from ..rules import ZERO, plain
from .base import book_add, book_for_update, default_book, record_history, trade_for_update
from .events import event_record, events_record, trade_event


def _write(trade: PaperTrade, changes: dict[str, Any], *, reason: str, by: Any, via: str) -> PaperTrade:
    """Write the changed columns only (a tick may have marked the trade since it was read on another
    connection), keep the new state in the history (`via` names a writer that is not a person, such as an
    API token, in its reason), bump the version, and record the event: `trade.moved` for a stop or target,
    `journal.changed` for notes and tags."""
    if not changes:
        return trade
    reason = f"{reason} ({via})" if via else reason
    if not PaperTrade.objects.filter(pk=trade.pk, status=trade.status).update(**changes):
        raise AlreadyClosed(f"Trade {trade.pk} was closed a moment ago; nothing was changed.", field="trade_id")
    rows = PaperTrade.objects.filter(pk=trade.pk)
    record_history(rows, reason=reason, by=by)
    book_add(trade.book_id, ZERO)
    written = rows.get()
    moved = {"stop_loss", "take_profit"} & set(changes)
    kind = Event.Kind.TRADE_MOVED if moved else Event.Kind.JOURNAL_CHANGED
    events_record(events=[trade_event(kind, written, fields=sorted(changes))])
    return written


def _known_spelling(tags: list[str], *, book: Book) -> list[str]:
    known = {tag.casefold(): tag for tag in selectors.tags_used(book)}
    return [known.get(tag.casefold(), tag) for tag in tags]


def _changed_since(trade: PaperTrade, version: str) -> str:
    """What changed in the trade's notes and tags since `version`, by whom and when, as a refusal says it."""
    changed = [
        name
        for name, then, now in zip(("notes", "tags"), version.split("."), trade.notes_version.split("."), strict=False)
        if then != now
    ] or ["notes", "tags"]  # a version that is not one of ours
    last = trade.history.filter(history_change_reason__contains="edited").first()
    when = f" ({last.history_change_reason}, {last.history_date:%Y-%m-%d %H:%M:%S} UTC)" if last else ""
    return (
        f"The {' and '.join(changed)} of trade {trade.pk} changed since this edit began{when}; nothing was saved. "
        f"Now: tags {', '.join(trade.tags) or 'none'}; notes of {len(trade.notes):,} characters."
    )


@transaction.atomic
def trade_annotate(
    *,
    trade_id: int,
    notes: str | None = None,
    tags: Iterable[str] | None = None,
    version: str | None = None,
    by: Any = None,
    via: str = "",
) -> PaperTrade:
    """Set a trade's notes, its tags, or both (None leaves one as it is), whether it is open or closed.
    A tag in use already under another case keeps its spelling ("fomo" becomes "FOMO"), so the statistics
    by tag do not split it. Writing what is already there writes nothing. With `version` (the trade's
    `notes_version` when the edit began), an edit made on notes or tags that have changed since is refused
    (Outdated, 409) saying what changed: it would silently undo that change."""
    changes = {}
    cleaned_notes = None if notes is None else clean_notes(notes)
    cleaned_tags = None if tags is None else clean_tags(tags)
    trade = trade_for_update(trade_id)
    if cleaned_tags is not None:
        cleaned_tags = _known_spelling(cleaned_tags, book=trade.book)
    if version is not None and version != trade.notes_version:
        raise Outdated(_changed_since(trade, version), field="version")
    if cleaned_notes is not None and cleaned_notes != trade.notes:
        changes["notes"] = cleaned_notes
    if cleaned_tags is not None and cleaned_tags != trade.tags:
        changes["tags"] = cleaned_tags
    return _write(trade, changes, reason=" and ".join(changes) + " edited", by=by, via=via)


@transaction.atomic
def trade_move_levels(
    *, trade_id: int, stop_loss: Any = None, take_profit: Any = None, by: Any = None, via: str = ""
) -> PaperTrade:
    """Move an open trade's stop, its target, or both (None leaves one where it is).

    A level must stay on its side of the trade's last price (rules.check_levels_around): one the price has
    already crossed is refused; and within the bound sizing keeps (rules.check_levels_in_envelope).
    `risk_amount` keeps the risk taken at entry, so the trade's R multiple is still measured against it (a stop
    moved to break even does not make a win of 0.1R look like 1R).
    """
    stop = clean_price(stop_loss, field="stop_loss", required=False)
    target = clean_price(take_profit, field="take_profit", required=False)
    if stop is None and target is None:
        raise InvalidInput("Give a stop, a target or both.", field="stop_loss")
    trade = trade_for_update(trade_id)
    if not trade.is_open:
        raise AlreadyClosed(
            f"Trade {trade_id} is closed ({trade.get_status_display().lower()}); only an open trade's levels move.",
            field="trade_id",
        )
    new = {
        "stop_loss": trade.stop_loss if stop is None else stop,
        "take_profit": trade.take_profit if target is None else target,
    }
    rules.check_levels_around(
        trade.direction, price=trade.current_price, stop=new["stop_loss"], target=new["take_profit"]
    )
    rules.check_levels_in_envelope(trade, stop=new["stop_loss"], target=new["take_profit"])
    changes = {name: value for name, value in new.items() if value != getattr(trade, name)}
    moves = [
        f"{'stop' if name == 'stop_loss' else 'target'} {plain(getattr(trade, name))} to {plain(value)}"
        for name, value in changes.items()
    ]
    return _write(trade, changes, reason="moved " + ", ".join(moves), by=by, via=via)


@transaction.atomic
def day_note_write(*, day: date, text: str, by: Any = None, via: str = "", book: Book | None = None) -> DayNote:
    """Write the book's (default: the default book's) diary of a trading day that has begun (an empty text keeps
    the row, so its history shows what was removed); `via` names a writer that is not a person, such as an API
    token, in the history."""
    text = clean_notes(text, field="text")
    if day > today():
        raise InvalidInput(f"{day} has not begun; a diary is written for today or a day before.", field="date")
    # The book's row first: it serializes two first notes of one day, which would otherwise both insert.
    book = book_for_update((book or default_book()).pk)
    book_add(book.pk, ZERO)
    note = DayNote.objects.filter(book=book, day=day).first() or DayNote(book=book, day=day)
    if note.pk is None or note.text != text:
        note.text = text
        if by is not None:
            note._history_user = by
        if via:
            note._change_reason = f"diary ({via})"
        note.save()
        event_record(kind=Event.Kind.JOURNAL_CHANGED, book_id=book.pk, payload={"day": day})
    return note
