"""Counting failures and failing fast, shared by every process through the cache.

`count_in_window` is the one counter (failures of a service, refused webhook-token
requests); `CircuitBreaker` stops calling a service that keeps failing (VCC, the CRM) for a
while, so that nobody waits for its timeouts one call after another.
"""

import time
from dataclasses import dataclass, field

from django.core.cache import cache


def count_in_window(key: str, window: float) -> int:
    """Add one to the count under `key`, which is forgotten `window` seconds after the last
    addition; returns the new count."""
    seconds = max(1, int(window))
    cache.add(key, 0, timeout=seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=seconds)
        count = 1
    cache.touch(key, seconds)
    return int(count)


@dataclass(frozen=True)
class Open:
    """A breaker that is open: why (the failure that opened it) and for how much longer."""

    reason: str
    seconds_left: float


@dataclass
class CircuitBreaker:
    """After `threshold` consecutive failures of a service (under `key`, e.g. a VCC account),
    calls fail fast for `open_seconds`.

    A process looks at the shared state at most once a `recheck_seconds` while calls go well,
    and at once after a failure of its own: another process's opening is seen within that
    time, and a success resets the shared count at most that often (a poller makes hundreds
    of calls a second, and each look is a cache round trip)."""

    service: str
    threshold: int = 5
    open_seconds: float = 15.0
    recheck_seconds: float = 1.0
    _closed_until: dict[str, float] = field(default_factory=dict, repr=False, compare=False)
    _reset_until: dict[str, float] = field(default_factory=dict, repr=False, compare=False)

    def _key(self, key: str, part: str) -> str:
        return f"{self.service}:circuit:{key}:{part}"

    def opened(self, key: str = "") -> Open | None:
        """Whether calls under `key` are paused now, and why."""
        if self._closed_until.get(key, 0.0) > time.monotonic():
            return None
        state = cache.get(self._key(key, "open"))
        if state is not None and state[0] > time.time():
            return Open(reason=state[1], seconds_left=state[0] - time.time())
        self._closed_until[key] = time.monotonic() + self.recheck_seconds
        return None

    def failed(self, key: str = "", reason: str = "") -> None:
        self._closed_until.pop(key, None)
        self._reset_until.pop(key, None)
        if count_in_window(self._key(key, "failures"), 60) >= self.threshold:
            until = time.time() + self.open_seconds
            cache.set(self._key(key, "open"), (until, reason), timeout=int(self.open_seconds) + 1)

    def succeeded(self, key: str = "") -> None:
        if self._reset_until.get(key, 0.0) > time.monotonic():
            return
        self.reset(key)
        self._reset_until[key] = time.monotonic() + self.recheck_seconds

    def reset(self, key: str = "") -> None:
        """Close the breaker for every process now."""
        self._closed_until.pop(key, None)
        cache.delete_many([self._key(key, "failures"), self._key(key, "open")])
