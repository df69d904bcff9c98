"""The production settings plus the benchmark's floor views; DATABASE_URL names the database under test."""

import os

os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")

from tradingsite.settings import *  # noqa: E402,F403

ROOT_URLCONF = "bench.urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]  # testserver: the in-process query counts
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"handlers": [], "level": "WARNING"}}
