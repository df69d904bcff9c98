"""Settings, read from the environment with defaults that work on a laptop.

Every variable the site reads is parsed here, once, at start-up (`make run`'s HOST, PORT and LOG_POLLS aside: the
Makefile and tradingsite/run.py read those); a bad value stops start-up with ImproperlyConfigured naming the
variable. README.md lists them all.
"""

import json
import os
import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from ipaddress import ip_network
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be 1 or 0 (true/false), not {raw!r}.")


def env_decimal(name: str, default: str, *, low: Decimal, high: Decimal, low_allowed: bool = False) -> Decimal:
    """A Decimal in (low, high] ([low, high] with low_allowed); money and rates never pass through float."""
    raw = os.environ.get(name) or default
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name} must be a decimal number, not {raw!r}.") from None
    in_range = value.is_finite() and (value >= low if low_allowed else value > low) and value <= high
    if not in_range:
        bound = "at least" if low_allowed else "above"
        raise ImproperlyConfigured(f"{name} must be {bound} {low} and at most {high}, not {raw!r}.")
    return value


def env_object(name: str) -> dict:
    """A JSON object (empty if the variable is unset)."""
    raw = os.environ.get(name) or "{}"
    try:
        value = json.loads(raw)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} must be a JSON object: {error}.") from None
    if not isinstance(value, dict):
        raise ImproperlyConfigured(f"{name} must be a JSON object, not {raw!r}.")
    return value


def env_zone(name: str, default: str) -> ZoneInfo:
    raw = os.environ.get(name) or default
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(
            f"{name} must be an IANA time zone such as UTC or Europe/Berlin, not {raw!r}."
        ) from None


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = os.environ.get(name) or default
    if raw not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {raw!r}.")
    return raw


def env_int(name: str, default: int, *, low: int, high: int) -> int:
    raw = os.environ.get(name) or str(default)
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ImproperlyConfigured(f"{name} must be a whole number from {low} to {high}, not {raw!r}.")
    return int(raw)


# Off unless asked for: `make run` and the tests turn it on for themselves.
DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (make run sets DEBUG=1 for local use).")
    SECRET_KEY = "insecure-local-only-key"  # noqa: S105 - used only with DEBUG on, on a laptop

ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",") if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "ninja",  # serves the API docs page's Swagger files from here, not from a CDN
    "simple_history",  # the audit trail: who changed a signal or trade, when, before and after
    "axes",  # login rate limit (see Security below)
    "ledger",
]

MIDDLEWARE = [
    "ledger.middleware.parts_without_document_headers",  # an HTMX part's answer: no CSP and the like (documents only)
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy on every answer
    "django_permissions_policy.PermissionsPolicyMiddleware",  # Permissions-Policy: nothing the app never uses
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files from gunicorn, no separate server
    "ledger.middleware.CompressPages",  # gzip for HTML and JSON, padded against BREACH (below whitenoise: not static)
    "ledger.middleware.refuse_unread_bodies",  # a body in chunks, which Django would read as none: 411
    "ledger.middleware.refuse_control_characters",  # NUL and the like in a URL or form: 400, never the database
    "ledger.middleware.private_answers",  # Cache-Control: private, no-store on what a login or token reads
    "ledger.middleware.DatabaseFaults",  # a page whose database fails: a plain 503 page
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "ledger.middleware.login_ended",  # a login that ended: the login page says so, and a polling tab goes there
    "ledger.middleware.current_book",  # request.book: the book the pages show (?book=<slug>, then the session's)
    "simple_history.middleware.HistoryRequestMiddleware",  # history rows name the logged-in user
    "axes.middleware.AxesMiddleware",  # answers 429 to a locked-out login; last, as django-axes asks
]

ROOT_URLCONF = "tradingsite.urls"
WSGI_APPLICATION = "tradingsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ledger.views.base.books_context",
            ],
        },
    },
]

# SQLite (WAL) by default, PostgreSQL when DATABASE_URL names one.
try:
    # conn_max_age 0: under ASGI each request runs in a thread of its own, where a kept connection would never be
    # reused (Django's advice); the event streams keep theirs on a pool of their own threads (ledger/live.py).
    DATABASES = {"default": dj_database_url.config(default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=0)}
except ValueError as error:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL this project knows: {error}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE: every transaction takes the write lock at BEGIN, so concurrent writers queue
        # (for up to `timeout` seconds) instead of failing with "database is locked" mid-transaction.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
