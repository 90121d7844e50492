"""Results benchmark: N payments in flight at once (BENCH_PAYMENTS, default 1,000) through the
light VCC stand-in (tests/bench/standin.py: one asyncio process, in memory, so that the figures
are our cost and not VCC's), on PostgreSQL and a Redis of our own: a real gunicorn serving our
webhook, ONE real Celery worker (prefork, three processes: two poll, one stays free for webhooks)
and a celery beat. Our app talks to the stand-in as to any VCC account ("bench").
BENCH_VCC_DELAY_MS (default 0; 80 is like a real network) delays every VCC answer.

1. Poll throughput: with every payment's read due at once, how many reads a second the worker
   makes as one task per read (`payments.poll_payment`) and as batches (`payments.poll_due`),
   and the worker's CPU per read.
2. Latency, twice (webhooks on, then polling only): the stand-in completes the N sessions
   through its control interface at random moments over BENCH_COMPLETE_SECONDS (default 60); we
   measure from the stand-in's completion to our payment and order being updated
   (p50/p95/p99), VCC calls per payment, the CPU seconds per result of each process (web,
   worker, beat, PostgreSQL's backends, the stand-in), and the ratio of the latency to the
   polling interval. Results lost, applied twice and wrong orders are counted: all must be 0.

Robust: a start that fails is retried, then counted and excluded with its reason; a phase that
fails is recorded with its error; the JSON is written whatever happens. The 1-minute load
average before the run is printed, with a warning when the machine was not quiet.

Run: `make bench BENCH=results` (BENCH_PAYMENTS=200 for a quick look). The figures are printed
and written to bench-results/results.json. See docs/benchmarks.md.
"""

import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.bench import standin
from tests.realparts import (
    CLOCK_TICKS,
    ROOT,
    Process,
    RedisServer,
    celery,
    free_port,
    wait_for,
)

