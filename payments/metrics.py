"""Payments' gauges, computed when Prometheus scrapes (agentdesk/metrics.py serves them):
live payments and the oldest one's age, the poller's backlog and lag, outcomes unknown and
flagged results waiting for a supervisor, beat's last tick and each VCC account's breaker.

They are read from the rows and the cache, which every process shares, so they are right
whichever process answers the scrape: three indexed queries and one cache round trip.
"""

from collections.abc import Iterator, Mapping
from datetime import datetime

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from agentdesk.shared import metrics
from agentdesk.shared.metrics import PREFIX
from payments import health
from payments.models import Payment
from payments.vcc.client import vcc_breaker

State = Payment.State
# The states a payment waits in: live ones for VCC, unknown for a supervisor.
WAITING_STATES = (State.STARTING, State.IN_PROGRESS, State.UNKNOWN)


def _gauge(name: str, documentation: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=labels)


class PaymentsCollector(Collector):
    """Yields the gauges of the module's docstring, read afresh at each scrape."""

    def __init__(self, accounts: list[str]) -> None:
        self.accounts = accounts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        waiting = {
            row["state"]: row
            for row in Payment.objects.filter(state__in=WAITING_STATES)
            .values("state")
            .annotate(count=Count("pk"), oldest=Min("created_at"))
            .order_by()
        }
        live = _gauge("payments_live", "Payments live now (starting, in progress).", ["state"])
        oldest_age = 0.0
        for state in (State.STARTING, State.IN_PROGRESS):
            row = waiting.get(state)
            live.add_metric([state.value], row["count"] if row else 0)
            if row:
                oldest_age = max(oldest_age, (now - row["oldest"]).total_seconds())
        yield live
        age = _gauge("payment_oldest_live_age_seconds", "Age of the oldest live payment.")
        age.add_metric([], oldest_age)
        yield age
        unknown = _gauge(
            "payments_unknown", "Payments of unknown outcome waiting for a supervisor's decision."
        )
        unknown.add_metric([], waiting[State.UNKNOWN]["count"] if State.UNKNOWN in waiting else 0)
        yield unknown
        flagged = _gauge(
            "payments_flagged",
            "Payments flagged (contradictory or late result, amount mismatch) and not resolved.",
        )
        flagged.add_metric([], Payment.objects.filter(flagged=True).count())
        yield flagged
        yield from self._poller(now)
        yield from self._shared_state()

    def _poller(self, now: datetime) -> Iterator[GaugeMetricFamily]:
        due = (
            Payment.objects.filter(state=State.IN_PROGRESS, next_poll_at__lte=now)
            .order_by()
            .aggregate(count=Count("pk"), oldest=Min("next_poll_at"))
        )
        backlog = _gauge("poller_backlog", "Live payments whose next read is due and not claimed.")
        backlog.add_metric([], due["count"])
        yield backlog
        lag = _gauge("poller_lag_seconds", "How late the most overdue read is (0: none overdue).")
        oldest = due["oldest"]
        lag.add_metric([], (now - oldest).total_seconds() if oldest else 0.0)
        yield lag

    def _shared_state(self) -> Iterator[GaugeMetricFamily]:
        breaker = vcc_breaker()
        tick = cache.get(health.BEAT_TICK_KEY)
        beat = _gauge(
            "beat_last_tick_timestamp_seconds",
            "When celery beat last started a poll round (Unix time; 0: never).",
        )
        beat.add_metric([], float(tick) if isinstance(tick, int | float) else 0.0)
        yield beat
        circuit = _gauge(
            "vcc_circuit_open",
            "1 while calls to a VCC account are paused by its breaker.",
            ["account"],
        )
        for name in self.accounts:
            circuit.add_metric([name], 1.0 if breaker.opened(name) is not None else 0.0)
        yield circuit


# --- Counting, from the services and tasks --------------------------------------------------


def count_started(flow: str) -> None:
    """Count a payment started on `flow` (its row is written)."""
    metrics.payments_started.labels(flow=flow).inc()


def count_ended(payment: Payment, to_state: str) -> None:
    """Count a payment leaving the live states, once its transaction commits."""
    flow = payment.flow.name
    transaction.on_commit(lambda: metrics.payments_ended.labels(flow=flow, state=to_state).inc())


def observe_result_delay(path: str, vcc_finished_at: datetime | None) -> None:
    """Observe, when the order's update commits, how long ago VCC finished the session."""
    if vcc_finished_at is None:
        return

    def observe() -> None:
        delay = (timezone.now() - vcc_finished_at).total_seconds()
        metrics.result_delay.labels(path=path).observe(max(0.0, delay))

    transaction.on_commit(observe)


def count_poll_reads(tally: Mapping[str, int]) -> None:
    """Count a poll round's reads by what they meant."""
    for outcome, reads in tally.items():
        metrics.poll_reads.labels(outcome=outcome).inc(reads)


def count_webhook(outcome: str) -> None:
    """Count a webhook delivery's step: refused, received, invalid, ignored, retry, and how VCC's
    own read settled it (confirmed, contradicted, unconfirmed)."""
    metrics.webhook_deliveries.labels(outcome=outcome).inc()
