"""A trading day's diary (docs/api.md, "The diary"): read with any token, written with a `trade` one, every
version kept in its history as the day's page keeps it."""

from django.http import HttpRequest
from ninja import Field, Path, Router

from .. import selectors, services
from ..inputs import NOTES_LENGTH_MAX
from ..models import DayNote
from .auth import TRADE
from .errors import ERRORS, WRITE_ERRORS
from .schemas import DayNoteOut
from .types import Body, Day

router = Router()
DATE = Path(alias="date", description="A trading day, YYYY-MM-DD from 1970 to 2199.")


class DayNoteIn(Body):
    text: str = Field(
        max_length=NOTES_LENGTH_MAX,
        description="The whole diary, replacing what it held (line breaks kept, the ends trimmed); empty clears "
        "it, and its history keeps what it was.",
    )


@router.get("/days/{date}/note", response={200: DayNoteOut, **ERRORS}, tags=["diary"])
def day_note(request: HttpRequest, day: Day = DATE):
    """A trading day's diary; a day nobody wrote about answers an empty text."""
    return selectors.day_note(request.auth.book, day) or DayNote(day=day, updated_at=None)


@router.put("/days/{date}/note", auth=TRADE, response={200: DayNoteOut, **WRITE_ERRORS}, tags=["diary"])
def day_note_write(request: HttpRequest, body: DayNoteIn, day: Day = DATE):
    """Write a trading day's diary (today or a day before: a day to come is refused, 422). Kept in the day's
    history with the token's name."""
    return services.day_note_write(
        day=day, text=body.text, via=f"API token {request.auth.name}", book=request.auth.book
    )
