"""Chaos benchmark: BENCH_CHAOS_PAYMENTS payments (default 1,000) in flight through every fault
at once, and nothing lost. Real parts throughout: a PostgreSQL of the bench's own (initdb into
a temporary directory: the bench restarts it, so never the machine's shared one), a Redis of its
own, the built-in VCC sandbox served apart as VCC (a gunicorn of its own, sending webhooks to a
gunicorn of ours that serves them), our web app behind gunicorn for the desks, a Celery worker
(prefork, three processes) and beat.

BENCH_CHAOS_DESKS (default 200) agents' desks, signed in over HTTP, start the payments through
the web server over the start phase and poll their status fragment every second. Then the
sandbox completes the sessions at random moments over BENCH_CHAOS_COMPLETE_SECONDS (approved,
declined, hung up, held for review, and a share never keyed), while, one after another,
BENCH_CHAOS_GAP seconds apart: a worker pool process is SIGKILLed three times, the whole worker
once (and restarted); beat is killed and restarted; a second beat runs by mistake for
BENCH_CHAOS_SECOND_BEAT seconds; Redis restarts (its data lost); PostgreSQL restarts; our
webhook endpoint is down for BENCH_CHAOS_WEBHOOK_DOWN seconds (the sandbox retries every
BENCH_CHAOS_WEBHOOK_RETRY seconds, doubling); VCC answers 500s, 429s with Retry-After, and
hangs past our read timeout, in bursts.

The verdict (tests/bench/chaos_report.py): results lost, applied twice, wrong order state,
payments left live, each unknown outcome and its cause, the time results took to flow again
after each fault, the status fragment's p50/p95 under the desks' load, the load average before
and after. Goal: 0/0/0/0, every unknown explained, recovery < 30 s, fragment p95 <= 50 ms.

Run: `make bench BENCH=chaos`; for a quick proof at small scale, e.g.
`BENCH_CHAOS_PAYMENTS=30 BENCH_CHAOS_DESKS=10 BENCH_CHAOS_START_SECONDS=15 BENCH_CHAOS_GAP=4
BENCH_CHAOS_WEBHOOK_DOWN=12 BENCH_CHAOS_SECOND_BEAT=8 BENCH_CHAOS_WEBHOOK_RETRY=3
make bench BENCH=chaos` (about three minutes).
Written to bench-results/chaos.json. See docs/benchmarks.md.
"""

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.bench import chaos_report
from tests.bench.chaos_desks import open_desks
from tests.bench.chaos_parts import CpuByPart, OwnPostgres, children
from tests.bench.results import OUT, WORKDIR, Bench
from tests.bench.results_report import load_average
from tests.realparts import ROOT, Process, free_port, wait_for

PAYMENTS = int(os.environ.get("BENCH_CHAOS_PAYMENTS", "1000"))
DESKS = int(os.environ.get("BENCH_CHAOS_DESKS", "200"))
START_SECONDS = float(os.environ.get("BENCH_CHAOS_START_SECONDS", "60"))
GAP = float(os.environ.get("BENCH_CHAOS_GAP", "25"))
SECOND_BEAT = float(os.environ.get("BENCH_CHAOS_SECOND_BEAT", "60"))
WEBHOOK_DOWN = float(os.environ.get("BENCH_CHAOS_WEBHOOK_DOWN", "120"))
# By default the completions last as long as the faults (ten gaps, the second beat, the webhook
# outage, the VCC bursts) and a little more, so that results flow after every fault.
COMPLETE_SECONDS = float(
    os.environ.get("BENCH_CHAOS_COMPLETE_SECONDS", 11.5 * GAP + SECOND_BEAT + WEBHOOK_DOWN + 30)
)
WEBHOOK_RETRY = float(os.environ.get("BENCH_CHAOS_WEBHOOK_RETRY", "10"))
SETTLE_SECONDS = float(os.environ.get("BENCH_CHAOS_SETTLE_SECONDS", "180"))
PG_PORT = int(os.environ.get("BENCH_CHAOS_PG_PORT", "0")) or free_port()
# Results announced by webhook and confirmed before the desks start, as on a contact centre's
# working day (webhooks healthy: polling is the safety net); 0 starts cold, with every live
# session read every second until the first confirmation (payments/webhook_health.py).
WARM_UP = int(os.environ.get("BENCH_CHAOS_WARM_UP", "5"))
# Outcomes the sandbox is told, in proportion; "never": the caller never keys.
OUTCOMES = ["approved"] * 12 + ["declined"] * 3 + ["hangup"] * 2 + ["review", "never", "never"]
DATABASE_NAME = "agentdesk_bench_chaos"


