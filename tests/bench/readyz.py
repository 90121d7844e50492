"""The readiness probe's cost: what `/readyz` costs the web process when a load balancer asks
every second (issue 14). 1,000 probes through Django's test Client (the probe is answered by
`HealthMiddleware` before any other middleware, so this is the server's whole cost), on the
configured PostgreSQL and Redis, in a throwaway database of its own (the configured name with
`_bench_readyz`, migrated: "migrated" is one of the checks) with a worker's heartbeat and
beat's tick written as those processes do every second, so every check passes.

Printed: median, p95 and p99 in ms, the queries per probe, the CPU milliseconds per probe of
this process, and the share of one core a balancer asking once a second from each of N web
processes would cost. `/healthz` for comparison.

    REDIS_URL=redis://127.0.0.1:6379/1 DATABASE_URL=postgres://... make bench BENCH=readyz
"""

import os
import statistics
import time

from tests.bench.results_report import load_average
from tests.bench.throwaway import throwaway_database

PROBES = int(os.environ.get("BENCH_PROBES", "1000"))
# Heartbeats are written this often, as the worker and beat do (every second).
HEARTBEAT_EVERY = 1.0


def main() -> None:
    with throwaway_database("readyz") as name:
        if name is not None:
            measure()


def measure() -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from agentdesk import health
    from payments import health as payments_health

    client = Client()
    beat = 0.0

    def probe(path: str) -> tuple[float, float, int, int]:
        nonlocal beat
        if time.monotonic() - beat >= HEARTBEAT_EVERY:
            health.record_worker_heartbeat("bench@worker")
            payments_health.record_beat_tick()
            beat = time.monotonic()
        with CaptureQueriesContext(connection) as queries:
            cpu, wall = time.process_time(), time.perf_counter()
            response = client.get(path)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return wall * 1000, cpu * 1000, response.status_code, len(queries)

    print(f"{PROBES} probes each, after one warm-up; ms per probe (server's whole cost)")
    print(f"{'probe':10} {'median':>8} {'p95':>8} {'p99':>8} {'CPU ms':>8} {'queries':>8}")
    for path in (health.READYZ, health.HEALTHZ):
        probe(path)
        runs = [probe(path) for _ in range(PROBES)]
        statuses = {status for _, _, status, _ in runs}
        times = sorted(wall for wall, _, _, _ in runs)
        cuts = statistics.quantiles(times, n=100)
        cpu = statistics.mean(c for _, c, _, _ in runs)
        queries = max(q for _, _, _, q in runs)
        print(
            f"{path:10} {statistics.median(times):8.2f} {cuts[94]:8.2f} {cuts[98]:8.2f} "
            f"{cpu:8.2f} {queries:8d}   status {sorted(statuses)}"
        )
        if path == health.READYZ:
            print(
                f"  a balancer probing once a second costs {cpu / 10:.2f} % of one core "
                "per web process"
            )
    print(f"load average (1 min) after: {load_average()}")
