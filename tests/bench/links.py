"""Payment links benchmark: what N open payment links (BENCH_LINKS, default 10,000) cost VCC
and the worker while they wait up to 72 hours for the caller (docs/results.md, "Payment
links"). Goals: under 1 GET/s at VCC, under 5 % of one core for the worker.

1. The schedule, exactly: N links whose sends are spread evenly over a link's whole life (the
   steady state of a desk sending N links every 72 hours), read on PAYMENT_LINK_POLL_SCHEDULE:
   the GETs per second that makes over a day, and for comparison a burst of N links sent
   within one hour.
2. The worker, measured: the same N open links as rows in a throwaway PostgreSQL database
   (the configured database's name with `_bench_links`), their sessions open at the light VCC
   stand-in (tests/bench/standin.py, its own process), and the batch poller's round run once a
   second, as celery beat starts it, for BENCH_LINK_SECONDS (default 120): the GETs VCC
   received, and this process's CPU seconds (the rounds and their reads, threads included) per
   second of wall time. Celery's own cost per tick and PostgreSQL's backends are not in it
   (docs/benchmarks.md has the worker's cost per task from the results benchmark).

    make bench BENCH=links
    BENCH_LINKS=200 BENCH_LINK_SECONDS=10 make bench BENCH=links    # a quick look
"""

import os
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from tests.bench import standin
from tests.realparts import ROOT, Process, free_port

LINKS = int(os.environ.get("BENCH_LINKS", "10000"))
SECONDS = float(os.environ.get("BENCH_LINK_SECONDS", "120"))
WORKDIR = ROOT / "var" / "bench-links"
TICK = 1.0


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def read_times(started: datetime, ends: datetime) -> list[datetime]:
    """Every read the poller makes of a link sent at `started` (the first a second after)."""
    from payments import poller

    reads, when = [], started + timedelta(seconds=1)
    while True:
        reads.append(when)
        following = poller.next_read_at(session_started_at=started, now=when, link_ends_at=ends)
        if following is None:
            return reads
        when = following


def schedule_figures(now: datetime) -> None:
    from payments.poller import last_read_at
    from payments.vcc.client import DIGITAL_LINK_LIFETIME

    life = last_read_at(now, now + DIGITAL_LINK_LIFETIME) - now
    per_link = len(read_times(now, now + DIGITAL_LINK_LIFETIME))
    steady = LINKS * per_link / life.total_seconds()
    print(f"reads per link over its life ({life}): {per_link}")
    print(f"steady state, {LINKS} open links: {steady:.3f} GET/s at VCC (goal < 1)")
    burst_hour = 0
    for i in range(LINKS):
        sent = now + timedelta(seconds=3600 * i / LINKS)
        reads = read_times(sent, sent + DIGITAL_LINK_LIFETIME)
        burst_hour += sum(1 for read in reads if read < now + timedelta(hours=1))
    print(f"a burst: {LINKS} links sent within one hour: {burst_hour / 3600:.3f} GET/s that hour")