CSRF_FAILURE_VIEW = "ledger.middleware.csrf_failure"  # an out-of-date page reloads itself (HTMX)
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
FORMAT_MODULE_PATH = ["tradingsite.formats"]  # dates read 25 Nov 2026 everywhere, the admin too
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    # Django's own console handler (DEBUG only) would print every line of `django` a second time beside the root's.
    # Apprise says "Sent Telegram notification." for every message; the notifier's own line (ledger.notify) says more.
    "loggers": {"django": {"handlers": [], "level": "INFO"}, "apprise": {"level": "WARNING"}},
    "root": {
        "handlers": ["console"],
        "level": env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
    },
}

# How often the dashboard's live parts refresh, in milliseconds (the browser tests make it quick).
DASHBOARD_POLL_MS = env_int("DASHBOARD_POLL_MS", 5000, low=200, high=600_000)

# --- The ledger's own settings (docs/domain.md, "Opening a trade" and "Days and the end of the day") ---
# A trading day is a calendar day in this zone; UTC matches crypto exchanges' daily candles.
TRADING_DAY_TZ = env_zone("TRADING_DAY_TZ", "UTC")
PAPER_STARTING_BALANCE = env_decimal("PAPER_STARTING_BALANCE", "10000", low=Decimal(0), high=Decimal("1e12"))
# Fraction of the balance (starting balance + realized PnL) risked between entry and stop on each trade.
PAPER_RISK_PER_TRADE = env_decimal("PAPER_RISK_PER_TRADE", "0.01", low=Decimal(0), high=Decimal(1))
# Stop distance, as a fraction of entry, when the signal brings no stop.
PAPER_DEFAULT_STOP_PCT = env_decimal("PAPER_DEFAULT_STOP_PCT", "0.02", low=Decimal(0), high=Decimal("0.99"))
# Target distance as a multiple of the stop distance, when the signal brings no target.
PAPER_REWARD_RISK = env_decimal("PAPER_REWARD_RISK", "2", low=Decimal(0), high=Decimal(100))
# Fee per side, as a fraction of notional (price * size).
PAPER_FEE_RATE = env_decimal("PAPER_FEE_RATE", "0.001", low=Decimal(0), high=Decimal("0.1"), low_allowed=True)
# Fills (docs/fills.md). A market order without a bid/ask fills this fraction away from the price, against the
# trader (0 turns it off); an entry is priced from a tick no older than PAPER_PRICE_MAX_AGE, else from the
# signal's own price. A waiting signal can be taken for PAPER_SIGNAL_MAX_AGE after it was sent, then lapses.
PAPER_SLIPPAGE = env_decimal("PAPER_SLIPPAGE", "0.0005", low=Decimal(0), high=Decimal("0.1"), low_allowed=True)
PAPER_PRICE_MAX_AGE = timedelta(seconds=env_int("PAPER_PRICE_MAX_AGE", 120, low=1, high=86_400))
PAPER_SIGNAL_MAX_AGE = timedelta(seconds=env_int("PAPER_SIGNAL_MAX_AGE", 300, low=1, high=86_400))
# A tick whose bid or ask lies further than this fraction from its price is refused (a stale or mistyped quote).
PAPER_QUOTE_BAND = env_decimal("PAPER_QUOTE_BAND", "0.005", low=Decimal(0), high=Decimal("0.5"))
# A confirmed Close or Execute carries the price the trader saw; it is refused, with the new price, when the fill has
# moved further than this fraction from it, either way (docs/fills.md, "The price you saw").
PAPER_MAX_DEVIATION = env_decimal("PAPER_MAX_DEVIATION", "0.005", low=Decimal(0), high=Decimal("0.5"))
# A limit entry fills when the market trades beyond its price ("through", as a real queue needs) or at it
# ("touch"): docs/fills.md, "Entry orders".
PAPER_LIMIT_FILL = env_choice("PAPER_LIMIT_FILL", "through", ("through", "touch"))
# The account: at most this many open trades (0: no limit), one per symbol, none smaller than this notional.
PAPER_MAX_OPEN_TRADES = env_int("PAPER_MAX_OPEN_TRADES", 10, low=0, high=100_000)
PAPER_ONE_TRADE_PER_SYMBOL = env_bool("PAPER_ONE_TRADE_PER_SYMBOL", True)
PAPER_MIN_NOTIONAL = env_decimal("PAPER_MIN_NOTIONAL", "10", low=Decimal(0), high=Decimal("1e9"), low_allowed=True)
# A trade shrunk (to cash, to the market's step) below this fraction of the risk asked is refused: it would count
# as a whole trade in R while risking next to nothing.
PAPER_MIN_RISK_FRACTION = env_decimal(
    "PAPER_MIN_RISK_FRACTION", "0.5", low=Decimal(0), high=Decimal(1), low_allowed=True
)
# Each market's lot rules (docs/fills.md, "Lot sizes"): the price feed keeps an exchange's own in the database;
# a market without them has sizes in steps of PAPER_LOT_STEP and at least PAPER_MIN_AMOUNT.
PAPER_LOT_STEP = env_decimal(
    "PAPER_LOT_STEP", "0.00000001", low=Decimal("0.00000001"), high=Decimal("1e6"), low_allowed=True
)
PAPER_MIN_AMOUNT = env_decimal("PAPER_MIN_AMOUNT", "0", low=Decimal(0), high=Decimal("1e9"), low_allowed=True)
# Shorts on margin (docs/fills.md, "Shorts"): a SHORT holds PAPER_SHORT_MARGIN × its notional as collateral, and
# is liquidated when its loss reaches the collateral less PAPER_MAINTENANCE_MARGIN × its notional.
PAPER_SHORT_MARGIN = env_decimal("PAPER_SHORT_MARGIN", "1", low=Decimal("0.01"), high=Decimal(10), low_allowed=True)
PAPER_MAINTENANCE_MARGIN = env_decimal(
    "PAPER_MAINTENANCE_MARGIN", "0.005", low=Decimal(0), high=Decimal("0.5"), low_allowed=True
)
if PAPER_MAINTENANCE_MARGIN >= PAPER_SHORT_MARGIN:
    raise ImproperlyConfigured(
        f"PAPER_MAINTENANCE_MARGIN ({PAPER_MAINTENANCE_MARGIN}) must be below "
        f"PAPER_SHORT_MARGIN ({PAPER_SHORT_MARGIN})."
    )

