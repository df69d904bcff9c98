"""The gunicorn worker that serves the ASGI application: uvicorn's, without its reading of proxy headers.

uvicorn believes X-Forwarded-For and X-Forwarded-Proto from any client on 127.0.0.1 by default and rewrites the
client's address with them; the ledger reads its proxy's headers itself, only from the proxies it is told to trust
(BEHIND_TLS_PROXY, TRUSTED_PROXIES: ledger/proxy.py), so the lockouts count the real address."""

from uvicorn_worker import UvicornWorker


class Worker(UvicornWorker):
    CONFIG_KWARGS = UvicornWorker.CONFIG_KWARGS | {"proxy_headers": False}
