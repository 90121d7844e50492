"""Whether VCC's webhooks are arriving, which decides how often the poller reads a live session.

Healthy means: webhooks are configured, a delivery VCC confirmed within WEBHOOK_HEALTHY_WINDOW,
and no result since then that a read found with no delivery announcing it (a "miss": a finished
session, or one VCC no longer has). While healthy the poller reads live sessions only every
PAYMENT_POLL_SAFETY_NET; otherwise on PAYMENT_POLL_SCHEDULE, as when there are no webhooks.
docs/results.md gives the reasoning. The two moments live in the shared cache: losing them
(a Redis flush) reads as "not healthy", which costs reads, never a result.
"""

import time

from django.conf import settings
from django.core.cache import cache

CONFIRMED_KEY = "payments:webhooks:confirmed-at"
MISSED_KEY = "payments:webhooks:missed-at"
# What the poller last found, so that it notices the moment webhooks stop being healthy.
SEEN_KEY = "payments:webhooks:healthy"


def record_confirmed() -> None:
    """A read confirmed a delivery's result: webhooks are arriving."""
    cache.set(CONFIRMED_KEY, time.time(), timeout=None)


def record_missed() -> None:
    """A read found a result no delivery had announced: webhooks are not (all) arriving."""
    cache.set(MISSED_KEY, time.time(), timeout=None)


def forget() -> None:
    cache.delete_many([CONFIRMED_KEY, MISSED_KEY, SEEN_KEY])


def _healthy(known: dict[str, object], now: float) -> bool:
    if not (settings.WEBHOOK_CLIENT_ID and settings.WEBHOOK_CLIENT_SECRET):
        return False
    confirmed, missed = known.get(CONFIRMED_KEY), known.get(MISSED_KEY)
    if not isinstance(confirmed, int | float):
        return False
    if now - confirmed > settings.WEBHOOK_HEALTHY_WINDOW.total_seconds():
        return False
    return not (isinstance(missed, int | float) and missed >= confirmed)


def healthy() -> bool:
    """Whether webhooks are healthy now (one cache round trip)."""
    return _healthy(cache.get_many([CONFIRMED_KEY, MISSED_KEY]), time.time())


def check() -> tuple[bool, bool]:
    """Whether webhooks are healthy now, and whether they just stopped being so (since the
    last check by any process): then the poller pulls every live session's next read in."""
    known = cache.get_many([CONFIRMED_KEY, MISSED_KEY, SEEN_KEY])
    now_healthy = _healthy(known, time.time())
    seen = known.get(SEEN_KEY)
    if seen != now_healthy:
        cache.set(SEEN_KEY, now_healthy, timeout=None)
    return now_healthy, seen is True and not now_healthy
