"""The results benchmark's figures (tests/bench/results.py runs the parts): latency, calls and
CPU per result from the rows and the stand-in's counts, the CPU counter of PostgreSQL's
backends, and the printing."""

import json
import statistics
import threading
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.realparts import CLOCK_TICKS


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def latency_figures(
    *,
    ids: list[int],
    finished: dict[str, datetime],
    stats: dict[str, int],
    seconds: float,
    cpu_used: dict[str, float],
    webhooks: bool,
    vcc_delay_ms: float,
    not_completed: dict[str, int],
) -> dict[str, Any]:
    """The latency phase's figures: `finished` is each session's completion at the stand-in
    (by lower-case GUID), `stats` the stand-in's counts during the phase."""
    from django.conf import settings
    from django.db.models import Min
    from django.utils import timezone

    from payments.models import Order, Payment, PaymentEvent, WebhookDelivery

    arrived = dict(
        WebhookDelivery.objects.filter(payment_id__in=ids)
        .values("payment_id")
        .annotate(first=Min("received_at"))
        .values_list("payment_id", "first")
    )
    applied_by = dict(
        PaymentEvent.objects.filter(
            payment_id__in=ids,
            kind=PaymentEvent.Kind.STATE_CHANGED,
            from_state=Payment.State.IN_PROGRESS,
        ).values_list("payment_id", "source")
    )
    rows = Payment.objects.filter(pk__in=ids).select_related("order")
    latencies, arrivals, lost, wrong, live_seconds = [], [], 0, 0, 0.0
    still_live = 0
    for payment in rows:
        done = finished.get(str(payment.session_guid).lower())
        if done is None:
            continue  # its completion failed: counted in not_completed
        if payment.finished_at is None:
            still_live += 1
            continue
        latencies.append((payment.finished_at - done).total_seconds())
        if payment.pk in arrived:
            arrivals.append((arrived[payment.pk] - done).total_seconds())
        live_seconds += (payment.finished_at - payment.session_started_at).total_seconds()
        lost += payment.state == Payment.State.UNKNOWN
        paid = payment.state == Payment.State.APPROVED
        wrong += (payment.order.status == Order.Status.PAID) != paid
    twice = PaymentEvent.objects.filter(
        payment_id__in=ids,
        kind=PaymentEvent.Kind.STATE_CHANGED,
        from_state=Payment.State.IN_PROGRESS,
    ).count() - len(ids)
    interval = settings.PAYMENT_POLL_SCHEDULE[0][0] / timedelta(seconds=1)
    p50, p95, p99 = (
        percentile(latencies, share) if latencies else float("nan") for share in (0.5, 0.95, 0.99)
    )
    results = max(1, len(latencies))
    return {
        "webhooks": webhooks,
        "vcc_delay_ms": vcc_delay_ms,
        "payments": len(ids),
        "results": len(latencies),
        "not_completed": not_completed,
        "still_live": still_live,
        "seconds": round(seconds, 1),
        "latency_p50": round(p50, 3),
        "latency_p95": round(p95, 3),
        "latency_p99": round(p99, 3),
        "latency_max": round(max(latencies), 3) if latencies else None,
        "latency_mean": round(statistics.fmean(latencies), 3) if latencies else None,
        "polling_interval": interval,
        "p50_over_interval": round(p50 / interval, 2),
        "p99_over_interval": round(p99 / interval, 2),
        "applied_by_webhook": sum(1 for s in applied_by.values() if s == "webhook"),
        "applied_by_poll": sum(1 for s in applied_by.values() if s == "poll"),
        "webhook_arrival_p50": round(percentile(arrivals, 0.5), 3) if arrivals else None,
        "webhook_arrival_p95": round(percentile(arrivals, 0.95), 3) if arrivals else None,
        # Seconds between two reads of a live session, on average: the schedule asks for 1.
        "effective_poll_interval": round(live_seconds / max(1, stats["session_gets"]), 2),
        "vcc_gets_per_payment": round(stats["session_gets"] / len(ids), 1),
        "vcc_calls_per_payment": round(
            (stats["session_gets"] + stats["create_requests"] + stats["token_requests"]) / len(ids),
            1,
        ),
        "webhook_attempts": stats["webhook_attempts"],
        "cpu_seconds": {name: round(used, 2) for name, used in cpu_used.items()},
        # Our cost per result, process by process, and VCC's (the stand-in's) beside it.
        "cpu_ms_per_result": {
            name: round(used * 1000 / results, 2) for name, used in cpu_used.items()
        },
        "worker_cpu_percent_of_2_cores": round(100 * cpu_used["worker"] / seconds / 2, 1),
        "load_average_1min_after": load_average(),
        "results_lost": lost,
        "applied_twice": twice,
        "wrong_orders": wrong,
        "finished_at": timezone.now().isoformat(),
    }


class PostgresBackends:
    """CPU seconds of the PostgreSQL backends serving the bench database (found through
    pg_stat_activity, read from /proc), as a counter: sampled every half second, so a backend
    that exits loses at most its last half second. None when /proc does not show them."""

    def __init__(self, database_url: str) -> None:
        self.admin_url = database_url.rpartition("/")[0] + "/postgres"
        self.database = database_url.rpartition("/")[2]
        self.last: dict[int, int] = {}
        self.ticks = 0
        self.readable = False
        self.lock = threading.Lock()
        self.sample(count=False)
        self.stopping = threading.Event()
        threading.Thread(target=self.run, daemon=True, name="pg-cpu").start()

    def run(self) -> None:
        while not self.stopping.wait(0.5):
            self.sample()

    def sample(self, *, count: bool = True) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            pids = [
                row[0]
                for row in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", [self.database]
                )
            ]
        with self.lock:
            for pid in pids:
                ticks = process_ticks(pid)
                if ticks is None:
                    continue  # exited, or PostgreSQL runs where /proc does not show it
                self.readable = True
                if count:
                    self.ticks += ticks - self.last.get(pid, 0)
                self.last[pid] = ticks

    def cpu_seconds(self) -> float:
        self.sample()
        return self.ticks / CLOCK_TICKS if self.readable else float("nan")

    def stop(self) -> None:
        self.stopping.set()


def process_ticks(pid: int) -> int | None:
    """User + system clock ticks of one process, or None when /proc does not show it."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def load_average() -> float:
    """The machine's 1-minute load average: other work on it shows in the figures."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def phase(figures: dict[str, Any], key: str, measure: Callable[[], dict[str, Any]]) -> None:
    """Run one phase into figures[key]; a phase that fails is recorded with its error."""
    try:
        figures[key] = measure()
    except Exception as error:  # recorded in the JSON; the other phases still run
        figures[key] = {"error": f"{type(error).__name__}: {error}"}
        traceback.print_exc()
    print(json.dumps(figures[key], indent=2), flush=True)


def print_cpu_per_result(figures: dict[str, Any]) -> None:
    """The CPU milliseconds per result of each process, webhooks on and off side by side."""
    runs = {key: figures.get(f"latency_webhooks_{key}", {}) for key in ("on", "off")}
    print("CPU ms per result      webhooks on   polling only")
    for name in ("web", "worker", "beat", "postgres", "standin"):
        on, off = (runs[key].get("cpu_ms_per_result", {}).get(name) for key in ("on", "off"))
        print(f"  {name:<20} {on!s:>11}   {off!s:>12}")