# A signal or tick stamped later than now by more than this is refused: a sender's clock may run a little ahead.
MAX_CLOCK_SKEW = timedelta(seconds=env_int("MAX_CLOCK_SKEW", 5, low=0, high=3600))

# --- Prices (docs/operations.md, "The price feed") ---
# Days of 1-minute candles kept: the end of day removes older ones, except for symbols with an open trade.
PRICE_HISTORY_DAYS = env_int("PRICE_HISTORY_DAYS", 90, low=1, high=36_500)
# The price feed's watchlist, followed besides the symbols of open trades and of today's waiting signals.
PRICE_FEED_SYMBOLS = [s.strip().upper() for s in os.environ.get("PRICE_FEED_SYMBOLS", "").split(",") if s.strip()]
# Merged into the ccxt exchange's configuration (its URLs for a proxy or another host, options, timeouts), e.g.
# {"urls": {"api": {"public": "http://127.0.0.1:9000/api/v3"}}}; price_feed --exchange-config replaces it.
PRICE_FEED_EXCHANGE_CONFIG = env_object("PRICE_FEED_EXCHANGE_CONFIG")
# A feed price further than this fraction from the symbol's price of the minute before is held as a suspect
# print until a following tick confirms it (docs/operations.md, "Bad prints"); 0 turns the check off.
PAPER_MAX_JUMP = env_decimal("PAPER_MAX_JUMP", "0.2", low=Decimal(0), high=Decimal(1000), low_allowed=True)
# /healthz says "degraded" when the newest price applied is older than this many seconds.
PRICE_FEED_DEGRADED_LAG = env_int("PRICE_FEED_DEGRADED_LAG", 60, low=1, high=86_400)

# --- Events (docs/design.md, "Events") ---
# Days the outbox keeps its events: `manage.py prune_events` removes older ones (docs/operations.md).
PAPER_EVENTS_KEEP_DAYS = env_int("PAPER_EVENTS_KEEP_DAYS", 30, low=1, high=36_500)
# Milliseconds between two reads of the outbox by a stream on SQLite (PostgreSQL's NOTIFY wakes them instead);
# seconds between two heartbeats of a stream, at each of which it checks its session again.
PAPER_EVENTS_POLL_MS = env_int("PAPER_EVENTS_POLL_MS", 250, low=10, high=60_000)
PAPER_EVENTS_HEARTBEAT = env_int("PAPER_EVENTS_HEARTBEAT", 15, low=1, high=3600)

# --- The JSON API (docs/api.md) ---
# The shared secret TradingView alerts carry in their body; the webhook answers 403 while it is empty. Long
# enough not to be guessed within the lockout below (16 characters at least).
TRADINGVIEW_PASSPHRASE = os.environ.get("TRADINGVIEW_PASSPHRASE", "")
if 0 < len(TRADINGVIEW_PASSPHRASE) < 16:
    raise ImproperlyConfigured(
        f"TRADINGVIEW_PASSPHRASE must be at least 16 characters (it has {len(TRADINGVIEW_PASSPHRASE)}); "
        'make one with: python -c "import secrets; print(secrets.token_urlsafe(24))"'
    )

