"""Streams of events as Server-Sent Events (ledger/live.py): for a logged-in page (/live/events), and for a program
with an API token (/api/v1/events/stream, docs/api.md)."""

import asyncio
import re
import zlib
from collections.abc import AsyncIterator
from importlib import import_module

from asgiref.sync import SyncToAsync, sync_to_async
from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET
from ninja.errors import Throttled

from .. import live
from ..api.auth import READ
from ..errors import error_body
from ..models import ApiToken


def session_holds(session_key: str | None, user_id: int) -> bool:
    """Whether the session still logs in the same active user (not logged out, not expired, not deactivated)."""
    if not session_key:
        return False
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    if str(store.load().get(SESSION_KEY)) != str(user_id):
        return False
    return get_user_model().objects.filter(pk=user_id, is_active=True).exists()


async def _thread_let_go(chunks: AsyncIterator[str]) -> AsyncIterator[str]:
    """`chunks`, once the request's thread is let go. Django answers each request in a thread-sensitive context of its
    own, whose thread (started for the sync middleware) lives until the answer ends: a stream held one for its whole
    life, about 340 KB of memory each, and the thread's database connection (bench/RESULTS.md). By the first chunk
    every middleware has run; what the stream reads later runs on the streams' own pool (ledger/live.py), and
    anything thread-sensitive would start a thread anew, which Django ends with the request."""
    context = SyncToAsync.thread_sensitive_context.get(None)
    executor = SyncToAsync.context_to_thread_executor.pop(context, None) if context else None
    if executor:
        # The thread's database connections first: they are its own (the session's read), and nothing else would
        # close them (on PostgreSQL a thousand streams took every connection the server allows).
        await asyncio.get_running_loop().run_in_executor(executor, connections.close_all)
        executor.shutdown(wait=False)  # its thread is idle: it ends at once
    async for chunk in chunks:
        yield chunk


# The streams' gzip: a 1 KB window and the smallest memory level, so that a stream's compressor holds about 6 KB
# (zlib's default holds 256 KB: a thousand idle streams would hold 256 MB); on the demo's feed it still sends a
# batch of prices in about 70 bytes of its 330 (bench/RESULTS.md), because the messages repeat each other's words.
GZIP_WINDOW_BITS, GZIP_MEMORY_LEVEL = 10, 2
ACCEPTS_GZIP = re.compile(r"\bgzip\b")


async def _gzipped(chunks: AsyncIterator[str]) -> AsyncIterator[bytes]:
    """`chunks` as one gzip stream, flushed after each chunk (Z_SYNC_FLUSH), so that each message reaches the browser
    as it is sent. Django's GZipMiddleware cannot do this: it compresses each chunk of an async answer as a gzip of
    its own (nothing shared between messages) and never flushes a sync one. No secret is ever in a stream (events
    carry the ledger's facts, no token or cookie), so compressing it offers BREACH nothing to guess at."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + GZIP_WINDOW_BITS, GZIP_MEMORY_LEVEL)
    async for chunk in chunks:
        yield compressor.compress(chunk.encode()) + compressor.flush(zlib.Z_SYNC_FLUSH)


def event_stream(request: HttpRequest, **stream) -> StreamingHttpResponse:
    """The stream's answer, gzipped for a client that accepts it (a browser's EventSource does)."""
    chunks = _thread_let_go(live.stream(**stream))
    gzipped = bool(ACCEPTS_GZIP.search(request.headers.get("Accept-Encoding", "")))
    response = StreamingHttpResponse(_gzipped(chunks) if gzipped else chunks, content_type="text/event-stream")
    if gzipped:
        response["Content-Encoding"] = "gzip"
    response["Vary"] = "Accept-Encoding"
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: send each event as it comes, do not buffer the answer
    return response


@require_GET
async def events(request: HttpRequest) -> HttpResponse:
    """The events after the browser's Last-Event-ID (or `?after=`), as they commit, for as long as the session
    lasts; `?trade=<id>` keeps those that change that trade's page. 403 without a login: EventSource gives up
    and the page polls (static/ledger/live.js), and its polls meet the login page."""
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse("Log in to follow the ledger live.", status=403, content_type="text/plain")
    try:
        after = live.start_after(request.headers.get("Last-Event-ID"), request.GET.get("after"))
        trade = live.start_after(None, request.GET.get("trade"))
    except ValueError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain")
    session_key, user_id = request.session.session_key, user.pk
    book_id = await sync_to_async(lambda: request.book.pk)()  # the page's book: the events of others are not its

    def holds() -> bool:
        return session_holds(session_key, user_id)

    def shown(event):
        return live.seen_by(event, book_id)

    if trade is None:
        return event_stream(
            request,
            after=after,
            holds=holds,
            wanted=lambda event: live.of_book(event, book_id),
            shown=shown,
            for_page=True,
        )
    return event_stream(
        request,
        after=after,
        holds=holds,
        wanted=lambda event: live.of_book(event, book_id) and live.about_trade(event, trade),
        shown=shown,
        for_page=True,
    )


@require_GET
async def api_events(request: HttpRequest) -> HttpResponse:
    """The events after Last-Event-ID (or `?after=`), as they commit, for a token that may read; the stream ends
    when the token is revoked (checked at each heartbeat). Errors in the API's shape."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    try:
        row = await sync_to_async(READ.authenticate)(request, token) if token else None
    except Throttled:
        return JsonResponse(error_body("Too many wrong tokens from this address; wait a minute."), status=429)
    if row is None:
        refused = JsonResponse(error_body("A valid API token is required (Authorization: Bearer <token>)."), status=401)
        refused["WWW-Authenticate"] = "Bearer"
        return refused
    try:
        after = live.start_after(request.headers.get("Last-Event-ID"), request.GET.get("after"))
    except ValueError as error:
        return JsonResponse(error_body(str(error), "after"), status=400)
    return event_stream(
        request,
        after=after,
        holds=lambda: ApiToken.objects.filter(pk=row.pk, revoked_at__isnull=True).exists(),
        wanted=lambda event: live.of_book(event, row.book_id),
        shown=lambda event: live.seen_by(event, row.book_id),
    )
