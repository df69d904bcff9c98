"""gunicorn's settings file, which it reads from the directory it starts in (`-c` names another): start-up
checks, and the preloaded application kept shared. The command line says everything else (docs/operations.md,
"Production")."""

import gc
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


def pre_fork(server, worker) -> None:
    """Before each worker is forked from a master that has loaded the application (`--preload`): its objects are
    moved out of the garbage collector's sight (gc.freeze), so that the workers' collections never write to the
    pages they share with the master, which would give each worker a copy of them. About 30 MB less for a server
    of two workers (bench/RESULTS.md, "Live push")."""
    gc.freeze()
