"""gunicorn's settings file, which it reads from the directory it starts in (`-c` names another): start-up
checks only. The command line says everything else (docs/operations.md, "Production")."""

import os


def on_starting(server) -> None:
    """Before gunicorn listens: refuse to trust X-Forwarded-For from anyone who can reach it (tradingsite/startup.py).
    A RuntimeError here stops gunicorn with its sentence and exit status 1."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradingsite.settings")
    from django.conf import settings

    from tradingsite.startup import refuse_untrusted_forwarding

    refuse_untrusted_forwarding(
        server.cfg.bind, behind_proxy=settings.BEHIND_TLS_PROXY, trusted=settings.TRUSTED_PROXIES
    )
