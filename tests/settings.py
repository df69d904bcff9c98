"""The project's settings, made fast and self-contained for the test suite."""

import os
from decimal import Decimal

os.environ.setdefault("SECRET_KEY", "tests-only-not-secret")

from tradingsite.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Served straight from the source folders: no collectstatic step before a test run.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True
# A file (threads and subprocesses share it, unlike an in-memory database) of this run's own, so that
# runs side by side (two shells, CI and a developer) never share a test database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f"test-db-{os.getpid()}.sqlite3")}  # noqa: F405
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_ledger_{os.getpid()}"}  # noqa: F405
STATIC_ROOT = None  # nothing collected
# Plain HTTP, as `make run`: the test client and the browser tests talk to 127.0.0.1 without TLS
# (tests/test_security.py checks the production defaults in a process of their own).
SECURE_SSL_REDIRECT = SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
API_RATE_LIMIT = "100000/min"
# A frictionless market unless a test says otherwise: the tests of other rules keep their hand-worked numbers
# at the signal's price, and tests/test_fills.py sets slippage (the default 0.0005) where fills are the point.
PAPER_SLIPPAGE = Decimal(0)  # the fuzz tests send thousands of requests with one token
