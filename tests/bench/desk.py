"""The agent desk's own pages at size: the server time and query count of the desk page, the
search as the agent types, the order screen and the status fragment (unchanged: 204; final:
286), median and p95 over 200 requests each, through Django's test Client.

The data is made in a throwaway database of its own (the configured database's name with
`_bench_desk`, created, migrated and dropped again): 10,000 customers with a billing address
(BENCH_DESK_CUSTOMERS, e.g. 100000), twice as many orders and payments spread over 20 agents, in
every state. The 1-minute load average is printed before and after: other work shows in the
figures.

    make bench BENCH=desk
    BENCH_DESK_CUSTOMERS=100000 make bench BENCH=desk
"""

import os
import random
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

REQUESTS = 200
CUSTOMERS = int(os.environ.get("BENCH_DESK_CUSTOMERS", "10000"))
ORDERS = 2 * CUSTOMERS
AGENTS = 20
FIRST_NAMES = ["Priya", "John", "Yuki", "Fatima", "Hans", "Maria", "Wei", "Amara", "Luca", "Olga"]
LAST_NAMES = ["Patel", "Smith", "Tanaka", "Al-Sabah", "Müller", "Garcia", "Chen", "Okafor"]


@dataclass
class Dataset:
    agent: Any  # agentdesk.staff.models.Agent (models are imported once Django is set up)
    live: Any  # a payment of the agent's, waiting for the caller
    final: Any  # a declined payment of the agent's
    order: Any  # the live payment's order


def create_data() -> Dataset:
    from django.contrib.auth.models import Group, User

    from agentdesk.staff.models import AGENTS as AGENTS_GROUP
    from agentdesk.staff.models import Agent
    from customers.models import BillingAddress, Customer
    from payments.models import Order, Payment, PaymentFlow

    group = Group.objects.get(name=AGENTS_GROUP)
    agents = []
    for i in range(1, AGENTS + 1):
        user = User.objects.create_user(f"bench-agent{i}", password="x", first_name=f"Agent{i}")
        user.groups.add(group)
        agents.append(Agent.objects.create(user=user, vcc_agent_id=f"bench-{i}"))
    flow = PaymentFlow.objects.create(name="Bench cards", account="builtin", is_default=True)
    rng = random.Random(7)
    customers = Customer.objects.bulk_create(
        Customer(
            first_name=FIRST_NAMES[i % len(FIRST_NAMES)],
            last_name=LAST_NAMES[(i // 7) % len(LAST_NAMES)],
            email=f"bench{i}@example.com",
            phone=f"+44{7700000000 + i}",
            crm_id=f"CRM-{i:06d}",
        )
        for i in range(CUSTOMERS)
    )
    BillingAddress.objects.bulk_create(
        BillingAddress(
            customer=c,
            line1=f"{c.pk} Acacia Avenue",
            city="Leeds",
            postcode="LS1 4AP",
            country="GB",
        )
        for c in customers
    )
    states = [s for s, _ in Payment.State.choices]
    orders = Order.objects.bulk_create(
        Order(
            reference=f"BENCH-{i:06d}",
            customer=customers[i % CUSTOMERS],
            amount=Decimal(rng.randint(100, 50000)) / 100,
            currency="GBP",
            description="Bench order",
            status=Order.Status.OPEN,
        )
        for i in range(ORDERS)
    )
    Payment.objects.bulk_create(
        Payment(
            order=order,
            flow=flow,
            agent=agents[i % AGENTS],
            # Only finished attempts, so no order has two blocking ones.
            state=rng.choice([s for s in states if s not in Payment.BLOCKING_STATES]),
            session_guid=str(uuid.uuid4()),
        )
        for i, order in enumerate(orders)
    )
    agent = agents[0]
    open_order = Order.objects.create(
        reference="BENCH-LIVE", customer=customers[0], amount=Decimal("49.99"), currency="GBP"
    )
    live = Payment.objects.create(
        order=open_order,
        flow=flow,
        agent=agent,
        state=Payment.State.IN_PROGRESS,
        session_guid=str(uuid.uuid4()),
    )
    final = Payment.objects.filter(agent=agent, state=Payment.State.DECLINED).first()
    return Dataset(agent=agent, live=live, final=final, order=open_order)


def measure(label: str, call: Callable[[], object], expect: int) -> tuple[str, float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call()  # warm-up
    times, queries = [], 0
    for _ in range(REQUESTS):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = call()
            times.append((time.perf_counter() - started) * 1000)
        assert getattr(response, "status_code", None) == expect, (label, response)
        queries = max(queries, len(captured.captured_queries))
    p95 = statistics.quantiles(times, n=20)[-1]
    return label, statistics.median(times), p95, queries


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agentdesk.settings")
    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    base = connection.settings_dict["NAME"]
    test_name = (
        str(base).replace(".sqlite3", "") + "-bench-desk.sqlite3"
        if connection.vendor == "sqlite"
        else f"{base}_bench_desk"
    )
    connection.settings_dict.setdefault("TEST", {})["NAME"] = test_name
    print(f"load average (1 min) before: {load_average()}", flush=True)
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        started = time.perf_counter()
        data = create_data()
        print(
            f"{connection.vendor}: {CUSTOMERS} customers, {ORDERS + 1} orders and payments "
            f"over {AGENTS} agents, made in {time.perf_counter() - started:.1f} s"
        )
        client = Client()
        client.force_login(data.agent.user)
        htmx = {"HTTP_HX_REQUEST": "true"}
        seen = {"seen": "in_progress"}
        live_status = f"/desk/payments/{data.live.pk}/status/"
        final_status = f"/desk/payments/{data.final.pk}/status/"
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
        rows = [
            measure("desk page (full)", lambda: client.get("/desk/"), 200),
            measure(
                "search as one types (q=Pat)",
                lambda: client.get("/desk/search/", {"q": "Pat"}, **htmx),
                200,
            ),
            measure(
                "search, part of an email (q=ch4242)",
                lambda: client.get("/desk/search/", {"q": "ch4242"}, **htmx),
                200,
            ),
            measure(
                "search, part of a phone (q=7700004242)",
                lambda: client.get("/desk/search/", {"q": "7700004242"}, **htmx),
                200,
            ),
            measure(
                "order screen (full)", lambda: client.get(f"/desk/orders/{data.order.pk}/"), 200
            ),
            measure(
                "status fragment, unchanged (204)",
                lambda: client.get(live_status, seen, **htmx),
                204,
            ),
            measure(
                "status fragment, final (286)", lambda: client.get(final_status, seen, **htmx), 286
            ),
        ]
    finally:
        connection.creation.destroy_test_db(base, verbosity=0)
        teardown_test_environment()  # the next bench in this process sets it up again
    print(f"load average (1 min) after: {load_average()}")
    print(f"{REQUESTS} requests each after one warm-up; time in ms (request in, response out)")
    print(f"{'page':<40} {'median':>8} {'p95':>8} {'queries':>8}")
    for label, median, p95, queries in rows:
        print(f"{label:<40} {median:>8.1f} {p95:>8.1f} {queries:>8}")


if __name__ == "__main__":
    main()
