"""The ASGI application: gunicorn serves it with uvicorn's worker (`-k uvicorn_worker.UvicornWorker`), so a page can
hold a stream of events open (ledger/live.py) beside the ordinary requests (docs/operations.md, "Production")."""

import os
from contextvars import ContextVar

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradingsite.settings")

django_application = get_asgi_application()
# Whether the request being answered is a live part's refresh (an HTMX GET naming its target): `make run` keeps
# those out of the access log (tradingsite/run.py), which uvicorn writes in the request's own context.
REFRESH: ContextVar[bool] = ContextVar("refresh", default=False)


async def application(scope, receive, send) -> None:
    if scope["type"] == "http":
        REFRESH.set(scope["method"] == "GET" and any(name == b"hx-target" for name, _ in scope["headers"]))
    await django_application(scope, receive, send)
