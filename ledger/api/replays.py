"""Replays (docs/replay.md, docs/api.md "Replays"): queued with a `trade` token, run by the worker, read with any
token while they run and once done, cancelled with a `trade` token."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from .. import replay, selectors, services
from ..inputs import CONFLUENCES_MAX, EXPIRES_IN_MAX, ID_MAX, TAG_LENGTH_MAX, TAGS_MAX, TARGETS_MAX
from .auth import TRADE
from .errors import ERRORS, WRITE_ERRORS
from .types import Body, Confluence, Day, Symbol, bounded

router = Router()
LIMITS = replay.Overrides.LIMITS
SYMBOLS_MAX = 100
ReplayId = Annotated[int, Field(ge=1, le=ID_MAX)]


class TargetIn(Body):
    r: bounded(*LIMITS["reward_risk"]) = Field(
        description="Its distance from the fill, a multiple of the stop's, above 0."
    )
    fraction: bounded(Decimal(0), Decimal(1)) = Field(description="The fraction of the position it closes, above 0.")


class RulesIn(Body):
    """The rules a replay changes; a rule left out keeps the ledger's own (its PAPER_* setting)."""

    stop_pct: bounded(*LIMITS["stop_pct"]) | None = Field(
        None,
        description="The stop's distance from the fill, a fraction (0.01 is 1 %), above 0; replaces every "
        "signal's own stop (PAPER_DEFAULT_STOP_PCT).",
    )
    reward_risk: bounded(*LIMITS["reward_risk"]) | None = Field(
        None,
        description="The target's distance in multiples of the stop's, above 0; replaces every signal's own "
        "target (PAPER_REWARD_RISK).",
    )
    risk: bounded(*LIMITS["risk"]) | None = Field(None, description="Risk per trade, a fraction of the balance.")
    fee_rate: bounded(*LIMITS["fee_rate"]) | None = Field(None, description="The fee of one side, a fraction.")
    slippage: bounded(*LIMITS["slippage"]) | None = Field(
        None, description="A market order's slippage without a bid or ask, a fraction."
    )
    max_open: int | None = Field(None, ge=0, le=100_000, description="The most trades open at once; 0: no limit.")
    one_per_symbol: bool | None = Field(None, description="At most one open trade a symbol.")
    targets: list[TargetIn] | None = Field(
        None,
        min_length=1,
        max_length=TARGETS_MAX,
        description="Targets instead of every signal's own, in order away from the entry, the fractions adding up "
        "to 1 (ledger/brackets.py); not with reward_risk.",
    )
    break_even_after: int | None = Field(
        None, ge=1, le=TARGETS_MAX - 1, description="The stop to break even once this target (not the last) filled."
    )
    trail_pct: bounded(*LIMITS["trail_pct"]) | None = Field(
        None, description="A trailing stop this fraction of the price behind it, above 0."
    )
    entry: Literal["market", "limit", "stop"] | None = Field(
        None, description="The entry: at the market, or a limit or stop order at the signal's price."
    )
    entry_expiry: Annotated[int, Field(ge=1, le=EXPIRES_IN_MAX)] | Literal["day", "gtc"] | None = Field(
        None, description="How long a limit or stop entry works: seconds, day (the default) or gtc."
    )


class ReplayIn(Body):
    start: Day = Field(description="The first trading day of the signals replayed.")
    end: Day = Field(description="The last trading day (on or after start).")
    symbols: list[Symbol] = Field([], max_length=SYMBOLS_MAX, description="Only these symbols; empty: all.")
    confluences: list[Confluence] = Field(
        [], max_length=CONFLUENCES_MAX, description="Only signals with one of these confluences; empty: any."
    )
    tags: list[Annotated[str, Field(min_length=1, max_length=TAG_LENGTH_MAX)]] = Field(
        [], max_length=TAGS_MAX, description="Only signals whose trade has one of these tags; empty: any."
    )
    include_refused: bool = Field(False, description="Also the signals the ledger did not execute.")
    rules: RulesIn = Field(default_factory=RulesIn, description="The rules changed.")


class ReplayOut(Schema):
    id: int
    status: str = Field(description="queued, running, done, failed or cancelled.")
    progress: int = Field(description="Percent of the period replayed.")
    parameters: dict[str, Any] = Field(description="The period, filters and rules, as checked.")
    summary: dict[str, Any] | None = Field(
        description="Once done: `replay`, its figures and band; `actual`, the ledger's own trades of the same signals."
    )
    result: dict[str, Any] | None = Field(
        description="Once done: `trades`, `refused` and `differences` (each live trade the replay differs from, "
        "with its cause)."
    )
    error: str = Field(description="Why it failed; empty otherwise.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@router.post("/replays", auth=TRADE, response={202: ReplayOut, **WRITE_ERRORS}, tags=["replays"])
def replay_queue(request: HttpRequest, body: ReplayIn):
    """Queue a replay for the worker (`manage.py replay_worker`); 202 with its id. It writes only its own row:
    never the signals, the trades or the account."""
    parameters = body.model_dump(exclude={"rules"}) | {"rules": body.rules.model_dump(exclude_none=True)}
    return Status(202, services.replay_queue(parameters=parameters, book=request.auth.book))


@router.get("/replays/{replay_id}", response={200: ReplayOut, **ERRORS}, tags=["replays"])
def replay_detail(request: HttpRequest, replay_id: ReplayId):
    """A replay: its progress while it runs, its result once done."""
    return selectors.replay_get(replay_id, books=[request.auth.book_id])


@router.post("/replays/{replay_id}/cancel", auth=TRADE, response={200: ReplayOut, **WRITE_ERRORS}, tags=["replays"])
def replay_cancel(request: HttpRequest, replay_id: ReplayId):
    """Cancel a queued or running replay (409 once it has finished)."""
    return services.replay_cancel(replay_id=selectors.replay_get(replay_id, books=[request.auth.book_id]).pk)