def main() -> None:
    """Run the benchmark in a fresh Python process: it configures Django its own way."""
    subprocess.run(
        [sys.executable, "-c", "from tests.bench.chaos import run; run()"],
        cwd=ROOT,
        check=True,
    )


class ChaosBench(Bench):
    def __init__(self, postgres: OwnPostgres) -> None:
        super().__init__()
        self.postgres_server = postgres
        self.hook_port = free_port()
        self.hook_url = f"http://127.0.0.1:{self.hook_port}"
        sandbox = self.vcc_url + "/sandbox/vcc"
        os.environ.update(
            {
                "DATABASE_URL": postgres.url(DATABASE_NAME),
                "VCC_SANDBOX_ENABLED": "true",
                "VCC_BENCH_AUTH_URL": sandbox + "/Auth/connect/token",
                "VCC_BENCH_API_URL": sandbox + "/api",
                "VCC_BENCH_CLIENT_ID": "builtin-sandbox-client",
                "VCC_BENCH_CLIENT_SECRET": "builtin-sandbox-secret",
                "WEB_THREADS": "8",
            }
        )
        self.server_env = {**os.environ, "LOG_LEVEL": "INFO"}
        self.faults_done: list[tuple[str, Any]] = []
        self.fault_windows: list[tuple[str, float, float]] = []

    def prepare_database(self) -> None:
        import psycopg

        with psycopg.connect(self.postgres_server.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            check=True,
        )

    def serve(self, name: str, port: int, processes: str, site_url: str) -> Process:
        """A gunicorn of this app whose SITE_URL is `site_url`."""
        own = self.server_env
        self.server_env = {**own, "SITE_URL": site_url}
        try:
            return self.gunicorn(name, port, processes)
        finally:
            self.server_env = own

    def start_servers(self) -> None:
        for log in WORKDIR.glob("*.log"):
            log.unlink()
        # VCC: the sandbox, sending its webhooks to the gunicorn of ours that serves them.
        self.vcc = self.serve("vcc", self.vcc_port, "2", self.hook_url)
        self.web = self.serve(
            "web", self.web_port, os.environ.get("WEB_CONCURRENCY", "2"), self.web_url
        )
        self.hook = self.serve("webhook", self.hook_port, "1", self.web_url)
        self.worker = self.start_worker()
        self.start_beat()
        from tests.sandbox_fixtures import Sandbox

        self.sandbox = Sandbox(self.vcc_url)
        wait_for(self.answers, timeout=60, what="the web servers")
        self.sandbox.reset()
        self.sandbox.knobs(webhook_retry_seconds=WEBHOOK_RETRY)

    def answers(self) -> bool:
        import requests

        try:
            return all(
                requests.get(url + "/healthz", timeout=2).status_code < 500
                for url in (self.vcc_url, self.web_url, self.hook_url)
            )
        except requests.RequestException:
            return False

    def stop(self) -> None:
        super().stop()
        self.postgres_server.stop()

    # --- Data ---------------------------------------------------------------------------

    def desks_and_orders(self) -> tuple[list[Any], list[int], int]:
        from tests import builders

        flow = builders.flow(name="Chaos cards", account="bench")
        agents = [
            builders.agent_user(f"chaos{i}", vcc_agent_id=str(5000 + i)) for i in range(DESKS)
        ]
        orders = [builders.order().pk for _ in range(PAYMENTS)]
        return agents, orders, flow.pk

    def warm_up(self) -> None:
        """WARM_UP payments started, approved at VCC, announced by webhook and confirmed
        before the desks open, so that webhooks are healthy as on a working day. They are
        not the desks' and are not compared."""
        from payments import webhook_health
        from payments.models import Payment

        ids = self.start_payments(WARM_UP)
        for guid in Payment.objects.filter(pk__in=ids).values_list("session_guid", flat=True):
            self.sandbox.complete(str(guid), "approved")
        wait_for(webhook_health.healthy, timeout=60, interval=0.2, what="webhooks healthy")

    def cpu_parts(self) -> CpuByPart:
        ports = {
            self.vcc_port: "VCC sandbox (gunicorn)",
            self.web_port: "web for the desks (gunicorn)",
            self.hook_port: "web for the webhook (gunicorn)",
        }
        return CpuByPart(ports, str(self.postgres_server.datadir), self.redis.port)

    def complete_all(self, ids: list[int]) -> tuple[dict[str, str], dict[str, int]]:
        """Tell the sandbox each session's outcome at a random moment of the completion phase;
        a call refused while a part is down is tried again (counted when it never got through)."""
        from payments.models import Payment

        guids = Payment.objects.filter(pk__in=ids).values_list("session_guid", flat=True)
        told = {str(guid).lower(): random.choice(OUTCOMES) for guid in guids if guid}
        plan = sorted((random.uniform(1, COMPLETE_SECONDS), guid) for guid in told)
        began, not_completed = time.monotonic(), dict[str, int]()

        def complete(step: tuple[float, str]) -> None:
            at, guid = step
            if told[guid] == "never":
                return
            time.sleep(max(0.0, began + at - time.monotonic()))
            reason = ""
            for _ in range(10):
                try:
                    self.sandbox.complete(guid, told[guid])
                    return
                except Exception as error:  # a part is down: try again shortly
                    reason = f"{type(error).__name__}: {error}"[:200]
                    time.sleep(3)
            not_completed[reason] = not_completed.get(reason, 0) + 1
            told[guid] = "never"  # as far as VCC knows, never finished

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(complete, plan))
        return told, not_completed

    # --- Faults -------------------------------------------------------------------------

    def fault(self, name: str, act: Callable[[], None]) -> None:
        from django.utils import timezone

        print(f"chaos: {name}", flush=True)
        began = time.monotonic()
        try:
            act()
        except Exception as error:  # recorded; the bench goes on to the next fault
            name += f" (failed: {type(error).__name__}: {error})"[:200]
        self.faults_done.append((name, timezone.now()))
        time.sleep(GAP)
        self.fault_windows.append((name, began, time.monotonic()))  # the fault and the gap after

    def kill_pool_process(self) -> None:
        pool = children(self.worker.pid)
        if not pool:
            raise RuntimeError("the worker has no pool process")
        os.kill(random.choice(pool), signal.SIGKILL)

    def kill_worker(self) -> None:
        self.worker.kill()
        self.worker = self.start_worker()

    def kill_beat(self) -> None:
        self.beat.kill()
        self.start_beat()

    def second_beat(self) -> None:
        extra = self.new_beat("beat-2")
        time.sleep(SECOND_BEAT)
        extra.stop()

    def webhook_down(self) -> None:
        self.hook.kill()
        time.sleep(WEBHOOK_DOWN)
        self.hook.start()
        wait_for(self.answers, timeout=60, what="our webhook endpoint")

    def vcc_bursts(self) -> None:
        """500s, then 429s with Retry-After, then answers held past our read timeout."""
        from django.conf import settings

        for knobs in (
            {"status_code": 500},
            {"rate_limit": 2},
            {"timeout": settings.VCC_READ_TIMEOUT + 1},
        ):
            self.sandbox.faults(path="any", count=max(20, PAYMENTS // 20), **knobs)
            time.sleep(GAP / 2)
            self.sandbox.clear_faults()

    def chaos(self) -> None:
        for n in (1, 2, 3):
            self.fault(f"worker pool process SIGKILLed ({n})", self.kill_pool_process)
        self.fault("whole worker SIGKILLed and restarted", self.kill_worker)
        self.fault("beat killed and restarted", self.kill_beat)
        self.fault(f"second beat for {SECOND_BEAT:g} s", self.second_beat)
        self.fault("Redis restarted (data lost)", self.redis.restart)
        self.fault("PostgreSQL restarted", self.postgres_server.restart)
        self.fault(f"webhook endpoint down {WEBHOOK_DOWN:g} s", self.webhook_down)
        self.fault("VCC 500 / 429 / hang bursts", self.vcc_bursts)


def settle(ids: list[int], told: dict[str, str]) -> None:
    """Wait for every result VCC gave to be ours (or SETTLE_SECONDS)."""
    from payments.models import Payment

    finished = [guid for guid, outcome in told.items() if outcome != "never"]
    live = Payment.objects.filter(pk__in=ids, session_guid__in=finished, state="in_progress")
    try:
        wait_for(lambda: not live.exists(), timeout=SETTLE_SECONDS, interval=1, what="results")
    except AssertionError:
        pass  # counted as left live


def run() -> None:
    began = time.monotonic()
    figures: dict[str, Any] = {"payments": PAYMENTS, "desks": DESKS, "cpus": os.cpu_count()}
    figures["load_average_1min_before"] = load_average()
    postgres = OwnPostgres(PG_PORT).start()
    bench = ChaosBench(postgres)
    stop = threading.Event()
    try:
        bench.prepare_database()
        import django

        django.setup()
        bench.start_servers()
        agents, orders, flow_id = bench.desks_and_orders()
        if WARM_UP:  # last, so that webhooks are still healthy when the desks start
            bench.warm_up()
        cpu = bench.cpu_parts()
        cpu.start()
        cpu_before = cpu.totals()
        print(f"chaos: {DESKS} desks start {PAYMENTS} payments ...", flush=True)
        desks, seen, stop = open_desks(
            web_url=bench.web_url,
            agents=agents,
            orders=orders,
            flow_id=flow_id,
            start_window=START_SECONDS,
        )
        time.sleep(START_SECONDS + 5)
        seen.starts_closed.set()
        start_phase_end = time.monotonic()
        cpu_at_start_phase_end = cpu.totals()
        figures["started_in_start_phase"] = len(seen.started)
        # The starts still being answered are waited for and compared too: none is left live.
        wait_for(lambda: seen.starts_in_flight == 0, timeout=60, what="the last starts")
        ids = list(seen.started)
        print(
            f"chaos: {figures['started_in_start_phase']} started in the start phase, "
            f"{len(ids)} with those answered after it; completing them through the faults ...",
            flush=True,
        )
        faults = threading.Thread(target=bench.chaos, daemon=True)
        faults.start()
        told, figures["not_completed"] = bench.complete_all(ids)
        faults.join()
        from django.db import connections

        connections.close_all()  # this process's own, cut when PostgreSQL restarted
        settle(ids, told)
        stop.set()
        for desk in desks:
            desk.join(5)  # its last poll done
        figures["start_failures"] = seen.start_failures
        figures["cpu_seconds"] = chaos_report.cpu_by_phase(
            cpu_before, cpu_at_start_phase_end, cpu.totals()
        )
        figures["verdict"] = chaos_report.compare(ids, told)
        figures["recovery_seconds"] = chaos_report.recovery_seconds(ids, bench.faults_done)
        figures["status_fragment"] = chaos_report.fragment_figures(
            seen.fragment_ms, seen.poll_errors, seen.fragment_at, start_phase_end
        )
        figures["status_fragment_by_fault"] = chaos_report.fragment_by_window(
            seen.fragment_ms, seen.fragment_at, bench.fault_windows
        )
    finally:
        stop.set()
        figures["load_average_1min_after"] = load_average()
        figures["seconds"] = round(time.monotonic() - began)
        bench.stop()
        OUT.mkdir(exist_ok=True)
        (OUT / "chaos.json").write_text(json.dumps(figures, indent=2, default=str))
        chaos_report.print_verdict(figures)
        print("written to bench-results/chaos.json")
