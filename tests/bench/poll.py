"""The status poll through the real web server: the server's CPU per unchanged poll (204) when
BENCH_POLL_DESKS desks (default 100) each poll every BENCH_POLL_PERIOD seconds (0.5) over a
keep-alive connection for BENCH_POLL_SECONDS (20), through gunicorn (1 process, 8 threads) as
deployed: with the quick answer from the cache (agentdesk/desk/quickpoll.py), without it (the
whole middleware stack and three queries, tests/bench/settings_full_poll.py), and `/healthz`
(answered by the first middleware: what gunicorn and Django's handler cost alone). Issue 15.

The desks are tests/bench/chaos_desks.py's connections on one asyncio loop; the server's CPU is
read from /proc. Needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL); the database is a
throwaway of its own (the configured name with `_bench_poll`).

    make bench BENCH=poll
"""

import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests.bench.results_report import load_average
from tests.bench.throwaway import throwaway_database
from tests.realparts import ROOT, free_port, wait_for

DESKS = int(os.environ.get("BENCH_POLL_DESKS", "100"))
PERIOD = float(os.environ.get("BENCH_POLL_PERIOD", "0.5"))
SECONDS = float(os.environ.get("BENCH_POLL_SECONDS", "20"))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    with throwaway_database("poll") as name:
        if name is None:
            return
        desks = make_desks()
        url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{name}"
        print(f"{DESKS} desks, a poll every {PERIOD} s each for {SECONDS:g} s; gunicorn: 1 x 8")
        print(f"{'answer':44} {'polls':>6} {'CPU ms':>7} {'p50 ms':>7} {'p95 ms':>7}")
        cases = [
            ("unchanged, from the cache (quickpoll)", "agentdesk.settings", None),
            ("unchanged, the whole stack (before)", "tests.bench.settings_full_poll", None),
            ("/healthz (gunicorn and Django alone)", "agentdesk.settings", "/healthz"),
        ]
        for label, settings_module, path in cases:
            polls, cpu, times = serve_and_poll(url, settings_module, desks, path)
            print(
                f"{label:44} {polls:6d} {cpu * 1000 / polls:7.2f} "
                f"{statistics.median(times):7.1f} {statistics.quantiles(times, n=20)[18]:7.1f}",
                flush=True,
            )
        print(f"load average (1 min) after: {load_average()}")


def make_desks() -> list[tuple[str, int]]:
    """DESKS agents, each signed in, each with a payment waiting for the caller."""
    from payments.models import Payment
    from tests import builders
    from tests.bench.chaos_desks import session_cookie

    builders.flow()
    desks = []
    for i in range(DESKS):
        user = builders.agent_user(f"poll{i}", vcc_agent_id=str(7000 + i))
        payment = builders.payment(agent=user.agent, state=Payment.State.IN_PROGRESS)
        desks.append((session_cookie(user), payment.pk))
    return desks


def serve_and_poll(
    database_url: str, settings_module: str, desks: list[tuple[str, int]], path: str | None
) -> tuple[int, float, list[float]]:
    """Start gunicorn, warm every desk up for 3 s, then poll for SECONDS: the polls answered,
    the server's CPU seconds, and each poll's time in ms."""
    import requests

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DEBUG": "false",
        "WEB_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "8",
    }
    argv = [sys.executable, "-m", "gunicorn", "agentdesk.wsgi:application"]
    argv += ["--config", "python:agentdesk.gunicorn", "--access-logfile", "/dev/null"]
    server = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:

        def answers() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok
            except requests.RequestException:
                return False

        wait_for(answers, timeout=30, what="gunicorn")
        children = subprocess.run(
            ["pgrep", "-P", str(server.pid)], capture_output=True, text=True, check=True
        )
        (worker,) = [int(pid) for pid in children.stdout.split()]  # gunicorn's one process
        asyncio.run(poll_all(port, desks, path, 3.0, []))  # grants written, connections open
        times: list[float] = []
        before = cpu_seconds(worker)
        asyncio.run(poll_all(port, desks, path, SECONDS, times))
        return len(times), cpu_seconds(worker) - before, times
    finally:
        server.terminate()
        server.wait()


async def poll_all(
    port: int, desks: list[tuple[str, int]], path: str | None, seconds: float, times: list[float]
) -> None:
    from tests.bench.chaos_desks import Connection

    until = time.monotonic() + seconds

    async def desk(cookie: str, payment_id: int, offset: float) -> None:
        http = Connection(f"http://127.0.0.1:{port}", {"sessionid": cookie})
        asked = path or f"/desk/payments/{payment_id}/status/?seen=in_progress"
        await asyncio.sleep(offset)
        while time.monotonic() < until:
            began = time.perf_counter()
            answer = await http.request("GET", asked, HX_Request="true")
            assert answer.status in (200, 204), (asked, answer.status)
            times.append((time.perf_counter() - began) * 1000)
            await asyncio.sleep(PERIOD)
        http.close()

    await asyncio.gather(
        *(desk(cookie, pk, i * PERIOD / len(desks)) for i, (cookie, pk) in enumerate(desks))
    )
