"""The production settings plus the benchmark's floor views; DATABASE_URL names the database under test."""

import os

os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")

from tradingsite.settings import *  # noqa: E402,F403

ROOT_URLCONF = "bench.urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]  # testserver: the in-process query counts
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"handlers": [], "level": "WARNING"}}
# The benchmark speaks plain HTTP to 127.0.0.1. In production TLS ends at the reverse proxy, in front of
# gunicorn, so the app's own work is the same; only the redirect and the cookies' Secure flag are off here.
SECURE_SSL_REDIRECT = SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
# The intake measurement sends ~300 signals/s on one token: it measures the ledger, not the throttle.
API_RATE_LIMIT = "1000000/min"