PAYMENTS = int(os.environ.get("BENCH_PAYMENTS", "1000"))
COMPLETE_SECONDS = float(os.environ.get("BENCH_COMPLETE_SECONDS", "60"))
DATABASE = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/agentdesk_bench_results"
)
VCC_DELAY_MS = os.environ.get("BENCH_VCC_DELAY_MS", "0")
# A start is tried this many times before it is counted as failed and left out.
START_ATTEMPTS = 3
# Above this 1-minute load average before the run, the machine was not quiet.
QUIET_LOAD = 1.0
NOTHING_STARTED = {"payments": 0, "skipped": "no payment started: see start_failures"}
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
        self.vcc_port, self.web_port = free_port(), free_port()
        self.vcc_url = f"http://127.0.0.1:{self.vcc_port}"
        self.web_url = f"http://127.0.0.1:{self.web_port}"
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "agentdesk.settings",
                "DATABASE_URL": DATABASE,
                "REDIS_URL": self.redis.url(),
                "CELERY_BROKER_URL": self.redis.url(),
                "SITE_URL": self.web_url,
                "VCC_ACCOUNTS": "bench",
                "VCC_BENCH_AUTH_URL": self.vcc_url + "/Auth/connect/token",
                "VCC_BENCH_API_URL": self.vcc_url + "/api",
                "VCC_BENCH_CLIENT_ID": standin.CLIENT_ID,
                "VCC_BENCH_CLIENT_SECRET": standin.CLIENT_SECRET,
                "WEBHOOK_CLIENT_ID": "bench-webhook-client",
                "WEBHOOK_CLIENT_SECRET": "bench-webhook-secret",
                "VAR_DIR": str(WORKDIR / "var"),
                "DEBUG": "false",
                "LOG_LEVEL": "WARNING",  # this process; the servers log as in production
                "WEB_THREADS": "8",
            }
        )
        self.processes: list[Process] = []
        self.server_env = {**os.environ, "LOG_LEVEL": "INFO"}
        self.start_failures: dict[str, int] = {}

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
        """A gunicorn of this app, serving our webhook."""
        argv = [sys.executable, "-m", "gunicorn", "agentdesk.wsgi:application"]
        argv += ["--config", "python:agentdesk.gunicorn", "--access-logfile", "/dev/null"]
        env = {
            **self.server_env,
            "WEB_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": processes,
        }
        process = Process(name, argv, env, WORKDIR).start(ready="Booting worker")
        self.processes.append(process)
        return process

    def start_servers(self) -> None:
        for log in WORKDIR.glob("*.log"):
            log.unlink()
        argv = [sys.executable, "-m", "tests.bench.standin", "--port", str(self.vcc_port)]
        argv += ["--delay-ms", VCC_DELAY_MS]
        argv += ["--webhook-url", self.web_url + "/payments/webhook/vcc"]
        self.vcc = Process("standin", argv, self.server_env, WORKDIR).start(ready="listening")
        self.processes.append(self.vcc)
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
            return (
                requests.get(self.vcc_url + "/control/stats", timeout=2).ok
                and requests.get(self.web_url + "/payments/webhook/token", timeout=2).status_code
                < 500
            )
        except requests.RequestException:
            return False

    def cpu_parts(self) -> dict[str, Callable[[], float]]:
        """Each process's CPU seconds so far, ours first, then VCC's stand-in."""
        if not hasattr(self, "postgres"):
            self.postgres = PostgresBackends(DATABASE)
        return {
            "web": self.web.cpu_seconds,
            "worker": self.worker.cpu_seconds,
            "beat": self.beat.cpu_seconds,
            "postgres": self.postgres.cpu_seconds,
            "standin": self.vcc.cpu_seconds,
        }

    def stop(self) -> None:
        if hasattr(self, "postgres"):
            self.postgres.stop()
        for process in reversed(self.processes):
            process.stop()
        self.redis.stop()

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        import requests

        response = requests.request(method, f"{self.vcc_url}/control/{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    # --- Data -------------------------------------------------------------------------

    def start_payments(self, count: int) -> list[int]:
        """Open `count` sessions through the app's own service, 8 at a time, as agents would.
        A start VCC refuses is retried (as an agent presses Retry); one that keeps failing is
        counted by its reason in self.start_failures and left out."""
        from django.db import connections

        from payments import services
        from payments.models import Payment
        from tests import builders

        flow = builders.flow(name=f"Bench {time.time()}", is_default=False, account="bench")
        agent = builders.agent_user(f"bench{time.time_ns()}", vcc_agent_id=str(time.time_ns()))
        orders = [builders.order() for _ in range(count)]

        def start(order: Any) -> int | None:
            reason, retry_of = "", None
            try:
                for attempt in range(START_ATTEMPTS):
                    try:
                        payment = services.start_payment(
                            order=order, flow=flow, agent=agent.agent, retry_of=retry_of
                        ).payment
                    except Exception as error:  # counted with its reason, never hidden
                        reason = f"{type(error).__name__}: {error}"[:200]
                        break
                    if payment.state == Payment.State.IN_PROGRESS and payment.session_guid:
                        return int(payment.pk)
                    reason, retry_of = payment.message or str(payment.state), payment
                    if attempt + 1 < START_ATTEMPTS:
                        time.sleep(5 * (attempt + 1))  # past an open circuit breaker
            finally:
                connections.close_all()
            self.start_failures[reason] = self.start_failures.get(reason, 0) + 1
            return None

        with ThreadPoolExecutor(8) as pool:
            return [pk for pk in pool.map(start, orders) if pk is not None]

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
            "standin_cpu_ms_per_read": round(
                (self.vcc.cpu_seconds() - vcc_cpu) * 1000 / len(ids), 2
            ),
        }

    def poll_throughput(self) -> dict[str, Any]:
        from celery import current_app

        from payments import poller
        from payments.models import Payment

        ids = self.start_payments(PAYMENTS)
        if not ids:
            return NOTHING_STARTED
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

        self.control("POST", "reset")
        self.control("POST", "knobs", {"webhooks": webhooks})
        ids = self.start_payments(PAYMENTS)
        if not ids:
            return NOTHING_STARTED
        guids = dict(Payment.objects.filter(pk__in=ids).values_list("session_guid", "pk"))
        plan = sorted(
            (random.uniform(2, 2 + COMPLETE_SECONDS), guid, random.choice(OUTCOMES))
            for guid in guids
        )
        parts = self.cpu_parts()
        cpu_before = {name: cpu() for name, cpu in parts.items()}
        began = time.monotonic()
        not_completed: dict[str, int] = {}

        def complete(step: tuple[float, str, str]) -> None:
            at, guid, outcome = step
            time.sleep(max(0.0, began + at - time.monotonic()))
            try:
                self.control("POST", f"sessions/{guid}/outcome", {"outcome": outcome})
            except Exception as error:  # counted with its reason; the bench goes on
                reason = f"{type(error).__name__}: {error}"[:200]
                not_completed[reason] = not_completed.get(reason, 0) + 1

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(complete, plan))
        live = Payment.objects.filter(pk__in=ids, state=Payment.State.IN_PROGRESS)
        try:
            wait_for(lambda: not live.exists(), timeout=300, interval=0.2, what="every result")
        except AssertionError:
            pass  # counted below as still live
        seconds = time.monotonic() - began
        cpu_used = {name: cpu() - cpu_before[name] for name, cpu in parts.items()}

        finished = {
            str(guid).lower(): datetime.fromtimestamp(at, UTC)
            for guid, at in self.control("GET", "sessions").items()
            if at is not None
        }
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
        stats = self.control("GET", "stats")
        interval = settings.PAYMENT_POLL_SCHEDULE[0][0] / timedelta(seconds=1)
        p50, p95, p99 = (
            percentile(latencies, share) if latencies else float("nan")
            for share in (0.5, 0.95, 0.99)
        )
        Payment.objects.filter(pk__in=ids).update(next_poll_at=None)
        results = max(1, len(latencies))
        return {
            "webhooks": webhooks,
            "vcc_delay_ms": float(VCC_DELAY_MS),
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
                (stats["session_gets"] + stats["create_requests"] + stats["token_requests"])
                / len(ids),
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


def run() -> None:
    before = load_average()
    figures: dict[str, Any] = {
        "payments": PAYMENTS,
        "cpus": os.cpu_count(),
        "vcc_delay_ms": float(VCC_DELAY_MS),
        "load_average_1min_before": before,
        "quiet": before <= QUIET_LOAD,
    }
    print(f"results: load average (1 min) before the run: {before}", flush=True)
    if before > QUIET_LOAD:
        print(
            f"WARNING: the machine is not quiet (load {before} > {QUIET_LOAD}): "
            "these figures measure the other work too; do not publish them.",
            flush=True,
        )
    bench = Bench()
    try:
        bench.prepare_database()
        import django

        django.setup()
        bench.start_servers()
        print(f"results: {PAYMENTS} payments; poll throughput ...", flush=True)
        phase(figures, "throughput", bench.poll_throughput)
        bench.start_beat()
        for webhooks in (True, False):
            print(f"results: latency with webhooks {'on' if webhooks else 'off'} ...", flush=True)
            phase(
                figures,
                f"latency_webhooks_{'on' if webhooks else 'off'}",
                lambda webhooks=webhooks: bench.latency(webhooks=webhooks),  # type: ignore[misc]
            )
        print_cpu_per_result(figures)
    finally:
        figures["start_failures"] = bench.start_failures
        bench.stop()
        OUT.mkdir(exist_ok=True)
        (OUT / "results.json").write_text(json.dumps(figures, indent=2))
        print(f"written to {Path(OUT / 'results.json').relative_to(ROOT)}")
