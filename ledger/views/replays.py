"""The replay page (/replay/, docs/replay.md): a form that queues a replay for the worker, its progress polled
while it runs, and its comparison with the ledger once done. Thin: services.replay_parameters checks the form,
services.replay_queue / replay_cancel write, the worker runs it."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import selectors, services
from ..errors import LedgerError, NotPermitted
from ..models import Book, Replay
from .base import HtmxHttpRequest, refusal_status, render_page, seen_books, trade_required, traded_books

RULE_FIELDS = (
    "stop_pct",
    "reward_risk",
    "risk",
    "fee_rate",
    "slippage",
    "max_open",
    "targets",
    "break_even_after",
    "trail_pct",
    "entry",
    "entry_expiry",
)
TRADES_SHOWN = 200  # rows of the changed trades on the page; the API and the command give them all
PART = "replay-status"


def _parameters(post) -> dict:
    """The form's fields as a replay's parameters: empty rules keep the ledger's own."""
    rules = {name: post.get(name, "") for name in RULE_FIELDS}
    if post.get("one_per_symbol") in ("yes", "no"):
        rules["one_per_symbol"] = post["one_per_symbol"] == "yes"
    return {
        "start": post.get("start", ""),
        "end": post.get("end", ""),
        "symbols": post.get("symbols", ""),
        "confluences": post.get("confluences", ""),
        "tags": post.get("tags", ""),
        "include_refused": post.get("include_refused") == "on",
        "rules": rules,
    }


def _shown(values: dict) -> dict:
    """A replay's parameters (its rules beside them) as the form's fields show them: lists as text, targets as
    1:0.5, 2:0.5."""
    values = values | values.get("rules", {})
    if isinstance(values.get("targets"), list):
        values["targets"] = ", ".join(f"{target['r']}:{target['fraction']}" for target in values["targets"])
    return {name: ", ".join(value) if isinstance(value, list) else value for name, value in values.items()}


def _context(book: Book, replay: Replay | None, *, form: dict | None = None) -> dict:
    """The page of the book's replays (a replay's own book, when one is shown)."""
    book = replay.book if replay is not None else book
    terms = book.terms
    context = {
        "replay": replay,
        "form": _shown(form or (replay.parameters if replay else {})),
        "recent": [row for row in selectors.replays_recent(book) if row != replay],
        "poll_ms": settings.DASHBOARD_POLL_MS,
        "defaults": {
            "stop_pct": terms.default_stop_pct,
            "reward_risk": terms.reward_risk,
            "risk": terms.risk_per_trade,
            "fee_rate": terms.fee_rate,
            "slippage": terms.slippage,
            "max_open": terms.max_open_trades,
        },
    }
    if replay is not None and replay.status == Replay.Status.DONE:
        changed = [row for row in replay.result["differences"] if row["changed"]]
        context |= {
            "mine": replay.summary["replay"],
            "theirs": replay.summary["actual"],
            "changed": changed[:TRADES_SHOWN],
            "changed_count": len(changed),
            "curves": {"actual": replay.summary["actual"]["curve"], "replay": replay.summary["replay"]["curve"]},
        }
    return context


@login_required
@require_http_methods(["GET", "POST"])
def replay_page(request: HtmxHttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _queue(request)
    return render_page(request, "ledger/replay.html", _context(request.book, None))


@trade_required
def _queue(request: HtmxHttpRequest) -> HttpResponse:
    form = _parameters(request.POST)
    try:
        if request.book.pk not in traded_books(request):
            raise NotPermitted(f"{request.user.get_username()} may look at {request.book} but not replay its signals.")
        queued = services.replay_queue(parameters=form, by=request.user, book=request.book)
    except LedgerError as error:
        context = _context(request.book, None, form=form) | {"error": error.message, "error_field": error.field}
        return render_page(request, "ledger/replay.html", context, status=refusal_status(request, error))
    return redirect("replay-detail", replay_id=queued.pk)


@login_required
@require_GET
def replay_detail(request: HtmxHttpRequest, replay_id: int) -> HttpResponse:
    try:
        replay = selectors.replay_get(replay_id, books=seen_books(request))
    except LedgerError as error:
        context = _context(request.book, None) | {"error": error.message}
        return render_page(request, "ledger/replay.html", context, status=404)
    part = PART if request.htmx and request.htmx.target == PART else None
    return render_page(
        request,
        "ledger/replay.html",
        _context(request.book, replay, form=replay.parameters | replay.parameters["rules"]),
        part=part,
    )


@login_required
@require_POST
@trade_required
def replay_cancel(request: HtmxHttpRequest, replay_id: int) -> HttpResponse:
    try:
        services.replay_cancel(replay_id=selectors.replay_get(replay_id, books=traded_books(request)).pk)
    except LedgerError as error:
        replay = Replay.objects.filter(pk=replay_id, book__in=seen_books(request)).first()
        context = _context(request.book, replay) | {"error": error.message}
        return render_page(request, "ledger/replay.html", context, status=refusal_status(request, error))
    return redirect("replay-detail", replay_id=replay_id)