# --- Security (docs/operations.md, "Production") ---
# Secure by default: with DEBUG off, cookies are HTTPS-only, plain HTTP is redirected to HTTPS and browsers
# are told to use HTTPS for a year (HSTS). `make run` sets DEBUG=1 and stays plain HTTP on loopback.
HTTPS_ONLY = not DEBUG
SECURE_SSL_REDIRECT = HTTPS_ONLY
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS_ONLY
SECURE_HSTS_SECONDS = 365 * 24 * 3600 if HTTPS_ONLY else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = HTTPS_ONLY
# Behind a reverse proxy that terminates TLS, sets X-Forwarded-Proto and drops any a client sent: set
# BEHIND_TLS_PROXY=1 so Django knows which requests came in over HTTPS. Never set it without such a proxy.
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The proxies' own addresses (comma-separated addresses or networks): behind them, the client's address for the
# lockouts is the one the proxy appended to X-Forwarded-For, but only on a connection from one of them; a
# connection from elsewhere (gunicorn reached directly) is its own address. Empty: every connection is the proxy's,
# which only holds while gunicorn listens on loopback, so start-up refuses anything else (gunicorn.conf.py).
try:
    TRUSTED_PROXIES = [
        ip_network(item.strip()) for item in os.environ.get("TRUSTED_PROXIES", "").split(",") if item.strip()
    ]
except ValueError as error:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES must be addresses or networks separated by commas: {error}") from None

# Content-Security-Policy (django-csp): scripts, styles, images and requests from this site only; no inline
# script or style, no eval, no framing. The pages are built for it (templates/base.html, static/ledger/).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

# Login rate limit (django-axes): 5 failed logins for one username from one address lock that pair out
# for 15 minutes (429); a success resets the count. Failures are rows in the database, so every worker
# and app server agrees.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "ledger.proxy.client_ip"
# The TradingView webhook's wrong passphrases are counted the same way (as failures of a pseudo-user per address,
# docs/operations.md), and a locked-out webhook caller gets the API's JSON error rather than the login's text.
AXES_LOCKOUT_CALLABLE = "ledger.proxy.locked_out"
AXES_VERBOSE = False  # no banner on every command's output


# API rate limit per token (django-ninja's throttle; 429 with Retry-After past it). Counted in the cache:
# per process with the default local-memory cache, so the limit a token meets is this times the workers.
def env_rate(name: str, default: str) -> str:
    raw = os.environ.get(name) or default
    if not re.fullmatch(r"[1-9][0-9]*/(s|sec|m|min|h|hour|d|day)", raw):
        raise ImproperlyConfigured(f"{name} must be requests per period such as 600/min or 20/s, not {raw!r}.")
    return raw


API_RATE_LIMIT = env_rate("API_RATE_LIMIT", "600/min")
# Wrong bearer tokens per client address (cache, like the rate limit): past it, 429 before any token is looked up.
API_AUTH_FAILURE_LIMIT = env_rate("API_AUTH_FAILURE_LIMIT", "10/min")

# --- Notifications (docs/operations.md, "Notifications") ---
# Where `manage.py notify` sends: Apprise URLs (tgram://, discord://, slack://, mailto://, ntfy://, …) separated by
# spaces or by commas before the next URL (a comma inside a URL, e.g. mailto's `to=a@x,b@x`, stays in it). Empty:
# the worker has nothing to send to and says so.
PAPER_NOTIFY_URLS = [
    url for url in re.split(r"\s+|,\s*(?=[a-z][a-z0-9+.-]*://)", os.environ.get("PAPER_NOTIFY_URLS", "")) if url
]
# What it sends, by the trader's choice (a comma-separated subset; ledger/notify/messages.py names each).
NOTIFY_KINDS = ("fills", "exits", "liquidations", "refusals", "feed", "digest")
PAPER_NOTIFY_KINDS = [
    kind.strip() for kind in os.environ.get("PAPER_NOTIFY_KINDS", ",".join(NOTIFY_KINDS)).split(",") if kind.strip()
]
if unknown := sorted(set(PAPER_NOTIFY_KINDS) - set(NOTIFY_KINDS)):
    raise ImproperlyConfigured(
        f"PAPER_NOTIFY_KINDS may hold {', '.join(NOTIFY_KINDS)}; not {', '.join(map(repr, unknown))}."
    )
# Messages per channel (each URL) per period, a token bucket that holds as many: a burst of fills goes out at once,
# a longer run at this pace. Telegram takes about 20 a minute in a group, e-mail servers frown at more.
PAPER_NOTIFY_RATE = env_rate("PAPER_NOTIFY_RATE", "20/min")

# Permissions-Policy (django-permissions-policy): the browser features the pages never use are denied to them and
# to anything they could embed. Only features Chromium knows: an unknown one is a console warning on every page.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "browsing-topics",
        "camera",
        "display-capture",
        "encrypted-media",
        "fullscreen",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "picture-in-picture",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}
