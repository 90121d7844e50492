"""Payments' part of the readiness probe (agentdesk/health.py): beat's last tick, the
poller's oldest overdue read, and each VCC account's token. Each costs one query or one cache
round trip; none calls VCC."""

import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from agentdesk.shared.health import Check
from payments.models import Payment
from payments.vcc.accounts import AccountConfigError
from payments.vcc.client import client_for

# Set by every poll round celery beat starts (payments.poll_due), read by the probe.
BEAT_TICK_KEY = "health:beat-tick"
# Beat starts a round every PAYMENT_POLL_TICK (1 s): this many seconds without one is silence.
BEAT_SILENT_AFTER = 5.0
# A live payment whose read is overdue by more than this means the poller is not keeping up.
POLLER_LAG_LIMIT = timedelta(seconds=10)


def record_beat_tick() -> None:
    """Say that beat's poll round ran now."""
    cache.set(BEAT_TICK_KEY, time.time(), timeout=None)


def beat_check(known: dict[str, object]) -> Check:
    """Beat's last tick, from `known` (the probe reads the cache keys together)."""
    tick = known.get(BEAT_TICK_KEY)
    if not isinstance(tick, int | float):
        return Check("beat", False, "no poll round has ever run: is celery beat running?")
    age = time.time() - tick
    ok = age <= BEAT_SILENT_AFTER
    detail = f"last poll round {age:.1f}s ago"
    return Check("beat", ok, detail if ok else f"{detail}: is celery beat running?")


def poller_check() -> Check:
    """The live payment whose read is most overdue (one indexed query)."""
    now = timezone.now()
    oldest = (
        Payment.objects.filter(state=Payment.State.IN_PROGRESS, next_poll_at__lte=now)
        .order_by("next_poll_at")
        .values_list("pk", "next_poll_at")
        .first()
    )
    if oldest is None or oldest[1] is None:
        return Check("poller", True, "no read overdue")
    lag = now - oldest[1]
    detail = f"oldest overdue read: payment {oldest[0]}, {lag.total_seconds():.1f}s late"
    return Check("poller", lag <= POLLER_LAG_LIMIT, detail)


def vcc_token_checks() -> list[Check]:
    """Each configured VCC account's token, from what the client already knows."""
    checks = []
    for name in settings.VCC_ACCOUNTS:
        try:
            ok, detail = client_for(name).token_health()
        except AccountConfigError as error:
            ok, detail = False, str(error)
        checks.append(Check(f"vcc_token:{name}", ok, detail))
    return checks
