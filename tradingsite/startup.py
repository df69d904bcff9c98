"""Checks made when gunicorn starts (gunicorn.conf.py), before it listens: a configuration whose lockouts a
client could walk around is refused with a sentence, so the mistake cannot be made silently."""

from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network, ip_address

LOCAL_NAMES = {"localhost"}


def _beyond_loopback(bind: str) -> bool:
    """Whether gunicorn listening at `bind` (HOST:PORT, [IPv6]:PORT, unix:PATH, fd://N) can be reached from
    another machine. A name other than localhost may resolve anywhere: it counts as reachable."""
    if bind.startswith(("unix:", "fd://")):
        return False
    host = bind.rsplit(":", 1)[0] if bind.count(":") == 1 or bind.startswith("[") else bind
    host = host.strip("[]")
    if host in LOCAL_NAMES:
        return False
    try:
        return not ip_address(host).is_loopback
    except ValueError:
        return True


def refuse_untrusted_forwarding(
    binds: Iterable[str], *, behind_proxy: bool, trusted: list[IPv4Network | IPv6Network]
) -> None:
    """BEHIND_TLS_PROXY=1 believes X-Forwarded-For. Without TRUSTED_PROXIES it believes it from every connection,
    which is safe only while the proxy is the only way in: gunicorn on loopback. Listening beyond it, a client
    that reached gunicorn directly could name a new address in every request and pass every lockout."""
    exposed = [bind for bind in binds if _beyond_loopback(bind)]
    if behind_proxy and exposed and not trusted:
        raise RuntimeError(
            f"BEHIND_TLS_PROXY=1 with gunicorn listening on {', '.join(exposed)}, beyond loopback, and no "
            "TRUSTED_PROXIES: anyone reaching gunicorn directly could forge X-Forwarded-For and pass the lockouts. "
            "Set TRUSTED_PROXIES to the proxy's addresses, or bind gunicorn to 127.0.0.1 (docs/operations.md)."
        )
