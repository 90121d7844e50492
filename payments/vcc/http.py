"""What the VCC client asks of HTTP: how often a safe call is retried, whether a failed
connection can have delivered a request, and the part of a URL that is safe to log."""

import random
from dataclasses import dataclass

import requests
import urllib3


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
