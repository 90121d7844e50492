"""Results benchmark: N payments in flight at once (BENCH_PAYMENTS, default 1,000) through the
built-in sandbox, on PostgreSQL and a Redis of our own: a real gunicorn serving the sandbox (VCC),
another serving our webhook, ONE real Celery worker (prefork, three processes: two poll, one
stays free for webhooks) and a celery beat.

1. Poll throughput: with every payment's read due at once, how many reads a second the worker
   makes as one task per read (`payments.poll_payment`) and as batches (`payments.poll_due`),
   and the worker's CPU per read.
2. Latency, twice (webhooks on, then polling only): the sandbox completes the N sessions through
   its control API at random moments over BENCH_COMPLETE_SECONDS (default 60); we measure from
   the sandbox's completion to our payment and order being updated (p50/p95/p99), VCC calls
   per payment, worker CPU, and the ratio of the latency to the polling interval. Results lost,
   applied twice and wrong orders are counted: all must be 0.

Run: `make bench BENCH=results` (BENCH_PAYMENTS=200 for a quick look). The figures are printed
and written to bench-results/results.json. See docs/benchmarks.md.
"""

import json
import os
import random
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.realparts import ROOT, Process, RedisServer, celery, free_port, wait_for

PAYMENTS = int(os.environ.get("BENCH_PAYMENTS", "1000"))
COMPLETE_SECONDS = float(os.environ.get("BENCH_COMPLETE_SECONDS", "60"))
DATABASE = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/agentdesk_bench_results"
)
WEB_WORKERS = os.environ.get("BENCH_WEB_WORKERS", "2")
OUT = ROOT / "bench-results"
WORKDIR = ROOT / "var" / "bench-results"
OUTCOMES = ["approved"] * 18 + ["declined", "hangup"]