def make_links(vcc_url: str, rng: random.Random) -> int:
    """N open link payments, sent evenly over a link's life, each due when its schedule says;
    their sessions opened at the stand-in. Returns how many reads are due in the window.

    The sessions are opened first (about a minute for 10,000) and the schedule is laid out
    from the moment after: laid out before, the reads due during that minute were all overdue
    when the rounds began and were counted against the rounds' window (133 GETs for 105 due)."""
    from django.utils import timezone

    from payments.models import Order, Payment, PaymentFlow
    from payments.poller import last_read_at
    from payments.vcc.client import DIGITAL_LINK_LIFETIME, client_for
    from tests import builders

    agent = builders.agent_user("bench-links", vcc_agent_id="bench").agent
    flow = PaymentFlow.objects.create(name="Bench links", account="bench", allows_links=True)
    customer = builders.customer()
    client = client_for("bench")
    orders = Order.objects.bulk_create(
        Order(customer=customer, amount=12, currency="GBP", reference=f"LINK-{i:06d}")
        for i in range(LINKS)
    )
    guids = [
        client.create_digital_session(
            agent_id="bench",
            payment_data={"Amount": "12.00", "CustomerPhoneNumber": "+447400123456"},
        ).session_guid
        for _ in orders
    ]
    now = timezone.now()
    life = last_read_at(now, now + DIGITAL_LINK_LIFETIME) - now
    payments, due = [], 0
    window_end = now + timedelta(seconds=SECONDS)
    for order, guid in zip(orders, guids, strict=True):
        started = now - life * rng.random()
        ends = started + DIGITAL_LINK_LIFETIME
        reads = [r for r in read_times(started, ends) if r >= now]
        if not reads:
            continue
        due += sum(1 for r in reads if r < window_end)
        payments.append(
            Payment(
                order=order,
                flow=flow,
                agent=agent,
                kind=Payment.Kind.LINK,
                link_phone="+447400123456",
                state=Payment.State.IN_PROGRESS,
                session_guid=guid,
                session_started_at=started,
                link_expires_at=ends,
                next_poll_at=reads[0],
            )
        )
    Payment.objects.bulk_create(payments, batch_size=1000)
    print(f"{len(payments)} open links in the database, {due} reads due in {SECONDS:g} s")
    requests.post(f"{vcc_url}/control/stats/reset", timeout=5)  # the counts start now, not the
    # sessions: each read finds its link live, as it would at VCC (not a 404)
    return due


def run_rounds(vcc_url: str) -> dict[str, Any]:
    from payments import poller

    before = requests.get(f"{vcc_url}/control/stats", timeout=5).json()
    cpu, wall = time.process_time(), time.monotonic()
    tallies: dict[str, int] = {}
    next_tick = wall
    while time.monotonic() - wall < SECONDS:
        for outcome, count in (poller.run_round(worker="bench-links") or {}).items():
            tallies[outcome] = tallies.get(outcome, 0) + count
        next_tick += TICK
        time.sleep(max(0.0, next_tick - time.monotonic()))
    elapsed = time.monotonic() - wall
    used = time.process_time() - cpu
    after = requests.get(f"{vcc_url}/control/stats", timeout=5).json()
    gets = after["session_gets"] - before["session_gets"]
    not_found = after["session_gets_not_found"] - before["session_gets_not_found"]
    return {
        "seconds": elapsed,
        "cpu": used,
        "gets": gets,
        "not_found": not_found,
        "tallies": tallies,
    }


def main() -> None:
    port = free_port()
    vcc_url = f"http://127.0.0.1:{port}"
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "agentdesk.settings",
            "VCC_ACCOUNTS": "bench",
            "VCC_BENCH_AUTH_URL": vcc_url + "/Auth/connect/token",
            "VCC_BENCH_API_URL": vcc_url + "/api",
            "VCC_BENCH_CLIENT_ID": standin.CLIENT_ID,
            "VCC_BENCH_CLIENT_SECRET": standin.CLIENT_SECRET,
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment
    from django.utils import timezone

    setup_test_environment()
    now = timezone.now()
    print(f"load average (1 min) before: {load_average()}", flush=True)
    schedule_figures(now)
    WORKDIR.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "tests.bench.standin", "--port", str(port)]
    vcc = Process("standin", argv, dict(os.environ), WORKDIR).start(ready="listening")
    base = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{base}_bench_links"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        due = make_links(vcc_url, random.Random(13))
        figures = run_rounds(vcc_url)
    finally:
        connection.creation.destroy_test_db(base, verbosity=0)
        teardown_test_environment()  # the next bench in this process sets it up again
        vcc.stop()
    seconds = figures["seconds"]
    print(f"load average (1 min) after: {load_average()}")
    print(f"rounds for {seconds:.0f} s: {figures['gets']} GETs at VCC ({due} due by the schedule)")
    print(f"  {figures['gets'] / seconds:.3f} GET/s (goal < 1); outcomes {figures['tallies']}")
    print(f"  {figures['not_found']} of the GETs answered 404 (a live link's read should not)")
    share = 100 * figures["cpu"] / seconds
    print(f"  poller CPU {figures['cpu']:.2f} s = {share:.2f} % of a core (goal < 5 %)")


if __name__ == "__main__":
    main()
