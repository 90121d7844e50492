"""The supervisors' payment history at size: 1,000,000 payments in PostgreSQL, or 10,000,000
with BENCH_PAYMENTS=10000000 (a year of a large contact centre, issue 17).

Creates the data once in its own database (`agentdesk_bench` at 1,000,000, otherwise
`agentdesk_bench_10m` and the like, on the server of DATABASE_URL, created and migrated if
missing; BENCH_DATABASE_NAME overrides the name) with INSERT ... SELECT generate_series,
tagged by the BENCH- order references so a rerun reuses it. A rerun after new migrations
applies them to the kept data (and says which), so a build survives a merge. ANALYZE runs
before measuring and the load average is printed. Then a supervisor asks for each page ~20
times through Django's test Client and the server time and query count per page are printed,
median and p95, and kept in bench-results/admin_history-<payments>.json; the other scale's
figures, when kept, are printed beside them. Finally one CSV export of BENCH_EXPORT_ROWS
(100,000 by default) rows is streamed and its time and peak Python memory printed.

    make bench BENCH=admin_history
    BENCH_PAYMENTS=10000000 make bench BENCH=admin_history
"""

import itertools
import json
import os
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PAYMENTS = int(os.environ.get("BENCH_PAYMENTS", "1000000"))
# Ten payments per customer, as at 1,000,000.
CUSTOMERS = max(1, PAYMENTS // 10)
# The order references' digits: BENCH-0000001 at 1,000,000 (as the kept databases have them).
DIGITS = max(7, len(str(PAYMENTS)))
# Seconds between two payments: the same two years at any size (63 s at 1,000,000), so the
# last day and week hold ten times the payments at 10,000,000.
SPACING = 63.0 * 1_000_000 / PAYMENTS
AGENTS = 50
REQUESTS = 20
EXPORT_ROWS = int(os.environ.get("BENCH_EXPORT_ROWS", "100000"))
RESULTS = Path(__file__).resolve().parents[2] / "bench-results"
FIRST_NAMES = ["Priya", "John", "Yuki", "Fatima", "Hans", "Maria", "Wei", "Amara", "Luca", "Olga"]
LAST_NAMES = ["Patel", "Smith", "Tanaka", "Al-Sabah", "Müller", "Garcia", "Chen", "Okafor"]


def bench_database() -> str:
    """Point Django's default connection at the bench database, creating it if missing."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agentdesk.settings")
    django.setup()
    from django.db import connections

    default = connections["default"]
    if default.vendor != "postgresql":
        raise SystemExit("admin_history needs PostgreSQL: set DATABASE_URL=postgres://...")
    name = os.environ.get("BENCH_DATABASE_NAME", default_database_name())
    default.close()
    default.settings_dict["NAME"] = name
    # The server's maintenance database, as Django's own test-database creation does.
    with default._nodb_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    return name


def default_database_name() -> str:
    """agentdesk_bench at 1,000,000 payments (the name older runs built), else by the size."""
    if PAYMENTS == 1_000_000:
        return "agentdesk_bench"
    if PAYMENTS % 1_000_000 == 0:
        return f"agentdesk_bench_{PAYMENTS // 1_000_000}m"
    return f"agentdesk_bench_{PAYMENTS}"


def migrate() -> None:
    """Bring the kept database to this branch's schema, saying which migrations were new."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    def applied() -> set[tuple[str, str]]:
        recorder = MigrationRecorder(connection)
        return set(recorder.applied_migrations()) if recorder.has_table() else set()

    before = applied()
    call_command("migrate", verbosity=0)
    new = sorted(applied() - before)
    if before and new:
        print("Schema changed since the data was built; applied:", flush=True)
        for app, migration in new:
            print(f"  {app}.{migration}", flush=True)


def create_data() -> None:
    from django.contrib.auth.models import Group, User
    from django.db import connection

    from agentdesk.staff.models import AGENTS as AGENTS_GROUP
    from agentdesk.staff.models import SUPERVISORS, Agent
    from payments.models import Order, PaymentFlow

    migrate()
    if Order.objects.filter(reference=f"BENCH-{PAYMENTS:0{DIGITS}d}").exists():
        if database_comment() == BUILDING:
            raise SystemExit(
                f"The build of database {connection.settings_dict['NAME']} was interrupted: "
                "drop it (DROP DATABASE) and run the bench again."
            )
        print(f"Reusing the {PAYMENTS:,} payments already in the bench database.")
        return
    started = time.perf_counter()
    print(f"Creating {PAYMENTS:,} payments (once) ...", flush=True)
    set_database_comment(BUILDING)
    supervisor, _ = User.objects.get_or_create(username="bench-supervisor", is_staff=True)
    supervisor.groups.add(Group.objects.get(name=SUPERVISORS))
    for i in range(1, AGENTS + 1):
        user, _ = User.objects.get_or_create(username=f"bench-agent{i}", first_name=f"Agent{i}")
        user.groups.add(Group.objects.get(name=AGENTS_GROUP))
        Agent.objects.get_or_create(user=user, defaults={"vcc_agent_id": f"bench-{i}"})
    flows = {
        environment: PaymentFlow.objects.get_or_create(
            name=name, defaults={"account": "builtin", "environment": environment}
        )[0].pk
        for name, environment in (("Bench staging", "staging"), ("Bench production", "production"))
    }
    firsts = "ARRAY[" + ",".join(f"'{n}'" for n in FIRST_NAMES) + "]"
    lasts = "ARRAY[" + ",".join(f"'{n}'" for n in LAST_NAMES) + "]"
    statements = [
        f"""INSERT INTO customers_customer
              (first_name, last_name, email, phone, created_at, updated_at)
            SELECT ({firsts})[1 + i % {len(FIRST_NAMES)}],
                   ({lasts})[1 + (i / 7) % {len(LAST_NAMES)}],
                   'bench' || i || '@example.com', '+44' || (7700000000 + i), now(), now()
            FROM generate_series(1, {CUSTOMERS}) i""",
        """INSERT INTO customers_billingaddress
              (customer_id, line1, line2, city, state, postcode, country)
            SELECT id, id || ' Acacia Avenue', '', 'Leeds', '', 'LS1 4AP', 'GB'
            FROM customers_customer WHERE email LIKE 'bench%'""",
        f"""INSERT INTO payments_order
              (reference, customer_id, amount, currency, description, status, created_at)
            SELECT 'BENCH-' || lpad(i::text, {DIGITS}, '0'),
                   (SELECT min(id) FROM customers_customer) + i % {CUSTOMERS},
                   CASE WHEN i % 20 = 0 THEN 1000 + i % 9000 ELSE 1 + (i % 50000) / 100.0 END,
                   CASE WHEN i % 20 = 0 THEN 'JPY' WHEN i % 50 = 1 THEN 'KWD'
                        WHEN i % 5 = 2 THEN 'USD' WHEN i % 5 = 3 THEN 'EUR' ELSE 'GBP' END,
                   'Bench order',
                   CASE WHEN i % 10 < 6 THEN 'paid' ELSE 'open' END,
                   now() - make_interval(secs => ({PAYMENTS} - i) * {SPACING})
            FROM generate_series(1, {PAYMENTS}) i""",
        f"""INSERT INTO payments_payment
              (order_id, flow_id, environment, asked_amount, currency, agent_id, state, kind,
               link_phone, session_guid, provider_url,
               created_at, session_started_at, finished_at, poll_count, gateway_decision,
               gateway_reason_code, gateway_reference, result_amount, card_brand, message,
               flagged, resolution_reason, flow_rejected, request_id, call_guid,
               interaction_id)
            SELECT o.id,
                   CASE WHEN o.id % 4 = 0 THEN {flows["staging"]} ELSE {flows["production"]} END,
                   CASE WHEN o.id % 4 = 0 THEN 'staging' ELSE 'production' END,
                   o.amount, o.currency,
                   (SELECT min(id) FROM agentdesk_agent) + o.id % {AGENTS},
                   s.state,
                   CASE WHEN o.id % 25 = 0 THEN 'link' ELSE 'phone' END,
                   CASE WHEN o.id % 25 = 0 THEN '+4474000' || lpad((o.id % 100000)::text, 5, '0')
                        ELSE '' END,
                   md5('s' || o.id)::uuid::text, '',
                   o.created_at, o.created_at + interval '5 seconds',
                   o.created_at + interval '3 minutes', 2,
                   CASE s.state WHEN 'approved' THEN 'ACCEPT' WHEN 'declined' THEN 'REJECT'
                        ELSE '' END,
                   CASE s.state WHEN 'approved' THEN '100' WHEN 'declined' THEN '202'
                        ELSE '' END,
                   CASE WHEN s.state IN ('approved', 'declined')
                        THEN (1000000000000000000000 + o.id)::text ELSE '' END,
                   CASE WHEN s.state = 'approved' THEN o.amount END,
                   CASE WHEN s.state = 'approved' THEN 'Visa' ELSE '' END,
                   '', o.id % 997 = 0 AND s.state = 'approved', '', false, '',
                   md5('c' || o.id)::uuid::text, 'call-' || o.id
            FROM payments_order o,
                 LATERAL (SELECT CASE WHEN o.status = 'paid' THEN 'approved'
                                      WHEN o.id % 200 = 7 THEN 'unknown'
                                      WHEN o.id % 10 = 6 THEN 'declined'
                                      WHEN o.id % 10 = 7 THEN 'error'
                                      WHEN o.id % 10 = 8 THEN 'abandoned'
                                      ELSE 'expired' END AS state) s
            WHERE o.reference LIKE 'BENCH-%'""",
        """INSERT INTO payments_paymentevent
              (payment_id, created_at, source, kind, from_state, to_state, message, data)
            SELECT p.id, p.created_at, 'agent', 'state_changed', '', 'starting',
                   'Started by the agent', '{}'::jsonb FROM payments_payment p
            UNION ALL
            SELECT p.id, p.finished_at, 'poll', 'state_changed', 'in_progress', p.state,
                   'Result read', '{}'::jsonb FROM payments_payment p""",
        """INSERT INTO payments_webhookdelivery
              (received_at, body, facts, status, error, session_guid, payment_id, attempts)
            SELECT p.finished_at - interval '10 seconds', '{}', '{}'::jsonb, 'confirmed', '',
                   p.session_guid, p.id, 1
            FROM payments_payment p WHERE p.id % 5 = 0""",
    ]
    with connection.cursor() as cursor, indexes_built_after(cursor, BULK_TABLES):
        for sql in statements:
            step = time.perf_counter()
            cursor.execute(sql)
            table = sql.split()[2]
            print(f"  {table}: {time.perf_counter() - step:.0f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    set_database_comment(f"agentdesk bench: {PAYMENTS} payments")
    print(f"Created in {time.perf_counter() - started:.0f} s.", flush=True)


# The database's comment while its build runs: a rerun then knows the data is incomplete.
BUILDING = "agentdesk bench: building"


def database_comment() -> str | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
            "WHERE datname = current_database()"
        )
        row = cursor.fetchone()
    return row[0] if row else None


def set_database_comment(text: str) -> None:
    from django.db import connection

    name = connection.ops.quote_name(connection.settings_dict["NAME"])
    with connection.cursor() as cursor:
        cursor.execute(f"COMMENT ON DATABASE {name} IS %s", [text])


# The tables the build fills by the million; their secondary indexes are built afterwards.
BULK_TABLES = [
    "customers_customer",
    "customers_billingaddress",
    "payments_order",
    "payments_payment",
    "payments_paymentevent",
    "payments_webhookdelivery",
]


@contextmanager
def indexes_built_after(cursor: Any, tables: list[str]) -> Iterator[None]:
    """Drop the tables' secondary indexes (not those behind a primary key or unique
    constraint), run the body, then create them again as the migrations defined them: one sort
    per index instead of 10,000,000 insertions into each (the 10,000,000 build's time)."""
    cursor.execute(
        """SELECT i.indexname, i.indexdef FROM pg_indexes i
           WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                             WHERE c.conindid = (quote_ident(i.indexname))::regclass)""",
        [tables],
    )
    definitions = cursor.fetchall()
    for name, _ in definitions:
        cursor.execute(f'DROP INDEX "{name}"')
    try:
        yield
    finally:
        step = time.perf_counter()
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for _, definition in definitions:
            cursor.execute(definition)
        print(f"  {len(definitions)} indexes: {time.perf_counter() - step:.0f} s", flush=True)


def measure(label: str, get: Callable[[], object], rows: list[list[str]]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    get()  # warm the caches a real server would have warm
    times, counts = [], []
    for _ in range(REQUESTS):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            get()
            times.append((time.perf_counter() - started) * 1000)
        counts.append(len(queries))
    times.sort()
    p95 = times[max(0, round(len(times) * 0.95) - 1)]
    rows.append([label, f"{statistics.median(times):.0f}", f"{p95:.0f}", str(max(counts))])
    print(f"  {label:<44} {rows[-1][1]:>7} {rows[-1][2]:>7} {rows[-1][3]:>8}", flush=True)


def main() -> None:
    name = bench_database()
    create_data()
    from django.contrib.auth.models import User
    from django.test import Client

    from agentdesk.staff.models import Agent
    from payments.models import Payment, PaymentFlow

    client = Client(HTTP_HOST="localhost")  # one of the development ALLOWED_HOSTS
    client.force_login(User.objects.get(username="bench-supervisor"))
    first, last = (
        Payment.objects.order_by("pk").values_list("pk", flat=True)[:1][0],
        (Payment.objects.order_by("-pk").values_list("pk", flat=True)[:1][0]),
    )
    agent = Agent.objects.get(vcc_agent_id="bench-12")
    staging = PaymentFlow.objects.get(name="Bench staging").pk
    # Read before measuring, so the timed requests hold no query of the bench's own.
    picked = random.Random(7).sample(range(first, last + 1), REQUESTS * 2)
    guids = itertools.cycle(
        list(Payment.objects.filter(pk__in=picked).values_list("session_guid", flat=True))
    )
    rng = random.Random(6)

    def page(url: Callable[[], str]) -> Callable[[], object]:
        def get() -> object:
            response = client.get(url())
            assert response.status_code == 200, (url(), response.status_code)
            return response

        return get

    analyze()
    count = Payment.objects.count()
    print(f"Load average (1, 5, 15 min): {' '.join(f'{n:.2f}' for n in os.getloadavg())}")
    print(f"Database {name}: {count:,} payments. ms per request (server time) and queries,")
    print(f"{REQUESTS} requests each:")
    print(f"  {'page':<44} {'median':>7} {'p95':>7} {'queries':>8}")
    rows: list[list[str]] = []
    base = "/admin/payments/payment/"
    measure("changelist", page(lambda: base), rows)
    # Page 100 is the deepest (ADMIN_COUNT_LIMIT rows, 100 a page); a tiny run has fewer.
    deepest = min(100, max(1, PAYMENTS // 100))
    measure("changelist, page 100 (the deepest)", page(lambda: base + f"?p={deepest}"), rows)
    measure("filtered: state declined", page(lambda: base + "?state__exact=declined"), rows)
    measure(
        "filtered: agent 12, last 7 days",
        page(lambda: base + f"?agent={agent.pk}&created_at__from={_days_ago(7)}"),
        rows,
    )
    measure(
        "filtered: currency KWD, production",
        page(lambda: base + "?currency=KWD&environment=production"),
        rows,
    )
    measure("filtered: kind link", page(lambda: base + "?kind__exact=link"), rows)
    measure("filtered: flow (staging)", page(lambda: base + f"?flow__id__exact={staging}"), rows)
    measure(
        "filtered: agent 12, currency KWD",
        page(lambda: base + f"?agent={agent.pk}&currency=KWD"),
        rows,
    )
    measure(
        "filtered: declined, link, staging, EUR",
        page(
            lambda: (
                base + "?state__exact=declined&kind__exact=link&environment=staging&currency=EUR"
            )
        ),
        rows,
    )
    measure("filtered: environment staging", page(lambda: base + "?environment=staging"), rows)
    measure(
        "filtered: started in the last 7 days",
        page(lambda: base + f"?created_at__from={_days_ago(7)}"),
        rows,
    )
    measure(
        "filtered: dates, a month a year ago",
        page(lambda: base + f"?created_at__from={_days_ago(395)}&created_at__to={_days_ago(365)}"),
        rows,
    )
    year_ago = _days_ago(365)
    measure(
        "date drill-down: a month a year ago",
        page(
            lambda: (
                base + f"?created_at__year={year_ago[:4]}&created_at__month={int(year_ago[5:7])}"
            )
        ),
        rows,
    )
    measure("work queue: outcome unknown", page(lambda: base + "?queue=unknown"), rows)
    measure("work queue: waiting for a supervisor", page(lambda: base + "?queue=waiting"), rows)
    measure("work queue: contradiction flagged", page(lambda: base + "?queue=flagged"), rows)
    measure(
        "search by reference",
        page(lambda: base + f"?q=BENCH-{rng.randint(1, PAYMENTS):0{DIGITS}d}"),
        rows,
    )
    measure(
        "search by gateway reference",
        page(lambda: base + f"?q={1000000000000000000000 + rng.randint(first, last)}"),
        rows,
    )
    measure(
        "search by email",
        page(lambda: base + f"?q=bench{rng.randint(1, CUSTOMERS)}@example.com"),
        rows,
    )
    measure(
        "search by VCC session GUID",
        page(lambda: base + f"?q={next(guids)}"),
        rows,
    )
    measure(
        "search by phone",
        page(lambda: base + f"?q=%2B44{7700000000 + rng.randint(1, CUSTOMERS)}"),
        rows,
    )
    measure("search by last name (1 in 8 payments)", page(lambda: base + "?q=Patel"), rows)
    measure("search by last-name prefix (Pat)", page(lambda: base + "?q=Pat"), rows)
    measure(
        "detail",
        page(lambda: f"{base}{rng.randint(first, last)}/change/"),
        rows,
    )
    # The supervisors' dashboard: its last day holds ~1,370 payments while the data is fresh
    # (one every 63 s up to its creation); a refresh by htmx costs the same queries.
    measure("dashboard", page(lambda: "/admin/dashboard/"), rows)
    keep_and_compare(rows)
    export_once(client, base)


def analyze() -> None:
    """As after autovacuum has caught up with a build or a migration: fresh planner statistics
    and visibility maps (index-only scans). Then a checkpoint, so that the writes of a build,
    a migration or this vacuum are on disk before the first page is timed: a checkpoint
    writing hundreds of MB/s during the measurement slowed every page by a third."""
    from django.db import DatabaseError, connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
        try:
            cursor.execute("CHECKPOINT")
        except DatabaseError as error:  # a role without pg_checkpoint
            print(f"No checkpoint before measuring ({error}); the figures may be slower.")


def keep_and_compare(rows: list[list[str]]) -> None:
    """Keep this size's figures; print them beside the other sizes' kept ones (by page)."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"admin_history-{PAYMENTS}.json").write_text(json.dumps(rows, indent=1))
    kept = {
        int(path.stem.split("-")[1]): {row[0]: row for row in json.loads(path.read_text())}
        for path in sorted(RESULTS.glob("admin_history-*.json"))
    }
    if len(kept) < 2:
        return
    sizes = sorted(kept)
    print("\np95 ms (queries) by size, from bench-results/:")
    print(f"  {'page':<44} " + " ".join(f"{size:>14,}" for size in sizes))
    for label, *_ in rows:
        cells = [kept[size].get(label) for size in sizes]
        shown = [f"{cell[2]} ({cell[3]})" if cell else "-" for cell in cells]
        print(f"  {label:<44} " + " ".join(f"{cell:>14}" for cell in shown))


def _days_ago(days: int) -> str:
    from datetime import timedelta

    from django.utils import timezone

    return str((timezone.now() - timedelta(days=days)).date())


def export_once(client: object, base: str) -> None:
    """Stream one export of ~EXPORT_ROWS payments; report its time and peak Python memory."""
    from django.http import StreamingHttpResponse
    from django.test import Client

    from payments.models import Payment

    assert isinstance(client, Client)
    cutoff = Payment.objects.order_by("-created_at").values_list("created_at", flat=True)[
        EXPORT_ROWS - 1
    ]
    query = f"?created_at__gte={cutoff.isoformat().replace('+', '%2B')}"
    url = base + "export/" + query
    started = time.perf_counter()
    response = client.post(url)
    assert isinstance(response, StreamingHttpResponse)
    lines = sum(1 for _ in response.streaming_content)
    seconds = time.perf_counter() - started
    tracemalloc.start()  # a second run, measured (tracemalloc slows Python down)
    response = client.post(url)
    assert isinstance(response, StreamingHttpResponse)
    assert sum(1 for _ in response.streaming_content) == lines
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(
        f"  CSV export of {lines - 1:,} rows: {seconds:.1f} s, "
        f"peak Python memory {peak / 2**20:.1f} MiB (tracemalloc)"
    )
