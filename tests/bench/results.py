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
   With webhooks on, BENCH_WARM_UP (default 5) results are first announced by webhook and
   confirmed, as on a desk already at work, so that polling starts as the safety net
   (payments/webhook_health.py); polling only starts with no webhook ever confirmed.
   The figures are made by tests/bench/results_report.py.

Robust: a start that fails is retried, then counted and excluded with its reason; a phase that
fails is recorded with its error; the JSON is written whatever happens. The 1-minute load
average before the run is printed, with a warning when the machine was not quiet.

Run: `make bench BENCH=results` (BENCH_PAYMENTS=200 for a quick look). The figures are printed
and written to bench-results/results.json. See docs/benchmarks.md.
"""

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.bench import standin
from tests.bench.results_report import (
    PostgresBackends,
    latency_figures,
    load_average,
    phase,
    print_cpu_per_result,
)
from tests.realparts import ROOT, Process, RedisServer, celery, free_port, wait_for

PAYMENTS = int(os.environ.get("BENCH_PAYMENTS", "1000"))
COMPLETE_SECONDS = float(os.environ.get("BENCH_COMPLETE_SECONDS", "60"))
DATABASE = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/agentdesk_bench_results"
)
VCC_DELAY_MS = os.environ.get("BENCH_VCC_DELAY_MS", "0")
# Results confirmed by webhook before the measured payments start, with webhooks on (0: none,
# a cold start: the quick schedule until the first confirmation).
WARM_UP = int(os.environ.get("BENCH_WARM_UP", "5"))
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
        self.worker = self.start_worker()
        wait_for(self.web_answers, timeout=30, what="gunicorn")

    def start_worker(self) -> Process:
        """One Celery worker: prefork, three processes."""
        worker = celery(
            "worker",
            "--concurrency=3",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
            env=self.server_env,
            log_dir=WORKDIR,
        ).start(ready=" ready.")
        self.processes.append(worker)
        return worker

    def new_beat(self, name: str = "beat") -> Process:
        """A celery beat (its schedule file named after it)."""
        beat = celery(
            "beat",
            "--loglevel=INFO",
            "-s",
            str(WORKDIR / f"celerybeat-schedule-{name}"),
            env=self.server_env,
            log_dir=WORKDIR,
            name=name,
        ).start(ready="beat: Starting")
        self.processes.append(beat)
        return beat

    def start_beat(self) -> None:
        self.beat = self.new_beat()

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
        from payments import webhook_health
        from payments.models import Payment

        self.control("POST", "reset")
        self.control("POST", "knobs", {"webhooks": webhooks})
        webhook_health.forget()  # polling only: as a desk whose webhooks never came
        if webhooks and WARM_UP:
            self.warm_up()
        stats_before = self.control("GET", "stats")
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
        stats = self.control("GET", "stats")
        figures = latency_figures(
            ids=ids,
            finished=finished,
            stats={key: stats[key] - stats_before.get(key, 0) for key in stats},
            seconds=seconds,
            cpu_used=cpu_used,
            webhooks=webhooks,
            vcc_delay_ms=float(VCC_DELAY_MS),
            not_completed=not_completed,
        )
        Payment.objects.filter(pk__in=ids).update(next_poll_at=None)
        return figures

    def warm_up(self) -> None:
        """A desk that has been taking payments: WARM_UP results announced by webhook and
        confirmed by VCC before the measured ones start, so that polling is already the
        safety net (payments/webhook_health.py), as it is on a working day."""
        from payments.models import Payment

        ids = self.start_payments(WARM_UP)
        for guid in Payment.objects.filter(pk__in=ids).values_list("session_guid", flat=True):
            self.control("POST", f"sessions/{guid}/outcome", {"outcome": "approved"})
        live = Payment.objects.filter(pk__in=ids, state=Payment.State.IN_PROGRESS)
        wait_for(lambda: not live.exists(), timeout=60, interval=0.2, what="the warm-up results")


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