def main() -> None:
    """Run the benchmark in a fresh Python process: it configures Django its own way."""
    subprocess.run(
        [sys.executable, "-c", "from tests.bench.results import run; run()"],
        cwd=ROOT,
        check=True,
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class Bench:
    def __init__(self) -> None:
        WORKDIR.mkdir(parents=True, exist_ok=True)
        self.redis = RedisServer(WORKDIR / "redis").start()
        # VCC (the sandbox) and our web server run apart, as they do in life: our polling does
        # not queue in front of our webhook, nor VCC's webhook sender behind our reads.
        self.vcc_port, self.web_port = free_port(), free_port()
        self.vcc_url = f"http://127.0.0.1:{self.vcc_port}"
        self.web_url = f"http://127.0.0.1:{self.web_port}"
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "agentdesk.settings",
                "DATABASE_URL": DATABASE,
                "REDIS_URL": self.redis.url(),
                "CELERY_BROKER_URL": self.redis.url(),
                # The built-in account's URLs follow SITE_URL: our side calls the sandbox.
                "SITE_URL": self.vcc_url,
                "VAR_DIR": str(WORKDIR / "var"),
                "DEBUG": "false",
                "LOG_LEVEL": "WARNING",  # this process; the servers log as in production
                "WEB_THREADS": "8",
            }
        )
        self.processes: list[Process] = []
        self.server_env = {**os.environ, "LOG_LEVEL": "INFO"}

    # --- The parts ---------------------------------------------------------------------

    def prepare_database(self) -> None:
        import psycopg

        admin, _, name = DATABASE.rpartition("/")
        with psycopg.connect(admin + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True
        )

    def gunicorn(self, name: str, port: int, processes: str) -> Process:
        """A gunicorn of this app; its SITE_URL (the sandbox's webhook target) is ours."""
        argv = [sys.executable, "-m", "gunicorn", "agentdesk.wsgi:application"]
        argv += ["--config", "python:agentdesk.gunicorn", "--access-logfile", "/dev/null"]
        env = {
            **self.server_env,
            "SITE_URL": self.web_url,
            "WEB_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": processes,
        }
        process = Process(name, argv, env, WORKDIR).start(ready="Booting worker")
        self.processes.append(process)
        return process

    def start_servers(self) -> None:
        for log in WORKDIR.glob("*.log"):
            log.unlink()
        self.vcc = self.gunicorn("vcc", self.vcc_port, WEB_WORKERS)
        self.web = self.gunicorn("web", self.web_port, "1")
        self.worker = celery(
            "worker",
            "--concurrency=3",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
            env=self.server_env,
            log_dir=WORKDIR,
        ).start(ready=" ready.")
        self.processes.append(self.worker)
        wait_for(self.web_answers, timeout=30, what="gunicorn")

    def start_beat(self) -> None:
        self.beat = celery(
            "beat",
            "--loglevel=INFO",
            "-s",
            str(WORKDIR / "celerybeat-schedule"),
            env=self.server_env,
            log_dir=WORKDIR,
            name="beat",
        ).start(ready="beat: Starting")
        self.processes.append(self.beat)

    def web_answers(self) -> bool:
        import requests

        try:
            return requests.get(self.vcc_url + "/sandbox/control/stats", timeout=2).ok
        except requests.RequestException:
            return False

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.redis.stop()

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        import requests

        response = requests.request(
            method, f"{self.vcc_url}/sandbox/control/{path}", json=body, timeout=30
        )
        response.raise_for_status()
        return response.json()

    # --- Data -------------------------------------------------------------------------

    def start_payments(self, count: int) -> list[int]:
        """Open `count` sessions through the app's own service, 8 at a time, as agents would."""
        from django.db import connections

        from payments import services
        from tests import builders

        flow = builders.flow(name=f"Bench {time.time()}", is_default=False)
        agent = builders.agent_user(f"bench{time.time_ns()}", vcc_agent_id=str(time.time_ns()))
        orders = [builders.order() for _ in range(count)]

        def start(order: Any) -> int:
            try:
                started = services.start_payment(order=order, flow=flow, agent=agent.agent)
                return int(started.payment.pk)
            finally:
                connections.close_all()

        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(start, orders))

    # --- Phase 1: poll throughput -------------------------------------------------------

    def reads_per_second(self, ids: list[int], send: Any, reads_before: int) -> dict[str, float]:
        from django.utils import timezone

        from payments.models import Payment

        payments = Payment.objects.filter(pk__in=ids)
        payments.update(next_poll_at=timezone.now())
        cpu, vcc_cpu, started = self.worker.cpu_seconds(), self.vcc.cpu_seconds(), time.monotonic()
        send()
        wait_for(
            lambda: not payments.filter(poll_count__lte=reads_before).exists(),
            timeout=600,
            interval=0.05,
            what="every payment to be read",
        )
        seconds = time.monotonic() - started
        worker_cpu = self.worker.cpu_seconds() - cpu
        return {
            "load_average_1min_after": load_average(),
            "seconds": round(seconds, 2),
            "reads_per_second": round(len(ids) / seconds, 1),
            "worker_cpu_ms_per_read": round(worker_cpu * 1000 / len(ids), 2),
            # What the worker could do if reads were all it did, on both cores.
            "worker_cpu_bound_reads_per_second": round(2 * len(ids) / max(worker_cpu, 1e-9)),
            "worker_cpu_percent_of_2_cores": round(100 * worker_cpu / seconds / 2, 1),
            "sandbox_cpu_ms_per_read": round(
                (self.vcc.cpu_seconds() - vcc_cpu) * 1000 / len(ids), 2
            ),
        }

    def poll_throughput(self) -> dict[str, Any]:
        from celery import current_app

        from payments import poller
        from payments.models import Payment

        ids = self.start_payments(PAYMENTS)
        # No beat yet: the reads are the measurement's alone.
        Payment.objects.filter(pk__in=ids).update(next_poll_at=None)
        per_task = self.reads_per_second(
            ids,
            lambda: [current_app.send_task(poller.READ_ONE_TASK, args=[pk]) for pk in ids],
            reads_before=0,
        )
        batched = self.reads_per_second(
            ids,
            lambda: [current_app.send_task(poller.ROUND_TASK) for _ in range(2)],
            reads_before=1,
        )
        Payment.objects.filter(pk__in=ids).update(state=Payment.State.EXPIRED, next_poll_at=None)
        return {"payments": len(ids), "one_task_per_read": per_task, "batched": batched}

    # --- Phase 2: latency ----------------------------------------------------------------

    def latency(self, *, webhooks: bool) -> dict[str, Any]:
        from django.conf import settings
        from django.db.models import Min
        from django.utils import timezone

        from payments.models import Order, Payment, PaymentEvent, WebhookDelivery
        from payments.vcc.sandbox.models import Session

        self.control("POST", "reset")
        self.control("POST", "knobs", {"webhooks": webhooks})
        ids = self.start_payments(PAYMENTS)
        guids = dict(Payment.objects.filter(pk__in=ids).values_list("session_guid", "pk"))
        plan = sorted(
            (random.uniform(2, 2 + COMPLETE_SECONDS), guid, random.choice(OUTCOMES))
            for guid in guids
        )
        cpu, web_cpu, vcc_cpu = (p.cpu_seconds() for p in (self.worker, self.web, self.vcc))
        beat_cpu, began = self.beat.cpu_seconds(), time.monotonic()

        def complete(step: tuple[float, str, str]) -> None:
            at, guid, outcome = step
            time.sleep(max(0.0, began + at - time.monotonic()))
            self.control("POST", f"sessions/{guid}/outcome", {"outcome": outcome})

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(complete, plan))
        live = Payment.objects.filter(pk__in=ids, state=Payment.State.IN_PROGRESS)
        wait_for(lambda: not live.exists(), timeout=300, interval=0.2, what="every result")
        seconds = time.monotonic() - began
        worker_cpu = self.worker.cpu_seconds() - cpu

        finished = dict(Session.objects.values_list("guid", "finished_on"))
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
        for payment in rows:
            done = finished[_uuid(payment.session_guid)]
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
        stats = self.control("GET", "stats")
        interval = settings.PAYMENT_POLL_SCHEDULE[0][0] / timedelta(seconds=1)
        p50, p95, p99 = (percentile(latencies, share) for share in (0.5, 0.95, 0.99))
        Payment.objects.filter(pk__in=ids).update(next_poll_at=None)
        return {
            "webhooks": webhooks,
            "payments": len(ids),
            "seconds": round(seconds, 1),
            "latency_p50": round(p50, 3),
            "latency_p95": round(p95, 3),
            "latency_p99": round(p99, 3),
            "latency_max": round(max(latencies), 3),
            "latency_mean": round(statistics.fmean(latencies), 3),
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
                (stats["session_gets"] + stats["create_requests"] + stats["token_requests"])
                / len(ids),
                1,
            ),
            "webhook_attempts": stats["webhook_attempts"],
            "worker_cpu_seconds": round(worker_cpu, 1),
            "worker_cpu_percent_of_2_cores": round(100 * worker_cpu / seconds / 2, 1),
            "beat_cpu_seconds": round(self.beat.cpu_seconds() - beat_cpu, 1),
            "web_cpu_seconds": round(self.web.cpu_seconds() - web_cpu, 1),
            "sandbox_cpu_seconds": round(self.vcc.cpu_seconds() - vcc_cpu, 1),
            "load_average_1min_after": load_average(),
            "results_lost": lost,
            "applied_twice": twice,
            "wrong_orders": wrong,
            "finished_at": timezone.now().isoformat(),
        }


def load_average() -> float:
    """The machine's 1-minute load average: other work on it shows in the figures."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def _uuid(guid: str | None) -> Any:
    import uuid

    return uuid.UUID(str(guid))


def run() -> None:
    bench = Bench()
    try:
        bench.prepare_database()
        import django

        django.setup()
        bench.start_servers()
        figures: dict[str, Any] = {"payments": PAYMENTS, "cpus": os.cpu_count()}
        print(f"results: {PAYMENTS} payments; poll throughput ...", flush=True)
        figures["throughput"] = bench.poll_throughput()
        print(json.dumps(figures["throughput"], indent=2), flush=True)
        bench.start_beat()
        for webhooks in (True, False):
            print(f"results: latency with webhooks {'on' if webhooks else 'off'} ...", flush=True)
            figures[f"latency_webhooks_{'on' if webhooks else 'off'}"] = run_latency = (
                bench.latency(webhooks=webhooks)
            )
            print(json.dumps(run_latency, indent=2), flush=True)
        OUT.mkdir(exist_ok=True)
        (OUT / "results.json").write_text(json.dumps(figures, indent=2))
        print(f"written to {Path(OUT / 'results.json').relative_to(ROOT)}")
    finally:
        bench.stop()
