"""What the VCC client asks of HTTP: how often a safe call is retried, whether a failed
connection can have delivered a request, whether it was a kept-alive connection the server
closed as we reused it, and the part of a URL that is safe to log."""

import http.client
import logging
import random
import threading
from dataclasses import dataclass
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter

log = logging.getLogger("payments.vcc.client")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a safe call is retried (token request and GET session)."""

    attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 2.0
    # A Retry-After longer than this is not slept through: the error goes to the caller.
    max_retry_after: float = 5.0

    def delay(self, attempt: int) -> float:
        """Full-jitter exponential backoff before attempt number `attempt + 1`."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


def never_connected(error: requests.ConnectionError) -> bool:
    """True when the connection could not even be opened (refused, no route, DNS): the
    request cannot have reached VCC. A connection dropped later may have delivered it."""
    reason = error.args[0] if error.args else None
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def path_shape(url: str) -> str:
    """The path of `url` without host or query: safe to log (no credentials, no tokens)."""
    path = url.split("://", 1)[-1]
    path = path[path.find("/") :] if "/" in path else "/"
    return path.split("?", 1)[0]


# Whether the last request sent by this thread went out on a connection used before.
_last_request = threading.local()


class _CountsRequests:
    """A connection that notes whether each request reuses it (kept alive)."""

    requests_sent = 0

    def request(self, *args: Any, **kwargs: Any) -> Any:
        _last_request.reused = self.requests_sent > 0
        self.requests_sent += 1
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_CountsRequests, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_CountsRequests, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class KeepAliveAdapter(HTTPAdapter):
    """requests' adapter whose connections tell dropped_kept_alive() whether they were reused."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def dropped_kept_alive(error: requests.ConnectionError) -> bool:
    """True when the server closed a kept-alive connection just as we reused it, with no
    answer at all. Servers close idle connections when they please (gunicorn after 2 s), so
    this is no sign VCC is down: one more try on a fresh connection is the cure."""
    if not getattr(_last_request, "reused", False):
        return False
    reason = error.args[0] if error.args else None
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
    if not isinstance(reason, urllib3.exceptions.ProtocolError) or len(reason.args) < 2:
        return False
    dropped = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
    return isinstance(reason.args[1], dropped)


def request_reconnecting(
    session: requests.Session, method: str, url: str, *, may_reach: bool, **kwargs: Any
) -> requests.Response:
    """One HTTP request; once more on a fresh connection when the server closed the
    kept-alive one we reused, unless the request may have arrived and must not be sent twice
    (`may_reach`: VCC has no idempotency key)."""
    try:
        return session.request(method, url, **kwargs)
    except requests.ConnectionError as error:
        if may_reach or not dropped_kept_alive(error):
            raise
        log.info("vcc_reconnect method=%s path=%s", method, path_shape(url))
        return session.request(method, url, **kwargs)
