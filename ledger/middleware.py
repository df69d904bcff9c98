"""What every request passes through besides Django's own: control characters and bodies sent in chunks
refused at the door, answers that a login or a token unlocked kept out of every cache, a plain 503 page when a
page's database fails (the API answers its own faults in its JSON shape: ledger/api/errors.py), and a whole tab
sent to the login page when an HTMX request finds its login gone; and the book a page shows (`request.book`)."""

import logging
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.gzip import GZipMiddleware
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.functional import SimpleLazyObject
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from .errors import error_body
from .inputs import CONTROL_RE

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
RETRY_AFTER = 30  # seconds a client is asked to wait after a database fault
# In a form's values tab and line ends are text (a textarea); every other control character is refused there.
FORM_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _control_character(request: HttpRequest) -> str | None:
    """Where the request carries a control character: its path, a query parameter or a form field."""
    if CONTROL_RE.search(request.path_info):
        return "path"
    for name, values in request.GET.lists():
        if CONTROL_RE.search(name) or any(CONTROL_RE.search(value) for value in values):
            return name
    if request.method == "POST" and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        for name, values in request.POST.lists():
            if FORM_CONTROL_RE.search(name) or any(FORM_CONTROL_RE.search(value) for value in values):
                return name
    return None


# Headers that govern a document (what it may load, run, embed, open or be framed by): a browser applies them to a
# page it displays and to nothing fetched into one.
DOCUMENT_HEADERS = ("Content-Security-Policy", "Permissions-Policy", "X-Frame-Options", "Cross-Origin-Opener-Policy")


def parts_without_document_headers(get_response):
    """An answer to an HTMX request (a live part's refresh, a button's notice) is HTML that htmx merges into the page
    that asked for it, under that page's policies; the document's own headers on it would do nothing and were
    about 700 of a refresh's 1,100 bytes (docs/dashboard.md, "Live"). They are left off it. A URL opened as a page
    (no HX-Request header, which only a script of this site's own pages sends) keeps every one. First in
    MIDDLEWARE, so that it sees the answer after every middleware that adds them."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if request.headers.get("HX-Request") == "true":
            for header in DOCUMENT_HEADERS:
                del response[header]
        return response

    return middleware


def refuse_control_characters(get_response):
    """NUL and the other control characters in a URL or a form answer 400 naming where they were, before any
    view runs: PostgreSQL refuses NUL in text (a 500 deep in a query), and no input of the ledger has them."""

    def middleware(request: HttpRequest) -> HttpResponse:
        where = _control_character(request)
        if where is None:
            return get_response(request)
        message = f"{where} contains a control character (such as NUL); none is allowed."
        if request.path.startswith(API_PREFIX):
            return JsonResponse(error_body(message, where), status=400)
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")

    return middleware


def refuse_unread_bodies(get_response):
    """A body sent in chunks (`Transfer-Encoding: chunked`) has no Content-Length, and Django reads a body by
    its length: it would see none and act as if nothing were sent (a close at the market instead of the price
    sent, an XML body past the media type check). Such a request is refused with 411 before any view runs."""
    message = "Send the body with a Content-Length; a body sent in chunks (Transfer-Encoding) is not read."

    def middleware(request: HttpRequest) -> HttpResponse:
        if "HTTP_TRANSFER_ENCODING" not in request.META:
            return get_response(request)
        if request.path.startswith(API_PREFIX):
            return JsonResponse(error_body(message, "body"), status=411)
        return HttpResponse(message, status=411, content_type="text/plain; charset=utf-8")

    return middleware


def private_answers(get_response):
    """`Cache-Control: private, no-store` on every answer a login or a token unlocked (pages, exports, the API):
    no shared cache keeps it and no browser writes it to disk. An answer that says its own Cache-Control keeps
    it: the dashboard's live parts are `private, no-cache`, so that a poll can be answered 304 from the copy the
    browser holds, and the health check and the login page say `no-cache` themselves."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if _unlocked(request) and not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_store=True)
        return response

    return middleware


def _unlocked(request: HttpRequest) -> bool:
    """Whether a login or a token unlocked the answer. Reading the login may query the database (the session,
    the user): when that fails the answer (the 503 page) is kept private, never turned into a 500."""
    if request.path.startswith(API_PREFIX):
        return True
    user = getattr(request, "user", None)
    try:
        return user is not None and user.is_authenticated
    except DatabaseError:
        return True


class DatabaseFaults:
    """A page whose database fails (unreachable, read-only, full) answers a plain 503 page with Retry-After, not
    the 500 of a bug; the fault goes to the log. The page needs no database to render."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DatabaseError):
            return None
        log.error("database fault on %s %s", request.method, request.path, exc_info=exception)
        response = HttpResponse(render_to_string("503.html", {"retry_after": RETRY_AFTER}), status=503)
        response["Retry-After"] = str(RETRY_AFTER)
        return response


def _tab_path(request: HttpRequest) -> str:
    """The path (and query) of the page an HTMX request came from (HX-Current-URL), if it is this site's."""
    current = request.headers.get("HX-Current-URL", "")
    if not url_has_allowed_host_and_scheme(current, allowed_hosts={request.get_host()}):
        return reverse("dashboard")
    parts = urlsplit(current)
    return parts.path + (f"?{parts.query}" if parts.query else "")


LOGIN_ENDED = (
    "Your login ended (it timed out, or you logged out in another tab), so nothing more was done. "
    "Log in to carry on where you were."
)


def login_ended(get_response):
    """A request whose login has ended gets `login_required`'s redirect to the login page, which then says why
    (LOGIN_ENDED, as a message): when it came from a page of the site (an HTMX poll or button) or still carried a
    session cookie; a first visit is just asked to log in. An HTMX request would follow the redirect and swap the
    login form into a part: instead the whole tab is sent to the login page (HX-Redirect), with `next` the page the
    tab was on, so it comes back there."""
    login = reverse("login")

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if response.status_code != 302 or urlsplit(response["Location"]).path != login:
            return response
        if request.htmx or settings.SESSION_COOKIE_NAME in request.COOKIES:
            messages.info(request, LOGIN_ENDED)
        if request.htmx:
            return HttpResponseClientRedirect(redirect_to_login(_tab_path(request))["Location"])
        return response

    return middleware


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW. A button posted from a page whose token is out of date (a login in another tab
    changed it): HTMX reloads the page, which then carries the new token, and says nothing was done; a plain
    post gets a short 403 page rather than Django's, whose inline style the CSP refuses."""
    message = "The page was out of date, so it was reloaded and nothing was done: try again."
    if request.headers.get("HX-Request"):
        messages.warning(request, message)
        response = HttpResponseClientRefresh()
        response.status_code = 403
        return response
    return HttpResponse(f"{message} ({reason})", status=403, content_type="text/plain; charset=utf-8")


class CompressPages(GZipMiddleware):
    """Pages, their parts and the API's JSON are sent gzipped to a browser that accepts it (a poll of the signals
    part: 1.4 KB of its 23 KB, docs/dashboard.md). Django's GZipMiddleware pads each answer with 0 to 99 random bytes
    against BREACH, and the CSRF token in a page is masked afresh in every answer, so a secret cannot be read off
    the compressed sizes. CSV exports (streamed, a million rows) and static files (whitenoise serves its own
    compressed copies) are left alone."""

    COMPRESSED = ("text/html", "application/json")

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if response.get("Content-Type", "").split(";")[0] not in self.COMPRESSED:
            return response
        return super().process_response(request, response)


BOOK_PARAM = "book"  # ?book=<slug> on any page switches the session to that book (docs/books.md)
BOOK_HEADER = "X-Ledger-Book"  # what a page's own requests (htmx) send: the book the page was drawn with


def _books(request: HttpRequest) -> list:
    """Every book the user may see, read once (one query); a fresh database makes the default book on first use."""
    from . import selectors, services  # the models load after the middleware module

    visible = list(selectors.books_visible(request.user))
    if not visible and request.user.is_authenticated and not request.user.book_grants.exists():
        visible = [services.default_book()]
    return visible


def _current_book(request: HttpRequest):
    """The book a request is about: the page's own (its htmx requests send BOOK_HEADER, its stream `?book=`), so two
    tabs on two books each keep theirs; else `?book=<slug>` on a page, then kept in the session; else the session's;
    else the first the user may see. A slug the user may not see is a 404, never a word of that book."""
    by_slug = {book.slug: book for book in request.books}
    slug = request.headers.get(BOOK_HEADER) or request.GET.get(BOOK_PARAM)
    if slug:
        if slug not in by_slug:
            raise Http404(f"No book {slug!r}.")
        if BOOK_HEADER not in request.headers and "text/event-stream" not in request.headers.get("Accept", ""):
            request.session[BOOK_PARAM] = slug  # a page the trader opened on that book: the next ones follow
        return by_slug[slug]
    return by_slug.get(request.session.get(BOOK_PARAM, "")) or next(iter(by_slug.values()), None)


def current_book(get_response):
    """`request.books` (every book the user may see) and `request.book` (the one the pages show), read when a view
    first asks (SimpleLazyObject): the API and static answers never do."""

    def middleware(request: HttpRequest) -> HttpResponse:
        request.books = SimpleLazyObject(lambda: _books(request))
        request.book = SimpleLazyObject(lambda: _current_book(request))
        return get_response(request)

    return middleware
